/*
 * samba-asa: passwords and long-term keys of the alternate service account.
 *
 * Keys are derived with MIT krb5's krb5_c_string_to_key() from the salt
 * the DC uses for a computer account; see keys.h.  Nothing here prints or
 * logs a password or a key, and every buffer that held one is wiped when
 * it is freed.
 */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include <talloc.h>
#include <krb5.h>
#include <unicode/ustring.h>

#include "keys.h"

void asa_memwipe(void *ptr, size_t length)
{
	if (ptr != NULL && length > 0) {
		explicit_bzero(ptr, length);
	}
}

static int asa_secret_destructor(void *ptr)
{
	asa_memwipe(ptr, talloc_get_size(ptr));
	return 0;
}

void asa_secret_wipe_on_free(const void *ptr)
{
	if (ptr != NULL) {
		talloc_set_destructor((void *)ptr, asa_secret_destructor);
	}
}

/* Printable ASCII without the space: 94 characters. */
#define PW_FIRST 0x21
#define PW_COUNT 94

static char ascii_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

/* Whether needle occurs in haystack, ignoring ASCII case. */
static bool contains_ascii_nocase(const char *haystack, const char *needle)
{
	size_t i, j;

	for (i = 0; haystack[i] != '\0'; i++) {
		for (j = 0; needle[j] != '\0'; j++) {
			if (ascii_lower(haystack[i + j]) !=
			    ascii_lower(needle[j])) {
				break;
			}
		}
		if (needle[j] == '\0') {
			return true;
		}
	}
	return false;
}

static bool password_is_acceptable(const char *pw, const char * const *avoid)
{
	bool upper = false, lower = false, digit = false, symbol = false;
	const char *p = NULL;
	size_t i;

	for (p = pw; *p != '\0'; p++) {
		if (*p >= 'A' && *p <= 'Z') {
			upper = true;
		} else if (*p >= 'a' && *p <= 'z') {
			lower = true;
		} else if (*p >= '0' && *p <= '9') {
			digit = true;
		} else {
			symbol = true;
		}
	}
	if (!(upper && lower && digit && symbol)) {
		return false;
	}
	for (i = 0; avoid != NULL && avoid[i] != NULL; i++) {
		if (avoid[i][0] != '\0' &&
		    contains_ascii_nocase(pw, avoid[i])) {
			return false;
		}
	}
	return true;
}

/*
 * Not samba-util's generate_random_machine_password(): no installed header
 * declares it, and it frees its random buffer and two copies of the
 * password without wiping them.
 */
int asa_password_generate(TALLOC_CTX *mem_ctx,
			  size_t length,
			  const char * const *avoid,
			  char **password)
{
	uint8_t rnd[256];
	char *pw = NULL;
	size_t filled, avail, pos, attempt;
	int ret = 0;

	*password = NULL;

	if (length < ASA_PASSWORD_MIN_LENGTH ||
	    length > ASA_PASSWORD_MAX_LENGTH) {
		return EINVAL;
	}

	pw = talloc_zero_array(mem_ctx, char, length + 1);
	if (pw == NULL) {
		return ENOMEM;
	}
	asa_secret_wipe_on_free(pw);

	/*
	 * With 94 symbols over 120 characters a draw lacking a class or
	 * holding an account name is rare; a few retries are plenty.
	 */
	for (attempt = 0; attempt < 64; attempt++) {
		filled = 0;
		while (filled < length) {
			ssize_t got = getrandom(rnd, sizeof(rnd), 0);
			if (got < 0) {
				if (errno == EINTR) {
					continue;
				}
				ret = errno;
				goto done;
			}
			avail = (size_t)got;
			for (pos = 0; pos < avail && filled < length; pos++) {
				/* Rejection sampling: no modulo bias. */
				if (rnd[pos] >= 2 * PW_COUNT) {
					continue;
				}
				pw[filled++] = PW_FIRST + (rnd[pos] % PW_COUNT);
			}
		}
		pw[length] = '\0';
		if (password_is_acceptable(pw, avoid)) {
			*password = pw;
			pw = NULL;
			ret = 0;
			goto done;
		}
	}
	ret = EAGAIN;

done:
	asa_memwipe(rnd, sizeof(rnd));
	TALLOC_FREE(pw);
	return ret;
}

