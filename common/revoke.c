/*
 * samba-asa: the pending revocation of an ASA's old keys; see revoke.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <talloc.h>
#include <ldb.h>
#include <param.h>

#include "krb5_text.h"
#include "revoke.h"
#include "schedule.h"

#define KW_REVOKE_KVNO	"revoke_kvno"
#define KW_REVOKE_AT	"revoke_at"
#define KW_REVOKE_NOW	"revoke_now"

/* Kerberos' default clock skew: acceptors take a ticket this long after
 * its end time. */
#define ASA_CLOCK_SKEW 300

static bool is_revoke_keyword(const char *keyword)
{
	static const char * const keys[] = {
		KW_REVOKE_KVNO, KW_REVOKE_AT, KW_REVOKE_NOW, NULL,
	};

	return asa_keyword_is_one_of(keyword, keys);
}

static uint64_t keyword_u64(const struct asa_account *a, const char *key)
{
	return asa_keywords_u64(a->other_keywords, a->num_other_keywords, key);
}

void asa_revocation_get(const struct asa_account *account,
			struct asa_revocation *r)
{
	uint64_t kvno = keyword_u64(account, KW_REVOKE_KVNO);
	uint64_t at = keyword_u64(account, KW_REVOKE_AT);

	*r = (struct asa_revocation) { 0 };
	if (kvno == 0 || kvno > UINT32_MAX || at > INT64_MAX) {
		return;
	}
	r->kvno = (uint32_t)kvno;
	r->at = (time_t)at;
	r->now = keyword_u64(account, KW_REVOKE_NOW) != 0;
}

int asa_revocation_set(struct asa_account *account,
		       const struct asa_revocation *r)
{
	const char **kw = NULL;
	size_t n = 0, i;

	kw = talloc_zero_array(account, const char *,
			       account->num_other_keywords + 4);
	if (kw == NULL) {
		return ENOMEM;
	}
	for (i = 0; i < account->num_other_keywords; i++) {
		if (!is_revoke_keyword(account->other_keywords[i])) {
			kw[n++] = account->other_keywords[i];
		}
	}
	if (r->kvno != 0) {
		kw[n++] = talloc_asprintf(kw, KW_REVOKE_KVNO "=%" PRIu32,
					  r->kvno);
		if (r->at != 0) {
			kw[n++] = talloc_asprintf(kw, KW_REVOKE_AT "=%lld",
						  (long long)r->at);
		}
		if (r->now) {
			kw[n++] = KW_REVOKE_NOW "=1";
		}
	}
	for (i = 0; i < n; i++) {
		if (kw[i] == NULL) {
			TALLOC_FREE(kw);
			return ENOMEM;
		}
	}
	account->other_keywords = kw;
	account->num_other_keywords = n;
	return 0;
}

void asa_revocation_add(struct asa_revocation *r, uint32_t dir_kvno,
			uint32_t held, bool now)
{
	uint32_t k = dir_kvno > held ? dir_kvno : held;

	if (r->kvno > k) {
		k = r->kvno;
	}
	r->kvno = k;
	r->at = 0;
	r->now = r->now || now;
}

int asa_revoke_delay(TALLOC_CTX *mem_ctx, struct loadparm_context *lp_ctx,
		     int64_t *seconds, char **why)
{
	const char *text = NULL;
	time_t svc = 10 * 3600, usr = 10 * 3600, renew = 0;

	*seconds = 0;
	if (why != NULL) {
		*why = NULL;
	}
	if (lp_ctx != NULL) {
		text = lpcfg_parm_string(lp_ctx, NULL, "asa", "revoke after");
	}
	if (text != NULL) {
		if (asa_schedule_parse_duration(text, seconds) != 0 ||
		    *seconds < 0) {
			if (why != NULL) {
				*why = talloc_asprintf(mem_ctx,
					"smb.conf: 'asa:revoke after = %s' is "
					"not a duration (seconds, or e.g. 10h, "
					"90m)", text);
			}
			return EINVAL;
		}
		return 0;
	}
	if (lp_ctx != NULL) {
		TALLOC_CTX *frame = talloc_new(mem_ctx);

		lpcfg_default_kdc_policy(frame, lp_ctx, &svc, &usr, &renew);
		TALLOC_FREE(frame);
	}
	*seconds = (int64_t)(svc > usr ? svc : usr) + ASA_CLOCK_SKEW;
	return 0;
}

