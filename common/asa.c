/*
 * samba-asa: reading the alternate service account as the directory holds it;
 * see asa.h for the layout (a samba-asa serviceConnectionPoint under the
 * computer account for settings and roll state, one per member).  Writing
 * is asa_store.c's, the keywords asa_keywords.c's.
 *
 * Nothing here holds a secret: the SCPs carry URLs, kvnos, times and
 * error texts, readable by whoever may read the account.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <talloc.h>
#include <ldb.h>

#include "samba_util.h"
#include "asa_private.h"
#include "safe_text.h"
#include "trust.h"

/* 100 ns intervals between 1601-01-01 and 1970-01-01 */
#define NTTIME_EPOCH_OFFSET 116444736000000000ULL

static const char * const account_attrs[] = {
	"sAMAccountName", "objectClass", "dNSHostName",
	"servicePrincipalName", "msDS-SupportedEncryptionTypes",
	"msDS-KeyVersionNumber", "pwdLastSet", "objectSid",
	"nTSecurityDescriptor", NULL
};

static const char * const scp_attrs[] = {
	"cn", "serviceClassName", "serviceBindingInformation", "keywords",
	"nTSecurityDescriptor", NULL
};

static const char * const account_keys[] = {
	KW_ROLL_INTERVAL, KW_LAST_ROLL, KW_LAST_ROLL_ERROR,
	KW_LAST_ROLL_ERROR_TIME, KW_ROLL_FAILURES, NULL
};

static const char * const member_keys[] = {
	KW_LATEST_KVNO, KW_LATEST_INSTALLED, KW_PREVIOUS_KVNO, KW_STALE,
	KW_LAST_ERROR, KW_LAST_ERROR_TIME, KW_AFTER_INSTALL, NULL
};

/* "DC=samdom,DC=example,DC=com" -> "SAMDOM.EXAMPLE.COM" */
static char *realm_of_nc(TALLOC_CTX *mem_ctx, struct ldb_dn *nc)
{
	char *realm = talloc_strdup(mem_ctx, "");
	int i, n = ldb_dn_get_comp_num(nc);
	char *p = NULL;

	for (i = 0; realm != NULL && i < n; i++) {
		const char *name = ldb_dn_get_component_name(nc, i);
		const struct ldb_val *v = ldb_dn_get_component_val(nc, i);

		if (name == NULL || v == NULL ||
		    strcasecmp(name, "DC") != 0) {
			continue;
		}
		realm = talloc_asprintf_append(realm, "%s%.*s",
					       realm[0] != '\0' ? "." : "",
					       (int)v->length,
					       (const char *)v->data);
	}
	for (p = realm; p != NULL && *p != '\0'; p++) {
		if (*p >= 'a' && *p <= 'z') {
			*p -= 'a' - 'A';
		}
	}
	return realm;
}

static bool msg_has_class(const struct ldb_message *msg, const char *cls)
{
	const struct ldb_message_element *el =
		ldb_msg_find_element(msg, "objectClass");
	unsigned int i;

	for (i = 0; el != NULL && i < el->num_values; i++) {
		if (el->values[i].length == strlen(cls) &&
		    strncasecmp((const char *)el->values[i].data, cls,
				el->values[i].length) == 0) {
			return true;
		}
	}
	return false;
}

static bool msg_attr_is(const struct ldb_message *msg, const char *attr,
			const char *value)
{
	const char *v = ldb_msg_find_attr_as_string(msg, attr, NULL);

	return v != NULL && strcasecmp(v, value) == 0;
}

static time_t nttime_to_unix(uint64_t nt)
{
	if (nt <= NTTIME_EPOCH_OFFSET || nt == INT64_MAX) {
		return 0;
	}
	return (time_t)((nt - NTTIME_EPOCH_OFFSET) / 10000000ULL);
}

static int member_from_msg(TALLOC_CTX *mem_ctx,
			   const struct ldb_message *msg,
			   struct asa_member_record *m)
{
	const char **kw = NULL;
	size_t num_kw = 0;
	int ret;

