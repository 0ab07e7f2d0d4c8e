/*
 * samba-asa roll: change an ASA's password without breaking a member.
 *
 *   roll NAME [--force] [--revoke-now] [--json]
 *                                  one ASA, now
 *   roll --due                     every ASA that is due (what the
 *                                  asa_roll service runs), only on the DC
 *                                  holding the PDC emulator role, and the
 *                                  revocations that are due (revoke.h)
 *
 * The roll itself is roll_run() in common/roll.c (see roll.h for why its
 * order is safe); this file parses, takes the lock and reports;
 * roll_due.c is --due, roll_revoke.c the revocation after a roll.
 *
 * Two test-only hooks (test_hooks.h, only in a build configured for
 * tests) let the selftest crash the roll at a named step and learn the
 * secrets it scans for.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <talloc.h>
#include <ldb.h>
#include <krb5.h>
#include <param.h>

#include "cli.h"
#include "cli_json.h"
#include "asa.h"
#include "member.h"
#include "revoke.h"
#include "roll.h"
#include "roll_revoke.h"
#include "safe_text.h"
#include "test_hooks.h"


static void usage(FILE *out)
{
	fputs("Usage: samba-asa roll NAME [--force] [--revoke-now] [--json] "
	      "[options]\n"
	      "       samba-asa roll --due [--json] [options]\n"
	      "\n"
	      "Change the password of the alternate service account NAME "
	      "without breaking a\nmember: a new random password, its keys "
	      "at kvno + 1 installed on every\nmember beside the current "
	      "ones, and only then the password changed in the\ndirectory; "
	      "the KDC's new kvno (and on the DC its keys) checked, and "
	      "each\nmember's Latest / Previous recorded.\n"
	      "\n"
	      "If a member cannot be updated the directory is not changed "
	      "(exit 1).\nOne roll per ASA at a time: a second one exits 1.\n"
	      "\n"
	      "  --force      roll even when members could not be updated; "
	      "they are\n               marked stale until the next roll or "
	      "`member add` repairs them\n"
	      "  --revoke-now after the roll, the members drop every older "
	      "key at once\n               (tickets issued before the roll "
	      "stop working); without it a\n               revocation "
	      "pending from `member remove` happens once\n               "
	      "tickets have expired (asa:revoke after)\n"
	      "  --due        roll every ASA whose roll is due (smb.conf: "
	      "asa:roll interval,\n               asa:roll jitter, asa:roll "
	      "retry), if this DC is the PDC\n               emulator, and "
	      "complete the revocations that are due; the\n               "
	      "last line is \"next-due: SECONDS\" or \"next-due: none\"; "
	      "an\n               overdue roll is a line \"warning: NAME: "
	      "roll overdue since\n               SECONDS ...\" naming "
	      "the members that hold it back\n"
	      "  --json       print the result as JSON (with --due: per ASA "
	      "what was done,\n               its next roll, whether it "
	      "is overdue and which members hold\n               it back; "
	      "what else it says goes to standard error)\n"
	      "\n", out);
	cli_usage_common(out, true, true);
}

/* How to reach members: smb.conf's asa:ssh options, else the defaults. */
static int roll_transport(TALLOC_CTX *mem_ctx,
			  struct loadparm_context *lp_ctx,
			  struct asa_member_transport_options *o)
{
	if (lp_ctx == NULL) {
		memset(o, 0, sizeof(*o));
		o->local_gid = (gid_t)-1;
		return 0;
	}
	return asa_member_transport_options_load(mem_ctx, lp_ctx, o);
}

void roll_print_untrusted(const struct asa_account *a)
{
	TALLOC_CTX *frame = talloc_new(NULL);
	size_t i;

	for (i = 0; i < a->num_untrusted_members; i++) {
		const struct asa_untrusted_record *u =
			&a->untrusted_members[i];

		fprintf(stderr, "%s: UNTRUSTED member record %s (%s): %s; "
			"not pushed to (samba-asa member remove %s %s)\n",
			asa_safe_text(frame, a->name),
			asa_safe_text(frame, u->name),
			asa_safe_text(frame, u->url),
			asa_safe_text(frame, u->why),
			asa_safe_text(frame, a->name),
			asa_safe_text(frame, u->name));
	}
	TALLOC_FREE(frame);
}

