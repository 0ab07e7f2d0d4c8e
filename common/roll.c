/*
 * samba-asa: the steps of a password roll; see roll.h for the order and
 * why it keeps every member able to decrypt every ticket.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ctype.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <talloc.h>
#include <ldb.h>
#include <krb5.h>

#include "samba_util.h"
#include "roll.h"
#include "current_keys.h"
#include "dckeys.h"
#include "krb5_text.h"

static krb5_error_code roll_current_keys(struct roll_state *rs,
					 char **errstring)
{
	struct asa_keytab *mine = NULL;
	krb5_error_code ret;
	bool needed = false;
	size_t i;

	if (asa_dir_backend(rs->dir) != ASA_DIR_BACKEND_LOCAL ||
	    rs->account->kvno == 0) {
		return 0;
	}
	/*
	 * Only when a member may lack them (stale, or its record older than
	 * the directory's kvno, as after a crash between the password change
	 * and the record): reading them runs samba-tool, seconds.
	 */
	for (i = 0; i < rs->account->num_members; i++) {
		const struct asa_member_record *m = &rs->account->members[i];

		if (m->stale || m->latest_kvno < rs->account->kvno) {
			needed = true;
		}
	}
	if (!needed) {
		return 0;
	}
	ret = asa_current_keys_dc(rs->krb5, rs, rs->smb_conf, rs->account,
				  (const char * const *)rs->principals,
				  rs->num_principals, rs->account->kvno,
				  &mine, errstring);
	if (ret != 0) {
		return ret;
	}
	/* nothing usable (e.g. only RC4 of an AES-only ASA): none */
	rs->current_keys = mine->num_entries > 0 ? mine : NULL;
	return 0;
}

krb5_error_code roll_prepare(struct roll_state *rs, char **errstring)
{
	struct asa_account *a = rs->account;
	const char *avoid[2] = { a->name, NULL };
	struct asa_keytab *kt = NULL;
	char *salt = NULL;
	krb5_error_code ret;

	if (a->realm == NULL || a->sam_account_name == NULL) {
		*errstring = talloc_asprintf(rs, "the directory gave no realm "
					     "or sAMAccountName for %s",
					     a->name);
		return EINVAL;
	}
	if (a->kvno == UINT32_MAX) {
		*errstring = talloc_asprintf(rs, "%s: kvno %u cannot grow",
					     a->name, a->kvno);
		return ERANGE;
	}
	rs->old_kvno = a->kvno;
	rs->new_kvno = a->kvno + 1;

	ret = asa_password_generate(rs, ASA_PASSWORD_LENGTH, avoid,
				    &rs->password);
	if (ret != 0) {
		*errstring = talloc_asprintf(rs, "cannot make a password: %s",
					     strerror(ret));
		return ret;
	}
	ret = asa_salt_computer(rs, a->realm, a->sam_account_name, &salt);
	if (ret != 0) {
		*errstring = talloc_asprintf(rs, "%s: no salt for realm '%s' "
					     "and account '%s'", a->name,
					     a->realm, a->sam_account_name);
		return ret;
	}
	ret = asa_keys_derive(rs->krb5, rs, rs->password, salt, a->enctypes,
			      rs->new_kvno, &rs->keys, &rs->num_keys);
	if (ret != 0) {
		*errstring = talloc_asprintf(rs, "cannot derive the keys: %s",
					     asa_krb5_text(rs, rs->krb5, ret));
		return ret;
	}
	ret = asa_keytab_principals(rs->krb5, rs, a->realm,
				    a->sam_account_name,
				    (const char * const *)a->spns, a->num_spns,
				    &rs->principals, &rs->num_principals);
	if (ret != 0) {
		*errstring = talloc_asprintf(rs, "the principals of %s: %s",
					     a->name,
					     asa_krb5_text(rs, rs->krb5, ret));
		return ret;
	}
	ret = roll_current_keys(rs, errstring);
	if (ret != 0) {
		/* the roll itself does not need them: say so and go on */
		rs->warning = *errstring;
		*errstring = NULL;
		rs->current_keys = NULL;
	}
	ret = asa_keytab_build(rs->krb5, rs,
			       (const char * const *)rs->principals,
			       rs->num_principals, rs->keys, rs->num_keys,
			       (uint32_t)time(NULL), &kt);
	if (ret != 0) {
		*errstring = talloc_asprintf(rs, "cannot build the keytab: %s",
					     asa_krb5_text(rs, rs->krb5, ret));
		return ret;
	}
	rs->new_keytab = kt;

	/*
	 * On the DC, when a member may lack them, the keys the KDC uses now
	 * go along too: a member that a forced roll left behind gets them
	 * back, so it decrypts tickets issued before this roll.  Members
	 * that have them replace them with the same bytes.
	 */
	if (rs->current_keys != NULL) {
		struct asa_keytab *both = NULL;

		ret = asa_keytab_merge(rs->krb5, rs, rs->current_keys, kt,
				       ASA_KEYTAB_KEEP_KVNOS, &both);
		if (ret != 0) {
			*errstring = talloc_asprintf(rs, "cannot add the "
				"current keys: %s",
				asa_krb5_text(rs, rs->krb5, ret));
			return ret;
		}
		kt = both;
	}
	ret = asa_keytab_serialize(rs->krb5, rs, kt, &rs->keytab,
				   &rs->keytab_length);
	if (ret != 0) {
		*errstring = talloc_asprintf(rs, "cannot write the keytab: %s",
					     asa_krb5_text(rs, rs->krb5, ret));
		return ret;
	}
	talloc_free(salt);
	return 0;
}

