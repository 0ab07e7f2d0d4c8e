/*
 * Unit tests of common/roll_policy.c: the roll schedule from smb.conf and
 * an ASA's roll state, and the names of the roll's steps.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include <talloc.h>
#include <param.h>

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>

#include "roll.h"

#define DAY 86400
#define T0 ((time_t)1764000000)

static struct loadparm_context *lp_with(TALLOC_CTX *mem_ctx,
					const char * const *pairs)
{
	struct loadparm_context *lp_ctx = loadparm_init(mem_ctx);
	size_t i;

	assert_non_null(lp_ctx);
	for (i = 0; pairs != NULL && pairs[i] != NULL; i += 2) {
		assert_true(lpcfg_set_cmdline(lp_ctx, pairs[i], pairs[i + 1]));
	}
	return lp_ctx;
}

static void test_policy_defaults(void **state)
{
	TALLOC_CTX *mem_ctx = talloc_new(NULL);
	struct asa_schedule_policy p;
	char *why = NULL;

	assert_int_equal(asa_roll_policy_load(mem_ctx, NULL, &p, &why), 0);
	assert_null(why);
	assert_int_equal(p.interval, 21 * DAY);
	assert_int_equal(p.jitter, ASA_ROLL_JITTER_DEFAULT);

	/* an smb.conf without the options: the same defaults */
	assert_int_equal(asa_roll_policy_load(mem_ctx, lp_with(mem_ctx, NULL),
					      &p, &why), 0);
	assert_int_equal(p.interval, 21 * DAY);
	assert_int_equal(p.retry_base, ASA_ROLL_RETRY_DEFAULT);
	assert_int_equal(p.retry_max, ASA_ROLL_RETRY_MAX_DEFAULT);
	talloc_free(mem_ctx);
}

static void test_policy_options(void **state)
{
	TALLOC_CTX *mem_ctx = talloc_new(NULL);
	static const char * const pairs[] = {
		"asa:roll interval", "30d",
		"asa:roll jitter", "2h",
		"asa:roll retry", "90",
		"asa:roll retry max", "1d",
		NULL,
	};
	struct asa_schedule_policy p;
	char *why = NULL;

	assert_int_equal(asa_roll_policy_load(mem_ctx,
					      lp_with(mem_ctx, pairs),
					      &p, &why), 0);
	assert_int_equal(p.interval, 30 * DAY);
	assert_int_equal(p.jitter, 2 * 3600);
	assert_int_equal(p.retry_base, 90);
	assert_int_equal(p.retry_max, DAY);
	talloc_free(mem_ctx);
}

static void test_policy_short_interval(void **state)
{
	/* A demo interval of one minute: the default jitter (1h) is capped
	 * to it instead of refusing the smb.conf. */
	TALLOC_CTX *mem_ctx = talloc_new(NULL);
	static const char * const pairs[] = {
		"asa:roll interval", "60", NULL,
	};
	static const char * const long_retry[] = {
		"asa:roll retry", "1d", NULL,
	};
	struct asa_schedule_policy p;
	char *why = NULL;

	assert_int_equal(asa_roll_policy_load(mem_ctx,
					      lp_with(mem_ctx, pairs),
					      &p, &why), 0);
	assert_int_equal(p.interval, 60);
	assert_int_equal(p.jitter, 60);

	assert_int_equal(asa_roll_policy_load(mem_ctx,
					      lp_with(mem_ctx, long_retry),
					      &p, &why), 0);
	assert_int_equal(p.retry_base, DAY);
	assert_int_equal(p.retry_max, DAY);
	talloc_free(mem_ctx);
}

static void test_policy_refused(void **state)
{
	TALLOC_CTX *mem_ctx = talloc_new(NULL);
	static const char * const bad_unit[] = {
		"asa:roll interval", "3 fortnights", NULL,
	};
	static const char * const zero[] = {
		"asa:roll interval", "0", NULL,
	};
	static const char * const jitter_too_big[] = {
		"asa:roll interval", "1h", "asa:roll jitter", "2h", NULL,
	};
	static const char * const max_below_base[] = {
		"asa:roll retry", "1h", "asa:roll retry max", "10m", NULL,
	};
	struct asa_schedule_policy p;
	char *why = NULL;

	assert_int_equal(asa_roll_policy_load(mem_ctx,
					      lp_with(mem_ctx, bad_unit),
					      &p, &why), EINVAL);
	assert_non_null(why);
	assert_non_null(strstr(why, "asa:roll interval"));

	why = NULL;
	assert_int_equal(asa_roll_policy_load(mem_ctx, lp_with(mem_ctx, zero),
					      &p, &why), EINVAL);
	assert_non_null(why);

	/* a jitter given explicitly above the interval is an error */
	why = NULL;
	assert_int_equal(asa_roll_policy_load(mem_ctx,
					      lp_with(mem_ctx, jitter_too_big),
					      &p, &why), EINVAL);
	assert_non_null(strstr(why, "jitter"));

	why = NULL;
	assert_int_equal(asa_roll_policy_load(mem_ctx,
					      lp_with(mem_ctx, max_below_base),
					      &p, &why), EINVAL);
	assert_non_null(why);
	talloc_free(mem_ctx);
}

