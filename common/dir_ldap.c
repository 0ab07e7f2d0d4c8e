/*
 * samba-asa: directory access over LDAP through OpenLDAP's libldap.
 *
 * Binds: SASL GSSAPI with the caller's Kerberos ticket, or a simple bind,
 * which we only send over a protected connection (ldaps:// or StartTLS on
 * ldap://): a DC refuses it over plain LDAP anyway, and the password must
 * not cross the wire in clear.  libldap reads LDAPTLS_REQCERT and friends
 * from the environment itself.
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
#include <gssapi/gssapi.h>
#include <gssapi/gssapi_krb5.h>

#include "dir_private.h"

/*
 * The layout of Cyrus SASL's sasl_interact_t (sasl/sasl.h, stable ABI),
 * declared here so the build needs no libsasl2-dev: GSSAPI asks at most
 * for an authorization identity, which we leave empty.
 */
struct asa_sasl_interact {
	unsigned long id;
	const char *challenge;
	const char *prompt;
	const char *defresult;
	const void *result;
	unsigned len;
};
#define ASA_SASL_CB_LIST_END 0

#define CONTROL_SHOW_DELETED_OID "1.2.840.113556.1.4.417"
#define CONTROL_PERMISSIVE_MODIFY_OID "1.2.840.113556.1.4.1413"
#define ASA_LDAP_PAGE_SIZE 1000
/* OpenLDAP's LDAP_DEBUG_TRACE (ldap_log.h, not installed): the calls only,
 * never a packet. */
#define ASA_LDAP_DEBUG_TRACE 0x0001

struct dir_ldap {
	LDAP *ld;
	/* -k yes -U user: our own ticket, in memory */
	krb5_context krb5;
	krb5_ccache ccache;
};

static int dir_ldap_destructor(struct dir_ldap *l)
{
	if (l->ld != NULL) {
		ldap_unbind_ext_s(l->ld, NULL, NULL);
		l->ld = NULL;
	}
	if (l->ccache != NULL) {
		OM_uint32 minor;

		gss_krb5_ccache_name(&minor, NULL, NULL);
		krb5_cc_destroy(l->krb5, l->ccache);
		l->ccache = NULL;
	}
	if (l->krb5 != NULL) {
		krb5_free_context(l->krb5);
		l->krb5 = NULL;
	}
	return 0;
}

static LDAP *get_ld(struct asa_dir *dir)
{
	struct dir_ldap *l = talloc_get_type_abort(dir->backend_data,
						   struct dir_ldap);
	return l->ld;
}

