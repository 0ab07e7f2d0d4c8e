/*
 * helper_index: reads and edits unique_principal_names' key index (the
 * LMDB file beside sam.ldb) the way a change of ICU would leave it, for
 * the selftest suites.  Not installed.
 *
 *   helper_index FILE key-version      prints "stored S current C"
 *   helper_index FILE age-keys         the index as another collation
 *                                      left it: "S" set to a version no
 *                                      ICU has, every key record ("K...")
 *                                      dropped, so that no current key is
 *                                      found until the module rebuilds
 *
 * Copyright (C) samba-asa authors 2026
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 */

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <lmdb.h>

#include "principal.h"

/* The module's map size (UPN_INDEX_MAP_SIZE): LMDB wants the same. */
#define INDEX_MAP_SIZE ((size_t)1 << (sizeof(size_t) > 4 ? 34 : 29))

static int fail(const char *what, int rc)
{
	fprintf(stderr, "helper_index: %s: %s\n", what, mdb_strerror(rc));
	return 2;
}

static uint64_t get_u64(const MDB_val *d)
{
	const uint8_t *b = d->mv_data;
	uint64_t x = 0;
	int i;

	for (i = 7; i >= 0; i--) {
		x = (x << 8) | b[i];
	}
	return x;
}

static int key_version(MDB_txn *txn, MDB_dbi dbi)
{
	MDB_val k = { .mv_size = 1, .mv_data = (void *)"S" };
	MDB_val d;
	int rc;

	rc = mdb_get(txn, dbi, &k, &d);
	if (rc == MDB_NOTFOUND) {
		printf("stored none current %" PRIu32 "\n",
		       asa_principal_key_version());
		return 0;
	}
	if (rc != 0 || d.mv_size != 8) {
		return fail("read S", rc != 0 ? rc : MDB_CORRUPTED);
	}
	printf("stored %" PRIu64 " current %" PRIu32 "\n", get_u64(&d),
	       asa_principal_key_version());
	return 0;
}

static int age_keys(MDB_txn *txn, MDB_dbi dbi)
{
	MDB_val k = { .mv_size = 1, .mv_data = (void *)"S" };
	uint8_t other[8] = { 1, 0, 0, 0, 0, 0, 0, 0 };
	MDB_val d = { .mv_size = 8, .mv_data = other };
	MDB_cursor *cur = NULL;
	unsigned long dropped = 0;
	int rc;

	rc = mdb_put(txn, dbi, &k, &d, 0);
	if (rc != 0) {
		return fail("write S", rc);
	}
	rc = mdb_cursor_open(txn, dbi, &cur);
	if (rc != 0) {
		return fail("cursor", rc);
	}
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		if (k.mv_size > 1 && ((const char *)k.mv_data)[0] == 'K') {
			rc = mdb_cursor_del(cur, 0);
			if (rc != 0) {
				break;
			}
			dropped++;
		}
	}
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND) {
		return fail("drop keys", rc);
	}
	printf("dropped %lu key records\n", dropped);
	return 0;
}

int main(int argc, const char **argv)
{
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_dbi dbi;
	bool edit;
	int rc;
	int ret;

	if (argc != 3 || (strcmp(argv[2], "key-version") != 0 &&
			  strcmp(argv[2], "age-keys") != 0)) {
		fprintf(stderr, "usage: helper_index FILE "
			"key-version|age-keys\n");
		return 2;
	}
	edit = strcmp(argv[2], "age-keys") == 0;

	rc = mdb_env_create(&env);
	if (rc != 0) {
		return fail("create", rc);
	}
	mdb_env_set_mapsize(env, INDEX_MAP_SIZE);
	rc = mdb_env_open(env, argv[1], MDB_NOSUBDIR | (edit ? 0 : MDB_RDONLY),
			  0600);
	if (rc != 0) {
		mdb_env_close(env);
		return fail(argv[1], rc);
	}
	rc = mdb_txn_begin(env, NULL, edit ? 0 : MDB_RDONLY, &txn);
	if (rc == 0) {
		rc = mdb_dbi_open(txn, NULL, 0, &dbi);
	}
	if (rc != 0) {
		mdb_env_close(env);
		return fail("open", rc);
	}
	ret = edit ? age_keys(txn, dbi) : key_version(txn, dbi);
	if (ret == 0 && edit) {
		rc = mdb_txn_commit(txn);
		if (rc != 0) {
			ret = fail("commit", rc);
		}
	} else {
		mdb_txn_abort(txn);
	}
	mdb_env_close(env);
	asa_principal_cleanup();
	return ret;
}
