/*
 * samba-asa: reaching the members of a server array.
 *
 * A member is addressed by a URL:
 *
 *   ssh://[user@]host[:port]/path/to/keytab   over OpenSSH, with the DC's
 *                                             own key, which the member
 *                                             authorises only for the
 *                                             forced command
 *                                             `samba-asa member install`
 *   local:/path/to/keytab                     a keytab on this host (a DC
 *                                             that is itself a member)
 *
 * Over SSH the DC runs `ssh ... samba-asa member install ...` with the
 * keytab on standard input; the member's forced command decides where the
 * keytab goes and with which mode and group (the member's own settings),
 * merges it (newest two kvnos per principal), and answers with the kvnos
 * it now holds.  `--show` asks it for its current keytab instead (for
 * `samba-asa verify`).  The local transport does the same in-process.
 *
 * Pushes to several members run at once (one ssh child each, at most
 * "asa:member concurrency" at a time), each with a timeout from its own
 * start, so one unreachable member neither blocks nor fails the others.
 *
 * Host keys: members' SSH host keys live in samba-asa's own known_hosts
 * ("asa:ssh known hosts").  Every contact checks the member's host key
 * (StrictHostKeyChecking=yes), except a push of the commands that bring
 * members in (accept_new_host_key: `create --member`, `create` run again,
 * `member add`), which records an unknown key (accept-new, its fingerprint
 * printed) but still refuses a changed one.  An
 * administrator who wants no trust on first use puts the member's host key
 * there beforehand (ssh-keyscan, compared out of band).
 *
 * Nothing secret reaches a child's argv or environment: the keytab goes
 * only through the ssh child's standard input, and children get a small
 * environment (PATH, HOME, USER, LOGNAME, LANG, LC_ALL, TZ).
 *
 * The files: member_url.c (URLs, transport options), member_proto.c and
 * member_proto.h (the request and the answer), member_install.c (the
 * member side, and the local transport), member.c (the ssh children).
 */
#ifndef _ASA_MEMBER_H_
#define _ASA_MEMBER_H_

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <talloc.h>
#include <krb5.h>

#include "keytab.h"

struct loadparm_context;

enum asa_member_transport {
	ASA_MEMBER_SSH,
	ASA_MEMBER_LOCAL,
};

struct asa_member_url {
	enum asa_member_transport transport;
	char *user;		/* ssh: NULL for ssh's default */
	char *host;		/* ssh: name or address (IPv6 without []) */
	unsigned int port;	/* ssh: 0 for ssh's default */
	char *path;		/* absolute keytab path on the member */
};

/*
 * Parse a member URL.  EINVAL, with *why (on mem_ctx) saying what is wrong
 * ("member URL 'x': ...") for anything else: another scheme, a relative
 * path, a port out of range, characters a shell or ssh would interpret.
 */
int asa_member_url_parse(TALLOC_CTX *mem_ctx,
			 const char *text,
			 struct asa_member_url **url,
			 char **why);

/* The canonical text of a URL (what the directory stores). */
char *asa_member_url_string(TALLOC_CTX *mem_ctx,
			    const struct asa_member_url *url);

/* A short name for a member: the host for ssh, "local" for local. */
char *asa_member_url_name(TALLOC_CTX *mem_ctx,
			  const struct asa_member_url *url);

/* How the DC reaches members; NULL fields take the defaults. */
struct asa_member_transport_options {
	const char *ssh_program;	/* default "ssh" */
	const char *ssh_identity;	/* the DC's key (-i); see
					 * asa_member_default_identity() */
	const char *ssh_known_hosts;	/* UserKnownHostsFile */
	const char *remote_command;	/* default "samba-asa" */
	int timeout_seconds;		/* per member; 0: 30 */
	unsigned int concurrency;	/* ssh children at once; 0: the
					 * default */
	/* local transport: the keytab's mode and group */
	mode_t local_mode;		/* 0: 0600 */
	gid_t local_gid;		/* (gid_t)-1: keep */
	/* StrictHostKeyChecking accept-new instead of yes: only for the
	 * first contact with a member being added (see above) */
	bool accept_new_host_key;
	/* a revocation: the member keeps of the ASA only the keys pushed
	 * (`member install --revoke`, asa_keytab_retire() with replace) */
	bool revoke;
	/* the member protocol version the DC says it speaks; 0: ours
	 * (ASA_MEMBER_PROTOCOL; another only for the tests) */
	unsigned int protocol;
};

