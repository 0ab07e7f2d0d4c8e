/*
 * samba-asa: what a member keeps of its keytab and what it accepts; see
 * member_keytab.h.
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* mkostemp, explicit_bzero, reallocarray */
#endif

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <krb5.h>

#include "member_keytab.h"

static krb5_error_code entry_copy(struct asa_keytab_entry *dst,
				  const struct asa_keytab_entry *src)
{
	*dst = *src;
	dst->principal = strdup(src->principal);
	dst->key = malloc(src->key_length > 0 ? src->key_length : 1);
	if (dst->principal == NULL || dst->key == NULL) {
		free(dst->principal);
		free(dst->key);
		dst->principal = NULL;
		dst->key = NULL;
		dst->key_length = 0;
		return ENOMEM;
	}
	memcpy(dst->key, src->key, src->key_length);
	return 0;
}

static bool name_in(const char *name, const char * const *names,
		    size_t num_names)
{
	size_t i;

	for (i = 0; i < num_names; i++) {
		if (names[i] != NULL && strcmp(names[i], name) == 0) {
			return true;
		}
	}
	return false;
}

bool asa_kt_keys_equal(const struct asa_keytab_entry *a,
		       const struct asa_keytab_entry *b)
{
	uint8_t diff = 0;
	size_t i;

	if (a->key_length != b->key_length) {
		return false;
	}
	for (i = 0; i < a->key_length; i++) {
		diff |= a->key[i] ^ b->key[i];
	}
	return diff == 0;
}

static int kvno_cmp_desc(krb5_kvno a, krb5_kvno b)
{
	return (a < b) - (a > b);
}

int asa_kt_entry_cmp(const struct asa_keytab_entry *a,
		     const struct asa_keytab_entry *b)
{
	int c = strcmp(a->principal, b->principal);

	return c != 0 ? c : kvno_cmp_desc(a->kvno, b->kvno);
}

krb5_error_code asa_kt_check_principals(krb5_context ctx,
					const struct asa_keytab *keytab,
					const char * const *expected,
					size_t num_expected,
					bool require_all)
{
	krb5_error_code ret;
	size_t i, j;

	if (keytab == NULL || keytab->num_entries == 0) {
		ret = KRB5_KT_NOTFOUND;
		krb5_set_error_message(ctx, ret, "the keytab holds no keys");
		return ret;
	}
	for (i = 0; i < keytab->num_entries; i++) {
		const char *p = keytab->entries[i].principal;

		if (!name_in(p, expected, num_expected)) {
			ret = KRB5_PRINC_NOMATCH;
			krb5_set_error_message(ctx, ret,
					       "the keytab holds keys for %s, "
					       "which is not a principal of "
					       "this account", p);
			return ret;
		}
	}
	if (!require_all) {
		return 0;
	}
	for (j = 0; j < num_expected; j++) {
		for (i = 0; i < keytab->num_entries; i++) {
			if (strcmp(keytab->entries[i].principal,
				   expected[j]) == 0) {
				break;
			}
		}
		if (i == keytab->num_entries) {
			ret = KRB5_KT_NOTFOUND;
			krb5_set_error_message(ctx, ret,
					       "the keytab holds no keys for "
					       "%s", expected[j]);
			return ret;
		}
	}
	return 0;
}

struct sort_slot {
	const struct asa_keytab_entry *entry;
	size_t order;		/* position before sorting: a stable tie */
	bool keep;
};

static int slot_cmp(const void *pa, const void *pb)
{
	const struct sort_slot *a = pa, *b = pb;
	int c = asa_kt_entry_cmp(a->entry, b->entry);

	if (c != 0) {
		return c;
	}
	return (a->order > b->order) - (a->order < b->order);
}

