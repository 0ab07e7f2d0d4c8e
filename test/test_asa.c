/*
 * Unit tests of common/asa.c: the "key=value" keywords of the samba-asa
 * serviceConnectionPoints, and member names.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include <talloc.h>

#include "asa.h"

static void test_split(void **state)
{
	TALLOC_CTX *mem_ctx = talloc_new(NULL);
	char *key = NULL;
	char *value = NULL;

	assert_true(asa_keyword_split(mem_ctx, "latest_kvno=3", &key,
				      &value));
	assert_string_equal(key, "latest_kvno");
	assert_string_equal(value, "3");

	/* only the first '=' separates */
	assert_true(asa_keyword_split(mem_ctx, "last_error=a=b", &key,
				      &value));
	assert_string_equal(key, "last_error");
	assert_string_equal(value, "a=b");

	assert_true(asa_keyword_split(mem_ctx, "stale=", &key, &value));
	assert_string_equal(key, "stale");
	assert_string_equal(value, "");

	assert_false(asa_keyword_split(mem_ctx, "=3", &key, &value));
	assert_null(key);
	assert_null(value);
	assert_false(asa_keyword_split(mem_ctx, "no separator", &key,
				       &value));
	assert_false(asa_keyword_split(mem_ctx, NULL, &key, &value));
	talloc_free(mem_ctx);
}

static void test_make(void **state)
{
	TALLOC_CTX *mem_ctx = talloc_new(NULL);
	char *kw = NULL;

	kw = asa_keyword_make(mem_ctx, "latest_kvno", "7");
	assert_string_equal(kw, "latest_kvno=7");

	/* an ssh error over several lines stays one value */
	kw = asa_keyword_make(mem_ctx, "last_error",
			      "ssh: connect\r\nrefused\tnow");
	assert_string_equal(kw, "last_error=ssh: connect  refused now");

	/* a key must be a key */
	assert_null(asa_keyword_make(mem_ctx, "", "x"));
	assert_null(asa_keyword_make(mem_ctx, "a=b", "x"));
	talloc_free(mem_ctx);
}

static void test_make_cut(void **state)
{
	TALLOC_CTX *mem_ctx = talloc_new(NULL);
	char value[600];
	char *kw = NULL;
	size_t klen = strlen("last_error=");
	size_t i;

	memset(value, 'x', sizeof(value) - 1);
	value[sizeof(value) - 1] = '\0';
	kw = asa_keyword_make(mem_ctx, "last_error", value);
	assert_int_equal(strlen(kw), ASA_KEYWORD_MAX);
	assert_memory_equal(kw, "last_error=xxx", 14);

	/*
	 * "é" (two bytes) where the cut falls in its middle: the whole
	 * character goes, never half of it.
	 */
	memset(value, 'x', sizeof(value));
	value[ASA_KEYWORD_MAX - klen - 1] = (char)0xc3;
	value[ASA_KEYWORD_MAX - klen] = (char)0xa9;
	value[ASA_KEYWORD_MAX - klen + 1] = '\0';
	kw = asa_keyword_make(mem_ctx, "last_error", value);
	assert_int_equal(strlen(kw), ASA_KEYWORD_MAX - 1);
	for (i = 0; kw[i] != '\0'; i++) {
		assert_true((unsigned char)kw[i] < 0x80);
	}

	/* exactly at the limit: kept whole */
	memset(value, 'y', sizeof(value));
	value[ASA_KEYWORD_MAX - klen] = '\0';
	kw = asa_keyword_make(mem_ctx, "last_error", value);
	assert_int_equal(strlen(kw), ASA_KEYWORD_MAX);
	assert_int_equal(kw[ASA_KEYWORD_MAX - 1], 'y');
	talloc_free(mem_ctx);
}

static void test_find(void **state)
{
	TALLOC_CTX *mem_ctx = talloc_new(NULL);
	const char *values[] = {
		"version=1",
		"latest_kvno_other=9",
		"Latest_KVNO=4",
		"future_key=kept",
	};
	const char *v = NULL;

	v = asa_keywords_find(mem_ctx, values, 4, "latest_kvno");
	assert_string_equal(v, "4");	/* not latest_kvno_other's */
	v = asa_keywords_find(mem_ctx, values, 4, "future_key");
	assert_string_equal(v, "kept");
	assert_null(asa_keywords_find(mem_ctx, values, 4, "previous_kvno"));
	assert_null(asa_keywords_find(mem_ctx, values, 0, "version"));
	assert_null(asa_keywords_find(mem_ctx, values, 4, "latest"));
	talloc_free(mem_ctx);
}

static void test_member_name(void **state)
{
	char long_name[ASA_MEMBER_NAME_MAX + 2];
	const char *why = NULL;

	assert_true(asa_member_name_valid("m1.samdom.example.com", &why));
	assert_null(why);
	assert_true(asa_member_name_valid("web server 1", &why));

	assert_false(asa_member_name_valid("", &why));
	assert_non_null(why);
	assert_false(asa_member_name_valid(NULL, &why));
	assert_false(asa_member_name_valid("samba-asa", &why));
	assert_false(asa_member_name_valid("SAMBA-ASA", &why));
	assert_false(asa_member_name_valid("m1\nm2", &why));
	assert_false(asa_member_name_valid(" m1", &why));
	assert_false(asa_member_name_valid("m1 ", &why));

	memset(long_name, 'a', sizeof(long_name));
	long_name[ASA_MEMBER_NAME_MAX] = '\0';
	assert_true(asa_member_name_valid(long_name, &why));
	long_name[ASA_MEMBER_NAME_MAX] = 'a';
	long_name[ASA_MEMBER_NAME_MAX + 1] = '\0';
	assert_false(asa_member_name_valid(long_name, &why));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_make),
		cmocka_unit_test(test_make_cut),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_member_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
