/*
 * samba-asa: member URLs and how the DC reaches members; see member.h.
 *
 * Member URLs are parsed strictly: a URL ends up, piece by piece, in the
 * argv of ssh (user, host, port) and in the command line ssh sends to the
 * member (path), where a shell may read it if the member's key is not
 * restricted to the forced command.  So each piece may hold only the
 * characters it needs, and none a shell or ssh would interpret (spaces,
 * quotes, '$', '`', ';', '|', '&', '%', a leading '-', ...).
 */

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <sys/types.h>

#include <talloc.h>
#include <krb5.h>
#include <param.h>

#include "member.h"
#include "member_protocol.h"
#include "schedule.h"

#define MEMBER_URL_MAX		1024
#define MEMBER_USER_MAX		64
#define MEMBER_HOST_MAX		253
#define MEMBER_DEFAULT_TIMEOUT	30

/* ----------------------------------------------------------------------
 * URLs
 */

static bool url_fail(TALLOC_CTX *mem_ctx, char **why, const char *text,
		     const char *fmt, ...) PRINTF_ATTRIBUTE(4, 5);

static bool url_fail(TALLOC_CTX *mem_ctx, char **why, const char *text,
		     const char *fmt, ...)
{
	va_list ap;
	char *reason = NULL;

	if (why == NULL) {
		return false;
	}
	va_start(ap, fmt);
	reason = talloc_vasprintf(mem_ctx, fmt, ap);
	va_end(ap);
	/* The text may hold anything: show it only when it is printable. */
	if (text != NULL && strlen(text) <= MEMBER_URL_MAX) {
		const unsigned char *p;

		for (p = (const unsigned char *)text; *p != '\0'; p++) {
			if (*p < 0x20 || *p >= 0x7f) {
				break;
			}
		}
		if (*p == '\0') {
			*why = talloc_asprintf(mem_ctx, "member URL '%s': %s",
					       text, reason);
			TALLOC_FREE(reason);
			return false;
		}
	}
	*why = talloc_asprintf(mem_ctx, "member URL: %s", reason);
	TALLOC_FREE(reason);
	return false;
}

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

/* A user name: letters, digits, '.', '_', '-'; not starting with '-'. */
static bool user_valid(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > MEMBER_USER_MAX || s[0] == '-') {
		return false;
	}
	for (i = 0; i < len; i++) {
		if (!is_alnum(s[i]) && s[i] != '.' && s[i] != '_' &&
		    s[i] != '-') {
			return false;
		}
	}
	return true;
}

/* A DNS name or IPv4 address: labels of letters, digits, '-' and '_'
 * (seen in real names), separated by single dots; no label starts or ends
 * with '-'. */
static bool host_name_valid(const char *s, size_t len)
{
	size_t i, label = 0;

	if (len == 0 || len > MEMBER_HOST_MAX) {
		return false;
	}
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (c == '.') {
			if (label == 0 || s[i - 1] == '-') {
				return false;
			}
			label = 0;
			continue;
		}
		if (!is_alnum(c) && c != '-' && c != '_') {
			return false;
		}
		if (c == '-' && label == 0) {
			return false;
		}
		if (++label > 63) {
			return false;
		}
	}
	/* A trailing dot (absolute name) is refused: one canonical form. */
	return label != 0 && s[len - 1] != '-';
}


