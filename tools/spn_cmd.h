/*
 * samba-asa spn: what the subcommands share.  cmd_spn.c holds query,
 * list, audit and the dispatch; spn_edit.c holds add and remove.
 */
#ifndef _ASA_SPN_CMD_H_
#define _ASA_SPN_CMD_H_

#include <stdio.h>
#include <talloc.h>
#include <ldb.h>

#include "cli.h"
#include "spn.h"

/* How the output names the account that holds msg's values. */
const char *spn_holder_name(const struct ldb_message *msg);

/*
 * Connect and look up the account named by account_name (a DN, a
 * sAMAccountName with or without the trailing $, or a userPrincipalName).
 * Returns an exit status; prints why on failure.
 */
int spn_connect_account(TALLOC_CTX *mem_ctx, struct cli_options *opts,
			const char *account_name, struct asa_dir **dir,
			struct ldb_message **account);

/* spn_scan_load() for a subcommand: returns an exit status. */
int spn_load_scan(TALLOC_CTX *mem_ctx, struct asa_dir *dir,
		  struct spn_scan **scan);

/*
 * Parse argv[first] .. argv[argc - 1] as SPNs into (*spns)[first] ..;
 * returns an exit status; spn_parse_arg() prints why one is refused.
 */
int spn_parse_args(TALLOC_CTX *mem_ctx, int first, int argc, char **argv,
		   struct asa_spn ***spns);

/* Each value of el (which may be NULL) on a line of its own, indented. */
void spn_print_values(const struct ldb_message_element *el);

int spn_add(TALLOC_CTX *mem_ctx, struct cli_options *opts,
	    int argc, char **argv);
void spn_usage_add(FILE *out);
int spn_remove(TALLOC_CTX *mem_ctx, struct cli_options *opts,
	       int argc, char **argv);
void spn_usage_remove(FILE *out);

#endif /* _ASA_SPN_CMD_H_ */
