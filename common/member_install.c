/*
 * samba-asa: the member side of an install (which principals a keytab
 * arriving on a member may hold, and installing it), and the local
 * transport, which does the same in-process; see member.h.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <talloc.h>
#include <krb5.h>

#include "keys.h"
#include "keytab.h"
#include "member.h"
#include "trust.h"

#ifndef discard_const_p
#define discard_const_p(type, ptr) ((type *)((uintptr_t)(ptr)))
#endif

/* ----------------------------------------------------------------------
 * The member side: what a keytab may hold, and installing it
 */

static krb5_error_code refuse(krb5_context ctx, krb5_error_code code,
			      const char *fmt, ...) PRINTF_ATTRIBUTE(3, 4);

static krb5_error_code refuse(krb5_context ctx, krb5_error_code code,
			      const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;

	va_start(ap, fmt);
	msg = talloc_vasprintf(NULL, fmt, ap);
	va_end(ap);
	krb5_set_error_message(ctx, code, "%s", msg != NULL ? msg : "");
	TALLOC_FREE(msg);
	return code;
}

/* The account principal (one component ending in '$') of a keytab, or
 * NULL; *several when there is more than one. */
static krb5_error_code keytab_account(krb5_context ctx,
				      const struct asa_keytab *kt,
				      const char **account,
				      bool *several)
{
	size_t i;

	*account = NULL;
	*several = false;
	for (i = 0; kt != NULL && i < kt->num_entries; i++) {
		const char *name = kt->entries[i].principal;
		krb5_principal p = NULL;
		krb5_error_code ret;
		bool is_account;

		ret = krb5_parse_name_flags(ctx, name,
					    KRB5_PRINCIPAL_PARSE_REQUIRE_REALM,
					    &p);
		if (ret != 0) {
			return ret;
		}
		is_account = p->length == 1 && p->data[0].length > 1 &&
			p->data[0].data[p->data[0].length - 1] == '$';
		krb5_free_principal(ctx, p);
		if (!is_account) {
			continue;
		}
		if (*account != NULL && strcmp(*account, name) != 0) {
			*several = true;
		} else {
			*account = name;
		}
	}
	return 0;
}

static bool data_is(const krb5_data *d, const char *s)
{
	return d->length == strlen(s) && memcmp(d->data, s, d->length) == 0;
}

bool asa_member_principal_is_account(const char *name)
{
	const char *at = strrchr(name, '@');
	size_t n = at != NULL ? (size_t)(at - name) : strlen(name);

	return n > 1 && name[n - 1] == '$' && memchr(name, '/', n) == NULL &&
	       at != NULL && at[1] != '\0';
}

