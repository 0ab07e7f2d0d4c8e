/*
 * Unit tests of common/keys.c: password generation, the computer-account
 * salt, and key derivation against the RFC 3962 appendix B known answers.
 *
 * The vectors are public test data; they are the only key bytes any
 * samba-asa test prints (cmocka shows them on a mismatch).
 */

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include <talloc.h>
#include <krb5.h>

#include "keys.h"

struct s2k_vector {
	const char *password;
	size_t password_length;
	const char *salt;
	size_t salt_length;
	uint32_t iterations;
	krb5_enctype enctype;
	const char *key;	/* expected key bytes */
	size_t key_length;
};

#define STR(s) s, sizeof(s) - 1
#define X64 "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
#define AES128 ENCTYPE_AES128_CTS_HMAC_SHA1_96
#define AES256 ENCTYPE_AES256_CTS_HMAC_SHA1_96

/* RFC 3962 appendix B: the "128-bit AES key" and "256-bit AES key" rows. */
static const struct s2k_vector rfc3962[] = {
	{ STR("password"), STR("ATHENA.MIT.EDUraeburn"), 1, AES128,
	  STR("\x42\x26\x3c\x6e\x89\xf4\xfc\x28\xb8\xdf\x68\xee\x09\x79\x9f"
	      "\x15") },
	{ STR("password"), STR("ATHENA.MIT.EDUraeburn"), 1, AES256,
	  STR("\xfe\x69\x7b\x52\xbc\x0d\x3c\xe1\x44\x32\xba\x03\x6a\x92\xe6"
	      "\x5b\xbb\x52\x28\x09\x90\xa2\xfa\x27\x88\x39\x98\xd7\x2a\xf3"
	      "\x01\x61") },
	{ STR("password"), STR("ATHENA.MIT.EDUraeburn"), 2, AES128,
	  STR("\xc6\x51\xbf\x29\xe2\x30\x0a\xc2\x7f\xa4\x69\xd6\x93\xbd\xda"
	      "\x13") },
	{ STR("password"), STR("ATHENA.MIT.EDUraeburn"), 2, AES256,
	  STR("\xa2\xe1\x6d\x16\xb3\x60\x69\xc1\x35\xd5\xe9\xd2\xe2\x5f\x89"
	      "\x61\x02\x68\x56\x18\xb9\x59\x14\xb4\x67\xc6\x76\x22\x22\x58"
	      "\x24\xff") },
	{ STR("password"), STR("ATHENA.MIT.EDUraeburn"), 1200, AES128,
	  STR("\x4c\x01\xcd\x46\xd6\x32\xd0\x1e\x6d\xbe\x23\x0a\x01\xed\x64"
	      "\x2a") },
	{ STR("password"), STR("ATHENA.MIT.EDUraeburn"), 1200, AES256,
	  STR("\x55\xa6\xac\x74\x0a\xd1\x7b\x48\x46\x94\x10\x51\xe1\xe8\xb0"
	      "\xa7\x54\x8d\x93\xb0\xab\x30\xa8\xbc\x3f\xf1\x62\x80\x38\x2b"
	      "\x8c\x2a") },
	{ STR("password"), STR("\x12\x34\x56\x78\x78\x56\x34\x12"), 5, AES128,
	  STR("\xe9\xb2\x3d\x52\x27\x37\x47\xdd\x5c\x35\xcb\x55\xbe\x61\x9d"
	      "\x8e") },
	{ STR("password"), STR("\x12\x34\x56\x78\x78\x56\x34\x12"), 5, AES256,
	  STR("\x97\xa4\xe7\x86\xbe\x20\xd8\x1a\x38\x2d\x5e\xbc\x96\xd5\x90"
	      "\x9c\xab\xcd\xad\xc8\x7c\xa4\x8f\x57\x45\x04\x15\x9f\x16\xc3"
	      "\x6e\x31") },
	{ STR(X64), STR("pass phrase equals block size"), 1200, AES128,
	  STR("\x59\xd1\xbb\x78\x9a\x82\x8b\x1a\xa5\x4e\xf9\xc2\x88\x3f\x69"
	      "\xed") },
	{ STR(X64), STR("pass phrase equals block size"), 1200, AES256,
	  STR("\x89\xad\xee\x36\x08\xdb\x8b\xc7\x1f\x1b\xfb\xfe\x45\x94\x86"
	      "\xb0\x56\x18\xb7\x0c\xba\xe2\x20\x92\x53\x4e\x56\xc5\x53\xba"
	      "\x4b\x34") },
	{ STR(X64 "X"), STR("pass phrase exceeds block size"), 1200, AES128,
	  STR("\xcb\x80\x05\xdc\x5f\x90\x17\x9a\x7f\x02\x10\x4c\x00\x18\x75"
	      "\x1d") },
	{ STR(X64 "X"), STR("pass phrase exceeds block size"), 1200, AES256,
	  STR("\xd7\x8c\x5c\x9c\xb8\x72\xa8\xc9\xda\xd4\x69\x7f\x0b\xb5\xb2"
	      "\xd2\x14\x96\xc8\x2b\xeb\x2c\xae\xda\x21\x12\xfc\xee\xa0\x57"
	      "\x40\x1b") },
	/* g-clef (U+1D11E) as UTF-8 */
	{ STR("\xf0\x9d\x84\x9e"), STR("EXAMPLE.COMpianist"), 50, AES128,
	  STR("\xf1\x49\xc1\xf2\xe1\x54\xa7\x34\x52\xd4\x3e\x7f\xe6\x2a\x56"
	      "\xe5") },
	{ STR("\xf0\x9d\x84\x9e"), STR("EXAMPLE.COMpianist"), 50, AES256,
	  STR("\x4b\x6d\x98\x39\xf8\x44\x06\xdf\x1f\x09\xcc\x16\x6d\xb4\xb8"
	      "\x3c\x57\x18\x48\xb7\x84\xa3\xd6\xbd\xc3\x46\x58\x9a\x3e\x39"
	      "\x3f\x9e") },
};