static bool prefix_ci(const char *s, const char *prefix)
{
	return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

static char *lower_dup(TALLOC_CTX *mem_ctx, const char *s, size_t len)
{
	char *d = talloc_strndup(mem_ctx, s, len);
	char *p;

	for (p = d; p != NULL && *p != '\0'; p++) {
		if (*p >= 'A' && *p <= 'Z') {
			*p = *p - 'A' + 'a';
		}
	}
	return d;
}

int asa_member_url_parse(TALLOC_CTX *mem_ctx,
			 const char *text,
			 struct asa_member_url **url,
			 char **why)
{
	struct asa_member_url *u = NULL;
	const char *auth = NULL;
	const char *auth_end = NULL;
	const char *host = NULL;
	const char *host_end = NULL;
	const char *at = NULL;
	const char *bad = NULL;
	const char *p = NULL;

	*url = NULL;
	if (why != NULL) {
		*why = NULL;
	}
	if (text == NULL || text[0] == '\0') {
		url_fail(mem_ctx, why, NULL, "empty");
		return EINVAL;
	}
	if (strlen(text) > MEMBER_URL_MAX) {
		url_fail(mem_ctx, why, NULL, "longer than %d characters",
			 MEMBER_URL_MAX);
		return EINVAL;
	}
	for (p = text; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c <= 0x20 || c >= 0x7f) {
			url_fail(mem_ctx, why, text, "a space, control or "
				 "non-ASCII character");
			return EINVAL;
		}
	}

	u = talloc_zero(mem_ctx, struct asa_member_url);
	if (u == NULL) {
		return ENOMEM;
	}

	if (prefix_ci(text, "local:")) {
		u->transport = ASA_MEMBER_LOCAL;
		if (!asa_member_path_valid(text + 6, &bad)) {
			url_fail(mem_ctx, why, text, "%s (local:/path)", bad);
			goto invalid;
		}
		u->path = talloc_strdup(u, text + 6);
		if (u->path == NULL) {
			goto nomem;
		}
		*url = u;
		return 0;
	}
	if (!prefix_ci(text, "ssh://")) {
		url_fail(mem_ctx, why, text, "not ssh://[user@]host[:port]/path "
			 "or local:/path");
		goto invalid;
	}
	u->transport = ASA_MEMBER_SSH;
	auth = text + 6;
	auth_end = strchr(auth, '/');
	if (auth_end == NULL) {
		url_fail(mem_ctx, why, text, "no keytab path after the host");
		goto invalid;
	}

	at = memchr(auth, '@', auth_end - auth);
	if (at != NULL) {
		if (!user_valid(auth, at - auth)) {
			url_fail(mem_ctx, why, text, "the user may hold only "
				 "letters, digits, '.', '_' and '-', not "
				 "first");
			goto invalid;
		}
		u->user = talloc_strndup(u, auth, at - auth);
		if (u->user == NULL) {
			goto nomem;
		}
		host = at + 1;
	} else {
		host = auth;
	}

	if (host < auth_end && host[0] == '[') {
		char addr[INET6_ADDRSTRLEN];
		struct in6_addr in6;
		const char *close = memchr(host, ']', auth_end - host);
		size_t len;

		if (close == NULL) {
			url_fail(mem_ctx, why, text, "no ']' after the IPv6 "
				 "address");
			goto invalid;
		}
		len = close - host - 1;
		if (len == 0 || len >= sizeof(addr)) {
			url_fail(mem_ctx, why, text, "not an IPv6 address in "
				 "[]");
			goto invalid;
		}
		memcpy(addr, host + 1, len);
		addr[len] = '\0';
		if (inet_pton(AF_INET6, addr, &in6) != 1) {
			url_fail(mem_ctx, why, text, "'%s' is not an IPv6 "
				 "address (no zone index either)", addr);
			goto invalid;
		}
		if (inet_ntop(AF_INET6, &in6, addr, sizeof(addr)) == NULL) {
			url_fail(mem_ctx, why, text, "not an IPv6 address");
			goto invalid;
		}
		u->host = talloc_strdup(u, addr);
		if (u->host == NULL) {
			goto nomem;
		}
		host_end = close + 1;
	} else {
		host_end = memchr(host, ':', auth_end - host);
		if (host_end == NULL) {
			host_end = auth_end;
		}
		if (memchr(host_end + 1, ':',
			   auth_end > host_end ? auth_end - host_end - 1 : 0)
		    != NULL) {
			url_fail(mem_ctx, why, text, "an IPv6 address goes in "
				 "brackets: ssh://[ADDRESS]:PORT/path");
			goto invalid;
		}
		if (!host_name_valid(host, host_end - host)) {
			url_fail(mem_ctx, why, text, "the host must be a DNS "
				 "name, an IPv4 address or [IPv6 address]");
			goto invalid;
		}
		u->host = lower_dup(u, host, host_end - host);
		if (u->host == NULL) {
			goto nomem;
		}
	}

	if (host_end < auth_end) {
		unsigned long port = 0;
		const char *d;

		if (host_end[0] != ':' || host_end + 1 == auth_end) {
			url_fail(mem_ctx, why, text, "the port must follow "
				 "the host after ':'");
			goto invalid;
		}
		for (d = host_end + 1; d < auth_end; d++) {
			if (*d < '0' || *d > '9') {
				url_fail(mem_ctx, why, text, "the port must be "
					 "a number");
				goto invalid;
			}
			port = port * 10 + (unsigned long)(*d - '0');
			if (port > 65535) {
				break;
			}
		}
		if (port == 0 || port > 65535) {
			url_fail(mem_ctx, why, text, "the port must be "
				 "1..65535");
			goto invalid;
		}
		u->port = (unsigned int)port;
	}

	if (!asa_member_path_valid(auth_end, &bad)) {
		url_fail(mem_ctx, why, text, "%s", bad);
		goto invalid;
	}
	u->path = talloc_strdup(u, auth_end);
	if (u->path == NULL) {
		goto nomem;
	}
	*url = u;
	return 0;

invalid:
	TALLOC_FREE(u);
	return EINVAL;
nomem:
	TALLOC_FREE(u);
	return ENOMEM;
}

