/*
 * samba-asa: the alternate service account (ASA) tool for a Samba AD DC.
 *
 * One program with subcommands, options spelled like samba-tool's.  Exit
 * status: 0 success, 1 refused / not found / taken, 2 usage or
 * environment error.  Secrets never come from argv.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <talloc.h>

#include "cli.h"

#ifndef ASA_VERSION
#define ASA_VERSION "unknown"
#endif

static void usage(FILE *out)
{
	fputs("Usage: samba-asa COMMAND [options]\n"
	      "\n"
	      "Commands:\n"
	      "  spn query SPN...          is an SPN taken anywhere in the "
	      "forest?\n"
	      "  spn add ACCOUNT SPN...    add SPNs that are unique, all or "
	      "nothing\n"
	      "  spn remove ACCOUNT SPN... remove SPNs from an account\n"
	      "  spn list ACCOUNT          the SPNs of an account\n"
	      "  spn audit                 every SPN held by more than one "
	      "account\n"
	      "  create NAME --spn SPN...  create an ASA and install its keys "
	      "on its members\n"
	      "  member add|remove|list    manage the members of an ASA\n"
	      "  member install|setup      the member side (sshd forced "
	      "command)\n"
	      "  keytab NAME FILE          export the ASA's current keys\n"
	      "  verify NAME               a real ticket for every SPN, checked "
	      "on every member\n"
	      "  status [NAME]             keys and rolls, per ASA and member\n"
	      "  roll NAME | --due         change the password, members first\n"
	      "  secure NAME               put an older ASA under the trust "
	      "rule\n"
	      "  enable                    put unique_principal_names into "
	      "sam.ldb\n"
	      "  disable                   take unique_principal_names out "
	      "of sam.ldb\n"
	      "\n"
	      "Run 'samba-asa COMMAND --help' for a command's options.\n"
	      "Exit status: 0 success, 1 refused / not found / taken, 2 usage "
	      "or environment error.\n", out);
}

int main(int argc, char **argv)
{
	TALLOC_CTX *frame = NULL;
	const char *cmd = argc > 1 ? argv[1] : NULL;
	int ret;

	/*
	 * Passwords and keys pass through this process's memory: no core
	 * file may hold them, and no other user may attach to it.
	 */
	{
		struct rlimit nocore = { .rlim_cur = 0, .rlim_max = 0 };

		(void)setrlimit(RLIMIT_CORE, &nocore);
		(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	}
	talloc_enable_null_tracking();
	frame = talloc_stackframe();

	if (cmd == NULL) {
		usage(stderr);
		ret = ASA_EXIT_USAGE;
	} else if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 ||
		   strcmp(cmd, "help") == 0) {
		usage(stdout);
		ret = ASA_EXIT_OK;
	} else if (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0) {
		printf("samba-asa %s\n", ASA_VERSION);
		ret = ASA_EXIT_OK;
	} else if (strcmp(cmd, "spn") == 0) {
		ret = cmd_spn(frame, argc - 1, argv + 1);
	} else if (strcmp(cmd, "enable") == 0) {
		ret = cmd_enable(frame, argc - 1, argv + 1);
	} else if (strcmp(cmd, "disable") == 0) {
		ret = cmd_disable(frame, argc - 1, argv + 1);
	} else if (strcmp(cmd, "create") == 0) {
		ret = cmd_create(frame, argc - 1, argv + 1);
	} else if (strcmp(cmd, "member") == 0) {
		ret = cmd_member(frame, argc - 1, argv + 1);
	} else if (strcmp(cmd, "keytab") == 0) {
		ret = cmd_keytab(frame, argc - 1, argv + 1);
	} else if (strcmp(cmd, "verify") == 0) {
		ret = cmd_verify(frame, argc - 1, argv + 1);
	} else if (strcmp(cmd, "status") == 0) {
		ret = cmd_status(frame, argc - 1, argv + 1);
	} else if (strcmp(cmd, "roll") == 0) {
		ret = cmd_roll(frame, argc - 1, argv + 1);
	} else if (strcmp(cmd, "secure") == 0) {
		ret = cmd_secure(frame, argc - 1, argv + 1);
	} else {
		cli_error("unknown command '%s' (see samba-asa --help)", cmd);
		ret = ASA_EXIT_USAGE;
	}
	fflush(stdout);
	if (ferror(stdout)) {
		ret = ASA_EXIT_USAGE;
	}
	TALLOC_FREE(frame);
	return ret;
}
