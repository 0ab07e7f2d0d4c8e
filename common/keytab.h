/*
 * samba-asa: keytabs of the alternate service account.
 *
 * A member of the server array holds the ASA's keys for every SPN of the
 * load-balanced names plus NAME$@REALM, at the current kvno and the one
 * before it (tickets issued before a roll stay valid for their lifetime).
 * This is the keytab side of that: build one from derived keys, read one
 * that arrives on standard input from the DC, check it holds only what is
 * expected, merge it into the member's current keytab, and write the result
 * atomically so that an acceptor (mod_auth_gssapi re-reads the file on each
 * request) never sees a half-written keytab.
 *
 * Reading, merging and writing are member/member_keytab.h's (the same
 * code samba-asa-member runs, libc and MIT Kerberos only), wrapped here
 * so that results live on talloc contexts; the reader is a small
 * defensive parser of the version 2 format, as MIT's own reads only from
 * a FILE* and the bytes come from another host.
 *
 * Errors are krb5_error_code values (errno values included); where there
 * is more to say, the text is set on the krb5 context
 * (krb5_get_error_message()).  Nothing here prints key bytes.
 */
#ifndef _ASA_KEYTAB_H_
#define _ASA_KEYTAB_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <talloc.h>
#include <krb5.h>

#include "keys.h"

/* struct asa_keytab, its bounds (ASA_KEYTAB_MAX_*), ASA_KEYTAB_KEEP_KVNOS
 * and ASA_KEYTAB_ERR_NOT_DURABLE */
#include "member_keytab.h"

/* One (principal, kvno, enctype) a keytab holds: no key bytes. */
struct asa_keytab_item {
	const char *principal;
	krb5_kvno kvno;
	krb5_enctype enctype;
};

/*
 * The principals an ASA's keytab holds: NAME$@REALM (sam_account_name as
 * stored, with its '$') and SPN@REALM for every SPN, in their unparsed
 * MIT form, duplicates dropped, as a talloc array of *num_principals.  The
 * realm is upper-cased.  An SPN with '@' or '\' is refused (EINVAL).
 */
krb5_error_code asa_keytab_principals(krb5_context ctx,
				      TALLOC_CTX *mem_ctx,
				      const char *realm,
				      const char *sam_account_name,
				      const char * const *spns,
				      size_t num_spns,
				      char ***principals,
				      size_t *num_principals);

/*
 * A keytab with one entry per principal and key (each key at its own
 * kvno), stamped with 'timestamp'.
 */
krb5_error_code asa_keytab_build(krb5_context ctx,
				 TALLOC_CTX *mem_ctx,
				 const char * const *principals,
				 size_t num_principals,
				 const struct asa_key *keys,
				 size_t num_keys,
				 uint32_t timestamp,
				 struct asa_keytab **keytab);

/*
 * Parse a version 2 keytab from untrusted bytes.  Refuses (KRB5_KT_FORMAT,
 * with a message saying what is wrong) anything but a well-formed keytab:
 * a wrong version, a record running past the end, more than
 * ASA_KEYTAB_MAX_ENTRIES entries or ASA_KEYTAB_MAX_SIZE bytes, kvno 0, an
 * enctype MIT does not know (KRB5_BAD_ENCTYPE), a key of the wrong length
 * (KRB5_BAD_KEYSIZE).  An empty keytab (version only) parses to zero
 * entries.
 */
krb5_error_code asa_keytab_parse(krb5_context ctx,
				 TALLOC_CTX *mem_ctx,
				 const uint8_t *data,
				 size_t length,
				 struct asa_keytab **keytab);

/* Read everything from fd (standard input) and parse it; at most
 * ASA_KEYTAB_MAX_SIZE bytes are read. */
krb5_error_code asa_keytab_read_fd(krb5_context ctx,
				   TALLOC_CTX *mem_ctx,
				   int fd,
				   struct asa_keytab **keytab);

/* The same, but ETIMEDOUT when the end of input has not come within
 * 'seconds' (0: no limit): a stalled sender must not hold the reader. */