/*
 * The DC's SSH key for members: "asa:ssh identity" in smb.conf, else
 * <private dir>/asa/id_ed25519.  known_hosts likewise ("asa:ssh known
 * hosts", else <private dir>/asa/known_hosts).
 */
const char *asa_member_default_identity(TALLOC_CTX *mem_ctx,
					const char *private_dir);
const char *asa_member_default_known_hosts(TALLOC_CTX *mem_ctx,
					   const char *private_dir);

/*
 * Fill options from smb.conf: "asa:ssh identity", "asa:ssh known hosts"
 * (defaults as above), "asa:ssh program", "asa:member command" (the
 * samba-asa the DC asks a member to run; the member's forced command
 * decides anyway), "asa:member timeout" (a duration: 30, 30s, 2m) and
 * "asa:member concurrency" (ssh children at once, 1 to 1024, default 16).
 * EINVAL for a timeout that is no duration from 1 s to 1 d, or a
 * concurrency out of range (see ASA_MEMBER_TIMEOUT_HELP).  The other fields
 * are zeroed (local keytabs 0600, group kept).  ENOMEM or 0.
 */
#define ASA_MEMBER_TIMEOUT_HELP "asa:member timeout in smb.conf: give " \
	"a duration from 1s to 1d (30, 30s, 2m, 1h; a plain number is " \
	"seconds); asa:member concurrency: a number from 1 to " \
	ASA_MEMBER_CONCURRENCY_MAX_TEXT

/*
 * How many ssh children a push or fetch runs at once ("asa:member
 * concurrency").  Each costs the DC an ssh process and a member's sshd a
 * login; 16 keeps a 2-core DC busy without queueing a fleet behind one
 * slow member (each child waits mostly on the network and the member).
 */
#define ASA_MEMBER_CONCURRENCY_DEFAULT	16
#define ASA_MEMBER_CONCURRENCY_MAX	1024
#define ASA_MEMBER_CONCURRENCY_MAX_TEXT	"1024"

int asa_member_transport_options_load(TALLOC_CTX *mem_ctx,
				      struct loadparm_context *lp_ctx,
				      struct asa_member_transport_options *options);

/* What one member did with one request. */
struct asa_member_result {
	const struct asa_member_url *url;
	int error;			/* 0, or an errno / krb5 code */
	char *message;			/* why it failed (the member's words) */
	krb5_kvno *kvnos;		/* kvnos it now holds, newest first */
	size_t num_kvnos;
	struct asa_keytab *keytab;	/* --show: the member's keytab */
	/* the member's report of its after install command: "ok" or
	 * "failed: WHY" (the keys are installed either way); NULL when
	 * it has none */
	char *after_install;
};

/*
 * Install a keytab (serialised, see asa_keytab_serialize()) on every
 * member of urls[0..num_urls-1], options->concurrency at a time (see
 * above); results[i] belongs to urls[i].
 * Returns 0 when the requests were made (each result says how its member
 * fared), or an errno when none could be (e.g. ssh missing).
 */
int asa_member_push(TALLOC_CTX *mem_ctx,
		    krb5_context ctx,
		    const struct asa_member_transport_options *options,
		    const struct asa_member_url * const *urls,
		    size_t num_urls,
		    const uint8_t *keytab,
		    size_t keytab_length,
		    struct asa_member_result **results);

