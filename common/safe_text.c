/*
 * samba-asa: text made safe to print (see safe_text.h).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <talloc.h>

#include "safe_text.h"

/* The length of the valid UTF-8 sequence at s, with its code point;
 * 0 when it is not one (overlong, surrogate, beyond U+10FFFF, cut). */
static size_t utf8_seq(const unsigned char *s, uint32_t *cp)
{
	size_t n, i;
	uint32_t c;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	} else if (s[0] >= 0xC2 && s[0] <= 0xDF) {
		n = 2;
		c = s[0] & 0x1F;
	} else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
		n = 3;
		c = s[0] & 0x0F;
	} else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
		n = 4;
		c = s[0] & 0x07;
	} else {
		return 0;
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80) {
			return 0;
		}
		c = (c << 6) | (s[i] & 0x3F);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000) ||
	    c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {
		return 0;
	}
	*cp = c;
	return n;
}

static bool cp_unsafe(uint32_t c)
{
	return c < 0x20 || (c >= 0x7F && c <= 0x9F) || c == 0x061C ||
		c == 0x200E || c == 0x200F || (c >= 0x202A && c <= 0x202E) ||
		(c >= 0x2066 && c <= 0x2069);
}

char *asa_safe_text(TALLOC_CTX *mem_ctx, const char *text)
{
	const unsigned char *s = (const unsigned char *)text;
	char *out = NULL;
	size_t len, o = 0;

	if (text == NULL) {
		return talloc_strdup(mem_ctx, "(null)");
	}
	len = strlen(text);
	/* at most "\u202e" (6 bytes) or "\xNN" (4) per input byte */
	out = talloc_array(mem_ctx, char, 6 * len + 1);
	if (out == NULL) {
		return NULL;
	}
	while (*s != '\0') {
		uint32_t cp = 0;
		size_t n = utf8_seq(s, &cp);

		if (n == 0) {
			o += snprintf(out + o, 5, "\\x%02x", *s);
			s++;
			continue;
		}
		if (cp == '\\') {
			out[o++] = '\\';
			out[o++] = '\\';
		} else if (cp_unsafe(cp) && cp < 0x100 && n == 1) {
			o += snprintf(out + o, 5, "\\x%02x", (unsigned)cp);
		} else if (cp_unsafe(cp)) {
			o += snprintf(out + o, 7, "\\u%04x", (unsigned)cp);
		} else {
			memcpy(out + o, s, n);
			o += n;
		}
		s += n;
	}
	out[o] = '\0';
	return talloc_realloc(mem_ctx, out, char, o + 1);
}