/* An LDAP result code as an LDB code: the positive ones are the same. */
static int ldap_to_ldb(int rc)
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
static int ldap_fail(struct asa_dir *dir, int rc, const char *diag)
{
	char *d = NULL;

	if (diag == NULL || diag[0] == '\0') {
		if (ldap_get_option(get_ld(dir), LDAP_OPT_DIAGNOSTIC_MESSAGE,
				    &d) == LDAP_OPT_SUCCESS &&
		    d != NULL && d[0] != '\0') {
			diag = d;
		}
	}
	if (rc < 0 && diag != NULL && diag[0] == '(') {
		/* libldap's "(unknown error code)" adds nothing */
		asa_dir_error(dir, ldap_to_ldb(rc), "%s", ldap_err2string(rc));
	} else if (rc < 0 && diag != NULL && diag[0] != '\0') {
		/* a client-side failure: libldap's words first */
		asa_dir_error(dir, ldap_to_ldb(rc), "%s (%s)",
			      ldap_err2string(rc), diag);
	} else if (diag != NULL && diag[0] != '\0') {
		asa_dir_error(dir, ldap_to_ldb(rc), "%s", diag);
	} else {
		asa_dir_error(dir, ldap_to_ldb(rc), "%s", ldap_err2string(rc));
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
	LDAP *ld = get_ld(dir);
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
				ret = ldap_fail(dir, rc, NULL);
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
			ret = ldap_fail(dir, rc, NULL);
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
			ret = ldap_fail(dir, rc, NULL);
			break;
		}
		if (err != LDAP_SUCCESS) {
			ret = ldap_fail(dir, err, diag);
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
	return ldap_fail(dir, rc, NULL);
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
		rc = ldap_add_ext_s(get_ld(dir), dn, mods, c, NULL);
	} else {
		rc = ldap_modify_ext_s(get_ld(dir), dn, mods, c, NULL);
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
	ret = ldap_write_result(dir, ldap_delete_ext_s(get_ld(dir),
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
	ret = ldap_write_result(dir, ldap_rename_s(get_ld(dir),
			ldb_dn_get_linearized(olddn), rdn,
			ldb_dn_get_linearized(parent), 1, c, NULL));
done:
	TALLOC_FREE(frame);
	return ret;
}

static const struct asa_dir_ops ldap_ops = {
	.search = ldap_search_dir,
	.add = ldap_add_dir,
	.modify = ldap_modify_dir,
	.del = ldap_delete_dir,
	.rename = ldap_rename_dir,
};

static int sasl_interact(LDAP *ld, unsigned flags, void *defaults, void *in)
{
	struct asa_sasl_interact *i = in;

	for (; i->id != ASA_SASL_CB_LIST_END; i++) {
		i->result = "";
		i->len = 0;
	}
	return LDAP_SUCCESS;
}

static char *unreachable(struct asa_dir *dir)
{
	if (strncasecmp(dir->url, "ldaps://", 8) == 0) {
		/* libldap reports a refused certificate the same way */
		return talloc_asprintf(dir,
			"cannot reach %s: %s; check -H, that the DC is "
			"running, and that its TLS certificate is trusted "
			"(LDAPTLS_CACERT; LDAPTLS_REQCERT=never only for a "
			"test DC)", dir->url, dir->errstring);
	}
	return talloc_asprintf(dir,
		"cannot reach %s: %s; check -H and that the DC is running",
		dir->url, dir->errstring);
}

/*
 * -k yes with -U and a password: get a ticket for the user into a
 * memory credential cache of our own and let GSSAPI use it, as samba-tool
 * does, so no kinit is needed and nothing is written to disk.
 */
static int kinit_password(struct asa_dir *dir,
			  const struct asa_dir_options *options,
			  char **errstring)
{
	struct dir_ldap *l = talloc_get_type_abort(dir->backend_data,
						   struct dir_ldap);
	krb5_principal princ = NULL;
	krb5_get_init_creds_opt *opt = NULL;
	krb5_creds creds;
	krb5_error_code kerr;
	const char *name = options->username;
	const char *slash = strchr(name, '\\');
	char *ccname = NULL;
	const char *msg = NULL;
	OM_uint32 major, minor;
	int ret = LDB_ERR_INVALID_CREDENTIALS;

	memset(&creds, 0, sizeof(creds));
	if (options->password == NULL) {
		*errstring = talloc_strdup(dir,
			"-k yes -U USER needs the password (prompt, "
			"--password-file or --password-stdin)");
		return LDB_ERR_INAPPROPRIATE_AUTHENTICATION;
	}
	if (slash != NULL) {
		name = slash + 1;	/* DOMAIN\user: user in the realm */
	}
	if (strchr(name, '@') == NULL && options->realm != NULL) {
		name = talloc_asprintf(dir, "%s@%s", name, options->realm);
		if (name == NULL) {
			*errstring = talloc_strdup(dir, "out of memory");
			return LDB_ERR_OPERATIONS_ERROR;
		}
	}
	kerr = krb5_init_context(&l->krb5);
	if (kerr != 0) {
		*errstring = talloc_strdup(dir,
			"cannot initialise Kerberos: check KRB5_CONFIG");
		return LDB_ERR_OPERATIONS_ERROR;
	}
	kerr = krb5_parse_name(l->krb5, name, &princ);
	if (kerr == 0) {
		kerr = krb5_cc_new_unique(l->krb5, "MEMORY", NULL,
					  &l->ccache);
	}
	if (kerr == 0) {
		kerr = krb5_get_init_creds_opt_alloc(l->krb5, &opt);
	}
	if (kerr == 0) {
		kerr = krb5_get_init_creds_password(l->krb5, &creds, princ,
						    options->password, NULL,
						    NULL, 0, NULL, opt);
	}
	if (kerr == 0) {
		kerr = krb5_cc_initialize(l->krb5, l->ccache, princ);
	}
	if (kerr == 0) {
		kerr = krb5_cc_store_cred(l->krb5, l->ccache, &creds);
	}
	if (kerr != 0) {
		msg = krb5_get_error_message(l->krb5, kerr);
		*errstring = talloc_asprintf(dir,
			"cannot get a Kerberos ticket for %s: %s (check the "
			"user name, the password and KRB5_CONFIG)", name,
			msg != NULL ? msg : "unknown error");
		krb5_free_error_message(l->krb5, msg);
		goto done;
	}
	ccname = talloc_asprintf(dir, "MEMORY:%s",
				 krb5_cc_get_name(l->krb5, l->ccache));
	if (ccname == NULL) {
		*errstring = talloc_strdup(dir, "out of memory");
		ret = LDB_ERR_OPERATIONS_ERROR;
		goto done;
	}
	major = gss_krb5_ccache_name(&minor, ccname, NULL);
	if (GSS_ERROR(major)) {
		*errstring = talloc_strdup(dir,
			"cannot hand the Kerberos ticket to GSSAPI");
		ret = LDB_ERR_OPERATIONS_ERROR;
		goto done;
	}
	ret = LDB_SUCCESS;
done:
	krb5_free_cred_contents(l->krb5, &creds);
	if (opt != NULL) {
		krb5_get_init_creds_opt_free(l->krb5, opt);
	}
	if (princ != NULL) {
		krb5_free_principal(l->krb5, princ);
	}
	return ret;
}

bool asa_dir_ldap_protected(struct asa_dir *dir)
{
	LDAP *ld = get_ld(dir);
	ber_len_t ssf = 0;

	if (ldap_tls_inplace(ld)) {
		return true;
	}
	if (ldap_get_option(ld, LDAP_OPT_X_SASL_SSF, &ssf) !=
	    LDAP_OPT_SUCCESS) {
		return false;
	}
	return ssf >= 56;
}

static int bind_gssapi(struct asa_dir *dir, char **errstring)
{
	int rc;

	rc = ldap_sasl_interactive_bind_s(get_ld(dir), NULL, "GSSAPI", NULL,
					  NULL, LDAP_SASL_QUIET,
					  sasl_interact, NULL);
	if (rc == LDAP_SUCCESS) {
		return LDB_SUCCESS;
	}
	ldap_fail(dir, rc, NULL);
	if (rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR) {
		*errstring = unreachable(dir);
		return ldap_to_ldb(rc);
	}
	*errstring = talloc_asprintf(dir,
		"Kerberos (GSSAPI) bind to %s failed: %s. Get a ticket "
		"first (kinit; klist shows it), check that the server's "
		"name resolves to and from its address, or use -U USER "
		"over ldaps://",
		dir->url, dir->errstring);
	return ldap_to_ldb(rc);
}

/*
 * The DNS domain of the server's default naming context, read from
 * rootDSE before binding (anonymous rootDSE reads are always allowed),
 * or NULL.
 */
static const char *dns_domain_of_server(struct asa_dir *dir)
{
	static const char *attrs[] = { "defaultNamingContext", NULL };
	LDAP *ld = get_ld(dir);
	LDAPMessage *res = NULL;
	LDAPMessage *e = NULL;
	struct berval **vals = NULL;
	const char *domain = NULL;
	int rc;

	rc = ldap_search_ext_s(ld, "", LDAP_SCOPE_BASE, "(objectClass=*)",
			       discard_const_p(char *, attrs), 0, NULL, NULL,
			       NULL, 1, &res);
	if (rc == LDAP_SUCCESS && (e = ldap_first_entry(ld, res)) != NULL) {
		vals = ldap_get_values_len(ld, e, "defaultNamingContext");
	}
	if (vals != NULL && vals[0] != NULL) {
		char *s = talloc_strndup(dir, vals[0]->bv_val,
					 vals[0]->bv_len);
		struct ldb_dn *dn = ldb_dn_new(dir, dir->ldb, s);
		char *c = dn != NULL ? ldb_dn_canonical_string(dir, dn) : NULL;

		if (c != NULL && c[0] != '\0') {
			size_t len = strlen(c);

			if (c[len - 1] == '/') {
				c[len - 1] = '\0';
			}
			domain = c;
		}
		TALLOC_FREE(s);
	}
	if (vals != NULL) {
		ldap_value_free_len(vals);
	}
	if (res != NULL) {
		ldap_msgfree(res);
	}
	return domain;
}

static int bind_simple(struct asa_dir *dir,
		       const struct asa_dir_options *options,
		       char **errstring)
{
	LDAP *ld = get_ld(dir);
	const char *name = options->username;
	struct berval cred = { 0, NULL };
	int rc;

	if (options->password == NULL) {
		*errstring = talloc_strdup(dir,
			"no password for -U: give --password-file FILE or "
			"--password-stdin, or run on a terminal");
		return LDB_ERR_INAPPROPRIATE_AUTHENTICATION;
	}
	if (strncasecmp(dir->url, "ldap://", 7) == 0) {
		rc = ldap_start_tls_s(ld, NULL, NULL);
		if (rc == LDAP_SERVER_DOWN) {
			ldap_fail(dir, rc, NULL);
			*errstring = unreachable(dir);
			return ldap_to_ldb(rc);
		}
		if (rc != LDAP_SUCCESS) {
			ldap_fail(dir, rc, NULL);
			*errstring = talloc_asprintf(dir,
				"StartTLS on %s failed: %s. A password is only "
				"sent over a protected connection: use "
				"ldaps://, -k yes, or set LDAPTLS_REQCERT / "
				"LDAPTLS_CACERT for the server's certificate",
				dir->url, dir->errstring);
			return ldap_to_ldb(rc);
		}
	}
	if (strchr(name, '@') == NULL && strchr(name, '\\') == NULL &&
	    strchr(name, '=') == NULL) {
		/* AD binds a plain name only as a UPN: name@realm */
		const char *realm = options->realm;

		if (realm == NULL) {
			realm = dns_domain_of_server(dir);
		}
		if (realm != NULL) {
			name = talloc_asprintf(dir, "%s@%s", name, realm);
		}
		if (name == NULL) {
			*errstring = talloc_strdup(dir, "out of memory");
			return LDB_ERR_OPERATIONS_ERROR;
		}
	}
	cred.bv_val = discard_const_p(char, options->password);
	cred.bv_len = strlen(options->password);
	rc = ldap_sasl_bind_s(ld, name, LDAP_SASL_SIMPLE, &cred, NULL, NULL,
			      NULL);
	if (rc == LDAP_SUCCESS) {
		return LDB_SUCCESS;
	}
	ldap_fail(dir, rc, NULL);
	if (rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR) {
		*errstring = unreachable(dir);
		return ldap_to_ldb(rc);
	}
	*errstring = talloc_asprintf(dir, "bind to %s as %s failed: %s "
				     "(check the user name and password)",
				     dir->url, name, dir->errstring);
	return ldap_to_ldb(rc);
}

int asa_dir_ldap_open(struct asa_dir *dir,
		      const struct asa_dir_options *options,
		      char **errstring)
{
	struct dir_ldap *l = NULL;
	int version = LDAP_VERSION3;
	int rc;
	bool gssapi;

	dir->ops = &ldap_ops;
	dir->url = talloc_strdup(dir, options->url);
	dir->ldb = ldb_init(dir, dir->ev);
	l = talloc_zero(dir, struct dir_ldap);
	if (dir->url == NULL || dir->ldb == NULL || l == NULL) {
		*errstring = talloc_strdup(dir, "out of memory");
		return LDB_ERR_OPERATIONS_ERROR;
	}
	talloc_set_destructor(l, dir_ldap_destructor);
	dir->backend_data = l;

	rc = ldap_initialize(&l->ld, dir->url);
	if (rc != LDAP_SUCCESS) {
		*errstring = talloc_asprintf(dir, "-H %s: %s", dir->url,
					     ldap_err2string(rc));
		return LDB_ERR_PROTOCOL_ERROR;
	}
	if (options->debug_level > 0) {
		/*
		 * libldap's call trace only, at every -d level: its packet
		 * and BER dumps (and liblber's, left off) show the bind
		 * password and the unicodePwd of create and roll.
		 */
		int level = ASA_LDAP_DEBUG_TRACE;

		ldap_set_option(NULL, LDAP_OPT_DEBUG_LEVEL, &level);
	}
	ldap_set_option(l->ld, LDAP_OPT_PROTOCOL_VERSION, &version);
	ldap_set_option(l->ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
	{
		/*
		 * Every call ends, also against a DC that accepts the
		 * connection and then answers nothing (a monitoring check
		 * must not hang): the synchronous calls give up after
		 * LDAP_OPT_TIMEOUT, connecting after LDAP_OPT_NETWORK_TIMEOUT.
		 */
		int secs = options->timeout > 0 ? options->timeout :
			ASA_DIR_LDAP_TIMEOUT_DEFAULT;
		struct timeval op = { .tv_sec = secs };
		struct timeval net = { .tv_sec = secs < 10 ? secs : 10 };

		if (ldap_set_option(l->ld, LDAP_OPT_TIMEOUT, &op) !=
			    LDAP_OPT_SUCCESS ||
		    ldap_set_option(l->ld, LDAP_OPT_NETWORK_TIMEOUT, &net) !=
			    LDAP_OPT_SUCCESS) {
			*errstring = talloc_strdup(dir,
				"cannot set the LDAP timeouts");
			return LDB_ERR_OPERATIONS_ERROR;
		}
	}

	switch (options->kerberos) {
	case ASA_DIR_KERBEROS_YES:
		gssapi = true;
		break;
	case ASA_DIR_KERBEROS_NO:
		gssapi = false;
		break;
	default:
		gssapi = (options->username == NULL);
		break;
	}
	if (!gssapi && options->username == NULL) {
		*errstring = talloc_strdup(dir,
			"-k no needs -U USER (and a password)");
		return LDB_ERR_INAPPROPRIATE_AUTHENTICATION;
	}
	if (gssapi && options->username != NULL) {
		int ret = kinit_password(dir, options, errstring);

		if (ret != LDB_SUCCESS) {
			return ret;
		}
	}
	if (gssapi) {
		return bind_gssapi(dir, errstring);
	}
	return bind_simple(dir, options, errstring);
}
