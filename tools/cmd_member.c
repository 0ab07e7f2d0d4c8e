/*
 * samba-asa member: the members of an ASA's server array.
 *
 *   member add NAME URL... [--name LABEL] [--copy-from MEMBER]
 *   member remove NAME MEMBER... [--revoke-now]
 *   member list NAME [--json]
 *   member install | setup       the member side (tools/member_side.c)
 *
 * 'add' records the member in the directory and installs the ASA's
 * current keys on it at once.  Nobody knows the password, so the current
 * keys cannot be derived again: they come from the DC's own database
 * (the default; needs to run on a DC) or, with --copy-from, from the
 * keytab of a member that holds them, as the seed's -CopyFrom does.
 * The DC has the current kvno only; a member also has the previous one,
 * which a new member needs to accept tickets issued before the last roll
 * (valid for their lifetime, 10 hours by default): right after a roll,
 * copy from a member.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <strings.h>
#include <time.h>
#include <talloc.h>
#include <ldb.h>
#include <krb5.h>

#include "asa_admin.h"
#include "cli_json.h"
#include "revoke.h"
#include "safe_text.h"

/* --- member add ----------------------------------------------------------- */

static void usage_add(FILE *out)
{
	fputs("Usage: samba-asa member add NAME URL... [--name LABEL] "
	      "[--copy-from MEMBER]\n"
	      "\n"
	      "Record each URL as a member of the ASA NAME and install the "
	      "ASA's current\nkeys on it at once.  URL is "
	      "ssh://[user@]host[:port]/path/to/keytab or\n"
	      "local:/path/to/keytab.  A member's name is its host (\"local\" "
	      "for local:)\nunless --name gives one (with a single URL).\n"
	      "\n"
	      "Nobody knows the ASA's password, so its current keys come "
	      "from this DC's\ndatabase (the default: run it on a DC, with "
	      "-s its smb.conf) or, with\n--copy-from MEMBER, from the keytab "
	      "of a member that holds them.  The\nDC has the current kvno "
	      "only; a member has the previous one too, which\nthe new member "
	      "needs for tickets issued before the last roll: right after\na "
	      "roll, or away from the DC, use --copy-from.\n"
	      "\n"
	      "A URL that is a member already is installed again only if "
	      "its status\nsays it lacks the current keys.  Exit 1 if a "
	      "member did not get the keys\n(it stays recorded with the "
	      "error; run this again to retry).\n\n", out);
	cli_usage_common(out, true, false);
}

struct add_item {
	const char *url;		/* canonical */
	const char *name;
	struct asa_member_record *record;	/* existing, or once added */
	bool is_new;
	bool install;
};

/* A record add failed: remove the new records of items[0..n-1] again. */
static void undo_records(struct asa_dir *dir,
			 const struct asa_account *account,
			 const struct add_item *items, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (items[i].is_new && items[i].install &&
		    items[i].record != NULL &&
		    asa_dir_delete(dir, items[i].record->dn, 0) !=
		    LDB_SUCCESS) {
			cli_error("removing the record of %s again failed: %s",
				  items[i].name, asa_dir_errstring(dir));
		}
	}
	cli_error("nothing was added to %s", account->sam_account_name);
}

static int member_add(TALLOC_CTX *mem_ctx, struct cli_options *opts,
		      struct cli_option *o, int argc, char **argv)
{
	TALLOC_CTX *frame = talloc_stackframe();
	const char *label = o[0].num > 0 ? o[0].values[0] : NULL;
	const char *copy_from = o[1].num > 0 ? o[1].values[0] : NULL;
	struct asa_member_transport_options topts;
	struct asa_dir *dir = NULL;
	struct asa_account *a = NULL;
	struct asa_keytab *keytab = NULL;
	struct add_item *items = NULL;
	struct asa_member_record **push = NULL;
	size_t num_items = 0, num_install = 0, num_push = 0, failed = 0;
	krb5_context ctx = NULL;
	int lock_fd = -1;
	int status;
	int i;
	size_t j;

