/*
 * Unit tests of the unique_principal_names module's decisions: which
 * writes are refused and with which error, which are passed down
 * untouched, and how the key index follows the directory.  The module's
 * files are included, as Samba's test_unique_object_sids.c includes its
 * module, and ldb_next_request() is replaced by a small directory of
 * messages (what the stack below the module would hold).  The key index
 * is the module's own LMDB file, in a scratch directory.  How a real DC
 * behaves is the selftest suites' business (unique_principal_names,
 * ldap_spn).
 *
 * Copyright (C) samba-asa authors 2026
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../modules/ldb/upn_samba_private.c"
#include "../modules/ldb/upn_keys.c"
#include "../modules/ldb/upn_index_lmdb.c"
#include "../modules/ldb/upn_index.c"
#include "../modules/ldb/upn_check.c"
#include "../modules/ldb/upn_samldb_compat.c"
#include "../modules/ldb/unique_principal_names.c"

#include <cmocka.h>

#include "test_debug_stubs.h"
#include "upn_module_fixture.h"


/* An exact duplicate SPN: refused with Windows' 000021C7. */
static void test_spn_duplicate_refused(void **state)
{
	struct test_ctx *t = *state;

	dir_put("CN=a," BASE_DN, NULL, "http/web.example.com", NULL);
	txn_begin(t);
	assert_int_equal(mod_add(t, "CN=b," BASE_DN, NULL,
				 "http/web2.example.com", NULL), LDB_SUCCESS);
	assert_refused(t, mod_add(t, "CN=c," BASE_DN, NULL,
				  "HTTP/Web.Example.COM", NULL), "000021C7:");
	assert_non_null(strstr(ldb_errstring(t->ldb),
			       "(servicePrincipalName)"));
	txn_cancel(t);
}

/* A duplicate UPN: refused with 000021C8. */
static void test_upn_duplicate_refused(void **state)
{
	struct test_ctx *t = *state;

	dir_put("CN=a," BASE_DN, "alice@example.com", NULL);
	txn_begin(t);
	assert_int_equal(mod_add(t, "CN=b," BASE_DN, "bob@example.com",
				 NULL), LDB_SUCCESS);
	assert_refused(t, mod_add(t, "CN=c," BASE_DN, "Alice@EXAMPLE.com",
				  NULL), "000021C8:");
	assert_non_null(strstr(ldb_errstring(t->ldb), "(userPrincipalName)"));
	txn_cancel(t);
}

/*
 * Values Windows compares as equal though the directory's case-folding
 * does not: only the key index finds them.  Other punctuation is another
 * name.
 */
static void test_unicode_equivalent_spn_refused(void **state)
{
	struct test_ctx *t = *state;

	dir_put("CN=a," BASE_DN, NULL, "cifs/files.example.com", NULL);
	txn_begin(t);
	/* "cīfs" (i with macron) and full-width "ｃｉｆｓ" */
	assert_refused(t, mod_add(t, "CN=b," BASE_DN, NULL,
				  "c\xc4\xab" "fs/files.example.com", NULL),
		       "000021C7:");
	assert_refused(t, mod_add(t, "CN=c," BASE_DN, NULL,
				  "\xef\xbd\x83\xef\xbd\x89\xef\xbd\x86"
				  "\xef\xbd\x93/files.example.com", NULL),
		       "000021C7:");
	assert_int_equal(mod_add(t, "CN=d," BASE_DN, NULL,
				 "cifs/files-example.com", NULL), LDB_SUCCESS);
	txn_cancel(t);
}

/*
 * sPNMappings "host=cifs,http": host/X is refused while another object
 * holds cifs/X; cifs/X while host/X is held is samldb's business.
 */
