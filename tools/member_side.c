/*
 * samba-asa member install | member setup: the member side of the array.
 *
 * `member install` runs on a member, started by sshd as the forced command
 * of the DC's key:
 *
 *   restrict,command="/usr/bin/samba-asa member install
 *	--keytab=/etc/apache2/http.keytab --group=www-data" ssh-ed25519 ...
 *
 * so whatever the DC (or anyone holding its key) asks for, this runs, with
 * the member's own settings.  It tells what was asked from
 * SSH_ORIGINAL_COMMAND: "samba-asa member install [--keytab=PATH]" installs
 * the keytab that arrives on standard input, "... --show" writes the
 * member's current keytab to standard output (for `samba-asa verify`),
 * and anything else is refused without running it.  A --keytab in the
 * request must name the member's own keytab: a member URL pointing
 * elsewhere is a mistake to report, not to follow.
 *
 * `member setup` runs on the DC: it makes the DC's SSH key if there is
 * none and prints the authorized_keys line above, for the member to add.
 */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <talloc.h>
#include <krb5.h>
#include <param.h>

#include "cli.h"
#include "keytab.h"
#include "member.h"

extern char **environ;

static void member_log(int priority, const char *fmt, ...)
	PRINTF_ATTRIBUTE(2, 3);

#define MEMBER_DEFAULT_KEYTAB "/etc/samba-asa/asa.keytab"
#define MEMBER_MAX_PRINCIPALS 64
/* The DC sends a few KiB at once: a sender that stalls longer is gone. */
#define MEMBER_READ_TIMEOUT_DEFAULT 30
#define MEMBER_READ_TIMEOUT_MAX 3600

struct member_side_options {
	const char *keytab;
	const char *group;
	const char *mode_text;
	unsigned int read_timeout;
	const char *principals[MEMBER_MAX_PRINCIPALS];
	size_t num_principals;
	bool show;
	bool revoke;
	/* setup only */
	const char *smb_conf;
	const char *from;
	const char *command;
};

enum {
	OPT_KEYTAB = 1000,
	OPT_GROUP,
	OPT_MODE,
	OPT_PRINCIPAL,
	OPT_SHOW,
	OPT_REVOKE,
	OPT_FROM,
	OPT_COMMAND,
	OPT_READ_TIMEOUT,
};

static void member_install_usage(FILE *out)
{
	fputs("Usage: samba-asa member install --keytab=PATH [--group=GROUP]\n"
	      "         [--mode=0600|0640] [--principal=NAME@REALM ...] "
	      "[--show | --revoke]\n"
	      "         [--read-timeout=SECONDS]\n"
	      "\n"
	      "The member side: run by sshd as the forced command of the "
	      "DC's key\n"
	      "(see `samba-asa member setup`).  Reads a keytab on standard "
	      "input,\n"
	      "checks it, merges it into PATH (the newest two kvnos of each\n"
	      "principal), writes it atomically and prints the kvnos it now "
	      "holds.\n"
	      "With --show (or a request for it in SSH_ORIGINAL_COMMAND), "
	      "writes\n"
	      "the current keytab to standard output instead.\n"
	      "Principals of the ASA (holding its keys) that the keytab does "
	      "not carry\n"
	      "are dropped: the DC pushes all of them every time.  With "
	      "--revoke, every\n"
	      "key of the ASA but the ones on standard input is dropped (a "
	      "revocation).\n"
	      "\n"
	      "  --keytab=PATH       this member's keytab (absolute)\n"
	      "  --group=GROUP       the keytab's group, mode 0640 (the "
	      "service's\n"
	      "                      group, e.g. www-data for Apache)\n"
	      "  --mode=0600|0640    default 0600, or 0640 with --group\n"
	      "  --principal=P       accept keys for P only (repeatable); "
	      "without it,\n"
	      "                      one account NAME$@REALM and its "
	      "service\n"
	      "                      principals, the account of the keytab "
	      "there\n"
	      "  --read-timeout=S    give up (keytab untouched) when the "
	      "keytab has not\n"
	      "                      come whole within S seconds [30]\n",
	      out);
}

