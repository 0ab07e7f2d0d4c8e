/*
 * samba-asa: --json output; see cli_json.h.
 */
#include <stdio.h>
#include <string.h>
#include <talloc.h>
#include <jansson.h>
#include <ldb.h>

#include "cli.h"
#include "cli_json.h"
#include "principal.h"

json_t *cli_json_value(const struct ldb_val *v)
{
	uint8_t *text = NULL;
	size_t length = 0;
	bool changed = false;
	json_t *j = NULL;

	if (asa_name_sanitize(NULL, v->data, v->length, &text, &length,
			      &changed) == ASA_NAME_OK) {
		j = json_stringn((const char *)text, length);
	}
	TALLOC_FREE(text);
	return j;
}

json_t *cli_json_text(const char *s)
{
	struct ldb_val v = {
		.data = discard_const_p(uint8_t, s),
		.length = s != NULL ? strlen(s) : 0,
	};

	return s != NULL ? cli_json_value(&v) : json_null();
}

json_t *cli_json_kvno(unsigned int kvno)
{
	return kvno == 0 ? json_null() : json_integer(kvno);
}

json_t *cli_json_append(json_t *array, json_t *value)
{
	if (array == NULL || value == NULL ||
	    json_array_append_new(array, value) != 0) {
		json_decref(array);
		json_decref(value);
		return NULL;
	}
	return array;
}

static int print_value(FILE *out, json_t *v, int depth)
{
	const char *key = NULL;
	json_t *item = NULL;
	size_t i;
	bool lines = false;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		fputc('{', out);
		i = 0;
		json_object_foreach(v, key, item) {
			json_t *k = json_string(key);

			if (k == NULL) {
				return -1;
			}
			fputs(i++ > 0 ? ", " : "", out);
			json_dumpf(k, out, JSON_ENCODE_ANY);
			json_decref(k);
			fputs(": ", out);
			if (print_value(out, item, depth + 1) != 0) {
				return -1;
			}
		}
		fputc('}', out);
		return 0;
	case JSON_ARRAY:
		fputc('[', out);
		json_array_foreach(v, i, item) {
			bool own_line = json_is_object(item);

			fputs(i > 0 ? "," : "", out);
			if (own_line) {
				fprintf(out, "\n%*s", depth + 1, "");
			} else if (i > 0) {
				fputc(' ', out);
			}
			lines |= own_line;
			if (print_value(out, item, depth + 1) != 0) {
				return -1;
			}
		}
		if (lines) {
			fprintf(out, "\n%*s", depth, "");
		}
		fputc(']', out);
		return 0;
	default:
		return json_dumpf(v, out, JSON_ENCODE_ANY);
	}
}

int cli_json_print(FILE *out, json_t *value)
{
	int ret;

	if (value == NULL) {
		cli_error("out of memory");
		return ASA_EXIT_USAGE;
	}
	ret = print_value(out, value, 0);
	json_decref(value);
	fputc('\n', out);
	if (ret != 0) {
		cli_error("out of memory");
		return ASA_EXIT_USAGE;
	}
	return ASA_EXIT_OK;
}
