/*
 * samba-asa: the trust rule (sd.h) applied to directory objects, and the
 * rule for files root writes on the DC (see trust.h).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <talloc.h>
#include <ldb.h>

#include "asa.h"
#include "trust.h"

#define DC_FILTER "(&(objectClass=computer)" \
	"(userAccountControl:1.2.840.113556.1.4.803:=8192))"

static int sid_of(struct asa_dir *dir, TALLOC_CTX *mem_ctx,
		  struct ldb_dn *dn, struct asa_sid *sid)
{
	static const char * const attrs[] = { "objectSid", NULL };
	struct ldb_result *res = NULL;
	const struct ldb_val *v = NULL;
	int ret;

	ret = asa_dir_search(dir, mem_ctx, &res, dn, LDB_SCOPE_BASE, attrs, 0,
			     "(objectClass=*)");
	if (ret != LDB_SUCCESS) {
		return ret;
	}
	v = res->count == 1 ? ldb_msg_find_ldb_val(res->msgs[0], "objectSid")
		: NULL;
	if (v == NULL || !asa_sid_from_blob(v->data, v->length, sid)) {
		return LDB_ERR_NO_SUCH_ATTRIBUTE;
	}
	return LDB_SUCCESS;
}

int asa_trust_load(TALLOC_CTX *mem_ctx, struct asa_dir *dir,
		   struct asa_trust_sids **ptrusted, char **errstring)
{
	static const char * const attrs[] = { "objectSid", NULL };
	TALLOC_CTX *frame = talloc_new(mem_ctx);
	const struct asa_dir_rootdse *rootdse = asa_dir_rootdse(dir);
	struct asa_trust_sids *t = NULL;
	struct asa_sid *dcs = NULL;
	struct ldb_result *res = NULL;
	unsigned int i;
	int ret;

	*ptrusted = NULL;
	t = talloc_zero(frame, struct asa_trust_sids);
	if (frame == NULL || t == NULL) {
		ret = LDB_ERR_OPERATIONS_ERROR;
		goto done;
	}
	ret = sid_of(dir, frame, rootdse->default_nc, &t->domain);
	if (ret != LDB_SUCCESS) {
		*errstring = talloc_asprintf(mem_ctx, "cannot read the SID "
					     "of the domain: %s",
					     asa_dir_errstring(dir));
		goto done;
	}
	t->root_domain = t->domain;
	if (rootdse->root_domain_nc != NULL &&
	    ldb_dn_compare(rootdse->root_domain_nc,
			   rootdse->default_nc) != 0) {
		ret = sid_of(dir, frame, rootdse->root_domain_nc,
			     &t->root_domain);
		if (ret != LDB_SUCCESS) {
			*errstring = talloc_asprintf(mem_ctx, "cannot read "
				"the SID of the forest root domain: %s",
				asa_dir_errstring(dir));
			goto done;
		}
	}
	ret = asa_dir_search(dir, frame, &res, NULL, LDB_SCOPE_SUBTREE,
			     attrs, 0, DC_FILTER);
	if (ret != LDB_SUCCESS) {
		*errstring = talloc_asprintf(mem_ctx, "cannot list the "
					     "domain controllers: %s",
					     asa_dir_errstring(dir));
		goto done;
	}
	dcs = talloc_zero_array(t, struct asa_sid, res->count + 1);
	if (dcs == NULL) {
		ret = LDB_ERR_OPERATIONS_ERROR;
		goto done;
	}
	for (i = 0; i < res->count; i++) {
		const struct ldb_val *v =
			ldb_msg_find_ldb_val(res->msgs[i], "objectSid");

		if (v != NULL &&
		    asa_sid_from_blob(v->data, v->length, &dcs[t->num_dcs])) {
			t->num_dcs++;
		}
	}
	t->dcs = dcs;
	*ptrusted = talloc_steal(mem_ctx, t);
	ret = LDB_SUCCESS;
done:
	if (ret == LDB_ERR_OPERATIONS_ERROR && *errstring == NULL) {
		*errstring = talloc_strdup(mem_ctx, "out of memory");
	}
	TALLOC_FREE(frame);
	return ret;
}

static int sd_of(TALLOC_CTX *mem_ctx, const struct ldb_message *msg,
		 struct asa_sd **sd)
{
	const struct ldb_val *v =
		ldb_msg_find_ldb_val(msg, "nTSecurityDescriptor");

	*sd = NULL;
	if (v == NULL) {
		return ENOENT;
	}
	return asa_sd_parse(mem_ctx, v->data, v->length, sd);
}

char *asa_trust_check_msg(TALLOC_CTX *mem_ctx,
			  const struct asa_trust_sids *trusted,
			  const struct ldb_message *msg,
			  enum asa_trust_kind kind)
{
	TALLOC_CTX *frame = talloc_new(mem_ctx);
	struct asa_sd *sd = NULL;
	struct asa_sid self;
	const struct ldb_val *v = NULL;
	bool have_self = false;
	char *why = NULL;
	int err;

	if (frame == NULL) {
		return talloc_strdup(mem_ctx, "out of memory");
	}
	err = sd_of(frame, msg, &sd);
	if (err == ENOENT) {
		why = talloc_strdup(mem_ctx, "its security descriptor cannot "
				    "be read (bind as an administrator)");
		goto done;
	}
	if (err != 0) {
		why = talloc_strdup(mem_ctx, "its security descriptor is "
				    "malformed");
		goto done;
	}
	v = ldb_msg_find_ldb_val(msg, "objectSid");
	if (v != NULL) {
		have_self = asa_sid_from_blob(v->data, v->length, &self);
	}
	why = asa_trust_check_sd(mem_ctx, trusted, sd, kind,
				 have_self ? &self : NULL);
done:
	TALLOC_FREE(frame);
	return why;
}

int asa_trust_secure(TALLOC_CTX *mem_ctx, struct asa_dir *dir,
		     const struct asa_trust_sids *trusted,
		     struct ldb_dn *dn, enum asa_trust_kind kind,
		     bool *changed, char **why, char **errstring)
{
	static const char * const attrs[] = {
		"nTSecurityDescriptor", "objectSid", NULL
	};
	TALLOC_CTX *frame = talloc_new(mem_ctx);
	struct ldb_result *res = NULL;
	struct ldb_message *msg = NULL;
	struct asa_sd *sd = NULL;
	struct asa_sid self, domain_admins;
	const struct ldb_val *v = NULL;
	bool have_self = false;
	uint8_t *data = NULL;
	size_t length = 0;
	struct ldb_val val;
	int ret;

	*changed = false;
	*why = NULL;
	if (frame == NULL) {
		return LDB_ERR_OPERATIONS_ERROR;
	}
	ret = asa_dir_search(dir, frame, &res, dn, LDB_SCOPE_BASE, attrs,
			     ASA_DIR_SEARCH_SD, "(objectClass=*)");
	if (ret == LDB_SUCCESS && res->count != 1) {
		ret = LDB_ERR_NO_SUCH_OBJECT;
	}
	if (ret != LDB_SUCCESS) {
		*errstring = talloc_asprintf(mem_ctx, "reading the security "
					     "descriptor of %s failed: %s",
					     ldb_dn_get_linearized(dn),
					     asa_dir_errstring(dir));
		goto done;
	}
	if (sd_of(frame, res->msgs[0], &sd) != 0) {
		ret = LDB_ERR_INSUFFICIENT_ACCESS_RIGHTS;
		*errstring = talloc_asprintf(mem_ctx, "the security "
					     "descriptor of %s cannot be read "
					     "or is malformed",
					     ldb_dn_get_linearized(dn));
		goto done;
	}
	v = ldb_msg_find_ldb_val(res->msgs[0], "objectSid");
	if (v != NULL) {
		have_self = asa_sid_from_blob(v->data, v->length, &self);
	}
	domain_admins = trusted->domain;
	domain_admins.sub_auths[domain_admins.num_auths++] = 512;
	asa_trust_strip_sd(sd, trusted, kind, have_self ? &self : NULL,
			   &domain_admins, changed);
	if (*changed) {
		if (asa_sd_encode(frame, sd, &data, &length) != 0) {
			ret = LDB_ERR_OPERATIONS_ERROR;
			*errstring = talloc_strdup(mem_ctx, "out of memory");
			goto done;
		}
		msg = ldb_msg_new(frame);
		if (msg == NULL) {
			ret = LDB_ERR_OPERATIONS_ERROR;
			*errstring = talloc_strdup(mem_ctx, "out of memory");
			goto done;
		}
		msg->dn = dn;
		val = (struct ldb_val) { .data = data, .length = length };
		ret = ldb_msg_add_value(msg, "nTSecurityDescriptor", &val,
					NULL);
		if (ret == LDB_SUCCESS) {
			msg->elements[0].flags = LDB_FLAG_MOD_REPLACE;
			ret = asa_dir_modify(dir, msg, ASA_DIR_WRITE_SD);
		}
		if (ret != LDB_SUCCESS) {
			*errstring = talloc_asprintf(mem_ctx, "changing the "
				"permissions of %s failed: %s",
				ldb_dn_get_linearized(dn),
				asa_dir_errstring(dir));
			goto done;
		}
		ret = asa_dir_search(dir, frame, &res, dn, LDB_SCOPE_BASE,
				     attrs, ASA_DIR_SEARCH_SD,
				     "(objectClass=*)");
		if (ret == LDB_SUCCESS && res->count != 1) {
			ret = LDB_ERR_NO_SUCH_OBJECT;
		}
		if (ret != LDB_SUCCESS) {
			*errstring = talloc_asprintf(mem_ctx, "reading back "
				"%s failed: %s", ldb_dn_get_linearized(dn),
				asa_dir_errstring(dir));
			goto done;
		}
	}
	*why = asa_trust_check_msg(mem_ctx, trusted, res->msgs[0], kind);
	ret = LDB_SUCCESS;
done:
	TALLOC_FREE(frame);
	return ret;
}

int asa_trust_secure_asa(TALLOC_CTX *mem_ctx, struct asa_dir *dir,
			 struct ldb_dn *account_dn, bool *changed,
			 char **why, char **errstring)
{
	TALLOC_CTX *frame = talloc_new(mem_ctx);
	struct asa_trust_sids *trusted = NULL;
	struct ldb_dn *scp_dn = NULL;
	bool c1 = false, c2 = false;
	char *why_scp = NULL, *why_account = NULL;
	int ret;

	*changed = false;
	*why = NULL;
	if (frame == NULL) {
		return LDB_ERR_OPERATIONS_ERROR;
	}
	ret = asa_trust_load(mem_ctx, dir, &trusted, errstring);
	if (ret != LDB_SUCCESS) {
		goto done;
	}
	talloc_steal(frame, trusted);
	scp_dn = ldb_dn_copy(frame, account_dn);
	if (scp_dn == NULL ||
	    !ldb_dn_add_child_fmt(scp_dn, "CN=%s", ASA_SCP_RDN)) {
		ret = LDB_ERR_OPERATIONS_ERROR;
		*errstring = talloc_strdup(mem_ctx, "out of memory");
		goto done;
	}
	/* the account first: then its key can no longer add SCPs */
	ret = asa_trust_secure(frame, dir, trusted, account_dn,
			       ASA_TRUST_ACCOUNT, &c1, &why_account,
			       errstring);
	if (ret == LDB_SUCCESS) {
		ret = asa_trust_secure(frame, dir, trusted, scp_dn,
				       ASA_TRUST_SCP, &c2, &why_scp,
				       errstring);
	}
	if (ret != LDB_SUCCESS) {
		talloc_steal(mem_ctx, *errstring);
		goto done;
	}
	*changed = c1 || c2;
	if (why_account != NULL) {
		*why = talloc_asprintf(mem_ctx, "its account: %s",
				       why_account);
	} else if (why_scp != NULL) {
		*why = talloc_asprintf(mem_ctx, "its %s object: %s",
				       ASA_SCP_RDN, why_scp);
	}
