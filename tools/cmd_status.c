/*
 * samba-asa status [NAME] [--json]: the keys of every ASA (or of NAME) as
 * its members last reported them, and its rolls, the way Exchange's
 * Get-ClientAccessServer -IncludeAlternateServiceAccountCredentialStatus
 * shows them: per member the Latest credential (kvno, when installed) and
 * the Previous one (kvno, or not set), whether it is stale, its last
 * error; per ASA its kvno, last roll, last roll error and next scheduled
 * roll.
 *
 * Everything comes from the directory (the ASA's serviceConnectionPoint
 * objects, see asa.h), so any administrator can ask any DC; no member is
 * contacted (`samba-asa verify` does that).  The next roll is computed as
 * the asa_roll service computes it: smb.conf's asa:roll options (roll.h)
 * with the ASA's own interval, if it has one.
 *
 * Exit status 0 (the status was shown, whatever it says), 1 for an
 * unknown NAME, 2 for usage and environment errors.
 *
 * Copyright (C) samba-asa authors 2026
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <talloc.h>
#include <ldb.h>
#include <param.h>
#include <krb5.h>

#include "cli.h"
#include "asa.h"
#include "asa_admin.h"
#include "cli_json.h"
#include "revoke.h"
#include "safe_text.h"
#include "roll.h"
#include "schedule.h"

static void usage_status(FILE *out)
{
	fputs("Usage: samba-asa status [NAME] [options]\n"
	      "\n"
	      "The credential status of every ASA (or of NAME) and its "
	      "members, from the\ndirectory: per member the Latest keys "
	      "(kvno, when installed) and the\nPrevious ones (kvno, or not "
	      "set), whether the member is stale (it missed\na forced roll) "
	      "and its last error; per ASA its kvno, its last roll and\n"
	      "the next scheduled one (smb.conf: asa:roll interval, "
	      "default 21d).\nNo member is contacted: samba-asa verify "
	      "checks the keys themselves.\n\n"
	      "  --check      for monitoring (Nagios, Icinga): one line, "
	      "exit status 0 OK,\n"
	      "               1 WARNING (a failed roll, a stale member, a "
	      "member's error),\n"
	      "               2 CRITICAL (a roll overdue, a member whose "
	      "keys lag the\n"
	      "               directory), 3 UNKNOWN (the directory cannot "
	      "be read)\n\n", out);
	cli_usage_common(out, true, true);
}

/* "2026-11-25 07:00:00Z", or NULL for 0 */
static char *time_text(TALLOC_CTX *mem_ctx, time_t t)
{
	struct tm tm;
	char buf[32];

	if (t == 0 || gmtime_r(&t, &tm) == NULL) {
		return NULL;
	}
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%SZ", &tm);
	return talloc_strdup(mem_ctx, buf);
}

/*
 * obj with "KEY": seconds since the epoch and "KEY_text": the same as
 * text, or nulls; NULL (obj dropped) when out of memory.
 */
