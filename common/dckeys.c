/*
 * samba-asa: the keys the KDC itself uses for an account; see dckeys.h.
 *
 * We do not read sam.ldb's supplementalCredentials ourselves: the point
 * of these keys is to be an independent reference, read the way Samba's
 * own tools read them, against which the keys samba-asa derived (and the
 * members hold) are checked.  So this runs
 *
 *	samba-tool domain exportkeytab FILE --principal=NAME$ -s SMB_CONF
 *
 * (it has no -H: it opens the local sam.ldb that smb.conf names, so it
 * works on a DC only) into a private directory and parses the result with
 * our own reader.  What Samba 4.17 exports there, measured: the account's
 * current kvno only (no previous kvno, even right after a password
 * change), for AES256, AES128 and RC4, whatever
 * msDS-SupportedEncryptionTypes says; for an unknown account it writes no
 * file at all and still exits 0.  Samba 4.22 also exports the previous
 * kvno's keys, which are dropped here: these are the current keys; for an
 * unknown account it says "No keys found while exporting" and exits 255.
 * The child runs through the process runner (proc.h), with what it needs
 * of our environment (run_tool()); nothing secret is on its command line.
 *
 * Copyright (C) samba-asa authors 2026
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 */

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <talloc.h>
#include <krb5.h>

#include "keys.h"
#include "keytab.h"
#include "current_keys.h"
#include "dckeys.h"
#include "proc.h"

/* samba-tool starts python and opens sam.ldb: seconds, not minutes. */
#define DCKEYS_TIMEOUT_MS (120 * 1000)
/* What we keep of samba-tool's output, for the error message. */
#define DCKEYS_OUTPUT_MAX 2048

/*
 * What to quote of samba-tool's output: its "ERROR..." line (it follows
 * that with a traceback for some errors), else the last line.
 */
static const char *tool_error(char *out)
{
	char *end = out + strlen(out);
	char *line = NULL;

	if (strncmp(out, "ERROR", 5) == 0) {
		line = out;
	} else {
		line = strstr(out, "\nERROR");
		if (line != NULL) {
			line++;
		}
	}
	if (line != NULL) {
		line[strcspn(line, "\n")] = '\0';
		return line;
	}
	while (end > out && (end[-1] == '\n' || end[-1] == ' ')) {
		*--end = '\0';
	}
	line = strrchr(out, '\n');
	return (line != NULL) ? line + 1 : out;
}

/*
 * Run argv (stdin /dev/null) to its end; its standard output and error
 * kept for a message, *status its wait status.  samba-tool gets the
 * runner's environment and what a Samba tool needs of ours.
 */
static krb5_error_code run_tool(krb5_context ctx,
				TALLOC_CTX *mem_ctx,
				const char * const *argv,
				const char **said,
				int *status)
{
	static const char *env[] = { ASA_PROC_SAMBA_ENV, NULL };
	struct asa_proc_options o = {
		.argv = argv,
		.env = env,
		.stdout_max = DCKEYS_OUTPUT_MAX,
		.stderr_max = DCKEYS_OUTPUT_MAX,
		.timeout_ms = DCKEYS_TIMEOUT_MS,
	};
	struct asa_proc_result *r = NULL;
	krb5_error_code ret;

	*said = "";
	*status = -1;
	ret = asa_proc_run(mem_ctx, &o, &r);
	if (ret != 0) {
		krb5_set_error_message(ctx, ret, "cannot run %s: %s",
				       argv[0], strerror(ret));
		return ret;
	}
	if (r->timed_out) {
		ret = ETIMEDOUT;
		krb5_set_error_message(ctx, ret, "%s did not finish in %d s",
				       argv[0], DCKEYS_TIMEOUT_MS / 1000);
		return ret;
	}
	*status = r->status_known ? r->wait_status : -1;
	/* samba-tool's ERROR line is on standard error */
	if (r->err != NULL && r->err[0] != '\0') {
		*said = tool_error(r->err);
	} else if (r->out != NULL) {
		*said = tool_error((char *)r->out);
	}
	return 0;
}

/* Keep only the entries of the highest kvno; the others' keys are wiped. */
static void keep_current_kvno(struct asa_keytab *kt)
{
	krb5_kvno newest = 0;
	size_t i, n = 0;

	for (i = 0; i < kt->num_entries; i++) {
		if (kt->entries[i].kvno > newest) {
			newest = kt->entries[i].kvno;
		}
	}
	for (i = 0; i < kt->num_entries; i++) {
		if (kt->entries[i].kvno != newest) {
			TALLOC_FREE(kt->entries[i].key);
			TALLOC_FREE(kt->entries[i].principal);
			continue;
		}
		if (n != i) {
			kt->entries[n] = kt->entries[i];
		}
		n++;
	}
	kt->num_entries = n;
}

krb5_error_code asa_dc_keys_read(krb5_context ctx,
				 TALLOC_CTX *mem_ctx,
				 const char *smb_conf,
				 const char *sam_account_name,
				 struct asa_keytab **keys)
{
	TALLOC_CTX *frame = NULL;
	char dir[64];
	bool have_dir = false;
	char *file = NULL;
	char *principal_opt = NULL;
	char *conf_opt = NULL;
	const char *said = NULL;
	bool unknown = false;
	const char *argv[8];
	size_t argc = 0;
	struct asa_keytab *kt = NULL;
	int status = -1;
	krb5_error_code ret = 0;

	*keys = NULL;

