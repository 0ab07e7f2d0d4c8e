/*
 * Unit tests of common/sd.c (the trust rule on crafted security
 * descriptors), common/safe_text.c and the file rule of common/trust.c.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>
#include <talloc.h>

#include "sd.h"
#include "safe_text.h"
#include "trust.h"

#define DOM "S-1-5-21-1111-2222-3333"
#define ROOT "S-1-5-21-4444-5555-6666"
#define MACHINE DOM "-1105"
#define DC_ACCOUNT DOM "-1000"
#define SCP_CLASS "28630ec1-41d5-11d1-a9c1-0000f80367c1"
#define PRINTQUEUE "bf967aa8-0de6-11d0-a285-00aa003049e2"
#define KEYWORDS "bf967993-0de6-11d0-a285-00aa003049e2"
#define USERCERT "bf967a7f-0de6-11d0-a285-00aa003049e2"

/* access masks, as in Samba's security.idl */
#define CC	0x00000001
#define DC	0x00000002
#define WP	0x00000020
#define DT	0x00000040
#define RP	0x00000010
#define RC	0x00020000
#define SD	0x00010000
#define WD	0x00040000
#define WO	0x00080000
#define GA	0x10000000
#define FULL	0x000F01FF

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define ALLOW		0x00
#define DENY		0x01
#define ALLOW_OBJ	0x05
#define INHERIT_ONLY	0x08
#define INHERITED	0x10

struct ace_spec {
	uint8_t type;
	uint8_t flags;
	uint32_t mask;
	const char *object;	/* GUID or NULL */
	const char *sid;
};

static size_t sid_put(uint8_t *p, const char *text)
{
	struct asa_sid sid;
	size_t i;

	assert_true(asa_sid_parse(text, &sid));
	p[0] = 1;
	p[1] = sid.num_auths;
	memcpy(p + 2, sid.id_auth, 6);
	for (i = 0; i < sid.num_auths; i++) {
		uint32_t v = sid.sub_auths[i];

		p[8 + 4 * i] = v & 0xff;
		p[9 + 4 * i] = (v >> 8) & 0xff;
		p[10 + 4 * i] = (v >> 16) & 0xff;
		p[11 + 4 * i] = v >> 24;
	}
	return 8 + 4 * (size_t)sid.num_auths;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
	p[2] = (v >> 16) & 0xff;
	p[3] = v >> 24;
}

/* A self-relative descriptor: owner and DACL; *len its size. */
static uint8_t *build(TALLOC_CTX *mem_ctx, const char *owner,
		      const struct ace_spec *aces, size_t n, size_t *len)
{
	uint8_t *b = talloc_zero_array(mem_ctx, uint8_t, 8192);
	size_t pos = 20, acl, i;

	assert_non_null(b);
	b[0] = 1;
	b[2] = 0x04;		/* DACL present */
	b[3] = 0x80;		/* self-relative */
	put32(b + 4, pos);
	pos += sid_put(b + pos, owner);
	acl = pos;
	put32(b + 16, acl);
	b[acl] = 4;
	pos = acl + 8;
	for (i = 0; i < n; i++) {
		size_t start = pos;

		b[pos] = aces[i].type;
		b[pos + 1] = aces[i].flags;
		put32(b + pos + 4, aces[i].mask);
		pos += 8;
		if (aces[i].type == ALLOW_OBJ) {
			put32(b + pos, aces[i].object != NULL ? 1 : 0);
			pos += 4;
			if (aces[i].object != NULL) {
				assert_true(asa_guid_parse(aces[i].object,
							   b + pos));
				pos += 16;
			}
		}
		pos += sid_put(b + pos, aces[i].sid);
		b[start + 2] = (pos - start) & 0xff;
		b[start + 3] = (pos - start) >> 8;
	}
	b[acl + 2] = (pos - acl) & 0xff;
	b[acl + 3] = (pos - acl) >> 8;
	b[acl + 4] = n;
	*len = pos;
	return b;
}

static struct asa_trust_sids trusted;
static struct asa_sid dc_sid;

