/*
 * Unit tests of common/schedule.c: when the next roll of an ASA is due.
 */

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "schedule.h"

#define DAY 86400
#define T0 ((time_t)1764000000)	/* some Tuesday in 2025 */

static const uint8_t guid_a[16] = {
	0x6f, 0x1c, 0x4b, 0x2a, 0x90, 0x33, 0x4e, 0x11,
	0x8a, 0x5d, 0x02, 0x7e, 0xc1, 0x44, 0x19, 0xb3,
};
static const uint8_t guid_b[16] = {
	0x6f, 0x1c, 0x4b, 0x2a, 0x90, 0x33, 0x4e, 0x11,
	0x8a, 0x5d, 0x02, 0x7e, 0xc1, 0x44, 0x19, 0xb4,
};

static struct asa_schedule_policy policy(int64_t interval, int64_t jitter,
					 int64_t retry, int64_t retry_max)
{
	struct asa_schedule_policy p = {
		.interval = interval,
		.jitter = jitter,
		.retry_base = retry,
		.retry_max = retry_max,
	};
	return p;
}

static void test_defaults(void **state)
{
	struct asa_schedule_policy p;
	const char *why = "unset";

	asa_schedule_policy_default(&p);
	assert_int_equal(p.interval, 21 * DAY);
	assert_int_equal(asa_schedule_policy_check(&p, &why), 0);
	assert_null(why);
}

static void test_policy_check(void **state)
{
	struct asa_schedule_policy p;
	const char *why = NULL;

	p = policy(0, 0, 60, 60);
	assert_int_equal(asa_schedule_policy_check(&p, &why), EINVAL);
	assert_non_null(why);
	p = policy(-5, 0, 60, 60);
	assert_int_equal(asa_schedule_policy_check(&p, NULL), EINVAL);
	p = policy(100, 101, 60, 60);	/* jitter above the interval */
	assert_int_equal(asa_schedule_policy_check(&p, NULL), EINVAL);
	p = policy(100, -1, 60, 60);
	assert_int_equal(asa_schedule_policy_check(&p, NULL), EINVAL);
	p = policy(100, 0, 0, 60);
	assert_int_equal(asa_schedule_policy_check(&p, NULL), EINVAL);
	p = policy(100, 0, 60, 59);
	assert_int_equal(asa_schedule_policy_check(&p, NULL), EINVAL);
	p = policy(1, 1, 1, 1);		/* smallest accepted (demo) */
	assert_int_equal(asa_schedule_policy_check(&p, NULL), 0);
}

static void test_never_rolled_is_due_now(void **state)
{
	struct asa_schedule_policy p = policy(21 * DAY, 3600, 300, 6 * 3600);
	struct asa_schedule_state s = { .seed = 1 };
	time_t due = 0;

	assert_int_equal(asa_schedule_next_due(&p, &s, T0, &due), 0);
	assert_int_equal(due, T0);
	assert_true(asa_schedule_is_due(&p, &s, T0));
}

static void test_interval_without_jitter(void **state)
{
	struct asa_schedule_policy p = policy(21 * DAY, 0, 300, 6 * 3600);
	struct asa_schedule_state s = { .last_roll = T0, .seed = 42 };
	time_t due = 0;

	assert_int_equal(asa_schedule_next_due(&p, &s, T0 + 5, &due), 0);
	assert_int_equal(due, T0 + 21 * DAY);
	assert_false(asa_schedule_is_due(&p, &s, T0 + 21 * DAY - 1));
	assert_true(asa_schedule_is_due(&p, &s, T0 + 21 * DAY));
}

static void test_jitter_bounds_and_determinism(void **state)
{
	struct asa_schedule_policy p = policy(DAY, 3600, 300, 3600);
	struct asa_schedule_state s = { .seed = 0 };
	time_t due = 0, again = 0;
	int64_t lo = INT64_MAX, hi = -1;
	int i;

	s.seed = asa_schedule_seed(guid_a, sizeof(guid_a));
	for (i = 0; i < 1000; i++) {
		s.last_roll = T0 + (time_t)i * DAY;
		assert_int_equal(asa_schedule_next_due(&p, &s, T0, &due), 0);
		assert_int_equal(asa_schedule_next_due(&p, &s, T0 + 7, &again),
				 0);
		/* Same inputs, same answer: 'now' plays no part. */
		assert_int_equal(due, again);
		assert_true(due >= s.last_roll + DAY);
		assert_true(due <= s.last_roll + DAY + 3600);
		if (due - s.last_roll - DAY < lo) {
			lo = due - s.last_roll - DAY;
		}
		if (due - s.last_roll - DAY > hi) {
			hi = due - s.last_roll - DAY;
		}
	}
	/* Spread over the window, not stuck at one end. */
	assert_true(lo < 360);
	assert_true(hi > 3240);
}

