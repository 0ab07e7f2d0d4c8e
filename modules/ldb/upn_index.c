/*
 * unique_principal_names: the key index, mapping the comparison key of
 * every principal name in the directory to the objects holding it
 * (interface: upn_index.h; storage: upn_index_lmdb.c).
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
 * Records: "V" version; "S" the collation's version the keys come from
 * (asa_principal_key_version(): a new ICU may key some names differently,
 * so another version means a rebuild, as another "V" does); "I"
 * objectGUID of the default naming context (whose database this index
 * describes); "R" the sequence number up to
 * which every change has been seen (8 bytes, little-endian); "C" a count
 * of dSHeuristics / sPNMappings changes;
 * "K" kind key -> objectGUIDs (16 bytes each);
 * "G" objectGUID -> entries (kind, 2-byte length, key)*;
 * where a key longer than UPN_INDEX_KEY_MAX is stored as its digest
 * (upn_index_form()).  A change of these formats changes "V", and an
 * index of another version is rebuilt.
 *
 * Changes the module did not see (replication applies through
 * repl_meta_data's extended operation; tools may open sam.ldb without
 * the module) are caught up through uSNChanged: when a transaction starts
 * from a sequence number other than "R", the first check re-reads every
 * object changed since.  Every holder the index names is read back from
 * the directory before anything is refused, so a stale entry can only
 * cost a lookup, never a wrong refusal.
 *
 * LMDB rather than a TDB: a TDB transaction copies the whole hash table
 * when it starts, and a TDB's hash chains grow with its records (the
 * measurements are in README.md).
 */

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <talloc.h>
#include <lmdb.h>
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <ldb_module.h>
#include <util/debug.h>

#include "principal.h"
#include "upn_index_lmdb.h"
#include "upn_samba_private.h"

/* A record key: the prefix byte, then data. */
static MDB_val index_key(uint8_t *buf, char prefix,
			 const uint8_t *data, size_t len)
{
	MDB_val k;

	buf[0] = (uint8_t)prefix;
	memcpy(buf + 1, data, len);
	k.mv_data = buf;
	k.mv_size = len + 1;
	return k;
}

/* The K record of an entry: "K", kind, key (buf: e->len + 2 bytes). */
static MDB_val index_entry_key(uint8_t *buf, const struct upn_entry *e)
{
	MDB_val k = index_key(buf + 1, e->kind, e->key, e->len);

	buf[0] = 'K';
	k.mv_data = buf;
	k.mv_size += 1;
	return k;
}

/*
 * What the index stores for an entry: the entry itself when its key is
 * at most UPN_INDEX_KEY_MAX bytes, else the key's SHA-256 (written to
 * digest) under the kind's digest letter.  A comparison key can be far
 * longer than its value (U+FDFA is one character that compares as 18
 * letters), and LMDB refuses keys over 511 bytes.  Holders are read back
 * and compared by their full keys, so two keys with one digest would cost
 * a lookup, never a wrong answer.  Returns false when hashing failed.
 */
static bool upn_index_form(const struct upn_entry *e,
			   uint8_t digest[UPN_INDEX_DIGEST_LEN],
			   struct upn_entry *form)
{
	if (e->len <= UPN_INDEX_KEY_MAX) {
		*form = *e;
		return true;
	}
	if (digest == NULL ||
	    gnutls_hash_fast(GNUTLS_DIG_SHA256, e->key, e->len,
			     digest) != 0) {
		return false;
	}
	form->kind = e->kind == UPN_KIND_SPN ? UPN_KIND_SPN_DIGEST
					     : UPN_KIND_UPN_DIGEST;
	form->key = digest;
	form->len = UPN_INDEX_DIGEST_LEN;
	return true;
}

/* The index forms of entries (digests on the returned array). */
static int upn_index_forms(TALLOC_CTX *mem_ctx,
			   const struct upn_entry *entries,
			   size_t num,
			   struct upn_entry **_forms)
{
	struct upn_entry *forms = NULL;
	size_t i;

