/*
 * samba-asa: the member protocol, what the DC (common/member.c) and
 * samba-asa-member say to each other over ssh.
 *
 * The DC runs, as the ssh command (which the member's forced command
 * receives in SSH_ORIGINAL_COMMAND, never as its own command line):
 *
 *   samba-asa member install --protocol=N [--show | --revoke] --keytab=PATH
 *
 * with the keytab on standard input.  The member answers on standard
 * output, one item a line:
 *
 *   installed PATH (mode 0640, group www-data)
 *   kvnos: 5 4                 the kvnos now held, newest first
 *   protocol: M                the member's own version
 *   after install: ok | failed: WHY
 *                              the member's hook (when it has one)
 *
 * or, with --show, the keytab's bytes.  Exit status 0, 1 refused, 2 could
 * not do it; the reason on standard error.
 *
 * Versions: 1 is the protocol of samba-asa 0.1 (no --protocol, no
 * protocol: line).  2 adds the version exchange and the hook report.  A
 * member serves requests from ASA_MEMBER_PROTOCOL_MIN to
 * ASA_MEMBER_PROTOCOL; for any other it refuses, naming both versions,
 * and still prints its protocol: line so that the DC can say which side
 * to upgrade.  Both are build-time constants (-D) so that a test can
 * build a member of another version.
 */
#ifndef _ASA_MEMBER_PROTOCOL_H_
#define _ASA_MEMBER_PROTOCOL_H_

#ifndef ASA_MEMBER_PROTOCOL
#define ASA_MEMBER_PROTOCOL 2
#endif
#ifndef ASA_MEMBER_PROTOCOL_MIN
#define ASA_MEMBER_PROTOCOL_MIN 1
#endif

#define ASA_MEMBER_REQUEST_PROTOCOL "--protocol="
#define ASA_MEMBER_REPLY_KVNOS "kvnos:"
#define ASA_MEMBER_REPLY_PROTOCOL "protocol:"
#define ASA_MEMBER_REPLY_HOOK "after install:"

#include <stdbool.h>
#include <stddef.h>

/*
 * Whether s is a keytab path a member URL may name: absolute, of letters,
 * digits and "._+-,=@:/", no empty, "." or ".." component, at most
 * PATH_MAX bytes.  Nothing in it needs quoting in a shell or ssh command
 * line.  *bad says what is wrong.
 */
bool asa_member_path_valid(const char *s, const char **bad);

/*
 * The rest of the line of an answer (out, length bytes) that starts with
 * prefix, white space before it skipped and control characters made '?',
 * in value (NUL-terminated, cut at size - 1).  false when there is none.
 */
bool asa_member_answer_line(const char *out, size_t length,
			    const char *prefix, char *value, size_t size);

/* The member's protocol version from its answer's "protocol:" line; 0
 * when it gives none (a member of version 1). */
unsigned int asa_member_answer_protocol(const char *out, size_t length);

/*
 * What a DC that speaks dc_version says of a failed answer: when the
 * member (name) speaks another version (its protocol: line, or the
 * refusal of a version 1 member, whose words are in said), why in
 * message, naming both versions, and true.
 */
bool asa_member_version_mismatch(const char *out, size_t length,
				 const char *said, const char *name,
				 unsigned int dc_version,
				 char *message, size_t size);

#endif /* _ASA_MEMBER_PROTOCOL_H_ */
