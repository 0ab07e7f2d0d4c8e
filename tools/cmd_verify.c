/*
 * samba-asa verify NAME [--json]: does Kerberos work for every name of the
 * ASA on every member?
 *
 * For every SPN of the ASA, a real service ticket from the KDC (a fresh
 * one: only the TGT of the caller's credentials cache is used, in a
 * MEMORY cache of our own, so a ticket cached before a roll does not
 * stand in for what the KDC issues now).  Every member's keytab is
 * fetched back over the transport (member install --show) and the
 * ticket's enc-part is decrypted with the member's key for the ticket's
 * kvno and enctype under that SPN: exactly what the member's acceptor will
 * have to do.  On the DC, the KDC's own keys (samba-tool domain
 * exportkeytab, see dckeys.h) are compared with what every member holds,
 * for every principal of the ASA.
 *
 * Tickets are requested as:
 *   -U USER          USER, with the password from a prompt, --password-file
 *                    or --password-stdin (a MEMORY ccache, never on disk)
 *   otherwise        the TGT in the default credentials cache (KRB5CCNAME)
 *   neither, on DC   NAME$ itself, with the KDC's keys of the account (a
 *                    MEMORY keytab): the ticket is still the KDC's
 *
 * Exit status: 0 when every (SPN, member) pair works and, where checked,
 * the DC's keys equal every member's; 1 when any does not (the table says
 * which and why); 2 for usage and environment errors (no credentials, no
 * directory).
 *
 * Copyright (C) samba-asa authors 2026
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
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
#include "cli_json.h"
#include "dckeys.h"
#include "keys.h"
#include "keytab.h"
#include "member.h"

#define VERIFY_PASSWORD_MAX 1024

#ifndef MAX
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#endif

/* Why one (SPN, member) pair fails. */
enum verify_reason {
	VERIFY_OK = 0,
	VERIFY_NO_TICKET,	/* the KDC gave no ticket for the SPN */
	VERIFY_UNREACHABLE,	/* the member could not be reached */
	VERIFY_NO_KEYTAB,	/* it answered, but gave no keytab */
	VERIFY_NO_PRINCIPAL,	/* no key for the SPN at all */
	VERIFY_KVNO_MISSING,	/* none at the ticket's kvno */
	VERIFY_ENCTYPE_MISSING,	/* that kvno, not the ticket's enctype */
	VERIFY_WRONG_KEY,	/* the key does not decrypt the ticket */
	VERIFY_ERROR,		/* anything else */
};

static const char *reason_name(enum verify_reason r)
{
	switch (r) {
	case VERIFY_OK:			return "ok";
	case VERIFY_NO_TICKET:		return "no-ticket";
	case VERIFY_UNREACHABLE:	return "unreachable";
	case VERIFY_NO_KEYTAB:		return "no-keytab";
	case VERIFY_NO_PRINCIPAL:	return "principal-missing";
	case VERIFY_KVNO_MISSING:	return "kvno-missing";
	case VERIFY_ENCTYPE_MISSING:	return "enctype-missing";
	case VERIFY_WRONG_KEY:		return "wrong-key";
	case VERIFY_ERROR:		return "error";
	}
	return "error";
}

struct verify_pair {
	enum verify_reason reason;
	const char *why;		/* NULL when ok */
};

struct verify_member {
	const struct asa_member_record *record;
	struct asa_member_url *url;	/* NULL: the URL does not parse */
	const char *error;		/* the keytab could not be had */
	enum verify_reason fetch_reason;	/* ... and why */
	struct asa_keytab *keytab;
	krb5_kvno *kvnos;		/* held for NAME$, newest first */
	size_t num_kvnos;
	bool dc_checked;
	const char *dc_error;		/* NULL: the DC's keys match */
};

struct verify_spn {
	const char *spn;
	char *principal;		/* SPN@REALM, unparsed */
	const char *ticket_error;	/* NULL: we have a ticket */
	krb5_kvno kvno;
	krb5_enctype enctype;
	struct verify_pair *pairs;	/* one per member */
};

struct verify {
	krb5_context krb5;
	struct asa_account *account;
	const char *account_principal;	/* NAME$@REALM */
	char **principals;		/* of the ASA's keytab */
	size_t num_principals;

