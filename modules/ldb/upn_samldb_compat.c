/*
 * unique_principal_names: the samldb-compatibility layer.  Samba's samldb
 * module, below this one, checks SPNs and UPNs itself, in ways that differ
 * from Windows; these three adjustments make the two agree.  Each says
 * which Samba behaviour it adjusts and which test pins it.
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

#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <talloc.h>
#include <ldb_module.h>
#include <util/debug.h>

#include "unique_principal_names.h"

/*
 * Error translation.  samldb (below) refuses exact duplicates in the
 * domain naming context before this module sees them, with texts of its
 * own ("samldb: spn[...] would cause a conflict", "... already in use"),
 * and its alias refusal ("host/X" while "cifs/X" is held elsewhere) with
 * none: give the client Windows' 000021C7 / 000021C8 instead.  ldap_spn
 * checks only the code ("add the same one twice, simple duplicate error",
 * "add a conflict, service first, as admin"); the text is pinned by our
 * unique_principal_names suite (test_spn_exact_duplicate_domain_text).
 */
int upn_translate_error(struct upn_context *ac, int ret)
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
 * The search filter.  samldb, below us, looks up
 * "(servicePrincipalName=X)" through the whole stack for its duplicate
 * and alias checks, and the directory's matching drops leading spaces and
 * collapses runs of them ("  /host" finds " /host"), which Windows does
 * not do.  While one of our writes is going down, keep only the entries
 * that hold a value equal to X the way Windows compares; samldb's own
 * logic (aliases, the writer's rights on the holder) stays as it is.
 * Pinned by ldap_spn's "dodgy spns" ('  /host' while ' /host' is held).
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

int upn_search_hook(struct ldb_module *module, struct ldb_request *req)
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
 * Value sanitising.  Store what Windows stores for an SPN a client sends:
 * the text up to the first NUL, with bytes that are not UTF-8 replaced by
 * U+FFFD.  Without this Samba's schema check below refuses such values
 * outright (Windows accepts them), and samldb counts the parts of what
 * follows a NUL.  Pinned by ldap_spn's "dodgy spns"
 * (b'cifs/\x11\xaa\xbb\xcc\\example.com', b':/b\x00/b/b/b').
 */
int upn_sanitize_msg(struct upn_context *ac,
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

