/*
 * samba-asa: writing an ASA (its roll state, its member records, the
 * samba-asa SCP that marks it, its deletion); see asa.h.
 */
#include <errno.h>
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

/*
 * Replace the keywords of dn with what the caller adds to *msg between
 * keywords_begin() and keywords_commit(): the state this program knows,
 * then the keywords it does not (kept as they were).
 */
static int keywords_begin(TALLOC_CTX *mem_ctx, struct ldb_dn *dn,
			  struct ldb_message **msg)
{
	*msg = ldb_msg_new(mem_ctx);
	if (*msg == NULL) {
		return LDB_ERR_OPERATIONS_ERROR;
	}
	(*msg)->dn = dn;
	return ldb_msg_add_empty(*msg, "keywords", LDB_FLAG_MOD_REPLACE,
				 NULL);
}

/* ret: the result of adding the known keywords; what: for the error */
static int keywords_commit(struct asa_dir *dir, struct ldb_message *msg,
			   int ret, const char * const *other,
			   size_t num_other, const char *what,
			   char **errstring)
{
	if (ret == LDB_SUCCESS) {
		ret = asa_kw_add_other(msg, other, num_other);
	}
	if (ret != LDB_SUCCESS) {
		return asa_fail(dir, errstring, LDB_ERR_OPERATIONS_ERROR,
				"out of memory");
	}
	ret = asa_dir_modify(dir, msg, 0);
	if (ret != LDB_SUCCESS) {
		return asa_fail(dir, errstring, ret, "storing %s failed: %s",
				what, asa_dir_errstring(dir));
	}
	return LDB_SUCCESS;
}

int asa_account_store_state(struct asa_dir *dir,
			    const struct asa_account *account,
			    char **errstring)
{
	TALLOC_CTX *frame = talloc_stackframe();
	struct ldb_message *msg = NULL;
	const char *what = NULL;
	int ret;

	ret = keywords_begin(frame, account->scp_dn, &msg);
	if (ret == LDB_SUCCESS && account->roll_interval > 0) {
		ret = asa_kw_add_u64(msg, KW_ROLL_INTERVAL,
				     account->roll_interval);
	}
	if (ret == LDB_SUCCESS && account->last_roll > 0) {
		ret = asa_kw_add_u64(msg, KW_LAST_ROLL, account->last_roll);
	}
	if (ret == LDB_SUCCESS && account->last_roll_error != NULL) {
		ret = asa_kw_add(msg, KW_LAST_ROLL_ERROR,
				 account->last_roll_error);
		if (ret == LDB_SUCCESS) {
			ret = asa_kw_add_u64(msg, KW_LAST_ROLL_ERROR_TIME,
					account->last_roll_error_time);
		}
	}
	if (ret == LDB_SUCCESS && account->roll_failures > 0) {
		ret = asa_kw_add_u64(msg, KW_ROLL_FAILURES,
				     account->roll_failures);
	}
	what = talloc_asprintf(frame, "the roll state of %s in %s",
			       account->sam_account_name,
			       ldb_dn_get_linearized(account->scp_dn));
	ret = keywords_commit(dir, msg, what != NULL ? ret
				   : LDB_ERR_OPERATIONS_ERROR,
			      account->other_keywords,
			      account->num_other_keywords, what, errstring);
	TALLOC_FREE(frame);
	return ret;
}

bool asa_member_name_valid(const char *name, const char **why)
{
	size_t len = name != NULL ? strlen(name) : 0;
	size_t i;

	if (len == 0) {
		*why = "a member name cannot be empty";
		return false;
	}
	if (len > ASA_MEMBER_NAME_MAX) {
		*why = "a member name has at most 64 characters";
		return false;
	}
	if (strcasecmp(name, ASA_SCP_RDN) == 0) {
		*why = "'" ASA_SCP_RDN "' is the name of the ASA's own "
			"settings object";
		return false;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = name[i];

		if (c < 0x20 || c == 0x7f) {
			*why = "a member name cannot hold control characters";
			return false;
		}
	}
	if (name[0] == ' ' || name[len - 1] == ' ') {
		*why = "a member name cannot start or end with a space";
		return false;
	}
	*why = NULL;
	return true;
}

