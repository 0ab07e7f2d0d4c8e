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
	struct loadparm_context *lp = dir != NULL ? asa_dir_lp_ctx(dir) : NULL;
	char *path = NULL;
	int fd;

	if (lp == NULL) {
		lp = loadparm_init_global(false);
		if (lp != NULL &&
		    !(opts->smb_conf != NULL ? lpcfg_load(lp, opts->smb_conf)
					     : lpcfg_load_default(lp))) {
			lp = NULL;
		}
	}
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
	struct loadparm_context *lp = asa_dir_lp_ctx(dir);
	bool loaded = (lp != NULL);
	int ret;

	*topts = (struct asa_member_transport_options) {
		.local_mode = 0600,
		.local_gid = (gid_t)-1,
	};
	if (lp == NULL) {
		/* over LDAP: the smb.conf of this host, if it has one */
		lp = loadparm_init_global(false);
		if (lp != NULL) {
			loaded = opts->smb_conf != NULL ?
				lpcfg_load(lp, opts->smb_conf) :
				lpcfg_load_default(lp);
		}
		if (!loaded && opts->smb_conf != NULL) {
			cli_error("-s %s: cannot load it", opts->smb_conf);
			return ASA_EXIT_USAGE;
		}
	}
	if (!loaded) {
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
	const char *msg = krb5_get_error_message(ctx, code);
	char *s = talloc_strdup(mem_ctx, msg != NULL ? msg : "unknown error");

	krb5_free_error_message(ctx, msg);
	return s;
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

static bool enctype_in(krb5_enctype e, const krb5_enctype *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (list[i] == e) {
			return true;
		}
	}
	return false;
}

static bool principal_in(const char *p, char **list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (strcmp(list[i], p) == 0) {
			return true;
		}
	}
	return false;
}

/*
 * The entries of 'in' under one of principals (NULL: any), of one of the
 * enctypes and at kvno min_kvno .. max_kvno.
 */
static krb5_error_code keytab_select(TALLOC_CTX *mem_ctx,
				     const struct asa_keytab *in,
				     char **principals, size_t num_principals,
				     const krb5_enctype *enctypes,
				     size_t num_enctypes,
				     krb5_kvno min_kvno, krb5_kvno max_kvno,
				     struct asa_keytab **out)
{
	struct asa_keytab *kt = talloc_zero(mem_ctx, struct asa_keytab);
	size_t i;

	*out = NULL;
	if (kt == NULL) {
		return ENOMEM;
	}
	kt->entries = talloc_zero_array(kt, struct asa_keytab_entry,
					in->num_entries + 1);
	if (kt->entries == NULL) {
		TALLOC_FREE(kt);
		return ENOMEM;
	}
	for (i = 0; i < in->num_entries; i++) {
		const struct asa_keytab_entry *e = &in->entries[i];
		struct asa_keytab_entry *d = &kt->entries[kt->num_entries];

		if (principals != NULL &&
		    !principal_in(e->principal, principals, num_principals)) {
			continue;
		}
		if (!enctype_in(e->enctype, enctypes, num_enctypes) ||
		    e->kvno < min_kvno || e->kvno > max_kvno) {
			continue;
		}
		*d = *e;
		d->principal = talloc_strdup(kt->entries, e->principal);
		d->key = talloc_memdup(kt->entries, e->key, e->key_length);
		if (d->key != NULL) {
			asa_secret_wipe_on_free(d->key);
		}
		if (d->principal == NULL || d->key == NULL) {
			TALLOC_FREE(kt);
			return ENOMEM;
		}
		kt->num_entries++;
	}
	*out = kt;
	return 0;
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
			  struct asa_keytab **keytab)
{
	krb5_error_code kret;

