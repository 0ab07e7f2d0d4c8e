/*
 * samba-asa: the options of every command (cli.h), parsed with popt as
 * Samba's tools do, and the credentials of -U held in Samba's
 * cli_credentials: -U parsed by cli_credentials_parse_string(), the
 * password from --password-file, --password-stdin or a prompt on the
 * terminal (the credentials' password callback), -k / --use-kerberos as
 * the credentials' Kerberos state.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <termios.h>
#include <unistd.h>
#include <popt.h>
#include <talloc.h>
#include <credentials.h>

#include "cli.h"
#include "keys.h"

#define ASA_PASSWORD_MAX 1024

enum {
	OPT_URL = 1,
	OPT_USER,
	OPT_PASSWORD_FILE,
	OPT_PASSWORD_STDIN,
	OPT_KERBEROS,
	OPT_REALM,
	OPT_CONFIGFILE,
	OPT_DEBUGLEVEL,
	OPT_JSON,
	OPT_HELP,
	OPT_OWN,		/* the command's own: OPT_OWN + index */
};

static const struct poptOption connection_options[] = {
	{ "URL", 'H', POPT_ARG_STRING, NULL, OPT_URL,
	  "ldap://DC, ldaps://DC, or the path of sam.ldb on the DC "
	  "(default: sam.ldb of smb.conf)", "URL" },
	{ "user", 'U', POPT_ARG_STRING, NULL, OPT_USER,
	  "bind name for a simple bind (the password comes from a prompt, "
	  "--password-file or --password-stdin, never from the command "
	  "line)", "USER" },
	{ "username", '\0', POPT_ARG_STRING | POPT_ARGFLAG_DOC_HIDDEN, NULL,
	  OPT_USER, NULL, "USER" },
	{ "password-file", '\0', POPT_ARG_STRING, NULL, OPT_PASSWORD_FILE,
	  "read the password from the first line of FILE", "FILE" },
	{ "password-stdin", '\0', POPT_ARG_NONE, NULL, OPT_PASSWORD_STDIN,
	  "read the password from the first line of standard input", NULL },
	{ "use-kerberos", '\0', POPT_ARG_STRING, NULL, OPT_KERBEROS,
	  "Kerberos (your ticket from kinit): required, off, or desired "
	  "(the default: unless -U is given)", "WHEN" },
	{ "kerberos", 'k', POPT_ARG_STRING, NULL, OPT_KERBEROS,
	  "the same: yes (required) or no (off)", "yes|no" },
	{ "realm", '\0', POPT_ARG_STRING, NULL, OPT_REALM,
	  "realm appended to a plain -U name", "REALM" },
	POPT_TABLEEND
};

static const struct poptOption common_options[] = {
	{ "configfile", 's', POPT_ARG_STRING, NULL, OPT_CONFIGFILE,
	  "smb.conf to use", "FILE" },
	{ "debuglevel", 'd', POPT_ARG_STRING, NULL, OPT_DEBUGLEVEL,
	  "debug level (0 to 10)", "N" },
	{ "help", 'h', POPT_ARG_NONE, NULL, OPT_HELP,
	  "show this help", NULL },
	POPT_TABLEEND
};

/* Common too; refused with a reason by a command that prints no data. */
static const struct poptOption json_option[] = {
	{ "json", '\0', POPT_ARG_NONE, NULL, OPT_JSON,
	  "print data as JSON", NULL },
	POPT_TABLEEND
};

#define INCLUDE(t, title) { NULL, '\0', POPT_ARG_INCLUDE_TABLE, \
	discard_const_p(struct poptOption, t), 0, title, NULL }

void cli_usage_common(FILE *out, bool connects, bool json)
{
	struct poptOption table[4] = { POPT_TABLEEND };
	const char *argv[] = { "samba-asa", NULL };
	poptContext pc = NULL;
	char *text = NULL;
	size_t len = 0, n = 0;
	FILE *mem = NULL;

	if (connects) {
		table[n++] = (struct poptOption)
			INCLUDE(connection_options, "Connection options:");
	}
	table[n++] = (struct poptOption)
		INCLUDE(common_options, "Common options:");
	if (json) {
		table[n++] = (struct poptOption) INCLUDE(json_option, NULL);
	}
	pc = poptGetContext(NULL, 1, argv, table, 0);
	mem = open_memstream(&text, &len);
	if (pc != NULL && mem != NULL) {
		poptPrintHelp(pc, mem, 0);
	}
	if (mem != NULL) {
		fclose(mem);
	}
	poptFreeContext(pc);
	/* the tables, without popt's "Usage:" line and the blank after */
	if (text != NULL) {
		const char *p = strchr(text, '\n');

		p = p != NULL ? p + 1 : text;
		fputs(p + (*p == '\n'), out);
	}
	free(text);
}