done:
	TALLOC_FREE(frame);
	return ret;
}

/* A directory root may write in: see asa_local_path_check(). */
static int dir_chain_check(TALLOC_CTX *mem_ctx, const char *dir, char **why)
{
	char *real = realpath(dir, NULL);
	char *p = NULL;
	bool first = true;
	int ret = 0;

	if (real == NULL) {
		ret = errno;
		*why = talloc_asprintf(mem_ctx, "directory %s: %s", dir,
				       strerror(ret));
		return ret;
	}
	p = real + strlen(real);
	while (true) {
		struct stat st;

		if (stat(real, &st) == -1) {
			ret = errno;
			*why = talloc_asprintf(mem_ctx, "%s: %s", real,
					       strerror(ret));
			break;
		}
		if (!S_ISDIR(st.st_mode)) {
			ret = ENOTDIR;
			*why = talloc_asprintf(mem_ctx, "%s is not a "
					       "directory", real);
			break;
		}
		if (st.st_uid != 0 ||
		    ((st.st_mode & (S_IWGRP | S_IWOTH)) &&
		     (first || !(st.st_mode & S_ISVTX)))) {
			ret = EPERM;
			*why = talloc_asprintf(mem_ctx, "%s (owner uid %u, "
				"mode %04o) can be written by a user other "
				"than root: root does not write keys there",
				real, (unsigned)st.st_uid,
				(unsigned)(st.st_mode & 07777));
			break;
		}
		first = false;
		if (p == real + 1 && real[0] == '/') {
			break;		/* "/" checked */
		}
		/* up one level */
		while (p > real + 1 && p[-1] != '/') {
			p--;
		}
		if (p > real + 1) {
			p--;
		}
		*p = '\0';
		if (real[0] == '\0') {
			real[0] = '/';
			real[1] = '\0';
			p = real + 1;
		}
	}
	free(real);
	return ret;
}