int asa_password_unicodepwd(TALLOC_CTX *mem_ctx,
			    const char *password,
			    uint8_t **value,
			    size_t *length)
{
	UErrorCode status = U_ZERO_ERROR;
	uint8_t *out = NULL;
	UChar *u = NULL;
	size_t pw_len;
	int32_t ulen = 0, i;

	*value = NULL;
	*length = 0;

	if (password == NULL || password[0] == '\0') {
		return EINVAL;
	}
	pw_len = strlen(password);
	/* ICU counts in int32_t; two more units for the quotes. */
	if (pw_len > INT32_MAX / 2 - 2) {
		return EINVAL;
	}
	/* A UTF-8 string never has more UTF-16 units than bytes. */
	out = talloc_zero_size(mem_ctx, 2 * (pw_len + 2));
	if (out == NULL) {
		return ENOMEM;
	}
	asa_secret_wipe_on_free(out);
	u = (UChar *)out;

	/*
	 * u_strFromUTF8() refuses what is not well-formed UTF-8
	 * (overlong forms, encoded surrogates, past U+10FFFF): the DC
	 * would store something other than the password the keys are
	 * derived from.
	 */
	u_strFromUTF8(u + 1, (int32_t)pw_len, &ulen,
		      password, (int32_t)pw_len, &status);
	if (U_FAILURE(status)) {
		TALLOC_FREE(out);
		return EINVAL;
	}
	u[0] = '"';
	u[ulen + 1] = '"';
	ulen += 2;

	/* UChar is in host order; unicodePwd is little-endian. */
	for (i = 0; i < ulen; i++) {
		uint16_t c = u[i];

		out[2 * i] = c & 0xff;
		out[2 * i + 1] = c >> 8;
	}

	*value = out;
	*length = 2 * (size_t)ulen;
	return 0;
}

/* A copy with ASCII letters mapped to one case; false for non-ASCII. */
static char *ascii_case(TALLOC_CTX *mem_ctx, const char *src, size_t len,
			bool upper)
{
	char *dst = talloc_strndup(mem_ctx, src, len);
	size_t i;

	if (dst == NULL) {
		return NULL;
	}
	for (i = 0; dst[i] != '\0'; i++) {
		if (upper && dst[i] >= 'a' && dst[i] <= 'z') {
			dst[i] -= 'a' - 'A';
		} else if (!upper && dst[i] >= 'A' && dst[i] <= 'Z') {
			dst[i] += 'a' - 'A';
		}
	}
	return dst;
}

static bool is_ascii(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s >= 0x80) {
			return false;
		}
	}
	return true;
}

int asa_salt_computer(TALLOC_CTX *mem_ctx,
		      const char *realm,
		      const char *sam_account_name,
		      char **salt)
{
	TALLOC_CTX *frame = NULL;
	char *upper_realm = NULL;
	char *lower_realm = NULL;
	char *lower_name = NULL;
	size_t name_len;
	int ret = 0;

	*salt = NULL;

	if (realm == NULL || realm[0] == '\0' ||
	    sam_account_name == NULL || sam_account_name[0] == '\0') {
		return EINVAL;
	}
	/*
	 * The DC maps case with its own Unicode tables; for ASCII that is
	 * the plain mapping below.  Names beyond ASCII are refused rather
	 * than risk a salt that differs from the DC's by one letter.
	 */
	if (!is_ascii(realm) || !is_ascii(sam_account_name)) {
		return EINVAL;
	}
	name_len = strlen(sam_account_name);
	if (sam_account_name[name_len - 1] == '$') {
		name_len -= 1;
	}
	if (name_len == 0) {
		return EINVAL;
	}

	frame = talloc_new(mem_ctx);
	if (frame == NULL) {
		return ENOMEM;
	}
	upper_realm = ascii_case(frame, realm, strlen(realm), true);
	lower_realm = ascii_case(frame, realm, strlen(realm), false);
	lower_name = ascii_case(frame, sam_account_name, name_len, false);
	if (upper_realm == NULL || lower_realm == NULL || lower_name == NULL) {
		ret = ENOMEM;
		goto done;
	}

	*salt = talloc_asprintf(mem_ctx, "%shost%s.%s",
				upper_realm, lower_name, lower_realm);
	if (*salt == NULL) {
		ret = ENOMEM;
		goto done;
	}

done:
	TALLOC_FREE(frame);
	return ret;
}

krb5_error_code asa_enctypes_from_bits(uint32_t bits,
				       krb5_enctype enctypes[ASA_MAX_ENCTYPES],
				       size_t *num_enctypes)
{
	size_t n = 0;

	if (bits == 0) {
		bits = ASA_ENCTYPE_BITS_DEFAULT;
	}
	if (bits & ASA_ENCTYPE_BIT_AES256) {
		enctypes[n++] = ENCTYPE_AES256_CTS_HMAC_SHA1_96;
	}
	if (bits & ASA_ENCTYPE_BIT_AES128) {
		enctypes[n++] = ENCTYPE_AES128_CTS_HMAC_SHA1_96;
	}
	if (bits & ASA_ENCTYPE_BIT_RC4_HMAC) {
		enctypes[n++] = ENCTYPE_ARCFOUR_HMAC;
	}
	*num_enctypes = n;
	if (n == 0) {
		return KRB5_BAD_ENCTYPE;
	}
	return 0;
}

