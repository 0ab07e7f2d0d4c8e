/*
 * samba-asa roll: the revocation of old keys that `member remove` asks
 * for (common/revoke.h), as `roll NAME` and `roll --due` complete it.
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