	*m = (struct asa_member_record) { 0 };
	m->dn = ldb_dn_copy(mem_ctx, msg->dn);
	m->name = talloc_strdup(mem_ctx, asa_rdn_value(msg->dn));
	m->url = talloc_strdup(mem_ctx,
		ldb_msg_find_attr_as_string(msg, "serviceBindingInformation",
					    ""));
	if (m->dn == NULL || m->name == NULL || m->url == NULL) {
		return LDB_ERR_OPERATIONS_ERROR;
	}
	ret = asa_keywords_of(mem_ctx, msg, &kw, &num_kw);
	if (ret != LDB_SUCCESS) {
		return ret;
	}
	m->latest_kvno = asa_keywords_u64(kw, num_kw, KW_LATEST_KVNO);
	m->latest_installed = asa_keywords_u64(kw, num_kw, KW_LATEST_INSTALLED);
	m->previous_kvno = asa_keywords_u64(kw, num_kw, KW_PREVIOUS_KVNO);
	m->stale = asa_keywords_u64(kw, num_kw, KW_STALE) != 0;
	m->last_error = asa_keywords_find(mem_ctx, kw, num_kw, KW_LAST_ERROR);
	if (m->last_error != NULL && m->last_error[0] == '\0') {
		m->last_error = NULL;
	}
	m->last_error_time = asa_keywords_u64(kw, num_kw, KW_LAST_ERROR_TIME);
	m->after_install = asa_keywords_find(mem_ctx, kw, num_kw,
					     KW_AFTER_INSTALL);
	if (m->after_install != NULL && m->after_install[0] == '\0') {
		m->after_install = NULL;
	}
	ret = asa_keywords_other(mem_ctx, kw, num_kw, member_keys,
				 &m->other_keywords, &m->num_other_keywords);
	TALLOC_FREE(kw);
	return ret;
}

static int member_cmp(const void *a, const void *b)
{
	const struct asa_member_record *ma = a;
	const struct asa_member_record *mb = b;

	return strcasecmp(ma->name, mb->name);
}

/*
 * The trust rule (sd.h) for the ASA itself: its account (who may create
 * samba-asa objects under it) and its samba-asa SCP.
 */
static int account_trust(struct asa_account *a,
			 const struct asa_trust_sids *trusted,
			 const struct ldb_message *msg,
			 const struct ldb_message *scp)
{
	char *why = asa_trust_check_msg(a, trusted, scp, ASA_TRUST_SCP);
	const struct ldb_val *v = NULL;
	struct asa_sd *sd = NULL;

	/* an administrator made the SCP: `secure` may fix the rest */
	v = ldb_msg_find_ldb_val(scp, "nTSecurityDescriptor");
	if (v != NULL && asa_sd_parse(a, v->data, v->length, &sd) == 0 &&
	    sd->has_owner && asa_trust_sid_trusted(trusted, &sd->owner)) {
		a->securable = true;
	}
	TALLOC_FREE(sd);
	if (why != NULL) {
		a->untrusted = talloc_asprintf(a, "its %s object: %s",
					       ASA_SCP_RDN, why);
		return a->untrusted != NULL ? LDB_SUCCESS :
			LDB_ERR_OPERATIONS_ERROR;
	}
	why = asa_trust_check_msg(a, trusted, msg, ASA_TRUST_ACCOUNT);
	if (why != NULL) {
		a->untrusted = talloc_asprintf(a, "its account: %s", why);
		if (a->untrusted == NULL) {
			return LDB_ERR_OPERATIONS_ERROR;
		}
	}
	return LDB_SUCCESS;
}

/*
 * Move every member SCP in res that fails the trust rule to
 * a->untrusted_members (its place in res->msgs becomes NULL).
 */
static int split_untrusted(struct asa_account *a,
			   const struct asa_trust_sids *trusted,
			   struct ldb_result *res)
{
	unsigned int i;

