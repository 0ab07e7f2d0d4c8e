/*
 * libFuzzer target: a keytab from untrusted bytes, as `samba-asa member
 * install` reads one on standard input from the DC over SSH.
 *
 * Whatever the bytes, asa_keytab_parse() must return an error or a keytab
 * without crashing, leaking or reading out of bounds; a keytab it accepts
 * must survive everything member install does with it (check, merge,
 * list), and writing it through MIT and reading it back must give the same
 * entries.
 *
 * Run with `make fuzz` (buildtools/fuzz.sh: clang, --enable-fuzzing, its
 * own bin-fuzz/ build directory), or by hand:
 * bin-fuzz/test/fuzz_keytab -max_len=4096 CORPUS_DIR; any keytab (klist
 * -k readable, e.g. from `samba-tool domain exportkeytab`) is a good
 * seed.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <talloc.h>
#include <krb5.h>

#include "keytab.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static krb5_context fuzz_krb5;

static void same_or_abort(const struct asa_keytab *a,
			  const struct asa_keytab *b)
{
	size_t i;

	if (a->num_entries != b->num_entries) {
		abort();
	}
	for (i = 0; i < a->num_entries; i++) {
		const struct asa_keytab_entry *x = &a->entries[i];
		const struct asa_keytab_entry *y = &b->entries[i];

		if (strcmp(x->principal, y->principal) != 0 ||
		    x->kvno != y->kvno || x->enctype != y->enctype ||
		    x->key_length != y->key_length ||
		    memcmp(x->key, y->key, x->key_length) != 0) {
			abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	TALLOC_CTX *mem = NULL;
	struct asa_keytab *kt = NULL;
	struct asa_keytab *merged = NULL;
	struct asa_keytab *kept = NULL;
	struct asa_keytab *back = NULL;
	struct asa_keytab_item *items = NULL;
	krb5_kvno *kvnos = NULL;
	const char *expected[] = {
		"asa1$@MEM.TEST",
		"http/mail.mem.test@MEM.TEST",
	};
	uint8_t *blob = NULL;
	size_t n = 0, blob_len = 0;

	if (fuzz_krb5 == NULL && krb5_init_context(&fuzz_krb5) != 0) {
		abort();
	}
	mem = talloc_new(NULL);
	if (mem == NULL) {
		return 0;
	}

	if (asa_keytab_parse(fuzz_krb5, mem, data, size, &kt) != 0) {
		goto done;
	}
	if (kt == NULL) {
		abort();
	}

	(void)asa_keytab_check_principals(fuzz_krb5, kt, expected, 2, true);
	(void)asa_keytab_list(mem, kt, &items, &n);
	(void)asa_keytab_kvnos(mem, kt, NULL, &kvnos, &n);
	if (asa_keytab_merge(fuzz_krb5, mem, kt, kt, ASA_KEYTAB_KEEP_KVNOS,
			     &merged) == 0 &&
	    merged->num_entries > kt->num_entries) {
		abort();
	}
	/* a keytab pushed onto itself: every entry is carried (kept), or,
	 * with replace, the ASA's (all of them) dropped */
	if (asa_keytab_retire(fuzz_krb5, mem, kt, kt, false, &kept,
			      NULL) == 0 &&
	    kept->num_entries != kt->num_entries) {
		abort();
	}
	if (asa_keytab_retire(fuzz_krb5, mem, kt, kt, true, &kept,
			      NULL) == 0 &&
	    kept->num_entries != 0) {
		abort();
	}

	/*
	 * Round trip through MIT's writer: a principal MIT cannot parse back
	 * from its unparsed form may be refused, but what is written must
	 * read back identical (in the writer's order).
	 */
	if (kt->num_entries > 0 && kt->num_entries <= 64 &&
	    asa_keytab_serialize(fuzz_krb5, mem, kt, &blob, &blob_len) == 0) {
		if (asa_keytab_parse(fuzz_krb5, mem, blob, blob_len,
				     &back) != 0) {
			abort();
		}
		same_or_abort(kt, back);
	}

done:
	TALLOC_FREE(mem);
	return 0;
}
