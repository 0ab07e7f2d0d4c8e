/*
 * Unit tests for common/principal.c: SPN parsing, comparison keys (every
 * pair of values Samba's ldap_spn "dodgy spns" and ldap_upn_sam_account
 * cases compare), sPNMappings.
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
#include <string.h>
#include <cmocka.h>

#include "principal.h"

static enum asa_name_error parse(TALLOC_CTX *mem_ctx, const char *s,
				 size_t len, struct asa_spn **spn)
{
	return asa_spn_parse(mem_ctx, (const uint8_t *)s, len, spn);
}

static void test_parse_two_and_three_parts(void **state)
{
	TALLOC_CTX *mem_ctx = talloc_new(NULL);
	struct asa_spn *spn = NULL;

	assert_int_equal(parse(mem_ctx, "HTTP/mail.example.com", 21, &spn),
			 ASA_NAME_OK);
	assert_int_equal(spn->num_parts, 2);
	assert_string_equal(spn->service_class, "HTTP");
	assert_string_equal(spn->instance, "mail.example.com");
	assert_null(spn->service_name);

	assert_int_equal(parse(mem_ctx, "ldap/dc1.x/DomainDnsZones.x", 27,
			       &spn), ASA_NAME_OK);
	assert_int_equal(spn->num_parts, 3);
	assert_string_equal(spn->service_class, "ldap");
	assert_string_equal(spn->instance, "dc1.x");
	assert_string_equal(spn->service_name, "DomainDnsZones.x");
	talloc_free(mem_ctx);
}

static void test_parse_empty_parts(void **state)
{
	TALLOC_CTX *mem_ctx = talloc_new(NULL);
	struct asa_spn *spn = NULL;

	assert_int_equal(parse(mem_ctx, "cifs/", 5, &spn), ASA_NAME_OK);
	assert_int_equal(spn->num_parts, 2);
	assert_string_equal(spn->instance, "");

	assert_int_equal(parse(mem_ctx, "/host/x.y.z", 11, &spn),
			 ASA_NAME_OK);
	assert_int_equal(spn->num_parts, 3);
	assert_string_equal(spn->service_class, "");
	assert_string_equal(spn->instance, "host");

	assert_int_equal(parse(mem_ctx, " //", 3, &spn), ASA_NAME_OK);
	assert_int_equal(spn->num_parts, 3);
	assert_string_equal(spn->service_class, " ");
	assert_int_equal(parse(mem_ctx, "//", 2, &spn),
			 ASA_NAME_ALL_PARTS_EMPTY);
	assert_null(spn);
	assert_int_equal(parse(mem_ctx, "/", 1, &spn),
			 ASA_NAME_ALL_PARTS_EMPTY);

	assert_int_equal(parse(mem_ctx, "", 0, &spn), ASA_NAME_EMPTY);
	assert_null(spn);
	talloc_free(mem_ctx);
}

static void test_parse_part_counts(void **state)
{
	TALLOC_CTX *mem_ctx = talloc_new(NULL);
	struct asa_spn *spn = NULL;

	assert_int_equal(parse(mem_ctx, "cifs", 4, &spn),
			 ASA_NAME_TOO_FEW_PARTS);
	assert_int_equal(parse(mem_ctx, " ", 1, &spn),
			 ASA_NAME_TOO_FEW_PARTS);
	/* full-width solidus is no separator */
	assert_int_equal(parse(mem_ctx, "cifs\xef\xbc\x8fsfic", 10, &spn),
			 ASA_NAME_TOO_FEW_PARTS);
	assert_int_equal(parse(mem_ctx, "a/b/c/d", 7, &spn),
			 ASA_NAME_TOO_MANY_PARTS);
	assert_int_equal(parse(mem_ctx, " ///", 4, &spn),
			 ASA_NAME_TOO_MANY_PARTS);
	assert_int_equal(parse(mem_ctx, "\n/\n/\n/\n", 7, &spn),
			 ASA_NAME_TOO_MANY_PARTS);
	assert_null(spn);
	talloc_free(mem_ctx);
}

