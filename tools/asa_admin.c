/*
 * samba-asa: what create, member and keytab share; see asa_admin.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <talloc.h>
#include <ldb.h>
#include <param.h>
#include <krb5.h>

#include "asa_admin.h"
#include "dckeys.h"
#include "keys.h"
#include "krb5_text.h"
#include "current_keys.h"
#include "push.h"
#include "roll.h"

/* --- loading ---------------------------------------------------------- */

int admin_load_asa(TALLOC_CTX *mem_ctx, const struct cli_options *opts,
		   const char *name, struct asa_dir **dir,
		   struct asa_account **account)
{
	char *why = NULL;
	int status;
	int ret;

	*account = NULL;
	status = cli_connect(mem_ctx, opts, dir);
	if (status != ASA_EXIT_OK) {
		return status;
	}
	ret = asa_account_load(mem_ctx, *dir, name, account, &why);
	if (ret != LDB_SUCCESS) {
		cli_error("%s", why != NULL ? why : ldb_strerror(ret));
		TALLOC_FREE(why);
		return (ret == LDB_ERR_NO_SUCH_OBJECT ||
			ret == LDB_ERR_INSUFFICIENT_ACCESS_RIGHTS) ?
			ASA_EXIT_REFUSED : ASA_EXIT_USAGE;
	}
	return ASA_EXIT_OK;
}

/* --- the ASA's lock ---------------------------------------------------- */

#define ADMIN_LOCK_WAIT_SECONDS 120

int admin_lock(TALLOC_CTX *mem_ctx, const struct cli_options *opts,
	       struct asa_dir *dir, const char *name, int *lock_fd)
{
	struct loadparm_context *lp = cli_smb_conf(opts, dir, NULL);
	char *path = NULL;
	int fd;

	fd = roll_lock(mem_ctx, asa_roll_lock_dir(mem_ctx, lp), name,
		       ADMIN_LOCK_WAIT_SECONDS, &path);
	if (fd == -EWOULDBLOCK) {
		cli_error("a roll of %s (pid %ld) still holds its lock %s "
			  "after %d s; try again when it has finished", name,
			  roll_lock_holder(path), path, ADMIN_LOCK_WAIT_SECONDS);
		return ASA_EXIT_REFUSED;
	}
	if (fd < 0) {
		cli_error("cannot take the lock %s of %s: %s",
			  path != NULL ? path : "", name, strerror(-fd));
		return ASA_EXIT_USAGE;
	}
	*lock_fd = fd;
	return ASA_EXIT_OK;
}

/* --- transport -------------------------------------------------------- */

int admin_transport_options(TALLOC_CTX *mem_ctx,
			    const struct cli_options *opts,
			    struct asa_dir *dir,
			    struct asa_member_transport_options *topts)
{
	bool bad = false;
	/* over LDAP: the smb.conf of this host, if it has one */
	struct loadparm_context *lp = cli_smb_conf(opts, dir, &bad);
	int ret;

	*topts = (struct asa_member_transport_options) {
		.local_mode = 0600,
		.local_gid = (gid_t)-1,
	};
	if (bad) {
		cli_error("-s %s: cannot load it", opts->smb_conf);
		return ASA_EXIT_USAGE;
	}
	if (lp == NULL) {
		/* no smb.conf: member.h's defaults, without a private dir */
		return ASA_EXIT_OK;
	}
	ret = asa_member_transport_options_load(mem_ctx, lp, topts);
	if (ret != 0) {
		cli_error("%s", ret == EINVAL ? ASA_MEMBER_TIMEOUT_HELP :
			  strerror(ret));
		return ASA_EXIT_USAGE;
	}
	return ASA_EXIT_OK;
}

/* --- keys --------------------------------------------------------------- */

char *admin_krb5_error(TALLOC_CTX *mem_ctx, krb5_context ctx,
		       krb5_error_code code)
{
	return asa_krb5_text(mem_ctx, ctx, code);
}