static void member_setup_usage(FILE *out)
{
	fputs("Usage: samba-asa member setup [-s smb.conf] [--keytab=PATH] "
	      "[--group=GROUP]\n"
	      "         [--mode=0600|0640] [--principal=P ...] "
	      "[--from=PATTERN]\n"
	      "         [--command=PATH]\n"
	      "\n"
	      "On the DC: makes the DC's SSH key for members if there is "
	      "none\n"
	      "(smb.conf \"asa:ssh identity\", default "
	      "<private dir>/asa/id_ed25519)\n"
	      "and prints the line a member adds to root's "
	      "authorized_keys.\n"
	      "\n"
	      "  --keytab=PATH       the member's keytab [" MEMBER_DEFAULT_KEYTAB
	      "]\n"
	      "  --group, --mode, --principal   passed to `member install`\n"
	      "  --from=PATTERN      only from these addresses (sshd's "
	      "from=)\n"
	      "  --command=PATH      samba-asa on the member [this "
	      "program]\n", out);
}

static int parse_member_side_options(int argc, char **argv, bool setup,
				     struct member_side_options *o)
{
	static const struct option longopts[] = {
		{ "keytab", required_argument, NULL, OPT_KEYTAB },
		{ "group", required_argument, NULL, OPT_GROUP },
		{ "mode", required_argument, NULL, OPT_MODE },
		{ "principal", required_argument, NULL, OPT_PRINCIPAL },
		{ "show", no_argument, NULL, OPT_SHOW },
		{ "revoke", no_argument, NULL, OPT_REVOKE },
		{ "from", required_argument, NULL, OPT_FROM },
		{ "command", required_argument, NULL, OPT_COMMAND },
		{ "read-timeout", required_argument, NULL, OPT_READ_TIMEOUT },
		{ "configfile", required_argument, NULL, 's' },
		{ "debuglevel", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*o = (struct member_side_options) {
		.read_timeout = MEMBER_READ_TIMEOUT_DEFAULT,
	};
	optind = 0;	/* cmd_member() may have run getopt already */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+s:d:h", longopts,
				NULL)) != -1) {
		switch (c) {
		case OPT_KEYTAB:
			o->keytab = optarg;
			break;
		case OPT_GROUP:
			o->group = optarg;
			break;
		case OPT_MODE:
			o->mode_text = optarg;
			break;
		case OPT_PRINCIPAL:
			if (o->num_principals == MEMBER_MAX_PRINCIPALS) {
				cli_error("at most %d --principal options",
					  MEMBER_MAX_PRINCIPALS);
				return ASA_EXIT_USAGE;
			}
			o->principals[o->num_principals++] = optarg;
			break;
		case OPT_SHOW:
			if (setup) {
				goto bad;
			}
			o->show = true;
			break;
		case OPT_REVOKE:
			if (setup) {
				goto bad;
			}
			o->revoke = true;
			break;
		case OPT_FROM:
			if (!setup) {
				goto bad;
			}
			o->from = optarg;
			break;
		case OPT_COMMAND:
			if (!setup) {
				goto bad;
			}
			o->command = optarg;
			break;
		case OPT_READ_TIMEOUT: {
			char *end = NULL;
			unsigned long v = strtoul(optarg, &end, 10);

			if (setup || end == optarg || *end != '\0' ||
			    optarg[0] == '-' || v == 0 ||
			    v > MEMBER_READ_TIMEOUT_MAX) {
				cli_error("--read-timeout=%s: give seconds, "
					  "1..%d", optarg,
					  MEMBER_READ_TIMEOUT_MAX);
				return ASA_EXIT_USAGE;
			}
			o->read_timeout = (unsigned int)v;
			break;
		}
		case 's':
			o->smb_conf = optarg;
			break;
		case 'd':
			break;
		case 'h':
			if (setup) {
				member_setup_usage(stdout);
			} else {
				member_install_usage(stdout);
			}
			exit(ASA_EXIT_OK);
		default:
			goto bad;
		}
	}
	if (optind != argc) {
		cli_error("member %s: unexpected argument '%s'",
			  setup ? "setup" : "install", argv[optind]);
		return ASA_EXIT_USAGE;
	}
	return ASA_EXIT_OK;
bad:
	cli_error("member %s: unknown or incomplete option '%s' (see --help)",
		  setup ? "setup" : "install", argv[optind - 1]);
	return ASA_EXIT_USAGE;
}