	if (argc < 2) {
		usage_add(stderr);
		status = ASA_EXIT_USAGE;
		goto done;
	}
	if (label != NULL && argc != 2) {
		cli_error("--name names one member: give one URL with it");
		status = ASA_EXIT_USAGE;
		goto done;
	}
	items = talloc_zero_array(frame, struct add_item, argc);
	push = talloc_zero_array(frame, struct asa_member_record *, argc);
	if (items == NULL || push == NULL) {
		cli_error("out of memory");
		status = ASA_EXIT_USAGE;
		goto done;
	}
	for (i = 1; i < argc; i++) {
		struct asa_member_url *url = NULL;
		struct add_item *it = &items[num_items];
		char *why = NULL;
		const char *bad = NULL;

		if (asa_member_url_parse(frame, argv[i], &url, &why) != 0) {
			cli_error("%s; nothing was added", why != NULL ? why :
				  "malformed member URL");
			status = ASA_EXIT_REFUSED;
			goto done;
		}
		it->url = asa_member_url_string(frame, url);
		it->name = label != NULL ? label :
			asa_member_url_name(frame, url);
		if (it->url == NULL || it->name == NULL) {
			cli_error("out of memory");
			status = ASA_EXIT_USAGE;
			goto done;
		}
		if (!asa_member_name_valid(it->name, &bad)) {
			cli_error("member name '%s': %s", it->name, bad);
			status = ASA_EXIT_REFUSED;
			goto done;
		}
		for (j = 0; j < num_items; j++) {
			if (strcmp(items[j].url, it->url) == 0) {
				break;
			}
			if (strcasecmp(items[j].name, it->name) == 0) {
				cli_error("%s and %s would both be named %s: "
					  "add them one at a time with "
					  "--name", items[j].url, it->url,
					  it->name);
				status = ASA_EXIT_USAGE;
				goto done;
			}
		}
		if (j == num_items) {
			num_items++;
		}
	}

	/* no roll of this ASA between reading its keys and installing them */
	status = admin_lock(frame, opts, NULL, argv[0], &lock_fd);
	if (status != ASA_EXIT_OK) {
		goto done;
	}
	status = admin_load_asa(frame, opts, argv[0], &dir, &a);
	if (status != ASA_EXIT_OK) {
		goto done;
	}
	/* all checks first: nothing is recorded if one is refused */
	for (j = 0; j < num_items; j++) {
		struct add_item *it = &items[j];
		struct asa_member_record *by_url =
			asa_member_record_find(a, it->url);
		struct asa_member_record *by_name =
			asa_member_record_find(a, it->name);

		if (by_url != NULL &&
		    (label == NULL || strcasecmp(by_url->name, label) == 0)) {
			it->record = by_url;
			continue;
		}
		if (by_url != NULL) {
			cli_error("%s is member %s of %s already; nothing was "
				  "added", it->url, by_url->name,
				  a->sam_account_name);
			status = ASA_EXIT_REFUSED;
			goto done;
		}
		if (by_name != NULL) {
			cli_error("%s has a member named %s already (%s); "
				  "give this one another name with --name; "
				  "nothing was added", a->sam_account_name,
				  it->name, by_name->url);
			status = ASA_EXIT_REFUSED;
			goto done;
		}
		it->is_new = true;
	}
	for (j = 0; j < num_items; j++) {
		struct add_item *it = &items[j];

		it->install = it->is_new ||
			it->record->latest_kvno != a->kvno ||
			it->record->last_error != NULL || it->record->stale;
		if (it->install) {
			num_install++;
			continue;
		}
		printf("%s (%s) is a member of %s already and holds kvno %u: "
		       "nothing to do\n", it->record->name, it->url,
		       a->sam_account_name, (unsigned)a->kvno);
	}
	if (num_install == 0) {
		status = ASA_EXIT_OK;
		goto done;
	}

	/* the keys first: without them nothing is recorded */
	if (krb5_init_context(&ctx) != 0) {
		cli_error("krb5_init_context failed");
		status = ASA_EXIT_USAGE;
		goto done;
	}
	status = admin_transport_options(frame, opts, dir, &topts);
	if (status != ASA_EXIT_OK) {
		goto done;
	}
	status = admin_current_keytab(frame, ctx, opts, a, copy_from, &topts,
				      &keytab);
	if (status != ASA_EXIT_OK) {
		cli_error("nothing was added");
		goto done;
	}

