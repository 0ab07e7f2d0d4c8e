/*
 * samba-asa: when an ASA is due to roll, from smb.conf and the directory;
 * and the names of a roll's steps.  See roll.h.
 *
 * Kept apart from roll.c so that the asa_roll service and `status`, which
 * only need the schedule, do not pull in the roll itself.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <ctype.h>
#include <talloc.h>
#include <param.h>

#include "roll.h"

struct policy_option {
	const char *name;	/* after "asa:" */
	size_t offset;		/* in struct asa_schedule_policy */
};

static const struct policy_option policy_options[] = {
	{ "roll interval", offsetof(struct asa_schedule_policy, interval) },
	{ "roll jitter", offsetof(struct asa_schedule_policy, jitter) },
	{ "roll retry", offsetof(struct asa_schedule_policy, retry_base) },
	{ "roll retry max", offsetof(struct asa_schedule_policy, retry_max) },
	{ "roll settle", offsetof(struct asa_schedule_policy, settle) },
};

int asa_roll_policy_load(TALLOC_CTX *mem_ctx,
			 struct loadparm_context *lp_ctx,
			 struct asa_schedule_policy *policy,
			 char **why)
{
	const char *reason = NULL;
	bool retry_max_set = false;
	size_t i;

	asa_schedule_policy_default(policy);
	if (why != NULL) {
		*why = NULL;
	}
	if (lp_ctx == NULL) {
		return 0;
	}

	for (i = 0; i < sizeof(policy_options) / sizeof(policy_options[0]);
	     i++) {
		const struct policy_option *o = &policy_options[i];
		const char *text = NULL;
		int64_t seconds = 0;

		text = lpcfg_parm_string(lp_ctx, NULL, "asa", o->name);
		if (text == NULL) {
			continue;
		}
		if (asa_schedule_parse_duration(text, &seconds) != 0) {
			if (why != NULL) {
				*why = talloc_asprintf(mem_ctx,
					"smb.conf: 'asa:%s = %s' is not a "
					"duration (seconds, or e.g. 21d, 12h, "
					"90m)", o->name, text);
			}
			return EINVAL;
		}
		*(int64_t *)((char *)policy + o->offset) = seconds;
		if (o->offset == offsetof(struct asa_schedule_policy,
					  retry_max)) {
			retry_max_set = true;
		}
	}

	/* A jitter above a short interval (a test or demo setting) is
	 * capped rather than refused: the default jitter alone is 1h. */
	if (policy->jitter > policy->interval &&
	    lpcfg_parm_string(lp_ctx, NULL, "asa", "roll jitter") == NULL) {
		policy->jitter = policy->interval;
	}
	/* Likewise a short retry raises nothing, a long one lifts the cap. */
	if (!retry_max_set && policy->retry_max < policy->retry_base) {
		policy->retry_max = policy->retry_base;
	}

	if (asa_schedule_policy_check(policy, &reason) != 0) {
		if (why != NULL) {
			*why = talloc_asprintf(mem_ctx, "smb.conf: asa:roll "
					       "options: %s", reason);
		}
		return EINVAL;
	}
	return 0;
}

void asa_roll_account_policy(const struct asa_account *account,
			     const struct asa_schedule_policy *policy,
			     struct asa_schedule_policy *out)
{
	*out = *policy;
	if (account != NULL && account->roll_interval > 0) {
		out->interval = account->roll_interval;
		if (out->jitter > out->interval) {
			out->jitter = out->interval;
		}
	}
}

void asa_roll_account_state(const struct asa_account *account,
			    struct asa_schedule_state *state)
{
	const char *name = account->sam_account_name;
	uint8_t buf[256];
	size_t len = 0;

	memset(state, 0, sizeof(*state));
	/*
	 * An ASA that was never rolled counts from its password's creation
	 * (samba-asa create sets it): the first roll is one interval after
	 * create, not at once.
	 */
	state->last_roll = account->last_roll > 0 ? account->last_roll
						   : account->pwd_last_set;
	state->failures = account->roll_failures;
	state->last_failure = (account->roll_failures > 0) ?
		account->last_roll_error_time : 0;

	/*
	 * The seed: the account name, case-folded.  Unique in the domain and
	 * the same on every DC, so the jitter is too (struct asa_account
	 * carries no objectGUID).
	 */
	if (name == NULL) {
		name = account->name;
	}
	for (; name != NULL && name[len] != '\0' && len < sizeof(buf);
	     len++) {
		buf[len] = (uint8_t)tolower((unsigned char)name[len]);
	}
	state->seed = asa_schedule_seed(buf, len);
}

int asa_roll_next_due(const struct asa_account *account,
		      const struct asa_schedule_policy *policy,
		      time_t now,
		      time_t *due)
{
	struct asa_schedule_policy p;
	struct asa_schedule_state state;

	asa_roll_account_policy(account, policy, &p);
	asa_roll_account_state(account, &state);
	return asa_schedule_next_due(&p, &state, now, due);
}

bool asa_roll_overdue(const struct asa_account *account,
		      const struct asa_schedule_policy *policy,
		      time_t now,
		      time_t *since)
{
	struct asa_schedule_policy p;
	struct asa_schedule_state state;
	time_t regular = 0;

	asa_roll_account_policy(account, policy, &p);
	asa_roll_account_state(account, &state);
	state.failures = 0;
	state.last_failure = 0;
	if (asa_schedule_next_due(&p, &state, now, &regular) != 0) {
		return false;
	}
	if (since != NULL) {
		*since = regular;
	}
	if (regular > now) {
		return false;
	}
	if (account->roll_failures > 0) {
		return true;
	}
	return now - regular > p.retry_base;
}

bool asa_roll_is_due(const struct asa_account *account,
		     const struct asa_schedule_policy *policy,
		     time_t now)
{
	time_t due = 0;

	if (asa_roll_next_due(account, policy, now, &due) != 0) {
		return false;
	}
	return due <= now;
}

static const char * const step_names[ROLL_STEP_COUNT] = {
	[ROLL_STEP_LOCKED] = "locked",
	[ROLL_STEP_KEYS] = "keys",
	[ROLL_STEP_STAGED] = "staged",
	[ROLL_STEP_PASSWORD] = "password",
	[ROLL_STEP_CHECKED] = "checked",
	[ROLL_STEP_RECORDED] = "recorded",
};

const char *roll_step_name(enum roll_step step)
{
	if ((int)step < 0 || step >= ROLL_STEP_COUNT) {
		return "unknown";
	}
	return step_names[step];
}

int roll_step_from_name(const char *name)
{
	int i;

	if (name == NULL) {
		return -1;
	}
	for (i = 0; i < ROLL_STEP_COUNT; i++) {
		if (strcasecmp(name, step_names[i]) == 0) {
			return i;
		}
	}
	return -1;
}

const char *asa_roll_lock_dir(TALLOC_CTX *mem_ctx,
			      struct loadparm_context *lp_ctx)
{
	const char *override = NULL;

	if (lp_ctx == NULL) {
		return ASA_ROLL_LOCK_DIR_FALLBACK;
	}
	override = lpcfg_parm_string(lp_ctx, NULL, "asa", "roll lock dir");
	if (override != NULL) {
		return override;
	}
	return lpcfg_private_path(mem_ctx, lp_ctx, "asa");
}