char *admin_enctype_names(TALLOC_CTX *mem_ctx, krb5_context ctx,
			  uint32_t bits)
{
	krb5_enctype enctypes[ASA_MAX_ENCTYPES];
	size_t n = 0, i;
	char *s = NULL;

	if (asa_enctypes_from_bits(bits, enctypes, &n) != 0) {
		return talloc_strdup(mem_ctx, "none");
	}
	s = talloc_strdup(mem_ctx, "");
	for (i = 0; s != NULL && i < n; i++) {
		s = talloc_asprintf_append(s, "%s%s", i > 0 ? " " : "",
					   asa_enctype_name(s, enctypes[i]));
	}
	return s;
}

int admin_principals(TALLOC_CTX *mem_ctx, krb5_context ctx,
		     const struct asa_account *account,
		     char ***principals, size_t *num_principals)
{
	krb5_error_code kret;

	kret = asa_keytab_principals(ctx, mem_ctx, account->realm,
				     account->sam_account_name,
				     account->spns, account->num_spns,
				     principals, num_principals);
	if (kret != 0) {
		char *msg = admin_krb5_error(NULL, ctx, kret);

		cli_error("the principals of %s: %s",
			  account->sam_account_name, msg);
		TALLOC_FREE(msg);
		return ASA_EXIT_REFUSED;
	}
	return ASA_EXIT_OK;
}

/*
 * Whether kt has the key of every principal and enctype at kvno; prints
 * the first one missing, naming 'source'.
 */
static bool keytab_has_current(const struct asa_keytab *kt,
			       char **principals, size_t num_principals,
			       const krb5_enctype *enctypes,
			       size_t num_enctypes, krb5_kvno kvno,
			       const char *source)
{
	size_t i, j;

	for (i = 0; i < num_principals; i++) {
		for (j = 0; j < num_enctypes; j++) {
			TALLOC_CTX *frame = NULL;

			if (asa_keytab_find(kt, principals[i], kvno,
					    enctypes[j]) != NULL) {
				continue;
			}
			frame = talloc_stackframe();
			cli_error("%s has no %s key of %s at kvno %u, the "
				  "current one", source,
				  asa_enctype_name(frame, enctypes[j]),
				  principals[i], (unsigned)kvno);
			TALLOC_FREE(frame);
			return false;
		}
	}
	return true;
}

static int keytab_from_member(TALLOC_CTX *mem_ctx, krb5_context ctx,
			      const struct asa_account *account,
			      const char *copy_from,
			      const struct asa_member_transport_options *topts,
			      struct asa_keytab **keytab)
{
	TALLOC_CTX *frame = talloc_stackframe();
	const struct asa_member_record *m = NULL;
	struct asa_member_url *url = NULL;
	struct asa_member_result *results = NULL;
	const struct asa_member_url *urls[1];
	char *why = NULL;
	int ret;

	m = asa_member_record_find(account, copy_from);
	if (m == NULL) {
		cli_error("--copy-from %s: %s has no such member (see "
			  "'samba-asa member list %s')", copy_from,
			  account->sam_account_name, account->name);
		TALLOC_FREE(frame);
		return ASA_EXIT_REFUSED;
	}
	ret = asa_member_url_parse(frame, m->url, &url, &why);
	if (ret != 0) {
		cli_error("--copy-from %s: %s", copy_from, why);
		TALLOC_FREE(frame);
		return ASA_EXIT_REFUSED;
	}
	urls[0] = url;
	ret = asa_member_fetch(frame, ctx, topts, urls, 1, &results);
	if (ret != 0) {
		cli_error("--copy-from %s: cannot reach members: %s",
			  copy_from, strerror(ret));
		TALLOC_FREE(frame);
		return ASA_EXIT_USAGE;
	}
	if (results[0].error != 0 || results[0].keytab == NULL) {
		cli_error("--copy-from %s: fetching its keytab (%s) failed: "
			  "%s", m->name, m->url,
			  results[0].message != NULL ? results[0].message :
			  strerror(results[0].error != 0 ?
				   results[0].error : EIO));
		TALLOC_FREE(frame);
		return ASA_EXIT_REFUSED;
	}
	*keytab = talloc_steal(mem_ctx, results[0].keytab);
	TALLOC_FREE(frame);
	return ASA_EXIT_OK;
}

