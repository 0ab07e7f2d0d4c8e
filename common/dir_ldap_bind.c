/*
 * samba-asa: connecting and binding to a directory over LDAP
 * (dir_ldap.c searches and writes).
 *
 * Binds: SASL GSSAPI with the caller's Kerberos ticket, or a simple bind,
 * which we only send over a protected connection (ldaps:// or StartTLS on
 * ldap://): a DC refuses it over plain LDAP anyway, and the password must
 * not cross the wire in clear.  libldap reads LDAPTLS_REQCERT and friends
 * from the environment itself.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <talloc.h>
#include <ldb.h>
#define LDAP_DEPRECATED 0
#include <ldap.h>
#include <krb5.h>
#include <gssapi/gssapi.h>
#include <gssapi/gssapi_krb5.h>

#include "dir_ldap.h"

/*
 * The layout of Cyrus SASL's sasl_interact_t (sasl/sasl.h, stable ABI),
 * declared here so the build needs no libsasl2-dev: GSSAPI asks at most
 * for an authorization identity, which we leave empty.
 */
struct asa_sasl_interact {
	unsigned long id;
	const char *challenge;
	const char *prompt;
	const char *defresult;
	const void *result;
	unsigned len;
};
#define ASA_SASL_CB_LIST_END 0

/* OpenLDAP's LDAP_DEBUG_TRACE (ldap_log.h, not installed): the calls only,
 * never a packet. */
#define ASA_LDAP_DEBUG_TRACE 0x0001

static int dir_ldap_destructor(struct dir_ldap *l)
{
	if (l->ld != NULL) {
		ldap_unbind_ext_s(l->ld, NULL, NULL);
		l->ld = NULL;
	}
	if (l->ccache != NULL) {
		OM_uint32 minor;

		gss_krb5_ccache_name(&minor, NULL, NULL);
		krb5_cc_destroy(l->krb5, l->ccache);
		l->ccache = NULL;
	}
	if (l->krb5 != NULL) {
		krb5_free_context(l->krb5);
		l->krb5 = NULL;
	}
	return 0;
}

static int sasl_interact(LDAP *ld, unsigned flags, void *defaults, void *in)
{
	struct asa_sasl_interact *i = in;

	for (; i->id != ASA_SASL_CB_LIST_END; i++) {
		i->result = "";
		i->len = 0;
	}
	return LDAP_SUCCESS;
}

static char *unreachable(struct asa_dir *dir)
{
	if (strncasecmp(dir->url, "ldaps://", 8) == 0) {
		/* libldap reports a refused certificate the same way */
		return talloc_asprintf(dir,
			"cannot reach %s: %s; check -H, that the DC is "
			"running, and that its TLS certificate is trusted "
			"(LDAPTLS_CACERT; LDAPTLS_REQCERT=never only for a "
			"test DC)", dir->url, dir->errstring);
	}
	return talloc_asprintf(dir,
		"cannot reach %s: %s; check -H and that the DC is running",
		dir->url, dir->errstring);
}

/*
 * -k yes with -U and a password: get a ticket for the user into a
 * memory credential cache of our own and let GSSAPI use it, as samba-tool
 * does, so no kinit is needed and nothing is written to disk.
 */
