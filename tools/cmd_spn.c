/*
 * samba-asa spn: the setspn equivalents.
 *
 *   spn query SPN...          setspn -Q -F
 *   spn add ACCOUNT SPN...    setspn -S (forest-wide check, all or nothing)
 *   spn remove ACCOUNT SPN... setspn -D
 *   spn list ACCOUNT          setspn -L
 *   spn audit                 setspn -X -F
 *
 * "add" checks forest-wide itself, so it refuses a duplicate even where
 * the unique_principal_names module is not enabled; where it is, the
 * module closes the window between our check and our write.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <talloc.h>
#include <ldb.h>

#include "cli.h"
#include "cli_json.h"
#include "spn.h"
#include "spn_cmd.h"

static const char * const account_attrs[] = {
	"servicePrincipalName", "sAMAccountName", "userPrincipalName",
	"objectClass", NULL
};

const char *spn_holder_name(const struct ldb_message *msg)
{
	return ldb_dn_get_linearized(msg->dn);
}

/*
 * ACCOUNT as a DN, a sAMAccountName (with or without the trailing $) or
 * a userPrincipalName.  Returns an exit status; prints why on failure.
 */
static int resolve_account(TALLOC_CTX *mem_ctx, struct asa_dir *dir,
			   const char *account, struct ldb_message **msg)
{
	TALLOC_CTX *frame = talloc_stackframe();
	struct ldb_result *res = NULL;
	struct ldb_dn *dn = NULL;
	char *enc = NULL;
	unsigned int i;
	int ret;
	int status = ASA_EXIT_USAGE;

	*msg = NULL;
	if (strchr(account, '=') != NULL) {
		dn = ldb_dn_new(frame, asa_dir_ldb(dir), account);
		if (dn == NULL || !ldb_dn_validate(dn)) {
			cli_error("'%s' is not a valid DN", account);
			status = ASA_EXIT_REFUSED;
			goto done;
		}
		ret = asa_dir_search(dir, frame, &res, dn, LDB_SCOPE_BASE,
				     account_attrs, 0, "(objectClass=*)");
	} else {
		enc = ldb_binary_encode_string(frame, account);
		if (enc == NULL) {
			cli_error("out of memory");
			goto done;
		}
		ret = asa_dir_search(dir, frame, &res, NULL,
				     LDB_SCOPE_SUBTREE, account_attrs,
				     ASA_DIR_SEARCH_ALL_NCS,
				     "(|(sAMAccountName=%s)"
				     "(userPrincipalName=%s))", enc, enc);
		if (ret == LDB_SUCCESS && res->count == 0 &&
		    account[0] != '\0' &&
		    account[strlen(account) - 1] != '$') {
			TALLOC_FREE(res);
			ret = asa_dir_search(dir, frame, &res, NULL,
					     LDB_SCOPE_SUBTREE,
					     account_attrs,
					     ASA_DIR_SEARCH_ALL_NCS,
					     "(sAMAccountName=%s$)", enc);
		}
	}
	if (ret == LDB_ERR_NO_SUCH_OBJECT) {
		cli_error("no account %s: check the name (a sAMAccountName, "
			  "a DN or a userPrincipalName)", account);
		status = ASA_EXIT_REFUSED;
		goto done;
	}
	if (ret != LDB_SUCCESS) {
		cli_error("looking up %s failed: %s", account,
			  asa_dir_errstring(dir));
		goto done;
	}
	if (res->count == 0) {
		cli_error("no account %s: check the name (a sAMAccountName, "
			  "a DN or a userPrincipalName)", account);
		status = ASA_EXIT_REFUSED;
		goto done;
	}
	if (res->count > 1) {
		cli_error("%s names %u objects; give the DN of one:",
			  account, res->count);
		for (i = 0; i < res->count; i++) {
			fprintf(stderr, "\t%s\n",
				ldb_dn_get_linearized(res->msgs[i]->dn));
		}
		status = ASA_EXIT_REFUSED;
		goto done;
	}
	*msg = talloc_steal(mem_ctx, res->msgs[0]);
	status = ASA_EXIT_OK;
done:
	TALLOC_FREE(frame);
	return status;
}

int spn_load_scan(TALLOC_CTX *mem_ctx, struct asa_dir *dir,
		  struct spn_scan **scan)
{
	int ret = spn_scan_load(mem_ctx, dir, scan);