/* A path as a member URL accepts it (so the DC's URL can name it). */
static bool keytab_path_valid(TALLOC_CTX *mem_ctx, const char *path)
{
	struct asa_member_url *url = NULL;
	char *text = talloc_asprintf(mem_ctx, "local:%s", path);
	char *why = NULL;
	int ret;

	if (text == NULL) {
		return false;
	}
	ret = asa_member_url_parse(mem_ctx, text, &url, &why);
	if (ret != 0) {
		cli_error("--keytab=%s: an absolute path of letters, digits "
			  "and ._+-,=@:/ is needed", path);
	}
	TALLOC_FREE(url);
	TALLOC_FREE(why);
	TALLOC_FREE(text);
	return ret == 0;
}

/* --mode and --group into a mode and gid (the group is looked up only
 * on the member, where it must exist). */
static int resolve_mode(const struct member_side_options *o,
			bool lookup_group, mode_t *mode, gid_t *gid)
{
	*gid = (gid_t)-1;
	*mode = (o->group != NULL) ? 0640 : 0600;
	if (o->mode_text != NULL) {
		if (strcmp(o->mode_text, "0600") == 0 ||
		    strcmp(o->mode_text, "600") == 0) {
			*mode = 0600;
		} else if (strcmp(o->mode_text, "0640") == 0 ||
			   strcmp(o->mode_text, "640") == 0) {
			*mode = 0640;
		} else {
			cli_error("--mode must be 0600 or 0640, not '%s'",
				  o->mode_text);
			return ASA_EXIT_USAGE;
		}
	}
	if (o->group != NULL && lookup_group) {
		struct group *gr = getgrnam(o->group);

		if (gr == NULL) {
			cli_error("--group=%s: no such group on this member",
				  o->group);
			return ASA_EXIT_USAGE;
		}
		*gid = gr->gr_gid;
	}
	if (*mode == 0640 && o->group == NULL) {
		cli_error("--mode=0640 needs --group (the group that reads "
			  "the keytab)");
		return ASA_EXIT_USAGE;
	}
	if (*mode == 0600 && o->group != NULL) {
		cli_error("--group needs --mode=0640 (a 0600 keytab has no "
			  "group readers)");
		return ASA_EXIT_USAGE;
	}
	return ASA_EXIT_OK;
}

/* What the client asked sshd for, made safe to print. */
static char *printable(TALLOC_CTX *mem_ctx, const char *s)
{
	char *p = talloc_strndup(mem_ctx, s, 200);
	char *q;

	for (q = p; q != NULL && *q != '\0'; q++) {
		if ((unsigned char)*q < 0x20 || (unsigned char)*q >= 0x7f) {
			*q = '?';
		}
	}
	return p;
}

/*
 * SSH_ORIGINAL_COMMAND: "samba-asa member install [--show | --revoke]
 * [--keytab=PATH]" (samba-asa under any directory) or nothing.  Sets
 * *show and *revoke; refuses anything else.  --revoke gives the DC no
 * power it lacks: it can push any keys, and so push the old ones out.
 */