krb5_error_code asa_kt_merge(krb5_context ctx,
			     const struct asa_keytab *current,
			     const struct asa_keytab *incoming,
			     unsigned int keep_kvnos,
			     struct asa_keytab **merged)
{
	struct sort_slot *slots = NULL;
	struct asa_keytab *kt = NULL;
	size_t num_current = (current != NULL) ? current->num_entries : 0;
	size_t n = 0, i, j, first, kept;
	krb5_error_code ret = 0;

	*merged = NULL;
	if (incoming == NULL || keep_kvnos == 0) {
		return EINVAL;
	}
	if (incoming->num_entries + num_current > 2 * ASA_KEYTAB_MAX_ENTRIES) {
		return EINVAL;
	}
	slots = calloc(incoming->num_entries + num_current + 1,
		       sizeof(slots[0]));
	if (slots == NULL) {
		return ENOMEM;
	}

	/* Incoming first: on the same (principal, kvno, enctype) it wins. */
	for (i = 0; i < incoming->num_entries + num_current; i++) {
		const struct asa_keytab_entry *e =
			(i < incoming->num_entries) ?
			&incoming->entries[i] :
			&current->entries[i - incoming->num_entries];

		for (j = 0; j < n; j++) {
			const struct asa_keytab_entry *o = slots[j].entry;

			if (o->kvno == e->kvno && o->enctype == e->enctype &&
			    strcmp(o->principal, e->principal) == 0) {
				break;
			}
		}
		if (j < n) {
			continue;
		}
		slots[n].entry = e;
		slots[n].order = n;
		n++;
	}
	qsort(slots, n, sizeof(slots[0]), slot_cmp);

	/* Per principal (now adjacent, newest kvno first): the first
	 * keep_kvnos distinct kvnos stay. */
	kept = 0;
	for (first = 0; first < n; first = i) {
		unsigned int distinct = 0;

		for (i = first; i < n &&
		     strcmp(slots[i].entry->principal,
			    slots[first].entry->principal) == 0; i++) {
			if (i == first ||
			    slots[i].entry->kvno != slots[i - 1].entry->kvno) {
				distinct++;
			}
			slots[i].keep = (distinct <= keep_kvnos);
			kept += slots[i].keep ? 1 : 0;
		}
	}
	if (kept > ASA_KEYTAB_MAX_ENTRIES) {
		ret = EINVAL;
		krb5_set_error_message(ctx, ret,
				       "the merged keytab would hold %zu "
				       "entries, more than %d", kept,
				       ASA_KEYTAB_MAX_ENTRIES);
		goto done;
	}

	kt = asa_kt_alloc(kept);
	if (kt == NULL) {
		ret = ENOMEM;
		goto done;
	}
	for (i = 0; i < n; i++) {
		if (!slots[i].keep) {
			continue;
		}
		ret = entry_copy(&kt->entries[kt->num_entries],
				 slots[i].entry);
		if (ret != 0) {
			goto done;
		}
		kt->num_entries++;
	}
	*merged = kt;
	kt = NULL;
done:
	asa_kt_free(kt);
	free(slots);
	return ret;
}

/* Whether e's key is one of keys' (same kvno, enctype and key bytes). */
static bool key_among(const struct asa_keytab_entry *e,
		      const struct asa_keytab_entry * const *keys,
		      size_t num_keys)
{
	size_t i;

	for (i = 0; i < num_keys; i++) {
		if (keys[i]->kvno == e->kvno &&
		    keys[i]->enctype == e->enctype &&
		    asa_kt_keys_equal(keys[i], e)) {
			return true;
		}
	}
	return false;
}

