/*
 * samba-asa: the alternate service account (ASA) as the directory holds it.
 *
 * An ASA is a computer account "NAME$" (Domain Computers only, AES-only
 * msDS-SupportedEncryptionTypes by default, a random password nobody
 * sees) whose keys every member of a server array holds.  What samba-asa
 * adds to it lives in the directory, with the existing schema, so that it
 * replicates, any DC can take over and any administrator can read it; no
 * secret is ever stored there:
 *
 *   CN=samba-asa,<ASA DN>         serviceConnectionPoint,
 *                                 serviceClassName "samba-asa": marks the
 *                                 account as an ASA and holds its settings
 *                                 and roll state in 'keywords'
 *   CN=<member name>,<ASA DN>     serviceConnectionPoint,
 *                                 serviceClassName "samba-asa-member":
 *                                 one per member; serviceBindingInformation
 *                                 is its URL, 'keywords' its status
 *
 * 'keywords' values are "key=value" strings (unknown keys are kept as
 * they are, so an older samba-asa does not drop what a newer one wrote).
 * Times are UTC seconds since the epoch.  The keys:
 *
 *   samba-asa SCP   version, roll_interval, last_roll, last_roll_error,
 *                   last_roll_error_time, roll_failures
 *   member SCP      latest_kvno, latest_installed, previous_kvno, stale,
 *                   last_error, last_error_time, after_install
 *
 * A value is at most ASA_KEYWORD_MAX characters in all (the schema's
 * rangeUpper of 'keywords'): a longer error text is cut.
 *
 * Every function returns an LDB error code (LDB_SUCCESS, or e.g.
 * LDB_ERR_NO_SUCH_OBJECT for an unknown ASA) and, on failure, sets
 * *errstring (on mem_ctx) to a sentence saying what went wrong and what
 * to do.
 */
#ifndef _ASA_ASA_H_
#define _ASA_ASA_H_

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <talloc.h>
#include <ldb.h>

#include "dir.h"

#define ASA_SCP_CLASS		"samba-asa"
#define ASA_SCP_MEMBER_CLASS	"samba-asa-member"
#define ASA_SCP_RDN		"samba-asa"

/* The longest 'keywords' value the schema takes (rangeUpper). */
#define ASA_KEYWORD_MAX		256
/* The longest member name (the 'cn' of its SCP: rangeUpper 64). */
#define ASA_MEMBER_NAME_MAX	64

/* One member of the array and what it last reported. */
struct asa_member_record {
	struct ldb_dn *dn;
	const char *name;		/* RDN value: host name or label */
	const char *url;		/* ssh://[user@]host[:port]/path, local:/path */
	uint32_t latest_kvno;		/* 0: nothing installed yet */
	time_t latest_installed;	/* when latest_kvno was installed */
	uint32_t previous_kvno;		/* 0: not set */
	bool stale;			/* missed a forced roll: needs repair */
	const char *last_error;		/* NULL: the last push worked */
	time_t last_error_time;
	/* the member's after install command failed at the last install
	 * (which worked): "failed: WHY"; NULL when it ran or there is none */
	const char *after_install;

	/* keywords this samba-asa does not know, kept as they are */
	const char **other_keywords;
	size_t num_other_keywords;
};

/*
 * A member record the trust rule (sd.h) refuses: never pushed to, never
 * rolled for; shown as untrusted.  Its strings are as read: print them
 * through asa_safe_text().
 */
struct asa_untrusted_record {
	struct ldb_dn *dn;
	const char *name;
	const char *url;
	const char *why;
};

/* An ASA: its account, settings, roll state and members. */
struct asa_account {
	struct ldb_dn *dn;		/* the computer account */
	struct ldb_dn *scp_dn;		/* CN=samba-asa,<dn> */
	const char *name;		/* "NAME" (sAMAccountName without '$') */
	const char *sam_account_name;	/* "NAME$" */
	const char *dns_host_name;	/* may be NULL */
	const char *realm;		/* upper case, from the directory */
	const char **spns;		/* servicePrincipalName values */
	size_t num_spns;
	uint32_t enctypes;		/* msDS-SupportedEncryptionTypes */
	uint32_t kvno;			/* msDS-KeyVersionNumber */
	time_t pwd_last_set;		/* 0: never */

	/* settings (keywords of the samba-asa SCP) */
	int64_t roll_interval;		/* 0: smb.conf's asa:roll interval */

	/* roll state (keywords of the samba-asa SCP) */
	time_t last_roll;		/* last directory password change */
	const char *last_roll_error;	/* NULL: the last roll worked */
	time_t last_roll_error_time;
	unsigned int roll_failures;	/* in a row, for the backoff */

	struct asa_member_record *members;
	size_t num_members;

	/* keywords of the samba-asa SCP this samba-asa does not know */
	const char **other_keywords;
	size_t num_other_keywords;

	/*
	 * The trust rule: NULL, or why the ASA itself (its account or its
	 * samba-asa SCP) fails it; such an ASA is never rolled.  securable:
	 * an administrator made its samba-asa SCP, so `samba-asa secure`
	 * can bring it under the rule.
	 */
	const char *untrusted;
	bool securable;
	/* member records that fail the rule (kept out of members) */
	struct asa_untrusted_record *untrusted_members;
	size_t num_untrusted_members;
};