static void test_alias_duplicate_refused(void **state)
{
	struct test_ctx *t = *state;

	dir_put("CN=a," BASE_DN, NULL, "cifs/srv.example.com", NULL);
	dir_put("CN=b," BASE_DN, NULL, "host/box.example.com", NULL);
	txn_begin(t);
	assert_refused(t, mod_add(t, "CN=c," BASE_DN, NULL,
				  "HOST/srv.example.com", NULL), "000021C7:");
	assert_int_equal(mod_add(t, "CN=d," BASE_DN, NULL,
				 "host/other.example.com", NULL), LDB_SUCCESS);
	assert_int_equal(mod_add(t, "CN=e," BASE_DN, NULL,
				 "cifs/box.example.com", NULL), LDB_SUCCESS);
	/* ldap is no alias of host */
	assert_int_equal(mod_add(t, "CN=f," BASE_DN, NULL,
				 "ldap/srv.example.com", NULL), LDB_SUCCESS);
	txn_cancel(t);
}

/* An object keeps and re-adds its own names. */
static void test_own_values_kept(void **state)
{
	struct test_ctx *t = *state;
	struct ldb_message *msg = NULL;

	dir_put("CN=a," BASE_DN, "a@example.com", "http/a.example.com",
		"host/a.example.com", NULL);
	txn_begin(t);
	msg = mod_msg(t, "CN=a," BASE_DN);
	mod_el(msg, LDB_FLAG_MOD_REPLACE, SPN, "HTTP/A.example.com",
	       "host/a.example.com", "cifs/a2.example.com", NULL);
	mod_el(msg, LDB_FLAG_MOD_REPLACE, UPN, "A@example.com", NULL);
	assert_int_equal(mod_modify(t, msg), LDB_SUCCESS);
	assert_int_equal(txn_commit(t), LDB_SUCCESS);
}

/* Set dSHeuristics through the module, as an admin does. */
static void set_heuristics(struct test_ctx *t, char flag)
{
	struct ldb_message *msg = mod_msg(t, DS_DN);
	char *value = talloc_asprintf(msg, "%s%c", HEURISTICS_20, flag);

	mod_el(msg, LDB_FLAG_MOD_REPLACE, "dSHeuristics", value, NULL);
	assert_int_equal(mod_modify(t, msg), LDB_SUCCESS);
}

/* dSHeuristics' 21st character: 1 no UPN check, 2 no SPN, 3 neither. */
static void test_dsheuristics_switch_checks_off(void **state)
{
	struct test_ctx *t = *state;
	static const struct {
		char flag;
		bool spn_checked;
		bool upn_checked;
	} cases[] = {
		{ '0', true, true },
		{ '1', true, false },
		{ '2', false, true },
		{ '3', false, false },
		{ '4', true, true },
	};
	size_t i;
	int ret;

	dir_put("CN=a," BASE_DN, "a@example.com", "http/a.example.com",
		NULL);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		txn_begin(t);
		set_heuristics(t, cases[i].flag);
		ret = mod_add(t, "CN=b," BASE_DN, NULL, "http/a.example.com",
			      NULL);
		if (cases[i].spn_checked) {
			assert_refused(t, ret, "000021C7:");
		} else {
			assert_int_equal(ret, LDB_SUCCESS);
		}
		ret = mod_add(t, "CN=c," BASE_DN, "a@example.com", NULL);
		if (cases[i].upn_checked) {
			assert_refused(t, ret, "000021C8:");
		} else {
			assert_int_equal(ret, LDB_SUCCESS);
		}
		txn_cancel(t);
	}
	/* a value too short to have the 21st character: both checked */
	txn_begin(t);
	ldb_msg_remove_attr(dir_find(ldb_dn_new(t, t->ldb, DS_DN)),
			    "dSHeuristics");
	assert_refused(t, mod_add(t, "CN=b," BASE_DN, NULL,
				  "http/a.example.com", NULL), "000021C7:");
	txn_cancel(t);
}

