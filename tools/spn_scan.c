/*
 * samba-asa: one fetch of every servicePrincipalName in the forest, keyed
 * with principal.h, sorted; lookups are binary searches and the audit is
 * one pass over runs of equal keys.
 *
 * Why fetch everything: the directory's index only case-folds, so no LDAP
 * filter finds a Windows-equivalent value ("cīfs/x" for "cifs/x").  One
 * paged search returning only servicePrincipalName is cheap enough (100k
 * values well under the 3 s the audit may take), and query, add and
 * audit then share one definition of "the same SPN".
 *
 * sPNMappings: a value of an alias class ("http/x") is also keyed as its
 * canonical class ("host/x"): that projected key meets the key of a held
 * "host/x".  Following the uniqueness module's rule, adding host/x
 * conflicts with http/x held elsewhere; adding http/x while host/x is
 * held elsewhere is allowed.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <talloc.h>
#include <ldb.h>

#include "cli.h"
#include "spn.h"

struct spn_key {
	const uint8_t *key;
	size_t length;
	struct ldb_message *holder;
	const char *value;
	/* the key of an alias value ("http/x") as its canonical class */
	bool projected;
};

struct spn_scan {
	struct ldb_result *res;
	struct asa_spn_mappings *mappings;
	struct spn_key *keys;
	size_t num_keys;
	size_t num_values;
};

static int key_cmp(const uint8_t *a, size_t alen,
		   const uint8_t *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c != 0) {
		return c;
	}
	if (alen == blen) {
		return 0;
	}
	return alen < blen ? -1 : 1;
}

static int spn_key_sort(const void *pa, const void *pb)
{
	const struct spn_key *a = pa;
	const struct spn_key *b = pb;

	return key_cmp(a->key, a->length, b->key, b->length);
}

static int read_mappings(TALLOC_CTX *mem_ctx,
			 struct asa_dir *dir,
			 struct asa_spn_mappings **mappings)
{
	static const char * const attrs[] = { "sPNMappings", NULL };
	TALLOC_CTX *frame = talloc_stackframe();
	const struct asa_dir_rootdse *r = asa_dir_rootdse(dir);
	struct ldb_result *res = NULL;
	struct ldb_message_element *el = NULL;
	struct ldb_dn *dn = NULL;
	const char **values = NULL;
	unsigned int i;
	int ret;

	*mappings = NULL;
	dn = ldb_dn_copy(frame, r->config_nc);
	if (dn == NULL ||
	    !ldb_dn_add_child_fmt(dn, "CN=Directory Service,CN=Windows NT,"
				  "CN=Services")) {
		ret = LDB_ERR_OPERATIONS_ERROR;
		goto done;
	}
	ret = asa_dir_search(dir, frame, &res, dn, LDB_SCOPE_BASE, attrs, 0,
			     "(objectClass=*)");
	if (ret == LDB_ERR_NO_SUCH_OBJECT) {
		/* no mappings: no aliases */
		ret = LDB_SUCCESS;
		goto done;
	}
	if (ret != LDB_SUCCESS) {
		goto done;
	}
	el = res->count == 1 ?
		ldb_msg_find_element(res->msgs[0], "sPNMappings") : NULL;
	if (el == NULL) {
		goto done;
	}
	values = talloc_array(frame, const char *, el->num_values);
	if (values == NULL) {
		ret = LDB_ERR_OPERATIONS_ERROR;
		goto done;
	}
	for (i = 0; i < el->num_values; i++) {
		values[i] = (const char *)el->values[i].data;
	}
	*mappings = asa_spn_mappings_parse(mem_ctx, values, el->num_values);
	if (*mappings == NULL) {
		ret = LDB_ERR_OPERATIONS_ERROR;
	}
done:
	TALLOC_FREE(frame);
	return ret;
}