krb5_error_code roll_keys_select(TALLOC_CTX *mem_ctx,
				 const struct asa_keytab *in,
				 krb5_kvno kvno,
				 uint32_t enctype_bits,
				 struct asa_keytab **out)
{
	return asa_keytab_select(mem_ctx, in, NULL, 0, enctype_bits, kvno,
				 kvno, out);
}

int roll_stage_members(struct roll_state *rs,
		       const struct asa_member_transport_options *options,
		       char **errstring)
{
	int ret;

	if (asa_push_prepare_account(rs, rs->account, &rs->push) != 0) {
		*errstring = talloc_strdup(rs, "out of memory");
		return ENOMEM;
	}
	ret = asa_push_run(rs->push, rs->krb5, options, rs->keytab,
			   rs->keytab_length, rs->new_kvno);
	if (ret != 0) {
		*errstring = talloc_asprintf(rs, "cannot reach the members: "
					     "%s", strerror(ret));
		return ret;
	}
	return 0;
}

size_t roll_num_failed(const struct roll_state *rs)
{
	return rs->push != NULL ? rs->push->num_failed :
		rs->account->num_members;
}

int roll_set_password(struct roll_state *rs, char **errstring)
{
	struct ldb_context *ldb = asa_dir_ldb(rs->dir);
	struct ldb_message *msg = NULL;
	struct ldb_val val = { 0 };
	uint8_t *value = NULL;
	size_t length = 0;
	int ret;

	if (!asa_dir_is_protected(rs->dir)) {
		*errstring = talloc_asprintf(rs, "%s is not a protected "
			"connection and the new password must not cross it in "
			"clear: use ldaps://, Kerberos (-k yes, which "
			"encrypts), or run on the DC with -H sam.ldb",
			asa_dir_url(rs->dir));
		return LDB_ERR_CONFIDENTIALITY_REQUIRED;
	}
	ret = asa_password_unicodepwd(rs, rs->password, &value, &length);
	if (ret != 0) {
		*errstring = talloc_strdup(rs, "cannot encode the password");
		return LDB_ERR_OPERATIONS_ERROR;
	}
	msg = ldb_msg_new(rs);
	if (msg == NULL) {
		*errstring = talloc_strdup(rs, "out of memory");
		return LDB_ERR_OPERATIONS_ERROR;
	}
	msg->dn = rs->account->dn;
	val.data = value;
	val.length = length;
	ret = ldb_msg_add_value(msg, "unicodePwd", &val, NULL);
	if (ret != LDB_SUCCESS) {
		*errstring = talloc_strdup(rs, "out of memory");
		goto done;
	}
	msg->elements[0].flags = LDB_FLAG_MOD_REPLACE;
	(void)ldb;

	ret = asa_dir_modify(rs->dir, msg, 0);
	if (ret != LDB_SUCCESS) {
		*errstring = talloc_asprintf(rs, "the directory refused the "
					     "new password of %s: %s",
					     rs->account->sam_account_name,
					     asa_dir_errstring(rs->dir));
	}
done:
	/* the message only points at value, which wipes itself */
	talloc_free(msg);
	talloc_free(value);
	return ret;
}