static int keytab_from_dc(TALLOC_CTX *mem_ctx, krb5_context ctx,
			  const struct cli_options *opts,
			  const struct asa_account *account,
			  char **principals, size_t num_principals,
			  krb5_kvno min_kvno, struct asa_keytab **keytab)
{
	char *why = NULL;
	krb5_error_code kret;

	kret = asa_current_keys_dc(ctx, mem_ctx, opts->smb_conf, account,
				   (const char * const *)principals,
				   num_principals, min_kvno, keytab, &why);
	if (kret != 0) {
		cli_error("%s. Nobody knows the ASA's password, so its "
			  "current keys come from the DC's database (run "
			  "this on a DC of the domain, with -s its smb.conf) "
			  "or from a member that holds them (--copy-from "
			  "MEMBER)", why);
		return ASA_EXIT_USAGE;
	}
	if ((*keytab)->num_entries == 0) {
		cli_error("the current keys of %s: this DC holds none of "
			  "the ASA's enctypes at kvno %u",
			  account->sam_account_name, (unsigned)account->kvno);
		return ASA_EXIT_USAGE;
	}
	return ASA_EXIT_OK;
}

int admin_current_keytab(TALLOC_CTX *mem_ctx, krb5_context ctx,
			 const struct cli_options *opts,
			 const struct asa_account *account,
			 const char *copy_from,
			 const struct asa_member_transport_options *topts,
			 struct asa_keytab **keytab)
{
	TALLOC_CTX *frame = talloc_stackframe();
	krb5_enctype enctypes[ASA_MAX_ENCTYPES];
	size_t num_enctypes = 0;
	char **principals = NULL;
	size_t num_principals = 0;
	struct asa_keytab *source = NULL;
	struct asa_keytab *all = NULL;
	char *source_name = NULL;
	krb5_kvno min_kvno;
	krb5_error_code kret;
	int status;

	*keytab = NULL;
	if (account->kvno == 0) {
		cli_error("%s has no keys yet (msDS-KeyVersionNumber is "
			  "not set)", account->sam_account_name);
		status = ASA_EXIT_REFUSED;
		goto done;
	}
	kret = asa_enctypes_from_bits(account->enctypes, enctypes,
				      &num_enctypes);
	if (kret != 0) {
		cli_error("%s: msDS-SupportedEncryptionTypes %u names no "
			  "enctype samba-asa can use",
			  account->sam_account_name, account->enctypes);
		status = ASA_EXIT_REFUSED;
		goto done;
	}
	status = admin_principals(frame, ctx, account, &principals,
				  &num_principals);
	if (status != ASA_EXIT_OK) {
		goto done;
	}
	/* the current kvno and the previous one, as members keep them */
	min_kvno = account->kvno > 1 ? account->kvno - 1 : 1;

	if (copy_from != NULL) {
		status = keytab_from_member(frame, ctx, account, copy_from,
					    topts, &source);
		if (status != ASA_EXIT_OK) {
			goto done;
		}
		source_name = talloc_asprintf(frame, "the keytab of member "
					      "%s", copy_from);
		kret = asa_keytab_select(frame, source,
					 (const char * const *)principals,
					 num_principals, account->enctypes,
					 min_kvno, account->kvno, &all);
		if (kret != 0) {
			char *msg = admin_krb5_error(frame, ctx, kret);

			cli_error("the current keys of %s: %s",
				  account->sam_account_name, msg);
			status = ASA_EXIT_USAGE;
			goto done;
		}
	} else {
		status = keytab_from_dc(frame, ctx, opts, account, principals,
					num_principals, min_kvno, &all);
		if (status != ASA_EXIT_OK) {
			goto done;
		}
		source_name = talloc_asprintf(frame, "this DC's database");
	}
	if (!keytab_has_current(all, principals, num_principals, enctypes,
				num_enctypes, account->kvno, source_name)) {
		cli_error("the directory says %s is at kvno %u; %s does not "
			  "hold those keys, so they cannot be installed from "
			  "there", account->sam_account_name,
			  (unsigned)account->kvno, source_name);
		status = ASA_EXIT_REFUSED;
		goto done;
	}
	*keytab = talloc_steal(mem_ctx, all);
	status = ASA_EXIT_OK;
done:
	TALLOC_FREE(frame);
	return status;
}