	*_forms = NULL;
	forms = talloc_zero_array(mem_ctx, struct upn_entry, num + 1);
	if (forms == NULL) {
		return LDB_ERR_OPERATIONS_ERROR;
	}
	for (i = 0; i < num; i++) {
		uint8_t *digest = NULL;

		if (entries[i].len > UPN_INDEX_KEY_MAX) {
			digest = talloc_array(forms, uint8_t,
					      UPN_INDEX_DIGEST_LEN);
			if (digest == NULL) {
				TALLOC_FREE(forms);
				return LDB_ERR_OPERATIONS_ERROR;
			}
		}
		if (!upn_index_form(&entries[i], digest, &forms[i])) {
			DBG_ERR("%s: cannot hash a comparison key of %zu "
				"bytes\n", UPN_MODULE, entries[i].len);
			TALLOC_FREE(forms);
			return LDB_ERR_OPERATIONS_ERROR;
		}
	}
	*_forms = forms;
	return LDB_SUCCESS;
}

static int index_fetch_owner(TALLOC_CTX *mem_ctx,
			     struct upn_private *p,
			     const struct ldb_val *guid,
			     struct upn_entry **_entries,
			     size_t *_num)
{
	uint8_t kb[17];
	MDB_val d;
	const uint8_t *b = NULL;
	struct upn_entry *entries = NULL;
	size_t n = 0;
	size_t off = 0;
	int rc;

	*_entries = NULL;
	*_num = 0;
	rc = upn_index_get(p, index_key(kb, 'G', guid->data, 16), &d);
	if (rc == MDB_NOTFOUND) {
		return LDB_SUCCESS;
	}
	if (rc != 0) {
		return LDB_ERR_OPERATIONS_ERROR;
	}
	b = d.mv_data;
	/* at most one entry per 3 bytes */
	entries = talloc_zero_array(mem_ctx, struct upn_entry,
				    d.mv_size / 3 + 1);
	if (entries == NULL) {
		return LDB_ERR_OPERATIONS_ERROR;
	}
	while (off + 3 <= d.mv_size) {
		size_t len = b[off + 1] | (b[off + 2] << 8);

		if (off + 3 + len > d.mv_size) {
			break;
		}
		entries[n].kind = (char)b[off];
		entries[n].len = len;
		entries[n].key = talloc_memdup(entries, b + off + 3,
					       len > 0 ? len : 1);
		if (entries[n].key == NULL) {
			TALLOC_FREE(entries);
			return LDB_ERR_OPERATIONS_ERROR;
		}
		n++;
		off += 3 + len;
	}
	*_entries = entries;
	*_num = n;
	return LDB_SUCCESS;
}

/* Add or remove one GUID in a key's holder list. */
static int index_key_update(struct upn_private *p,
			    const struct upn_entry *e,
			    const struct ldb_val *guid,
			    bool add)
{
	TALLOC_CTX *tmp_ctx = talloc_new(NULL);
	uint8_t *kb = NULL;
	MDB_val k, d;
	const uint8_t *old = NULL;
	uint8_t *buf = NULL;
	size_t i, nlen = 0;
	bool present = false;
	int ret = LDB_ERR_OPERATIONS_ERROR;
	int rc;

	if (tmp_ctx == NULL) {
		return ret;
	}
	kb = talloc_array(tmp_ctx, uint8_t, e->len + 2);
	if (kb == NULL) {
		goto done;
	}
	k = index_entry_key(kb, e);
	rc = upn_index_get(p, k, &d);
	if (rc == MDB_NOTFOUND) {
		d.mv_size = 0;
		d.mv_data = NULL;
	} else if (rc != 0) {
		goto done;
	}
	old = d.mv_data;
	buf = talloc_array(tmp_ctx, uint8_t, d.mv_size + 16);
	if (buf == NULL) {
		goto done;
	}
	for (i = 0; i + 16 <= d.mv_size; i += 16) {
		if (memcmp(old + i, guid->data, 16) == 0) {
			present = true;
			if (!add) {
				continue;
			}
		}
		memcpy(buf + nlen, old + i, 16);
		nlen += 16;
	}
	if (add && !present) {
		memcpy(buf + nlen, guid->data, 16);
		nlen += 16;
	}
	if (add == present) {
		/* nothing changes */
		ret = LDB_SUCCESS;
		goto done;
	}
	if (nlen == 0) {
		ret = upn_index_del(p, k);
		goto done;
	}
	ret = upn_index_put(p, k, buf, nlen);
done:
	TALLOC_FREE(tmp_ctx);
	return ret;
}

