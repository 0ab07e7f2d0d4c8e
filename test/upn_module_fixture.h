/*
 * The fixture of test_unique_principal_names.c: a small directory of
 * messages behind a replacement of ldb_next_request(), the module set up
 * above it with its key index in a scratch directory, and helpers that
 * write through the module.  Include after the module's files and
 * cmocka.h.
 *
 * Copyright (C) samba-asa authors 2026
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 */

#ifndef ASA_UPN_MODULE_FIXTURE_H
#define ASA_UPN_MODULE_FIXTURE_H

#include <tevent.h>
#include <ldb_handlers.h>

#define BASE_DN "DC=example,DC=com"
#define DS_DN "CN=Directory Service,CN=Windows NT,CN=Services," \
	"CN=Configuration," BASE_DN
#define SPN "servicePrincipalName"
#define UPN "userPrincipalName"
/* dSHeuristics up to DoNotVerifyUPNAndOrSPNUniqueness (the 21st) */
#define HEURISTICS_20 "00000000010000000002"

/* The directory below the module: what ldb_next_request() reaches. */
struct directory {
	TALLOC_CTX *mem;
	struct ldb_message **objs;
	size_t num;
	uint64_t seq;
	uint8_t next_guid;
	/* as of start_transaction, put back by del_transaction */
	struct ldb_message **saved;
	size_t num_saved;
	uint64_t saved_seq;
	/* one line per request that went down */
	char **log;
	size_t num_log;
	/* what the replication extended operation applies */
	struct ldb_message *replicated;
	unsigned int prepare_commits;
	bool scripted;	/* writes fail as will_return() says */
	bool checked;	/* each request is check_expected() */
};

struct test_ctx {
	struct ldb_context *ldb;
	struct ldb_module *module;
	struct upn_private *p;
	struct directory d;
	char dir[64];
};

static struct test_ctx *cur;

static struct ldb_val str_val(const char *s)
{
	struct ldb_val v = { .data = (uint8_t *)(uintptr_t)s,
			     .length = strlen(s) };

	return v;
}

static const struct ldb_module_ops *mod_ops =
	&ldb_unique_principal_names_ops;

static void dir_log(const char *fmt, ...) PRINTF_ATTRIBUTE(1, 2);
static void dir_log(const char *fmt, ...)
{
	struct directory *d = &cur->d;
	va_list ap;

	d->log = talloc_realloc(d->mem, d->log, char *, d->num_log + 1);
	assert_non_null(d->log);
	va_start(ap, fmt);
	d->log[d->num_log] = talloc_vasprintf(d->log, fmt, ap);
	va_end(ap);
	assert_non_null(d->log[d->num_log]);
	d->num_log++;
}

/* Log lines from index `from` on that contain text. */
static size_t log_count(struct test_ctx *t, size_t from, const char *text)
{
	size_t i, n = 0;

	for (i = from; i < t->d.num_log; i++) {
		if (strstr(t->d.log[i], text) != NULL) {
			n++;
		}
	}
	return n;
}

static struct ldb_message *dir_find(struct ldb_dn *dn)
{
	size_t i;

	for (i = 0; i < cur->d.num; i++) {
		if (ldb_dn_compare(cur->d.objs[i]->dn, dn) == 0) {
			return cur->d.objs[i];
		}
	}
	return NULL;
}

static char *obj_guid(TALLOC_CTX *mem_ctx, const struct ldb_message *obj)
{
	struct ldb_val g = { .data = NULL };

	assert_true(upn_msg_guid(obj, &g));
	return upn_guid_string(mem_ctx, g.data);
}

/* A new uSN for a changed object, as every write gets. */
static void dir_stamp(struct ldb_message *obj)
{
	struct directory *d = &cur->d;

	d->seq++;
	ldb_msg_remove_attr(obj, "uSNChanged");
	assert_int_equal(ldb_msg_add_fmt(obj, "uSNChanged", "%llu",
					 (unsigned long long)d->seq), 0);
}

