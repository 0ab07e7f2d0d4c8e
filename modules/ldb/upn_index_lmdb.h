/*
 * unique_principal_names: the key index's LMDB storage, for upn_index.c
 * only (upn_index_lmdb.c).
 *
 * Copyright (C) samba-asa authors 2026
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 */

#ifndef UPN_INDEX_LMDB_H
#define UPN_INDEX_LMDB_H

#include <lmdb.h>

#include "upn_index.h"

#pragma GCC visibility push(hidden)

/* 3: keys longer than UPN_INDEX_KEY_MAX stored as their SHA-256 */
#define UPN_INDEX_VERSION 3
/* longest comparison key stored as it is (LMDB keys: 511 bytes at most) */
#define UPN_INDEX_KEY_MAX 256
#define UPN_INDEX_DIGEST_LEN 32

/*
 * One LMDB environment per file and process, so a list of them: Samba
 * opens sam.ldb several times in one process, and LMDB wants each file
 * opened once per process (a second open breaks its locks).  An
 * environment must not be used across fork(): a child opens its own (and
 * leaves the parent's, which it must not close, alone).
 */
struct upn_env {
	struct upn_env *next;
	char *path;
	MDB_env *env;
	MDB_dbi dbi;
	pid_t pid;
	bool busy;	/* a write transaction of this process is open */
};

int upn_index_txn(struct ldb_module *module, MDB_txn **txn);
int upn_index_fail(struct upn_private *p, const char *what, int rc);
int upn_index_get(struct upn_private *p, MDB_val k, MDB_val *d);
int upn_index_put(struct upn_private *p, MDB_val k, const void *data,
		  size_t len);
int upn_index_del(struct upn_private *p, MDB_val k);
bool upn_index_fetch_u64(struct upn_private *p, const char *name,
			 uint64_t *v);
int upn_index_store_u64(struct upn_private *p, const char *name,
			uint64_t v);

/* The key of a record named by a string ("V", "R", ...). */
static inline MDB_val upn_index_str_key(const char *s)
{
	MDB_val k;

	k.mv_data = (void *)(uintptr_t)s;
	k.mv_size = strlen(s);
	return k;
}

#pragma GCC visibility pop

#endif
