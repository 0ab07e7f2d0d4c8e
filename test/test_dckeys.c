/*
 * Unit tests of common/dckeys.c: reading the KDC's keys through
 * `samba-tool domain exportkeytab` and re-labelling them.
 *
 * Here samba-tool is a stand-in script first on PATH that records how it
 * was called and does what the test says (writes a keytab, writes
 * nothing, fails, writes garbage).  Against a real DC, with
 * ASA_DCKEYS_LIVE_ACCOUNT, ASA_DCKEYS_LIVE_PASSWORD_FILE, REALM and
 * SMB_CONF_PATH set (selftest/suites/asa_dckeys.sh does that), the live
 * test reads the real keys and compares them with the keys derived from
 * the password the suite set; it is skipped otherwise.
 *
 * Keys in the stand-in tests are made-up bytes.
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
#include <unistd.h>
#include <cmocka.h>

#include <talloc.h>
#include <krb5.h>

#include "keys.h"
#include "keytab.h"
#include "dckeys.h"

#define AES128 ENCTYPE_AES128_CTS_HMAC_SHA1_96
#define AES256 ENCTYPE_AES256_CTS_HMAC_SHA1_96
#define RC4 ENCTYPE_ARCFOUR_HMAC

struct test_ctx {
	krb5_context krb5;
	TALLOC_CTX *mem;
	char dir[64];
	char *old_path;
	struct asa_keytab *exported;	/* what the stand-in "exports" */
};

/* The stand-in: $3 is the keytab to write, as exportkeytab's FILE; what
 * to do is in the file "mode" (its environment is not ours). */
static const char *fake_tool =
	"#!/bin/sh\n"
	"d=$(dirname \"$0\")/..\n"
	"printf '%s\\n' \"$@\" > \"$d/args\"\n"
	"stat -c '%a %n' \"$(dirname \"$3\")\" > \"$d/dirmode\"\n"
	"env > \"$d/env\"\n"
	"echo 'Export one principal to '\"$3\"\n"
	"case \"$(cat \"$d/mode\")\" in\n"
	"ok) cp \"$d/exported\" \"$3\" ;;\n"
	"none) ;;\n"
	"fail) echo 'ERROR: no such thing' >&2; exit 255 ;;\n"
	"garbage) echo 'not a keytab' > \"$3\" ;;\n"
	"none422) echo \"ERROR: Failed to export domain keys into keytab $3:"
	" No keys found while exporting ${4#--principal=}.\" >&2; exit 255 ;;\n"
	"esac\n";

static void write_file(const char *path, const void *data, size_t len,
		       mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	assert_true(fd != -1);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

static struct asa_keytab *make_keys(struct test_ctx *t, krb5_kvno kvno)
{
	static const char *name[] = { "asa1$@MEM.TEST" };
	struct asa_key keys[3];
	uint8_t bytes[3][32];
	struct asa_keytab *kt = NULL;
	size_t i;

	for (i = 0; i < 3; i++) {
		memset(bytes[i], 0x41 + i + kvno, sizeof(bytes[i]));
	}
	keys[0] = (struct asa_key){ AES256, kvno, 32, bytes[0] };
	keys[1] = (struct asa_key){ AES128, kvno, 16, bytes[1] };
	keys[2] = (struct asa_key){ RC4, kvno, 16, bytes[2] };
	assert_int_equal(asa_keytab_build(t->krb5, t->mem, name, 1, keys, 3,
					  1700000000, &kt), 0);
	return kt;
}

static int setup(void **state)
{
	struct test_ctx *t = talloc_zero(NULL, struct test_ctx);
	char path[PATH_MAX];
	uint8_t *data = NULL;
	size_t len = 0;
	const char *old = getenv("PATH");

	assert_non_null(t);
	assert_int_equal(krb5_init_context(&t->krb5), 0);
	t->mem = talloc_new(t);
	strcpy(t->dir, "/tmp/test_dckeys.XXXXXX");
	assert_non_null(mkdtemp(t->dir));

	snprintf(path, sizeof(path), "%s/bin", t->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/bin/samba-tool", t->dir);
	write_file(path, fake_tool, strlen(fake_tool), 0700);

	t->exported = make_keys(t, 7);
	assert_int_equal(asa_keytab_serialize(t->krb5, t->mem, t->exported,
					      &data, &len), 0);
	snprintf(path, sizeof(path), "%s/exported", t->dir);
	write_file(path, data, len, 0600);

	t->old_path = talloc_strdup(t, old != NULL ? old : "/usr/bin:/bin");
	snprintf(path, sizeof(path), "%s/bin:%s", t->dir, t->old_path);
	setenv("PATH", path, 1);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct test_ctx *t = *state;
	const char *files[] = { "bin/samba-tool", "args", "dirmode",
				"exported", "mode", "env" };
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", t->dir, files[i]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/bin", t->dir);
	rmdir(path);
	rmdir(t->dir);
	setenv("PATH", t->old_path, 1);
	krb5_free_context(t->krb5);
	TALLOC_FREE(t);
	return 0;
}

static void set_mode(struct test_ctx *t, const char *mode)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/mode", t->dir);
	write_file(path, mode, strlen(mode), 0600);
}

