/*
 * Unit tests of common/member.c: member URLs (parsing, canonical form,
 * refusal of what a shell or ssh would interpret, ports, IPv6), the ssh
 * command line, the member's reply, which principals a member accepts,
 * the local transport, and the push/fetch engine driven through a fake
 * ssh program (a shell script standing in for ssh: it answers as a
 * member would, hangs, or fails as ssh does when a host is unreachable).
 *
 * Real ssh to real members is tested by selftest/suites/member_install.sh.
 * Keys here are made-up bytes.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <setjmp.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <talloc.h>
#include <krb5.h>

#include "keys.h"
#include "keytab.h"
#include "member.h"

#define AES256 ENCTYPE_AES256_CTS_HMAC_SHA1_96

#define TEST_FIXTURE_NAME "test_member"
#include "test_fixture.h"

/* ----------------------------------------------------------------------
 * URLs
 */

static struct asa_member_url *parse_ok(TALLOC_CTX *mem, const char *text)
{
	struct asa_member_url *url = NULL;
	char *why = NULL;
	int ret = asa_member_url_parse(mem, text, &url, &why);

	if (ret != 0) {
		fail_msg("'%s' refused: %s", text, why ? why : "?");
	}
	assert_null(why);
	assert_non_null(url);
	return url;
}

static void parse_bad(TALLOC_CTX *mem, const char *text, const char *reason)
{
	struct asa_member_url *url = NULL;
	char *why = NULL;
	int ret = asa_member_url_parse(mem, text, &url, &why);

	if (ret != EINVAL) {
		fail_msg("'%s' accepted (ret %d)", text, ret);
	}
	assert_null(url);
	assert_non_null(why);
	assert_true(strncmp(why, "member URL", 10) == 0);
	if (reason != NULL && strstr(why, reason) == NULL) {
		fail_msg("'%s': message '%s' lacks '%s'", text, why, reason);
	}
}

static void test_url_ssh(void **state)
{
	struct test_ctx *t = *state;
	struct asa_member_url *u = NULL;

	u = parse_ok(t->mem, "ssh://root@m1.mem.test/etc/apache2/http.keytab");
	assert_int_equal(u->transport, ASA_MEMBER_SSH);
	assert_string_equal(u->user, "root");
	assert_string_equal(u->host, "m1.mem.test");
	assert_int_equal(u->port, 0);
	assert_string_equal(u->path, "/etc/apache2/http.keytab");
	assert_string_equal(asa_member_url_name(t->mem, u), "m1.mem.test");

	u = parse_ok(t->mem, "ssh://m2/k");
	assert_null(u->user);
	assert_string_equal(u->host, "m2");
	assert_string_equal(u->path, "/k");

	u = parse_ok(t->mem, "ssh://asa-push@127.0.0.51:2222/var/lib/k.kt");
	assert_string_equal(u->user, "asa-push");
	assert_string_equal(u->host, "127.0.0.51");
	assert_int_equal(u->port, 2222);
}

static void test_url_local(void **state)
{
	struct test_ctx *t = *state;
	struct asa_member_url *u = NULL;

	u = parse_ok(t->mem, "local:/etc/krb5.http.keytab");
	assert_int_equal(u->transport, ASA_MEMBER_LOCAL);
	assert_null(u->host);
	assert_string_equal(u->path, "/etc/krb5.http.keytab");
	assert_string_equal(asa_member_url_name(t->mem, u), "local");
	assert_string_equal(asa_member_url_string(t->mem, u),
			    "local:/etc/krb5.http.keytab");

	parse_bad(t->mem, "local:etc/k", "absolute");
	parse_bad(t->mem, "local:", "absolute");
	parse_bad(t->mem, "local://etc/k", "component");
}

