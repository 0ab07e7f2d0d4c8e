/*
 * samba-asa create: make the alternate service account of a server array
 * and put its keys on every member.
 *
 *   1. check everything that can be checked first: the arguments, that
 *      the connection is protected (the password goes over it), the
 *      OU, every SPN forest-wide (as 'spn add' does);   nothing written
 *   2. the account, its SCPs and its keys (common/create.h: undone
 *      there on failure, nothing left behind);
 *   3. the keytab goes to every member at once, and each member's
 *      outcome is recorded in its SCP.  A member that cannot be reached
 *      fails alone (named, exit 1) and the ASA stays: the others work,
 *      and running the same create again repairs it (with the current
 *      keys from the DC's database: the password is gone by then).
 *
 * On an existing ASA, create is idempotent: with the same SPNs, members
 * and enctypes it changes nothing and says so, apart from installing the
 * current keys on members whose status says they lack them.  With
 * different arguments it refuses and names each difference with the
 * command that makes it (spn add/remove, member add/remove, roll): an
 * existing ASA is changed by those, never silently by create.
 */
#include <errno.h>
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
#include "create.h"
#include "keys.h"
#include "spn.h"
#include "test_hooks.h"

#define ASA_NAME_MAX 15		/* a NetBIOS name, without the $ */

static void usage_create(FILE *out)
{
	fputs("Usage: samba-asa create NAME --spn SPN... [--member URL...] "
	      "[options]\n"
	      "\n"
	      "Create the alternate service account NAME$ of a server "
	      "array: a computer\naccount (Domain Computers only, "
	      "workstation trust) with a random password\nthat nobody sees, "
	      "AES-only enctypes and the SPNs (each checked forest-wide\n"
	      "first: all or nothing); record the members and install the "
	      "keytab\n(NAME$ and every SPN) on each of them.\n"
	      "\n"
	      "If anything fails before the keys leave the DC, nothing is "
	      "left behind.\nA member that cannot be reached is named and "
	      "fails alone (exit 1); the\nothers get their keys, its status "
	      "records the error, and running the same\ncreate again "
	      "installs the current keys on it.\n"
	      "\n"
	      "On an existing ASA, the same arguments change nothing (exit "
	      "0), apart\nfrom repairing members that lack the current keys; "
	      "other arguments are\nrefused with the command for each "
	      "difference (spn add/remove, member\nadd/remove, roll).\n"
	      "\n"
	      "Options:\n"
	      "  --spn SPN...            the SPNs (http/mail.example.com, "
	      "...); repeat\n"
	      "                          --spn or list them after one\n"
	      "  --member URL...         ssh://[user@]host[:port]/path/to/"
	      "keytab or\n"
	      "                          local:/path/to/keytab\n"
	      "  --ou DN                 where the account goes (default: "
	      "the Computers\n"
	      "                          container)\n"
	      "  --enctypes LIST         aes256,aes128 (default) and/or rc4\n"
	      "  --copy-from MEMBER      repairing members of an existing "
	      "ASA: take the\n"
	      "                          current keys from this member "
	      "instead of the DC\n"
	      "\n"
	      "Exit status: 0 done (or nothing to change), 1 refused (an SPN "
	      "taken, a\nmalformed name, SPN or member URL, the account "
	      "exists otherwise, a\nmember did not get its keys), 2 usage "
	      "or environment.\n\n", out);
	cli_usage_common(out, true, false);
}

/* --- arguments -------------------------------------------------------- */

static bool name_valid(const char *name)
{
	size_t len = strlen(name);
	size_t i;
	bool digits_only = true;

	if (len > 0 && name[len - 1] == '$') {
		len--;
	}
	if (len == 0 || len > ASA_NAME_MAX || name[0] == '-' ||
	    name[len - 1] == '-') {
		return false;
	}
	for (i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-')) {
			return false;
		}
		digits_only &= (c >= '0' && c <= '9');
	}
	return !digits_only;
}

