/*
 * samba-asa: the member protocol, the DC's end.
 *
 * The DC asks a member, over ssh, to run its forced command
 *
 *	samba-asa member install --protocol=N [--show|--revoke] --keytab=PATH
 *
 * (the request), with the keytab on standard input (nothing with
 * --show).  The member answers on standard output and with its exit
 * status (the answer): 0 and the lines below, or 1 (refused) or 2 (could
 * not) with its reason on standard error; --show answers with its keytab
 * itself.  ssh's own failures exit 255.  The member's end, and the
 * version rule: member/member_protocol.h.
 */
#ifndef _ASA_MEMBER_PROTO_H_
#define _ASA_MEMBER_PROTO_H_

#include <stdbool.h>
#include <stdint.h>
#include <talloc.h>
#include <krb5.h>

#include "keytab.h"
#include "member_protocol.h"

struct asa_member_url;
struct asa_member_transport_options;
struct asa_member_result;

/*
 * The command line the DC sends to a member (what ssh runs there, unless
 * the member's forced command overrides it); show asks for its keytab,
 * options->revoke adds --revoke to an install.  NULL on ENOMEM.
 */
char *asa_member_request(TALLOC_CTX *mem_ctx,
			 const struct asa_member_transport_options *options,
			 const struct asa_member_url *url,
			 bool show);

/* The protocol version options say the DC speaks (options->protocol,
 * else ASA_MEMBER_PROTOCOL). */
unsigned int asa_member_protocol(
	const struct asa_member_transport_options *options);

/*
 * The answer of `member install` on its standard output, which
 * asa_member_push() parses back: a line "installed PATH", then a line
 * "kvnos: N N ..." (newest first), "protocol: N" and "after install:
 * REPORT".  Anything else on the line is ignored.
 */

/* The most of a member's standard output the DC reads: a fetched keytab
 * and the reply around it. */
#define ASA_MEMBER_ANSWER_MAX	(ASA_KEYTAB_MAX_SIZE + 4096)

/* Parse a reply: the kvnos line into *kvnos (on mem_ctx).  EPROTO when
 * there is none or it is malformed. */
int asa_member_reply_parse(TALLOC_CTX *mem_ctx,
			   const char *reply,
			   size_t length,
			   krb5_kvno **kvnos,
			   size_t *num_kvnos);

/* How the ssh child of one request ended. */
struct asa_member_exit {
	bool timed_out;		/* stopped at its deadline */
	int wait_status;	/* waitpid()'s, when it was not */
	const uint8_t *out;	/* standard output: the answer */
	size_t out_length;
	bool out_overflow;	/* more than ASA_MEMBER_ANSWER_MAX */
	const char *err;	/* standard error: ssh's or the member's */
	size_t err_length;
};

/*
 * Read the answer of member 'name' to a push (or a fetch, show) into r:
 * r->error and r->message (in the member's words, control characters
 * blanked; EPROTONOSUPPORT naming both versions for a member of another
 * protocol version) when it failed or answered nonsense, else r->kvnos,
 * r->after_install (and r->keytab for a fetch).  Allocates on mem_ctx.
 */
void asa_member_answer(krb5_context ctx, TALLOC_CTX *mem_ctx,
		       const struct asa_member_transport_options *options,
		       const char *name,
		       bool show,
		       const struct asa_member_exit *e,
		       struct asa_member_result *r);

#endif /* _ASA_MEMBER_PROTO_H_ */
