/*
 * samba-asa verify: the credentials the tickets are asked with (see
 * cmd_verify.c): -U USER with a password, the default credentials cache,
 * or on the DC NAME$ with the KDC's keys of the account; always into a
 * MEMORY cache of our own.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <talloc.h>
#include <ldb.h>
#include <krb5.h>

#include "cli.h"
#include "asa.h"
#include "asa_admin.h"
#include "dckeys.h"
#include "keys.h"
#include "keytab.h"
#include "member.h"
#include "push.h"
#include "verify.h"

static bool is_tgt(krb5_context ctx, krb5_const_principal server)
{
	const krb5_data *c0 = NULL;

	if (krb5_princ_size(ctx, server) != 2) {
		return false;
	}
	c0 = krb5_princ_component(ctx, server, 0);
	return c0->length == 6 && memcmp(c0->data, "krbtgt", 6) == 0;
}

/* A MEMORY ccache of our own for 'client' (v->ccache, v->client). */
static krb5_error_code new_ccache(struct verify *v, krb5_principal client)
{
	krb5_error_code ret;

	ret = krb5_cc_new_unique(v->krb5, "MEMORY", NULL, &v->ccache);
	if (ret != 0) {
		return ret;
	}
	ret = krb5_cc_initialize(v->krb5, v->ccache, client);
	if (ret != 0) {
		return ret;
	}
	return krb5_copy_principal(v->krb5, client, &v->client);
}

krb5_error_code verify_creds_password(TALLOC_CTX *mem_ctx, struct verify *v,
				      const char *username,
				      const char *password, char **why)
{
	krb5_principal client = NULL;
	krb5_get_init_creds_opt *gic = NULL;
	krb5_creds creds;
	char *name = NULL;
	krb5_error_code ret;

	memset(&creds, 0, sizeof(creds));
	name = strchr(username, '@') != NULL ?
		talloc_strdup(mem_ctx, username) :
		talloc_asprintf(mem_ctx, "%s@%s", username,
				v->account->realm);
	if (name == NULL) {
		return ENOMEM;
	}
	ret = krb5_parse_name(v->krb5, name, &client);
	if (ret != 0) {
		*why = talloc_asprintf(mem_ctx, "-U %s: %s", username,
				       admin_krb5_error(mem_ctx, v->krb5, ret));
		goto done;
	}
	ret = krb5_get_init_creds_opt_alloc(v->krb5, &gic);
	if (ret != 0) {
		goto done;
	}
	ret = krb5_get_init_creds_password(v->krb5, &creds, client, password,
					   NULL, NULL, 0, NULL, gic);
	if (ret != 0) {
		*why = talloc_asprintf(mem_ctx, "no TGT for %s: %s", name,
				       admin_krb5_error(mem_ctx, v->krb5, ret));
		goto done;
	}
	ret = new_ccache(v, client);
	if (ret == 0) {
		ret = krb5_cc_store_cred(v->krb5, v->ccache, &creds);
	}
	v->credentials = talloc_asprintf(mem_ctx, "%s (-U, password)", name);
done:
	krb5_free_cred_contents(v->krb5, &creds);
	if (gic != NULL) {
		krb5_get_init_creds_opt_free(v->krb5, gic);
	}
	krb5_free_principal(v->krb5, client);
	return ret;
}

/*
 * The TGTs of the default ccache, copied into a MEMORY one: service
 * tickets already in the caller's cache are not used (nor is the
 * caller's cache written to).  KRB5_CC_NOTFOUND when it holds no TGT.
 */
krb5_error_code verify_creds_default_ccache(TALLOC_CTX *mem_ctx,
					    struct verify *v)
{
	krb5_ccache cc = NULL;
	krb5_principal client = NULL;
	krb5_cc_cursor cur = NULL;
	krb5_creds c;
	char *name = NULL;
	size_t copied = 0;
	krb5_error_code ret;