static void report_text(const struct roll_state *rs, bool rolled,
			const char *error)
{
	const struct asa_account *a = rs->account;
	TALLOC_CTX *frame = talloc_new(NULL);
	size_t i;

	if (rolled) {
		printf("Rolled %s: kvno %u -> %u\n", a->name, rs->old_kvno,
		       rs->new_kvno);
	} else {
		printf("Not rolled %s: the directory still has kvno %u\n",
		       a->name, rs->old_kvno);
	}
	for (i = 0; rs->push != NULL && i < rs->push->num_members; i++) {
		const struct asa_push_member *p = &rs->push->members[i];
		const struct asa_member_record *m = p->record;

		if (p->ok) {
			printf("  member %s (%s): holds kvno ",
			       asa_safe_text(frame, m->name),
			       asa_safe_text(frame, m->url));
			cli_print_kvnos(stdout, p->kvnos, p->num_kvnos);
			putchar('\n');
			if (p->after_install != NULL &&
			    strcmp(p->after_install, "ok") != 0) {
				printf("    after install %s (the keys are "
				       "installed)\n",
				       asa_safe_text(frame, p->after_install));
			}
		} else {
			printf("  member %s (%s): FAILED: %s%s\n",
			       asa_safe_text(frame, m->name),
			       asa_safe_text(frame, m->url),
			       p->error != NULL ?
			       asa_safe_text(frame, p->error) :
			       "not updated",
			       rolled ? " (marked stale)" : "");
		}
	}
	if (a->num_members == 0) {
		printf("  (no members: nobody holds these keys)\n");
	}
	if (rolled && error == NULL) {
		if (rs->kdc_keys_checked) {
			printf("  the KDC's keys at kvno %u equal the members'\n",
			       rs->new_kvno);
		} else {
			printf("  the directory's kvno is %u (the KDC's keys "
			       "are only readable on the DC)\n",
			       rs->new_kvno);
		}
	}
	roll_print_untrusted(a);
	TALLOC_FREE(frame);
}

static json_t *kvnos_json(const krb5_kvno *kvnos, size_t n)
{
	json_t *list = json_array();
	size_t i;

	for (i = 0; i < n; i++) {
		list = cli_json_append(list, json_integer(kvnos[i]));
	}
	return list;
}

static void report_json(const struct roll_state *rs, bool rolled,
			const char *error)
{
	const struct asa_account *a = rs->account;
	json_t *members = json_array();
	size_t i;

	for (i = 0; i < a->num_members; i++) {
		const struct asa_member_record *m = &a->members[i];
		const struct asa_push_member *p = rs->push != NULL ?
			&rs->push->members[i] : NULL;
		bool ok = p != NULL && p->ok;
		const char *why = NULL;

		if (!ok) {
			why = p != NULL && p->error != NULL ? p->error :
			      "not updated";
		}
		members = cli_json_append(members, json_pack(
			"{s:o, s:o, s:b, s:b, s:o, s:o}",
			"name", cli_json_text(m->name),
			"url", cli_json_text(m->url),
			"ok", ok,
			"stale", m->stale,
			"kvnos", p != NULL ?
			kvnos_json(p->kvnos, p->num_kvnos) : json_array(),
			"error", cli_json_text(why)));
	}
	(void)cli_json_print(stdout, json_pack(
		"{s:o, s:b, s:I, s:I, s:b, s:o, s:o}",
		"name", cli_json_text(a->name),
		"rolled", rolled,
		"old_kvno", (json_int_t)rs->old_kvno,
		"kvno", (json_int_t)(rolled ? rs->new_kvno : rs->old_kvno),
		"kdc_keys_checked", rs->kdc_keys_checked,
		"error", cli_json_text(error),
		"members", members));
}