krb5_error_code asa_member_expected_principals(
	krb5_context ctx,
	TALLOC_CTX *mem_ctx,
	const struct asa_keytab *incoming,
	const struct asa_keytab *current,
	const char * const *pinned,
	size_t num_pinned,
	char ***pexpected,
	size_t *pnum_expected,
	const char **paccount)
{
	char **expected = NULL;
	size_t num = 0, i, j;
	const char *account = NULL;
	const char *old_account = NULL;
	krb5_data realm = { 0 };
	char *realm_copy = NULL;
	bool several = false;
	krb5_error_code ret;

	*pexpected = NULL;
	*pnum_expected = 0;
	if (paccount != NULL) {
		*paccount = NULL;
	}
	if (incoming == NULL || incoming->num_entries == 0) {
		return refuse(ctx, KRB5_KT_NOTFOUND,
			      "the keytab holds no keys");
	}

	expected = talloc_zero_array(mem_ctx, char *,
				     incoming->num_entries + 1);
	if (expected == NULL) {
		return ENOMEM;
	}
	for (i = 0; i < incoming->num_entries; i++) {
		const char *name = incoming->entries[i].principal;

		for (j = 0; j < num; j++) {
			if (strcmp(expected[j], name) == 0) {
				break;
			}
		}
		if (j == num) {
			expected[num++] = discard_const_p(char, name);
		}
	}

	ret = keytab_account(ctx, incoming, &account, &several);
	if (ret != 0) {
		goto done;
	}

	/*
	 * One pinned account principal (NAME$@REALM) fixes the account and
	 * leaves the rules below: its service principals change with every
	 * `spn add`.  Anything else pinned is the exact list.
	 */
	if (num_pinned > 0 &&
	    !(num_pinned == 1 && asa_member_principal_is_account(pinned[0]))) {
		ret = asa_keytab_check_principals(ctx, incoming, pinned,
						  num_pinned, false);
		goto done;
	}

	if (several) {
		ret = refuse(ctx, KRB5_PRINC_NOMATCH,
			     "the keytab holds keys of more than one account "
			     "(NAME$@REALM): a member serves one ASA");
		goto done;
	}
	if (account == NULL) {
		ret = refuse(ctx, KRB5_PRINC_NOMATCH,
			     "the keytab holds no account principal "
			     "(NAME$@REALM)");
		goto done;
	}
	for (i = 0; i < num; i++) {
		krb5_principal p = NULL;

		ret = krb5_parse_name_flags(ctx, expected[i],
					    KRB5_PRINCIPAL_PARSE_REQUIRE_REALM,
					    &p);
		if (ret != 0) {
			goto done;
		}
		if (i == 0) {
			realm_copy = talloc_strndup(expected, p->realm.data,
						    p->realm.length);
			if (realm_copy == NULL) {
				krb5_free_principal(ctx, p);
				ret = ENOMEM;
				goto done;
			}
			realm.data = realm_copy;
			realm.length = strlen(realm_copy);
		} else if (p->realm.length != realm.length ||
			   memcmp(p->realm.data, realm.data,
				  realm.length) != 0) {
			krb5_free_principal(ctx, p);
			ret = refuse(ctx, KRB5_PRINC_NOMATCH,
				     "the keytab holds keys of more than one "
				     "realm (%s and %s)", expected[0],
				     expected[i]);
			goto done;
		}
		if (p->length == 1 && strcmp(expected[i], account) != 0) {
			krb5_free_principal(ctx, p);
			ret = refuse(ctx, KRB5_PRINC_NOMATCH,
				     "the keytab holds keys for %s, which is "
				     "neither the account nor a service "
				     "principal", expected[i]);
			goto done;
		}
		if (p->length >= 1 &&
		    (data_is(&p->data[0], "krbtgt") ||
		     data_is(&p->data[0], "kadmin") ||
		     data_is(&p->data[0], "changepw") ||
		     data_is(&p->data[0], "K"))) {
			krb5_free_principal(ctx, p);
			ret = refuse(ctx, KRB5_PRINC_NOMATCH,
				     "the keytab holds keys for %s, a "
				     "principal of the KDC itself",
				     expected[i]);
			goto done;
		}
		krb5_free_principal(ctx, p);
	}

	if (num_pinned == 1 && strcmp(pinned[0], account) != 0) {
		ret = refuse(ctx, KRB5_PRINC_NOMATCH,
			     "this member accepts the keys of %s only "
			     "(--principal), not of %s", pinned[0], account);
		goto done;
	}

	/* The keytab already here decides which account this member
	 * serves. */
	ret = keytab_account(ctx, current, &old_account, &several);
	if (ret != 0) {
		goto done;
	}
	if (old_account != NULL && strcmp(old_account, account) != 0) {
		ret = refuse(ctx, KRB5_PRINC_NOMATCH,
			     "this member holds the keys of %s, not %s: it "
			     "serves one ASA (remove its keytab first to "
			     "change accounts)", old_account, account);
		goto done;
	}
	ret = 0;

done:
	if (ret != 0) {
		TALLOC_FREE(expected);
		return ret;
	}
	*pexpected = expected;
	*pnum_expected = num;
	if (paccount != NULL) {
		*paccount = account;
	}
	return 0;
}

