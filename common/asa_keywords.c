/*
 * samba-asa: the keywords of samba-asa's SCPs ("key=value" values of
 * 'keywords'); see asa.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <talloc.h>
#include <ldb.h>

#include "samba_util.h"
#include "asa_private.h"

bool asa_keyword_split(TALLOC_CTX *mem_ctx, const char *keyword,
		       char **key, char **value)
{
	const char *eq = keyword != NULL ? strchr(keyword, '=') : NULL;

	*key = NULL;
	*value = NULL;
	if (eq == NULL || eq == keyword) {
		return false;
	}
	*key = talloc_strndup(mem_ctx, keyword, eq - keyword);
	*value = talloc_strdup(mem_ctx, eq + 1);
	if (*key == NULL || *value == NULL) {
		TALLOC_FREE(*key);
		TALLOC_FREE(*value);
		return false;
	}
	return true;
}

char *asa_keyword_make(TALLOC_CTX *mem_ctx, const char *key,
		       const char *value)
{
	size_t klen = strlen(key);
	size_t room, vlen, i;
	char *kw = NULL;

	if (klen == 0 || klen + 1 >= ASA_KEYWORD_MAX ||
	    strchr(key, '=') != NULL) {
		return NULL;
	}
	room = ASA_KEYWORD_MAX - klen - 1;
	vlen = strlen(value);
	if (vlen > room) {
		vlen = room;
		/* back to the start of a UTF-8 character */
		while (vlen > 0 &&
		       ((unsigned char)value[vlen] & 0xC0) == 0x80) {
			vlen--;
		}
	}
	kw = talloc_asprintf(mem_ctx, "%s=%.*s", key, (int)vlen, value);
	if (kw == NULL) {
		return NULL;
	}
	for (i = klen + 1; kw[i] != '\0'; i++) {
		if ((unsigned char)kw[i] < 0x20 || kw[i] == 0x7f) {
			kw[i] = ' ';
		}
	}
	return kw;
}

const char *asa_keywords_find(TALLOC_CTX *mem_ctx,
			      const char * const *values, size_t num,
			      const char *key)
{
	size_t klen = strlen(key);
	size_t i;

	for (i = 0; i < num; i++) {
		if (strncasecmp(values[i], key, klen) == 0 &&
		    values[i][klen] == '=') {
			return talloc_strdup(mem_ctx, values[i] + klen + 1);
		}
	}
	return NULL;
}

bool asa_keyword_is_one_of(const char *keyword, const char * const *keys)
{
	size_t i;

	for (i = 0; keys[i] != NULL; i++) {
		size_t klen = strlen(keys[i]);

		if (strncasecmp(keyword, keys[i], klen) == 0 &&
		    keyword[klen] == '=') {
			return true;
		}
	}
	return false;
}

/* The values of 'keywords' in msg as strings. */
int asa_keywords_of(TALLOC_CTX *mem_ctx, const struct ldb_message *msg,
		    const char ***values, size_t *num)
{
	const struct ldb_message_element *el =
		ldb_msg_find_element(msg, "keywords");
	const char **v = NULL;
	unsigned int i;

	*values = NULL;
	*num = 0;
	if (el == NULL || el->num_values == 0) {
		return LDB_SUCCESS;
	}
	v = talloc_array(mem_ctx, const char *, el->num_values);
	if (v == NULL) {
		return LDB_ERR_OPERATIONS_ERROR;
	}
	for (i = 0; i < el->num_values; i++) {
		v[i] = talloc_strndup(v, (const char *)el->values[i].data,
				      el->values[i].length);
		if (v[i] == NULL) {
			TALLOC_FREE(v);
			return LDB_ERR_OPERATIONS_ERROR;
		}
	}
	*values = v;
	*num = el->num_values;
	return LDB_SUCCESS;
}

/* The keywords not among keys, copied onto mem_ctx. */
int asa_keywords_other(TALLOC_CTX *mem_ctx, const char * const *values,
		       size_t num, const char * const *keys,
		       const char ***other, size_t *num_other)
{
	const char **o = NULL;
	size_t i, n = 0;

	*other = NULL;
	*num_other = 0;
	if (num == 0) {
		return LDB_SUCCESS;
	}
	o = talloc_array(mem_ctx, const char *, num);
	if (o == NULL) {
		return LDB_ERR_OPERATIONS_ERROR;
	}
	for (i = 0; i < num; i++) {
		if (asa_keyword_is_one_of(values[i], keys)) {
			continue;
		}
		o[n] = talloc_strdup(o, values[i]);
		if (o[n] == NULL) {
			TALLOC_FREE(o);
			return LDB_ERR_OPERATIONS_ERROR;
		}
		n++;
	}
	*other = o;
	*num_other = n;
	return LDB_SUCCESS;
}

/* An unsigned number keyword; 0 when missing or not a number. */
uint64_t asa_keywords_u64(const char * const *values, size_t num,
			  const char *key)
{
	TALLOC_CTX *frame = talloc_stackframe();
	const char *v = asa_keywords_find(frame, values, num, key);
	uint64_t n = 0;
	char *end = NULL;

	if (v != NULL && v[0] >= '0' && v[0] <= '9') {
		errno = 0;
		n = strtoull(v, &end, 10);
		if (errno != 0 || *end != '\0') {
			n = 0;
		}
	}
	TALLOC_FREE(frame);
	return n;
}

/* Add "key=value" to msg's keywords (MOD_REPLACE element made first). */
int asa_kw_add(struct ldb_message *msg, const char *key,
	       const char *value)
{
	char *kw = asa_keyword_make(msg, key, value);

	if (kw == NULL) {
		return LDB_ERR_OPERATIONS_ERROR;
	}
	return ldb_msg_add_steal_string(msg, "keywords", kw);
}

int asa_kw_add_u64(struct ldb_message *msg, const char *key,
		   uint64_t n)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRIu64, n);
	return asa_kw_add(msg, key, buf);
}

int asa_kw_add_other(struct ldb_message *msg,
		     const char * const *other, size_t num)
{
	size_t i;
	int ret;

	for (i = 0; i < num; i++) {
		ret = ldb_msg_add_string(msg, "keywords",
					 talloc_strdup(msg, other[i]));
		if (ret != LDB_SUCCESS) {
			return ret;
		}
	}
	return LDB_SUCCESS;
}
