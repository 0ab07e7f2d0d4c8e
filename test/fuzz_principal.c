/*
 * libFuzzer target: SPN / UPN parsing, comparison keys, sanitising and
 * sPNMappings parsing of arbitrary bytes must neither crash nor leak.
 *
 * Copyright (C) samba-asa authors 2026
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 */

#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <stdlib.h>

#include "principal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	TALLOC_CTX *mem_ctx = talloc_new(NULL);
	struct asa_spn *spn = NULL;
	struct asa_spn_mappings *m = NULL;
	uint8_t *key = NULL;
	uint8_t *key2 = NULL;
	uint8_t *clean = NULL;
	size_t klen = 0, klen2 = 0, clen = 0;
	bool changed = false;
	const char *values[4] = { NULL, NULL, NULL, NULL };
	size_t nvalues = 0;
	size_t start = 0;
	size_t i;

	if (mem_ctx == NULL) {
		return 0;
	}

	if (asa_spn_parse(mem_ctx, data, size, &spn) == ASA_NAME_OK) {
		/* a parsed SPN has 2 or 3 parts and a key */
		if (spn->num_parts < 2 || spn->num_parts > 3) {
			abort();
		}
		if (asa_spn_key(mem_ctx, spn, NULL, &key, &klen) !=
		    ASA_NAME_OK || key == NULL) {
			abort();
		}
		(void)asa_spn_key(mem_ctx, spn, "host", &key2, &klen2);
	}
	(void)asa_upn_key(mem_ctx, data, size, &key, &klen);
	(void)asa_name_key(mem_ctx, data, size, '/', &key, &klen);

	if (asa_name_sanitize(mem_ctx, data, size, &clean, &clen,
			      &changed) == ASA_NAME_OK) {
		/* sanitising is idempotent */
		uint8_t *again = NULL;
		size_t alen = 0;
		bool changed2 = true;

		if (asa_name_sanitize(mem_ctx, clean, clen, &again, &alen,
				      &changed2) != ASA_NAME_OK ||
		    changed2 || alen != clen ||
		    (clen > 0 && memcmp(again, clean, clen) != 0)) {
			abort();
		}
	}

	/* the input as up to four NUL-separated sPNMappings values */
	for (i = 0; i <= size && nvalues < 4; i++) {
		if (i == size || data[i] == '\0') {
			values[nvalues++] = talloc_strndup(mem_ctx,
				(const char *)data + start, i - start);
			start = i + 1;
		}
	}
	m = asa_spn_mappings_parse(mem_ctx, values, nvalues);
	if (m != NULL) {
		const char *const *a = asa_spn_mappings_aliases(m, "host");

		(void)asa_spn_mappings_canonical(m, "cifs");
		if (spn != NULL) {
			(void)asa_spn_mappings_canonical(m,
							 spn->service_class);
			a = asa_spn_mappings_aliases(m, spn->service_class);
		}
		for (i = 0; a[i] != NULL; i++) {
			(void)strlen(a[i]);
		}
	}

	talloc_free(mem_ctx);
	return 0;
}
