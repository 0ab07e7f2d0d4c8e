/*
 * samba-asa roll --due: every ASA whose roll is due, on the DC holding
 * the PDC emulator role (what the asa_roll service runs), and the
 * revocations that are due.  Each roll is roll_one()'s; see
 * common/roll.h for the schedule's smb.conf options.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <talloc.h>
#include <ldb.h>
#include <krb5.h>

#include "cli.h"
#include "cli_json.h"
#include "asa.h"
#include "revoke.h"
#include "roll.h"
#include "roll_revoke.h"
#include "safe_text.h"

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

int roll_due(TALLOC_CTX *mem_ctx, struct roll_env *env, bool json)
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
			roll_print_untrusted(a);
		}
		waiting = false;
		if (due <= now) {
			krb5_kvno seen = 0;
			time_t wait = roll_staged_elsewhere(frame, env->krb5,
							    &env->transport,
							    a, &policy, due,
							    now, &seen);

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
