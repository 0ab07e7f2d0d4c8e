/*
 * samba-asa: creating an ASA in the directory; see create.h.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <talloc.h>
#include <ldb.h>
#include <krb5.h>

#include "samba_util.h"
#include "create.h"
#include "keys.h"
#include "trust.h"
#include "krb5_text.h"

#define UF_WORKSTATION_TRUST_ACCOUNT 0x00001000
/* the GUID of the Computers container in wellKnownObjects */
#define WKGUID_COMPUTERS "AA312825768811D1ADED00C04FD8D5CD"

static int parent_ou(TALLOC_CTX *mem_ctx, struct asa_dir *dir,
		     const char *ou, struct ldb_dn **parent,
		     char **errstring)
{
	static const char * const no_attrs[] = { "objectClass", NULL };
	struct ldb_result *res = NULL;
	struct ldb_dn *dn = NULL;
	int ret;

	dn = ldb_dn_new(mem_ctx, asa_dir_ldb(dir), ou);
	if (dn == NULL || !ldb_dn_validate(dn)) {
		*errstring = talloc_asprintf(mem_ctx, "--ou '%s' is not a "
					     "valid DN", ou);
		return LDB_ERR_INVALID_DN_SYNTAX;
	}
	ret = asa_dir_search(dir, mem_ctx, &res, dn, LDB_SCOPE_BASE,
			     no_attrs, 0, "(objectClass=*)");
	if (ret == LDB_ERR_NO_SUCH_OBJECT ||
	    (ret == LDB_SUCCESS && res->count == 0)) {
		*errstring = talloc_asprintf(mem_ctx, "--ou %s: there is no "
					     "such object; nothing was "
					     "created", ou);
		return LDB_ERR_NO_SUCH_OBJECT;
	}
	if (ret != LDB_SUCCESS) {
		*errstring = talloc_asprintf(mem_ctx, "--ou %s: %s", ou,
					     asa_dir_errstring(dir));
		return ret;
	}
	*parent = dn;
	return LDB_SUCCESS;
}

int asa_create_parent(TALLOC_CTX *mem_ctx, struct asa_dir *dir,
		      const char *ou, struct ldb_dn **parent,
		      char **errstring)
{
	static const char * const wko_attrs[] = { "wellKnownObjects", NULL };
	const struct asa_dir_rootdse *root = asa_dir_rootdse(dir);
	struct ldb_result *res = NULL;
	struct ldb_dn *dn = NULL;
	int ret;

	*parent = NULL;
	if (ou != NULL) {
		return parent_ou(mem_ctx, dir, ou, parent, errstring);
	}
	ret = asa_dir_search(dir, mem_ctx, &res, root->default_nc,
			     LDB_SCOPE_BASE, wko_attrs, 0, "(objectClass=*)");
	if (ret == LDB_SUCCESS && res->count == 1) {
		const struct ldb_message_element *el =
			ldb_msg_find_element(res->msgs[0],
					     "wellKnownObjects");
		const char *prefix = "B:32:" WKGUID_COMPUTERS ":";
		unsigned int i;

		for (i = 0; el != NULL && i < el->num_values; i++) {
			const char *v = (const char *)el->values[i].data;

			if (el->values[i].length > strlen(prefix) &&
			    strncasecmp(v, prefix, strlen(prefix)) == 0) {
				dn = ldb_dn_new(mem_ctx, asa_dir_ldb(dir),
					talloc_strndup(mem_ctx,
						v + strlen(prefix),
						el->values[i].length -
						strlen(prefix)));
			}
		}
	}
	if (dn == NULL) {
		dn = ldb_dn_copy(mem_ctx, root->default_nc);
		if (dn == NULL || !ldb_dn_add_child_fmt(dn, "CN=Computers")) {
			*errstring = talloc_strdup(mem_ctx, "out of memory");
			return LDB_ERR_OPERATIONS_ERROR;
		}
	}
	*parent = dn;
	return LDB_SUCCESS;
}

