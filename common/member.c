/*
 * samba-asa: reaching the members of a server array; see member.h.
 *
 * Member URLs are parsed strictly: a URL ends up, piece by piece, in the
 * argv of ssh (user, host, port) and in the command line ssh sends to the
 * member (path), where a shell may read it if the member's key is not
 * restricted to the forced command.  So each piece may hold only the
 * characters it needs, and none a shell or ssh would interpret (spaces,
 * quotes, '$', '`', ';', '|', '&', '%', a leading '-', ...).
 *
 * Pushes run one ssh child per member, all at once, driven by one poll()
 * loop: the keytab goes down each child's standard input, its standard
 * output (the member's answer, or its keytab for a fetch) and standard
 * error (the member's or ssh's complaint) come back, and a child that has
 * not finished by its deadline is killed (SIGTERM, then SIGKILL).
 */

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <talloc.h>
#include <krb5.h>
#include <param.h>

#include "keys.h"
#include "keytab.h"
#include "member.h"
#include "schedule.h"
#include "trust.h"

#ifndef discard_const_p
#define discard_const_p(type, ptr) ((type *)((uintptr_t)(ptr)))
#endif

extern char **environ;

#define MEMBER_URL_MAX		1024
#define MEMBER_USER_MAX		64
#define MEMBER_HOST_MAX		253
#define MEMBER_DEFAULT_TIMEOUT	30
/* What we keep of a child's standard error. */
#define MEMBER_STDERR_MAX	(16 * 1024)
/* A fetched keytab and the reply around it. */
#define MEMBER_STDOUT_MAX	(ASA_KEYTAB_MAX_SIZE + 4096)
/* Between SIGTERM and SIGKILL for a child past its deadline. */
#define MEMBER_KILL_GRACE_MS	2000

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

/* An absolute path of letters, digits and "._+-,=@:/", with no empty,
 * "." or ".." component. */
