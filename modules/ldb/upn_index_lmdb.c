/*
 * unique_principal_names: the key index's storage, an LMDB database
 * (unique_principal_names.mdb and its -lock file) beside sam.ldb.
 *
 * Copyright (C) samba-asa authors 2026
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 *
 * This program is distributed in the hope that it will be useful,
 * but WITHOUT ANY WARRANTY; without even the implied warranty of
 * MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.  See the
 * GNU General Public License for more details.
 */

/*
 * All access goes through one LMDB write transaction per sam.ldb
 * transaction, begun at the first access and committed after sam.ldb's
 * own commit (cancelled with it).  sam.ldb's writers are serialised
 * already, so nobody waits for LMDB's writer lock in practice.
 *
 * Durability: the index is derived data and is written without syncing
 * (MDB_NOSYNC), which costs nothing but means a crash of the machine may
 * leave the file damaged.  So it starts afresh after every boot: the boot
 * id it was last opened under is kept in unique_principal_names.mdb.boot,
 * and a different one means delete and rebuild (one full scan, at the
 * first principal-name write after the boot).  A process that dies loses
 * nothing: its writes are in the page cache.
 */

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <talloc.h>
#include <lmdb.h>
#include <ldb_module.h>
#include <util/debug.h>

#include "upn_index_lmdb.h"

#define UPN_INDEX_MAP_SIZE ((size_t)1 << (sizeof(size_t) > 4 ? 34 : 29))

static struct upn_env *upn_envs;

/* Start afresh when the index was last opened before the latest boot. */
static void index_boot_guard(const char *path)
{
	TALLOC_CTX *tmp_ctx = talloc_new(NULL);
	char *marker = talloc_asprintf(tmp_ctx, "%s.boot", path);
	char *lock = talloc_asprintf(tmp_ctx, "%s-lock", path);
	char boot[64];
	char seen[64];
	ssize_t n;
	size_t blen;
	int fd;

	if (marker == NULL || lock == NULL) {
		goto done;
	}
	fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		goto done;	/* no way to tell: trust the file */
	}
	n = read(fd, boot, sizeof(boot) - 1);
	close(fd);
	if (n <= 0) {
		goto done;
	}
	boot[n] = '\0';
	blen = (size_t)n;

	fd = open(marker, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		goto done;
	}
	if (flock(fd, LOCK_EX) != 0) {
		close(fd);
		goto done;
	}
	n = pread(fd, seen, sizeof(seen) - 1, 0);
	seen[n > 0 ? n : 0] = '\0';
	if (strcmp(seen, boot) != 0) {
		if (access(path, F_OK) == 0) {
			DBG_NOTICE("%s: %s was written before the latest boot "
				   "(or without a boot marker): starting it "
				   "afresh\n", UPN_MODULE, path);
		}
		unlink(path);
		unlink(lock);
		if (ftruncate(fd, 0) != 0 ||
		    pwrite(fd, boot, blen, 0) != (ssize_t)blen ||
		    fsync(fd) != 0) {
			DBG_WARNING("%s: cannot write %s: %s\n", UPN_MODULE,
				    marker, strerror(errno));
		}
	}
	close(fd);	/* and with it the lock */
done:
	TALLOC_FREE(tmp_ctx);
}

static int index_env_destructor(struct upn_env *e)
{
	struct upn_env **pp = NULL;

	for (pp = &upn_envs; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == e) {
			*pp = e->next;
			break;
		}
	}
	/* a parent's, inherited across fork(), is the parent's to close */
	if (e->pid == getpid()) {
		mdb_env_close(e->env);
	}
	return 0;
}

/*
 * The environment of path for p: one per file and process, shared by
 * every ldb of the process that opened the same sam.ldb (a talloc
 * reference each, as Samba's ldb_mdb.c shares its environments) and
 * closed with the last of them.
 */
static struct upn_env *index_env(struct upn_private *p, const char *path)
{
	struct upn_env *e = NULL;
	MDB_txn *txn = NULL;
	int rc;