static int parse_enctypes(const char *list, uint32_t *bits)
{
	TALLOC_CTX *frame = talloc_stackframe();
	char *copy = talloc_strdup(frame, list);
	char *save = NULL;
	char *tok = NULL;
	int status = ASA_EXIT_OK;

	*bits = 0;
	for (tok = copy != NULL ? strtok_r(copy, ",", &save) : NULL;
	     tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		if (strcasecmp(tok, "aes256") == 0 ||
		    strcasecmp(tok, "aes256-cts-hmac-sha1-96") == 0) {
			*bits |= ASA_ENCTYPE_BIT_AES256;
		} else if (strcasecmp(tok, "aes128") == 0 ||
			   strcasecmp(tok, "aes128-cts-hmac-sha1-96") == 0) {
			*bits |= ASA_ENCTYPE_BIT_AES128;
		} else if (strcasecmp(tok, "rc4") == 0 ||
			   strcasecmp(tok, "rc4-hmac") == 0 ||
			   strcasecmp(tok, "arcfour-hmac") == 0) {
			*bits |= ASA_ENCTYPE_BIT_RC4_HMAC;
		} else {
			cli_error("--enctypes %s: '%s' is none of aes256, "
				  "aes128, rc4", list, tok);
			status = ASA_EXIT_USAGE;
			goto done;
		}
	}
	if (*bits == 0) {
		cli_error("--enctypes %s: name at least one of aes256, "
			  "aes128, rc4", list);
		status = ASA_EXIT_USAGE;
	}
done:
	TALLOC_FREE(frame);
	return status;
}

struct create_args {
	const char *name;		/* NAME, without the $ */
	const char *sam;		/* NAME$ */
	const char **spns;
	size_t num_spns;
	struct asa_create_member *members;
	size_t num_members;
	const char *ou;
	uint32_t enctypes;
	const char *copy_from;
};

static bool spn_given(const char * const *spns, size_t n, const char *spn)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (strcasecmp(spns[i], spn) == 0) {
			return true;
		}
	}
	return false;
}

static int parse_members(TALLOC_CTX *mem_ctx, const struct cli_option *o,
			 struct create_args *args)
{
	size_t i, j;

	args->members = talloc_zero_array(mem_ctx, struct asa_create_member,
					  o->num + 1);
	if (args->members == NULL) {
		cli_error("out of memory");
		return ASA_EXIT_USAGE;
	}
	for (i = 0; i < o->num; i++) {
		struct asa_member_url *url = NULL;
		struct asa_create_member *m = &args->members[args->num_members];
		char *why = NULL;
		const char *bad = NULL;

		if (asa_member_url_parse(mem_ctx, o->values[i], &url, &why) !=
		    0) {
			cli_error("%s; nothing was created", why != NULL ?
				  why : "malformed member URL");
			return ASA_EXIT_REFUSED;
		}
		m->url = asa_member_url_string(mem_ctx, url);
		m->name = asa_member_url_name(mem_ctx, url);
		if (m->url == NULL || m->name == NULL) {
			cli_error("out of memory");
			return ASA_EXIT_USAGE;
		}
		if (!asa_member_name_valid(m->name, &bad)) {
			cli_error("member %s: %s", o->values[i], bad);
			return ASA_EXIT_REFUSED;
		}
		for (j = 0; j < args->num_members; j++) {
			if (strcmp(args->members[j].url, m->url) == 0) {
				break;
			}
			if (strcasecmp(args->members[j].name, m->name) == 0) {
				cli_error("members %s and %s would both be "
					  "named %s: create the ASA with one "
					  "of them, then add the other with "
					  "'samba-asa member add NAME URL "
					  "--name LABEL'",
					  args->members[j].url, m->url,
					  m->name);
				return ASA_EXIT_USAGE;
			}
		}
		if (j == args->num_members) {
			args->num_members++;
		}
	}
	return ASA_EXIT_OK;
}