struct asa_member_record *asa_member_record_find(
	const struct asa_account *account, const char *name_or_url)
{
	size_t i;

	if (name_or_url == NULL) {
		return NULL;
	}
	for (i = 0; i < account->num_members; i++) {
		struct asa_member_record *m = &account->members[i];

		if (strcmp(m->url, name_or_url) == 0 ||
		    strcasecmp(m->name, name_or_url) == 0) {
			return m;
		}
	}
	return NULL;
}

int asa_member_record_add(TALLOC_CTX *mem_ctx,
			  struct asa_dir *dir,
			  const struct asa_account *account,
			  const char *name,
			  const char *url,
			  struct asa_member_record **member,
			  char **errstring)
{
	TALLOC_CTX *frame = talloc_stackframe();
	struct asa_member_record *m = NULL;
	struct ldb_message *msg = NULL;
	const struct asa_member_record *have = NULL;
	const char *why = NULL;
	struct ldb_val rdn;
	int ret;

	*member = NULL;
	if (!asa_member_name_valid(name, &why)) {
		ret = asa_fail(mem_ctx, errstring, LDB_ERR_INVALID_DN_SYNTAX,
			       "member name '%s': %s", name, why);
		goto done;
	}
	if (url == NULL || url[0] == '\0') {
		ret = asa_fail(mem_ctx, errstring,
			       LDB_ERR_INVALID_ATTRIBUTE_SYNTAX,
			       "member %s: no URL", name);
		goto done;
	}
	have = asa_member_record_find(account, url);
	if (have == NULL) {
		have = asa_member_record_find(account, name);
	}
	if (have != NULL) {
		ret = asa_fail(mem_ctx, errstring, LDB_ERR_ENTRY_ALREADY_EXISTS,
			       "%s already has a member %s (%s)",
			       account->sam_account_name, have->name,
			       have->url);
		goto done;
	}

	msg = ldb_msg_new(frame);
	m = talloc_zero(frame, struct asa_member_record);
	if (msg == NULL || m == NULL) {
		goto nomem;
	}
	msg->dn = ldb_dn_copy(msg, account->dn);
	rdn.data = discard_const_p(uint8_t, name);
	rdn.length = strlen(name);
	if (msg->dn == NULL || !ldb_dn_add_child_fmt(msg->dn, "CN=X") ||
	    ldb_dn_set_component(msg->dn, 0, "CN", rdn) != LDB_SUCCESS) {
		goto nomem;
	}
	if (ldb_msg_add_string(msg, "objectClass",
			       "serviceConnectionPoint") != LDB_SUCCESS ||
	    ldb_msg_add_string(msg, "serviceClassName",
			       ASA_SCP_MEMBER_CLASS) != LDB_SUCCESS ||
	    ldb_msg_add_string(msg, "serviceBindingInformation",
			       url) != LDB_SUCCESS) {
		goto nomem;
	}
	ret = asa_dir_add(dir, msg, 0);
	if (ret == LDB_ERR_ENTRY_ALREADY_EXISTS) {
		ret = asa_fail(mem_ctx, errstring, ret,
			       "%s already has a member named %s",
			       account->sam_account_name, name);
		goto done;
	}
	if (ret != LDB_SUCCESS) {
		ret = asa_fail(mem_ctx, errstring, ret,
			       "recording member %s of %s failed: %s", name,
			       account->sam_account_name,
			       asa_dir_errstring(dir));
		goto done;
	}
	m->dn = talloc_steal(m, msg->dn);
	m->name = talloc_strdup(m, name);
	m->url = talloc_strdup(m, url);
	if (m->name == NULL || m->url == NULL) {
		goto nomem;
	}
	*member = talloc_steal(mem_ctx, m);
	ret = LDB_SUCCESS;
	goto done;
nomem:
	ret = asa_fail(mem_ctx, errstring, LDB_ERR_OPERATIONS_ERROR,
		       "out of memory");
done:
	TALLOC_FREE(frame);
	return ret;
}