	for (j = 0; j < num_items; j++) {
		struct add_item *it = &items[j];
		char *why = NULL;
		int ret;

		if (!it->install) {
			continue;
		}
		if (it->is_new) {
			ret = asa_member_record_add(frame, dir, a, it->name,
						    it->url, &it->record,
						    &why);
			if (ret != LDB_SUCCESS) {
				cli_error("%s", why != NULL ? why :
					  ldb_strerror(ret));
				status = ret == LDB_ERR_ENTRY_ALREADY_EXISTS ?
					ASA_EXIT_REFUSED : ASA_EXIT_USAGE;
				undo_records(dir, a, items, j);
				goto done;
			}
			printf("Recorded member %s (%s) of %s\n", it->name,
			       it->url, a->sam_account_name);
		}
		push[num_push++] = it->record;
	}
	/* a member met for the first time may show an unknown host key */
	topts.accept_new_host_key = true;
	printf("Installing the keys of %s (kvno %u, from %s):\n",
	       a->sam_account_name, (unsigned)a->kvno,
	       copy_from != NULL ? copy_from : "this DC");
	status = admin_push(frame, ctx, dir, a, push, num_push, keytab,
			    a->kvno, &topts, &failed);
	if (status != ASA_EXIT_OK) {
		goto done;
	}
	if (failed > 0) {
		cli_error("%zu of %zu members did not get the keys of %s; "
			  "they stay recorded with the error (samba-asa "
			  "member list %s): run this again once they can "
			  "be reached", failed, num_push, a->sam_account_name,
			  a->name);
		status = ASA_EXIT_REFUSED;
	}
done:
	if (lock_fd >= 0) {
		close(lock_fd);
	}
	TALLOC_FREE(frame);
	if (ctx != NULL) {
		krb5_free_context(ctx);
	}
	return status;
}

/* --- member remove ------------------------------------------------------- */

static void usage_remove(FILE *out)
{
	fputs("Usage: samba-asa member remove NAME MEMBER... "
	      "[--revoke-now]\n"
	      "\n"
	      "Remove members (by name or URL) from the ASA NAME: their "
	      "records go, so\nthey get no more keys, and a revocation of "
	      "the keys they held is recorded:\nthe next roll (`roll --due` "
	      "makes the ASA due at once) moves the ASA to\nnew keys, and "
	      "once tickets issued before it have expired (asa:revoke\n"
	      "after; default the KDC's ticket lifetime, 10 h) the "
	      "remaining members drop\nevery older key.  --revoke-now: "
	      "they drop them right after that roll\n(for a compromised "
	      "member; tickets issued before it stop working).\nThe "
	      "removed members' keytabs are not wiped.  All or nothing: if "
	      "one is\nnot a member, nothing is removed (exit 1).\n\n",
	      out);
	cli_usage_common(out, true, false);
}

/* A member record the trust rule refuses, by name or URL, or NULL. */
static const struct asa_untrusted_record *untrusted_find(
	const struct asa_account *a, const char *name_or_url)
{
	size_t i;

	for (i = 0; i < a->num_untrusted_members; i++) {
		const struct asa_untrusted_record *u =
			&a->untrusted_members[i];

		if (strcmp(u->url, name_or_url) == 0 ||
		    strcasecmp(u->name, name_or_url) == 0) {
			return u;
		}
	}
	return NULL;
}

/* Removing a record nobody trusts: it never held keys from us. */
static int remove_untrusted(TALLOC_CTX *mem_ctx, struct asa_dir *dir,
			    const struct asa_account *a,
			    const char *name_or_url)
{
	const struct asa_untrusted_record *u = untrusted_find(a, name_or_url);
	char *why = NULL;
	int ret;

	ret = asa_member_record_remove(mem_ctx, dir, a, name_or_url, &why);
	if (ret != LDB_SUCCESS) {
		cli_error("%s", why != NULL ? asa_safe_text(mem_ctx, why) :
			  ldb_strerror(ret));
		return ASA_EXIT_USAGE;
	}
	printf("Removed untrusted member record %s (%s) of %s; samba-asa "
	       "never pushed keys to it.\n", asa_safe_text(mem_ctx, u->name),
	       asa_safe_text(mem_ctx, u->url), a->sam_account_name);
	return ASA_EXIT_OK;
}

