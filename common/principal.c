/*
 * samba-asa: principal names (SPN, UPN) as the directory compares them.
 *
 * Copyright (C) samba-asa authors 2026
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 *
 * How a key is made, and why:
 *
 * Windows compares principal names like CompareString() with
 * NORM_IGNORECASE | NORM_IGNORENONSPACE | NORM_IGNOREKANATYPE |
 * NORM_IGNOREWIDTH.  The nearest thing ICU offers is a primary-strength
 * sort key of the root collator: it ignores case, marks ("cīfs" = "cifs",
 * "ħØşt" = "host"), kana type ("つ" = "ツ") and width / compatibility forms
 * ("㋡" = "ツ").  Three differences from a plain primary key matter to the
 * directory, and Samba's ldap_spn / ldap_upn_sam_account tests pin them:
 *
 *  - separators are structure, not letters: an SPN is split on the ASCII
 *    '/' and a UPN on the ASCII '@' before anything is folded, so the
 *    full-width solidus or the small / wide commercial at never act as a
 *    separator (and never equal one);
 *  - U+00A0 NO-BREAK SPACE is not a space (a tailoring rule gives it a
 *    primary weight of its own);
 *  - bytes that are not UTF-8 are opaque: such a part compares equal only
 *    to the same bytes (ASCII letters case-folded), never to any text.
 *
 * Values are taken up to the first NUL byte, as Windows' string handling
 * does.  A key is the concatenation of the parts' primary weights, each
 * part followed by the byte 0x01 (ICU never puts 0x00 or 0x01 in primary
 * weights, and never 0x02 as a first byte: opaque parts start with 0x02).
 */

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unicode/ucol.h>
#include <unicode/ustring.h>

#include "principal.h"

#define KEY_PART_END 0x01
#define KEY_OPAQUE 0x02

static UCollator *principal_collator;

static const char *name_errors[] = {
	[ASA_NAME_OK] = "ok",
	[ASA_NAME_EMPTY] = "the name is empty",
	[ASA_NAME_TOO_FEW_PARTS] =
		"a service principal name needs a service class and an "
		"instance separated by '/' (serviceclass/host[:port][/name])",
	[ASA_NAME_TOO_MANY_PARTS] =
		"a service principal name has at most three parts "
		"(serviceclass/host[:port]/servicename)",
	[ASA_NAME_TOO_LONG] =
		"the name is longer than 1024 bytes, which no Kerberos "
		"implementation accepts",
	[ASA_NAME_NO_MEMORY] = "out of memory",
	[ASA_NAME_ALL_PARTS_EMPTY] =
		"a service principal name needs at least one non-empty part",
};

const char *asa_name_strerror(enum asa_name_error err)
{
	if ((size_t)err >= sizeof(name_errors) / sizeof(name_errors[0]) ||
	    name_errors[err] == NULL) {
		return "unknown error";
	}
	return name_errors[err];
}

/*
 * The collator, opened once.  Samba runs one thread per process, and
 * ucol_getSortKey() takes a const collator.
 */
static UCollator *get_collator(void)
{
	/* "& ' ' < '\u00a0'": NBSP sorts after space, primary difference */
	static const UChar rules[] = {
		'&', '\'', ' ', '\'', '<', '\'', 0x00A0, '\'', 0
	};
	UErrorCode status = U_ZERO_ERROR;
	UParseError perr;

	if (principal_collator != NULL) {
		return principal_collator;
	}
	principal_collator = ucol_openRules(rules, -1, UCOL_DEFAULT,
					    UCOL_PRIMARY, &perr, &status);
	if (U_FAILURE(status)) {
		principal_collator = NULL;
		return NULL;
	}
	/* punctuation and spaces count ("mail.x" != "mail-x" != "mailx") */
	ucol_setAttribute(principal_collator, UCOL_ALTERNATE_HANDLING,
			  UCOL_NON_IGNORABLE, &status);
	ucol_setAttribute(principal_collator, UCOL_NORMALIZATION_MODE,
			  UCOL_ON, &status);
	if (U_FAILURE(status)) {
		ucol_close(principal_collator);
		principal_collator = NULL;
	}
	return principal_collator;
}