static json_t *json_time(TALLOC_CTX *mem_ctx, json_t *obj, const char *key,
			 time_t t)
{
	char *text = time_text(mem_ctx, t);
	char *key_text = talloc_asprintf(mem_ctx, "%s_text", key);

	if (obj == NULL || key_text == NULL ||
	    json_object_set_new(obj, key, text != NULL ? json_integer(t) :
				json_null()) != 0 ||
	    json_object_set_new(obj, key_text, cli_json_text(text)) != 0) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

/* obj with "key": value (the reference taken), or NULL as json_time() */
static json_t *json_set(json_t *obj, const char *key, json_t *value)
{
	if (obj == NULL || json_object_set_new(obj, key, value) != 0) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

/* smb.conf's roll policy: the local backend's, else -s or the default. */
static int load_policy(TALLOC_CTX *mem_ctx, const struct cli_options *opts,
		       struct asa_dir *dir, struct asa_schedule_policy *policy,
		       const char **source)
{
	bool bad = false;
	struct loadparm_context *lp = cli_smb_conf(opts, dir, &bad);
	char *why = NULL;

	if (bad) {
		cli_error("-s %s: cannot load it", opts->smb_conf);
		return ASA_EXIT_USAGE;
	}
	*source = lp != NULL ? "smb.conf" : "defaults (no smb.conf)";
	if (asa_roll_policy_load(mem_ctx, lp, policy, &why) != 0) {
		cli_error("%s", why != NULL ? why : "bad asa:roll options");
		return ASA_EXIT_USAGE;
	}
	return ASA_EXIT_OK;
}

static const char *member_state(const struct asa_account *a,
				const struct asa_member_record *m)
{
	if (m->stale) {
		return "stale";
	}
	if (m->latest_kvno == 0) {
		return "no keys installed";
	}
	if (m->latest_kvno > a->kvno) {
		/*
		 * It got the next keys of a roll that stopped before the
		 * password changed: it still holds the current ones as its
		 * previous kvno, and the next roll reuses that kvno.
		 */
		return m->previous_kvno == a->kvno ? "staged" : "behind";
	}
	if (m->latest_kvno != a->kvno) {
		return "behind";
	}
	if (m->last_error != NULL) {
		return "error";
	}
	return "ok";
}

/* A revocation pending from `member remove` (revoke.h), and when. */
static void print_revocation_text(TALLOC_CTX *mem_ctx,
				  const struct asa_account *a, time_t now)
{
	struct asa_revocation rv;
	char *t = NULL;

	asa_revocation_get(a, &rv);
	if (rv.kvno == 0) {
		return;
	}
	printf("  revocation:       kvno %u and below, ", (unsigned)rv.kvno);
	if (rv.kvno >= a->kvno) {
		printf("%s the next roll\n", rv.now ? "right after" :
		       "once tickets have expired after");
	} else if (rv.at != 0) {
		t = time_text(mem_ctx, rv.at);
		printf("at %s%s\n", t != NULL ? t : "?",
		       rv.at <= now ? " (due now)" : "");
	} else {
		printf("due (asa:revoke after the last roll)\n");
	}
}

/* The members whose last push failed: what holds a roll back. */
static char *failing_members(TALLOC_CTX *mem_ctx, const struct asa_account *a)
{
	char *list = talloc_strdup(mem_ctx, "");
	size_t i;

	for (i = 0; list != NULL && i < a->num_members; i++) {
		const struct asa_member_record *m = &a->members[i];

		if (m->last_error == NULL) {
			continue;
		}
		list = talloc_asprintf_append(list, "%s%s (%s)",
					      list[0] != '\0' ? ", " : "",
					      asa_safe_text(list, m->name),
					      asa_safe_text(list,
							    m->last_error));
	}
	return list;
}

static void print_overdue_text(TALLOC_CTX *mem_ctx,
			       const struct asa_account *a,
			       const struct asa_schedule_policy *policy,
			       time_t now)
{
	time_t since = 0;
	char *held = NULL;

	if (!asa_roll_overdue(a, policy, now, &since)) {
		return;
	}
	held = failing_members(mem_ctx, a);
	printf("  OVERDUE:          since %s: %s%s\n",
	       time_text(mem_ctx, since) ?: "creation",
	       held != NULL && held[0] != '\0' ? "held back by " :
	       a->roll_failures > 0 ? "the rolls fail" :
	       "no roll ran (is the asa_roll service enabled on the PDC "
	       "emulator?)", held != NULL ? held : "");
}

/* Text from the directory, safe for a terminal. */
#define SAFE(s) asa_safe_text(mem_ctx, (s))

/* Records the trust rule refuses (common/sd.h): named, never used. */
static void print_untrusted_text(TALLOC_CTX *mem_ctx,
				 const struct asa_account *a)
{
	size_t i;

	for (i = 0; i < a->num_untrusted_members; i++) {
		const struct asa_untrusted_record *u =
			&a->untrusted_members[i];

		printf("\n  UNTRUSTED member record %s (%s)\n",
		       SAFE(u->name), SAFE(u->url));
		printf("    Why:            %s\n", SAFE(u->why));
		printf("    Status:         untrusted: never pushed to; "
		       "remove it with 'samba-asa member remove %s %s'\n",
		       SAFE(a->name), SAFE(u->name));
	}
}

static json_t *untrusted_json(TALLOC_CTX *mem_ctx,
			      const struct asa_account *a)
{
	json_t *list = json_array();
	size_t i;

	for (i = 0; i < a->num_untrusted_members; i++) {
		const struct asa_untrusted_record *u =
			&a->untrusted_members[i];

		list = cli_json_append(list, json_pack("{s:o, s:o, s:o, s:o}",
			"name", cli_json_text(SAFE(u->name)),
			"url", cli_json_text(SAFE(u->url)),
			"dn", cli_json_text(SAFE(ldb_dn_get_linearized(u->dn))),
			"why", cli_json_text(SAFE(u->why))));
	}
	return list;
}

static void print_account_text(TALLOC_CTX *mem_ctx,
			       const struct asa_account *a,
			       const struct asa_schedule_policy *policy,
			       time_t now)
{
	time_t due = 0;
	char *t = NULL;
	size_t i;

	printf("ASA %s (%s@%s)\n", a->name, a->sam_account_name, a->realm);
	printf("  kvno:             %u\n", (unsigned)a->kvno);
	printf("  SPNs:             %zu\n", a->num_spns);
	t = time_text(mem_ctx, a->pwd_last_set);
	printf("  password set:     %s\n", t != NULL ? t : "never");
	t = time_text(mem_ctx, a->last_roll);
	printf("  last roll:        %s\n", t != NULL ? t : "never");
	if (a->last_roll_error != NULL) {
		t = time_text(mem_ctx, a->last_roll_error_time);
		printf("  last roll error:  %s%s%s%s (%u in a row)\n",
		       SAFE(a->last_roll_error), t != NULL ? " (" : "",
		       t != NULL ? t : "", t != NULL ? ")" : "",
		       a->roll_failures);
	}
	if (asa_roll_next_due(a, policy, now, &due) == 0) {
		t = time_text(mem_ctx, due);
		printf("  next roll:        %s%s\n", t != NULL ? t : "now",
		       due <= now ? " (due now)" : "");
	} else {
		printf("  next roll:        unknown (the roll policy is "
		       "refused)\n");
	}
	print_revocation_text(mem_ctx, a, now);
	print_overdue_text(mem_ctx, a, policy, now);
	printf("  members:          %zu\n", a->num_members);
	for (i = 0; i < a->num_members; i++) {
		const struct asa_member_record *m = &a->members[i];

		printf("\n  Member %s (%s)\n", SAFE(m->name), SAFE(m->url));
		if (m->latest_kvno != 0) {
			t = time_text(mem_ctx, m->latest_installed);
			printf("    Latest:         kvno %u, installed %s\n",
			       (unsigned)m->latest_kvno,
			       t != NULL ? t : "(time not recorded)");
		} else {
			printf("    Latest:         <not set>\n");
		}
		if (m->previous_kvno != 0) {
			printf("    Previous:       kvno %u\n",
			       (unsigned)m->previous_kvno);
		} else {
			printf("    Previous:       <not set>\n");
		}
		printf("    Stale:          %s\n", m->stale ? "yes" : "no");
		if (m->last_error != NULL) {
			t = time_text(mem_ctx, m->last_error_time);
			printf("    Last error:     %s%s%s%s\n",
			       SAFE(m->last_error),
			       t != NULL ? " (" : "", t != NULL ? t : "",
			       t != NULL ? ")" : "");
		} else {
			printf("    Last error:     none\n");
		}
		if (m->after_install != NULL) {
			printf("    After install:  %s (the keys are "
			       "installed)\n", SAFE(m->after_install));
		}
		printf("    Status:         %s\n", member_state(a, m));
	}
	print_untrusted_text(mem_ctx, a);
}

static json_t *member_json(TALLOC_CTX *mem_ctx, const struct asa_account *a,
			   const struct asa_member_record *m)
{
	json_t *latest = json_null();
	json_t *o = NULL;

	if (m->latest_kvno != 0) {
		latest = json_time(mem_ctx, json_pack("{s:I}", "kvno",
						      (json_int_t)m->latest_kvno),
				   "installed", m->latest_installed);
	}
	o = json_pack("{s:o, s:o, s:o, s:o, s:b, s:o}",
		      "name", cli_json_text(m->name),
		      "url", cli_json_text(m->url),
		      "latest", latest,
		      "previous", m->previous_kvno == 0 ? json_null() :
		      json_pack("{s:I}", "kvno", (json_int_t)m->previous_kvno),
		      "stale", m->stale,
		      "last_error", cli_json_text(m->last_error));
	o = json_time(mem_ctx, o, "last_error_time", m->last_error_time);
	o = json_set(o, "after_install", cli_json_text(m->after_install));
	return json_set(o, "status", cli_json_text(member_state(a, m)));
}

static json_t *account_json(TALLOC_CTX *mem_ctx,
			    const struct asa_account *a,
			    const struct asa_schedule_policy *policy,
			    time_t now)
{
	struct asa_revocation rv;
	json_t *o = NULL;
	json_t *spns = json_array();
	json_t *held = json_array();
	json_t *members = json_array();
	json_t *revocation = json_null();
	time_t due = 0, since = 0;
	bool overdue;
	size_t i;

	for (i = 0; i < a->num_spns; i++) {
		spns = cli_json_append(spns, cli_json_text(a->spns[i]));
	}
	o = json_pack("{s:o, s:o, s:o, s:o, s:I, s:I, s:o}",
		      "name", cli_json_text(a->name),
		      "account", cli_json_text(a->sam_account_name),
		      "dn", cli_json_text(ldb_dn_get_linearized(a->dn)),
		      "realm", cli_json_text(a->realm),
		      "kvno", (json_int_t)a->kvno,
		      "enctypes", (json_int_t)a->enctypes,
		      "spns", spns);
	o = json_time(mem_ctx, o, "password_set", a->pwd_last_set);
	o = json_time(mem_ctx, o, "last_roll", a->last_roll);
	o = json_set(o, "last_roll_error", cli_json_text(a->last_roll_error));
	o = json_time(mem_ctx, o, "last_roll_error_time",
		      a->last_roll_error_time);
	o = json_set(o, "roll_failures", json_integer(a->roll_failures));
	o = json_set(o, "roll_interval", json_integer(
		a->roll_interval > 0 ? a->roll_interval : policy->interval));
	if (asa_roll_next_due(a, policy, now, &due) == 0) {
		o = json_time(mem_ctx, o, "next_roll", due);
		o = json_set(o, "roll_due", json_boolean(due <= now));
	} else {
		o = json_time(mem_ctx, o, "next_roll", 0);
		o = json_set(o, "roll_due", json_null());
	}
	asa_revocation_get(a, &rv);
	if (rv.kvno != 0) {
		revocation = json_time(mem_ctx, json_pack("{s:I, s:b, s:b}",
			"kvno", (json_int_t)rv.kvno,
			"after_next_roll", rv.kvno >= a->kvno,
			"right_after_roll", rv.now),
			"at", rv.kvno >= a->kvno ? 0 : rv.at);
	}
	o = json_set(o, "revocation", revocation);
	overdue = asa_roll_overdue(a, policy, now, &since);
	for (i = 0; overdue && i < a->num_members; i++) {
		if (a->members[i].last_error != NULL) {
			held = cli_json_append(held,
				cli_json_text(a->members[i].name));
		}
	}
	o = json_set(o, "overdue", json_boolean(overdue));
	o = json_set(o, "held_back_by", held);
	for (i = 0; i < a->num_members; i++) {
		members = cli_json_append(members,
			member_json(mem_ctx, a, &a->members[i]));
	}
	o = json_set(o, "members", members);
	return json_set(o, "untrusted_members", untrusted_json(mem_ctx, a));
}

static json_t *status_json(TALLOC_CTX *mem_ctx,
			   struct asa_account **accounts, size_t num_accounts,
			   struct asa_account **untrusted, size_t num_untrusted,
			   const struct asa_schedule_policy *policy,
			   const char *source, time_t now)
{
	json_t *asas = json_array();
	json_t *others = json_array();
	size_t i;

	for (i = 0; i < num_accounts; i++) {
		asas = cli_json_append(asas, account_json(mem_ctx, accounts[i],
							  policy, now));
	}
	for (i = 0; i < num_untrusted; i++) {
		const struct asa_account *u = untrusted[i];

		others = cli_json_append(others, json_pack(
			"{s:o, s:o, s:o, s:b, s:o}",
			"name", cli_json_text(asa_safe_text(mem_ctx, u->name)),
			"dn", cli_json_text(asa_safe_text(mem_ctx,
				ldb_dn_get_linearized(u->dn))),
			"why", cli_json_text(asa_safe_text(mem_ctx,
							   u->untrusted)),
			"securable", u->securable,
			"advice", cli_json_text(
				asa_account_untrusted_advice(mem_ctx, u))));
	}
	return json_pack("{s:I, s:{s:I, s:I, s:I, s:I, s:o}, s:o, s:o}",
			 "now", (json_int_t)now,
			 "roll_policy",
			 "interval", (json_int_t)policy->interval,
			 "jitter", (json_int_t)policy->jitter,
			 "retry", (json_int_t)policy->retry_base,
			 "retry_max", (json_int_t)policy->retry_max,
			 "source", cli_json_text(source),
			 "asas", asas,
			 "untrusted_asas", others);
}

/* --- status --check ------------------------------------------------------ */

#define CHECK_OK 0
#define CHECK_WARNING 1
#define CHECK_CRITICAL 2
#define CHECK_UNKNOWN 3

struct check_result {
	int level;
	char *critical;		/* "; "-separated findings */
	char *warning;
};

static void check_add(struct check_result *r, int level, const char *fmt,
		      ...) PRINTF_ATTRIBUTE(3, 4);

static void check_add(struct check_result *r, int level, const char *fmt,
		      ...)
{
	char **list = level == CHECK_CRITICAL ? &r->critical : &r->warning;
	char *text = NULL;
	va_list ap;
	size_t i;

	va_start(ap, fmt);
	text = talloc_vasprintf(r, fmt, ap);
	va_end(ap);
	/* one line, whatever a record holds; '|' starts Nagios perfdata */
	text = text != NULL ? asa_safe_text(r, text) : NULL;
	if (text == NULL) {
		return;
	}
	for (i = 0; text[i] != '\0'; i++) {
		if (text[i] == '|') {
			text[i] = '?';
		}
	}
	*list = *list == NULL ? text :
		talloc_asprintf_append(*list, "; %s", text);
	if (level > r->level) {
		r->level = level;
	}
}

static void check_account(TALLOC_CTX *mem_ctx, struct check_result *r,
			  const struct asa_account *a,
			  const struct asa_schedule_policy *policy,
			  time_t now, size_t *num_members)
{
	time_t since = 0;
	size_t i;

	*num_members += a->num_members;
	if (asa_roll_overdue(a, policy, now, &since)) {
		char *held = failing_members(mem_ctx, a);

		check_add(r, CHECK_CRITICAL, "%s: roll overdue since %s%s%s",
			  a->name, time_text(mem_ctx, since) ?: "creation",
			  held != NULL && held[0] != '\0' ?
			  ", held back by " : a->roll_failures > 0 ?
			  ", the rolls fail: " : ", no roll ran",
			  held != NULL && held[0] != '\0' ? held :
			  a->roll_failures > 0 && a->last_roll_error != NULL ?
			  a->last_roll_error : "");
	} else if (a->roll_failures > 0) {
		check_add(r, CHECK_WARNING, "%s: %u failed roll%s (%s)",
			  a->name, a->roll_failures,
			  a->roll_failures == 1 ? "" : "s",
			  a->last_roll_error != NULL ? a->last_roll_error :
			  "no reason recorded");
	}
	for (i = 0; i < a->num_members; i++) {
		const struct asa_member_record *m = &a->members[i];
		const char *state = member_state(a, m);

		if (strcmp(state, "stale") == 0) {
			check_add(r, CHECK_WARNING, "%s: member %s stale "
				  "(kvno %u, directory %u)", a->name, m->name,
				  (unsigned)m->latest_kvno, (unsigned)a->kvno);
		} else if (strcmp(state, "behind") == 0 ||
			   strcmp(state, "no keys installed") == 0) {
			check_add(r, CHECK_CRITICAL, "%s: member %s lags the "
				  "directory (kvno %u, directory %u)%s%s",
				  a->name, m->name, (unsigned)m->latest_kvno,
				  (unsigned)a->kvno,
				  m->last_error != NULL ? ": " : "",
				  m->last_error != NULL ? m->last_error : "");
		} else if (strcmp(state, "ok") != 0) {
			check_add(r, CHECK_WARNING, "%s: member %s %s%s%s",
				  a->name, m->name, state,
				  m->last_error != NULL ? ": " : "",
				  m->last_error != NULL ? m->last_error : "");
		}
	}
}

static int check_print(TALLOC_CTX *mem_ctx, struct asa_account **accounts,
		       size_t num_accounts,
		       const struct asa_schedule_policy *policy, time_t now)
{
	static const char * const names[] = {
		"OK", "WARNING", "CRITICAL", "UNKNOWN",
	};
	struct check_result *r = talloc_zero(mem_ctx, struct check_result);
	size_t num_members = 0, i;

	if (r == NULL) {
		printf("SAMBA-ASA UNKNOWN: out of memory\n");
		return CHECK_UNKNOWN;
	}
	for (i = 0; i < num_accounts; i++) {
		check_account(r, r, accounts[i], policy, now, &num_members);
	}
	printf("SAMBA-ASA %s: %zu ASA%s, %zu member%s", names[r->level],
	       num_accounts, num_accounts == 1 ? "" : "s", num_members,
	       num_members == 1 ? "" : "s");
	if (r->critical != NULL) {
		printf("; %s", r->critical);
	}
	if (r->warning != NULL) {
		printf("; %s", r->warning);
	}
	if (r->level == CHECK_OK) {
		printf("; keys current, no roll overdue");
	}
	printf("\n");
	return r->level;
}

int cmd_status(TALLOC_CTX *mem_ctx, int argc, char **argv)
{
	TALLOC_CTX *frame = talloc_new(mem_ctx);
	struct cli_options opts = { 0 };
	struct asa_schedule_policy policy;
	struct asa_dir *dir = NULL;
	struct asa_account **accounts = NULL;
	struct asa_account **untrusted = NULL;
	struct asa_account *one = NULL;
	size_t num_accounts = 0, num_untrusted = 0, i;
	const char *source = NULL;
	char *why = NULL;
	time_t now = time(NULL);
	int pargc = 0;
	char **pargv = NULL;
	struct cli_option own[] = {
		{ .name = "--check", .flag = true, .repeat = true },
	};
	bool check = false;
	bool checked = false;
	int status;
	int ret;

	status = cli_parse(frame, &opts, own, 1, argc, argv, &pargc, &pargv,
			   true);
	if (status != ASA_EXIT_OK) {
		goto done;
	}
	check = own[0].given;
	if (opts.help) {
		usage_status(stdout);
		goto done;
	}
	if (pargc > 1 || (check && opts.json)) {
		if (check && opts.json) {
			cli_error("--check and --json: give one");
		}
		usage_status(stderr);
		status = ASA_EXIT_USAGE;
		goto done;
	}

	if (pargc == 1) {
		status = admin_load_asa(frame, &opts, pargv[0], &dir, &one);
		if (status != ASA_EXIT_OK) {
			goto done;
		}
		accounts = talloc_array(frame, struct asa_account *, 1);
		if (accounts == NULL) {
			status = ASA_EXIT_USAGE;
			goto done;
		}
		accounts[0] = one;
		num_accounts = 1;
	} else {
		status = cli_connect(frame, &opts, &dir);
		if (status != ASA_EXIT_OK) {
			goto done;
		}
		ret = asa_account_list_all(frame, dir, &accounts,
					   &num_accounts, &untrusted,
					   &num_untrusted, &why);
		if (ret != LDB_SUCCESS) {
			cli_error("%s", why != NULL ? why : ldb_strerror(ret));
			status = ASA_EXIT_USAGE;
			goto done;
		}
	}
	status = load_policy(frame, &opts, dir, &policy, &source);
	if (status != ASA_EXIT_OK) {
		goto done;
	}

	if (check) {
		status = check_print(frame, accounts, num_accounts, &policy,
				     now);
		checked = true;
		goto done;
	}
	if (opts.json) {
		status = cli_json_print(stdout, status_json(frame, accounts,
			num_accounts, untrusted, num_untrusted, &policy,
			source, now));
	} else {
		if (num_accounts == 0 && num_untrusted == 0) {
			printf("No ASA in this domain (samba-asa create "
			       "makes one).\n");
		}
		for (i = 0; i < num_accounts; i++) {
			if (i > 0) {
				printf("\n");
			}
			print_account_text(frame, accounts[i], &policy, now);
		}
		for (i = 0; i < num_untrusted; i++) {
			const struct asa_account *u = untrusted[i];

			printf("%sUNTRUSTED ASA %s (%s)\n",
			       i > 0 || num_accounts > 0 ? "\n" : "",
			       asa_safe_text(frame, u->name),
			       asa_safe_text(frame,
					     ldb_dn_get_linearized(u->dn)));
			printf("  Why:              %s\n",
			       asa_safe_text(frame, u->untrusted));
			printf("  Status:           untrusted: never rolled; "
			       "%s\n", asa_account_untrusted_advice(frame, u));
		}
	}
	status = ASA_EXIT_OK;
done:
	if (check && !checked) {
		/* nothing was checked: the reason is on standard error */
		printf("SAMBA-ASA UNKNOWN: the status could not be read "
		       "(see standard error)\n");
		status = CHECK_UNKNOWN;
	}
	TALLOC_FREE(frame);
	return status;
}
