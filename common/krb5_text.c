/*
 * samba-asa: a Kerberos error as text; see krb5_text.h.
 */
#include <talloc.h>
#include <krb5.h>

#include "krb5_text.h"

char *asa_krb5_text(TALLOC_CTX *mem_ctx, krb5_context ctx,
		    krb5_error_code code)
{
	const char *m = krb5_get_error_message(ctx, code);
	char *s = talloc_strdup(mem_ctx, m != NULL ? m : "unknown error");

	krb5_free_error_message(ctx, m);
	return s;
}