/* An add carrying the replication control. */
static struct ldb_request *replicated_add(struct test_ctx *t,
					  const char *dn, const char *spn)
{
	struct ldb_message *msg = mod_msg(t, dn);
	struct ldb_request *req = NULL;

	mod_el(msg, 0, SPN, spn, NULL);
	req = add_req(t, msg);
	assert_int_equal(ldb_request_add_control(
		req, DSDB_CONTROL_REPLICATED_UPDATE_OID, false, NULL), 0);
	return req;
}

/*
 * A replicated write is never refused and goes down as it came, and the
 * next transaction catches the index up with what it wrote.
 */
static void test_replicated_write_never_refused(void **state)
{
	struct test_ctx *t = *state;
	struct ldb_request *req = NULL;

	dir_put("CN=a," BASE_DN, NULL, "http/a.example.com", NULL);
	warm_up(t);

	txn_begin(t);
	req = replicated_add(t, "CN=b," BASE_DN, "http/a.example.com");
	t->d.checked = true;
	expect_value(ldb_next_request, req, (uintptr_t)req);
	assert_int_equal(run(t, req), LDB_SUCCESS);
	req = replicated_add(t, "CN=c," BASE_DN, "http/repl.example.com");
	expect_value(ldb_next_request, req, (uintptr_t)req);
	assert_int_equal(run(t, req), LDB_SUCCESS);
	t->d.checked = false;
	assert_int_equal(txn_commit(t), LDB_SUCCESS);

	txn_begin(t);
	assert_refused(t, mod_add(t, "CN=d," BASE_DN, NULL,
				  "http/r\xc3\xa9pl.example.com", NULL),
		       "000021C7:");
	txn_cancel(t);
}

/* What DRS applies through the extended operation is caught up too. */
static void test_replicated_objects_caught_up(void **state)
{
	struct test_ctx *t = *state;
	struct ldb_request *req = NULL;
	struct ldb_result *res = talloc_zero(t, struct ldb_result);

	warm_up(t);
	txn_begin(t);
	t->d.replicated = mod_msg(t, "CN=b," BASE_DN);
	mod_el(t->d.replicated, 0, SPN, "http/drs.example.com", NULL);
	assert_int_equal(ldb_build_extended_req(
		&req, t->ldb, t, DSDB_EXTENDED_REPLICATED_OBJECTS_OID, NULL,
		NULL, res, ldb_extended_default_callback, NULL), 0);
	assert_int_equal(run(t, req), LDB_SUCCESS);
	assert_int_equal(txn_commit(t), LDB_SUCCESS);

	txn_begin(t);
	assert_refused(t, mod_add(t, "CN=c," BASE_DN, NULL,
				  "HTTP/DRS.example.com", NULL), "000021C7:");
	txn_cancel(t);
}

/*
 * Changes written without the module (a tool opening sam.ldb without
 * it) are caught up through uSNChanged before the next check.
 */
static void test_catch_up_with_changes_behind_the_module(void **state)
{
	struct test_ctx *t = *state;
	size_t mark;

	warm_up(t);
	dir_put("CN=b," BASE_DN, "b@example.com", "cifs/behind.example.com",
		NULL);
	txn_begin(t);
	mark = t->d.num_log;
	assert_refused(t, mod_add(t, "CN=c," BASE_DN, NULL,
				  "c\xc4\xab" "fs/behind.example.com", NULL),
		       "000021C7:");
	/* a catch-up, not a rebuild */
	assert_int_equal(log_count(t, mark, "(uSNChanged>="), 1);
	assert_int_equal(log_count(t, mark, "(servicePrincipalName=*)"), 0);
	txn_cancel(t);
}

/*
 * Every holder the index names is read back first: an entry that is
 * stale (the object lost the name without the index seeing it) refuses
 * nothing, and the index learns who holds the name now.
 */
