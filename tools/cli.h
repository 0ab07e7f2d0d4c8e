/*
 * samba-asa: what the subcommands of the program share.
 */
#ifndef _ASA_CLI_H_
#define _ASA_CLI_H_

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <talloc.h>
#include <ldb.h>
#include <krb5.h>

#include "samba_util.h"
#include "dir.h"

/* Exit status of every command. */
#define ASA_EXIT_OK	  0	/* done, or free / nothing found */
#define ASA_EXIT_REFUSED  1	/* refused, not found, taken, duplicates */
#define ASA_EXIT_USAGE	  2	/* usage or environment error */

struct cli_credentials;

/* Options every subcommand accepts (spelled like samba-tool's). */
struct cli_options {
	const char *url;		/* -H */
	/* -U, the password, -k: Samba's credentials (cli_options.c) */
	struct cli_credentials *creds;
	const char *username;		/* -U as given */
	const char *password_file;	/* --password-file */
	bool password_stdin;		/* --password-stdin */
	const char *realm;		/* --realm */
	const char *smb_conf;		/* -s */
	enum asa_dir_kerberos kerberos;	/* -k, from creds */
	int debug_level;		/* -d */
	bool json;			/* --json */
	bool help;			/* -h, --help */
};

struct cli_command {
	const char *name;
	const char *summary;
	int (*run)(TALLOC_CTX *mem_ctx, struct cli_options *opts,
		   int argc, char **argv);
	void (*usage)(FILE *out);
};

/* One option of a command on top of the common ones. */
struct cli_option {
	const char *name;	/* "--spn" */
	bool repeat;		/* may be given more than once */
	bool greedy;		/* "--spn A B C": takes the words after it */
	bool flag;		/* takes no value */
	/* out */
	const char **values;	/* talloc array of num values */
	size_t num;
	bool given;
};

/*
 * Parse argv (argv[0] the command) with popt: the command's own options
 * own[0..num_own-1] (NULL, 0: none) and the common ones, leaving the
 * positional arguments in *pargc / *pargv (on mem_ctx).  --password-file
 * and --password-stdin are read here.  "--" ends the options.  Returns
 * ASA_EXIT_OK or ASA_EXIT_USAGE (after printing why).
 */
int cli_parse(TALLOC_CTX *mem_ctx, struct cli_options *opts,
	      struct cli_option *own, size_t num_own, int argc, char **argv,
	      int *pargc, char ***pargv, bool allow_json);

/* cli_parse() of a command without options of its own. */
int cli_parse_options(TALLOC_CTX *mem_ctx, struct cli_options *opts,
		      int argc, char **argv, int *pargc, char ***pargv,
		      bool allow_json);

/* Connect as the options say; prints the reason on failure. */
int cli_connect(TALLOC_CTX *mem_ctx, const struct cli_options *opts,
		struct asa_dir **dir);

/*
 * The same with the password of -U already read (cli_read_password()):
 * NULL reads it when the bind needs it.
 */
int cli_connect_password(TALLOC_CTX *mem_ctx, const struct cli_options *opts,
			 const char *password, struct asa_dir **dir);

/*
 * The password of -U: from --password-file, --password-stdin or a prompt
 * on the terminal, as cli_connect() reads it (for a command that needs it
 * for more than the bind, e.g. verify's tickets).  False, after saying
 * why, when there is none.  The caller wipes buf.
 */
bool cli_read_password(const struct cli_options *opts, char *buf,
		       size_t size);

/*
 * smb.conf: the local backend's (dir may be NULL), else -s FILE, else
 * this host's default one; NULL when none loads.  *bad (may be NULL)
 * tells whether -s FILE was given and did not load.
 */
struct loadparm_context *cli_smb_conf(const struct cli_options *opts,
				      struct asa_dir *dir, bool *bad);

/* Print "samba-asa: ..." to stderr. */
void cli_error(const char *fmt, ...) PRINTF_ATTRIBUTE(1, 2);

/* "3, 2": the kvnos a member holds, newest first. */
void cli_print_kvnos(FILE *out, const krb5_kvno *kvnos, size_t n);

/* The common options, for each subcommand's --help. */
void cli_usage_common(FILE *out, bool connects, bool json);

/* Subcommands */
int cmd_spn(TALLOC_CTX *mem_ctx, int argc, char **argv);
int cmd_enable(TALLOC_CTX *mem_ctx, int argc, char **argv);
int cmd_disable(TALLOC_CTX *mem_ctx, int argc, char **argv);
int cmd_create(TALLOC_CTX *mem_ctx, int argc, char **argv);
int cmd_member(TALLOC_CTX *mem_ctx, int argc, char **argv);
int cmd_keytab(TALLOC_CTX *mem_ctx, int argc, char **argv);
int cmd_secure(TALLOC_CTX *mem_ctx, int argc, char **argv);
int cmd_verify(TALLOC_CTX *mem_ctx, int argc, char **argv);
int cmd_status(TALLOC_CTX *mem_ctx, int argc, char **argv);
int cmd_roll(TALLOC_CTX *mem_ctx, int argc, char **argv);
/* `member install` and `member setup`: the member side, called by
 * cmd_member() with argv[0] = "install" / "setup" */
int cmd_member_install(TALLOC_CTX *mem_ctx, int argc, char **argv);
int cmd_member_setup(TALLOC_CTX *mem_ctx, int argc, char **argv);

#endif /* _ASA_CLI_H_ */
