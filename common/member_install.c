/*
 * samba-asa: the member side of an install (which principals a keytab
 * arriving on a member may hold, and installing it), and the local
 * transport, which does the same in-process; see member.h.  The rules
 * are samba-asa-member's own (member/kt_merge.c, member/kt_write.c),
 * wrapped in talloc here.
 */

#include <errno.h>
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

/* ----------------------------------------------------------------------
 * The member side: what a keytab may hold, and installing it
 */

bool asa_member_principal_is_account(const char *name)
{
	return asa_kt_principal_is_account(name);
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
	const char **plain = NULL;
	size_t num = 0;
	krb5_error_code ret;

	*pexpected = NULL;
	*pnum_expected = 0;
	ret = asa_kt_expected_principals(ctx, incoming, current, pinned,
					 num_pinned, &plain, &num, paccount);
	if (ret != 0) {
		return ret;
	}
	/* the names stay incoming's, as member/ returns them */
	*pexpected = talloc_memdup(mem_ctx, plain,
				   (num + 1) * sizeof(plain[0]));
	free(plain);
	if (*pexpected == NULL) {
		return ENOMEM;
	}
	*pnum_expected = num;
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
	krb5_kvno *plain = NULL;
	size_t n = 0;
	krb5_error_code ret;

	*kvnos = NULL;
	*num_kvnos = 0;
	ret = asa_kt_member_install(ctx, incoming, pinned, num_pinned, path,
				    mode, (uid_t)-1, gid, replace, &plain,
				    &n);
	if (ret != 0) {
		return ret;
	}
	return asa_kvnos_adopt(mem_ctx, plain, n, kvnos, num_kvnos);
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