static bool path_valid(const char *s, const char **bad)
{
	const char *p;
	const char *comp;

	*bad = NULL;
	if (s[0] != '/') {
		*bad = "the keytab path must be absolute";
		return false;
	}
	if (strlen(s) > PATH_MAX) {
		*bad = "the keytab path is too long";
		return false;
	}
	for (p = s; *p != '\0'; p++) {
		if (!is_alnum(*p) && strchr("._+-,=@:/", *p) == NULL) {
			*bad = "the keytab path may hold only letters, digits "
			       "and ._+-,=@:/";
			return false;
		}
	}
	comp = s + 1;
	while (true) {
		const char *end = strchr(comp, '/');
		size_t len = (end != NULL) ? (size_t)(end - comp)
					   : strlen(comp);

		if (len == 0 || (len == 1 && comp[0] == '.') ||
		    (len == 2 && comp[0] == '.' && comp[1] == '.')) {
			*bad = "the keytab path has an empty, '.' or '..' "
			       "component";
			return false;
		}
		if (end == NULL) {
			break;
		}
		comp = end + 1;
	}
	return true;
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
		if (!path_valid(text + 6, &bad)) {
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

	if (!path_valid(auth_end, &bad)) {
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
	return 0;
}

static int options_timeout(const struct asa_member_transport_options *o)
{
	return (o != NULL && o->timeout_seconds > 0) ? o->timeout_seconds
						     : MEMBER_DEFAULT_TIMEOUT;
}

char **asa_member_ssh_argv(TALLOC_CTX *mem_ctx,
			   const struct asa_member_transport_options *o,
			   const struct asa_member_url *url,
			   bool show)
{
	const char *args[40];
	size_t n = 0, i;
	char **argv = NULL;
	int timeout = options_timeout(o);
	int connect_timeout = timeout < 10 ? timeout : 10;
	const char *program = (o != NULL && o->ssh_program != NULL)
		? o->ssh_program : "ssh";
	const char *remote = (o != NULL && o->remote_command != NULL)
		? o->remote_command : "samba-asa";
	TALLOC_CTX *tmp = talloc_new(mem_ctx);

	if (tmp == NULL) {
		return NULL;
	}
	args[n++] = program;
	args[n++] = "-T";	/* no terminal */
	args[n++] = "-x";	/* no X11 forwarding */
	args[n++] = "-a";	/* no agent forwarding */
	if (o != NULL && o->ssh_identity != NULL) {
		args[n++] = "-i";
		args[n++] = o->ssh_identity;
		args[n++] = "-o";
		args[n++] = "IdentitiesOnly=yes";
	}
	args[n++] = "-o";
	args[n++] = "BatchMode=yes";
	args[n++] = "-o";
	args[n++] = "PasswordAuthentication=no";
	args[n++] = "-o";
	args[n++] = "KbdInteractiveAuthentication=no";
	if (o != NULL && o->ssh_known_hosts != NULL) {
		/* ssh splits an option's value at spaces (a list of
		 * files) unless it is quoted. */
		bool space = strchr(o->ssh_known_hosts, ' ') != NULL;

		args[n++] = "-o";
		args[n++] = talloc_asprintf(tmp, "UserKnownHostsFile=%s%s%s",
					    space ? "\"" : "",
					    o->ssh_known_hosts,
					    space ? "\"" : "");
	}
	args[n++] = "-o";
	args[n++] = (o != NULL && o->accept_new_host_key)
		? "StrictHostKeyChecking=accept-new"
		: "StrictHostKeyChecking=yes";
	args[n++] = "-o";
	args[n++] = talloc_asprintf(tmp, "ConnectTimeout=%d",
				    connect_timeout);
	/* A connection of our own each time: no master left behind. */
	args[n++] = "-o";
	args[n++] = "ControlMaster=no";
	args[n++] = "-o";
	args[n++] = "ControlPath=none";
	args[n++] = "-o";
	args[n++] = "ClearAllForwardings=yes";
	args[n++] = "-o";
	args[n++] = "LogLevel=ERROR";
	if (url->user != NULL) {
		args[n++] = "-l";
		args[n++] = url->user;
	}
	if (url->port != 0) {
		args[n++] = "-p";
		args[n++] = talloc_asprintf(tmp, "%u", url->port);
	}
	args[n++] = "--";
	args[n++] = url->host;
	args[n++] = talloc_asprintf(tmp, "%s member install%s%s --keytab=%s",
				    remote, show ? " --show" : "",
				    (!show && o->revoke) ?
				    " --revoke" : "", url->path);
	args[n] = NULL;

	argv = talloc_zero_array(mem_ctx, char *, n + 1);
	if (argv == NULL) {
		goto fail;
	}
	for (i = 0; i < n; i++) {
		if (args[i] == NULL) {
			goto fail;
		}
		argv[i] = talloc_strdup(argv, args[i]);
		if (argv[i] == NULL) {
			goto fail;
		}
	}
	TALLOC_FREE(tmp);
	return argv;
fail:
	TALLOC_FREE(argv);
	TALLOC_FREE(tmp);
	return NULL;
}

/* ----------------------------------------------------------------------
 * The member side: what a keytab may hold, and installing it
 */

static krb5_error_code refuse(krb5_context ctx, krb5_error_code code,
			      const char *fmt, ...) PRINTF_ATTRIBUTE(3, 4);

static krb5_error_code refuse(krb5_context ctx, krb5_error_code code,
			      const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;

	va_start(ap, fmt);
	msg = talloc_vasprintf(NULL, fmt, ap);
	va_end(ap);
	krb5_set_error_message(ctx, code, "%s", msg != NULL ? msg : "");
	TALLOC_FREE(msg);
	return code;
}

/* The account principal (one component ending in '$') of a keytab, or
 * NULL; *several when there is more than one. */
static krb5_error_code keytab_account(krb5_context ctx,
				      const struct asa_keytab *kt,
				      const char **account,
				      bool *several)
{
	size_t i;

	*account = NULL;
	*several = false;
	for (i = 0; kt != NULL && i < kt->num_entries; i++) {
		const char *name = kt->entries[i].principal;
		krb5_principal p = NULL;
		krb5_error_code ret;
		bool is_account;

		ret = krb5_parse_name_flags(ctx, name,
					    KRB5_PRINCIPAL_PARSE_REQUIRE_REALM,
					    &p);
		if (ret != 0) {
			return ret;
		}
		is_account = p->length == 1 && p->data[0].length > 1 &&
			p->data[0].data[p->data[0].length - 1] == '$';
		krb5_free_principal(ctx, p);
		if (!is_account) {
			continue;
		}
		if (*account != NULL && strcmp(*account, name) != 0) {
			*several = true;
		} else {
			*account = name;
		}
	}
	return 0;
}

static bool data_is(const krb5_data *d, const char *s)
{
	return d->length == strlen(s) && memcmp(d->data, s, d->length) == 0;
}

bool asa_member_principal_is_account(const char *name)
{
	const char *at = strrchr(name, '@');
	size_t n = at != NULL ? (size_t)(at - name) : strlen(name);

	return n > 1 && name[n - 1] == '$' && memchr(name, '/', n) == NULL &&
	       at != NULL && at[1] != '\0';
}

krb5_error_code asa_member_expected_principals(
	krb5_context ctx,
	TALLOC_CTX *mem_ctx,
	const struct asa_keytab *incoming,
	const struct asa_keytab *current,
	const char * const *pinned,
	size_t num_pinned,
	char ***pexpected,
	size_t *pnum_expected,
	const char **paccount)
{
	char **expected = NULL;
	size_t num = 0, i, j;
	const char *account = NULL;
	const char *old_account = NULL;
	krb5_data realm = { 0 };
	char *realm_copy = NULL;
	bool several = false;
	krb5_error_code ret;

	*pexpected = NULL;
	*pnum_expected = 0;
	if (paccount != NULL) {
		*paccount = NULL;
	}
	if (incoming == NULL || incoming->num_entries == 0) {
		return refuse(ctx, KRB5_KT_NOTFOUND,
			      "the keytab holds no keys");
	}

	expected = talloc_zero_array(mem_ctx, char *,
				     incoming->num_entries + 1);
	if (expected == NULL) {
		return ENOMEM;
	}
	for (i = 0; i < incoming->num_entries; i++) {
		const char *name = incoming->entries[i].principal;

		for (j = 0; j < num; j++) {
			if (strcmp(expected[j], name) == 0) {
				break;
			}
		}
		if (j == num) {
			expected[num++] = discard_const_p(char, name);
		}
	}

	ret = keytab_account(ctx, incoming, &account, &several);
	if (ret != 0) {
		goto done;
	}

	/*
	 * One pinned account principal (NAME$@REALM) fixes the account and
	 * leaves the rules below: its service principals change with every
	 * `spn add`.  Anything else pinned is the exact list.
	 */
	if (num_pinned > 0 &&
	    !(num_pinned == 1 && asa_member_principal_is_account(pinned[0]))) {
		ret = asa_keytab_check_principals(ctx, incoming, pinned,
						  num_pinned, false);
		goto done;
	}

	if (several) {
		ret = refuse(ctx, KRB5_PRINC_NOMATCH,
			     "the keytab holds keys of more than one account "
			     "(NAME$@REALM): a member serves one ASA");
		goto done;
	}
	if (account == NULL) {
		ret = refuse(ctx, KRB5_PRINC_NOMATCH,
			     "the keytab holds no account principal "
			     "(NAME$@REALM)");
		goto done;
	}
	for (i = 0; i < num; i++) {
		krb5_principal p = NULL;

		ret = krb5_parse_name_flags(ctx, expected[i],
					    KRB5_PRINCIPAL_PARSE_REQUIRE_REALM,
					    &p);
		if (ret != 0) {
			goto done;
		}
		if (i == 0) {
			realm_copy = talloc_strndup(expected, p->realm.data,
						    p->realm.length);
			if (realm_copy == NULL) {
				krb5_free_principal(ctx, p);
				ret = ENOMEM;
				goto done;
			}
			realm.data = realm_copy;
			realm.length = strlen(realm_copy);
		} else if (p->realm.length != realm.length ||
			   memcmp(p->realm.data, realm.data,
				  realm.length) != 0) {
			krb5_free_principal(ctx, p);
			ret = refuse(ctx, KRB5_PRINC_NOMATCH,
				     "the keytab holds keys of more than one "
				     "realm (%s and %s)", expected[0],
				     expected[i]);
			goto done;
		}
		if (p->length == 1 && strcmp(expected[i], account) != 0) {
			krb5_free_principal(ctx, p);
			ret = refuse(ctx, KRB5_PRINC_NOMATCH,
				     "the keytab holds keys for %s, which is "
				     "neither the account nor a service "
				     "principal", expected[i]);
			goto done;
		}
		if (p->length >= 1 &&
		    (data_is(&p->data[0], "krbtgt") ||
		     data_is(&p->data[0], "kadmin") ||
		     data_is(&p->data[0], "changepw") ||
		     data_is(&p->data[0], "K"))) {
			krb5_free_principal(ctx, p);
			ret = refuse(ctx, KRB5_PRINC_NOMATCH,
				     "the keytab holds keys for %s, a "
				     "principal of the KDC itself",
				     expected[i]);
			goto done;
		}
		krb5_free_principal(ctx, p);
	}

	if (num_pinned == 1 && strcmp(pinned[0], account) != 0) {
		ret = refuse(ctx, KRB5_PRINC_NOMATCH,
			     "this member accepts the keys of %s only "
			     "(--principal), not of %s", pinned[0], account);
		goto done;
	}

	/* The keytab already here decides which account this member
	 * serves. */
	ret = keytab_account(ctx, current, &old_account, &several);
	if (ret != 0) {
		goto done;
	}
	if (old_account != NULL && strcmp(old_account, account) != 0) {
		ret = refuse(ctx, KRB5_PRINC_NOMATCH,
			     "this member holds the keys of %s, not %s: it "
			     "serves one ASA (remove its keytab first to "
			     "change accounts)", old_account, account);
		goto done;
	}
	ret = 0;

done:
	if (ret != 0) {
		TALLOC_FREE(expected);
		return ret;
	}
	*pexpected = expected;
	*pnum_expected = num;
	if (paccount != NULL) {
		*paccount = account;
	}
	return 0;
}

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
					  size_t *num_kvnos)
{
	TALLOC_CTX *frame = talloc_new(mem_ctx);
	struct asa_keytab *current = NULL;
	struct asa_keytab *installed = NULL;
	char **expected = NULL;
	size_t num_expected = 0;
	const char *account = NULL;
	krb5_error_code ret;

	*kvnos = NULL;
	*num_kvnos = 0;
	if (frame == NULL) {
		return ENOMEM;
	}
	/*
	 * The account check reads the current keytab without the lock: two
	 * installs at once of two different accounts could both pass it,
	 * and the merge would then hold both; a DC never does that (a
	 * member URL belongs to one ASA), and the next install refuses.
	 */
	ret = asa_keytab_read_file(ctx, frame, path, true, &current);
	if (ret != 0) {
		goto done;
	}
	ret = asa_member_expected_principals(ctx, frame, incoming, current,
					     pinned, num_pinned, &expected,
					     &num_expected, &account);
	if (ret != 0) {
		goto done;
	}
	ret = asa_keytab_install(ctx, frame, incoming,
				 (const char * const *)expected, num_expected,
				 path, mode, gid, replace, &installed);
	if (ret != 0) {
		goto done;
	}
	ret = asa_keytab_kvnos(mem_ctx, installed, account, kvnos, num_kvnos);
done:
	TALLOC_FREE(frame);
	return ret;
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

/* ----------------------------------------------------------------------
 * Pushing and fetching: the ssh children and their poll loop
 */

struct member_job {
	const struct asa_member_url *url;
	struct asa_member_result *result;
	const char *name;
	bool show;
	pid_t pid;
	int in_fd;
	int out_fd;
	int err_fd;
	const uint8_t *in_data;
	size_t in_length;
	size_t in_done;
	uint8_t *out;		/* wiped when freed: a fetched keytab */
	size_t out_length;
	bool out_overflow;
	char *err;
	size_t err_length;
	struct timespec deadline;
	bool term_sent;
	struct timespec kill_at;
	bool timed_out;
	bool reaped;
	int status;
};

static int64_t ms_until(const struct timespec *when)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)(when->tv_sec - now.tv_sec) * 1000 +
	       (when->tv_nsec - now.tv_nsec) / 1000000;
}

