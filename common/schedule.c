/*
 * samba-asa: when an ASA's password is due to roll; see schedule.h.
 */

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "schedule.h"

#define TIME_MAX INT64_MAX

/* a + b for b >= 0, saturating at TIME_MAX. */
static int64_t sat_add(int64_t a, int64_t b)
{
	if (b > 0 && a > TIME_MAX - b) {
		return TIME_MAX;
	}
	return a + b;
}

void asa_schedule_policy_default(struct asa_schedule_policy *policy)
{
	policy->interval = ASA_ROLL_INTERVAL_DEFAULT;
	policy->jitter = ASA_ROLL_JITTER_DEFAULT;
	policy->retry_base = ASA_ROLL_RETRY_DEFAULT;
	policy->retry_max = ASA_ROLL_RETRY_MAX_DEFAULT;
	policy->settle = ASA_ROLL_SETTLE_DEFAULT;
}

int asa_schedule_policy_check(const struct asa_schedule_policy *policy,
			      const char **why)
{
	const char *reason = NULL;

	if (policy->interval <= 0) {
		reason = "the roll interval must be at least one second";
	} else if (policy->jitter < 0 || policy->jitter > policy->interval) {
		reason = "the roll jitter must be between 0 and the interval";
	} else if (policy->retry_base <= 0) {
		reason = "the retry delay must be at least one second";
	} else if (policy->retry_max < policy->retry_base) {
		reason = "the longest retry delay must not be shorter than "
			 "the first";
	} else if (policy->settle < 0) {
		reason = "the settle time must not be negative";
	}
	if (why != NULL) {
		*why = reason;
	}
	return (reason == NULL) ? 0 : EINVAL;
}

/* SplitMix64's finaliser: a good 64-bit mix. */
static uint64_t mix64(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

uint64_t asa_schedule_seed(const uint8_t *data, size_t length)
{
	/* FNV-1a over the bytes, then mixed. */
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; data != NULL && i < length; i++) {
		h ^= data[i];
		h *= 0x100000001b3ULL;
	}
	return mix64(h);
}

int64_t asa_schedule_jitter(uint64_t seed, time_t last_roll, int64_t jitter)
{
	uint64_t h;

	if (jitter <= 0) {
		return 0;
	}
	h = mix64(seed ^ mix64((uint64_t)last_roll));
	/* jitter <= interval, far below 2^64: the modulo bias is nil. */
	return (int64_t)(h % ((uint64_t)jitter + 1));
}

int64_t asa_schedule_backoff(const struct asa_schedule_policy *policy,
			     unsigned int failures)
{
	int64_t wait;
	unsigned int i;

	if (failures == 0) {
		return 0;
	}
	wait = policy->retry_base;
	for (i = 1; i < failures && wait < policy->retry_max; i++) {
		if (wait > policy->retry_max / 2) {
			wait = policy->retry_max;
		} else {
			wait *= 2;
		}
	}
	return (wait < policy->retry_max) ? wait : policy->retry_max;
}

int asa_schedule_next_due(const struct asa_schedule_policy *policy,
			  const struct asa_schedule_state *state,
			  time_t now,
			  time_t *due)
{
	int64_t regular, retry, from;

	if (asa_schedule_policy_check(policy, NULL) != 0) {
		return EINVAL;
	}

	if (state->last_roll <= 0) {
		/* Never rolled: at once (retries still back off). */
		regular = now;
	} else {
		regular = sat_add(state->last_roll,
				  sat_add(policy->interval,
					  asa_schedule_jitter(
						  state->seed,
						  state->last_roll,
						  policy->jitter)));
	}

	if (state->failures == 0) {
		*due = regular;
		return 0;
	}

	/* A failure without a time counts from now. */
	from = (state->last_failure > 0) ? state->last_failure : now;
	retry = sat_add(from, asa_schedule_backoff(policy, state->failures));
	*due = (retry > regular) ? retry : regular;
	return 0;
}

bool asa_schedule_is_due(const struct asa_schedule_policy *policy,
			 const struct asa_schedule_state *state,
			 time_t now)
{
	time_t due;

	if (asa_schedule_next_due(policy, state, now, &due) != 0) {
		return false;
	}
	return due <= now;
}

int64_t asa_schedule_delay(time_t due, time_t now, int64_t max_wait)
{
	int64_t delay;

	if (due <= now) {
		return 0;
	}
	/* due > now: the difference fits unless now is very negative. */
	if (now < 0 && due > TIME_MAX + now) {
		delay = TIME_MAX;
	} else {
		delay = due - now;
	}
	if (max_wait > 0 && delay > max_wait) {
		delay = max_wait;
	}
	return delay;
}

int asa_schedule_parse_duration(const char *text, int64_t *seconds)
{
	const char *p = text;
	int64_t total = 0;
	bool any = false;

	if (text == NULL) {
		return EINVAL;
	}
	while (isspace((unsigned char)*p)) {
		p++;
	}
	while (*p != '\0' && !isspace((unsigned char)*p)) {
		int64_t value = 0, unit = 1;

		if (!isdigit((unsigned char)*p)) {
			return EINVAL;
		}
		while (isdigit((unsigned char)*p)) {
			int digit = *p - '0';

			if (value > (INT64_MAX - digit) / 10) {
				return EINVAL;
			}
			value = value * 10 + digit;
			p++;
		}
		switch (*p) {
		case 's':
			unit = 1;
			p++;
			break;
		case 'm':
			unit = 60;
			p++;
			break;
		case 'h':
			unit = 3600;
			p++;
			break;
		case 'd':
			unit = 86400;
			p++;
			break;
		case 'w':
			unit = 7 * 86400;
			p++;
			break;
		case '\0':
			break;
		default:
			if (isspace((unsigned char)*p)) {
				break;
			}
			return EINVAL;
		}
		if (value > INT64_MAX / unit ||
		    total > INT64_MAX - value * unit) {
			return EINVAL;
		}
		total += value * unit;
		any = true;
	}
	while (isspace((unsigned char)*p)) {
		p++;
	}
	if (!any || *p != '\0') {
		return EINVAL;
	}
	*seconds = total;
	return 0;
}