static int member_remove(TALLOC_CTX *mem_ctx, struct cli_options *opts,
			 bool revoke_now, int argc, char **argv)
{
	TALLOC_CTX *frame = talloc_stackframe();
	struct asa_dir *dir = NULL;
	struct asa_account *a = NULL;
	struct asa_member_record **gone = NULL;
	struct asa_revocation rv;
	uint32_t held = 0;
	bool missing = false;
	bool any_trusted = false;
	char *why = NULL;
	int lock_fd = -1;
	int status;
	int ret;
	int i, k;

	if (argc < 2) {
		usage_remove(stderr);
		status = ASA_EXIT_USAGE;
		goto done;
	}
	/* the revocation goes into the roll state: no roll in between */
	status = admin_lock(frame, opts, NULL, argv[0], &lock_fd);
	if (status != ASA_EXIT_OK) {
		goto done;
	}
	status = admin_load_asa(frame, opts, argv[0], &dir, &a);
	if (status != ASA_EXIT_OK) {
		goto done;
	}
	gone = talloc_zero_array(frame, struct asa_member_record *, argc);
	if (gone == NULL) {
		cli_error("out of memory");
		status = ASA_EXIT_USAGE;
		goto done;
	}
	for (i = 1; i < argc; i++) {
		gone[i] = asa_member_record_find(a, argv[i]);
		if (gone[i] == NULL && untrusted_find(a, argv[i]) != NULL) {
			continue;	/* removed below, never pushed to */
		}
		if (gone[i] == NULL) {
			cli_error("%s is not a member of %s", argv[i],
				  a->sam_account_name);
			missing = true;
		}
	}
	if (missing) {
		cli_error("nothing was removed (see 'samba-asa member list "
			  "%s')", a->name);
		status = ASA_EXIT_REFUSED;
		goto done;
	}
	for (i = 1; i < argc; i++) {
		char *why = NULL;
		int ret;

		for (k = 1; k < i; k++) {
			if (gone[k] == gone[i] &&
			    (gone[i] != NULL ||
			     untrusted_find(a, argv[k]) ==
			     untrusted_find(a, argv[i]))) {
				break;
			}
		}
		if (k < i) {
			continue;	/* named twice */
		}
		if (gone[i] == NULL) {
			status = remove_untrusted(frame, dir, a, argv[i]);
			if (status != ASA_EXIT_OK) {
				goto done;
			}
			continue;
		}
		any_trusted = true;
		ret = asa_member_record_remove(frame, dir, a, gone[i]->name,
					       &why);
		if (ret != LDB_SUCCESS) {
			cli_error("%s", why != NULL ? why :
				  ldb_strerror(ret));
			status = ASA_EXIT_USAGE;
			goto done;
		}
		printf("Removed member %s (%s) of %s.\n", gone[i]->name,
		       gone[i]->url, a->sam_account_name);
		if (gone[i]->latest_kvno > held) {
			held = gone[i]->latest_kvno;
		}
	}

	if (!any_trusted) {
		/* untrusted records never got keys: nothing to revoke */
		status = ASA_EXIT_OK;
		goto done;
	}
	asa_revocation_get(a, &rv);
	asa_revocation_add(&rv, a->kvno, held, revoke_now);
	if (rv.kvno == 0) {
		/* the ASA never had keys: nothing to revoke */
		status = ASA_EXIT_OK;
		goto done;
	}
	if (asa_revocation_set(a, &rv) != 0) {
		cli_error("out of memory");
		status = ASA_EXIT_USAGE;
		goto done;
	}
	ret = asa_account_store_state(dir, a, &why);
	if (ret != LDB_SUCCESS) {
		cli_error("the revocation was not recorded: %s", why != NULL ?
			  why : ldb_strerror(ret));
		status = ASA_EXIT_USAGE;
		goto done;
	}
	printf("Revocation pending: the remaining members drop the keys at "
	       "kvno %u and below\n%s the next roll of %s ('samba-asa roll "
	       "%s' to roll now).  The\nremoved members' keytabs were not "
	       "wiped.\n", (unsigned)rv.kvno,
	       rv.now ? "right after" :
	       "once tickets have expired (asa:revoke after) after",
	       a->sam_account_name, a->name);
	status = ASA_EXIT_OK;
done:
	if (lock_fd >= 0) {
		close(lock_fd);
	}
	TALLOC_FREE(frame);
	return status;
}

/* --- member list ------------------------------------------------------------ */