void asa_principal_cleanup(void)
{
	if (principal_collator != NULL) {
		ucol_close(principal_collator);
		principal_collator = NULL;
	}
}

uint32_t asa_principal_key_version(void)
{
	UCollator *coll = get_collator();
	UVersionInfo v;

	if (coll == NULL) {
		return 0;
	}
	ucol_getVersion(coll, v);
	return ((uint32_t)v[0] << 24) | ((uint32_t)v[1] << 16) |
	       ((uint32_t)v[2] << 8) | (uint32_t)v[3];
}

/* The value up to its first NUL byte. */
static size_t value_length(const uint8_t *data, size_t length)
{
	const uint8_t *nul = memchr(data, '\0', length);

	return nul == NULL ? length : (size_t)(nul - data);
}

/* Append n bytes to *key (talloc'ed on mem_ctx). */
static bool key_append_bytes(TALLOC_CTX *mem_ctx,
			     uint8_t **key,
			     size_t *key_len,
			     const uint8_t *bytes,
			     size_t n)
{
	uint8_t *out = talloc_realloc(mem_ctx, *key, uint8_t,
				      *key_len + n);

	if (out == NULL) {
		return false;
	}
	if (n > 0) {
		memcpy(out + *key_len, bytes, n);
	}
	*key = out;
	*key_len += n;
	return true;
}

/*
 * Most parts are short: their UTF-16 form and sort key fit on the stack,
 * and only longer ones (up to ASA_PRINCIPAL_MAX_LENGTH bytes) allocate.
 * Keying is most of what an audit of 100k SPNs costs, and what a write
 * through the uniqueness module pays for each value.
 */
#define PART_STACK_UNITS 256
#define PART_STACK_KEY 1024

/*
 * Append the key of one part (part_len bytes, no NUL inside) and the
 * part terminator to *key.  Returns false on failure (no memory, or ICU
 * out of order).
 */
static bool key_append_part(TALLOC_CTX *mem_ctx,
			    const char *part,
			    size_t part_len,
			    uint8_t **key,
			    size_t *key_len)
{
	UChar ubuf[PART_STACK_UNITS];
	uint8_t skbuf[PART_STACK_KEY];
	UChar *heap_u = NULL;	/* parts too long for the stack */
	uint8_t *heap_sk = NULL;
	UCollator *coll = NULL;
	UChar *u = ubuf;
	int32_t ulen = 0;
	uint8_t *sk = skbuf;
	int32_t sklen = sizeof(skbuf);
	int32_t need;
	UErrorCode status = U_ZERO_ERROR;
	size_t add = 0;
	size_t i;
	bool ok = false;

	if (part_len > 0) {
		if (part_len + 1 > PART_STACK_UNITS) {
			u = heap_u = talloc_array(mem_ctx, UChar,
						  part_len + 1);
			if (u == NULL) {
				goto done;
			}
		}
		u_strFromUTF8(u, part_len + 1, &ulen, part, part_len,
			      &status);
	}

	if (U_FAILURE(status)) {
		/* not UTF-8: opaque bytes, ASCII letters folded */
		add = 1 + 2 * part_len;
		if ((int32_t)add + 1 > sklen) {
			sk = heap_sk = talloc_array(mem_ctx, uint8_t,
						    add + 1);
			if (sk == NULL) {
				goto done;
			}
		}
		sk[0] = KEY_OPAQUE;
		for (i = 0; i < part_len; i++) {
			uint8_t c = (uint8_t)part[i];

			if (c >= 'A' && c <= 'Z') {
				c += 'a' - 'A';
			}
			sk[1 + 2 * i] = 0x10 + (c >> 4);
			sk[2 + 2 * i] = 0x10 + (c & 0x0f);
		}
	} else if (ulen > 0) {
		coll = get_collator();
		if (coll == NULL) {
			goto done;
		}
		need = ucol_getSortKey(coll, u, ulen, sk, sklen);
		if (need > sklen) {
			sk = heap_sk = talloc_array(mem_ctx, uint8_t, need);
			if (sk == NULL) {
				goto done;
			}
			sklen = need;
			need = ucol_getSortKey(coll, u, ulen, sk, sklen);
		}
		if (need <= 0 || need > sklen) {
			goto done;
		}
		/* drop the terminating 0x00 (primary strength: no levels) */
		add = need - 1;
		for (i = 0; i < add; i++) {
			if (sk[i] == 0x01) {
				/* a level separator: stop at primary */
				add = i;
				break;
			}
		}
	}

	/* the part's weights, then its terminator (sk has room for it) */
	sk[add] = KEY_PART_END;
	ok = key_append_bytes(mem_ctx, key, key_len, sk, add + 1);
done:
	TALLOC_FREE(heap_u);
	TALLOC_FREE(heap_sk);
	return ok;
}