/* Store a new object as the directory would: objectGUID, uSNChanged. */
static int dir_add(const struct ldb_message *msg)
{
	struct directory *d = &cur->d;
	struct ldb_message *obj = NULL;
	uint8_t guid[16] = { 0 };
	unsigned int i;

	if (dir_find(msg->dn) != NULL) {
		return LDB_ERR_ENTRY_ALREADY_EXISTS;
	}
	obj = ldb_msg_copy(d->mem, msg);
	assert_non_null(obj);
	for (i = 0; i < obj->num_elements; i++) {
		obj->elements[i].flags = 0;
	}
	if (ldb_msg_find_element(obj, "objectClass") == NULL) {
		assert_int_equal(ldb_msg_add_string(obj, "objectClass",
						    "top"), 0);
	}
	if (ldb_msg_find_element(obj, "objectGUID") == NULL) {
		struct ldb_val v = { .data = guid, .length = 16 };

		guid[0] = ++d->next_guid;
		guid[15] = 0xa5;
		v = ldb_val_dup(obj, &v);
		assert_int_equal(ldb_msg_add_value(obj, "objectGUID", &v,
						   NULL), 0);
	}
	dir_stamp(obj);
	d->objs = talloc_realloc(d->mem, d->objs, struct ldb_message *,
				 d->num + 1);
	assert_non_null(d->objs);
	d->objs[d->num++] = obj;
	return LDB_SUCCESS;
}

static void el_remove_value(struct ldb_message_element *el,
			    const struct ldb_val *v)
{
	unsigned int i, n = 0;

	for (i = 0; i < el->num_values; i++) {
		if (ldb_val_equal_exact(&el->values[i], v) != 1) {
			el->values[n++] = el->values[i];
		}
	}
	el->num_values = n;
}

/*
 * samldb's rewrite of host/ SPNs when dNSHostName changes, the one
 * change below the module that gives an object names nobody sent.
 */
static void dir_rewrite_host_spns(struct ldb_message *obj, const char *old,
				  const char *new)
{
	struct ldb_message_element *el = ldb_msg_find_element(obj, SPN);
	char *from = talloc_asprintf(obj, "host/%s", old);
	unsigned int i;

	for (i = 0; el != NULL && i < el->num_values; i++) {
		if (strlen(from) == el->values[i].length &&
		    strncasecmp((const char *)el->values[i].data, from,
				el->values[i].length) == 0) {
			el->values[i] = str_val(
				talloc_asprintf(obj, "host/%s", new));
		}
	}
}

static int dir_modify(const struct ldb_message *msg)
{
	struct ldb_message *obj = dir_find(msg->dn);
	const char *old_host = NULL;
	const char *new_host = NULL;
	unsigned int i, j;

	if (obj == NULL) {
		return LDB_ERR_NO_SUCH_OBJECT;
	}
	old_host = talloc_strdup(obj, ldb_msg_find_attr_as_string(
					 obj, "dNSHostName", ""));
	for (i = 0; i < msg->num_elements; i++) {
		const struct ldb_message_element *el = &msg->elements[i];
		struct ldb_message_element *oel = NULL;

		switch (LDB_FLAG_MOD_TYPE(el->flags)) {
		case LDB_FLAG_MOD_REPLACE:
		case LDB_FLAG_MOD_ADD:
			if (LDB_FLAG_MOD_TYPE(el->flags) ==
			    LDB_FLAG_MOD_REPLACE) {
				ldb_msg_remove_attr(obj, el->name);
			}
			for (j = 0; j < el->num_values; j++) {
				struct ldb_val v = ldb_val_dup(
					obj, &el->values[j]);

				assert_int_equal(ldb_msg_add_value(
					obj, el->name, &v, NULL), 0);
			}
			break;
		case LDB_FLAG_MOD_DELETE:
			oel = ldb_msg_find_element(obj, el->name);
			if (oel != NULL && el->num_values == 0) {
				ldb_msg_remove_element(obj, oel);
			}
			for (j = 0; oel != NULL && j < el->num_values; j++) {
				el_remove_value(oel, &el->values[j]);
			}
			break;
		}
	}
	new_host = ldb_msg_find_attr_as_string(obj, "dNSHostName", "");
	if (strcasecmp(old_host, new_host) != 0) {
		dir_rewrite_host_spns(obj, old_host, new_host);
	}
	dir_stamp(obj);
	return LDB_SUCCESS;
}