static void test_stale_index_entry_never_refuses(void **state)
{
	struct test_ctx *t = *state;
	struct ldb_message *b = NULL;

	txn_begin(t);
	assert_int_equal(mod_add(t, "CN=b," BASE_DN, NULL,
				 "http/stale.example.com", NULL), LDB_SUCCESS);
	assert_int_equal(txn_commit(t), LDB_SUCCESS);
	/* a change the uSNs do not show */
	b = dir_find(ldb_dn_new(t, t->ldb, "CN=b," BASE_DN));
	ldb_msg_remove_attr(b, SPN);

	txn_begin(t);
	assert_int_equal(mod_add(t, "CN=c," BASE_DN, NULL,
				 "http/stale.example.com", NULL), LDB_SUCCESS);
	assert_refused(t, mod_add(t, "CN=d," BASE_DN, NULL,
				  "http/st\xc3\xa4le.example.com", NULL),
		       "000021C7:");
	txn_cancel(t);
}

/* Base searches of an object (by DN or objectGUID) from log line from. */
static size_t reads_of(struct test_ctx *t, size_t from, const char *dn)
{
	struct ldb_message *obj = dir_find(ldb_dn_new(t, t->ldb, dn));
	char *guid = talloc_asprintf(t, "search <GUID=%s>",
				     obj_guid(t, obj));
	char *bydn = talloc_asprintf(t, "search %s ", dn);

	return log_count(t, from, guid) + log_count(t, from, bydn);
}

/* The log line at which the write of dn went down. */
static size_t write_line(struct test_ctx *t, const char *dn)
{
	size_t i;

	for (i = t->d.num_log; i > 0; i--) {
		if (strstr(t->d.log[i - 1], dn) != NULL &&
		    (strncmp(t->d.log[i - 1], "modify ", 7) == 0 ||
		     strncmp(t->d.log[i - 1], "add ", 4) == 0)) {
			return i - 1;
		}
	}
	fail_msg("no write of %s went down", dn);
	return 0;
}

/*
 * A modify that only adds or replaces names is predicted: the object is
 * not read back after the write.  One that deletes values is.
 */
static void test_plain_modify_predicted(void **state)
{
	struct test_ctx *t = *state;
	struct ldb_message *msg = NULL;
	const char *a = "CN=a," BASE_DN;

	dir_put(a, NULL, "http/a.example.com", NULL);
	warm_up(t);
	txn_begin(t);
	msg = mod_msg(t, a);
	mod_el(msg, LDB_FLAG_MOD_ADD, SPN, "http/a2.example.com", NULL);
	mod_el(msg, LDB_FLAG_MOD_REPLACE, UPN, "a@example.com", NULL);
	assert_int_equal(mod_modify(t, msg), LDB_SUCCESS);
	assert_int_equal(reads_of(t, write_line(t, a), a), 0);

	msg = mod_msg(t, a);
	mod_el(msg, LDB_FLAG_MOD_DELETE, SPN, "http/a2.example.com", NULL);
	mod_el(msg, LDB_FLAG_MOD_ADD, SPN, "http/a3.example.com", NULL);
	assert_int_equal(mod_modify(t, msg), LDB_SUCCESS);
	assert_int_equal(reads_of(t, write_line(t, a), a), 1);
	assert_int_equal(txn_commit(t), LDB_SUCCESS);
}

/*
 * The predicted values are what is checked and what the index learns:
 * a replace checks the new values, and the names it dropped are free.
 */