static void after_ms(struct timespec *ts, int64_t ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

static void close_fd(int *fd)
{
	if (*fd != -1) {
		close(*fd);
		*fd = -1;
	}
}

/* The environment of a child: a few harmless variables, nothing else. */
static char **child_environ(TALLOC_CTX *mem_ctx)
{
	static const char *keep[] = {
		"PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "TZ",
	};
	char **env = talloc_zero_array(mem_ctx, char *,
				       sizeof(keep) / sizeof(keep[0]) + 1);
	size_t i, n = 0;

	if (env == NULL) {
		return NULL;
	}
	for (i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		const char *v = getenv(keep[i]);

		if (v == NULL) {
			if (strcmp(keep[i], "PATH") != 0) {
				continue;
			}
			v = "/usr/local/bin:/usr/bin:/bin";
		}
		env[n] = talloc_asprintf(env, "%s=%s", keep[i], v);
		if (env[n] == NULL) {
			TALLOC_FREE(env);
			return NULL;
		}
		n++;
	}
	return env;
}

static int job_spawn(struct member_job *job, char **argv, char **envp)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, dflt;
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 };
	int ret;

	if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 ||
	    pipe2(err, O_CLOEXEC) != 0) {
		ret = errno;
		goto fail;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	if (job->show) {
		/* Nothing to send: the child reads /dev/null. */
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null",
						 O_RDONLY, 0);
	} else {
		posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	}
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, err[1], 2);
	/* Nothing else of ours (a directory connection, another member's
	 * pipes) leaks into ssh. */
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	sigemptyset(&none);
	sigemptyset(&dflt);
	sigaddset(&dflt, SIGPIPE);
	sigaddset(&dflt, SIGCHLD);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &dflt);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
					POSIX_SPAWN_SETSIGDEF);
	ret = posix_spawnp(&job->pid, argv[0], &fa, &attr, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (ret != 0) {
		job->pid = -1;
		goto fail;
	}
	close(in[0]);
	close(out[1]);
	close(err[1]);
	if (job->show) {
		close(in[1]);
		job->in_fd = -1;
	} else {
		job->in_fd = in[1];
		fcntl(job->in_fd, F_SETFL,
		      fcntl(job->in_fd, F_GETFL) | O_NONBLOCK);
	}
	job->out_fd = out[0];
	job->err_fd = err[0];
	return 0;

fail:
	close_fd(&in[0]);
	close_fd(&in[1]);
	close_fd(&out[0]);
	close_fd(&out[1]);
	close_fd(&err[0]);
	close_fd(&err[1]);
	return ret;
}

