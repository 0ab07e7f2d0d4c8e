/*
 * samba-asa-member: what the DC asked for (SSH_ORIGINAL_COMMAND, see
 * member_protocol.h), which of the member's keytabs it names, and how the
 * program speaks: to the DC on standard error, to the member's system
 * log.
 */
#ifndef _ASA_MEMBER_REQUEST_H_
#define _ASA_MEMBER_REQUEST_H_

#include <stdbool.h>

#include "member_config.h"

enum {
	EXIT_OK = 0,
	EXIT_REFUSED = 1,
	EXIT_FAILED = 2,
};

struct member_request {
	bool show;
	bool revoke;
	const char *path;	/* NULL: the only keytab */
	unsigned int protocol;
};

/* "samba-asa-member: ..." on standard error: what the DC shows. */
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A line in the system log (auth), with the DC's address. */
void member_log(int priority, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Parse the request (modified in place): "samba-asa member install"
 * (samba-asa under any directory) or "samba-asa-member [install]", then
 * --protocol=N, --show, --revoke, --keytab=PATH.  A version this member
 * does not serve is refused first, naming both; anything else unknown is
 * refused.  EXIT_OK, or EXIT_REFUSED after saying why.
 */
int parse_request(char *request, struct member_request *req);

/* The settings of the keytab the request names (path NULL: the only
 * one), or NULL after saying why. */
const struct member_keytab_conf *select_keytab(
	const struct member_conf *conf, const char *path);

#endif /* _ASA_MEMBER_REQUEST_H_ */