/* Make the index say that guid holds exactly these entries. */
int upn_index_set_owner(struct ldb_module *module,
			const struct ldb_val *guid,
			const struct upn_entry *keys,
			size_t num)
{
	struct upn_private *p = upn_private(module);
	TALLOC_CTX *tmp_ctx = talloc_new(module);
	struct upn_entry *entries = NULL;
	struct upn_entry *old = NULL;
	size_t num_old = 0;
	uint8_t kb[17];
	uint8_t *buf = NULL;
	size_t blen = 0;
	size_t i;
	MDB_val k;
	int ret;

	if (tmp_ctx == NULL) {
		return ldb_module_oom(module);
	}
	ret = upn_index_forms(tmp_ctx, keys, num, &entries);
	if (ret != LDB_SUCCESS) {
		goto done;
	}
	ret = index_fetch_owner(tmp_ctx, p, guid, &old, &num_old);
	if (ret != LDB_SUCCESS) {
		goto done;
	}
	for (i = 0; i < num_old; i++) {
		if (!upn_entry_in(&old[i], entries, num)) {
			ret = index_key_update(p, &old[i], guid, false);
			if (ret != LDB_SUCCESS) {
				goto done;
			}
		}
	}
	for (i = 0; i < num; i++) {
		blen += 3 + entries[i].len;
		if (!upn_entry_in(&entries[i], old, num_old)) {
			ret = index_key_update(p, &entries[i], guid, true);
			if (ret != LDB_SUCCESS) {
				goto done;
			}
		}
	}

	k = index_key(kb, 'G', guid->data, 16);
	if (num == 0) {
		ret = num_old > 0 ? upn_index_del(p, k) : LDB_SUCCESS;
		goto done;
	}
	buf = talloc_array(tmp_ctx, uint8_t, blen);
	if (buf == NULL) {
		ret = ldb_module_oom(module);
		goto done;
	}
	blen = 0;
	for (i = 0; i < num; i++) {
		buf[blen] = (uint8_t)entries[i].kind;
		buf[blen + 1] = entries[i].len & 0xff;
		buf[blen + 2] = (entries[i].len >> 8) & 0xff;
		memcpy(buf + blen + 3, entries[i].key, entries[i].len);
		blen += 3 + entries[i].len;
	}
	ret = upn_index_put(p, k, buf, blen);
done:
	TALLOC_FREE(tmp_ctx);
	return ret;
}

/* Re-read one object and put its keys into the index. */
int upn_index_set_from_msg(struct ldb_module *module,
			   const struct ldb_message *msg)
{
	TALLOC_CTX *tmp_ctx = talloc_new(module);
	struct upn_entry *entries = NULL;
	size_t num = 0;
	struct ldb_val guid;
	int ret = LDB_SUCCESS;

	if (tmp_ctx == NULL) {
		return ldb_module_oom(module);
	}
	if (!upn_msg_guid(msg, &guid)) {
		goto done;
	}
	ret = upn_msg_entries(tmp_ctx, msg, &entries, &num);
	if (ret != LDB_SUCCESS) {
		goto done;
	}
	ret = upn_index_set_owner(module, &guid, entries, num);
done:
	TALLOC_FREE(tmp_ctx);
	return ret;
}

/* Callback of the catch-up search: one object at a time, no result set. */
struct upn_index_scan_state {
	struct ldb_module *module;
	size_t count;
	int error;
};

static int upn_index_scan_callback(struct ldb_request *req,
				   struct ldb_reply *ares)
{
	struct upn_index_scan_state *st = talloc_get_type_abort(
		req->context, struct upn_index_scan_state);
	int ret;