static void report(const struct roll_state *rs, bool rolled,
		   const char *error, enum roll_report how)
{
	if (how == REPORT_JSON) {
		report_json(rs, rolled, error);
	} else if (how == REPORT_TEXT) {
		report_text(rs, rolled, error);
	}
}

/*
 * On reaching each step of the roll: the test hooks (test_hooks.h), and
 * the warning of roll_prepare() before the members are reached.
 */
static void roll_at_step(const struct roll_state *rs, enum roll_step step)
{
	if (step == ROLL_STEP_KEYS) {
		if (rs->warning != NULL) {
			cli_error("warning: %s; members get only the new keys",
				  rs->warning);
		}
		asa_test_show_secrets(rs->password, rs->keys, rs->num_keys);
	}
	asa_test_stop_at(step);
}

int roll_one(TALLOC_CTX *mem_ctx, struct roll_env *env,
	     const char *name, bool force, bool revoke_now,
	     enum roll_report how)
{
	TALLOC_CTX *frame = talloc_stackframe();
	struct roll_state *rs = NULL;
	struct roll_run_options run = { 0 };
	char *lock_path = NULL;
	char *errstring = NULL;
	int status = ASA_EXIT_USAGE;
	int lock_fd = -1;
	int ret;

	lock_fd = roll_lock(frame, env->lock_dir, name, 0, &lock_path);
	if (lock_fd == -EWOULDBLOCK) {
		long pid = roll_lock_holder(lock_path);

		cli_error("another roll of %s is running (pid %ld, lock %s): "
			  "it was not started twice; try again when that one "
			  "has finished", name, pid, lock_path);
		status = ASA_EXIT_REFUSED;
		goto done;
	}
	if (lock_fd < 0) {
		cli_error("cannot take the roll lock %s: %s",
			  lock_path != NULL ? lock_path : env->lock_dir,
			  strerror(-lock_fd));
		goto done;
	}
	asa_test_stop_at(ROLL_STEP_LOCKED);

	rs = talloc_zero(frame, struct roll_state);
	if (rs == NULL) {
		cli_error("out of memory");
		goto done;
	}
	rs->krb5 = env->krb5;
	rs->dir = env->dir;
	rs->smb_conf = env->opts->smb_conf;

	ret = asa_account_load(rs, env->dir, name, &rs->account, &errstring);
	if (ret != LDB_SUCCESS) {
		cli_error("%s", errstring != NULL ? errstring :
			  ldb_strerror(ret));
		status = (ret == LDB_ERR_NO_SUCH_OBJECT ||
			  ret == LDB_ERR_INSUFFICIENT_ACCESS_RIGHTS) ?
			ASA_EXIT_REFUSED : ASA_EXIT_USAGE;
		goto done;
	}

	run.force = force;
	run.transport = &env->transport;
	run.at_step = roll_at_step;
	if (roll_run(rs, &run) != 0) {
		if (rs->record_error != NULL) {
			cli_error("the failure could not be recorded either: "
				  "%s", rs->record_error);
		}
		report(rs, rs->rolled, rs->error, how);
		cli_error("roll of %s failed: %s", name, rs->error);
		status = ASA_EXIT_REFUSED;
		goto done;
	}
	if (rs->record_error != NULL) {
		cli_error("rolled, but the status was not recorded: %s",
			  rs->record_error);
	}
	report(rs, true, NULL, how);
	if (how == REPORT_TEXT && roll_num_failed(rs) > 0) {
		printf("  %zu member(s) marked stale: the next roll "
		       "or `samba-asa member add` repairs them\n",
		       roll_num_failed(rs));
	}
	if (how != REPORT_TEXT) {
		/* what the revocation says stays out of the JSON */
		int saved = -1;

		fflush(stdout);
		saved = dup(STDOUT_FILENO);
		if (saved >= 0 && dup2(STDERR_FILENO, STDOUT_FILENO) >= 0) {
			status = roll_revocation(env, rs, revoke_now);
			fflush(stdout);
			dup2(saved, STDOUT_FILENO);
		}
		if (saved >= 0) {
			close(saved);
		}
	} else {
		status = roll_revocation(env, rs, revoke_now);
	}
done:
	TALLOC_FREE(frame);	/* wipes the password and the keys */
	if (lock_fd >= 0) {
		close(lock_fd);
	}
	return status;
}