	const char *credentials;	/* what the tickets were asked as */
	krb5_ccache ccache;		/* MEMORY, ours */
	krb5_principal client;

	bool dc_checked;
	const char *dc_skipped;		/* why not */
	const char *dc_error;		/* reading them failed */
	struct asa_keytab *dc_keys;	/* the account's enctypes only */
	krb5_kvno dc_kvno;

	struct verify_member *members;
	size_t num_members;
	struct verify_spn *spns;
	size_t num_spns;

	size_t num_pairs;
	size_t num_failed_pairs;
	size_t num_dc_mismatches;
};

static void usage_verify(FILE *out)
{
	fputs("Usage: samba-asa verify NAME [options]\n"
	      "\n"
	      "For every SPN of the ASA NAME, get a service ticket from the "
	      "KDC and check\nthat it decrypts with the keytab of every "
	      "member (fetched back over the\ntransport).  On the DC (the "
	      "local directory), also check that the KDC's own\nkeys "
	      "(samba-tool domain exportkeytab) equal what every member "
	      "holds.\n"
	      "\n"
	      "Tickets are asked for as -U USER (password from a prompt, "
	      "--password-file\nor --password-stdin), else with the TGT of "
	      "your credentials cache\n(KRB5CCNAME), else, on the DC, as "
	      "NAME$ with the KDC's keys of the account.\n"
	      "\n"
	      "Exit status 0 when every (SPN, member) pair works, 1 when any "
	      "does not\n(a table says which and why), 2 on usage or "
	      "environment errors.\n\n", out);
	cli_usage_common(out, true, true);
}

static char *krb5_text(TALLOC_CTX *mem_ctx, krb5_context ctx,
		       krb5_error_code code)
{
	return admin_krb5_error(mem_ctx, ctx, code);
}

static const char *enctype_text(TALLOC_CTX *mem_ctx, krb5_enctype e)
{
	return asa_enctype_name(mem_ctx, e);
}

/* --- directory ------------------------------------------------------- */

static bool url_is_ldap(const char *url)
{
	return url != NULL && (strncasecmp(url, "ldap://", 7) == 0 ||
			       strncasecmp(url, "ldaps://", 8) == 0);
}

/*
 * Connect and load the ASA.  With -U over LDAP the password read once for
 * the tickets binds too (standard input can be read only once).
 */
static int verify_load(TALLOC_CTX *mem_ctx, const struct cli_options *opts,
		       const char *name, const char *password,
		       struct asa_dir **dir, struct asa_account **account)
{
	struct asa_dir_options o = {
		.url = opts->url,
		.smb_conf = opts->smb_conf,
		.username = opts->username,
		.realm = opts->realm,
		.kerberos = opts->kerberos,
		.debug_level = opts->debug_level,
	};
	char *why = NULL;
	int ret;

	if (password == NULL) {
		return admin_load_asa(mem_ctx, opts, name, dir, account);
	}
	if (url_is_ldap(opts->url)) {
		o.password = password;
	} else {
		o.username = NULL;	/* -U is for the tickets only */
	}
	ret = asa_dir_connect(mem_ctx, &o, dir, &why);
	if (ret != LDB_SUCCESS) {
		cli_error("%s", why != NULL ? why : ldb_strerror(ret));
		return ASA_EXIT_USAGE;
	}
	ret = asa_account_load(mem_ctx, *dir, name, account, &why);
	if (ret != LDB_SUCCESS) {
		cli_error("%s", why != NULL ? why : ldb_strerror(ret));
		return ret == LDB_ERR_NO_SUCH_OBJECT ? ASA_EXIT_REFUSED :
			ASA_EXIT_USAGE;
	}
	return ASA_EXIT_OK;
}

/* --- credentials ------------------------------------------------------ */

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

