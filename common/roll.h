/*
 * samba-asa: rolling the password of an alternate service account.
 *
 * A roll is two-phase, so that no member ever lacks a key the KDC uses:
 *
 *   1. roll_prepare():        a new random password, its keys at kvno + 1,
 *                             and the keytab for NAME$ and every SPN;
 *   2. roll_stage_members():  every member merges that keytab beside the
 *                             keys it holds (it keeps the previous kvno);
 *   3. roll_set_password():   only then the directory's password changes
 *                             (unicodePwd), so the KDC starts issuing
 *                             tickets at kvno + 1;
 *   4. roll_check_kdc():      the directory's msDS-KeyVersionNumber is the
 *                             kvno the members got and, on the DC, the
 *                             KDC's keys equal the derived ones;
 *   5. roll_record():         Latest / Previous per member, the last roll
 *                             and failures, in the directory.
 *
 * A crash between 2 and 3 leaves members holding a kvno + 1 the KDC does
 * not use yet, next to the current one: harmless, and the next roll
 * reuses kvno + 1 (a keytab merge replaces an entry with the same
 * principal, kvno and enctype).  A crash after 3 leaves members holding
 * exactly the KDC's new keys.
 *
 * The password and keys live only in talloc chunks that wipe themselves
 * when freed (keys.h); they never reach argv, a child's environment, a
 * log or a file other than the keytabs members hold.
 *
 * The smb.conf options that govern when rolls are due (read by the
 * asa_roll service, `roll --due` and `status`):
 *
 *   asa:roll interval  = 21d   time between rolls (per ASA: the
 *                              "rollInterval" setting in the directory)
 *   asa:roll jitter    = 1h    up to this much later, per ASA and cycle
 *   asa:roll retry     = 5m    first retry after a failed roll, doubling
 *   asa:roll retry max = 6h    longest wait between retries
 *
 * Durations as asa_schedule_parse_duration() reads them ("21d", "90m",
 * "3600").
 */
#ifndef _ASA_ROLL_H_
#define _ASA_ROLL_H_

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <talloc.h>
#include <krb5.h>

#include "asa.h"
#include "keys.h"
#include "keytab.h"
#include "member.h"
#include "schedule.h"

struct loadparm_context;

/*
 * The schedule policy from smb.conf (lp_ctx NULL: the defaults).  EINVAL
 * with *why (on mem_ctx) naming the option for a value that does not
 * parse or a policy asa_schedule_policy_check() refuses.
 */
int asa_roll_policy_load(TALLOC_CTX *mem_ctx,
			 struct loadparm_context *lp_ctx,
			 struct asa_schedule_policy *policy,
			 char **why);

/*
 * The policy for one ASA: 'policy' with the ASA's own interval when it
 * has one (the jitter is then capped at that interval).
 */
void asa_roll_account_policy(const struct asa_account *account,
			     const struct asa_schedule_policy *policy,
			     struct asa_schedule_policy *out);

/* The schedule state of an ASA, as its roll state in the directory says. */
void asa_roll_account_state(const struct asa_account *account,
			    struct asa_schedule_state *state);

/*
 * When the ASA's next roll is due (asa_schedule_next_due() with the two
 * above).  0, or EINVAL for a refused policy.
 */
int asa_roll_next_due(const struct asa_account *account,
		      const struct asa_schedule_policy *policy,
		      time_t now,
		      time_t *due);

/* Whether the ASA is due at 'now' (false for a refused policy). */
bool asa_roll_is_due(const struct asa_account *account,
		     const struct asa_schedule_policy *policy,
		     time_t now);

/*
 * The named steps of a roll, in order.  SAMBA_ASA_TEST_STOP_AT=<name>
 * (tests only) makes `samba-asa roll` kill itself with SIGKILL when it
 * reaches that step, to prove a crash there is harmless.
 */
enum roll_step {
	ROLL_STEP_LOCKED,	/* lock held, nothing done */
	ROLL_STEP_KEYS,		/* password and keys made, nothing sent */
	ROLL_STEP_STAGED,	/* members hold kvno + 1; directory unchanged */
	ROLL_STEP_PASSWORD,	/* directory changed, not yet checked */
	ROLL_STEP_CHECKED,	/* kvno and keys checked, status not written */
	ROLL_STEP_RECORDED,	/* status written, lock still held */
	ROLL_STEP_COUNT
};

/* "locked", "keys", "staged", "password", "checked", "recorded". */
const char *roll_step_name(enum roll_step step);

/* The step of a name, or -1. */
int roll_step_from_name(const char *name);

/*
 * What one roll carries from step to step.  Every secret hangs off it and
 * is wiped when it is freed.
 */
struct roll_state {
	krb5_context krb5;
	struct asa_dir *dir;
	struct asa_account *account;
	const char *smb_conf;		/* for the KDC's keys; NULL: default */
	bool force;

	krb5_kvno old_kvno;
	krb5_kvno new_kvno;
	char *password;			/* wiped when freed */
	struct asa_key *keys;		/* wiped when freed */
	size_t num_keys;
	char **principals;
	size_t num_principals;
	uint8_t *keytab;		/* serialised; wiped when freed */
	size_t keytab_length;

	/* per member (account->members[i]): what the push did */
	struct asa_member_result *results;
	bool *member_ok;
	size_t num_failed;

	/* for the roll's report */
	bool kdc_keys_checked;		/* local: the KDC's own keys compared */
};

/*
 * The new password, keys at kvno + 1 and the serialised keytab.  The
 * password avoids the account name (the domain's complexity rule).
 */
krb5_error_code roll_prepare(struct roll_state *rs, char **errstring);

/*
 * Push the keytab to every member at once.  Fills rs->results,
 * rs->member_ok and rs->num_failed.  Returns 0 when the pushes were made
 * (each member's fate is in its result), or an errno when none could be.
 */
int roll_stage_members(struct roll_state *rs,
		       const struct asa_member_transport_options *options,
		       char **errstring);

/*
 * Set the new password in the directory (unicodePwd replace, with system
 * rights on the local backend; over LDAP only on a protected connection).
 * An LDB error code.
 */
int roll_set_password(struct roll_state *rs, char **errstring);

/*
 * Check the directory's msDS-KeyVersionNumber equals rs->new_kvno, and on
 * the local backend that the KDC's keys equal the derived ones.  0, or an
 * error (KRB5KRB_AP_ERR_BAD_INTEGRITY for different keys, EPROTO for a
 * kvno that is not the expected one) with *errstring.
 */
int roll_check_kdc(struct roll_state *rs, char **errstring);

/*
 * Write what happened to the directory: each member's Latest / Previous
 * (or its error, and stale when a forced roll left it behind), and the
 * account's roll state.  'rolled': the directory's password changed;
 * 'error': why the roll failed (NULL when it worked).
 */
int roll_record(struct roll_state *rs, bool rolled, const char *error,
		char **errstring);

/*
 * The lock that allows one roll per ASA at a time: flock() on
 * <dir>/roll-<name>.lock, which the kernel releases when the process
 * dies.  wait_seconds > 0: wait that long for another roll to end.
 * Returns the lock's fd (>= 0), or -errno: -EWOULDBLOCK when another
 * roll holds it.  Close the fd to release it.
 */
int roll_lock(const char *lock_dir, const char *name, int wait_seconds,
	      char **path_out, TALLOC_CTX *mem_ctx);

#endif /* _ASA_ROLL_H_ */
