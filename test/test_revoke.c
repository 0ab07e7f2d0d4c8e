/*
 * Unit tests of common/revoke.c: the pending revocation in an ASA's
 * keywords, and how long after a roll it waits.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <talloc.h>
#include <param.h>

#include "revoke.h"

#define T0 ((time_t)1764000000)

static struct asa_account *account_with(TALLOC_CTX *mem_ctx,
					const char * const *keywords)
{
	struct asa_account *a = talloc_zero(mem_ctx, struct asa_account);
	size_t n = 0;

	assert_non_null(a);
	while (keywords != NULL && keywords[n] != NULL) {
		n++;
	}
	a->other_keywords = talloc_zero_array(a, const char *, n + 1);
	assert_non_null(a->other_keywords);
	memcpy(a->other_keywords, keywords, n * sizeof(keywords[0]));
	a->num_other_keywords = n;
	return a;
}

static bool has_keyword(const struct asa_account *a, const char *kw)
{
	size_t i;

	for (i = 0; i < a->num_other_keywords; i++) {
		if (strcmp(a->other_keywords[i], kw) == 0) {
			return true;
		}
	}
	return false;
}

static void test_none(void **state)
{
	TALLOC_CTX *mem_ctx = talloc_new(NULL);
	const char *kw[] = { "future_key=1", NULL };
	struct asa_revocation r = { .kvno = 9 };

	asa_revocation_get(account_with(mem_ctx, kw), &r);
	assert_int_equal(r.kvno, 0);
	assert_int_equal(r.at, 0);
	assert_false(r.now);
	talloc_free(mem_ctx);
}

/* Set, read back; keywords of others stay; kvno 0 takes ours away. */
static void test_roundtrip(void **state)
{
	TALLOC_CTX *mem_ctx = talloc_new(NULL);
	const char *kw[] = { "future_key=1", "revoke_kvno=3", NULL };
	struct asa_account *a = account_with(mem_ctx, kw);
	struct asa_revocation r = { .kvno = 7, .at = T0, .now = true };
	struct asa_revocation back;

	assert_int_equal(asa_revocation_set(a, &r), 0);
	assert_int_equal(a->num_other_keywords, 4);
	assert_true(has_keyword(a, "future_key=1"));
	assert_true(has_keyword(a, "revoke_kvno=7"));
	assert_false(has_keyword(a, "revoke_kvno=3"));
	asa_revocation_get(a, &back);
	assert_int_equal(back.kvno, 7);
	assert_int_equal(back.at, T0);
	assert_true(back.now);

	r = (struct asa_revocation) { 0 };
	assert_int_equal(asa_revocation_set(a, &r), 0);
	assert_int_equal(a->num_other_keywords, 1);
	assert_true(has_keyword(a, "future_key=1"));
	asa_revocation_get(a, &back);
	assert_int_equal(back.kvno, 0);
	talloc_free(mem_ctx);
}

/* What the directory may hold that is not a revocation. */
static void test_garbage(void **state)
{
	TALLOC_CTX *mem_ctx = talloc_new(NULL);
	const char *bad[][3] = {
		{ "revoke_kvno=abc", NULL, NULL },
		{ "revoke_kvno=-4", NULL, NULL },
		{ "revoke_kvno=4294967296", NULL, NULL },
		{ "revoke_kvno=5x", "revoke_at=1", NULL },
		{ "revoke_kvno=", NULL, NULL },
	};
	const char *late[] = { "REVOKE_KVNO=5", "revoke_at=junk", NULL };
	struct asa_revocation r;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		asa_revocation_get(account_with(mem_ctx, bad[i]), &r);
		assert_int_equal(r.kvno, 0);
	}
	/* the directory compares keys ignoring case; a bad time: none */
	asa_revocation_get(account_with(mem_ctx, late), &r);
	assert_int_equal(r.kvno, 5);
	assert_int_equal(r.at, 0);
	talloc_free(mem_ctx);
}

/* A removal: the newest of what is pending, the directory's kvno and
 * what the removed member held; it waits for the next roll again. */
static void test_add(void **state)
{
	struct asa_revocation r = { 0 };

	asa_revocation_add(&r, 4, 3, false);
	assert_int_equal(r.kvno, 4);
	assert_false(r.now);
	asa_revocation_add(&r, 4, 5, false);
	assert_int_equal(r.kvno, 5);	/* staged by a roll cut short */
	r.at = T0;
	asa_revocation_add(&r, 3, 0, true);
	assert_int_equal(r.kvno, 5);
	assert_int_equal(r.at, 0);
	assert_true(r.now);
	asa_revocation_add(&r, 6, 0, false);
	assert_int_equal(r.kvno, 6);
	assert_true(r.now);		/* --revoke-now stays asked for */
}

/* An empty cache directory: no GPO Kerberos policy of this host's samba
 * (gpo.tdb) takes part. */
static char cache_dir[] = "/tmp/test_revoke.XXXXXX";

static struct loadparm_context *lp_with(TALLOC_CTX *mem_ctx,
					const char * const *pairs)
{
	struct loadparm_context *lp_ctx = loadparm_init(mem_ctx);
	size_t i;

	assert_non_null(lp_ctx);
	assert_true(lpcfg_set_cmdline(lp_ctx, "cache directory", cache_dir));
	for (i = 0; pairs != NULL && pairs[i] != NULL; i += 2) {
		assert_true(lpcfg_set_cmdline(lp_ctx, pairs[i], pairs[i + 1]));
	}
	return lp_ctx;
}

static void test_delay(void **state)
{
	TALLOC_CTX *mem_ctx = talloc_new(NULL);
	const char *kdc[] = {
		"kdc:service ticket lifetime", "4",
		"kdc:user ticket lifetime", "7",
		NULL,
	};
	const char *ours[] = {
		"asa:revoke after", "15",
		"kdc:service ticket lifetime", "4",
		NULL,
	};
	const char *zero[] = { "asa:revoke after", "0", NULL };
	const char *bad[] = { "asa:revoke after", "soon", NULL };
	int64_t s = -1;
	char *why = NULL;

	assert_non_null(mkdtemp(cache_dir));
	/* Samba's defaults: 10 h tickets, plus the clock skew */
	assert_int_equal(asa_revoke_delay(mem_ctx, NULL, &s, &why), 0);
	assert_int_equal(s, 10 * 3600 + 300);
	assert_int_equal(asa_revoke_delay(mem_ctx, lp_with(mem_ctx, NULL),
					  &s, &why), 0);
	assert_int_equal(s, 10 * 3600 + 300);
	/* the longer of the KDC's two lifetimes */
	assert_int_equal(asa_revoke_delay(mem_ctx, lp_with(mem_ctx, kdc),
					  &s, &why), 0);
	assert_int_equal(s, 7 * 3600 + 300);
	assert_int_equal(asa_revoke_delay(mem_ctx, lp_with(mem_ctx, ours),
					  &s, &why), 0);
	assert_int_equal(s, 15);
	assert_int_equal(asa_revoke_delay(mem_ctx, lp_with(mem_ctx, zero),
					  &s, &why), 0);
	assert_int_equal(s, 0);
	assert_int_equal(asa_revoke_delay(mem_ctx, lp_with(mem_ctx, bad),
					  &s, &why), EINVAL);
	assert_non_null(strstr(why, "asa:revoke after = soon"));
	talloc_free(mem_ctx);
	assert_int_equal(rmdir(cache_dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_none),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_add),
		cmocka_unit_test(test_delay),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