/* r into the account's keywords, and the account's state stored. */
static int revocation_store(TALLOC_CTX *mem_ctx, struct asa_dir *dir,
			    struct asa_account *account,
			    const struct asa_revocation *r, char **why)
{
	int ret;

	if (asa_revocation_set(account, r) != 0) {
		*why = talloc_strdup(mem_ctx, "out of memory");
		return ENOMEM;
	}
	ret = asa_account_store_state(dir, account, why);
	if (ret != LDB_SUCCESS) {
		*why = talloc_asprintf(mem_ctx, "the revocation state was not "
				       "recorded: %s", *why != NULL ? *why :
				       ldb_strerror(ret));
		return ret;
	}
	return 0;
}

int asa_revoke_after_roll(TALLOC_CTX *mem_ctx, struct asa_dir *dir,
			  struct loadparm_context *lp_ctx,
			  struct asa_account *account, uint32_t old_kvno,
			  uint32_t new_kvno, size_t num_failed,
			  bool revoke_now, enum asa_revoke_next *next,
			  struct asa_revocation *r, int64_t *delay,
			  char **why)
{
	int ret;

	*next = ASA_REVOKE_NONE;
	*delay = 0;
	asa_revocation_get(account, r);
	if (revoke_now && r->kvno == 0) {
		r->kvno = old_kvno;
	}
	if (r->kvno == 0 || r->kvno >= new_kvno) {
		return 0;
	}
	ret = asa_revoke_delay(mem_ctx, lp_ctx, delay, why);
	if (ret != 0) {
		return ret;
	}
	if (revoke_now || r->now || *delay == 0) {
		*next = ASA_REVOKE_PUSH;
		return 0;
	}
	if (r->kvno < old_kvno && num_failed == 0) {
		*r = (struct asa_revocation) { 0 };
		*next = ASA_REVOKE_DONE;
	} else if (r->at == 0) {
		r->at = time(NULL) + *delay;
		*next = ASA_REVOKE_SCHEDULED;
	} else {
		return 0;
	}
	return revocation_store(mem_ctx, dir, account, r, why);
}

int asa_revoke_when(TALLOC_CTX *mem_ctx, struct loadparm_context *lp_ctx,
		    const struct asa_account *account, time_t *when,
		    char **why)
{
	struct asa_revocation r;
	int64_t delay = 0;
	int ret;

	*when = 0;
	asa_revocation_get(account, &r);
	if (r.kvno == 0 || r.kvno >= account->kvno) {
		return 0;
	}
	if (r.at != 0) {
		*when = r.at;
		return 0;
	}
	ret = asa_revoke_delay(mem_ctx, lp_ctx, &delay, why);
	if (ret != 0) {
		return ret;
	}
	*when = account->last_roll + delay;
	return 0;
}

int asa_revoke_push(TALLOC_CTX *mem_ctx, krb5_context ctx,
		    struct asa_dir *dir, struct asa_account *account,
		    const struct asa_keytab *keytab, krb5_kvno kvno,
		    const struct asa_member_transport_options *options,
		    struct asa_push **push, char **why)
{
	struct asa_member_transport_options revoke = *options;
	struct asa_revocation r;
	uint8_t *data = NULL;
	size_t length = 0;
	int ret;

	*push = NULL;
	ret = asa_push_prepare_account(mem_ctx, account, push);
	if (ret != 0) {
		*why = talloc_strdup(mem_ctx, "out of memory");
		return ret;
	}
	ret = asa_keytab_serialize(ctx, *push, keytab, &data, &length);
	if (ret != 0) {
		*why = talloc_asprintf(mem_ctx, "the keytab for the members: "
				       "%s", asa_krb5_text(mem_ctx, ctx, ret));
		return ret;
	}
	revoke.revoke = true;
	/* a push that reached nobody fails every member: recorded below */
	(void)asa_push_run(*push, ctx, &revoke, data, length, kvno);
	TALLOC_FREE(data);
	ret = asa_push_record(mem_ctx, *push, dir, why);
	if (ret != LDB_SUCCESS) {
		return ret;
	}

	asa_revocation_get(account, &r);
	if ((*push)->num_failed == 0) {
		r = (struct asa_revocation) { 0 };
	} else {
		r.at = time(NULL);
		r.now = false;
	}
	return revocation_store(mem_ctx, dir, account, &r, why);
}