static void job_write(struct member_job *job)
{
	while (job->in_done < job->in_length) {
		ssize_t n = write(job->in_fd, job->in_data + job->in_done,
				  job->in_length - job->in_done);

		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			if (errno == EAGAIN) {
				return;
			}
			/* EPIPE: ssh is gone; its exit status says why. */
			break;
		}
		job->in_done += (size_t)n;
	}
	close_fd(&job->in_fd);
}

static void job_read(TALLOC_CTX *mem_ctx, struct member_job *job, bool err)
{
	uint8_t buf[16384];
	int *fd = err ? &job->err_fd : &job->out_fd;
	ssize_t n;

	n = read(*fd, buf, sizeof(buf));
	if (n < 0) {
		if (errno == EINTR || errno == EAGAIN) {
			return;
		}
		n = 0;
	}
	if (n == 0) {
		close_fd(fd);
		return;
	}
	if (err) {
		size_t room = MEMBER_STDERR_MAX - job->err_length;
		size_t take = (size_t)n < room ? (size_t)n : room;

		if (take == 0) {
			return;
		}
		if (job->err == NULL) {
			job->err = talloc_zero_size(mem_ctx,
						    MEMBER_STDERR_MAX + 1);
			if (job->err == NULL) {
				return;
			}
		}
		memcpy(job->err + job->err_length, buf, take);
		job->err_length += take;
		return;
	}
	if (job->out_length + (size_t)n > MEMBER_STDOUT_MAX) {
		job->out_overflow = true;
		asa_memwipe(buf, sizeof(buf));
		return;
	}
	if (job->out == NULL) {
		job->out = talloc_zero_size(mem_ctx, MEMBER_STDOUT_MAX + 1);
		if (job->out == NULL) {
			job->out_overflow = true;
			asa_memwipe(buf, sizeof(buf));
			return;
		}
		asa_secret_wipe_on_free(job->out);
	}
	memcpy(job->out + job->out_length, buf, (size_t)n);
	job->out_length += (size_t)n;
	asa_memwipe(buf, sizeof(buf));
}