krb5_error_code asa_string_to_key(krb5_context ctx,
				  TALLOC_CTX *mem_ctx,
				  krb5_enctype enctype,
				  const char *password,
				  size_t password_length,
				  const uint8_t *salt,
				  size_t salt_length,
				  uint32_t iterations,
				  struct asa_key **key)
{
	krb5_keyblock kb = { 0 };
	krb5_data pw_data = { 0 };
	krb5_data salt_data = { 0 };
	krb5_data params_data = { 0 };
	uint8_t params[4];
	struct asa_key *k = NULL;
	krb5_error_code ret;

	*key = NULL;

	if (password == NULL || (salt == NULL && salt_length > 0) ||
	    password_length > UINT32_MAX || salt_length > UINT32_MAX) {
		return EINVAL;
	}

	pw_data.magic = KV5M_DATA;
	pw_data.data = (char *)password;
	pw_data.length = password_length;
	salt_data.magic = KV5M_DATA;
	salt_data.data = (char *)salt;
	salt_data.length = salt_length;

	if (iterations != 0) {
		/* RFC 3962 s2kparams: the iteration count, big-endian. */
		params[0] = (iterations >> 24) & 0xff;
		params[1] = (iterations >> 16) & 0xff;
		params[2] = (iterations >> 8) & 0xff;
		params[3] = iterations & 0xff;
		params_data.magic = KV5M_DATA;
		params_data.data = (char *)params;
		params_data.length = sizeof(params);
	}

	ret = krb5_c_string_to_key_with_params(ctx, enctype, &pw_data,
					       &salt_data,
					       iterations != 0 ?
					       &params_data : NULL,
					       &kb);
	if (ret != 0) {
		goto done;
	}

	k = talloc_zero(mem_ctx, struct asa_key);
	if (k == NULL) {
		ret = ENOMEM;
		goto done;
	}
	k->enctype = enctype;
	k->length = kb.length;
	k->contents = talloc_memdup(k, kb.contents, kb.length);
	if (k->contents == NULL) {
		ret = ENOMEM;
		goto done;
	}
	asa_secret_wipe_on_free(k->contents);
	*key = k;
	k = NULL;

done:
	/* MIT zeroes the key bytes before freeing them. */
	krb5_free_keyblock_contents(ctx, &kb);
	TALLOC_FREE(k);
	return ret;
}

krb5_error_code asa_keys_derive(krb5_context ctx,
				TALLOC_CTX *mem_ctx,
				const char *password,
				const char *salt,
				uint32_t enctype_bits,
				krb5_kvno kvno,
				struct asa_key **keys,
				size_t *num_keys)
{
	krb5_enctype enctypes[ASA_MAX_ENCTYPES];
	size_t num_enctypes = 0;
	struct asa_key *result = NULL;
	struct asa_key *one = NULL;
	krb5_error_code ret;
	size_t i;

	*keys = NULL;
	*num_keys = 0;

	if (password == NULL || salt == NULL) {
		return EINVAL;
	}

	ret = asa_enctypes_from_bits(enctype_bits, enctypes, &num_enctypes);
	if (ret != 0) {
		krb5_set_error_message(ctx, ret,
				       "msDS-SupportedEncryptionTypes 0x%x "
				       "names no enctype we can derive "
				       "(AES256, AES128, RC4)",
				       (unsigned)enctype_bits);
		return ret;
	}

	result = talloc_zero_array(mem_ctx, struct asa_key, num_enctypes);
	if (result == NULL) {
		return ENOMEM;
	}

	for (i = 0; i < num_enctypes; i++) {
		ret = asa_string_to_key(ctx, result, enctypes[i],
					password, strlen(password),
					(const uint8_t *)salt, strlen(salt),
					0, &one);
		if (ret != 0) {
			goto done;
		}
		/* The key bytes move to the array; 'one' keeps nothing. */
		result[i] = *one;
		result[i].kvno = kvno;
		talloc_steal(result, one->contents);
		one->contents = NULL;
		TALLOC_FREE(one);
	}

	*keys = result;
	*num_keys = num_enctypes;
	result = NULL;

done:
	TALLOC_FREE(result);
	return ret;
}

const char *asa_enctype_name(TALLOC_CTX *mem_ctx, krb5_enctype enctype)
{
	char name[64];

	if (krb5_enctype_to_name(enctype, false, name, sizeof(name)) == 0) {
		return talloc_strdup(mem_ctx, name);
	}
	return talloc_asprintf(mem_ctx, "enctype-%d", (int)enctype);
}