static int parse_request(TALLOC_CTX *mem_ctx, const char *request,
			 const char *keytab, bool *show, bool *revoke)
{
	char *copy = talloc_strdup(mem_ctx, request);
	char *save = NULL;
	char *word = NULL;
	const char *base = NULL;
	int i = 0;

	if (copy == NULL) {
		return ASA_EXIT_USAGE;
	}
	*show = false;
	*revoke = false;
	for (word = strtok_r(copy, " \t", &save); word != NULL;
	     word = strtok_r(NULL, " \t", &save), i++) {
		switch (i) {
		case 0:
			base = strrchr(word, '/');
			base = (base != NULL) ? base + 1 : word;
			if (strcmp(base, "samba-asa") != 0) {
				goto refuse;
			}
			continue;
		case 1:
			if (strcmp(word, "member") != 0) {
				goto refuse;
			}
			continue;
		case 2:
			if (strcmp(word, "install") != 0) {
				goto refuse;
			}
			continue;
		default:
			break;
		}
		if (strcmp(word, "--show") == 0) {
			*show = true;
		} else if (strcmp(word, "--revoke") == 0) {
			*revoke = true;
		} else if (strncmp(word, "--keytab=", 9) == 0) {
			if (strcmp(word + 9, keytab) != 0) {
				cli_error("this member keeps the keytab at %s, "
					  "not %s: fix the member URL on the "
					  "DC", keytab,
					  printable(mem_ctx, word + 9));
				return ASA_EXIT_REFUSED;
			}
		} else {
			goto refuse;
		}
	}
	if (i < 3 || (*show && *revoke)) {
		goto refuse;
	}
	return ASA_EXIT_OK;

refuse:
	cli_error("request '%s' ignored: this key may only run `samba-asa "
		  "member install [--show | --revoke]`",
		  printable(mem_ctx, request));
	member_log(LOG_WARNING, "request '%s' ignored",
		   printable(mem_ctx, request));
	return ASA_EXIT_REFUSED;
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

/* --show: the keytab's bytes, checked to be a keytab, on stdout. */
static int show_keytab(krb5_context ctx, TALLOC_CTX *mem_ctx,
		       const char *path)
{
	struct asa_keytab *kt = NULL;
	uint8_t *data = NULL;
	size_t length = 0;
	krb5_error_code ret;

	if (isatty(STDOUT_FILENO)) {
		cli_error("not writing a keytab to a terminal");
		return ASA_EXIT_USAGE;
	}
	ret = asa_keytab_read_file(ctx, mem_ctx, path, false, &kt);
	if (ret == ENOENT) {
		cli_error("no keytab at %s on this member", path);
		return ASA_EXIT_REFUSED;
	}
	if (ret == 0) {
		ret = asa_keytab_serialize(ctx, mem_ctx, kt, &data, &length);
	}
	if (ret != 0) {
		const char *msg = krb5_get_error_message(ctx, ret);

		cli_error("%s", msg);
		krb5_free_error_message(ctx, msg);
		return ASA_EXIT_REFUSED;
	}
	ret = write_all(STDOUT_FILENO, data, length);
	TALLOC_FREE(data);
	if (ret != 0) {
		cli_error("writing the keytab failed: %s", strerror(ret));
		return ASA_EXIT_USAGE;
	}
	return ASA_EXIT_OK;
}

/*
 * What the member did, in its system log (auth facility), with the client
 * address sshd gives: an install or a refusal is worth a line on a host
 * whose keys it changes.
 */
static void member_log(int priority, const char *fmt, ...)
{
	const char *client = getenv("SSH_CONNECTION");
	char *client_ip = NULL;
	char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	msg = talloc_vasprintf(NULL, fmt, ap);
	va_end(ap);
	if (msg == NULL) {
		return;
	}
	if (client != NULL) {
		client_ip = talloc_strndup(msg, client, strcspn(client, " "));
	}
	openlog("samba-asa", LOG_PID, LOG_AUTH);
	if (client_ip != NULL) {
		syslog(priority, "member install: %s (from %s)", msg,
		       client_ip);
	} else {
		syslog(priority, "member install: %s", msg);
	}
	closelog();
	TALLOC_FREE(msg);
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
		return ASA_EXIT_REFUSED;
	default:
		return ASA_EXIT_USAGE;
	}
}