/* Does obj lie where a search of base and scope looks? */
static bool dir_in_scope(const struct ldb_message *obj,
			 struct ldb_dn *base, enum ldb_scope scope)
{
	const struct ldb_val *g = ldb_dn_get_extended_component(base, "GUID");

	if (g != NULL) {
		char *s = obj_guid(cur->d.mem, obj);
		bool same = strlen(s) == g->length &&
			strncasecmp(s, (const char *)g->data, g->length) == 0;

		TALLOC_FREE(s);
		return same;
	}
	if (scope == LDB_SCOPE_BASE) {
		return ldb_dn_compare(obj->dn, base) == 0;
	}
	return ldb_dn_is_null(base) ||
		ldb_dn_compare_base(base, obj->dn) == 0;
}

static int dir_search(struct ldb_request *req)
{
	struct directory *d = &cur->d;
	struct ldb_dn *base = req->op.search.base;
	bool show_deleted = ldb_request_get_control(
		req, LDB_CONTROL_SHOW_DELETED_OID) != NULL;
	bool base_search = req->op.search.scope == LDB_SCOPE_BASE ||
		ldb_dn_get_extended_component(base, "GUID") != NULL;
	size_t i, found = 0;
	int ret;

	dir_log("search %s %s", base_search ?
		ldb_dn_get_extended_linearized(d->mem, base, 1) : "subtree",
		ldb_filter_from_tree(d->mem, req->op.search.tree));
	for (i = 0; i < d->num; i++) {
		const struct ldb_message *obj = d->objs[i];
		const char * const *attrs = req->op.search.attrs;
		struct ldb_message *copy = NULL;
		bool matched = false;
		unsigned int j;

		if ((!show_deleted && ldb_msg_find_attr_as_bool(
			     obj, "isDeleted", false)) ||
		    !dir_in_scope(obj, base, req->op.search.scope)) {
			continue;
		}
		ret = ldb_match_msg_error(cur->ldb, obj, req->op.search.tree,
					  obj->dn, LDB_SCOPE_BASE, &matched);
		assert_int_equal(ret, LDB_SUCCESS);
		if (!matched) {
			continue;
		}
		copy = ldb_msg_copy(req, obj);
		assert_non_null(copy);
		for (j = copy->num_elements; attrs != NULL &&
			     !ldb_attr_in_list(attrs, "*") && j > 0; j--) {
			if (!ldb_attr_in_list(attrs,
					      copy->elements[j - 1].name)) {
				ldb_msg_remove_element(copy,
						       &copy->elements[j - 1]);
			}
		}
		found++;
		ret = ldb_module_send_entry(req, copy, NULL);
		if (ret != LDB_SUCCESS) {
			return ret;
		}
	}
	return ldb_module_done(req, NULL, NULL,
			       base_search && found == 0 ?
			       LDB_ERR_NO_SUCH_OBJECT : LDB_SUCCESS);
}

static int dir_extended(struct ldb_request *req)
{
	struct directory *d = &cur->d;
	struct ldb_extended *ext = NULL;
	struct ldb_seqnum_result *seq = NULL;

	dir_log("extended %s", req->op.extended.oid);
	if (strcmp(req->op.extended.oid,
		   DSDB_EXTENDED_REPLICATED_OBJECTS_OID) == 0) {
		/* replication applies below the module */
		assert_non_null(d->replicated);
		assert_int_equal(dir_add(d->replicated), LDB_SUCCESS);
		return ldb_module_done(req, NULL, NULL, LDB_SUCCESS);
	}
	assert_string_equal(req->op.extended.oid,
			    LDB_EXTENDED_SEQUENCE_NUMBER);
	ext = talloc_zero(req, struct ldb_extended);
	seq = talloc_zero(ext, struct ldb_seqnum_result);
	assert_non_null(seq);
	seq->seq_num = d->seq;
	ext->oid = LDB_EXTENDED_SEQUENCE_NUMBER;
	ext->data = seq;
	return ldb_module_done(req, NULL, ext, LDB_SUCCESS);
}