static void test_url_canonical(void **state)
{
	struct test_ctx *t = *state;
	static const struct {
		const char *in;
		const char *out;
	} cases[] = {
		{ "SSH://root@M1.Mem.Test/etc/k", "ssh://root@m1.mem.test/etc/k" },
		{ "ssh://m1:022/k", "ssh://m1:22/k" },
		{ "ssh://[2001:DB8:0:0::1]:2222/k", "ssh://[2001:db8::1]:2222/k" },
		{ "ssh://u@[::1]/k", "ssh://u@[::1]/k" },
		{ "LOCAL:/k", "local:/k" },
		{ "ssh://Admin@h/Path/With/Case", "ssh://Admin@h/Path/With/Case" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct asa_member_url *u = parse_ok(t->mem, cases[i].in);
		char *s = asa_member_url_string(t->mem, u);
		struct asa_member_url *again = NULL;

		assert_string_equal(s, cases[i].out);
		/* The canonical form parses back to itself. */
		again = parse_ok(t->mem, s);
		assert_string_equal(asa_member_url_string(t->mem, again), s);
	}
}

static void test_url_ports(void **state)
{
	struct test_ctx *t = *state;

	assert_int_equal(parse_ok(t->mem, "ssh://h:1/k")->port, 1);
	assert_int_equal(parse_ok(t->mem, "ssh://h:65535/k")->port, 65535);
	parse_bad(t->mem, "ssh://h:0/k", "1..65535");
	parse_bad(t->mem, "ssh://h:65536/k", "1..65535");
	parse_bad(t->mem, "ssh://h:99999999999999999999/k", "1..65535");
	parse_bad(t->mem, "ssh://h:/k", "port");
	parse_bad(t->mem, "ssh://h:22a/k", "number");
	parse_bad(t->mem, "ssh://h:-22/k", "number");
	parse_bad(t->mem, "ssh://h:+22/k", "number");
	parse_bad(t->mem, "ssh://[::1]:0/k", "1..65535");
	parse_bad(t->mem, "ssh://[::1]x/k", "port");
}

static void test_url_ipv6(void **state)
{
	struct test_ctx *t = *state;
	struct asa_member_url *u = NULL;

	u = parse_ok(t->mem, "ssh://[fe80::1]/k");
	assert_string_equal(u->host, "fe80::1");	/* no brackets */
	assert_string_equal(asa_member_url_name(t->mem, u), "fe80::1");
	u = parse_ok(t->mem, "ssh://[::ffff:127.0.0.1]:22/k");
	assert_string_equal(u->host, "::ffff:127.0.0.1");

	parse_bad(t->mem, "ssh://::1/k", "brackets");
	parse_bad(t->mem, "ssh://2001:db8::1/k", "brackets");
	parse_bad(t->mem, "ssh://[2001:db8::1/k", "']'");
	parse_bad(t->mem, "ssh://[]/k", "IPv6");
	parse_bad(t->mem, "ssh://[not-v6]/k", "IPv6");
	parse_bad(t->mem, "ssh://[fe80::1%eth0]/k", "IPv6");
	parse_bad(t->mem, "ssh://[127.0.0.1]/k", "IPv6");
}

static void test_url_metacharacters(void **state)
{
	struct test_ctx *t = *state;
	static const char *bad[] = {
		/* options for ssh */
		"ssh://-oProxyCommand=touch@h/k",
		"ssh://-oProxyCommand=x/k",
		"ssh://u@-p/k",
		/* the shell, in the user, host or path */
		"ssh://r;oot@h/k",
		"ssh://root@h;id/k",
		"ssh://root@h/k;id",
		"ssh://root@h/k|id",
		"ssh://root@h/k&id",
		"ssh://root@h/$(id)",
		"ssh://root@h/`id`",
		"ssh://root@h/k'x",
		"ssh://root@h/k\"x",
		"ssh://root@h/k\\x",
		"ssh://root@h/k>x",
		"ssh://root@h/k*",
		"ssh://root@h/k?",
		"ssh://root@h/~/k",
		"ssh://root@h/k#x",
		"ssh://root@h/k x",
		"ssh://root@h/k\tx",
		"ssh://root@h/k\nx",
		"ssh://root@h/k%20",
		"ssh://ro ot@h/k",
		"ssh://root@h x/k",
		"ssh://root@h%x/k",
		"ssh://root@h/k\x7f",
		"ssh://root@h/k\xc3\xa9",
		/* more than one @, an empty user or host */
		"ssh://a@b@h/k",
		"ssh://@h/k",
		"ssh:///k",
		"ssh://root@/k",
		"ssh://root@:22/k",
		/* hosts */
		"ssh://-h/k",
		"ssh://h-/k",
		"ssh://.h/k",
		"ssh://h./k",
		"ssh://a..b/k",
		/* paths */
		"ssh://h",
		"ssh://h/",
		"ssh://h/etc/../shadow",
		"ssh://h/etc/./k",
		"ssh://h/etc//k",
		"ssh://h/etc/k/",
		/* schemes */
		"http://h/k",
		"ssh:/h/k",
		"sftp://h/k",
		"file:///k",
		"/etc/k",
		"",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		parse_bad(t->mem, bad[i], NULL);
	}

	/* A path component may start with '-': it follows "--keytab=" and
	 * never stands alone in argv. */
	parse_ok(t->mem, "ssh://h/-k");
}

static void test_url_limits(void **state)
{
	struct test_ctx *t = *state;
	char *label = talloc_zero_size(t->mem, 70);
	char *long_url = NULL;
	char *why = NULL;
	struct asa_member_url *u = NULL;

	memset(label, 'a', 64);
	parse_bad(t->mem, talloc_asprintf(t->mem, "ssh://%s/k", label),
		  "host");
	label[63] = '\0';
	parse_ok(t->mem, talloc_asprintf(t->mem, "ssh://%s.b/k", label));

	long_url = talloc_zero_size(t->mem, 2000);
	memcpy(long_url, "ssh://h/", 8);
	memset(long_url + 8, 'k', 1500);
	assert_int_equal(asa_member_url_parse(t->mem, long_url, &u, &why),
			 EINVAL);
	/* An unprintable URL is not repeated in the message. */
	assert_int_equal(asa_member_url_parse(t->mem, "ssh://h/\x01", &u,
					      &why), EINVAL);
	assert_null(strchr(why, '\x01'));
	assert_int_equal(asa_member_url_parse(t->mem, NULL, &u, &why),
			 EINVAL);
}

/* ----------------------------------------------------------------------
 * The ssh command line and the reply
 */

static bool argv_has(char **argv, const char *a, const char *b)
{
	size_t i;

	for (i = 0; argv[i] != NULL; i++) {
		if (strcmp(argv[i], a) == 0 &&
		    (b == NULL || (argv[i + 1] != NULL &&
				   strcmp(argv[i + 1], b) == 0))) {
			return true;
		}
	}
	return false;
}

static void test_ssh_argv(void **state)
{
	struct test_ctx *t = *state;
	struct asa_member_transport_options o = {
		.ssh_identity = "/var/lib/samba/private/asa/id_ed25519",
		.ssh_known_hosts = "/var/lib/samba/private/asa/known_hosts",
		.timeout_seconds = 5,
		.local_gid = (gid_t)-1,
	};
	struct asa_member_url *u = NULL;
	char **argv = NULL;
	size_t n;

	u = parse_ok(t->mem, "ssh://admin@[::1]:2222/etc/k");
	argv = asa_member_ssh_argv(t->mem, &o, u, false);
	assert_non_null(argv);
	assert_string_equal(argv[0], "ssh");
	assert_true(argv_has(argv, "-i", o.ssh_identity));
	assert_true(argv_has(argv, "-o", "BatchMode=yes"));
	assert_true(argv_has(argv, "-o", "IdentitiesOnly=yes"));
	assert_true(argv_has(argv, "-o", "StrictHostKeyChecking=yes"));
	assert_true(argv_has(argv, "-o", "ConnectTimeout=5"));
	assert_true(argv_has(argv, "-o", "UserKnownHostsFile="
			     "/var/lib/samba/private/asa/known_hosts"));
	assert_true(argv_has(argv, "-l", "admin"));
	assert_true(argv_has(argv, "-p", "2222"));
	for (n = 0; argv[n] != NULL; n++) {
	}
	/* "--", the host, then the one command word, last. */
	assert_true(n >= 3);
	assert_string_equal(argv[n - 3], "--");
	assert_string_equal(argv[n - 2], "::1");
	assert_string_equal(argv[n - 1],
			    "samba-asa member install --protocol=2 "
			    "--keytab=/etc/k");

	o.ssh_known_hosts = "/var/lib/samba/private dir/known_hosts";
	argv = asa_member_ssh_argv(t->mem, &o, u, false);
	assert_true(argv_has(argv, "-o", "UserKnownHostsFile="
			     "\"/var/lib/samba/private dir/known_hosts\""));

	o.accept_new_host_key = true;
	o.ssh_program = "/usr/bin/ssh";
	o.remote_command = "/usr/local/bin/samba-asa";
	o.timeout_seconds = 60;
	u = parse_ok(t->mem, "ssh://m1/etc/k");
	argv = asa_member_ssh_argv(t->mem, &o, u, true);
	assert_string_equal(argv[0], "/usr/bin/ssh");
	assert_true(argv_has(argv, "-o", "StrictHostKeyChecking=accept-new"));
	assert_true(argv_has(argv, "-o", "ConnectTimeout=10"));
	assert_false(argv_has(argv, "-l", NULL));
	assert_false(argv_has(argv, "-p", NULL));
	for (n = 0; argv[n] != NULL; n++) {
	}
	assert_string_equal(argv[n - 1], "/usr/local/bin/samba-asa member "
			    "install --protocol=2 --show --keytab=/etc/k");
}

static void test_reply_parse(void **state)
{
	struct test_ctx *t = *state;
	krb5_kvno *kvnos = NULL;
	size_t n = 0;
	const char *r1 = "installed /etc/k (mode 0600)\nkvnos: 7 6\n";
	const char *r2 = "kvnos: 12";

	assert_int_equal(asa_member_reply_parse(t->mem, r1, strlen(r1),
						&kvnos, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(kvnos[0], 7);
	assert_int_equal(kvnos[1], 6);
	assert_int_equal(asa_member_reply_parse(t->mem, r2, strlen(r2),
						&kvnos, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(kvnos[0], 12);

	assert_int_equal(asa_member_reply_parse(t->mem, "ok\n", 3, &kvnos,
						&n), EPROTO);
	assert_int_equal(asa_member_reply_parse(t->mem, "kvnos: x\n", 9,
						&kvnos, &n), EPROTO);
	assert_int_equal(asa_member_reply_parse(t->mem, "kvnos: 0\n", 9,
						&kvnos, &n), EPROTO);
	assert_int_equal(asa_member_reply_parse(t->mem, "kvnos: 4294967296",
						17, &kvnos, &n), EPROTO);
	assert_int_equal(asa_member_reply_parse(t->mem, "kvnos: 3-2", 10,
						&kvnos, &n), EPROTO);
}

/* ----------------------------------------------------------------------
 * What a member accepts, and the local transport
 */

static struct asa_keytab *make_keytab(struct test_ctx *t, krb5_kvno kvno,
				      unsigned int seed, ...)
{
	const char *names[8];
	size_t n = 0, i;
	struct asa_key key = { .enctype = AES256, .length = 32, .kvno = kvno };
	struct asa_keytab *kt = NULL;
	va_list ap;

	va_start(ap, seed);
	while (n < 8 && (names[n] = va_arg(ap, const char *)) != NULL) {
		n++;
	}
	va_end(ap);
	key.contents = talloc_size(t->mem, 32);
	assert_non_null(key.contents);
	for (i = 0; i < 32; i++) {
		key.contents[i] = (uint8_t)(seed + i);
	}
	assert_int_equal(asa_keytab_build(t->krb5, t->mem, names, n, &key, 1,
					  1700000000, &kt), 0);
	return kt;
}

static krb5_error_code accepts(struct test_ctx *t,
			       const struct asa_keytab *incoming,
			       const struct asa_keytab *current,
			       const char * const *pinned, size_t num_pinned)
{
	char **expected = NULL;
	size_t n = 0;
	const char *account = NULL;

	return asa_member_expected_principals(t->krb5, t->mem, incoming,
					      current, pinned, num_pinned,
					      &expected, &n, &account);
}

static void test_expected_principals(void **state)
{
	struct test_ctx *t = *state;
	struct asa_keytab *kt = NULL;
	struct asa_keytab *other = NULL;
	char **expected = NULL;
	size_t n = 0;
	const char *account = NULL;
	const char *pinned[] = { "asa1$@MEM.TEST" };
	const char *pinned_spn[] = {
		"asa1$@MEM.TEST", "http/mail.mem.test@MEM.TEST",
	};

	kt = make_keytab(t, 2, 1, "asa1$@MEM.TEST",
			 "http/mail.mem.test@MEM.TEST",
			 "exchangeMDB/outlook.mem.test@MEM.TEST", NULL);
	assert_int_equal(asa_member_expected_principals(t->krb5, t->mem, kt,
							NULL, NULL, 0,
							&expected, &n,
							&account), 0);
	assert_int_equal(n, 3);
	assert_string_equal(account, "asa1$@MEM.TEST");

	/* the same account as the keytab there: yes; another: no */
	assert_int_equal(accepts(t, kt, kt, NULL, 0), 0);
	other = make_keytab(t, 5, 9, "asa2$@MEM.TEST", NULL);
	assert_int_equal(accepts(t, other, kt, NULL, 0), KRB5_PRINC_NOMATCH);
	assert_int_equal(accepts(t, other, NULL, NULL, 0), 0);

	/* no account, two accounts, two realms, a KDC principal, a user */
	assert_int_equal(accepts(t, make_keytab(t, 2, 1,
			"http/mail.mem.test@MEM.TEST", NULL), NULL, NULL, 0),
			 KRB5_PRINC_NOMATCH);
	assert_int_equal(accepts(t, make_keytab(t, 2, 1, "asa1$@MEM.TEST",
			"asa2$@MEM.TEST", NULL), NULL, NULL, 0),
			 KRB5_PRINC_NOMATCH);
	assert_int_equal(accepts(t, make_keytab(t, 2, 1, "asa1$@MEM.TEST",
			"http/x@OTHER.TEST", NULL), NULL, NULL, 0),
			 KRB5_PRINC_NOMATCH);
	assert_int_equal(accepts(t, make_keytab(t, 2, 1, "asa1$@MEM.TEST",
			"krbtgt/MEM.TEST@MEM.TEST", NULL), NULL, NULL, 0),
			 KRB5_PRINC_NOMATCH);
	assert_int_equal(accepts(t, make_keytab(t, 2, 1, "asa1$@MEM.TEST",
			"kadmin/admin@MEM.TEST", NULL), NULL, NULL, 0),
			 KRB5_PRINC_NOMATCH);
	assert_int_equal(accepts(t, make_keytab(t, 2, 1, "asa1$@MEM.TEST",
			"administrator@MEM.TEST", NULL), NULL, NULL, 0),
			 KRB5_PRINC_NOMATCH);

	/* one pinned account: that account, with its SPNs; no other */
	assert_int_equal(accepts(t, make_keytab(t, 2, 1, "asa1$@MEM.TEST",
			NULL), NULL, pinned, 1), 0);
	assert_int_equal(accepts(t, kt, NULL, pinned, 1), 0);
	assert_int_equal(accepts(t, other, NULL, pinned, 1),
			 KRB5_PRINC_NOMATCH);
	/* a pinned service principal: the exact list */
	assert_int_equal(accepts(t, kt, NULL, pinned_spn, 2),
			 KRB5_PRINC_NOMATCH);
	assert_int_equal(accepts(t, make_keytab(t, 2, 1, "asa1$@MEM.TEST",
			"http/mail.mem.test@MEM.TEST", NULL), NULL,
			pinned_spn, 2), 0);
	/* empty */
	assert_int_equal(accepts(t, talloc_zero(t->mem, struct asa_keytab),
				 NULL, NULL, 0), KRB5_KT_NOTFOUND);
}

static char *path_in(struct test_ctx *t, const char *name)
{
	return talloc_asprintf(t->mem, "%s/%s", t->dir, name);
}

static void test_local_push_fetch(void **state)
{
	struct test_ctx *t = *state;
	struct asa_member_transport_options o = { .local_gid = (gid_t)-1 };
	struct asa_member_result *r = NULL;
	const struct asa_member_url *urls[2];
	uint8_t *data = NULL;
	size_t length = 0;
	krb5_kvno kvno;
	struct stat st;
	char *kt_path = path_in(t, "local.keytab");
	char *missing = path_in(t, "missing.keytab");

	urls[0] = parse_ok(t->mem, talloc_asprintf(t->mem, "local:%s",
						   kt_path));
	urls[1] = parse_ok(t->mem, talloc_asprintf(t->mem, "local:%s",
						   missing));
	for (kvno = 2; kvno <= 4; kvno++) {
		struct asa_keytab *kt = make_keytab(t, kvno, (uint8_t)kvno,
			"asa1$@MEM.TEST", "http/mail.mem.test@MEM.TEST", NULL);

		assert_int_equal(asa_keytab_serialize(t->krb5, t->mem, kt,
						      &data, &length), 0);
		assert_int_equal(asa_member_push(t->mem, t->krb5, &o, urls, 1,
						 data, length, &r), 0);
		assert_int_equal(r[0].error, 0);
		assert_int_equal(r[0].kvnos[0], kvno);
		assert_int_equal(r[0].num_kvnos, kvno == 2 ? 1 : 2);
	}
	assert_int_equal(stat(kt_path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);

	/* the transport's mode and group */
	o.local_mode = 0640;
	o.local_gid = getgid();
	assert_int_equal(asa_member_push(t->mem, t->krb5, &o, urls, 1,
					 data, length, &r), 0);
	assert_int_equal(r[0].error, 0);
	assert_int_equal(stat(kt_path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(st.st_gid, getgid());
	o.local_mode = 0;
	o.local_gid = (gid_t)-1;

	/* garbage: refused, keytab untouched */
	assert_int_equal(asa_member_push(t->mem, t->krb5, &o, urls, 1,
					 (const uint8_t *)"garbage", 7, &r),
			 0);
	assert_int_not_equal(r[0].error, 0);
	assert_non_null(strstr(r[0].message, "local:"));

	/* fetch: kvnos 4 and 3 (2 dropped); a missing keytab fails alone */
	assert_int_equal(asa_member_fetch(t->mem, t->krb5, &o, urls, 2, &r),
			 0);
	assert_int_equal(r[0].error, 0);
	assert_non_null(r[0].keytab);
	assert_int_equal(r[0].num_kvnos, 2);
	assert_int_equal(r[0].kvnos[0], 4);
	assert_int_equal(r[0].kvnos[1], 3);
	assert_int_equal(r[0].keytab->num_entries, 4);
	assert_int_equal(r[1].error, ENOENT);
	assert_non_null(strstr(r[1].message, missing));
}

/* ----------------------------------------------------------------------
 * The push engine, with a fake ssh
 *
 * The script stands in for ssh: it finds the host (the word after "--")
 * and the command (the last word), then, by host: "ok*" saves its stdin
 * and environment and answers as `member install` does; "slow" answers
 * after a while; "hang" never answers; "down" fails as ssh does (255);
 * "refuse" fails as a refusing member does (1); "show" writes a keytab;
 * "count*" notes its start and end in conc.log and answers after 0.3 s.
 */

static const char fake_ssh[] =
	"#!/bin/sh\n"
	"dir=$(dirname \"$0\")\n"
	"host=; cmd=\n"
	"while [ $# -gt 0 ]; do\n"
	"	if [ \"$1\" = -- ]; then host=$2; cmd=$3; break; fi\n"
	"	shift\n"
	"done\n"
	"echo \"$cmd\" >\"$dir/cmd.$host\"\n"
	"case $host in\n"
	"ok*)	cat >\"$dir/stdin.$host\"; env >\"$dir/env.$host\"\n"
	"	echo \"installed /k (mode 0600)\"; echo \"kvnos: 3 2\" ;;\n"
	"slow)	cat >/dev/null; sleep 1; echo \"kvnos: 3\" ;;\n"
	"hang)	exec sleep 60 ;;\n"
	"down)	echo \"ssh: connect to host down port 22: Connection refused\" >&2\n"
	"	exit 255 ;;\n"
	"refuse) cat >/dev/null; echo \"samba-asa: refused: not a keytab\" >&2\n"
	"	exit 1 ;;\n"
	"noreply) cat >/dev/null ;;\n"
	"show)	cat \"$dir/show.keytab\" ;;\n"
	"count*) echo + >>\"$dir/conc.log\"; cat >/dev/null; sleep 0.3\n"
	"	echo - >>\"$dir/conc.log\"; echo \"kvnos: 3\" ;;\n"
	"esac\n";

static char *write_fake_ssh(struct test_ctx *t)
{
	char *path = path_in(t, "fake-ssh");
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(fake_ssh, f) >= 0, true);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, 0700), 0);
	return path;
}

static char *read_all(TALLOC_CTX *mem, const char *path, size_t *length)
{
	int fd = open(path, O_RDONLY);
	char *buf = talloc_zero_size(mem, 65536);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, 65535);
	close(fd);
	assert_true(n >= 0);
	*length = (size_t)n;
	return buf;
}

static void test_push_many(void **state)
{
	struct test_ctx *t = *state;
	struct asa_member_transport_options o = {
		.timeout_seconds = 3,
		.ssh_identity = "/nonexistent/id",
		.local_gid = (gid_t)-1,
	};
	const char *texts[] = {
		"ssh://root@ok1/k", "ssh://down/k", "ssh://ok2:2222/k",
		"ssh://hang/k", "ssh://refuse/k", "ssh://noreply/k",
		"ssh://slow/k", "ssh://ok3/k",
	};
	const size_t n = sizeof(texts) / sizeof(texts[0]);
	const struct asa_member_url *urls[8];
	struct asa_member_result *r = NULL;
	uint8_t payload[100000];
	size_t i, got_len;
	char *got = NULL;
	char *env = NULL;

	o.ssh_program = write_fake_ssh(t);
	for (i = 0; i < n; i++) {
		urls[i] = parse_ok(t->mem, texts[i]);
	}
	/* Bigger than a pipe's buffer: written as the child reads. */
	for (i = 0; i < sizeof(payload); i++) {
		payload[i] = (uint8_t)(i * 7);
	}
	setenv("ASA_TEST_SECRET", "must-not-reach-the-child", 1);
	assert_int_equal(asa_member_push(t->mem, t->krb5, &o, urls, n,
					 payload, sizeof(payload), &r), 0);
	unsetenv("ASA_TEST_SECRET");

	/* ok1, ok2, ok3, slow: done; each got the whole keytab */
	for (i = 0; i < n; i++) {
		if (strncmp(urls[i]->host, "ok", 2) != 0) {
			continue;
		}
		assert_int_equal(r[i].error, 0);
		assert_ptr_equal(r[i].url, urls[i]);
		assert_int_equal(r[i].num_kvnos, 2);
		assert_int_equal(r[i].kvnos[0], 3);
		assert_int_equal(r[i].kvnos[1], 2);
		got = read_all(t->mem, talloc_asprintf(t->mem, "%s/stdin.%s",
						       t->dir, urls[i]->host),
			       &got_len);
		(void)got;
	}
	assert_int_equal(r[6].error, 0);
	assert_int_equal(r[6].kvnos[0], 3);

	/* the keytab arrived whole, through stdin only */
	{
		int fd = open(talloc_asprintf(t->mem, "%s/stdin.ok1", t->dir),
			      O_RDONLY);
		uint8_t *buf = talloc_size(t->mem, sizeof(payload) + 1);
		ssize_t len = 0, k;

		assert_true(fd >= 0);
		while ((k = read(fd, buf + len,
				 sizeof(payload) + 1 - len)) > 0) {
			len += k;
		}
		close(fd);
		assert_int_equal(len, sizeof(payload));
		assert_memory_equal(buf, payload, sizeof(payload));
	}
	env = read_all(t->mem, talloc_asprintf(t->mem, "%s/env.ok1", t->dir),
		       &got_len);
	assert_null(strstr(env, "ASA_TEST_SECRET"));
	assert_null(strstr(env, "must-not-reach"));
	got = read_all(t->mem, talloc_asprintf(t->mem, "%s/cmd.ok2", t->dir),
		       &got_len);
	assert_string_equal(got, "samba-asa member install --protocol=2 "
			    "--keytab=/k\n");

	/* down: ssh's failure, naming the member */
	assert_int_equal(r[1].error, EHOSTUNREACH);
	assert_non_null(strstr(r[1].message, "member down"));
	assert_non_null(strstr(r[1].message, "Connection refused"));
	/* hang: killed at its deadline, the others unaffected */
	assert_int_equal(r[3].error, ETIMEDOUT);
	assert_non_null(strstr(r[3].message, "member hang"));
	/* refuse: the member's own words */
	assert_int_equal(r[4].error, EPERM);
	assert_non_null(strstr(r[4].message, "member refuse refused"));
	assert_non_null(strstr(r[4].message, "not a keytab"));
	/* noreply: exit 0 but no kvnos */
	assert_int_equal(r[5].error, EPROTO);
	assert_non_null(strstr(r[5].message, "member noreply"));
}

static void test_fetch_and_missing_ssh(void **state)
{
	struct test_ctx *t = *state;
	struct asa_member_transport_options o = {
		.timeout_seconds = 10,
		.local_gid = (gid_t)-1,
	};
	const struct asa_member_url *urls[2];
	struct asa_member_result *r = NULL;
	struct asa_keytab *kt = make_keytab(t, 7, 3, "asa1$@MEM.TEST",
					    "http/a.mem.test@MEM.TEST", NULL);
	uint8_t *data = NULL;
	size_t length = 0;
	FILE *f = NULL;
	char *cmd = NULL;
	size_t len;
	int ret;

	o.ssh_program = write_fake_ssh(t);
	assert_int_equal(asa_keytab_serialize(t->krb5, t->mem, kt, &data,
					      &length), 0);
	f = fopen(path_in(t, "show.keytab"), "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, length, f), length);
	assert_int_equal(fclose(f), 0);

	urls[0] = parse_ok(t->mem, "ssh://show/etc/k");
	urls[1] = parse_ok(t->mem, "ssh://down/etc/k");
	assert_int_equal(asa_member_fetch(t->mem, t->krb5, &o, urls, 2, &r),
			 0);
	assert_int_equal(r[0].error, 0);
	assert_non_null(r[0].keytab);
	assert_int_equal(r[0].keytab->num_entries, 2);
	assert_int_equal(r[0].num_kvnos, 1);
	assert_int_equal(r[0].kvnos[0], 7);
	assert_int_equal(asa_keytab_check_keys(t->krb5, r[0].keytab, kt,
		(const char *[]){ "asa1$@MEM.TEST" }, 1), 0);
	cmd = read_all(t->mem, path_in(t, "cmd.show"), &len);
	assert_string_equal(cmd, "samba-asa member install --protocol=2 --show "
			    "--keytab=/etc/k\n");
	assert_int_equal(r[1].error, EHOSTUNREACH);

	/*
	 * No ssh at all: every result says so, and so does the call.  (Under
	 * valgrind, posix_spawn() forks and the child's exec fails with
	 * status 127 instead: the results still fail, naming the member.)
	 */
	o.ssh_program = path_in(t, "no-such-ssh");
	ret = asa_member_fetch(t->mem, t->krb5, &o, urls, 2, &r);
	assert_non_null(r);
	assert_int_not_equal(r[0].error, 0);
	assert_int_not_equal(r[1].error, 0);
	assert_non_null(strstr(r[0].message, "member show"));
	if (getenv("ASA_UNDER_VALGRIND") == NULL) {
		assert_int_equal(ret, ENOENT);
		assert_int_equal(r[0].error, ENOENT);
		assert_int_equal(r[1].error, ENOENT);
	}
}

/* The most "count*" members at once in conc.log; the log is removed. */
static int max_at_once(struct test_ctx *t)
{
	char *path = path_in(t, "conc.log");
	FILE *f = fopen(path, "r");
	char line[16];
	int now = 0, most = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		now += (line[0] == '+') ? 1 : -1;
		most = now > most ? now : most;
	}
	fclose(f);
	unlink(path);
	assert_int_equal(now, 0);
	return most;
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * asa:member concurrency: never more ssh children at once than it says;
 * without it, the default (16) lets ten run together.  A member that
 * hangs holds one slot until its deadline: the others pass it.
 */
static void test_push_bounded(void **state)
{
	struct test_ctx *t = *state;
	struct asa_member_transport_options o = {
		.timeout_seconds = 20,
		.local_gid = (gid_t)-1,
		.concurrency = 3,
	};
	const struct asa_member_url *urls[11];
	struct asa_member_result *r = NULL;
	uint8_t payload[] = { 5, 2, 0, 0 };
	double t0;
	size_t i;

	o.ssh_program = write_fake_ssh(t);
	for (i = 0; i < 10; i++) {
		urls[i] = parse_ok(t->mem, talloc_asprintf(
					   t->mem, "ssh://count%zu/k", i));
	}
	assert_int_equal(asa_member_push(t->mem, t->krb5, &o, urls, 10,
					 payload, sizeof(payload), &r), 0);
	for (i = 0; i < 10; i++) {
		assert_int_equal(r[i].error, 0);
	}
	assert_int_equal(max_at_once(t), 3);

	o.concurrency = 0;
	assert_int_equal(asa_member_push(t->mem, t->krb5, &o, urls, 10,
					 payload, sizeof(payload), &r), 0);
	assert_int_equal(max_at_once(t), 10);

	/* One slot of two hangs; the ten others still go through the
	 * other, each 0.3 s, each with a deadline of its own. */
	o.concurrency = 2;
	o.timeout_seconds = 5;
	urls[10] = urls[0];
	urls[0] = parse_ok(t->mem, "ssh://hang/k");
	t0 = now_seconds();
	assert_int_equal(asa_member_push(t->mem, t->krb5, &o, urls, 11,
					 payload, sizeof(payload), &r), 0);
	assert_true(now_seconds() - t0 < 60);
	assert_int_equal(r[0].error, ETIMEDOUT);
	assert_non_null(strstr(r[0].message, "member hang: no answer "
			       "within 5 s"));
	for (i = 1; i < 11; i++) {
		assert_int_equal(r[i].error, 0);
	}
	assert_int_equal(max_at_once(t), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url_ssh),
		cmocka_unit_test(test_url_local),
		cmocka_unit_test(test_url_canonical),
		cmocka_unit_test(test_url_ports),
		cmocka_unit_test(test_url_ipv6),
		cmocka_unit_test(test_url_metacharacters),
		cmocka_unit_test(test_url_limits),
		cmocka_unit_test(test_ssh_argv),
		cmocka_unit_test(test_reply_parse),
		cmocka_unit_test(test_expected_principals),
		cmocka_unit_test(test_local_push_fetch),
		cmocka_unit_test(test_push_many),
		cmocka_unit_test(test_fetch_and_missing_ssh),
		cmocka_unit_test(test_push_bounded),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
