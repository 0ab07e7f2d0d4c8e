/*
 * Unit tests of member/protocol.c: what the DC reads of a member's answer
 * (the protocol version, the after install report) and the keytab path
 * rule both sides apply.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "member_protocol.h"

static void test_answer_line(void **state)
{
	const char *out = "installed /k (mode 0600)\nkvnos: 5 4\n"
			  "protocol: 2\nafter install: failed: x\x01y\n";
	char v[64];

	assert_true(asa_member_answer_line(out, strlen(out),
					   ASA_MEMBER_REPLY_HOOK, v,
					   sizeof(v)));
	assert_string_equal(v, "failed: x?y");
	assert_true(asa_member_answer_line(out, strlen(out),
					   ASA_MEMBER_REPLY_KVNOS, v,
					   sizeof(v)));
	assert_string_equal(v, "5 4");
	/* cut at the buffer, NUL-terminated */
	assert_true(asa_member_answer_line(out, strlen(out), "installed", v,
					   5));
	assert_string_equal(v, "/k (");
	assert_false(asa_member_answer_line(out, strlen(out), "nothing:", v,
					    sizeof(v)));
	/* only the first length bytes count */
	assert_false(asa_member_answer_line(out, 10, "kvnos:", v,
					    sizeof(v)));
	assert_false(asa_member_answer_line(NULL, 0, "kvnos:", v,
					    sizeof(v)));
}

static void test_answer_protocol(void **state)
{
	const char *v3 = "protocol: 3\n";
	const char *bad = "protocol: 3x\n";

	assert_int_equal(asa_member_answer_protocol(v3, strlen(v3)), 3);
	assert_int_equal(asa_member_answer_protocol(bad, strlen(bad)), 0);
	assert_int_equal(asa_member_answer_protocol("kvnos: 1\n", 9), 0);
}

static void test_version_mismatch(void **state)
{
	const char *v1 = "protocol: 1\n";
	const char *v3 = "protocol: 3\n";
	const char *v2 = "protocol: 2\n";
	char m[256];

	assert_true(asa_member_version_mismatch(v1, strlen(v1), NULL, "web1",
						2, m, sizeof(m)));
	assert_string_equal(m, "member web1 speaks samba-asa member protocol "
			    "1, this DC needs 2: upgrade samba-asa-member on "
			    "the member");
	assert_true(asa_member_version_mismatch(v3, strlen(v3), NULL, "web1",
						2, m, sizeof(m)));
	assert_string_equal(m, "member web1 speaks samba-asa member protocol "
			    "3, this DC speaks 2: upgrade samba-asa on this "
			    "DC");
	/* the same version: another refusal, not this one */
	assert_false(asa_member_version_mismatch(v2, strlen(v2), "refused",
						 "web1", 2, m, sizeof(m)));
	/* samba-asa 0.1's member refuses the word it does not know */
	assert_true(asa_member_version_mismatch("", 0,
		"samba-asa: request 'samba-asa member install --protocol=2' "
		"ignored: this key may only run `samba-asa member install "
		"[--show | --revoke]`", "web1", 2, m, sizeof(m)));
	assert_non_null(strstr(m, "protocol 1, this DC needs 2"));
	assert_false(asa_member_version_mismatch("", 0, "refused: not a "
						 "keytab", "web1", 2, m,
						 sizeof(m)));
}

static void test_path_valid(void **state)
{
	const char *bad = NULL;

	assert_true(asa_member_path_valid("/etc/apache2/http.keytab", &bad));
	assert_null(bad);
	assert_false(asa_member_path_valid("etc/k", &bad));
	assert_non_null(bad);
	assert_false(asa_member_path_valid("/etc/k k", &bad));
	assert_false(asa_member_path_valid("/etc/../k", &bad));
	assert_false(asa_member_path_valid("/etc//k", &bad));
	assert_false(asa_member_path_valid("/etc/k/", &bad));
	assert_false(asa_member_path_valid("/etc/$(id)", &bad));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answer_line),
		cmocka_unit_test(test_answer_protocol),
		cmocka_unit_test(test_version_mismatch),
		cmocka_unit_test(test_path_valid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
