/*
 * unique_principal_names: the key index, "who holds a value with this
 * comparison key", kept beside sam.ldb (upn_index.c).
 *
 * Copyright (C) samba-asa authors 2026
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 */

#ifndef UPN_INDEX_H
#define UPN_INDEX_H

#include "unique_principal_names.h"

#pragma GCC visibility push(hidden)

#define UPN_INDEX_FILE "unique_principal_names.mdb"

/*
 * Open the index for this transaction and make it current: rebuild it
 * when it is new, of another format or of another database, catch up
 * with changes it did not see.  *available is false when it cannot be
 * opened (the caller falls back to directory searches; logged); an
 * error fails the request.
 */
int upn_index_current(struct ldb_module *module,
		      struct ldb_request *parent,
		      bool *available);

/*
 * The objectGUIDs (16 bytes each, *len bytes in all, on mem_ctx) the
 * index lists for an entry's key; *available as above.
 */
int upn_index_holders(struct ldb_module *module,
		      TALLOC_CTX *mem_ctx,
		      struct ldb_request *parent,
		      const struct upn_entry *e,
		      bool *available,
		      uint8_t **guids,
		      size_t *len);

/* Insert or replace (num 0: delete) the keys an object holds. */
int upn_index_set_owner(struct ldb_module *module,
			const struct ldb_val *guid,
			const struct upn_entry *keys,
			size_t num);

/* The same, from an object read from the directory. */
int upn_index_set_from_msg(struct ldb_module *module,
			   const struct ldb_message *msg);

/*
 * The count of dSHeuristics / sPNMappings changes the index recorded
 * (0 when none); *available as above.
 */
int upn_index_config_gen(struct ldb_module *module,
			 struct ldb_request *parent,
			 bool *available,
			 uint64_t *gen);

/* Record how far the index is current, before sam.ldb commits. */
int upn_index_prepare_commit(struct ldb_module *module);

/* Commit (after sam.ldb committed) or cancel the index's transaction. */
void upn_index_finish(struct upn_private *p, bool commit);

#pragma GCC visibility pop

#endif
