/*
 * samba-asa-member: the member's own settings, per keytab.
 *
 * They come from the member alone, never from the DC: the forced command's
 * options (one keytab) or a config file (--config, default
 * /etc/samba-asa/member.conf), one section per keytab:
 *
 *   read timeout = 30                  (before any section: every keytab)
 *   [/etc/apache2/http.keytab]
 *       owner = root
 *       group = www-data
 *       mode = 0640
 *       principal = ASA$@REALM         (repeatable)
 *       after install = /usr/sbin/apache2ctl graceful
 *       after install timeout = 30
 *
 * The file must be a regular file owned by root that no one else may
 * write: whoever can write it decides where keys go and what runs as root.
 */
#ifndef _ASA_MEMBER_CONFIG_H_
#define _ASA_MEMBER_CONFIG_H_

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define MEMBER_DEFAULT_CONFIG "/etc/samba-asa/member.conf"
#define MEMBER_MAX_PRINCIPALS 64
#define MEMBER_MAX_KEYTABS 64
#define MEMBER_MAX_HOOK_ARGS 32
/* The DC sends a few KiB at once: a sender that stalls longer is gone. */
#define MEMBER_READ_TIMEOUT_DEFAULT 30
#define MEMBER_TIMEOUT_MAX 3600
/* Below the DC's default asa:member timeout (30 s): the DC waits for the
 * answer, hook included. */
#define MEMBER_HOOK_TIMEOUT_DEFAULT 20

struct member_keytab_conf {
	char *path;
	char *owner;		/* NULL: the creator (root) */
	char *group;		/* NULL: the creator's */
	uid_t uid;		/* (uid_t)-1 without owner */
	gid_t gid;		/* (gid_t)-1 without group */
	mode_t mode;		/* 0600, or 0640 with a group */
	char *principals[MEMBER_MAX_PRINCIPALS];
	size_t num_principals;
	char *hook[MEMBER_MAX_HOOK_ARGS + 1];	/* argv, NULL-terminated */
	unsigned int hook_timeout;
};

struct member_conf {
	char *file;		/* the config file; NULL: command line */
	unsigned int read_timeout;
	struct member_keytab_conf keytabs[MEMBER_MAX_KEYTABS];
	size_t num_keytabs;
};

/* What went wrong, for the message: written by the functions below. */
#define MEMBER_CONF_ERR_MAX 512

/*
 * Load a config file (checked to be root's and not writable by others),
 * every keytab section's owner and group looked up.  false with the
 * reason in err.
 */
bool member_conf_load(const char *file, struct member_conf *conf,
		      char *err, size_t err_size);

/*
 * The settings of one keytab from command-line values (NULL: not given):
 * the same checks as a config file section.
 */
bool member_conf_single(const char *path, const char *owner,
			const char *group, const char *mode,
			const char * const *principals,
			size_t num_principals, unsigned int read_timeout,
			struct member_conf *conf, char *err, size_t err_size);

/* The section for path, or NULL. */
const struct member_keytab_conf *member_conf_find(
	const struct member_conf *conf, const char *path);

void member_conf_free(struct member_conf *conf);

/* Whether path is an absolute path of letters, digits and ._+-,=@:/ (what
 * a member URL can name). */
bool member_path_valid(const char *path);

/* A duration in seconds, 1..MEMBER_TIMEOUT_MAX. */
bool member_seconds_parse(const char *text, unsigned int *seconds);

#endif /* _ASA_MEMBER_CONFIG_H_ */
