/*
 * samba-asa: what the directory-access backends (dir_ldap.c,
 * dir_local.c) share with dir_core.c.  Not for callers: use dir.h.
 */
#ifndef _ASA_DIR_PRIVATE_H_
#define _ASA_DIR_PRIVATE_H_

#include <stdint.h>
#include "samba_util.h"
#include "dir.h"

struct asa_dir_ops {
	int (*search)(struct asa_dir *dir,
		      TALLOC_CTX *mem_ctx,
		      struct ldb_result **res,
		      struct ldb_dn *base,
		      enum ldb_scope scope,
		      const char * const *attrs,
		      unsigned int flags,
		      const char *filter);
	int (*add)(struct asa_dir *dir,
		   const struct ldb_message *msg,
		   unsigned int flags);
	int (*modify)(struct asa_dir *dir,
		      const struct ldb_message *msg,
		      unsigned int flags);
	int (*del)(struct asa_dir *dir,
		   struct ldb_dn *dn,
		   unsigned int flags);
	int (*rename)(struct asa_dir *dir,
		      struct ldb_dn *olddn,
		      struct ldb_dn *newdn,
		      unsigned int flags);
};

struct asa_dir {
	enum asa_dir_backend backend;
	const struct asa_dir_ops *ops;
	const char *url;
	struct tevent_context *ev;
	struct ldb_context *ldb;	/* DNs and messages; local: SamDB */
	struct loadparm_context *lp_ctx;
	void *backend_data;
	struct asa_dir_rootdse rootdse;
	int errcode;
	char *errstring;
};

/* Record an error on dir and return code. */
int asa_dir_error(struct asa_dir *dir, int code, const char *fmt, ...)
	PRINTF_ATTRIBUTE(3, 4);

int asa_dir_ldap_open(struct asa_dir *dir,
		      const struct asa_dir_options *options,
		      char **errstring);
bool asa_dir_ldap_protected(struct asa_dir *dir);
int asa_dir_local_open(struct asa_dir *dir,
		       const struct asa_dir_options *options,
		       char **errstring);

#endif /* _ASA_DIR_PRIVATE_H_ */
