/*
 * samba-asa: directory access, local backend: the DC's own sam.ldb with
 * system rights, as samba-tool -H /var/lib/samba/private/sam.ldb opens it
 * (samdb_connect_url() + system_session() from libsamdb).
 *
 * A search across every naming context uses the search-options control
 * with LDB_SEARCH_OPTION_PHANTOM_ROOT below the forest root, which the
 * partition module answers from every partition in one pass.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdint.h>
#include <limits.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <talloc.h>
#include <tevent.h>
#include <ldb.h>
#include <ldb_module.h>
#include <param.h>

#include "dir_private.h"

struct auth_session_info;
struct tsocket_address;

/*
 * libsamdb exports both (SAMDB_0.0.1).  samba-dev declares neither in a
 * header usable alone: system_session() is in samba/session.h, which needs
 * the generated NDR headers; samdb_connect_url() in no header at all
 * (source4/dsdb/samdb/samdb.c).
 */
struct auth_session_info *system_session(struct loadparm_context *lp_ctx);

int samdb_connect_url(TALLOC_CTX *mem_ctx,
		      struct tevent_context *ev_ctx,
		      struct loadparm_context *lp_ctx,
		      struct auth_session_info *session_info,
		      unsigned int flags,
		      const char *url,
		      const struct tsocket_address *remote_address,
		      struct ldb_context **ldb_ret,
		      char **errstring);

#define CONTROL_SHOW_DELETED_OID "1.2.840.113556.1.4.417"
#define CONTROL_PERMISSIVE_MODIFY_OID "1.2.840.113556.1.4.1413"

static int local_add_controls(struct asa_dir *dir,
			      struct ldb_request *req,
			      unsigned int search_flags,
			      unsigned int write_flags)
{
	int ret = LDB_SUCCESS;

	if (search_flags & ASA_DIR_SEARCH_ALL_NCS) {
		struct ldb_search_options_control *opt = NULL;

		opt = talloc_zero(req, struct ldb_search_options_control);
		if (opt == NULL) {
			return LDB_ERR_OPERATIONS_ERROR;
		}
		opt->search_options = LDB_SEARCH_OPTION_PHANTOM_ROOT;
		ret = ldb_request_add_control(req,
					      LDB_CONTROL_SEARCH_OPTIONS_OID,
					      true, opt);
		if (ret != LDB_SUCCESS) {
			return ret;
		}
	}
	if (search_flags & ASA_DIR_SEARCH_DELETED) {
		ret = ldb_request_add_control(req, CONTROL_SHOW_DELETED_OID,
					      true, NULL);
		if (ret != LDB_SUCCESS) {
			return ret;
		}
	}
	if (write_flags & ASA_DIR_WRITE_RELAX) {
		ret = ldb_request_add_control(req, LDB_CONTROL_RELAX_OID,
					      false, NULL);
		if (ret != LDB_SUCCESS) {
			return ret;
		}
	}
	if (write_flags & ASA_DIR_WRITE_PERMISSIVE) {
		ret = ldb_request_add_control(req,
					      CONTROL_PERMISSIVE_MODIFY_OID,
					      false, NULL);
		if (ret != LDB_SUCCESS) {
			return ret;
		}
	}
	if ((search_flags & ASA_DIR_SEARCH_SD) ||
	    (write_flags & ASA_DIR_WRITE_SD)) {
		struct ldb_sd_flags_control *sd = NULL;

		sd = talloc_zero(req, struct ldb_sd_flags_control);
		if (sd == NULL) {
			return LDB_ERR_OPERATIONS_ERROR;
		}
		/* owner, group, DACL; a write: owner and DACL */
		sd->secinfo_flags = (search_flags & ASA_DIR_SEARCH_SD) ? 7 : 5;
		ret = ldb_request_add_control(req, LDB_CONTROL_SD_FLAGS_OID,
					      true, sd);
	}
	return ret;
}

static int local_result(struct asa_dir *dir, int ret, const char *what)
{
	const char *text = NULL;

	if (ret == LDB_SUCCESS) {
		dir->errcode = LDB_SUCCESS;
		return ret;
	}
	text = ldb_errstring(dir->ldb);
	if (text == NULL || text[0] == '\0') {
		text = ldb_strerror(ret);
	}
	return asa_dir_error(dir, ret, "%s", text);
}

/*
 * Collects the entries of a search.  ldb_search_default_callback() grows
 * the array by one entry at a time, which copies it over and over: with
 * 20k accounts that copying was a third of "spn audit".
 */
struct local_search_state {
	struct ldb_result *res;
	unsigned int allocated;
};

static int local_search_callback(struct ldb_request *req,
				 struct ldb_reply *ares)
{
	struct local_search_state *state = req->context;
	struct ldb_result *res = state->res;