static int parse_args(TALLOC_CTX *mem_ctx, struct cli_option *o,
		      const char *name, struct create_args *args)
{
	size_t i;
	int status;

	/* o: --spn, --member, --ou, --enctypes, --copy-from */
	if (!name_valid(name)) {
		cli_error("'%s' is not a valid ASA name: 1 to %d letters, "
			  "digits and '-' (a NetBIOS computer name), not "
			  "only digits, not starting or ending with '-'",
			  name, ASA_NAME_MAX);
		return ASA_EXIT_REFUSED;
	}
	args->name = talloc_strndup(mem_ctx, name,
				    strcspn(name, "$"));
	args->sam = talloc_asprintf(mem_ctx, "%s$", args->name);
	if (args->name == NULL || args->sam == NULL) {
		cli_error("out of memory");
		return ASA_EXIT_USAGE;
	}
	if (o[0].num == 0) {
		cli_error("give the ASA's SPNs with --spn (see --help)");
		return ASA_EXIT_USAGE;
	}
	args->spns = talloc_zero_array(mem_ctx, const char *, o[0].num + 1);
	if (args->spns == NULL) {
		cli_error("out of memory");
		return ASA_EXIT_USAGE;
	}
	for (i = 0; i < o[0].num; i++) {
		struct asa_spn *spn = NULL;

		if (!spn_parse_arg(mem_ctx, o[0].values[i], &spn)) {
			cli_error("nothing was created");
			return ASA_EXIT_REFUSED;
		}
		if (spn_given(args->spns, args->num_spns, o[0].values[i])) {
			continue;
		}
		args->spns[args->num_spns++] = o[0].values[i];
	}
	status = parse_members(mem_ctx, &o[1], args);
	if (status != ASA_EXIT_OK) {
		return status;
	}
	args->ou = o[2].num > 0 ? o[2].values[0] : NULL;
	args->enctypes = ASA_ENCTYPE_BITS_DEFAULT;
	if (o[3].num > 0) {
		status = parse_enctypes(o[3].values[0], &args->enctypes);
		if (status != ASA_EXIT_OK) {
			return status;
		}
	}
	args->copy_from = o[4].num > 0 ? o[4].values[0] : NULL;
	return ASA_EXIT_OK;
}

/* --- an existing ASA ----------------------------------------------------- */

static bool account_has_spn(const struct asa_account *a, const char *spn)
{
	return spn_given(a->spns, a->num_spns, spn);
}

/*
 * Print every difference between args and the ASA; true if there is
 * none.
 */
