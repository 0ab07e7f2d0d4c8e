/*
 * samba-asa: creating an ASA in the directory, and undoing it.
 *
 * The steps, and what a failure at each leaves behind:
 *
 *   1. one add: the computer account NAME$ with its random password
 *      (unicodePwd), enctypes and SPNs, so that the account never exists
 *      without them;
 *   2. the samba-asa SCP under it (marks it as an ASA; only
 *      administrators may then add samba-asa records, trust.h), one SCP
 *      per member;
 *   3. read the kvno the directory gave the password, derive the keys
 *      from the password at that kvno, build the keytab.
 *
 * Any failure in 2-3 deletes what 1-2 made: nothing is left behind.  The
 * password lives in chunks that wipe themselves, freed before
 * asa_create() returns; the keys leave only as the keytab for the
 * members.  What to check first (the connection is protected, the SPNs
 * are free forest-wide) and the push to the members are the caller's.
 */
#ifndef _ASA_CREATE_H_
#define _ASA_CREATE_H_

#include <stdint.h>
#include <talloc.h>
#include <ldb.h>
#include <krb5.h>

#include "asa.h"
#include "keytab.h"

/* One member of a new ASA. */
struct asa_create_member {
	const char *url;	/* canonical (asa_member_url_parse()) */
	const char *name;
};

struct asa_create_request {
	const char *name;		/* NAME, without the $ */
	const char *sam;		/* NAME$ */
	const char **spns;		/* at least one */
	size_t num_spns;
	struct asa_create_member *members;
	size_t num_members;
	uint32_t enctypes;		/* msDS-SupportedEncryptionTypes */
	/* the password, for the selftest's hook; may be NULL */
	void (*show_password)(const char *password);
};

/*
 * Where the account goes: the DN ou (NULL: the domain's Computers
 * container, from wellKnownObjects).  LDB_ERR_INVALID_DN_SYNTAX or
 * LDB_ERR_NO_SUCH_OBJECT for an ou that is not a DN or not there, any
 * other error reading it; *errstring says which.
 */
int asa_create_parent(TALLOC_CTX *mem_ctx, struct asa_dir *dir,
		      const char *ou, struct ldb_dn **parent,
		      char **errstring);

/*
 * Steps 1-3 under parent.  On success *account is the ASA as loaded
 * after, *keytab its keys at its kvno for every principal.  On failure
 * an LDB error with *errstring; when step 1 had succeeded, it was undone
 * and *undo says how (deleted again, or what to delete by hand).
 */
int asa_create(TALLOC_CTX *mem_ctx, krb5_context ctx, struct asa_dir *dir,
	       const struct asa_create_request *req, struct ldb_dn *parent,
	       struct asa_account **account, struct asa_keytab **keytab,
	       char **errstring, char **undo);

#endif /* _ASA_CREATE_H_ */
