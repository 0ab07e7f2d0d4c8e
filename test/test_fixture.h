/*
 * The fixture unit tests of keytabs and members share: a Kerberos
 * context, a talloc context and a scratch directory that teardown
 * empties and removes.  Include after cmocka.h; define
 * TEST_FIXTURE_NAME (the directory's prefix) first.
 *
 * Copyright (C) samba-asa authors 2026
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 */

#ifndef ASA_TEST_FIXTURE_H
#define ASA_TEST_FIXTURE_H

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <talloc.h>
#include <krb5.h>

struct test_ctx {
	krb5_context krb5;
	TALLOC_CTX *mem;
	char dir[64];
};

static int setup(void **state)
{
	struct test_ctx *t = talloc_zero(NULL, struct test_ctx);

	assert_non_null(t);
	assert_int_equal(krb5_init_context(&t->krb5), 0);
	t->mem = talloc_new(t);
	snprintf(t->dir, sizeof(t->dir), "/tmp/%s.XXXXXX", TEST_FIXTURE_NAME);
	assert_non_null(mkdtemp(t->dir));
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct test_ctx *t = *state;
	DIR *d = opendir(t->dir);
	struct dirent *de = NULL;
	char path[PATH_MAX];

	while (d != NULL && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.') {
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", t->dir, de->d_name);
		unlink(path);
	}
	if (d != NULL) {
		closedir(d);
	}
	rmdir(t->dir);
	krb5_free_context(t->krb5);
	TALLOC_FREE(t);
	return 0;
}

#endif