	if (p->env != NULL && p->env->pid == getpid()) {
		return p->env;
	}
	if (p->env != NULL) {
		/* inherited across fork(): a child opens its own */
		talloc_unlink(p, p->env);
		p->env = NULL;
	}
	for (e = upn_envs; e != NULL; e = e->next) {
		if (e->pid == getpid() && strcmp(e->path, path) == 0) {
			if (talloc_reference(p, e) == NULL) {
				errno = ENOMEM;
				return NULL;
			}
			return e;
		}
	}
	e = talloc_zero(p, struct upn_env);
	if (e == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	e->path = talloc_strdup(e, path);
	if (e->path == NULL) {
		TALLOC_FREE(e);
		errno = ENOMEM;
		return NULL;
	}
	index_boot_guard(path);
	rc = mdb_env_create(&e->env);
	if (rc == 0) {
		rc = mdb_env_set_mapsize(e->env, UPN_INDEX_MAP_SIZE);
	}
	if (rc == 0) {
		rc = mdb_env_open(e->env, path,
				  MDB_NOSUBDIR | MDB_NOSYNC | MDB_NOTLS,
				  0600);
	}
	if (rc == 0 &&
	    mdb_env_get_maxkeysize(e->env) < UPN_INDEX_KEY_MAX + 2) {
		rc = MDB_BAD_VALSIZE;
	}
	if (rc == 0) {
		rc = mdb_txn_begin(e->env, NULL, 0, &txn);
	}
	if (rc == 0) {
		rc = mdb_dbi_open(txn, NULL, 0, &e->dbi);
		if (rc == 0) {
			rc = mdb_txn_commit(txn);
		} else {
			mdb_txn_abort(txn);
		}
	}
	if (rc != 0) {
		DBG_ERR("%s: cannot open %s: %s\n", UPN_MODULE, path,
			mdb_strerror(rc));
		if (e->env != NULL) {
			mdb_env_close(e->env);
		}
		TALLOC_FREE(e);
		errno = rc > 0 ? rc : EIO;
		return NULL;
	}
	e->pid = getpid();
	e->next = upn_envs;
	upn_envs = e;
	talloc_set_destructor(e, index_env_destructor);
	return e;
}

/*
 * The index's write transaction for the current sam.ldb transaction,
 * begun at the first access.  *txn is NULL when the index cannot be
 * opened or another ldb of this process holds it: the caller falls back
 * to directory searches (logged).  Once the index failed in this
 * transaction, every further use fails.
 */
int upn_index_txn(struct ldb_module *module, MDB_txn **txn)
{
	struct upn_private *p = upn_private(module);
	int rc;

	*txn = NULL;
	if (p->txn.index_failed) {
		return LDB_ERR_OPERATIONS_ERROR;
	}
	if (p->index_broken || !p->txn.active) {
		return LDB_SUCCESS;
	}
	if (p->txn.mdb != NULL) {
		*txn = p->txn.mdb;
		return LDB_SUCCESS;
	}
	p->env = index_env(p, p->index_path);
	if (p->env == NULL) {
		DBG_ERR("%s: cannot open the key index %s (%s); checking "
			"by directory searches only, which find no "
			"Unicode-equivalent names\n",
			UPN_MODULE, p->index_path, strerror(errno));
		p->index_broken = true;
		return LDB_SUCCESS;
	}
	if (p->env->busy) {
		/* another ldb of this process has it: one writer each */
		DBG_ERR("%s: the key index is in use by another "
			"transaction of this process; checking by "
			"directory searches, which find no "
			"Unicode-equivalent names\n", UPN_MODULE);
		return LDB_SUCCESS;
	}
	rc = mdb_txn_begin(p->env->env, NULL, 0, &p->txn.mdb);
	if (rc != 0) {
		DBG_ERR("%s: cannot start a transaction on %s: %s\n",
			UPN_MODULE, p->index_path, mdb_strerror(rc));
		p->txn.mdb = NULL;
		p->txn.index_failed = true;
		return LDB_ERR_OPERATIONS_ERROR;
	}
	p->env->busy = true;
	*txn = p->txn.mdb;
	return LDB_SUCCESS;
}

/* Commit (after sam.ldb committed) or cancel the index's transaction. */
void upn_index_finish(struct upn_private *p, bool commit)
{
	int rc;

	if (p->txn.mdb == NULL) {
		return;
	}
	if (commit && !p->txn.index_failed) {
		rc = mdb_txn_commit(p->txn.mdb);
		if (rc != 0) {
			/* sam.ldb has it: "R" did not move either, so the
			 * next check catches up */
			DBG_ERR("%s: key index commit failed: %s\n",
				UPN_MODULE, mdb_strerror(rc));
		}
	} else {
		mdb_txn_abort(p->txn.mdb);
	}
	p->txn.mdb = NULL;
	p->env->busy = false;
}

/*
 * An index read or write failed: drop what this transaction did to the
 * index ("R" stays where it was, so the next transaction catches up).
 * The request that needed it fails, and so does every later use in this
 * transaction: checking by searches instead would let through what only
 * the index finds.
 */
int upn_index_fail(struct upn_private *p, const char *what, int rc)
{
	DBG_ERR("%s: key index %s %s failed: %s; refusing principal-name "
		"writes until the next transaction\n", UPN_MODULE,
		p->index_path, what, mdb_strerror(rc));
	p->txn.index_failed = true;
	if (p->txn.mdb != NULL) {
		mdb_txn_abort(p->txn.mdb);
		p->txn.mdb = NULL;
		p->env->busy = false;
	}
	return LDB_ERR_OPERATIONS_ERROR;
}


/*
 * Read a record; *d points into the map, valid until the next write in
 * this transaction.  Returns 0, MDB_NOTFOUND, or -1 after upn_index_fail().
 */
int upn_index_get(struct upn_private *p, MDB_val k, MDB_val *d)
{
	int rc;

	if (p->txn.mdb == NULL) {
		return -1;
	}
	rc = mdb_get(p->txn.mdb, p->env->dbi, &k, d);
	if (rc == 0 || rc == MDB_NOTFOUND) {
		return rc;
	}
	upn_index_fail(p, "read", rc);
	return -1;
}

/* Store len bytes of data under k. */
int upn_index_put(struct upn_private *p, MDB_val k, const void *data,
		  size_t len)
{
	MDB_val d = { .mv_size = len, .mv_data = (void *)(uintptr_t)data };
	int rc;

	if (p->txn.mdb == NULL) {
		return LDB_ERR_OPERATIONS_ERROR;
	}
	rc = mdb_put(p->txn.mdb, p->env->dbi, &k, &d, 0);
	return rc == 0 ? LDB_SUCCESS : upn_index_fail(p, "write", rc);
}

int upn_index_del(struct upn_private *p, MDB_val k)
{
	int rc;

	if (p->txn.mdb == NULL) {
		return LDB_ERR_OPERATIONS_ERROR;
	}
	rc = mdb_del(p->txn.mdb, p->env->dbi, &k, NULL);
	return rc == 0 || rc == MDB_NOTFOUND ? LDB_SUCCESS
					     : upn_index_fail(p, "delete", rc);
}

bool upn_index_fetch_u64(struct upn_private *p, const char *name,
			 uint64_t *v)
{
	MDB_val d;
	uint64_t x = 0;
	const uint8_t *b = NULL;
	int i;

	if (upn_index_get(p, upn_index_str_key(name), &d) != 0 ||
	    d.mv_size != 8) {
		return false;
	}
	b = d.mv_data;
	for (i = 7; i >= 0; i--) {
		x = (x << 8) | b[i];
	}
	*v = x;
	return true;
}

int upn_index_store_u64(struct upn_private *p, const char *name,
			uint64_t v)
{
	uint8_t buf[8];
	int i;

	for (i = 0; i < 8; i++) {
		buf[i] = (v >> (8 * i)) & 0xff;
	}
	return upn_index_put(p, upn_index_str_key(name), buf, sizeof(buf));
}
