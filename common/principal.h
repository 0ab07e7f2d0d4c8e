/*
 * samba-asa: principal names (SPN, UPN) as the directory compares them.
 *
 * Windows treats two principal names as the same when they compare equal
 * ignoring case, non-spacing marks, kana type and width (CompareString
 * with NORM_IGNORECASE | NORM_IGNORENONSPACE | NORM_IGNOREKANATYPE |
 * NORM_IGNOREWIDTH).  The directory's own index only case-folds, so it
 * cannot find such an equivalent value; everything that needs to (the
 * unique_principal_names module, `samba-asa spn audit`) compares the keys
 * made here instead: two values are equivalent exactly when their keys are
 * byte-for-byte equal.
 */
#ifndef _ASA_PRINCIPAL_H_
#define _ASA_PRINCIPAL_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <talloc.h>

/* Longest value we accept (bytes); see asa_spn_parse(). */
#define ASA_PRINCIPAL_MAX_LENGTH 1024

enum asa_name_error {
	ASA_NAME_OK = 0,
	ASA_NAME_EMPTY,		  /* zero-length value */
	ASA_NAME_TOO_FEW_PARTS,	  /* SPN without a '/' */
	ASA_NAME_TOO_MANY_PARTS,  /* SPN with more than three parts */
	ASA_NAME_TOO_LONG,	  /* over ASA_PRINCIPAL_MAX_LENGTH */
	ASA_NAME_NO_MEMORY,
	ASA_NAME_ALL_PARTS_EMPTY, /* SPN "/" or "//": nothing in any part */
};

/*
 * An SPN split on the ASCII '/' (backslashes do not escape it, as on
 * Windows): serviceclass/instance[/servicename].  Parts may be empty.
 */
struct asa_spn {
	const char *service_class;
	const char *instance;
	const char *service_name; /* NULL for a two-part SPN */
	unsigned int num_parts;	  /* 2 or 3 */
};

const char *asa_name_strerror(enum asa_name_error err);

enum asa_name_error asa_spn_parse(TALLOC_CTX *mem_ctx,
				  const uint8_t *data,
				  size_t length,
				  struct asa_spn **spn);

/* Comparison key of one SPN, optionally with another service class
 * (for the sPNMappings aliases of "host"). */
enum asa_name_error asa_spn_key(TALLOC_CTX *mem_ctx,
				const struct asa_spn *spn,
				const char *service_class,
				uint8_t **key,
				size_t *key_length);

/*
 * The key of the same SPN with another service class, made from the key
 * asa_spn_key() gave (its first part replaced): what an alias ("cifs/x"
 * for "host/x") or a projection ("http/x" as "host/x") compares as,
 * without keying the instance again.
 */
enum asa_name_error asa_spn_key_with_class(TALLOC_CTX *mem_ctx,
					   const uint8_t *key,
					   size_t key_length,
					   const char *service_class,
					   uint8_t **out,
					   size_t *out_length);

/* Comparison key of one userPrincipalName value: its parts split on the
 * ASCII '@' (the wide or small commercial at is no separator). */
enum asa_name_error asa_upn_key(TALLOC_CTX *mem_ctx,
				const uint8_t *data,
				size_t length,
				uint8_t **key,
				size_t *key_length);

/*
 * Comparison key of any value whose parts are separated by one ASCII
 * byte; also the key of an SPN that asa_spn_parse() refuses (by '/').
 * Values end at their first NUL byte, as in Windows.
 */
enum asa_name_error asa_name_key(TALLOC_CTX *mem_ctx,
				 const uint8_t *data,
				 size_t length,
				 char separator,
				 uint8_t **key,
				 size_t *key_length);

/*
 * The value Windows stores for what a client sent: text up to the first
 * NUL byte, with every byte sequence that is not UTF-8 replaced by U+FFFD
 * (as MultiByteToWideChar does).  *changed says whether *out differs from
 * the input; *out is a talloc copy either way (not NUL-terminated; its
 * length is *out_length).
 */
enum asa_name_error asa_name_sanitize(TALLOC_CTX *mem_ctx,
				      const uint8_t *data,
				      size_t length,
				      uint8_t **out,
				      size_t *out_length,
				      bool *changed);

/* Release the collator (for leak checkers; keys work again afterwards). */
void asa_principal_cleanup(void);

/*
 * The version of the collation the keys come from (ICU's collator
 * version: it changes when a new ICU sorts some characters differently,
 * e.g. ICU 72 on Debian 12 and 76 on Debian 13), so that stored keys can
 * be recognised as stale; 0 when the collator cannot be opened.
 */
uint32_t asa_principal_key_version(void);

/*
 * sPNMappings ("host=alerter,http,cifs,...") as a lookup table: which
 * service classes are aliases of which canonical class.
 */
struct asa_spn_mappings;

struct asa_spn_mappings *asa_spn_mappings_parse(TALLOC_CTX *mem_ctx,
						const char * const *values,
						size_t num_values);
/* The canonical class ("host") that service_class is an alias of, or
 * NULL when it is no alias. */
const char *asa_spn_mappings_canonical(const struct asa_spn_mappings *m,
				       const char *service_class);
/* The aliases of a canonical class, NULL-terminated (empty if none). */
const char * const *asa_spn_mappings_aliases(const struct asa_spn_mappings *m,
					     const char *canonical);

#endif /* _ASA_PRINCIPAL_H_ */