static int kinit_password(struct asa_dir *dir,
			  const struct asa_dir_options *options,
			  char **errstring)
{
	struct dir_ldap *l = talloc_get_type_abort(dir->backend_data,
						   struct dir_ldap);
	krb5_principal princ = NULL;
	krb5_get_init_creds_opt *opt = NULL;
	krb5_creds creds;
	krb5_error_code kerr;
	const char *name = options->username;
	const char *slash = strchr(name, '\\');
	char *ccname = NULL;
	const char *msg = NULL;
	OM_uint32 major, minor;
	int ret = LDB_ERR_INVALID_CREDENTIALS;

	memset(&creds, 0, sizeof(creds));
	if (options->password == NULL) {
		*errstring = talloc_strdup(dir,
			"-k yes -U USER needs the password (prompt, "
			"--password-file or --password-stdin)");
		return LDB_ERR_INAPPROPRIATE_AUTHENTICATION;
	}
	if (slash != NULL) {
		name = slash + 1;	/* DOMAIN\user: user in the realm */
	}
	if (strchr(name, '@') == NULL && options->realm != NULL) {
		name = talloc_asprintf(dir, "%s@%s", name, options->realm);
		if (name == NULL) {
			*errstring = talloc_strdup(dir, "out of memory");
			return LDB_ERR_OPERATIONS_ERROR;
		}
	}
	kerr = krb5_init_context(&l->krb5);
	if (kerr != 0) {
		*errstring = talloc_strdup(dir,
			"cannot initialise Kerberos: check KRB5_CONFIG");
		return LDB_ERR_OPERATIONS_ERROR;
	}
	kerr = krb5_parse_name(l->krb5, name, &princ);
	if (kerr == 0) {
		kerr = krb5_cc_new_unique(l->krb5, "MEMORY", NULL,
					  &l->ccache);
	}
	if (kerr == 0) {
		kerr = krb5_get_init_creds_opt_alloc(l->krb5, &opt);
	}
	if (kerr == 0) {
		kerr = krb5_get_init_creds_password(l->krb5, &creds, princ,
						    options->password, NULL,
						    NULL, 0, NULL, opt);
	}
	if (kerr == 0) {
		kerr = krb5_cc_initialize(l->krb5, l->ccache, princ);
	}
	if (kerr == 0) {
		kerr = krb5_cc_store_cred(l->krb5, l->ccache, &creds);
	}
	if (kerr != 0) {
		msg = krb5_get_error_message(l->krb5, kerr);
		*errstring = talloc_asprintf(dir,
			"cannot get a Kerberos ticket for %s: %s (check the "
			"user name, the password and KRB5_CONFIG)", name,
			msg != NULL ? msg : "unknown error");
		krb5_free_error_message(l->krb5, msg);
		goto done;
	}
	ccname = talloc_asprintf(dir, "MEMORY:%s",
				 krb5_cc_get_name(l->krb5, l->ccache));
	if (ccname == NULL) {
		*errstring = talloc_strdup(dir, "out of memory");
		ret = LDB_ERR_OPERATIONS_ERROR;
		goto done;
	}
	major = gss_krb5_ccache_name(&minor, ccname, NULL);
	if (GSS_ERROR(major)) {
		*errstring = talloc_strdup(dir,
			"cannot hand the Kerberos ticket to GSSAPI");
		ret = LDB_ERR_OPERATIONS_ERROR;
		goto done;
	}
	ret = LDB_SUCCESS;
done:
	krb5_free_cred_contents(l->krb5, &creds);
	if (opt != NULL) {
		krb5_get_init_creds_opt_free(l->krb5, opt);
	}
	if (princ != NULL) {
		krb5_free_principal(l->krb5, princ);
	}
	return ret;
}

bool asa_dir_ldap_protected(struct asa_dir *dir)
{
	LDAP *ld = dir_ldap_ld(dir);
	ber_len_t ssf = 0;

	if (ldap_tls_inplace(ld)) {
		return true;
	}
	if (ldap_get_option(ld, LDAP_OPT_X_SASL_SSF, &ssf) !=
	    LDAP_OPT_SUCCESS) {
		return false;
	}
	return ssf >= 56;
}

static int bind_gssapi(struct asa_dir *dir, char **errstring)
{
	int rc;

	rc = ldap_sasl_interactive_bind_s(dir_ldap_ld(dir), NULL, "GSSAPI",
					  NULL, NULL, LDAP_SASL_QUIET,
					  sasl_interact, NULL);
	if (rc == LDAP_SUCCESS) {
		return LDB_SUCCESS;
	}
	dir_ldap_fail(dir, rc, NULL);
	if (rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR) {
		*errstring = unreachable(dir);
		return dir_ldap_to_ldb(rc);
	}
	*errstring = talloc_asprintf(dir,
		"Kerberos (GSSAPI) bind to %s failed: %s. Get a ticket "
		"first (kinit; klist shows it), check that the server's "
		"name resolves to and from its address, or use -U USER "
		"over ldaps://",
		dir->url, dir->errstring);
	return dir_ldap_to_ldb(rc);
}

