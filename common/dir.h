/*
 * samba-asa: directory access, one interface with two backends.
 *
 *  - "ldap://host" / "ldaps://host": OpenLDAP's libldap.  SASL GSSAPI with
 *    the caller's Kerberos ticket, or a simple bind with a username and a
 *    password, only over a protected connection (ldaps:// or StartTLS).
 *  - a local sam.ldb ("/path/sam.ldb", "tdb:///path/sam.ldb"): the DC's
 *    own database through samdb_connect_url() with system rights, as
 *    samba-tool -H does.  Only this backend reads secrets (keys).
 *
 * Results are ordinary talloc'd ldb structures (struct ldb_result holding
 * struct ldb_message) for both backends, so callers use the usual
 * ldb_msg_find_* helpers.  Every call returns LDB_SUCCESS or an LDB error
 * code; the LDB codes are the LDAP result codes (ldb_errors.h), so an
 * LDAP server's answer keeps its number.  The diagnostic text of the last
 * failure (the server's, e.g. "0000202F: samldb: ...", or ours) is
 * asa_dir_errstring().
 */
#ifndef _ASA_DIR_H_
#define _ASA_DIR_H_

#include <stdbool.h>
#include <talloc.h>
#include <ldb.h>

struct asa_dir;

enum asa_dir_kerberos {
	ASA_DIR_KERBEROS_AUTO = 0, /* GSSAPI unless a username is given */
	ASA_DIR_KERBEROS_YES,	   /* GSSAPI only; with a username and a
				    * password: a ticket of our own */
	ASA_DIR_KERBEROS_NO,	   /* simple bind only */
};

enum asa_dir_backend {
	ASA_DIR_BACKEND_LDAP,
	ASA_DIR_BACKEND_LOCAL,
};

struct asa_dir_options {
	/* -H: ldap://, ldaps://, a sam.ldb path or tdb://; NULL: the
	 * sam.ldb of smb.conf's private dir */
	const char *url;
	/* -s: smb.conf for the local backend (and the realm); NULL: the
	 * default smb.conf */
	const char *smb_conf;
	/* -U: a bind name (DN, UPN, DOMAIN\user, or a plain name that gets
	 * @realm appended when a realm is known) */
	const char *username;
	/* never from argv; the caller wipes it after asa_dir_connect() */
	const char *password;
	const char *realm;
	enum asa_dir_kerberos kerberos;
	/* -d: Samba's log level (local backend) and libldap's debug */
	int debug_level;
	/* LDAP: seconds each operation may take (connecting: at most 10);
	 * 0: ASA_DIR_LDAP_TIMEOUT_DEFAULT */
	int timeout;
};

#define ASA_DIR_LDAP_TIMEOUT_DEFAULT 60

/* Flags of asa_dir_search() */
/* every naming context (base NULL) */
#define ASA_DIR_SEARCH_ALL_NCS	 0x0001
#define ASA_DIR_SEARCH_DELETED	 0x0002 /* show deleted objects too */
/* nTSecurityDescriptor with its owner, group and DACL (the SD flags
 * control; without it a reader lacking the SACL right gets nothing) */
#define ASA_DIR_SEARCH_SD	 0x0004

/* Flags of the write calls */
#define ASA_DIR_WRITE_RELAX	 0x0001 /* LDB_CONTROL_RELAX_OID */
#define ASA_DIR_WRITE_PERMISSIVE 0x0002 /* permissive modify */
/* a modify of nTSecurityDescriptor replaces only its owner and DACL */
#define ASA_DIR_WRITE_SD	 0x0004

/*
 * What rootDSE says, read once at connect.  naming_contexts lists every
 * naming context the server holds (domain, configuration, schema, DNS
 * application partitions).
 */
struct asa_dir_rootdse {
	struct ldb_dn *default_nc;
	struct ldb_dn *config_nc;
	struct ldb_dn *schema_nc;
	struct ldb_dn *root_domain_nc;
	struct ldb_dn **naming_contexts;
	unsigned int num_naming_contexts;
	const char *dns_host_name;
	struct ldb_dn *ds_service_name;
	const struct ldb_message *msg;	/* the whole entry */
};

/*
 * Connect and bind.  On failure returns an LDB error code, *dir is NULL
 * and *errstring (on mem_ctx) says what went wrong and what to do.
 */
int asa_dir_connect(TALLOC_CTX *mem_ctx,
		    const struct asa_dir_options *options,
		    struct asa_dir **dir,
		    char **errstring);

enum asa_dir_backend asa_dir_backend(const struct asa_dir *dir);

/* The URL connected to, as given or as derived from smb.conf. */
const char *asa_dir_url(const struct asa_dir *dir);

/*
 * An ldb context to build DNs and messages with (for the local backend it
 * is the SamDB itself).  Valid as long as dir.
 */
struct ldb_context *asa_dir_ldb(struct asa_dir *dir);

/* The local SamDB with system rights, or NULL over LDAP. */
struct ldb_context *asa_dir_samdb(struct asa_dir *dir);

/* The loadparm of the local backend (or NULL over LDAP). */
struct loadparm_context *asa_dir_lp_ctx(struct asa_dir *dir);

const struct asa_dir_rootdse *asa_dir_rootdse(const struct asa_dir *dir);

/*
 * Whether what is sent is protected from eavesdroppers: always for the
 * local backend; over LDAP when TLS is in place (ldaps://, StartTLS) or
 * the SASL layer encrypts (GSSAPI with a security strength of at least
 * 56 bits).  A password is only sent over a protected connection.
 */
bool asa_dir_is_protected(struct asa_dir *dir);

/* The last error: its code, and its text (never NULL). */
int asa_dir_errcode(const struct asa_dir *dir);
const char *asa_dir_errstring(const struct asa_dir *dir);

/*
 * Search.  base NULL means the default naming context, or with
 * ASA_DIR_SEARCH_ALL_NCS every naming context (scope is then subtree).
 * The filter is a printf format: escape values with
 * ldb_binary_encode_string().  *res is allocated on mem_ctx.
 * A base that does not exist is LDB_ERR_NO_SUCH_OBJECT.
 */
int asa_dir_search(struct asa_dir *dir,
		   TALLOC_CTX *mem_ctx,
		   struct ldb_result **res,
		   struct ldb_dn *base,
		   enum ldb_scope scope,
		   const char * const *attrs,
		   unsigned int flags,
		   const char *filter_fmt, ...) PRINTF_ATTRIBUTE(8, 9);

/*
 * Writes.  In modify, each element's flags say what to do
 * (LDB_FLAG_MOD_ADD / _REPLACE / _DELETE); one call is one atomic
 * operation on the server.
 */
int asa_dir_add(struct asa_dir *dir,
		const struct ldb_message *msg,
		unsigned int flags);
int asa_dir_modify(struct asa_dir *dir,
		   const struct ldb_message *msg,
		   unsigned int flags);
int asa_dir_delete(struct asa_dir *dir,
		   struct ldb_dn *dn,
		   unsigned int flags);
int asa_dir_rename(struct asa_dir *dir,
		   struct ldb_dn *olddn,
		   struct ldb_dn *newdn,
		   unsigned int flags);

#endif /* _ASA_DIR_H_ */