	if (ares == NULL) {
		return ldb_request_done(req, LDB_ERR_OPERATIONS_ERROR);
	}
	if (ares->error != LDB_SUCCESS) {
		ret = ares->error;
		talloc_free(ares);
		return ldb_request_done(req, ret);
	}
	switch (ares->type) {
	case LDB_REPLY_ENTRY:
		ret = upn_index_set_from_msg(st->module, ares->message);
		if (ret != LDB_SUCCESS) {
			st->error = ret;
		}
		st->count++;
		break;
	case LDB_REPLY_REFERRAL:
		break;
	case LDB_REPLY_DONE:
		talloc_free(ares);
		return ldb_request_done(req, LDB_SUCCESS);
	}
	talloc_free(ares);
	return LDB_SUCCESS;
}

/*
 * Bring the index up to date with every object whose uSNChanged is above
 * from_usn (all of them when from_usn is 0: a rebuild).
 */
static int upn_index_scan(struct ldb_module *module,
			  struct ldb_request *parent,
			  uint64_t from_usn)
{
	struct ldb_context *ldb = ldb_module_get_ctx(module);
	struct upn_private *p = upn_private(module);
	TALLOC_CTX *tmp_ctx = talloc_new(module);
	struct upn_index_scan_state *st = NULL;
	struct ldb_request *req = NULL;
	struct ldb_dn *base = NULL;
	const char *filter = NULL;
	MDB_txn *txn = NULL;
	int ret;

	if (tmp_ctx == NULL) {
		return ldb_module_oom(module);
	}
	ret = upn_index_txn(module, &txn);
	if (ret == LDB_SUCCESS && txn == NULL) {
		ret = LDB_ERR_OPERATIONS_ERROR;
	}
	if (ret != LDB_SUCCESS) {
		goto done;
	}
	if (from_usn == 0) {
		int rc;

		rc = mdb_drop(p->txn.mdb, p->env->dbi, 0);
		if (rc != 0) {
			ret = upn_index_fail(p, "wipe", rc);
			goto done;
		}
		filter = "(|(servicePrincipalName=*)(userPrincipalName=*))";
	} else {
		DBG_INFO("%s: catching up with changes since uSN %llu\n",
			 UPN_MODULE, (unsigned long long)from_usn);
		filter = talloc_asprintf(tmp_ctx, "(uSNChanged>=%llu)",
					 (unsigned long long)from_usn + 1);
		if (filter == NULL) {
			ret = ldb_module_oom(module);
			goto done;
		}
	}
	st = talloc_zero(tmp_ctx, struct upn_index_scan_state);
	base = ldb_dn_new(tmp_ctx, ldb, "");
	if (st == NULL || base == NULL) {
		ret = ldb_module_oom(module);
		goto done;
	}
	st->module = module;
	/* with tombstones when catching up: they lost their names, so
	 * their keys must go */
	ret = upn_build_search(module, tmp_ctx, parent, base,
			       LDB_SCOPE_SUBTREE, filter, upn_value_attrs,
			       true, from_usn != 0, st,
			       upn_index_scan_callback, &req);
	if (ret != LDB_SUCCESS) {
		goto done;
	}
	ret = ldb_next_request(module, req);
	if (ret == LDB_SUCCESS) {
		ret = ldb_wait(req->handle, LDB_WAIT_ALL);
	}
	if (ret == LDB_SUCCESS && st->error != LDB_SUCCESS) {
		ret = st->error;
	}
	if (ret == LDB_SUCCESS) {
		DBG_INFO("%s: indexed %zu changed objects\n", UPN_MODULE,
			 st->count);
		/* the configuration may have changed behind our back too */
		p->txn.config_changed = true;
	}
done:
	TALLOC_FREE(tmp_ctx);
	return ret;
}

/* The default naming context's objectGUID: whose database this is. */
static int upn_db_identity(struct ldb_module *module,
			   struct ldb_request *parent,
			   uint8_t id[16])
{
	struct ldb_context *ldb = ldb_module_get_ctx(module);
	static const char * const attrs[] = { "objectGUID", NULL };
	struct ldb_result *res = NULL;
	struct ldb_val guid;
	int ret;

	ret = upn_search(module, module, parent, ldb_get_default_basedn(ldb),
			 LDB_SCOPE_BASE, attrs, false, false, &res, NULL);
	if (ret != LDB_SUCCESS) {
		return ret;
	}
	if (res->count != 1 || !upn_msg_guid(res->msgs[0], &guid)) {
		TALLOC_FREE(res);
		return LDB_ERR_NO_SUCH_OBJECT;
	}
	memcpy(id, guid.data, 16);
	TALLOC_FREE(res);
	return LDB_SUCCESS;
}

