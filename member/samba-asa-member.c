/*
 * samba-asa-member: the member side of a samba-asa server array.
 *
 * Run by sshd as the forced command of the DC's key on a member:
 *
 *   restrict,command="/usr/sbin/samba-asa-member --keytab=/etc/apache2/
 *	http.keytab --group=www-data" ssh-ed25519 ...
 *   restrict,command="/usr/sbin/samba-asa-member --config=/etc/samba-asa/
 *	member.conf" ssh-ed25519 ...
 *
 * so whatever the DC (or anyone holding its key) asks for, this runs, with
 * the member's own settings (member_config.h).  It tells what was asked
 * from SSH_ORIGINAL_COMMAND (member_protocol.h): install the keytab that
 * arrives on standard input, or --show the current one (for `samba-asa
 * verify`); anything else is refused without running it.  The keytab the
 * request names must be one of the member's own.
 *
 * Only libc and MIT Kerberos: a member need not have Samba.  Built alone
 * with `make -C member` (member/Makefile: the one cc command, every .c of
 * this directory, with krb5-config's flags).
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <krb5.h>

#include "member_config.h"
#include "member_hook.h"
#include "member_keytab.h"
#include "member_protocol.h"
#include "member_request.h"

#ifndef ASA_VERSION
#define ASA_VERSION "0.1.0"
#endif

static void usage(FILE *out)
{
	fputs("Usage: samba-asa-member [--config=FILE]\n"
	      "       samba-asa-member --keytab=PATH [--group=GROUP] "
	      "[--owner=USER]\n"
	      "         [--mode=0600|0640] [--principal=NAME@REALM ...]\n"
	      "       ... [--read-timeout=SECONDS] [--show | --revoke]\n"
	      "\n"
	      "The member side of a samba-asa server array, run by sshd as "
	      "the forced\n"
	      "command of the DC's key (see `samba-asa member setup` on the "
	      "DC).  Reads a\n"
	      "keytab on standard input, checks it, merges it into the "
	      "keytab the request\n"
	      "names (the newest two kvnos of each principal), writes it "
	      "atomically,\n"
	      "prints the kvnos it now holds and runs the keytab's \"after "
	      "install\"\n"
	      "command.  --show writes the current keytab to standard "
	      "output instead.\n"
	      "\n"
	      "  --config=FILE       one [/path] section per keytab [" 
	      MEMBER_DEFAULT_CONFIG "]\n"
	      "  --keytab=PATH       one keytab, set by the options below\n"
	      "  --owner=USER        the keytab's owner [root]\n"
	      "  --group=GROUP       the keytab's group, mode 0640\n"
	      "  --mode=0600|0640    default 0600, or 0640 with --group\n"
	      "  --principal=P       accept keys for P only (repeatable)\n"
	      "  --read-timeout=S    give up when the keytab has not come "
	      "whole within S\n"
	      "                      seconds [30]\n"
	      "  --version           the program's and protocol's versions\n",
	      out);
}

struct member_options {
	const char *config;
	const char *keytab;
	const char *owner;
	const char *group;
	const char *mode;
	const char *principals[MEMBER_MAX_PRINCIPALS];
	size_t num_principals;
	unsigned int read_timeout;	/* 0: not given */
	bool show;
	bool revoke;
};