static void test_predicted_replace(void **state)
{
	struct test_ctx *t = *state;
	struct ldb_message *msg = NULL;

	dir_put("CN=a," BASE_DN, NULL, "http/x.example.com",
		"http/old.example.com", NULL);
	dir_put("CN=b," BASE_DN, NULL, "http/y.example.com", NULL);
	txn_begin(t);
	msg = mod_msg(t, "CN=a," BASE_DN);
	mod_el(msg, LDB_FLAG_MOD_REPLACE, SPN, "http/x.example.com",
	       "http/y.example.com", NULL);
	assert_refused(t, mod_modify(t, msg), "000021C7:");
	txn_cancel(t);

	txn_begin(t);
	msg = mod_msg(t, "CN=a," BASE_DN);
	mod_el(msg, LDB_FLAG_MOD_REPLACE, SPN, "http/x.example.com",
	       "http/z.example.com", NULL);
	assert_int_equal(mod_modify(t, msg), LDB_SUCCESS);
	assert_int_equal(txn_commit(t), LDB_SUCCESS);

	txn_begin(t);
	assert_int_equal(mod_add(t, "CN=d," BASE_DN, NULL,
				 "http/old.example.com", NULL), LDB_SUCCESS);
	assert_refused(t, mod_add(t, "CN=c," BASE_DN, NULL,
				  "HTTP/Z.example.com", NULL), "000021C7:");
	txn_cancel(t);
}

/*
 * A dNSHostName change makes samldb rewrite host/ SPNs below the module:
 * the object is read back and the rewritten name checked.
 */
static void test_rewritten_spn_read_back(void **state)
{
	struct test_ctx *t = *state;
	struct ldb_message *msg = NULL;
	struct ldb_message *a = NULL;

	dir_put("CN=b," BASE_DN, NULL, "host/new.example.com", NULL);
	a = dir_put("CN=a," BASE_DN, NULL, "host/old.example.com", NULL);
	assert_int_equal(ldb_msg_add_string(a, "dNSHostName",
					    "old.example.com"), 0);
	txn_begin(t);
	msg = mod_msg(t, "CN=a," BASE_DN);
	mod_el(msg, LDB_FLAG_MOD_REPLACE, "dNSHostName", "new.example.com",
	       NULL);
	assert_refused(t, mod_modify(t, msg), "000021C7:");
	txn_cancel(t);

	txn_begin(t);
	msg = mod_msg(t, "CN=a," BASE_DN);
	mod_el(msg, LDB_FLAG_MOD_REPLACE, "dNSHostName", "free.example.com",
	       NULL);
	assert_int_equal(mod_modify(t, msg), LDB_SUCCESS);
	assert_string_equal(ldb_msg_find_attr_as_string(
		dir_find(msg->dn), SPN, ""), "host/free.example.com");
	assert_int_equal(txn_commit(t), LDB_SUCCESS);
}

/*
 * A write refused after it went down is in the transaction already: the
 * transaction cannot commit, and the next one starts clean.
 */
static void test_refused_write_poisons_transaction(void **state)
{
	struct test_ctx *t = *state;

	dir_put("CN=a," BASE_DN, NULL, "http/a.example.com", NULL);
	txn_begin(t);
	assert_refused(t, mod_add(t, "CN=b," BASE_DN, NULL,
				  "http/a.example.com", NULL), "000021C7:");
	/* a later accepted write does not make it committable */
	assert_int_equal(mod_add(t, "CN=c," BASE_DN, NULL,
				 "http/c.example.com", NULL), LDB_SUCCESS);
	ldb_reset_err_string(t->ldb);
	assert_int_equal(mod_ops->prepare_commit(t->module),
			 LDB_ERR_CONSTRAINT_VIOLATION);
	assert_non_null(strstr(ldb_errstring(t->ldb),
			       "cannot be committed"));
	assert_int_equal(t->d.prepare_commits, 0);
	txn_cancel(t);
	assert_null(dir_find(ldb_dn_new(t, t->ldb, "CN=b," BASE_DN)));

	txn_begin(t);
	assert_int_equal(mod_add(t, "CN=c," BASE_DN, NULL,
				 "http/c.example.com", NULL), LDB_SUCCESS);
	assert_int_equal(txn_commit(t), LDB_SUCCESS);
	assert_int_equal(t->d.prepare_commits, 1);
}