/* The value of -k / --kerberos / --use-kerberos, as Samba spells it. */
static bool kerberos_state(const char *arg,
			   enum credentials_use_kerberos *state)
{
	static const struct {
		const char *name;
		enum credentials_use_kerberos state;
	} names[] = {
		{ "yes", CRED_USE_KERBEROS_REQUIRED },
		{ "required", CRED_USE_KERBEROS_REQUIRED },
		{ "no", CRED_USE_KERBEROS_DISABLED },
		{ "off", CRED_USE_KERBEROS_DISABLED },
		{ "disabled", CRED_USE_KERBEROS_DISABLED },
		{ "desired", CRED_USE_KERBEROS_DESIRED },
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcasecmp(arg, names[i].name) == 0) {
			*state = names[i].state;
			return true;
		}
	}
	return false;
}

/*
 * The bind name of -U as the credentials parsed it: DOMAIN\user, a UPN,
 * a DN or a plain name (the directory layer appends the realm to that).
 */
static const char *bind_name(TALLOC_CTX *mem_ctx,
			     struct cli_credentials *creds)
{
	const char *user = cli_credentials_get_username(creds);
	const char *domain = cli_credentials_get_domain(creds);

	if (user == NULL || domain == NULL || domain[0] == '\0') {
		return user;
	}
	return talloc_asprintf(mem_ctx, "%s\\%s", domain, user);
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

/*
 * The credentials' password callback: a prompt on the terminal (never on
 * standard output, which may be JSON), without echo.  NULL when there is
 * no terminal or no answer.
 */
static const char *prompt_password(struct cli_credentials *creds)
{
	const char *user = bind_name(creds, creds);
	char buf[ASA_PASSWORD_MAX];
	struct termios old, quiet;
	char *password = NULL;
	bool ok;
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);

	if (fd == -1) {
		return NULL;
	}
	if (tcgetattr(fd, &old) != 0) {
		close(fd);
		return NULL;
	}
	quiet = old;
	quiet.c_lflag &= ~ECHO;
	quiet.c_lflag |= ECHONL;
	dprintf(fd, "Password for %s: ", user != NULL ? user : "");
	tcsetattr(fd, TCSAFLUSH, &quiet);
	ok = read_line(fd, buf, sizeof(buf));
	tcsetattr(fd, TCSAFLUSH, &old);
	close(fd);
	if (ok) {
		password = talloc_strdup(creds, buf);
		asa_secret_wipe_on_free(password);
	}
	explicit_bzero(buf, sizeof(buf));
	return password;
}

/* "--name" of "--name=value": never the value, which may be a secret. */
static void bad_option(poptContext pc, int error)
{
	const char *arg = poptBadOption(pc, POPT_BADOPTION_NOALIAS);
	int n = (int)strcspn(arg, "=");

	if (n > 64) {
		n = 64;
	}
	if (error == POPT_ERROR_NOARG) {
		cli_error("option %.*s needs a value", n, arg);
	} else if (error == POPT_ERROR_BADOPT) {
		cli_error("unknown option %.*s (see --help)", n, arg);
	} else {
		cli_error("option %.*s: %s", n, arg, poptStrerror(error));
	}
}

static int take_common(struct cli_options *opts, int val, const char *arg,
		       bool allow_json)
{
	enum credentials_use_kerberos state;

	switch (val) {
	case OPT_URL:
		opts->url = arg;
		break;
	case OPT_USER:
		if (strchr(arg, '%') != NULL) {
			cli_error("-U %s: a password never goes on the "
				  "command line (any user can read it with "
				  "ps); give -U USER and the password at the "
				  "prompt, with --password-file FILE or "
				  "--password-stdin", "USER%...");
			return ASA_EXIT_USAGE;
		}
		cli_credentials_parse_string(opts->creds, arg, CRED_SPECIFIED);
		opts->username = arg;
		break;
	case OPT_PASSWORD_FILE:
		opts->password_file = arg;
		break;
	case OPT_PASSWORD_STDIN:
		opts->password_stdin = true;
		break;
	case OPT_KERBEROS:
		if (!kerberos_state(arg, &state)) {
			cli_error("-k %s: say -k yes or -k no (or "
				  "--use-kerberos=desired|required|off)", arg);
			return ASA_EXIT_USAGE;
		}
		cli_credentials_set_kerberos_state(opts->creds, state,
						   CRED_SPECIFIED);
		break;
	case OPT_REALM:
		cli_credentials_set_realm(opts->creds, arg, CRED_SPECIFIED);
		opts->realm = arg;
		break;
	case OPT_CONFIGFILE:
		opts->smb_conf = arg;
		break;
	case OPT_DEBUGLEVEL: {
		char *end = NULL;
		long level = strtol(arg, &end, 10);

		if (end == arg || *end != '\0' || level < 0 || level > 10) {
			cli_error("-d %s: give a debug level 0..10", arg);
			return ASA_EXIT_USAGE;
		}
		opts->debug_level = level;
		break;
	}
	case OPT_JSON:
		if (!allow_json) {
			cli_error("--json: this command prints no data");
			return ASA_EXIT_USAGE;
		}
		opts->json = true;
		break;
	case OPT_HELP:
		opts->help = true;
		break;
	}
	return ASA_EXIT_OK;
}