/*
 * Service classes come from a small set ("host", "http", the ~50
 * sPNMappings aliases of host), so their keys are kept once made.  One
 * thread per process (see get_collator()); a full cache replaces its
 * oldest entry.
 */
#define CLASS_CACHE_SIZE 64
#define CLASS_CACHE_NAME 24
#define CLASS_CACHE_KEY 64

static struct {
	unsigned int next;
	struct {
		char name[CLASS_CACHE_NAME]; /* "": unused */
		uint8_t key[CLASS_CACHE_KEY];
		size_t length;
	} slot[CLASS_CACHE_SIZE];
} class_keys;

static bool key_append_class(TALLOC_CTX *mem_ctx,
			     const char *service_class,
			     uint8_t **key,
			     size_t *key_len)
{
	size_t len = strlen(service_class);
	uint8_t *part = NULL;
	size_t part_len = 0;
	unsigned int i;
	bool ok;

	if (len == 0 || len >= CLASS_CACHE_NAME) {
		return key_append_part(mem_ctx, service_class, len, key,
				       key_len);
	}
	for (i = 0; i < CLASS_CACHE_SIZE; i++) {
		if (strcmp(class_keys.slot[i].name, service_class) == 0) {
			return key_append_bytes(mem_ctx, key, key_len,
						class_keys.slot[i].key,
						class_keys.slot[i].length);
		}
	}
	if (!key_append_part(mem_ctx, service_class, len, &part,
			     &part_len)) {
		return false;
	}
	if (part_len <= CLASS_CACHE_KEY) {
		i = class_keys.next;
		class_keys.next = (i + 1) % CLASS_CACHE_SIZE;
		memcpy(class_keys.slot[i].name, service_class, len + 1);
		memcpy(class_keys.slot[i].key, part, part_len);
		class_keys.slot[i].length = part_len;
	}
	ok = key_append_bytes(mem_ctx, key, key_len, part, part_len);
	TALLOC_FREE(part);
	return ok;
}

/*
 * Key of a value made of parts separated by one ASCII separator byte.
 */
static enum asa_name_error key_of_parts(TALLOC_CTX *mem_ctx,
					const char * const *parts,
					unsigned int num_parts,
					bool first_is_class,
					uint8_t **key,
					size_t *key_length)
{
	uint8_t *k = NULL;
	size_t klen = 0;
	unsigned int i;

	for (i = 0; i < num_parts; i++) {
		bool ok = i == 0 && first_is_class ?
			key_append_class(mem_ctx, parts[i], &k, &klen) :
			key_append_part(mem_ctx, parts[i], strlen(parts[i]),
					&k, &klen);

		if (!ok) {
			TALLOC_FREE(k);
			return ASA_NAME_NO_MEMORY;
		}
	}
	*key = k;
	*key_length = klen;
	return ASA_NAME_OK;
}

enum asa_name_error asa_spn_parse(TALLOC_CTX *mem_ctx,
				  const uint8_t *data,
				  size_t length,
				  struct asa_spn **spn)
{
	struct asa_spn *s = NULL;
	const char *parts[3] = { NULL, NULL, NULL };
	size_t starts[3] = { 0, 0, 0 };
	size_t ends[3] = { 0, 0, 0 };
	unsigned int n = 1;
	size_t i;

	*spn = NULL;
	if (data == NULL) {
		return ASA_NAME_EMPTY;
	}
	length = value_length(data, length);
	if (length == 0) {
		return ASA_NAME_EMPTY;
	}
	if (length > ASA_PRINCIPAL_MAX_LENGTH) {
		return ASA_NAME_TOO_LONG;
	}