static void test_parse_backslashes(void **state)
{
	TALLOC_CTX *mem_ctx = talloc_new(NULL);
	struct asa_spn *spn = NULL;

	/* a backslash escapes nothing: " /\//" has four parts */
	assert_int_equal(parse(mem_ctx, " /\\//", 5, &spn),
			 ASA_NAME_TOO_MANY_PARTS);
	assert_int_equal(parse(mem_ctx, "\\//", 3, &spn), ASA_NAME_OK);
	assert_int_equal(spn->num_parts, 3);
	assert_string_equal(spn->service_class, "\\");
	assert_int_equal(parse(mem_ctx, "cifs/\\\\\\x.y/", 12, &spn),
			 ASA_NAME_OK);
	assert_int_equal(spn->num_parts, 3);
	assert_string_equal(spn->instance, "\\\\\\x.y");
	talloc_free(mem_ctx);
}

static void test_parse_length(void **state)
{
	TALLOC_CTX *mem_ctx = talloc_new(NULL);
	struct asa_spn *spn = NULL;
	uint8_t buf[ASA_PRINCIPAL_MAX_LENGTH + 2];
	uint8_t *key = NULL;
	size_t klen = 0;

	memset(buf, 'a', sizeof(buf));
	buf[4] = '/';
	assert_int_equal(asa_spn_parse(mem_ctx, buf,
				       ASA_PRINCIPAL_MAX_LENGTH, &spn),
			 ASA_NAME_OK);
	assert_int_equal(asa_spn_parse(mem_ctx, buf,
				       ASA_PRINCIPAL_MAX_LENGTH + 1, &spn),
			 ASA_NAME_TOO_LONG);
	assert_null(spn);
	assert_int_equal(asa_upn_key(mem_ctx, buf,
				     ASA_PRINCIPAL_MAX_LENGTH + 1,
				     &key, &klen),
			 ASA_NAME_TOO_LONG);
	assert_null(key);
	talloc_free(mem_ctx);
}

static void test_parse_embedded_nul(void **state)
{
	TALLOC_CTX *mem_ctx = talloc_new(NULL);
	struct asa_spn *spn = NULL;

	/* string handling ends at the NUL: ":/b" */
	assert_int_equal(parse(mem_ctx, ":/b\0/b/b/b", 10, &spn),
			 ASA_NAME_OK);
	assert_int_equal(spn->num_parts, 2);
	assert_string_equal(spn->instance, "b");
	assert_int_equal(parse(mem_ctx, "\0cifs/x", 7, &spn),
			 ASA_NAME_EMPTY);
	talloc_free(mem_ctx);
}

static void test_sanitize(void **state)
{
	TALLOC_CTX *mem_ctx = talloc_new(NULL);
	uint8_t *out = NULL;
	size_t len = 0;
	bool changed = true;

	assert_int_equal(asa_name_sanitize(mem_ctx, (const uint8_t *)"a/b",
					   3, &out, &len, &changed),
			 ASA_NAME_OK);
	assert_false(changed);
	assert_int_equal(len, 3);
	assert_memory_equal(out, "a/b", 3);

	assert_int_equal(asa_name_sanitize(mem_ctx,
					   (const uint8_t *)":/b\0/b/b/b",
					   10, &out, &len, &changed),
			 ASA_NAME_OK);
	assert_true(changed);
	assert_int_equal(len, 3);
	assert_memory_equal(out, ":/b", 3);
	/* ldb values are NUL-terminated; samldb prints them with %s */
	assert_int_equal(out[len], '\0');
	assert_int_equal(talloc_get_size(out), len + 1);

	assert_int_equal(asa_name_sanitize(mem_ctx,
					   (const uint8_t *)":/\xcc\xcc",
					   4, &out, &len, &changed),
			 ASA_NAME_OK);
	assert_true(changed);
	assert_int_equal(len, 8);
	assert_memory_equal(out, ":/\xef\xbf\xbd\xef\xbf\xbd", 8);
	talloc_free(mem_ctx);
}

static void test_strerror(void **state)
{
	assert_string_equal(asa_name_strerror(ASA_NAME_OK), "ok");
	assert_non_null(strstr(asa_name_strerror(ASA_NAME_TOO_LONG), "1024"));
	assert_string_equal(asa_name_strerror((enum asa_name_error)99),
			    "unknown error");
}

