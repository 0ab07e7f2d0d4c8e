/*
 * ldb database module: forest-wide uniqueness of servicePrincipalName and
 * userPrincipalName, as Windows enforces it.
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
 * The rule (MS-ADTS 3.1.1.5.1.3 "Uniqueness Constraints"): on every
 * originating add or modify (including a tombstone reanimation and the
 * host/ SPNs samldb rewrites when dNSHostName or sAMAccountName changes),
 * each servicePrincipalName the object newly carries must not be held by
 * any other object in any naming context this DC holds, nor may a
 * "host/X" be added while an sPNMappings alias of it ("cifs/X", "www/X",
 * ...) is held by another object; the same holds for userPrincipalName.
 * An object may keep or re-add its own values; replicated (DRS) changes
 * are never refused.  A refusal is LDB_ERR_CONSTRAINT_VIOLATION with
 * Windows' extended error 000021C7 (SPN) / 000021C8 (UPN); the DC's log
 * names the other objects, the client is not told them.
 *
 * Why a plain unique index cannot enforce it: values compare equal the way
 * Windows' CompareString does (ignoring case, non-spacing marks, kana type
 * and width: "cīfs/x" = "cifs/x", "つ" = "ツ"), while the directory's index
 * only case-folds; the rule spans partitions, each with an index of its
 * own; the alias rule is one-way and depends on sPNMappings; and an
 * object's own values, replicated writes and the dSHeuristics switch are
 * exempt.
 *
 * How: the write goes down the stack first (so the ACL module's refusal
 * and samldb's own checks come first, as on Windows), then, inside the
 * same transaction, the object is read back and every value it did not
 * carry before is looked up.  Samba serialises write transactions, so no
 * other writer can slip in between the check and the commit; a refusal
 * fails the request, and the transaction holding the refused write can
 * no longer be committed (upn_mark_refused()).
 *
 * The lookup ("who else holds a value with this key", upn_find_holders())
 * uses a private LMDB database next to sam.ldb, unique_principal_names.mdb,
 * mapping the comparison key of every principal name (common/principal.c)
 * to the objectGUIDs holding it, and each objectGUID to its keys.  It is
 * kept in step inside the module's transaction hooks (its transaction
 * commits and cancels with sam.ldb's), and every candidate it returns is
 * read back from the directory before anything is refused, so a stale
 * entry can only cost a lookup, never a wrong refusal.  A failure to read
 * or write it fails the request that needed it.  Changes the module
 * did not see (replication applies through repl_meta_data's extended
 * operation; tools may open sam.ldb without the module) are caught up
 * through uSNChanged: the index records the database's sequence number at
 * the last commit it saw completely, and when a transaction starts from
 * any other number the first check re-reads every object changed since
 * (a missing or foreign index file is rebuilt the same way from zero).
 *
 * Two adjustments make Samba's own checks below agree with Windows
 * (Samba's ldap_spn suite, "dodgy spns", pins both):
 *  - samldb looks up "(servicePrincipalName=X)" through the whole stack
 *    for its duplicate and alias checks, and the directory's matching
 *    drops leading spaces and collapses runs of them ("  /host" finds
 *    " /host").  While our own write is going down, upn_search_hook()
 *    keeps only the entries that hold a value Windows would call equal;
 *    samldb's logic (aliases, the writer's rights on the holder) stays.
 *  - SPN values are stored as Windows stores them: up to the first NUL,
 *    with bytes that are not UTF-8 replaced by U+FFFD.  The schema check
 *    would otherwise refuse such values, which Windows accepts.
 * samldb's refusals of domain-NC duplicates get Windows' text on their
 * way back up (upn_translate_error()).
 *
 * Why not simply search the directory for each value: an equality search
 * finds only case variants, never the Unicode-equivalent ones, and the
 * sPNMappings rule costs one search per alias (53 for a host/ SPN) in
 * each partition.  A key index answers both with one B-tree lookup each
 * and hardly grows with the number of accounts.  What a write costs
 * (Samba 4.17.12, TDB backend, `make bench`; callgrind, instructions
 * through the module stack in one local process): the read of the
 * object's old names (one base search, ~120k instructions), the sequence
 * number at the start and the end of the transaction (~30k each), the
 * comparison keys (ICU collation, ~13k a value, ~40k for a write adding
 * one SPN to an object holding two; the latest values' keys
 * are cached, since a write keys the same values in samldb's searches and
 * in the old and new object, and so are the service classes' keys, so
 * that the ~50 sPNMappings aliases of a host/ SPN cost a copy each, not
 * a collation) and the index update (~20k with its transaction).  A write
 * that touches no principal name costs the two sequence-number reads and
 * one index record.  The price is paid once after changes the module did
 * not see: the catch-up scans uSNChanged, which the TDB backend cannot
 * index for ranges (0.3-0.7 s at 10k objects, 0.7-1.1 s at 50k accounts;
 * a rebuild from nothing at 50k, after a boot, about 2 s).  When the
 * index file cannot be opened at all (e.g. a read-only tool), the module
 * falls back to indexed equality searches across all partitions
 * (case-insensitive matches only) and says so in the log.
 *
 * smb.conf: "asa:unique principal names = enforce | audit | off".
 */

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <talloc.h>
#include <lmdb.h>
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <ldb_module.h>
#include <util/debug.h>
#include <param.h>

#include "principal.h"

/* Private to Samba (source4/dsdb/samdb/samdb.h), stable in 4.17. */
#define DSDB_CONTROL_REPLICATED_UPDATE_OID "1.3.6.1.4.1.7165.4.3.3"
#define DSDB_EXTENDED_REPLICATED_OBJECTS_OID "1.3.6.1.4.1.7165.4.4.1"

#define UPN_MODULE "unique_principal_names"
#define UPN_INDEX_FILE "unique_principal_names.mdb"
/* what versions before 0.2 kept: removed when found */
#define UPN_OLD_INDEX_FILE "unique_principal_names.tdb"
/* 3: keys longer than UPN_INDEX_KEY_MAX stored as their SHA-256 */
#define UPN_INDEX_VERSION 3
/* longest comparison key stored as it is (LMDB keys: 511 bytes at most) */
#define UPN_INDEX_KEY_MAX 256
#define UPN_INDEX_DIGEST_LEN 32
#define UPN_MAX_LOGGED_HOLDERS 10

/* dSHeuristics[20]: DoNotVerifyUPNAndOrSPNUniqueness */
#define UPN_HEURISTIC_POS 20

#define UPN_SPN_ERROR \
	"000021C7: AtrErr: DSID-03200BBA, #1:\n" \
	"\t0: 000021C7: DSID-03200BBA, problem 1005 (CONSTRAINT_ATT_TYPE), " \
	"data 0, Att 90303 (servicePrincipalName)\n"
#define UPN_UPN_ERROR \
	"000021C8: AtrErr: DSID-03200BBA, #1:\n" \
	"\t0: 000021C8: DSID-03200BBA, problem 1005 (CONSTRAINT_ATT_TYPE), " \
	"data 0, Att 90290 (userPrincipalName)\n"

enum upn_mode {
	UPN_MODE_ENFORCE,
	UPN_MODE_AUDIT,
	UPN_MODE_OFF,
};

/*
 * The two kinds of principal name; the byte is their index prefix.  A
 * key too long for the index is stored as its digest, under a kind of
 * its own, so that a digest never meets a key of the same bytes.
 */
enum upn_kind {
	UPN_KIND_SPN = 'S',
	UPN_KIND_UPN = 'U',
	UPN_KIND_SPN_DIGEST = 's',
	UPN_KIND_UPN_DIGEST = 'u',
};

/* One comparison key an object holds. */
struct upn_entry {
	char kind;
	uint8_t *key;
	size_t len;
};

/* Read once per transaction from CN=Directory Service. */
struct upn_config {
	bool skip_spn;
	bool skip_upn;
	struct asa_spn_mappings *mappings;
};

struct upn_env;

#define UPN_KEY_CACHE_SIZE 16
struct upn_key_cache {
	unsigned int next;
	struct {
		struct ldb_val value;	/* NULL data: unused */
		uint8_t *key;
		size_t len;
	} slot[UPN_KEY_CACHE_SIZE];
};

struct upn_private {
	enum upn_mode mode;
	char *index_path;
	struct upn_env *env;
	bool index_broken;
	unsigned int write_depth; /* our add/modify is going down */
	/* sPNMappings as last parsed, reused while unchanged */
	struct ldb_message_element *mappings_el;
	struct asa_spn_mappings *mappings;
	/* dSHeuristics and sPNMappings as of index counter "C" */
	struct upn_config *cfg_cached;
	uint64_t cfg_gen;	/* logged once; fall back to searches */
	bool identity_checked;
	/* keys of the latest SPN values (a write keys the same values in
	 * samldb's searches, the old object and the new one) */
	struct upn_key_cache *keys;

	/* state of the current (outermost) transaction */
	struct {
		bool active;
		TALLOC_CTX *mem;
		bool have_seq;
		uint64_t seq_start;
		bool index_current;
		bool unseen_changes;
		MDB_txn *mdb;		/* the index's, begun at first use */
		bool index_failed;	/* every further use fails */
		/* a write of this transaction was refused after it had gone
		 * down the stack: it must not be committed */
		int refused;
		char *refused_text;
		struct upn_config *config;
		bool config_changed;
	} txn;
};

/* One add or modify on its way down and back. */
struct upn_context {
	struct ldb_module *module;
	struct ldb_request *req;
	struct ldb_dn *dn;
	struct ldb_val guid;	/* objectGUID, known for a modify */
	bool have_guid;
	struct upn_entry *old_entries;
	size_t num_old;
	const struct ldb_message *old_msg;
	/* the object's names after a plain add/replace, or NULL: read back */
	struct ldb_message *predicted;
	bool touches_spn;
	bool touches_upn;
};

static const char * const upn_value_attrs[] = {
	"objectGUID", "servicePrincipalName", "userPrincipalName", NULL
};

static struct upn_private *upn_private(struct ldb_module *module)
{
	return talloc_get_type_abort(ldb_module_get_private(module),
				     struct upn_private);
}

/*
 * GUID helpers: objectGUID is 16 bytes, little-endian fields.
 */
static char *guid_string(TALLOC_CTX *mem_ctx, const uint8_t *g)
{
	return talloc_asprintf(mem_ctx,
			       "%02x%02x%02x%02x-%02x%02x-%02x%02x-"
			       "%02x%02x-%02x%02x%02x%02x%02x%02x",
			       g[3], g[2], g[1], g[0], g[5], g[4], g[7], g[6],
			       g[8], g[9], g[10], g[11], g[12], g[13], g[14],
			       g[15]);
}