static bool same_as_existing(TALLOC_CTX *mem_ctx, struct asa_dir *dir,
			     const struct create_args *args,
			     const struct asa_account *a)
{
	bool same = true;
	size_t i, j;

	for (i = 0; i < args->num_spns; i++) {
		if (!account_has_spn(a, args->spns[i])) {
			fprintf(stderr, "\tSPN %s is not on %s: 'samba-asa spn "
				"add %s %s', then 'samba-asa roll %s' gives "
				"every member keys for it\n", args->spns[i],
				a->sam_account_name, a->name, args->spns[i],
				a->name);
			same = false;
		}
	}
	for (i = 0; i < a->num_spns; i++) {
		if (!spn_given(args->spns, args->num_spns, a->spns[i])) {
			fprintf(stderr, "\tSPN %s is on %s but not given: "
				"'samba-asa spn remove %s %s'\n", a->spns[i],
				a->sam_account_name, a->name, a->spns[i]);
			same = false;
		}
	}
	for (i = 0; i < args->num_members; i++) {
		if (asa_member_record_find(a, args->members[i].url) == NULL) {
			fprintf(stderr, "\tmember %s is not recorded: "
				"'samba-asa member add %s %s'\n",
				args->members[i].url, a->name,
				args->members[i].url);
			same = false;
		}
	}
	for (i = 0; i < a->num_members; i++) {
		for (j = 0; j < args->num_members; j++) {
			if (strcmp(a->members[i].url,
				   args->members[j].url) == 0) {
				break;
			}
		}
		if (j == args->num_members) {
			fprintf(stderr, "\tmember %s (%s) is recorded but not "
				"given: 'samba-asa member remove %s %s'\n",
				a->members[i].name, a->members[i].url,
				a->name, a->members[i].name);
			same = false;
		}
	}
	if ((a->enctypes != 0 ? a->enctypes : ASA_ENCTYPE_BITS_DEFAULT) !=
	    args->enctypes) {
		fprintf(stderr, "\t%s has msDS-SupportedEncryptionTypes %u, "
			"not %u: change the attribute, then 'samba-asa roll "
			"%s' for keys of the new enctypes\n",
			a->sam_account_name, a->enctypes, args->enctypes,
			a->name);
		same = false;
	}
	if (args->ou != NULL) {
		struct ldb_dn *ou = ldb_dn_new(mem_ctx, asa_dir_ldb(dir),
					       args->ou);
		struct ldb_dn *parent = ldb_dn_get_parent(mem_ctx, a->dn);

		if (ou == NULL || parent == NULL ||
		    ldb_dn_compare(ou, parent) != 0) {
			fprintf(stderr, "\t%s is in %s, not in %s: move it "
				"with 'samba-tool computer move'\n",
				a->sam_account_name,
				ldb_dn_get_linearized(parent), args->ou);
			same = false;
		}
	}
	return same;
}

static bool member_needs_keys(const struct asa_account *a,
			      const struct asa_member_record *m)
{
	return m->latest_kvno != a->kvno || m->last_error != NULL ||
		m->stale;
}

static int create_again(TALLOC_CTX *mem_ctx, const struct cli_options *opts,
			krb5_context ctx, struct asa_dir *dir,
			const struct create_args *args,
			struct asa_account *a)
{
	TALLOC_CTX *frame = talloc_stackframe();
	struct asa_member_transport_options topts;
	struct asa_member_record **repair = NULL;
	struct asa_keytab *keytab = NULL;
	size_t num_repair = 0, failed = 0, i;
	int status;

	if (!same_as_existing(frame, dir, args, a)) {
		cli_error("%s exists already and differs from these "
			  "arguments (above); create changes nothing on an "
			  "existing ASA: use the commands named",
			  a->sam_account_name);
		status = ASA_EXIT_REFUSED;
		goto done;
	}
	repair = talloc_zero_array(frame, struct asa_member_record *,
				   a->num_members + 1);
	if (repair == NULL) {
		cli_error("out of memory");
		status = ASA_EXIT_USAGE;
		goto done;
	}
	for (i = 0; i < a->num_members; i++) {
		if (member_needs_keys(a, &a->members[i])) {
			repair[num_repair++] = &a->members[i];
		}
	}
	if (num_repair == 0) {
		printf("Nothing to change: %s exists with these SPNs and "
		       "members, and every member holds kvno %u as last "
		       "recorded ('samba-asa verify %s' checks them).\n",
		       a->sam_account_name, (unsigned)a->kvno, a->name);
		status = ASA_EXIT_OK;
		goto done;
	}
	printf("%s exists with these SPNs and members; %zu member%s "
	       "lack%s the current keys (kvno %u):\n", a->sam_account_name,
	       num_repair, num_repair == 1 ? "" : "s",
	       num_repair == 1 ? "s" : "", (unsigned)a->kvno);
	for (i = 0; i < num_repair; i++) {
		printf("\t%s (%s): %s\n", repair[i]->name, repair[i]->url,
		       repair[i]->last_error != NULL ? repair[i]->last_error :
		       repair[i]->latest_kvno == 0 ? "no keys installed" :
		       "an older kvno");
	}
	status = admin_transport_options(frame, opts, dir, &topts);
	if (status != ASA_EXIT_OK) {
		goto done;
	}
	status = admin_current_keytab(frame, ctx, opts, a, args->copy_from,
				      &topts, &keytab);
	if (status != ASA_EXIT_OK) {
		goto done;
	}
	/* members recorded by a create that could not reach them */
	topts.accept_new_host_key = true;
	printf("Installing the current keys:\n");
	status = admin_push(frame, ctx, dir, a, repair, num_repair, keytab,
			    a->kvno, &topts, &failed);
	if (status != ASA_EXIT_OK) {
		goto done;
	}
	if (failed > 0) {
		cli_error("%zu of %zu members still lack the keys of %s; "
			  "fix them and run this again", failed, num_repair,
			  a->sam_account_name);
		status = ASA_EXIT_REFUSED;
		goto done;
	}
	printf("Repaired: every member of %s holds kvno %u.\n",
	       a->sam_account_name, (unsigned)a->kvno);
	status = ASA_EXIT_OK;
done:
	TALLOC_FREE(frame);
	return status;
}