/* Step 1: the account with its password, enctypes and SPNs. */
static int add_account(TALLOC_CTX *mem_ctx, struct asa_dir *dir,
		       const struct asa_create_request *req,
		       struct ldb_dn *parent, const uint8_t *pwd,
		       size_t pwd_length, struct ldb_dn **dn,
		       char **errstring)
{
	TALLOC_CTX *frame = talloc_new(mem_ctx);
	struct ldb_message *msg = ldb_msg_new(frame);
	struct ldb_val v = { .data = discard_const_p(uint8_t, pwd),
			     .length = pwd_length };
	char *desc = NULL;
	size_t i;
	int ret = LDB_ERR_OPERATIONS_ERROR;

	*dn = NULL;
	if (msg == NULL) {
		goto nomem;
	}
	msg->dn = ldb_dn_copy(msg, parent);
	if (msg->dn == NULL ||
	    !ldb_dn_add_child_fmt(msg->dn, "CN=%s", req->name)) {
		goto nomem;
	}
	desc = talloc_asprintf(msg, "Alternate service account (samba-asa) "
			       "of %s", req->spns[0]);
	if (desc == NULL ||
	    ldb_msg_add_string(msg, "objectClass", "computer") != 0 ||
	    ldb_msg_add_string(msg, "sAMAccountName", req->sam) != 0 ||
	    ldb_msg_add_fmt(msg, "userAccountControl", "%u",
			    UF_WORKSTATION_TRUST_ACCOUNT) != 0 ||
	    ldb_msg_add_fmt(msg, "msDS-SupportedEncryptionTypes", "%u",
			    req->enctypes) != 0 ||
	    ldb_msg_add_string(msg, "description", desc) != 0 ||
	    ldb_msg_add_value(msg, "unicodePwd", &v, NULL) != 0) {
		goto nomem;
	}
	for (i = 0; i < req->num_spns; i++) {
		if (ldb_msg_add_string(msg, "servicePrincipalName",
				       req->spns[i]) != 0) {
			goto nomem;
		}
	}
	ret = asa_dir_add(dir, msg, 0);
	if (ret == LDB_SUCCESS) {
		*dn = talloc_steal(mem_ctx, msg->dn);
	} else if (ret == LDB_ERR_ENTRY_ALREADY_EXISTS) {
		*errstring = talloc_asprintf(mem_ctx, "%s exists already (an "
					     "object of another name there?); "
					     "nothing was created",
					     ldb_dn_get_linearized(msg->dn));
	} else {
		*errstring = talloc_asprintf(mem_ctx, "the directory refused "
					     "to create %s, nothing was "
					     "created: %s",
					     ldb_dn_get_linearized(msg->dn),
					     asa_dir_errstring(dir));
	}
	goto done;
nomem:
	*errstring = talloc_strdup(mem_ctx, "out of memory");
	ret = LDB_ERR_OPERATIONS_ERROR;
done:
	/* the message's unicodePwd points to the caller's wiped buffer */
	TALLOC_FREE(frame);
	return ret;
}

/* Undo a create that failed before any member got keys. */
static char *undo_create(TALLOC_CTX *mem_ctx, struct asa_dir *dir,
			 struct ldb_dn *dn)
{
	char *why = NULL;
	char *undo = NULL;
	int ret = asa_account_delete(mem_ctx, dir, dn, &why);

	if (ret != LDB_SUCCESS) {
		undo = talloc_asprintf(mem_ctx, "undoing the create failed "
				       "too: %s; delete %s by hand "
				       "(samba-tool computer delete)",
				       why != NULL ? why : ldb_strerror(ret),
				       ldb_dn_get_linearized(dn));
	} else {
		undo = talloc_asprintf(mem_ctx, "nothing was left behind: %s "
				       "was deleted again",
				       ldb_dn_get_linearized(dn));
	}
	TALLOC_FREE(why);
	return undo;
}

/* Step 2: the samba-asa SCP, made safe from others, and the members. */
static int mark_asa(TALLOC_CTX *mem_ctx, struct asa_dir *dir,
		    const struct asa_create_request *req, struct ldb_dn *dn,
		    char **errstring)
{
	size_t i;
	int ret;

	ret = asa_account_mark(mem_ctx, dir, dn, errstring);
	if (ret == LDB_SUCCESS) {
		/* nothing but administrators may add samba-asa records */
		bool changed = false;
		char *still = NULL;

		ret = asa_trust_secure_asa(mem_ctx, dir, dn, &changed, &still,
					   errstring);
		if (ret == LDB_SUCCESS && still != NULL) {
			*errstring = talloc_asprintf(mem_ctx, "%s cannot be "
				"made safe from others: %s (create it in a "
				"container where only administrators hold "
				"rights)", req->sam, still);
			ret = LDB_ERR_INSUFFICIENT_ACCESS_RIGHTS;
		}
	}
	for (i = 0; ret == LDB_SUCCESS && i < req->num_members; i++) {
		struct asa_account stub = {
			.dn = dn,
			.sam_account_name = req->sam,
		};
		struct asa_member_record *m = NULL;

		ret = asa_member_record_add(mem_ctx, dir, &stub,
					    req->members[i].name,
					    req->members[i].url, &m,
					    errstring);
	}
	return ret;
}

