/*
 * samba-asa: directory access, the backend-independent part: connect,
 * rootDSE, errors, and the calls that dispatch to a backend.
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <talloc.h>
#include <tevent.h>
#include <ldb.h>

#include "dir_private.h"

int asa_dir_error(struct asa_dir *dir, int code, const char *fmt, ...)
{
	va_list ap;

	TALLOC_FREE(dir->errstring);
	va_start(ap, fmt);
	dir->errstring = talloc_vasprintf(dir, fmt, ap);
	va_end(ap);
	dir->errcode = code;
	return code;
}

static bool url_is_ldap(const char *url)
{
	return strncasecmp(url, "ldap://", 7) == 0 ||
	       strncasecmp(url, "ldaps://", 8) == 0;
}

static bool url_is_local(const char *url)
{
	if (strncasecmp(url, "tdb://", 6) == 0) {
		return true;
	}
	/* a path: anything without a scheme */
	return strstr(url, "://") == NULL && url[0] != '\0';
}

static struct ldb_dn *rootdse_dn(struct asa_dir *dir,
				 const struct ldb_message *msg,
				 const char *attr)
{
	const char *s = ldb_msg_find_attr_as_string(msg, attr, NULL);
	struct ldb_dn *dn = NULL;

	if (s == NULL) {
		return NULL;
	}
	dn = ldb_dn_new(dir, dir->ldb, s);
	if (dn == NULL || !ldb_dn_validate(dn)) {
		TALLOC_FREE(dn);
	}
	return dn;
}

static int read_rootdse(struct asa_dir *dir)
{
	static const char * const attrs[] = {
		"defaultNamingContext", "configurationNamingContext",
		"schemaNamingContext", "rootDomainNamingContext",
		"namingContexts", "dnsHostName", "dsServiceName", NULL
	};
	struct asa_dir_rootdse *r = &dir->rootdse;
	struct ldb_result *res = NULL;
	struct ldb_message_element *el = NULL;
	struct ldb_dn *base = NULL;
	unsigned int i;
	int ret;

	base = ldb_dn_new(dir, dir->ldb, "");
	if (base == NULL) {
		return asa_dir_error(dir, LDB_ERR_OPERATIONS_ERROR,
				     "out of memory");
	}
	ret = dir->ops->search(dir, dir, &res, base, LDB_SCOPE_BASE, attrs,
			       0, "(objectClass=*)");
	TALLOC_FREE(base);
	if (ret != LDB_SUCCESS) {
		return ret;
	}
	if (res->count != 1) {
		return asa_dir_error(dir, LDB_ERR_NO_SUCH_OBJECT,
				     "%s has no rootDSE: is it a directory "
				     "server?", dir->url);
	}
	r->msg = res->msgs[0];
	r->default_nc = rootdse_dn(dir, r->msg, "defaultNamingContext");
	r->config_nc = rootdse_dn(dir, r->msg, "configurationNamingContext");
	r->schema_nc = rootdse_dn(dir, r->msg, "schemaNamingContext");
	r->root_domain_nc = rootdse_dn(dir, r->msg,
				       "rootDomainNamingContext");
	r->ds_service_name = rootdse_dn(dir, r->msg, "dsServiceName");
	r->dns_host_name = ldb_msg_find_attr_as_string(r->msg, "dnsHostName",
						       NULL);
	if (r->default_nc == NULL || r->config_nc == NULL) {
		return asa_dir_error(dir, LDB_ERR_OPERATIONS_ERROR,
				     "%s: rootDSE names no default or "
				     "configuration naming context: is it an "
				     "Active Directory domain controller?",
				     dir->url);
	}
	if (r->root_domain_nc == NULL) {
		r->root_domain_nc = r->default_nc;
	}

	el = ldb_msg_find_element(r->msg, "namingContexts");
	if (el == NULL || el->num_values == 0) {
		/* at least the two we know */
		r->naming_contexts = talloc_array(dir, struct ldb_dn *, 2);
		if (r->naming_contexts == NULL) {
			return asa_dir_error(dir, LDB_ERR_OPERATIONS_ERROR,
					     "out of memory");
		}
		r->naming_contexts[0] = r->default_nc;
		r->naming_contexts[1] = r->config_nc;
		r->num_naming_contexts = 2;
		return LDB_SUCCESS;
	}
	r->naming_contexts = talloc_array(dir, struct ldb_dn *,
					  el->num_values);
	if (r->naming_contexts == NULL) {
		return asa_dir_error(dir, LDB_ERR_OPERATIONS_ERROR,
				     "out of memory");
	}
	for (i = 0; i < el->num_values; i++) {
		struct ldb_dn *dn = ldb_dn_from_ldb_val(r->naming_contexts,
							dir->ldb,
							&el->values[i]);
		if (dn == NULL || !ldb_dn_validate(dn)) {
			continue;
		}
		r->naming_contexts[r->num_naming_contexts++] = dn;
	}
	return LDB_SUCCESS;
}

