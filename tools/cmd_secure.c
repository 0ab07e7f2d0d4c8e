/*
 * samba-asa secure NAME: bring an ASA made by an earlier samba-asa under
 * the trust rule (common/sd.h): take from its account every right that
 * lets anyone but administrators and DCs create or delete samba-asa
 * records under it (the computer class's default grants the account
 * itself, through SELF, the right to create children, and Account
 * Operators full control), and the same on its samba-asa object; then
 * list the member records that still fail the rule, to be removed.
 *
 * It never blesses a record: a member record someone else created keeps
 * its owner and stays untrusted, and an ASA whose samba-asa object an
 * administrator did not make is refused.
 *
 * Exit status 0 (the ASA passes the rule now), 1 (it does not, or NAME
 * is not an ASA), 2 usage and environment errors.
 *
 * Copyright (C) samba-asa authors 2026
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 */

#include <stdio.h>
#include <talloc.h>
#include <ldb.h>

#include "cli.h"
#include "asa.h"
#include "safe_text.h"
#include "trust.h"

static void usage_secure(FILE *out)
{
	fputs("Usage: samba-asa secure NAME [options]\n"
	      "\n"
	      "Bring the ASA NAME, made by an earlier samba-asa, under the "
	      "trust rule:\nremove from its account and its samba-asa "
	      "object every right that lets\nanyone but Domain Admins, "
	      "Enterprise Admins, Administrators, SYSTEM or\nthe DCs create, "
	      "change or delete its records (among them the account's\n"
	      "own right to create objects under itself), then list the "
	      "member records\nthat are still untrusted: remove those with "
	      "samba-asa member remove.\n"
	      "\n"
	      "Exit status: 0 the ASA passes the rule, 1 it does not (or is "
	      "not an ASA),\n2 usage or environment.\n\n", out);
	cli_usage_common(out, true, false);
}

int cmd_secure(TALLOC_CTX *mem_ctx, int argc, char **argv)
{
	TALLOC_CTX *frame = talloc_stackframe();
	struct cli_options opts = { 0 };
	struct asa_dir *dir = NULL;
	struct asa_account *a = NULL;
	char *why = NULL, *still = NULL;
	bool changed = false;
	int pargc = 0;
	char **pargv = NULL;
	size_t i;
	int status;
	int ret;

	status = cli_parse_options(frame, &opts, argc, argv, &pargc, &pargv,
				   false);
	if (status != ASA_EXIT_OK) {
		goto done;
	}
	if (opts.help) {
		usage_secure(stdout);
		goto done;
	}
	if (pargc != 1) {
		usage_secure(stderr);
		status = ASA_EXIT_USAGE;
		goto done;
	}
	status = cli_connect(frame, &opts, &dir);
	if (status != ASA_EXIT_OK) {
		goto done;
	}
	ret = asa_account_load_any(frame, dir, pargv[0], &a, &why);
	if (ret != LDB_SUCCESS) {
		cli_error("%s", why != NULL ? asa_safe_text(frame, why) :
			  ldb_strerror(ret));
		status = ret == LDB_ERR_NO_SUCH_OBJECT ? ASA_EXIT_REFUSED :
			ASA_EXIT_USAGE;
		goto done;
	}
	if (a->untrusted != NULL && !a->securable) {
		cli_error("%s: %s; %s", asa_safe_text(frame,
			  a->sam_account_name),
			  asa_safe_text(frame, a->untrusted),
			  asa_account_untrusted_advice(frame, a));
		status = ASA_EXIT_REFUSED;
		goto done;
	}
	ret = asa_trust_secure_asa(frame, dir, a->dn, &changed, &still, &why);
	if (ret != LDB_SUCCESS) {
		cli_error("%s", why != NULL ? why : ldb_strerror(ret));
		status = ASA_EXIT_USAGE;
		goto done;
	}
	if (still != NULL) {
		cli_error("%s is still untrusted: %s (change the permissions "
			  "of its container, or move it where only "
			  "administrators hold rights)",
			  asa_safe_text(frame, a->sam_account_name),
			  asa_safe_text(frame, still));
		status = ASA_EXIT_REFUSED;
		goto done;
	}
	printf("%s: %s\n", asa_safe_text(frame, a->sam_account_name),
	       changed ? "secured: only administrators and the DCs can "
	       "change its samba-asa records now" :
	       "already under the trust rule");
	ret = asa_account_load(frame, dir, pargv[0], &a, &why);
	if (ret != LDB_SUCCESS) {
		cli_error("%s", why != NULL ? asa_safe_text(frame, why) :
			  ldb_strerror(ret));
		status = ASA_EXIT_REFUSED;
		goto done;
	}
	for (i = 0; i < a->num_untrusted_members; i++) {
		const struct asa_untrusted_record *u =
			&a->untrusted_members[i];

		printf("untrusted member record %s (%s): %s; never pushed "
		       "to: remove it with 'samba-asa member remove %s %s' "
		       "(and add it again if it is a member of yours)\n",
		       asa_safe_text(frame, u->name),
		       asa_safe_text(frame, u->url),
		       asa_safe_text(frame, u->why),
		       asa_safe_text(frame, a->name),
		       asa_safe_text(frame, u->name));
	}
	status = ASA_EXIT_OK;
done:
	TALLOC_FREE(frame);
	return status;
}
