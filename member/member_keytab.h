/*
 * samba-asa: the keytab logic a member runs, in C with libc and MIT
 * Kerberos only, so that samba-asa-member builds on hosts without Samba.
 * The DC's samba-asa compiles these same files (common/keytab.c and
 * common/member.c wrap them in talloc), so there is one reader, one merge
 * and one writer.
 *
 * Reading: keytabs are parsed from memory by a small defensive reader of
 * the version 2 file format (what MIT's FILE: keytab writes), bounded in
 * size and entries, refusing anything it does not fully understand.  The
 * bytes come from another host over SSH; MIT's reader works on a FILE*
 * only, so the untrusted bytes would have to be on disk first.  Writing
 * goes through MIT's public krb5_kt_* API.
 *
 * Memory: keytabs returned here are malloc()ed; asa_kt_free() wipes their
 * keys (explicit_bzero) and frees them.  Functions that only read a
 * keytab take any struct asa_keytab, however it was allocated.
 *
 * Errors are krb5_error_code values (errno values included), the text set
 * on the krb5 context (krb5_get_error_message()).  Nothing here prints
 * key bytes.
 */
#ifndef _ASA_MEMBER_KEYTAB_H_
#define _ASA_MEMBER_KEYTAB_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <krb5.h>

/* Bounds on what asa_kt_parse() accepts from untrusted bytes. */
#define ASA_KEYTAB_MAX_SIZE (1024 * 1024)
#define ASA_KEYTAB_MAX_ENTRIES 4096
#define ASA_KEYTAB_MAX_COMPONENTS 16

/* asa_kt_write_file(): replaced, but perhaps not durably. */
#define ASA_KEYTAB_ERR_NOT_DURABLE ((krb5_error_code)0x41534101)

/* Members keep the newest this many kvnos of each principal. */
#define ASA_KEYTAB_KEEP_KVNOS 2

struct asa_keytab_entry {
	char *principal;	/* unparsed, with realm */
	krb5_kvno kvno;
	krb5_enctype enctype;
	uint32_t timestamp;
	size_t key_length;
	uint8_t *key;		/* wiped when freed */
};

struct asa_keytab {
	size_t num_entries;
	struct asa_keytab_entry *entries;
};

/* explicit_bzero(), for buffers that held keys. */
void asa_kt_wipe(void *ptr, size_t length);

/* An empty malloc()ed keytab with room for num entries, or NULL. */
struct asa_keytab *asa_kt_alloc(size_t num);

/* Wipe the keys of a malloc()ed keytab and free it (NULL is fine). */
void asa_kt_free(struct asa_keytab *kt);

/*
 * Parse a version 2 keytab from untrusted bytes.  Refuses (KRB5_KT_FORMAT,
 * with a message saying what is wrong) anything but a well-formed keytab:
 * a wrong version, a record running past the end, more than
 * ASA_KEYTAB_MAX_ENTRIES entries or ASA_KEYTAB_MAX_SIZE bytes, kvno 0, an
 * enctype MIT does not know (KRB5_BAD_ENCTYPE), a key of the wrong length
 * (KRB5_BAD_KEYSIZE).  An empty keytab (version only) has zero entries.
 */
krb5_error_code asa_kt_parse(krb5_context ctx, const uint8_t *data,
			     size_t length, struct asa_keytab **keytab);

/* Read everything from fd (at most ASA_KEYTAB_MAX_SIZE bytes) and parse
 * it; ETIMEDOUT when the end of input has not come within 'seconds' (0: no
 * limit): a stalled sender must not hold the reader. */
krb5_error_code asa_kt_read_fd(krb5_context ctx, int fd,
			       unsigned int seconds,
			       struct asa_keytab **keytab);

/* Read and parse a keytab file (a regular file, never through a symbolic
 * link).  A missing file is an empty keytab when missing_ok, else ENOENT. */
krb5_error_code asa_kt_read_file(krb5_context ctx, const char *path,
				 bool missing_ok, struct asa_keytab **keytab);

/* Whether a and b hold the same key bytes (compared in constant time). */
bool asa_kt_keys_equal(const struct asa_keytab_entry *a,
		       const struct asa_keytab_entry *b);

/* Order of a listing: by principal, newest kvno first. */
int asa_kt_entry_cmp(const struct asa_keytab_entry *a,
		     const struct asa_keytab_entry *b);

/*
 * Check that every entry belongs to one of the expected principals
 * (compared exactly, in unparsed form): KRB5_PRINC_NOMATCH names the first
 * stranger.  An empty keytab is refused (KRB5_KT_NOTFOUND), and so, with
 * require_all, is one lacking an expected principal.
 */