/*
 * The DNS domain of the server's default naming context, read from
 * rootDSE before binding (anonymous rootDSE reads are always allowed),
 * or NULL.
 */
static const char *dns_domain_of_server(struct asa_dir *dir)
{
	static const char *attrs[] = { "defaultNamingContext", NULL };
	LDAP *ld = dir_ldap_ld(dir);
	LDAPMessage *res = NULL;
	LDAPMessage *e = NULL;
	struct berval **vals = NULL;
	const char *domain = NULL;
	int rc;

	rc = ldap_search_ext_s(ld, "", LDAP_SCOPE_BASE, "(objectClass=*)",
			       discard_const_p(char *, attrs), 0, NULL, NULL,
			       NULL, 1, &res);
	if (rc == LDAP_SUCCESS && (e = ldap_first_entry(ld, res)) != NULL) {
		vals = ldap_get_values_len(ld, e, "defaultNamingContext");
	}
	if (vals != NULL && vals[0] != NULL) {
		char *s = talloc_strndup(dir, vals[0]->bv_val,
					 vals[0]->bv_len);
		struct ldb_dn *dn = ldb_dn_new(dir, dir->ldb, s);
		char *c = dn != NULL ? ldb_dn_canonical_string(dir, dn) : NULL;

		if (c != NULL && c[0] != '\0') {
			size_t len = strlen(c);

			if (c[len - 1] == '/') {
				c[len - 1] = '\0';
			}
			domain = c;
		}
		TALLOC_FREE(s);
	}
	if (vals != NULL) {
		ldap_value_free_len(vals);
	}
	if (res != NULL) {
		ldap_msgfree(res);
	}
	return domain;
}

static int bind_simple(struct asa_dir *dir,
		       const struct asa_dir_options *options,
		       char **errstring)
{
	LDAP *ld = dir_ldap_ld(dir);
	const char *name = options->username;
	struct berval cred = { 0, NULL };
	int rc;

	if (options->password == NULL) {
		*errstring = talloc_strdup(dir,
			"no password for -U: give --password-file FILE or "
			"--password-stdin, or run on a terminal");
		return LDB_ERR_INAPPROPRIATE_AUTHENTICATION;
	}
	if (strncasecmp(dir->url, "ldap://", 7) == 0) {
		rc = ldap_start_tls_s(ld, NULL, NULL);
		if (rc == LDAP_SERVER_DOWN) {
			dir_ldap_fail(dir, rc, NULL);
			*errstring = unreachable(dir);
			return dir_ldap_to_ldb(rc);
		}
		if (rc != LDAP_SUCCESS) {
			dir_ldap_fail(dir, rc, NULL);
			*errstring = talloc_asprintf(dir,
				"StartTLS on %s failed: %s. A password is only "
				"sent over a protected connection: use "
				"ldaps://, -k yes, or set LDAPTLS_REQCERT / "
				"LDAPTLS_CACERT for the server's certificate",
				dir->url, dir->errstring);
			return dir_ldap_to_ldb(rc);
		}
	}
	if (strchr(name, '@') == NULL && strchr(name, '\\') == NULL &&
	    strchr(name, '=') == NULL) {
		/* AD binds a plain name only as a UPN: name@realm */
		const char *realm = options->realm;

		if (realm == NULL) {
			realm = dns_domain_of_server(dir);
		}
		if (realm != NULL) {
			name = talloc_asprintf(dir, "%s@%s", name, realm);
		}
		if (name == NULL) {
			*errstring = talloc_strdup(dir, "out of memory");
			return LDB_ERR_OPERATIONS_ERROR;
		}
	}
	cred.bv_val = discard_const_p(char, options->password);
	cred.bv_len = strlen(options->password);
	rc = ldap_sasl_bind_s(ld, name, LDAP_SASL_SIMPLE, &cred, NULL, NULL,
			      NULL);
	if (rc == LDAP_SUCCESS) {
		return LDB_SUCCESS;
	}
	dir_ldap_fail(dir, rc, NULL);
	if (rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR) {
		*errstring = unreachable(dir);
		return dir_ldap_to_ldb(rc);
	}
	*errstring = talloc_asprintf(dir, "bind to %s as %s failed: %s "
				     "(check the user name and password)",
				     dir->url, name, dir->errstring);
	return dir_ldap_to_ldb(rc);
}

