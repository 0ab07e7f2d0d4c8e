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
#include "push.h"
#include "verify.h"

#define VERIFY_PASSWORD_MAX 1024

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

/* --- directory ------------------------------------------------------- */

/*
 * Connect and load the ASA.  With -U over LDAP the password read once for
 * the tickets binds too (standard input can be read only once).
 */
static int verify_load(TALLOC_CTX *mem_ctx, const struct cli_options *opts,
		       const char *name, const char *password,
		       struct asa_dir **dir, struct asa_account **account)
{
	char *why = NULL;
	int status;
	int ret;

	if (password == NULL) {
		return admin_load_asa(mem_ctx, opts, name, dir, account);
	}
	status = cli_connect_password(mem_ctx, opts, password, dir);
	if (status != ASA_EXIT_OK) {
		return status;
	}
	ret = asa_account_load(mem_ctx, *dir, name, account, &why);
	if (ret != LDB_SUCCESS) {
		cli_error("%s", why != NULL ? why : ldb_strerror(ret));
		return ret == LDB_ERR_NO_SUCH_OBJECT ? ASA_EXIT_REFUSED :
			ASA_EXIT_USAGE;
	}
	return ASA_EXIT_OK;
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
					      admin_krb5_error(mem_ctx, v->krb5,
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
			m->dc_error = admin_krb5_error(mem_ctx, v->krb5, ret);
			v->num_dc_mismatches++;
		}
	}
}

/* --- tickets -------------------------------------------------------- */

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
						 asa_enctype_name(mem_ctx,
								  s->enctype));
			return;
		}
		p->reason = VERIFY_KVNO_MISSING;
		p->why = talloc_asprintf(mem_ctx, "the ticket is kvno %u, the "
					 "member holds kvno %s%s",
					 (unsigned)s->kvno,
					 asa_kvno_list(mem_ctx, kvnos,
					 num_kvnos),
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
					 asa_enctype_name(mem_ctx, s->enctype));
		return;
	}
	p->reason = VERIFY_ERROR;
	p->why = talloc_asprintf(mem_ctx, "decrypting the ticket with the "
				 "member's key (kvno %u %s): %s",
				 (unsigned)s->kvno,
				 asa_enctype_name(mem_ctx, s->enctype),
				 admin_krb5_error(mem_ctx, v->krb5, ret));
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
		s->ticket_error = admin_krb5_error(mem_ctx, v->krb5, ret);
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
		ret = verify_creds_password(frame, v, opts.username,
					    password, &why);
		TALLOC_FREE(password);
	} else {
		ret = verify_creds_default_ccache(frame, v);
		if (ret != 0 && v->dc_checked) {
			if (v->ccache != NULL) {
				krb5_cc_destroy(v->krb5, v->ccache);
				v->ccache = NULL;
			}
			krb5_free_principal(v->krb5, v->client);
			v->client = NULL;
			ret = verify_creds_account_keys(frame, v, &why);
		} else if (ret != 0) {
			why = talloc_asprintf(frame, "no TGT in the "
					      "credentials cache (%s): kinit "
					      "first, give -U USER, or run "
					      "on the DC",
					      admin_krb5_error(frame, v->krb5,
					      ret));
		}
	}
	if (ret != 0) {
		cli_error("%s", why != NULL ? why :
			  admin_krb5_error(frame, v->krb5, ret));
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
		status = verify_print_json(frame, v);
		if (status != ASA_EXIT_OK) {
			goto done;
		}
	} else {
		verify_print_text(frame, v);
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
