/*
 * samba-asa: directory access over LDAP through OpenLDAP's libldap:
 * searches and writes (binding is dir_ldap_bind.c's).
 *
 * Searching every naming context: one search per naming context that
 * rootDSE lists (unpaged, paged only when the server insists; see
 * ldap_search_one()).  That works against any AD DC; the alternatives are
 * worse: the search-options control (phantom root) is not combined with
 * paged results by every server, and the global catalog port 3268 only
 * answers on a GC and returns the partial attribute set.  An AD server
 * answers a subtree search on a naming context with referrals (not the
 * objects) for the naming contexts below it; entries that still belong
 * to another listed naming context are skipped, so no object is
 * reported twice.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <talloc.h>
#include <ldb.h>
#define LDAP_DEPRECATED 0
#include <ldap.h>
#include <krb5.h>

#include "dir_ldap.h"

#define CONTROL_SHOW_DELETED_OID "1.2.840.113556.1.4.417"
#define CONTROL_PERMISSIVE_MODIFY_OID "1.2.840.113556.1.4.1413"
#define ASA_LDAP_PAGE_SIZE 1000

LDAP *dir_ldap_ld(struct asa_dir *dir)
{
	struct dir_ldap *l = talloc_get_type_abort(dir->backend_data,
						   struct dir_ldap);
	return l->ld;
}

/* An LDAP result code as an LDB code: the positive ones are the same. */
int dir_ldap_to_ldb(int rc)
{
	if (rc >= 0) {
		return rc;
	}
	switch (rc) {
	case LDAP_SERVER_DOWN:
	case LDAP_CONNECT_ERROR:
	case LDAP_TIMEOUT:
		return LDB_ERR_UNAVAILABLE;
	case LDAP_NO_MEMORY:
	case LDAP_LOCAL_ERROR:
	default:
		return LDB_ERR_OPERATIONS_ERROR;
	}
}

/* Record rc with the server's diagnostic text, if it sent one. */
int dir_ldap_fail(struct asa_dir *dir, int rc, const char *diag)
{
	int code = dir_ldap_to_ldb(rc);
	char *d = NULL;

	if (diag == NULL || diag[0] == '\0') {
		if (ldap_get_option(dir_ldap_ld(dir),
				    LDAP_OPT_DIAGNOSTIC_MESSAGE,
				    &d) == LDAP_OPT_SUCCESS &&
		    d != NULL && d[0] != '\0') {
			diag = d;
		}
	}
	if (rc < 0 && diag != NULL && diag[0] == '(') {
		/* libldap's "(unknown error code)" adds nothing */
		asa_dir_error(dir, code, "%s", ldap_err2string(rc));
	} else if (rc < 0 && diag != NULL && diag[0] != '\0') {
		/* a client-side failure: libldap's words first */
		asa_dir_error(dir, code, "%s (%s)", ldap_err2string(rc),
			      diag);
	} else if (diag != NULL && diag[0] != '\0') {
		asa_dir_error(dir, code, "%s", diag);
	} else {
		asa_dir_error(dir, code, "%s", ldap_err2string(rc));
	}
	if (d != NULL) {
		ldap_memfree(d);
	}
	return dir->errcode;
}

/* NULL-terminated control array for a request (talloc'd on mem_ctx). */
static LDAPControl **make_controls(TALLOC_CTX *mem_ctx,
				   unsigned int search_flags,
				   unsigned int write_flags,
				   LDAPControl *extra)
{
	LDAPControl **c = talloc_zero_array(mem_ctx, LDAPControl *, 6);
	unsigned int n = 0;

	if (c == NULL) {
		return NULL;
	}
	if (search_flags & ASA_DIR_SEARCH_DELETED) {
		c[n] = talloc_zero(c, LDAPControl);
		if (c[n] == NULL) {
			return NULL;
		}
		c[n]->ldctl_oid = discard_const_p(char,
						  CONTROL_SHOW_DELETED_OID);
		c[n]->ldctl_iscritical = 1;
		n++;
	}
	if (write_flags & ASA_DIR_WRITE_RELAX) {
		c[n] = talloc_zero(c, LDAPControl);
		if (c[n] == NULL) {
			return NULL;
		}
		c[n]->ldctl_oid = discard_const_p(char, LDB_CONTROL_RELAX_OID);
		n++;
	}
	if (write_flags & ASA_DIR_WRITE_PERMISSIVE) {
		c[n] = talloc_zero(c, LDAPControl);
		if (c[n] == NULL) {
			return NULL;
		}
		c[n]->ldctl_oid = discard_const_p(
			char, CONTROL_PERMISSIVE_MODIFY_OID);
		n++;
	}
	if ((search_flags & ASA_DIR_SEARCH_SD) ||
	    (write_flags & ASA_DIR_WRITE_SD)) {
		/* SEQUENCE { INTEGER secinfo flags } */
		static char owner_group_dacl[] = { 0x30, 0x03, 0x02, 0x01,
						   0x07 };
		static char owner_dacl[] = { 0x30, 0x03, 0x02, 0x01, 0x05 };

		c[n] = talloc_zero(c, LDAPControl);
		if (c[n] == NULL) {
			return NULL;
		}
		c[n]->ldctl_oid = discard_const_p(char, LDB_CONTROL_SD_FLAGS_OID);
		c[n]->ldctl_iscritical = 1;
		c[n]->ldctl_value.bv_val = (search_flags & ASA_DIR_SEARCH_SD)
			? owner_group_dacl : owner_dacl;
		c[n]->ldctl_value.bv_len = 5;
		n++;
	}
	if (extra != NULL) {
		c[n++] = extra;
	}
	return c;
}