static struct asa_account account(const char *sam, time_t last_roll)
{
	struct asa_account a;

	memset(&a, 0, sizeof(a));
	a.name = "x";
	a.sam_account_name = sam;
	a.last_roll = last_roll;
	return a;
}

static void test_next_due(void **state)
{
	struct asa_schedule_policy p;
	struct asa_account a = account("WEB1$", 0);
	time_t due = 0;
	time_t due2 = 0;

	asa_schedule_policy_default(&p);

	/* never rolled: due now */
	assert_int_equal(asa_roll_next_due(&a, &p, T0, &due), 0);
	assert_int_equal(due, T0);
	assert_true(asa_roll_is_due(&a, &p, T0));

	/* rolled at T0: due in [T0 + 21d, T0 + 21d + 1h] */
	a.last_roll = T0;
	assert_int_equal(asa_roll_next_due(&a, &p, T0 + 1, &due), 0);
	assert_true(due >= T0 + 21 * DAY);
	assert_true(due <= T0 + 21 * DAY + ASA_ROLL_JITTER_DEFAULT);
	assert_false(asa_roll_is_due(&a, &p, T0 + DAY));
	assert_true(asa_roll_is_due(&a, &p, due));
	assert_false(asa_roll_is_due(&a, &p, due - 1));

	/* the seed ignores case: the same name, the same due time */
	a.sam_account_name = "web1$";
	assert_int_equal(asa_roll_next_due(&a, &p, T0 + 1, &due2), 0);
	assert_int_equal(due, due2);
}

static void test_account_override(void **state)
{
	struct asa_schedule_policy p, ap;
	struct asa_account a = account("WEB1$", T0);
	time_t due = 0;

	asa_schedule_policy_default(&p);
	a.roll_interval = 600;
	asa_roll_account_policy(&a, &p, &ap);
	assert_int_equal(ap.interval, 600);
	assert_int_equal(ap.jitter, 600);	/* capped to the interval */
	assert_int_equal(asa_roll_next_due(&a, &p, T0, &due), 0);
	assert_true(due >= T0 + 600 && due <= T0 + 1200);

	/* 0: smb.conf's interval */
	a.roll_interval = 0;
	asa_roll_account_policy(&a, &p, &ap);
	assert_int_equal(ap.interval, p.interval);
}

static void test_backoff(void **state)
{
	struct asa_schedule_policy p;
	struct asa_account a = account("WEB1$", 0);
	time_t due = 0;

	asa_schedule_policy_default(&p);
	p.retry_base = 300;
	p.retry_max = 3600;

	/* never rolled, two failures, the last at T0: 600 s after it */
	a.roll_failures = 2;
	a.last_roll_error_time = T0;
	assert_int_equal(asa_roll_next_due(&a, &p, T0 + 10, &due), 0);
	assert_int_equal(due, T0 + 600);
	assert_false(asa_roll_is_due(&a, &p, T0 + 599));
	assert_true(asa_roll_is_due(&a, &p, T0 + 600));

	/* many failures: capped */
	a.roll_failures = 40;
	assert_int_equal(asa_roll_next_due(&a, &p, T0 + 10, &due), 0);
	assert_int_equal(due, T0 + 3600);

	/* an error time recorded without a failure count does not delay */
	a.roll_failures = 0;
	assert_int_equal(asa_roll_next_due(&a, &p, T0 + 10, &due), 0);
	assert_int_equal(due, T0 + 10);

	/* a refused policy: never due, EINVAL */
	p.interval = 0;
	assert_int_equal(asa_roll_next_due(&a, &p, T0, &due), EINVAL);
	assert_false(asa_roll_is_due(&a, &p, T0));
}

static void test_step_names(void **state)
{
	int i;

	for (i = 0; i < ROLL_STEP_COUNT; i++) {
		const char *name = roll_step_name(i);

		assert_string_not_equal(name, "unknown");
		assert_int_equal(roll_step_from_name(name), i);
	}
	assert_int_equal(roll_step_from_name("STAGED"), ROLL_STEP_STAGED);
	assert_int_equal(roll_step_from_name("nope"), -1);
	assert_int_equal(roll_step_from_name(NULL), -1);
	assert_string_equal(roll_step_name(ROLL_STEP_COUNT), "unknown");
	/* the order the roll goes through */
	assert_true(ROLL_STEP_STAGED < ROLL_STEP_PASSWORD);
}

