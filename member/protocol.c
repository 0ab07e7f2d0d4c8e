/*
 * samba-asa: what the DC and a member both check of a keytab path; see
 * member_protocol.h.
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "member_protocol.h"

bool asa_member_path_valid(const char *s, const char **bad)
{
	const char *comp = NULL;
	const char *p = NULL;

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
		bool alnum = (*p >= 'a' && *p <= 'z') ||
			     (*p >= 'A' && *p <= 'Z') ||
			     (*p >= '0' && *p <= '9');

		if (!alnum && strchr("._+-,=@:/", *p) == NULL) {
			*bad = "the keytab path may hold only letters, digits "
			       "and ._+-,=@:/";
			return false;
		}
	}
	for (comp = s + 1; comp != NULL; comp = p != NULL ? p + 1 : NULL) {
		size_t len;

		p = strchr(comp, '/');
		len = (p != NULL) ? (size_t)(p - comp) : strlen(comp);
		if (len == 0 || (len == 1 && comp[0] == '.') ||
		    (len == 2 && comp[0] == '.' && comp[1] == '.')) {
			*bad = "the keytab path has an empty, '.' or '..' "
			       "component";
			return false;
		}
	}
	return true;
}

bool asa_member_answer_line(const char *out, size_t length,
			    const char *prefix, char *value, size_t size)
{
	const char *line = out;
	const char *end = out + length;
	size_t plen = strlen(prefix);

	while (out != NULL && line < end) {
		const char *eol = memchr(line, '\n', (size_t)(end - line));
		const char *lend = (eol != NULL) ? eol : end;
		size_t n = 0;

		if ((size_t)(lend - line) >= plen &&
		    memcmp(line, prefix, plen) == 0) {
			line += plen;
			while (line < lend && (*line == ' ' || *line == '\t')) {
				line++;
			}
			for (; line < lend && n + 1 < size; line++, n++) {
				unsigned char c = (unsigned char)*line;

				value[n] = (c < 0x20 || c == 0x7f) ? '?'
								   : (char)c;
			}
			value[n] = '\0';
			return true;
		}
		if (eol == NULL) {
			break;
		}
		line = eol + 1;
	}
	return false;
}

unsigned int asa_member_answer_protocol(const char *out, size_t length)
{
	char value[16];
	char *end = NULL;
	unsigned long v;

	if (!asa_member_answer_line(out, length, ASA_MEMBER_REPLY_PROTOCOL,
				    value, sizeof(value))) {
		return 0;
	}
	v = strtoul(value, &end, 10);
	return (end != value && *end == '\0' && v <= 1000000)
		? (unsigned int)v : 0;
}

bool asa_member_version_mismatch(const char *out, size_t length,
				 const char *said, const char *name,
				 unsigned int dc_version,
				 char *message, size_t size)
{
	unsigned int member = asa_member_answer_protocol(out, length);

	/* Version 1 knew no --protocol: it refuses the request as such. */
	if (member == 0 && said != NULL &&
	    strstr(said, "ignored: this key may only run") != NULL &&
	    dc_version > 1) {
		member = 1;
	}
	if (member == 0 || member == dc_version) {
		return false;
	}
	snprintf(message, size, "member %s speaks samba-asa member protocol "
		 "%u, this DC %s %u: upgrade %s", name, member,
		 member < dc_version ? "needs" : "speaks", dc_version,
		 member < dc_version ? "samba-asa-member on the member"
				     : "samba-asa on this DC");
	return true;
}