int roll_read_kvno(struct roll_state *rs, uint32_t *kvno, char **errstring)
{
	static const char * const attrs[] = {
		"msDS-KeyVersionNumber", NULL
	};
	struct ldb_result *res = NULL;
	int ret;

	ret = asa_dir_search(rs->dir, rs, &res, rs->account->dn,
			     LDB_SCOPE_BASE, attrs, 0, "(objectClass=*)");
	if (ret != LDB_SUCCESS || res->count != 1) {
		*errstring = talloc_asprintf(rs, "cannot read the kvno of %s: "
					     "%s", rs->account->name,
					     asa_dir_errstring(rs->dir));
		return ret != LDB_SUCCESS ? ret : LDB_ERR_NO_SUCH_OBJECT;
	}
	*kvno = (uint32_t)ldb_msg_find_attr_as_uint(res->msgs[0],
						    "msDS-KeyVersionNumber",
						    0);
	talloc_free(res);
	return LDB_SUCCESS;
}

int roll_check_kdc(struct roll_state *rs, char **errstring)
{
	struct asa_keytab *dc = NULL;
	struct asa_keytab *ref = NULL;
	uint32_t kvno = 0;
	krb5_error_code ret;

	ret = roll_read_kvno(rs, &kvno, errstring);
	if (ret != LDB_SUCCESS) {
		return EIO;
	}
	if (kvno != rs->new_kvno) {
		*errstring = talloc_asprintf(rs, "the directory has kvno %u "
			"for %s after the password change, the members got "
			"%u: another password change happened at the same "
			"time; roll again", kvno, rs->account->name,
			rs->new_kvno);
		return EPROTO;
	}
	if (asa_dir_backend(rs->dir) != ASA_DIR_BACKEND_LOCAL) {
		return 0;
	}

	ret = asa_dc_keys_read(rs->krb5, rs, rs->smb_conf,
			       rs->account->sam_account_name, &dc);
	if (ret != 0) {
		*errstring = talloc_asprintf(rs, "cannot read the KDC's keys "
					     "of %s: %s",
					     rs->account->sam_account_name,
					     asa_krb5_text(rs, rs->krb5, ret));
		return ret;
	}
	ret = roll_keys_select(rs, dc, rs->new_kvno,
			       rs->account->enctypes, &ref);
	if (ret != 0) {
		*errstring = talloc_strdup(rs, "out of memory");
		return ret;
	}
	if (ref->num_entries == 0) {
		*errstring = talloc_asprintf(rs, "the KDC holds no AES key at "
					     "kvno %u for %s", rs->new_kvno,
					     rs->account->sam_account_name);
		return KRB5_KT_NOTFOUND;
	}
	ret = asa_keytab_check_keys(rs->krb5, rs->new_keytab, ref,
				    (const char * const *)rs->principals,
				    rs->num_principals);
	if (ret != 0) {
		*errstring = talloc_asprintf(rs, "the KDC's keys of %s are not "
					     "the ones the members got: %s",
					     rs->account->sam_account_name,
					     asa_krb5_text(rs, rs->krb5, ret));
		return ret;
	}
	rs->kdc_keys_checked = true;
	return 0;
}

