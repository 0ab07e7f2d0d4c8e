/*
 * samba-asa-member: the request and its keytab; see member_request.h.
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "member_config.h"
#include "member_protocol.h"
#include "member_request.h"

void say(const char *fmt, ...)
{
	va_list ap;

	fputs("samba-asa-member: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/*
 * What the member did, in its system log (auth facility), with the client
 * address sshd gives: an install or a refusal is worth a line on a host
 * whose keys it changes.
 */
void member_log(int priority, const char *fmt, ...)
{
	const char *client = getenv("SSH_CONNECTION");
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	openlog("samba-asa-member", LOG_PID, LOG_AUTH);
	if (client != NULL) {
		syslog(priority, "%s (from %.*s)", msg,
		       (int)strcspn(client, " "), client);
	} else {
		syslog(priority, "%s", msg);
	}
	closelog();
}

/* Text from the client, made safe to print: at most 200 bytes. */
static const char *printable(const char *s, char *buf, size_t size)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i + 1 < size && i < 200; i++) {
		unsigned char c = (unsigned char)s[i];

		buf[i] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
	}
	buf[i] = '\0';
	return buf;
}

static int refuse_request(const char *request)
{
	char buf[256];

	say("request '%s' ignored: this key may only run `samba-asa member "
	    "install [--show | --revoke]`", printable(request, buf,
						       sizeof(buf)));
	member_log(LOG_WARNING, "request '%s' ignored",
		   printable(request, buf, sizeof(buf)));
	return EXIT_REFUSED;
}

/*
 * The DC's protocol version first: a request of another version may hold
 * words this one does not know, and is refused as such, both versions
 * named, with our own on standard output for the DC.
 */
static int check_protocol(const char *request, struct member_request *req)
{
	const char *p = strstr(request, " " ASA_MEMBER_REQUEST_PROTOCOL);
	unsigned long v;
	char *end = NULL;

	req->protocol = 1;	/* samba-asa 0.1 sent none */
	if (p == NULL) {
		return EXIT_OK;
	}
	p += 1 + strlen(ASA_MEMBER_REQUEST_PROTOCOL);
	errno = 0;
	v = strtoul(p, &end, 10);
	if (end == p || errno != 0 || (*end != '\0' && *end != ' ' &&
				       *end != '\t') || v > 1000000) {
		return refuse_request(request);
	}
	req->protocol = (unsigned int)v;
	if (v >= ASA_MEMBER_PROTOCOL_MIN && v <= ASA_MEMBER_PROTOCOL) {
		return EXIT_OK;
	}
	printf("%s %d\n", ASA_MEMBER_REPLY_PROTOCOL, ASA_MEMBER_PROTOCOL);
	fflush(stdout);
	say("this member speaks samba-asa member protocol %d, the DC "
	    "protocol %u: "
	    "%s", ASA_MEMBER_PROTOCOL, req->protocol,
	    v > ASA_MEMBER_PROTOCOL ? "upgrade samba-asa-member on this "
	    "member" : "upgrade samba-asa on the DC");
	member_log(LOG_WARNING, "refused a request of protocol %u (this "
		   "member speaks %d)", req->protocol, ASA_MEMBER_PROTOCOL);
	return EXIT_REFUSED;
}

/* --revoke gives the DC no power it lacks: it can push any keys, and so
 * push the old ones out. */
int parse_request(char *request, struct member_request *req)
{
	char copy[4096];
	char *save = NULL;
	char *word = NULL;
	const char *base = NULL;
	int rc, i = 0, first_option = 3;

	if (strlen(request) >= sizeof(copy)) {
		return refuse_request(request);
	}
	rc = check_protocol(request, req);
	if (rc != EXIT_OK) {
		return rc;
	}
	memcpy(copy, request, strlen(request) + 1);
	for (word = strtok_r(request, " \t", &save); word != NULL;
	     word = strtok_r(NULL, " \t", &save), i++) {
		if (i == 0) {
			base = strrchr(word, '/');
			base = (base != NULL) ? base + 1 : word;
			if (strcmp(base, "samba-asa-member") == 0) {
				first_option = 1;
			} else if (strcmp(base, "samba-asa") != 0) {
				return refuse_request(copy);
			}
			continue;
		}
		if (i == 1 && first_option == 1 &&
		    strcmp(word, "install") == 0) {
			first_option = 2;
			continue;
		}
		if (i < first_option) {
			if (strcmp(word, i == 1 ? "member" : "install") != 0) {
				return refuse_request(copy);
			}
			continue;
		}
		if (strcmp(word, "--show") == 0) {
			req->show = true;
		} else if (strcmp(word, "--revoke") == 0) {
			req->revoke = true;
		} else if (strncmp(word, "--keytab=", 9) == 0) {
			req->path = word + 9;
		} else if (strncmp(word, ASA_MEMBER_REQUEST_PROTOCOL,
				   strlen(ASA_MEMBER_REQUEST_PROTOCOL)) != 0) {
			return refuse_request(copy);
		}
	}
	if (i < first_option || (req->show && req->revoke)) {
		return refuse_request(copy);
	}
	return EXIT_OK;
}

const struct member_keytab_conf *select_keytab(
	const struct member_conf *conf, const char *path)
{
	const struct member_keytab_conf *k = NULL;
	char buf[256];

	if (path == NULL && conf->num_keytabs == 1) {
		return &conf->keytabs[0];
	}
	if (path == NULL) {
		say("this member keeps %zu keytabs (%s): the request must "
		    "name one (--keytab=PATH)", conf->num_keytabs,
		    conf->file);
		return NULL;
	}
	k = member_conf_find(conf, path);
	if (k != NULL) {
		return k;
	}
	printable(path, buf, sizeof(buf));
	if (conf->file == NULL) {
		say("this member keeps the keytab at %s, not %s: fix the "
		    "member URL on the DC", conf->keytabs[0].path, buf);
	} else {
		say("this member keeps no keytab %s (%s has none such): fix "
		    "the member URL on the DC", buf, conf->file);
	}
	member_log(LOG_WARNING, "refused a request for keytab %s", buf);
	return NULL;
}
