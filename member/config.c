/*
 * samba-asa-member: the member's own settings; see member_config.h.
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "member_config.h"
#include "member_protocol.h"

#define MEMBER_CONF_MAX_SIZE (64 * 1024)

static bool fail(char *err, size_t err_size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static bool fail(char *err, size_t err_size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, err_size, fmt, ap);
	va_end(ap);
	return false;
}

bool member_path_valid(const char *path)
{
	const char *bad = NULL;

	return asa_member_path_valid(path, &bad);
}

bool member_seconds_parse(const char *text, unsigned int *seconds)
{
	char *end = NULL;
	unsigned long v;

	if (text[0] < '0' || text[0] > '9') {
		return false;
	}
	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno != 0 || *end != '\0' || v == 0 || v > MEMBER_TIMEOUT_MAX) {
		return false;
	}
	*seconds = (unsigned int)v;
	return true;
}

void member_conf_free(struct member_conf *conf)
{
	size_t i, j;

	for (i = 0; i < conf->num_keytabs; i++) {
		struct member_keytab_conf *k = &conf->keytabs[i];

		free(k->path);
		free(k->owner);
		free(k->group);
		for (j = 0; j < k->num_principals; j++) {
			free(k->principals[j]);
		}
		for (j = 0; k->hook[j] != NULL; j++) {
			free(k->hook[j]);
		}
	}
	free(conf->file);
	memset(conf, 0, sizeof(*conf));
}

const struct member_keytab_conf *member_conf_find(
	const struct member_conf *conf, const char *path)
{
	size_t i;

	for (i = 0; i < conf->num_keytabs; i++) {
		if (strcmp(conf->keytabs[i].path, path) == 0) {
			return &conf->keytabs[i];
		}
	}
	return NULL;
}

static bool set_string(char **dst, const char *value)
{
	free(*dst);
	*dst = strdup(value);
	return *dst != NULL;
}

/* "after install": an absolute program and its arguments, split on
 * white space (no shell: nothing is expanded or quoted). */
static bool set_hook(struct member_keytab_conf *k, const char *value,
		     char *err, size_t err_size)
{
	char *copy = strdup(value);
	char *save = NULL;
	char *word = NULL;
	size_t n = 0;
	bool ok = true;

	if (copy == NULL) {
		return fail(err, err_size, "out of memory");
	}
	for (n = 0; k->hook[n] != NULL; n++) {
		free(k->hook[n]);
		k->hook[n] = NULL;
	}
	n = 0;
	for (word = strtok_r(copy, " \t", &save); word != NULL && ok;
	     word = strtok_r(NULL, " \t", &save)) {
		if (n == MEMBER_MAX_HOOK_ARGS) {
			ok = fail(err, err_size, "more than %d words",
				  MEMBER_MAX_HOOK_ARGS);
			break;
		}
		k->hook[n] = strdup(word);
		if (k->hook[n++] == NULL) {
			ok = fail(err, err_size, "out of memory");
		}
	}
	free(copy);
	if (ok && (n == 0 || k->hook[0][0] != '/')) {
		ok = fail(err, err_size, "give the program's absolute path "
			  "(it runs without a shell or PATH search)");
	}
	return ok;
}

static bool set_option(struct member_conf *conf,
		       struct member_keytab_conf *k, const char *key,
		       const char *value, char *err, size_t err_size)
{
	if (k == NULL) {
		if (strcasecmp(key, "read timeout") == 0) {
			return member_seconds_parse(value,
						    &conf->read_timeout) ||
			       fail(err, err_size, "give seconds, 1..%d",
				    MEMBER_TIMEOUT_MAX);
		}
		return fail(err, err_size, "'%s' belongs in a keytab's "
			    "[/path] section (before any, only \"read "
			    "timeout\")", key);
	}
	if (strcasecmp(key, "owner") == 0) {
		return set_string(&k->owner, value) ||
		       fail(err, err_size, "out of memory");
	}
	if (strcasecmp(key, "group") == 0) {
		return set_string(&k->group, value) ||
		       fail(err, err_size, "out of memory");
	}
	if (strcasecmp(key, "mode") == 0) {
		if (strcmp(value, "0600") == 0 || strcmp(value, "600") == 0) {
			k->mode = 0600;
		} else if (strcmp(value, "0640") == 0 ||
			   strcmp(value, "640") == 0) {
			k->mode = 0640;
		} else {
			return fail(err, err_size, "mode must be 0600 or "
				    "0640, not '%s'", value);
		}
		return true;
	}
	if (strcasecmp(key, "principal") == 0) {
		if (k->num_principals == MEMBER_MAX_PRINCIPALS) {
			return fail(err, err_size, "at most %d principals",
				    MEMBER_MAX_PRINCIPALS);
		}
		k->principals[k->num_principals] = strdup(value);
		return k->principals[k->num_principals++] != NULL ||
		       fail(err, err_size, "out of memory");
	}
	if (strcasecmp(key, "after install") == 0) {
		return set_hook(k, value, err, err_size);
	}
	if (strcasecmp(key, "after install timeout") == 0) {
		return member_seconds_parse(value, &k->hook_timeout) ||
		       fail(err, err_size, "give seconds, 1..%d",
			    MEMBER_TIMEOUT_MAX);
	}
	return fail(err, err_size, "unknown option '%s' (owner, group, "
		    "mode, principal, after install, after install timeout)",
		    key);
}

