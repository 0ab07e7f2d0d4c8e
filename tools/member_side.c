/*
 * samba-asa member install | member setup: the member side of the array.
 *
 * The member side itself is samba-asa-member (member/), a program of its
 * own that needs neither Samba nor this package.  `member install` stays
 * for the authorized_keys lines older versions printed (`samba-asa member
 * install --keytab=...`): it runs samba-asa-member with the same options.
 *
 * `member setup` runs on the DC: it makes the DC's SSH key if there is
 * none and prints the line a member adds to root's authorized_keys:
 *
 *   restrict,command="/usr/sbin/samba-asa-member
 *	--keytab=/etc/apache2/http.keytab --group=www-data" ssh-ed25519 ...
 */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <talloc.h>
#include <param.h>

#include "cli.h"
#include "member.h"
#include "proc.h"
#include "member_protocol.h"

#define MEMBER_DEFAULT_KEYTAB "/etc/samba-asa/asa.keytab"
#define MEMBER_PROGRAM "samba-asa-member"
#define MEMBER_MAX_PRINCIPALS 64

struct member_setup_options {
	const char *smb_conf;
	const char *config;
	const char *keytab;
	const char *group;
	const char *mode_text;
	const char *principals[MEMBER_MAX_PRINCIPALS];
	size_t num_principals;
	const char *from;
	const char *command;
};

/*
 * samba-asa-member beside this program: ../sbin/ when installed
 * (/usr/bin/samba-asa, /usr/sbin/samba-asa-member), ../member/ in the
 * build tree (bin/tools/, bin/member/).  false when there is none.
 */
static bool member_program(char *path, size_t size)
{
	static const char *beside[] = {
		"/../sbin/" MEMBER_PROGRAM, "/../member/" MEMBER_PROGRAM,
	};
	char exe[PATH_MAX];
	char *slash = NULL;
	ssize_t n;
	size_t i;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0) {
		return false;
	}
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (slash == NULL) {
		return false;
	}
	*slash = '\0';
	for (i = 0; i < sizeof(beside) / sizeof(beside[0]); i++) {
		char candidate[PATH_MAX];
		char *real = NULL;

		snprintf(candidate, sizeof(candidate), "%s%s", exe,
			 beside[i]);
		real = realpath(candidate, NULL);
		if (real != NULL && access(real, X_OK) == 0 &&
		    strlen(real) < size) {
			snprintf(path, size, "%s", real);
			free(real);
			return true;
		}
		free(real);
	}
	return false;
}

int cmd_member_install(TALLOC_CTX *mem_ctx, int argc, char **argv)
{
	char program[PATH_MAX];
	char **args = NULL;
	int i;

	if (!member_program(program, sizeof(program))) {
		cli_error("member install: %s is not installed beside "
			  "samba-asa: install the samba-asa-member package "
			  "(the member side is that program now)",
			  MEMBER_PROGRAM);
		return ASA_EXIT_USAGE;
	}
	args = talloc_zero_array(mem_ctx, char *, argc + 1);
	if (args == NULL) {
		return ASA_EXIT_USAGE;
	}
	args[0] = program;
	for (i = 1; i < argc; i++) {
		args[i] = argv[i];
	}
	execv(program, args);
	cli_error("cannot run %s: %s", program, strerror(errno));
	return ASA_EXIT_USAGE;
}

static void member_setup_usage(FILE *out)
{
	fputs("Usage: samba-asa member setup [-s smb.conf] [--keytab=PATH] "
	      "[--group=GROUP]\n"
	      "         [--mode=0600|0640] [--principal=P ...] "
	      "[--config=FILE]\n"
	      "         [--from=PATTERN] [--command=PATH]\n"
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
	      "  --group, --mode, --principal   passed to samba-asa-member\n"
	      "  --config=FILE       the member's config file instead (one "
	      "section per\n"
	      "                      keytab; see samba-asa-member(8))\n"
	      "  --from=PATTERN      only from these addresses (sshd's "
	      "from=)\n"
	      "  --command=PATH      samba-asa-member on the member [the "
	      "one beside\n"
	      "                      samba-asa, else /usr/sbin/"
	      MEMBER_PROGRAM "]\n", out);
}