static int setup(void **state)
{
	assert_true(asa_sid_parse(DOM, &trusted.domain));
	assert_true(asa_sid_parse(ROOT, &trusted.root_domain));
	assert_true(asa_sid_parse(DC_ACCOUNT, &dc_sid));
	trusted.dcs = &dc_sid;
	trusted.num_dcs = 1;
	return 0;
}

/* The rule's verdict on (owner, aces) for kind, self MACHINE. */
static char *verdict(TALLOC_CTX *mem_ctx, const char *owner,
		     const struct ace_spec *aces, size_t n,
		     enum asa_trust_kind kind)
{
	struct asa_sd *sd = NULL;
	struct asa_sid self;
	size_t len;
	uint8_t *b = build(mem_ctx, owner, aces, n, &len);

	assert_int_equal(asa_sd_parse(mem_ctx, b, len, &sd), 0);
	assert_true(asa_sid_parse(MACHINE, &self));
	return asa_trust_check_sd(mem_ctx, &trusted, sd, kind, &self);
}

/* Samba's default DACL of a computer, in short. */
static const struct ace_spec computer_default[] = {
	{ ALLOW, 0, FULL, NULL, DOM "-512" },
	{ ALLOW, 0, FULL, NULL, "S-1-5-32-548" },	/* Account Operators */
	{ ALLOW, 0, FULL, NULL, "S-1-5-18" },
	{ ALLOW, 0, RP | RC, NULL, "S-1-5-11" },
	{ ALLOW, 0, CC | DC, NULL, "S-1-5-10" },	/* (A;;CCDC;;;PS) */
	{ ALLOW_OBJ, 0, CC | DC, PRINTQUEUE, "S-1-5-32-550" },
	{ ALLOW_OBJ, 0, RP | WP, USERCERT, "S-1-5-32-549" },
	{ ALLOW, INHERITED, FULL, NULL, ROOT "-519" },
	{ ALLOW, INHERITED, FULL, NULL, "S-1-5-32-544" },
};

static void test_computer_default(void **state)
{
	TALLOC_CTX *mem_ctx = talloc_new(NULL);
	char *why = verdict(mem_ctx, DOM "-512", computer_default,
			    ARRAY_SIZE(computer_default), ASA_TRUST_ACCOUNT);

	/* Account Operators come first, then SELF */
	assert_non_null(why);
	assert_non_null(strstr(why, "S-1-5-32-548"));
	why = verdict(mem_ctx, DOM "-512", computer_default + 2,
		      ARRAY_SIZE(computer_default) - 2, ASA_TRUST_ACCOUNT);
	assert_non_null(why);
	assert_non_null(strstr(why, "SELF"));
	assert_non_null(strstr(why, "create samba-asa objects"));
	talloc_free(mem_ctx);
}

static void test_strip(void **state)
{
	TALLOC_CTX *mem_ctx = talloc_new(NULL);
	struct asa_sd *sd = NULL, *again = NULL;
	struct asa_sid self, da, owner;
	uint8_t *b = NULL, *out = NULL;
	size_t len, out_len, i;
	bool changed = false;

	assert_true(asa_sid_parse(MACHINE, &self));
	assert_true(asa_sid_parse(DOM "-512", &da));
	b = build(mem_ctx, MACHINE, computer_default,
		  ARRAY_SIZE(computer_default), &len);
	assert_int_equal(asa_sd_parse(mem_ctx, b, len, &sd), 0);
	assert_int_equal(asa_trust_strip_sd(sd, &trusted, ASA_TRUST_ACCOUNT,
					    &self, &da, &changed), 0);
	assert_true(changed);
	assert_int_equal(asa_sd_encode(mem_ctx, sd, &out, &out_len), 0);
	assert_int_equal(asa_sd_parse(mem_ctx, out, out_len, &again), 0);
	assert_null(asa_trust_check_sd(mem_ctx, &trusted, again,
				       ASA_TRUST_ACCOUNT, &self));
	owner = again->owner;
	assert_true(asa_sid_equal(&owner, &da));
	/* SELF's ACE is gone; Account Operators keep what is harmless */
	assert_int_equal(again->num_aces, ARRAY_SIZE(computer_default) - 1);
	for (i = 0; i < again->num_aces; i++) {
		char *s = asa_sid_string(mem_ctx, &again->aces[i].sid);

		assert_string_not_equal(s, "S-1-5-10");
		if (strcmp(s, "S-1-5-32-548") == 0) {
			assert_int_equal(again->aces[i].mask & (CC | DC | WD |
						WO | WP | DT), 0);
			assert_int_not_equal(again->aces[i].mask & RP, 0);
		}
		if (strcmp(s, "S-1-5-32-550") == 0) {
			assert_int_equal(again->aces[i].mask, CC | DC);
		}
	}
	/* stripping again changes nothing */
	assert_int_equal(asa_trust_strip_sd(again, &trusted,
					    ASA_TRUST_ACCOUNT, &self, &da,
					    &changed), 0);
	assert_false(changed);
	talloc_free(mem_ctx);
}