static bool add_key(struct spn_scan *scan, size_t *allocated,
		    uint8_t *key, size_t length,
		    struct ldb_message *holder, const char *value,
		    bool projected)
{
	struct spn_key *k = NULL;

	if (scan->num_keys == *allocated) {
		size_t n = *allocated * 2 + 1024;

		k = talloc_realloc(scan, scan->keys, struct spn_key, n);
		if (k == NULL) {
			return false;
		}
		scan->keys = k;
		*allocated = n;
	}
	k = &scan->keys[scan->num_keys++];
	k->key = key;
	k->length = length;
	k->holder = holder;
	k->value = value;
	k->projected = projected;
	return true;
}

/* Key one stored value (and its projection as the canonical class). */
static bool key_value(struct spn_scan *scan, size_t *allocated,
		      struct ldb_message *holder,
		      const struct ldb_val *v)
{
	TALLOC_CTX *frame = talloc_stackframe();
	struct asa_spn *spn = NULL;
	uint8_t *key = NULL;
	size_t length = 0;
	const char *canonical = NULL;
	enum asa_name_error err;
	bool ok = false;

	err = asa_spn_parse(frame, v->data, v->length, &spn);
	if (err == ASA_NAME_OK) {
		err = asa_spn_key(scan->keys, spn, NULL, &key, &length);
	} else {
		/* a malformed stored value still has an identity */
		err = asa_name_key(scan->keys, v->data, v->length, '/',
				   &key, &length);
		spn = NULL;
	}
	if (err != ASA_NAME_OK) {
		/* empty or unkeyable values clash with nothing */
		ok = (err != ASA_NAME_NO_MEMORY);
		goto done;
	}
	if (!add_key(scan, allocated, key, length, holder,
		     (const char *)v->data, false)) {
		goto done;
	}
	if (spn != NULL) {
		canonical = asa_spn_mappings_canonical(scan->mappings,
						       spn->service_class);
	}
	if (canonical != NULL) {
		uint8_t *projected = NULL;
		size_t projected_length = 0;

		err = asa_spn_key_with_class(scan->keys, key, length,
					     canonical, &projected,
					     &projected_length);
		if (err != ASA_NAME_OK ||
		    !add_key(scan, allocated, projected, projected_length,
			     holder, (const char *)v->data, true)) {
			goto done;
		}
	}
	ok = true;
done:
	TALLOC_FREE(frame);
	return ok;
}

int spn_scan_load(TALLOC_CTX *mem_ctx, struct asa_dir *dir,
		  struct spn_scan **scanp)
{
	static const char * const attrs[] = {
		"servicePrincipalName", "sAMAccountName", NULL
	};
	struct spn_scan *scan = NULL;
	size_t allocated = 0;
	unsigned int i, j;
	int ret;

	*scanp = NULL;
	scan = talloc_zero(mem_ctx, struct spn_scan);
	if (scan == NULL) {
		return LDB_ERR_OPERATIONS_ERROR;
	}
	ret = read_mappings(scan, dir, &scan->mappings);
	if (ret != LDB_SUCCESS) {
		goto fail;
	}
	ret = asa_dir_search(dir, scan, &scan->res, NULL, LDB_SCOPE_SUBTREE,
			     attrs, ASA_DIR_SEARCH_ALL_NCS,
			     "(servicePrincipalName=*)");
	if (ret != LDB_SUCCESS) {
		goto fail;
	}
	scan->keys = talloc_array(scan, struct spn_key, 1024);
	if (scan->keys == NULL) {
		ret = LDB_ERR_OPERATIONS_ERROR;
		goto fail;
	}
	allocated = 1024;
	for (i = 0; i < scan->res->count; i++) {
		struct ldb_message *msg = scan->res->msgs[i];
		struct ldb_message_element *el = NULL;

		el = ldb_msg_find_element(msg, "servicePrincipalName");
		if (el == NULL) {
			continue;
		}
		for (j = 0; j < el->num_values; j++) {
			if (!key_value(scan, &allocated, msg,
				       &el->values[j])) {
				ret = LDB_ERR_OPERATIONS_ERROR;
				goto fail;
			}
			scan->num_values++;
		}
	}
	qsort(scan->keys, scan->num_keys, sizeof(scan->keys[0]),
	      spn_key_sort);
	*scanp = scan;
	return LDB_SUCCESS;
fail:
	TALLOC_FREE(scan);
	return ret;
}