krb5_error_code asa_kt_retire(krb5_context ctx,
			      const struct asa_keytab *current,
			      const struct asa_keytab *incoming,
			      bool replace,
			      struct asa_keytab **kept,
			      size_t *num_dropped)
{
	const struct asa_keytab_entry **keys = NULL;
	const char **names = NULL;
	bool *carried = NULL;
	bool *asa = NULL;
	struct asa_keytab *kt = NULL;
	size_t n = (current != NULL) ? current->num_entries : 0;
	size_t num_keys = 0, num_names = 0, i, j;
	krb5_error_code ret = 0;

	*kept = NULL;
	if (num_dropped != NULL) {
		*num_dropped = 0;
	}
	if (incoming == NULL) {
		return EINVAL;
	}
	keys = calloc(incoming->num_entries + n + 1, sizeof(keys[0]));
	names = calloc(incoming->num_entries + 1, sizeof(names[0]));
	carried = calloc(n + 1, sizeof(carried[0]));
	asa = calloc(n + 1, sizeof(asa[0]));
	if (keys == NULL || names == NULL || carried == NULL || asa == NULL) {
		ret = ENOMEM;
		goto done;
	}

	/* The ASA's principals and keys: what arrives ... */
	for (i = 0; i < incoming->num_entries; i++) {
		const struct asa_keytab_entry *e = &incoming->entries[i];

		keys[num_keys++] = e;
		if (!name_in(e->principal, names, num_names)) {
			names[num_names++] = e->principal;
		}
	}
	/* ... and what the member holds under those principals. */
	for (i = 0; i < n; i++) {
		const struct asa_keytab_entry *e = &current->entries[i];

		carried[i] = name_in(e->principal, names, num_names);
		if (carried[i]) {
			keys[num_keys++] = e;
		}
	}
	/*
	 * Every name of an account has the account's keys: a principal
	 * holding one of them is the ASA's, whether the push carries it or
	 * not (an SPN the ASA no longer has).  Keys the member keeps of its
	 * own are not the ASA's and stay.
	 */
	for (i = 0; i < n; i++) {
		if (carried[i] ||
		    key_among(&current->entries[i], keys, num_keys)) {
			asa[i] = true;
		}
	}
	for (i = 0; i < n; i++) {
		for (j = 0; asa[i] && j < n; j++) {
			if (!asa[j] && strcmp(current->entries[i].principal,
					      current->entries[j].principal)
				       == 0) {
				asa[j] = true;
			}
		}
	}

	kt = asa_kt_alloc(n);
	if (kt == NULL) {
		ret = ENOMEM;
		goto done;
	}
	for (i = 0; i < n; i++) {
		if (asa[i] && (replace || !carried[i])) {
			continue;
		}
		ret = entry_copy(&kt->entries[kt->num_entries],
				 &current->entries[i]);
		if (ret != 0) {
			goto done;
		}
		kt->num_entries++;
	}
	if (num_dropped != NULL) {
		*num_dropped = n - kt->num_entries;
	}
	*kept = kt;
	kt = NULL;
done:
	asa_kt_free(kt);
	free(keys);
	free(names);
	free(carried);
	free(asa);
	return ret;
}

static int kvno_qsort_desc(const void *pa, const void *pb)
{
	return kvno_cmp_desc(*(const krb5_kvno *)pa, *(const krb5_kvno *)pb);
}

krb5_error_code asa_kt_kvnos(const struct asa_keytab *keytab,
			     const char *principal,
			     krb5_kvno **kvnos,
			     size_t *num_kvnos)
{
	krb5_kvno *list = NULL;
	size_t n = 0, i, j;

	*kvnos = NULL;
	*num_kvnos = 0;
	list = calloc(keytab->num_entries + 1, sizeof(list[0]));
	if (list == NULL) {
		return ENOMEM;
	}
	for (i = 0; i < keytab->num_entries; i++) {
		const struct asa_keytab_entry *e = &keytab->entries[i];

		if (principal != NULL && strcmp(e->principal, principal) != 0) {
			continue;
		}
		for (j = 0; j < n && list[j] != e->kvno; j++) {
		}
		if (j == n) {
			list[n++] = e->kvno;
		}
	}
	qsort(list, n, sizeof(list[0]), kvno_qsort_desc);
	*kvnos = list;
	*num_kvnos = n;
	return 0;
}