static void test_object_types(void **state)
{
	TALLOC_CTX *mem_ctx = talloc_new(NULL);
	struct ace_spec a[] = {
		{ ALLOW, 0, FULL, NULL, DOM "-512" },
		{ ALLOW_OBJ, 0, CC, PRINTQUEUE, DOM "-1200" },
	};

	assert_null(verdict(mem_ctx, DOM "-512", a, 2, ASA_TRUST_ACCOUNT));
	a[1].object = SCP_CLASS;
	assert_non_null(verdict(mem_ctx, DOM "-512", a, 2,
				ASA_TRUST_ACCOUNT));
	a[1].object = NULL;	/* every class */
	assert_non_null(verdict(mem_ctx, DOM "-512", a, 2,
				ASA_TRUST_ACCOUNT));
	/* an SCP: writing its keywords, or anything else */
	a[1] = (struct ace_spec) { ALLOW_OBJ, 0, WP, KEYWORDS, DOM "-1200" };
	assert_non_null(verdict(mem_ctx, DOM "-512", a, 2, ASA_TRUST_SCP));
	a[1].object = USERCERT;
	assert_null(verdict(mem_ctx, DOM "-512", a, 2, ASA_TRUST_SCP));
	a[1].object = NULL;
	assert_non_null(verdict(mem_ctx, DOM "-512", a, 2, ASA_TRUST_SCP));
	/* deleting an SCP */
	a[1] = (struct ace_spec) { ALLOW, 0, SD, NULL, "S-1-5-11" };
	assert_non_null(verdict(mem_ctx, DOM "-512", a, 2, ASA_TRUST_SCP));
	talloc_free(mem_ctx);
}