	a->untrusted_members = talloc_zero_array(a,
		struct asa_untrusted_record, res->count + 1);
	if (a->untrusted_members == NULL) {
		return LDB_ERR_OPERATIONS_ERROR;
	}
	for (i = 0; i < res->count; i++) {
		struct asa_untrusted_record *u = NULL;
		char *why = NULL;

		if (!msg_attr_is(res->msgs[i], "serviceClassName",
				 ASA_SCP_MEMBER_CLASS)) {
			continue;
		}
		why = asa_trust_check_msg(a, trusted, res->msgs[i],
					  ASA_TRUST_SCP);
		if (why == NULL) {
			continue;
		}
		u = &a->untrusted_members[a->num_untrusted_members++];
		u->dn = ldb_dn_copy(a, res->msgs[i]->dn);
		u->name = talloc_strdup(a, asa_rdn_value(res->msgs[i]->dn));
		u->url = talloc_strdup(a, ldb_msg_find_attr_as_string(
			res->msgs[i], "serviceBindingInformation", ""));
		u->why = why;
		if (u->dn == NULL || u->name == NULL || u->url == NULL) {
			return LDB_ERR_OPERATIONS_ERROR;
		}
		res->msgs[i] = NULL;
	}
	return LDB_SUCCESS;
}

/*
 * The ASA whose computer account is 'msg': its SCPs, settings and
 * members.
 */