static int parse_setup_options(int argc, char **argv,
			       struct member_setup_options *o)
{
	static const struct option longopts[] = {
		{ "keytab", required_argument, NULL, 'k' },
		{ "group", required_argument, NULL, 'g' },
		{ "mode", required_argument, NULL, 'm' },
		{ "principal", required_argument, NULL, 'p' },
		{ "config", required_argument, NULL, 'c' },
		{ "from", required_argument, NULL, 'f' },
		{ "command", required_argument, NULL, 'C' },
		{ "configfile", required_argument, NULL, 's' },
		{ "debuglevel", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*o = (struct member_setup_options) { 0 };
	optind = 0;	/* cmd_member() may have run getopt already */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+s:d:h", longopts,
				NULL)) != -1) {
		switch (c) {
		case 'k': o->keytab = optarg; break;
		case 'g': o->group = optarg; break;
		case 'm': o->mode_text = optarg; break;
		case 'c': o->config = optarg; break;
		case 'f': o->from = optarg; break;
		case 'C': o->command = optarg; break;
		case 's': o->smb_conf = optarg; break;
		case 'd': break;
		case 'p':
			if (o->num_principals == MEMBER_MAX_PRINCIPALS) {
				cli_error("at most %d --principal options",
					  MEMBER_MAX_PRINCIPALS);
				return ASA_EXIT_USAGE;
			}
			o->principals[o->num_principals++] = optarg;
			break;
		case 'h':
			member_setup_usage(stdout);
			exit(ASA_EXIT_OK);
		default:
			cli_error("member setup: unknown or incomplete option "
				  "'%s' (see --help)", argv[optind - 1]);
			return ASA_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		cli_error("member setup: unexpected argument '%s'",
			  argv[optind]);
		return ASA_EXIT_USAGE;
	}
	if (o->config != NULL &&
	    (o->keytab != NULL || o->group != NULL || o->mode_text != NULL ||
	     o->num_principals > 0)) {
		cli_error("member setup: --config, or --keytab and its "
			  "options, not both (the config file holds them)");
		return ASA_EXIT_USAGE;
	}
	return ASA_EXIT_OK;
}

/* --keytab or --config: a path a member URL can name. */
static bool path_valid(const char *option, const char *path)
{
	const char *bad = NULL;

	if (!asa_member_path_valid(path, &bad)) {
		cli_error("%s=%s: an absolute path of letters, digits and "
			  "._+-,=@:/ is needed (%s)", option, path, bad);
		return false;
	}
	return true;
}

