/*
 * samba-asa: a Kerberos error as text, for messages.
 */
#ifndef _ASA_KRB5_TEXT_H_
#define _ASA_KRB5_TEXT_H_

#include <talloc.h>
#include <krb5.h>

/* MIT's message for code (on mem_ctx; "unknown error" when it has none). */
char *asa_krb5_text(TALLOC_CTX *mem_ctx, krb5_context ctx,
		    krb5_error_code code);

#endif /* _ASA_KRB5_TEXT_H_ */