static int account_from_msg(TALLOC_CTX *mem_ctx, struct asa_dir *dir,
			    const struct asa_trust_sids *trusted,
			    const struct ldb_message *msg,
			    struct asa_account **account,
			    char **errstring)
{
	TALLOC_CTX *frame = talloc_stackframe();
	struct asa_account *a = NULL;
	struct ldb_result *res = NULL;
	const struct ldb_message *scp = NULL;
	const struct ldb_message_element *el = NULL;
	const char **kw = NULL;
	size_t num_kw = 0;
	const char *sam = NULL;
	size_t len;
	unsigned int i;
	int ret;

	*account = NULL;
	sam = ldb_msg_find_attr_as_string(msg, "sAMAccountName", "");
	if (!msg_has_class(msg, "computer")) {
		ret = asa_fail(mem_ctx, errstring, LDB_ERR_NO_SUCH_OBJECT,
			       "%s is not a computer account, so it is not an "
			       "ASA", sam);
		goto done;
	}
	ret = asa_dir_search(dir, frame, &res, msg->dn, LDB_SCOPE_ONELEVEL,
			     scp_attrs, ASA_DIR_SEARCH_SD,
			     "(objectClass=serviceConnectionPoint)");
	if (ret != LDB_SUCCESS) {
		ret = asa_fail(mem_ctx, errstring, ret,
			       "reading the samba-asa objects under %s failed: "
			       "%s",
			       ldb_dn_get_linearized(msg->dn),
			       asa_dir_errstring(dir));
		goto done;
	}
	for (i = 0; i < res->count; i++) {
		const char *rdn = asa_rdn_value(res->msgs[i]->dn);

		if (rdn != NULL && strcasecmp(rdn, ASA_SCP_RDN) == 0 &&
		    msg_attr_is(res->msgs[i], "serviceClassName",
				ASA_SCP_CLASS)) {
			scp = res->msgs[i];
		}
	}
	if (scp == NULL) {
		ret = asa_fail(mem_ctx, errstring, LDB_ERR_NO_SUCH_OBJECT,
			       "%s exists but is not an ASA (there is no CN=%s "
			       "serviceConnectionPoint under %s); samba-asa "
			       "manages only accounts made by 'samba-asa "
			       "create'. If a create was interrupted, delete "
			       "the account (samba-tool computer delete) and "
			       "create it again",
			       sam, ASA_SCP_RDN,
			       ldb_dn_get_linearized(msg->dn));
		goto done;
	}

	a = talloc_zero(frame, struct asa_account);
	if (a == NULL) {
		ret = LDB_ERR_OPERATIONS_ERROR;
		goto done;
	}
	a->dn = ldb_dn_copy(a, msg->dn);
	a->scp_dn = ldb_dn_copy(a, scp->dn);
	a->sam_account_name = talloc_strdup(a, sam);
	len = strlen(sam);
	a->name = talloc_strndup(a, sam,
				 len > 0 && sam[len - 1] == '$' ? len - 1 :
				 len);
	a->dns_host_name = talloc_strdup(a,
		ldb_msg_find_attr_as_string(msg, "dNSHostName", NULL));
	a->realm = realm_of_nc(a, asa_dir_rootdse(dir)->default_nc);
	if (a->dn == NULL || a->scp_dn == NULL ||
	    a->sam_account_name == NULL || a->name == NULL ||
	    a->realm == NULL) {
		ret = LDB_ERR_OPERATIONS_ERROR;
		goto done;
	}
	el = ldb_msg_find_element(msg, "servicePrincipalName");
	if (el != NULL && el->num_values > 0) {
		a->spns = talloc_array(a, const char *, el->num_values);
		if (a->spns == NULL) {
			ret = LDB_ERR_OPERATIONS_ERROR;
			goto done;
		}
		for (i = 0; i < el->num_values; i++) {
			a->spns[i] = talloc_strndup(a->spns,
				(const char *)el->values[i].data,
				el->values[i].length);
			if (a->spns[i] == NULL) {
				ret = LDB_ERR_OPERATIONS_ERROR;
				goto done;
			}
		}
		a->num_spns = el->num_values;
	}
	a->enctypes = ldb_msg_find_attr_as_uint(msg,
		"msDS-SupportedEncryptionTypes", 0);
	a->kvno = ldb_msg_find_attr_as_uint(msg, "msDS-KeyVersionNumber", 0);
	a->pwd_last_set = nttime_to_unix(
		ldb_msg_find_attr_as_uint64(msg, "pwdLastSet", 0));

	ret = account_trust(a, trusted, msg, scp);
	if (ret != LDB_SUCCESS) {
		goto done;
	}
	ret = asa_keywords_of(frame, scp, &kw, &num_kw);
	if (ret != LDB_SUCCESS) {
		goto done;
	}
	a->roll_interval = asa_keywords_u64(kw, num_kw, KW_ROLL_INTERVAL);
	a->last_roll = asa_keywords_u64(kw, num_kw, KW_LAST_ROLL);
	a->last_roll_error = asa_keywords_find(a, kw, num_kw,
					       KW_LAST_ROLL_ERROR);
	if (a->last_roll_error != NULL && a->last_roll_error[0] == '\0') {
		a->last_roll_error = NULL;
	}
	a->last_roll_error_time = asa_keywords_u64(kw, num_kw,
					      KW_LAST_ROLL_ERROR_TIME);
	a->roll_failures = asa_keywords_u64(kw, num_kw, KW_ROLL_FAILURES);
	ret = asa_keywords_other(a, kw, num_kw, account_keys,
				 &a->other_keywords, &a->num_other_keywords);
	if (ret != LDB_SUCCESS) {
		goto done;
	}

	ret = split_untrusted(a, trusted, res);
	if (ret != LDB_SUCCESS) {
		goto done;
	}
	for (i = 0; i < res->count; i++) {
		if (res->msgs[i] != NULL &&
		    msg_attr_is(res->msgs[i], "serviceClassName",
				ASA_SCP_MEMBER_CLASS)) {
			a->num_members++;
		}
	}
	if (a->num_members > 0) {
		size_t n = 0;

		a->members = talloc_array(a, struct asa_member_record,
					  a->num_members);
		if (a->members == NULL) {
			ret = LDB_ERR_OPERATIONS_ERROR;
			goto done;
		}
		for (i = 0; i < res->count; i++) {
			if (res->msgs[i] == NULL ||
			    !msg_attr_is(res->msgs[i], "serviceClassName",
					 ASA_SCP_MEMBER_CLASS)) {
				continue;
			}
			ret = member_from_msg(a->members, res->msgs[i],
					      &a->members[n++]);
			if (ret != LDB_SUCCESS) {
				goto done;
			}
		}
		qsort(a->members, a->num_members, sizeof(a->members[0]),
		      member_cmp);
	}
	*account = talloc_steal(mem_ctx, a);
	ret = LDB_SUCCESS;
done:
	if (ret == LDB_ERR_OPERATIONS_ERROR && errstring != NULL &&
	    *errstring == NULL) {
		*errstring = talloc_strdup(mem_ctx, "out of memory");
	}
	TALLOC_FREE(frame);
	return ret;
}

/* --- loading -------------------------------------------------------- */