	if (ares == NULL) {
		return ldb_request_done(req, LDB_ERR_OPERATIONS_ERROR);
	}
	if (ares->error != LDB_SUCCESS) {
		int error = ares->error;

		talloc_free(ares);
		return ldb_request_done(req, error);
	}
	switch (ares->type) {
	case LDB_REPLY_ENTRY:
		if (res->count + 1 >= state->allocated) {
			unsigned int n = state->allocated * 2 + 64;
			struct ldb_message **m = NULL;

			m = talloc_realloc(res, res->msgs,
					   struct ldb_message *, n);
			if (m == NULL) {
				talloc_free(ares);
				return ldb_request_done(req,
						LDB_ERR_OPERATIONS_ERROR);
			}
			res->msgs = m;
			state->allocated = n;
		}
		res->msgs[res->count++] = talloc_move(res->msgs,
						      &ares->message);
		res->msgs[res->count] = NULL;
		break;
	case LDB_REPLY_REFERRAL:
		/* none inside one DC's own database; nothing to follow */
		break;
	case LDB_REPLY_DONE:
		res->controls = talloc_move(res, &ares->controls);
		talloc_free(ares);
		return ldb_request_done(req, LDB_SUCCESS);
	}
	talloc_free(ares);
	return LDB_SUCCESS;
}

static int local_search(struct asa_dir *dir,
			TALLOC_CTX *mem_ctx,
			struct ldb_result **resp,
			struct ldb_dn *base,
			enum ldb_scope scope,
			const char * const *attrs,
			unsigned int flags,
			const char *filter)
{
	TALLOC_CTX *frame = talloc_stackframe();
	struct local_search_state *state = NULL;
	struct ldb_request *req = NULL;
	struct ldb_result *res = NULL;
	int ret;

	if (flags & ASA_DIR_SEARCH_ALL_NCS) {
		base = dir->rootdse.root_domain_nc;
	}
	res = talloc_zero(mem_ctx, struct ldb_result);
	state = talloc_zero(frame, struct local_search_state);
	if (res == NULL || state == NULL) {
		TALLOC_FREE(res);
		ret = LDB_ERR_OPERATIONS_ERROR;
		goto done;
	}
	state->res = res;
	ret = ldb_build_search_req(&req, dir->ldb, frame, base, scope,
				   filter, (const char **)attrs, NULL, state,
				   local_search_callback, NULL);
	if (ret != LDB_SUCCESS) {
		goto done;
	}
	ret = local_add_controls(dir, req, flags, 0);
	if (ret != LDB_SUCCESS) {
		goto done;
	}
	ret = ldb_request(dir->ldb, req);
	if (ret == LDB_SUCCESS) {
		ret = ldb_wait(req->handle, LDB_WAIT_ALL);
	}
done:
	if (ret != LDB_SUCCESS) {
		TALLOC_FREE(res);
		ret = local_result(dir, ret, "search");
	} else {
		*resp = res;
		dir->errcode = LDB_SUCCESS;
	}
	TALLOC_FREE(frame);
	return ret;
}

static int local_write(struct asa_dir *dir,
		       struct ldb_request *req,
		       unsigned int flags)
{
	int ret;

	ret = local_add_controls(dir, req, 0, flags);
	if (ret != LDB_SUCCESS) {
		return local_result(dir, ret, "write");
	}
	/* as ldb_add() and friends: every write in its own transaction */
	ret = ldb_transaction_start(dir->ldb);
	if (ret != LDB_SUCCESS) {
		return local_result(dir, ret, "write");
	}
	ret = ldb_request(dir->ldb, req);
	if (ret == LDB_SUCCESS) {
		ret = ldb_wait(req->handle, LDB_WAIT_ALL);
	}
	if (ret == LDB_SUCCESS) {
		ret = ldb_transaction_commit(dir->ldb);
	} else {
		/* keep the write's error text, not the cancel's */
		char *text = talloc_strdup(req, ldb_errstring(dir->ldb));

		ldb_transaction_cancel(dir->ldb);
		if (text != NULL) {
			ldb_set_errstring(dir->ldb, text);
		}
	}
	return local_result(dir, ret, "write");
}

/*
 * Write req, for which ldb_build_*_req() returned build_ret; what names
 * the operation when building it failed.
 */
static int local_write_built(struct asa_dir *dir, int build_ret,
			     struct ldb_request *req, unsigned int flags,
			     const char *what)
{
	if (build_ret != LDB_SUCCESS) {
		return local_result(dir, build_ret, what);
	}
	return local_write(dir, req, flags);
}

static int local_add(struct asa_dir *dir,
		     const struct ldb_message *msg,
		     unsigned int flags)
{
	TALLOC_CTX *frame = talloc_stackframe();
	struct ldb_request *req = NULL;
	int ret;

	ret = ldb_build_add_req(&req, dir->ldb, frame, msg, NULL, NULL,
				ldb_op_default_callback, NULL);
	ret = local_write_built(dir, ret, req, flags, "add");
	TALLOC_FREE(frame);
	return ret;
}