	/* backslashes escape nothing: Windows counts every '/' */
	for (i = 0; i < length; i++) {
		if (data[i] != '/') {
			continue;
		}
		if (n == 3) {
			return ASA_NAME_TOO_MANY_PARTS;
		}
		ends[n - 1] = i;
		starts[n] = i + 1;
		n++;
	}
	ends[n - 1] = length;
	if (n < 2) {
		return ASA_NAME_TOO_FEW_PARTS;
	}

	if (length == n - 1) {
		/* only slashes: Windows refuses "//" */
		return ASA_NAME_ALL_PARTS_EMPTY;
	}

	s = talloc_zero(mem_ctx, struct asa_spn);
	if (s == NULL) {
		return ASA_NAME_NO_MEMORY;
	}
	for (i = 0; i < n; i++) {
		parts[i] = talloc_strndup(s, (const char *)data + starts[i],
					  ends[i] - starts[i]);
		if (parts[i] == NULL) {
			TALLOC_FREE(s);
			return ASA_NAME_NO_MEMORY;
		}
	}
	s->service_class = parts[0];
	s->instance = parts[1];
	s->service_name = parts[2];
	s->num_parts = n;
	*spn = s;
	return ASA_NAME_OK;
}

enum asa_name_error asa_spn_key(TALLOC_CTX *mem_ctx,
				const struct asa_spn *spn,
				const char *service_class,
				uint8_t **key,
				size_t *key_length)
{
	const char *parts[3];

	*key = NULL;
	*key_length = 0;
	if (spn == NULL || spn->num_parts < 2 || spn->num_parts > 3) {
		return ASA_NAME_EMPTY;
	}
	parts[0] = service_class != NULL ? service_class : spn->service_class;
	parts[1] = spn->instance;
	parts[2] = spn->service_name;
	return key_of_parts(mem_ctx, parts, spn->num_parts, true, key,
			    key_length);
}

enum asa_name_error asa_spn_key_with_class(TALLOC_CTX *mem_ctx,
					   const uint8_t *key,
					   size_t key_length,
					   const char *service_class,
					   uint8_t **out,
					   size_t *out_length)
{
	const uint8_t *end = memchr(key, KEY_PART_END, key_length);
	uint8_t *k = NULL;
	size_t klen = 0;

	*out = NULL;
	*out_length = 0;
	if (end == NULL) {
		return ASA_NAME_EMPTY;
	}
	/* the new class's key, then the instance part onwards */
	if (!key_append_class(mem_ctx, service_class, &k, &klen) ||
	    !key_append_bytes(mem_ctx, &k, &klen, end + 1,
			      key_length - (size_t)(end + 1 - key))) {
		TALLOC_FREE(k);
		return ASA_NAME_NO_MEMORY;
	}
	*out = k;
	*out_length = klen;
	return ASA_NAME_OK;
}

enum asa_name_error asa_name_key(TALLOC_CTX *mem_ctx,
				 const uint8_t *data,
				 size_t length,
				 char separator,
				 uint8_t **key,
				 size_t *key_length)
{
	TALLOC_CTX *frame = NULL;
	const char **parts = NULL;
	unsigned int n = 0;
	size_t start = 0;
	size_t i;
	enum asa_name_error err = ASA_NAME_NO_MEMORY;

	*key = NULL;
	*key_length = 0;
	if (data == NULL) {
		return ASA_NAME_EMPTY;
	}
	length = value_length(data, length);
	if (length == 0) {
		return ASA_NAME_EMPTY;
	}
	if (length > ASA_PRINCIPAL_MAX_LENGTH) {
		return ASA_NAME_TOO_LONG;
	}

	frame = talloc_new(mem_ctx);
	if (frame == NULL) {
		return ASA_NAME_NO_MEMORY;
	}
	/* at most length + 1 parts */
	parts = talloc_array(frame, const char *, length + 1);
	if (parts == NULL) {
		goto done;
	}
	for (i = 0; i <= length; i++) {
		if (i < length && data[i] != (uint8_t)separator) {
			continue;
		}
		parts[n] = talloc_strndup(parts, (const char *)data + start,
					  i - start);
		if (parts[n] == NULL) {
			goto done;
		}
		n++;
		start = i + 1;
	}
	err = key_of_parts(mem_ctx, parts, n, false, key, key_length);
done:
	TALLOC_FREE(frame);
	return err;
}