krb5_error_code asa_member_install_keytab(krb5_context ctx,
					  TALLOC_CTX *mem_ctx,
					  const struct asa_keytab *incoming,
					  const char * const *pinned,
					  size_t num_pinned,
					  const char *path,
					  mode_t mode,
					  gid_t gid,
					  bool replace,
					  krb5_kvno **kvnos,
					  size_t *num_kvnos)
{
	TALLOC_CTX *frame = talloc_new(mem_ctx);
	struct asa_keytab *current = NULL;
	struct asa_keytab *installed = NULL;
	char **expected = NULL;
	size_t num_expected = 0;
	const char *account = NULL;
	krb5_error_code ret;

	*kvnos = NULL;
	*num_kvnos = 0;
	if (frame == NULL) {
		return ENOMEM;
	}
	/*
	 * The account check reads the current keytab without the lock: two
	 * installs at once of two different accounts could both pass it,
	 * and the merge would then hold both; a DC never does that (a
	 * member URL belongs to one ASA), and the next install refuses.
	 */
	ret = asa_keytab_read_file(ctx, frame, path, true, &current);
	if (ret != 0) {
		goto done;
	}
	ret = asa_member_expected_principals(ctx, frame, incoming, current,
					     pinned, num_pinned, &expected,
					     &num_expected, &account);
	if (ret != 0) {
		goto done;
	}
	ret = asa_keytab_install(ctx, frame, incoming,
				 (const char * const *)expected, num_expected,
				 path, mode, gid, replace, &installed);
	if (ret != 0) {
		goto done;
	}
	ret = asa_keytab_kvnos(mem_ctx, installed, account, kvnos, num_kvnos);
done:
	TALLOC_FREE(frame);
	return ret;
}

void asa_member_local_run(krb5_context ctx, TALLOC_CTX *mem_ctx,
			  const struct asa_member_transport_options *options,
			  const struct asa_member_url *url,
			  const uint8_t *keytab, size_t keytab_length,
			  struct asa_member_result *r)
{
	TALLOC_CTX *frame = talloc_new(mem_ctx);
	struct asa_keytab *incoming = NULL;
	mode_t mode = (options != NULL && options->local_mode != 0)
		? options->local_mode : 0600;
	gid_t gid = (options != NULL) ? options->local_gid : (gid_t)-1;
	char *why = NULL;
	krb5_error_code ret;

	if (frame == NULL) {
		r->error = ENOMEM;
		return;
	}
	/* root writes keys only where no one else can plant a file */
	ret = asa_local_path_check(frame, url->path, &why);
	if (ret != 0) {
		r->error = ret;
		r->message = talloc_asprintf(mem_ctx, "member local:%s: %s",
					     url->path, why != NULL ? why :
					     strerror(ret));
		TALLOC_FREE(frame);
		return;
	}
	if (keytab == NULL) {
		ret = asa_keytab_read_file(ctx, mem_ctx, url->path, false,
					   &r->keytab);
		if (ret == 0) {
			ret = asa_keytab_kvnos(mem_ctx, r->keytab, NULL, &r->kvnos,
					       &r->num_kvnos);
		}
	} else {
		ret = asa_keytab_parse(ctx, frame, keytab, keytab_length,
				       &incoming);
		if (ret == 0) {
			ret = asa_member_install_keytab(ctx, mem_ctx, incoming,
							NULL, 0, url->path,
							mode, gid,
							options != NULL &&
							options->revoke,
							&r->kvnos,
							&r->num_kvnos);
		}
	}
	if (ret != 0) {
		const char *msg = krb5_get_error_message(ctx, ret);

		r->error = ret;
		r->message = talloc_asprintf(mem_ctx, "member local:%s: %s",
					     url->path, msg);
		krb5_free_error_message(ctx, msg);
	}
	TALLOC_FREE(frame);
}