static bool msg_guid(const struct ldb_message *msg, struct ldb_val *guid)
{
	const struct ldb_val *v = ldb_msg_find_ldb_val(msg, "objectGUID");

	if (v == NULL || v->length != 16) {
		return false;
	}
	*guid = *v;
	return true;
}

/*
 * A trusted search below this module, as the system: across every
 * partition (all_partitions) and of deleted objects too (show_deleted).
 */
static int upn_build_search(struct ldb_module *module,
			    TALLOC_CTX *mem_ctx,
			    struct ldb_request *parent,
			    struct ldb_dn *base,
			    enum ldb_scope scope,
			    const char *filter,
			    const char * const *attrs,
			    bool all_partitions,
			    bool show_deleted,
			    void *context,
			    ldb_request_callback_t callback,
			    struct ldb_request **_req)
{
	struct ldb_context *ldb = ldb_module_get_ctx(module);
	struct ldb_request *req = NULL;
	int ret;

	ret = ldb_build_search_req(&req, ldb, mem_ctx, base, scope, filter,
				   (const char **)attrs, NULL, context,
				   callback, parent);
	if (ret != LDB_SUCCESS) {
		return ret;
	}
	ldb_req_mark_trusted(req);
	ret = ldb_request_add_control(req, LDB_CONTROL_AS_SYSTEM_OID,
				      false, NULL);
	if (ret == LDB_SUCCESS && all_partitions) {
		struct ldb_search_options_control *opts =
			talloc(req, struct ldb_search_options_control);

		if (opts == NULL) {
			return ldb_module_oom(module);
		}
		opts->search_options = LDB_SEARCH_OPTION_PHANTOM_ROOT;
		ret = ldb_request_add_control(req,
					      LDB_CONTROL_SEARCH_OPTIONS_OID,
					      true, opts);
	}
	if (ret == LDB_SUCCESS && show_deleted) {
		ret = ldb_request_add_control(req, LDB_CONTROL_SHOW_DELETED_OID,
					      false, NULL);
	}
	if (ret == LDB_SUCCESS && show_deleted) {
		ret = ldb_request_add_control(req,
					      LDB_CONTROL_SHOW_RECYCLED_OID,
					      false, NULL);
	}
	if (ret == LDB_SUCCESS) {
		*_req = req;
	}
	return ret;
}

/* The same, waiting for the result (filter: printf-style, or NULL). */
static int upn_search(struct ldb_module *module,
		      TALLOC_CTX *mem_ctx,
		      struct ldb_request *parent,
		      struct ldb_dn *base,
		      enum ldb_scope scope,
		      const char * const *attrs,
		      bool all_partitions,
		      bool show_deleted,
		      struct ldb_result **_res,
		      const char *fmt, ...) PRINTF_ATTRIBUTE(10, 11);

static int upn_search(struct ldb_module *module,
		      TALLOC_CTX *mem_ctx,
		      struct ldb_request *parent,
		      struct ldb_dn *base,
		      enum ldb_scope scope,
		      const char * const *attrs,
		      bool all_partitions,
		      bool show_deleted,
		      struct ldb_result **_res,
		      const char *fmt, ...)
{
	struct ldb_context *ldb = ldb_module_get_ctx(module);
	TALLOC_CTX *tmp_ctx = talloc_new(mem_ctx);
	struct ldb_request *req = NULL;
	struct ldb_result *res = NULL;
	char *filter = NULL;
	va_list ap;
	int ret = LDB_ERR_OPERATIONS_ERROR;

	*_res = NULL;
	if (tmp_ctx == NULL) {
		return ldb_module_oom(module);
	}
	res = talloc_zero(tmp_ctx, struct ldb_result);
	if (res == NULL) {
		ret = ldb_module_oom(module);
		goto done;
	}
	if (fmt != NULL) {
		va_start(ap, fmt);
		filter = talloc_vasprintf(tmp_ctx, fmt, ap);
		va_end(ap);
	} else {
		filter = talloc_strdup(tmp_ctx, "(objectClass=*)");
	}
	if (filter == NULL) {
		ret = ldb_module_oom(module);
		goto done;
	}
	if (base == NULL) {
		base = ldb_dn_new(tmp_ctx, ldb, "");
		if (base == NULL) {
			ret = ldb_module_oom(module);
			goto done;
		}
	}

	ret = upn_build_search(module, tmp_ctx, parent, base, scope, filter,
			       attrs, all_partitions, show_deleted, res,
			       ldb_search_default_callback, &req);
	if (ret != LDB_SUCCESS) {
		goto done;
	}
	ret = ldb_next_request(module, req);
	if (ret == LDB_SUCCESS) {
		ret = ldb_wait(req->handle, LDB_WAIT_ALL);
	}
	if (ret == LDB_SUCCESS) {
		*_res = talloc_steal(mem_ctx, res);
	}
done:
	TALLOC_FREE(tmp_ctx);
	return ret;
}

/* The database's highest sequence number (uSNs come from it). */
static int upn_db_seq(struct ldb_module *module,
		      struct ldb_request *parent,
		      uint64_t *seq)
{
	struct ldb_context *ldb = ldb_module_get_ctx(module);
	TALLOC_CTX *tmp_ctx = talloc_new(module);
	struct ldb_seqnum_request *sreq = NULL;
	struct ldb_seqnum_result *sres = NULL;
	struct ldb_result *res = NULL;
	struct ldb_request *req = NULL;
	int ret;

	if (tmp_ctx == NULL) {
		return ldb_module_oom(module);
	}
	sreq = talloc_zero(tmp_ctx, struct ldb_seqnum_request);
	res = talloc_zero(tmp_ctx, struct ldb_result);
	if (sreq == NULL || res == NULL) {
		ret = ldb_module_oom(module);
		goto done;
	}
	sreq->type = LDB_SEQ_HIGHEST_SEQ;
	ret = ldb_build_extended_req(&req, ldb, tmp_ctx,
				     LDB_EXTENDED_SEQUENCE_NUMBER, sreq, NULL,
				     res, ldb_extended_default_callback,
				     parent);
	if (ret != LDB_SUCCESS) {
		goto done;
	}
	ldb_req_mark_trusted(req);
	ret = ldb_next_request(module, req);
	if (ret == LDB_SUCCESS) {
		ret = ldb_wait(req->handle, LDB_WAIT_ALL);
	}
	if (ret != LDB_SUCCESS) {
		goto done;
	}
	if (res->extended == NULL || res->extended->data == NULL) {
		ret = LDB_ERR_OPERATIONS_ERROR;
		goto done;
	}
	sres = talloc_get_type(res->extended->data, struct ldb_seqnum_result);
	if (sres == NULL) {
		ret = LDB_ERR_OPERATIONS_ERROR;
		goto done;
	}
	*seq = sres->seq_num;
done:
	TALLOC_FREE(tmp_ctx);
	return ret;
}

/*
 * Keys of an object's principal names.  A value that is too long has no
 * key (it is refused, or in audit mode merely logged).
 */
/*
 * The comparison key of an SPN value: the parsed name's key, or for a
 * value that is not a valid SPN the plain name's.  With a cache, values
 * keyed lately are looked up first (their keys are talloc'ed on the
 * cache).  Returns ASA_NAME_OK or why there is no key.
 */
static enum asa_name_error upn_spn_value_key(TALLOC_CTX *mem_ctx,
					     struct upn_key_cache *cache,
					     const struct ldb_val *v,
					     uint8_t **key, size_t *len)
{
	struct asa_spn *parsed = NULL;
	enum asa_name_error err;
	unsigned int i;

	for (i = 0; cache != NULL && i < UPN_KEY_CACHE_SIZE; i++) {
		if (cache->slot[i].value.data != NULL &&
		    cache->slot[i].value.length == v->length &&
		    memcmp(cache->slot[i].value.data, v->data,
			   v->length) == 0) {
			*key = cache->slot[i].key;
			*len = cache->slot[i].len;
			return ASA_NAME_OK;
		}
	}
	if (cache != NULL) {
		mem_ctx = cache;
	}
	err = asa_spn_parse(mem_ctx, v->data, v->length, &parsed);
	if (err == ASA_NAME_OK) {
		err = asa_spn_key(mem_ctx, parsed, NULL, key, len);
	} else if (err != ASA_NAME_NO_MEMORY) {
		err = asa_name_key(mem_ctx, v->data, v->length, '/', key,
				   len);
	}
	TALLOC_FREE(parsed);
	if (err == ASA_NAME_OK && cache != NULL) {
		unsigned int s = cache->next;
		uint8_t *copy = talloc_memdup(cache, v->data,
					      v->length > 0 ? v->length : 1);

		if (copy != NULL) {
			TALLOC_FREE(cache->slot[s].value.data);
			TALLOC_FREE(cache->slot[s].key);
			cache->slot[s].value.data = copy;
			cache->slot[s].value.length = v->length;
			cache->slot[s].key = *key;
			cache->slot[s].len = *len;
			cache->next = (s + 1) % UPN_KEY_CACHE_SIZE;
		}
	}
	return err;
}

/* Keys of an object's principal names (cache: see upn_spn_value_key). */
static int upn_msg_entries_cached(TALLOC_CTX *mem_ctx,
				  struct upn_key_cache *cache,
				  const struct ldb_message *msg,
				  struct upn_entry **_entries,
				  size_t *_num)
{
	const struct ldb_message_element *spn = NULL;
	const struct ldb_message_element *upn = NULL;
	struct upn_entry *entries = NULL;
	size_t n = 0;
	size_t max = 0;
	unsigned int i;

	spn = ldb_msg_find_element(msg, "servicePrincipalName");
	upn = ldb_msg_find_element(msg, "userPrincipalName");
	max = (spn ? spn->num_values : 0) + (upn ? upn->num_values : 0);
	entries = talloc_zero_array(mem_ctx, struct upn_entry, max + 1);
	if (entries == NULL) {
		return LDB_ERR_OPERATIONS_ERROR;
	}
	for (i = 0; spn != NULL && i < spn->num_values; i++) {
		enum asa_name_error err;

		err = upn_spn_value_key(entries, cache, &spn->values[i],
					&entries[n].key, &entries[n].len);
		if (err == ASA_NAME_OK && cache != NULL) {
			/* the entries must not share the cache's copy */
			entries[n].key = talloc_memdup(
				entries, entries[n].key,
				entries[n].len > 0 ? entries[n].len : 1);
			if (entries[n].key == NULL) {
				err = ASA_NAME_NO_MEMORY;
			}
		}
		if (err == ASA_NAME_NO_MEMORY) {
			TALLOC_FREE(entries);
			return LDB_ERR_OPERATIONS_ERROR;
		}
		if (err != ASA_NAME_OK) {
			continue;
		}
		entries[n].kind = UPN_KIND_SPN;
		n++;
	}
	for (i = 0; upn != NULL && i < upn->num_values; i++) {
		const struct ldb_val *v = &upn->values[i];
		enum asa_name_error err;

		err = asa_upn_key(entries, v->data, v->length,
				  &entries[n].key, &entries[n].len);
		if (err == ASA_NAME_NO_MEMORY) {
			TALLOC_FREE(entries);
			return LDB_ERR_OPERATIONS_ERROR;
		}
		if (err != ASA_NAME_OK) {
			continue;
		}
		entries[n].kind = UPN_KIND_UPN;
		n++;
	}
	*_entries = entries;
	*_num = n;
	return LDB_SUCCESS;
}