/* --- pushing -------------------------------------------------------------- */

void admin_push_report(const struct asa_push *push,
		       const struct asa_account *account,
		       const struct asa_member_transport_options *topts,
		       const bool *key_known)
{
	size_t i;

	if (push->error != 0) {
		cli_error("cannot reach any member of %s: %s",
			  account->sam_account_name, strerror(push->error));
		return;
	}
	for (i = 0; i < push->num_members; i++) {
		const struct asa_push_member *m = &push->members[i];

		if (m->url == NULL) {
			continue;
		}
		if (key_known != NULL && !key_known[i]) {
			/* whether or not the push went through */
			admin_host_key_show(topts, m->url, m->record->name);
		}
		if (m->ok) {
			printf("\t%s: installed; holds kvno ",
			       m->record->name);
			cli_print_kvnos(stdout, m->kvnos, m->num_kvnos);
			putchar('\n');
			if (m->after_install != NULL &&
			    strcmp(m->after_install, "ok") != 0) {
				cli_error("member %s (%s): the keys are "
					  "installed, but its after install "
					  "command %s", m->record->name,
					  m->record->url, m->after_install);
			}
			continue;
		}
		cli_error("member %s (%s) did not get the keys: %s",
			  m->record->name, m->record->url, m->error);
		printf("\t%s: FAILED\n", m->record->name);
	}
}

int admin_push(TALLOC_CTX *mem_ctx, krb5_context ctx, struct asa_dir *dir,
	       const struct asa_account *account,
	       struct asa_member_record * const *members, size_t n,
	       const struct asa_keytab *keytab, krb5_kvno kvno,
	       const struct asa_member_transport_options *topts,
	       size_t *failed)
{
	TALLOC_CTX *frame = talloc_stackframe();
	struct asa_push *push = NULL;
	uint8_t *data = NULL;
	size_t length = 0;
	bool *key_known = NULL;
	char *why = NULL;
	krb5_error_code kret;
	size_t i;
	int status = ASA_EXIT_OK;

	*failed = 0;
	if (n == 0) {
		goto done;
	}
	key_known = talloc_zero_array(frame, bool, n);
	if (key_known == NULL ||
	    asa_push_prepare(frame, members, n, &push) != 0) {
		cli_error("out of memory");
		status = ASA_EXIT_USAGE;
		goto done;
	}
	for (i = 0; i < n; i++) {
		const struct asa_push_member *m = &push->members[i];

		if (m->url == NULL) {
			/* someone edited the record: it cannot be reached */
			cli_error("member %s: %s", m->record->name, m->error);
			continue;
		}
		key_known[i] = !topts->accept_new_host_key ||
			admin_host_key_known(topts, m->url);
	}

	kret = asa_keytab_serialize(ctx, frame, keytab, &data, &length);
	if (kret != 0) {
		char *msg = admin_krb5_error(frame, ctx, kret);

		cli_error("the keytab for the members: %s", msg);
		status = ASA_EXIT_USAGE;
		goto done;
	}
	(void)asa_push_run(push, ctx, topts, data, length, kvno);
	admin_push_report(push, account, topts, key_known);
	*failed = push->num_failed;
	if (asa_push_record(mem_ctx, push, dir, &why) != LDB_SUCCESS) {
		cli_error("%s", why);
		status = ASA_EXIT_USAGE;
	}
done:
	TALLOC_FREE(frame);
	return status;
}
