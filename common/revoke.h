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

#endif /* _ASA_REVOKE_H_ */