/* --mode and --group as samba-asa-member will take them. */
static bool mode_valid(const struct member_setup_options *o)
{
	bool mode_0640;

	if (o->mode_text == NULL) {
		return true;
	}
	mode_0640 = strcmp(o->mode_text, "0640") == 0 ||
		    strcmp(o->mode_text, "640") == 0;
	if (!mode_0640 && strcmp(o->mode_text, "0600") != 0 &&
	    strcmp(o->mode_text, "600") != 0) {
		cli_error("--mode must be 0600 or 0640, not '%s'",
			  o->mode_text);
		return false;
	}
	if (mode_0640 != (o->group != NULL)) {
		cli_error("%s", mode_0640 ?
			  "--mode=0640 needs --group (the group that reads "
			  "the keytab)" :
			  "--group needs --mode=0640 (a 0600 keytab has no "
			  "group readers)");
		return false;
	}
	return true;
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
	const char *argv[] = {
		"ssh-keygen", "-q", "-t", "ed25519",
		"-N", "",	/* no passphrase: unattended */
		"-C", comment, "-f", identity, NULL,
	};
	struct asa_proc_options o = {
		.argv = argv,
		.timeout_ms = 60 * 1000,
	};
	struct asa_proc_result *r = NULL;
	int ret;

	ret = asa_proc_run(NULL, &o, &r);
	if (ret != 0) {
		cli_error("cannot run ssh-keygen: %s", strerror(ret));
		return ret;
	}
	if (!r->status_known || !WIFEXITED(r->wait_status) ||
	    WEXITSTATUS(r->wait_status) != 0) {
		TALLOC_FREE(r);
		cli_error("ssh-keygen -f %s failed", identity);
		return EIO;
	}
	TALLOC_FREE(r);
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

/* The options that go into the line: each as the member will take it. */
static bool setup_options_valid(struct member_setup_options *o,
				char *program, size_t size)
{
	size_t i;

	if (o->config == NULL && o->keytab == NULL) {
		o->keytab = MEMBER_DEFAULT_KEYTAB;
	}
	if ((o->keytab != NULL && !path_valid("--keytab", o->keytab)) ||
	    (o->config != NULL && !path_valid("--config", o->config))) {
		return false;
	}
	/* Checked here for their syntax; the group is the member's. */
	if ((o->mode_text != NULL &&
	     !option_word_valid("--mode", o->mode_text)) ||
	    (o->group != NULL && !option_word_valid("--group", o->group)) ||
	    !mode_valid(o)) {
		return false;
	}
	for (i = 0; i < o->num_principals; i++) {
		/* NAME$@REALM: in single quotes in the line, for the shell
		 * sshd runs the command with. */
		const char *p = o->principals[i];

		if (p[0] == '\0' || strpbrk(p, "\"\\' \t\r\n") != NULL) {
			cli_error("--principal '%s': no quotes, backslashes or "
				  "spaces, please (it goes into "
				  "authorized_keys)", p);
			return false;
		}
		/* what the member would refuse every push for */
		if (!asa_member_principal_is_account(p) &&
		    (strchr(p, '/') == NULL || strchr(p, '@') == NULL)) {
			cli_error("--principal=%s: give the ASA's account, "
				  "NAME$@REALM (its service principals are "
				  "then accepted too), or every principal in "
				  "full (SERVICE/HOST@REALM)", p);
			return false;
		}
	}
	if (o->from != NULL &&
	    (strchr(o->from, '"') != NULL || strchr(o->from, '\\') != NULL ||
	     strchr(o->from, ' ') != NULL || o->from[0] == '\0')) {
		cli_error("--from=%s: a comma-separated list of patterns, "
			  "no spaces or quotes", o->from);
		return false;
	}
	if (o->command == NULL) {
		o->command = member_program(program, size) ? program :
			     "/usr/sbin/" MEMBER_PROGRAM;
	}
	return option_word_valid("--command", o->command);
}

/* The DC's key (made when there is none) and known_hosts: the public key
 * in pubkey. */
static bool setup_dc_key(TALLOC_CTX *frame, struct loadparm_context *lp_ctx,
			 const struct asa_member_transport_options *topts,
			 char *pubkey, size_t size)
{
	char *pub_path = talloc_asprintf(frame, "%s.pub", topts->ssh_identity);
	char *comment = NULL;
	struct stat st;
	bool ok = false;
	FILE *f = NULL;
	int fd;

	if (pub_path == NULL) {
		return false;
	}
	if (stat(topts->ssh_identity, &st) != 0) {
		if (errno != ENOENT) {
			cli_error("%s: %s", topts->ssh_identity,
				  strerror(errno));
			return false;
		}
		if (make_private_dir(topts->ssh_identity) != 0) {
			return false;
		}
		comment = talloc_asprintf(frame, "samba-asa@%s",
					  lpcfg_netbios_name(lp_ctx));
		if (comment == NULL ||
		    run_ssh_keygen(topts->ssh_identity, comment) != 0) {
			return false;
		}
		fprintf(stderr, "samba-asa: made the DC's SSH key for "
			"members: %s\n", topts->ssh_identity);
	}
	if (chmod(topts->ssh_identity, 0600) != 0) {
		cli_error("chmod 0600 %s: %s", topts->ssh_identity,
			  strerror(errno));
		return false;
	}
	/* known_hosts, so that `member add` can record host keys there. */
	if (make_private_dir(topts->ssh_known_hosts) != 0) {
		return false;
	}
	fd = open(topts->ssh_known_hosts, O_WRONLY | O_CREAT | O_CLOEXEC |
		  O_NOFOLLOW, 0644);
	if (fd == -1) {
		cli_error("cannot create %s: %s", topts->ssh_known_hosts,
			  strerror(errno));
		return false;
	}
	close(fd);

	f = fopen(pub_path, "re");
	if (f == NULL || fgets(pubkey, size, f) == NULL) {
		cli_error("cannot read the public key %s", pub_path);
		goto done;
	}
	pubkey[strcspn(pubkey, "\r\n")] = '\0';
	if (strncmp(pubkey, "ssh-", 4) != 0 || strchr(pubkey, ' ') == NULL) {
		cli_error("%s does not hold an SSH public key", pub_path);
		goto done;
	}
	ok = true;
done:
	if (f != NULL) {
		fclose(f);
	}
	return ok;
}

/*
 * The authorized_keys line.  A --command naming samba-asa itself (a
 * member with an older package) gets the `member install` form.
 */
static char *setup_line(TALLOC_CTX *mem_ctx,
			const struct member_setup_options *o,
			const char *pubkey)
{
	const char *base = strrchr(o->command, '/');
	bool old_form = strcmp(base != NULL ? base + 1 : o->command,
			       "samba-asa") == 0;
	char *line = NULL;
	size_t i;

	line = talloc_asprintf(mem_ctx, "restrict,%s%s%scommand=\"%s%s",
			       o->from != NULL ? "from=\"" : "",
			       o->from != NULL ? o->from : "",
			       o->from != NULL ? "\"," : "",
			       o->command, old_form ? " member install" : "");
	if (line != NULL && o->config != NULL) {
		line = talloc_asprintf_append(line, " --config=%s",
					      o->config);
	}
	if (line != NULL && o->keytab != NULL) {
		line = talloc_asprintf_append(line, " --keytab=%s",
					      o->keytab);
	}
	if (line != NULL && o->group != NULL) {
		line = talloc_asprintf_append(line, " --group=%s", o->group);
	}
	if (line != NULL && o->mode_text != NULL) {
		line = talloc_asprintf_append(line, " --mode=%s",
					      o->mode_text);
	}
	for (i = 0; line != NULL && i < o->num_principals; i++) {
		line = talloc_asprintf_append(line, " --principal='%s'",
					      o->principals[i]);
	}
	if (line != NULL) {
		line = talloc_asprintf_append(line, "\" %s", pubkey);
	}
	return line;
}

int cmd_member_setup(TALLOC_CTX *mem_ctx, int argc, char **argv)
{
	TALLOC_CTX *frame = talloc_new(mem_ctx);
	struct member_setup_options o;
	struct asa_member_transport_options topts;
	struct loadparm_context *lp_ctx = NULL;
	char *line = NULL;
	char pubkey[2048];
	char program[PATH_MAX];
	int rc;

	rc = parse_setup_options(argc, argv, &o);
	if (rc != ASA_EXIT_OK) {
		goto done;
	}
	rc = ASA_EXIT_USAGE;
	if (!setup_options_valid(&o, program, sizeof(program))) {
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
	if (!setup_dc_key(frame, lp_ctx, &topts, pubkey, sizeof(pubkey))) {
		goto done;
	}
	line = setup_line(frame, &o, pubkey);
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
			"contact)\n", o.keytab != NULL ? o.keytab :
			"/PATH/OF/ITS/KEYTAB", topts.ssh_known_hosts);
	}
	rc = ASA_EXIT_OK;
done:
	TALLOC_FREE(frame);
	return rc;
}