static int upn_msg_entries(TALLOC_CTX *mem_ctx,
			   const struct ldb_message *msg,
			   struct upn_entry **_entries,
			   size_t *_num)
{
	return upn_msg_entries_cached(mem_ctx, NULL, msg, _entries, _num);
}

static bool entry_in(const struct upn_entry *e,
		     const struct upn_entry *set, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (set[i].kind == e->kind && set[i].len == e->len &&
		    memcmp(set[i].key, e->key, e->len) == 0) {
			return true;
		}
	}
	return false;
}

/*
 * The key index: an LMDB database (unique_principal_names.mdb and its
 * -lock file) beside sam.ldb.
 *
 * Records: "V" version; "I" objectGUID of the default naming context
 * (whose database this index describes); "R" the sequence number up to
 * which every change has been seen (8 bytes, little-endian); "C" a count
 * of dSHeuristics / sPNMappings changes;
 * "K" kind key -> objectGUIDs (16 bytes each);
 * "G" objectGUID -> entries (kind, 2-byte length, key)*;
 * where a key longer than UPN_INDEX_KEY_MAX is stored as its digest
 * (upn_index_form()).  A change of these formats changes "V", and an
 * index of another version is rebuilt.
 *
 * Why LMDB rather than a TDB: a TDB transaction copies the whole hash
 * table when it starts and a TDB's hash chains grow with its records.
 * Measured with callgrind, one transaction of three reads and two writes
 * costs 199k instructions in a TDB of 3,000 records (10007 buckets) and
 * 432k in one of 300,000, against 18k and 22k in LMDB.
 *
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
#define UPN_INDEX_MAP_SIZE ((size_t)1 << (sizeof(size_t) > 4 ? 34 : 29))

/*
 * One LMDB environment per file and process: Samba opens sam.ldb several
 * times in one process, and LMDB wants each file opened once.  An
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

static struct upn_env *index_env(const char *path)
{
	struct upn_env *e = NULL;
	MDB_txn *txn = NULL;
	int rc;

	for (e = upn_envs; e != NULL; e = e->next) {
		if (e->pid == getpid() && strcmp(e->path, path) == 0) {
			return e;
		}
	}
	e = talloc_zero(NULL, struct upn_env);
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
	return e;
}

/*
 * The index's write transaction for the current sam.ldb transaction,
 * begun at the first access.  *txn is NULL when the index cannot be
 * opened or another ldb of this process holds it: the caller falls back
 * to directory searches (logged).  Once the index failed in this
 * transaction, every further use fails.
 */
static int index_txn(struct ldb_module *module, MDB_txn **txn)
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
	p->env = index_env(p->index_path);
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
static void index_finish(struct upn_private *p, bool commit)
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
static int index_fail(struct upn_private *p, const char *what, int rc)
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

/*
 * Read a record; *d points into the map, valid until the next write in
 * this transaction.  Returns 0, MDB_NOTFOUND, or -1 after index_fail().
 */
static int index_get(struct upn_private *p, MDB_val k, MDB_val *d)
{
	int rc;

	if (p->txn.mdb == NULL) {
		return -1;
	}
	rc = mdb_get(p->txn.mdb, p->env->dbi, &k, d);
	if (rc == 0 || rc == MDB_NOTFOUND) {
		return rc;
	}
	index_fail(p, "read", rc);
	return -1;
}

static int index_put(struct upn_private *p, MDB_val k, MDB_val d)
{
	int rc;

	if (p->txn.mdb == NULL) {
		return LDB_ERR_OPERATIONS_ERROR;
	}
	rc = mdb_put(p->txn.mdb, p->env->dbi, &k, &d, 0);
	return rc == 0 ? LDB_SUCCESS : index_fail(p, "write", rc);
}

static int index_del(struct upn_private *p, MDB_val k)
{
	int rc;

	if (p->txn.mdb == NULL) {
		return LDB_ERR_OPERATIONS_ERROR;
	}
	rc = mdb_del(p->txn.mdb, p->env->dbi, &k, NULL);
	return rc == 0 || rc == MDB_NOTFOUND ? LDB_SUCCESS
					     : index_fail(p, "delete", rc);
}

static MDB_val index_str_key(const char *s)
{
	MDB_val k;

	k.mv_data = (void *)(uintptr_t)s;
	k.mv_size = strlen(s);
	return k;
}

static bool index_fetch_u64(struct upn_private *p, const char *name,
			    uint64_t *v)
{
	MDB_val d;
	uint64_t x = 0;
	const uint8_t *b = NULL;
	int i;

	if (index_get(p, index_str_key(name), &d) != 0 || d.mv_size != 8) {
		return false;
	}
	b = d.mv_data;
	for (i = 7; i >= 0; i--) {
		x = (x << 8) | b[i];
	}
	*v = x;
	return true;
}

static int index_store_u64(struct upn_private *p, const char *name,
			   uint64_t v)
{
	uint8_t buf[8];
	MDB_val d = { .mv_size = 8, .mv_data = buf };
	int i;

	for (i = 0; i < 8; i++) {
		buf[i] = (v >> (8 * i)) & 0xff;
	}
	return index_put(p, index_str_key(name), d);
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
	rc = index_get(p, index_key(kb, 'G', guid->data, 16), &d);
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
	MDB_val k, d, nd;
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
	rc = index_get(p, k, &d);
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
		ret = index_del(p, k);
		goto done;
	}
	nd.mv_data = buf;
	nd.mv_size = nlen;
	ret = index_put(p, k, nd);
done:
	TALLOC_FREE(tmp_ctx);
	return ret;
}

/* Make the index say that guid holds exactly these entries. */
static int index_set_owner(struct ldb_module *module,
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
	MDB_val k, d;
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
		if (!entry_in(&old[i], entries, num)) {
			ret = index_key_update(p, &old[i], guid, false);
			if (ret != LDB_SUCCESS) {
				goto done;
			}
		}
	}
	for (i = 0; i < num; i++) {
		blen += 3 + entries[i].len;
		if (!entry_in(&entries[i], old, num_old)) {
			ret = index_key_update(p, &entries[i], guid, true);
			if (ret != LDB_SUCCESS) {
				goto done;
			}
		}
	}

	k = index_key(kb, 'G', guid->data, 16);
	if (num == 0) {
		ret = num_old > 0 ? index_del(p, k) : LDB_SUCCESS;
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
	d.mv_data = buf;
	d.mv_size = blen;
	ret = index_put(p, k, d);
done:
	TALLOC_FREE(tmp_ctx);
	return ret;
}

/* Re-read one object and put its keys into the index. */
static int index_set_from_msg(struct ldb_module *module,
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
	if (!msg_guid(msg, &guid)) {
		goto done;
	}
	ret = upn_msg_entries(tmp_ctx, msg, &entries, &num);
	if (ret != LDB_SUCCESS) {
		goto done;
	}
	ret = index_set_owner(module, &guid, entries, num);
done:
	TALLOC_FREE(tmp_ctx);
	return ret;
}

/* Callback of the catch-up search: one object at a time, no result set. */
struct upn_catch_up_state {
	struct ldb_module *module;
	size_t count;
	int error;
};

static int upn_catch_up_callback(struct ldb_request *req,
				 struct ldb_reply *ares)
{
	struct upn_catch_up_state *st =
		talloc_get_type_abort(req->context, struct upn_catch_up_state);
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
		ret = index_set_from_msg(st->module, ares->message);
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
static int upn_catch_up(struct ldb_module *module,
			struct ldb_request *parent,
			uint64_t from_usn)
{
	struct ldb_context *ldb = ldb_module_get_ctx(module);
	struct upn_private *p = upn_private(module);
	TALLOC_CTX *tmp_ctx = talloc_new(module);
	struct upn_catch_up_state *st = NULL;
	struct ldb_request *req = NULL;
	struct ldb_dn *base = NULL;
	const char *filter = NULL;
	MDB_txn *txn = NULL;
	int ret;

	if (tmp_ctx == NULL) {
		return ldb_module_oom(module);
	}
	ret = index_txn(module, &txn);
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
			ret = index_fail(p, "wipe", rc);
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
	st = talloc_zero(tmp_ctx, struct upn_catch_up_state);
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
			       upn_catch_up_callback, &req);
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
	if (res->count != 1 || !msg_guid(res->msgs[0], &guid)) {
		TALLOC_FREE(res);
		return LDB_ERR_NO_SUCH_OBJECT;
	}
	memcpy(id, guid.data, 16);
	TALLOC_FREE(res);
	return LDB_SUCCESS;
}

/*
 * Make the index current for this transaction: rebuild it when it is new,
 * of another format version or describes another database, catch up when
 * changes happened that it did not see.  *_txn is the index's
 * transaction, or NULL to fall back to searches (the index cannot be
 * opened; logged); an error fails the request.
 */
