/*
 * samba-asa spn add and spn remove: the subcommands that write, each all
 * or nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <talloc.h>
#include <ldb.h>

#include "cli.h"
#include "spn.h"
#include "spn_cmd.h"

/* The stored value of el equal to value ignoring case, or NULL. */
static const struct ldb_val *find_value(
	const struct ldb_message_element *el, const char *value)
{
	unsigned int i;

	if (el == NULL) {
		return NULL;
	}
	for (i = 0; i < el->num_values; i++) {
		if (el->values[i].length == strlen(value) &&
		    strncasecmp((const char *)el->values[i].data, value,
				el->values[i].length) == 0) {
			return &el->values[i];
		}
	}
	return NULL;
}

/* Whether argv[i] stands already in argv[1] .. argv[i - 1], ignoring case. */
static bool given_earlier(char **argv, int i)
{
	int k;

	for (k = 1; k < i; k++) {
		if (strcasecmp(argv[k], argv[i]) == 0) {
			return true;
		}
	}
	return false;
}

/*
 * A message that modifies the servicePrincipalName of dn with flags
 * (LDB_FLAG_MOD_ADD or LDB_FLAG_MOD_DELETE), with no values yet.  Returns
 * an exit status.
 */
static int new_spn_modify(TALLOC_CTX *mem_ctx, struct ldb_dn *dn,
			  int flags, struct ldb_message **msg)
{
	struct ldb_message *m = ldb_msg_new(mem_ctx);

	*msg = NULL;
	if (m == NULL) {
		return ASA_EXIT_USAGE;
	}
	m->dn = dn;
	if (ldb_msg_add_empty(m, "servicePrincipalName", flags, NULL) !=
	    LDB_SUCCESS) {
		TALLOC_FREE(m);
		return ASA_EXIT_USAGE;
	}
	*msg = m;
	return ASA_EXIT_OK;
}
/* --- spn add --- */

void spn_usage_add(FILE *out)
{
	fputs("Usage: samba-asa spn add ACCOUNT SPN... [options]\n"
	      "\n"
	      "Add SPNs to ACCOUNT (a sAMAccountName with or without $, a "
	      "DN, or a\nuserPrincipalName) after checking the whole forest "
	      "for holders (as spn\nquery does).  All or nothing: one "
	      "modify with every value; if any SPN\nis taken or invalid, "
	      "nothing is written.  Exit 1 if refused.\n\n", out);
	cli_usage_common(out, true, false);
}

/*
 * setspn and `samba-tool spn add` take the SPN first and the account
 * last; we take the account first.  Say so rather than "not a valid SPN"
 * when the arguments look swapped.
 */
static bool account_comes_first(const char *cmd, int argc, char **argv)
{
	if (argc == 2 && strchr(argv[0], '/') != NULL &&
	    strchr(argv[1], '/') == NULL) {
		cli_error("spn %s ACCOUNT SPN...: the account comes first "
			  "(setspn and samba-tool put it last): samba-asa "
			  "spn %s %s %s", cmd, cmd, argv[1], argv[0]);
		return false;
	}
	return true;
}

/* What add and remove work on. */
struct spn_edit {
	struct asa_dir *dir;
	struct ldb_message *account;
	struct ldb_message_element *have;	/* its SPNs, or NULL */
	struct ldb_message *msg;		/* the modify, no values yet */
};

/*
 * Check the arguments (ACCOUNT SPN...), connect and look up the account;
 * with spns (add), parse the SPNs first, so that a bad one is refused
 * before connecting.  Returns an exit status; prints why on failure.
 */
static int spn_edit_start(TALLOC_CTX *mem_ctx, struct cli_options *opts,
			  const char *cmd, void (*usage)(FILE *out),
			  struct asa_spn ***spns, int argc, char **argv,
			  struct spn_edit *e)
{
	int status;

	if (argc < 2) {
		usage(stderr);
		return ASA_EXIT_USAGE;
	}
	if (!account_comes_first(cmd, argc, argv)) {
		return ASA_EXIT_USAGE;
	}
	if (spns != NULL) {
		status = spn_parse_args(mem_ctx, 1, argc, argv, spns);
		if (status == ASA_EXIT_REFUSED) {
			cli_error("nothing was added");
		}
		if (status != ASA_EXIT_OK) {
			return status;
		}
	}
	status = spn_connect_account(mem_ctx, opts, argv[0], &e->dir,
				     &e->account);
	if (status != ASA_EXIT_OK) {
		return status;
	}
	e->have = ldb_msg_find_element(e->account, "servicePrincipalName");
	return new_spn_modify(mem_ctx, e->account->dn,
			      spns != NULL ? LDB_FLAG_MOD_ADD :
			      LDB_FLAG_MOD_DELETE, &e->msg);
}

