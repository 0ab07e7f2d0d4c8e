/*
 * unique_principal_names: what Samba keeps private to its own modules
 * (see upn_samba_private.h), carried here.
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

#include <stdarg.h>
#include <talloc.h>
#include <ldb_module.h>

#include "upn_samba_private.h"

/* GUID_string(): objectGUID is 16 bytes, little-endian fields. */
char *upn_guid_string(TALLOC_CTX *mem_ctx, const uint8_t *g)
{
	return talloc_asprintf(mem_ctx,
			       "%02x%02x%02x%02x-%02x%02x-%02x%02x-"
			       "%02x%02x-%02x%02x%02x%02x%02x%02x",
			       g[3], g[2], g[1], g[0], g[5], g[4], g[7], g[6],
			       g[8], g[9], g[10], g[11], g[12], g[13], g[14],
			       g[15]);
}

bool upn_msg_guid(const struct ldb_message *msg, struct ldb_val *guid)
{
	const struct ldb_val *v = ldb_msg_find_ldb_val(msg, "objectGUID");

	if (v == NULL || v->length != 16) {
		return false;
	}
	*guid = *v;
	return true;
}

/*
 * A trusted search below this module, as the system: across every
 * partition (all_partitions) and of deleted objects too (show_deleted).
 */
int upn_build_search(struct ldb_module *module,
		     TALLOC_CTX *mem_ctx,
		     struct ldb_request *parent,
		     struct ldb_dn *base,
		     enum ldb_scope scope,
		     const char *filter,
		     const char * const *attrs,
		     bool all_partitions,
		     bool show_deleted,
		     void *context,
		     ldb_request_callback_t callback,
		     struct ldb_request **_req)
{
	struct ldb_context *ldb = ldb_module_get_ctx(module);
	struct ldb_request *req = NULL;
	int ret;

	ret = ldb_build_search_req(&req, ldb, mem_ctx, base, scope, filter,
				   (const char **)attrs, NULL, context,
				   callback, parent);
	if (ret != LDB_SUCCESS) {
		return ret;
	}
	ldb_req_mark_trusted(req);
	ret = ldb_request_add_control(req, LDB_CONTROL_AS_SYSTEM_OID,
				      false, NULL);
	if (ret == LDB_SUCCESS && all_partitions) {
		struct ldb_search_options_control *opts =
			talloc(req, struct ldb_search_options_control);

		if (opts == NULL) {
			return ldb_module_oom(module);
		}
		opts->search_options = LDB_SEARCH_OPTION_PHANTOM_ROOT;
		ret = ldb_request_add_control(req,
					      LDB_CONTROL_SEARCH_OPTIONS_OID,
					      true, opts);
	}
	if (ret == LDB_SUCCESS && show_deleted) {
		ret = ldb_request_add_control(req, LDB_CONTROL_SHOW_DELETED_OID,
					      false, NULL);
	}
	if (ret == LDB_SUCCESS && show_deleted) {
		ret = ldb_request_add_control(req,
					      LDB_CONTROL_SHOW_RECYCLED_OID,
					      false, NULL);
	}
	if (ret == LDB_SUCCESS) {
		*_req = req;
	}
	return ret;
}

/* The same, waiting for the result. */
int upn_search(struct ldb_module *module,
	       TALLOC_CTX *mem_ctx,
	       struct ldb_request *parent,
	       struct ldb_dn *base,
	       enum ldb_scope scope,
	       const char * const *attrs,
	       bool all_partitions,
	       bool show_deleted,
	       struct ldb_result **_res,
	       const char *fmt, ...)
{
	struct ldb_context *ldb = ldb_module_get_ctx(module);
	TALLOC_CTX *tmp_ctx = talloc_new(mem_ctx);
	struct ldb_request *req = NULL;
	struct ldb_result *res = NULL;
	char *filter = NULL;
	va_list ap;
	int ret = LDB_ERR_OPERATIONS_ERROR;

	*_res = NULL;
	if (tmp_ctx == NULL) {
		return ldb_module_oom(module);
	}
	res = talloc_zero(tmp_ctx, struct ldb_result);
	if (res == NULL) {
		ret = ldb_module_oom(module);
		goto done;
	}
	if (fmt != NULL) {
		va_start(ap, fmt);
		filter = talloc_vasprintf(tmp_ctx, fmt, ap);
		va_end(ap);
	} else {
		filter = talloc_strdup(tmp_ctx, "(objectClass=*)");
	}
	if (filter == NULL) {
		ret = ldb_module_oom(module);
		goto done;
	}
	if (base == NULL) {
		base = ldb_dn_new(tmp_ctx, ldb, "");
		if (base == NULL) {
			ret = ldb_module_oom(module);
			goto done;
		}
	}

	ret = upn_build_search(module, tmp_ctx, parent, base, scope, filter,
			       attrs, all_partitions, show_deleted, res,
			       ldb_search_default_callback, &req);
	if (ret != LDB_SUCCESS) {
		goto done;
	}
	ret = ldb_next_request(module, req);
	if (ret == LDB_SUCCESS) {
		ret = ldb_wait(req->handle, LDB_WAIT_ALL);
	}
	if (ret == LDB_SUCCESS) {
		*_res = talloc_steal(mem_ctx, res);
	}
done:
	TALLOC_FREE(tmp_ctx);
	return ret;
}

/* The database's highest sequence number (uSNs come from it). */
int upn_db_seq(struct ldb_module *module,
	       struct ldb_request *parent,
	       uint64_t *seq)
{
	struct ldb_context *ldb = ldb_module_get_ctx(module);
	TALLOC_CTX *tmp_ctx = talloc_new(module);
	struct ldb_seqnum_request *sreq = NULL;
	struct ldb_seqnum_result *sres = NULL;
	struct ldb_result *res = NULL;
	struct ldb_request *req = NULL;
	int ret;

	if (tmp_ctx == NULL) {
		return ldb_module_oom(module);
	}
	sreq = talloc_zero(tmp_ctx, struct ldb_seqnum_request);
	res = talloc_zero(tmp_ctx, struct ldb_result);
	if (sreq == NULL || res == NULL) {
		ret = ldb_module_oom(module);
		goto done;
	}
	sreq->type = LDB_SEQ_HIGHEST_SEQ;
	ret = ldb_build_extended_req(&req, ldb, tmp_ctx,
				     LDB_EXTENDED_SEQUENCE_NUMBER, sreq, NULL,
				     res, ldb_extended_default_callback,
				     parent);
	if (ret != LDB_SUCCESS) {
		goto done;
	}
	ldb_req_mark_trusted(req);
	ret = ldb_next_request(module, req);
	if (ret == LDB_SUCCESS) {
		ret = ldb_wait(req->handle, LDB_WAIT_ALL);
	}
	if (ret != LDB_SUCCESS) {
		goto done;
	}
	if (res->extended == NULL || res->extended->data == NULL) {
		ret = LDB_ERR_OPERATIONS_ERROR;
		goto done;
	}
	sres = talloc_get_type(res->extended->data, struct ldb_seqnum_result);
	if (sres == NULL) {
		ret = LDB_ERR_OPERATIONS_ERROR;
		goto done;
	}
	*seq = sres->seq_num;
done:
	TALLOC_FREE(tmp_ctx);
	return ret;
}
