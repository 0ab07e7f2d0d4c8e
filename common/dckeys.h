/*
 * samba-asa: the keys the KDC itself uses for an account.
 *
 * Read on the DC, independently of how samba-asa derives keys: by
 * `samba-tool domain exportkeytab --principal=NAME$ -s smb.conf` into a
 * private 0700 directory (under /dev/shm when there is one) that is
 * removed before returning.  (Samba 4.17 exports the current kvno only,
 * for AES256, AES128 and RC4.)  This is the reference that verify compares
 * every member against, that a roll checks after the password change,
 * and the source of the current keys for a new member.
 */
#ifndef _ASA_DCKEYS_H_
#define _ASA_DCKEYS_H_

#include <stdint.h>
#include <talloc.h>
#include <krb5.h>

#include "keytab.h"

/*
 * The KDC's current keys of 'sam_account_name' ("NAME$"), as a keytab
 * whose entries are all under NAME$@REALM.  smb_conf: the DC's smb.conf
 * (NULL: samba's default).  Errors: a krb5/errno code with the message on
 * ctx (e.g. ENOENT when samba-tool is missing, KRB5_KT_NOTFOUND when the
 * account has no keys).
 */
krb5_error_code asa_dc_keys_read(krb5_context ctx,
				 TALLOC_CTX *mem_ctx,
				 const char *smb_conf,
				 const char *sam_account_name,
				 struct asa_keytab **keys);

/*
 * The same keys under every one of 'principals' (the ASA's keytab as
 * members hold it: NAME$@REALM and SPN@REALM), for pushing to a member.
 */
krb5_error_code asa_dc_keys_for_principals(krb5_context ctx,
					   TALLOC_CTX *mem_ctx,
					   const struct asa_keytab *keys,
					   const char * const *principals,
					   size_t num_principals,
					   struct asa_keytab **keytab);

/*
 * Only the keys of the enctypes an account supports (its
 * msDS-SupportedEncryptionTypes, as asa_enctypes_from_bits() reads it: 0
 * is AES256 + AES128).  exportkeytab gives RC4 as well, which an AES-only
 * ASA's members never hold.  KRB5_KT_NOTFOUND when none is left.
 * (Added by the verify work; additive.)
 */
krb5_error_code asa_dc_keys_select(krb5_context ctx,
				   TALLOC_CTX *mem_ctx,
				   const struct asa_keytab *keys,
				   uint32_t enctype_bits,
				   struct asa_keytab **selected);

#endif /* _ASA_DCKEYS_H_ */
