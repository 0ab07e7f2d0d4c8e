/*
 * samba-asa: installing an ASA's keys on its members; see push.h.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>
#include <talloc.h>
#include <ldb.h>
#include <krb5.h>

#include "push.h"

int asa_push_prepare(TALLOC_CTX *mem_ctx,
		     struct asa_member_record * const *records,
		     size_t n,
		     struct asa_push **push)
{
	struct asa_push *p = NULL;
	size_t i;
	int ret;

	*push = NULL;
	p = talloc_zero(mem_ctx, struct asa_push);
	if (p == NULL) {
		return ENOMEM;
	}
	p->members = talloc_zero_array(p, struct asa_push_member, n + 1);
	if (p->members == NULL) {
		TALLOC_FREE(p);
		return ENOMEM;
	}
	p->num_members = n;
	for (i = 0; i < n; i++) {
		struct asa_push_member *m = &p->members[i];
		char *why = NULL;

		m->record = records[i];
		ret = asa_member_url_parse(p, records[i]->url, &m->url, &why);
		if (ret != 0) {
			m->url = NULL;
			m->error = why != NULL ? why :
				talloc_asprintf(p, "bad member URL '%s'",
						records[i]->url);
			p->num_failed++;
		}
	}
	*push = p;
	return 0;
}

int asa_push_prepare_account(TALLOC_CTX *mem_ctx,
			     struct asa_account *account,
			     struct asa_push **push)
{
	struct asa_member_record **records = NULL;
	size_t i;
	int ret;

	records = talloc_zero_array(mem_ctx, struct asa_member_record *,
				    account->num_members + 1);
	if (records == NULL) {
		return ENOMEM;
	}
	for (i = 0; i < account->num_members; i++) {
		records[i] = &account->members[i];
	}
	ret = asa_push_prepare(mem_ctx, records, account->num_members, push);
	TALLOC_FREE(records);
	return ret;
}

char *asa_kvno_list(TALLOC_CTX *mem_ctx, const krb5_kvno *kvnos, size_t n)
{
	char *s = talloc_strdup(mem_ctx, "");
	size_t i;

	for (i = 0; s != NULL && i < n; i++) {
		s = talloc_asprintf_append(s, "%s%u", i > 0 ? ", " : "",
					   (unsigned)kvnos[i]);
	}
	return s;
}

int asa_push_run(struct asa_push *push,
		 krb5_context ctx,
		 const struct asa_member_transport_options *options,
		 const uint8_t *keytab,
		 size_t keytab_length,
		 krb5_kvno kvno)
{
	const struct asa_member_url **urls = NULL;
	struct asa_member_result *results = NULL;
	size_t *index = NULL;
	size_t num_urls = 0;
	size_t i;
	int ret;

	urls = talloc_zero_array(push, const struct asa_member_url *,
				 push->num_members + 1);
	index = talloc_zero_array(push, size_t, push->num_members + 1);
	if (urls == NULL || index == NULL) {
		return ENOMEM;
	}
	for (i = 0; i < push->num_members; i++) {
		if (push->members[i].url != NULL) {
			index[num_urls] = i;
			urls[num_urls++] = push->members[i].url;
		}
	}
	if (num_urls == 0) {
		return 0;
	}
	ret = asa_member_push(push, ctx, options,
			      (const struct asa_member_url * const *)urls,
			      num_urls, keytab, keytab_length, &results);
	if (ret != 0) {
		char *why = talloc_asprintf(push, "cannot reach the members: "
					    "%s", strerror(ret));

		for (i = 0; i < num_urls; i++) {
			push->members[index[i]].error = why;
		}
		push->num_failed += num_urls;
		push->error = ret;
		return ret;
	}
	for (i = 0; i < num_urls; i++) {
		struct asa_push_member *m = &push->members[index[i]];
		struct asa_member_result *r = &results[i];
		size_t k;

		m->kvnos = r->kvnos;
		m->num_kvnos = r->num_kvnos;
		m->after_install = r->after_install;
		for (k = 0; k < r->num_kvnos; k++) {
			m->ok |= (r->kvnos[k] == kvno);
		}
		if (r->error != 0) {
			m->ok = false;
			m->error = talloc_strdup(push,
				r->message != NULL && r->message[0] != '\0' ?
				r->message : strerror(r->error));
		} else if (!m->ok) {
			m->error = talloc_asprintf(push, "the member answered "
				"that it holds kvno %s, not %u",
				asa_kvno_list(push, r->kvnos, r->num_kvnos),
				(unsigned)kvno);
		}
		if (!m->ok) {
			push->num_failed++;
		}
	}
	return 0;
}

void asa_member_record_installed(struct asa_member_record *m,
				 const krb5_kvno *kvnos,
				 size_t num_kvnos,
				 const char *after_install,
				 time_t now)
{
	if (num_kvnos > 0 && (m->latest_kvno != kvnos[0] ||
			      m->latest_installed == 0)) {
		m->latest_installed = now;
	}
	m->latest_kvno = num_kvnos > 0 ? kvnos[0] : 0;
	m->previous_kvno = num_kvnos > 1 ? kvnos[1] : 0;
	m->last_error = NULL;
	m->last_error_time = 0;
	m->after_install = (after_install != NULL &&
			    strcmp(after_install, "ok") != 0) ?
		after_install : NULL;
}

void asa_member_record_failed(TALLOC_CTX *mem_ctx,
			      struct asa_member_record *m,
			      const char *why,
			      time_t now)
{
	m->last_error = talloc_strdup(mem_ctx, why != NULL ? why :
				      "install failed");
	if (m->last_error == NULL) {
		m->last_error = "out of memory";
	}
	m->last_error_time = now;
}

int asa_push_record(TALLOC_CTX *mem_ctx,
		    struct asa_push *push,
		    struct asa_dir *dir,
		    char **errstring)
{
	time_t now = time(NULL);
	char *why = NULL;
	size_t i;
	int first = LDB_SUCCESS;
	int ret;

	for (i = 0; i < push->num_members; i++) {
		struct asa_push_member *m = &push->members[i];

		if (m->ok) {
			asa_member_record_installed(m->record, m->kvnos,
						    m->num_kvnos,
						    m->after_install, now);
			m->record->stale = false;
		} else {
			asa_member_record_failed(mem_ctx, m->record,
						 m->error, now);
		}
		ret = asa_member_record_store(dir, m->record, &why);
		if (ret != LDB_SUCCESS && first == LDB_SUCCESS) {
			first = ret;
			*errstring = why;
		}
	}
	return first;
}
