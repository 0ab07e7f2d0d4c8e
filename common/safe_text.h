/*
 * samba-asa: text read from the directory, a member or a file, made safe
 * to print on a terminal or in a log.
 */
#ifndef _ASA_SAFE_TEXT_H_
#define _ASA_SAFE_TEXT_H_

#include <talloc.h>

/*
 * text with every byte that could steer a terminal or hide what follows
 * written as an escape: C0 and C1 control characters and DEL (so no
 * escape sequence survives), bytes that are not valid UTF-8, the Unicode
 * bidirectional controls (U+061C, U+200E-U+200F, U+202A-U+202E,
 * U+2066-U+2069) and the backslash itself ("\\", "\x1b", "\u202e").
 * Printable ASCII and valid UTF-8 stay as they are.  NULL gives
 * "(null)"; NULL only when out of memory.
 */
char *asa_safe_text(TALLOC_CTX *mem_ctx, const char *text);

#endif /* _ASA_SAFE_TEXT_H_ */
