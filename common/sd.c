/*
 * samba-asa: security descriptors and the trust rule (see sd.h).
 *
 * Pure functions: no directory access, so that the rule is unit-tested
 * on crafted descriptors (test/test_sd.c) and fuzzed.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <talloc.h>
#include <util/data_blob.h>
#include <ndr.h>
#include <gen_ndr/security.h>

#include "sd.h"

#define SD_HEADER_LEN		20
#define ACL_HEADER_LEN		8
#define ACE_HEADER_LEN		4
#define SEC_DESC_SELF_RELATIVE_FLAG 0x8000

/* Conditional (callback) ACE types, MS-DTYP 2.4.4.1 */
#define ACE_TYPE_ALLOWED_CALLBACK		0x09
#define ACE_TYPE_DENIED_CALLBACK		0x0A
#define ACE_TYPE_ALLOWED_CALLBACK_OBJECT	0x0B
#define ACE_TYPE_DENIED_CALLBACK_OBJECT		0x0C
#define ACE_TYPE_MAX_KNOWN			0x13

/* schemaIDGUIDs (MS-ADA1..3, MS-ADSC) */
#define GUID_SCP_CLASS		"28630ec1-41d5-11d1-a9c1-0000f80367c1"
static const char * const scp_guarded_attrs[] = {
	"bf967993-0de6-11d0-a285-00aa003049e2",	/* keywords */
	"b7b1311c-b82e-11d0-afee-0000f80367c1",	/* serviceBindingInformation */
	"b7b1311d-b82e-11d0-afee-0000f80367c1",	/* serviceClassName */
	"bf96793f-0de6-11d0-a285-00aa003049e2",	/* cn */
	"bf967a0e-0de6-11d0-a285-00aa003049e2",	/* name (rename) */
	NULL
};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) |
		((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v & 0xff;
	p[1] = v >> 8;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
	p[2] = (v >> 16) & 0xff;
	p[3] = v >> 24;
}

/* A SID at data[0..length-1]; its size in *used. */
static bool sid_pull(const uint8_t *data, size_t length,
		     struct asa_sid *sid, size_t *used)
{
	size_t i, need;

	if (length < 8 || data[0] != 1 || data[1] > 15) {
		return false;
	}
	need = 8 + 4 * (size_t)data[1];
	if (length < need) {
		return false;
	}
	*sid = (struct asa_sid) { .num_auths = data[1] };
	memcpy(sid->id_auth, data + 2, 6);
	for (i = 0; i < sid->num_auths; i++) {
		sid->sub_auths[i] = get32(data + 8 + 4 * i);
	}
	*used = need;
	return true;
}

bool asa_sid_from_blob(const uint8_t *data, size_t length,
		       struct asa_sid *sid)
{
	size_t used = 0;

	return data != NULL && sid_pull(data, length, sid, &used) &&
		used == length;
}

static size_t sid_size(const struct asa_sid *sid)
{
	return 8 + 4 * (size_t)sid->num_auths;
}

static void sid_push(uint8_t *p, const struct asa_sid *sid)
{
	size_t i;

	p[0] = 1;
	p[1] = sid->num_auths;
	memcpy(p + 2, sid->id_auth, 6);
	for (i = 0; i < sid->num_auths; i++) {
		put32(p + 8 + 4 * i, sid->sub_auths[i]);
	}
}

static bool ace_pull(const uint8_t *data, size_t length, struct asa_ace *ace)
{
	size_t size, off, used;
	uint32_t oflags = 0;

	if (length < ACE_HEADER_LEN) {
		return false;
	}
	size = get16(data + 2);
	if (size < ACE_HEADER_LEN + 4 || size > length || size % 4 != 0) {
		return false;
	}
	*ace = (struct asa_ace) {
		.type = data[0],
		.flags = data[1],
		.mask = get32(data + 4),
		.raw = data,
		.raw_length = size,
	};
	off = 8;
	switch (ace->type) {
	case SEC_ACE_TYPE_ACCESS_ALLOWED_OBJECT:
	case SEC_ACE_TYPE_ACCESS_DENIED_OBJECT:
	case SEC_ACE_TYPE_SYSTEM_AUDIT_OBJECT:
	case SEC_ACE_TYPE_SYSTEM_ALARM_OBJECT:
	case ACE_TYPE_ALLOWED_CALLBACK_OBJECT:
	case ACE_TYPE_DENIED_CALLBACK_OBJECT:
		if (size < off + 4) {
			return false;
		}
		oflags = get32(data + off);
		off += 4;
		if (oflags & SEC_ACE_OBJECT_TYPE_PRESENT) {
			if (size < off + 16) {
				return false;
			}
			ace->has_object_type = true;
			memcpy(ace->object_type, data + off, 16);
			off += 16;
		}
		if (oflags & SEC_ACE_INHERITED_OBJECT_TYPE_PRESENT) {
			if (size < off + 16) {
				return false;
			}
			off += 16;
		}
		break;
	default:
		break;
	}
	return sid_pull(data + off, size - off, &ace->sid, &used);
}

int asa_sd_parse(TALLOC_CTX *mem_ctx, const uint8_t *data, size_t length,
		 struct asa_sd **psd)
{
	struct asa_sd *sd = NULL;
	uint32_t off_owner, off_group, off_dacl;
	size_t used, i, pos;

	*psd = NULL;
	if (data == NULL || length < SD_HEADER_LEN || data[0] != 1) {
		return EINVAL;
	}
	sd = talloc_zero(mem_ctx, struct asa_sd);
	if (sd == NULL) {
		return ENOMEM;
	}
	sd->control = get16(data + 2);
	if (!(sd->control & SEC_DESC_SELF_RELATIVE_FLAG)) {
		goto invalid;
	}
	off_owner = get32(data + 4);
	off_group = get32(data + 8);
	off_dacl = get32(data + 16);
	if (off_owner != 0) {
		if (off_owner >= length ||
		    !sid_pull(data + off_owner, length - off_owner,
			      &sd->owner, &used)) {
			goto invalid;
		}
		sd->has_owner = true;
	}
	if (off_group != 0) {
		if (off_group >= length ||
		    !sid_pull(data + off_group, length - off_group,
			      &sd->group, &used)) {
			goto invalid;
		}
		sd->has_group = true;
	}
	if ((sd->control & SEC_DESC_DACL_PRESENT) && off_dacl != 0) {
		const uint8_t *acl = NULL;
		size_t acl_size, count;

		if (off_dacl > length - ACL_HEADER_LEN) {
			goto invalid;
		}
		acl = data + off_dacl;
		acl_size = get16(acl + 2);
		count = get16(acl + 4);
		if (acl_size < ACL_HEADER_LEN ||
		    acl_size > length - off_dacl) {
			goto invalid;
		}
		sd->has_dacl = true;
		sd->dacl_revision = acl[0];
		sd->aces = talloc_zero_array(sd, struct asa_ace, count + 1);
		if (sd->aces == NULL) {
			TALLOC_FREE(sd);
			return ENOMEM;
		}
		pos = ACL_HEADER_LEN;
		for (i = 0; i < count; i++) {
			if (!ace_pull(acl + pos, acl_size - pos,
				      &sd->aces[i])) {
				goto invalid;
			}
			pos += sd->aces[i].raw_length;
		}
		sd->num_aces = count;
	}
	*psd = sd;
	return 0;
invalid:
	TALLOC_FREE(sd);
	return EINVAL;
}

int asa_sd_encode(TALLOC_CTX *mem_ctx, const struct asa_sd *sd,
		  uint8_t **pdata, size_t *plength)
{
	size_t length = SD_HEADER_LEN, acl_size = ACL_HEADER_LEN;
	size_t i, pos, n = 0;
	uint8_t *data = NULL;
	uint16_t control = SEC_DESC_SELF_RELATIVE_FLAG;

	*pdata = NULL;
	*plength = 0;
	if (sd->has_owner) {
		length += sid_size(&sd->owner);
	}
	if (sd->has_dacl) {
		for (i = 0; i < sd->num_aces; i++) {
			if (!sd->aces[i].dropped) {
				acl_size += sd->aces[i].raw_length;
				n++;
			}
		}
		length += acl_size;
		/* keep the DACL's protection and inheritance state */
		control |= SEC_DESC_DACL_PRESENT |
			(sd->control & (SEC_DESC_DACL_AUTO_INHERITED |
					SEC_DESC_DACL_PROTECTED |
					SEC_DESC_DACL_AUTO_INHERIT_REQ));
	}
	if (acl_size > UINT16_MAX) {
		return EINVAL;
	}
	data = talloc_zero_array(mem_ctx, uint8_t, length);
	if (data == NULL) {
		return ENOMEM;
	}
	data[0] = 1;
	put16(data + 2, control);
	pos = SD_HEADER_LEN;
	if (sd->has_owner) {
		put32(data + 4, pos);
		sid_push(data + pos, &sd->owner);
		pos += sid_size(&sd->owner);
	}
	if (sd->has_dacl) {
		put32(data + 16, pos);
		data[pos] = sd->dacl_revision;
		put16(data + pos + 2, acl_size);
		put16(data + pos + 4, n);
		pos += ACL_HEADER_LEN;
		for (i = 0; i < sd->num_aces; i++) {
			const struct asa_ace *ace = &sd->aces[i];

			if (ace->dropped) {
				continue;
			}
			memcpy(data + pos, ace->raw, ace->raw_length);
			put32(data + pos + 4, ace->mask);
			pos += ace->raw_length;
		}
	}
	*pdata = data;
	*plength = length;
	return 0;
}

bool asa_sid_parse(const char *text, struct asa_sid *sid)
{
	const char *p = text;
	char *end = NULL;
	unsigned long long v;

	*sid = (struct asa_sid) { 0 };
	if (text == NULL || strncmp(p, "S-1-", 4) != 0) {
		return false;
	}
	p += 4;
	if (*p < '0' || *p > '9') {
		return false;
	}
	errno = 0;
	v = strtoull(p, &end, 10);
	if (errno != 0 || v > 0xFFFFFFFFFFFFULL) {
		return false;
	}
	sid->id_auth[0] = (v >> 40) & 0xff;
	sid->id_auth[1] = (v >> 32) & 0xff;
	sid->id_auth[2] = (v >> 24) & 0xff;
	sid->id_auth[3] = (v >> 16) & 0xff;
	sid->id_auth[4] = (v >> 8) & 0xff;
	sid->id_auth[5] = v & 0xff;
	p = end;
	while (*p == '-') {
		p++;
		if (sid->num_auths == 15 || *p < '0' || *p > '9') {
			return false;
		}
		errno = 0;
		v = strtoull(p, &end, 10);
		if (errno != 0 || v > UINT32_MAX) {
			return false;
		}
		sid->sub_auths[sid->num_auths++] = (uint32_t)v;
		p = end;
	}
	return *p == '\0';
}

char *asa_sid_string(TALLOC_CTX *mem_ctx, const struct asa_sid *sid)
{
	uint64_t auth = 0;
	char *s = NULL;
	size_t i;

	for (i = 0; i < 6; i++) {
		auth = (auth << 8) | sid->id_auth[i];
	}
	s = talloc_asprintf(mem_ctx, "S-1-%" PRIu64, auth);
	for (i = 0; s != NULL && i < sid->num_auths; i++) {
		s = talloc_asprintf_append(s, "-%" PRIu32, sid->sub_auths[i]);
	}
	return s;
}

bool asa_sid_equal(const struct asa_sid *a, const struct asa_sid *b)
{
	return a->num_auths == b->num_auths &&
		memcmp(a->id_auth, b->id_auth, 6) == 0 &&
		memcmp(a->sub_auths, b->sub_auths,
		       4 * (size_t)a->num_auths) == 0;
}

int64_t asa_sid_rid_in(const struct asa_sid *sid,
		       const struct asa_sid *domain)
{
	if (domain->num_auths == 0 ||
	    sid->num_auths != domain->num_auths + 1 ||
	    memcmp(sid->id_auth, domain->id_auth, 6) != 0 ||
	    memcmp(sid->sub_auths, domain->sub_auths,
		   4 * (size_t)domain->num_auths) != 0) {
		return -1;
	}
	return sid->sub_auths[domain->num_auths];
}

bool asa_guid_parse(const char *text, uint8_t guid[16])
{
	unsigned int v[11];
	int n = 0;
	size_t i;

	if (text == NULL || strlen(text) != 36 ||
	    sscanf(text, "%8x-%4x-%4x-%2x%2x-%2x%2x%2x%2x%2x%2x%n",
		   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7],
		   &v[8], &v[9], &v[10], &n) != 11 || n != 36) {
		return false;
	}
	put32(guid, v[0]);
	put16(guid + 4, v[1]);
	put16(guid + 6, v[2]);
	for (i = 3; i < 11; i++) {
		guid[5 + i] = v[i];
	}
	return true;
}

