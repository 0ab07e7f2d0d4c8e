/*
 * libFuzzer target: security descriptors (common/sd.c) and text made
 * safe (common/safe_text.c) from arbitrary bytes must neither crash nor
 * read out of bounds; what parses, stripped and encoded again, must
 * parse.
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
#include <stdlib.h>
#include <string.h>
#include <talloc.h>

#include "sd.h"
#include "safe_text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	TALLOC_CTX *mem_ctx = talloc_new(NULL);
	struct asa_trust_sids trusted = { .num_dcs = 0 };
	struct asa_sd *sd = NULL, *again = NULL;
	struct asa_sid da;
	uint8_t *copy = NULL, *out = NULL;
	char *text = NULL;
	size_t out_len = 0;
	bool changed = false;
	int k;

	if (mem_ctx == NULL) {
		return 0;
	}
	asa_sid_parse("S-1-5-21-1-2-3", &trusted.domain);
	trusted.root_domain = trusted.domain;
	asa_sid_parse("S-1-5-21-1-2-3-512", &da);
	/* an exact-size copy, so that a read past the end is caught */
	copy = talloc_memdup(mem_ctx, data, size);
	if (copy != NULL && asa_sd_parse(mem_ctx, copy, size, &sd) == 0) {
		for (k = ASA_TRUST_ACCOUNT; k <= ASA_TRUST_SCP; k++) {
			(void)asa_trust_check_sd(mem_ctx, &trusted, sd, k,
						 &da);
		}
		asa_trust_strip_sd(sd, &trusted, ASA_TRUST_ACCOUNT, &da, &da,
				   &changed);
		/* what we encode, we parse back */
		if (asa_sd_encode(mem_ctx, sd, &out, &out_len) == 0 &&
		    asa_sd_parse(mem_ctx, out, out_len, &again) != 0) {
			abort();
		}
	}
	text = talloc_strndup(mem_ctx, (const char *)data, size);
	if (text != NULL) {
		(void)asa_safe_text(mem_ctx, text);
	}
	talloc_free(mem_ctx);
	return 0;
}