static char *slurp_path(TALLOC_CTX *mem, const char *path)
{
	char buf[4096];
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd == -1) {
		return NULL;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0) {
		return NULL;
	}
	buf[n] = '\0';
	return talloc_strdup(mem, buf);
}

static char *slurp(TALLOC_CTX *mem, const char *dir, const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return slurp_path(mem, path);
}

/*
 * The private directory the last run of the stand-in was given (the
 * dirname of its FILE argument) is gone.  Checked by name: other tests
 * on this machine may run asa_dc_keys_read() at the same time.
 */
static void assert_dir_removed(struct test_ctx *t)
{
	char *args = slurp(t->mem, t->dir, "args");
	char *file = NULL, *slash = NULL;
	struct stat st;

	assert_non_null(args);
	file = args + strlen("domain\nexportkeytab\n");
	file[strcspn(file, "\n")] = '\0';
	slash = strrchr(file, '/');
	assert_non_null(slash);
	*slash = '\0';
	assert_true(strncmp(file, "/dev/shm/asa-dckeys.", 20) == 0 ||
		    strncmp(file, "/tmp/asa-dckeys.", 16) == 0);
	assert_int_equal(stat(file, &st), -1);
	assert_int_equal(errno, ENOENT);
}

/* What the stand-in exports for asa1$ in mode "ok": three keys. */
static struct asa_keytab *read_three_keys(struct test_ctx *t)
{
	struct asa_keytab *keys = NULL;

	set_mode(t, "ok");
	assert_int_equal(asa_dc_keys_read(t->krb5, t->mem, "/x/smb.conf",
					  "asa1$", &keys), 0);
	assert_non_null(keys);
	assert_int_equal(keys->num_entries, 3);
	return keys;
}

