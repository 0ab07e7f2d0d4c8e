/*
 * Unit test: what asa_keytab_write_file() and asa_keytab_install() report
 * when the new keytab is renamed into place but its directory cannot be
 * flushed.  A program of its own: it replaces fsync() (the program's own
 * definition wins over libc's for every object linked into it) with one
 * that fails on directories when asked to.
 *
 * Copyright (C) samba-asa authors 2026
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <cmocka.h>

#include <talloc.h>
#include <krb5.h>

#include "keys.h"
#include "keytab.h"

#define TEST_FIXTURE_NAME "test_keytab_durable"
#include "test_fixture.h"

static bool fail_dir_fsync;

int fsync(int fd)
{
	struct stat st;

	if (fail_dir_fsync && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		errno = EIO;
		return -1;
	}
	return (int)syscall(SYS_fsync, fd);
}

static const char *principals[] = {
	"asa1$@MEM.TEST",
	"http/mail.mem.test@MEM.TEST",
};

static struct asa_keytab *keytab_at(struct test_ctx *t, krb5_kvno kvno,
				    uint8_t seed)
{
	struct asa_key keys[1];
	uint8_t bytes[32];
	struct asa_keytab *kt = NULL;
	size_t i;

	for (i = 0; i < sizeof(bytes); i++) {
		bytes[i] = (uint8_t)(seed + i);
	}
	keys[0] = (struct asa_key) {
		.enctype = ENCTYPE_AES256_CTS_HMAC_SHA1_96,
		.kvno = kvno,
		.length = sizeof(bytes),
		.contents = bytes,
	};
	assert_int_equal(asa_keytab_build(t->krb5, t->mem, principals, 2,
					  keys, 1, 1700000000, &kt), 0);
	return kt;
}

/*
 * The rename happened: the error says the new keytab is in place (not
 * "untouched"), with its own code, and the file holds the new keys.
 */
static void test_dir_fsync_failure_reported_as_not_durable(void **state)
{
	struct test_ctx *t = *state;
	struct asa_keytab *read_back = NULL;
	char path[128];
	const char *msg = NULL;
	krb5_error_code ret;

	snprintf(path, sizeof(path), "%s/k.keytab", t->dir);
	assert_int_equal(asa_keytab_write_file(t->krb5, keytab_at(t, 2, 1),
					       path, 0600, (gid_t)-1), 0);

	fail_dir_fsync = true;
	ret = asa_keytab_install(t->krb5, t->mem, keytab_at(t, 3, 7),
				 principals, 2, path, 0600, (gid_t)-1, false,
				 NULL);
	fail_dir_fsync = false;
	assert_int_equal(ret, ASA_KEYTAB_ERR_NOT_DURABLE);
	msg = krb5_get_error_message(t->krb5, ret);
	assert_non_null(strstr(msg, "the new keytab is in place"));
	assert_non_null(strstr(msg, "may not survive a crash"));
	krb5_free_error_message(t->krb5, msg);

	assert_int_equal(asa_keytab_read_file(t->krb5, t->mem, path, false,
					      &read_back), 0);
	assert_non_null(asa_keytab_find(read_back, principals[0], 3,
					ENCTYPE_AES256_CTS_HMAC_SHA1_96));
	assert_non_null(asa_keytab_find(read_back, principals[0], 2,
					ENCTYPE_AES256_CTS_HMAC_SHA1_96));
}

/* Without the failure: installed, 0. */
static void test_install_durable(void **state)
{
	struct test_ctx *t = *state;
	char path[128];

	snprintf(path, sizeof(path), "%s/d.keytab", t->dir);
	assert_int_equal(asa_keytab_install(t->krb5, t->mem,
					    keytab_at(t, 4, 9), principals, 2,
					    path, 0600, (gid_t)-1, false,
					    NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_dir_fsync_failure_reported_as_not_durable,
			setup, teardown),
		cmocka_unit_test_setup_teardown(test_install_durable,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