/*
 * SIGTERM while we lead our process group (as the asa_roll service starts
 * us): passed on to the group, so that the ssh and samba-tool we started
 * end with us.  Samba stopping under -M single signals only us (through
 * PR_SET_PDEATHSIG), not our group.  We end by the default action, as
 * before: a roll stopped at any point is safe (roll.h).
 */
static void roll_sigterm(int sig)
{
	signal(sig, SIG_DFL);
	kill(0, sig);		/* the group, us included */
}

int cmd_roll(TALLOC_CTX *mem_ctx, int argc, char **argv)
{
	TALLOC_CTX *frame = talloc_stackframe();
	struct cli_options opts = { 0 };
	struct roll_env env = { 0 };
	struct cli_option own[] = {
		{ .name = "--force", .flag = true, .repeat = true },
		{ .name = "--due", .flag = true, .repeat = true },
		{ .name = "--revoke-now", .flag = true, .repeat = true },
	};
	bool force = false;
	bool revoke_now = false;
	bool due = false;
	int pargc = 0;
	char **pargv = NULL;
	int status = ASA_EXIT_USAGE;
	int i;

	if (getpgrp() == getpid()) {
		struct sigaction term = { .sa_handler = roll_sigterm };

		sigaction(SIGTERM, &term, NULL);
	}

	status = cli_parse(frame, &opts, own, sizeof(own) / sizeof(own[0]),
			   argc, argv, &pargc, &pargv, true);
	if (status != ASA_EXIT_OK) {
		goto done;
	}
	force = own[0].given;
	due = own[1].given;
	revoke_now = own[2].given;
	if (opts.help) {
		usage(stdout);
		goto done;
	}
	status = ASA_EXIT_USAGE;
	if (due && pargc != 0) {
		cli_error("--due rolls every ASA that is due: give no NAME "
			  "(or roll %s now without --due)", pargv[0]);
		goto done;
	}
	if (due && (force || revoke_now)) {
		cli_error("%s only with a NAME: a scheduled roll never "
			  "does that", force ? "--force" : "--revoke-now");
		goto done;
	}
	if (!due && pargc != 1) {
		if (pargc > 1) {
			cli_error("one ASA at a time: roll %s, then the "
				  "others", pargv[0]);
		}
		usage(stderr);
		goto done;
	}

	if (krb5_init_context(&env.krb5) != 0) {
		cli_error("cannot initialise Kerberos (check KRB5_CONFIG)");
		goto done;
	}
	status = cli_connect(frame, &opts, &env.dir);
	if (status != ASA_EXIT_OK) {
		goto done;
	}
	env.opts = &opts;
	env.lp_ctx = cli_smb_conf(&opts, env.dir, NULL);
	env.lock_dir = asa_roll_lock_dir(frame, env.lp_ctx);
	if (env.lock_dir == NULL) {
		cli_error("out of memory");
		status = ASA_EXIT_USAGE;
		goto done;
	}
	i = roll_transport(frame, env.lp_ctx, &env.transport);
	if (i != 0) {
		cli_error("%s", i == EINVAL ? ASA_MEMBER_TIMEOUT_HELP :
			  "out of memory");
		status = ASA_EXIT_USAGE;
		goto done;
	}

	if (due) {
		status = roll_due(frame, &env, opts.json);
	} else {
		status = roll_one(frame, &env, pargv[0], force, revoke_now,
				  opts.json ? REPORT_JSON : REPORT_TEXT);
	}
done:
	TALLOC_FREE(frame);
	if (env.krb5 != NULL) {
		krb5_free_context(env.krb5);
	}
	return status;
}