/* S-1-<auth>-<sub...> with one authority and the given sub-authorities */
static bool sid_is(const struct asa_sid *sid, uint8_t auth, size_t n,
		   uint32_t a0, uint32_t a1)
{
	static const uint8_t zero[5] = { 0 };

	if (sid->num_auths != n || memcmp(sid->id_auth, zero, 5) != 0 ||
	    sid->id_auth[5] != auth) {
		return false;
	}
	return (n < 1 || sid->sub_auths[0] == a0) &&
		(n < 2 || sid->sub_auths[1] == a1);
}

bool asa_trust_sid_trusted(const struct asa_trust_sids *t,
			   const struct asa_sid *sid)
{
	size_t i;
	int64_t rid;

	if (sid_is(sid, 5, 1, 18, 0) ||		/* SYSTEM */
	    sid_is(sid, 5, 1, 9, 0) ||		/* Enterprise DCs */
	    sid_is(sid, 5, 2, 32, 544)) {	/* Administrators */
		return true;
	}
	rid = asa_sid_rid_in(sid, &t->domain);
	if (rid == 512 || rid == 516) {		/* Domain Admins, DCs */
		return true;
	}
	if (asa_sid_rid_in(sid, &t->root_domain) == 519) {
		return true;			/* Enterprise Admins */
	}
	for (i = 0; i < t->num_dcs; i++) {
		if (asa_sid_equal(sid, &t->dcs[i])) {
			return true;
		}
	}
	return false;
}

