/*
 * samba-asa: what the subcommands share (cli.h): the common options,
 * the connection, the password of -U and errors (JSON: cli_json.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <talloc.h>
#include <ldb.h>
#include <param.h>

#include "cli.h"
#include "schedule.h"

#define ASA_PASSWORD_MAX 1024

void cli_error(const char *fmt, ...)
{
	va_list ap;

	fputs("samba-asa: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void cli_usage_common(FILE *out, bool connects, bool json)
{
	if (connects) {
		fputs("Connection options:\n"
"  -H URL                  ldap://DC, ldaps://DC, or the path of sam.ldb on\n"
"                          the DC (default: sam.ldb of smb.conf)\n"
"  -U USER                 bind name for a simple bind (the password comes\n"
"                          from a prompt, --password-file or\n"
"                          --password-stdin, never from the command line)\n"
"  --password-file FILE    read the password from the first line of FILE\n"
"  --password-stdin        read the password from the first line of stdin\n"
"  -k yes|no               use Kerberos (your ticket from kinit) or not\n"
"  --realm REALM           realm appended to a plain -U name\n",
		      out);
	}
	fputs("Common options:\n"
"  -s FILE                 smb.conf to use\n"
"  -d N                    debug level\n", out);
	if (json) {
		fputs("  --json                  print data as JSON\n", out);
	}
	fputs("  -h, --help              show this help\n", out);
}

enum {
	OPT_PASSWORD_FILE = 1000,
	OPT_PASSWORD_STDIN,
	OPT_REALM,
	OPT_JSON,
};

/* The length of "--name" in "--name=value". */
static int option_name_length(const char *arg)
{
	size_t n = strcspn(arg, "=");

	return n > 64 ? 64 : (int)n;
}

int cli_parse_options(struct cli_options *opts, int argc, char **argv,
		      int *pargc, char ***pargv, bool allow_json)
{
	static const struct option longopts[] = {
		{ "URL", required_argument, NULL, 'H' },
		{ "user", required_argument, NULL, 'U' },
		{ "username", required_argument, NULL, 'U' },
		{ "password-file", required_argument, NULL,
		  OPT_PASSWORD_FILE },
		{ "password-stdin", no_argument, NULL, OPT_PASSWORD_STDIN },
		{ "realm", required_argument, NULL, OPT_REALM },
		{ "configfile", required_argument, NULL, 's' },
		{ "kerberos", required_argument, NULL, 'k' },
		{ "use-kerberos", required_argument, NULL, 'k' },
		{ "debuglevel", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":H:U:s:k:d:h", longopts,
				NULL)) != -1) {
		switch (c) {
		case 'H':
			opts->url = optarg;
			break;
		case 'U':
			if (strchr(optarg, '%') != NULL) {
				cli_error("-U %s: a password never goes on the "
					  "command line (any user can read it "
					  "with ps); give -U USER and the "
					  "password at the prompt, with "
					  "--password-file FILE or "
					  "--password-stdin",
					  "USER%...");
				return ASA_EXIT_USAGE;
			}
			opts->username = optarg;
			break;
		case OPT_PASSWORD_FILE:
			opts->password_file = optarg;
			break;
		case OPT_PASSWORD_STDIN:
			opts->password_stdin = true;
			break;
		case OPT_REALM:
			opts->realm = optarg;
			break;
		case 's':
			opts->smb_conf = optarg;
			break;
		case 'k':
			if (strcasecmp(optarg, "yes") == 0 ||
			    strcasecmp(optarg, "required") == 0) {
				opts->kerberos = ASA_DIR_KERBEROS_YES;
			} else if (strcasecmp(optarg, "no") == 0 ||
				   strcasecmp(optarg, "disabled") == 0) {
				opts->kerberos = ASA_DIR_KERBEROS_NO;
			} else {
				cli_error("-k %s: say -k yes or -k no", optarg);
				return ASA_EXIT_USAGE;
			}
			break;
		case 'd': {
			char *end = NULL;
			long level = strtol(optarg, &end, 10);

			if (end == optarg || *end != '\0' || level < 0 ||
			    level > 10) {
				cli_error("-d %s: give a debug level 0..10",
					  optarg);
				return ASA_EXIT_USAGE;
			}
			opts->debug_level = level;
			break;
		}
		case OPT_JSON:
			if (!allow_json) {
				cli_error("--json: this command prints no "
					  "data");
				return ASA_EXIT_USAGE;
			}
			opts->json = true;
			break;
		case 'h':
			opts->help = true;
			break;
		case ':':
			cli_error("option %.*s needs a value",
				  option_name_length(argv[optind - 1]),
				  argv[optind - 1]);
			return ASA_EXIT_USAGE;
		default:
			/* the name only: the value may be a secret
			 * (--password=...) */
			if (optopt != 0) {
				cli_error("unknown option -%c (see --help)",
					  optopt);
			} else {
				cli_error("unknown option %.*s (see --help)",
					  option_name_length(
						  argv[optind - 1]),
					  argv[optind - 1]);
			}
			return ASA_EXIT_USAGE;
		}
	}
	if (opts->password_file != NULL && opts->password_stdin) {
		cli_error("give either --password-file or --password-stdin");
		return ASA_EXIT_USAGE;
	}
	*pargc = argc - optind;
	*pargv = argv + optind;
	return ASA_EXIT_OK;
}

