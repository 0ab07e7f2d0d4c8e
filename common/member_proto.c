/*
 * samba-asa: the member protocol, the DC's end; see member_proto.h.
 */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include <talloc.h>
#include <krb5.h>

#include "keytab.h"
#include "member.h"

char *asa_member_request(TALLOC_CTX *mem_ctx,
			 const struct asa_member_transport_options *o,
			 const struct asa_member_url *url,
			 bool show)
{
	const char *remote = (o != NULL && o->remote_command != NULL)
		? o->remote_command : "samba-asa";

	return talloc_asprintf(mem_ctx, "%s member install %s%u%s%s "
			       "--keytab=%s", remote,
			       ASA_MEMBER_REQUEST_PROTOCOL,
			       asa_member_protocol(o),
			       show ? " --show" : "",
			       (!show && o != NULL && o->revoke) ?
			       " --revoke" : "", url->path);
}

unsigned int asa_member_protocol(
	const struct asa_member_transport_options *options)
{
	return (options != NULL && options->protocol != 0) ?
		options->protocol : ASA_MEMBER_PROTOCOL;
}


int asa_member_reply_parse(TALLOC_CTX *mem_ctx,
			   const char *reply,
			   size_t length,
			   krb5_kvno **pkvnos,
			   size_t *pnum_kvnos)
{
	const char *line = reply;
	const char *end = reply + length;
	size_t plen = strlen(ASA_MEMBER_REPLY_KVNOS);

	*pkvnos = NULL;
	*pnum_kvnos = 0;
	while (line != NULL && line < end) {
		const char *eol = memchr(line, '\n', end - line);
		const char *lend = (eol != NULL) ? eol : end;

		if ((size_t)(lend - line) >= plen &&
		    memcmp(line, ASA_MEMBER_REPLY_KVNOS, plen) == 0) {
			krb5_kvno *kvnos = NULL;
			size_t n = 0;
			const char *p = line + plen;

			kvnos = talloc_zero_array(mem_ctx, krb5_kvno,
						  (lend - p) / 2 + 1);
			if (kvnos == NULL) {
				return ENOMEM;
			}
			while (p < lend) {
				unsigned long v = 0;
				bool digits = false;

				while (p < lend && *p == ' ') {
					p++;
				}
				if (p == lend) {
					break;
				}
				while (p < lend && *p >= '0' && *p <= '9') {
					v = v * 10 + (unsigned long)(*p - '0');
					if (v > UINT32_MAX) {
						break;
					}
					digits = true;
					p++;
				}
				if (!digits || v == 0 || v > UINT32_MAX ||
				    (p < lend && *p != ' ')) {
					TALLOC_FREE(kvnos);
					return EPROTO;
				}
				kvnos[n++] = (krb5_kvno)v;
			}
			*pkvnos = kvnos;
			*pnum_kvnos = n;
			return 0;
		}
		line = (eol != NULL) ? eol + 1 : NULL;
	}
	return EPROTO;
}

/* What the child said on stderr, its lines joined with "; ", control
 * characters blanked. */
static const char *answer_stderr(TALLOC_CTX *mem_ctx, const char *err,
				  size_t err_length)
{
	char *s = NULL;
	size_t i = 0;

	if (err == NULL) {
		return NULL;
	}
	while (i < err_length) {
		const char *line = err + i;
		size_t len = 0, j;
		char *clean = NULL;

		while (i + len < err_length && line[len] != '\n') {
			len++;
		}
		i += len + 1;
		while (len > 0 && (line[len - 1] == '\r' ||
				   line[len - 1] == ' ')) {
			len--;
		}
		if (len == 0) {
			continue;
		}
		clean = talloc_strndup(mem_ctx, line, len);
		if (clean == NULL) {
			return s;
		}
		for (j = 0; clean[j] != '\0'; j++) {
			if ((unsigned char)clean[j] < 0x20 ||
			    clean[j] == 0x7f) {
				clean[j] = ' ';
			}
		}
		s = (s == NULL) ? clean
				: talloc_asprintf_append(s, "; %s", clean);
		if (s == NULL) {
			return NULL;
		}
	}
	return s;
}

