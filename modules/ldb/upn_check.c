/*
 * unique_principal_names: the check of a written object, what is refused
 * and with which error (the rule: unique_principal_names.c).
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

#include <string.h>
#include <strings.h>
#include <talloc.h>
#include <ldb_module.h>
#include <util/debug.h>

#include "unique_principal_names.h"
#include "upn_index.h"
#include "upn_samba_private.h"

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
	bool indexed = false;
	uint64_t gen = 0;
	int ret;

	if (p->txn.config != NULL) {
		return p->txn.config;
	}
	/*
	 * While the index's count of changes to these two attributes is the
	 * one we read them at, the copy we have is current.
	 */
	if (upn_index_config_gen(module, parent, &indexed, &gen) !=
	    LDB_SUCCESS) {
		return NULL;	/* the index failed: p->txn.index_failed */
	}
	if (indexed) {
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
	if (indexed) {
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
	TALLOC_CTX *tmp_ctx = NULL;
	const char **dns = NULL;
	const char *attr = e->kind == UPN_KIND_SPN ? "servicePrincipalName"
						   : "userPrincipalName";
	struct ldb_result *res = NULL;
	bool indexed = false;
	uint8_t *guids = NULL;
	size_t len = 0;
	size_t i, n = 0;
	int ret;

	*_dns = NULL;
	*count = 0;
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
	ret = upn_index_holders(module, tmp_ctx, parent, e, &indexed, &guids,
				&len);
	if (ret != LDB_SUCCESS) {
		goto done;
	}

	if (!indexed) {
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

			if (upn_msg_guid(res->msgs[i], &g) &&
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

	for (i = 0; i + 16 <= len; i += 16) {
		struct ldb_val g = { .data = guids + i, .length = 16 };
		struct ldb_dn *gdn = NULL;
		char *gs = NULL;
		bool holds = false;

		if (memcmp(g.data, self_guid->data, 16) == 0) {
			continue;
		}
		/* verify against the directory before believing it */
		gs = upn_guid_string(tmp_ctx, g.data);
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
			ret = upn_index_set_owner(module, &g, NULL, 0);
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
			ret = upn_index_set_from_msg(module, res->msgs[0]);
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
int upn_check_object(struct upn_context *ac)
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
	bool indexed = false;
	const char *names[] = { "servicePrincipalName", "userPrincipalName" };
	char kinds[] = { UPN_KIND_SPN, UPN_KIND_UPN };
	unsigned int a, i;
	size_t e = 0;
	int ret;

	if (tmp_ctx == NULL) {
		return ldb_module_oom(module);
	}
	if (ac->have_guid) {
		char *gs = upn_guid_string(tmp_ctx, ac->guid.data);

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
	if (!upn_msg_guid(res->msgs[0], &guid)) {
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
			is_new = !upn_entry_in(&entries[e], ac->old_entries,
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
	ret = upn_index_current(module, ac->req, &indexed);
	if (ret == LDB_SUCCESS && indexed) {
		ret = upn_index_set_owner(module, &guid, entries, num);
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