char *asa_account_untrusted_advice(TALLOC_CTX *mem_ctx,
				   const struct asa_account *a)
{
	char *name = asa_safe_text(mem_ctx, a->name);

	if (a->securable) {
		return talloc_asprintf(mem_ctx, "if you made it with an "
				       "earlier samba-asa, run 'samba-asa "
				       "secure %s' as an administrator to "
				       "bring it under the rule", name);
	}
	return talloc_asprintf(mem_ctx, "its %s object was not made by an "
			       "administrator: if you did not make it, "
			       "delete CN=%s under %s", ASA_SCP_RDN,
			       ASA_SCP_RDN, name);
}

static int account_load(TALLOC_CTX *mem_ctx,
			struct asa_dir *dir,
			const char *name,
			bool any,
			struct asa_account **account,
			char **errstring)
{
	TALLOC_CTX *frame = talloc_stackframe();
	struct asa_trust_sids *trusted = NULL;
	struct asa_account *a = NULL;
	struct ldb_result *res = NULL;
	char *sam = NULL;
	char *enc = NULL;
	size_t len = name != NULL ? strlen(name) : 0;
	int ret;

	*account = NULL;
	if (len == 0) {
		ret = asa_fail(mem_ctx, errstring,
			       LDB_ERR_INVALID_ATTRIBUTE_SYNTAX,
			       "no ASA name given");
		goto done;
	}
	sam = name[len - 1] == '$' ? talloc_strdup(frame, name) :
		talloc_asprintf(frame, "%s$", name);
	enc = sam != NULL ? ldb_binary_encode_string(frame, sam) : NULL;
	if (enc == NULL) {
		ret = asa_fail(mem_ctx, errstring, LDB_ERR_OPERATIONS_ERROR,
			       "out of memory");
		goto done;
	}
	ret = asa_trust_load(mem_ctx, dir, &trusted, errstring);
	if (ret != LDB_SUCCESS) {
		goto done;
	}
	talloc_steal(frame, trusted);
	ret = asa_dir_search(dir, frame, &res, NULL, LDB_SCOPE_SUBTREE,
			     account_attrs, ASA_DIR_SEARCH_SD,
			     "(sAMAccountName=%s)", enc);
	if (ret != LDB_SUCCESS) {
		ret = asa_fail(mem_ctx, errstring, ret,
			       "looking up %s failed: %s", sam,
			       asa_dir_errstring(dir));
		goto done;
	}
	if (res->count == 0) {
		ret = asa_fail(mem_ctx, errstring, LDB_ERR_NO_SUCH_OBJECT,
			       "there is no account %s in the domain (see "
			       "'samba-asa status' for the ASAs there are)",
			       sam);
		goto done;
	}
	if (res->count > 1) {
		ret = asa_fail(mem_ctx, errstring,
			       LDB_ERR_CONSTRAINT_VIOLATION,
			       "%u accounts are named %s: the directory is "
			       "inconsistent", res->count, sam);
		goto done;
	}
	ret = account_from_msg(frame, dir, trusted, res->msgs[0], &a,
			       errstring);
	if (ret != LDB_SUCCESS) {
		if (errstring != NULL && *errstring != NULL) {
			talloc_steal(mem_ctx, *errstring);
		}
		goto done;
	}
	if (a->untrusted != NULL && !any) {
		char *safe = asa_safe_text(frame, a->untrusted);

		ret = asa_fail(mem_ctx, errstring,
			       LDB_ERR_INSUFFICIENT_ACCESS_RIGHTS,
			       "%s is untrusted and samba-asa will not act on "
			       "it: %s (not only administrators can change it; "
			       "see \"Security model\" in the admin guide); %s",
			       sam,
			       safe != NULL ? safe : "",
			       asa_account_untrusted_advice(frame, a));
		goto done;
	}
	*account = talloc_steal(mem_ctx, a);
done:
	TALLOC_FREE(frame);
	return ret;
}

int asa_account_load(TALLOC_CTX *mem_ctx,
		     struct asa_dir *dir,
		     const char *name,
		     struct asa_account **account,
		     char **errstring)
{
	return account_load(mem_ctx, dir, name, false, account, errstring);
}

int asa_account_load_any(TALLOC_CTX *mem_ctx,
			 struct asa_dir *dir,
			 const char *name,
			 struct asa_account **account,
			 char **errstring)
{
	return account_load(mem_ctx, dir, name, true, account, errstring);
}

