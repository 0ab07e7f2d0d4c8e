/*
 * Unit tests for the key index of the unique_principal_names module
 * (modules/ldb/upn_index.c): what the index stores for a comparison key
 * (upn_index_form()), which must fit an LMDB key whatever the value.  The
 * index's files are included, as Samba's test_unique_object_sids.c
 * includes its module, to reach their static functions.
 *
 * Copyright (C) samba-asa authors 2026
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>

#include "../modules/ldb/upn_samba_private.c"
#include "../modules/ldb/upn_keys.c"
#include "../modules/ldb/upn_index_lmdb.c"
#include "../modules/ldb/upn_index.c"

#include <cmocka.h>

#include "test_debug_stubs.h"

/* LMDB's key limit in the default build (mdb_env_get_maxkeysize()) */
#define LMDB_MAX_KEY 511

/* SHA-256 of 257 bytes 'a' (Python's hashlib) */
static const uint8_t sha256_257a[UPN_INDEX_DIGEST_LEN] = {
	0xe8, 0xd9, 0x5c, 0xc2, 0xb4, 0xbc, 0x19, 0x8c,
	0x54, 0xb4, 0x0b, 0xd2, 0x14, 0xdf, 0x95, 0x8a,
	0xfb, 0x65, 0xf5, 0xe7, 0x3d, 0x2c, 0x2e, 0xaf,
	0xe0, 0x59, 0x3c, 0xf5, 0xc6, 0x35, 0xc1, 0xf0,
};

/* "\ufdfa" * 22 + tail, as UTF-8 */
static struct ldb_val fdfa_spn(TALLOC_CTX *mem_ctx, const char *tail)
{
	struct ldb_val v;
	char *s = talloc_strdup(mem_ctx, "");
	int i;

	for (i = 0; i < 22; i++) {
		s = talloc_strdup_append(s, "\xef\xb7\xba");
	}
	s = talloc_strdup_append(s, tail);
	assert_non_null(s);
	v.data = (uint8_t *)s;
	v.length = strlen(s);
	return v;
}

/* The value the issue reported: its key does not fit an LMDB key. */
static void test_fdfa_key_is_longer_than_lmdb_allows(void **state)
{
	TALLOC_CTX *mem_ctx = talloc_new(NULL);
	struct ldb_val v = fdfa_spn(mem_ctx, "/host");
	struct ldb_val w = fdfa_spn(mem_ctx, "/host-0123abcd");
	uint8_t *key = NULL;
	size_t len = 0;

	assert_int_equal(v.length, 71);
	assert_int_equal(upn_spn_value_key(mem_ctx, NULL, &v, &key, &len),
			 ASA_NAME_OK);
	assert_true(len > LMDB_MAX_KEY);
	/* the selftest's value (unique_principal_names.py) */
	assert_int_equal(w.length, 80);
	assert_int_equal(upn_spn_value_key(mem_ctx, NULL, &w, &key, &len),
			 ASA_NAME_OK);
	assert_true(len > LMDB_MAX_KEY);
	talloc_free(mem_ctx);
}

/* Every index record key fits, whatever the value: the longest value
 * the module accepts, of the character with the longest key we know. */
static void test_record_keys_fit_lmdb(void **state)
{
	TALLOC_CTX *mem_ctx = talloc_new(NULL);
	uint8_t digest[UPN_INDEX_DIGEST_LEN];
	uint8_t kb[UPN_INDEX_KEY_MAX + 2];
	struct upn_entry e = { .kind = UPN_KIND_SPN };
	struct upn_entry form = { .kind = 0 };
	struct ldb_val v;
	char *s = talloc_strdup(mem_ctx, "host/");
	MDB_val k;

	while (strlen(s) + 3 <= ASA_PRINCIPAL_MAX_LENGTH) {
		s = talloc_strdup_append(s, "\xef\xb7\xba");
		assert_non_null(s);
	}
	v.data = (uint8_t *)s;
	v.length = strlen(s);
	assert_int_equal(upn_spn_value_key(mem_ctx, NULL, &v, &e.key,
					   &e.len), ASA_NAME_OK);
	assert_true(e.len > LMDB_MAX_KEY);
	assert_true(upn_index_form(&e, digest, &form));
	k = index_entry_key(kb, &form);
	assert_true(k.mv_size <= LMDB_MAX_KEY);
	assert_int_equal(k.mv_size, 2 + UPN_INDEX_DIGEST_LEN);
	talloc_free(mem_ctx);
}

static void test_short_key_stored_as_it_is(void **state)
{
	uint8_t key[UPN_INDEX_KEY_MAX];
	uint8_t digest[UPN_INDEX_DIGEST_LEN];
	struct upn_entry e = {
		.kind = UPN_KIND_UPN, .key = key, .len = sizeof(key)
	};
	struct upn_entry form = { .kind = 0 };

	memset(key, 'a', sizeof(key));
	/* no digest buffer is needed for a key of the limit's length */
	assert_true(upn_index_form(&e, NULL, &form));
	assert_int_equal(form.kind, UPN_KIND_UPN);
	assert_ptr_equal(form.key, key);
	assert_int_equal(form.len, UPN_INDEX_KEY_MAX);
	assert_true(upn_index_form(&e, digest, &form));
	assert_ptr_equal(form.key, key);
}