/* samldb's own refusals below reach the client as Windows' errors. */
static void test_samldb_refusals_translated(void **state)
{
	struct test_ctx *t = *state;

	txn_begin(t);
	t->d.scripted = true;
	will_return(ldb_next_request, LDB_ERR_CONSTRAINT_VIOLATION);
	will_return(ldb_next_request, "samldb: spn[http/s.example.com] "
		    "would cause a conflict");
	assert_refused(t, mod_add(t, "CN=b," BASE_DN, NULL,
				  "http/s.example.com", NULL), "000021C7:");
	will_return(ldb_next_request, LDB_ERR_CONSTRAINT_VIOLATION);
	will_return(ldb_next_request, "samldb: userPrincipalName "
		    "u@example.com is already in use");
	assert_refused(t, mod_add(t, "CN=b," BASE_DN, "u@example.com", NULL),
		       "000021C8:");
	/* the alias refusal comes without text */
	will_return(ldb_next_request, LDB_ERR_CONSTRAINT_VIOLATION);
	will_return(ldb_next_request, "");
	assert_refused(t, mod_add(t, "CN=b," BASE_DN, NULL,
				  "host/s.example.com", NULL), "000021C7:");
	/* anything else stays as it was */
	will_return(ldb_next_request, LDB_ERR_INSUFFICIENT_ACCESS_RIGHTS);
	will_return(ldb_next_request, "acl: no right to write");
	assert_int_equal(mod_add(t, "CN=b," BASE_DN, NULL,
				 "http/t.example.com", NULL),
			 LDB_ERR_INSUFFICIENT_ACCESS_RIGHTS);
	assert_string_equal(ldb_errstring(t->ldb), "acl: no right to write");
	t->d.scripted = false;
	txn_cancel(t);
}

/* A search for one SPN value, as samldb's (the value as it is). */
static int hook_search(struct test_ctx *t, const char *value,
		       const char * const *attrs, struct ldb_result **_res)
{
	struct ldb_request *req = NULL;
	struct ldb_result *res = talloc_zero(t, struct ldb_result);
	struct ldb_parse_tree *tree = ldb_parse_tree(
		t, "(servicePrincipalName=x)");

	assert_non_null(res);
	assert_non_null(tree);
	tree->u.equality.value = str_val(value);
	assert_int_equal(ldb_build_search_req_ex(
		&req, t->ldb, t, ldb_dn_new(t, t->ldb, BASE_DN),
		LDB_SCOPE_SUBTREE, tree, (const char **)attrs, NULL, res,
		ldb_search_default_callback, NULL), 0);
	*_res = res;
	return run(t, req);
}

/*
 * While a write of ours goes down, samldb's SPN lookups find what
 * Windows would find (the directory drops leading spaces), and get no
 * servicePrincipalName they did not ask for.
 */
static void test_samldb_search_matches_windows(void **state)
{
	struct test_ctx *t = *state;
	static const char * const cn[] = { "cn", NULL };
	struct ldb_result *res = NULL;

	dir_put("CN=b," BASE_DN, NULL, " /host", "http/b.example.com", NULL);
	assert_int_equal(hook_search(t, "  /host", NULL, &res), LDB_SUCCESS);
	assert_int_equal(res->count, 1);

	t->p->write_depth = 1;
	assert_int_equal(hook_search(t, "  /host", NULL, &res), LDB_SUCCESS);
	assert_int_equal(res->count, 0);
	assert_int_equal(hook_search(t, " /host", NULL, &res), LDB_SUCCESS);
	assert_int_equal(res->count, 1);
	assert_int_equal(hook_search(t, "HTTP/B.example.com", cn, &res),
			 LDB_SUCCESS);
	assert_int_equal(res->count, 1);
	assert_null(ldb_msg_find_element(res->msgs[0], SPN));
	t->p->write_depth = 0;
}

/* An SPN is stored as Windows stores it: cut at NUL, U+FFFD for bad
 * bytes. */