static void job_try_reap(struct member_job *job)
{
	pid_t got;

	if (job->reaped || job->pid <= 0) {
		return;
	}
	do {
		got = waitpid(job->pid, &job->status, WNOHANG);
	} while (got == -1 && errno == EINTR);
	if (got == job->pid || (got == -1 && errno == ECHILD)) {
		job->reaped = true;
	}
}

/* What the child said on stderr, its lines joined with "; ", control
 * characters blanked. */
static const char *job_stderr(TALLOC_CTX *mem_ctx, struct member_job *job)
{
	char *s = NULL;
	size_t i = 0;

	if (job->err == NULL) {
		return NULL;
	}
	while (i < job->err_length) {
		const char *line = job->err + i;
		size_t len = 0, j;
		char *clean = NULL;

		while (i + len < job->err_length && line[len] != '\n') {
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

static void job_finish(krb5_context ctx, TALLOC_CTX *mem_ctx,
		       const struct asa_member_transport_options *options,
		       struct member_job *job)
{
	struct asa_member_result *r = job->result;
	const char *said = NULL;
	int code;

	said = job_stderr(mem_ctx, job);

	if (job->timed_out) {
		r->error = ETIMEDOUT;
		r->message = talloc_asprintf(mem_ctx, "member %s: no answer "
					     "within %d s (ssh stopped)%s%s",
					     job->name,
					     options_timeout(options),
					     said != NULL ? ": " : "",
					     said != NULL ? said : "");
		return;
	}
	if (WIFSIGNALED(job->status)) {
		r->error = EIO;
		r->message = talloc_asprintf(mem_ctx, "member %s: ssh died of "
					     "signal %d%s%s", job->name,
					     WTERMSIG(job->status),
					     said != NULL ? ": " : "",
					     said != NULL ? said : "");
		return;
	}
	code = WEXITSTATUS(job->status);
	if (code == 255) {
		/* ssh's own failure: the member was not reached. */
		r->error = EHOSTUNREACH;
		if (said != NULL &&
		    (strstr(said, "Permission denied") != NULL ||
		     strstr(said, "Host key verification failed") != NULL)) {
			r->error = EACCES;
		}
		r->message = talloc_asprintf(mem_ctx, "member %s: cannot reach "
					     "it over ssh: %s", job->name,
					     said != NULL ? said
							  : "ssh failed");
		return;
	}
	if (code != 0) {
		/* The member refused (1) or could not do it (2). */
		r->error = (code == 1) ? EPERM : (code == 2) ? EINVAL : EIO;
		r->message = talloc_asprintf(mem_ctx, "member %s refused: %s",
					     job->name,
					     said != NULL ? said
					     : talloc_asprintf(mem_ctx,
						"exit status %d, no reason "
						"given", code));
		return;
	}
	if (job->out_overflow) {
		r->error = EMSGSIZE;
		r->message = talloc_asprintf(mem_ctx, "member %s: its answer "
					     "is larger than %d bytes",
					     job->name, MEMBER_STDOUT_MAX);
		return;
	}
	if (job->show) {
		krb5_error_code ret;

		ret = asa_keytab_parse(ctx, mem_ctx, job->out,
				       job->out_length, &r->keytab);
		if (ret != 0) {
			const char *msg = krb5_get_error_message(ctx, ret);

			r->error = ret;
			r->message = talloc_asprintf(mem_ctx, "member %s sent "
						     "no valid keytab: %s",
						     job->name, msg);
			krb5_free_error_message(ctx, msg);
			return;
		}
		asa_keytab_kvnos(mem_ctx, r->keytab, NULL, &r->kvnos,
				 &r->num_kvnos);
		return;
	}
	r->error = asa_member_reply_parse(mem_ctx, (const char *)job->out,
					  job->out_length, &r->kvnos,
					  &r->num_kvnos);
	if (r->error != 0) {
		r->message = talloc_asprintf(mem_ctx, "member %s answered "
					     "without the kvnos it holds (is "
					     "its forced command `samba-asa "
					     "member install`?)", job->name);
	}
}

/* One local member, in-process. */
static void local_run(krb5_context ctx, TALLOC_CTX *mem_ctx,
		      const struct asa_member_transport_options *options,
		      const struct asa_member_url *url,
		      const uint8_t *keytab, size_t keytab_length,
		      struct asa_member_result *r)
{
	TALLOC_CTX *frame = talloc_new(mem_ctx);
	struct asa_keytab *incoming = NULL;
	mode_t mode = (options != NULL && options->local_mode != 0)
		? options->local_mode : 0600;
	gid_t gid = (options != NULL) ? options->local_gid : (gid_t)-1;
	char *why = NULL;
	krb5_error_code ret;

	if (frame == NULL) {
		r->error = ENOMEM;
		return;
	}
	/* root writes keys only where no one else can plant a file */
	ret = asa_local_path_check(frame, url->path, &why);
	if (ret != 0) {
		r->error = ret;
		r->message = talloc_asprintf(mem_ctx, "member local:%s: %s",
					     url->path, why != NULL ? why :
					     strerror(ret));
		TALLOC_FREE(frame);
		return;
	}
	if (keytab == NULL) {
		ret = asa_keytab_read_file(ctx, mem_ctx, url->path, false,
					   &r->keytab);
		if (ret == 0) {
			ret = asa_keytab_kvnos(mem_ctx, r->keytab, NULL, &r->kvnos,
					       &r->num_kvnos);
		}
	} else {
		ret = asa_keytab_parse(ctx, frame, keytab, keytab_length,
				       &incoming);
		if (ret == 0) {
			ret = asa_member_install_keytab(ctx, mem_ctx, incoming,
							NULL, 0, url->path,
							mode, gid,
							options != NULL &&
							options->revoke,
							&r->kvnos,
							&r->num_kvnos);
		}
	}
	if (ret != 0) {
		const char *msg = krb5_get_error_message(ctx, ret);

		r->error = ret;
		r->message = talloc_asprintf(mem_ctx, "member local:%s: %s",
					     url->path, msg);
		krb5_free_error_message(ctx, msg);
	}
	TALLOC_FREE(frame);
}

static int member_run(TALLOC_CTX *mem_ctx,
		      krb5_context ctx,
		      const struct asa_member_transport_options *options,
		      const struct asa_member_url * const *urls,
		      size_t num_urls,
		      const uint8_t *keytab,
		      size_t keytab_length,
		      bool show,
		      struct asa_member_result **presults)
{
	TALLOC_CTX *frame = talloc_new(mem_ctx);
	struct asa_member_result *results = NULL;
	struct member_job *jobs = NULL;
	struct pollfd *pfds = NULL;
	struct sigaction ign = { .sa_handler = SIG_IGN }, old_pipe;
	char **envp = NULL;
	size_t i, num_ssh = 0, spawn_failed = 0;
	int first_spawn_error = 0;
	int timeout_ms = options_timeout(options) * 1000;
	int ret = 0;

	*presults = NULL;
	if (frame == NULL) {
		return ENOMEM;
	}
	results = talloc_zero_array(mem_ctx, struct asa_member_result,
				    num_urls + 1);
	jobs = talloc_zero_array(frame, struct member_job, num_urls + 1);
	pfds = talloc_zero_array(frame, struct pollfd, 3 * num_urls + 1);
	envp = child_environ(frame);
	if (results == NULL || jobs == NULL || pfds == NULL || envp == NULL) {
		TALLOC_FREE(results);
		TALLOC_FREE(frame);
		return ENOMEM;
	}

	/* A member that closes its end early must not kill us. */
	sigaction(SIGPIPE, &ign, &old_pipe);

	for (i = 0; i < num_urls; i++) {
		struct member_job *job = &jobs[i];
		char **argv = NULL;
		int err;

		results[i].url = urls[i];
		job->url = urls[i];
		job->result = &results[i];
		job->show = show;
		job->pid = -1;
		job->in_fd = job->out_fd = job->err_fd = -1;
		job->reaped = true;
		job->name = asa_member_url_name(frame, urls[i]);
		if (job->name == NULL) {
			ret = ENOMEM;
			goto done;
		}
		if (urls[i]->transport == ASA_MEMBER_LOCAL) {
			continue;
		}
		num_ssh++;
		argv = asa_member_ssh_argv(frame, options, urls[i], show);
		if (argv == NULL) {
			ret = ENOMEM;
			goto done;
		}
		job->in_data = keytab;
		job->in_length = keytab_length;
		err = job_spawn(job, argv, envp);
		if (err != 0) {
			results[i].error = err;
			results[i].message = talloc_asprintf(
				results, "member %s: cannot run %s: %s",
				job->name, argv[0], strerror(err));
			if (first_spawn_error == 0) {
				first_spawn_error = err;
			}
			spawn_failed++;
			continue;
		}
		job->reaped = false;
		after_ms(&job->deadline, timeout_ms);
	}

	/* Local members while the ssh children connect. */
	for (i = 0; i < num_urls; i++) {
		if (urls[i]->transport == ASA_MEMBER_LOCAL) {
			local_run(ctx, results, options, urls[i],
				  show ? NULL : keytab, keytab_length,
				  &results[i]);
		}
	}

	while (true) {
		size_t n = 0, running = 0;
		int64_t wait_ms = -1;
		int rc;

		for (i = 0; i < num_urls; i++) {
			struct member_job *job = &jobs[i];
			int64_t left;

			if (job->reaped) {
				continue;
			}
			if (job->in_fd == -1 && job->out_fd == -1 &&
			    job->err_fd == -1) {
				job_try_reap(job);
				if (job->reaped) {
					continue;
				}
			}
			running++;
			left = ms_until(job->term_sent ? &job->kill_at
						       : &job->deadline);
			if (left <= 0) {
				if (!job->term_sent) {
					job->timed_out = true;
					job->term_sent = true;
					kill(job->pid, SIGTERM);
					after_ms(&job->kill_at,
						 MEMBER_KILL_GRACE_MS);
					left = MEMBER_KILL_GRACE_MS;
				} else {
					kill(job->pid, SIGKILL);
					/* Pipes close, waitpid follows. */
					left = 50;
				}
			}
			if (job->in_fd == -1 && job->out_fd == -1 &&
			    job->err_fd == -1) {
				/* Exiting: look again soon. */
				left = left < 20 ? left : 20;
			}
			if (wait_ms < 0 || left < wait_ms) {
				wait_ms = left;
			}
			if (job->in_fd != -1) {
				pfds[n++] = (struct pollfd) {
					.fd = job->in_fd, .events = POLLOUT };
			}
			if (job->out_fd != -1) {
				pfds[n++] = (struct pollfd) {
					.fd = job->out_fd, .events = POLLIN };
			}
			if (job->err_fd != -1) {
				pfds[n++] = (struct pollfd) {
					.fd = job->err_fd, .events = POLLIN };
			}
		}
		if (running == 0) {
			break;
		}
		rc = poll(pfds, n, (int)(wait_ms < 0 ? 0 : wait_ms));
		if (rc < 0 && errno != EINTR) {
			ret = errno;
			goto done;
		}
		if (rc <= 0) {
			continue;
		}
		for (i = 0; i < n; i++) {
			size_t j;

			if (pfds[i].revents == 0) {
				continue;
			}
			for (j = 0; j < num_urls; j++) {
				struct member_job *job = &jobs[j];

				if (job->reaped) {
					continue;
				}
				if (pfds[i].fd == job->in_fd) {
					job_write(job);
				} else if (pfds[i].fd == job->out_fd) {
					job_read(frame, job, false);
				} else if (pfds[i].fd == job->err_fd) {
					job_read(frame, job, true);
				} else {
					continue;
				}
				break;
			}
		}
	}

	for (i = 0; i < num_urls; i++) {
		if (jobs[i].pid > 0) {
			job_finish(ctx, results, options, &jobs[i]);
		}
	}
	if (num_ssh > 0 && spawn_failed == num_ssh &&
	    num_ssh == num_urls) {
		ret = first_spawn_error;
	}

done:
	for (i = 0; i < num_urls; i++) {
		struct member_job *job = &jobs[i];

		close_fd(&job->in_fd);
		close_fd(&job->out_fd);
		close_fd(&job->err_fd);
		if (!job->reaped && job->pid > 0) {
			/* Only on an internal error: nothing left behind. */
			kill(job->pid, SIGKILL);
			while (waitpid(job->pid, NULL, 0) == -1 &&
			       errno == EINTR) {
			}
		}
	}
	sigaction(SIGPIPE, &old_pipe, NULL);
	TALLOC_FREE(frame);
	if (ret != 0 && ret != first_spawn_error) {
		TALLOC_FREE(results);
		return ret;
	}
	*presults = results;
	return ret;
}

int asa_member_push(TALLOC_CTX *mem_ctx,
		    krb5_context ctx,
		    const struct asa_member_transport_options *options,
		    const struct asa_member_url * const *urls,
		    size_t num_urls,
		    const uint8_t *keytab,
		    size_t keytab_length,
		    struct asa_member_result **results)
{
	if (keytab == NULL || keytab_length == 0) {
		*results = NULL;
		return EINVAL;
	}
	return member_run(mem_ctx, ctx, options, urls, num_urls, keytab,
			  keytab_length, false, results);
}

int asa_member_fetch(TALLOC_CTX *mem_ctx,
		     krb5_context ctx,
		     const struct asa_member_transport_options *options,
		     const struct asa_member_url * const *urls,
		     size_t num_urls,
		     struct asa_member_result **results)
{
	return member_run(mem_ctx, ctx, options, urls, num_urls, NULL, 0,
			  true, results);
}
