/*
 * samba-asa: an ASA's current keys; see current_keys.h.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <talloc.h>
#include <krb5.h>

#include "current_keys.h"
#include "dckeys.h"
#include "keys.h"
#include "krb5_text.h"

static bool principal_in(const char *p, const char * const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (strcmp(list[i], p) == 0) {
			return true;
		}
	}
	return false;
}

static bool enctype_in(krb5_enctype e, const krb5_enctype *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (list[i] == e) {
			return true;
		}
	}
	return false;
}

krb5_error_code asa_keytab_select(TALLOC_CTX *mem_ctx,
				  const struct asa_keytab *in,
				  const char * const *principals,
				  size_t num_principals,
				  uint32_t enctype_bits,
				  krb5_kvno min_kvno,
				  krb5_kvno max_kvno,
				  struct asa_keytab **out)
{
	struct asa_keytab *kt = NULL;
	krb5_enctype enctypes[ASA_MAX_ENCTYPES];
	size_t num_enctypes = 0;
	size_t i;

	*out = NULL;
	if (asa_enctypes_from_bits(enctype_bits, enctypes,
				   &num_enctypes) != 0) {
		num_enctypes = 0;
	}
	kt = talloc_zero(mem_ctx, struct asa_keytab);
	if (kt == NULL) {
		return ENOMEM;
	}
	kt->entries = talloc_zero_array(kt, struct asa_keytab_entry,
					in->num_entries + 1);
	if (kt->entries == NULL) {
		TALLOC_FREE(kt);
		return ENOMEM;
	}
	for (i = 0; i < in->num_entries; i++) {
		const struct asa_keytab_entry *e = &in->entries[i];
		struct asa_keytab_entry *d = &kt->entries[kt->num_entries];

		if (principals != NULL &&
		    !principal_in(e->principal, principals, num_principals)) {
			continue;
		}
		if (!enctype_in(e->enctype, enctypes, num_enctypes) ||
		    e->kvno < min_kvno || e->kvno > max_kvno) {
			continue;
		}
		*d = *e;
		d->principal = talloc_strdup(kt->entries, e->principal);
		d->key = talloc_memdup(kt->entries, e->key, e->key_length);
		if (d->key != NULL) {
			asa_secret_wipe_on_free(d->key);
		}
		if (d->principal == NULL ||
		    (d->key == NULL && e->key_length > 0)) {
			TALLOC_FREE(kt);
			return ENOMEM;
		}
		kt->num_entries++;
	}
	*out = kt;
	return 0;
}

krb5_error_code asa_current_keys_dc(krb5_context ctx,
				    TALLOC_CTX *mem_ctx,
				    const char *smb_conf,
				    const struct asa_account *account,
				    const char * const *principals,
				    size_t num_principals,
				    krb5_kvno min_kvno,
				    struct asa_keytab **out,
				    char **errstring)
{
	TALLOC_CTX *frame = talloc_new(mem_ctx);
	struct asa_keytab *dc = NULL;
	struct asa_keytab *selected = NULL;
	krb5_error_code ret;

	*out = NULL;
	if (frame == NULL) {
		return ENOMEM;
	}
	ret = asa_dc_keys_read(ctx, frame, smb_conf,
			       account->sam_account_name, &dc);
	if (ret != 0) {
		*errstring = talloc_asprintf(mem_ctx, "cannot read the KDC's "
					     "keys of %s: %s",
					     account->sam_account_name,
					     asa_krb5_text(frame, ctx, ret));
		goto done;
	}
	/* the DC's keys are NAME$'s: put them under every principal */
	ret = asa_keytab_select(frame, dc, NULL, 0, account->enctypes,
				min_kvno, account->kvno, &selected);
	if (ret == 0 && selected->num_entries == 0) {
		*out = talloc_steal(mem_ctx, selected);
		goto done;
	}
	if (ret == 0) {
		ret = asa_dc_keys_for_principals(ctx, mem_ctx, selected,
						 principals, num_principals,
						 out);
	}
	if (ret != 0) {
		*errstring = talloc_asprintf(mem_ctx, "cannot put the KDC's "
					     "keys under the ASA's "
					     "principals: %s",
					     asa_krb5_text(frame, ctx, ret));
	}
done:
	TALLOC_FREE(frame);
	return ret;
}
