/*
 * samba-asa: who may change a directory object, read from its security
 * descriptor (nTSecurityDescriptor), and the trust rule built on it.
 *
 * samba-asa acts on an ASA marker (CN=samba-asa under a computer) or a
 * member record (CN=<member> under the ASA) only if nothing but the
 * domain's administrators and its DCs can write it, create or delete it,
 * or create or delete objects of its kind under its parent.  Anything
 * else could plant a record that makes root on the DC reset a password or
 * hand the ASA's keys to a URL of its choosing.
 *
 * Trusted: SYSTEM (S-1-5-18), BUILTIN\Administrators (S-1-5-32-544),
 * Enterprise Domain Controllers (S-1-5-9), Domain Admins (-512), Domain
 * Controllers (-516), Enterprise Admins (-519 of the forest root domain)
 * and the DCs' own accounts.  Every other SID, the object itself (SELF,
 * S-1-5-10) included, is untrusted.
 *
 * The descriptor is parsed here from its self-relative form (MS-DTYP
 * 2.4.6): Samba's parser lives only in a private library whose symbols
 * carry the exact Samba build, and linking samba-asa to it would stop the
 * program (and every scheduled roll) at each Samba update.  The public
 * samba-dev header gives the constants.
 */
#ifndef _ASA_SD_H_
#define _ASA_SD_H_

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <talloc.h>

struct asa_sid {
	uint8_t num_auths;
	uint8_t id_auth[6];
	uint32_t sub_auths[15];
};

struct asa_ace {
	uint8_t type;
	uint8_t flags;
	uint32_t mask;
	bool has_object_type;
	uint8_t object_type[16];	/* a GUID as stored (little-endian) */
	struct asa_sid sid;
	const uint8_t *raw;		/* the ACE as stored, in the blob */
	size_t raw_length;
	bool dropped;			/* by asa_trust_strip_sd() */
};

struct asa_sd {
	uint16_t control;
	bool has_owner;
	struct asa_sid owner;
	bool has_group;
	struct asa_sid group;
	bool has_dacl;
	uint8_t dacl_revision;
	struct asa_ace *aces;
	size_t num_aces;
};

/* Parse a self-relative descriptor; EINVAL when it is malformed. */
int asa_sd_parse(TALLOC_CTX *mem_ctx, const uint8_t *data, size_t length,
		 struct asa_sd **sd);

/*
 * The descriptor again, with only its owner and DACL (for a modify with
 * the SD flags control set to owner and DACL).  ENOMEM or 0.
 */
int asa_sd_encode(TALLOC_CTX *mem_ctx, const struct asa_sd *sd,
		  uint8_t **data, size_t *length);

bool asa_sid_parse(const char *text, struct asa_sid *sid);
/* A SID in its binary form (objectSid) */
bool asa_sid_from_blob(const uint8_t *data, size_t length,
		       struct asa_sid *sid);
char *asa_sid_string(TALLOC_CTX *mem_ctx, const struct asa_sid *sid);
bool asa_sid_equal(const struct asa_sid *a, const struct asa_sid *b);
/* The RID of a SID of domain, or -1 when it is not in that domain. */
int64_t asa_sid_rid_in(const struct asa_sid *sid,
		       const struct asa_sid *domain);
/* "28630ec1-41d5-11d1-a9c1-0000f80367c1" as stored on the wire */
bool asa_guid_parse(const char *text, uint8_t guid[16]);

/* Whom the rule trusts, for one domain. */
struct asa_trust_sids {
	struct asa_sid domain;		/* for -512 and -516 */
	struct asa_sid root_domain;	/* for -519 */
	const struct asa_sid *dcs;	/* the DCs' accounts */
	size_t num_dcs;
};

bool asa_trust_sid_trusted(const struct asa_trust_sids *trusted,
			   const struct asa_sid *sid);

enum asa_trust_kind {
	/* the computer account: its children, its DACL and owner */
	ASA_TRUST_ACCOUNT,
	/* a samba-asa serviceConnectionPoint: its attributes, DACL,
	 * owner, deletion */
	ASA_TRUST_SCP,
};

/*
 * NULL when only trusted principals can change what the rule guards on
 * an object of this kind with descriptor sd; otherwise a sentence naming
 * the first principal that can and what it can do.  self: the object's
 * own SID (the account's objectSid), or NULL.
 *
 * Deny ACEs are not taken into account (a grant is enough to refuse);
 * conditional (callback) ACEs count as grants; inherit-only ACEs do not
 * apply to the object itself.
 */
char *asa_trust_check_sd(TALLOC_CTX *mem_ctx,
			 const struct asa_trust_sids *trusted,
			 const struct asa_sd *sd,
			 enum asa_trust_kind kind,
			 const struct asa_sid *self);

/*
 * Take from the explicit ACEs of sd (of an object of this kind) every
 * right an untrusted principal must not hold, and make owner its owner
 * when its owner is untrusted.  Inherited ACEs stay (they come from the
 * parent); *changed says whether anything changed.
 */
int asa_trust_strip_sd(struct asa_sd *sd,
		       const struct asa_trust_sids *trusted,
		       enum asa_trust_kind kind,
		       const struct asa_sid *self,
		       const struct asa_sid *owner,
		       bool *changed);

#endif /* _ASA_SD_H_ */
