/*
 * samba-asa: every servicePrincipalName in the forest, keyed for
 * comparison the way Windows compares them (principal.h), so that one
 * fetch answers "who holds this SPN?" and "which SPNs are held twice?".
 */
#ifndef _ASA_SPN_H_
#define _ASA_SPN_H_

#include <stdbool.h>
#include <stddef.h>
#include <talloc.h>
#include <ldb.h>

#include "dir.h"
#include "principal.h"

enum spn_match_kind {
	SPN_MATCH_EXACT,	/* the same value, ignoring case */
	SPN_MATCH_EQUIVALENT,	/* equal as Windows compares (Unicode) */
	SPN_MATCH_ALIAS,	/* alias of the other's class (sPNMappings) */
};

struct spn_match {
	enum spn_match_kind kind;
	const char *value;		/* as stored */
	struct ldb_message *holder;	/* dn, sAMAccountName */
	/* would adding the looked-up SPN elsewhere clash with this? */
	bool conflicts;
};

struct spn_group {
	enum spn_match_kind kind;
	size_t num_members;
	struct spn_match *members;
};

struct spn_scan;

/*
 * Fetch every servicePrincipalName of every naming context and
 * sPNMappings; returns an LDB code (text in asa_dir_errstring()).
 */
int spn_scan_load(TALLOC_CTX *mem_ctx, struct asa_dir *dir,
		  struct spn_scan **scan);

size_t spn_scan_num_values(const struct spn_scan *scan);
size_t spn_scan_num_holders(const struct spn_scan *scan);
const struct asa_spn_mappings *spn_scan_mappings(const struct spn_scan *scan);

/*
 * Every stored value that matches spn: the same key (exact or
 * equivalent); if spn is a canonical class ("host/x"), the values of an
 * alias class with the same rest ("http/x"), which conflict; if spn is of
 * an alias class, the canonical holders, which do not conflict (adding
 * http/x is allowed while host/x is held elsewhere).
 */
int spn_scan_lookup(TALLOC_CTX *mem_ctx,
		    const struct spn_scan *scan,
		    const char *value,
		    const struct asa_spn *spn,
		    struct spn_match **matches,
		    size_t *num_matches);

/* Every group of different accounts that share an SPN. */
int spn_scan_audit(TALLOC_CTX *mem_ctx,
		   const struct spn_scan *scan,
		   struct spn_group **groups,
		   size_t *num_groups);

const char *spn_match_kind_name(enum spn_match_kind kind);

/* Parse an SPN given by a user; prints why not on failure. */
bool spn_parse_arg(TALLOC_CTX *mem_ctx, const char *arg,
		   struct asa_spn **spn);

#endif /* _ASA_SPN_H_ */
