/*
 * samba-asa: revoking the keys a removed member holds.
 *
 * A member that is removed (`samba-asa member remove`) keeps the ASA's
 * keys it held: the current kvno K and the one before.  With them it can
 * make service tickets for any user that every other member accepts, as
 * long as they hold a key at K.  So removal records a revocation on the
 * ASA: once a roll has moved the directory past K, and tickets the KDC
 * issued under K before that roll have expired, every remaining member
 * is given the current keys only and drops every other key of the ASA
 * (`member install --revoke`).  The next roll would drop K anyway, but
 * only weeks later.
 *
 * The pending revocation lives in the directory, in 'keywords' of the
 * ASA's samba-asa SCP (no secret), so that any DC and the asa_roll
 * service (`roll --due`) complete it:
 *
 *   revoke_kvno=K     keys at K and below are to go
 *   revoke_at=T       when (UTC seconds); absent: after the roll that
 *                     takes the directory past K
 *   revoke_now=1      at once after that roll (member remove --revoke-now)
 *
 * When: smb.conf "asa:revoke after" (a duration, 0: at once), else the
 * longest ticket lifetime of Samba's KDC (the longer of kdc:service
 * ticket lifetime and kdc:user ticket lifetime, 10 h each by default, as
 * the KDC reads them: lpcfg_default_kdc_policy(), which also honours a
 * Kerberos policy applied from a GPO) plus the 5 minutes of clock skew
 * acceptors allow.
 */
#ifndef _ASA_REVOKE_H_
#define _ASA_REVOKE_H_

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <talloc.h>

#include "asa.h"
#include "keytab.h"
#include "member.h"
#include "push.h"

struct loadparm_context;

struct asa_revocation {
	uint32_t kvno;		/* 0: none pending */
	time_t at;		/* 0: after the roll past kvno */
	bool now;		/* that roll revokes at once */
};

/* The ASA's pending revocation (kvno 0: none). */
void asa_revocation_get(const struct asa_account *account,
			struct asa_revocation *r);

/*
 * Put r (kvno 0: none) into the account's keywords, to be written with
 * asa_account_store_state().  ENOMEM or 0.
 */
int asa_revocation_set(struct asa_account *account,
		       const struct asa_revocation *r);

/*
 * A removal of members whose newest kvno is 'held': revoke up to the
 * larger of that, the directory's kvno and a revocation already pending
 * (which then waits for the same roll).
 */
void asa_revocation_add(struct asa_revocation *r, uint32_t dir_kvno,
			uint32_t held, bool now);

/*
 * How long after a roll tickets under the previous kvno can still be
 * valid (see above), in seconds.  EINVAL with *why for an "asa:revoke
 * after" that is not a duration.  lp_ctx NULL: the defaults.
 */
int asa_revoke_delay(TALLOC_CTX *mem_ctx, struct loadparm_context *lp_ctx,
		     int64_t *seconds, char **why);

/* What becomes of a pending revocation after a roll. */
enum asa_revoke_next {
	ASA_REVOKE_NONE,	/* none pending, or not this roll's */
	ASA_REVOKE_PUSH,	/* now: asa_revoke_push() the new keys */
	ASA_REVOKE_DONE,	/* the members hold no revoked kvno: cleared */
	ASA_REVOKE_SCHEDULED,	/* its time is set (r->at) */
};

/*
 * After a roll from old_kvno to new_kvno, with the ASA's lock: a
 * revocation pending from `member remove` (keys at r->kvno and below)
 * now has its time: at once (revoke_now, member remove --revoke-now, or
 * asa:revoke after = 0: ASA_REVOKE_PUSH), or once tickets issued before
 * this roll have expired (ASA_REVOKE_SCHEDULED, *delay after now).  When
 * the members, all updated by this roll (num_failed 0), keep nothing at
 * r->kvno or below anyway, it is done (ASA_REVOKE_DONE).  revoke_now
 * with none pending revokes old_kvno.  DONE and SCHEDULED are stored in
 * the directory.  0, or an error with *why.
 */
int asa_revoke_after_roll(TALLOC_CTX *mem_ctx, struct asa_dir *dir,
			  struct loadparm_context *lp_ctx,
			  struct asa_account *account, uint32_t old_kvno,
			  uint32_t new_kvno, size_t num_failed,
			  bool revoke_now, enum asa_revoke_next *next,
			  struct asa_revocation *r, int64_t *delay,
			  char **why);

/*
 * When the ASA's pending revocation is due (*when 0: none pending, or
 * the roll that comes first has not happened).  A revocation whose roll
 * came from a samba-asa that set no time counts from the last roll.  0,
 * or EINVAL with *why for a bad "asa:revoke after".
 */
int asa_revoke_when(TALLOC_CTX *mem_ctx, struct loadparm_context *lp_ctx,
		    const struct asa_account *account, time_t *when,
		    char **why);

/*
 * The revocation push, with the ASA's lock: keytab (the ASA's current
 * keys, at kvno) to every member with --revoke, so that each keeps of
 * the ASA only those; each member's record stored.  When every member
 * took it the revocation is done and cleared, else it stays due (now)
 * for `roll --due` to retry; the account's state stored.  *push says how
 * each member fared (push->error: none could be reached).  0, else an
 * errno or LDB error with *why.
 */
int asa_revoke_push(TALLOC_CTX *mem_ctx, krb5_context ctx,
		    struct asa_dir *dir, struct asa_account *account,
		    const struct asa_keytab *keytab, krb5_kvno kvno,
		    const struct asa_member_transport_options *options,
		    struct asa_push **push, char **why);

#endif /* _ASA_REVOKE_H_ */
