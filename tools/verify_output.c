/*
 * samba-asa verify: the result, as a table or as JSON (see cmd_verify.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <talloc.h>
#include <ldb.h>
#include <krb5.h>

#include "cli.h"
#include "asa.h"
#include "asa_admin.h"
#include "cli_json.h"
#include "dckeys.h"
#include "keys.h"
#include "keytab.h"
#include "member.h"
#include "push.h"
#include "verify.h"

#ifndef MAX
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#endif

static const char *reason_name(enum verify_reason r)
{
	switch (r) {
	case VERIFY_OK:			return "ok";
	case VERIFY_NO_TICKET:		return "no-ticket";
	case VERIFY_UNREACHABLE:	return "unreachable";
	case VERIFY_NO_KEYTAB:		return "no-keytab";
	case VERIFY_NO_PRINCIPAL:	return "principal-missing";
	case VERIFY_KVNO_MISSING:	return "kvno-missing";
	case VERIFY_ENCTYPE_MISSING:	return "enctype-missing";
	case VERIFY_WRONG_KEY:		return "wrong-key";
	case VERIFY_ERROR:		return "error";
	}
	return "error";
}

static const char *member_name(const struct verify_member *m)
{
	return m->record->name != NULL ? m->record->name : m->record->url;
}

bool verify_ok(const struct verify *v)
{
	return v->num_members > 0 && v->num_failed_pairs == 0 &&
	       v->num_dc_mismatches == 0 && v->dc_error == NULL &&
	       (!v->dc_checked || v->dc_kvno == v->account->kvno);
}

static json_t *dc_keys_json(TALLOC_CTX *mem_ctx, const struct verify *v)
{
	json_t *o = json_pack("{s:b}", "checked", v->dc_checked);
	json_t *enctypes = json_array();
	size_t i;

	if (o != NULL && v->dc_checked) {
		for (i = 0; i < v->dc_keys->num_entries; i++) {
			krb5_enctype e = v->dc_keys->entries[i].enctype;

			enctypes = cli_json_append(enctypes, cli_json_text(
				asa_enctype_name(mem_ctx, e)));
		}
		if (json_object_set_new(o, "kvno",
					json_integer(v->dc_kvno)) != 0 ||
		    json_object_set_new(o, "enctypes", enctypes) != 0) {
			json_decref(o);
			return NULL;
		}
	} else {
		json_decref(enctypes);
	}
	if (o != NULL &&
	    (json_object_set_new(o, "skipped",
				 cli_json_text(v->dc_skipped)) != 0 ||
	     json_object_set_new(o, "error",
				 cli_json_text(v->dc_error)) != 0)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *members_json(const struct verify *v)
{
	json_t *list = json_array();
	size_t i, j;

	for (i = 0; i < v->num_members; i++) {
		const struct verify_member *m = &v->members[i];
		json_t *kvnos = json_array();

		for (j = 0; j < m->num_kvnos; j++) {
			kvnos = cli_json_append(kvnos,
						json_integer(m->kvnos[j]));
		}
		list = cli_json_append(list, json_pack(
			"{s:o, s:o, s:b, s:s, s:o, s:o, s:o, s:o}",
			"name", cli_json_text(member_name(m)),
			"url", cli_json_text(m->record->url),
			"fetched", m->keytab != NULL,
			"result", reason_name(m->keytab != NULL ? VERIFY_OK :
					      m->fetch_reason),
			"error", cli_json_text(m->error),
			"kvnos", kvnos,
			"dc_keys_match", !m->dc_checked ? json_null() :
			json_boolean(m->dc_error == NULL),
			"dc_keys_error", cli_json_text(m->dc_error)));
	}
	return list;
}

static json_t *spns_json(TALLOC_CTX *mem_ctx, const struct verify *v)
{
	json_t *list = json_array();
	size_t i, j;

	for (i = 0; i < v->num_spns; i++) {
		const struct verify_spn *s = &v->spns[i];
		json_t *pairs = json_array();
		json_t *ticket = json_null();

		if (s->ticket_error == NULL) {
			const char *e = asa_enctype_name(mem_ctx, s->enctype);

			ticket = json_pack("{s:I, s:o}",
					   "kvno", (json_int_t)s->kvno,
					   "enctype", cli_json_text(e));
		}
		for (j = 0; j < v->num_members; j++) {
			const struct verify_pair *p = &s->pairs[j];

			pairs = cli_json_append(pairs, json_pack(
				"{s:o, s:b, s:s, s:o}",
				"member", cli_json_text(
					member_name(&v->members[j])),
				"ok", p->reason == VERIFY_OK,
				"result", reason_name(p->reason),
				"error", cli_json_text(p->why)));
		}
		list = cli_json_append(list, json_pack(
			"{s:o, s:o, s:o, s:o, s:o}",
			"spn", cli_json_text(s->spn),
			"principal", cli_json_text(s->principal),
			"ticket", ticket,
			"ticket_error", cli_json_text(s->ticket_error),
			"members", pairs));
	}
	return list;
}

int verify_print_json(TALLOC_CTX *mem_ctx, const struct verify *v)
{
	return cli_json_print(stdout, json_pack(
		"{s:o, s:o, s:I, s:o, s:o, s:o, s:o, s:I, s:I, s:I, s:b}",
		"name", cli_json_text(v->account->name),
		"account", cli_json_text(v->account_principal),
		"kvno", (json_int_t)v->account->kvno,
		"credentials", cli_json_text(v->credentials),
		"dc_keys", dc_keys_json(mem_ctx, v),
		"members", members_json(v),
		"spns", spns_json(mem_ctx, v),
		"pairs", (json_int_t)v->num_pairs,
		"failed_pairs", (json_int_t)v->num_failed_pairs,
		"dc_key_mismatches", (json_int_t)v->num_dc_mismatches,
		"ok", verify_ok(v)));
}

void verify_print_text(TALLOC_CTX *mem_ctx, const struct verify *v)
{
	size_t w_spn = strlen("SPN"), w_member = strlen("MEMBER");
	size_t i, j;

	printf("ASA %s (%s): kvno %u, %zu SPN%s, %zu member%s\n",
	       v->account->name, v->account_principal,
	       (unsigned)v->account->kvno, v->num_spns,
	       v->num_spns == 1 ? "" : "s", v->num_members,
	       v->num_members == 1 ? "" : "s");
	printf("Tickets as %s\n", v->credentials);
	if (v->dc_checked) {
		printf("KDC's keys: kvno %u,", (unsigned)v->dc_kvno);
		for (i = 0; i < v->dc_keys->num_entries; i++) {
			printf(" %s", asa_enctype_name(mem_ctx,
					       v->dc_keys->entries[i].enctype));
		}
		printf(" (samba-tool domain exportkeytab)\n");
		if (v->dc_kvno != v->account->kvno) {
			printf("  FAIL: the KDC's keys are kvno %u, the "
			       "directory says kvno %u\n",
			       (unsigned)v->dc_kvno,
			       (unsigned)v->account->kvno);
		}
	} else if (v->dc_error != NULL) {
		printf("KDC's keys: FAIL: %s\n", v->dc_error);
	} else {
		printf("KDC's keys: not compared: %s\n", v->dc_skipped);
	}

	printf("\nMembers:\n");
	for (i = 0; i < v->num_members; i++) {
		const struct verify_member *m = &v->members[i];

		printf("  %s  %s\n", member_name(m), m->record->url);
		if (m->keytab == NULL) {
			printf("    FAIL %s: %s\n",
			       reason_name(m->fetch_reason), m->error);
			continue;
		}
		printf("    holds kvno %s for %s\n",
		       m->num_kvnos > 0 ?
		       asa_kvno_list(mem_ctx, m->kvnos, m->num_kvnos) :
		       "(none)", v->account_principal);
		if (!m->dc_checked) {
			continue;
		}
		if (m->dc_error == NULL) {
			printf("    the KDC's keys: equal\n");
		} else {
			printf("    FAIL: the KDC's keys: %s\n", m->dc_error);
		}
	}
	if (v->num_members == 0) {
		printf("  (none: add one with samba-asa member add)\n");
	}

	if (v->num_members == 0) {
		printf("\nverify: FAILED: %s has no members: nothing holds "
		       "its keys (samba-asa member add).\n",
		       v->account->name);
		return;
	}
	for (i = 0; i < v->num_spns; i++) {
		w_spn = MAX(w_spn, strlen(v->spns[i].spn));
	}
	for (i = 0; i < v->num_members; i++) {
		w_member = MAX(w_member, strlen(member_name(&v->members[i])));
	}
	printf("\n%-*s  %-*s  %s\n", (int)w_spn, "SPN", (int)w_member,
	       "MEMBER", "RESULT");
	for (i = 0; i < v->num_spns; i++) {
		const struct verify_spn *s = &v->spns[i];

		for (j = 0; j < v->num_members; j++) {
			const struct verify_pair *p = &s->pairs[j];

			printf("%-*s  %-*s  ", (int)w_spn, s->spn,
			       (int)w_member, member_name(&v->members[j]));
			if (p->reason == VERIFY_OK) {
				printf("ok (kvno %u %s)\n", (unsigned)s->kvno,
				       asa_enctype_name(mem_ctx, s->enctype));
			} else {
				printf("FAIL %s: %s\n", reason_name(p->reason),
				       p->why);
			}
		}
	}

	printf("\n");
	if (verify_ok(v)) {
		printf("verify: all %zu (SPN, member) pairs work%s.\n",
		       v->num_pairs,
		       v->dc_checked ? "; the KDC's keys equal every "
				       "member's" : "");
	} else {
		printf("verify: FAILED: %zu of %zu (SPN, member) pairs fail",
		       v->num_failed_pairs, v->num_pairs);
		if (v->num_dc_mismatches > 0) {
			printf("; %zu member%s not hold the KDC's keys",
			       v->num_dc_mismatches,
			       v->num_dc_mismatches == 1 ? " does" : "s do");
		}
		printf(".\n");
	}
}