krb5_error_code asa_keytab_read_fd_deadline(krb5_context ctx,
					    TALLOC_CTX *mem_ctx,
					    int fd,
					    unsigned int seconds,
					    struct asa_keytab **keytab);

/* Read and parse a keytab file.  A missing file is an empty keytab when
 * missing_ok, else ENOENT. */
krb5_error_code asa_keytab_read_file(krb5_context ctx,
				     TALLOC_CTX *mem_ctx,
				     const char *path,
				     bool missing_ok,
				     struct asa_keytab **keytab);

/*
 * Check that every entry belongs to one of the expected principals
 * (compared exactly, in unparsed form): KRB5_PRINC_NOMATCH names the first
 * stranger.  An empty keytab is refused (KRB5_KT_NOTFOUND), and so, with
 * require_all, is one lacking an expected principal.
 */
krb5_error_code asa_keytab_check_principals(krb5_context ctx,
					    const struct asa_keytab *keytab,
					    const char * const *expected,
					    size_t num_expected,
					    bool require_all);

/*
 * Merge an incoming keytab into the current one: every incoming entry,
 * plus the current entries the incoming one does not replace (same
 * principal, kvno and enctype: the incoming key wins, as a roll that was
 * interrupted before the directory changed reuses its kvno), then for each
 * principal only the newest keep_kvnos kvnos.  Sorted by principal, then
 * newest kvno first.  current may be NULL.
 */
krb5_error_code asa_keytab_merge(krb5_context ctx,
				 TALLOC_CTX *mem_ctx,
				 const struct asa_keytab *current,
				 const struct asa_keytab *incoming,
				 unsigned int keep_kvnos,
				 struct asa_keytab **merged);

/*
 * What a member keeps of its keytab 'current' when 'incoming' arrives,
 * before the two are merged.  A push carries the ASA's complete set of
 * principals (NAME$ and every SPN it has now).  A principal of 'current'
 * is the ASA's when the push carries it, or when one of its keys is one
 * of the ASA's (same kvno, enctype and key bytes as a key the push
 * carries or the member holds under a principal the push carries: every
 * name of an account has the account's keys).  The ASA's principals the
 * push does not carry are dropped (an SPN taken off the ASA, whose keys
 * would otherwise stay, acceptable for any ticket at their kvno); with
 * 'replace', every entry of the ASA's principals is dropped, so that the
 * member keeps of the ASA only what the push carries (a revocation: a
 * push of the current keys drops the previous kvno).  Entries of other
 * principals (keys a member keeps of its own) stay.  *kept is a copy;
 * *num_dropped (optional) counts the entries left out.
 */
krb5_error_code asa_keytab_retire(krb5_context ctx,
				  TALLOC_CTX *mem_ctx,
				  const struct asa_keytab *current,
				  const struct asa_keytab *incoming,
				  bool replace,
				  struct asa_keytab **kept,
				  size_t *num_dropped);

/*
 * Write a keytab to path atomically: a temporary file in the same
 * directory (created 0600), written through MIT's FILE: keytab, given its
 * final mode (0600, or 0640 with group gid) and fsync()ed, renamed over
 * path, and the directory fsync()ed.  A keytab of more than
 * ASA_KEYTAB_MAX_SIZE bytes (more than the reader accepts: later installs
 * would all fail) is refused with EFBIG.  On any failure path is untouched
 * and the temporary file removed, but for ASA_KEYTAB_ERR_NOT_DURABLE: the
 * new keytab is in place, only the directory could not be flushed, so it
 * may not survive a crash.  gid (gid_t)-1 keeps the creator's group and is
 * refused with 0640.
 */
krb5_error_code asa_keytab_write_file(krb5_context ctx,
				      const struct asa_keytab *keytab,
				      const char *path,
				      mode_t mode,
				      gid_t gid);

/*
 * What `samba-asa member install` does with a keytab from the DC, in one
 * call: check that 'incoming' holds keys for every expected principal and
 * nothing else (asa_keytab_check_principals() with require_all), then,
 * holding an exclusive lock (flock() on PATH.lock, released by the kernel
 * if the process dies), read the current keytab at path (missing: empty),
 * drop what asa_keytab_retire() drops (with 'replace': every key of the
 * ASA's principals but the incoming ones), merge keeping the newest
 * ASA_KEYTAB_KEEP_KVNOS kvnos, and write the
 * result atomically with mode and gid (see asa_keytab_write_file()).  The
 * lock makes two installs at once (a roll and a `member add`) serialise
 * instead of one losing the other's keys.  *installed (optional) gets the
 * keytab now in place.
 */