/* Two ASAs rolled at the same moment do not roll again together. */
static void test_jitter_differs_between_accounts(void **state)
{
	uint64_t a = asa_schedule_seed(guid_a, sizeof(guid_a));
	uint64_t b = asa_schedule_seed(guid_b, sizeof(guid_b));
	int same = 0, i;

	assert_int_not_equal(a, b);
	assert_int_equal(a, asa_schedule_seed(guid_a, sizeof(guid_a)));
	for (i = 0; i < 100; i++) {
		time_t when = T0 + (time_t)i * 17;

		if (asa_schedule_jitter(a, when, 3600) ==
		    asa_schedule_jitter(b, when, 3600)) {
			same++;
		}
	}
	assert_true(same < 5);
	assert_int_equal(asa_schedule_jitter(a, T0, 0), 0);
}

static void test_backoff_doubles_to_cap(void **state)
{
	struct asa_schedule_policy p = policy(DAY, 0, 300, 3600);

	assert_int_equal(asa_schedule_backoff(&p, 0), 0);
	assert_int_equal(asa_schedule_backoff(&p, 1), 300);
	assert_int_equal(asa_schedule_backoff(&p, 2), 600);
	assert_int_equal(asa_schedule_backoff(&p, 3), 1200);
	assert_int_equal(asa_schedule_backoff(&p, 4), 2400);
	assert_int_equal(asa_schedule_backoff(&p, 5), 3600);
	assert_int_equal(asa_schedule_backoff(&p, 6), 3600);
	/* Many failures: no overflow, still the cap. */
	assert_int_equal(asa_schedule_backoff(&p, 4000000000U), 3600);

	p = policy(DAY, 0, INT64_MAX / 2 + 1, INT64_MAX);
	assert_int_equal(asa_schedule_backoff(&p, 3), INT64_MAX);
}

static void test_retry_after_failure(void **state)
{
	struct asa_schedule_policy p = policy(21 * DAY, 0, 300, 6 * 3600);
	struct asa_schedule_state s = { .last_roll = T0, .seed = 9 };
	time_t regular = T0 + 21 * DAY;
	time_t due = 0;

	/* The roll due at 'regular' failed twice, the last time 10 s in. */
	s.failures = 2;
	s.last_failure = regular + 10;
	assert_int_equal(asa_schedule_next_due(&p, &s, regular + 11, &due), 0);
	assert_int_equal(due, regular + 10 + 600);
	assert_false(asa_schedule_is_due(&p, &s, regular + 609));
	assert_true(asa_schedule_is_due(&p, &s, regular + 610));

	/* A manual roll failed long before the regular time: no early
	 * retry, the regular time stands. */
	s.failures = 1;
	s.last_failure = T0 + DAY;
	assert_int_equal(asa_schedule_next_due(&p, &s, T0 + DAY, &due), 0);
	assert_int_equal(due, regular);

	/* A failure count without a time counts from now. */
	s.failures = 1;
	s.last_failure = 0;
	assert_int_equal(asa_schedule_next_due(&p, &s, regular + 50, &due), 0);
	assert_int_equal(due, regular + 50 + 300);
}

static void test_never_rolled_failures_back_off(void **state)
{
	struct asa_schedule_policy p = policy(DAY, 0, 60, 600);
	struct asa_schedule_state s = { .failures = 3, .last_failure = T0 };
	time_t due = 0;

	assert_int_equal(asa_schedule_next_due(&p, &s, T0 + 1, &due), 0);
	assert_int_equal(due, T0 + 240);
}

static void test_saturates(void **state)
{
	struct asa_schedule_policy p = policy(INT64_MAX, INT64_MAX, 1,
					      INT64_MAX);
	struct asa_schedule_state s = { .last_roll = INT64_MAX - 10 };
	time_t due = 0;

	assert_int_equal(asa_schedule_next_due(&p, &s, T0, &due), 0);
	assert_int_equal(due, INT64_MAX);
	assert_false(asa_schedule_is_due(&p, &s, T0));
}