static bool ace_object_is(const struct asa_ace *ace, const char *guid)
{
	uint8_t g[16];

	return ace->has_object_type && asa_guid_parse(guid, g) &&
		memcmp(ace->object_type, g, 16) == 0;
}

/* The rights of ace that the rule forbids an untrusted holder. */
static uint32_t ace_guarded_rights(const struct asa_ace *ace,
				   enum asa_trust_kind kind)
{
	uint32_t mask = ace->mask;
	uint32_t bad = 0;
	bool object_wide = !ace->has_object_type;
	size_t i;

	if (mask & SEC_GENERIC_ALL) {
		mask |= SEC_ADS_GENERIC_ALL;
	}
	if (mask & SEC_GENERIC_WRITE) {
		mask |= SEC_ADS_GENERIC_WRITE;
	}
	bad |= mask & (SEC_STD_WRITE_DAC | SEC_STD_WRITE_OWNER |
		       SEC_GENERIC_ALL | SEC_GENERIC_WRITE);
	if (kind == ASA_TRUST_ACCOUNT) {
		/* children: of any class, or serviceConnectionPoints */
		if (object_wide || ace_object_is(ace, GUID_SCP_CLASS)) {
			bad |= mask & (SEC_ADS_CREATE_CHILD |
				       SEC_ADS_DELETE_CHILD);
		}
		bad |= mask & SEC_ADS_DELETE_TREE;
		if (object_wide) {
			bad |= mask & SEC_ADS_WRITE_PROP;
		}
		return bad;
	}
	bad |= mask & (SEC_STD_DELETE | SEC_ADS_DELETE_TREE);
	if (mask & SEC_ADS_WRITE_PROP) {
		if (object_wide) {
			bad |= SEC_ADS_WRITE_PROP;
		}
		for (i = 0; !object_wide && scp_guarded_attrs[i] != NULL;
		     i++) {
			if (ace_object_is(ace, scp_guarded_attrs[i])) {
				bad |= SEC_ADS_WRITE_PROP;
			}
		}
	}
	return bad;
}