/* --- a new ASA ------------------------------------------------------------ */

/* Every SPN free forest-wide?  Prints the holders of those that are not. */
static int spns_free(TALLOC_CTX *mem_ctx, struct asa_dir *dir,
		     const struct create_args *args)
{
	TALLOC_CTX *frame = talloc_stackframe();
	struct spn_scan *scan = NULL;
	bool refused = false;
	size_t i, j;
	int status = ASA_EXIT_OK;
	int ret;

	ret = spn_scan_load(frame, dir, &scan);
	if (ret != LDB_SUCCESS) {
		cli_error("reading the SPNs of every naming context failed: "
			  "%s", asa_dir_errstring(dir));
		status = ASA_EXIT_USAGE;
		goto done;
	}
	for (i = 0; i < args->num_spns; i++) {
		struct asa_spn *spn = NULL;
		struct spn_match *m = NULL;
		size_t n = 0;
		bool taken = false;

		if (!spn_parse_arg(frame, args->spns[i], &spn) ||
		    spn_scan_lookup(frame, scan, args->spns[i], spn, &m, &n) !=
		    LDB_SUCCESS) {
			status = ASA_EXIT_USAGE;
			goto done;
		}
		for (j = 0; j < n; j++) {
			const char *sam = NULL;

			if (!m[j].conflicts) {
				continue;
			}
			if (!taken) {
				fprintf(stderr, "samba-asa: %s is taken:\n",
					args->spns[i]);
			}
			taken = true;
			sam = ldb_msg_find_attr_as_string(m[j].holder,
							  "sAMAccountName",
							  NULL);
			fprintf(stderr, "\t%s%s%s%s: %s (%s)\n",
				ldb_dn_get_linearized(m[j].holder->dn),
				sam != NULL ? " (" : "", sam != NULL ? sam : "",
				sam != NULL ? ")" : "", m[j].value,
				spn_match_kind_name(m[j].kind));
		}
		refused |= taken;
	}
	if (refused) {
		cli_error("nothing was created: remove the SPN from the other "
			  "account first (samba-asa spn remove), or choose "
			  "another name");
		status = ASA_EXIT_REFUSED;
	}
done:
	TALLOC_FREE(frame);
	return status;
}

/* The password, for the selftest's hook (test_hooks.h). */
static void show_password(const char *password)
{
	asa_test_show_secrets(password, NULL, 0);
}

/*
 * The account, its SCPs, the keytab (common/create.h); undone on
 * failure.
 */