size_t spn_scan_num_values(const struct spn_scan *scan)
{
	return scan->num_values;
}

size_t spn_scan_num_holders(const struct spn_scan *scan)
{
	return scan->res->count;
}

const struct asa_spn_mappings *spn_scan_mappings(const struct spn_scan *scan)
{
	return scan->mappings;
}

const char *spn_match_kind_name(enum spn_match_kind kind)
{
	switch (kind) {
	case SPN_MATCH_EXACT:
		return "exact";
	case SPN_MATCH_EQUIVALENT:
		return "equivalent";
	case SPN_MATCH_ALIAS:
		return "alias";
	}
	return "unknown";
}

/* The first key equal to (key, length), or num_keys. */
static size_t lower_bound(const struct spn_scan *scan,
			  const uint8_t *key, size_t length)
{
	size_t lo = 0, hi = scan->num_keys;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (key_cmp(scan->keys[mid].key, scan->keys[mid].length,
			    key, length) < 0) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return lo;
}

/* Whether scan has a key at i, and that key is key. */
static bool key_at(const struct spn_scan *scan, size_t i,
		   const uint8_t *key, size_t length)
{
	return i < scan->num_keys &&
	       key_cmp(scan->keys[i].key, scan->keys[i].length,
		       key, length) == 0;
}

/* The match of kind that k, a stored value and its holder, makes. */
static struct spn_match key_match(enum spn_match_kind kind,
				  const struct spn_key *k, bool conflicts)
{
	return (struct spn_match) {
		.kind = kind,
		.value = k->value,
		.holder = k->holder,
		.conflicts = conflicts,
	};
}

static bool add_match(TALLOC_CTX *mem_ctx, struct spn_match **matches,
		      size_t *num, enum spn_match_kind kind,
		      const struct spn_key *k, bool conflicts)
{
	struct spn_match *m = talloc_realloc(mem_ctx, *matches,
					     struct spn_match, *num + 1);
	if (m == NULL) {
		return false;
	}
	m[*num] = key_match(kind, k, conflicts);
	*matches = m;
	(*num)++;
	return true;
}

int spn_scan_lookup(TALLOC_CTX *mem_ctx,
		    const struct spn_scan *scan,
		    const char *value,
		    const struct asa_spn *spn,
		    struct spn_match **matches,
		    size_t *num_matches)
{
	TALLOC_CTX *frame = talloc_stackframe();
	const char *canonical = NULL;
	uint8_t *key = NULL;
	size_t length = 0;
	size_t i;
	int ret = LDB_ERR_OPERATIONS_ERROR;

	*matches = NULL;
	*num_matches = 0;

	if (asa_spn_key(frame, spn, NULL, &key, &length) != ASA_NAME_OK) {
		goto done;
	}
	for (i = lower_bound(scan, key, length);
	     key_at(scan, i, key, length);
	     i++) {
		const struct spn_key *k = &scan->keys[i];
		enum spn_match_kind kind;

		if (k->projected) {
			/* http/x held, we look up host/x */
			kind = SPN_MATCH_ALIAS;
		} else if (strcasecmp(k->value, value) == 0) {
			kind = SPN_MATCH_EXACT;
		} else {
			kind = SPN_MATCH_EQUIVALENT;
		}
		if (!add_match(mem_ctx, matches, num_matches, kind, k, true)) {
			goto done;
		}
	}

	canonical = asa_spn_mappings_canonical(scan->mappings,
					       spn->service_class);
	if (canonical != NULL) {
		/* we look up http/x: who holds host/x? (no conflict) */
		uint8_t *value_key = key;

		if (asa_spn_key_with_class(frame, value_key, length,
					   canonical, &key, &length) !=
		    ASA_NAME_OK) {
			goto done;
		}
		TALLOC_FREE(value_key);
		for (i = lower_bound(scan, key, length);
		     key_at(scan, i, key, length);
		     i++) {
			const struct spn_key *k = &scan->keys[i];

			if (k->projected) {
				continue;
			}
			if (!add_match(mem_ctx, matches, num_matches,
				       SPN_MATCH_ALIAS, k, false)) {
				goto done;
			}
		}
	}
	ret = LDB_SUCCESS;
done:
	if (ret != LDB_SUCCESS) {
		TALLOC_FREE(*matches);
		*num_matches = 0;
	}
	TALLOC_FREE(frame);
	return ret;
}