/*
 * The stack below the module.  In a test that scripts it, a write first
 * takes its result (and error text) from will_return(ldb_next_request),
 * as samldb's refusals; in a checked one every request must be the one
 * expect_value(ldb_next_request, req, ...) named.
 */
int ldb_next_request(struct ldb_module *module, struct ldb_request *req)
{
	struct directory *d = &cur->d;
	int ret = LDB_SUCCESS;

	if (d->checked) {
		check_expected(req);
	}
	switch (req->operation) {
	case LDB_SEARCH:
		return dir_search(req);
	case LDB_EXTENDED:
		return dir_extended(req);
	case LDB_ADD:
	case LDB_MODIFY:
		dir_log("%s %s", req->operation == LDB_ADD ? "add" : "modify",
			ldb_dn_get_linearized(req->op.add.message->dn));
		if (d->scripted) {
			ret = mock_type(int);
		}
		if (ret != LDB_SUCCESS) {
			ldb_set_errstring(cur->ldb,
					  mock_ptr_type(const char *));
		} else if (req->operation == LDB_ADD) {
			ret = dir_add(req->op.add.message);
		} else {
			ret = dir_modify(req->op.mod.message);
		}
		return ldb_module_done(req, NULL, NULL, ret);
	default:
		fail_msg("unexpected request %d", req->operation);
	}
	return LDB_ERR_OPERATIONS_ERROR;
}

static struct ldb_message **dir_copy_all(struct ldb_message **objs,
					 size_t num)
{
	struct ldb_message **copy = talloc_array(cur->d.mem,
						 struct ldb_message *, num);
	size_t i;

	assert_non_null(copy);
	for (i = 0; i < num; i++) {
		copy[i] = ldb_msg_copy(copy, objs[i]);
		assert_non_null(copy[i]);
	}
	return copy;
}

static int below_start(struct ldb_module *module)
{
	struct directory *d = &cur->d;

	TALLOC_FREE(d->saved);
	d->saved = dir_copy_all(d->objs, d->num);
	d->num_saved = d->num;
	d->saved_seq = d->seq;
	return LDB_SUCCESS;
}

static int below_prepare_commit(struct ldb_module *module)
{
	cur->d.prepare_commits++;
	return LDB_SUCCESS;
}

static int below_end(struct ldb_module *module)
{
	TALLOC_FREE(cur->d.saved);
	return LDB_SUCCESS;
}

static int below_del(struct ldb_module *module)
{
	struct directory *d = &cur->d;

	if (d->saved != NULL) {
		TALLOC_FREE(d->objs);
		d->objs = talloc_steal(d->mem, d->saved);
		d->num = d->num_saved;
		d->seq = d->saved_seq;
		d->saved = NULL;
	}
	return LDB_SUCCESS;
}

static const struct ldb_module_ops below_ops = {
	.name = "directory",
	.start_transaction = below_start,
	.prepare_commit = below_prepare_commit,
	.end_transaction = below_end,
	.del_transaction = below_del,
};

/* <GUID=...> in a DN: kept as text, compared with GUID_string's. */
static int guid_copy(struct ldb_context *ldb, void *mem_ctx,
		     const struct ldb_val *in, struct ldb_val *out)
{
	return ldb_handler_copy(ldb, mem_ctx, in, out);
}

static const struct ldb_dn_extended_syntax guid_syntax = {
	.name = "GUID",
	.read_fn = guid_copy,
	.write_clear_fn = guid_copy,
	.write_hex_fn = guid_copy,
};