/* See upn_index.h. */
int upn_index_current(struct ldb_module *module,
		      struct ldb_request *parent,
		      bool *available)
{
	struct upn_private *p = upn_private(module);
	MDB_txn *txn = NULL;
	uint64_t recorded = 0;
	uint64_t version = 0;
	uint64_t key_version = 0;
	uint8_t id[16];
	MDB_val d;
	const char *rebuild = NULL;	/* why */
	bool have_id = false;
	int ret;

	*available = false;
	ret = upn_index_txn(module, &txn);
	if (ret != LDB_SUCCESS || txn == NULL) {
		return ret;
	}
	if (p->txn.index_current) {
		*available = true;
		return LDB_SUCCESS;
	}

	if (!p->identity_checked) {
		ret = upn_db_identity(module, parent, id);
		if (ret != LDB_SUCCESS) {
			DBG_ERR("%s: cannot read the domain's objectGUID: "
				"%s\n", UPN_MODULE, ldb_strerror(ret));
			return ret;
		}
		have_id = true;
		if (!upn_index_fetch_u64(p, "V", &version)) {
			rebuild = "it is new";
		} else if (version != UPN_INDEX_VERSION) {
			rebuild = "it is of another format version";
			DBG_WARNING("%s: the key index %s is of format "
				    "version %llu, this module's is %d: "
				    "rebuilding it from the directory\n",
				    UPN_MODULE, p->index_path,
				    (unsigned long long)version,
				    UPN_INDEX_VERSION);
		} else if (upn_index_get(p, upn_index_str_key("I"), &d) != 0 ||
			   d.mv_size != 16 || memcmp(d.mv_data, id, 16) != 0) {
			rebuild = "it describes another database";
		} else if (!upn_index_fetch_u64(p, "S", &key_version) ||
			   key_version != asa_principal_key_version()) {
			rebuild = "its keys come from another collation "
				  "version (ICU)";
			DBG_WARNING("%s: the key index %s was keyed with "
				    "collation version %llu, ICU's is now "
				    "%lu: rebuilding it from the directory\n",
				    UPN_MODULE, p->index_path,
				    (unsigned long long)key_version,
				    (unsigned long)
				    asa_principal_key_version());
		}
	}

	if (rebuild == NULL && !upn_index_fetch_u64(p, "R", &recorded)) {
		rebuild = "it has no sequence number";
	}
	if (p->txn.index_failed) {
		ret = LDB_ERR_OPERATIONS_ERROR;
		goto done;
	}
	if (rebuild != NULL && !have_id) {
		ret = upn_db_identity(module, parent, id);
		if (ret != LDB_SUCCESS) {
			DBG_ERR("%s: cannot read the domain's objectGUID: "
				"%s\n", UPN_MODULE, ldb_strerror(ret));
			goto done;
		}
	}
	if (rebuild != NULL) {
		DBG_NOTICE("%s: building the key index %s (%s)\n",
			   UPN_MODULE, p->index_path, rebuild);
		ret = upn_index_scan(module, parent, 0);
		if (ret == LDB_SUCCESS) {
			ret = upn_index_put(p, upn_index_str_key("I"), id,
					    16);
		}
		if (ret == LDB_SUCCESS) {
			ret = upn_index_store_u64(p, "V", UPN_INDEX_VERSION);
		}
		if (ret == LDB_SUCCESS) {
			ret = upn_index_store_u64(p, "S",
						  asa_principal_key_version());
		}
	} else if (!p->txn.have_seq || recorded != p->txn.seq_start) {
		ret = upn_index_scan(module, parent, recorded);
	} else {
		ret = LDB_SUCCESS;
	}
done:
	if (ret == LDB_SUCCESS && p->txn.index_failed) {
		ret = LDB_ERR_OPERATIONS_ERROR;
	}
	if (ret != LDB_SUCCESS) {
		DBG_ERR("%s: cannot bring the key index up to date: %s\n",
			UPN_MODULE, ldb_strerror(ret));
		/* nothing of a half-done catch-up may be committed */
		if (!p->txn.index_failed) {
			p->txn.index_failed = true;
			mdb_txn_abort(p->txn.mdb);
			p->txn.mdb = NULL;
			p->env->busy = false;
		}
		return ret;
	}
	p->identity_checked = true;
	p->txn.index_current = true;
	*available = true;
	return LDB_SUCCESS;
}

