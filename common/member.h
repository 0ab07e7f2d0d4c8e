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
 * Pushes to several members run at once (one ssh child each), each with a
 * timeout, so one unreachable member neither blocks nor fails the others.
 */
#ifndef _ASA_MEMBER_H_
#define _ASA_MEMBER_H_

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <talloc.h>
#include <krb5.h>

#include "keytab.h"

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
	/* local transport: the keytab's mode and group */
	mode_t local_mode;		/* 0: 0600 */
	gid_t local_gid;		/* (gid_t)-1: keep */
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

/* What one member did with one request. */
struct asa_member_result {
	const struct asa_member_url *url;
	int error;			/* 0, or an errno / krb5 code */
	char *message;			/* why it failed (the member's words) */
	krb5_kvno *kvnos;		/* kvnos it now holds, newest first */
	size_t num_kvnos;
	struct asa_keytab *keytab;	/* --show: the member's keytab */
};

/*
 * Install a keytab (serialised, see asa_keytab_serialize()) on every
 * member of urls[0..num_urls-1] at once; results[i] belongs to urls[i].
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

/* Fetch every member's current keytab at once (result->keytab). */
int asa_member_fetch(TALLOC_CTX *mem_ctx,
		     krb5_context ctx,
		     const struct asa_member_transport_options *options,
		     const struct asa_member_url * const *urls,
		     size_t num_urls,
		     struct asa_member_result **results);

#endif /* _ASA_MEMBER_H_ */