static int parse_options(int argc, char **argv, struct member_options *o)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "keytab", required_argument, NULL, 'k' },
		{ "owner", required_argument, NULL, 'o' },
		{ "group", required_argument, NULL, 'g' },
		{ "mode", required_argument, NULL, 'm' },
		{ "principal", required_argument, NULL, 'p' },
		{ "read-timeout", required_argument, NULL, 't' },
		{ "show", no_argument, NULL, 'S' },
		{ "revoke", no_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': o->config = optarg; break;
		case 'k': o->keytab = optarg; break;
		case 'o': o->owner = optarg; break;
		case 'g': o->group = optarg; break;
		case 'm': o->mode = optarg; break;
		case 'S': o->show = true; break;
		case 'R': o->revoke = true; break;
		case 'p':
			if (o->num_principals == MEMBER_MAX_PRINCIPALS) {
				say("at most %d --principal options",
				    MEMBER_MAX_PRINCIPALS);
				return EXIT_FAILED;
			}
			o->principals[o->num_principals++] = optarg;
			break;
		case 't':
			if (!member_seconds_parse(optarg, &o->read_timeout)) {
				say("--read-timeout=%s: give seconds, 1..%d",
				    optarg, MEMBER_TIMEOUT_MAX);
				return EXIT_FAILED;
			}
			break;
		case 'h':
			usage(stdout);
			exit(EXIT_OK);
		case 'V':
			printf("samba-asa-member %s, samba-asa member "
			       "protocol %d (serves %d to %d)\n", ASA_VERSION,
			       ASA_MEMBER_PROTOCOL, ASA_MEMBER_PROTOCOL_MIN,
			       ASA_MEMBER_PROTOCOL);
			exit(EXIT_OK);
		default:
			say("unknown or incomplete option '%s' (see --help)",
			    argv[optind - 1]);
			return EXIT_FAILED;
		}
	}
	if (optind != argc) {
		say("unexpected argument '%s' (see --help)", argv[optind]);
		return EXIT_FAILED;
	}
	if (o->show && o->revoke) {
		say("--show or --revoke, not both");
		return EXIT_FAILED;
	}
	if (o->config != NULL &&
	    (o->keytab != NULL || o->owner != NULL || o->group != NULL ||
	     o->mode != NULL || o->num_principals > 0)) {
		say("--config, or --keytab and its options, not both");
		return EXIT_FAILED;
	}
	return EXIT_OK;
}

/* The settings: the options' one keytab, or the config file. */
static int load_settings(const struct member_options *o,
			 struct member_conf *conf)
{
	char err[MEMBER_CONF_ERR_MAX];
	bool ok;

	if (o->keytab != NULL) {
		ok = member_conf_single(o->keytab, o->owner, o->group, o->mode,
					o->principals, o->num_principals,
					o->read_timeout != 0 ?
					o->read_timeout :
					MEMBER_READ_TIMEOUT_DEFAULT,
					conf, err, sizeof(err));
	} else if (o->owner != NULL || o->group != NULL || o->mode != NULL ||
		   o->num_principals > 0) {
		say("--keytab=PATH is required with --owner, --group, --mode "
		    "and --principal");
		return EXIT_FAILED;
	} else {
		ok = member_conf_load(o->config != NULL ? o->config :
				      MEMBER_DEFAULT_CONFIG, conf, err,
				      sizeof(err));
		if (!ok && o->config == NULL) {
			say("--keytab=PATH is required, or a config file: "
			    "%s", err);
			return EXIT_FAILED;
		}
		if (o->read_timeout != 0) {
			conf->read_timeout = o->read_timeout;
		}
	}
	if (!ok) {
		say("%s", err);
		return EXIT_FAILED;
	}
	return EXIT_OK;
}

static int write_all(int fd, const uint8_t *data, size_t length)
{
	while (length > 0) {
		ssize_t n = write(fd, data, length);

		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			return errno;
		}
		data += n;
		length -= (size_t)n;
	}
	return 0;
}

static void say_krb5(krb5_context ctx, krb5_error_code ret,
		     const char *before, const char *after)
{
	const char *msg = krb5_get_error_message(ctx, ret);

	say("%s%s%s", before, msg, after);
	krb5_free_error_message(ctx, msg);
}

/* The bytes of the regular file path (never through a symbolic link), at
 * most ASA_KEYTAB_MAX_SIZE + 1 of them, in a malloc()ed buffer. */
static int read_keytab_bytes(const char *path, uint8_t **data,
			     size_t *length)
{
	struct stat st;
	ssize_t n = 0;
	int fd;

	*data = NULL;
	*length = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW |
		  O_NONBLOCK);
	if (fd == -1) {
		return errno;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		return EPERM;
	}
	*data = malloc(ASA_KEYTAB_MAX_SIZE + 1);
	while (*data != NULL && *length < ASA_KEYTAB_MAX_SIZE + 1 &&
	       (n = read(fd, *data + *length,
			 ASA_KEYTAB_MAX_SIZE + 1 - *length)) != 0) {
		if (n < 0 && errno != EINTR) {
			break;
		}
		*length += (n > 0) ? (size_t)n : 0;
	}
	close(fd);
	return *data == NULL ? ENOMEM : n < 0 ? EIO : 0;
}

/* --show: the keytab's bytes, checked to be a keytab, on stdout: the
 * bytes read once, parsed, and those very bytes sent. */