int asa_local_path_check(TALLOC_CTX *mem_ctx, const char *path,
			 char **why)
{
	const char *slash = path != NULL ? strrchr(path, '/') : NULL;
	char *dir = NULL;
	struct stat st;
	int ret;

	*why = NULL;
	if (path == NULL || path[0] != '/' || slash == NULL ||
	    slash[1] == '\0') {
		*why = talloc_asprintf(mem_ctx, "%s is not an absolute file "
				       "name", path != NULL ? path : "(null)");
		return EINVAL;
	}
	dir = slash == path ? talloc_strdup(mem_ctx, "/")
		: talloc_strndup(mem_ctx, path, slash - path);
	if (dir == NULL) {
		return ENOMEM;
	}
	ret = dir_chain_check(mem_ctx, dir, why);
	TALLOC_FREE(dir);
	if (ret != 0) {
		return ret;
	}
	if (lstat(path, &st) == -1) {
		ret = errno;
		if (ret == ENOENT) {
			return 0;
		}
		*why = talloc_asprintf(mem_ctx, "%s: %s", path,
				       strerror(ret));
		return ret;
	}
	if (!S_ISREG(st.st_mode)) {
		*why = talloc_asprintf(mem_ctx, "%s is not a regular file "
				       "(a symbolic link, FIFO or device is "
				       "never followed)", path);
		return EPERM;
	}
	return 0;
}