	if (ret != LDB_SUCCESS) {
		cli_error("reading the SPNs of every naming context failed: "
			  "%s", asa_dir_errstring(dir));
		return ASA_EXIT_USAGE;
	}
	return ASA_EXIT_OK;
}

int spn_connect_account(TALLOC_CTX *mem_ctx, struct cli_options *opts,
			const char *account_name, struct asa_dir **dir,
			struct ldb_message **account)
{
	int status = cli_connect(mem_ctx, opts, dir);

	if (status != ASA_EXIT_OK) {
		return status;
	}
	return resolve_account(mem_ctx, *dir, account_name, account);
}

int spn_parse_args(TALLOC_CTX *mem_ctx, int first, int argc, char **argv,
		   struct asa_spn ***spns)
{
	struct asa_spn **s = talloc_zero_array(mem_ctx, struct asa_spn *,
					       argc);
	int i;

	*spns = NULL;
	if (s == NULL) {
		return ASA_EXIT_USAGE;
	}
	for (i = first; i < argc; i++) {
		if (!spn_parse_arg(s, argv[i], &s[i])) {
			TALLOC_FREE(s);
			return ASA_EXIT_REFUSED;
		}
	}
	*spns = s;
	return ASA_EXIT_OK;
}

void spn_print_values(const struct ldb_message_element *el)
{
	unsigned int i;

	for (i = 0; el != NULL && i < el->num_values; i++) {
		printf("\t%.*s\n", (int)el->values[i].length,
		       (const char *)el->values[i].data);
	}
}

/* --- spn query --- */

static void usage_query(FILE *out)
{
	fputs("Usage: samba-asa spn query SPN... [options]\n"
	      "\n"
	      "Is each SPN taken anywhere in the forest (every naming "
	      "context)?  Names\nevery holder: of the same value, of a "
	      "value Windows treats as the same\n(case, accents, kana, "
	      "width), or of an sPNMappings alias (host/x is taken\nby "
	      "http/x held elsewhere).  Exit 0 if all are free, 1 if any "
	      "is taken.\n\n", out);
	cli_usage_common(out, true, true);
}

static void print_match_text(const struct spn_match *m)
{
	const char *sam = ldb_msg_find_attr_as_string(m->holder,
						      "sAMAccountName", NULL);

	printf("\t%s%s%s%s: %s", spn_holder_name(m->holder),
	       sam != NULL ? " (" : "", sam != NULL ? sam : "",
	       sam != NULL ? ")" : "", m->value);
	switch (m->kind) {
	case SPN_MATCH_EXACT:
		printf("\n");
		break;
	case SPN_MATCH_EQUIVALENT:
		printf("  [equivalent as Windows compares]\n");
		break;
	case SPN_MATCH_ALIAS:
		printf(m->conflicts ? "  [sPNMappings alias]\n" :
		       "  [sPNMappings: the canonical class; does not "
		       "conflict]\n");
		break;
	}
}

static json_t *match_json(const struct spn_match *m)
{
	const char *sam = ldb_msg_find_attr_as_string(m->holder,
						      "sAMAccountName", NULL);

	return json_pack("{s:o, s:o*, s:o, s:s, s:b}",
			 "dn", cli_json_text(spn_holder_name(m->holder)),
			 "sAMAccountName",
			 sam != NULL ? cli_json_text(sam) : NULL,
			 "value", cli_json_text(m->value),
			 "match", spn_match_kind_name(m->kind),
			 "conflicts", m->conflicts);
}

static json_t *matches_json(const struct spn_match *m, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < n; i++) {
		a = cli_json_append(a, match_json(&m[i]));
	}
	return a;
}

