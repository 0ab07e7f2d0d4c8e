/*
 * samba-asa: an ASA's current keys, as members are to hold them.
 *
 * Nobody knows an ASA's password, so its current keys come from this
 * DC's database (dckeys.h) or from a member's keytab.  A roll adds them
 * to what it pushes when a member may lack them, the revocation pushes
 * them alone, create and member add install them on new members, and a
 * roll and verify compare the KDC's keys with the members'.
 */
#ifndef _ASA_CURRENT_KEYS_H_
#define _ASA_CURRENT_KEYS_H_

#include <stdint.h>
#include <talloc.h>
#include <krb5.h>

#include "asa.h"
#include "keytab.h"

/*
 * The entries of 'in' at kvno min_kvno .. max_kvno, of an enctype an ASA
 * with msDS-SupportedEncryptionTypes enctype_bits uses (0: AES256 and
 * AES128; the DC also stores RC4, which an AES-only ASA's tickets never
 * use), and under one of principals (NULL: any).  Copies: the keys are
 * wiped when *out is freed.  An empty *out is not an error.
 */
krb5_error_code asa_keytab_select(TALLOC_CTX *mem_ctx,
				  const struct asa_keytab *in,
				  const char * const *principals,
				  size_t num_principals,
				  uint32_t enctype_bits,
				  krb5_kvno min_kvno,
				  krb5_kvno max_kvno,
				  struct asa_keytab **out);

/*
 * The keys this DC's KDC holds for the ASA at kvno min_kvno ..
 * account->kvno, of the ASA's enctypes, under every one of principals
 * (NAME$@REALM and SPN@REALM: the keytab as members hold it).  Needs to
 * run on the DC (asa_dc_keys_read(), smb_conf NULL: the default one).
 * 0, or a krb5 error with *errstring (on mem_ctx).  *out may be empty.
 */
krb5_error_code asa_current_keys_dc(krb5_context ctx,
				    TALLOC_CTX *mem_ctx,
				    const char *smb_conf,
				    const struct asa_account *account,
				    const char * const *principals,
				    size_t num_principals,
				    krb5_kvno min_kvno,
				    struct asa_keytab **out,
				    char **errstring);

#endif /* _ASA_CURRENT_KEYS_H_ */