static void test_spn_value_sanitised(void **state)
{
	struct test_ctx *t = *state;
	static const char value[] = "cifs/x.example.com\0junk";
	struct ldb_message *msg = mod_msg(t, "CN=b," BASE_DN);
	struct ldb_message_element *el = NULL;
	struct ldb_val v = {
		.data = (uint8_t *)(uintptr_t)value, .length = sizeof(value) - 1
	};
	const struct ldb_val *stored = NULL;

	txn_begin(t);
	assert_int_equal(ldb_msg_add_empty(msg, SPN, 0, &el), 0);
	assert_int_equal(ldb_msg_element_add_value(msg->elements, el, &v), 0);
	v = str_val("cifs/\xff.example.com");
	assert_int_equal(ldb_msg_element_add_value(msg->elements, el, &v), 0);
	assert_int_equal(run(t, add_req(t, msg)), LDB_SUCCESS);
	el = ldb_msg_find_element(dir_find(msg->dn), SPN);
	assert_int_equal(el->num_values, 2);
	stored = &el->values[0];
	assert_int_equal(stored->length, strlen("cifs/x.example.com"));
	assert_memory_equal(stored->data, "cifs/x.example.com",
			    stored->length);
	stored = &el->values[1];
	assert_int_equal(stored->length,
			 strlen("cifs/\xef\xbf\xbd.example.com"));
	assert_memory_equal(stored->data, "cifs/\xef\xbf\xbd.example.com",
			    stored->length);
	assert_int_equal(txn_commit(t), LDB_SUCCESS);
}

/* Malformed and too-long names: 0000202F, unless only audited. */
static void test_malformed_and_too_long_refused(void **state)
{
	struct test_ctx *t = *state;
	char long_spn[ASA_PRINCIPAL_MAX_LENGTH + 8];

	memset(long_spn, 'a', sizeof(long_spn) - 1);
	memcpy(long_spn, "http/", 5);
	long_spn[sizeof(long_spn) - 1] = '\0';
	txn_begin(t);
	assert_refused(t, mod_add(t, "CN=b," BASE_DN, NULL, "//", NULL),
		       "0000202F:");
	assert_refused(t, mod_add(t, "CN=c," BASE_DN, NULL, long_spn, NULL),
		       "0000202F:");
	assert_non_null(strstr(ldb_errstring(t->ldb), "longer than"));
	txn_cancel(t);

	t->p->mode = UPN_MODE_AUDIT;
	txn_begin(t);
	assert_int_equal(mod_add(t, "CN=b," BASE_DN, NULL, "//", NULL),
			 LDB_SUCCESS);
	assert_int_equal(txn_commit(t), LDB_SUCCESS);
}

/* Audit mode: duplicates are logged, never refused. */
static void test_audit_mode_refuses_nothing(void **state)
{
	struct test_ctx *t = *state;

	dir_put("CN=a," BASE_DN, "a@example.com", "http/a.example.com",
		NULL);
	t->p->mode = UPN_MODE_AUDIT;
	txn_begin(t);
	assert_int_equal(mod_add(t, "CN=b," BASE_DN, "a@example.com",
				 "http/a.example.com", NULL), LDB_SUCCESS);
	assert_int_equal(txn_commit(t), LDB_SUCCESS);
}

/*
 * Without the key index the module asks the directory (forest-wide),
 * which finds the same name in another case but no Windows-equivalent
 * one.
 */
static void test_without_index_directory_searched(void **state)
{
	struct test_ctx *t = *state;
	size_t mark;

	dir_put("CN=a," BASE_DN, NULL, "http/a.example.com", NULL);
	t->p->index_broken = true;
	txn_begin(t);
	mark = t->d.num_log;
	assert_refused(t, mod_add(t, "CN=b," BASE_DN, NULL,
				  "HTTP/A.example.com", NULL), "000021C7:");
	assert_int_equal(log_count(t, mark, "search subtree "
				   "(servicePrincipalName=HTTP/A.example.com)"),
			 1);
	assert_int_equal(mod_add(t, "CN=c," BASE_DN, NULL,
				 "http/\xc3\xa4.example.com", NULL),
			 LDB_SUCCESS);
	txn_cancel(t);
}