char *asa_member_url_string(TALLOC_CTX *mem_ctx,
			    const struct asa_member_url *url)
{
	char *s = NULL;
	bool v6;

	if (url->transport == ASA_MEMBER_LOCAL) {
		return talloc_asprintf(mem_ctx, "local:%s", url->path);
	}
	v6 = strchr(url->host, ':') != NULL;
	s = talloc_asprintf(mem_ctx, "ssh://%s%s%s%s%s",
			    url->user != NULL ? url->user : "",
			    url->user != NULL ? "@" : "",
			    v6 ? "[" : "", url->host, v6 ? "]" : "");
	if (s != NULL && url->port != 0) {
		s = talloc_asprintf_append(s, ":%u", url->port);
	}
	if (s != NULL) {
		s = talloc_asprintf_append(s, "%s", url->path);
	}
	return s;
}

char *asa_member_url_name(TALLOC_CTX *mem_ctx,
			  const struct asa_member_url *url)
{
	if (url->transport == ASA_MEMBER_LOCAL) {
		return talloc_strdup(mem_ctx, "local");
	}
	return talloc_strdup(mem_ctx, url->host);
}

/* ----------------------------------------------------------------------
 * Options
 */

const char *asa_member_default_identity(TALLOC_CTX *mem_ctx,
					const char *private_dir)
{
	return talloc_asprintf(mem_ctx, "%s/asa/id_ed25519", private_dir);
}

const char *asa_member_default_known_hosts(TALLOC_CTX *mem_ctx,
					   const char *private_dir)
{
	return talloc_asprintf(mem_ctx, "%s/asa/known_hosts", private_dir);
}

int asa_member_transport_options_load(TALLOC_CTX *mem_ctx,
				      struct loadparm_context *lp_ctx,
				      struct asa_member_transport_options *o)
{
	const char *private_dir = lpcfg_private_dir(lp_ctx);
	const char *s = NULL;

	*o = (struct asa_member_transport_options) {
		.local_gid = (gid_t)-1,
	};

	s = lpcfg_parm_string(lp_ctx, NULL, "asa", "ssh identity");
	o->ssh_identity = (s != NULL)
		? talloc_strdup(mem_ctx, s)
		: asa_member_default_identity(mem_ctx, private_dir);
	s = lpcfg_parm_string(lp_ctx, NULL, "asa", "ssh known hosts");
	o->ssh_known_hosts = (s != NULL)
		? talloc_strdup(mem_ctx, s)
		: asa_member_default_known_hosts(mem_ctx, private_dir);
	if (o->ssh_identity == NULL || o->ssh_known_hosts == NULL) {
		return ENOMEM;
	}
	s = lpcfg_parm_string(lp_ctx, NULL, "asa", "ssh program");
	if (s != NULL) {
		o->ssh_program = talloc_strdup(mem_ctx, s);
		if (o->ssh_program == NULL) {
			return ENOMEM;
		}
	}
	s = lpcfg_parm_string(lp_ctx, NULL, "asa", "member command");
	if (s != NULL) {
		o->remote_command = talloc_strdup(mem_ctx, s);
		if (o->remote_command == NULL) {
			return ENOMEM;
		}
	}
	/* a duration as for asa:roll interval: "2m" is two minutes */
	s = lpcfg_parm_string(lp_ctx, NULL, "asa", "member timeout");
	if (s != NULL) {
		int64_t secs = 0;

		if (asa_schedule_parse_duration(s, &secs) != 0 || secs < 1 ||
		    secs > 86400) {
			return EINVAL;
		}
		o->timeout_seconds = (int)secs;
	}
	s = lpcfg_parm_string(lp_ctx, NULL, "asa", "member concurrency");
	if (s != NULL) {
		char *end = NULL;
		unsigned long n;

		errno = 0;
		n = strtoul(s, &end, 10);
		if (errno != 0 || end == s || *end != '\0' || s[0] == '-' ||
		    n < 1 || n > ASA_MEMBER_CONCURRENCY_MAX) {
			return EINVAL;
		}
		o->concurrency = (unsigned int)n;
	}
	return 0;
}


int asa_member_timeout(const struct asa_member_transport_options *o)
{
	return (o != NULL && o->timeout_seconds > 0) ? o->timeout_seconds
						     : MEMBER_DEFAULT_TIMEOUT;
}