int cmd_member_install(TALLOC_CTX *mem_ctx, int argc, char **argv)
{
	TALLOC_CTX *frame = talloc_new(mem_ctx);
	struct member_side_options o;
	struct asa_keytab *incoming = NULL;
	krb5_context ctx = NULL;
	krb5_kvno *kvnos = NULL;
	size_t num_kvnos = 0, i;
	const char *request = getenv("SSH_ORIGINAL_COMMAND");
	char *pinned[MEMBER_MAX_PRINCIPALS];
	bool show = false;
	bool revoke = false;
	mode_t mode;
	gid_t gid;
	krb5_error_code ret;
	int rc;

	rc = parse_member_side_options(argc, argv, false, &o);
	if (rc != ASA_EXIT_OK) {
		goto done;
	}
	rc = ASA_EXIT_USAGE;
	if (o.keytab == NULL) {
		cli_error("member install: --keytab=PATH is required");
		goto done;
	}
	if (!keytab_path_valid(frame, o.keytab)) {
		goto done;
	}
	rc = resolve_mode(&o, true, &mode, &gid);
	if (rc != ASA_EXIT_OK) {
		goto done;
	}
	show = o.show;
	revoke = o.revoke;
	if (show && revoke) {
		cli_error("member install: --show or --revoke, not both");
		goto done;
	}
	if (request == NULL && getenv("SSH_CONNECTION") != NULL) {
		/* Run by sshd for a client that asked for a shell. */
		cli_error("a login without a command is ignored: this key may "
			  "only run `samba-asa member install [--show | "
			  "--revoke]`");
		member_log(LOG_WARNING, "login without a command ignored");
		rc = ASA_EXIT_REFUSED;
		goto done;
	}
	if (request != NULL) {
		rc = parse_request(frame, request, o.keytab, &show, &revoke);
		if (rc != ASA_EXIT_OK) {
			goto done;
		}
	}

	ret = krb5_init_context(&ctx);
	if (ret != 0) {
		cli_error("cannot initialise Kerberos: %s", error_message(ret));
		rc = ASA_EXIT_USAGE;
		goto done;
	}

	/* Pinned principals in their canonical form (default realm added). */
	for (i = 0; i < o.num_principals; i++) {
		krb5_principal p = NULL;
		char *name = NULL;

		ret = krb5_parse_name(ctx, o.principals[i], &p);
		if (ret == 0) {
			ret = krb5_unparse_name(ctx, p, &name);
			krb5_free_principal(ctx, p);
		}
		if (ret != 0) {
			cli_error("--principal=%s: %s", o.principals[i],
				  error_message(ret));
			rc = ASA_EXIT_USAGE;
			goto done;
		}
		pinned[i] = talloc_strdup(frame, name);
		krb5_free_unparsed_name(ctx, name);
		if (pinned[i] == NULL) {
			rc = ASA_EXIT_USAGE;
			goto done;
		}
	}

	if (show) {
		rc = show_keytab(ctx, frame, o.keytab);
		goto done;
	}

	ret = asa_keytab_read_fd_deadline(ctx, frame, STDIN_FILENO,
					  o.read_timeout, &incoming);
	if (ret == ETIMEDOUT) {
		const char *msg = krb5_get_error_message(ctx, ret);

		cli_error("failed: standard input stalled: %s; %s is "
			  "untouched", msg, o.keytab);
		member_log(LOG_WARNING, "failed: input stalled (%s)", msg);
		krb5_free_error_message(ctx, msg);
		rc = ASA_EXIT_USAGE;
		goto done;
	}
	if (ret != 0) {
		const char *msg = krb5_get_error_message(ctx, ret);

		cli_error("refused: standard input is not a keytab (%s); "
			  "%s is untouched", msg, o.keytab);
		member_log(LOG_WARNING, "refused: not a keytab (%s)", msg);
		krb5_free_error_message(ctx, msg);
		rc = ASA_EXIT_REFUSED;
		goto done;
	}
	ret = asa_member_install_keytab(ctx, frame, incoming,
					(const char * const *)pinned,
					o.num_principals, o.keytab, mode, gid,
					revoke, &kvnos, &num_kvnos);
	if (ret == ASA_KEYTAB_ERR_NOT_DURABLE) {
		/* replaced: say so, not "untouched" */
		const char *msg = krb5_get_error_message(ctx, ret);

		cli_error("failed: %s", msg);
		member_log(LOG_WARNING, "installed %s, not durably: %s",
			   o.keytab, msg);
		krb5_free_error_message(ctx, msg);
		rc = ASA_EXIT_USAGE;
		goto done;
	}
	if (ret != 0) {
		const char *msg = krb5_get_error_message(ctx, ret);

		rc = install_exit_status(ret);
		cli_error("%s: %s; %s is untouched",
			  rc == ASA_EXIT_REFUSED ? "refused" : "failed",
			  msg, o.keytab);
		member_log(LOG_WARNING, "%s: %s",
			   rc == ASA_EXIT_REFUSED ? "refused" : "failed",
			   msg);
		krb5_free_error_message(ctx, msg);
		goto done;
	}
	member_log(LOG_NOTICE, "installed %s, kvno %u now the newest%s",
		   o.keytab, num_kvnos > 0 ? (unsigned int)kvnos[0] : 0,
		   revoke ? ", older keys revoked" : "");
	printf("installed %s (mode %04o%s%s)\n%s", o.keytab,
	       (unsigned int)mode, o.group != NULL ? ", group " : "",
	       o.group != NULL ? o.group : "", ASA_MEMBER_REPLY_KVNOS);
	for (i = 0; i < num_kvnos; i++) {
		printf(" %u", (unsigned int)kvnos[i]);
	}
	printf("\n");
	if (fflush(stdout) != 0) {
		rc = ASA_EXIT_USAGE;
		goto done;
	}
	rc = ASA_EXIT_OK;

done:
	TALLOC_FREE(incoming);
	if (ctx != NULL) {
		krb5_free_context(ctx);
	}
	TALLOC_FREE(frame);
	return rc;
}

/* ----------------------------------------------------------------------
 * member setup
 */