static struct ldb_message *entry_to_msg(struct asa_dir *dir,
					TALLOC_CTX *mem_ctx,
					LDAP *ld,
					LDAPMessage *e)
{
	struct ldb_message *msg = NULL;
	BerElement *ber = NULL;
	char *dn = NULL;
	char *a = NULL;

	msg = ldb_msg_new(mem_ctx);
	if (msg == NULL) {
		return NULL;
	}
	dn = ldap_get_dn(ld, e);
	if (dn == NULL) {
		goto fail;
	}
	msg->dn = ldb_dn_new(msg, dir->ldb, dn);
	ldap_memfree(dn);
	if (msg->dn == NULL) {
		goto fail;
	}

	for (a = ldap_first_attribute(ld, e, &ber);
	     a != NULL;
	     a = ldap_next_attribute(ld, e, ber)) {
		struct berval **vals = ldap_get_values_len(ld, e, a);
		struct ldb_message_element *el = NULL;
		int n = vals != NULL ? ldap_count_values_len(vals) : 0;
		int i;
		int ret;

		ret = ldb_msg_add_empty(msg, a, 0, &el);
		ldap_memfree(a);
		if (ret != LDB_SUCCESS) {
			ldap_value_free_len(vals);
			goto fail;
		}
		el->values = talloc_array(msg->elements, struct ldb_val,
					  n > 0 ? n : 1);
		if (el->values == NULL) {
			ldap_value_free_len(vals);
			goto fail;
		}
		for (i = 0; i < n; i++) {
			/* NUL-terminated, as ldb's own values are */
			uint8_t *d = talloc_size(el->values,
						 vals[i]->bv_len + 1);
			if (d == NULL) {
				ldap_value_free_len(vals);
				goto fail;
			}
			memcpy(d, vals[i]->bv_val, vals[i]->bv_len);
			d[vals[i]->bv_len] = '\0';
			el->values[i].data = d;
			el->values[i].length = vals[i]->bv_len;
		}
		el->num_values = n;
		ldap_value_free_len(vals);
	}
	if (ber != NULL) {
		ber_free(ber, 0);
	}
	return msg;
fail:
	if (ber != NULL) {
		ber_free(ber, 0);
	}
	TALLOC_FREE(msg);
	return NULL;
}

/* Does dn lie inside a naming context (listed, other than nc) below nc? */
static bool in_child_nc(struct asa_dir *dir,
			struct ldb_dn *nc,
			struct ldb_dn *dn)
{
	const struct asa_dir_rootdse *r = &dir->rootdse;
	unsigned int i;

	for (i = 0; i < r->num_naming_contexts; i++) {
		struct ldb_dn *other = r->naming_contexts[i];

		if (ldb_dn_compare(other, nc) == 0 ||
		    ldb_dn_get_comp_num(other) <= ldb_dn_get_comp_num(nc) ||
		    ldb_dn_compare_base(nc, other) != 0) {
			continue;
		}
		if (ldb_dn_compare_base(other, dn) == 0) {
			return true;
		}
	}
	return false;
}

