/*
 * samba-asa verify: what its parts share.  cmd_verify.c loads the ASA,
 * fetches the members' keytabs and checks every ticket; verify_creds.c
 * gets the tickets' credentials; verify_output.c prints the table or
 * the JSON.
 */
#ifndef _ASA_VERIFY_H_
#define _ASA_VERIFY_H_

#include <stdbool.h>
#include <stddef.h>
#include <talloc.h>
#include <krb5.h>

#include "asa.h"
#include "keytab.h"
#include "member.h"

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

/*
 * The tickets' credentials, in v->ccache / v->client, as verify_creds.c
 * explains: -U USER with a password, the default credentials cache, or
 * on the DC NAME$ with the KDC's keys.  *why (on mem_ctx) says what
 * failed.
 */
krb5_error_code verify_creds_password(TALLOC_CTX *mem_ctx, struct verify *v,
				      const char *username,
				      const char *password, char **why);
krb5_error_code verify_creds_default_ccache(TALLOC_CTX *mem_ctx,
					    struct verify *v);
krb5_error_code verify_creds_account_keys(TALLOC_CTX *mem_ctx,
					  struct verify *v, char **why);

/* Whether everything checked works (the exit status). */
bool verify_ok(const struct verify *v);

/* The result as JSON (an exit status: it could not be written) or as
 * the table. */
int verify_print_json(TALLOC_CTX *mem_ctx, const struct verify *v);
void verify_print_text(TALLOC_CTX *mem_ctx, const struct verify *v);

#endif /* _ASA_VERIFY_H_ */
