/*
 * samba-asa: when an ASA's password is due to roll.
 *
 * Pure arithmetic, no clock and no directory: the asa_roll service and
 * `samba-asa roll --due` pass in the last roll and failure times they read
 * from the directory and the current time, and get back when the next roll
 * is due.  Every DC computes the same answer from the same inputs, so when
 * the PDC emulator role moves, the new holder rolls at the same time the
 * old one would have.
 *
 * - A roll is due 'interval' seconds after the last successful one, plus a
 *   jitter in [0, jitter] that spreads the rolls of many ASAs apart.  The
 *   jitter is a hash of a seed (asa_schedule_seed() of the account's
 *   objectGUID) and the last roll time: deterministic, and different for
 *   each account and each cycle.
 * - After failures the next attempt waits retry_base, doubling with each
 *   consecutive failure up to retry_max, counted from the last failure;
 *   never earlier than the regular due time.
 * - An ASA never rolled (no last roll time) is due at once.
 *
 * Times are seconds since the epoch; results saturate instead of
 * overflowing.
 */
#ifndef _ASA_SCHEDULE_H_
#define _ASA_SCHEDULE_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Defaults of the smb.conf options (asa:roll interval, jitter, retry). */
/* 21 days, as Exchange's scheduled task */
#define ASA_ROLL_INTERVAL_DEFAULT (21 * 24 * 3600)
#define ASA_ROLL_JITTER_DEFAULT (3600)
#define ASA_ROLL_RETRY_DEFAULT (300)
#define ASA_ROLL_RETRY_MAX_DEFAULT (6 * 3600)
#define ASA_ROLL_SETTLE_DEFAULT (15 * 60)

struct asa_schedule_policy {
	int64_t interval;	/* seconds between rolls; > 0 */
	int64_t jitter;		/* 0..interval: up to this much later */
	int64_t retry_base;	/* first retry after a failure; > 0 */
	int64_t retry_max;	/* longest retry delay; >= retry_base */
	int64_t settle;		/* a scheduled roll waits this long for
				 * replication of keys staged elsewhere;
				 * 0: never */
};

struct asa_schedule_state {
	time_t last_roll;	/* last successful roll; 0: never */
	time_t last_failure;	/* last failed attempt since then */
	unsigned int failures;	/* consecutive failures since last_roll */
	uint64_t seed;		/* asa_schedule_seed() of the account */
};

/* The defaults above. */
void asa_schedule_policy_default(struct asa_schedule_policy *policy);

/* 0, or EINVAL with a reason in *why (static text) when out of bounds. */
int asa_schedule_policy_check(const struct asa_schedule_policy *policy,
			      const char **why);

/* A seed from bytes that identify the account (its objectGUID). */
uint64_t asa_schedule_seed(const uint8_t *data, size_t length);

/* The jitter added to the cycle that starts at last_roll: in [0, jitter]. */
int64_t asa_schedule_jitter(uint64_t seed, time_t last_roll, int64_t jitter);

/* The wait after 'failures' consecutive failures: 0 for none, then
 * retry_base, 2 * retry_base, ... capped at retry_max. */
int64_t asa_schedule_backoff(const struct asa_schedule_policy *policy,
			     unsigned int failures);

/*
 * When the next roll is due.  Returns 0, or EINVAL for a policy that
 * asa_schedule_policy_check() refuses.
 */
int asa_schedule_next_due(const struct asa_schedule_policy *policy,
			  const struct asa_schedule_state *state,
			  time_t now,
			  time_t *due);

/* Whether a roll is due at 'now' (false for a refused policy). */
bool asa_schedule_is_due(const struct asa_schedule_policy *policy,
			 const struct asa_schedule_state *state,
			 time_t now);

/*
 * Seconds to sleep until 'due', at least 0 and at most max_wait (when
 * max_wait > 0), so a timer wakes up now and then to notice changes
 * (another DC rolled, the PDC emulator role moved).
 */
int64_t asa_schedule_delay(time_t due, time_t now, int64_t max_wait);

/*
 * A duration as written in smb.conf: a number of seconds, or numbers with
 * units s, m, h, d, w, e.g. "21d", "90m", "1d12h".  Returns 0 or EINVAL
 * (empty, negative, unknown unit, overflow).
 */
int asa_schedule_parse_duration(const char *text, int64_t *seconds);

#endif /* _ASA_SCHEDULE_H_ */