/* A word that goes inside command="..." and must not need quoting. */
static bool option_word_valid(const char *what, const char *s)
{
	const char *p;

	for (p = s; *p != '\0'; p++) {
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f ||
		    strchr("\"\\'`$;&|<>(){}*?![]#~", *p) != NULL) {
			cli_error("%s '%s': only plain characters, please (it "
				  "goes into authorized_keys)", what, s);
			return false;
		}
	}
	return s[0] != '\0';
}

static int run_ssh_keygen(const char *identity, const char *comment)
{
	char *argv[] = {
		discard_const_p(char, "ssh-keygen"),
		discard_const_p(char, "-q"),
		discard_const_p(char, "-t"),
		discard_const_p(char, "ed25519"),
		discard_const_p(char, "-N"),
		discard_const_p(char, ""),	/* no passphrase: unattended */
		discard_const_p(char, "-C"),
		discard_const_p(char, comment),
		discard_const_p(char, "-f"),
		discard_const_p(char, identity),
		NULL,
	};
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int status = 0;
	int ret;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	ret = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (ret != 0) {
		cli_error("cannot run ssh-keygen: %s", strerror(ret));
		return ret;
	}
	while (waitpid(pid, &status, 0) == -1) {
		if (errno != EINTR) {
			return errno;
		}
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		cli_error("ssh-keygen -f %s failed", identity);
		return EIO;
	}
	return 0;
}

static int make_private_dir(const char *path)
{
	char *dir = talloc_strdup(NULL, path);
	char *slash = NULL;
	int ret = 0;

	if (dir == NULL) {
		return ENOMEM;
	}
	slash = strrchr(dir, '/');
	if (slash != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
			ret = errno;
			cli_error("cannot create %s: %s", dir, strerror(ret));
		}
	}
	TALLOC_FREE(dir);
	return ret;
}