/* An object as replication or a tool without the module writes it. */
static struct ldb_message *new_msg(const char *dn, const char *upn,
				   va_list ap)
{
	struct ldb_message *msg = ldb_msg_new(cur->d.mem);
	const char *spn = NULL;

	assert_non_null(msg);
	msg->dn = ldb_dn_new(msg, cur->ldb, dn);
	assert_non_null(msg->dn);
	if (upn != NULL) {
		assert_int_equal(ldb_msg_add_string(msg, UPN, upn), 0);
	}
	while ((spn = va_arg(ap, const char *)) != NULL) {
		assert_int_equal(ldb_msg_add_string(msg, SPN, spn), 0);
	}
	return msg;
}

/* An object put straight into the directory (SPNs: NULL-terminated). */
static struct ldb_message *dir_put(const char *dn, const char *upn, ...)
{
	struct ldb_message *msg = NULL;
	va_list ap;

	va_start(ap, upn);
	msg = new_msg(dn, upn, ap);
	va_end(ap);
	assert_int_equal(dir_add(msg), LDB_SUCCESS);
	return dir_find(msg->dn);
}

static int setup(void **state)
{
	struct test_ctx *t = talloc_zero(NULL, struct test_ctx);
	struct tevent_context *ev = NULL;
	struct ldb_module *below = NULL;
	struct ldb_message *ds = NULL;
	static const char * const folded[] = {
		SPN, UPN, "dNSHostName", "cn"
	};
	size_t i;

	assert_non_null(t);
	cur = t;
	t->d.mem = talloc_new(t);
	ev = tevent_context_init(t);
	assert_non_null(ev);
	t->ldb = ldb_init(t, ev);
	assert_non_null(t->ldb);
	/* the directory's own matching: case-folding, as Samba's */
	for (i = 0; i < sizeof(folded) / sizeof(folded[0]); i++) {
		assert_int_equal(ldb_schema_attribute_add(
			t->ldb, folded[i], 0, LDB_SYNTAX_DIRECTORY_STRING), 0);
	}
	assert_int_equal(ldb_schema_attribute_add(t->ldb, "uSNChanged", 0,
						  LDB_SYNTAX_INTEGER), 0);
	assert_int_equal(ldb_schema_attribute_add(t->ldb, "isDeleted", 0,
						  LDB_SYNTAX_BOOLEAN), 0);
	assert_int_equal(ldb_dn_extended_add_syntax(t->ldb, 0,
						    &guid_syntax), 0);
	assert_int_equal(ldb_set_opaque(t->ldb, "defaultNamingContext",
			 ldb_dn_new(t, t->ldb, BASE_DN)), 0);
	assert_int_equal(ldb_set_opaque(t->ldb, "configurationNamingContext",
			 ldb_dn_new(t, t->ldb, "CN=Configuration," BASE_DN)),
			 0);

	snprintf(t->dir, sizeof(t->dir), "/tmp/test_upn_module.XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	assert_int_equal(ldb_set_opaque(t->ldb, "ldb_url",
			 talloc_asprintf(t, "tdb://%s/sam.ldb", t->dir)), 0);

	t->module = ldb_module_new(t, t->ldb, UPN_MODULE, mod_ops);
	below = ldb_module_new(t, t->ldb, "directory", &below_ops);
	assert_non_null(t->module);
	assert_non_null(below);
	ldb_module_set_next(t->module, below);

	dir_put(BASE_DN, NULL, NULL);
	ds = dir_put(DS_DN, NULL, NULL);
	assert_int_equal(ldb_msg_add_string(ds, "sPNMappings",
					    "host=cifs,http"), 0);
	assert_int_equal(mod_ops->init_context(t->module), LDB_SUCCESS);
	t->p = upn_private(t->module);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct test_ctx *t = *state;
	const char *files[] = {
		UPN_INDEX_FILE, UPN_INDEX_FILE "-lock", UPN_INDEX_FILE ".boot"
	};
	char path[128];
	size_t i;

	cur = NULL;
	TALLOC_FREE(t->module);
	/* the index's environment went with the last module using it */
	assert_null(upn_envs);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", t->dir, files[i]);
		unlink(path);
	}
	assert_int_equal(rmdir(t->dir), 0);
	TALLOC_FREE(t);
	return 0;
}

static void txn_begin(struct test_ctx *t)
{
	assert_int_equal(mod_ops->start_transaction(t->module), LDB_SUCCESS);
}