static int take_own(TALLOC_CTX *mem_ctx, struct cli_option *o,
		    const char *arg)
{
	const char **v = NULL;

	if (o->flag) {
		if (o->given && !o->repeat) {
			cli_error("%s: give it once", o->name);
			return ASA_EXIT_USAGE;
		}
		o->given = true;
		return ASA_EXIT_OK;
	}
	if (o->given && !o->repeat && !o->greedy) {
		cli_error("%s: give it once", o->name);
		return ASA_EXIT_USAGE;
	}
	if (arg[0] == '\0') {
		cli_error("%s: the value is empty", o->name);
		return ASA_EXIT_USAGE;
	}
	v = talloc_realloc(mem_ctx, o->values, const char *, o->num + 1);
	if (v == NULL) {
		cli_error("out of memory");
		return ASA_EXIT_USAGE;
	}
	v[o->num++] = arg;
	o->values = v;
	o->given = true;
	return ASA_EXIT_OK;
}

static const struct cli_option *greedy_option(const struct cli_option *own,
					      size_t num_own, const char *arg)
{
	size_t i;

	for (i = 0; i < num_own; i++) {
		if (own[i].greedy && strcmp(arg, own[i].name) == 0) {
			return &own[i];
		}
	}
	return NULL;
}

/*
 * argv with "--spn A B C" written as "--spn A --spn B --spn C" for each
 * greedy option (popt has no option that takes several words), up to the
 * next word that starts with '-' or "--".
 */
static const char **expand_greedy(TALLOC_CTX *mem_ctx,
				  const struct cli_option *own,
				  size_t num_own, int argc, char **argv,
				  int *pargc)
{
	const char **out = talloc_zero_array(mem_ctx, const char *,
					     2 * argc + 1);
	int in, n = 0;
	bool ended = false;

	if (out == NULL) {
		return NULL;
	}
	for (in = 0; in < argc; in++) {
		const struct cli_option *o = NULL;
		const char *name = NULL;

		out[n++] = argv[in];
		if (in == 0 || ended) {
			continue;
		}
		if (strcmp(argv[in], "--") == 0) {
			ended = true;
			continue;
		}
		o = greedy_option(own, num_own, argv[in]);
		if (o == NULL || in + 1 >= argc) {
			continue;
		}
		name = argv[in];
		out[n++] = argv[++in];	/* its value, whatever it is */
		while (in + 1 < argc && argv[in + 1][0] != '-') {
			out[n++] = name;
			out[n++] = argv[++in];
		}
	}
	*pargc = n;
	return out;
}

/*
 * --password-file and --password-stdin, read when the options are parsed
 * (as Samba's tools read -A), into the credentials.  Not through
 * cli_credentials_parse_password_fd(): it keeps at most 127 bytes and, on
 * a longer line, writes one byte past its buffer (Samba 4.17).
 */
static bool read_password(const struct cli_options *opts)
{
	char buf[ASA_PASSWORD_MAX];
	bool ok = true;
	int fd = STDIN_FILENO;

	if (opts->password_file != NULL) {
		fd = open(opts->password_file, O_RDONLY | O_CLOEXEC);
		if (fd == -1) {
			cli_error("--password-file %s: %s", opts->password_file,
				  strerror(errno));
			return false;
		}
	} else if (!opts->password_stdin) {
		return true;	/* the prompt, when it is needed */
	}
	if (!read_line(fd, buf, sizeof(buf))) {
		if (opts->password_file != NULL) {
			cli_error("--password-file %s: the first line is "
				  "empty", opts->password_file);
		} else {
			cli_error("--password-stdin: no password on standard "
				  "input");
		}
		ok = false;
	}
	if (fd != STDIN_FILENO) {
		close(fd);
	}
	if (ok && !cli_credentials_set_password(opts->creds, buf,
						CRED_SPECIFIED)) {
		cli_error("out of memory");
		ok = false;
	}
	explicit_bzero(buf, sizeof(buf));
	if (ok) {
		asa_secret_wipe_on_free(
			cli_credentials_get_password(opts->creds));
	}
	return ok;
}