/* Are two SPNs (C strings) equivalent? Unparseable ones keyed whole. */
static bool spn_equiv_n(const char *a, size_t alen,
			const char *b, size_t blen)
{
	TALLOC_CTX *mem_ctx = talloc_new(NULL);
	const char *v[2] = { a, b };
	size_t l[2] = { alen, blen };
	uint8_t *k[2] = { NULL, NULL };
	size_t kl[2] = { 0, 0 };
	bool eq;
	int i;

	for (i = 0; i < 2; i++) {
		struct asa_spn *spn = NULL;
		enum asa_name_error err;

		err = asa_spn_parse(mem_ctx, (const uint8_t *)v[i], l[i],
				    &spn);
		if (err == ASA_NAME_OK) {
			err = asa_spn_key(mem_ctx, spn, NULL, &k[i], &kl[i]);
		} else {
			err = asa_name_key(mem_ctx, (const uint8_t *)v[i],
					   l[i], '/', &k[i], &kl[i]);
		}
		assert_int_equal(err, ASA_NAME_OK);
		assert_non_null(k[i]);
	}
	eq = kl[0] == kl[1] && memcmp(k[0], k[1], kl[0]) == 0;
	talloc_free(mem_ctx);
	return eq;
}

static bool spn_equiv(const char *a, const char *b)
{
	return spn_equiv_n(a, strlen(a), b, strlen(b));
}

static void test_key_case_and_marks(void **state)
{
	assert_true(spn_equiv("HTTP/Mail.Example.COM", "http/mail.example.com"));
	/* row 5: 'ī' maps to 'i' */
	assert_true(spn_equiv("c\xc4\xab" "fs/\\\\\\x.example.com/",
			      "cifs/\\\\\\x.example.com/"));
	/* ' /HōST' and ' /ħØşt' are ' /host' */
	assert_true(spn_equiv(" /H\xc5\x8dST", " /host"));
	assert_true(spn_equiv(" /\xc4\xa7\xc3\x98\xc5\x9ft", " /host"));
}

static void test_key_kana_and_width(void **state)
{
	const char *tsu_kata = "\xc2\xaf\\_(\xe3\x83\x84)_/\xc2\xaf";
	const char *tsu_hira = "\xc2\xaf\\_(\xe3\x81\xa4)_/\xc2\xaf";
	const char *tsu_circ = "\xc2\xaf\\_(\xe3\x8b\xa1)_/\xc2\xaf";

	assert_true(spn_equiv(tsu_kata, tsu_hira));
	assert_true(spn_equiv(tsu_kata, tsu_circ));
	/* full-width letters are the letters */
	assert_true(spn_equiv("\xef\xbd\x88ost/x", "HOST/x"));
}

static void test_key_differences(void **state)
{
	assert_false(spn_equiv(" /H0ST", " /host"));		/* zero */
	assert_false(spn_equiv(" /\xd0\x9doST", " /host"));	/* Cyrillic */
	assert_false(spn_equiv("  /host", " /host"));		/* 2 spaces */
	assert_false(spn_equiv("\xc2\xa0/host", " /host"));	/* NBSP */
	assert_false(spn_equiv("http/mail.x", "http/mail-x"));
	assert_false(spn_equiv("http/mail.x", "http/mailx"));
	assert_false(spn_equiv("cifs/x", "cifs/x/"));
	assert_false(spn_equiv("cifs//x", "cifs/x"));
	assert_false(spn_equiv("dns/x", "dns/x:53"));
	assert_false(spn_equiv("a/b/c", "a/bc"));
	/* the full-width solidus is no separator, and no '/' */
	assert_false(spn_equiv("cifs\xef\xbc\x8fsfic", "cifs/sfic"));
	assert_false(spn_equiv("host/bean/bean", "host/bean"));
}

static void test_key_opaque_bytes(void **state)
{
	const char *bad = "cifs/\x11\xaa\xbb\xcc\\example.com";
	const char *bad2 = "CIFS/\x11\xaa\xbb\xcc\\EXAMPLE.com";

	/* not UTF-8: equal to itself and its ASCII case variant ... */
	assert_true(spn_equiv(bad, bad));
	assert_true(spn_equiv(bad, bad2));
	/* ... and to nothing else */
	assert_false(spn_equiv(bad, "cifs/\x11\\example.com"));
	assert_false(spn_equiv(":/\xcc\xcc\xcc\xcc", ":/\xcc\xcc\xcc"));
	assert_false(spn_equiv(":/\xcc\xcc", ":/\xef\xbf\xbd\xef\xbf\xbd"));
	/* a NUL ends the value */
	assert_true(spn_equiv_n(":/b\0/b/b/b", 10, ":/b", 3));
}