static void test_flags_and_principals(void **state)
{
	TALLOC_CTX *mem_ctx = talloc_new(NULL);
	struct ace_spec a[] = {
		{ ALLOW, 0, FULL, NULL, DOM "-512" },
		{ ALLOW, INHERIT_ONLY, CC, NULL, DOM "-1200" },
	};
	char *why = NULL;

	/* inherit-only: not on this object */
	assert_null(verdict(mem_ctx, DOM "-512", a, 2, ASA_TRUST_ACCOUNT));
	a[1].flags = INHERITED;
	why = verdict(mem_ctx, DOM "-512", a, 2, ASA_TRUST_ACCOUNT);
	assert_non_null(why);
	assert_non_null(strstr(why, "inherited"));
	assert_non_null(strstr(why, DOM "-1200"));
	/* a deny ACE grants nothing */
	a[1] = (struct ace_spec) { DENY, 0, FULL, NULL, "S-1-1-0" };
	assert_null(verdict(mem_ctx, DOM "-512", a, 2, ASA_TRUST_ACCOUNT));
	/* GENERIC_ALL */
	a[1] = (struct ace_spec) { ALLOW, 0, GA, NULL, "S-1-1-0" };
	assert_non_null(verdict(mem_ctx, DOM "-512", a, 2, ASA_TRUST_SCP));
	/* CREATOR OWNER and SELF on an SCP (which has no SID): inert */
	a[1] = (struct ace_spec) { ALLOW, 0, FULL, NULL, "S-1-3-0" };
	assert_null(verdict(mem_ctx, DOM "-512", a, 2, ASA_TRUST_ACCOUNT));
	a[1].sid = "S-1-5-10";
	assert_null(verdict(mem_ctx, DOM "-512", a, 2, ASA_TRUST_SCP));
	assert_non_null(verdict(mem_ctx, DOM "-512", a, 2,
				ASA_TRUST_ACCOUNT));
	/* the trusted ones */
	a[1].sid = ROOT "-519";
	assert_null(verdict(mem_ctx, DOM "-512", a, 2, ASA_TRUST_ACCOUNT));
	a[1].sid = DOM "-519";	/* -519 of a domain that is not the root */
	assert_non_null(verdict(mem_ctx, DOM "-512", a, 2,
				ASA_TRUST_ACCOUNT));
	a[1].sid = DOM "-516";
	assert_null(verdict(mem_ctx, DOM "-512", a, 2, ASA_TRUST_ACCOUNT));
	a[1].sid = DC_ACCOUNT;
	assert_null(verdict(mem_ctx, DOM "-512", a, 2, ASA_TRUST_ACCOUNT));
	a[1].sid = "S-1-5-9";
	assert_null(verdict(mem_ctx, DOM "-512", a, 2, ASA_TRUST_ACCOUNT));
	a[1].sid = DOM "-500";	/* a user, even Administrator */
	assert_non_null(verdict(mem_ctx, DOM "-512", a, 2,
				ASA_TRUST_ACCOUNT));
	/* the owner */
	why = verdict(mem_ctx, MACHINE, a, 1, ASA_TRUST_SCP);
	assert_non_null(why);
	assert_non_null(strstr(why, "owned by " MACHINE));
	assert_null(verdict(mem_ctx, "S-1-5-32-544", a, 1, ASA_TRUST_SCP));
	talloc_free(mem_ctx);
}

static void test_malformed(void **state)
{
	TALLOC_CTX *mem_ctx = talloc_new(NULL);
	struct asa_sd *sd = NULL;
	size_t len, cut;
	uint8_t *b = build(mem_ctx, DOM "-512", computer_default,
			   ARRAY_SIZE(computer_default), &len);

	/* every truncation parses cleanly or is refused, never read past */
	for (cut = 0; cut < len; cut++) {
		uint8_t *copy = talloc_memdup(mem_ctx, b, cut);
		int ret = asa_sd_parse(mem_ctx, copy, cut, &sd);

		assert_true(ret == 0 || ret == EINVAL);
		if (ret == 0) {
			TALLOC_FREE(sd);
		}
		TALLOC_FREE(copy);
	}
	/* not self-relative */
	b[3] = 0;
	assert_int_equal(asa_sd_parse(mem_ctx, b, len, &sd), EINVAL);
	b[3] = 0x80;
	/* an ACE whose size runs past the ACL */
	b[20 + 28 + 8 + 2] = 0xff;
	assert_int_equal(asa_sd_parse(mem_ctx, b, len, &sd), EINVAL);
	talloc_free(mem_ctx);
}

static void test_unknown_ace_type(void **state)
{
	TALLOC_CTX *mem_ctx = talloc_new(NULL);
	struct ace_spec a[] = {
		{ ALLOW, 0, FULL, NULL, DOM "-512" },
		{ 0x20, 0, 0, NULL, DOM "-512" },
	};

	assert_non_null(verdict(mem_ctx, DOM "-512", a, 2, ASA_TRUST_SCP));
	talloc_free(mem_ctx);
}

