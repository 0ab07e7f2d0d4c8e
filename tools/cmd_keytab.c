/*
 * samba-asa keytab: the ASA's current keys in a keytab file, for a host
 * that is managed by other means than samba-asa's members.
 *
 * The keys come from where 'member add' takes them (the DC's database,
 * or --copy-from a member; see asa_admin.h), under NAME$@REALM and every
 * SPN, for the enctypes the account supports.  The file is written
 * atomically with mode 0600 (asa_keytab_write_file()) and replaces what
 * was there: it holds exactly the ASA's current keys.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <talloc.h>
#include <krb5.h>

#include "asa_admin.h"

static void usage_keytab(FILE *out)
{
	fputs("Usage: samba-asa keytab NAME FILE [--copy-from MEMBER] "
	      "[options]\n"
	      "\n"
	      "Write the current keys of the ASA NAME (NAME$ and every SPN, "
	      "the enctypes\nthe account supports) to FILE, replacing it "
	      "atomically, mode 0600.  The\nkeys come from this DC's "
	      "database (run it on a DC, with -s its smb.conf),\nor with "
	      "--copy-from from the keytab of a member that holds them "
	      "(then\nwith the previous kvno too, if the member has it).\n"
	      "\n"
	      "Exit status: 0 written, 1 unknown ASA or the keys are not "
	      "there, 2 usage\nor environment (FILE cannot be written, not "
	      "on a DC).\n\n", out);
	cli_usage_common(out, true, false);
}

int cmd_keytab(TALLOC_CTX *mem_ctx, int argc, char **argv)
{
	TALLOC_CTX *frame = talloc_stackframe();
	struct cli_option o[] = {
		{ .name = "--copy-from" },
	};
	struct cli_options opts = { 0 };
	struct asa_member_transport_options topts;
	struct asa_dir *dir = NULL;
	struct asa_account *a = NULL;
	struct asa_keytab *keytab = NULL;
	krb5_kvno *kvnos = NULL;
	size_t num_kvnos = 0;
	krb5_context ctx = NULL;
	krb5_error_code kret;
	const char *file = NULL;
	int pargc = 0;
	char **pargv = NULL;
	int status;

	status = cli_parse(frame, &opts, o, 1, argc, argv, &pargc, &pargv,
			   false);
	if (status != ASA_EXIT_OK) {
		goto done;
	}
	if (opts.help) {
		usage_keytab(stdout);
		goto done;
	}
	if (pargc != 2) {
		usage_keytab(stderr);
		status = ASA_EXIT_USAGE;
		goto done;
	}
	file = pargv[1];
	if (krb5_init_context(&ctx) != 0) {
		cli_error("krb5_init_context failed");
		status = ASA_EXIT_USAGE;
		goto done;
	}
	status = admin_load_asa(frame, &opts, pargv[0], &dir, &a);
	if (status != ASA_EXIT_OK) {
		goto done;
	}
	status = admin_transport_options(frame, &opts, dir, &topts);
	if (status != ASA_EXIT_OK) {
		goto done;
	}
	status = admin_current_keytab(frame, ctx, &opts, a,
				      o[0].num > 0 ? o[0].values[0] : NULL,
				      &topts, &keytab);
	if (status != ASA_EXIT_OK) {
		goto done;
	}
	kret = asa_keytab_write_file(ctx, keytab, file, 0600, (gid_t)-1);
	if (kret != 0) {
		char *msg = admin_krb5_error(frame, ctx, kret);

		cli_error("writing %s failed: %s; nothing was written", file,
			  msg);
		status = ASA_EXIT_USAGE;
		goto done;
	}
	kret = asa_keytab_kvnos(frame, keytab, NULL, &kvnos, &num_kvnos);
	printf("Wrote %zu keys of %s to %s (mode 0600): kvno %u%s, %s, "
	       "for %s and %zu SPN%s\n", keytab->num_entries,
	       a->sam_account_name, file, (unsigned)a->kvno,
	       kret == 0 && num_kvnos > 1 ? " and the previous one" : "",
	       admin_enctype_names(frame, ctx, a->enctypes),
	       a->sam_account_name, a->num_spns,
	       a->num_spns == 1 ? "" : "s");
	status = ASA_EXIT_OK;
done:
	TALLOC_FREE(frame);
	if (ctx != NULL) {
		krb5_free_context(ctx);
	}
	return status;
}
