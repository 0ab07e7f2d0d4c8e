/*
 * samba-asa roll: completing the revocation of a removed member's keys,
 * and what it says; common/revoke.h decides what and when and pushes.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <talloc.h>
#include <ldb.h>
#include <krb5.h>

#include "asa_admin.h"
#include "push.h"
#include "revoke.h"
#include "roll_revoke.h"

/*
 * The revocation push (common/revoke.h), with what it says: the keys at
 * kvno to every member with --revoke.  Call with the ASA's lock.
 */
static int revoke_push(struct roll_env *env, struct asa_account *a,
		       const struct asa_keytab *keytab, krb5_kvno kvno)
{
	TALLOC_CTX *frame = talloc_stackframe();
	struct asa_push *push = NULL;
	char *why = NULL;
	int status = ASA_EXIT_OK;
	int ret;

	printf("Revoking the keys of %s below kvno %u on every member:\n",
	       a->sam_account_name, (unsigned)kvno);
	fflush(stdout);
	ret = asa_revoke_push(frame, env->krb5, env->dir, a, keytab, kvno,
			      &env->transport, &push, &why);
	if (push != NULL) {
		admin_push_report(push, a, &env->transport, NULL);
	}
	if (ret != 0) {
		cli_error("%s", why != NULL ? why : strerror(ret));
		status = ASA_EXIT_USAGE;
	} else if (push->num_failed == 0) {
		printf("  revoked: the members hold kvno %u only\n",
		       (unsigned)kvno);
	} else {
		cli_error("the revocation of %s's old keys is not complete "
			  "(%zu member(s) failed): `roll --due` retries it",
			  a->sam_account_name, push->num_failed);
		status = ASA_EXIT_REFUSED;
	}
	TALLOC_FREE(frame);
	return status;
}

int roll_revocation(struct roll_env *env, struct roll_state *rs,
		    bool revoke_now)
{
	enum asa_revoke_next next;
	struct asa_revocation rv;
	int64_t delay = 0;
	char *why = NULL;
	int ret;

	ret = asa_revoke_after_roll(rs, env->dir, env->lp_ctx, rs->account,
				    rs->old_kvno, rs->new_kvno,
				    roll_num_failed(rs), revoke_now, &next,
				    &rv, &delay, &why);
	if (ret != 0) {
		cli_error("%s", why);
		return ASA_EXIT_USAGE;
	}
	switch (next) {
	case ASA_REVOKE_PUSH:
		return revoke_push(env, rs->account, rs->new_keytab,
				   rs->new_kvno);
	case ASA_REVOKE_DONE:
		printf("  the members no longer hold the revoked kvnos\n");
		break;
	case ASA_REVOKE_SCHEDULED:
		printf("  revocation: the members drop kvno %u and below at "
		       "%lld (in %lld s, asa:revoke after)\n",
		       (unsigned)rv.kvno, (long long)rv.at,
		       (long long)delay);
		break;
	case ASA_REVOKE_NONE:
		break;
	}
	return ASA_EXIT_OK;
}

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
	time_t when = 0;
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
	if (asa_revoke_when(frame, env->lp_ctx, a, &when,
			    &errstring) != 0) {
		cli_error("%s", errstring);
		status = ASA_EXIT_USAGE;
		goto done;
	}
	if (when == 0) {
		/* none, or the roll that comes first has not happened */
		goto done;
	}
	asa_revocation_get(a, &rv);
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