/* Fetch every member's current keytab, as many at once as a push
 * (result->keytab). */
int asa_member_fetch(TALLOC_CTX *mem_ctx,
		     krb5_context ctx,
		     const struct asa_member_transport_options *options,
		     const struct asa_member_url * const *urls,
		     size_t num_urls,
		     struct asa_member_result **results);

/*
 * The argv of the ssh child for one member (NULL-terminated, on mem_ctx):
 * ssh -T -x -a -i ID -o BatchMode=yes ... [-l USER] [-p PORT] -- HOST
 * "samba-asa member install [--show|--revoke] --keytab=PATH" (--revoke
 * with options->revoke).  NULL on ENOMEM.
 */
char **asa_member_ssh_argv(TALLOC_CTX *mem_ctx,
			   const struct asa_member_transport_options *options,
			   const struct asa_member_url *url,
			   bool show);

/*
 * The member side.
 *
 * Which principals a keytab arriving on a member may hold.  With 'pinned'
 * (the member's --principal options, "NAME@REALM"): one account principal
 * NAME$@REALM fixes the account, and the rules below apply to the rest;
 * anything else pinned is the exact list of principals.  Without,
 * the rule is: every principal in one realm; exactly one account principal
 * (one component ending in '$', "NAME$@REALM"); every other one a service
 * principal (two or more components) that is not the realm's own
 * (krbtgt, kadmin, changepw); and when the member already holds a keytab,
 * the same account and realm as that keytab (a member serves one ASA: a
 * keytab of another account is a mistake or an attack, and changing
 * accounts means removing the old keytab by hand).  On success *expected
 * (on mem_ctx) lists the incoming keytab's principals and *account (may
 * be NULL with pinned principals) its account principal.  A refusal is
 * KRB5_PRINC_NOMATCH (or KRB5_KT_NOTFOUND for an empty keytab) with the
 * reason in the krb5 context's message.
 */
/* Whether name is an account principal "NAME$@REALM" (realm required). */
bool asa_member_principal_is_account(const char *name);

krb5_error_code asa_member_expected_principals(
	krb5_context ctx,
	TALLOC_CTX *mem_ctx,
	const struct asa_keytab *incoming,
	const struct asa_keytab *current,
	const char * const *pinned,
	size_t num_pinned,
	char ***expected,
	size_t *num_expected,
	const char **account);

/*
 * What `member install` and the local transport do: check the incoming
 * keytab (asa_member_expected_principals() against the keytab now at
 * path), install it (asa_keytab_install(): lock, drop the principals the
 * ASA no longer has (with 'replace': every key of the ASA but the incoming
 * ones), merge keeping the newest two kvnos, atomic write with mode and
 * gid), and return the kvnos now
 * held for the account principal (any principal when there is none),
 * newest first.  Errors as asa_keytab_install().
 */
krb5_error_code asa_member_install_keytab(krb5_context ctx,
					  TALLOC_CTX *mem_ctx,
					  const struct asa_keytab *incoming,
					  const char * const *pinned,
					  size_t num_pinned,
					  const char *path,
					  mode_t mode,
					  gid_t gid,
					  bool replace,
					  krb5_kvno **kvnos,
					  size_t *num_kvnos);

/* The seconds a member has to answer (options->timeout_seconds, else
 * the default of 30). */
int asa_member_timeout(const struct asa_member_transport_options *options);

/*
 * The local transport: install keytab (serialised; NULL: read the keytab
 * there instead, as a fetch) at url->path on this host, in-process, and
 * fill r as a member's answer would.
 */
void asa_member_local_run(krb5_context ctx, TALLOC_CTX *mem_ctx,
			  const struct asa_member_transport_options *options,
			  const struct asa_member_url *url,
			  const uint8_t *keytab, size_t keytab_length,
			  struct asa_member_result *r);

#include "member_proto.h"

#endif /* _ASA_MEMBER_H_ */
