/*
 * samba-asa: what the parts of the ASA code share (asa.c reads an ASA,
 * asa_store.c writes one, asa_keywords.c holds the SCPs' keywords).
 * Not for callers: use asa.h.
 */
#ifndef _ASA_PRIVATE_H_
#define _ASA_PRIVATE_H_

#include <stdarg.h>
#include <stdint.h>
#include <talloc.h>
#include <ldb.h>

#include "asa.h"

/* Keywords of the samba-asa SCP */
#define KW_VERSION		"version"
#define KW_ROLL_INTERVAL	"roll_interval"
#define KW_LAST_ROLL		"last_roll"
#define KW_LAST_ROLL_ERROR	"last_roll_error"
#define KW_LAST_ROLL_ERROR_TIME	"last_roll_error_time"
#define KW_ROLL_FAILURES	"roll_failures"

/* Keywords of a member SCP */
#define KW_LATEST_KVNO		"latest_kvno"
#define KW_LATEST_INSTALLED	"latest_installed"
#define KW_PREVIOUS_KVNO	"previous_kvno"
#define KW_STALE		"stale"
#define KW_LAST_ERROR		"last_error"
#define KW_LAST_ERROR_TIME	"last_error_time"
#define KW_AFTER_INSTALL	"after_install"

#define ASA_SCP_VERSION		"1"

/* *errstring (when errstring is not NULL) = the message; returns code. */
static inline int asa_fail(TALLOC_CTX *mem_ctx, char **errstring, int code,
			   const char *fmt, ...) PRINTF_ATTRIBUTE(4, 5);
static inline int asa_fail(TALLOC_CTX *mem_ctx, char **errstring, int code,
			   const char *fmt, ...)
{
	va_list ap;

	if (errstring != NULL) {
		va_start(ap, fmt);
		*errstring = talloc_vasprintf(mem_ctx, fmt, ap);
		va_end(ap);
	}
	return code;
}

static inline const char *asa_rdn_value(struct ldb_dn *dn)
{
	const struct ldb_val *v = ldb_dn_get_rdn_val(dn);

	return v != NULL ? (const char *)v->data : NULL;
}

/* The values of 'keywords' in msg as strings. */
int asa_keywords_of(TALLOC_CTX *mem_ctx, const struct ldb_message *msg,
		    const char ***values, size_t *num);

/* The keywords not among keys, copied onto mem_ctx. */
int asa_keywords_other(TALLOC_CTX *mem_ctx, const char * const *values,
		       size_t num, const char * const *keys,
		       const char ***other, size_t *num_other);

/* Add "key=value" to msg's keywords (MOD_REPLACE element made first). */
int asa_kw_add(struct ldb_message *msg, const char *key,
	       const char *value);
int asa_kw_add_u64(struct ldb_message *msg, const char *key,
		   uint64_t n);
/* Add the keywords this samba-asa does not know, as they were. */
int asa_kw_add_other(struct ldb_message *msg,
		     const char * const *other, size_t num);

#endif /* _ASA_PRIVATE_H_ */