int asa_member_record_remove(TALLOC_CTX *mem_ctx,
			     struct asa_dir *dir,
			     const struct asa_account *account,
			     const char *name_or_url,
			     char **errstring)
{
	const struct asa_member_record *m =
		asa_member_record_find(account, name_or_url);
	struct asa_member_record planted;
	size_t i;
	int ret;

	/* removing a record nobody trusts is always safe */
	for (i = 0; m == NULL && i < account->num_untrusted_members; i++) {
		const struct asa_untrusted_record *u =
			&account->untrusted_members[i];

		if (strcmp(u->url, name_or_url) == 0 ||
		    strcasecmp(u->name, name_or_url) == 0) {
			planted = (struct asa_member_record) {
				.dn = u->dn, .name = u->name, .url = u->url,
			};
			m = &planted;
		}
	}
	if (m == NULL) {
		return asa_fail(mem_ctx, errstring, LDB_ERR_NO_SUCH_OBJECT,
				"%s has no member %s (see 'samba-asa member "
				"list %s')",
				account->sam_account_name, name_or_url,
				account->name);
	}
	ret = asa_dir_delete(dir, m->dn, 0);
	if (ret != LDB_SUCCESS) {
		return asa_fail(mem_ctx, errstring, ret,
				"removing member %s of %s failed: %s", m->name,
				account->sam_account_name,
				asa_dir_errstring(dir));
	}
	return LDB_SUCCESS;
}

int asa_member_record_store(struct asa_dir *dir,
			    const struct asa_member_record *member,
			    char **errstring)
{
	TALLOC_CTX *frame = talloc_stackframe();
	struct ldb_message *msg = NULL;
	const char *what = NULL;
	int ret;

	ret = keywords_begin(frame, member->dn, &msg);
	if (ret == LDB_SUCCESS && member->latest_kvno > 0) {
		ret = asa_kw_add_u64(msg, KW_LATEST_KVNO, member->latest_kvno);
		if (ret == LDB_SUCCESS && member->latest_installed > 0) {
			ret = asa_kw_add_u64(msg, KW_LATEST_INSTALLED,
					     member->latest_installed);
		}
	}
	if (ret == LDB_SUCCESS && member->previous_kvno > 0) {
		ret = asa_kw_add_u64(msg, KW_PREVIOUS_KVNO,
				     member->previous_kvno);
	}
	if (ret == LDB_SUCCESS && member->stale) {
		ret = asa_kw_add(msg, KW_STALE, "1");
	}
	if (ret == LDB_SUCCESS && member->after_install != NULL) {
		ret = asa_kw_add(msg, KW_AFTER_INSTALL, member->after_install);
	}
	if (ret == LDB_SUCCESS && member->last_error != NULL) {
		ret = asa_kw_add(msg, KW_LAST_ERROR, member->last_error);
		if (ret == LDB_SUCCESS) {
			ret = asa_kw_add_u64(msg, KW_LAST_ERROR_TIME,
					     member->last_error_time);
		}
	}
	what = talloc_asprintf(frame, "the status of member %s",
			       member->name);
	ret = keywords_commit(dir, msg, what != NULL ? ret
				   : LDB_ERR_OPERATIONS_ERROR,
			      member->other_keywords,
			      member->num_other_keywords, what, errstring);
	TALLOC_FREE(frame);
	return ret;
}