static void test_key_alias(void **state)
{
	TALLOC_CTX *mem_ctx = talloc_new(NULL);
	struct asa_spn *cifs = NULL;
	struct asa_spn *host = NULL;
	uint8_t *k1 = NULL;
	uint8_t *k2 = NULL;
	size_t l1 = 0, l2 = 0;

	assert_int_equal(parse(mem_ctx, "cifs/fs.x/y", 11, &cifs),
			 ASA_NAME_OK);
	assert_int_equal(parse(mem_ctx, "HOST/FS.x/y", 11, &host),
			 ASA_NAME_OK);
	assert_int_equal(asa_spn_key(mem_ctx, cifs, "host", &k1, &l1),
			 ASA_NAME_OK);
	assert_int_equal(asa_spn_key(mem_ctx, host, NULL, &k2, &l2),
			 ASA_NAME_OK);
	assert_int_equal(l1, l2);
	assert_memory_equal(k1, k2, l1);
	assert_int_equal(asa_spn_key(mem_ctx, cifs, NULL, &k1, &l1),
			 ASA_NAME_OK);
	assert_false(l1 == l2 && memcmp(k1, k2, l1) == 0);
	talloc_free(mem_ctx);
}

/*
 * asa_spn_key_with_class() must give exactly what keying the SPN with
 * the other class gives, for two- and three-part SPNs, marks, opaque
 * bytes and long instances (past the stack buffers), and classes that
 * are cached and that are not.
 */
static void test_key_with_class(void **state)
{
	static const struct {
		const char *spn;
		size_t len;
		const char *other;
	} cases[] = {
		{ "cifs/fs.x", 9, "host" },
		{ "http/mail.x/y", 13, "host" },
		{ "cÄ«fs/fÄ«s.x", 13, "HoSt" },
		{ "host/ÌÌ.x", 9, "cifs" },
		{ "Ì/y", 3, "host" },
		{ "host/y", 6, "ÌÌ" },
		{ "www//", 5, "host" },
		{ "h/x", 3, "averyveryveryverylongserviceclassname" },
	};
	TALLOC_CTX *mem_ctx = talloc_new(NULL);
	char *long_spn = NULL;
	unsigned int i, round;

	/* an instance longer than the stack buffers: UTF-8 text in the
	 * first round, bytes that are not UTF-8 in the second */
	long_spn = talloc_strdup(mem_ctx, "cifs/");
	for (i = 0; i < 500; i++) {
		long_spn = talloc_asprintf_append(long_spn, "%s",
						  i % 2 ? "\xc4\xab" : "x");
	}
	assert_non_null(long_spn);

	/* twice: the second round takes the class keys from the cache */
	for (round = 0; round < 2; round++) {
		for (i = 0; i <= sizeof(cases) / sizeof(cases[0]); i++) {
			const char *v = i < sizeof(cases) / sizeof(cases[0]) ?
				cases[i].spn : long_spn;
			size_t vlen = i < sizeof(cases) / sizeof(cases[0]) ?
				cases[i].len : strlen(long_spn);
			const char *other = i < sizeof(cases) /
				sizeof(cases[0]) ? cases[i].other : "host";
			struct asa_spn *spn = NULL;
			uint8_t *k = NULL, *k1 = NULL, *k2 = NULL;
			size_t l = 0, l1 = 0, l2 = 0;

			assert_int_equal(parse(mem_ctx, v, vlen, &spn),
					 ASA_NAME_OK);
			assert_int_equal(asa_spn_key(mem_ctx, spn, NULL, &k,
						     &l), ASA_NAME_OK);
			/* first: in round one its class is not cached yet */
			assert_int_equal(asa_spn_key_with_class(mem_ctx, k, l,
								other, &k2,
								&l2),
					 ASA_NAME_OK);
			assert_int_equal(asa_spn_key(mem_ctx, spn, other,
						     &k1, &l1), ASA_NAME_OK);
			assert_int_equal(l1, l2);
			assert_memory_equal(k1, k2, l1);
		}
		long_spn[5] = '\xcc';
	}
	talloc_free(mem_ctx);
}

static bool upn_equiv(const char *a, const char *b)
{
	TALLOC_CTX *mem_ctx = talloc_new(NULL);
	uint8_t *k1 = NULL, *k2 = NULL;
	size_t l1 = 0, l2 = 0;
	bool eq;

	assert_int_equal(asa_upn_key(mem_ctx, (const uint8_t *)a, strlen(a),
				     &k1, &l1), ASA_NAME_OK);
	assert_int_equal(asa_upn_key(mem_ctx, (const uint8_t *)b, strlen(b),
				     &k2, &l2), ASA_NAME_OK);
	eq = l1 == l2 && memcmp(k1, k2, l1) == 0;
	talloc_free(mem_ctx);
	return eq;
}