int asa_dir_ldap_open(struct asa_dir *dir,
		      const struct asa_dir_options *options,
		      char **errstring)
{
	struct dir_ldap *l = NULL;
	int version = LDAP_VERSION3;
	int rc;
	bool gssapi;

	dir->ops = &asa_dir_ldap_ops;
	dir->url = talloc_strdup(dir, options->url);
	dir->ldb = ldb_init(dir, dir->ev);
	l = talloc_zero(dir, struct dir_ldap);
	if (dir->url == NULL || dir->ldb == NULL || l == NULL) {
		*errstring = talloc_strdup(dir, "out of memory");
		return LDB_ERR_OPERATIONS_ERROR;
	}
	talloc_set_destructor(l, dir_ldap_destructor);
	dir->backend_data = l;

	rc = ldap_initialize(&l->ld, dir->url);
	if (rc != LDAP_SUCCESS) {
		*errstring = talloc_asprintf(dir, "-H %s: %s", dir->url,
					     ldap_err2string(rc));
		return LDB_ERR_PROTOCOL_ERROR;
	}
	if (options->debug_level > 0) {
		/*
		 * libldap's call trace only, at every -d level: its packet
		 * and BER dumps (and liblber's, left off) show the bind
		 * password and the unicodePwd of create and roll.
		 */
		int level = ASA_LDAP_DEBUG_TRACE;

		ldap_set_option(NULL, LDAP_OPT_DEBUG_LEVEL, &level);
	}
	ldap_set_option(l->ld, LDAP_OPT_PROTOCOL_VERSION, &version);
	ldap_set_option(l->ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
	{
		/*
		 * Every call ends, also against a DC that accepts the
		 * connection and then answers nothing (a monitoring check
		 * must not hang): the synchronous calls give up after
		 * LDAP_OPT_TIMEOUT, connecting after LDAP_OPT_NETWORK_TIMEOUT.
		 */
		int secs = options->timeout > 0 ? options->timeout :
			ASA_DIR_LDAP_TIMEOUT_DEFAULT;
		struct timeval op = { .tv_sec = secs };
		struct timeval net = { .tv_sec = secs < 10 ? secs : 10 };

		if (ldap_set_option(l->ld, LDAP_OPT_TIMEOUT, &op) !=
			    LDAP_OPT_SUCCESS ||
		    ldap_set_option(l->ld, LDAP_OPT_NETWORK_TIMEOUT, &net) !=
			    LDAP_OPT_SUCCESS) {
			*errstring = talloc_strdup(dir,
				"cannot set the LDAP timeouts");
			return LDB_ERR_OPERATIONS_ERROR;
		}
	}

	switch (options->kerberos) {
	case ASA_DIR_KERBEROS_YES:
		gssapi = true;
		break;
	case ASA_DIR_KERBEROS_NO:
		gssapi = false;
		break;
	default:
		gssapi = (options->username == NULL);
		break;
	}
	if (!gssapi && options->username == NULL) {
		*errstring = talloc_strdup(dir,
			"-k no needs -U USER (and a password)");
		return LDB_ERR_INAPPROPRIATE_AUTHENTICATION;
	}
	if (gssapi && options->username != NULL) {
		int ret = kinit_password(dir, options, errstring);

		if (ret != LDB_SUCCESS) {
			return ret;
		}
	}
	if (gssapi) {
		return bind_gssapi(dir, errstring);
	}
	return bind_simple(dir, options, errstring);
}