static void test_sid_guid(void **state)
{
	TALLOC_CTX *mem_ctx = talloc_new(NULL);
	struct asa_sid s;
	uint8_t g[16];
	static const uint8_t want[16] = {
		0xc1, 0x0e, 0x63, 0x28, 0xd5, 0x41, 0xd1, 0x11,
		0xa9, 0xc1, 0x00, 0x00, 0xf8, 0x03, 0x67, 0xc1
	};

	assert_true(asa_sid_parse(DOM "-512", &s));
	assert_string_equal(asa_sid_string(mem_ctx, &s), DOM "-512");
	assert_false(asa_sid_parse("S-1-5-", &s));
	assert_false(asa_sid_parse("S-1-5-x", &s));
	assert_false(asa_sid_parse("S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14"
				   "-15-16", &s));
	assert_true(asa_guid_parse(SCP_CLASS, g));
	assert_memory_equal(g, want, 16);
	assert_false(asa_guid_parse("28630ec1-41d5-11d1-a9c1-0000f80367c", g));
	talloc_free(mem_ctx);
}

static void test_safe_text(void **state)
{
	TALLOC_CTX *mem_ctx = talloc_new(NULL);

	assert_string_equal(asa_safe_text(mem_ctx, "m1.example.com"),
			    "m1.example.com");
	assert_string_equal(asa_safe_text(mem_ctx, "a\033[8mb"),
			    "a\\x1b[8mb");
	assert_string_equal(asa_safe_text(mem_ctx, "a\\b"), "a\\\\b");
	assert_string_equal(asa_safe_text(mem_ctx, "tab\there\n"),
			    "tab\\x09here\\x0a");
	assert_string_equal(asa_safe_text(mem_ctx, "del\177"),
			    "del\\x7f");
	/* valid UTF-8 stays; C1 controls and bidi overrides do not */
	assert_string_equal(asa_safe_text(mem_ctx, "w\xc3\xa9" "b"),
			    "w\xc3\xa9" "b");
	assert_string_equal(asa_safe_text(mem_ctx, "\xc2\x9b" "2J"),
			    "\\u009b2J");
	assert_string_equal(asa_safe_text(mem_ctx, "x\xe2\x80\xae" "y"),
			    "x\\u202ey");
	/* invalid: a lone byte, an overlong '/', a surrogate, cut short */
	assert_string_equal(asa_safe_text(mem_ctx, "\xff"), "\\xff");
	assert_string_equal(asa_safe_text(mem_ctx, "\xc0\xaf"),
			    "\\xc0\\xaf");
	assert_string_equal(asa_safe_text(mem_ctx, "\xed\xa0\x80"),
			    "\\xed\\xa0\\x80");
	assert_string_equal(asa_safe_text(mem_ctx, "\xe2\x80"),
			    "\\xe2\\x80");
	assert_string_equal(asa_safe_text(mem_ctx, NULL), "(null)");
	talloc_free(mem_ctx);
}

static void test_local_path(void **state)
{
	TALLOC_CTX *mem_ctx = talloc_new(NULL);
	char dir[] = "/tmp/test_sd.XXXXXX";
	char *path = NULL, *why = NULL;

	if (geteuid() != 0) {
		skip();
	}
	assert_non_null(mkdtemp(dir));
	path = talloc_asprintf(mem_ctx, "%s/k.keytab", dir);
	/* root's 0700 directory under the sticky /tmp: fine */
	assert_int_equal(asa_local_path_check(mem_ctx, path, &why), 0);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_not_equal(asa_local_path_check(mem_ctx, path, &why), 0);
	assert_non_null(strstr(why, "not a regular file"));
	unlink(path);
	assert_int_equal(symlink("/etc/passwd", path), 0);
	assert_int_not_equal(asa_local_path_check(mem_ctx, path, &why), 0);
	unlink(path);
	assert_int_equal(chmod(dir, 01777), 0);
	assert_int_not_equal(asa_local_path_check(mem_ctx, path, &why), 0);
	assert_non_null(strstr(why, "other than root"));
	assert_int_equal(chmod(dir, 0700), 0);
	assert_int_not_equal(asa_local_path_check(mem_ctx, "k.keytab", &why),
			     0);
	rmdir(dir);
	talloc_free(mem_ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_computer_default),
		cmocka_unit_test(test_strip),
		cmocka_unit_test(test_object_types),
		cmocka_unit_test(test_flags_and_principals),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_unknown_ace_type),
		cmocka_unit_test(test_sid_guid),
		cmocka_unit_test(test_safe_text),
		cmocka_unit_test(test_local_path),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