static krb5_error_code creds_password(TALLOC_CTX *mem_ctx, struct verify *v,
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
				       krb5_text(mem_ctx, v->krb5, ret));
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
				       krb5_text(mem_ctx, v->krb5, ret));
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
static krb5_error_code creds_default_ccache(TALLOC_CTX *mem_ctx,
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
static krb5_error_code creds_account_keys(TALLOC_CTX *mem_ctx,
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
				       krb5_text(mem_ctx, v->krb5, ret));
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

/* --- the DC's keys -------------------------------------------------- */

static void read_dc_keys(TALLOC_CTX *mem_ctx, struct verify *v,
			 struct asa_dir *dir, const struct cli_options *opts)
{
	struct asa_keytab *all = NULL;
	krb5_error_code ret;
	size_t i;

	if (asa_dir_backend(dir) != ASA_DIR_BACKEND_LOCAL) {
		v->dc_skipped = "the directory is not this DC's own sam.ldb "
				"(-H ldap://...): run verify on a DC without "
				"-H to compare the KDC's keys";
		return;
	}
	ret = asa_dc_keys_read(v->krb5, mem_ctx, opts->smb_conf,
			       v->account->sam_account_name, &all);
	if (ret == 0) {
		ret = asa_dc_keys_select(v->krb5, mem_ctx, all,
					 v->account->enctypes, &v->dc_keys);
	}
	if (ret != 0) {
		v->dc_error = talloc_asprintf(mem_ctx, "reading the KDC's "
					      "keys failed: %s",
					      krb5_text(mem_ctx, v->krb5,
							ret));
		return;
	}
	v->dc_checked = true;
	for (i = 0; i < v->dc_keys->num_entries; i++) {
		if (v->dc_keys->entries[i].kvno > v->dc_kvno) {
			v->dc_kvno = v->dc_keys->entries[i].kvno;
		}
	}
}

/* --- members -------------------------------------------------------- */

static int fetch_members(TALLOC_CTX *mem_ctx, struct verify *v,
			 const struct cli_options *opts, struct asa_dir *dir)
{
	struct asa_member_transport_options topts;
	const struct asa_member_url **urls = NULL;
	struct asa_member_result *results = NULL;
	size_t *index = NULL;
	size_t n = 0, i;
	int status;
	int ret;

	v->num_members = v->account->num_members;
	v->members = talloc_zero_array(mem_ctx, struct verify_member,
				       v->num_members + 1);
	urls = talloc_zero_array(mem_ctx, const struct asa_member_url *,
				 v->num_members + 1);
	index = talloc_zero_array(mem_ctx, size_t, v->num_members + 1);
	if (v->members == NULL || urls == NULL || index == NULL) {
		cli_error("out of memory");
		return ASA_EXIT_USAGE;
	}
	for (i = 0; i < v->num_members; i++) {
		struct verify_member *m = &v->members[i];
		char *why = NULL;

		m->record = &v->account->members[i];
		if (asa_member_url_parse(mem_ctx, m->record->url, &m->url,
					 &why) != 0) {
			m->error = why != NULL ? why : "bad member URL";
			m->fetch_reason = VERIFY_ERROR;
			m->url = NULL;
			continue;
		}
		urls[n] = m->url;
		index[n] = i;
		n++;
	}
	if (n == 0) {
		return ASA_EXIT_OK;
	}

	status = admin_transport_options(mem_ctx, opts, dir, &topts);
	if (status != ASA_EXIT_OK) {
		return status;
	}
	ret = asa_member_fetch(mem_ctx, v->krb5, &topts, urls, n, &results);
	if (ret != 0) {
		cli_error("cannot reach any member: %s", strerror(ret));
		return ASA_EXIT_USAGE;
	}
	for (i = 0; i < n; i++) {
		struct verify_member *m = &v->members[index[i]];
		struct asa_member_result *r = &results[i];

		if (r->error != 0 || r->keytab == NULL) {
			/* EPERM / EINVAL: the member's samba-asa answered
			 * (refused, e.g. no keytab); the rest: no answer */
			m->fetch_reason = (r->error == EPERM ||
					   r->error == EINVAL) ?
				VERIFY_NO_KEYTAB : VERIFY_UNREACHABLE;
			m->error = r->message != NULL ? r->message :
				talloc_asprintf(mem_ctx, "%s",
						strerror(r->error != 0 ?
							 r->error : EPROTO));
			continue;
		}
		m->keytab = r->keytab;
		asa_keytab_kvnos(mem_ctx, m->keytab, v->account_principal,
				 &m->kvnos, &m->num_kvnos);
	}
	return ASA_EXIT_OK;
}

static void check_dc_keys(TALLOC_CTX *mem_ctx, struct verify *v)
{
	size_t i;

	if (!v->dc_checked) {
		return;
	}
	for (i = 0; i < v->num_members; i++) {
		struct verify_member *m = &v->members[i];
		krb5_error_code ret;

		if (m->keytab == NULL) {
			continue;
		}
		m->dc_checked = true;
		ret = asa_keytab_check_keys(v->krb5, m->keytab, v->dc_keys,
					    (const char * const *)v->principals,
					    v->num_principals);
		if (ret != 0) {
			m->dc_error = krb5_text(mem_ctx, v->krb5, ret);
			v->num_dc_mismatches++;
		}
	}
}

/* --- tickets -------------------------------------------------------- */

static char *kvno_list(TALLOC_CTX *mem_ctx, const krb5_kvno *kvnos,
		       size_t n)
{
	char *s = talloc_strdup(mem_ctx, "");
	size_t i;

	for (i = 0; s != NULL && i < n; i++) {
		s = talloc_asprintf_append(s, "%s%u", i > 0 ? ", " : "",
					   (unsigned)kvnos[i]);
	}
	return s;
}

/*
 * Decrypt the ticket's enc-part with one key of a member, through MIT's
 * public acceptor path: a MEMORY keytab holding that key alone under the
 * ticket's server name (the member's entry was already chosen by SPN,
 * kvno and enctype), and krb5_server_decrypt_ticket_keytab().  Closing
 * the last handle of a MEMORY keytab destroys it.
 */
static krb5_error_code decrypt_with(struct verify *v, krb5_ticket *tkt,
				    const struct asa_keytab_entry *e)
{
	static unsigned int counter;
	krb5_keytab kt = NULL;
	krb5_keytab_entry ke;
	char name[64];
	krb5_error_code ret;

	snprintf(name, sizeof(name), "MEMORY:asa-verify-%d-%u",
		 (int)getpid(), ++counter);
	ret = krb5_kt_resolve(v->krb5, name, &kt);
	if (ret != 0) {
		return ret;
	}
	memset(&ke, 0, sizeof(ke));
	ke.principal = tkt->server;
	ke.vno = e->kvno;
	ke.key.magic = KV5M_KEYBLOCK;
	ke.key.enctype = e->enctype;
	ke.key.length = e->key_length;
	ke.key.contents = e->key;
	ret = krb5_kt_add_entry(v->krb5, kt, &ke);
	if (ret == 0) {
		ret = krb5_server_decrypt_ticket_keytab(v->krb5, kt, tkt);
	}
	krb5_kt_close(v->krb5, kt);
	return ret;
}

/* Decrypt the ticket (DER in 'der') with member m's key. */
static void check_pair(TALLOC_CTX *mem_ctx, struct verify *v,
		       const struct verify_spn *s, const krb5_data *der,
		       const struct verify_member *m, struct verify_pair *p)
{
	const struct asa_keytab_entry *e = NULL;
	krb5_ticket *tkt = NULL;
	krb5_kvno *kvnos = NULL;
	size_t num_kvnos = 0, i;
	krb5_error_code ret;

	if (s->ticket_error != NULL) {
		p->reason = VERIFY_NO_TICKET;
		p->why = talloc_asprintf(mem_ctx, "no ticket from the KDC: %s",
					 s->ticket_error);
		return;
	}
	if (m->keytab == NULL) {
		p->reason = m->fetch_reason;
		p->why = m->error;
		return;
	}
	e = asa_keytab_find(m->keytab, s->principal, s->kvno, s->enctype);
	if (e == NULL) {
		asa_keytab_kvnos(mem_ctx, m->keytab, s->principal, &kvnos,
				 &num_kvnos);
		if (num_kvnos == 0) {
			p->reason = VERIFY_NO_PRINCIPAL;
			p->why = talloc_asprintf(mem_ctx, "no key for %s in "
						 "the member's keytab",
						 s->principal);
			return;
		}
		for (i = 0; i < num_kvnos; i++) {
			if (kvnos[i] == s->kvno) {
				break;
			}
		}
		if (i < num_kvnos) {
			p->reason = VERIFY_ENCTYPE_MISSING;
			p->why = talloc_asprintf(mem_ctx, "kvno %u held, but "
						 "not for %s",
						 (unsigned)s->kvno,
						 enctype_text(mem_ctx,
							      s->enctype));
			return;
		}
		p->reason = VERIFY_KVNO_MISSING;
		p->why = talloc_asprintf(mem_ctx, "the ticket is kvno %u, the "
					 "member holds kvno %s%s",
					 (unsigned)s->kvno,
					 kvno_list(mem_ctx, kvnos, num_kvnos),
					 kvnos[0] < s->kvno ? " (stale)" : "");
		return;
	}

	ret = krb5_decode_ticket(der, &tkt);
	if (ret == 0) {
		ret = decrypt_with(v, tkt, e);
	}
	if (tkt != NULL) {
		krb5_free_ticket(v->krb5, tkt);
	}
	if (ret == 0) {
		p->reason = VERIFY_OK;
		return;
	}
	/*
	 * The entry for this SPN, kvno and enctype is there, so a failure
	 * is its key: MIT says BAD_INTEGRITY, or, having tried every entry
	 * of the keytab without success, AP_WRONG_PRINC.
	 */
	if (ret == KRB5KRB_AP_ERR_BAD_INTEGRITY ||
	    ret == KRB5KRB_AP_WRONG_PRINC) {
		p->reason = VERIFY_WRONG_KEY;
		p->why = talloc_asprintf(mem_ctx, "the member's key (kvno %u "
					 "%s) does not decrypt the ticket",
					 (unsigned)s->kvno,
					 enctype_text(mem_ctx, s->enctype));
		return;
	}
	p->reason = VERIFY_ERROR;
	p->why = talloc_asprintf(mem_ctx, "decrypting the ticket with the "
				 "member's key (kvno %u %s): %s",
				 (unsigned)s->kvno,
				 enctype_text(mem_ctx, s->enctype),
				 krb5_text(mem_ctx, v->krb5, ret));
}

static void check_spn(TALLOC_CTX *mem_ctx, struct verify *v,
		      struct verify_spn *s)
{
	krb5_creds in, *out = NULL;
	krb5_principal server = NULL;
	krb5_ticket *tkt = NULL;
	krb5_error_code ret;
	size_t i;

	memset(&in, 0, sizeof(in));
	s->pairs = talloc_zero_array(mem_ctx, struct verify_pair,
				     v->num_members + 1);

	ret = krb5_parse_name(v->krb5, s->principal, &server);
	if (ret == 0) {
		in.client = v->client;
		in.server = server;
		ret = krb5_get_credentials(v->krb5, 0, v->ccache, &in, &out);
	}
	if (ret == 0) {
		ret = krb5_decode_ticket(&out->ticket, &tkt);
	}
	if (ret != 0) {
		s->ticket_error = krb5_text(mem_ctx, v->krb5, ret);
	} else {
		s->kvno = tkt->enc_part.kvno;
		s->enctype = tkt->enc_part.enctype;
	}
	for (i = 0; i < v->num_members; i++) {
		check_pair(mem_ctx, v, s, out != NULL ? &out->ticket : NULL,
			   &v->members[i], &s->pairs[i]);
		v->num_pairs++;
		if (s->pairs[i].reason != VERIFY_OK) {
			v->num_failed_pairs++;
		}
	}
	if (tkt != NULL) {
		krb5_free_ticket(v->krb5, tkt);
	}
	krb5_free_creds(v->krb5, out);
	krb5_free_principal(v->krb5, server);
}

/* --- output ----------------------------------------------------------- */

static const char *member_name(const struct verify_member *m)
{
	return m->record->name != NULL ? m->record->name : m->record->url;
}

static bool verify_ok(const struct verify *v)
{
	return v->num_members > 0 && v->num_failed_pairs == 0 &&
	       v->num_dc_mismatches == 0 && v->dc_error == NULL &&
	       (!v->dc_checked || v->dc_kvno == v->account->kvno);
}

static json_t *dc_keys_json(TALLOC_CTX *mem_ctx, const struct verify *v)
{
	json_t *o = json_pack("{s:b}", "checked", v->dc_checked);
	json_t *enctypes = json_array();
	size_t i;

	if (o != NULL && v->dc_checked) {
		for (i = 0; i < v->dc_keys->num_entries; i++) {
			enctypes = cli_json_append(enctypes, cli_json_text(
				enctype_text(mem_ctx,
					     v->dc_keys->entries[i].enctype)));
		}
		if (json_object_set_new(o, "kvno",
					json_integer(v->dc_kvno)) != 0 ||
		    json_object_set_new(o, "enctypes", enctypes) != 0) {
			json_decref(o);
			return NULL;
		}
	} else {
		json_decref(enctypes);
	}
	if (o != NULL &&
	    (json_object_set_new(o, "skipped",
				 cli_json_text(v->dc_skipped)) != 0 ||
	     json_object_set_new(o, "error",
				 cli_json_text(v->dc_error)) != 0)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *members_json(const struct verify *v)
{
	json_t *list = json_array();
	size_t i, j;

	for (i = 0; i < v->num_members; i++) {
		const struct verify_member *m = &v->members[i];
		json_t *kvnos = json_array();

		for (j = 0; j < m->num_kvnos; j++) {
			kvnos = cli_json_append(kvnos,
						json_integer(m->kvnos[j]));
		}
		list = cli_json_append(list, json_pack(
			"{s:o, s:o, s:b, s:s, s:o, s:o, s:o, s:o}",
			"name", cli_json_text(member_name(m)),
			"url", cli_json_text(m->record->url),
			"fetched", m->keytab != NULL,
			"result", reason_name(m->keytab != NULL ? VERIFY_OK :
					      m->fetch_reason),
			"error", cli_json_text(m->error),
			"kvnos", kvnos,
			"dc_keys_match", !m->dc_checked ? json_null() :
			json_boolean(m->dc_error == NULL),
			"dc_keys_error", cli_json_text(m->dc_error)));
	}
	return list;
}

static json_t *spns_json(TALLOC_CTX *mem_ctx, const struct verify *v)
{
	json_t *list = json_array();
	size_t i, j;

	for (i = 0; i < v->num_spns; i++) {
		const struct verify_spn *s = &v->spns[i];
		json_t *pairs = json_array();
		json_t *ticket = json_null();

		if (s->ticket_error == NULL) {
			ticket = json_pack("{s:I, s:o}",
					   "kvno", (json_int_t)s->kvno,
					   "enctype", cli_json_text(
						   enctype_text(mem_ctx,
								s->enctype)));
		}
		for (j = 0; j < v->num_members; j++) {
			const struct verify_pair *p = &s->pairs[j];

			pairs = cli_json_append(pairs, json_pack(
				"{s:o, s:b, s:s, s:o}",
				"member", cli_json_text(
					member_name(&v->members[j])),
				"ok", p->reason == VERIFY_OK,
				"result", reason_name(p->reason),
				"error", cli_json_text(p->why)));
		}
		list = cli_json_append(list, json_pack(
			"{s:o, s:o, s:o, s:o, s:o}",
			"spn", cli_json_text(s->spn),
			"principal", cli_json_text(s->principal),
			"ticket", ticket,
			"ticket_error", cli_json_text(s->ticket_error),
			"members", pairs));
	}
	return list;
}

static int print_json(TALLOC_CTX *mem_ctx, const struct verify *v)
{
	return cli_json_print(stdout, json_pack(
		"{s:o, s:o, s:I, s:o, s:o, s:o, s:o, s:I, s:I, s:I, s:b}",
		"name", cli_json_text(v->account->name),
		"account", cli_json_text(v->account_principal),
		"kvno", (json_int_t)v->account->kvno,
		"credentials", cli_json_text(v->credentials),
		"dc_keys", dc_keys_json(mem_ctx, v),
		"members", members_json(v),
		"spns", spns_json(mem_ctx, v),
		"pairs", (json_int_t)v->num_pairs,
		"failed_pairs", (json_int_t)v->num_failed_pairs,
		"dc_key_mismatches", (json_int_t)v->num_dc_mismatches,
		"ok", verify_ok(v)));
}

static void print_text(TALLOC_CTX *mem_ctx, const struct verify *v)
{
	size_t w_spn = strlen("SPN"), w_member = strlen("MEMBER");
	size_t i, j;

	printf("ASA %s (%s): kvno %u, %zu SPN%s, %zu member%s\n",
	       v->account->name, v->account_principal,
	       (unsigned)v->account->kvno, v->num_spns,
	       v->num_spns == 1 ? "" : "s", v->num_members,
	       v->num_members == 1 ? "" : "s");
	printf("Tickets as %s\n", v->credentials);
	if (v->dc_checked) {
		printf("KDC's keys: kvno %u,", (unsigned)v->dc_kvno);
		for (i = 0; i < v->dc_keys->num_entries; i++) {
			printf(" %s", enctype_text(mem_ctx,
					       v->dc_keys->entries[i].enctype));
		}
		printf(" (samba-tool domain exportkeytab)\n");
		if (v->dc_kvno != v->account->kvno) {
			printf("  FAIL: the KDC's keys are kvno %u, the "
			       "directory says kvno %u\n",
			       (unsigned)v->dc_kvno,
			       (unsigned)v->account->kvno);
		}
	} else if (v->dc_error != NULL) {
		printf("KDC's keys: FAIL: %s\n", v->dc_error);
	} else {
		printf("KDC's keys: not compared: %s\n", v->dc_skipped);
	}

	printf("\nMembers:\n");
	for (i = 0; i < v->num_members; i++) {
		const struct verify_member *m = &v->members[i];

		printf("  %s  %s\n", member_name(m), m->record->url);
		if (m->keytab == NULL) {
			printf("    FAIL %s: %s\n",
			       reason_name(m->fetch_reason), m->error);
			continue;
		}
		printf("    holds kvno %s for %s\n",
		       m->num_kvnos > 0 ?
		       kvno_list(mem_ctx, m->kvnos, m->num_kvnos) : "(none)",
		       v->account_principal);
		if (!m->dc_checked) {
			continue;
		}
		if (m->dc_error == NULL) {
			printf("    the KDC's keys: equal\n");
		} else {
			printf("    FAIL: the KDC's keys: %s\n", m->dc_error);
		}
	}
	if (v->num_members == 0) {
		printf("  (none: add one with samba-asa member add)\n");
	}

	if (v->num_members == 0) {
		printf("\nverify: FAILED: %s has no members: nothing holds "
		       "its keys (samba-asa member add).\n",
		       v->account->name);
		return;
	}
	for (i = 0; i < v->num_spns; i++) {
		w_spn = MAX(w_spn, strlen(v->spns[i].spn));
	}
	for (i = 0; i < v->num_members; i++) {
		w_member = MAX(w_member, strlen(member_name(&v->members[i])));
	}
	printf("\n%-*s  %-*s  %s\n", (int)w_spn, "SPN", (int)w_member,
	       "MEMBER", "RESULT");
	for (i = 0; i < v->num_spns; i++) {
		const struct verify_spn *s = &v->spns[i];

		for (j = 0; j < v->num_members; j++) {
			const struct verify_pair *p = &s->pairs[j];

			printf("%-*s  %-*s  ", (int)w_spn, s->spn,
			       (int)w_member, member_name(&v->members[j]));
			if (p->reason == VERIFY_OK) {
				printf("ok (kvno %u %s)\n", (unsigned)s->kvno,
				       enctype_text(mem_ctx, s->enctype));
			} else {
				printf("FAIL %s: %s\n", reason_name(p->reason),
				       p->why);
			}
		}
	}

	printf("\n");
	if (verify_ok(v)) {
		printf("verify: all %zu (SPN, member) pairs work%s.\n",
		       v->num_pairs,
		       v->dc_checked ? "; the KDC's keys equal every "
				       "member's" : "");
	} else {
		printf("verify: FAILED: %zu of %zu (SPN, member) pairs fail",
		       v->num_failed_pairs, v->num_pairs);
		if (v->num_dc_mismatches > 0) {
			printf("; %zu member%s not hold the KDC's keys",
			       v->num_dc_mismatches,
			       v->num_dc_mismatches == 1 ? " does" : "s do");
		}
		printf(".\n");
	}
}

/* --- the command ----------------------------------------------------- */

int cmd_verify(TALLOC_CTX *mem_ctx, int argc, char **argv)
{
	TALLOC_CTX *frame = talloc_new(mem_ctx);
	struct cli_options opts = { 0 };
	struct verify *v = NULL;
	struct asa_dir *dir = NULL;
	char *password = NULL;
	char *why = NULL;
	int pargc = 0;
	char **pargv = NULL;
	krb5_error_code ret;
	int status;
	size_t i;

	status = cli_parse_options(frame, &opts, argc, argv, &pargc, &pargv, true);
	if (status != ASA_EXIT_OK) {
		goto done;
	}
	if (opts.help) {
		usage_verify(stdout);
		goto done;
	}
	if (pargc != 1) {
		usage_verify(stderr);
		status = ASA_EXIT_USAGE;
		goto done;
	}
	v = talloc_zero(frame, struct verify);
	if (v == NULL) {
		status = ASA_EXIT_USAGE;
		goto done;
	}
	ret = krb5_init_context(&v->krb5);
	if (ret != 0) {
		cli_error("krb5_init_context failed: %s", strerror(ret));
		v->krb5 = NULL;
		status = ASA_EXIT_USAGE;
		goto done;
	}

	if (opts.username != NULL) {
		password = talloc_zero_size(frame, VERIFY_PASSWORD_MAX);
		if (password == NULL) {
			status = ASA_EXIT_USAGE;
			goto done;
		}
		asa_secret_wipe_on_free(password);
		if (!cli_read_password(&opts, password, VERIFY_PASSWORD_MAX)) {
			status = ASA_EXIT_USAGE;
			goto done;
		}
	}

	status = verify_load(frame, &opts, pargv[0], password, &dir,
			     &v->account);
	if (status != ASA_EXIT_OK) {
		goto done;
	}
	v->account_principal = talloc_asprintf(frame, "%s@%s",
					       v->account->sam_account_name,
					       v->account->realm);
	ret = admin_principals(frame, v->krb5, v->account, &v->principals,
			       &v->num_principals);
	if (ret != ASA_EXIT_OK || v->account_principal == NULL) {
		status = ASA_EXIT_USAGE;
		goto done;
	}

	read_dc_keys(frame, v, dir, &opts);

	/* credentials: -U, else the ccache, else (on the DC) the ASA */
	if (password != NULL) {
		ret = creds_password(frame, v, opts.username, password, &why);
		TALLOC_FREE(password);
	} else {
		ret = creds_default_ccache(frame, v);
		if (ret != 0 && v->dc_checked) {
			if (v->ccache != NULL) {
				krb5_cc_destroy(v->krb5, v->ccache);
				v->ccache = NULL;
			}
			krb5_free_principal(v->krb5, v->client);
			v->client = NULL;
			ret = creds_account_keys(frame, v, &why);
		} else if (ret != 0) {
			why = talloc_asprintf(frame, "no TGT in the "
					      "credentials cache (%s): kinit "
					      "first, give -U USER, or run "
					      "on the DC",
					      krb5_text(frame, v->krb5, ret));
		}
	}
	if (ret != 0) {
		cli_error("%s", why != NULL ? why :
			  krb5_text(frame, v->krb5, ret));
		status = ASA_EXIT_USAGE;
		goto done;
	}

	status = fetch_members(frame, v, &opts, dir);
	if (status != ASA_EXIT_OK) {
		goto done;
	}
	check_dc_keys(frame, v);

	v->num_spns = v->account->num_spns;
	v->spns = talloc_zero_array(frame, struct verify_spn,
				    v->num_spns + 1);
	if (v->spns == NULL) {
		status = ASA_EXIT_USAGE;
		goto done;
	}
	for (i = 0; i < v->num_spns; i++) {
		struct verify_spn *s = &v->spns[i];
		krb5_principal p = NULL;
		char *unparsed = NULL;

		s->spn = v->account->spns[i];
		s->principal = talloc_asprintf(frame, "%s@%s", s->spn,
					       v->account->realm);
		/* the form keytabs hold it in */
		if (krb5_parse_name(v->krb5, s->principal, &p) == 0 &&
		    krb5_unparse_name(v->krb5, p, &unparsed) == 0) {
			s->principal = talloc_strdup(frame, unparsed);
			krb5_free_unparsed_name(v->krb5, unparsed);
		}
		krb5_free_principal(v->krb5, p);
		check_spn(frame, v, s);
	}

	if (opts.json) {
		status = print_json(frame, v);
		if (status != ASA_EXIT_OK) {
			goto done;
		}
	} else {
		print_text(frame, v);
	}
	status = verify_ok(v) ? ASA_EXIT_OK : ASA_EXIT_REFUSED;
done:
	if (v != NULL && v->krb5 != NULL) {
		if (v->ccache != NULL) {
			krb5_cc_destroy(v->krb5, v->ccache);
		}
		krb5_free_principal(v->krb5, v->client);
		krb5_free_context(v->krb5);
	}
	TALLOC_FREE(frame);
	return status;
}