enum asa_name_error asa_upn_key(TALLOC_CTX *mem_ctx,
				const uint8_t *data,
				size_t length,
				uint8_t **key,
				size_t *key_length)
{
	return asa_name_key(mem_ctx, data, length, '@', key, key_length);
}

enum asa_name_error asa_name_sanitize(TALLOC_CTX *mem_ctx,
				      const uint8_t *data,
				      size_t length,
				      uint8_t **out,
				      size_t *out_length,
				      bool *changed)
{
	UChar *u = NULL;
	int32_t ulen = 0;
	int32_t olen = 0;
	int32_t nsub = 0;
	uint8_t *o = NULL;
	size_t vlen;
	UErrorCode status = U_ZERO_ERROR;

	*out = NULL;
	*out_length = 0;
	*changed = false;
	if (data == NULL) {
		length = 0;
	}
	vlen = length > 0 ? value_length(data, length) : 0;
	if (vlen > INT32_MAX / 4) {
		return ASA_NAME_TOO_LONG;
	}
	*changed = vlen != length;

	u = talloc_array(mem_ctx, UChar, vlen + 1);
	if (u == NULL) {
		return ASA_NAME_NO_MEMORY;
	}
	u_strFromUTF8WithSub(u, vlen + 1, &ulen, (const char *)data, vlen,
			     0xFFFD, &nsub, &status);
	if (U_FAILURE(status)) {
		TALLOC_FREE(u);
		return ASA_NAME_NO_MEMORY;
	}
	if (nsub == 0) {
		TALLOC_FREE(u);
		/* ldb values are NUL-terminated: samldb prints them with
		 * %s, and a value cut at a NUL must not run on. */
		o = talloc_array(mem_ctx, uint8_t, vlen + 1);
		if (o == NULL) {
			return ASA_NAME_NO_MEMORY;
		}
		if (vlen > 0) {
			memcpy(o, data, vlen);
		}
		o[vlen] = '\0';
		*out = o;
		*out_length = vlen;
		return ASA_NAME_OK;
	}
	*changed = true;
	o = talloc_array(mem_ctx, uint8_t, 3 * (size_t)ulen + 1);
	if (o == NULL) {
		TALLOC_FREE(u);
		return ASA_NAME_NO_MEMORY;
	}
	u_strToUTF8((char *)o, 3 * ulen + 1, &olen, u, ulen, &status);
	TALLOC_FREE(u);
	if (U_FAILURE(status)) {
		TALLOC_FREE(o);
		return ASA_NAME_NO_MEMORY;
	}
	*out = o;
	*out_length = olen;
	return ASA_NAME_OK;
}

/*
 * sPNMappings: values "host=alerter,http,cifs,...".  Resolved first come,
 * first served, as Samba's samldb and cracknames do: the first value that
 * names a class (as the canonical class or in its list) decides.
 */
struct spn_mapping {
	const char *canonical;
	uint8_t *canonical_key;
	size_t canonical_key_len;
	const char **aliases;	/* NULL-terminated */
	uint8_t **alias_keys;
	size_t *alias_key_lens;
	size_t num_aliases;
};

struct asa_spn_mappings {
	struct spn_mapping *mappings;
	size_t num_mappings;
};

static const char *const no_aliases[] = { NULL };

static bool class_key(TALLOC_CTX *mem_ctx, const char *s,
		      uint8_t **key, size_t *len)
{
	*key = NULL;
	*len = 0;
	return key_append_part(mem_ctx, s, strlen(s), key, len);
}