	kret = asa_dc_keys_read(ctx, mem_ctx, opts->smb_conf,
				account->sam_account_name, keytab);
	if (kret == 0) {
		return ASA_EXIT_OK;
	}
	{
		char *msg = admin_krb5_error(NULL, ctx, kret);

		cli_error("reading the current keys of %s from this DC "
			  "failed: %s. Nobody knows the ASA's password, so "
			  "its current keys come from the DC's database (run "
			  "this on a DC of the domain, with -s its smb.conf) "
			  "or from a member that holds them (--copy-from "
			  "MEMBER)", account->sam_account_name, msg);
		TALLOC_FREE(msg);
	}
	return ASA_EXIT_USAGE;
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
	struct asa_keytab *selected = NULL;
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
		kret = keytab_select(frame, source, principals,
				     num_principals, enctypes, num_enctypes,
				     min_kvno, account->kvno, &all);
	} else {
		status = keytab_from_dc(frame, ctx, opts, account, &source);
		if (status != ASA_EXIT_OK) {
			goto done;
		}
		source_name = talloc_asprintf(frame, "this DC's database");
		/* the DC's keys are NAME$'s: put them under every principal */
		kret = keytab_select(frame, source, NULL, 0, enctypes,
				     num_enctypes, min_kvno, account->kvno,
				     &selected);
		if (kret == 0) {
			kret = asa_dc_keys_for_principals(ctx, frame, selected,
				(const char * const *)principals,
				num_principals, &all);
		}
	}
	if (kret != 0) {
		char *msg = admin_krb5_error(frame, ctx, kret);

		cli_error("the current keys of %s: %s",
			  account->sam_account_name, msg);
		status = ASA_EXIT_USAGE;
		goto done;
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

static char *kvno_list(TALLOC_CTX *mem_ctx, const krb5_kvno *kvnos, size_t n)
{
	char *s = talloc_strdup(mem_ctx, "");
	size_t i;

	for (i = 0; s != NULL && i < n; i++) {
		s = talloc_asprintf_append(s, "%s%u", i > 0 ? ", " : "",
					   (unsigned)kvnos[i]);
	}
	return s;
}

/* Record a failure on m; the text is what the member or ssh said. */
static void member_failed(TALLOC_CTX *mem_ctx, struct asa_member_record *m,
			  const char *why, time_t now)
{
	m->last_error = talloc_strdup(mem_ctx, why);
	if (m->last_error == NULL) {
		m->last_error = "out of memory";
	}
	m->last_error_time = now;
}

static void member_succeeded(struct asa_member_record *m,
			     const krb5_kvno *kvnos, size_t n, time_t now)
{
	if (n > 0 && m->latest_kvno != kvnos[0]) {
		m->latest_installed = now;
	}
	if (n > 0 && m->latest_installed == 0) {
		m->latest_installed = now;
	}
	m->latest_kvno = n > 0 ? kvnos[0] : 0;
	m->previous_kvno = n > 1 ? kvnos[1] : 0;
	m->stale = false;
	m->last_error = NULL;
	m->last_error_time = 0;
}

int admin_push(TALLOC_CTX *mem_ctx, krb5_context ctx, struct asa_dir *dir,
	       const struct asa_account *account,
	       struct asa_member_record * const *members, size_t n,
	       const struct asa_keytab *keytab, krb5_kvno kvno,
	       const struct asa_member_transport_options *topts,
	       size_t *failed)
{
	TALLOC_CTX *frame = talloc_stackframe();
	const struct asa_member_url **urls = NULL;
	struct asa_member_url **parsed = NULL;
	struct asa_member_result *results = NULL;
	uint8_t *data = NULL;
	size_t length = 0;
	size_t num_urls = 0;
	size_t *index = NULL;
	bool *key_known = NULL;
	time_t now = time(NULL);
	krb5_error_code kret;
	size_t i;
	int status = ASA_EXIT_OK;
	int ret;

	*failed = 0;
	if (n == 0) {
		goto done;
	}
	urls = talloc_zero_array(frame, const struct asa_member_url *, n);
	parsed = talloc_zero_array(frame, struct asa_member_url *, n);
	index = talloc_zero_array(frame, size_t, n);
	key_known = talloc_zero_array(frame, bool, n);
	if (urls == NULL || parsed == NULL || index == NULL ||
	    key_known == NULL) {
		cli_error("out of memory");
		status = ASA_EXIT_USAGE;
		goto done;
	}
	for (i = 0; i < n; i++) {
		char *why = NULL;

		ret = asa_member_url_parse(frame, members[i]->url, &parsed[i],
					   &why);
		if (ret != 0) {
			/* someone edited the record: it cannot be reached */
			cli_error("member %s: %s", members[i]->name, why);
			member_failed(mem_ctx, members[i], why, now);
			(*failed)++;
			continue;
		}
		key_known[num_urls] = !topts->accept_new_host_key ||
			admin_host_key_known(topts, parsed[i]);
		index[num_urls] = i;
		urls[num_urls++] = parsed[i];
	}

	kret = asa_keytab_serialize(ctx, frame, keytab, &data, &length);
	if (kret != 0) {
		char *msg = admin_krb5_error(frame, ctx, kret);

		cli_error("the keytab for the members: %s", msg);
		status = ASA_EXIT_USAGE;
		goto done;
	}
	if (num_urls > 0) {
		ret = asa_member_push(frame, ctx, topts, urls, num_urls, data,
				      length, &results);
		if (ret != 0) {
			cli_error("cannot reach any member of %s: %s",
				  account->sam_account_name, strerror(ret));
			for (i = 0; i < num_urls; i++) {
				member_failed(mem_ctx, members[index[i]],
					      strerror(ret), now);
			}
			*failed += num_urls;
			num_urls = 0;
		}
	}
	for (i = 0; i < num_urls; i++) {
		struct asa_member_record *m = members[index[i]];
		struct asa_member_result *r = &results[i];
		bool has_kvno = false;
		size_t k;

		if (!key_known[i]) {
			/* whether or not the push went through */
			admin_host_key_show(topts, urls[i], m->name);
		}

		for (k = 0; k < r->num_kvnos; k++) {
			has_kvno |= (r->kvnos[k] == kvno);
		}
		if (r->error == 0 && has_kvno) {
			member_succeeded(m, r->kvnos, r->num_kvnos, now);
			printf("\t%s: installed; holds kvno %s\n", m->name,
			       kvno_list(frame, r->kvnos, r->num_kvnos));
			if (r->after_install != NULL &&
			    strcmp(r->after_install, "ok") != 0) {
				cli_error("member %s (%s): the keys are "
					  "installed, but its after install "
					  "command %s", m->name, m->url,
					  r->after_install);
			}
			continue;
		}
		if (r->error == 0) {
			char *why = talloc_asprintf(frame,
				"the member answered that it holds kvno %s, "
				"not %u", kvno_list(frame, r->kvnos,
						    r->num_kvnos),
				(unsigned)kvno);

			member_failed(mem_ctx, m, why, now);
		} else {
			const char *why = r->message;

			if (why == NULL || why[0] == '\0') {
				why = strerror(r->error);
			}
			member_failed(mem_ctx, m, why, now);
		}
		(*failed)++;
		cli_error("member %s (%s) did not get the keys: %s", m->name,
			  m->url, m->last_error);
		printf("\t%s: FAILED\n", m->name);
	}
	for (i = 0; i < n; i++) {
		char *why = NULL;

		ret = asa_member_record_store(dir, members[i], &why);
		if (ret != LDB_SUCCESS) {
			cli_error("%s", why != NULL ? why :
				  ldb_strerror(ret));
			status = ASA_EXIT_USAGE;
		}
	}
done:
	TALLOC_FREE(frame);
	return status;
}
