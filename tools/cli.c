/*
 * samba-asa: what the subcommands share (cli.h): the connection and
 * errors (the options: cli_options.c; JSON: cli_json.c).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <talloc.h>
#include <ldb.h>
#include <param.h>

#include "cli.h"
#include "schedule.h"

#define ASA_PASSWORD_MAX 1024

void cli_error(const char *fmt, ...)
{
	va_list ap;

	fputs("samba-asa: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

struct loadparm_context *cli_smb_conf(const struct cli_options *opts,
				      struct asa_dir *dir, bool *bad)
{
	struct loadparm_context *lp = dir != NULL ? asa_dir_lp_ctx(dir) : NULL;
	bool loaded;

	if (bad != NULL) {
		*bad = false;
	}
	if (lp != NULL) {
		return lp;
	}
	lp = loadparm_init_global(false);
	if (lp == NULL) {
		return NULL;
	}
	loaded = opts->smb_conf != NULL ? lpcfg_load(lp, opts->smb_conf) :
		lpcfg_load_default(lp);
	if (!loaded && opts->smb_conf != NULL && bad != NULL) {
		*bad = true;
	}
	return loaded ? lp : NULL;
}

void cli_print_kvnos(FILE *out, const krb5_kvno *kvnos, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		fprintf(out, "%s%u", i > 0 ? ", " : "", (unsigned)kvnos[i]);
	}
}

static bool url_is_ldap(const char *url)
{
	return url != NULL && (strncasecmp(url, "ldap://", 7) == 0 ||
			       strncasecmp(url, "ldaps://", 8) == 0);
}

/*
 * Over LDAP, smb.conf (-s FILE, else the default one if there is one)
 * gives "asa:ldap timeout", a duration.  An exit status; *seconds stays 0
 * for the default.
 */
static int ldap_timeout(const struct cli_options *opts, int *seconds)
{
	struct loadparm_context *lp = loadparm_init_global(false);
	const char *text = NULL;
	int64_t value = 0;

	if (lp == NULL) {
		cli_error("out of memory");
		return ASA_EXIT_USAGE;
	}
	if (opts->smb_conf != NULL) {
		if (!lpcfg_load(lp, opts->smb_conf)) {
			cli_error("-s %s: cannot load it (does it exist?)",
				  opts->smb_conf);
			return ASA_EXIT_USAGE;
		}
	} else if (!lpcfg_load_default(lp)) {
		return ASA_EXIT_OK;	/* a workstation without smb.conf */
	}
	text = lpcfg_parm_string(lp, NULL, "asa", "ldap timeout");
	if (text == NULL) {
		return ASA_EXIT_OK;
	}
	if (asa_schedule_parse_duration(text, &value) != 0 || value < 1 ||
	    value > 3600) {
		cli_error("asa:ldap timeout = %s: give a duration from 1s to "
			  "1h (e.g. 30 or 2m)", text);
		return ASA_EXIT_USAGE;
	}
	*seconds = (int)value;
	return ASA_EXIT_OK;
}

int cli_connect(TALLOC_CTX *mem_ctx, const struct cli_options *opts,
		struct asa_dir **dir)
{
	return cli_connect_password(mem_ctx, opts, NULL, dir);
}

int cli_connect_password(TALLOC_CTX *mem_ctx, const struct cli_options *opts,
			 const char *password, struct asa_dir **dir)
{
	struct asa_dir_options o = {
		.url = opts->url,
		.smb_conf = opts->smb_conf,
		.username = opts->username,
		.realm = opts->realm,
		.kerberos = opts->kerberos,
		.debug_level = opts->debug_level,
	};
	char buf[ASA_PASSWORD_MAX];
	char *err = NULL;
	int ret;

	if (url_is_ldap(opts->url)) {
		ret = ldap_timeout(opts, &o.timeout);
		if (ret != ASA_EXIT_OK) {
			return ret;
		}
	}
	/* -U over LDAP: a simple bind, or with -k yes a ticket of our own */
	if (url_is_ldap(opts->url) && opts->username != NULL) {
		if (password == NULL &&
		    !cli_read_password(opts, buf, sizeof(buf))) {
			explicit_bzero(buf, sizeof(buf));
			return ASA_EXIT_USAGE;
		}
		o.password = password != NULL ? password : buf;
	}
	ret = asa_dir_connect(mem_ctx, &o, dir, &err);
	explicit_bzero(buf, sizeof(buf));
	if (ret != LDB_SUCCESS) {
		cli_error("%s", err != NULL ? err : ldb_strerror(ret));
		TALLOC_FREE(err);
		return ASA_EXIT_USAGE;
	}
	return ASA_EXIT_OK;
}