static int create_in_directory(TALLOC_CTX *mem_ctx, krb5_context ctx,
			       struct asa_dir *dir,
			       const struct create_args *args,
			       struct ldb_dn *parent,
			       struct asa_account **account,
			       struct asa_keytab **keytab)
{
	struct asa_create_request req = {
		.name = args->name,
		.sam = args->sam,
		.spns = args->spns,
		.num_spns = args->num_spns,
		.members = args->members,
		.num_members = args->num_members,
		.enctypes = args->enctypes,
		.show_password = show_password,
	};
	char *why = NULL;
	char *undo = NULL;
	int ret;

	ret = asa_create(mem_ctx, ctx, dir, &req, parent, account, keytab,
			 &why, &undo);
	if (ret == LDB_SUCCESS) {
		return ASA_EXIT_OK;
	}
	cli_error("%s", why != NULL ? why : ldb_strerror(ret));
	if (undo != NULL) {
		cli_error("%s", undo);
		return ASA_EXIT_REFUSED;
	}
	return (ret == LDB_ERR_UNAVAILABLE ||
		ret == LDB_ERR_OPERATIONS_ERROR ||
		ret == LDB_ERR_BUSY) ? ASA_EXIT_USAGE : ASA_EXIT_REFUSED;
}

static int create_new(TALLOC_CTX *mem_ctx, const struct cli_options *opts,
		      krb5_context ctx, struct asa_dir *dir,
		      const struct create_args *args)
{
	TALLOC_CTX *frame = talloc_stackframe();
	struct asa_member_transport_options topts;
	struct asa_member_record **members = NULL;
	struct ldb_dn *parent = NULL;
	struct asa_account *a = NULL;
	struct asa_keytab *keytab = NULL;
	char *why = NULL;
	size_t failed = 0, i;
	int status;
	int ret;

	if (!asa_dir_is_protected(dir)) {
		cli_error("the connection to %s is not protected (neither TLS "
			  "nor an encrypting SASL layer), and the ASA's "
			  "password is only sent over a protected one: use -k "
			  "yes with an encrypting SASL layer (libldap's "
			  "default), ldaps://, or run it on the DC with -H "
			  "sam.ldb; nothing was created", asa_dir_url(dir));
		status = ASA_EXIT_USAGE;
		goto done;
	}
	ret = asa_create_parent(frame, dir, args->ou, &parent, &why);
	if (ret != LDB_SUCCESS) {
		cli_error("%s", why);
		status = (ret == LDB_ERR_INVALID_DN_SYNTAX ||
			  ret == LDB_ERR_NO_SUCH_OBJECT) ?
			ASA_EXIT_REFUSED : ASA_EXIT_USAGE;
		goto done;
	}
	status = spns_free(frame, dir, args);
	if (status != ASA_EXIT_OK) {
		goto done;
	}
	/* before anything is written: a bad smb.conf fails here */
	status = admin_transport_options(frame, opts, dir, &topts);
	if (status != ASA_EXIT_OK) {
		goto done;
	}
	status = create_in_directory(frame, ctx, dir, args, parent, &a,
				     &keytab);
	if (status != ASA_EXIT_OK) {
		goto done;
	}

	printf("Created %s (%s): kvno %u, %s\n", a->sam_account_name,
	       ldb_dn_get_linearized(a->dn), (unsigned)a->kvno,
	       admin_enctype_names(frame, ctx, a->enctypes));
	printf("SPNs:\n");
	for (i = 0; i < a->num_spns; i++) {
		printf("\t%s\n", a->spns[i]);
	}
	if (a->num_members == 0) {
		printf("No members yet: add them with 'samba-asa member add "
		       "%s URL'.\n", a->name);
		goto done;
	}
	members = talloc_zero_array(frame, struct asa_member_record *,
				    a->num_members);
	if (members == NULL) {
		cli_error("out of memory");
		status = ASA_EXIT_USAGE;
		goto done;
	}
	for (i = 0; i < a->num_members; i++) {
		members[i] = &a->members[i];
	}
	/* first contact: as member add, record an unknown host key */
	topts.accept_new_host_key = true;
	printf("Members:\n");
	status = admin_push(frame, ctx, dir, a, members, a->num_members,
			    keytab, a->kvno, &topts, &failed);
	if (status != ASA_EXIT_OK) {
		goto done;
	}
	if (failed > 0) {
		cli_error("%zu of %zu members did not get the keys of %s (%s); "
			  "the ASA stays: once they can be reached, run the "
			  "same 'samba-asa create' again to install the "
			  "current keys on them", failed, a->num_members,
			  a->sam_account_name,
			  failed < a->num_members ? "the others did" :
			  "none did");
		status = ASA_EXIT_REFUSED;
	}
done:
	TALLOC_FREE(frame);
	return status;
}