int cli_parse(TALLOC_CTX *mem_ctx, struct cli_options *opts,
	      struct cli_option *own, size_t num_own, int argc, char **argv,
	      int *pargc, char ***pargv, bool allow_json)
{
	struct poptOption *own_table = NULL;
	struct poptOption table[] = {
		INCLUDE(NULL, NULL),	/* the command's own */
		INCLUDE(connection_options, NULL),
		INCLUDE(common_options, NULL),
		INCLUDE(json_option, NULL),
		POPT_TABLEEND
	};
	poptContext pc = NULL;
	const char **args = NULL;
	const char **rest = NULL;
	int nargs = 0, n = 0;
	int status = ASA_EXIT_USAGE;
	int val;
	size_t i;

	opts->creds = cli_credentials_init(mem_ctx);
	own_table = talloc_zero_array(mem_ctx, struct poptOption,
				      num_own + 1);
	args = expand_greedy(mem_ctx, own, num_own, argc, argv, &nargs);
	if (opts->creds == NULL || own_table == NULL || args == NULL) {
		cli_error("out of memory");
		return ASA_EXIT_USAGE;
	}
	cli_credentials_set_password_callback(opts->creds, prompt_password);
	for (i = 0; i < num_own; i++) {
		own_table[i] = (struct poptOption) {
			.longName = own[i].name + 2,	/* after "--" */
			.argInfo = own[i].flag ? POPT_ARG_NONE :
				   POPT_ARG_STRING,
			.val = OPT_OWN + (int)i,
		};
	}
	table[0].arg = own_table;

	pc = poptGetContext(NULL, nargs, args, table, 0);
	if (pc == NULL) {
		cli_error("out of memory");
		return ASA_EXIT_USAGE;
	}
	while ((val = poptGetNextOpt(pc)) != -1) {
		const char *arg = NULL;

		if (val < -1) {
			bad_option(pc, val);
			goto done;
		}
		arg = poptGetOptArg(pc);
		if (arg != NULL) {
			/* popt's copy, freed with the context */
			char *copy = talloc_strdup(mem_ctx, arg);

			free(discard_const_p(char, arg));
			if (copy == NULL) {
				cli_error("out of memory");
				goto done;
			}
			arg = copy;
		}
		status = val >= OPT_OWN ?
			take_own(mem_ctx, &own[val - OPT_OWN], arg) :
			take_common(opts, val, arg, allow_json);
		if (status != ASA_EXIT_OK) {
			goto done;
		}
		status = ASA_EXIT_USAGE;
	}
	if (opts->password_file != NULL && opts->password_stdin) {
		cli_error("give either --password-file or --password-stdin");
		goto done;
	}
	if (!read_password(opts)) {
		goto done;
	}
	rest = talloc_zero_array(mem_ctx, const char *, nargs + 1);
	if (rest == NULL) {
		cli_error("out of memory");
		goto done;
	}
	while (poptPeekArg(pc) != NULL) {
		rest[n] = talloc_strdup(rest, poptGetArg(pc));
		if (rest[n++] == NULL) {
			cli_error("out of memory");
			goto done;
		}
	}
	if (opts->username != NULL) {
		opts->username = bind_name(mem_ctx, opts->creds);
	}
	opts->kerberos =
		cli_credentials_get_kerberos_state(opts->creds) ==
		CRED_USE_KERBEROS_REQUIRED ? ASA_DIR_KERBEROS_YES :
		cli_credentials_get_kerberos_state(opts->creds) ==
		CRED_USE_KERBEROS_DISABLED ? ASA_DIR_KERBEROS_NO :
		ASA_DIR_KERBEROS_AUTO;
	*pargc = n;
	*pargv = discard_const_p(char *, rest);
	status = ASA_EXIT_OK;
done:
	poptFreeContext(pc);
	return status;
}

int cli_parse_options(TALLOC_CTX *mem_ctx, struct cli_options *opts,
		      int argc, char **argv, int *pargc, char ***pargv,
		      bool allow_json)
{
	return cli_parse(mem_ctx, opts, NULL, 0, argc, argv, pargc, pargv,
			 allow_json);
}

bool cli_read_password(const struct cli_options *opts, char *buf,
		       size_t size)
{
	/* from the file or standard input, else the prompt (once) */
	const char *password = cli_credentials_get_password(opts->creds);

	if (password == NULL || password[0] == '\0') {
		cli_error("no password for -U %s: there is no terminal to "
			  "ask on; give --password-file FILE or "
			  "--password-stdin", opts->username);
		return false;
	}
	asa_secret_wipe_on_free(password);
	if (strlen(password) >= size) {
		cli_error("the password of -U %s is longer than %zu bytes",
			  opts->username, size - 1);
		return false;
	}
	strcpy(buf, password);
	return true;
}