static int show_keytab(krb5_context ctx, const char *path)
{
	struct asa_keytab *kt = NULL;
	uint8_t *data = NULL;
	size_t length = 0;
	krb5_error_code ret;
	int rc = EXIT_REFUSED;

	if (isatty(STDOUT_FILENO)) {
		say("not writing a keytab to a terminal");
		return EXIT_FAILED;
	}
	ret = read_keytab_bytes(path, &data, &length);
	if (ret == ENOENT) {
		say("no keytab at %s on this member", path);
		goto done;
	}
	if (ret != 0) {
		say("cannot read keytab %s: %s%s", path, strerror(ret),
		    ret == ELOOP ? " (a symbolic link is never followed)" :
		    ret == EPERM ? " (not a regular file)" : "");
		goto done;
	}
	ret = asa_kt_parse(ctx, data, length, &kt);
	asa_kt_free(kt);
	if (ret != 0) {
		const char *msg = krb5_get_error_message(ctx, ret);

		say("%s: %s", path, msg);
		krb5_free_error_message(ctx, msg);
		goto done;
	}
	ret = write_all(STDOUT_FILENO, data, length);
	if (ret != 0) {
		say("writing the keytab failed: %s", strerror(ret));
		rc = EXIT_FAILED;
		goto done;
	}
	rc = EXIT_OK;
done:
	asa_kt_wipe(data, length);
	free(data);
	return rc;
}

/* Refusals of the keytab itself are 1; the rest (cannot write, ...) 2. */
static int install_exit_status(krb5_error_code ret)
{
	switch (ret) {
	case KRB5_PRINC_NOMATCH:
	case KRB5_KT_NOTFOUND:
	case KRB5_KT_FORMAT:
	case KRB5_BAD_ENCTYPE:
	case KRB5_BAD_KEYSIZE:
	case KRB5_PARSE_MALFORMED:
	case EFBIG:
		return EXIT_REFUSED;
	default:
		return EXIT_FAILED;
	}
}

/* The pinned principals in their canonical form (default realm added),
 * malloc()ed. */
static int canonical_principals(krb5_context ctx,
				const struct member_keytab_conf *k,
				char **pinned)
{
	size_t i;

	for (i = 0; i < k->num_principals; i++) {
		krb5_principal p = NULL;
		char *name = NULL;
		krb5_error_code ret;

		ret = krb5_parse_name(ctx, k->principals[i], &p);
		if (ret == 0) {
			ret = krb5_unparse_name(ctx, p, &name);
			krb5_free_principal(ctx, p);
		}
		if (ret != 0) {
			say_krb5(ctx, ret, "principal ", "");
			return EXIT_FAILED;
		}
		pinned[i] = strdup(name);
		krb5_free_unparsed_name(ctx, name);
		if (pinned[i] == NULL) {
			return EXIT_FAILED;
		}
	}
	return EXIT_OK;
}

/* After the answer: the keytab's "after install" command, reported. */
static void run_hook(const struct member_keytab_conf *k,
		     const struct member_request *req)
{
	char report[512];

	if (k->hook[0] == NULL) {
		return;
	}
	if (member_hook_run(k, report, sizeof(report))) {
		member_log(LOG_NOTICE, "after install of %s: %s ran",
			   k->path, k->hook[0]);
		printf("%s ok\n", ASA_MEMBER_REPLY_HOOK);
		return;
	}
	member_log(LOG_WARNING, "after install of %s: %s", k->path, report);
	printf("%s failed: %s\n", ASA_MEMBER_REPLY_HOOK, report);
	say("the keys are installed, but the after install command "
	    "failed: %s", report);
}