static const char *rights_text(uint32_t bad)
{
	if (bad & (SEC_GENERIC_ALL | SEC_STD_WRITE_DAC)) {
		return "can change its permissions";
	}
	if (bad & SEC_STD_WRITE_OWNER) {
		return "can take ownership of it";
	}
	if (bad & SEC_ADS_CREATE_CHILD) {
		return "can create samba-asa objects under it";
	}
	if (bad & (SEC_ADS_DELETE_CHILD | SEC_ADS_DELETE_TREE |
		   SEC_STD_DELETE)) {
		return "can delete objects there";
	}
	return "can write it";
}

/* ACEs a principal other than the trustee holds: on whom they act. */
enum ace_subject {
	ACE_SUBJECT_NOBODY,	/* inert here (CREATOR OWNER, ...) */
	ACE_SUBJECT_SID,	/* ace->sid */
	ACE_SUBJECT_SELF,	/* the object's own SID */
};

static enum ace_subject ace_subject(const struct asa_ace *ace,
				    enum asa_trust_kind kind)
{
	/* CREATOR OWNER and CREATOR GROUP only take effect when
	 * inherited; OWNER RIGHTS restricts the owner, checked apart */
	if (sid_is(&ace->sid, 3, 1, 0, 0) || sid_is(&ace->sid, 3, 1, 1, 0) ||
	    sid_is(&ace->sid, 3, 1, 4, 0)) {
		return ACE_SUBJECT_NOBODY;
	}
	if (sid_is(&ace->sid, 5, 1, 10, 0)) {
		/* PRINCIPAL SELF: a serviceConnectionPoint has no SID */
		return kind == ASA_TRUST_ACCOUNT ? ACE_SUBJECT_SELF :
			ACE_SUBJECT_NOBODY;
	}
	return ACE_SUBJECT_SID;
}

