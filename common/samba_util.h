/*
 * samba-asa: what libsamba-util has and samba-dev ships no header for,
 * in Samba's own spelling.
 */
#ifndef _ASA_SAMBA_UTIL_H_
#define _ASA_SAMBA_UTIL_H_

#include <stdint.h>
#include <talloc.h>

#ifndef discard_const_p
#define discard_const(ptr) ((void *)((uintptr_t)(ptr)))
#define discard_const_p(type, ptr) ((type *)discard_const(ptr))
#endif

#ifndef talloc_stackframe
TALLOC_CTX *_talloc_stackframe(const char *location);
#define talloc_stackframe() _talloc_stackframe(__location__)
#endif

#endif /* _ASA_SAMBA_UTIL_H_ */
