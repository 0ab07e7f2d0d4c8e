/*
 * samba-asa: the trust rule applied to the directory and to files on the
 * DC (the rule itself: sd.h).
 *
 * Every command and the roll load ASAs through asa.c, which asks
 * asa_trust_check_msg() about each ASA's account, its samba-asa marker
 * and each member record; what fails is kept apart (never pushed to,
 * never rolled) and shown as untrusted.
 */
#ifndef _ASA_TRUST_H_
#define _ASA_TRUST_H_

#include <stdbool.h>
#include <talloc.h>
#include <ldb.h>

#include "dir.h"
#include "sd.h"

/*
 * Whom the rule trusts in this domain: its SID, the forest root
 * domain's, and the DCs' accounts.
 */
int asa_trust_load(TALLOC_CTX *mem_ctx, struct asa_dir *dir,
		   struct asa_trust_sids **trusted, char **errstring);

/*
 * NULL when the object msg (read with ASA_DIR_SEARCH_SD and the
 * attributes nTSecurityDescriptor, and objectSid for an account) passes
 * the rule; otherwise why not.
 */
char *asa_trust_check_msg(TALLOC_CTX *mem_ctx,
			  const struct asa_trust_sids *trusted,
			  const struct ldb_message *msg,
			  enum asa_trust_kind kind);

/*
 * Bring the object at dn under the rule: take from its explicit ACEs
 * every right an untrusted principal must not hold and give it to Domain
 * Admins if someone else owns it (asa_trust_strip_sd()), then read it
 * back.  *why (on mem_ctx) is NULL when it now passes, or what still
 * fails (an inherited grant: the container's permissions).
 * *changed: whether it was written.
 */
int asa_trust_secure(TALLOC_CTX *mem_ctx, struct asa_dir *dir,
		     const struct asa_trust_sids *trusted,
		     struct ldb_dn *dn, enum asa_trust_kind kind,
		     bool *changed, char **why, char **errstring);

/*
 * Bring an ASA under the rule (`samba-asa create`, `samba-asa secure`):
 * asa_trust_secure() on its account and on its samba-asa SCP.  *why:
 * NULL when both now pass, else what still fails.
 */
int asa_trust_secure_asa(TALLOC_CTX *mem_ctx, struct asa_dir *dir,
			 struct ldb_dn *account_dn, bool *changed,
			 char **why, char **errstring);

/*
 * Whether root on the DC may write a file at path (a local: member's
 * keytab): its directory and every directory above it are owned by root
 * and writable by nobody else (a sticky directory above it is fine: no
 * one else can rename what root owns there), and if path exists it is a
 * regular file, not a symbolic link.  0, or an errno with *why (on
 * mem_ctx) saying what is wrong.
 */
int asa_local_path_check(TALLOC_CTX *mem_ctx, const char *path,
			 char **why);

#endif /* _ASA_TRUST_H_ */