/* prepare_commit and end_transaction, or del_transaction when refused */
static int txn_commit(struct test_ctx *t)
{
	int ret = mod_ops->prepare_commit(t->module);

	if (ret != LDB_SUCCESS) {
		assert_int_equal(mod_ops->del_transaction(t->module),
				 LDB_SUCCESS);
		return ret;
	}
	return mod_ops->end_transaction(t->module);
}

static void txn_cancel(struct test_ctx *t)
{
	assert_int_equal(mod_ops->del_transaction(t->module), LDB_SUCCESS);
}

/* A request through the module, as the LDAP server sends it. */
static int run(struct test_ctx *t, struct ldb_request *req)
{
	int ret;

	ldb_reset_err_string(t->ldb);
	switch (req->operation) {
	case LDB_ADD:
		ret = mod_ops->add(t->module, req);
		break;
	case LDB_MODIFY:
		ret = mod_ops->modify(t->module, req);
		break;
	case LDB_SEARCH:
		ret = mod_ops->search(t->module, req);
		break;
	default:
		ret = mod_ops->extended(t->module, req);
		break;
	}
	if (ret == LDB_SUCCESS) {
		ret = ldb_wait(req->handle, LDB_WAIT_ALL);
	}
	return ret;
}

static struct ldb_request *add_req(struct test_ctx *t,
				   const struct ldb_message *msg)
{
	struct ldb_request *req = NULL;

	assert_int_equal(ldb_build_add_req(&req, t->ldb, t->d.mem, msg, NULL,
					   NULL, ldb_op_default_callback,
					   NULL), 0);
	return req;
}

/* Add an object through the module (SPNs: NULL-terminated). */
static int mod_add(struct test_ctx *t, const char *dn, const char *upn,
		   ...)
{
	struct ldb_message *msg = NULL;
	va_list ap;

	va_start(ap, upn);
	msg = new_msg(dn, upn, ap);
	va_end(ap);
	return run(t, add_req(t, msg));
}

/* One element of a modify (values: NULL-terminated). */
static void mod_el(struct ldb_message *msg, int flags, const char *attr,
		   ...)
{
	struct ldb_message_element *el = NULL;
	const char *v = NULL;
	va_list ap;

	assert_int_equal(ldb_msg_add_empty(msg, attr, flags, &el), 0);
	va_start(ap, attr);
	while ((v = va_arg(ap, const char *)) != NULL) {
		struct ldb_val val = str_val(v);

		assert_int_equal(ldb_msg_element_add_value(msg->elements, el,
							   &val), 0);
	}
	va_end(ap);
}

static struct ldb_message *mod_msg(struct test_ctx *t, const char *dn)
{
	struct ldb_message *msg = ldb_msg_new(t->d.mem);

	assert_non_null(msg);
	msg->dn = ldb_dn_new(msg, t->ldb, dn);
	assert_non_null(msg->dn);
	return msg;
}

static int mod_modify(struct test_ctx *t, const struct ldb_message *msg)
{
	struct ldb_request *req = NULL;

	assert_int_equal(ldb_build_mod_req(&req, t->ldb, t->d.mem, msg, NULL,
					   NULL, ldb_op_default_callback,
					   NULL), 0);
	return run(t, req);
}

/* A refusal with the Windows error for attr (SPN or UPN). */
static void assert_refused(struct test_ctx *t, int ret, const char *code)
{
	const char *text = ldb_errstring(t->ldb);

	assert_int_equal(ret, LDB_ERR_CONSTRAINT_VIOLATION);
	assert_non_null(text);
	assert_int_equal(strncmp(text, code, strlen(code)), 0);
}

/* A write accepted first, so that the index exists and is current. */
static void warm_up(struct test_ctx *t)
{
	txn_begin(t);
	assert_int_equal(mod_add(t, "CN=warm," BASE_DN, NULL,
				 "http/warm.example.com", NULL), LDB_SUCCESS);
	assert_int_equal(txn_commit(t), LDB_SUCCESS);
}

#endif