static int account_name_cmp(const void *a, const void *b)
{
	const struct asa_account * const *aa = a;
	const struct asa_account * const *ab = b;

	return strcasecmp((*aa)->name, (*ab)->name);
}

int asa_account_list(TALLOC_CTX *mem_ctx,
		     struct asa_dir *dir,
		     struct asa_account ***accounts,
		     size_t *num_accounts,
		     char **errstring)
{
	return asa_account_list_all(mem_ctx, dir, accounts, num_accounts,
				    NULL, NULL, errstring);
}

int asa_account_list_all(TALLOC_CTX *mem_ctx,
			 struct asa_dir *dir,
			 struct asa_account ***accounts,
			 size_t *num_accounts,
			 struct asa_account ***untrusted,
			 size_t *num_untrusted,
			 char **errstring)
{
	TALLOC_CTX *frame = talloc_stackframe();
	struct asa_trust_sids *trusted = NULL;
	struct ldb_result *scps = NULL;
	struct asa_account **list = NULL;
	struct asa_account **bad = NULL;
	size_t n = 0, num_bad = 0;
	unsigned int i;
	int ret;

	*accounts = NULL;
	*num_accounts = 0;
	if (untrusted != NULL) {
		*untrusted = NULL;
		*num_untrusted = 0;
	}
	ret = asa_trust_load(mem_ctx, dir, &trusted, errstring);
	if (ret != LDB_SUCCESS) {
		goto done;
	}
	talloc_steal(frame, trusted);
	ret = asa_dir_search(dir, frame, &scps, NULL, LDB_SCOPE_SUBTREE,
			     scp_attrs, 0,
			     "(&(objectClass=serviceConnectionPoint)"
			     "(serviceClassName=%s))", ASA_SCP_CLASS);
	if (ret != LDB_SUCCESS) {
		ret = asa_fail(mem_ctx, errstring, ret,
			       "searching for ASAs failed: %s",
			       asa_dir_errstring(dir));
		goto done;
	}
	list = talloc_zero_array(frame, struct asa_account *,
				 scps->count + 1);
	bad = talloc_zero_array(frame, struct asa_account *,
				scps->count + 1);
	if (list == NULL || bad == NULL) {
		ret = asa_fail(mem_ctx, errstring, LDB_ERR_OPERATIONS_ERROR,
			       "out of memory");
		goto done;
	}
	for (i = 0; i < scps->count; i++) {
		const char *rdn = asa_rdn_value(scps->msgs[i]->dn);
		struct ldb_dn *parent = NULL;
		struct ldb_result *res = NULL;
		char *why = NULL;

		if (rdn == NULL || strcasecmp(rdn, ASA_SCP_RDN) != 0) {
			continue;
		}
		parent = ldb_dn_get_parent(frame, scps->msgs[i]->dn);
		if (parent == NULL) {
			continue;
		}
		ret = asa_dir_search(dir, frame, &res, parent, LDB_SCOPE_BASE,
				     account_attrs, ASA_DIR_SEARCH_SD,
				     "(objectClass=*)");
		if (ret != LDB_SUCCESS || res->count != 1) {
			continue;
		}
		ret = account_from_msg(list, dir, trusted, res->msgs[0],
				       &list[n], &why);
		if (ret == LDB_ERR_NO_SUCH_OBJECT) {
			/* an SCP under something else: not ours */
			continue;
		}
		if (ret != LDB_SUCCESS) {
			ret = asa_fail(mem_ctx, errstring, ret, "%s",
				       why != NULL ? why : ldb_strerror(ret));
			goto done;
		}
		if (list[n]->untrusted != NULL) {
			bad[num_bad++] = talloc_steal(bad, list[n]);
			list[n] = NULL;
			continue;
		}
		n++;
	}
	if (n > 0) {
		qsort(list, n, sizeof(list[0]), account_name_cmp);
	}
	if (num_bad > 0) {
		qsort(bad, num_bad, sizeof(bad[0]), account_name_cmp);
	}
	*accounts = talloc_steal(mem_ctx, list);
	*num_accounts = n;
	if (untrusted != NULL) {
		*untrusted = talloc_steal(mem_ctx, bad);
		*num_untrusted = num_bad;
	}
	ret = LDB_SUCCESS;
done:
	TALLOC_FREE(frame);
	return ret;
}