static bool ace_grants(const struct asa_ace *ace)
{
	if (ace->flags & SEC_ACE_FLAG_INHERIT_ONLY) {
		return false;
	}
	switch (ace->type) {
	case SEC_ACE_TYPE_ACCESS_ALLOWED:
	case SEC_ACE_TYPE_ACCESS_ALLOWED_OBJECT:
	case ACE_TYPE_ALLOWED_CALLBACK:
	case ACE_TYPE_ALLOWED_CALLBACK_OBJECT:
	case SEC_ACE_TYPE_ALLOWED_COMPOUND:
		return true;
	default:
		return false;
	}
}

/* Whether the holder of ace is untrusted; *who names it. */
static bool ace_untrusted(TALLOC_CTX *mem_ctx,
			  const struct asa_trust_sids *trusted,
			  const struct asa_ace *ace,
			  enum asa_trust_kind kind,
			  const struct asa_sid *self,
			  char **who)
{
	*who = NULL;
	switch (ace_subject(ace, kind)) {
	case ACE_SUBJECT_NOBODY:
		return false;
	case ACE_SUBJECT_SELF:
		if (self != NULL && asa_trust_sid_trusted(trusted, self)) {
			return false;
		}
		*who = talloc_asprintf(mem_ctx, "the account itself (SELF%s%s)",
			self != NULL ? ", " : "",
			self != NULL ? asa_sid_string(mem_ctx, self) : "");
		return true;
	case ACE_SUBJECT_SID:
		if (asa_trust_sid_trusted(trusted, &ace->sid)) {
			return false;
		}
		*who = asa_sid_string(mem_ctx, &ace->sid);
		return true;
	}
	return false;
}