/* Writes of nothing the rule covers go down as they came, alone. */
static void test_other_writes_untouched(void **state)
{
	struct test_ctx *t = *state;
	struct ldb_message *msg = NULL;
	struct ldb_request *req = NULL;

	dir_put("CN=a," BASE_DN, NULL, "http/a.example.com", NULL);
	txn_begin(t);
	t->d.checked = true;
	msg = mod_msg(t, "CN=b," BASE_DN);
	mod_el(msg, 0, "cn", "b", NULL);
	req = add_req(t, msg);
	expect_value(ldb_next_request, req, (uintptr_t)req);
	assert_int_equal(run(t, req), LDB_SUCCESS);

	msg = mod_msg(t, "CN=a," BASE_DN);
	mod_el(msg, LDB_FLAG_MOD_REPLACE, "description", "x", NULL);
	assert_int_equal(ldb_build_mod_req(&req, t->ldb, t, msg, NULL, NULL,
					   ldb_op_default_callback, NULL), 0);
	expect_value(ldb_next_request, req, (uintptr_t)req);
	assert_int_equal(run(t, req), LDB_SUCCESS);
	t->d.checked = false;
	assert_int_equal(txn_commit(t), LDB_SUCCESS);
}

/*
 * Two ldbs of one process on the same sam.ldb share the index's LMDB
 * environment (LMDB allows one per file and process), one writer at a
 * time; it stays while either uses it and is closed with the last
 * (teardown checks that).
 */
static void test_index_environment_shared(void **state)
{
	struct test_ctx *t = *state;
	struct ldb_module *second = ldb_module_new(t, t->ldb, UPN_MODULE,
						   mod_ops);
	MDB_txn *txn = NULL;

	assert_non_null(second);
	ldb_module_set_next(second, ldb_module_next(t->module));
	assert_int_equal(mod_ops->init_context(second), LDB_SUCCESS);
	assert_int_equal(mod_ops->start_transaction(second), LDB_SUCCESS);
	assert_int_equal(upn_index_txn(second, &txn), LDB_SUCCESS);
	assert_non_null(txn);

	/* the other waits its turn: no index, directory searches */
	txn_begin(t);
	assert_int_equal(upn_index_txn(t->module, &txn), LDB_SUCCESS);
	assert_null(txn);
	assert_ptr_equal(t->p->env, upn_private(second)->env);
	assert_null(upn_envs->next);
	txn_cancel(t);
	assert_int_equal(mod_ops->del_transaction(second), LDB_SUCCESS);

	/* the one that opened it goes; the other keeps using it */
	TALLOC_FREE(second);
	assert_ptr_equal(upn_envs, t->p->env);
	warm_up(t);
	assert_null(upn_envs->next);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_spn_duplicate_refused),
		T(test_upn_duplicate_refused),
		T(test_unicode_equivalent_spn_refused),
		T(test_alias_duplicate_refused),
		T(test_own_values_kept),
		T(test_dsheuristics_switch_checks_off),
		T(test_replicated_write_never_refused),
		T(test_replicated_objects_caught_up),
		T(test_catch_up_with_changes_behind_the_module),
		T(test_stale_index_entry_never_refuses),
		T(test_plain_modify_predicted),
		T(test_predicted_replace),
		T(test_rewritten_spn_read_back),
		T(test_refused_write_poisons_transaction),
		T(test_samldb_refusals_translated),
		T(test_samldb_search_matches_windows),
		T(test_spn_value_sanitised),
		T(test_malformed_and_too_long_refused),
		T(test_audit_mode_refuses_nothing),
		T(test_without_index_directory_searched),
		T(test_other_writes_untouched),
		T(test_index_environment_shared),
#undef T
	};
	int rc;

	rc = cmocka_run_group_tests(tests, NULL, NULL);
	asa_principal_cleanup();
	return rc;
}