/* Read one line (without its newline) into buf; false on failure. */
static bool read_line(int fd, char *buf, size_t size)
{
	size_t n = 0;

	while (n + 1 < size) {
		char c;
		ssize_t r = read(fd, &c, 1);

		if (r < 0 && errno == EINTR) {
			continue;
		}
		if (r <= 0 || c == '\n') {
			break;
		}
		buf[n++] = c;
	}
	if (n > 0 && buf[n - 1] == '\r') {
		n--;
	}
	buf[n] = '\0';
	return n > 0;
}

static bool prompt_password(const char *user, char *buf, size_t size)
{
	struct termios old, quiet;
	bool ok;
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);

	if (fd == -1) {
		return false;
	}
	if (tcgetattr(fd, &old) != 0) {
		close(fd);
		return false;
	}
	quiet = old;
	quiet.c_lflag &= ~ECHO;
	quiet.c_lflag |= ECHONL;
	dprintf(fd, "Password for %s: ", user);
	tcsetattr(fd, TCSAFLUSH, &quiet);
	ok = read_line(fd, buf, size);
	tcsetattr(fd, TCSAFLUSH, &old);
	close(fd);
	return ok;
}

static bool read_password(const struct cli_options *opts, char *buf,
			  size_t size)
{
	if (opts->password_file != NULL) {
		int fd = open(opts->password_file, O_RDONLY | O_CLOEXEC);
		bool ok;

		if (fd == -1) {
			cli_error("--password-file %s: %s", opts->password_file,
				  strerror(errno));
			return false;
		}
		ok = read_line(fd, buf, size);
		close(fd);
		if (!ok) {
			cli_error("--password-file %s: the first line is "
				  "empty", opts->password_file);
		}
		return ok;
	}
	if (opts->password_stdin) {
		if (!read_line(STDIN_FILENO, buf, size)) {
			cli_error("--password-stdin: no password on standard "
				  "input");
			return false;
		}
		return true;
	}
	if (!prompt_password(opts->username, buf, size)) {
		cli_error("no password for -U %s: there is no terminal to "
			  "ask on; give --password-file FILE or "
			  "--password-stdin", opts->username);
		return false;
	}
	return true;
}

bool cli_read_password(const struct cli_options *opts, char *buf,
		       size_t size)
{
	return read_password(opts, buf, size);
}

static bool url_is_ldap(const char *url)
{
	return url != NULL && (strncasecmp(url, "ldap://", 7) == 0 ||
			       strncasecmp(url, "ldaps://", 8) == 0);
}

/*
 * Over LDAP, smb.conf (-s FILE, else the default one if there is one)
 * gives "asa:ldap timeout", a duration.  An exit status; *seconds stays 0
 * for the default.
 */
static int ldap_timeout(const struct cli_options *opts, int *seconds)
{
	struct loadparm_context *lp = loadparm_init_global(false);
	const char *text = NULL;
	int64_t value = 0;

	if (lp == NULL) {
		cli_error("out of memory");
		return ASA_EXIT_USAGE;
	}
	if (opts->smb_conf != NULL) {
		if (!lpcfg_load(lp, opts->smb_conf)) {
			cli_error("-s %s: cannot load it (does it exist?)",
				  opts->smb_conf);
			return ASA_EXIT_USAGE;
		}
	} else if (!lpcfg_load_default(lp)) {
		return ASA_EXIT_OK;	/* a workstation without smb.conf */
	}
	text = lpcfg_parm_string(lp, NULL, "asa", "ldap timeout");
	if (text == NULL) {
		return ASA_EXIT_OK;
	}
	if (asa_schedule_parse_duration(text, &value) != 0 || value < 1 ||
	    value > 3600) {
		cli_error("asa:ldap timeout = %s: give a duration from 1s to "
			  "1h (e.g. 30 or 2m)", text);
		return ASA_EXIT_USAGE;
	}
	*seconds = (int)value;
	return ASA_EXIT_OK;
}

int cli_connect(TALLOC_CTX *mem_ctx, const struct cli_options *opts,
		struct asa_dir **dir)
{
	struct asa_dir_options o = {
		.url = opts->url,
		.smb_conf = opts->smb_conf,
		.username = opts->username,
		.realm = opts->realm,
		.kerberos = opts->kerberos,
		.debug_level = opts->debug_level,
	};
	char password[ASA_PASSWORD_MAX];
	char *err = NULL;
	bool need_password;
	int ret;

	if (url_is_ldap(opts->url)) {
		ret = ldap_timeout(opts, &o.timeout);
		if (ret != ASA_EXIT_OK) {
			return ret;
		}
	}
	/* -U over LDAP: a simple bind, or with -k yes a ticket of our own */
	need_password = url_is_ldap(opts->url) && opts->username != NULL;
	if (need_password) {
		if (!read_password(opts, password, sizeof(password))) {
			explicit_bzero(password, sizeof(password));
			return ASA_EXIT_USAGE;
		}
		o.password = password;
	}
	ret = asa_dir_connect(mem_ctx, &o, dir, &err);
	explicit_bzero(password, sizeof(password));
	if (ret != LDB_SUCCESS) {
		cli_error("%s", err != NULL ? err : ldb_strerror(ret));
		TALLOC_FREE(err);
		return ASA_EXIT_USAGE;
	}
	return ASA_EXIT_OK;
}