void asa_member_answer(krb5_context ctx, TALLOC_CTX *mem_ctx,
		       const struct asa_member_transport_options *options,
		       const char *name,
		       bool show,
		       const struct asa_member_exit *e,
		       struct asa_member_result *r)
{
	const char *said = NULL;
	char version[256];
	char hook[512];
	int code;

	said = answer_stderr(mem_ctx, e->err, e->err_length);

	if (e->timed_out) {
		r->error = ETIMEDOUT;
		r->message = talloc_asprintf(mem_ctx, "member %s: no answer "
					     "within %d s (ssh stopped)%s%s",
					     name,
					     asa_member_timeout(options),
					     said != NULL ? ": " : "",
					     said != NULL ? said : "");
		return;
	}
	if (WIFSIGNALED(e->wait_status)) {
		r->error = EIO;
		r->message = talloc_asprintf(mem_ctx, "member %s: ssh died of "
					     "signal %d%s%s", name,
					     WTERMSIG(e->wait_status),
					     said != NULL ? ": " : "",
					     said != NULL ? said : "");
		return;
	}
	code = WEXITSTATUS(e->wait_status);
	if (code == 255) {
		/* ssh's own failure: the member was not reached. */
		r->error = EHOSTUNREACH;
		if (said != NULL &&
		    (strstr(said, "Permission denied") != NULL ||
		     strstr(said, "Host key verification failed") != NULL)) {
			r->error = EACCES;
		}
		r->message = talloc_asprintf(mem_ctx, "member %s: cannot reach "
					     "it over ssh: %s", name,
					     said != NULL ? said
							  : "ssh failed");
		return;
	}
	if (code != 0 &&
	    asa_member_version_mismatch((const char *)e->out, e->out_length,
					said, name,
					asa_member_protocol(options),
					version, sizeof(version))) {
		r->error = EPROTONOSUPPORT;
		r->message = talloc_strdup(mem_ctx, version);
		return;
	}
	if (code != 0) {
		/* The member refused (1) or could not do it (2). */
		r->error = (code == 1) ? EPERM : (code == 2) ? EINVAL : EIO;
		r->message = talloc_asprintf(mem_ctx, "member %s refused: %s",
					     name,
					     said != NULL ? said
					     : talloc_asprintf(mem_ctx,
						"exit status %d, no reason "
						"given", code));
		return;
	}
	if (e->out_overflow) {
		r->error = EMSGSIZE;
		r->message = talloc_asprintf(mem_ctx, "member %s: its answer "
					     "is larger than %d bytes",
					     name, ASA_MEMBER_ANSWER_MAX);
		return;
	}
	if (show) {
		krb5_error_code ret;

		ret = asa_keytab_parse(ctx, mem_ctx, e->out,
				       e->out_length, &r->keytab);
		if (ret != 0) {
			const char *msg = krb5_get_error_message(ctx, ret);

			r->error = ret;
			r->message = talloc_asprintf(mem_ctx, "member %s sent "
						     "no valid keytab: %s",
						     name, msg);
			krb5_free_error_message(ctx, msg);
			return;
		}
		asa_keytab_kvnos(mem_ctx, r->keytab, NULL, &r->kvnos,
				 &r->num_kvnos);
		return;
	}
	if (asa_member_answer_line((const char *)e->out, e->out_length,
				   ASA_MEMBER_REPLY_HOOK, hook,
				   sizeof(hook))) {
		r->after_install = talloc_strdup(mem_ctx, hook);
	}
	r->error = asa_member_reply_parse(mem_ctx, (const char *)e->out,
					  e->out_length, &r->kvnos,
					  &r->num_kvnos);
	if (r->error != 0) {
		r->message = talloc_asprintf(mem_ctx, "member %s answered "
					     "without the kvnos it holds (is "
					     "its forced command `samba-asa "
					     "member install`?)", name);
	}
}
