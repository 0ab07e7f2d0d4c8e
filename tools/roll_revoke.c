/*
 * samba-asa roll: completing the revocation of a removed member's keys;
 * see common/revoke.h for what and when, roll_revoke.h for the entries.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <talloc.h>
#include <ldb.h>
#include <krb5.h>

#include "asa_admin.h"
#include "revoke.h"
#include "roll_revoke.h"

/*
 * A revocation push: 'keytab' (the ASA's current keys, at kvno) to every
 * member with --revoke, so that each keeps of the ASA only those.  When
 * every member took it the revocation is done and cleared; else it stays
 * due (at 'now') for `roll --due` to retry.  Call with the ASA's lock.
 */
static int revoke_push(struct roll_env *env, struct asa_account *a,
		       const struct asa_keytab *keytab, krb5_kvno kvno)
{
	TALLOC_CTX *frame = talloc_stackframe();
	struct asa_member_transport_options topts = env->transport;
	struct asa_member_record **members = NULL;
	struct asa_revocation rv;
	char *why = NULL;
	size_t failed = 0, i;
	int status;
	int ret;

	asa_revocation_get(a, &rv);
	printf("Revoking the keys of %s below kvno %u on every member:\n",
	       a->sam_account_name, (unsigned)kvno);
	fflush(stdout);
	members = talloc_zero_array(frame, struct asa_member_record *,
				    a->num_members + 1);
	if (members == NULL) {
		status = ASA_EXIT_USAGE;
		goto done;
	}
	for (i = 0; i < a->num_members; i++) {
		members[i] = &a->members[i];
	}
	topts.revoke = true;
	status = admin_push(frame, env->krb5, env->dir, a, members,
			    a->num_members, keytab, kvno, &topts, &failed);
	if (status == ASA_EXIT_OK && failed == 0) {
		rv = (struct asa_revocation) { 0 };
		printf("  revoked: the members hold kvno %u only\n",
		       (unsigned)kvno);
	} else {
		rv.at = time(NULL);
		rv.now = false;
		cli_error("the revocation of %s's old keys is not complete "
			  "(%zu member(s) failed): `roll --due` retries it",
			  a->sam_account_name, failed);
		status = ASA_EXIT_REFUSED;
	}
	if (asa_revocation_set(a, &rv) != 0) {
		status = ASA_EXIT_USAGE;
		goto done;
	}
	ret = asa_account_store_state(env->dir, a, &why);
	if (ret != LDB_SUCCESS) {
		cli_error("the revocation state was not recorded: %s",
			  why != NULL ? why : ldb_strerror(ret));
		status = ASA_EXIT_USAGE;
	}
done:
	TALLOC_FREE(frame);
	return status;
}

/*
 * After a roll to rs->new_kvno: a revocation pending from `member remove`
 * (keys at rv.kvno and below) now has its time: at once (--revoke-now,
 * member remove --revoke-now, or asa:revoke after = 0), or once tickets
 * issued before this roll have expired.  When the members, all updated
 * by this roll, keep nothing at rv.kvno or below anyway, it is done.
 */