static void test_upn_keys(void **state)
{
	TALLOC_CTX *mem_ctx = talloc_new(NULL);
	uint8_t *k = NULL;
	size_t l = 0;

	assert_true(upn_equiv("a@SAMBA.EXAMPLE.COM", "A@samba.example.com"));
	assert_true(upn_equiv("noat", "NOAT"));
	assert_true(upn_equiv("j\xc3\xb6rg@x.y", "JORG@X.Y"));
	/* small and wide commercial at are no '@' */
	assert_false(upn_equiv("smallat\xef\xb9\xab" "x.y", "smallat@x.y"));
	assert_false(upn_equiv("wideat\xef\xbc\xa0" "x.y", "wideat@x.y"));
	/* the tag '@' is ignorable, but '@' is not */
	assert_false(upn_equiv("tagat\xf3\xa0\x81\x80" "x.y", "tagat@x.y"));
	assert_false(upn_equiv("a@x.y", "a @x.y"));
	assert_false(upn_equiv("a@x.y", "a@x.y@x.y"));
	assert_false(upn_equiv("@x.y", "x.y@"));
	assert_int_equal(asa_upn_key(mem_ctx, (const uint8_t *)"", 0, &k, &l),
			 ASA_NAME_EMPTY);
	talloc_free(mem_ctx);
}

static void test_spn_mappings(void **state)
{
	TALLOC_CTX *mem_ctx = talloc_new(NULL);
	const char *values[] = {
		"host=alerter,http, cifs ,www",
		"not a mapping",
		"foo=ldap,cifs",
		"cifs=host,alerter",
	};
	struct asa_spn_mappings *m = NULL;
	const char * const *a = NULL;

	m = asa_spn_mappings_parse(mem_ctx, values, 4);
	assert_non_null(m);
	assert_string_equal(asa_spn_mappings_canonical(m, "cifs"), "host");
	assert_string_equal(asa_spn_mappings_canonical(m, "HTTP"), "host");
	assert_string_equal(asa_spn_mappings_canonical(m, "ldap"), "foo");
	assert_null(asa_spn_mappings_canonical(m, "host"));
	assert_null(asa_spn_mappings_canonical(m, "nfs"));
	/* equivalent spellings resolve the same */
	assert_string_equal(asa_spn_mappings_canonical(m, "c\xc4\xab" "fs"),
			    "host");

	a = asa_spn_mappings_aliases(m, "HOST");
	assert_string_equal(a[0], "alerter");
	assert_string_equal(a[1], "http");
	assert_string_equal(a[2], "cifs");
	assert_string_equal(a[3], "www");
	assert_null(a[4]);
	/* first come, first served: cifs is host's alias, not canonical */
	a = asa_spn_mappings_aliases(m, "cifs");
	assert_null(a[0]);
	a = asa_spn_mappings_aliases(m, "foo");
	assert_string_equal(a[0], "ldap");
	assert_string_equal(a[1], "cifs");
	assert_null(a[2]);

	m = asa_spn_mappings_parse(mem_ctx, NULL, 0);
	assert_non_null(m);
	assert_null(asa_spn_mappings_canonical(m, "cifs"));
	assert_null(asa_spn_mappings_aliases(m, "host")[0]);
	talloc_free(mem_ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_two_and_three_parts),
		cmocka_unit_test(test_parse_empty_parts),
		cmocka_unit_test(test_parse_part_counts),
		cmocka_unit_test(test_parse_backslashes),
		cmocka_unit_test(test_parse_length),
		cmocka_unit_test(test_parse_embedded_nul),
		cmocka_unit_test(test_sanitize),
		cmocka_unit_test(test_strerror),
		cmocka_unit_test(test_key_case_and_marks),
		cmocka_unit_test(test_key_kana_and_width),
		cmocka_unit_test(test_key_differences),
		cmocka_unit_test(test_key_opaque_bytes),
		cmocka_unit_test(test_key_alias),
		cmocka_unit_test(test_key_with_class),
		cmocka_unit_test(test_upn_keys),
		cmocka_unit_test(test_spn_mappings),
	};
	int rc;

	cmocka_set_message_output(CM_OUTPUT_STDOUT);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	asa_principal_cleanup();
	return rc;
}
