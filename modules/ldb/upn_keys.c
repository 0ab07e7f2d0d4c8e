/*
 * unique_principal_names: the comparison keys of an object's principal
 * names (common/principal.c computes them), with a cache of the latest.
 *
 * Copyright (C) samba-asa authors 2026
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 *
 * This program is distributed in the hope that it will be useful,
 * but WITHOUT ANY WARRANTY; without even the implied warranty of
 * MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.  See the
 * GNU General Public License for more details.
 */

#include <string.h>
#include <talloc.h>
#include <ldb_module.h>

#include "unique_principal_names.h"

const char * const upn_value_attrs[] = {
	"objectGUID", "servicePrincipalName", "userPrincipalName", NULL
};

/*
 * Keys of an object's principal names.  A value that is too long has no
 * key (it is refused, or in audit mode merely logged).
 */
/*
 * The comparison key of an SPN value: the parsed name's key, or for a
 * value that is not a valid SPN the plain name's.  With a cache, values
 * keyed lately are looked up first (their keys are talloc'ed on the
 * cache).  Returns ASA_NAME_OK or why there is no key.
 */
enum asa_name_error upn_spn_value_key(TALLOC_CTX *mem_ctx,
				      struct upn_key_cache *cache,
				      const struct ldb_val *v,
				      uint8_t **key, size_t *len)
{
	struct asa_spn *parsed = NULL;
	enum asa_name_error err;
	unsigned int i;

	for (i = 0; cache != NULL && i < UPN_KEY_CACHE_SIZE; i++) {
		if (cache->slot[i].value.data != NULL &&
		    cache->slot[i].value.length == v->length &&
		    memcmp(cache->slot[i].value.data, v->data,
			   v->length) == 0) {
			*key = cache->slot[i].key;
			*len = cache->slot[i].len;
			return ASA_NAME_OK;
		}
	}
	if (cache != NULL) {
		mem_ctx = cache;
	}
	err = asa_spn_parse(mem_ctx, v->data, v->length, &parsed);
	if (err == ASA_NAME_OK) {
		err = asa_spn_key(mem_ctx, parsed, NULL, key, len);
	} else if (err != ASA_NAME_NO_MEMORY) {
		err = asa_name_key(mem_ctx, v->data, v->length, '/', key,
				   len);
	}
	TALLOC_FREE(parsed);
	if (err == ASA_NAME_OK && cache != NULL) {
		unsigned int s = cache->next;
		uint8_t *copy = talloc_memdup(cache, v->data,
					      v->length > 0 ? v->length : 1);

		if (copy != NULL) {
			TALLOC_FREE(cache->slot[s].value.data);
			TALLOC_FREE(cache->slot[s].key);
			cache->slot[s].value.data = copy;
			cache->slot[s].value.length = v->length;
			cache->slot[s].key = *key;
			cache->slot[s].len = *len;
			cache->next = (s + 1) % UPN_KEY_CACHE_SIZE;
		}
	}
	return err;
}

/* Keys of an object's principal names (cache: see upn_spn_value_key). */
int upn_msg_entries_cached(TALLOC_CTX *mem_ctx,
			   struct upn_key_cache *cache,
			   const struct ldb_message *msg,
			   struct upn_entry **_entries,
			   size_t *_num)
{
	const struct ldb_message_element *spn = NULL;
	const struct ldb_message_element *upn = NULL;
	struct upn_entry *entries = NULL;
	size_t n = 0;
	size_t max = 0;
	unsigned int i;

	spn = ldb_msg_find_element(msg, "servicePrincipalName");
	upn = ldb_msg_find_element(msg, "userPrincipalName");
	max = (spn ? spn->num_values : 0) + (upn ? upn->num_values : 0);
	entries = talloc_zero_array(mem_ctx, struct upn_entry, max + 1);
	if (entries == NULL) {
		return LDB_ERR_OPERATIONS_ERROR;
	}
	for (i = 0; i < max; i++) {
		bool is_spn = spn != NULL && i < spn->num_values;
		const struct ldb_val *v = is_spn ? &spn->values[i]
			: &upn->values[i - (spn ? spn->num_values : 0)];
		enum asa_name_error err;

		if (!is_spn) {
			err = asa_upn_key(entries, v->data, v->length,
					  &entries[n].key, &entries[n].len);
		} else {
			err = upn_spn_value_key(entries, cache, v,
						&entries[n].key,
						&entries[n].len);
		}
		if (is_spn && err == ASA_NAME_OK && cache != NULL) {
			/* the entries must not share the cache's copy */
			entries[n].key = talloc_memdup(
				entries, entries[n].key,
				entries[n].len > 0 ? entries[n].len : 1);
			if (entries[n].key == NULL) {
				err = ASA_NAME_NO_MEMORY;
			}
		}
		if (err == ASA_NAME_NO_MEMORY) {
			TALLOC_FREE(entries);
			return LDB_ERR_OPERATIONS_ERROR;
		}
		if (err != ASA_NAME_OK) {
			continue;
		}
		entries[n].kind = is_spn ? UPN_KIND_SPN : UPN_KIND_UPN;
		n++;
	}
	*_entries = entries;
	*_num = n;
	return LDB_SUCCESS;
}

int upn_msg_entries(TALLOC_CTX *mem_ctx,
		    const struct ldb_message *msg,
		    struct upn_entry **_entries,
		    size_t *_num)
{
	return upn_msg_entries_cached(mem_ctx, NULL, msg, _entries, _num);
}

bool upn_entry_in(const struct upn_entry *e,
		  const struct upn_entry *set, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (set[i].kind == e->kind && set[i].len == e->len &&
		    memcmp(set[i].key, e->key, e->len) == 0) {
			return true;
		}
	}
	return false;
}

/* Does msg hold a value of this kind whose key is e? */
int upn_msg_holds(TALLOC_CTX *mem_ctx,
		  const struct ldb_message *msg,
		  const struct upn_entry *e,
		  bool *holds)
{
	struct upn_entry *entries = NULL;
	size_t n = 0;
	int ret;

	*holds = false;
	ret = upn_msg_entries(mem_ctx, msg, &entries, &n);
	if (ret != LDB_SUCCESS) {
		return ret;
	}
	*holds = upn_entry_in(e, entries, n);
	TALLOC_FREE(entries);
	return LDB_SUCCESS;
}