struct asa_spn_mappings *asa_spn_mappings_parse(TALLOC_CTX *mem_ctx,
						const char * const *values,
						size_t num_values)
{
	struct asa_spn_mappings *m = NULL;
	size_t i;

	m = talloc_zero(mem_ctx, struct asa_spn_mappings);
	if (m == NULL) {
		return NULL;
	}
	m->mappings = talloc_zero_array(m, struct spn_mapping,
					num_values + 1);
	if (m->mappings == NULL) {
		goto fail;
	}

	for (i = 0; i < num_values; i++) {
		struct spn_mapping *map = &m->mappings[m->num_mappings];
		char *copy = NULL;
		char *eq = NULL;
		char *p = NULL;
		size_t n = 1;
		size_t j;

		if (values == NULL || values[i] == NULL) {
			continue;
		}
		copy = talloc_strdup(m, values[i]);
		if (copy == NULL) {
			goto fail;
		}
		eq = strchr(copy, '=');
		if (eq == NULL || eq == copy) {
			/* not a mapping: ignored, as nothing can use it */
			TALLOC_FREE(copy);
			continue;
		}
		*eq = '\0';
		map->canonical = copy;
		if (!class_key(m, copy, &map->canonical_key,
			       &map->canonical_key_len)) {
			goto fail;
		}
		for (p = eq + 1; *p != '\0'; p++) {
			if (*p == ',') {
				n++;
			}
		}
		map->aliases = talloc_zero_array(m, const char *, n + 1);
		map->alias_keys = talloc_zero_array(m, uint8_t *, n);
		map->alias_key_lens = talloc_zero_array(m, size_t, n);
		if (map->aliases == NULL || map->alias_keys == NULL ||
		    map->alias_key_lens == NULL) {
			goto fail;
		}
		p = eq + 1;
		for (j = 0; j < n; j++) {
			char *comma = strchr(p, ',');
			char *a = NULL;
			size_t alen;

			if (comma != NULL) {
				*comma = '\0';
			}
			/* tolerate blanks around the commas */
			while (*p == ' ') {
				p++;
			}
			alen = strlen(p);
			while (alen > 0 && p[alen - 1] == ' ') {
				p[--alen] = '\0';
			}
			a = p;
			p = comma != NULL ? comma + 1 : p + alen;
			if (*a == '\0') {
				continue;
			}
			map->aliases[map->num_aliases] = a;
			if (!class_key(m, a,
				       &map->alias_keys[map->num_aliases],
				       &map->alias_key_lens[map->num_aliases])) {
				goto fail;
			}
			map->num_aliases++;
		}
		m->num_mappings++;
	}
	return m;
fail:
	TALLOC_FREE(m);
	return NULL;
}

static bool key_equal(const uint8_t *a, size_t alen,
		      const uint8_t *b, size_t blen)
{
	return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

/*
 * The mapping that decides service_class, and whether service_class is its
 * canonical class (*is_canonical) or one of its aliases (*alias_index).
 */
static const struct spn_mapping *mapping_for(const struct asa_spn_mappings *m,
					     const char *service_class,
					     bool *is_canonical)
{
	uint8_t *k = NULL;
	size_t klen = 0;
	const struct spn_mapping *found = NULL;
	size_t i, j;

	*is_canonical = false;
	if (m == NULL || service_class == NULL) {
		return NULL;
	}
	if (!class_key(NULL, service_class, &k, &klen)) {
		return NULL;
	}
	for (i = 0; i < m->num_mappings && found == NULL; i++) {
		const struct spn_mapping *map = &m->mappings[i];

		if (key_equal(k, klen, map->canonical_key,
			      map->canonical_key_len)) {
			*is_canonical = true;
			found = map;
			break;
		}
		for (j = 0; j < map->num_aliases; j++) {
			if (key_equal(k, klen, map->alias_keys[j],
				      map->alias_key_lens[j])) {
				found = map;
				break;
			}
		}
	}
	TALLOC_FREE(k);
	return found;
}

const char *asa_spn_mappings_canonical(const struct asa_spn_mappings *m,
				       const char *service_class)
{
	bool is_canonical = false;
	const struct spn_mapping *map = mapping_for(m, service_class,
						    &is_canonical);

	if (map == NULL || is_canonical) {
		return NULL;
	}
	return map->canonical;
}

const char * const *asa_spn_mappings_aliases(const struct asa_spn_mappings *m,
					     const char *canonical)
{
	bool is_canonical = false;
	const struct spn_mapping *map = mapping_for(m, canonical,
						    &is_canonical);

	if (map == NULL || !is_canonical) {
		return no_aliases;
	}
	return map->aliases;
}