/*
 * MIT refuses PBKDF2 iteration counts below its default (4096) unless its
 * own test switch is set; RFC 3962's vectors use 1, 2, 5, 50 and 1200.
 * Only the known-answer tests turn it on, and turn it off again.
 */
extern krb5_boolean k5_allow_weak_pbkdf2iter;

struct test_ctx {
	krb5_context krb5;
	TALLOC_CTX *mem;
};

static int setup(void **state)
{
	struct test_ctx *t = talloc_zero(NULL, struct test_ctx);

	assert_non_null(t);
	assert_int_equal(krb5_init_context(&t->krb5), 0);
	t->mem = talloc_new(t);
	assert_non_null(t->mem);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct test_ctx *t = *state;

	krb5_free_context(t->krb5);
	TALLOC_FREE(t);
	return 0;
}

static void check_vector(struct test_ctx *t, const struct s2k_vector *v)
{
	struct asa_key *key = NULL;
	krb5_error_code ret;

	k5_allow_weak_pbkdf2iter = true;
	ret = asa_string_to_key(t->krb5, t->mem, v->enctype,
				v->password, v->password_length,
				(const uint8_t *)v->salt, v->salt_length,
				v->iterations, &key);
	k5_allow_weak_pbkdf2iter = false;
	assert_int_equal(ret, 0);
	assert_non_null(key);
	assert_int_equal(key->enctype, v->enctype);
	assert_int_equal(key->length, v->key_length);
	assert_memory_equal(key->contents, v->key, v->key_length);
	TALLOC_FREE(key);
}

static void test_rfc3962_iterations_1_2(void **state)
{
	size_t i;

	for (i = 0; i < 4; i++) {
		check_vector(*state, &rfc3962[i]);
	}
}

static void test_rfc3962_iterations_1200(void **state)
{
	check_vector(*state, &rfc3962[4]);
	check_vector(*state, &rfc3962[5]);
}

static void test_rfc3962_binary_salt_iterations_5(void **state)
{
	check_vector(*state, &rfc3962[6]);
	check_vector(*state, &rfc3962[7]);
}

static void test_rfc3962_passphrase_64_and_65(void **state)
{
	size_t i;

	assert_int_equal(rfc3962[8].password_length, 64);
	assert_int_equal(rfc3962[10].password_length, 65);
	for (i = 8; i < 12; i++) {
		check_vector(*state, &rfc3962[i]);
	}
}

static void test_rfc3962_utf8_passphrase(void **state)
{
	check_vector(*state, &rfc3962[12]);
	check_vector(*state, &rfc3962[13]);
}