/* Defaults and the checks of one keytab's settings, owner and group
 * looked up on this host. */
static bool keytab_finish(struct member_keytab_conf *k, bool mode_given,
			  char *err, size_t err_size)
{
	if (!mode_given) {
		k->mode = (k->group != NULL) ? 0640 : 0600;
	}
	if (k->mode == 0640 && k->group == NULL) {
		return fail(err, err_size, "mode 0640 needs --group (in a "
			    "config file \"group =\"): the group that reads "
			    "the keytab");
	}
	if (k->mode == 0600 && k->group != NULL) {
		return fail(err, err_size, "a group needs --mode=0640 (in a "
			    "config file \"mode = 0640\"): a 0600 keytab has "
			    "no group readers");
	}
	k->uid = (uid_t)-1;
	k->gid = (gid_t)-1;
	if (k->owner != NULL) {
		struct passwd *pw = getpwnam(k->owner);

		if (pw == NULL) {
			return fail(err, err_size, "owner %s: no such user "
				    "on this member", k->owner);
		}
		k->uid = pw->pw_uid;
	}
	if (k->group != NULL) {
		struct group *gr = getgrnam(k->group);

		if (gr == NULL) {
			return fail(err, err_size, "--group=%s: no such "
				    "group on this member", k->group);
		}
		k->gid = gr->gr_gid;
	}
	if (k->hook_timeout == 0) {
		k->hook_timeout = MEMBER_HOOK_TIMEOUT_DEFAULT;
	}
	return true;
}

bool member_conf_single(const char *path, const char *owner,
			const char *group, const char *mode,
			const char * const *principals,
			size_t num_principals, unsigned int read_timeout,
			struct member_conf *conf, char *err, size_t err_size)
{
	struct member_keytab_conf *k = &conf->keytabs[0];
	const char *bad = NULL;
	size_t i;

	memset(conf, 0, sizeof(*conf));
	conf->read_timeout = read_timeout;
	if (!asa_member_path_valid(path, &bad)) {
		return fail(err, err_size, "--keytab=%s: an absolute path of "
			    "letters, digits and ._+-,=@:/ is needed (%s)",
			    path, bad);
	}
	conf->num_keytabs = 1;
	if (!set_string(&k->path, path) ||
	    (owner != NULL && !set_string(&k->owner, owner)) ||
	    (group != NULL && !set_string(&k->group, group))) {
		return fail(err, err_size, "out of memory");
	}
	if (mode != NULL && !set_option(conf, k, "mode", mode, err,
					err_size)) {
		return false;
	}
	for (i = 0; i < num_principals; i++) {
		if (!set_option(conf, k, "principal", principals[i], err,
				err_size)) {
			return false;
		}
	}
	return keytab_finish(k, mode != NULL, err, err_size);
}

/* The whole file, checked to be root's alone, in a NUL-terminated
 * malloc()ed buffer. */