static int upn_index(struct ldb_module *module,
		     struct ldb_request *parent,
		     MDB_txn **_txn)
{
	struct upn_private *p = upn_private(module);
	MDB_txn *txn = NULL;
	uint64_t recorded = 0;
	uint64_t version = 0;
	uint8_t id[16];
	MDB_val d;
	const char *rebuild = NULL;	/* why */
	bool have_id = false;
	int ret;

	*_txn = NULL;
	ret = index_txn(module, &txn);
	if (ret != LDB_SUCCESS || txn == NULL) {
		return ret;
	}
	if (p->txn.index_current) {
		*_txn = txn;
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
		if (!index_fetch_u64(p, "V", &version)) {
			rebuild = "it is new";
		} else if (version != UPN_INDEX_VERSION) {
			rebuild = "it is of another format version";
			DBG_WARNING("%s: the key index %s is of format "
				    "version %llu, this module's is %d: "
				    "rebuilding it from the directory\n",
				    UPN_MODULE, p->index_path,
				    (unsigned long long)version,
				    UPN_INDEX_VERSION);
		} else if (index_get(p, index_str_key("I"), &d) != 0 ||
			   d.mv_size != 16 || memcmp(d.mv_data, id, 16) != 0) {
			rebuild = "it describes another database";
		}
	}

	if (rebuild == NULL && !index_fetch_u64(p, "R", &recorded)) {
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
		ret = upn_catch_up(module, parent, 0);
		if (ret == LDB_SUCCESS) {
			d.mv_data = id;
			d.mv_size = 16;
			ret = index_put(p, index_str_key("I"), d);
		}
		if (ret == LDB_SUCCESS) {
			ret = index_store_u64(p, "V", UPN_INDEX_VERSION);
		}
	} else if (!p->txn.have_seq || recorded != p->txn.seq_start) {
		ret = upn_catch_up(module, parent, recorded);
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
	*_txn = p->txn.mdb;
	return LDB_SUCCESS;
}

/*
 * dSHeuristics and sPNMappings, from
 * CN=Directory Service,CN=Windows NT,CN=Services,<configuration>,
 * read once per transaction.
 */
static struct upn_config *upn_config(struct ldb_module *module,
				     struct ldb_request *parent)
{
	struct ldb_context *ldb = ldb_module_get_ctx(module);
	struct upn_private *p = upn_private(module);
	static const char * const attrs[] = {
		"dSHeuristics", "sPNMappings", NULL
	};
	struct upn_config *cfg = NULL;
	struct ldb_result *res = NULL;
	struct ldb_dn *dn = NULL;
	const struct ldb_message_element *el = NULL;
	const char **values = NULL;
	const char *heur = NULL;
	unsigned int i;
	int ret;

	MDB_txn *txn = NULL;
	uint64_t gen = 0;

	if (p->txn.config != NULL) {
		return p->txn.config;
	}
	/*
	 * The index counts changes of these two attributes made through
	 * this module ("C"); a catch-up counts too.  While the count is the
	 * one we read them at, the copy we have is current.
	 */
	if (upn_index(module, parent, &txn) != LDB_SUCCESS) {
		return NULL;	/* the index failed: p->txn.index_failed */
	}
	if (txn != NULL) {
		if (!index_fetch_u64(p, "C", &gen) && p->txn.index_failed) {
			return NULL;
		}
		if (p->cfg_cached != NULL && gen == p->cfg_gen &&
		    !p->txn.config_changed) {
			p->txn.config = p->cfg_cached;
			return p->txn.config;
		}
	}
	cfg = talloc_zero(p, struct upn_config);
	if (cfg == NULL) {
		return NULL;
	}
	dn = ldb_dn_copy(cfg, ldb_get_config_basedn(ldb));
	if (dn == NULL ||
	    !ldb_dn_add_child_fmt(dn, "CN=Directory Service,CN=Windows NT,"
				  "CN=Services")) {
		TALLOC_FREE(cfg);
		return NULL;
	}
	ret = upn_search(module, cfg, parent, dn, LDB_SCOPE_BASE, attrs,
			 false, false, &res, NULL);
	if (ret != LDB_SUCCESS || res->count != 1) {
		DBG_WARNING("%s: %s not readable: no sPNMappings, "
			    "dSHeuristics unset\n", UPN_MODULE,
			    ldb_dn_get_linearized(dn));
		cfg->mappings = asa_spn_mappings_parse(cfg, NULL, 0);
		goto done;
	}

	heur = ldb_msg_find_attr_as_string(res->msgs[0], "dSHeuristics",
					   NULL);
	if (heur != NULL && strlen(heur) > UPN_HEURISTIC_POS) {
		switch (heur[UPN_HEURISTIC_POS]) {
		case '1':
			cfg->skip_upn = true;
			break;
		case '2':
			cfg->skip_spn = true;
			break;
		case '3':
			cfg->skip_upn = true;
			cfg->skip_spn = true;
			break;
		default:
			break;
		}
	}

	el = ldb_msg_find_element(res->msgs[0], "sPNMappings");
	if (p->mappings != NULL && p->mappings_el != NULL && el != NULL &&
	    ldb_msg_element_equal_ordered(p->mappings_el, el)) {
		/* unchanged since we parsed them: reuse */
		cfg->mappings = p->mappings;
		goto done;
	}
	values = talloc_zero_array(cfg, const char *,
				   (el ? el->num_values : 0) + 1);
	if (values == NULL) {
		TALLOC_FREE(cfg);
		return NULL;
	}
	for (i = 0; el != NULL && i < el->num_values; i++) {
		values[i] = talloc_strndup(values,
					   (const char *)el->values[i].data,
					   el->values[i].length);
		if (values[i] == NULL) {
			TALLOC_FREE(cfg);
			return NULL;
		}
	}
	cfg->mappings = asa_spn_mappings_parse(cfg, values,
					       el ? el->num_values : 0);
	if (cfg->mappings != NULL && el != NULL) {
		struct ldb_message_element *copy =
			talloc_zero(p, struct ldb_message_element);

		TALLOC_FREE(p->mappings_el);
		TALLOC_FREE(p->mappings);
		if (copy != NULL) {
			copy->name = "sPNMappings";
			copy->num_values = el->num_values;
			copy->values = talloc_steal(copy, el->values);
			p->mappings_el = copy;
			p->mappings = talloc_steal(p, cfg->mappings);
		}
	}
done:
	if (cfg->mappings == NULL) {
		TALLOC_FREE(cfg);
		return NULL;
	}
	p->txn.config = cfg;
	if (txn != NULL) {
		TALLOC_FREE(p->cfg_cached);
		p->cfg_cached = cfg;
		p->cfg_gen = gen;
	} else {
		/* no index: read again in the next transaction */
		talloc_steal(p->txn.mem ? p->txn.mem : (TALLOC_CTX *)p, cfg);
	}
	return cfg;
}

/* The conflicts found for one object. */
struct upn_conflicts {
	bool spn;
	bool upn;
	bool too_long;
	const char *too_long_attr;
};

/* Does msg hold a value of this kind whose key is e? */
static int upn_msg_holds(TALLOC_CTX *mem_ctx,
			 const struct ldb_message *msg,
			 const struct upn_entry *e,
			 bool *holds)
{
	struct upn_entry *entries = NULL;
	size_t n = 0;
	int ret;

	*holds = false;
	ret = upn_msg_entries(mem_ctx, msg, &entries, &n);
	if (ret != LDB_SUCCESS) {
		return ret;
	}
	*holds = entry_in(e, entries, n);
	TALLOC_FREE(entries);
	return LDB_SUCCESS;
}

/*
 * Who else holds a value with this key (kind + key), or, when there is no
 * key index, this exact value (case-insensitive)?  Returns the DNs of up
 * to UPN_MAX_LOGGED_HOLDERS other objects; *count is the number found.
 *
 * This is the one place that decides "taken"; another domain's global
 * catalog would be asked here.
 */
static int upn_find_holders(struct ldb_module *module,
			    TALLOC_CTX *mem_ctx,
			    struct ldb_request *parent,
			    const struct ldb_val *self_guid,
			    const struct upn_entry *e,
			    const char *value,
			    const char ***_dns,
			    size_t *count)
{
	struct upn_private *p = upn_private(module);
	MDB_txn *txn = NULL;
	TALLOC_CTX *tmp_ctx = NULL;
	const char **dns = NULL;
	const char *attr = e->kind == UPN_KIND_SPN ? "servicePrincipalName"
						   : "userPrincipalName";
	struct ldb_result *res = NULL;
	uint8_t kb[UPN_INDEX_KEY_MAX + 2];
	uint8_t digest[UPN_INDEX_DIGEST_LEN];
	struct upn_entry form;
	MDB_val d = { .mv_size = 0, .mv_data = NULL };
	uint8_t *guids = NULL;
	size_t i, n = 0;
	int ret;

	*_dns = NULL;
	*count = 0;
	ret = upn_index(module, parent, &txn);
	if (ret != LDB_SUCCESS) {
		return ret;
	}
	tmp_ctx = talloc_new(mem_ctx);
	if (tmp_ctx == NULL) {
		return ldb_module_oom(module);
	}
	dns = talloc_zero_array(tmp_ctx, const char *,
				UPN_MAX_LOGGED_HOLDERS + 1);
	if (dns == NULL) {
		ret = ldb_module_oom(module);
		goto done;
	}

	if (txn == NULL) {
		/* fallback: the directory's own (case-folding) index */
		char *enc = ldb_binary_encode_string(tmp_ctx, value);

		if (enc == NULL) {
			ret = ldb_module_oom(module);
			goto done;
		}
		ret = upn_search(module, tmp_ctx, parent, NULL,
				 LDB_SCOPE_SUBTREE, upn_value_attrs, true,
				 false, &res, "(%s=%s)", attr, enc);
		if (ret != LDB_SUCCESS) {
			goto done;
		}
		talloc_steal(dns, res);
		for (i = 0; i < res->count; i++) {
			struct ldb_val g;

			if (msg_guid(res->msgs[i], &g) &&
			    memcmp(g.data, self_guid->data, 16) == 0) {
				continue;
			}
			if (n < UPN_MAX_LOGGED_HOLDERS) {
				dns[n] = ldb_dn_get_linearized(
					res->msgs[i]->dn);
			}
			n++;
		}
		goto done;
	}

	if (!upn_index_form(e, digest, &form)) {
		ret = ldb_module_operr(module);
		goto done;
	}
	ret = index_get(p, index_entry_key(kb, &form), &d);
	if (ret == MDB_NOTFOUND) {
		ret = LDB_SUCCESS;
		goto done;
	}
	if (ret != 0) {
		ret = LDB_ERR_OPERATIONS_ERROR;
		goto done;
	}
	/* a copy: dropping stale entries below writes to the index */
	guids = talloc_memdup(tmp_ctx, d.mv_data, d.mv_size);
	if (guids == NULL) {
		ret = ldb_module_oom(module);
		goto done;
	}

	for (i = 0; i + 16 <= d.mv_size; i += 16) {
		struct ldb_val g = { .data = guids + i, .length = 16 };
		struct ldb_dn *gdn = NULL;
		char *gs = NULL;
		bool holds = false;

		if (memcmp(g.data, self_guid->data, 16) == 0) {
			continue;
		}
		/* verify against the directory before believing it */
		gs = guid_string(tmp_ctx, g.data);
		gdn = gs ? ldb_dn_new_fmt(tmp_ctx, ldb_module_get_ctx(module),
					  "<GUID=%s>", gs)
			 : NULL;
		if (gdn == NULL) {
			ret = ldb_module_oom(module);
			goto done;
		}
		ret = upn_search(module, tmp_ctx, parent, gdn, LDB_SCOPE_BASE,
				 upn_value_attrs, false, false, &res, NULL);
		if (ret == LDB_ERR_NO_SUCH_OBJECT ||
		    (ret == LDB_SUCCESS && res->count == 0)) {
			/* gone: drop the stale entry */
			ret = index_set_owner(module, &g, NULL, 0);
			if (ret != LDB_SUCCESS) {
				goto done;
			}
			continue;
		}
		if (ret != LDB_SUCCESS) {
			goto done;
		}
		ret = upn_msg_holds(tmp_ctx, res->msgs[0], e, &holds);
		if (ret != LDB_SUCCESS) {
			goto done;
		}
		if (!holds) {
			/* stale: the object changed behind our back */
			ret = index_set_from_msg(module, res->msgs[0]);
			if (ret != LDB_SUCCESS) {
				goto done;
			}
			continue;
		}
		if (n < UPN_MAX_LOGGED_HOLDERS) {
			dns[n] = ldb_dn_get_linearized(res->msgs[0]->dn);
			talloc_steal(dns, res->msgs[0]);
		}
		n++;
	}
done:
	if (ret == LDB_SUCCESS) {
		*_dns = talloc_steal(mem_ctx, dns);
		*count = n;
	}
	TALLOC_FREE(tmp_ctx);
	return ret;
}

static void upn_log_conflict(struct upn_private *p,
			     const char *attr,
			     const char *value,
			     const char *how,
			     struct ldb_dn *dn,
			     const char * const *holders,
			     size_t count)
{
	size_t i;

	if (p->mode == UPN_MODE_AUDIT) {
		DBG_WARNING("%s: audit: %s '%s'%s on %s would be refused: "
			    "held by %zu other object(s)\n", UPN_MODULE, attr,
			    value, how, ldb_dn_get_linearized(dn), count);
	} else {
		DBG_ERR("%s: refused %s '%s'%s on %s: held by %zu other "
			"object(s)\n", UPN_MODULE, attr, value, how,
			ldb_dn_get_linearized(dn), count);
	}
	for (i = 0; i < count && i < UPN_MAX_LOGGED_HOLDERS; i++) {
		if (p->mode == UPN_MODE_AUDIT) {
			DBG_WARNING("%s:   held by %s\n", UPN_MODULE,
				    holders[i]);
		} else {
			DBG_ERR("%s:   held by %s\n", UPN_MODULE, holders[i]);
		}
	}
}

/* Check one new value against everyone else; sets conflicts. */
static int upn_check_value(struct upn_context *ac,
			   TALLOC_CTX *mem_ctx,
			   struct upn_config *cfg,
			   const struct ldb_val *guid,
			   struct ldb_dn *dn,
			   const struct upn_entry *e,
			   const struct ldb_val *v,
			   struct upn_conflicts *c)
{
	struct upn_private *p = upn_private(ac->module);
	const char *attr = e->kind == UPN_KIND_SPN ? "servicePrincipalName"
						   : "userPrincipalName";
	const char *value = talloc_strndup(mem_ctx, (const char *)v->data,
					   v->length);
	const char **holders = NULL;
	size_t count = 0;
	struct asa_spn *spn = NULL;
	const char * const *aliases = NULL;
	size_t i;
	int ret;

	if (value == NULL) {
		return ldb_module_oom(ac->module);
	}
	ret = upn_find_holders(ac->module, mem_ctx, ac->req, guid, e, value,
			       &holders, &count);
	if (ret != LDB_SUCCESS) {
		return ret;
	}
	if (count > 0) {
		upn_log_conflict(p, attr, value, "", dn, holders, count);
		if (e->kind == UPN_KIND_SPN) {
			c->spn = true;
		} else {
			c->upn = true;
		}
		return LDB_SUCCESS;
	}
	if (e->kind != UPN_KIND_SPN) {
		return LDB_SUCCESS;
	}

	/*
	 * "host/X" may not be added while an alias "cifs/X" is held by
	 * another object; the other way round is samldb's business (it
	 * depends on the writer's rights on the holder).
	 */
	if (asa_spn_parse(mem_ctx, v->data, v->length, &spn) !=
	    ASA_NAME_OK) {
		return LDB_SUCCESS;
	}
	aliases = asa_spn_mappings_aliases(cfg->mappings, spn->service_class);
	for (i = 0; aliases[i] != NULL; i++) {
		struct upn_entry ae = { .kind = UPN_KIND_SPN };
		const char *alias_value = NULL;

		if (asa_spn_key_with_class(mem_ctx, e->key, e->len,
					   aliases[i], &ae.key,
					   &ae.len) != ASA_NAME_OK) {
			return ldb_module_oom(ac->module);
		}
		alias_value = talloc_asprintf(mem_ctx, "%s/%s%s%s",
					      aliases[i], spn->instance,
					      spn->service_name ? "/" : "",
					      spn->service_name ?
					      spn->service_name : "");
		if (alias_value == NULL) {
			return ldb_module_oom(ac->module);
		}
		ret = upn_find_holders(ac->module, mem_ctx, ac->req, guid,
				       &ae, alias_value, &holders, &count);
		if (ret != LDB_SUCCESS) {
			return ret;
		}
		if (count > 0) {
			char *how = talloc_asprintf(mem_ctx,
						    " (its alias '%s')",
						    alias_value);

			upn_log_conflict(p, attr, value, how ? how : "", dn,
					 holders, count);
			c->spn = true;
			return LDB_SUCCESS;
		}
	}
	return LDB_SUCCESS;
}

/* Did the object carry exactly this value before the write? */
static bool upn_old_has_value(const struct upn_context *ac,
			      const char *attr,
			      const struct ldb_val *v)
{
	const struct ldb_message_element *el = NULL;
	unsigned int i;

	if (ac->old_msg == NULL) {
		return false;
	}
	el = ldb_msg_find_element(ac->old_msg, attr);
	for (i = 0; el != NULL && i < el->num_values; i++) {
		if (el->values[i].length == v->length &&
		    memcmp(el->values[i].data, v->data, v->length) == 0) {
			return true;
		}
	}
	return false;
}

/*
 * A new SPN must parse: two or three parts, not all of them empty.
 * samldb counts the parts already; "//" is what it lets through.
 */
static int upn_check_spn_syntax(struct upn_context *ac,
				TALLOC_CTX *mem_ctx,
				const struct ldb_val *v)
{
	struct ldb_context *ldb = ldb_module_get_ctx(ac->module);
	struct upn_private *p = upn_private(ac->module);
	struct asa_spn *spn = NULL;
	enum asa_name_error err;

	err = asa_spn_parse(mem_ctx, v->data, v->length, &spn);
	TALLOC_FREE(spn);
	if (err == ASA_NAME_OK || err == ASA_NAME_TOO_LONG) {
		/* too long: refused below with its own text */
		return LDB_SUCCESS;
	}
	if (err == ASA_NAME_NO_MEMORY) {
		return ldb_module_oom(ac->module);
	}
	DBG_NOTICE("%s: malformed servicePrincipalName '%.*s': %s\n",
		   UPN_MODULE, (int)v->length, (const char *)v->data,
		   asa_name_strerror(err));
	if (p->mode != UPN_MODE_ENFORCE) {
		return LDB_SUCCESS;
	}
	ldb_asprintf_errstring(ldb, "0000202F: %s: servicePrincipalName "
			       "'%.*s': %s", UPN_MODULE, (int)v->length,
			       (const char *)v->data, asa_name_strerror(err));
	return LDB_ERR_CONSTRAINT_VIOLATION;
}

/*
 * After the write: read the object back and check every principal name it
 * did not carry before.  Returns LDB_SUCCESS or the refusal.
 */
static int upn_check_object(struct upn_context *ac)
{
	struct ldb_module *module = ac->module;
	struct ldb_context *ldb = ldb_module_get_ctx(module);
	struct upn_private *p = upn_private(module);
	TALLOC_CTX *tmp_ctx = talloc_new(ac);
	struct upn_config *cfg = NULL;
	struct ldb_result *res = NULL;
	struct ldb_dn *base = NULL;
	struct upn_entry *entries = NULL;
	size_t num = 0;
	struct upn_conflicts c = { .spn = false };
	struct ldb_val guid;
	MDB_txn *txn = NULL;
	const char *names[] = { "servicePrincipalName", "userPrincipalName" };
	char kinds[] = { UPN_KIND_SPN, UPN_KIND_UPN };
	unsigned int a, i;
	size_t e = 0;
	int ret;

	if (tmp_ctx == NULL) {
		return ldb_module_oom(module);
	}
	if (ac->have_guid) {
		char *gs = guid_string(tmp_ctx, ac->guid.data);

		base = gs ? ldb_dn_new_fmt(tmp_ctx, ldb, "<GUID=%s>", gs)
			  : NULL;
	} else {
		base = ac->dn;
	}
	if (base == NULL) {
		ret = ldb_module_oom(module);
		goto done;
	}
	if (ac->predicted != NULL) {
		/* nothing below rewrites plain adds and replaces of names */
		res = talloc_zero(tmp_ctx, struct ldb_result);
		if (res == NULL) {
			ret = ldb_module_oom(module);
			goto done;
		}
		res->msgs = talloc_array(res, struct ldb_message *, 1);
		if (res->msgs == NULL) {
			ret = ldb_module_oom(module);
			goto done;
		}
		res->msgs[0] = ac->predicted;
		res->count = 1;
		ret = LDB_SUCCESS;
	} else {
		ret = upn_search(module, tmp_ctx, ac->req, base,
				 LDB_SCOPE_BASE, upn_value_attrs, false,
				 false, &res, NULL);
	}
	if (ret == LDB_ERR_NO_SUCH_OBJECT ||
	    (ret == LDB_SUCCESS && res->count == 0)) {
		/* e.g. the write moved it to the deleted objects */
		ret = LDB_SUCCESS;
		goto done;
	}
	if (ret != LDB_SUCCESS) {
		goto done;
	}
	if (!msg_guid(res->msgs[0], &guid)) {
		ret = LDB_SUCCESS;
		goto done;
	}
	ret = upn_msg_entries_cached(tmp_ctx, p->keys, res->msgs[0],
				     &entries, &num);
	if (ret != LDB_SUCCESS) {
		goto done;
	}

	cfg = upn_config(module, ac->req);
	if (cfg == NULL) {
		ret = p->txn.index_failed ? LDB_ERR_OPERATIONS_ERROR
					  : ldb_module_oom(module);
		goto done;
	}

	/*
	 * Walk the values in the order upn_msg_entries() keyed them, so
	 * entries[e] belongs to the value at hand.
	 */
	for (a = 0; a < 2; a++) {
		const struct ldb_message_element *el =
			ldb_msg_find_element(res->msgs[0], names[a]);
		bool skip = kinds[a] == UPN_KIND_SPN ? cfg->skip_spn
						     : cfg->skip_upn;

		for (i = 0; el != NULL && i < el->num_values; i++) {
			const struct ldb_val *v = &el->values[i];
			size_t vlen = v->length;
			const uint8_t *nul = memchr(v->data, 0, v->length);
			bool is_new;

			if (nul != NULL) {
				vlen = nul - v->data;
			}
			if (vlen == 0) {
				continue;
			}
			if (vlen > ASA_PRINCIPAL_MAX_LENGTH) {
				/* no key; refused whatever dSHeuristics say,
				 * unless the object had it already */
				if (upn_old_has_value(ac, names[a], v)) {
					continue;
				}
				DBG_NOTICE("%s: %s of %zu bytes on %s\n",
					   UPN_MODULE, names[a], vlen,
					   ldb_dn_get_linearized(
						   res->msgs[0]->dn));
				c.too_long = true;
				c.too_long_attr = names[a];
				continue;
			}
			if (e >= num || entries[e].kind != kinds[a]) {
				ret = ldb_module_operr(module);
				goto done;
			}
			is_new = !entry_in(&entries[e], ac->old_entries,
					   ac->num_old);
			if (is_new && kinds[a] == UPN_KIND_SPN) {
				ret = upn_check_spn_syntax(ac, tmp_ctx, v);
				if (ret != LDB_SUCCESS) {
					goto done;
				}
			}
			if (is_new && !skip) {
				ret = upn_check_value(ac, tmp_ctx, cfg, &guid,
						      res->msgs[0]->dn,
						      &entries[e], v, &c);
				if (ret != LDB_SUCCESS) {
					goto done;
				}
			}
			e++;
		}
	}

	if (c.too_long && p->mode == UPN_MODE_ENFORCE) {
		ldb_asprintf_errstring(ldb,
				       "0000202F: %s: a %s value is longer "
				       "than %u bytes, which no Kerberos "
				       "implementation accepts; use a "
				       "shorter name", UPN_MODULE,
				       c.too_long_attr,
				       ASA_PRINCIPAL_MAX_LENGTH);
		ret = LDB_ERR_CONSTRAINT_VIOLATION;
		goto done;
	}
	if (c.spn && p->mode == UPN_MODE_ENFORCE) {
		ldb_set_errstring(ldb, UPN_SPN_ERROR);
		ret = LDB_ERR_CONSTRAINT_VIOLATION;
		goto done;
	}
	if (c.upn && p->mode == UPN_MODE_ENFORCE) {
		ldb_set_errstring(ldb, UPN_UPN_ERROR);
		ret = LDB_ERR_CONSTRAINT_VIOLATION;
		goto done;
	}

	/* accepted: the index learns the object's names */
	ret = upn_index(module, ac->req, &txn);
	if (ret == LDB_SUCCESS && txn != NULL) {
		ret = index_set_owner(module, &guid, entries, num);
	}
done:
	if (ret != LDB_SUCCESS && p->txn.index_failed) {
		ldb_asprintf_errstring(ldb, "%s: the key index %s failed "
				       "(see the DC's log): the write is "
				       "refused",
				       UPN_MODULE, p->index_path);
	}
	TALLOC_FREE(tmp_ctx);
	return ret;
}

/*
 * samldb (below) refuses exact duplicates in the domain naming context
 * first, with texts of its own: give the client Windows' form instead.
 */
static int upn_translate_error(struct upn_context *ac, int ret)
{
	struct ldb_context *ldb = ldb_module_get_ctx(ac->module);
	const char *err = ldb_errstring(ldb);

	if (ret != LDB_ERR_CONSTRAINT_VIOLATION) {
		return ret;
	}
	if (err != NULL && strstr(err, "samldb: spn[") != NULL &&
	    strstr(err, "would cause a conflict") != NULL) {
		DBG_NOTICE("%s: %s\n", UPN_MODULE, err);
		ldb_set_errstring(ldb, UPN_SPN_ERROR);
	} else if (err != NULL &&
		   strstr(err, "userPrincipalName") != NULL &&
		   strstr(err, "already in use") != NULL) {
		DBG_NOTICE("%s: %s\n", UPN_MODULE, err);
		ldb_set_errstring(ldb, UPN_UPN_ERROR);
	} else if (ac->touches_spn &&
		   (err == NULL || err[0] == '\0' ||
		    strncmp(err, "error in module samldb: Constraint violation",
			    44) == 0)) {
		/* samldb's alias refusal ("host/X" while "cifs/X" is held
		 * elsewhere) comes without text */
		ldb_set_errstring(ldb, UPN_SPN_ERROR);
	}
	return ret;
}

/*
 * A write refused after it went down the stack is in sam.ldb's
 * transaction already.  ldb passes no nested transaction to the modules
 * (the one a request gets inside a caller's transaction is only counted),
 * so nothing can take back just this write, and an undo by another write
 * would leave its traces (uSN, metadata, what samldb did along with it).
 * The transaction is marked instead: upn_prepare_commit() refuses to
 * commit it.  The LDAP server and ldb's own per-request transactions
 * cancel on the error anyway; a caller holding its own transaction (a
 * local tool, a script) gets the refusal again at its commit, and
 * nothing of the transaction is stored.
 */
static void upn_mark_refused(struct ldb_module *module, int ret)
{
	struct ldb_context *ldb = ldb_module_get_ctx(module);
	struct upn_private *p = upn_private(module);
	const char *text = ldb_errstring(ldb);

	if (!p->txn.active || p->txn.refused != LDB_SUCCESS) {
		return;
	}
	p->txn.refused = ret;
	p->txn.refused_text = talloc_strdup(p->txn.mem,
					    text != NULL ? text : "");
}

static int upn_callback(struct ldb_request *req, struct ldb_reply *ares)
{
	struct upn_context *ac =
		talloc_get_type_abort(req->context, struct upn_context);
	int ret;

	if (ares == NULL) {
		return ldb_module_done(ac->req, NULL, NULL,
				       LDB_ERR_OPERATIONS_ERROR);
	}
	if (ares->error != LDB_SUCCESS) {
		ret = upn_translate_error(ac, ares->error);
		return ldb_module_done(ac->req, ares->controls,
				       ares->response, ret);
	}
	if (ares->type == LDB_REPLY_REFERRAL) {
		return ldb_module_send_referral(ac->req, ares->referral);
	}
	if (ares->type != LDB_REPLY_DONE) {
		talloc_free(ares);
		return ldb_module_done(ac->req, NULL, NULL,
				       LDB_ERR_OPERATIONS_ERROR);
	}

	ret = upn_check_object(ac);
	if (ret != LDB_SUCCESS) {
		upn_mark_refused(ac->module, ret);
		talloc_free(ares);
		return ldb_module_done(ac->req, NULL, NULL, ret);
	}
	return ldb_module_done(ac->req, ares->controls, ares->response,
			       LDB_SUCCESS);
}

/* Whether this request is one we leave alone. */
static bool upn_not_ours(struct ldb_module *module, struct ldb_request *req,
			 struct ldb_dn *dn)
{
	struct upn_private *p = upn_private(module);

	if (p->mode == UPN_MODE_OFF || ldb_dn_is_special(dn)) {
		return true;
	}
	if (ldb_request_get_control(req, DSDB_CONTROL_REPLICATED_UPDATE_OID)
	    != NULL) {
		/* replicated: never refused, but the index missed it */
		p->txn.unseen_changes = true;
		return true;
	}
	return false;
}

static int upn_send_down(struct upn_context *ac,
			 const struct ldb_message *msg)
{
	struct ldb_context *ldb = ldb_module_get_ctx(ac->module);
	struct upn_private *p = upn_private(ac->module);
	struct ldb_request *down = NULL;
	int ret;

	if (ac->req->operation == LDB_ADD) {
		ret = ldb_build_add_req(&down, ldb, ac, msg,
					ac->req->controls, ac, upn_callback,
					ac->req);
	} else {
		ret = ldb_build_mod_req(&down, ldb, ac, msg,
					ac->req->controls, ac, upn_callback,
					ac->req);
	}
	if (ret != LDB_SUCCESS) {
		return ret;
	}
	p->write_depth++;
	ret = ldb_next_request(ac->module, down);
	p->write_depth--;
	if (ret != LDB_SUCCESS) {
		ret = upn_translate_error(ac, ret);
	}
	return ret;
}

/*
 * samldb, below us, looks up "(servicePrincipalName=X)" through the whole
 * stack for its duplicate and alias checks.  The directory's matching
 * drops leading spaces and collapses runs of them ("  /host" finds
 * " /host"), which Windows does not do.  While one of our writes is going
 * down, keep only the entries that hold a value equal to X the way
 * Windows compares; samldb's own logic (aliases, the writer's rights on
 * the holder) stays as it is.
 */
struct upn_search_context {
	struct ldb_module *module;
	struct ldb_request *req;
	struct upn_entry wanted;
	bool strip_spn;
};

static int upn_search_callback(struct ldb_request *req,
			       struct ldb_reply *ares)
{
	struct upn_search_context *sc =
		talloc_get_type_abort(req->context,
				      struct upn_search_context);
	bool holds = false;
	int ret;

	if (ares == NULL) {
		return ldb_module_done(sc->req, NULL, NULL,
				       LDB_ERR_OPERATIONS_ERROR);
	}
	if (ares->error != LDB_SUCCESS) {
		return ldb_module_done(sc->req, ares->controls,
				       ares->response, ares->error);
	}
	switch (ares->type) {
	case LDB_REPLY_ENTRY:
		ret = upn_msg_holds(ares, ares->message, &sc->wanted, &holds);
		if (ret != LDB_SUCCESS) {
			talloc_free(ares);
			return ldb_module_done(sc->req, NULL, NULL, ret);
		}
		if (!holds) {
			talloc_free(ares);
			return LDB_SUCCESS;
		}
		if (sc->strip_spn) {
			ldb_msg_remove_attr(ares->message,
					    "servicePrincipalName");
		}
		return ldb_module_send_entry(sc->req, ares->message,
					     ares->controls);
	case LDB_REPLY_REFERRAL:
		return ldb_module_send_referral(sc->req, ares->referral);
	case LDB_REPLY_DONE:
		return ldb_module_done(sc->req, ares->controls,
				       ares->response, LDB_SUCCESS);
	}
	talloc_free(ares);
	return LDB_SUCCESS;
}

static int upn_search_hook(struct ldb_module *module, struct ldb_request *req)
{
	struct ldb_context *ldb = ldb_module_get_ctx(module);
	struct upn_private *p = upn_private(module);
	const struct ldb_parse_tree *tree = req->op.search.tree;
	struct upn_search_context *sc = NULL;
	struct ldb_request *down = NULL;
	const char **attrs = NULL;
	const struct ldb_val *v = NULL;
	enum asa_name_error err;
	size_t n = 0;
	int ret;

	if (p->write_depth == 0 || ldb_req_is_untrusted(req) ||
	    tree == NULL || tree->operation != LDB_OP_EQUALITY ||
	    strcasecmp(tree->u.equality.attr, "servicePrincipalName") != 0) {
		return ldb_next_request(module, req);
	}
	v = &tree->u.equality.value;

	sc = talloc_zero(req, struct upn_search_context);
	if (sc == NULL) {
		return ldb_module_oom(module);
	}
	sc->module = module;
	sc->req = req;
	sc->wanted.kind = UPN_KIND_SPN;
	err = upn_spn_value_key(sc, p->keys, v, &sc->wanted.key,
				&sc->wanted.len);
	if (err == ASA_NAME_OK) {
		/* a copy of the cache's: a slot may be reused meanwhile */
		sc->wanted.key = talloc_memdup(sc, sc->wanted.key,
					       sc->wanted.len > 0 ?
					       sc->wanted.len : 1);
		if (sc->wanted.key == NULL) {
			return ldb_module_oom(module);
		}
	}
	if (err != ASA_NAME_OK) {
		/* nothing we can compare: leave the search alone */
		TALLOC_FREE(sc);
		return ldb_next_request(module, req);
	}

	sc->strip_spn = true;
	for (n = 0; req->op.search.attrs != NULL &&
		    req->op.search.attrs[n] != NULL; n++) {
		if (strcasecmp(req->op.search.attrs[n],
			       "servicePrincipalName") == 0 ||
		    strcmp(req->op.search.attrs[n], "*") == 0) {
			sc->strip_spn = false;
		}
	}
	if (req->op.search.attrs != NULL && n == 0) {
		/* "no attributes" */
		sc->strip_spn = true;
	}
	if (req->op.search.attrs == NULL) {
		sc->strip_spn = false;
	}
	if (sc->strip_spn) {
		size_t i;

		attrs = talloc_array(sc, const char *, n + 2);
		if (attrs == NULL) {
			return ldb_module_oom(module);
		}
		for (i = 0; i < n; i++) {
			attrs[i] = req->op.search.attrs[i];
		}
		attrs[n] = "servicePrincipalName";
		attrs[n + 1] = NULL;
	} else {
		attrs = (const char **)(uintptr_t)req->op.search.attrs;
	}

	ret = ldb_build_search_req_ex(&down, ldb, sc, req->op.search.base,
				      req->op.search.scope,
				      req->op.search.tree, attrs,
				      req->controls, sc, upn_search_callback,
				      req);
	if (ret != LDB_SUCCESS) {
		return ret;
	}
	return ldb_next_request(module, down);
}

/*
 * What Windows stores for an SPN a client sends: the text up to the first
 * NUL, with bytes that are not UTF-8 replaced by U+FFFD.  Without this the
 * schema check below refuses such values outright (Windows accepts them),
 * and samldb counts the parts of what follows a NUL.
 */
static int upn_sanitize_msg(struct upn_context *ac,
			    const struct ldb_message *msg,
			    const struct ldb_message **_out)
{
	struct ldb_message *out = NULL;
	unsigned int i, j;

	*_out = msg;
	for (i = 0; i < msg->num_elements; i++) {
		const struct ldb_message_element *el = &msg->elements[i];
		struct ldb_val *values = NULL;

		if (strcasecmp(el->name, "servicePrincipalName") != 0) {
			continue;
		}
		for (j = 0; j < el->num_values; j++) {
			uint8_t *data = NULL;
			size_t len = 0;
			bool changed = false;
			enum asa_name_error err;

			err = asa_name_sanitize(ac, el->values[j].data,
						el->values[j].length, &data,
						&len, &changed);
			if (err == ASA_NAME_NO_MEMORY) {
				return ldb_module_oom(ac->module);
			}
			if (err != ASA_NAME_OK || !changed) {
				continue;
			}
			if (out == NULL) {
				out = ldb_msg_copy_shallow(ac, msg);
				if (out == NULL) {
					return ldb_module_oom(ac->module);
				}
			}
			if (values == NULL) {
				values = talloc_memdup(out, el->values,
						       sizeof(struct ldb_val) *
						       el->num_values);
				if (values == NULL) {
					return ldb_module_oom(ac->module);
				}
				out->elements[i].values = values;
			}
			DBG_INFO("%s: servicePrincipalName value stored as "
				 "Windows does: cut at NUL, non-UTF-8 bytes "
				 "replaced\n", UPN_MODULE);
			values[j].data = data;
			values[j].length = len;
		}
	}
	if (out != NULL) {
		*_out = out;
	}
	return LDB_SUCCESS;
}

/* A write to dSHeuristics or sPNMappings: re-read them from now on. */
static void upn_note_config_change(struct ldb_module *module,
				   const struct ldb_message *msg)
{
	struct upn_private *p = upn_private(module);

	if (ldb_msg_find_element(msg, "dSHeuristics") != NULL ||
	    ldb_msg_find_element(msg, "sPNMappings") != NULL) {
		p->txn.config_changed = true;
		p->txn.config = NULL;
	}
}

/*
 * The object's principal names after msg, when msg only adds or replaces
 * servicePrincipalName / userPrincipalName values (the common case: no
 * module below rewrites those), so the write needs no read-back.  NULL
 * when anything else is involved (dNSHostName and sAMAccountName make
 * samldb rewrite SPNs; deletes compare values its own way).
 */
static struct ldb_message *upn_predict(TALLOC_CTX *mem_ctx,
				       const struct ldb_message *old,
				       const struct ldb_message *msg)
{
	static const char * const names[] = {
		"servicePrincipalName", "userPrincipalName"
	};
	struct ldb_message *out = NULL;
	const struct ldb_message_element *guid = NULL;
	unsigned int i, a;

	if (old == NULL) {
		return NULL;
	}
	for (i = 0; i < msg->num_elements; i++) {
		const struct ldb_message_element *el = &msg->elements[i];
		unsigned int op = LDB_FLAG_MOD_TYPE(el->flags);

		if (strcasecmp(el->name, names[0]) != 0 &&
		    strcasecmp(el->name, names[1]) != 0) {
			return NULL;
		}
		if (op != LDB_FLAG_MOD_ADD && op != LDB_FLAG_MOD_REPLACE) {
			return NULL;
		}
	}
	guid = ldb_msg_find_element(old, "objectGUID");
	out = ldb_msg_new(mem_ctx);
	if (out == NULL || guid == NULL) {
		TALLOC_FREE(out);
		return NULL;
	}
	out->dn = old->dn;
	if (ldb_msg_add(out, guid, 0) != LDB_SUCCESS) {
		TALLOC_FREE(out);
		return NULL;
	}
	for (a = 0; a < 2; a++) {
		const struct ldb_message_element *oel =
			ldb_msg_find_element(old, names[a]);
		struct ldb_val *vals = NULL;
		unsigned int n = oel ? oel->num_values : 0;
		unsigned int max = n;
		struct ldb_message_element *nel = NULL;

		for (i = 0; i < msg->num_elements; i++) {
			if (strcasecmp(msg->elements[i].name, names[a]) == 0) {
				max += msg->elements[i].num_values;
			}
		}
		vals = talloc_array(out, struct ldb_val, max + 1);
		if (vals == NULL) {
			TALLOC_FREE(out);
			return NULL;
		}
		for (i = 0; i < n; i++) {
			vals[i] = oel->values[i];
		}
		for (i = 0; i < msg->num_elements; i++) {
			const struct ldb_message_element *el =
				&msg->elements[i];
			unsigned int j;

			if (strcasecmp(el->name, names[a]) != 0) {
				continue;
			}
			if (LDB_FLAG_MOD_TYPE(el->flags) ==
			    LDB_FLAG_MOD_REPLACE) {
				n = 0;
			}
			for (j = 0; j < el->num_values; j++) {
				vals[n++] = el->values[j];
			}
		}
		if (n == 0) {
			continue;
		}
		if (ldb_msg_add_empty(out, names[a], 0, &nel) !=
		    LDB_SUCCESS) {
			TALLOC_FREE(out);
			return NULL;
		}
		nel->values = vals;
		nel->num_values = n;
	}
	return out;
}

static int upn_add(struct ldb_module *module, struct ldb_request *req)
{
	const struct ldb_message *msg = req->op.add.message;
	struct upn_context *ac = NULL;
	int ret;

	if (upn_not_ours(module, req, msg->dn)) {
		return ldb_next_request(module, req);
	}
	upn_note_config_change(module, msg);
	if (ldb_msg_find_element(msg, "servicePrincipalName") == NULL &&
	    ldb_msg_find_element(msg, "userPrincipalName") == NULL) {
		return ldb_next_request(module, req);
	}
	ac = talloc_zero(req, struct upn_context);
	if (ac == NULL) {
		return ldb_module_oom(module);
	}
	ac->module = module;
	ac->req = req;
	ac->dn = msg->dn;
	ac->touches_spn =
		ldb_msg_find_element(msg, "servicePrincipalName") != NULL;
	ac->touches_upn =
		ldb_msg_find_element(msg, "userPrincipalName") != NULL;
	ret = upn_sanitize_msg(ac, msg, &msg);
	if (ret != LDB_SUCCESS) {
		return ret;
	}
	return upn_send_down(ac, msg);
}

static int upn_modify(struct ldb_module *module, struct ldb_request *req)
{
	const struct ldb_message *msg = req->op.mod.message;
	struct upn_context *ac = NULL;
	struct ldb_result *res = NULL;
	int ret;

	if (upn_not_ours(module, req, msg->dn)) {
		return ldb_next_request(module, req);
	}
	upn_note_config_change(module, msg);
	ac = talloc_zero(req, struct upn_context);
	if (ac == NULL) {
		return ldb_module_oom(module);
	}
	ac->touches_spn =
		ldb_msg_find_element(msg, "servicePrincipalName") != NULL ||
		ldb_msg_find_element(msg, "dNSHostName") != NULL ||
		ldb_msg_find_element(msg, "sAMAccountName") != NULL;
	ac->touches_upn =
		ldb_msg_find_element(msg, "userPrincipalName") != NULL;
	/* a tombstone reanimation brings names back */
	if (!ac->touches_spn && !ac->touches_upn &&
	    ldb_msg_find_element(msg, "isDeleted") == NULL) {
		TALLOC_FREE(ac);
		return ldb_next_request(module, req);
	}
	ac->module = module;
	ac->req = req;
	ac->dn = msg->dn;

	/* what the object holds now: it may keep or re-add those */
	ret = upn_search(module, ac, req, msg->dn, LDB_SCOPE_BASE,
			 upn_value_attrs, false, true, &res, NULL);
	if (ret == LDB_SUCCESS && res->count == 1) {
		ac->have_guid = msg_guid(res->msgs[0], &ac->guid);
		ac->old_msg = res->msgs[0];
		ret = upn_msg_entries_cached(ac, upn_private(module)->keys,
					     res->msgs[0], &ac->old_entries,
				      &ac->num_old);
		if (ret != LDB_SUCCESS) {
			return ret;
		}
	} else {
		/* let the stack below report the missing object */
		TALLOC_FREE(ac);
		return ldb_next_request(module, req);
	}
	ret = upn_sanitize_msg(ac, msg, &msg);
	if (ret != LDB_SUCCESS) {
		return ret;
	}
	ac->predicted = upn_predict(ac, ac->old_msg, msg);
	return upn_send_down(ac, msg);
}

static int upn_extended(struct ldb_module *module, struct ldb_request *req)
{
	struct upn_private *p = upn_private(module);

	if (strcmp(req->op.extended.oid,
		   DSDB_EXTENDED_REPLICATED_OBJECTS_OID) == 0) {
		/* DRS writes apply below us: catch up next time */
		p->txn.unseen_changes = true;
	}
	return ldb_next_request(module, req);
}

/*
 * Transactions: the index's transaction commits and cancels with
 * sam.ldb's; the recorded sequence number says how far it is current.
 */
static void upn_txn_reset(struct upn_private *p)
{
	TALLOC_FREE(p->txn.mem);
	memset(&p->txn, 0, sizeof(p->txn));
}

static int upn_start_transaction(struct ldb_module *module)
{
	struct upn_private *p = upn_private(module);
	int ret;

	ret = ldb_next_start_trans(module);
	if (ret != LDB_SUCCESS || p->mode == UPN_MODE_OFF) {
		return ret;
	}
	upn_txn_reset(p);
	p->txn.mem = talloc_new(p);
	if (p->txn.mem == NULL) {
		ldb_next_del_trans(module);
		return ldb_module_oom(module);
	}
	p->txn.active = true;
	p->txn.have_seq = upn_db_seq(module, NULL, &p->txn.seq_start) ==
		LDB_SUCCESS;
	return LDB_SUCCESS;
}

static int upn_prepare_commit(struct ldb_module *module)
{
	struct ldb_context *ldb = ldb_module_get_ctx(module);
	struct upn_private *p = upn_private(module);
	MDB_txn *txn = NULL;
	uint64_t recorded = 0;
	uint64_t now = 0;
	bool current = false;
	int ret;

	if (p->txn.active && p->txn.refused != LDB_SUCCESS) {
		DBG_NOTICE("%s: a transaction holding a refused write was "
			   "to be committed: refused\n", UPN_MODULE);
		ldb_asprintf_errstring(ldb, "%s: this transaction holds a "
				       "write that was refused (%s); it "
				       "cannot be committed",
				       UPN_MODULE,
				       p->txn.refused_text != NULL ?
				       p->txn.refused_text : "");
		return p->txn.refused;
	}
	ret = ldb_next_prepare_commit(module);
	if (ret != LDB_SUCCESS || !p->txn.active) {
		return ret;
	}

	/*
	 * The index's own records: a failure to write them fails the
	 * commit, as any index failure fails what needed it.
	 */
	ret = index_txn(module, &txn);
	if (ret != LDB_SUCCESS || txn == NULL) {
		goto done;
	}
	if (p->txn.config_changed || p->txn.unseen_changes) {
		uint64_t gen = 0;

		if (!index_fetch_u64(p, "C", &gen) && p->txn.index_failed) {
			ret = LDB_ERR_OPERATIONS_ERROR;
			goto done;
		}
		ret = index_store_u64(p, "C", gen + 1);
		if (ret != LDB_SUCCESS) {
			goto done;
		}
	}
	if (p->txn.unseen_changes || !p->txn.have_seq) {
		goto done;
	}
	current = p->txn.index_current ||
		(index_fetch_u64(p, "R", &recorded) &&
		 recorded == p->txn.seq_start);
	if (p->txn.index_failed) {
		ret = LDB_ERR_OPERATIONS_ERROR;
		goto done;
	}
	if (!current || upn_db_seq(module, NULL, &now) != LDB_SUCCESS) {
		/* "R" stays: the next transaction catches up */
		goto done;
	}
	if (now != recorded || p->txn.index_current) {
		/* this transaction's own writes all went through us */
		ret = index_store_u64(p, "R", now);
	}
done:
	if (ret != LDB_SUCCESS) {
		ldb_asprintf_errstring(ldb, "%s: the key index %s failed "
				       "(see the DC's log): the transaction "
				       "is not committed", UPN_MODULE,
				       p->index_path);
	}
	return ret;
}

static int upn_end_transaction(struct ldb_module *module)
{
	struct upn_private *p = upn_private(module);
	int ret;

	ret = ldb_next_end_trans(module);
	index_finish(p, ret == LDB_SUCCESS);
	upn_txn_reset(p);
	return ret;
}

static int upn_del_transaction(struct ldb_module *module)
{
	struct upn_private *p = upn_private(module);

	index_finish(p, false);
	upn_txn_reset(p);
	return ldb_next_del_trans(module);
}

static int upn_init(struct ldb_module *module)
{
	struct ldb_context *ldb = ldb_module_get_ctx(module);
	struct loadparm_context *lp_ctx = NULL;
	struct upn_private *p = NULL;
	const char *mode = NULL;
	const char *url = NULL;
	const char *slash = NULL;
	int ret;

	p = talloc_zero(module, struct upn_private);
	if (p == NULL) {
		return ldb_module_oom(module);
	}
	p->mode = UPN_MODE_ENFORCE;
	p->keys = talloc_zero(p, struct upn_key_cache);
	if (p->keys == NULL) {
		return ldb_module_oom(module);
	}

	lp_ctx = talloc_get_type(ldb_get_opaque(ldb, "loadparm"),
				 struct loadparm_context);
	if (lp_ctx != NULL) {
		mode = lpcfg_parm_string(lp_ctx, NULL, "asa",
					 "unique principal names");
	}
	if (mode == NULL || strcasecmp(mode, "enforce") == 0) {
		p->mode = UPN_MODE_ENFORCE;
	} else if (strcasecmp(mode, "audit") == 0) {
		p->mode = UPN_MODE_AUDIT;
	} else if (strcasecmp(mode, "off") == 0) {
		p->mode = UPN_MODE_OFF;
	} else {
		DBG_ERR("%s: unknown value '%s' for 'asa:unique principal "
			"names' (enforce, audit or off): enforcing\n",
			UPN_MODULE, mode);
	}

	/* the index lives beside the sam.ldb this ldb opened */
	url = (const char *)ldb_get_opaque(ldb, "ldb_url");
	if (url != NULL) {
		if (strncmp(url, "tdb://", 6) == 0 ||
		    strncmp(url, "mdb://", 6) == 0 ||
		    strncmp(url, "ldb://", 6) == 0) {
			url += 6;
		}
		slash = strrchr(url, '/');
	}
	if (url != NULL && strstr(url, "://") == NULL) {
		p->index_path = talloc_asprintf(p, "%.*s%s",
						slash ? (int)(slash - url + 1)
						      : 0,
						url, UPN_INDEX_FILE);
	} else if (lp_ctx != NULL) {
		p->index_path = lpcfg_private_path(p, lp_ctx, UPN_INDEX_FILE);
	}
	if (p->index_path == NULL) {
		p->index_broken = true;
	} else if (p->mode != UPN_MODE_OFF) {
		/* the TDB that versions before 0.2 kept: no longer read */
		char *old = talloc_asprintf(p, "%.*s%s",
					    (int)(strlen(p->index_path) -
						  strlen(UPN_INDEX_FILE)),
					    p->index_path,
					    UPN_OLD_INDEX_FILE);

		if (old != NULL) {
			(void)unlink(old);
			TALLOC_FREE(old);
		}
	}
	DBG_INFO("%s: mode %s, key index %s\n", UPN_MODULE,
		 p->mode == UPN_MODE_ENFORCE ? "enforce" :
		 p->mode == UPN_MODE_AUDIT ? "audit" : "off",
		 p->index_path ? p->index_path : "(none)");

	ldb_module_set_private(module, p);
	ret = ldb_next_init(module);
	return ret;
}

static const struct ldb_module_ops ldb_unique_principal_names_ops = {
	.name = UPN_MODULE,
	.init_context = upn_init,
	.search = upn_search_hook,
	.add = upn_add,
	.modify = upn_modify,
	.extended = upn_extended,
	.start_transaction = upn_start_transaction,
	.prepare_commit = upn_prepare_commit,
	.end_transaction = upn_end_transaction,
	.del_transaction = upn_del_transaction,
};

int ldb_init_module(const char *version)
{
	LDB_MODULE_CHECK_VERSION(version);
	return ldb_register_module(&ldb_unique_principal_names_ops);
}