	ret = krb5_cc_default(v->krb5, &cc);
	if (ret != 0) {
		return ret;
	}
	ret = krb5_cc_get_principal(v->krb5, cc, &client);
	if (ret != 0) {
		goto done;
	}
	ret = new_ccache(v, client);
	if (ret != 0) {
		goto done;
	}
	ret = krb5_cc_start_seq_get(v->krb5, cc, &cur);
	if (ret != 0) {
		goto done;
	}
	while (krb5_cc_next_cred(v->krb5, cc, &cur, &c) == 0) {
		if (is_tgt(v->krb5, c.server) &&
		    c.times.endtime > (krb5_timestamp)time(NULL)) {
			if (krb5_cc_store_cred(v->krb5, v->ccache, &c) == 0) {
				copied++;
			}
		}
		krb5_free_cred_contents(v->krb5, &c);
	}
	krb5_cc_end_seq_get(v->krb5, cc, &cur);
	if (copied == 0) {
		ret = KRB5_CC_NOTFOUND;
		goto done;
	}
	if (krb5_unparse_name(v->krb5, client, &name) == 0) {
		v->credentials = talloc_asprintf(mem_ctx,
						 "%s (credentials cache %s)",
						 name,
						 krb5_cc_get_name(v->krb5,
								  cc));
		krb5_free_unparsed_name(v->krb5, name);
	}
done:
	krb5_free_principal(v->krb5, client);
	krb5_cc_close(v->krb5, cc);
	return ret;
}

/*
 * A TGT as the ASA itself, with the KDC's keys of the account (read on
 * the DC) in a MEMORY keytab that is destroyed at once.
 */
krb5_error_code verify_creds_account_keys(TALLOC_CTX *mem_ctx,
					  struct verify *v, char **why)
{
	krb5_keytab kt = NULL;
	krb5_principal client = NULL;
	krb5_get_init_creds_opt *gic = NULL;
	krb5_creds creds;
	char ktname[64];
	krb5_error_code ret;
	size_t i;

	memset(&creds, 0, sizeof(creds));
	ret = krb5_parse_name(v->krb5, v->account_principal, &client);
	if (ret != 0) {
		return ret;
	}
	snprintf(ktname, sizeof(ktname), "MEMORY:asa-verify-tgt-%d",
		 (int)getpid());
	ret = krb5_kt_resolve(v->krb5, ktname, &kt);
	if (ret != 0) {
		goto done;
	}
	for (i = 0; i < v->dc_keys->num_entries; i++) {
		const struct asa_keytab_entry *e = &v->dc_keys->entries[i];
		krb5_keytab_entry ke;

		memset(&ke, 0, sizeof(ke));
		ke.principal = client;
		ke.vno = e->kvno;
		ke.key.enctype = e->enctype;
		ke.key.length = e->key_length;
		ke.key.contents = e->key;
		ret = krb5_kt_add_entry(v->krb5, kt, &ke);
		if (ret != 0) {
			goto done;
		}
	}
	ret = krb5_get_init_creds_opt_alloc(v->krb5, &gic);
	if (ret != 0) {
		goto done;
	}
	ret = krb5_get_init_creds_keytab(v->krb5, &creds, client, kt, 0,
					 NULL, gic);
	if (ret != 0) {
		*why = talloc_asprintf(mem_ctx, "no TGT for %s with the "
				       "KDC's keys: %s",
				       v->account_principal,
				       admin_krb5_error(mem_ctx, v->krb5, ret));
		goto done;
	}
	ret = new_ccache(v, client);
	if (ret == 0) {
		ret = krb5_cc_store_cred(v->krb5, v->ccache, &creds);
	}
	v->credentials = talloc_asprintf(mem_ctx, "%s (the KDC's keys of "
					 "the account; no TGT in the "
					 "credentials cache)",
					 v->account_principal);
done:
	krb5_free_cred_contents(v->krb5, &creds);
	if (gic != NULL) {
		krb5_get_init_creds_opt_free(v->krb5, gic);
	}
	if (kt != NULL) {
		krb5_kt_close(v->krb5, kt);	/* the last handle: gone */
	}
	krb5_free_principal(v->krb5, client);
	return ret;
}
