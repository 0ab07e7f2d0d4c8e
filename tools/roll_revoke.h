/*
 * samba-asa roll: what its parts share.  cmd_roll.c parses, rolls one
 * ASA (common/roll.h) and reports; roll_due.c is `roll --due`, the
 * schedule; roll_revoke.c completes the revocation of old keys that
 * `member remove` asks for (common/revoke.h).
 */
#ifndef _ASA_ROLL_REVOKE_H_
#define _ASA_ROLL_REVOKE_H_

#include <stdbool.h>
#include <time.h>
#include <krb5.h>

#include "cli.h"
#include "asa.h"
#include "member.h"
#include "roll.h"

/* What a roll command works with. */
struct roll_env {
	struct asa_dir *dir;
	krb5_context krb5;
	struct loadparm_context *lp_ctx;
	const struct cli_options *opts;
	const char *lock_dir;
	struct asa_member_transport_options transport;
};

/* How roll_one() reports: as text, as JSON, or not at all (--due --json). */
enum roll_report { REPORT_TEXT, REPORT_JSON, REPORT_NONE };

/* Roll the ASA 'name' now, with its lock.  An exit status. */
int roll_one(TALLOC_CTX *mem_ctx, struct roll_env *env, const char *name,
	     bool force, bool revoke_now, enum roll_report how);

/* `roll --due`: every ASA that is due, on the PDC emulator.  An exit status. */
int roll_due(TALLOC_CTX *mem_ctx, struct roll_env *env, bool json);

/*
 * The member records the trust rule refuses (common/sd.h): named, never
 * pushed to, never blocking the roll of the others.  On standard error,
 * which the asa_roll service logs at error level.
 */
void roll_print_untrusted(const struct asa_account *a);

/*
 * After a roll to rs->new_kvno, with the ASA's lock: a revocation
 * pending from `member remove` gets its time (asa:revoke after), or
 * happens at once (revoke_now, member remove --revoke-now, or asa:revoke
 * after = 0).  An exit status.
 */
int roll_revocation(struct roll_env *env, struct roll_state *rs,
		    bool revoke_now);

/*
 * `roll --due`: the revocation of the ASA 'name', if its time has come.
 * *at gets when to look again (0: nothing with a time pending).  An exit
 * status.
 */
int revoke_due(struct roll_env *env, const char *name,
	       const struct asa_schedule_policy *policy, time_t *at);

#endif /* _ASA_ROLL_REVOKE_H_ */
