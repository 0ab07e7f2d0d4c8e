/*
 * samba-asa: rolling the password of an alternate service account.
 *
 * A roll is two-phase, so that no member ever lacks a key the KDC uses.
 * roll_run() takes these steps in this order (the CLI's `roll NAME` and
 * `roll --due`, which the asa_roll service runs, call it):
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
 *   asa:roll settle    = 15m   a scheduled roll waits (up to this long
 *                              after it became due) while a member holds
 *                              keys above the directory's kvno and no
 *                              failed attempt is recorded: a roll made on
 *                              another DC, not replicated here yet; 0: no
 *                              wait
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
#include "push.h"
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

/*
 * Whether the ASA's roll is overdue at 'now': its regular time (last roll,
 * or creation, plus its interval and jitter) has passed and an attempt
 * since failed, or it passed more than one retry delay ago (nothing ran
 * it: the service is not enabled, or not on the PDC emulator).  *since
 * gets the regular time.  False for a refused policy.
 */
bool asa_roll_overdue(const struct asa_account *account,
		      const struct asa_schedule_policy *policy,
		      time_t now,
		      time_t *since);

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
 * is wiped when it is freed.  Allocate it with talloc_zero() and fill in
 * the first block.
 */
struct roll_state {
	krb5_context krb5;
	struct asa_dir *dir;
	struct asa_account *account;
	const char *smb_conf;		/* for the KDC's keys; NULL: default */

	krb5_kvno old_kvno;
	krb5_kvno new_kvno;
	char *password;			/* wiped when freed */
	struct asa_key *keys;		/* wiped when freed */
	size_t num_keys;
	char **principals;
	size_t num_principals;
	struct asa_keytab *new_keytab;	/* the new keys only */
	struct asa_keytab *current_keys; /* the KDC's current keys (local) */
	char *warning;			/* something worth saying, not fatal */
	uint8_t *keytab;		/* what members get; wiped when freed */
	size_t keytab_length;

	/* per member: what the push did (members[i] is account->members[i]);
	 * NULL until roll_stage_members() */
	struct asa_push *push;

	bool kdc_keys_checked;		/* local: the KDC's own keys compared */

	/* what roll_run() did */
	bool rolled;			/* the directory's password changed */
	char *error;			/* why it failed; NULL: it worked */
	char *record_error;		/* why its outcome was not recorded */
};

/*
 * The new password, keys at kvno + 1, and the keytab members get: the new
 * keys for NAME$ and every SPN, plus, on the DC, the keys the KDC uses
 * now (so a member a forced roll left behind is repaired).  The password
 * avoids the account name (the domain's complexity rule).
 */
krb5_error_code roll_prepare(struct roll_state *rs, char **errstring);

/*
 * The entries of 'in' at kvno whose enctype an ASA with
 * msDS-SupportedEncryptionTypes 'enctype_bits' uses (the DC also stores
 * RC4, which an AES-only ASA's tickets never use).  Shallow: the keys
 * stay owned by 'in'.
 */
krb5_error_code roll_keys_select(TALLOC_CTX *mem_ctx,
				 const struct asa_keytab *in,
				 krb5_kvno kvno,
				 uint32_t enctype_bits,
				 struct asa_keytab **out);

/*
 * Push the keytab to every member at once (push.h): rs->push.  Returns 0
 * when the pushes were made (each member's fate is in rs->push), or an
 * errno when none could be.
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

/* The directory's msDS-KeyVersionNumber of the ASA.  An LDB error code. */
int roll_read_kvno(struct roll_state *rs, uint32_t *kvno, char **errstring);

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

/* How many members did not take the new keys (all, before staging). */
size_t roll_num_failed(const struct roll_state *rs);

/*
 * The whole roll, in the order above, of rs->account (rs filled in as
 * for roll_prepare()), with the ASA's lock held (roll_lock()).  force:
 * change the password even when members failed (they are marked stale).
 * at_step (may be NULL) is called on reaching each step from
 * ROLL_STEP_KEYS on: the test hooks, and what a caller says as it goes.
 * Sets rs->rolled, rs->error and rs->record_error; the outcome, failure
 * or not, is recorded in the directory.  0 when rolled and checked, else
 * -1 (rs->error says why).
 */
struct roll_run_options {
	bool force;
	const struct asa_member_transport_options *transport;
	void (*at_step)(const struct roll_state *rs, enum roll_step step);
};
int roll_run(struct roll_state *rs, const struct roll_run_options *o);

/*
 * Before a scheduled roll, due at `due`: does a member hold keys for the
 * ASA above the kvno this DC's directory shows, while the directory
 * records no failed attempt since the last roll (a failed attempt leaves
 * its keys on the members it reached)?  Those come from a roll that this
 * DC has not replicated yet: made on another DC just before the PDC
 * emulator role moved here, or still under way there.  Rolling now would
 * give the members other keys at that same kvno, and the other DCs' KDCs'
 * tickets would fail on them until replication settled which password
 * wins.  So wait, up to policy->settle after the due time (a roll killed
 * after staging looks the same, and is completed then).  Returns the
 * time until which to wait (0: none) and the kvno seen.  A member that cannot
 * be reached says nothing here: the roll itself reports it.  (The
 * keytab's own timestamps do not help: MIT's keytab writer stamps each
 * entry with the time it writes it.)
 */
time_t roll_staged_elsewhere(TALLOC_CTX *mem_ctx, krb5_context krb5,
			     const struct asa_member_transport_options *t,
			     const struct asa_account *a,
			     const struct asa_schedule_policy *policy,
			     time_t due, time_t now, krb5_kvno *seen);

/*
 * The lock that allows one roll per ASA at a time: flock() on
 * LOCK_DIR/roll-<name>.lock (name lower-cased, without '$'), which the
 * kernel releases when the process dies, even by SIGKILL.  LOCK_DIR is
 * made (0700) when missing.  wait_seconds > 0: wait up to that long for
 * another roll to end.  Returns the lock's fd (>= 0; close it to
 * release), or -errno: -EWOULDBLOCK when another roll holds it.
 * *path_out (optional) gets the lock file's path either way.
 */
int roll_lock(TALLOC_CTX *mem_ctx, const char *lock_dir, const char *name,
	      int wait_seconds, char **path_out);

/* The PID written in a lock file by the roll that holds it, or 0. */
long roll_lock_holder(const char *path);

/*
 * Where the per-ASA locks live: smb.conf "asa:roll lock dir", else
 * <private dir>/asa; ASA_ROLL_LOCK_DIR_FALLBACK without an smb.conf
 * (lp_ctx NULL).  Everything that changes an ASA's keys on its members
 * (roll, create, member add) takes the ASA's lock, so that a roll cannot
 * run between another command reading the keys and installing them.
 */
#define ASA_ROLL_LOCK_DIR_FALLBACK "/run/samba-asa"
const char *asa_roll_lock_dir(TALLOC_CTX *mem_ctx,
			      struct loadparm_context *lp_ctx);

#endif /* _ASA_ROLL_H_ */
