/*
 * samba-asa: what the DC and a member both check of a keytab path; see
 * member_protocol.h.
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <limits.h>
#include <stdbool.h>
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