static void test_lock(void **state)
{
	TALLOC_CTX *mem_ctx = talloc_new(NULL);
	char tmpl[] = "/tmp/test_roll.XXXXXX";
	char *dir = mkdtemp(tmpl);
	char *lock_dir = NULL;
	char *path = NULL;
	char *path2 = NULL;
	struct stat st;
	int fd, fd2;

	assert_non_null(dir);
	/* the lock directory is made, private */
	lock_dir = talloc_asprintf(mem_ctx, "%s/asa", dir);
	fd = roll_lock(mem_ctx, lock_dir, "Web1$", 0, &path);
	assert_true(fd >= 0);
	assert_string_equal(path, talloc_asprintf(mem_ctx,
						  "%s/roll-web1.lock",
						  lock_dir));
	assert_int_equal(stat(lock_dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(roll_lock_holder(path), (long)getpid());

	/* a second roll of the same ASA (any spelling) is refused */
	fd2 = roll_lock(mem_ctx, lock_dir, "WEB1", 0, &path2);
	assert_int_equal(fd2, -EWOULDBLOCK);
	assert_string_equal(path, path2);
	/* ... and waits no longer than asked */
	fd2 = roll_lock(mem_ctx, lock_dir, "web1", 1, NULL);
	assert_int_equal(fd2, -EWOULDBLOCK);

	/* another ASA is not held up */
	fd2 = roll_lock(mem_ctx, lock_dir, "web2", 0, NULL);
	assert_true(fd2 >= 0);
	close(fd2);

	/* released on close (and by the kernel when the process dies) */
	close(fd);
	fd = roll_lock(mem_ctx, lock_dir, "web1", 0, NULL);
	assert_true(fd >= 0);
	close(fd);

	/* a name cannot point elsewhere */
	assert_int_equal(roll_lock(mem_ctx, lock_dir, "../x", 0, NULL),
			 -EINVAL);

	unlink(path);
	unlink(talloc_asprintf(mem_ctx, "%s/roll-web2.lock", lock_dir));
	rmdir(lock_dir);
	rmdir(dir);
	talloc_free(mem_ctx);
}

static void test_keys_select(void **state)
{
	TALLOC_CTX *mem_ctx = talloc_new(NULL);
	struct asa_keytab in = { 0 };
	struct asa_keytab *out = NULL;
	static const struct {
		krb5_kvno kvno;
		krb5_enctype enctype;
	} rows[] = {
		{ 3, ENCTYPE_AES256_CTS_HMAC_SHA1_96 },
		{ 3, ENCTYPE_AES128_CTS_HMAC_SHA1_96 },
		{ 3, ENCTYPE_ARCFOUR_HMAC },
		{ 2, ENCTYPE_AES256_CTS_HMAC_SHA1_96 },
		{ 2, ENCTYPE_ARCFOUR_HMAC },
	};
	size_t i;

	in.num_entries = sizeof(rows) / sizeof(rows[0]);
	in.entries = talloc_zero_array(mem_ctx, struct asa_keytab_entry,
				       in.num_entries);
	for (i = 0; i < in.num_entries; i++) {
		in.entries[i].principal = "a$@X.TEST";
		in.entries[i].kvno = rows[i].kvno;
		in.entries[i].enctype = rows[i].enctype;
	}

	/* AES only (0 = the ASA default): RC4 and other kvnos left out */
	assert_int_equal(roll_keys_select(mem_ctx, &in, 3, 0, &out), 0);
	assert_int_equal(out->num_entries, 2);
	assert_int_equal(out->entries[0].enctype,
			 ENCTYPE_AES256_CTS_HMAC_SHA1_96);
	assert_int_equal(out->entries[1].enctype,
			 ENCTYPE_AES128_CTS_HMAC_SHA1_96);

	/* with the RC4 bit, RC4 too */
	assert_int_equal(roll_keys_select(mem_ctx, &in, 2,
					  ASA_ENCTYPE_BIT_AES256 |
					  ASA_ENCTYPE_BIT_RC4_HMAC, &out), 0);
	assert_int_equal(out->num_entries, 2);

	/* a kvno it does not have: empty, not an error */
	assert_int_equal(roll_keys_select(mem_ctx, &in, 9, 0, &out), 0);
	assert_int_equal(out->num_entries, 0);
	talloc_free(mem_ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_defaults),
		cmocka_unit_test(test_policy_options),
		cmocka_unit_test(test_policy_short_interval),
		cmocka_unit_test(test_policy_refused),
		cmocka_unit_test(test_next_due),
		cmocka_unit_test(test_account_override),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_step_names),
		cmocka_unit_test(test_lock),
		cmocka_unit_test(test_keys_select),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