/* ----------------------------------------------------------------------
 * Which principals a member accepts
 */

static krb5_error_code refuse(krb5_context ctx, krb5_error_code code,
			      const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static krb5_error_code refuse(krb5_context ctx, krb5_error_code code,
			      const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	krb5_set_error_message(ctx, code, "%s", msg);
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

bool asa_kt_principal_is_account(const char *name)
{
	const char *at = strrchr(name, '@');
	size_t n = at != NULL ? (size_t)(at - name) : strlen(name);

	return n > 1 && name[n - 1] == '$' && memchr(name, '/', n) == NULL &&
	       at != NULL && at[1] != '\0';
}

/* Every principal in one realm, each either the account or a service
 * principal that is not the KDC's own. */
static krb5_error_code check_each(krb5_context ctx,
				  const char * const *names, size_t num,
				  const char *account)
{
	krb5_principal first = NULL;
	krb5_error_code ret = 0;
	size_t i;

	for (i = 0; i < num && ret == 0; i++) {
		krb5_principal p = NULL;

		ret = krb5_parse_name_flags(ctx, names[i],
					    KRB5_PRINCIPAL_PARSE_REQUIRE_REALM,
					    &p);
		if (ret != 0) {
			break;
		}
		if (first != NULL && !krb5_realm_compare(ctx, first, p)) {
			ret = refuse(ctx, KRB5_PRINC_NOMATCH,
				     "the keytab holds keys of more than one "
				     "realm (%s and %s)", names[0], names[i]);
		} else if (p->length == 1 && strcmp(names[i], account) != 0) {
			ret = refuse(ctx, KRB5_PRINC_NOMATCH,
				     "the keytab holds keys for %s, which is "
				     "neither the account nor a service "
				     "principal", names[i]);
		} else if (p->length >= 1 &&
			   (data_is(&p->data[0], "krbtgt") ||
			    data_is(&p->data[0], "kadmin") ||
			    data_is(&p->data[0], "changepw") ||
			    data_is(&p->data[0], "K"))) {
			ret = refuse(ctx, KRB5_PRINC_NOMATCH,
				     "the keytab holds keys for %s, a "
				     "principal of the KDC itself", names[i]);
		}
		if (first == NULL) {
			first = p;
		} else {
			krb5_free_principal(ctx, p);
		}
	}
	krb5_free_principal(ctx, first);
	return ret;
}

krb5_error_code asa_kt_expected_principals(krb5_context ctx,
					   const struct asa_keytab *incoming,
					   const struct asa_keytab *current,
					   const char * const *pinned,
					   size_t num_pinned,
					   const char ***pexpected,
					   size_t *pnum_expected,
					   const char **paccount)
{
	const char **expected = NULL;
	size_t num = 0, i;
	const char *account = NULL;
	const char *old_account = NULL;
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
	expected = calloc(incoming->num_entries + 1, sizeof(expected[0]));
	if (expected == NULL) {
		return ENOMEM;
	}
	for (i = 0; i < incoming->num_entries; i++) {
		const char *name = incoming->entries[i].principal;

		if (!name_in(name, expected, num)) {
			expected[num++] = name;
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
	    !(num_pinned == 1 && asa_kt_principal_is_account(pinned[0]))) {
		ret = asa_kt_check_principals(ctx, incoming, pinned,
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
	ret = check_each(ctx, expected, num, account);
	if (ret != 0) {
		goto done;
	}
	if (num_pinned == 1 && strcmp(pinned[0], account) != 0) {
		ret = refuse(ctx, KRB5_PRINC_NOMATCH,
			     "this member accepts the keys of %s only "
			     "(--principal), not of %s", pinned[0], account);
		goto done;
	}
	/* The keytab already here decides which account it serves. */
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
		free(expected);
		return ret;
	}
	*pexpected = expected;
	*pnum_expected = num;
	if (paccount != NULL) {
		*paccount = account;
	}
	return 0;
}