static int spn_query(TALLOC_CTX *mem_ctx, struct cli_options *opts,
		     int argc, char **argv)
{
	TALLOC_CTX *frame = talloc_stackframe();
	struct asa_dir *dir = NULL;
	struct spn_scan *scan = NULL;
	struct asa_spn **spns = NULL;
	json_t *json = NULL;
	int status;
	int i;
	bool taken_any = false;

	if (argc < 1) {
		usage_query(stderr);
		status = ASA_EXIT_USAGE;
		goto done;
	}
	status = spn_parse_args(frame, 0, argc, argv, &spns);
	if (status != ASA_EXIT_OK) {
		goto done;
	}
	status = cli_connect(frame, opts, &dir);
	if (status != ASA_EXIT_OK) {
		goto done;
	}
	status = spn_load_scan(frame, dir, &scan);
	if (status != ASA_EXIT_OK) {
		goto done;
	}
	if (opts->json) {
		json = json_array();
	}
	for (i = 0; i < argc; i++) {
		struct spn_match *m = NULL;
		size_t n = 0, j;
		bool taken = false;

		if (spn_scan_lookup(frame, scan, argv[i], spns[i], &m, &n) !=
		    LDB_SUCCESS) {
			cli_error("out of memory");
			status = ASA_EXIT_USAGE;
			goto done;
		}
		for (j = 0; j < n; j++) {
			taken |= m[j].conflicts;
		}
		taken_any |= taken;
		if (opts->json) {
			json = cli_json_append(json, json_pack("{s:o, s:b, s:o}",
				"spn", cli_json_text(argv[i]),
				"taken", taken,
				"holders", matches_json(m, n)));
			continue;
		}
		printf("%s: %s\n", argv[i], taken ? "taken by" : "free");
		for (j = 0; j < n; j++) {
			if (!taken && j == 0) {
				printf("  also registered (no conflict):\n");
			}
			print_match_text(&m[j]);
		}
	}
	status = taken_any ? ASA_EXIT_REFUSED : ASA_EXIT_OK;
	if (opts->json && cli_json_print(stdout, json) != ASA_EXIT_OK) {
		status = ASA_EXIT_USAGE;
	}
	json = NULL;
done:
	json_decref(json);
	TALLOC_FREE(frame);
	return status;
}

/* --- spn list --- */

static void usage_list(FILE *out)
{
	fputs("Usage: samba-asa spn list ACCOUNT [options]\n"
	      "\n"
	      "The SPNs registered on ACCOUNT (a sAMAccountName with or "
	      "without $, a DN,\nor a userPrincipalName).\n\n", out);
	cli_usage_common(out, true, true);
}

static int spn_list(TALLOC_CTX *mem_ctx, struct cli_options *opts,
		    int argc, char **argv)
{
	TALLOC_CTX *frame = talloc_stackframe();
	struct asa_dir *dir = NULL;
	struct ldb_message *account = NULL;
	struct ldb_message_element *el = NULL;
	unsigned int i;
	int status;

	if (argc != 1) {
		usage_list(stderr);
		status = ASA_EXIT_USAGE;
		goto done;
	}
	status = spn_connect_account(frame, opts, argv[0], &dir, &account);
	if (status != ASA_EXIT_OK) {
		goto done;
	}
	el = ldb_msg_find_element(account, "servicePrincipalName");
	if (opts->json) {
		json_t *values = json_array();

		for (i = 0; el != NULL && i < el->num_values; i++) {
			values = cli_json_append(values,
						 cli_json_value(&el->values[i]));
		}
		status = cli_json_print(stdout, json_pack("{s:o, s:o}",
			"dn", cli_json_text(ldb_dn_get_linearized(account->dn)),
			"servicePrincipalName", values));
		goto done;
	}
	printf("Registered ServicePrincipalNames for %s:\n",
	       ldb_dn_get_linearized(account->dn));
	spn_print_values(el);
done:
	TALLOC_FREE(frame);
	return status;
}

/* --- spn audit --- */

static void usage_audit(FILE *out)
{
	fputs("Usage: samba-asa spn audit [options]\n"
	      "\n"
	      "Every group of accounts sharing an SPN, across every naming "
	      "context:\nthe same value, values Windows treats as the same "
	      "(case, accents, kana,\nwidth), or host/x on one account and "
	      "an sPNMappings alias (http/x) on\nanother.  Exit 0 if there "
	      "is none, 1 if there is any.\n\n", out);
	cli_usage_common(out, true, true);
}