/* One (paged) search, appending entries to res. */
static int ldap_search_pages(struct asa_dir *dir,
			     struct ldb_result *res,
			     struct ldb_dn *base,
			     enum ldb_scope scope,
			     const char * const *attrs,
			     unsigned int flags,
			     const char *filter,
			     bool skip_child_ncs,
			     bool paged)
{
	TALLOC_CTX *frame = talloc_stackframe();
	LDAP *ld = dir_ldap_ld(dir);
	struct berval *cookie = NULL;
	const char *basestr = ldb_dn_get_linearized(base);
	int ldap_scope;
	int ret = LDB_SUCCESS;

	switch (scope) {
	case LDB_SCOPE_BASE:
		ldap_scope = LDAP_SCOPE_BASE;
		break;
	case LDB_SCOPE_ONELEVEL:
		ldap_scope = LDAP_SCOPE_ONELEVEL;
		break;
	default:
		ldap_scope = LDAP_SCOPE_SUBTREE;
		break;
	}

	do {
		LDAPControl *page = NULL;
		LDAPControl **sctrls = NULL;
		LDAPControl **rctrls = NULL;
		LDAPMessage *lres = NULL;
		LDAPMessage *e = NULL;
		char *diag = NULL;
		int err = LDAP_SUCCESS;
		int rc;

		if (paged) {
			rc = ldap_create_page_control(ld, ASA_LDAP_PAGE_SIZE,
						      cookie, 0, &page);
			if (rc != LDAP_SUCCESS) {
				ret = dir_ldap_fail(dir, rc, NULL);
				break;
			}
		}
		sctrls = make_controls(frame, flags, 0, page);
		if (sctrls == NULL) {
			if (page != NULL) {
				ldap_control_free(page);
			}
			ret = asa_dir_error(dir, LDB_ERR_OPERATIONS_ERROR,
					    "out of memory");
			break;
		}
		rc = ldap_search_ext_s(ld, basestr, ldap_scope, filter,
				       discard_const_p(char *, attrs), 0,
				       sctrls, NULL, NULL, LDAP_NO_LIMIT,
				       &lres);
		if (page != NULL) {
			ldap_control_free(page);
		}
		if (lres == NULL) {
			ret = dir_ldap_fail(dir, rc, NULL);
			break;
		}
		for (e = ldap_first_entry(ld, lres);
		     e != NULL;
		     e = ldap_next_entry(ld, e)) {
			struct ldb_message *msg = NULL;

			msg = entry_to_msg(dir, res->msgs, ld, e);
			if (msg == NULL) {
				ret = asa_dir_error(dir,
						    LDB_ERR_OPERATIONS_ERROR,
						    "out of memory or a bad DN "
						    "from the server");
				break;
			}
			if (skip_child_ncs && in_child_nc(dir, base, msg->dn)) {
				TALLOC_FREE(msg);
				continue;
			}
			if ((res->count % 256) == 0) {
				struct ldb_message **m = NULL;

				m = talloc_realloc(res, res->msgs,
						   struct ldb_message *,
						   res->count + 257);
				if (m == NULL) {
					ret = asa_dir_error(dir,
						LDB_ERR_OPERATIONS_ERROR,
						"out of memory");
					break;
				}
				res->msgs = m;
			}
			talloc_steal(res->msgs, msg);
			res->msgs[res->count++] = msg;
			res->msgs[res->count] = NULL;
		}
		if (ret != LDB_SUCCESS) {
			ldap_msgfree(lres);
			break;
		}
		rc = ldap_parse_result(ld, lres, &err, NULL, &diag, NULL,
				       &rctrls, 1);
		if (rc != LDAP_SUCCESS) {
			ret = dir_ldap_fail(dir, rc, NULL);
			break;
		}
		if (err != LDAP_SUCCESS) {
			ret = dir_ldap_fail(dir, err, diag);
		}
		if (diag != NULL) {
			ldap_memfree(diag);
		}
		if (cookie != NULL) {
			ber_bvfree(cookie);
			cookie = NULL;
		}
		if (ret == LDB_SUCCESS && paged && rctrls != NULL) {
			LDAPControl *pc = NULL;
			ber_int_t count = 0;

			pc = ldap_control_find(LDAP_CONTROL_PAGEDRESULTS,
					       rctrls, NULL);
			if (pc != NULL) {
				struct berval c = { 0, NULL };

				rc = ldap_parse_pageresponse_control(ld, pc,
								     &count,
								     &c);
				if (rc == LDAP_SUCCESS && c.bv_len > 0) {
					cookie = ber_bvdup(&c);
				}
				if (c.bv_val != NULL) {
					ber_memfree(c.bv_val);
				}
			}
		}
		if (rctrls != NULL) {
			ldap_controls_free(rctrls);
		}
	} while (ret == LDB_SUCCESS && cookie != NULL);

	if (cookie != NULL) {
		ber_bvfree(cookie);
	}
	TALLOC_FREE(frame);
	return ret;
}