int asa_account_mark(TALLOC_CTX *mem_ctx,
		     struct asa_dir *dir,
		     struct ldb_dn *account_dn,
		     char **errstring)
{
	TALLOC_CTX *frame = talloc_stackframe();
	struct ldb_message *msg = ldb_msg_new(frame);
	int ret;

	if (msg == NULL) {
		goto nomem;
	}
	msg->dn = ldb_dn_copy(msg, account_dn);
	if (msg->dn == NULL ||
	    !ldb_dn_add_child_fmt(msg->dn, "CN=%s", ASA_SCP_RDN)) {
		goto nomem;
	}
	if (ldb_msg_add_string(msg, "objectClass",
			       "serviceConnectionPoint") != LDB_SUCCESS ||
	    ldb_msg_add_string(msg, "serviceClassName",
			       ASA_SCP_CLASS) != LDB_SUCCESS ||
	    asa_kw_add(msg, KW_VERSION, ASA_SCP_VERSION) != LDB_SUCCESS) {
		goto nomem;
	}
	ret = asa_dir_add(dir, msg, 0);
	if (ret == LDB_ERR_ENTRY_ALREADY_EXISTS) {
		ret = asa_fail(mem_ctx, errstring, ret, "%s is an ASA already",
			       ldb_dn_get_linearized(account_dn));
	} else if (ret == LDB_ERR_INSUFFICIENT_ACCESS_RIGHTS) {
		ret = asa_fail(mem_ctx, errstring, ret,
			       "adding %s failed: %s (you may create the "
			       "account but not the serviceConnectionPoint "
			       "under it that makes it an ASA: that needs the "
			       "right to create serviceConnectionPoint objects "
			       "under computer objects there)",
			       ldb_dn_get_linearized(msg->dn),
			       asa_dir_errstring(dir));
	} else if (ret != LDB_SUCCESS) {
		ret = asa_fail(mem_ctx, errstring, ret,
			       "adding %s failed: %s",
			       ldb_dn_get_linearized(msg->dn),
			       asa_dir_errstring(dir));
	}
	TALLOC_FREE(frame);
	return ret;
nomem:
	TALLOC_FREE(frame);
	return asa_fail(mem_ctx, errstring, LDB_ERR_OPERATIONS_ERROR,
			"out of memory");
}

int asa_account_delete(TALLOC_CTX *mem_ctx,
		       struct asa_dir *dir,
		       struct ldb_dn *account_dn,
		       char **errstring)
{
	TALLOC_CTX *frame = talloc_stackframe();
	static const char * const no_attrs[] = { "cn", NULL };
	struct ldb_result *res = NULL;
	unsigned int i;
	int ret;

	ret = asa_dir_search(dir, frame, &res, account_dn, LDB_SCOPE_ONELEVEL,
			     no_attrs, 0, "(objectClass=*)");
	if (ret == LDB_ERR_NO_SUCH_OBJECT) {
		ret = LDB_SUCCESS;
		goto done;
	}
	if (ret != LDB_SUCCESS) {
		ret = asa_fail(mem_ctx, errstring, ret,
			       "reading the objects under %s failed: %s",
			       ldb_dn_get_linearized(account_dn),
			       asa_dir_errstring(dir));
		goto done;
	}
	/* members first, the samba-asa SCP (which marks the ASA) last */
	for (i = 0; i < res->count; i++) {
		const char *rdn = asa_rdn_value(res->msgs[i]->dn);

		if (rdn != NULL && strcasecmp(rdn, ASA_SCP_RDN) == 0) {
			continue;
		}
		ret = asa_dir_delete(dir, res->msgs[i]->dn, 0);
		if (ret != LDB_SUCCESS && ret != LDB_ERR_NO_SUCH_OBJECT) {
			goto failed;
		}
	}
	for (i = 0; i < res->count; i++) {
		const char *rdn = asa_rdn_value(res->msgs[i]->dn);

		if (rdn == NULL || strcasecmp(rdn, ASA_SCP_RDN) != 0) {
			continue;
		}
		ret = asa_dir_delete(dir, res->msgs[i]->dn, 0);
		if (ret != LDB_SUCCESS && ret != LDB_ERR_NO_SUCH_OBJECT) {
			goto failed;
		}
	}
	ret = asa_dir_delete(dir, account_dn, 0);
	if (ret == LDB_ERR_NO_SUCH_OBJECT) {
		ret = LDB_SUCCESS;
	}
	if (ret == LDB_SUCCESS) {
		goto done;
	}
failed:
	ret = asa_fail(mem_ctx, errstring, ret, "deleting %s failed: %s",
		       ldb_dn_get_linearized(account_dn),
		       asa_dir_errstring(dir));
done:
	TALLOC_FREE(frame);
	return ret;
}