static int spn_audit(TALLOC_CTX *mem_ctx, struct cli_options *opts,
		     int argc, char **argv)
{
	TALLOC_CTX *frame = talloc_stackframe();
	struct asa_dir *dir = NULL;
	struct spn_scan *scan = NULL;
	struct spn_group *groups = NULL;
	size_t num_groups = 0, i, j;
	int status;

	if (argc != 0) {
		usage_audit(stderr);
		status = ASA_EXIT_USAGE;
		goto done;
	}
	status = cli_connect(frame, opts, &dir);
	if (status != ASA_EXIT_OK) {
		goto done;
	}
	status = spn_load_scan(frame, dir, &scan);
	if (status != ASA_EXIT_OK) {
		goto done;
	}
	if (spn_scan_audit(frame, scan, &groups, &num_groups) !=
	    LDB_SUCCESS) {
		cli_error("out of memory");
		status = ASA_EXIT_USAGE;
		goto done;
	}
	if (opts->json) {
		json_t *list = json_array();

		for (i = 0; i < num_groups; i++) {
			list = cli_json_append(list, json_pack("{s:s, s:o}",
				"match", spn_match_kind_name(groups[i].kind),
				"holders", matches_json(groups[i].members,
							groups[i].num_members)));
		}
		if (cli_json_print(stdout, json_pack("{s:I, s:I, s:o}",
			"values", (json_int_t)spn_scan_num_values(scan),
			"accounts", (json_int_t)spn_scan_num_holders(scan),
			"groups", list)) != ASA_EXIT_OK) {
			status = ASA_EXIT_USAGE;
			goto done;
		}
	} else {
		for (i = 0; i < num_groups; i++) {
			const struct spn_group *g = &groups[i];

			printf("%s is held by more than one account (%s):\n",
			       g->members[0].value,
			       g->kind == SPN_MATCH_EXACT ? "same value" :
			       g->kind == SPN_MATCH_EQUIVALENT ?
			       "equivalent as Windows compares" :
			       "it on one account, an sPNMappings alias of "
			       "it on another");
			for (j = 0; j < g->num_members; j++) {
				print_match_text(&g->members[j]);
			}
		}
		printf("Checked %zu SPNs on %zu accounts in %u naming "
		       "contexts: %zu %s.\n",
		       spn_scan_num_values(scan), spn_scan_num_holders(scan),
		       asa_dir_rootdse(dir)->num_naming_contexts, num_groups,
		       num_groups == 1 ? "duplicate" : "duplicates");
	}
	status = num_groups > 0 ? ASA_EXIT_REFUSED : ASA_EXIT_OK;
done:
	TALLOC_FREE(frame);
	return status;
}

/* --- dispatch --- */

static const struct cli_command spn_commands[] = {
	{ "query", "is an SPN taken anywhere in the forest?",
	  spn_query, usage_query },
	{ "add", "add SPNs to an account, all or nothing",
	  spn_add, spn_usage_add },
	{ "remove", "remove SPNs from an account",
	  spn_remove, spn_usage_remove },
	{ "list", "the SPNs of an account", spn_list, usage_list },
	{ "audit", "every SPN held by more than one account",
	  spn_audit, usage_audit },
};

static void usage_spn(FILE *out)
{
	size_t i;

	fputs("Usage: samba-asa spn SUBCOMMAND [options]\n\n"
	      "Subcommands:\n", out);
	for (i = 0; i < sizeof(spn_commands) / sizeof(spn_commands[0]);
	     i++) {
		fprintf(out, "  %-8s %s\n", spn_commands[i].name,
			spn_commands[i].summary);
	}
	fputs("\nRun 'samba-asa spn SUBCOMMAND --help' for its options.\n",
	      out);
}

int cmd_spn(TALLOC_CTX *mem_ctx, int argc, char **argv)
{
	struct cli_options opts = { 0 };
	const struct cli_command *c = NULL;
	bool json = false;
	int pargc = 0;
	char **pargv = NULL;
	size_t i;
	int status;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		usage_spn(argc < 2 ? stderr : stdout);
		return argc < 2 ? ASA_EXIT_USAGE : ASA_EXIT_OK;
	}
	for (i = 0; i < sizeof(spn_commands) / sizeof(spn_commands[0]);
	     i++) {
		if (strcmp(argv[1], spn_commands[i].name) == 0) {
			c = &spn_commands[i];
		}
	}
	if (c == NULL) {
		cli_error("unknown command 'spn %s' (see samba-asa spn "
			  "--help)", argv[1]);
		return ASA_EXIT_USAGE;
	}
	json = (c->run == spn_query || c->run == spn_list ||
		c->run == spn_audit);
	status = cli_parse_options(mem_ctx, &opts, argc - 1, argv + 1, &pargc,
				   &pargv, json);
	if (status != ASA_EXIT_OK) {
		return status;
	}
	if (opts.help) {
		c->usage(stdout);
		return ASA_EXIT_OK;
	}
	return c->run(mem_ctx, &opts, pargc, pargv);
}