int asa_create(TALLOC_CTX *mem_ctx, krb5_context ctx, struct asa_dir *dir,
	       const struct asa_create_request *req, struct ldb_dn *parent,
	       struct asa_account **account, struct asa_keytab **keytab,
	       char **errstring, char **undo)
{
	TALLOC_CTX *secrets = talloc_new(NULL);
	TALLOC_CTX *frame = talloc_new(mem_ctx);
	const char *avoid[] = { req->name, NULL };
	char *password = NULL;
	uint8_t *pwd = NULL;
	size_t pwd_length = 0;
	char *salt = NULL;
	struct asa_key *keys = NULL;
	size_t num_keys = 0;
	char **principals = NULL;
	size_t num_principals = 0;
	struct ldb_dn *dn = NULL;
	struct asa_account *a = NULL;
	char *why = NULL;
	krb5_error_code kret;
	int ret;

	*account = NULL;
	*keytab = NULL;
	*undo = NULL;
	if (secrets == NULL || frame == NULL) {
		*errstring = talloc_strdup(mem_ctx, "out of memory");
		ret = LDB_ERR_OPERATIONS_ERROR;
		goto done;
	}
	ret = asa_password_generate(secrets, ASA_PASSWORD_LENGTH, avoid,
				    &password);
	if (ret == 0) {
		ret = asa_password_unicodepwd(secrets, password, &pwd,
					      &pwd_length);
	}
	if (ret != 0) {
		*errstring = talloc_asprintf(mem_ctx, "making a random "
					     "password failed: %s",
					     strerror(ret));
		ret = LDB_ERR_OPERATIONS_ERROR;
		goto done;
	}
	if (req->show_password != NULL) {
		req->show_password(password);
	}
	ret = add_account(frame, dir, req, parent, pwd, pwd_length, &dn,
			  &why);
	if (ret != LDB_SUCCESS) {
		*errstring = talloc_steal(mem_ctx, why);
		goto done;
	}

	ret = mark_asa(frame, dir, req, dn, &why);
	if (ret == LDB_SUCCESS) {
		ret = asa_account_load(frame, dir, req->sam, &a, &why);
	}
	if (ret != LDB_SUCCESS) {
		*errstring = talloc_strdup(mem_ctx, why != NULL ? why :
					   ldb_strerror(ret));
		goto undo;
	}
	if (a->kvno == 0) {
		*errstring = talloc_asprintf(mem_ctx, "the directory reports "
					     "no msDS-KeyVersionNumber for %s "
					     "after setting its password",
					     req->sam);
		ret = LDB_ERR_OPERATIONS_ERROR;
		goto undo;
	}

	kret = asa_salt_computer(secrets, a->realm, a->sam_account_name,
				 &salt);
	if (kret == 0) {
		kret = asa_keys_derive(ctx, secrets, password, salt,
				       a->enctypes, a->kvno, &keys,
				       &num_keys);
	}
	if (kret == 0) {
		kret = asa_keytab_principals(ctx, frame, a->realm,
					     a->sam_account_name, a->spns,
					     a->num_spns, &principals,
					     &num_principals);
	}
	if (kret == 0) {
		kret = asa_keytab_build(ctx, mem_ctx,
					(const char * const *)principals,
					num_principals, keys, num_keys,
					(uint32_t)time(NULL), keytab);
	}
	if (kret != 0) {
		*errstring = talloc_asprintf(mem_ctx, "deriving the keys of "
					     "%s failed: %s", req->sam,
					     asa_krb5_text(frame, ctx, kret));
		ret = LDB_ERR_OPERATIONS_ERROR;
		goto undo;
	}
	*account = talloc_steal(mem_ctx, a);
	ret = LDB_SUCCESS;
	goto done;
undo:
	TALLOC_FREE(*keytab);
	*undo = undo_create(mem_ctx, dir, dn);
done:
	TALLOC_FREE(secrets);	/* wipes the password and the keys */
	TALLOC_FREE(frame);
	return ret;
}