	if (sam_account_name == NULL || sam_account_name[0] == '\0') {
		ret = EINVAL;
		krb5_set_error_message(ctx, ret, "no account name");
		return ret;
	}

	frame = talloc_new(mem_ctx);
	if (frame == NULL) {
		return ENOMEM;
	}
	ret = asa_secret_dir_make(ctx, "dckeys", dir, sizeof(dir));
	if (ret != 0) {
		goto done;
	}
	have_dir = true;

	file = talloc_asprintf(frame, "%s/keytab", dir);
	principal_opt = talloc_asprintf(frame, "--principal=%s",
					sam_account_name);
	if (file == NULL || principal_opt == NULL) {
		ret = ENOMEM;
		goto done;
	}
	argv[argc++] = "samba-tool";
	argv[argc++] = "domain";
	argv[argc++] = "exportkeytab";
	argv[argc++] = file;
	argv[argc++] = principal_opt;
	if (smb_conf != NULL) {
		conf_opt = talloc_asprintf(frame, "--configfile=%s", smb_conf);
		if (conf_opt == NULL) {
			ret = ENOMEM;
			goto done;
		}
		argv[argc++] = conf_opt;
	}
	argv[argc] = NULL;

	ret = run_tool(ctx, frame, argv, &said, &status);
	if (ret != 0) {
		goto done;
	}
	/* An unknown account: Samba 4.22 says so and exits 255 (4.17
	 * exits 0 and writes nothing, below). */
	unknown = WIFEXITED(status) && WEXITSTATUS(status) != 0 &&
		  strstr(said, "No keys found while exporting") != NULL;
	if (!unknown && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
		ret = KRB5_KT_IOERR;
		krb5_set_error_message(ctx, ret,
				       "samba-tool domain exportkeytab for %s "
				       "failed (%s %d): %s",
				       sam_account_name,
				       WIFEXITED(status) ? "exit" : "signal",
				       WIFEXITED(status) ?
				       WEXITSTATUS(status) :
				       WTERMSIG(status),
				       said);
		goto done;
	}

	if (!unknown) {
		ret = asa_keytab_read_file(ctx, frame, file, true, &kt);
		if (ret != 0) {
			goto done;
		}
		unknown = (kt->num_entries == 0);
	}
	if (unknown) {
		ret = KRB5_KT_NOTFOUND;
		krb5_set_error_message(ctx, ret,
				       "the directory of this DC has no keys "
				       "for %s (no such account, or one "
				       "without a password)",
				       sam_account_name);
		goto done;
	}
	keep_current_kvno(kt);
	*keys = talloc_move(mem_ctx, &kt);

done:
	if (file != NULL) {
		asa_secret_file_remove(file);
	}
	if (have_dir) {
		rmdir(dir);
	}
	TALLOC_FREE(frame);
	return ret;
}

krb5_error_code asa_dc_keys_for_principals(krb5_context ctx,
					   TALLOC_CTX *mem_ctx,
					   const struct asa_keytab *keys,
					   const char * const *principals,
					   size_t num_principals,
					   struct asa_keytab **keytab)
{
	struct asa_key *views = NULL;
	uint32_t timestamp = 0;
	krb5_error_code ret;
	size_t i;

	*keytab = NULL;

	if (keys == NULL || keys->num_entries == 0) {
		ret = KRB5_KT_NOTFOUND;
		krb5_set_error_message(ctx, ret, "no keys to install");
		return ret;
	}

	/* Views of the key bytes (not copies): asa_keytab_build copies. */
	views = talloc_zero_array(NULL, struct asa_key, keys->num_entries);
	if (views == NULL) {
		return ENOMEM;
	}
	for (i = 0; i < keys->num_entries; i++) {
		const struct asa_keytab_entry *e = &keys->entries[i];

		views[i].enctype = e->enctype;
		views[i].kvno = e->kvno;
		views[i].length = e->key_length;
		views[i].contents = e->key;
		if (e->timestamp > timestamp) {
			timestamp = e->timestamp;
		}
	}
	ret = asa_keytab_build(ctx, mem_ctx, principals, num_principals,
			       views, keys->num_entries, timestamp, keytab);
	TALLOC_FREE(views);
	return ret;
}

krb5_error_code asa_dc_keys_select(krb5_context ctx,
				   TALLOC_CTX *mem_ctx,
				   const struct asa_keytab *keys,
				   uint32_t enctype_bits,
				   struct asa_keytab **selected)
{
	krb5_enctype enctypes[ASA_MAX_ENCTYPES];
	size_t num_enctypes = 0;
	struct asa_keytab *kt = NULL;
	krb5_error_code ret;

	*selected = NULL;

	ret = asa_enctypes_from_bits(enctype_bits, enctypes, &num_enctypes);
	if (ret != 0) {
		krb5_set_error_message(ctx, ret,
				       "msDS-SupportedEncryptionTypes 0x%x "
				       "names no enctype samba-asa can use",
				       (unsigned)enctype_bits);
		return ret;
	}
	ret = asa_keytab_select(mem_ctx, keys, NULL, 0, enctype_bits, 0,
				(krb5_kvno)-1, &kt);
	if (ret != 0) {
		return ret;
	}
	if (kt->num_entries == 0) {
		TALLOC_FREE(kt);
		ret = KRB5_KT_NOTFOUND;
		krb5_set_error_message(ctx, ret,
				       "the directory holds no key of the "
				       "enctypes the account supports");
		return ret;
	}
	*selected = kt;
	return 0;
}