static bool same_holder(const struct spn_key *a, const struct spn_key *b)
{
	return a->holder == b->holder;
}

static bool add_group(TALLOC_CTX *mem_ctx, struct spn_group **groups,
		      size_t *num, enum spn_match_kind kind,
		      const struct spn_key *run, size_t run_length,
		      bool projected)
{
	struct spn_group *g = NULL;
	size_t i;

	g = talloc_realloc(mem_ctx, *groups, struct spn_group, *num + 1);
	if (g == NULL) {
		return false;
	}
	*groups = g;
	g = &g[*num];
	*g = (struct spn_group) { .kind = kind };
	g->members = talloc_array(*groups, struct spn_match, run_length);
	if (g->members == NULL) {
		return false;
	}
	/*
	 * Plain values first (in an alias group: the host/x holders), then,
	 * for an alias group, the alias values (http/x).
	 */
	for (i = 0; i < run_length; i++) {
		const struct spn_key *k = &run[i];

		if (k->projected) {
			continue;
		}
		g->members[g->num_members++] = key_match(
			projected ? SPN_MATCH_EXACT : kind, k, true);
	}
	for (i = 0; projected && i < run_length; i++) {
		const struct spn_key *k = &run[i];

		if (!k->projected) {
			continue;
		}
		g->members[g->num_members++] = key_match(SPN_MATCH_ALIAS, k,
							 true);
	}
	(*num)++;
	return true;
}

int spn_scan_audit(TALLOC_CTX *mem_ctx,
		   const struct spn_scan *scan,
		   struct spn_group **groups,
		   size_t *num_groups)
{
	size_t start = 0;

	*groups = NULL;
	*num_groups = 0;

	while (start < scan->num_keys) {
		const struct spn_key *run = &scan->keys[start];
		size_t n = 1, i, j;
		bool plain_dup = false, alias_dup = false, exact = true;
		const struct spn_key *first_plain = NULL;

		while (start + n < scan->num_keys &&
		       key_cmp(run[n].key, run[n].length,
			       run[0].key, run[0].length) == 0) {
			n++;
		}
		for (i = 0; i < n; i++) {
			if (run[i].projected) {
				continue;
			}
			if (first_plain == NULL) {
				first_plain = &run[i];
				continue;
			}
			if (!same_holder(first_plain, &run[i])) {
				plain_dup = true;
			}
			if (strcasecmp(first_plain->value, run[i].value) != 0) {
				exact = false;
			}
		}
		/* host/x on one account, http/x on another */
		for (i = 0; i < n && !alias_dup; i++) {
			if (run[i].projected) {
				continue;
			}
			for (j = 0; j < n; j++) {
				if (run[j].projected &&
				    !same_holder(&run[i], &run[j])) {
					alias_dup = true;
					break;
				}
			}
		}
		if (plain_dup &&
		    !add_group(mem_ctx, groups, num_groups,
			       exact ? SPN_MATCH_EXACT : SPN_MATCH_EQUIVALENT,
			       run, n, false)) {
			goto nomem;
		}
		if (alias_dup &&
		    !add_group(mem_ctx, groups, num_groups, SPN_MATCH_ALIAS,
			       run, n, true)) {
			goto nomem;
		}
		start += n;
	}
	return LDB_SUCCESS;
nomem:
	TALLOC_FREE(*groups);
	*num_groups = 0;
	return LDB_ERR_OPERATIONS_ERROR;
}

bool spn_parse_arg(TALLOC_CTX *mem_ctx, const char *arg,
		   struct asa_spn **spn)
{
	enum asa_name_error err;

	err = asa_spn_parse(mem_ctx, (const uint8_t *)arg, strlen(arg), spn);
	if (err != ASA_NAME_OK) {
		cli_error("'%s' is not a valid SPN: %s", arg,
			  asa_name_strerror(err));
		return false;
	}
	return true;
}
