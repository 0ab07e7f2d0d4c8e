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
 * The rule (MS-ADTS 3.1.1.5.1.3): an originating add or modify (also a
 * tombstone reanimation, and the host/ SPNs samldb rewrites when
 * dNSHostName or sAMAccountName changes) may not give an object an SPN or
 * UPN that another object in any naming context of this DC holds, nor a
 * "host/X" while another object holds an sPNMappings alias ("cifs/X").
 * An object may keep or re-add its own values; replicated updates are
 * never refused; dSHeuristics[20] switches either check off.  A refusal
 * is LDB_ERR_CONSTRAINT_VIOLATION with Windows' 000021C7 (SPN) or
 * 000021C8 (UPN); the DC's log names the holders.  A rename changes no
 * principal name and is not looked at.
 *
 * Why a unique index cannot enforce it: values compare equal as Windows
 * compares them (ignoring case, marks, kana type and width: "cīfs/x" is
 * "cifs/x"), which the directory's case-folding index does not; the rule
 * spans partitions, each indexed on its own; the alias rule is one-way
 * and depends on sPNMappings; and an object's own values, replicated
 * writes and dSHeuristics are exempt.  So the write goes down first, then
 * the object is read back and each new value looked up in a key index of
 * comparison keys (upn_index.c), inside the same transaction.
 */

/*
 * Files: this one, which writes are checked, the transaction hooks and
 * init; upn_check.c, the check and its errors; upn_keys.c, comparison
 * keys; upn_index*.c, the key index; upn_samldb_compat.c, making samldb's
 * own checks agree; upn_samba_private.c, what Samba keeps private.
 * smb.conf: "asa:unique principal names = enforce | audit | off".
 */

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <talloc.h>
#include <ldb_module.h>
#include <util/debug.h>
#include <param.h>

#include "unique_principal_names.h"
#include "upn_index.h"
#include "upn_samba_private.h"

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
		ac->have_guid = upn_msg_guid(res->msgs[0], &ac->guid);
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

	ret = upn_index_prepare_commit(module);
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
	upn_index_finish(p, ret == LDB_SUCCESS);
	upn_txn_reset(p);
	return ret;
}

static int upn_del_transaction(struct ldb_module *module)
{
	struct upn_private *p = upn_private(module);

	upn_index_finish(p, false);
	upn_txn_reset(p);
	return ldb_next_del_trans(module);
}

/* An ldb freed inside a transaction: the index's goes too. */
static int upn_private_destructor(struct upn_private *p)
{
	upn_index_finish(p, false);
	return 0;
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
	talloc_set_destructor(p, upn_private_destructor);
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