static char *conf_read(const char *file, char *err, size_t err_size)
{
	struct stat st;
	char *buf = NULL;
	size_t used = 0;
	int fd;

	fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY |
		  O_NONBLOCK);
	if (fd == -1) {
		fail(err, err_size, "cannot open %s: %s", file,
		     strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > MEMBER_CONF_MAX_SIZE) {
		fail(err, err_size, "%s is not a regular file of at most %d "
		     "bytes", file, MEMBER_CONF_MAX_SIZE);
		goto fail;
	}
	if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		fail(err, err_size, "%s (owner uid %u, mode %04o) can be "
		     "written by a user other than root: refused (chown root "
		     "and chmod go-w it)", file, (unsigned)st.st_uid,
		     (unsigned)(st.st_mode & 07777));
		goto fail;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		fail(err, err_size, "out of memory");
		goto fail;
	}
	while (used < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + used, (size_t)st.st_size - used);

		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			fail(err, err_size, "cannot read %s", file);
			goto fail;
		}
		used += (size_t)n;
	}
	buf[used] = '\0';
	close(fd);
	return buf;
fail:
	free(buf);
	close(fd);
	return NULL;
}

static char *trim(char *s)
{
	char *end = s + strlen(s);

	while (*s == ' ' || *s == '\t') {
		s++;
	}
	while (end > s && isspace((unsigned char)end[-1])) {
		*--end = '\0';
	}
	return s;
}

/* One line: a section header, an option, a comment or nothing. */
static bool conf_line(struct member_conf *conf, char *line,
		      struct member_keytab_conf **k, bool *mode_given,
		      char *err, size_t err_size)
{
	char *eq = NULL;
	char *key = NULL;
	const char *bad = NULL;

	line = trim(line);
	if (line[0] == '\0' || line[0] == '#' || line[0] == ';') {
		return true;
	}
	if (line[0] == '[') {
		char *close = strchr(line, ']');

		if (close == NULL || trim(close + 1)[0] != '\0') {
			return fail(err, err_size, "a section is "
				    "[/path/to/keytab]");
		}
		*close = '\0';
		line = trim(line + 1);
		if (!asa_member_path_valid(line, &bad)) {
			return fail(err, err_size, "[%s]: %s", line, bad);
		}
		if (member_conf_find(conf, line) != NULL) {
			return fail(err, err_size, "[%s] twice", line);
		}
		if (*k != NULL &&
		    !keytab_finish(*k, *mode_given, err, err_size)) {
			return false;
		}
		if (conf->num_keytabs == MEMBER_MAX_KEYTABS) {
			return fail(err, err_size, "more than %d keytabs",
				    MEMBER_MAX_KEYTABS);
		}
		*k = &conf->keytabs[conf->num_keytabs++];
		*mode_given = false;
		return set_string(&(*k)->path, line) ||
		       fail(err, err_size, "out of memory");
	}
	eq = strchr(line, '=');
	if (eq == NULL) {
		return fail(err, err_size, "not \"option = value\"");
	}
	*eq = '\0';
	key = trim(line);
	if (strcasecmp(key, "mode") == 0) {
		*mode_given = true;
	}
	return set_option(conf, *k, key, trim(eq + 1), err, err_size);
}

bool member_conf_load(const char *file, struct member_conf *conf,
		      char *err, size_t err_size)
{
	struct member_keytab_conf *k = NULL;
	bool mode_given = false;
	char *buf = NULL;
	char *line = NULL;
	char *next = NULL;
	char why[MEMBER_CONF_ERR_MAX];
	unsigned int lineno = 0;
	bool ok = true;

	memset(conf, 0, sizeof(*conf));
	conf->read_timeout = MEMBER_READ_TIMEOUT_DEFAULT;
	conf->file = strdup(file);
	buf = conf_read(file, err, err_size);
	if (buf == NULL || conf->file == NULL) {
		free(buf);
		return false;
	}
	for (line = buf; ok && line != NULL; line = next) {
		next = strchr(line, '\n');
		if (next != NULL) {
			*next++ = '\0';
		}
		lineno++;
		ok = conf_line(conf, line, &k, &mode_given, why, sizeof(why));
	}
	if (ok && k != NULL) {
		ok = keytab_finish(k, mode_given, why, sizeof(why));
		lineno = 0;
	}
	if (!ok && lineno > 0) {
		fail(err, err_size, "%s:%u: %s", file, lineno, why);
	} else if (!ok) {
		fail(err, err_size, "%s: [%s]: %s", file, k->path, why);
	} else if (conf->num_keytabs == 0) {
		ok = fail(err, err_size, "%s names no keytab ([/path] "
			  "sections)", file);
	}
	free(buf);
	return ok;
}