static void test_long_key_stored_as_digest(void **state)
{
	uint8_t key[UPN_INDEX_KEY_MAX + 1];
	uint8_t digest[UPN_INDEX_DIGEST_LEN];
	uint8_t digest2[UPN_INDEX_DIGEST_LEN];
	struct upn_entry e = {
		.kind = UPN_KIND_SPN, .key = key, .len = sizeof(key)
	};
	struct upn_entry form;

	memset(key, 'a', sizeof(key));
	assert_true(upn_index_form(&e, digest, &form));
	assert_int_equal(form.kind, UPN_KIND_SPN_DIGEST);
	assert_ptr_equal(form.key, digest);
	assert_int_equal(form.len, UPN_INDEX_DIGEST_LEN);
	assert_memory_equal(digest, sha256_257a, UPN_INDEX_DIGEST_LEN);

	/* a UPN's digest has a kind of its own */
	e.kind = UPN_KIND_UPN;
	assert_true(upn_index_form(&e, digest2, &form));
	assert_int_equal(form.kind, UPN_KIND_UPN_DIGEST);
	assert_memory_equal(digest2, sha256_257a, UPN_INDEX_DIGEST_LEN);

	/* one byte more or less is another digest */
	key[100] = 'b';
	assert_true(upn_index_form(&e, digest2, &form));
	assert_memory_not_equal(digest2, sha256_257a, UPN_INDEX_DIGEST_LEN);

	/* a long key needs somewhere to put its digest */
	assert_false(upn_index_form(&e, NULL, &form));
}

/* A digest never equals a short key of the same bytes: other kinds. */
static void test_digest_and_key_of_same_bytes_differ(void **state)
{
	uint8_t long_key[300];
	uint8_t digest[UPN_INDEX_DIGEST_LEN];
	uint8_t kb1[UPN_INDEX_KEY_MAX + 2];
	uint8_t kb2[UPN_INDEX_KEY_MAX + 2];
	struct upn_entry e = {
		.kind = UPN_KIND_SPN, .key = long_key, .len = sizeof(long_key)
	};
	struct upn_entry form = { .kind = 0 };
	struct upn_entry same;
	MDB_val k1, k2;

	memset(long_key, 'x', sizeof(long_key));
	assert_true(upn_index_form(&e, digest, &form));
	same.kind = UPN_KIND_SPN;
	same.key = digest;
	same.len = sizeof(digest);
	k1 = index_entry_key(kb1, &form);
	k2 = index_entry_key(kb2, &same);
	assert_int_equal(k1.mv_size, k2.mv_size);
	assert_memory_not_equal(k1.mv_data, k2.mv_data, k1.mv_size);
	assert_false(upn_entry_in(&form, &same, 1));
}

static void test_forms_of_entries(void **state)
{
	TALLOC_CTX *mem_ctx = talloc_new(NULL);
	uint8_t short_key[10];
	uint8_t long_key[UPN_INDEX_KEY_MAX + 1];
	struct upn_entry entries[2] = {
		{ .kind = UPN_KIND_SPN, .key = short_key,
		  .len = sizeof(short_key) },
		{ .kind = UPN_KIND_SPN, .key = long_key,
		  .len = sizeof(long_key) },
	};
	struct upn_entry *forms = NULL;

	memset(short_key, 's', sizeof(short_key));
	memset(long_key, 'a', sizeof(long_key));
	assert_int_equal(upn_index_forms(mem_ctx, entries, 2, &forms),
			 LDB_SUCCESS);
	assert_ptr_equal(forms[0].key, short_key);
	assert_int_equal(forms[0].kind, UPN_KIND_SPN);
	assert_int_equal(forms[1].kind, UPN_KIND_SPN_DIGEST);
	assert_int_equal(forms[1].len, UPN_INDEX_DIGEST_LEN);
	assert_memory_equal(forms[1].key, sha256_257a, UPN_INDEX_DIGEST_LEN);
	/* the digest lives on the array */
	assert_ptr_equal(talloc_parent(forms[1].key), forms);
	TALLOC_FREE(forms);

	/* an object without names */
	assert_int_equal(upn_index_forms(mem_ctx, NULL, 0, &forms),
			 LDB_SUCCESS);
	assert_non_null(forms);
	talloc_free(mem_ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fdfa_key_is_longer_than_lmdb_allows),
		cmocka_unit_test(test_record_keys_fit_lmdb),
		cmocka_unit_test(test_short_key_stored_as_it_is),
		cmocka_unit_test(test_long_key_stored_as_digest),
		cmocka_unit_test(test_digest_and_key_of_same_bytes_differ),
		cmocka_unit_test(test_forms_of_entries),
	};
	int rc;

	rc = cmocka_run_group_tests(tests, NULL, NULL);
	asa_principal_cleanup();
	return rc;
}