int asa_dir_connect(TALLOC_CTX *mem_ctx,
		    const struct asa_dir_options *options,
		    struct asa_dir **dirp,
		    char **errstring)
{
	struct asa_dir *dir = NULL;
	int ret;

	*dirp = NULL;
	*errstring = NULL;

	dir = talloc_zero(mem_ctx, struct asa_dir);
	if (dir == NULL) {
		*errstring = talloc_strdup(mem_ctx, "out of memory");
		return LDB_ERR_OPERATIONS_ERROR;
	}
	dir->ev = tevent_context_init(dir);
	if (dir->ev == NULL) {
		*errstring = talloc_strdup(mem_ctx, "out of memory");
		ret = LDB_ERR_OPERATIONS_ERROR;
		goto fail;
	}

	if (options->url != NULL && url_is_ldap(options->url)) {
		dir->backend = ASA_DIR_BACKEND_LDAP;
		ret = asa_dir_ldap_open(dir, options, errstring);
	} else if (options->url == NULL || url_is_local(options->url)) {
		dir->backend = ASA_DIR_BACKEND_LOCAL;
		ret = asa_dir_local_open(dir, options, errstring);
	} else {
		*errstring = talloc_asprintf(mem_ctx,
			"-H %s: unsupported URL; use ldap://HOST, "
			"ldaps://HOST or the path of sam.ldb",
			options->url);
		ret = LDB_ERR_PROTOCOL_ERROR;
		goto fail;
	}
	if (ret != LDB_SUCCESS) {
		goto fail;
	}

	ret = read_rootdse(dir);
	if (ret != LDB_SUCCESS) {
		*errstring = talloc_strdup(mem_ctx, dir->errstring);
		goto fail;
	}
	dir->errcode = LDB_SUCCESS;
	*dirp = dir;
	return LDB_SUCCESS;

fail:
	if (*errstring != NULL) {
		talloc_steal(mem_ctx, *errstring);
	}
	TALLOC_FREE(dir);
	return ret;
}

enum asa_dir_backend asa_dir_backend(const struct asa_dir *dir)
{
	return dir->backend;
}

const char *asa_dir_url(const struct asa_dir *dir)
{
	return dir->url;
}

struct ldb_context *asa_dir_ldb(struct asa_dir *dir)
{
	return dir->ldb;
}

struct ldb_context *asa_dir_samdb(struct asa_dir *dir)
{
	if (dir->backend != ASA_DIR_BACKEND_LOCAL) {
		return NULL;
	}
	return dir->ldb;
}

struct loadparm_context *asa_dir_lp_ctx(struct asa_dir *dir)
{
	return dir->lp_ctx;
}

const struct asa_dir_rootdse *asa_dir_rootdse(const struct asa_dir *dir)
{
	return &dir->rootdse;
}

bool asa_dir_is_protected(struct asa_dir *dir)
{
	if (dir->backend == ASA_DIR_BACKEND_LOCAL) {
		return true;
	}
	return asa_dir_ldap_protected(dir);
}

int asa_dir_errcode(const struct asa_dir *dir)
{
	return dir->errcode;
}

const char *asa_dir_errstring(const struct asa_dir *dir)
{
	if (dir->errstring == NULL) {
		return ldb_strerror(dir->errcode);
	}
	return dir->errstring;
}

int asa_dir_search(struct asa_dir *dir,
		   TALLOC_CTX *mem_ctx,
		   struct ldb_result **res,
		   struct ldb_dn *base,
		   enum ldb_scope scope,
		   const char * const *attrs,
		   unsigned int flags,
		   const char *filter_fmt, ...)
{
	TALLOC_CTX *frame = talloc_stackframe();
	char *filter = NULL;
	va_list ap;
	int ret;

	*res = NULL;
	va_start(ap, filter_fmt);
	filter = talloc_vasprintf(frame, filter_fmt, ap);
	va_end(ap);
	if (filter == NULL) {
		ret = asa_dir_error(dir, LDB_ERR_OPERATIONS_ERROR,
				    "out of memory");
		goto done;
	}
	if (base == NULL && !(flags & ASA_DIR_SEARCH_ALL_NCS)) {
		base = dir->rootdse.default_nc;
	}
	if (flags & ASA_DIR_SEARCH_ALL_NCS) {
		scope = LDB_SCOPE_SUBTREE;
	}
	ret = dir->ops->search(dir, mem_ctx, res, base, scope, attrs, flags,
			       filter);
	if (ret == LDB_SUCCESS) {
		dir->errcode = LDB_SUCCESS;
	}
done:
	TALLOC_FREE(frame);
	return ret;
}

int asa_dir_add(struct asa_dir *dir,
		const struct ldb_message *msg,
		unsigned int flags)
{
	return dir->ops->add(dir, msg, flags);
}

int asa_dir_modify(struct asa_dir *dir,
		   const struct ldb_message *msg,
		   unsigned int flags)
{
	return dir->ops->modify(dir, msg, flags);
}

int asa_dir_delete(struct asa_dir *dir,
		   struct ldb_dn *dn,
		   unsigned int flags)
{
	return dir->ops->del(dir, dn, flags);
}

int asa_dir_rename(struct asa_dir *dir,
		   struct ldb_dn *olddn,
		   struct ldb_dn *newdn,
		   unsigned int flags)
{
	return dir->ops->rename(dir, olddn, newdn, flags);
}