krb5_error_code asa_keytab_install(krb5_context ctx,
				   TALLOC_CTX *mem_ctx,
				   const struct asa_keytab *incoming,
				   const char * const *expected,
				   size_t num_expected,
				   const char *path,
				   mode_t mode,
				   gid_t gid,
				   bool replace,
				   struct asa_keytab **installed);

/*
 * The keytab in the version 2 file format as MIT writes it (for sending to
 * a member).  Made in a private 0700 directory (under /dev/shm when there
 * is one, so key bytes stay off disk) that is removed before returning;
 * the returned buffer is wiped when freed.
 */
krb5_error_code asa_keytab_serialize(krb5_context ctx,
				     TALLOC_CTX *mem_ctx,
				     const struct asa_keytab *keytab,
				     uint8_t **data,
				     size_t *length);

/*
 * A private directory (mode 0700) for a short-lived file that holds key
 * bytes: /dev/shm/asa-WHAT.<pid>.XXXXXX (under /tmp when there is no
 * /dev/shm), so keys stay off disk.  The caller removes the file with
 * asa_secret_file_remove() and then the directory.  Directories of this
 * kind (any WHAT) left by a process that no longer exists (killed before
 * it could remove its own) are removed first, their files wiped; only
 * real directories of ours with mode 0700 are: a symbolic link or
 * another user's entry of that name is neither followed nor removed.
 * dir gets the path (size at least 64).
 */
krb5_error_code asa_secret_dir_make(krb5_context ctx,
				    const char *what,
				    char *dir,
				    size_t size);

/* Overwrite the regular file path with zeros, then unlink it (a symbolic
 * link is only unlinked, never followed). */
void asa_secret_file_remove(const char *path);

/* The entry for (principal, kvno, enctype), or NULL. */
const struct asa_keytab_entry *asa_keytab_find(const struct asa_keytab *kt,
					       const char *principal,
					       krb5_kvno kvno,
					       krb5_enctype enctype);

/*
 * Whether 'holder' (a member's keytab) has, under every one of
 * 'principals', the key of every entry of 'reference' (the DC's keys, as
 * `samba-tool domain exportkeytab --principal=NAME$` reads them: the
 * reference's principal names do not matter, its kvnos and enctypes do).
 * 0 when all match; KRB5_KT_NOTFOUND when one is missing and
 * KRB5KRB_AP_ERR_BAD_INTEGRITY when a key differs (what a client would
 * get), the message naming principal, kvno and enctype.  Keys are
 * compared in constant time and never shown.
 */
krb5_error_code asa_keytab_check_keys(krb5_context ctx,
				      const struct asa_keytab *holder,
				      const struct asa_keytab *reference,
				      const char * const *principals,
				      size_t num_principals);

/* What a keytab holds, sorted by principal, newest kvno first. */
krb5_error_code asa_keytab_list(TALLOC_CTX *mem_ctx,
				const struct asa_keytab *keytab,
				struct asa_keytab_item **items,
				size_t *num_items);

/*
 * The distinct kvnos held for principal (NULL: any principal), newest
 * first: kvnos[0] is "Latest", kvnos[1] "Previous".
 */
krb5_error_code asa_keytab_kvnos(TALLOC_CTX *mem_ctx,
				 const struct asa_keytab *keytab,
				 const char *principal,
				 krb5_kvno **kvnos,
				 size_t *num_kvnos);

/*
 * The member code's malloc'd kvno list (n entries and a 0) as a talloc
 * copy on mem_ctx; plain is freed either way.
 */
krb5_error_code asa_kvnos_adopt(TALLOC_CTX *mem_ctx,
				krb5_kvno *plain,
				size_t n,
				krb5_kvno **kvnos,
				size_t *num_kvnos);

#endif /* _ASA_KEYTAB_H_ */