/* --- the command ---------------------------------------------------------- */

int cmd_create(TALLOC_CTX *mem_ctx, int argc, char **argv)
{
	TALLOC_CTX *frame = talloc_stackframe();
	struct cli_option o[] = {
		{ .name = "--spn", .repeat = true, .greedy = true },
		{ .name = "--member", .repeat = true, .greedy = true },
		{ .name = "--ou" },
		{ .name = "--enctypes" },
		{ .name = "--copy-from" },
	};
	struct cli_options opts = { 0 };
	struct create_args args = { 0 };
	struct asa_dir *dir = NULL;
	struct asa_account *a = NULL;
	struct ldb_result *res = NULL;
	krb5_context ctx = NULL;
	char *enc = NULL;
	char *why = NULL;
	int pargc = 0;
	char **pargv = NULL;
	int lock_fd = -1;
	int status;
	int ret;

	status = cli_parse(frame, &opts, o, sizeof(o) / sizeof(o[0]), argc,
			   argv, &pargc, &pargv, false);
	if (status != ASA_EXIT_OK) {
		goto done;
	}
	if (opts.help) {
		usage_create(stdout);
		goto done;
	}
	if (pargc != 1) {
		usage_create(stderr);
		status = ASA_EXIT_USAGE;
		goto done;
	}
	status = parse_args(frame, o, pargv[0], &args);
	if (status != ASA_EXIT_OK) {
		goto done;
	}
	ret = krb5_init_context(&ctx);
	if (ret != 0) {
		cli_error("krb5_init_context failed: %s", strerror(ret));
		status = ASA_EXIT_USAGE;
		goto done;
	}
	status = cli_connect(frame, &opts, &dir);
	if (status != ASA_EXIT_OK) {
		goto done;
	}
	/* no roll of this ASA between reading its keys and installing them */
	status = admin_lock(frame, &opts, dir, args.sam, &lock_fd);
	if (status != ASA_EXIT_OK) {
		goto done;
	}

	/* an existing account: the same ASA again, or refused */
	enc = ldb_binary_encode_string(frame, args.sam);
	ret = asa_dir_search(dir, frame, &res, NULL, LDB_SCOPE_SUBTREE, NULL,
			     0, "(sAMAccountName=%s)", enc);
	if (ret != LDB_SUCCESS) {
		cli_error("looking up %s failed: %s", args.sam,
			  asa_dir_errstring(dir));
		status = ASA_EXIT_USAGE;
		goto done;
	}
	if (res->count > 0) {
		ret = asa_account_load(frame, dir, args.sam, &a, &why);
		if (ret != LDB_SUCCESS) {
			cli_error("%s", why != NULL ? why : ldb_strerror(ret));
			status = ret == LDB_ERR_NO_SUCH_OBJECT ?
				ASA_EXIT_REFUSED : ASA_EXIT_USAGE;
			goto done;
		}
		status = create_again(frame, &opts, ctx, dir, &args, a);
		goto done;
	}
	if (args.copy_from != NULL) {
		cli_error("--copy-from is for repairing the members of an "
			  "existing ASA; %s does not exist yet", args.sam);
		status = ASA_EXIT_USAGE;
		goto done;
	}
	status = create_new(frame, &opts, ctx, dir, &args);
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
