/*
 * samba-asa: installing an ASA's keys on its members, and what each
 * member's record then says.
 *
 * One way for every command that changes the keys members hold: a roll
 * (roll.h), the revocation (revoke.h), create and member add.  The push
 * goes to the members concurrently, "asa:member concurrency" at a time
 * (asa_member_push()); a member took the keys only when it answers that
 * it holds the kvno pushed.
 */
#ifndef _ASA_PUSH_H_
#define _ASA_PUSH_H_

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <talloc.h>
#include <krb5.h>

#include "asa.h"
#include "member.h"

/* How one member fared. */
struct asa_push_member {
	struct asa_member_record *record;
	struct asa_member_url *url;	/* NULL: its URL does not parse */
	bool ok;			/* it holds the kvno pushed */
	char *error;			/* why not; NULL when ok */
	krb5_kvno *kvnos;		/* what it holds now, newest first */
	size_t num_kvnos;
	/* its after install command: "ok", "failed: WHY" or NULL (none;
	 * asa_member_result) */
	const char *after_install;
};

struct asa_push {
	struct asa_push_member *members;
	size_t num_members;
	size_t num_failed;
	int error;			/* no member could be reached: why */
};

/*
 * A push to records[0..n-1]: their URLs parsed.  A record whose URL does
 * not parse (someone edited it) fails with the reason and is left out of
 * the push.  ENOMEM or 0.
 */
int asa_push_prepare(TALLOC_CTX *mem_ctx,
		     struct asa_member_record * const *records,
		     size_t n,
		     struct asa_push **push);

/* A push to every member of account (asa_push_prepare()). */
int asa_push_prepare_account(TALLOC_CTX *mem_ctx,
			     struct asa_account *account,
			     struct asa_push **push);

/*
 * Install keytab (serialised, asa_keytab_serialize()) on every member
 * of push whose URL parsed, at once, and check each holds kvno after.
 * 0, or an errno when none could be reached (every member then failed
 * with that reason).
 */
int asa_push_run(struct asa_push *push,
		 krb5_context ctx,
		 const struct asa_member_transport_options *options,
		 const uint8_t *keytab,
		 size_t keytab_length,
		 krb5_kvno kvno);

/*
 * A member's record after a push it took: Latest / Previous as it
 * reports them, no error, and its after install command's failure
 * (after_install as the member reported it: kept unless "ok").
 * latest_installed moves only with Latest.  Its stale flag is the
 * caller's to set.
 */
void asa_member_record_installed(struct asa_member_record *m,
				 const krb5_kvno *kvnos,
				 size_t num_kvnos,
				 const char *after_install,
				 time_t now);

/* A member's record after a push that failed: why (a copy on mem_ctx). */
void asa_member_record_failed(TALLOC_CTX *mem_ctx,
			      struct asa_member_record *m,
			      const char *why,
			      time_t now);

/*
 * Outside a roll: each member's record as the push left it (one that
 * took the keys is no longer stale), stored in the directory.
 * LDB_SUCCESS, or the first error with *errstring.
 */
int asa_push_record(TALLOC_CTX *mem_ctx,
		    struct asa_push *push,
		    struct asa_dir *dir,
		    char **errstring);

/* "3, 2": kvnos as a member reports them, newest first (on mem_ctx). */
char *asa_kvno_list(TALLOC_CTX *mem_ctx, const krb5_kvno *kvnos, size_t n);

#endif /* _ASA_PUSH_H_ */