static void test_read(void **state)
{
	struct test_ctx *t = *state;
	struct asa_keytab *keys = NULL;
	char *args = NULL, *mode = NULL, *expect = NULL, *file = NULL;
	char *env = NULL, *old_ldb = NULL;
	size_t i;

	/* (test_live needs the suite's LDB_MODULES_PATH back) */
	old_ldb = talloc_strdup(t->mem, getenv("LDB_MODULES_PATH"));
	setenv("LDB_MODULES_PATH", "/x/ldb-modules", 1);
	setenv("ASA_TEST_SECRET", "not for samba-tool", 1);
	keys = read_three_keys(t);
	unsetenv("ASA_TEST_SECRET");
	if (old_ldb != NULL) {
		setenv("LDB_MODULES_PATH", old_ldb, 1);
	} else {
		unsetenv("LDB_MODULES_PATH");
	}
	/* samba-tool's environment: what a Samba tool needs, no more */
	env = slurp(t->mem, t->dir, "env");
	assert_non_null(env);
	assert_non_null(strstr(env, "LDB_MODULES_PATH=/x/ldb-modules\n"));
	assert_null(strstr(env, "ASA_TEST_SECRET"));
	for (i = 0; i < 3; i++) {
		const struct asa_keytab_entry *e = &keys->entries[i];
		const struct asa_keytab_entry *x = &t->exported->entries[i];

		assert_string_equal(e->principal, "asa1$@MEM.TEST");
		assert_int_equal(e->kvno, 7);
		assert_int_equal(e->enctype, x->enctype);
		assert_memory_equal(e->key, x->key, x->key_length);
	}

	/* How samba-tool was called: no -H, the smb.conf, NAME$ */
	args = slurp(t->mem, t->dir, "args");
	assert_non_null(args);
	file = talloc_strndup(t->mem, args + strlen("domain\nexportkeytab\n"),
			      strcspn(args + strlen("domain\nexportkeytab\n"),
				      "\n"));
	expect = talloc_asprintf(t->mem,
				 "domain\nexportkeytab\n%s\n"
				 "--principal=asa1$\n"
				 "--configfile=/x/smb.conf\n", file);
	assert_string_equal(args, expect);

	/* ... into a private directory under /dev/shm, removed after */
	mode = slurp(t->mem, t->dir, "dirmode");
	assert_non_null(mode);
	assert_true(strncmp(mode, "700 /dev/shm/asa-dckeys.", 24) == 0);
	assert_int_equal(access(file, F_OK), -1);
	assert_dir_removed(t);
}

/*
 * Samba 4.22's exportkeytab writes the previous kvno's keys too (here
 * interleaved with the current ones): only the current keys are read.
 */
static void test_read_previous_kvno(void **state)
{
	struct test_ctx *t = *state;
	static const char *name[] = { "asa1$@MEM.TEST" };
	static const krb5_enctype enctypes[3] = { AES256, AES128, RC4 };
	struct asa_keytab *both = NULL, *keys = NULL;
	struct asa_key k[6];
	uint8_t bytes[6][32];
	uint8_t *data = NULL;
	char path[PATH_MAX];
	size_t len = 0, i;

	for (i = 0; i < 6; i++) {
		krb5_kvno kvno = (i % 2 == 0) ? 6 : 7;

		memset(bytes[i], 0x41 + i, sizeof(bytes[i]));
		k[i] = (struct asa_key){ enctypes[i / 2], kvno,
					 enctypes[i / 2] == AES256 ? 32 : 16,
					 bytes[i] };
	}
	assert_int_equal(asa_keytab_build(t->krb5, t->mem, name, 1, k, 6,
					  1700000000, &both), 0);
	assert_int_equal(asa_keytab_serialize(t->krb5, t->mem, both, &data,
					      &len), 0);
	snprintf(path, sizeof(path), "%s/exported", t->dir);
	write_file(path, data, len, 0600);

	keys = read_three_keys(t);
	for (i = 0; i < 3; i++) {
		const struct asa_keytab_entry *e = &keys->entries[i];

		assert_int_equal(e->kvno, 7);
		assert_int_equal(e->enctype, enctypes[i]);
		assert_memory_equal(e->key, bytes[2 * i + 1], e->key_length);
	}
}

static void test_read_default_conf(void **state)
{
	struct test_ctx *t = *state;
	struct asa_keytab *keys = NULL;
	char *args = NULL;

	set_mode(t, "ok");
	assert_int_equal(asa_dc_keys_read(t->krb5, t->mem, NULL, "asa1$",
					  &keys), 0);
	args = slurp(t->mem, t->dir, "args");
	assert_non_null(args);
	assert_null(strstr(args, "--configfile"));
}

static void test_read_unknown_account(void **state)
{
	struct test_ctx *t = *state;
	struct asa_keytab *keys = NULL;
	const char *msg = NULL;

	/* exportkeytab exits 0 and writes no file for an unknown name */
	set_mode(t, "none");
	assert_int_equal(asa_dc_keys_read(t->krb5, t->mem, NULL, "nosuch$",
					  &keys), KRB5_KT_NOTFOUND);
	assert_null(keys);
	msg = krb5_get_error_message(t->krb5, KRB5_KT_NOTFOUND);
	assert_non_null(strstr(msg, "nosuch$"));
	krb5_free_error_message(t->krb5, msg);
	assert_dir_removed(t);

	/* Samba 4.22's exportkeytab says so and exits 255: the same */
	set_mode(t, "none422");
	assert_int_equal(asa_dc_keys_read(t->krb5, t->mem, NULL, "nosuch$",
					  &keys), KRB5_KT_NOTFOUND);
	assert_null(keys);
	assert_dir_removed(t);
}