/*
 * Whether an account other than account holds value, or a value that
 * conflicts with it; prints each such holder.  Returns an exit status.
 */
static int taken_elsewhere(TALLOC_CTX *mem_ctx, const struct spn_scan *scan,
			   const char *value, const struct asa_spn *spn,
			   const struct ldb_message *account, bool *taken)
{
	struct spn_match *m = NULL;
	size_t n = 0, j;

	*taken = false;
	if (spn_scan_lookup(mem_ctx, scan, value, spn, &m, &n) !=
	    LDB_SUCCESS) {
		return ASA_EXIT_USAGE;
	}
	for (j = 0; j < n; j++) {
		if (!m[j].conflicts ||
		    ldb_dn_compare(m[j].holder->dn, account->dn) == 0) {
			continue;
		}
		if (!*taken) {
			fprintf(stderr, "samba-asa: %s is taken:\n", value);
		}
		*taken = true;
		fprintf(stderr, "\t%s: %s (%s)\n",
			spn_holder_name(m[j].holder), m[j].value,
			spn_match_kind_name(m[j].kind));
	}
	return ASA_EXIT_OK;
}

/*
 * Say how the modify of add or remove (ret) went, with the values of el;
 * returns the exit status.
 */
static int spn_edit_report(const struct spn_edit *e, int ret, bool add,
			   const struct ldb_message_element *el)
{
	const char *dn = ldb_dn_get_linearized(e->account->dn);

	if (ret != LDB_SUCCESS && add) {
		cli_error("the directory refused to add the SPNs to %s, "
			  "nothing was added: %s", dn,
			  asa_dir_errstring(e->dir));
		return (ret == LDB_ERR_UNAVAILABLE ||
			ret == LDB_ERR_OPERATIONS_ERROR ||
			ret == LDB_ERR_BUSY) ?
			ASA_EXIT_USAGE : ASA_EXIT_REFUSED;
	}
	if (ret != LDB_SUCCESS) {
		cli_error("the directory refused to remove the SPNs from %s, "
			  "nothing was removed: %s", dn,
			  asa_dir_errstring(e->dir));
		return ASA_EXIT_REFUSED;
	}
	printf(add ? "Added to %s:\n" : "Removed from %s:\n", dn);
	spn_print_values(el);
	return ASA_EXIT_OK;
}

int spn_add(TALLOC_CTX *mem_ctx, struct cli_options *opts,
	    int argc, char **argv)
{
	TALLOC_CTX *frame = talloc_stackframe();
	struct spn_edit e = { 0 };
	struct spn_scan *scan = NULL;
	struct ldb_message_element *el = NULL;
	struct asa_spn **spns = NULL;
	bool refused = false;
	int status;
	int ret;
	int i;

	status = spn_edit_start(frame, opts, "add", spn_usage_add, &spns,
				argc, argv, &e);
	if (status != ASA_EXIT_OK) {
		goto done;
	}
	status = spn_load_scan(frame, e.dir, &scan);
	if (status != ASA_EXIT_OK) {
		goto done;
	}
	for (i = 1; i < argc; i++) {
		bool dup = false;

		status = taken_elsewhere(frame, scan, argv[i], spns[i],
					 e.account, &dup);
		if (status != ASA_EXIT_OK) {
			goto done;
		}
		refused |= dup;
		if (dup) {
			continue;
		}
		/* the same value twice on our command line */
		if (given_earlier(argv, i)) {
			continue;
		}
		if (find_value(e.have, argv[i]) != NULL) {
			printf("%s is already registered on %s\n", argv[i],
			       ldb_dn_get_linearized(e.account->dn));
			continue;
		}
		ret = ldb_msg_add_string(e.msg, "servicePrincipalName",
					 argv[i]);
		if (ret != LDB_SUCCESS) {
			status = ASA_EXIT_USAGE;
			goto done;
		}
	}
	el = ldb_msg_find_element(e.msg, "servicePrincipalName");
	if (refused) {
		cli_error("nothing was added to %s: remove the SPN from the "
			  "other account first (samba-asa spn remove), or "
			  "choose another name",
			  ldb_dn_get_linearized(e.account->dn));
		status = ASA_EXIT_REFUSED;
		goto done;
	}
	if (el->num_values == 0) {
		printf("Nothing to add: %s already holds every SPN given\n",
		       ldb_dn_get_linearized(e.account->dn));
		status = ASA_EXIT_OK;
		goto done;
	}
	ret = asa_dir_modify(e.dir, e.msg, 0);
	status = spn_edit_report(&e, ret, true, el);
done:
	TALLOC_FREE(frame);
	return status;
}