/*
 * One search, appending entries to res.  Unpaged first: Samba 4.17
 * answers a paged search about ten times slower than a plain one (100k
 * SPNs on 20k accounts: ~10 s against ~1 s), and sets no size limit.  A
 * server that does (Windows' MaxPageSize, 1000) answers
 * sizeLimitExceeded; then the search is repeated with paged results.
 */
static int ldap_search_one(struct asa_dir *dir,
			   struct ldb_result *res,
			   struct ldb_dn *base,
			   enum ldb_scope scope,
			   const char * const *attrs,
			   unsigned int flags,
			   const char *filter,
			   bool skip_child_ncs)
{
	unsigned int count = res->count;
	unsigned int i;
	int ret;

	ret = ldap_search_pages(dir, res, base, scope, attrs, flags, filter,
				skip_child_ncs, false);
	if (ret != LDB_ERR_SIZE_LIMIT_EXCEEDED || scope == LDB_SCOPE_BASE) {
		return ret;
	}
	for (i = count; i < res->count; i++) {
		TALLOC_FREE(res->msgs[i]);
	}
	res->count = count;
	res->msgs[count] = NULL;
	return ldap_search_pages(dir, res, base, scope, attrs, flags, filter,
				 skip_child_ncs, true);
}

static int ldap_search_dir(struct asa_dir *dir,
			   TALLOC_CTX *mem_ctx,
			   struct ldb_result **resp,
			   struct ldb_dn *base,
			   enum ldb_scope scope,
			   const char * const *attrs,
			   unsigned int flags,
			   const char *filter)
{
	struct ldb_result *res = NULL;
	int ret = LDB_SUCCESS;

	res = talloc_zero(mem_ctx, struct ldb_result);
	if (res == NULL) {
		return asa_dir_error(dir, LDB_ERR_OPERATIONS_ERROR,
				     "out of memory");
	}
	res->msgs = talloc_zero_array(res, struct ldb_message *, 1);
	if (res->msgs == NULL) {
		TALLOC_FREE(res);
		return asa_dir_error(dir, LDB_ERR_OPERATIONS_ERROR,
				     "out of memory");
	}
	if (flags & ASA_DIR_SEARCH_ALL_NCS) {
		const struct asa_dir_rootdse *r = &dir->rootdse;
		unsigned int i;

		for (i = 0; i < r->num_naming_contexts; i++) {
			ret = ldap_search_one(dir, res,
					      r->naming_contexts[i],
					      LDB_SCOPE_SUBTREE, attrs, flags,
					      filter, true);
			if (ret != LDB_SUCCESS) {
				break;
			}
		}
	} else {
		ret = ldap_search_one(dir, res, base, scope, attrs, flags,
				      filter, false);
	}
	if (ret != LDB_SUCCESS) {
		TALLOC_FREE(res);
		return ret;
	}
	*resp = res;
	return LDB_SUCCESS;
}

/* An ldb_message as LDAPMod[] (pointing into msg). */
static LDAPMod **msg_to_mods(TALLOC_CTX *mem_ctx,
			     const struct ldb_message *msg,
			     bool is_add)
{
	LDAPMod **mods = NULL;
	unsigned int i;

	mods = talloc_zero_array(mem_ctx, LDAPMod *, msg->num_elements + 1);
	if (mods == NULL) {
		return NULL;
	}
	for (i = 0; i < msg->num_elements; i++) {
		const struct ldb_message_element *el = &msg->elements[i];
		LDAPMod *m = talloc_zero(mods, LDAPMod);
		unsigned int j;

		if (m == NULL) {
			return NULL;
		}
		if (is_add) {
			m->mod_op = LDAP_MOD_ADD;
		} else {
			switch (LDB_FLAG_MOD_TYPE(el->flags)) {
			case LDB_FLAG_MOD_REPLACE:
				m->mod_op = LDAP_MOD_REPLACE;
				break;
			case LDB_FLAG_MOD_DELETE:
				m->mod_op = LDAP_MOD_DELETE;
				break;
			default:
				m->mod_op = LDAP_MOD_ADD;
				break;
			}
		}
		m->mod_op |= LDAP_MOD_BVALUES;
		m->mod_type = discard_const_p(char, el->name);
		m->mod_bvalues = talloc_zero_array(m, struct berval *,
						   el->num_values + 1);
		if (m->mod_bvalues == NULL) {
			return NULL;
		}
		for (j = 0; j < el->num_values; j++) {
			struct berval *bv = talloc_zero(m->mod_bvalues,
							struct berval);
			if (bv == NULL) {
				return NULL;
			}
			bv->bv_len = el->values[j].length;
			bv->bv_val = (char *)el->values[j].data;
			m->mod_bvalues[j] = bv;
		}
		mods[i] = m;
	}
	return mods;
}

