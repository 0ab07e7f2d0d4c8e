/*
 * unique_principal_names: what the module's files share.  The "upn_"
 * prefix of every name stands for the module, "unique principal names",
 * not for userPrincipalName alone: the module checks SPNs too.
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

#ifndef UNIQUE_PRINCIPAL_NAMES_H
#define UNIQUE_PRINCIPAL_NAMES_H

#include <stdbool.h>
#include <stdint.h>
#include <talloc.h>
#include <ldb_module.h>

#include "principal.h"

/* Nothing of the module but ldb_init_module() is seen outside it. */
#pragma GCC visibility push(hidden)

#define UPN_MODULE "unique_principal_names"
#define UPN_MAX_LOGGED_HOLDERS 10

/* dSHeuristics[20]: DoNotVerifyUPNAndOrSPNUniqueness */
#define UPN_HEURISTIC_POS 20

/* Windows' refusals of a duplicate SPN and UPN */
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
struct MDB_txn;

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
		struct MDB_txn *mdb;	/* the index's, begun at first use */
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

static inline struct upn_private *upn_private(struct ldb_module *module)
{
	return talloc_get_type_abort(ldb_module_get_private(module),
				     struct upn_private);
}

/* upn_keys.c: the comparison keys of an object's principal names */
extern const char * const upn_value_attrs[];
enum asa_name_error upn_spn_value_key(TALLOC_CTX *mem_ctx,
				      struct upn_key_cache *cache,
				      const struct ldb_val *v,
				      uint8_t **key, size_t *len);
int upn_msg_entries_cached(TALLOC_CTX *mem_ctx,
			   struct upn_key_cache *cache,
			   const struct ldb_message *msg,
			   struct upn_entry **_entries,
			   size_t *_num);
int upn_msg_entries(TALLOC_CTX *mem_ctx,
		    const struct ldb_message *msg,
		    struct upn_entry **_entries,
		    size_t *_num);
bool upn_entry_in(const struct upn_entry *e,
		  const struct upn_entry *set, size_t n);
int upn_msg_holds(TALLOC_CTX *mem_ctx,
		  const struct ldb_message *msg,
		  const struct upn_entry *e,
		  bool *holds);

/* upn_check.c: the check of a written object */
int upn_check_object(struct upn_context *ac);

/* upn_samldb_compat.c: making samldb's checks below agree with Windows */
int upn_translate_error(struct upn_context *ac, int ret);
int upn_search_hook(struct ldb_module *module, struct ldb_request *req);
int upn_sanitize_msg(struct upn_context *ac,
		     const struct ldb_message *msg,
		     const struct ldb_message **_out);

#pragma GCC visibility pop

#endif