/* See upn_index.h. */
int upn_index_holders(struct ldb_module *module,
		      TALLOC_CTX *mem_ctx,
		      struct ldb_request *parent,
		      const struct upn_entry *e,
		      bool *available,
		      uint8_t **guids,
		      size_t *len)
{
	struct upn_private *p = upn_private(module);
	uint8_t kb[UPN_INDEX_KEY_MAX + 2];
	uint8_t digest[UPN_INDEX_DIGEST_LEN];
	struct upn_entry form;
	MDB_val d = { .mv_size = 0, .mv_data = NULL };
	int ret;

	*guids = NULL;
	*len = 0;
	ret = upn_index_current(module, parent, available);
	if (ret != LDB_SUCCESS || !*available) {
		return ret;
	}
	if (!upn_index_form(e, digest, &form)) {
		return ldb_module_operr(module);
	}
	ret = upn_index_get(p, index_entry_key(kb, &form), &d);
	if (ret == MDB_NOTFOUND) {
		return LDB_SUCCESS;
	}
	if (ret != 0) {
		return LDB_ERR_OPERATIONS_ERROR;
	}
	/* a copy: dropping stale entries writes to the index */
	*guids = talloc_memdup(mem_ctx, d.mv_data, d.mv_size);
	if (*guids == NULL) {
		return ldb_module_oom(module);
	}
	*len = d.mv_size;
	return LDB_SUCCESS;
}

/*
 * See upn_index.h.  The index counts changes of dSHeuristics and
 * sPNMappings made through this module ("C"); a catch-up counts too.
 */
int upn_index_config_gen(struct ldb_module *module,
			 struct ldb_request *parent,
			 bool *available,
			 uint64_t *gen)
{
	struct upn_private *p = upn_private(module);
	int ret;

	*gen = 0;
	ret = upn_index_current(module, parent, available);
	if (ret != LDB_SUCCESS || !*available) {
		return ret;
	}
	if (!upn_index_fetch_u64(p, "C", gen) && p->txn.index_failed) {
		return LDB_ERR_OPERATIONS_ERROR;
	}
	return LDB_SUCCESS;
}

/*
 * The index's own records: a failure to write them fails the commit, as
 * any index failure fails what needed it.
 */
int upn_index_prepare_commit(struct ldb_module *module)
{
	struct upn_private *p = upn_private(module);
	MDB_txn *txn = NULL;
	uint64_t recorded = 0;
	uint64_t now = 0;
	bool current = false;
	int ret;

	ret = upn_index_txn(module, &txn);
	if (ret != LDB_SUCCESS || txn == NULL) {
		return ret;
	}
	if (p->txn.config_changed || p->txn.unseen_changes) {
		uint64_t gen = 0;

		if (!upn_index_fetch_u64(p, "C", &gen) &&
		    p->txn.index_failed) {
			return LDB_ERR_OPERATIONS_ERROR;
		}
		ret = upn_index_store_u64(p, "C", gen + 1);
		if (ret != LDB_SUCCESS) {
			return ret;
		}
	}
	if (p->txn.unseen_changes || !p->txn.have_seq) {
		return LDB_SUCCESS;
	}
	current = p->txn.index_current ||
		(upn_index_fetch_u64(p, "R", &recorded) &&
		 recorded == p->txn.seq_start);
	if (p->txn.index_failed) {
		return LDB_ERR_OPERATIONS_ERROR;
	}
	if (!current || upn_db_seq(module, NULL, &now) != LDB_SUCCESS) {
		/* "R" stays: the next transaction catches up */
		return LDB_SUCCESS;
	}
	if (now != recorded || p->txn.index_current) {
		/* this transaction's own writes all went through us */
		ret = upn_index_store_u64(p, "R", now);
	}
	return ret;
}