static void test_refused_policy(void **state)
{
	struct asa_schedule_policy p = policy(0, 0, 1, 1);
	struct asa_schedule_state s = { 0 };
	time_t due = 12345;

	assert_int_equal(asa_schedule_next_due(&p, &s, T0, &due), EINVAL);
	assert_int_equal(due, 12345);
	assert_false(asa_schedule_is_due(&p, &s, T0));
}

/* The clock went back (or another DC's clock is ahead): wait, do not
 * roll in a loop. */
static void test_last_roll_in_future(void **state)
{
	struct asa_schedule_policy p = policy(DAY, 0, 60, 60);
	struct asa_schedule_state s = { .last_roll = T0 + 3600 };
	time_t due = 0;

	assert_int_equal(asa_schedule_next_due(&p, &s, T0, &due), 0);
	assert_int_equal(due, T0 + 3600 + DAY);
}

static void test_delay(void **state)
{
	assert_int_equal(asa_schedule_delay(T0 - 5, T0, 0), 0);
	assert_int_equal(asa_schedule_delay(T0, T0, 0), 0);
	assert_int_equal(asa_schedule_delay(T0 + 90, T0, 0), 90);
	assert_int_equal(asa_schedule_delay(T0 + 90, T0, 60), 60);
	assert_int_equal(asa_schedule_delay(T0 + 30, T0, 60), 30);
	assert_int_equal(asa_schedule_delay(INT64_MAX, -10, 0), INT64_MAX);
}

static void test_parse_duration(void **state)
{
	int64_t v = -1;

	assert_int_equal(asa_schedule_parse_duration("600", &v), 0);
	assert_int_equal(v, 600);
	assert_int_equal(asa_schedule_parse_duration("21d", &v), 0);
	assert_int_equal(v, 21 * DAY);
	assert_int_equal(asa_schedule_parse_duration(" 90m ", &v), 0);
	assert_int_equal(v, 5400);
	assert_int_equal(asa_schedule_parse_duration("1d12h", &v), 0);
	assert_int_equal(v, DAY + 12 * 3600);
	assert_int_equal(asa_schedule_parse_duration("2w", &v), 0);
	assert_int_equal(v, 14 * DAY);
	assert_int_equal(asa_schedule_parse_duration("0", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(asa_schedule_parse_duration("45s", &v), 0);
	assert_int_equal(v, 45);

	v = 77;
	assert_int_equal(asa_schedule_parse_duration("", &v), EINVAL);
	assert_int_equal(asa_schedule_parse_duration("  ", &v), EINVAL);
	assert_int_equal(asa_schedule_parse_duration("-5", &v), EINVAL);
	assert_int_equal(asa_schedule_parse_duration("5y", &v), EINVAL);
	assert_int_equal(asa_schedule_parse_duration("d", &v), EINVAL);
	assert_int_equal(asa_schedule_parse_duration("5 6", &v), EINVAL);
	assert_int_equal(asa_schedule_parse_duration("3 days", &v), EINVAL);
	assert_int_equal(asa_schedule_parse_duration(
				 "99999999999999999999", &v), EINVAL);
	assert_int_equal(asa_schedule_parse_duration(
				 "9999999999999999w", &v), EINVAL);
	assert_int_equal(asa_schedule_parse_duration(NULL, &v), EINVAL);
	assert_int_equal(v, 77);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_policy_check),
		cmocka_unit_test(test_never_rolled_is_due_now),
		cmocka_unit_test(test_interval_without_jitter),
		cmocka_unit_test(test_jitter_bounds_and_determinism),
		cmocka_unit_test(test_jitter_differs_between_accounts),
		cmocka_unit_test(test_backoff_doubles_to_cap),
		cmocka_unit_test(test_retry_after_failure),
		cmocka_unit_test(test_never_rolled_failures_back_off),
		cmocka_unit_test(test_saturates),
		cmocka_unit_test(test_refused_policy),
		cmocka_unit_test(test_last_roll_in_future),
		cmocka_unit_test(test_delay),
		cmocka_unit_test(test_parse_duration),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