int roll_record(struct roll_state *rs, bool rolled, const char *error,
		char **errstring)
{
	struct asa_account *a = rs->account;
	time_t now = time(NULL);
	char *first_error = NULL;
	size_t i;
	int ret;

	for (i = 0; rs->push != NULL && i < rs->push->num_members; i++) {
		const struct asa_push_member *p = &rs->push->members[i];
		struct asa_member_record *m = p->record;

		if (p->ok) {
			asa_member_record_installed(m, p->kvnos, p->num_kvnos,
						    p->after_install, now);
			/* new keys, even where the kvno is the same */
			m->latest_installed = now;
			/* it holds the KDC's keys again (see roll_prepare) */
			if (rolled || rs->current_keys != NULL) {
				m->stale = false;
			}
		} else {
			asa_member_record_failed(rs, m, p->error, now);
			if (rolled) {
				m->stale = true;
			}
		}
		ret = asa_member_record_store(rs->dir, m, errstring);
		if (ret != LDB_SUCCESS && first_error == NULL) {
			first_error = *errstring;
		}
	}

	if (rolled) {
		a->kvno = rs->new_kvno;
		a->last_roll = now;
		a->pwd_last_set = now;
	}
	if (error == NULL) {
		a->last_roll_error = NULL;
		a->last_roll_error_time = 0;
		a->roll_failures = 0;
	} else {
		a->last_roll_error = error;
		a->last_roll_error_time = now;
		a->roll_failures++;
	}
	ret = asa_account_store_state(rs->dir, a, errstring);
	if (ret != LDB_SUCCESS) {
		return ret;
	}
	if (first_error != NULL) {
		*errstring = first_error;
		return LDB_ERR_OPERATIONS_ERROR;
	}
	return LDB_SUCCESS;
}

static void roll_step(const struct roll_state *rs,
		      const struct roll_run_options *o, enum roll_step step)
{
	if (o->at_step != NULL) {
		o->at_step(rs, step);
	}
}

int roll_run(struct roll_state *rs, const struct roll_run_options *o)
{
	char *why = NULL;
	int ret;

	rs->rolled = false;
	rs->error = NULL;
	rs->record_error = NULL;

	ret = roll_prepare(rs, &rs->error);
	if (ret != 0) {
		goto failed;
	}
	roll_step(rs, o, ROLL_STEP_KEYS);

	ret = roll_stage_members(rs, o->transport, &rs->error);
	if (ret != 0) {
		goto failed;
	}
	if (roll_num_failed(rs) > 0 && !o->force) {
		rs->error = talloc_asprintf(rs, "%zu of %zu members could not "
					    "be updated; the directory was "
					    "not changed (see the members' "
					    "errors; --force rolls anyway "
					    "and marks them stale)",
					    roll_num_failed(rs),
					    rs->account->num_members);
		goto failed;
	}
	roll_step(rs, o, ROLL_STEP_STAGED);

	ret = roll_set_password(rs, &rs->error);
	if (ret != LDB_SUCCESS) {
		goto failed;
	}
	rs->rolled = true;
	roll_step(rs, o, ROLL_STEP_PASSWORD);

	ret = roll_check_kdc(rs, &rs->error);
	if (ret != 0) {
		goto failed;
	}
	roll_step(rs, o, ROLL_STEP_CHECKED);

	ret = roll_record(rs, true, NULL, &why);
	if (ret != LDB_SUCCESS) {
		/* rolled and checked: only the status is behind */
		rs->record_error = why;
	}
	roll_step(rs, o, ROLL_STEP_RECORDED);
	return 0;

failed:
	if (rs->error == NULL) {
		rs->error = talloc_strdup(rs, "out of memory");
	}
	ret = roll_record(rs, rs->rolled, rs->error, &why);
	if (ret != LDB_SUCCESS) {
		rs->record_error = why;
	}
	return -1;
}