/*
 * Load the ASA NAME ("NAME" or "NAME$"), with its members.
 * LDB_ERR_NO_SUCH_OBJECT when no such account exists, or when it exists
 * but is not an ASA (no samba-asa SCP): the message says which.
 */
int asa_account_load(TALLOC_CTX *mem_ctx,
		     struct asa_dir *dir,
		     const char *name,
		     struct asa_account **account,
		     char **errstring);

/*
 * The same, also for an ASA that fails the trust rule (a->untrusted set):
 * for `samba-asa secure` and to show it, never to act on it.
 */
int asa_account_load_any(TALLOC_CTX *mem_ctx,
			 struct asa_dir *dir,
			 const char *name,
			 struct asa_account **account,
			 char **errstring);

/* What an administrator can do about an ASA that fails the rule. */
char *asa_account_untrusted_advice(TALLOC_CTX *mem_ctx,
				   const struct asa_account *a);

/* Every ASA of the domain that passes the trust rule, sorted by name. */
int asa_account_list(TALLOC_CTX *mem_ctx,
		     struct asa_dir *dir,
		     struct asa_account ***accounts,
		     size_t *num_accounts,
		     char **errstring);

/*
 * The same, and in *untrusted (when not NULL) every computer with a
 * samba-asa SCP that fails the trust rule (a->untrusted set).
 */
int asa_account_list_all(TALLOC_CTX *mem_ctx,
			 struct asa_dir *dir,
			 struct asa_account ***accounts,
			 size_t *num_accounts,
			 struct asa_account ***untrusted,
			 size_t *num_untrusted,
			 char **errstring);

/*
 * Write the settings and roll state of 'account' back to its samba-asa
 * SCP (one modify).
 */
int asa_account_store_state(struct asa_dir *dir,
			    const struct asa_account *account,
			    char **errstring);

/*
 * Add a member record (LDB_ERR_ENTRY_ALREADY_EXISTS when one with that
 * name or URL exists), remove one (by name or URL; an untrusted record
 * too), or write one's status back.
 */
int asa_member_record_add(TALLOC_CTX *mem_ctx,
			  struct asa_dir *dir,
			  const struct asa_account *account,
			  const char *name,
			  const char *url,
			  struct asa_member_record **member,
			  char **errstring);
int asa_member_record_remove(TALLOC_CTX *mem_ctx,
			     struct asa_dir *dir,
			     const struct asa_account *account,
			     const char *name_or_url,
			     char **errstring);
int asa_member_record_store(struct asa_dir *dir,
			    const struct asa_member_record *member,
			    char **errstring);

/* Find a member of a loaded account by name or URL, or NULL. */
struct asa_member_record *asa_member_record_find(
	const struct asa_account *account, const char *name_or_url);

/*
 * Make the computer account at account_dn an ASA: add its samba-asa SCP.
 * LDB_ERR_ENTRY_ALREADY_EXISTS when it is one already.
 */
int asa_account_mark(TALLOC_CTX *mem_ctx,
		     struct asa_dir *dir,
		     struct ldb_dn *account_dn,
		     char **errstring);

/*
 * Delete an ASA from the directory: every SCP under the account (members
 * first), then the account itself.  For undoing a create that failed
 * half-way; no member is told.
 */
int asa_account_delete(TALLOC_CTX *mem_ctx,
		       struct asa_dir *dir,
		       struct ldb_dn *account_dn,
		       char **errstring);

/*
 * Whether name can be a member's name (the cn of its SCP): 1 to
 * ASA_MEMBER_NAME_MAX bytes of printable ASCII or UTF-8, not
 * ASA_SCP_RDN.  *why says what is wrong.
 */
bool asa_member_name_valid(const char *name, const char **why);

/*
 * 'keywords' values: "key=value".
 *
 * asa_keyword_split: key and value of one value; false when it has no
 * '=' or an empty key.
 * asa_keyword_make: "key=value" with value cut (on a UTF-8 character
 * boundary) so that the whole is at most ASA_KEYWORD_MAX bytes, and
 * control characters (newlines of an error text) made spaces.
 * asa_keywords_find: the value of key (compared ignoring ASCII case, as
 * the directory compares 'keywords') among values[0..num-1], or NULL.
 * asa_keywords_u64: that value as a decimal number; 0 when missing or
 * not a number.
 * asa_keyword_is_one_of: whether keyword is "K=..." for a K of the
 * NULL-terminated keys.
 */
bool asa_keyword_split(TALLOC_CTX *mem_ctx, const char *keyword,
		       char **key, char **value);
char *asa_keyword_make(TALLOC_CTX *mem_ctx, const char *key,
		       const char *value);
const char *asa_keywords_find(TALLOC_CTX *mem_ctx,
			      const char * const *values, size_t num,
			      const char *key);
uint64_t asa_keywords_u64(const char * const *values, size_t num,
			 const char *key);
bool asa_keyword_is_one_of(const char *keyword, const char * const *keys);

#endif /* _ASA_ASA_H_ */
