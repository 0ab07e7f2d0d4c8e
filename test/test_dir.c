/*
 * Unit tests for common/dir_*.c that need no domain controller: how
 * asa_dir_connect() refuses what it cannot use, with an LDB (= LDAP)
 * result code and a message that says what to do.  Searches and writes
 * against a real DC are covered by selftest/suites/samba_asa_spn.sh.
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
#include <stdio.h>
#include <stdlib.h>
#include <setjmp.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <talloc.h>
#include <ldb.h>

#include "dir.h"

static int connect_with(TALLOC_CTX *mem_ctx,
			const struct asa_dir_options *o,
			char **err)
{
	struct asa_dir *dir = NULL;
	int ret = asa_dir_connect(mem_ctx, o, &dir, err);

	if (ret != LDB_SUCCESS) {
		assert_null(dir);
		assert_non_null(*err);
	}
	return ret;
}

static void test_unsupported_url(void **state)
{
	TALLOC_CTX *mem_ctx = talloc_new(NULL);
	struct asa_dir_options o = { .url = "http://dc.example.com" };
	char *err = NULL;

	assert_int_equal(connect_with(mem_ctx, &o, &err),
			 LDB_ERR_PROTOCOL_ERROR);
	assert_non_null(strstr(err, "unsupported URL"));
	assert_non_null(strstr(err, "ldap://"));
	talloc_free(mem_ctx);
}

static void test_no_credentials_for_simple_bind(void **state)
{
	TALLOC_CTX *mem_ctx = talloc_new(NULL);
	struct asa_dir_options o = {
		.url = "ldap://127.0.0.1:1",
		.kerberos = ASA_DIR_KERBEROS_NO,
	};
	char *err = NULL;

	assert_int_equal(connect_with(mem_ctx, &o, &err),
			 LDB_ERR_INAPPROPRIATE_AUTHENTICATION);
	assert_non_null(strstr(err, "-U"));
	talloc_free(mem_ctx);
}

static void test_no_password(void **state)
{
	TALLOC_CTX *mem_ctx = talloc_new(NULL);
	struct asa_dir_options o = {
		.url = "ldaps://127.0.0.1:1",
		.username = "Administrator",
	};
	char *err = NULL;

	/* refused before any connection is made */
	assert_int_equal(connect_with(mem_ctx, &o, &err),
			 LDB_ERR_INAPPROPRIATE_AUTHENTICATION);
	assert_non_null(strstr(err, "--password-file"));
	talloc_free(mem_ctx);
}

static void test_unreachable(void **state)
{
	TALLOC_CTX *mem_ctx = talloc_new(NULL);
	/* port 1 on loopback: nothing listens, the connection is refused */
	struct asa_dir_options o = {
		.url = "ldaps://127.0.0.1:1",
		.username = "Administrator",
		.password = "not a real password",
	};
	char *err = NULL;

	assert_int_equal(connect_with(mem_ctx, &o, &err),
			 LDB_ERR_UNAVAILABLE);
	assert_non_null(strstr(err, "cannot reach ldaps://127.0.0.1:1"));
	assert_null(strstr(err, "not a real password"));
	talloc_free(mem_ctx);
}

static void test_local_missing_database(void **state)
{
	TALLOC_CTX *mem_ctx = talloc_new(NULL);
	char dir[] = "/tmp/test_dir.XXXXXX";
	char *conf = NULL;
	char *sam = NULL;
	char *err = NULL;
	FILE *f = NULL;
	struct asa_dir_options o = { 0 };

	assert_non_null(mkdtemp(dir));
	conf = talloc_asprintf(mem_ctx, "%s/smb.conf", dir);
	sam = talloc_asprintf(mem_ctx, "%s/sam.ldb", dir);
	f = fopen(conf, "w");
	assert_non_null(f);
	fprintf(f, "[global]\n\tprivate dir = %s\n\tlock dir = %s\n"
		"\tstate directory = %s\n\tcache directory = %s\n",
		dir, dir, dir, dir);
	fclose(f);

	o.url = sam;
	o.smb_conf = conf;
	assert_int_not_equal(connect_with(mem_ctx, &o, &err), LDB_SUCCESS);
	assert_non_null(strstr(err, sam));
	/* and nothing was created */
	assert_int_not_equal(access(sam, F_OK), 0);

	unlink(conf);
	rmdir(dir);
	talloc_free(mem_ctx);
}

static void test_local_bad_smb_conf(void **state)
{
	TALLOC_CTX *mem_ctx = talloc_new(NULL);
	struct asa_dir_options o = {
		.url = "/nonexistent/sam.ldb",
		.smb_conf = "/nonexistent/smb.conf",
	};
	char *err = NULL;

	assert_int_not_equal(connect_with(mem_ctx, &o, &err), LDB_SUCCESS);
	assert_non_null(strstr(err, "/nonexistent/smb.conf"));
	talloc_free(mem_ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unsupported_url),
		cmocka_unit_test(test_no_credentials_for_simple_bind),
		cmocka_unit_test(test_no_password),
		cmocka_unit_test(test_unreachable),
		cmocka_unit_test(test_local_missing_database),
		cmocka_unit_test(test_local_bad_smb_conf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