int cmd_member_setup(TALLOC_CTX *mem_ctx, int argc, char **argv)
{
	TALLOC_CTX *frame = talloc_new(mem_ctx);
	struct member_side_options o;
	struct asa_member_transport_options topts;
	struct loadparm_context *lp_ctx = NULL;
	char exe[PATH_MAX];
	char *pub_path = NULL;
	char *line = NULL;
	char *comment = NULL;
	char pubkey[2048];
	FILE *f = NULL;
	struct stat st;
	mode_t mode;
	gid_t gid;
	size_t i;
	ssize_t n;
	int rc;
	int fd;

	rc = parse_member_side_options(argc, argv, true, &o);
	if (rc != ASA_EXIT_OK) {
		goto done;
	}
	rc = ASA_EXIT_USAGE;
	if (o.keytab == NULL) {
		o.keytab = MEMBER_DEFAULT_KEYTAB;
	}
	if (!keytab_path_valid(frame, o.keytab)) {
		goto done;
	}
	/* Checked here for its syntax; the group is the member's. */
	if (o.mode_text != NULL &&
	    !option_word_valid("--mode", o.mode_text)) {
		goto done;
	}
	if (o.group != NULL && !option_word_valid("--group", o.group)) {
		goto done;
	}
	if (resolve_mode(&o, false, &mode, &gid) != ASA_EXIT_OK) {
		goto done;
	}
	for (i = 0; i < o.num_principals; i++) {
		/* NAME$@REALM: in single quotes in the line, for the shell
		 * sshd runs the command with. */
		const char *p = o.principals[i];

		if (p[0] == '\0' || strpbrk(p, "\"\\' \t\r\n") != NULL) {
			cli_error("--principal '%s': no quotes, backslashes or "
				  "spaces, please (it goes into "
				  "authorized_keys)", p);
			goto done;
		}
		/* what the member would refuse every push for */
		if (!asa_member_principal_is_account(p) &&
		    (strchr(p, '/') == NULL || strchr(p, '@') == NULL)) {
			cli_error("--principal=%s: give the ASA's account, "
				  "NAME$@REALM (its service principals are "
				  "then accepted too), or every principal in "
				  "full (SERVICE/HOST@REALM)", p);
			goto done;
		}
	}
	if (o.from != NULL &&
	    (strchr(o.from, '"') != NULL || strchr(o.from, '\\') != NULL ||
	     strchr(o.from, ' ') != NULL || o.from[0] == '\0')) {
		cli_error("--from=%s: a comma-separated list of patterns, "
			  "no spaces or quotes", o.from);
		goto done;
	}
	if (o.command == NULL) {
		n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		if (n <= 0) {
			cli_error("cannot tell where samba-asa is: give "
				  "--command=PATH");
			goto done;
		}
		exe[n] = '\0';
		o.command = exe;
	}
	if (!option_word_valid("--command", o.command)) {
		goto done;
	}

	lp_ctx = loadparm_init_global(false);
	if (lp_ctx == NULL ||
	    !(o.smb_conf != NULL ? lpcfg_load(lp_ctx, o.smb_conf)
				 : lpcfg_load_default(lp_ctx))) {
		cli_error("cannot load %s", o.smb_conf != NULL ? o.smb_conf
							       : "smb.conf");
		goto done;
	}
	if (asa_member_transport_options_load(frame, lp_ctx, &topts) != 0) {
		cli_error("%s", ASA_MEMBER_TIMEOUT_HELP);
		goto done;
	}

	pub_path = talloc_asprintf(frame, "%s.pub", topts.ssh_identity);
	if (pub_path == NULL) {
		goto done;
	}
	if (stat(topts.ssh_identity, &st) != 0) {
		if (errno != ENOENT) {
			cli_error("%s: %s", topts.ssh_identity,
				  strerror(errno));
			goto done;
		}
		if (make_private_dir(topts.ssh_identity) != 0) {
			goto done;
		}
		comment = talloc_asprintf(frame, "samba-asa@%s",
					  lpcfg_netbios_name(lp_ctx));
		if (comment == NULL ||
		    run_ssh_keygen(topts.ssh_identity, comment) != 0) {
			goto done;
		}
		fprintf(stderr, "samba-asa: made the DC's SSH key for "
			"members: %s\n", topts.ssh_identity);
	}
	if (chmod(topts.ssh_identity, 0600) != 0) {
		cli_error("chmod 0600 %s: %s", topts.ssh_identity,
			  strerror(errno));
		goto done;
	}
	/* known_hosts, so that `member add` can record host keys there. */
	if (make_private_dir(topts.ssh_known_hosts) != 0) {
		goto done;
	}
	fd = open(topts.ssh_known_hosts, O_WRONLY | O_CREAT | O_CLOEXEC |
		  O_NOFOLLOW, 0644);
	if (fd == -1) {
		cli_error("cannot create %s: %s", topts.ssh_known_hosts,
			  strerror(errno));
		goto done;
	}
	close(fd);

	f = fopen(pub_path, "re");
	if (f == NULL || fgets(pubkey, sizeof(pubkey), f) == NULL) {
		cli_error("cannot read the public key %s", pub_path);
		goto done;
	}
	pubkey[strcspn(pubkey, "\r\n")] = '\0';
	if (strncmp(pubkey, "ssh-", 4) != 0 || strchr(pubkey, ' ') == NULL) {
		cli_error("%s does not hold an SSH public key", pub_path);
		goto done;
	}

	line = talloc_asprintf(frame, "restrict,%s%s%scommand=\"%s member "
			       "install --keytab=%s",
			       o.from != NULL ? "from=\"" : "",
			       o.from != NULL ? o.from : "",
			       o.from != NULL ? "\"," : "",
			       o.command, o.keytab);
	if (line != NULL && o.group != NULL) {
		line = talloc_asprintf_append(line, " --group=%s", o.group);
	}
	if (line != NULL && o.mode_text != NULL) {
		line = talloc_asprintf_append(line, " --mode=%s", o.mode_text);
	}
	for (i = 0; line != NULL && i < o.num_principals; i++) {
		line = talloc_asprintf_append(line, " --principal='%s'",
					      o.principals[i]);
	}
	if (line != NULL) {
		line = talloc_asprintf_append(line, "\" %s", pubkey);
	}
	if (line == NULL) {
		goto done;
	}
	printf("%s\n", line);
	if (fflush(stdout) != 0) {
		goto done;
	}
	if (isatty(STDOUT_FILENO)) {
		fprintf(stderr,
			"\nAdd the line above to root's "
			"~/.ssh/authorized_keys on each member; then, here:\n"
			"  samba-asa member add NAME ssh://root@MEMBER%s\n"
			"(the member's host key is recorded in %s on first "
			"contact)\n", o.keytab, topts.ssh_known_hosts);
	}
	rc = ASA_EXIT_OK;

done:
	if (f != NULL) {
		fclose(f);
	}
	TALLOC_FREE(frame);
	return rc;
}