/* --- spn remove --- */

/*
 * Whether v (a value of the account) is one of the values of gone.
 */
static bool value_in(const struct ldb_message_element *gone,
		     const struct ldb_val *v)
{
	unsigned int i;

	for (i = 0; gone != NULL && i < gone->num_values; i++) {
		if (gone->values[i].length == v->length &&
		    memcmp(gone->values[i].data, v->data, v->length) == 0) {
			return true;
		}
	}
	return false;
}

/*
 * Remove the values of gone from the account by replacing its SPNs with
 * those it keeps.  samldb (Samba 4.17) checks every value of a modify,
 * deletes too, against the other holders: one copy of a duplicate (what
 * replication can leave and "spn audit" reports) cannot be deleted, while
 * a replace is checked only for the values kept, which the account holds
 * already.  The values kept are those read just before.
 */
static int spn_remove_by_replace(TALLOC_CTX *mem_ctx, struct asa_dir *dir,
				 struct ldb_message *account,
				 const struct ldb_message_element *have,
				 const struct ldb_message_element *gone)
{
	struct ldb_message *msg = NULL;
	unsigned int i;
	int status;

	status = new_spn_modify(mem_ctx, account->dn, LDB_FLAG_MOD_REPLACE,
				&msg);
	if (status != ASA_EXIT_OK) {
		return LDB_ERR_OPERATIONS_ERROR;
	}
	for (i = 0; have != NULL && i < have->num_values; i++) {
		if (value_in(gone, &have->values[i])) {
			continue;
		}
		if (ldb_msg_add_value(msg, "servicePrincipalName",
				      &have->values[i], NULL) != LDB_SUCCESS) {
			return LDB_ERR_OPERATIONS_ERROR;
		}
	}
	return asa_dir_modify(dir, msg, 0);
}

void spn_usage_remove(FILE *out)
{
	fputs("Usage: samba-asa spn remove ACCOUNT SPN... [options]\n"
	      "\n"
	      "Remove SPNs from ACCOUNT.  All or nothing: if ACCOUNT does "
	      "not hold one\nof them, nothing is removed and the exit "
	      "status is 1.\n\n", out);
	cli_usage_common(out, true, false);
}

int spn_remove(TALLOC_CTX *mem_ctx, struct cli_options *opts,
	       int argc, char **argv)
{
	TALLOC_CTX *frame = talloc_stackframe();
	struct spn_edit e = { 0 };
	struct ldb_message_element *el = NULL;
	bool missing = false;
	int status;
	int ret;
	int i;

	status = spn_edit_start(frame, opts, "remove", spn_usage_remove,
				NULL, argc, argv, &e);
	if (status != ASA_EXIT_OK) {
		goto done;
	}
	for (i = 1; i < argc; i++) {
		const struct ldb_val *v = find_value(e.have, argv[i]);

		if (v == NULL) {
			cli_error("%s is not registered on %s", argv[i],
				  ldb_dn_get_linearized(e.account->dn));
			missing = true;
			continue;
		}
		if (given_earlier(argv, i)) {
			continue;
		}
		/* delete the stored spelling */
		ret = ldb_msg_add_value(e.msg, "servicePrincipalName", v,
					NULL);
		if (ret != LDB_SUCCESS) {
			status = ASA_EXIT_USAGE;
			goto done;
		}
	}
	if (missing) {
		cli_error("nothing was removed (see 'samba-asa spn list %s')",
			  argv[0]);
		status = ASA_EXIT_REFUSED;
		goto done;
	}
	el = ldb_msg_find_element(e.msg, "servicePrincipalName");
	ret = asa_dir_modify(e.dir, e.msg, 0);
	if (ret == LDB_ERR_CONSTRAINT_VIOLATION) {
		/* a duplicate: see spn_remove_by_replace() */
		ret = spn_remove_by_replace(frame, e.dir, e.account, e.have,
					    el);
	}
	status = spn_edit_report(&e, ret, false, el);
done:
	TALLOC_FREE(frame);
	return status;
}
