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
 * The steps are in common/roll.c; this file holds the order, the lock,
 * the reporting and --due.  See roll.h for why the order is safe.
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

/* smb.conf: the local backend's, else -s or the default one, else NULL. */
static struct loadparm_context *roll_lp(struct asa_dir *dir,
					const struct cli_options *opts)
{
	struct loadparm_context *lp_ctx = asa_dir_lp_ctx(dir);

	if (lp_ctx != NULL) {
		return lp_ctx;
	}
	lp_ctx = loadparm_init_global(false);
	if (lp_ctx == NULL) {
		return NULL;
	}
	if (opts->smb_conf != NULL) {
		return lpcfg_load(lp_ctx, opts->smb_conf) ? lp_ctx : NULL;
	}
	return lpcfg_load_default(lp_ctx) ? lp_ctx : NULL;
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

/*
 * The member records the trust rule refuses (common/sd.h): named, never
 * pushed to, never blocking the roll of the others.  On standard error,
 * which the asa_roll service logs at error level.
 */
static void print_untrusted(const struct asa_account *a)
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
	print_untrusted(a);
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

/*
 * Roll one ASA.  Returns an exit status; prints what happened.
 */
enum roll_report { REPORT_TEXT, REPORT_JSON, REPORT_NONE };

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

static int roll_one(TALLOC_CTX *mem_ctx, struct roll_env *env,
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
 * Whether this DC holds the PDC emulator role: rootDSE's dsServiceName is
 * the domain head's fSMORoleOwner.  An exit status; *holder gets the
 * holder's DN for the message.
 */
static int holds_pdc_role(TALLOC_CTX *mem_ctx, struct asa_dir *dir,
			  bool *pdc, const char **holder)
{
	static const char * const attrs[] = { "fSMORoleOwner", NULL };
	const struct asa_dir_rootdse *rootdse = asa_dir_rootdse(dir);
	struct ldb_result *res = NULL;
	struct ldb_dn *owner = NULL;
	const char *text = NULL;
	int ret;

	*pdc = false;
	*holder = "nobody";
	if (rootdse->default_nc == NULL || rootdse->ds_service_name == NULL) {
		cli_error("the server's rootDSE names no domain or no "
			  "dsServiceName: is it a domain controller?");
		return ASA_EXIT_USAGE;
	}
	ret = asa_dir_search(dir, mem_ctx, &res, rootdse->default_nc,
			     LDB_SCOPE_BASE, attrs, 0, "(objectClass=*)");
	if (ret != LDB_SUCCESS || res->count != 1) {
		cli_error("cannot read the PDC emulator role holder: %s",
			  asa_dir_errstring(dir));
		return ASA_EXIT_USAGE;
	}
	text = ldb_msg_find_attr_as_string(res->msgs[0], "fSMORoleOwner",
					   NULL);
	if (text == NULL) {
		return ASA_EXIT_OK;
	}
	*holder = text;
	owner = ldb_dn_new(mem_ctx, asa_dir_ldb(dir), text);
	if (owner == NULL || !ldb_dn_validate(owner)) {
		return ASA_EXIT_OK;
	}
	*pdc = ldb_dn_compare(owner, rootdse->ds_service_name) == 0;
	return ASA_EXIT_OK;
}

/*
 * Before a scheduled roll, due at `due`: does a member hold keys for the
 * ASA above the kvno this DC's directory shows, while the directory
 * records no failed attempt since the last roll (a failed attempt leaves
 * its keys on the members it reached)?  Those come from a roll that this
 * DC has not replicated yet: made on another DC just before the PDC
 * emulator role moved here, or still under way there.  Rolling now would
 * give the members other keys at that same kvno, and the other DCs' KDCs'
 * tickets would fail on them until replication settled which password
 * wins.  So wait, up to policy->settle after the due time (a roll killed
 * after staging looks the same, and is completed then).  Returns the time
 * until which to wait (0: none) and the kvno seen.  A member that cannot
 * be reached says nothing here: the roll itself reports it.  (The
 * keytab's own timestamps do not help: MIT's keytab writer stamps each
 * entry with the time it writes it.)
 */
static time_t keys_staged_elsewhere(TALLOC_CTX *mem_ctx,
				    struct roll_env *env,
				    const struct asa_account *a,
				    const struct asa_schedule_policy *policy,
				    time_t due, time_t now, krb5_kvno *seen)
{
	TALLOC_CTX *frame = talloc_stackframe();
	const struct asa_member_url **urls = NULL;
	struct asa_member_result *results = NULL;
	char *principal = NULL;
	time_t until = 0;
	size_t i, j, n = 0;

	*seen = 0;
	if (policy->settle <= 0 || due + policy->settle <= now ||
	    a->roll_failures > 0 || a->num_members == 0 || a->realm == NULL) {
		goto done;
	}
	principal = talloc_asprintf(frame, "%s@%s", a->sam_account_name,
				    a->realm);
	urls = talloc_zero_array(frame, const struct asa_member_url *,
				 a->num_members);
	if (principal == NULL || urls == NULL) {
		goto done;
	}
	for (i = 0; i < a->num_members; i++) {
		struct asa_member_url *url = NULL;
		char *why = NULL;

		if (asa_member_url_parse(frame, a->members[i].url, &url,
					 &why) == 0) {
			urls[n++] = url;
		}
	}
	if (n == 0 || asa_member_fetch(frame, env->krb5, &env->transport,
				       urls, n, &results) != 0) {
		goto done;
	}
	for (i = 0; i < n; i++) {
		const struct asa_keytab *kt = results[i].keytab;

		for (j = 0; kt != NULL && j < kt->num_entries; j++) {
			const struct asa_keytab_entry *e = &kt->entries[j];

			if (e->kvno > a->kvno && e->kvno > *seen &&
			    strcmp(e->principal, principal) == 0) {
				*seen = e->kvno;
				until = due + policy->settle;
			}
		}
	}
done:
	TALLOC_FREE(frame);
	return until;
}

/* What roll --due did with one ASA, for --json. */
struct due_entry {
	const char *name;
	const char *action;	/* rolled, failed, not-due, waiting */
	time_t next;
	bool overdue;
	time_t overdue_since;
	const struct asa_account *account;	/* as it stands after */
};

/*
 * An overdue roll, on standard output as a "warning:" line (the asa_roll
 * service logs those at warning level), with the members that hold it
 * back.  Whether it is overdue.
 */
static bool warn_overdue(TALLOC_CTX *mem_ctx, const struct asa_account *a,
			 const struct asa_schedule_policy *policy,
			 time_t now, time_t *since, bool json)
{
	char *held = NULL;
	size_t i;

	if (a == NULL || !asa_roll_overdue(a, policy, now, since)) {
		return false;
	}
	if (json) {
		return true;
	}
	held = talloc_strdup(mem_ctx, "");
	for (i = 0; held != NULL && i < a->num_members; i++) {
		if (a->members[i].last_error == NULL) {
			continue;
		}
		held = talloc_asprintf_append(held, "%s member %s (%s)",
					      held[0] != '\0' ? "," : "",
					      a->members[i].name,
					      a->members[i].last_error);
	}
	printf("warning: %s: roll overdue since %lld (%u failed attempt%s):"
	       " %s%s\n", a->name, (long long)*since, a->roll_failures,
	       a->roll_failures == 1 ? "" : "s",
	       held != NULL && held[0] != '\0' ? "held back by" :
	       a->last_roll_error != NULL ? a->last_roll_error :
	       "no roll ran", held != NULL ? held : "");
	return true;
}

static void due_json(const struct due_entry *e, size_t n, bool pdc,
		     const char *holder, bool any_next, time_t next)
{
	json_t *asas = json_array();
	size_t i, k;

	for (i = 0; i < n; i++) {
		const struct asa_account *a = e[i].account;
		json_t *held = json_array();

		for (k = 0; a != NULL && k < a->num_members; k++) {
			if (a->members[k].last_error == NULL) {
				continue;
			}
			held = cli_json_append(held, json_pack("{s:o, s:o}",
				"name", cli_json_text(a->members[k].name),
				"error",
				cli_json_text(a->members[k].last_error)));
		}
		asas = cli_json_append(asas, json_pack(
			"{s:o, s:o, s:I, s:I, s:b, s:o, s:I, s:o, s:o}",
			"name", cli_json_text(e[i].name),
			"action", cli_json_text(e[i].action),
			"kvno", (json_int_t)(a != NULL ? a->kvno : 0),
			"next_due", (json_int_t)e[i].next,
			"overdue", e[i].overdue,
			"overdue_since", e[i].overdue ?
			json_integer(e[i].overdue_since) : json_null(),
			"roll_failures",
			(json_int_t)(a != NULL ? a->roll_failures : 0),
			"last_roll_error",
			cli_json_text(a != NULL ? a->last_roll_error : NULL),
			"held_back_by", held));
	}
	(void)cli_json_print(stdout, json_pack("{s:b, s:o, s:o, s:o}",
		"pdc_emulator", pdc,
		"pdc_emulator_holder", cli_json_text(holder),
		"asas", asas,
		"next_due", any_next ? json_integer(next) : json_null()));
}

static int roll_due(TALLOC_CTX *mem_ctx, struct roll_env *env, bool json)
{
	TALLOC_CTX *frame = talloc_stackframe();
	struct asa_schedule_policy policy;
	struct asa_account **accounts = NULL;
	struct due_entry *entries = NULL;
	struct asa_account **untrusted = NULL;
	size_t num_accounts = 0, num_untrusted = 0;
	const char *holder = NULL;
	char *errstring = NULL;
	time_t now = time(NULL);
	time_t next = 0;
	bool any_next = false;
	bool pdc = false;
	bool failed = false;
	size_t i;
	int status;
	int ret;

	if (asa_roll_policy_load(frame, env->lp_ctx, &policy,
				 &errstring) != 0) {
		cli_error("%s", errstring);
		status = ASA_EXIT_USAGE;
		goto done;
	}
	status = holds_pdc_role(frame, env->dir, &pdc, &holder);
	if (status != ASA_EXIT_OK) {
		goto done;
	}
	ret = asa_account_list_all(frame, env->dir, &accounts, &num_accounts,
				   &untrusted, &num_untrusted, &errstring);
	if (ret != LDB_SUCCESS) {
		cli_error("cannot list the ASAs: %s", errstring != NULL ?
			  errstring : ldb_strerror(ret));
		status = ASA_EXIT_USAGE;
		goto done;
	}
	entries = talloc_zero_array(frame, struct due_entry,
				    num_accounts + 1);
	if (entries == NULL) {
		cli_error("out of memory");
		status = ASA_EXIT_USAGE;
		goto done;
	}

	for (i = 0; i < num_untrusted; i++) {
		fprintf(stderr, "%s: UNTRUSTED, never rolled: %s; %s\n",
			asa_safe_text(frame, untrusted[i]->name),
			asa_safe_text(frame, untrusted[i]->untrusted),
			asa_account_untrusted_advice(frame, untrusted[i]));
	}
	if (!pdc) {
		/*
		 * Idle.  Look again when the first ASA is due (at the
		 * earliest one retry delay from now): the role may have moved
		 * here by then.
		 */
		if (!json) {
			printf("idle: this DC (%s) is not the PDC emulator "
			       "(%s holds the role); rolling nothing\n",
			       ldb_dn_get_linearized(
				       asa_dir_rootdse(env->dir)->
				       ds_service_name), holder);
		}
		for (i = 0; i < num_accounts; i++) {
			time_t due = 0;

			entries[i].name = accounts[i]->name;
			entries[i].action = "idle";
			entries[i].account = accounts[i];
			if (asa_roll_next_due(accounts[i], &policy, now,
					      &due) != 0) {
				continue;
			}
			entries[i].next = due;
			if (!any_next || due < next) {
				next = due;
				any_next = true;
			}
		}
		if (any_next && next < now + policy.retry_base) {
			next = now + policy.retry_base;
		}
		goto print_next;
	}

	for (i = 0; i < num_accounts; i++) {
		struct asa_account *a = accounts[i];
		struct asa_account *after = NULL;
		struct asa_revocation rv;
		bool waiting;
		time_t due = 0;
		time_t at = 0;

		entries[i].name = a->name;
		entries[i].account = a;
		if (asa_roll_next_due(a, &policy, now, &due) != 0) {
			entries[i].action = "refused-policy";
			continue;
		}
		/* a member was removed: the roll that revokes its keys */
		asa_revocation_get(a, &rv);
		if (rv.kvno != 0 && rv.kvno >= a->kvno &&
		    a->roll_failures == 0 && due > now) {
			if (!json) {
				printf("%s: members were removed: rolling "
				       "to revoke the keys they held\n",
				       a->name);
			}
			due = now;
		}
		if (due > now) {
			/* a roll reports them itself */
			print_untrusted(a);
		}
		waiting = false;
		if (due <= now) {
			krb5_kvno seen = 0;
			time_t wait = keys_staged_elsewhere(frame, env, a,
							    &policy, due, now,
							    &seen);

			if (wait > now) {
				waiting = true;
				if (!json) {
					printf("%s: due, but a member holds "
					       "kvno %u above this "
					       "directory's %u, made by a "
					       "roll this DC has not "
					       "replicated yet (another "
					       "DC's, before the PDC "
					       "emulator role moved here?): "
					       "waiting for replication "
					       "until %lld (asa:roll "
					       "settle)\n", a->name,
					       (unsigned int)seen, a->kvno,
					       (long long)wait);
				}
				due = wait;
			}
		}
		if (waiting) {
			entries[i].action = "waiting";
		} else if (due > now) {
			entries[i].action = "not-due";
			if (!json) {
				printf("%s: not due (next roll at %lld)\n",
				       a->name, (long long)due);
			}
		} else {
			if (!json) {
				printf("%s: due, rolling\n", a->name);
			}
			fflush(stdout);
			entries[i].action = "rolled";
			if (roll_one(frame, env, a->name, false, false,
				     json ? REPORT_NONE : REPORT_TEXT) !=
			    ASA_EXIT_OK) {
				entries[i].action = "failed";
				failed = true;
			}
			fflush(stdout);
			now = time(NULL);
			ret = asa_account_load(frame, env->dir, a->name,
					       &after, &errstring);
			if (ret == LDB_SUCCESS) {
				entries[i].account = after;
			}
			if (ret != LDB_SUCCESS ||
			    asa_roll_next_due(after, &policy, now,
					      &due) != 0) {
				due = now + policy.retry_base;
			}
			/* never "due now" right after an attempt: the
			 * service would spin */
			if (due <= now) {
				due = now + policy.retry_base;
			}
		}
		if (json) {
			/* what the revocation says stays out of the JSON */
			int saved = -1;

			fflush(stdout);
			saved = dup(STDOUT_FILENO);
			if (saved >= 0 &&
			    dup2(STDERR_FILENO, STDOUT_FILENO) >= 0) {
				if (revoke_due(env, a->name, &policy, &at) !=
				    ASA_EXIT_OK) {
					failed = true;
				}
				fflush(stdout);
				dup2(saved, STDOUT_FILENO);
			}
			if (saved >= 0) {
				close(saved);
			}
		} else if (revoke_due(env, a->name, &policy, &at) !=
			   ASA_EXIT_OK) {
			failed = true;
		}
		if (at != 0 && at < due) {
			due = at;
		}
		entries[i].next = due;
		entries[i].overdue = warn_overdue(frame, entries[i].account,
						  &policy, now,
						  &entries[i].overdue_since,
						  json);
		if (!any_next || due < next) {
			next = due;
			any_next = true;
		}
	}

print_next:
	if (json) {
		due_json(entries, num_accounts, pdc, holder, any_next, next);
	} else if (any_next) {
		printf("next-due: %lld\n", (long long)next);
	} else {
		printf("next-due: none\n");
	}
	status = failed ? ASA_EXIT_REFUSED : ASA_EXIT_OK;
done:
	if (status == ASA_EXIT_USAGE && !json) {
		printf("next-due: none\n");
	}
	TALLOC_FREE(frame);
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
	env.lp_ctx = roll_lp(env.dir, &opts);
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