int roll_revocation(struct roll_env *env, struct roll_state *rs,
		    bool revoke_now)
{
	struct asa_account *a = rs->account;
	struct asa_revocation rv;
	int64_t delay = 0;
	char *why = NULL;
	int ret;

	asa_revocation_get(a, &rv);
	if (revoke_now && rv.kvno == 0) {
		rv.kvno = rs->old_kvno;
	}
	if (rv.kvno == 0 || rv.kvno >= rs->new_kvno) {
		return ASA_EXIT_OK;
	}
	if (asa_revoke_delay(rs, env->lp_ctx, &delay, &why) != 0) {
		cli_error("%s", why);
		return ASA_EXIT_USAGE;
	}
	if (revoke_now || rv.now || delay == 0) {
		return revoke_push(env, a, rs->new_keytab, rs->new_kvno);
	}
	if (rv.kvno < rs->old_kvno && roll_num_failed(rs) == 0) {
		rv = (struct asa_revocation) { 0 };
		printf("  the members no longer hold the revoked kvnos\n");
	} else if (rv.at == 0) {
		rv.at = time(NULL) + delay;
		printf("  revocation: the members drop kvno %u and below at "
		       "%lld (in %lld s, asa:revoke after)\n",
		       (unsigned)rv.kvno, (long long)rv.at,
		       (long long)delay);
	} else {
		return ASA_EXIT_OK;
	}
	if (asa_revocation_set(a, &rv) != 0) {
		return ASA_EXIT_USAGE;
	}
	ret = asa_account_store_state(env->dir, a, &why);
	if (ret != LDB_SUCCESS) {
		cli_error("the revocation state was not recorded: %s",
			  why != NULL ? why : ldb_strerror(ret));
		return ASA_EXIT_USAGE;
	}
	return ASA_EXIT_OK;
}

/*
 * A revocation of the ASA 'name' that is due: the members get the DC's
 * current keys with --revoke.  *at gets when to look again (0: nothing
 * pending that has a time yet).  A revocation whose roll came from a
 * samba-asa that set no time counts from the last roll.
 */
int revoke_due(struct roll_env *env, const char *name,
	       const struct asa_schedule_policy *policy, time_t *at)
{
	TALLOC_CTX *frame = talloc_stackframe();
	struct asa_account *a = NULL;
	struct asa_keytab *current = NULL;
	struct asa_keytab *keys = NULL;
	struct asa_revocation rv;
	char *errstring = NULL;
	time_t now = time(NULL);
	time_t when;
	int64_t delay = 0;
	int status = ASA_EXIT_OK;
	int lock_fd = -1;
	int ret;

	*at = 0;
	lock_fd = roll_lock(frame, env->lock_dir, name, 0, NULL);
	if (lock_fd < 0) {
		/* a roll of it is running: it sees to the revocation */
		*at = now + policy->retry_base;
		goto done;
	}
	ret = asa_account_load(frame, env->dir, name, &a, &errstring);
	if (ret != LDB_SUCCESS) {
		goto done;
	}
	asa_revocation_get(a, &rv);
	if (rv.kvno == 0 || rv.kvno >= a->kvno) {
		/* none, or the roll that comes first has not happened */
		goto done;
	}
	when = rv.at;
	if (when == 0) {
		if (asa_revoke_delay(frame, env->lp_ctx, &delay,
				     &errstring) != 0) {
			cli_error("%s", errstring);
			status = ASA_EXIT_USAGE;
			goto done;
		}
		when = a->last_roll + delay;
	}
	if (when > now) {
		printf("%s: revocation of kvno %u and below pending until "
		       "%lld\n", a->name, (unsigned)rv.kvno,
		       (long long)when);
		*at = when;
		goto done;
	}
	printf("%s: revocation of kvno %u and below due\n", a->name,
	       (unsigned)rv.kvno);
	status = admin_current_keytab(frame, env->krb5, env->opts, a, NULL,
				      &env->transport, &current);
	if (status == ASA_EXIT_OK &&
	    roll_keys_select(frame, current, a->kvno, a->enctypes,
			     &keys) != 0) {
		status = ASA_EXIT_USAGE;
	}
	if (status == ASA_EXIT_OK && keys->num_entries == 0) {
		cli_error("%s: this DC has no keys at kvno %u to push",
			  a->name, a->kvno);
		status = ASA_EXIT_REFUSED;
	}
	if (status == ASA_EXIT_OK) {
		status = revoke_push(env, a, keys, a->kvno);
	}
	if (status != ASA_EXIT_OK) {
		*at = now + policy->retry_base;
	}
done:
	if (lock_fd >= 0) {
		close(lock_fd);
	}
	TALLOC_FREE(frame);
	return status;
}