static void usage_list(FILE *out)
{
	fputs("Usage: samba-asa member list NAME [--json]\n"
	      "\n"
	      "The members of the ASA NAME as the directory records them: "
	      "URL, the kvno\nlast installed (Latest) and when, the one "
	      "before it (Previous), and the\nlast error.  'samba-asa "
	      "verify NAME' checks the members for real.\n\n", out);
	cli_usage_common(out, true, true);
}

static char *utc(TALLOC_CTX *mem_ctx, time_t t)
{
	struct tm tm;
	char buf[32];

	if (t == 0 || gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
		return NULL;
	}
	return talloc_strdup(mem_ctx, buf);
}

static json_t *json_time(TALLOC_CTX *mem_ctx, time_t t)
{
	return cli_json_text(utc(mem_ctx, t));
}

static json_t *member_list_json(TALLOC_CTX *mem_ctx,
				const struct asa_account *a)
{
	json_t *members = json_array();
	json_t *untrusted = json_array();
	size_t i;

	for (i = 0; i < a->num_members; i++) {
		const struct asa_member_record *m = &a->members[i];

		members = cli_json_append(members, json_pack(
			"{s:o, s:o, s:o, s:o, s:o, s:b, s:b, s:o, s:o}",
			"name", cli_json_text(m->name),
			"url", cli_json_text(m->url),
			"latest_kvno", cli_json_kvno(m->latest_kvno),
			"latest_installed",
			json_time(mem_ctx, m->latest_installed),
			"previous_kvno", cli_json_kvno(m->previous_kvno),
			"current",
			m->latest_kvno == a->kvno && m->last_error == NULL,
			"stale", m->stale,
			"last_error", cli_json_text(m->last_error),
			"last_error_time",
			json_time(mem_ctx, m->last_error_time)));
	}
	for (i = 0; i < a->num_untrusted_members; i++) {
		const struct asa_untrusted_record *u =
			&a->untrusted_members[i];

		untrusted = cli_json_append(untrusted, json_pack(
			"{s:o, s:o, s:o}",
			"name", cli_json_text(asa_safe_text(mem_ctx, u->name)),
			"url", cli_json_text(asa_safe_text(mem_ctx, u->url)),
			"why", cli_json_text(asa_safe_text(mem_ctx, u->why))));
	}
	return json_pack("{s:o, s:o, s:I, s:o, s:o}",
			 "account", cli_json_text(a->sam_account_name),
			 "dn", cli_json_text(ldb_dn_get_linearized(a->dn)),
			 "kvno", (json_int_t)a->kvno,
			 "members", members,
			 "untrusted_members", untrusted);
}

static int member_list(TALLOC_CTX *mem_ctx, struct cli_options *opts,
		       int argc, char **argv)
{
	TALLOC_CTX *frame = talloc_stackframe();
	struct asa_dir *dir = NULL;
	struct asa_account *a = NULL;
	size_t i;
	int status;

	if (argc != 1) {
		usage_list(stderr);
		status = ASA_EXIT_USAGE;
		goto done;
	}
	status = admin_load_asa(frame, opts, argv[0], &dir, &a);
	if (status != ASA_EXIT_OK) {
		goto done;
	}
	if (opts->json) {
		status = cli_json_print(stdout, member_list_json(frame, a));
		goto done;
	}
	printf("Members of %s (the directory's kvno: %u):\n",
	       a->sam_account_name, (unsigned)a->kvno);
	if (a->num_members == 0) {
		printf("\t(none: add them with 'samba-asa member add %s "
		       "URL')\n", a->name);
	}
	for (i = 0; i < a->num_members; i++) {
		const struct asa_member_record *m = &a->members[i];
		char *when = utc(frame, m->latest_installed);

		printf("\t%s\t%s\n", asa_safe_text(frame, m->name),
		       asa_safe_text(frame, m->url));
		if (m->latest_kvno != 0) {
			printf("\t\tLatest: kvno %u%s%s\n",
			       (unsigned)m->latest_kvno,
			       when != NULL ? ", installed " : "",
			       when != NULL ? when : "");
		} else {
			printf("\t\tLatest: none installed\n");
		}
		if (m->previous_kvno != 0) {
			printf("\t\tPrevious: kvno %u\n",
			       (unsigned)m->previous_kvno);
		} else {
			printf("\t\tPrevious: not set\n");
		}
		if (m->last_error != NULL) {
			char *t = utc(frame, m->last_error_time);

			printf("\t\tLast error%s%s: %s\n",
			       t != NULL ? " at " : "", t != NULL ? t : "",
			       asa_safe_text(frame, m->last_error));
		}
		if (m->stale) {
			printf("\t\tStale: missed a roll, needs the current "
			       "keys\n");
		}
	}
	for (i = 0; i < a->num_untrusted_members; i++) {
		const struct asa_untrusted_record *u =
			&a->untrusted_members[i];

		printf("\t%s\t%s\n\t\tUNTRUSTED: %s; never pushed to "
		       "(samba-asa member remove %s %s)\n",
		       asa_safe_text(frame, u->name),
		       asa_safe_text(frame, u->url),
		       asa_safe_text(frame, u->why),
		       asa_safe_text(frame, a->name),
		       asa_safe_text(frame, u->name));
	}
done:
	TALLOC_FREE(frame);
	return status;
}

