/*
 * samba-asa: passwords and long-term keys of the alternate service account.
 *
 * The ASA's password is random and never shown to anyone; what leaves this
 * module are the Kerberos keys derived from it, exactly as the DC derives
 * them (the same salt, the same string-to-key), so that every member of the
 * server array can hold the keys the KDC encrypts tickets with.  The
 * independent check is `samba-tool domain exportkeytab` on the DC.
 *
 * Every buffer holding a password or key bytes is a talloc chunk with a
 * destructor that wipes it, so freeing its parent (or the stackframe) is
 * enough to clear the secret.
 */
#ifndef _ASA_KEYS_H_
#define _ASA_KEYS_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <talloc.h>
#include <krb5.h>

/* msDS-SupportedEncryptionTypes bits (MS-KILE 2.2.7) that we can derive. */
#define ASA_ENCTYPE_BIT_RC4_HMAC 0x00000004
#define ASA_ENCTYPE_BIT_AES128 0x00000008
#define ASA_ENCTYPE_BIT_AES256 0x00000010
/* What an ASA gets unless told otherwise: AES only, no RC4. */
#define ASA_ENCTYPE_BITS_DEFAULT (ASA_ENCTYPE_BIT_AES256 | \
				  ASA_ENCTYPE_BIT_AES128)
/* At most this many enctypes are ever derived (AES256, AES128, RC4). */
#define ASA_MAX_ENCTYPES 3

/* Length of a generated password, in characters (as Windows uses for
 * machine accounts), and the bounds a caller may ask for. */
#define ASA_PASSWORD_LENGTH 120
#define ASA_PASSWORD_MIN_LENGTH 32
#define ASA_PASSWORD_MAX_LENGTH 256

/*
 * One long-term key.  'contents' is its own talloc chunk (child of the
 * key) that is wiped when freed.
 */
struct asa_key {
	krb5_enctype enctype;
	krb5_kvno kvno;
	size_t length;
	uint8_t *contents;
};

/*
 * Make a talloc chunk wipe itself (all talloc_get_size() bytes) when it is
 * freed.  For any buffer that held a password or key.
 */
void asa_secret_wipe_on_free(const void *ptr);

/* Wipe a buffer in a way the compiler will not optimise away. */
void asa_memwipe(void *ptr, size_t length);

/*
 * A random password of 'length' printable ASCII characters (no space), from
 * the kernel's CSPRNG.  It always holds an upper-case and a lower-case
 * letter, a digit and a symbol (the domain's complexity rule), and none of
 * the strings in 'avoid' (NULL-terminated, compared ignoring ASCII case;
 * e.g. the account name, which the complexity rule forbids inside a
 * password).  The result is wiped when freed.
 *
 * Returns 0, EINVAL (length out of bounds), EAGAIN ('avoid' rejected 64
 * draws in a row: it forbids too much), ENOMEM or an errno from
 * getrandom().
 */
int asa_password_generate(TALLOC_CTX *mem_ctx,
			  size_t length,
			  const char * const *avoid,
			  char **password);

/*
 * The value of unicodePwd that sets 'password' over LDAP (MS-ADTS
 * 3.1.1.3.1.5.1): the password in double quotes, as UTF-16LE.  The
 * password is UTF-8.  The result is wiped when freed.
 *
 * Returns 0, EINVAL (not valid UTF-8, or empty) or ENOMEM.
 */
int asa_password_unicodepwd(TALLOC_CTX *mem_ctx,
			    const char *password,
			    uint8_t **value,
			    size_t *length);

/*
 * The salt the DC uses for the keys of a computer account, as Samba's
 * smb_krb5_salt_principal() forms it: upper-case realm, "host", then the
 * sAMAccountName without its trailing '$', ".", and the realm, the last two
 * lower-cased.  Account "asa1$" in realm "mem.test" has the salt
 * "MEM.TESThostasa1.mem.test".
 *
 * Returns 0, EINVAL (empty or missing realm or name, or one beyond ASCII,
 * whose case the DC maps with its own Unicode tables) or ENOMEM.
 */
int asa_salt_computer(TALLOC_CTX *mem_ctx,
		      const char *realm,
		      const char *sam_account_name,
		      char **salt);

/*
 * The enctypes to derive for an msDS-SupportedEncryptionTypes value,
 * strongest first.  0 (attribute not set) means the ASA default, AES256 and
 * AES128; RC4 only when its bit is set.  Bits we cannot derive (DES, the
 * session-key bits) are ignored.
 *
 * Returns 0, or KRB5_BAD_ENCTYPE when no derivable enctype remains.
 */
krb5_error_code asa_enctypes_from_bits(uint32_t bits,
				       krb5_enctype enctypes[ASA_MAX_ENCTYPES],
				       size_t *num_enctypes);

/*
 * One key with krb5_c_string_to_key().  'iterations' is the PBKDF2
 * iteration count for the AES enctypes (RFC 3962); 0 means the enctype's
 * default (4096 for AES, which is what AD uses); MIT refuses counts below
 * 4096 (KRB5_ERR_BAD_S2K_PARAMS) outside its own test switch.  RC4 ignores
 * salt and iterations.  The key's kvno is left 0.
 */
krb5_error_code asa_string_to_key(krb5_context ctx,
				  TALLOC_CTX *mem_ctx,
				  krb5_enctype enctype,
				  const char *password,
				  size_t password_length,
				  const uint8_t *salt,
				  size_t salt_length,
				  uint32_t iterations,
				  struct asa_key **key);

/*
 * The keys for every enctype in 'enctype_bits' (see
 * asa_enctypes_from_bits()), at 'kvno', strongest first, as a talloc array
 * of *num_keys keys.
 */
krb5_error_code asa_keys_derive(krb5_context ctx,
				TALLOC_CTX *mem_ctx,
				const char *password,
				const char *salt,
				uint32_t enctype_bits,
				krb5_kvno kvno,
				struct asa_key **keys,
				size_t *num_keys);

/*
 * A printable name of an enctype ("aes256-cts-hmac-sha1-96"), or
 * "enctype-N" for one MIT does not know.
 */
const char *asa_enctype_name(TALLOC_CTX *mem_ctx, krb5_enctype enctype);

#endif /* _ASA_KEYS_H_ */