static void test_read_tool_fails(void **state)
{
	struct test_ctx *t = *state;
	struct asa_keytab *keys = NULL;
	krb5_error_code ret;
	const char *msg = NULL;

	set_mode(t, "fail");
	ret = asa_dc_keys_read(t->krb5, t->mem, NULL, "asa1$", &keys);
	assert_int_equal(ret, KRB5_KT_IOERR);
	assert_null(keys);
	msg = krb5_get_error_message(t->krb5, ret);
	assert_non_null(strstr(msg, "exit 255"));
	assert_non_null(strstr(msg, "ERROR: no such thing"));
	krb5_free_error_message(t->krb5, msg);
}

static void test_read_garbage(void **state)
{
	struct test_ctx *t = *state;
	struct asa_keytab *keys = NULL;

	set_mode(t, "garbage");
	assert_int_equal(asa_dc_keys_read(t->krb5, t->mem, NULL, "asa1$",
					  &keys), KRB5_KT_FORMAT);
	assert_null(keys);
	assert_dir_removed(t);
}

static void test_read_no_tool(void **state)
{
	struct test_ctx *t = *state;
	struct asa_keytab *keys = NULL;
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/nothing-here", t->dir);
	setenv("PATH", path, 1);
	assert_int_equal(asa_dc_keys_read(t->krb5, t->mem, NULL, "asa1$",
					  &keys), ENOENT);
	assert_int_equal(asa_dc_keys_read(t->krb5, t->mem, NULL, "",
					  &keys), EINVAL);
}

static void test_for_principals(void **state)
{
	struct test_ctx *t = *state;
	const char *names[] = { "asa1$@MEM.TEST",
				"http/mail.mem.test@MEM.TEST" };
	struct asa_keytab *kt = NULL;
	size_t i, j;

	assert_int_equal(asa_dc_keys_for_principals(t->krb5, t->mem,
						    t->exported, names, 2,
						    &kt), 0);
	assert_int_equal(kt->num_entries, 6);
	for (i = 0; i < 2; i++) {
		for (j = 0; j < 3; j++) {
			const struct asa_keytab_entry *x =
				&t->exported->entries[j];
			const struct asa_keytab_entry *e =
				asa_keytab_find(kt, names[i], x->kvno,
						x->enctype);

			assert_non_null(e);
			assert_int_equal(e->key_length, x->key_length);
			assert_memory_equal(e->key, x->key, x->key_length);
		}
	}
	/* what verify checks: every principal holds the reference's keys */
	assert_int_equal(asa_keytab_check_keys(t->krb5, kt, t->exported,
					       names, 2), 0);
	assert_int_equal(asa_dc_keys_for_principals(t->krb5, t->mem,
						    NULL, names, 2, &kt),
			 KRB5_KT_NOTFOUND);
}

static void test_select(void **state)
{
	struct test_ctx *t = *state;
	struct asa_keytab *kt = NULL;

	/* 0: the ASA default, AES only */
	assert_int_equal(asa_dc_keys_select(t->krb5, t->mem, t->exported, 0,
					    &kt), 0);
	assert_int_equal(kt->num_entries, 2);
	assert_null(asa_keytab_find(kt, "asa1$@MEM.TEST", 7, RC4));
	assert_non_null(asa_keytab_find(kt, "asa1$@MEM.TEST", 7, AES256));
	assert_non_null(asa_keytab_find(kt, "asa1$@MEM.TEST", 7, AES128));

	assert_int_equal(asa_dc_keys_select(t->krb5, t->mem, t->exported,
					    ASA_ENCTYPE_BIT_AES256, &kt), 0);
	assert_int_equal(kt->num_entries, 1);
	assert_int_equal(kt->entries[0].enctype, AES256);

	assert_int_equal(asa_dc_keys_select(t->krb5, t->mem, t->exported,
					    0x1c, &kt), 0);
	assert_int_equal(kt->num_entries, 3);

	/* DES only: nothing we can use */
	assert_int_equal(asa_dc_keys_select(t->krb5, t->mem, t->exported,
					    0x3, &kt), KRB5_BAD_ENCTYPE);
}