char *asa_trust_check_sd(TALLOC_CTX *mem_ctx,
			 const struct asa_trust_sids *trusted,
			 const struct asa_sd *sd,
			 enum asa_trust_kind kind,
			 const struct asa_sid *self)
{
	size_t i;

	if (sd == NULL || !sd->has_owner) {
		return talloc_strdup(mem_ctx, "its owner cannot be read");
	}
	if (!asa_trust_sid_trusted(trusted, &sd->owner)) {
		return talloc_asprintf(mem_ctx, "it is owned by %s, not by "
				       "an administrator",
				       asa_sid_string(mem_ctx, &sd->owner));
	}
	if (!sd->has_dacl) {
		return talloc_strdup(mem_ctx, "it has no access control list "
				     "(everyone may change it)");
	}
	for (i = 0; i < sd->num_aces; i++) {
		const struct asa_ace *ace = &sd->aces[i];
		uint32_t bad;
		char *who = NULL;

		if (ace->type > ACE_TYPE_MAX_KNOWN) {
			return talloc_asprintf(mem_ctx, "its access control "
					       "list holds an entry of unknown "
					       "type %u", ace->type);
		}
		if (!ace_grants(ace)) {
			continue;
		}
		bad = ace_guarded_rights(ace, kind);
		if (bad == 0 ||
		    !ace_untrusted(mem_ctx, trusted, ace, kind, self, &who)) {
			continue;
		}
		return talloc_asprintf(mem_ctx, "%s %s%s", who,
				       rights_text(bad),
				       (ace->flags & SEC_ACE_FLAG_INHERITED_ACE)
				       ? " (inherited from a parent)" : "");
	}
	return NULL;
}

int asa_trust_strip_sd(struct asa_sd *sd,
		       const struct asa_trust_sids *trusted,
		       enum asa_trust_kind kind,
		       const struct asa_sid *self,
		       const struct asa_sid *owner,
		       bool *changed)
{
	TALLOC_CTX *frame = talloc_new(NULL);
	size_t i;

	*changed = false;
	if (frame == NULL) {
		return ENOMEM;
	}
	if (!sd->has_owner || !asa_trust_sid_trusted(trusted, &sd->owner)) {
		sd->owner = *owner;
		sd->has_owner = true;
		*changed = true;
	}
	for (i = 0; sd->has_dacl && i < sd->num_aces; i++) {
		struct asa_ace *ace = &sd->aces[i];
		uint32_t bad;
		char *who = NULL;

		if (ace->flags & SEC_ACE_FLAG_INHERITED_ACE ||
		    !ace_grants(ace)) {
			continue;
		}
		bad = ace_guarded_rights(ace, kind);
		if (bad == 0 ||
		    !ace_untrusted(frame, trusted, ace, kind, self, &who)) {
			continue;
		}
		if (ace->mask & SEC_GENERIC_ALL) {
			ace->mask = (ace->mask & ~SEC_GENERIC_ALL) |
				SEC_ADS_GENERIC_ALL;
		}
		if (ace->mask & SEC_GENERIC_WRITE) {
			ace->mask = (ace->mask & ~SEC_GENERIC_WRITE) |
				SEC_ADS_GENERIC_WRITE;
		}
		ace->mask &= ~bad;
		/* what a mapped generic right added may be guarded too */
		ace->mask &= ~ace_guarded_rights(ace, kind);
		if (ace->mask == 0) {
			ace->dropped = true;
		}
		*changed = true;
	}
	TALLOC_FREE(frame);
	return 0;
}
