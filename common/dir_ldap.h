/*
 * samba-asa: what dir_ldap.c (searches, writes) and dir_ldap_bind.c
 * (connecting, binding) share.  Not for callers: use dir.h.
 */
#ifndef _ASA_DIR_LDAP_H_
#define _ASA_DIR_LDAP_H_

#ifndef LDAP_DEPRECATED
#define LDAP_DEPRECATED 0
#endif
#include <ldap.h>
#include <krb5.h>

#include "dir_private.h"

struct dir_ldap {
	LDAP *ld;
	/* -k yes -U user: our own ticket, in memory */
	krb5_context krb5;
	krb5_ccache ccache;
};

/* The connection of an LDAP backend. */
LDAP *dir_ldap_ld(struct asa_dir *dir);

/* An LDAP result code as an LDB code: the positive ones are the same. */
int dir_ldap_to_ldb(int rc);

/* Record rc with the server's diagnostic text, if it sent one. */
int dir_ldap_fail(struct asa_dir *dir, int rc, const char *diag);

extern const struct asa_dir_ops asa_dir_ldap_ops;

#endif /* _ASA_DIR_LDAP_H_ */