static int ldap_write_result(struct asa_dir *dir, int rc)
{
	if (rc == LDAP_SUCCESS) {
		dir->errcode = LDB_SUCCESS;
		return LDB_SUCCESS;
	}
	return dir_ldap_fail(dir, rc, NULL);
}

/* msg as an LDAP add (is_add) or modify. */
static int ldap_write_msg(struct asa_dir *dir,
			  const struct ldb_message *msg,
			  unsigned int flags,
			  bool is_add)
{
	TALLOC_CTX *frame = talloc_stackframe();
	LDAPMod **mods = msg_to_mods(frame, msg, is_add);
	LDAPControl **c = make_controls(frame, 0, flags, NULL);
	const char *dn = ldb_dn_get_linearized(msg->dn);
	int rc;
	int ret;

	if (mods == NULL || c == NULL) {
		ret = asa_dir_error(dir, LDB_ERR_OPERATIONS_ERROR,
				    "out of memory");
		goto done;
	}
	if (is_add) {
		rc = ldap_add_ext_s(dir_ldap_ld(dir), dn, mods, c, NULL);
	} else {
		rc = ldap_modify_ext_s(dir_ldap_ld(dir), dn, mods, c, NULL);
	}
	ret = ldap_write_result(dir, rc);
done:
	TALLOC_FREE(frame);
	return ret;
}

static int ldap_add_dir(struct asa_dir *dir,
			const struct ldb_message *msg,
			unsigned int flags)
{
	return ldap_write_msg(dir, msg, flags, true);
}

static int ldap_modify_dir(struct asa_dir *dir,
			   const struct ldb_message *msg,
			   unsigned int flags)
{
	return ldap_write_msg(dir, msg, flags, false);
}

static int ldap_delete_dir(struct asa_dir *dir,
			   struct ldb_dn *dn,
			   unsigned int flags)
{
	TALLOC_CTX *frame = talloc_stackframe();
	LDAPControl **c = make_controls(frame, 0, flags, NULL);
	int ret;

	if (c == NULL) {
		ret = asa_dir_error(dir, LDB_ERR_OPERATIONS_ERROR,
				    "out of memory");
		goto done;
	}
	ret = ldap_write_result(dir, ldap_delete_ext_s(dir_ldap_ld(dir),
			ldb_dn_get_linearized(dn), c, NULL));
done:
	TALLOC_FREE(frame);
	return ret;
}

static int ldap_rename_dir(struct asa_dir *dir,
			   struct ldb_dn *olddn,
			   struct ldb_dn *newdn,
			   unsigned int flags)
{
	TALLOC_CTX *frame = talloc_stackframe();
	LDAPControl **c = make_controls(frame, 0, flags, NULL);
	const struct ldb_val *rdn_val = ldb_dn_get_rdn_val(newdn);
	struct ldb_dn *parent = ldb_dn_get_parent(frame, newdn);
	char *rdn = NULL;
	int ret;

	if (c == NULL || rdn_val == NULL || parent == NULL) {
		ret = asa_dir_error(dir, LDB_ERR_INVALID_DN_SYNTAX,
				    "cannot rename to %s: not a valid DN",
				    ldb_dn_get_linearized(newdn));
		goto done;
	}
	rdn = talloc_asprintf(frame, "%s=%s", ldb_dn_get_rdn_name(newdn),
			      ldb_dn_escape_value(frame, *rdn_val));
	if (rdn == NULL) {
		ret = asa_dir_error(dir, LDB_ERR_OPERATIONS_ERROR,
				    "out of memory");
		goto done;
	}
	ret = ldap_write_result(dir, ldap_rename_s(dir_ldap_ld(dir),
			ldb_dn_get_linearized(olddn), rdn,
			ldb_dn_get_linearized(parent), 1, c, NULL));
done:
	TALLOC_FREE(frame);
	return ret;
}

const struct asa_dir_ops asa_dir_ldap_ops = {
	.search = ldap_search_dir,
	.add = ldap_add_dir,
	.modify = ldap_modify_dir,
	.del = ldap_delete_dir,
	.rename = ldap_rename_dir,
};