static int install(krb5_context ctx, const struct member_conf *conf,
		   const struct member_keytab_conf *k,
		   const struct member_request *req)
{
	struct asa_keytab *incoming = NULL;
	char *pinned[MEMBER_MAX_PRINCIPALS] = { NULL };
	krb5_kvno *kvnos = NULL;
	size_t num_kvnos = 0, i;
	char untouched[PATH_MAX + 32];
	krb5_error_code ret;
	int rc;

	/* ")" first, for "not a keytab (...)"; untouched + 1 without */
	snprintf(untouched, sizeof(untouched), "); %s is untouched", k->path);
	rc = canonical_principals(ctx, k, pinned);
	if (rc != EXIT_OK) {
		goto done;
	}
	ret = asa_kt_read_fd(ctx, STDIN_FILENO, conf->read_timeout,
			     &incoming);
	if (ret == ETIMEDOUT) {
		say_krb5(ctx, ret, "failed: standard input stalled: ",
			 untouched + 1);
		member_log(LOG_WARNING, "failed: input stalled");
		rc = EXIT_FAILED;
		goto done;
	}
	if (ret != 0) {
		say_krb5(ctx, ret, "refused: standard input is not a keytab "
			 "(", untouched);
		member_log(LOG_WARNING, "refused: not a keytab");
		rc = EXIT_REFUSED;
		goto done;
	}
	ret = asa_kt_member_install(ctx, incoming,
				    (const char * const *)pinned,
				    k->num_principals, k->path, k->mode,
				    k->uid, k->gid, req->revoke, &kvnos,
				    &num_kvnos);
	if (ret == ASA_KEYTAB_ERR_NOT_DURABLE) {
		/* replaced: say so, not "untouched" */
		say_krb5(ctx, ret, "failed: ", "");
		member_log(LOG_WARNING, "installed %s, not durably", k->path);
		rc = EXIT_FAILED;
		goto done;
	}
	if (ret != 0) {
		rc = install_exit_status(ret);
		say_krb5(ctx, ret, rc == EXIT_REFUSED ? "refused: " :
			 "failed: ", untouched + 1);
		member_log(LOG_WARNING, "%s: install into %s",
			   rc == EXIT_REFUSED ? "refused" : "failed",
			   k->path);
		goto done;
	}
	member_log(LOG_NOTICE, "installed %s, kvno %u now the newest%s",
		   k->path, num_kvnos > 0 ? (unsigned int)kvnos[0] : 0,
		   req->revoke ? ", older keys revoked" : "");
	printf("installed %s (mode %04o%s%s%s%s)\n%s", k->path,
	       (unsigned int)k->mode, k->owner != NULL ? ", owner " : "",
	       k->owner != NULL ? k->owner : "",
	       k->group != NULL ? ", group " : "",
	       k->group != NULL ? k->group : "", ASA_MEMBER_REPLY_KVNOS);
	for (i = 0; i < num_kvnos; i++) {
		printf(" %u", (unsigned int)kvnos[i]);
	}
	printf("\n%s %d\n", ASA_MEMBER_REPLY_PROTOCOL, ASA_MEMBER_PROTOCOL);
	run_hook(k, req);
	rc = fflush(stdout) == 0 ? EXIT_OK : EXIT_FAILED;
done:
	for (i = 0; i < k->num_principals; i++) {
		free(pinned[i]);
	}
	free(kvnos);
	asa_kt_free(incoming);
	return rc;
}

/* No core file and no ptrace by other users: this process holds keys. */
static void harden(void)
{
	struct rlimit none = { 0, 0 };

	setrlimit(RLIMIT_CORE, &none);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

int main(int argc, char **argv)
{
	struct member_options o;
	struct member_conf conf;
	struct member_request req = { .protocol = 1 };
	const struct member_keytab_conf *k = NULL;
	char *request = NULL;
	krb5_context ctx = NULL;
	krb5_error_code ret;
	int rc;

	harden();
	memset(&conf, 0, sizeof(conf));
	rc = parse_options(argc, argv, &o);
	if (rc != EXIT_OK) {
		return rc;
	}
	rc = load_settings(&o, &conf);
	if (rc != EXIT_OK) {
		goto done;
	}
	req.show = o.show;
	req.revoke = o.revoke;
	if (getenv("SSH_ORIGINAL_COMMAND") != NULL) {
		request = strdup(getenv("SSH_ORIGINAL_COMMAND"));
		if (request == NULL) {
			rc = EXIT_FAILED;
			goto done;
		}
		rc = parse_request(request, &req);
	} else if (getenv("SSH_CONNECTION") != NULL) {
		/* Run by sshd for a client that asked for a shell. */
		say("a login without a command is ignored: this key may only "
		    "run `samba-asa member install [--show | --revoke]`");
		member_log(LOG_WARNING, "login without a command ignored");
		rc = EXIT_REFUSED;
	}
	if (rc != EXIT_OK) {
		goto done;
	}
	k = select_keytab(&conf, req.path);
	if (k == NULL) {
		rc = EXIT_REFUSED;
		goto done;
	}
	ret = krb5_init_context(&ctx);
	if (ret != 0) {
		say("cannot initialise Kerberos: %s", error_message(ret));
		rc = EXIT_FAILED;
		goto done;
	}
	rc = req.show ? show_keytab(ctx, k->path) : install(ctx, &conf, k,
							     &req);
done:
	if (ctx != NULL) {
		krb5_free_context(ctx);
	}
	free(request);
	member_conf_free(&conf);
	return rc;
}