/* A single flipped bit of the password must change the key. */
static void test_string_to_key_sensitive(void **state)
{
	struct test_ctx *t = *state;
	struct asa_key *key = NULL;
	krb5_error_code ret;

	k5_allow_weak_pbkdf2iter = true;
	ret = asa_string_to_key(t->krb5, t->mem, AES128, STR("passwore"),
				(const uint8_t *)"ATHENA.MIT.EDUraeburn", 21, 1,
				&key);
	k5_allow_weak_pbkdf2iter = false;
	assert_int_equal(ret, 0);
	assert_memory_not_equal(key->contents, rfc3962[0].key, 16);
	TALLOC_FREE(key);
}

/* Outside the known-answer tests a weak iteration count is refused. */
static void test_weak_iterations_refused(void **state)
{
	struct test_ctx *t = *state;
	struct asa_key *key = NULL;

	assert_int_equal(asa_string_to_key(t->krb5, t->mem, AES256,
					   STR("password"),
					   (const uint8_t *)"MEM.TEST", 8, 1200,
					   &key), KRB5_ERR_BAD_S2K_PARAMS);
	assert_null(key);
}

/* Iteration count 0 means the AES default, 4096, which AD uses. */
static void test_default_iterations_is_4096(void **state)
{
	struct test_ctx *t = *state;
	struct asa_key *dflt = NULL, *explicit4096 = NULL, *other = NULL;
	const uint8_t *salt = (const uint8_t *)"MEM.TESThostasa1.mem.test";

	assert_int_equal(asa_string_to_key(t->krb5, t->mem, AES256,
					   STR("Secret-1"), salt, 25, 0,
					   &dflt), 0);
	assert_int_equal(asa_string_to_key(t->krb5, t->mem, AES256,
					   STR("Secret-1"), salt, 25, 4096,
					   &explicit4096), 0);
	assert_int_equal(asa_string_to_key(t->krb5, t->mem, AES256,
					   STR("Secret-1"), salt, 25, 4097,
					   &other), 0);
	assert_memory_equal(dflt->contents, explicit4096->contents, 32);
	assert_memory_not_equal(dflt->contents, other->contents, 32);
}

/* RC4 is MD4 over the UTF-16LE password: NT hash of "password". */
static void test_rc4_nt_hash(void **state)
{
	struct test_ctx *t = *state;
	struct asa_key *key = NULL;
	const char nt[] = "\x88\x46\xf7\xea\xee\x8f\xb1\x17"
			  "\xad\x06\xbd\xd8\x30\xb7\x58\x6c";

	assert_int_equal(asa_string_to_key(t->krb5, t->mem,
					   ENCTYPE_ARCFOUR_HMAC,
					   STR("password"),
					   (const uint8_t *)"ignored", 7, 0,
					   &key), 0);
	assert_int_equal(key->length, 16);
	assert_memory_equal(key->contents, nt, 16);
}

static void test_salt_computer_design_example(void **state)
{
	struct test_ctx *t = *state;
	char *salt = NULL;

	/* design.md: asa1$ in MEM.TEST */
	assert_int_equal(asa_salt_computer(t->mem, "MEM.TEST", "asa1$",
					   &salt), 0);
	assert_string_equal(salt, "MEM.TESThostasa1.mem.test");

	/* The realm's case and a missing '$' do not matter. */
	assert_int_equal(asa_salt_computer(t->mem, "mem.test", "asa1",
					   &salt), 0);
	assert_string_equal(salt, "MEM.TESThostasa1.mem.test");

	/* The account name is lower-cased, as the DC does. */
	assert_int_equal(asa_salt_computer(t->mem, "Corp.Contoso.COM",
					   "EXCH-ASA$", &salt), 0);
	assert_string_equal(salt,
			    "CORP.CONTOSO.COMhostexch-asa.corp.contoso.com");
}

static void test_salt_computer_refuses_empty(void **state)
{
	struct test_ctx *t = *state;
	char *salt = NULL;

	assert_int_equal(asa_salt_computer(t->mem, "MEM.TEST", "", &salt),
			 EINVAL);
	assert_null(salt);
	assert_int_equal(asa_salt_computer(t->mem, "MEM.TEST", "$", &salt),
			 EINVAL);
	assert_int_equal(asa_salt_computer(t->mem, "", "asa1$", &salt),
			 EINVAL);
	assert_int_equal(asa_salt_computer(t->mem, NULL, "asa1$", &salt),
			 EINVAL);
	/* Beyond ASCII: refused, not guessed. */
	assert_int_equal(asa_salt_computer(t->mem, "MEM.TEST",
					   "\xc3\x84sa1$", &salt), EINVAL);
	assert_null(salt);
}