/* Against a real DC: the KDC's keys are the ones derived from the
 * password the suite set, at the account's kvno. */
static void test_live(void **state)
{
	struct test_ctx *t = *state;
	const char *account = getenv("ASA_DCKEYS_LIVE_ACCOUNT");
	const char *pwfile = getenv("ASA_DCKEYS_LIVE_PASSWORD_FILE");
	const char *kvno_text = getenv("ASA_DCKEYS_LIVE_KVNO");
	const char *realm = getenv("REALM");
	const char *smb_conf = getenv("SMB_CONF_PATH");
	struct asa_keytab *dc = NULL, *derived_kt = NULL;
	struct asa_key *keys = NULL;
	char *salt = NULL, *password = NULL, *principal = NULL;
	const char *principals[1];
	size_t num_keys = 0, i;
	krb5_kvno kvno;
	krb5_error_code ret;

	if (account == NULL || pwfile == NULL || realm == NULL ||
	    smb_conf == NULL || kvno_text == NULL) {
		skip();
	}
	setenv("PATH", t->old_path, 1);

	password = slurp_path(t->mem, pwfile);
	assert_non_null(password);
	password[strcspn(password, "\n")] = '\0';
	asa_secret_wipe_on_free(password);

	ret = asa_dc_keys_read(t->krb5, t->mem, smb_conf, account, &dc);
	if (ret != 0) {
		const char *msg = krb5_get_error_message(t->krb5, ret);

		fail_msg("asa_dc_keys_read: %s", msg);
	}
	/* AES256, AES128 and RC4, all at the account's kvno */
	kvno = (krb5_kvno)strtoul(kvno_text, NULL, 10);
	assert_int_equal(dc->num_entries, 3);
	principal = talloc_asprintf(t->mem, "%s@%s", account, realm);
	for (i = 0; i < dc->num_entries; i++) {
		assert_string_equal(dc->entries[i].principal, principal);
		assert_int_equal(dc->entries[i].kvno, kvno);
	}

	assert_int_equal(asa_salt_computer(t->mem, realm, account, &salt), 0);
	assert_int_equal(asa_keys_derive(t->krb5, t->mem, password, salt,
					 0x1c, kvno, &keys, &num_keys), 0);
	assert_int_equal(num_keys, 3);
	principals[0] = principal;
	assert_int_equal(asa_keytab_build(t->krb5, t->mem, principals, 1,
					  keys, num_keys, 0, &derived_kt), 0);
	assert_int_equal(asa_keytab_check_keys(t->krb5, derived_kt, dc,
					       principals, 1), 0);

	/* and a key from another password does not pass */
	TALLOC_FREE(keys);
	assert_int_equal(asa_keys_derive(t->krb5, t->mem, "not-the-password",
					 salt, 0x1c, kvno, &keys, &num_keys),
			 0);
	assert_int_equal(asa_keytab_build(t->krb5, t->mem, principals, 1,
					  keys, num_keys, 0, &derived_kt), 0);
	assert_int_equal(asa_keytab_check_keys(t->krb5, derived_kt, dc,
					       principals, 1),
			 KRB5KRB_AP_ERR_BAD_INTEGRITY);

	/* an account the directory does not have */
	assert_int_equal(asa_dc_keys_read(t->krb5, t->mem, smb_conf,
					  "no-such-asa-account$", &dc),
			 KRB5_KT_NOTFOUND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_previous_kvno,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_default_conf,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_unknown_account,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_tool_fails,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_garbage,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_no_tool,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_for_principals,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_select,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_live, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