krb5_error_code asa_kt_check_principals(krb5_context ctx,
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
krb5_error_code asa_kt_merge(krb5_context ctx,
			     const struct asa_keytab *current,
			     const struct asa_keytab *incoming,
			     unsigned int keep_kvnos,
			     struct asa_keytab **merged);

/*
 * What a member keeps of 'current' when 'incoming' arrives, before the
 * merge.  A push carries the ASA's complete set of principals.  A
 * principal of 'current' is the ASA's when the push carries it, or when
 * one of its keys is one of the ASA's (same kvno, enctype and key bytes
 * as a key the push carries or the member holds under a principal the
 * push carries: every name of an account has the account's keys).  The
 * ASA's principals the push does not carry are dropped (an SPN taken off
 * the ASA); with 'replace', every entry of the ASA's principals is
 * dropped, so that the member keeps of the ASA only what the push carries
 * (a revocation).  Entries of other principals stay.  *num_dropped
 * (optional) counts the entries left out.
 */
krb5_error_code asa_kt_retire(krb5_context ctx,
			      const struct asa_keytab *current,
			      const struct asa_keytab *incoming,
			      bool replace,
			      struct asa_keytab **kept,
			      size_t *num_dropped);

/* The distinct kvnos held for principal (NULL: any), newest first, in a
 * malloc()ed array (*kvnos NULL when there are none). */
krb5_error_code asa_kt_kvnos(const struct asa_keytab *keytab,
			     const char *principal,
			     krb5_kvno **kvnos,
			     size_t *num_kvnos);

/* Write keytab into the new, empty file fd at path: the version bytes,
 * then the entries through MIT's FILE: keytab. */
krb5_error_code asa_kt_write_new(krb5_context ctx, int fd, const char *path,
				 const struct asa_keytab *keytab);

/*
 * Write a keytab to path atomically: a temporary file in the same
 * directory (created 0600), written through MIT's FILE: keytab, given its
 * owner uid and group gid ((uid_t)-1 / (gid_t)-1: the creator's), its
 * final mode (0600, or 0640 with a group) and fsync()ed, renamed over
 * path, and the directory fsync()ed.  A keytab of more than
 * ASA_KEYTAB_MAX_SIZE bytes is refused with EFBIG.  On any failure path is
 * untouched and the temporary file removed, but for
 * ASA_KEYTAB_ERR_NOT_DURABLE: the new keytab is in place, only the
 * directory could not be flushed.
 */
krb5_error_code asa_kt_write_file(krb5_context ctx,
				  const struct asa_keytab *keytab,
				  const char *path,
				  mode_t mode,
				  uid_t uid,
				  gid_t gid);

/*
 * Install 'incoming' at path: check that it holds keys for every expected
 * principal and nothing else, then, holding an exclusive lock (flock() on
 * PATH.lock, released by the kernel if the process dies), read the
 * current keytab (missing: empty), drop what asa_kt_retire() drops, merge
 * keeping the newest ASA_KEYTAB_KEEP_KVNOS kvnos, and write the result
 * with asa_kt_write_file().  *installed (optional) gets the keytab now in
 * place.
 */
krb5_error_code asa_kt_install(krb5_context ctx,
			       const struct asa_keytab *incoming,
			       const char * const *expected,
			       size_t num_expected,
			       const char *path,
			       mode_t mode,
			       uid_t uid,
			       gid_t gid,
			       bool replace,
			       struct asa_keytab **installed);

/* Whether name is an account principal "NAME$@REALM" (realm required). */
bool asa_kt_principal_is_account(const char *name);

/*
 * Which principals a keytab arriving on a member may hold.  With 'pinned'
 * (the member's principal settings, "NAME@REALM"): one account principal
 * NAME$@REALM fixes the account, and the rules below apply to the rest;
 * anything else pinned is the exact list of principals.  Without, every
 * principal in one realm; exactly one account principal (one component
 * ending in '$'); every other one a service principal that is not the
 * realm's own (krbtgt, kadmin, changepw); and when the member already
 * holds a keytab, the same account as that keytab (a member keytab serves
 * one ASA).  On success *expected (malloc()ed; its strings point into
 * incoming) lists the incoming principals and *account (may be NULL with
 * pinned principals) its account principal.  A refusal is
 * KRB5_PRINC_NOMATCH (KRB5_KT_NOTFOUND for an empty keytab).
 */
krb5_error_code asa_kt_expected_principals(krb5_context ctx,
					   const struct asa_keytab *incoming,
					   const struct asa_keytab *current,
					   const char * const *pinned,
					   size_t num_pinned,
					   const char ***expected,
					   size_t *num_expected,
					   const char **account);

/*
 * What a member does with a keytab from the DC: check it against the
 * keytab now at path (asa_kt_expected_principals()), install it
 * (asa_kt_install()), and return the kvnos now held for the account
 * principal (any principal when there is none), newest first, malloc()ed.
 */
krb5_error_code asa_kt_member_install(krb5_context ctx,
				      const struct asa_keytab *incoming,
				      const char * const *pinned,
				      size_t num_pinned,
				      const char *path,
				      mode_t mode,
				      uid_t uid,
				      gid_t gid,
				      bool replace,
				      krb5_kvno **kvnos,
				      size_t *num_kvnos);

#endif /* _ASA_MEMBER_KEYTAB_H_ */
