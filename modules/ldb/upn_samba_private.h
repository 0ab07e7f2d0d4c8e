/*
 * unique_principal_names: what a module built outside Samba's tree has to
 * carry itself (upn_samba_private.c).  Samba's own modules get these from
 * source4/dsdb (samdb.h, ldb_modules/util.c) and librpc's GUID_string(),
 * which are private to Samba: not installed, not exported to modules
 * built against the installed headers.  Each is kept to what this module
 * needs.
 *
 * Copyright (C) samba-asa authors 2026
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 */

#ifndef UPN_SAMBA_PRIVATE_H
#define UPN_SAMBA_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>
#include <talloc.h>
#include <ldb_module.h>

#pragma GCC visibility push(hidden)

/* Private to Samba (source4/dsdb/samdb/samdb.h), stable in 4.17. */
#define DSDB_CONTROL_REPLICATED_UPDATE_OID "1.3.6.1.4.1.7165.4.3.3"
#define DSDB_EXTENDED_REPLICATED_OBJECTS_OID "1.3.6.1.4.1.7165.4.4.1"

/* GUID_string(): an objectGUID (16 bytes) as text. */
char *upn_guid_string(TALLOC_CTX *mem_ctx, const uint8_t *g);

/* samdb_result_guid(): a message's objectGUID, if it has one. */
bool upn_msg_guid(const struct ldb_message *msg, struct ldb_val *guid);

/*
 * dsdb_module_search() with DSDB_FLAG_NEXT_MODULE | DSDB_FLAG_AS_SYSTEM
 * (| DSDB_SEARCH_SEARCH_ALL_PARTITIONS, | DSDB_SEARCH_SHOW_RECYCLED):
 * a trusted search below this module.  upn_build_search() builds it for
 * a callback of the caller's; upn_search() waits for the whole result
 * (filter: printf-style, or NULL for every object).
 */
int upn_build_search(struct ldb_module *module,
		     TALLOC_CTX *mem_ctx,
		     struct ldb_request *parent,
		     struct ldb_dn *base,
		     enum ldb_scope scope,
		     const char *filter,
		     const char * const *attrs,
		     bool all_partitions,
		     bool show_deleted,
		     void *context,
		     ldb_request_callback_t callback,
		     struct ldb_request **_req);
int upn_search(struct ldb_module *module,
	       TALLOC_CTX *mem_ctx,
	       struct ldb_request *parent,
	       struct ldb_dn *base,
	       enum ldb_scope scope,
	       const char * const *attrs,
	       bool all_partitions,
	       bool show_deleted,
	       struct ldb_result **_res,
	       const char *fmt, ...) PRINTF_ATTRIBUTE(10, 11);

/*
 * The database's highest sequence number (uSNs come from it), asked of
 * the modules below, as Samba's modules do through dsdb's private
 * helpers (ldb's ldb_sequence_number() starts at the top of the stack).
 */
int upn_db_seq(struct ldb_module *module,
	       struct ldb_request *parent,
	       uint64_t *seq);

#pragma GCC visibility pop

#endif
