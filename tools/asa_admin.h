/*
 * samba-asa: what the administrator's ASA commands (create, member,
 * keytab) share: loading an ASA, its current keys and
 * pushing them to members with their status recorded in the directory.
 *
 * Functions returning int return an exit status (ASA_EXIT_*) and print
 * why on failure, as cli.h's do.
 */
#ifndef _ASA_ADMIN_H_
#define _ASA_ADMIN_H_

#include <stdbool.h>
#include <stddef.h>
#include <talloc.h>
#include <krb5.h>

#include "cli.h"
#include "asa.h"
#include "keytab.h"
#include "member.h"
#include "push.h"

/* Connect as opts say and load the ASA 'name'. */
int admin_load_asa(TALLOC_CTX *mem_ctx, const struct cli_options *opts,
		   const char *name, struct asa_dir **dir,
		   struct asa_account **account);

/*
 * How to reach members: the asa:ssh settings of smb.conf (the local
 * backend's, else -s FILE or the default smb.conf of this host), read by
 * asa_member_transport_options_load(); local keytabs 0600.
 */
int admin_transport_options(TALLOC_CTX *mem_ctx,
			    const struct cli_options *opts,
			    struct asa_dir *dir,
			    struct asa_member_transport_options *topts);

/* The principals of the ASA's keytab: NAME$@REALM and every SPN@REALM. */
int admin_principals(TALLOC_CTX *mem_ctx, krb5_context ctx,
		     const struct asa_account *account,
		     char ***principals, size_t *num_principals);

/*
 * The ASA's current keys as members hold them (every principal; the
 * current kvno and, where the source has it, the previous one; only the
 * enctypes the account supports).  The password is known to nobody, so
 * they come either from the DC's own database (copy_from NULL: needs to
 * run on a DC, see dckeys.h) or from the keytab of member copy_from (a
 * name or URL of a recorded member; the seed's -CopyFrom).
 */
int admin_current_keytab(TALLOC_CTX *mem_ctx, krb5_context ctx,
			 const struct cli_options *opts,
			 const struct asa_account *account,
			 const char *copy_from,
			 const struct asa_member_transport_options *topts,
			 struct asa_keytab **keytab);

/*
 * Install keytab (whose newest kvno is kvno) on members[0..n-1] at once,
 * print how each fared (failures on stderr, naming the member), and
 * record each one's status in the directory.  *failed gets how many did
 * not get the keys.  ASA_EXIT_OK unless nothing could be attempted.
 */
int admin_push(TALLOC_CTX *mem_ctx, krb5_context ctx, struct asa_dir *dir,
	       const struct asa_account *account,
	       struct asa_member_record * const *members, size_t n,
	       const struct asa_keytab *keytab, krb5_kvno kvno,
	       const struct asa_member_transport_options *topts,
	       size_t *failed);

/*
 * How each member of push fared: "installed; holds kvno ..." or FAILED on
 * standard output, the reason on standard error.  key_known (may be
 * NULL: all known) as admin_host_key_known() said before the push.
 */
void admin_push_report(const struct asa_push *push,
		       const struct asa_account *account,
		       const struct asa_member_transport_options *topts,
		       const bool *key_known);

/*
 * Host keys of members met for the first time (accept_new_host_key):
 * whether samba-asa's known_hosts has one for url (true for a local URL),
 * and, once a push has recorded it, its fingerprint on standard output
 * for the administrator to compare with the member's own.
 */
bool admin_host_key_known(const struct asa_member_transport_options *topts,
			  const struct asa_member_url *url);
void admin_host_key_show(const struct asa_member_transport_options *topts,
			 const struct asa_member_url *url,
			 const char *member);

/*
 * Take the ASA's lock (the one `samba-asa roll` takes, roll.h), waiting
 * up to two minutes for a roll of it to end.  *lock_fd gets the lock;
 * close it to release (the kernel does if the process dies).  dir may be
 * NULL (not connected yet): then smb.conf is -s FILE or the default one.
 */
int admin_lock(TALLOC_CTX *mem_ctx, const struct cli_options *opts,
	       struct asa_dir *dir, const char *name, int *lock_fd);

/* A krb5 error as text. */
char *admin_krb5_error(TALLOC_CTX *mem_ctx, krb5_context ctx,
		       krb5_error_code code);

/* "aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96" for enctype bits */
char *admin_enctype_names(TALLOC_CTX *mem_ctx, krb5_context ctx,
			  uint32_t bits);

#endif /* _ASA_ADMIN_H_ */