static int local_modify(struct asa_dir *dir,
			const struct ldb_message *msg,
			unsigned int flags)
{
	TALLOC_CTX *frame = talloc_stackframe();
	struct ldb_request *req = NULL;
	int ret;

	ret = ldb_build_mod_req(&req, dir->ldb, frame, msg, NULL, NULL,
				ldb_op_default_callback, NULL);
	ret = local_write_built(dir, ret, req, flags, "modify");
	TALLOC_FREE(frame);
	return ret;
}

static int local_delete(struct asa_dir *dir,
			struct ldb_dn *dn,
			unsigned int flags)
{
	TALLOC_CTX *frame = talloc_stackframe();
	struct ldb_request *req = NULL;
	int ret;

	ret = ldb_build_del_req(&req, dir->ldb, frame, dn, NULL, NULL,
				ldb_op_default_callback, NULL);
	ret = local_write_built(dir, ret, req, flags, "delete");
	TALLOC_FREE(frame);
	return ret;
}

static int local_rename(struct asa_dir *dir,
			struct ldb_dn *olddn,
			struct ldb_dn *newdn,
			unsigned int flags)
{
	TALLOC_CTX *frame = talloc_stackframe();
	struct ldb_request *req = NULL;
	int ret;

	ret = ldb_build_rename_req(&req, dir->ldb, frame, olddn, newdn, NULL,
				   NULL, ldb_op_default_callback, NULL);
	ret = local_write_built(dir, ret, req, flags, "rename");
	TALLOC_FREE(frame);
	return ret;
}

static const struct asa_dir_ops local_ops = {
	.search = local_search,
	.add = local_add,
	.modify = local_modify,
	.del = local_delete,
	.rename = local_rename,
};

int asa_dir_local_open(struct asa_dir *dir,
		       const struct asa_dir_options *options,
		       char **errstring)
{
	struct auth_session_info *session = NULL;
	char *err = NULL;
	const char *url = options->url;
	int ret;

	dir->ops = &local_ops;
	dir->lp_ctx = loadparm_init_global(false);
	if (dir->lp_ctx == NULL) {
		*errstring = talloc_strdup(dir, "out of memory");
		return LDB_ERR_OPERATIONS_ERROR;
	}
	if (options->smb_conf != NULL) {
		if (!lpcfg_load(dir->lp_ctx, options->smb_conf)) {
			*errstring = talloc_asprintf(dir,
				"cannot load %s: check -s", options->smb_conf);
			return LDB_ERR_OPERATIONS_ERROR;
		}
	} else if (!lpcfg_load_default(dir->lp_ctx)) {
		*errstring = talloc_strdup(dir,
			"cannot load the default smb.conf: give -s smb.conf");
		return LDB_ERR_OPERATIONS_ERROR;
	}
	if (options->debug_level > 0) {
		char level[16];

		snprintf(level, sizeof(level), "%d", options->debug_level);
		lpcfg_set_cmdline(dir->lp_ctx, "log level", level);
	}
	if (url == NULL) {
		url = lpcfg_private_path(dir, dir->lp_ctx, "sam.ldb");
		if (url == NULL) {
			*errstring = talloc_strdup(dir, "out of memory");
			return LDB_ERR_OPERATIONS_ERROR;
		}
	}
	if (strncasecmp(url, "tdb://", 6) == 0) {
		url += 6;
	}
	if (url[0] != '/') {
		/* Samba would take it as relative to its private dir */
		char cwd[PATH_MAX];

		if (getcwd(cwd, sizeof(cwd)) == NULL) {
			*errstring = talloc_asprintf(dir,
				"-H %s: cannot tell the current directory: "
				"give an absolute path", url);
			return LDB_ERR_OPERATIONS_ERROR;
		}
		dir->url = talloc_asprintf(dir, "%s/%s", cwd, url);
	} else {
		dir->url = talloc_strdup(dir, url);
	}
	if (dir->url == NULL) {
		*errstring = talloc_strdup(dir, "out of memory");
		return LDB_ERR_OPERATIONS_ERROR;
	}

	session = system_session(dir->lp_ctx);
	if (session == NULL) {
		*errstring = talloc_strdup(dir,
			"cannot make a system session: check -s smb.conf");
		return LDB_ERR_OPERATIONS_ERROR;
	}
	ret = samdb_connect_url(dir, dir->ev, dir->lp_ctx, session, 0,
				dir->url, NULL, &dir->ldb, &err);
	if (ret != LDB_SUCCESS) {
		*errstring = talloc_asprintf(dir,
			"%s. Is this the sam.ldb of a DC, readable by you "
			"(local access needs root on the DC)? If its module "
			"stack names a module outside ldb's own directory "
			"(unique_principal_names, see samba-asa enable), set "
			"LDB_MODULES_PATH as for samba",
			err != NULL ? err : dir->url);
		return ret;
	}
	return LDB_SUCCESS;
}