time_t roll_staged_elsewhere(TALLOC_CTX *mem_ctx, krb5_context krb5,
			     const struct asa_member_transport_options *t,
			     const struct asa_account *a,
			     const struct asa_schedule_policy *policy,
			     time_t due, time_t now, krb5_kvno *seen)
{
	TALLOC_CTX *frame = talloc_new(mem_ctx);
	const struct asa_member_url **urls = NULL;
	struct asa_member_result *results = NULL;
	char *principal = NULL;
	time_t until = 0;
	size_t i, j, n = 0;

	*seen = 0;
	if (policy->settle <= 0 || due + policy->settle <= now ||
	    a->roll_failures > 0 || a->num_members == 0 || a->realm == NULL) {
		goto done;
	}
	principal = talloc_asprintf(frame, "%s@%s", a->sam_account_name,
				    a->realm);
	urls = talloc_zero_array(frame, const struct asa_member_url *,
				 a->num_members);
	if (principal == NULL || urls == NULL) {
		goto done;
	}
	for (i = 0; i < a->num_members; i++) {
		struct asa_member_url *url = NULL;
		char *why = NULL;

		if (asa_member_url_parse(frame, a->members[i].url, &url,
					 &why) == 0) {
			urls[n++] = url;
		}
	}
	if (n == 0 || asa_member_fetch(frame, krb5, t, urls, n,
				       &results) != 0) {
		goto done;
	}
	for (i = 0; i < n; i++) {
		const struct asa_keytab *kt = results[i].keytab;

		for (j = 0; kt != NULL && j < kt->num_entries; j++) {
			const struct asa_keytab_entry *e = &kt->entries[j];

			if (e->kvno > a->kvno && e->kvno > *seen &&
			    strcmp(e->principal, principal) == 0) {
				*seen = e->kvno;
				until = due + policy->settle;
			}
		}
	}
done:
	TALLOC_FREE(frame);
	return until;
}

int roll_lock(TALLOC_CTX *mem_ctx, const char *lock_dir, const char *name,
	      int wait_seconds, char **path_out)
{
	char *path = NULL;
	char *lower = NULL;
	char pid[32];
	int fd = -1;
	int waited = 0;
	size_t i;

	if (mkdir(lock_dir, 0700) != 0 && errno != EEXIST) {
		return -errno;
	}
	lower = talloc_strdup(mem_ctx, name);
	if (lower == NULL) {
		return -ENOMEM;
	}
	for (i = 0; lower[i] != '\0'; i++) {
		if (lower[i] == '/' ) {
			talloc_free(lower);
			return -EINVAL;
		}
		lower[i] = tolower((unsigned char)lower[i]);
	}
	if (i > 0 && lower[i - 1] == '$') {
		lower[i - 1] = '\0';
	}
	path = talloc_asprintf(mem_ctx, "%s/roll-%s.lock", lock_dir, lower);
	talloc_free(lower);
	if (path == NULL) {
		return -ENOMEM;
	}
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1) {
		int err = errno;

		talloc_free(path);
		return -err;
	}
	while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int err = errno;

		if (err != EWOULDBLOCK || waited >= wait_seconds) {
			close(fd);
			if (path_out != NULL) {
				*path_out = path;
			} else {
				talloc_free(path);
			}
			return -err;
		}
		sleep(1);
		waited++;
	}
	/* who holds it, for the message a second roll prints */
	snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == 0) {
		ssize_t n = pwrite(fd, pid, strlen(pid), 0);
		(void)n;
	}
	if (path_out != NULL) {
		*path_out = path;
	} else {
		talloc_free(path);
	}
	return fd;
}

long roll_lock_holder(const char *path)
{
	char buf[32] = { 0 };
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1) {
		return 0;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0) {
		return 0;
	}
	return strtol(buf, NULL, 10);
}