/* --- dispatch ------------------------------------------------------------ */

static void usage_member(FILE *out)
{
	fputs("Usage: samba-asa member SUBCOMMAND [options]\n\n"
	      "Subcommands:\n"
	      "  add NAME URL...         record members and install the "
	      "current keys\n"
	      "  remove NAME MEMBER...   forget members (their keytabs are "
	      "not wiped)\n"
	      "  list NAME               the members and their status\n"
	      "  setup                   on the DC: its SSH key, and the "
	      "authorized_keys\n"
	      "                          line for the members\n"
	      "  install                 on a member: take a keytab on "
	      "standard input\n"
	      "                          (sshd's forced command for the "
	      "DC's key)\n"
	      "\nRun 'samba-asa member SUBCOMMAND --help' for its options.\n",
	      out);
}

int cmd_member(TALLOC_CTX *mem_ctx, int argc, char **argv)
{
	TALLOC_CTX *frame = NULL;
	struct cli_option add_options[] = {
		{ .name = "--name" },
		{ .name = "--copy-from" },
	};
	struct cli_option remove_options[] = {
		{ .name = "--revoke-now", .flag = true },
	};
	struct cli_options opts = { 0 };
	const char *sub = argc >= 2 ? argv[1] : NULL;
	int pargc = 0;
	char **pargv = NULL;
	int status;

	if (sub == NULL || strcmp(sub, "--help") == 0 ||
	    strcmp(sub, "-h") == 0) {
		usage_member(sub == NULL ? stderr : stdout);
		return sub == NULL ? ASA_EXIT_USAGE : ASA_EXIT_OK;
	}
	/* the member side parses its own options */
	if (strcmp(sub, "install") == 0) {
		return cmd_member_install(mem_ctx, argc - 1, argv + 1);
	}
	if (strcmp(sub, "setup") == 0) {
		return cmd_member_setup(mem_ctx, argc - 1, argv + 1);
	}
	if (strcmp(sub, "add") != 0 && strcmp(sub, "remove") != 0 &&
	    strcmp(sub, "list") != 0) {
		cli_error("unknown command 'member %s' (see samba-asa member "
			  "--help)", sub);
		return ASA_EXIT_USAGE;
	}

	frame = talloc_stackframe();
	argc--;
	argv++;
	if (strcmp(sub, "add") == 0) {
		status = cli_parse(frame, &opts, add_options,
				   sizeof(add_options) / sizeof(add_options[0]),
				   argc, argv, &pargc, &pargv, false);
	} else if (strcmp(sub, "remove") == 0) {
		status = cli_parse(frame, &opts, remove_options, 1, argc, argv,
				   &pargc, &pargv, false);
	} else {
		status = cli_parse_options(frame, &opts, argc, argv, &pargc,
					   &pargv, true);
	}
	if (status != ASA_EXIT_OK) {
		goto done;
	}
	if (strcmp(sub, "add") == 0) {
		if (opts.help) {
			usage_add(stdout);
			goto done;
		}
		status = member_add(frame, &opts, add_options, pargc, pargv);
	} else if (strcmp(sub, "remove") == 0) {
		if (opts.help) {
			usage_remove(stdout);
			goto done;
		}
		status = member_remove(frame, &opts,
				       remove_options[0].given, pargc,
				       pargv);
	} else {
		if (opts.help) {
			usage_list(stdout);
			goto done;
		}
		status = member_list(frame, &opts, pargc, pargv);
	}
done:
	TALLOC_FREE(frame);
	return status;
}