static void test_enctypes_from_bits(void **state)
{
	krb5_enctype e[ASA_MAX_ENCTYPES];
	size_t n = 0;

	/* Not set: AES only. */
	assert_int_equal(asa_enctypes_from_bits(0, e, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(e[0], AES256);
	assert_int_equal(e[1], AES128);

	/* 24 = AES256 + AES128, as create sets it. */
	assert_int_equal(asa_enctypes_from_bits(24, e, &n), 0);
	assert_int_equal(n, 2);

	/* RC4 only when asked. */
	assert_int_equal(asa_enctypes_from_bits(0x1c, e, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(e[2], ENCTYPE_ARCFOUR_HMAC);

	assert_int_equal(asa_enctypes_from_bits(0x10, e, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(e[0], AES256);

	/* DES only: nothing we derive. */
	assert_int_equal(asa_enctypes_from_bits(0x3, e, &n),
			 KRB5_BAD_ENCTYPE);
	assert_int_equal(n, 0);
}

static void test_keys_derive_default_aes_only(void **state)
{
	struct test_ctx *t = *state;
	struct asa_key *keys = NULL;
	struct asa_key *ref = NULL;
	size_t n = 0;
	size_t i;
	const char *salt = "MEM.TESThostasa1.mem.test";

	assert_int_equal(asa_keys_derive(t->krb5, t->mem, "Secret-1", salt,
					 0, 7, &keys, &n), 0);
	assert_int_equal(n, 2);
	for (i = 0; i < n; i++) {
		assert_int_equal(keys[i].kvno, 7);
		assert_int_not_equal(keys[i].enctype, ENCTYPE_ARCFOUR_HMAC);
	}
	assert_int_equal(keys[0].enctype, AES256);
	assert_int_equal(keys[0].length, 32);
	assert_int_equal(keys[1].enctype, AES128);
	assert_int_equal(keys[1].length, 16);

	/* The same as one string-to-key with the same salt. */
	assert_int_equal(asa_string_to_key(t->krb5, t->mem, AES128,
					   STR("Secret-1"),
					   (const uint8_t *)salt, strlen(salt),
					   0, &ref), 0);
	assert_memory_equal(keys[1].contents, ref->contents, 16);
}

static void test_keys_derive_with_rc4(void **state)
{
	struct test_ctx *t = *state;
	struct asa_key *keys = NULL;
	size_t n = 0;

	assert_int_equal(asa_keys_derive(t->krb5, t->mem, "password",
					 "MEM.TESThostasa1.mem.test",
					 ASA_ENCTYPE_BITS_DEFAULT |
					 ASA_ENCTYPE_BIT_RC4_HMAC,
					 3, &keys, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(keys[2].enctype, ENCTYPE_ARCFOUR_HMAC);
	assert_memory_equal(keys[2].contents,
			    "\x88\x46\xf7\xea\xee\x8f\xb1\x17"
			    "\xad\x06\xbd\xd8\x30\xb7\x58\x6c", 16);
}

static void test_keys_derive_refuses_des(void **state)
{
	struct test_ctx *t = *state;
	struct asa_key *keys = NULL;
	size_t n = 5;

	assert_int_equal(asa_keys_derive(t->krb5, t->mem, "x", "y", 0x3, 1,
					 &keys, &n), KRB5_BAD_ENCTYPE);
	assert_null(keys);
	assert_int_equal(n, 0);
}

static void test_password_generate(void **state)
{
	struct test_ctx *t = *state;
	char *a = NULL, *b = NULL;
	size_t i;
	bool upper = false, lower = false, digit = false, symbol = false;

	assert_int_equal(asa_password_generate(t->mem, ASA_PASSWORD_LENGTH,
					       NULL, &a), 0);
	assert_int_equal(strlen(a), ASA_PASSWORD_LENGTH);
	for (i = 0; a[i] != '\0'; i++) {
		assert_true(a[i] > ' ' && a[i] <= '~');
		upper |= (a[i] >= 'A' && a[i] <= 'Z');
		lower |= (a[i] >= 'a' && a[i] <= 'z');
		digit |= (a[i] >= '0' && a[i] <= '9');
		symbol |= !((a[i] >= 'A' && a[i] <= 'Z') ||
			    (a[i] >= 'a' && a[i] <= 'z') ||
			    (a[i] >= '0' && a[i] <= '9'));
	}
	assert_true(upper && lower && digit && symbol);

	assert_int_equal(asa_password_generate(t->mem, ASA_PASSWORD_LENGTH,
					       NULL, &b), 0);
	assert_string_not_equal(a, b);
}

static void test_password_generate_avoids(void **state)
{
	struct test_ctx *t = *state;
	const char *avoid[] = { "q", "Z", NULL };
	char *pw = NULL;
	int round;

	/* Single letters are frequent: the filter has to work each time. */
	for (round = 0; round < 20; round++) {
		assert_int_equal(asa_password_generate(t->mem, 32, avoid,
						       &pw), 0);
		assert_null(strchr(pw, 'q'));
		assert_null(strchr(pw, 'Q'));
		assert_null(strchr(pw, 'z'));
		assert_null(strchr(pw, 'Z'));
		TALLOC_FREE(pw);
	}
}

static void test_password_generate_bounds(void **state)
{
	struct test_ctx *t = *state;
	char *pw = NULL;

	assert_int_equal(asa_password_generate(t->mem, 8, NULL, &pw), EINVAL);
	assert_null(pw);
	assert_int_equal(asa_password_generate(t->mem,
					       ASA_PASSWORD_MAX_LENGTH + 1,
					       NULL, &pw), EINVAL);
	assert_int_equal(asa_password_generate(t->mem,
					       ASA_PASSWORD_MAX_LENGTH,
					       NULL, &pw), 0);
	assert_int_equal(strlen(pw), ASA_PASSWORD_MAX_LENGTH);
}

static void test_unicodepwd(void **state)
{
	struct test_ctx *t = *state;
	uint8_t *v = NULL;
	size_t n = 0;

	assert_int_equal(asa_password_unicodepwd(t->mem, "Ab1!", &v, &n), 0);
	assert_int_equal(n, 12);
	assert_memory_equal(v, "\"\0A\0b\0" "1\0!\0\"\0", 12);

	/* e-acute (2 bytes of UTF-8), then g-clef (a surrogate pair). */
	assert_int_equal(asa_password_unicodepwd(t->mem,
						 "\xc3\xa9\xf0\x9d\x84\x9e",
						 &v, &n), 0);
	assert_int_equal(n, 10);
	assert_memory_equal(v, "\"\0\xe9\0\x34\xd8\x1e\xdd\"\0", 10);

	/* Not UTF-8: a lone continuation byte, an overlong '/', a
	 * surrogate. */
	assert_int_equal(asa_password_unicodepwd(t->mem, "a\x80", &v, &n),
			 EINVAL);
	assert_int_equal(asa_password_unicodepwd(t->mem, "\xc0\xaf", &v, &n),
			 EINVAL);
	assert_int_equal(asa_password_unicodepwd(t->mem, "\xed\xa0\x80",
						 &v, &n), EINVAL);
	assert_int_equal(asa_password_unicodepwd(t->mem, "", &v, &n), EINVAL);
	assert_null(v);
}

static void test_unicodepwd_bmp_and_astral(void **state)
{
	struct test_ctx *t = *state;
	uint8_t *v = NULL;
	size_t n = 0;

	/* Euro sign U+20AC (3 bytes), CJK U+4E2D, U+FFFD: one unit each. */
	assert_int_equal(asa_password_unicodepwd(t->mem,
						 "\xe2\x82\xac\xe4\xb8\xad"
						 "\xef\xbf\xbd", &v, &n), 0);
	assert_int_equal(n, 10);
	assert_memory_equal(v, "\"\0\xac\x20\x2d\x4e\xfd\xff\"\0", 10);

	/* U+1F600 and U+10FFFF: surrogate pairs, low unit first in bytes. */
	assert_int_equal(asa_password_unicodepwd(t->mem,
						 "x\xf0\x9f\x98\x80"
						 "\xf4\x8f\xbf\xbf",
						 &v, &n), 0);
	assert_int_equal(n, 14);
	assert_memory_equal(v, "\"\0x\0\x3d\xd8\x00\xde"
			    "\xff\xdb\xff\xdf\"\0", 14);
}

static void test_unicodepwd_refuses_invalid(void **state)
{
	struct test_ctx *t = *state;
	/* Each is refused as a whole, wherever the bad sequence sits. */
	const char *bad[] = {
		"\xf4\x90\x80\x80",	/* past U+10FFFF */
		"ab\xe2\x82",		/* truncated at the end */
		"\xe2\x82\x61\x62",	/* truncated in the middle: "ab" */
		"\xed\xbf\xbf",	/* low surrogate */
		"\xe0\x80\xaf",	/* overlong, 3 bytes */
		"\xf0\x80\x80\xaf",	/* overlong, 4 bytes */
		"\xf8\x88\x80\x80\x80",	/* 5-byte form */
		"ok\xff",		/* never in UTF-8 */
		"\xfe",
	};
	uint8_t *v = NULL;
	size_t n = 1, i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(asa_password_unicodepwd(t->mem, bad[i],
							 &v, &n), EINVAL);
		assert_null(v);
		assert_int_equal(n, 0);
	}
	assert_int_equal(asa_password_unicodepwd(t->mem, NULL, &v, &n),
			 EINVAL);
}

static void test_password_generate_is_unicodepwd(void **state)
{
	struct test_ctx *t = *state;
	char *pw[8] = { NULL };
	uint8_t *v = NULL;
	size_t n = 0, i, j;

	/* Each converts to exactly one UTF-16 unit per character, and no
	 * two draws are the same. */
	for (i = 0; i < 8; i++) {
		assert_int_equal(asa_password_generate(t->mem,
						       ASA_PASSWORD_LENGTH,
						       NULL, &pw[i]), 0);
		assert_int_equal(strlen(pw[i]), ASA_PASSWORD_LENGTH);
		assert_int_equal(asa_password_unicodepwd(t->mem, pw[i],
							 &v, &n), 0);
		assert_int_equal(n, 2 * (ASA_PASSWORD_LENGTH + 2));
		for (j = 0; j < ASA_PASSWORD_LENGTH; j++) {
			assert_int_equal(v[2 * (j + 1)], (uint8_t)pw[i][j]);
			assert_int_equal(v[2 * (j + 1) + 1], 0);
		}
		for (j = 0; j < i; j++) {
			assert_string_not_equal(pw[i], pw[j]);
		}
		TALLOC_FREE(v);
	}
}

static void test_enctype_name(void **state)
{
	struct test_ctx *t = *state;

	assert_string_equal(asa_enctype_name(t->mem, AES256),
			    "aes256-cts-hmac-sha1-96");
	assert_string_equal(asa_enctype_name(t->mem, 4242), "enctype-4242");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_weak_iterations_refused),
		cmocka_unit_test(test_rfc3962_iterations_1_2),
		cmocka_unit_test(test_rfc3962_iterations_1200),
		cmocka_unit_test(test_rfc3962_binary_salt_iterations_5),
		cmocka_unit_test(test_rfc3962_passphrase_64_and_65),
		cmocka_unit_test(test_rfc3962_utf8_passphrase),
		cmocka_unit_test(test_string_to_key_sensitive),
		cmocka_unit_test(test_default_iterations_is_4096),
		cmocka_unit_test(test_rc4_nt_hash),
		cmocka_unit_test(test_salt_computer_design_example),
		cmocka_unit_test(test_salt_computer_refuses_empty),
		cmocka_unit_test(test_enctypes_from_bits),
		cmocka_unit_test(test_keys_derive_default_aes_only),
		cmocka_unit_test(test_keys_derive_with_rc4),
		cmocka_unit_test(test_keys_derive_refuses_des),
		cmocka_unit_test(test_password_generate),
		cmocka_unit_test(test_password_generate_avoids),
		cmocka_unit_test(test_password_generate_bounds),
		cmocka_unit_test(test_unicodepwd),
		cmocka_unit_test(test_unicodepwd_bmp_and_astral),
		cmocka_unit_test(test_unicodepwd_refuses_invalid),
		cmocka_unit_test(test_password_generate_is_unicodepwd),
		cmocka_unit_test(test_enctype_name),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
