/*
 * Unit tests of common/keytab.c: building, parsing untrusted bytes,
 * validating, merging (newest two kvnos kept) and writing keytabs
 * atomically with the right mode.
 *
 * Keys here are made-up bytes, never derived from a real password.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <setjmp.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <talloc.h>
#include <krb5.h>

#include "keys.h"
#include "keytab.h"

#define AES128 ENCTYPE_AES128_CTS_HMAC_SHA1_96
#define AES256 ENCTYPE_AES256_CTS_HMAC_SHA1_96

static const char *principals[] = {
	"asa1$@MEM.TEST",
	"http/mail.mem.test@MEM.TEST",
	"exchangeMDB/outlook.mem.test@MEM.TEST",
};

#define TEST_FIXTURE_NAME "test_keytab"
#include "test_fixture.h"

/* Made-up keys at a kvno: AES256 and AES128, bytes derived from seed. */
static struct asa_key *fake_keys(TALLOC_CTX *mem, krb5_kvno kvno,
				 uint8_t seed)
{
	struct asa_key *keys = talloc_zero_array(mem, struct asa_key, 2);
	size_t i, j;

	assert_non_null(keys);
	keys[0].enctype = AES256;
	keys[0].length = 32;
	keys[1].enctype = AES128;
	keys[1].length = 16;
	for (i = 0; i < 2; i++) {
		keys[i].kvno = kvno;
		keys[i].contents = talloc_size(keys, keys[i].length);
		assert_non_null(keys[i].contents);
		for (j = 0; j < keys[i].length; j++) {
			keys[i].contents[j] = (uint8_t)(seed + i * 64 + j);
		}
	}
	return keys;
}

static struct asa_keytab *fake_keytab(struct test_ctx *t, size_t num_princ,
				      krb5_kvno kvno, uint8_t seed)
{
	struct asa_keytab *kt = NULL;
	struct asa_key *keys = fake_keys(t->mem, kvno, seed);

	assert_int_equal(asa_keytab_build(t->krb5, t->mem, principals,
					  num_princ, keys, 2, 1700000000,
					  &kt), 0);
	return kt;
}

static const struct asa_keytab_entry *find(const struct asa_keytab *kt,
					   const char *principal,
					   krb5_kvno kvno,
					   krb5_enctype enctype)
{
	size_t i;

	for (i = 0; i < kt->num_entries; i++) {
		const struct asa_keytab_entry *e = &kt->entries[i];

		if (e->kvno == kvno && e->enctype == enctype &&
		    strcmp(e->principal, principal) == 0) {
			return e;
		}
	}
	return NULL;
}

static void assert_same_keytab(const struct asa_keytab *a,
			       const struct asa_keytab *b)
{
	size_t i;

	assert_int_equal(a->num_entries, b->num_entries);
	for (i = 0; i < a->num_entries; i++) {
		const struct asa_keytab_entry *x = &a->entries[i];
		const struct asa_keytab_entry *y = NULL;

		y = find(b, x->principal, x->kvno, x->enctype);
		assert_non_null(y);
		assert_int_equal(x->key_length, y->key_length);
		assert_memory_equal(x->key, y->key, x->key_length);
	}
}

/* ------------------------------------------------------------------ */

static void test_principals(void **state)
{
	struct test_ctx *t = *state;
	const char *spns[] = {
		"http/mail.mem.test",
		"exchangeMDB/outlook.mem.test",
		"http/mail.mem.test",	/* twice: one entry */
	};
	char **names = NULL;
	size_t n = 0;

	assert_int_equal(asa_keytab_principals(t->krb5, t->mem, "mem.test",
					       "asa1$", spns, 3, &names, &n),
			 0);
	assert_int_equal(n, 3);
	assert_string_equal(names[0], "asa1$@MEM.TEST");
	assert_string_equal(names[1], "http/mail.mem.test@MEM.TEST");
	assert_string_equal(names[2],
			    "exchangeMDB/outlook.mem.test@MEM.TEST");
}

static void test_principals_refuse_odd_names(void **state)
{
	struct test_ctx *t = *state;
	const char *at[] = { "http/mail@EVIL.TEST" };
	const char *empty[] = { "" };
	char **names = NULL;
	size_t n = 0;

	assert_int_equal(asa_keytab_principals(t->krb5, t->mem, "MEM.TEST",
					       "asa1$", at, 1, &names, &n),
			 EINVAL);
	assert_null(names);
	assert_int_equal(asa_keytab_principals(t->krb5, t->mem, "MEM.TEST",
					       "asa1$", empty, 1, &names, &n),
			 EINVAL);
	assert_int_equal(asa_keytab_principals(t->krb5, t->mem, "",
					       "asa1$", NULL, 0, &names, &n),
			 EINVAL);
}

static void test_build(void **state)
{
	struct test_ctx *t = *state;
	struct asa_keytab *kt = fake_keytab(t, 3, 5, 1);
	const struct asa_keytab_entry *e = NULL;

	/* One entry per principal and key. */
	assert_int_equal(kt->num_entries, 6);
	e = find(kt, "http/mail.mem.test@MEM.TEST", 5, AES128);
	assert_non_null(e);
	assert_int_equal(e->key_length, 16);
	assert_int_equal(e->timestamp, 1700000000);
}

static void test_serialize_parse_roundtrip(void **state)
{
	struct test_ctx *t = *state;
	struct asa_keytab *kt = fake_keytab(t, 3, 300, 7);
	struct asa_keytab *back = NULL;
	uint8_t *data = NULL;
	size_t len = 0;

	assert_int_equal(asa_keytab_serialize(t->krb5, t->mem, kt, &data,
					      &len), 0);
	assert_true(len > 2);
	assert_int_equal(data[0], 0x05);
	assert_int_equal(data[1], 0x02);
	assert_int_equal(asa_keytab_parse(t->krb5, t->mem, data, len, &back),
			 0);
	/* kvno 300 survives: MIT's 32-bit kvno field is read. */
	assert_same_keytab(kt, back);
	assert_non_null(find(back, "asa1$@MEM.TEST", 300, AES256));
}

/* What we write, MIT's own reader reads the same. */
/*
 * A private key directory left by a process that is gone (killed before
 * it could remove it) is removed by the next one made; one of a live
 * process is left alone; the new one is 0700 and carries our PID.
 */
static void test_secret_dir_sweeps_dead_owners(void **state)
{
	struct test_ctx *t = *state;
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	char dead[PATH_MAX], live[PATH_MAX], file[PATH_MAX + 16], dir[64];
	char mine[64];
	struct stat st;
	long pid;
	int fd;

	/* a PID nobody has */
	for (pid = 4194000; pid > 300000; pid--) {
		if (kill((pid_t)pid, 0) != 0 && errno == ESRCH) {
			break;
		}
	}
	snprintf(dead, sizeof(dead), "%s/asa-testsweep.%ld.abcdef", base, pid);
	snprintf(live, sizeof(live), "%s/asa-testsweep.1.abcdef", base);
	assert_int_equal(mkdir(dead, 0700), 0);
	assert_int_equal(mkdir(live, 0700), 0);
	snprintf(file, sizeof(file), "%s/keytab", dead);
	fd = open(file, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);

	assert_int_equal(asa_secret_dir_make(t->krb5, "testsweep", dir,
					     sizeof(dir)), 0);
	assert_int_equal(stat(dead, &st), -1);		/* swept */
	assert_int_equal(stat(live, &st), 0);		/* PID 1 lives */
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	snprintf(mine, sizeof(mine), "%s/asa-testsweep.%ld.", base,
		 (long)getpid());
	assert_int_equal(strncmp(dir, mine, strlen(mine)), 0);
	rmdir(dir);
	rmdir(live);
}

/*
 * Entries named like a dead process's private directory that are not
 * one of ours (a symbolic link to a directory, a directory with another
 * mode) are neither followed nor removed by the sweep.
 */
static void test_secret_dir_sweep_leaves_planted(void **state)
{
	struct test_ctx *t = *state;
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	char victim[] = "/tmp/asa-test-victim.XXXXXX";
	char link[PATH_MAX], open_dir[PATH_MAX], file[PATH_MAX + 16];
	char dir[64];
	struct stat st;
	long pid;
	int fd;

	for (pid = 4194000; pid > 300000; pid--) {
		if (kill((pid_t)pid, 0) != 0 && errno == ESRCH) {
			break;
		}
	}
	assert_non_null(mkdtemp(victim));
	snprintf(file, sizeof(file), "%s/precious", victim);
	fd = open(file, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "keep", 4), 4);
	close(fd);
	snprintf(link, sizeof(link), "%s/asa-testplant.%ld.abcdef", base, pid);
	snprintf(open_dir, sizeof(open_dir), "%s/asa-testplant.%ld.ghijkl",
		 base, pid);
	assert_int_equal(symlink(victim, link), 0);
	assert_int_equal(mkdir(open_dir, 0700), 0);
	assert_int_equal(chmod(open_dir, 0755), 0);

	assert_int_equal(asa_secret_dir_make(t->krb5, "testplant", dir,
					     sizeof(dir)), 0);
	assert_int_equal(lstat(link, &st), 0);		/* not removed */
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(stat(file, &st), 0);		/* not followed */
	assert_int_equal(st.st_size, 4);
	assert_int_equal(stat(open_dir, &st), 0);	/* not ours: 0755 */
	rmdir(dir);
	unlink(link);
	rmdir(open_dir);
	unlink(file);
	rmdir(victim);
}

static void test_written_file_read_by_mit(void **state)
{
	struct test_ctx *t = *state;
	struct asa_keytab *kt = fake_keytab(t, 2, 9, 3);
	char path[128], name[140];
	krb5_keytab mit = NULL;
	krb5_kt_cursor cursor;
	krb5_keytab_entry entry;
	char *pname = NULL;
	size_t seen = 0;
	const struct asa_keytab_entry *e = NULL;

	snprintf(path, sizeof(path), "%s/mit.keytab", t->dir);
	snprintf(name, sizeof(name), "FILE:%s", path);
	assert_int_equal(asa_keytab_write_file(t->krb5, kt, path, 0600,
					       (gid_t)-1), 0);
	assert_int_equal(krb5_kt_resolve(t->krb5, name, &mit), 0);
	assert_int_equal(krb5_kt_start_seq_get(t->krb5, mit, &cursor), 0);
	while (krb5_kt_next_entry(t->krb5, mit, &entry, &cursor) == 0) {
		assert_int_equal(krb5_unparse_name(t->krb5, entry.principal,
						   &pname), 0);
		e = find(kt, pname, entry.vno, entry.key.enctype);
		assert_non_null(e);
		assert_int_equal(entry.key.length, e->key_length);
		assert_memory_equal(entry.key.contents, e->key,
				    e->key_length);
		krb5_free_unparsed_name(t->krb5, pname);
		krb5_free_keytab_entry_contents(t->krb5, &entry);
		seen++;
	}
	krb5_kt_end_seq_get(t->krb5, mit, &cursor);
	krb5_kt_close(t->krb5, mit);
	assert_int_equal(seen, kt->num_entries);
}

static void test_parse_refuses_garbage(void **state)
{
	struct test_ctx *t = *state;
	struct asa_keytab *kt = NULL;
	uint8_t junk[512];
	size_t i;

	assert_int_equal(asa_keytab_parse(t->krb5, t->mem, NULL, 0, &kt),
			 KRB5_KT_FORMAT);
	assert_int_equal(asa_keytab_parse(t->krb5, t->mem,
					  (const uint8_t *)"hello world", 11,
					  &kt), KRB5_KT_FORMAT);
	/* Version 1 (native byte order) is not accepted. */
	assert_int_equal(asa_keytab_parse(t->krb5, t->mem,
					  (const uint8_t *)"\x05\x01", 2,
					  &kt), KRB5_KT_FORMAT);
	/* A text file, a shell script, an ssh banner... */
	assert_int_equal(asa_keytab_parse(t->krb5, t->mem,
					  (const uint8_t *)"#!/bin/sh\n", 10,
					  &kt), KRB5_KT_FORMAT);
	/* Right version, then noise. */
	for (i = 0; i < sizeof(junk); i++) {
		junk[i] = (uint8_t)(i * 131 + 17);
	}
	junk[0] = 0x05;
	junk[1] = 0x02;
	assert_int_not_equal(asa_keytab_parse(t->krb5, t->mem, junk,
					      sizeof(junk), &kt), 0);
	assert_null(kt);
	/* A length past the end. */
	assert_int_equal(asa_keytab_parse(t->krb5, t->mem,
					  (const uint8_t *)
					  "\x05\x02\x00\x00\x10\x00\x00", 7,
					  &kt), KRB5_KT_FORMAT);
	/* The most negative hole. */
	assert_int_equal(asa_keytab_parse(t->krb5, t->mem,
					  (const uint8_t *)
					  "\x05\x02\x80\x00\x00\x00", 6,
					  &kt), KRB5_KT_FORMAT);
	/* Half a record length. */
	assert_int_equal(asa_keytab_parse(t->krb5, t->mem,
					  (const uint8_t *)"\x05\x02\x00\x00",
					  4, &kt), KRB5_KT_FORMAT);
}

static void test_parse_empty_keytab(void **state)
{
	struct test_ctx *t = *state;
	struct asa_keytab *kt = NULL;

	assert_int_equal(asa_keytab_parse(t->krb5, t->mem,
					  (const uint8_t *)"\x05\x02", 2,
					  &kt), 0);
	assert_int_equal(kt->num_entries, 0);
	/* MIT's end marker, then unused space. */
	assert_int_equal(asa_keytab_parse(t->krb5, t->mem,
					  (const uint8_t *)
					  "\x05\x02\x00\x00\x00\x00\xff\xff",
					  8, &kt), 0);
	assert_int_equal(kt->num_entries, 0);
}

static void test_parse_every_truncation(void **state)
{
	struct test_ctx *t = *state;
	struct asa_keytab *kt = fake_keytab(t, 3, 4, 9);
	struct asa_keytab *back = NULL;
	uint8_t *data = NULL;
	size_t len = 0, cut;
	krb5_error_code ret;

	assert_int_equal(asa_keytab_serialize(t->krb5, t->mem, kt, &data,
					      &len), 0);
	for (cut = 0; cut < len; cut++) {
		ret = asa_keytab_parse(t->krb5, t->mem, data, cut, &back);
		if (ret == 0) {
			/* Only a cut between whole records parses, and
			 * then to fewer entries. */
			assert_true(back->num_entries < kt->num_entries);
			TALLOC_FREE(back);
		} else {
			assert_int_equal(ret, KRB5_KT_FORMAT);
			assert_null(back);
		}
	}
}

/* Build one record by hand: v2 header, one entry. */
static size_t craft(uint8_t *buf, uint16_t ncomp, uint16_t enctype,
		    uint16_t keylen, uint8_t kvno8, const uint8_t *kvno32)
{
	size_t p = 6, i;
	size_t rec;

	buf[0] = 0x05;
	buf[1] = 0x02;
	buf[p++] = ncomp >> 8;
	buf[p++] = ncomp & 0xff;
	buf[p++] = 0;
	buf[p++] = 8;
	memcpy(&buf[p], "MEM.TEST", 8);
	p += 8;
	for (i = 0; i < ncomp; i++) {
		buf[p++] = 0;
		buf[p++] = 1;
		buf[p++] = 'a' + (i % 26);
	}
	memset(&buf[p], 0, 8);	/* name type, timestamp */
	buf[p + 3] = 1;
	p += 8;
	buf[p++] = kvno8;
	buf[p++] = enctype >> 8;
	buf[p++] = enctype & 0xff;
	buf[p++] = keylen >> 8;
	buf[p++] = keylen & 0xff;
	memset(&buf[p], 0x5a, keylen);
	p += keylen;
	if (kvno32 != NULL) {
		memcpy(&buf[p], kvno32, 4);
		p += 4;
	}
	rec = p - 6;
	buf[2] = (rec >> 24) & 0xff;
	buf[3] = (rec >> 16) & 0xff;
	buf[4] = (rec >> 8) & 0xff;
	buf[5] = rec & 0xff;
	return p;
}

static void test_parse_refuses_bad_entries(void **state)
{
	struct test_ctx *t = *state;
	struct asa_keytab *kt = NULL;
	uint8_t buf[1024];
	size_t len;

	/* A good one first, so the others fail for their own reason. */
	len = craft(buf, 2, AES128, 16, 3, NULL);
	assert_int_equal(asa_keytab_parse(t->krb5, t->mem, buf, len, &kt), 0);
	assert_int_equal(kt->num_entries, 1);
	assert_string_equal(kt->entries[0].principal, "a/b@MEM.TEST");
	assert_int_equal(kt->entries[0].kvno, 3);

	/* The 32-bit kvno replaces the 8-bit one. */
	len = craft(buf, 2, AES128, 16, 3,
		    (const uint8_t *)"\x00\x00\x01\x03");
	assert_int_equal(asa_keytab_parse(t->krb5, t->mem, buf, len, &kt), 0);
	assert_int_equal(kt->entries[0].kvno, 259);

	/* Key of the wrong length for its enctype. */
	len = craft(buf, 2, AES256, 16, 3, NULL);
	assert_int_equal(asa_keytab_parse(t->krb5, t->mem, buf, len, &kt),
			 KRB5_BAD_KEYSIZE);
	/* Unknown enctype. */
	len = craft(buf, 2, 999, 16, 3, NULL);
	assert_int_equal(asa_keytab_parse(t->krb5, t->mem, buf, len, &kt),
			 KRB5_BAD_ENCTYPE);
	/* kvno 0. */
	len = craft(buf, 2, AES128, 16, 0, NULL);
	assert_int_equal(asa_keytab_parse(t->krb5, t->mem, buf, len, &kt),
			 KRB5_KT_FORMAT);
	/* No components; too many components. */
	len = craft(buf, 0, AES128, 16, 3, NULL);
	assert_int_equal(asa_keytab_parse(t->krb5, t->mem, buf, len, &kt),
			 KRB5_KT_FORMAT);
	len = craft(buf, ASA_KEYTAB_MAX_COMPONENTS + 1, AES128, 16, 3, NULL);
	assert_int_equal(asa_keytab_parse(t->krb5, t->mem, buf, len, &kt),
			 KRB5_KT_FORMAT);
	/* A component length running out of its record. */
	len = craft(buf, 2, AES128, 16, 3, NULL);
	buf[18] = 0xff;
	assert_int_equal(asa_keytab_parse(t->krb5, t->mem, buf, len, &kt),
			 KRB5_KT_FORMAT);
}

static void test_parse_skips_holes(void **state)
{
	struct test_ctx *t = *state;
	struct asa_keytab *kt = NULL;
	uint8_t buf[1024];
	uint8_t holed[1024];
	size_t len;

	len = craft(buf, 2, AES128, 16, 3, NULL);
	/* header, a 5-byte hole (size -5), then the record */
	memcpy(holed, "\x05\x02\xff\xff\xff\xfb\x01\x02\x03\x04\x05", 11);
	memcpy(&holed[11], &buf[2], len - 2);
	assert_int_equal(asa_keytab_parse(t->krb5, t->mem, holed,
					  len - 2 + 11, &kt), 0);
	assert_int_equal(kt->num_entries, 1);
}

static void test_parse_size_limit(void **state)
{
	struct test_ctx *t = *state;
	struct asa_keytab *kt = NULL;
	uint8_t *big = talloc_zero_size(t->mem, ASA_KEYTAB_MAX_SIZE + 1);

	assert_non_null(big);
	big[0] = 0x05;
	big[1] = 0x02;
	assert_int_equal(asa_keytab_parse(t->krb5, t->mem, big,
					  ASA_KEYTAB_MAX_SIZE + 1, &kt),
			 KRB5_KT_FORMAT);
	/* The same size less one is allowed (all end marker). */
	assert_int_equal(asa_keytab_parse(t->krb5, t->mem, big,
					  ASA_KEYTAB_MAX_SIZE, &kt), 0);
	TALLOC_FREE(big);
}

static void test_read_fd_pipe(void **state)
{
	struct test_ctx *t = *state;
	struct asa_keytab *kt = fake_keytab(t, 3, 2, 5);
	struct asa_keytab *back = NULL;
	uint8_t *data = NULL;
	size_t len = 0;
	int fds[2];

	assert_int_equal(asa_keytab_serialize(t->krb5, t->mem, kt, &data,
					      &len), 0);
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], data, len), (ssize_t)len);
	close(fds[1]);
	assert_int_equal(asa_keytab_read_fd(t->krb5, t->mem, fds[0], &back),
			 0);
	close(fds[0]);
	assert_same_keytab(kt, back);

	/* Garbage on the pipe. */
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], "not a keytab\n", 13), 13);
	close(fds[1]);
	assert_int_equal(asa_keytab_read_fd(t->krb5, t->mem, fds[0], &back),
			 KRB5_KT_FORMAT);
	close(fds[0]);
}

static void test_read_file_missing(void **state)
{
	struct test_ctx *t = *state;
	struct asa_keytab *kt = NULL;
	char path[128];

	snprintf(path, sizeof(path), "%s/none.keytab", t->dir);
	assert_int_equal(asa_keytab_read_file(t->krb5, t->mem, path, false,
					      &kt), ENOENT);
	assert_int_equal(asa_keytab_read_file(t->krb5, t->mem, path, true,
					      &kt), 0);
	assert_int_equal(kt->num_entries, 0);
}

static void test_check_principals(void **state)
{
	struct test_ctx *t = *state;
	struct asa_keytab *kt = fake_keytab(t, 3, 2, 1);
	struct asa_keytab *empty = NULL;

	assert_int_equal(asa_keytab_check_principals(t->krb5, kt, principals,
						     3, true), 0);
	/* A principal not of this account. */
	assert_int_equal(asa_keytab_check_principals(t->krb5, kt, principals,
						     2, false),
			 KRB5_PRINC_NOMATCH);
	/* One expected principal missing. */
	kt = fake_keytab(t, 2, 2, 1);
	assert_int_equal(asa_keytab_check_principals(t->krb5, kt, principals,
						     3, false), 0);
	assert_int_equal(asa_keytab_check_principals(t->krb5, kt, principals,
						     3, true),
			 KRB5_KT_NOTFOUND);
	/* Nothing at all. */
	assert_int_equal(asa_keytab_parse(t->krb5, t->mem,
					  (const uint8_t *)"\x05\x02", 2,
					  &empty), 0);
	assert_int_equal(asa_keytab_check_principals(t->krb5, empty,
						     principals, 3, false),
			 KRB5_KT_NOTFOUND);
	/* Case matters: Kerberos names are case-sensitive. */
	{
		const char *upper[] = { "ASA1$@MEM.TEST",
					"http/mail.mem.test@MEM.TEST" };

		kt = fake_keytab(t, 2, 2, 1);
		assert_int_equal(asa_keytab_check_principals(t->krb5, kt,
							     upper, 2, false),
				 KRB5_PRINC_NOMATCH);
	}
}

/* Roll after roll: 1, then 2, then 3: kvnos 3 and 2 remain. */
static void test_merge_keeps_newest_two(void **state)
{
	struct test_ctx *t = *state;
	struct asa_keytab *k1 = fake_keytab(t, 3, 1, 10);
	struct asa_keytab *k2 = fake_keytab(t, 3, 2, 20);
	struct asa_keytab *k3 = fake_keytab(t, 3, 3, 30);
	struct asa_keytab *m = NULL;
	krb5_kvno *kvnos = NULL;
	size_t n = 0;

	assert_int_equal(asa_keytab_merge(t->krb5, t->mem, NULL, k1, 2, &m),
			 0);
	assert_int_equal(m->num_entries, 6);
	assert_int_equal(asa_keytab_merge(t->krb5, t->mem, m, k2, 2, &m), 0);
	assert_int_equal(m->num_entries, 12);
	assert_int_equal(asa_keytab_merge(t->krb5, t->mem, m, k3,
					  ASA_KEYTAB_KEEP_KVNOS, &m), 0);
	assert_int_equal(m->num_entries, 12);

	assert_int_equal(asa_keytab_kvnos(t->mem, m, NULL, &kvnos, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(kvnos[0], 3);	/* Latest */
	assert_int_equal(kvnos[1], 2);	/* Previous */
	assert_null(find(m, "asa1$@MEM.TEST", 1, AES256));
	assert_memory_equal(find(m, "asa1$@MEM.TEST", 2, AES256)->key,
			    find(k2, "asa1$@MEM.TEST", 2, AES256)->key, 32);
	assert_memory_equal(find(m, "asa1$@MEM.TEST", 3, AES256)->key,
			    find(k3, "asa1$@MEM.TEST", 3, AES256)->key, 32);
}

/* A roll cut short before the directory changed reuses its kvno: the
 * member must end with the new key at that kvno, not the abandoned one. */
static void test_merge_incoming_replaces_same_kvno(void **state)
{
	struct test_ctx *t = *state;
	struct asa_keytab *cur = fake_keytab(t, 2, 2, 20);
	struct asa_keytab *abandoned = fake_keytab(t, 2, 3, 30);
	struct asa_keytab *retry = fake_keytab(t, 2, 3, 99);
	struct asa_keytab *m = NULL;

	assert_int_equal(asa_keytab_merge(t->krb5, t->mem, cur, abandoned, 2,
					  &m), 0);
	assert_int_equal(asa_keytab_merge(t->krb5, t->mem, m, retry, 2, &m),
			 0);
	assert_int_equal(m->num_entries, 8);
	assert_memory_equal(find(m, "http/mail.mem.test@MEM.TEST", 3,
				 AES128)->key,
			    find(retry, "http/mail.mem.test@MEM.TEST", 3,
				 AES128)->key, 16);
	assert_non_null(find(m, "asa1$@MEM.TEST", 2, AES128));
}

/* Installing the same keytab twice changes nothing. */
static void test_merge_idempotent(void **state)
{
	struct test_ctx *t = *state;
	struct asa_keytab *cur = fake_keytab(t, 3, 2, 20);
	struct asa_keytab *inc = fake_keytab(t, 3, 3, 30);
	struct asa_keytab *m1 = NULL, *m2 = NULL;

	assert_int_equal(asa_keytab_merge(t->krb5, t->mem, cur, inc, 2, &m1),
			 0);
	assert_int_equal(asa_keytab_merge(t->krb5, t->mem, m1, inc, 2, &m2),
			 0);
	assert_same_keytab(m1, m2);
}

/* An older kvno arriving late does not push out the newer ones. */
static void test_merge_older_incoming_dropped(void **state)
{
	struct test_ctx *t = *state;
	struct asa_keytab *k2 = fake_keytab(t, 1, 2, 20);
	struct asa_keytab *k3 = fake_keytab(t, 1, 3, 30);
	struct asa_keytab *k1 = fake_keytab(t, 1, 1, 10);
	struct asa_keytab *m = NULL;

	assert_int_equal(asa_keytab_merge(t->krb5, t->mem, k2, k3, 2, &m), 0);
	assert_int_equal(asa_keytab_merge(t->krb5, t->mem, m, k1, 2, &m), 0);
	assert_int_equal(m->num_entries, 4);
	assert_null(find(m, "asa1$@MEM.TEST", 1, AES128));
}

/* kvnos above 255 compare as numbers, not as their low byte. */
static void test_merge_large_kvno(void **state)
{
	struct test_ctx *t = *state;
	struct asa_keytab *a = fake_keytab(t, 1, 255, 1);
	struct asa_keytab *b = fake_keytab(t, 1, 256, 2);
	struct asa_keytab *c = fake_keytab(t, 1, 257, 3);
	struct asa_keytab *m = NULL;
	krb5_kvno *kvnos = NULL;
	size_t n = 0;

	assert_int_equal(asa_keytab_merge(t->krb5, t->mem, a, b, 2, &m), 0);
	assert_int_equal(asa_keytab_merge(t->krb5, t->mem, m, c, 2, &m), 0);
	assert_int_equal(asa_keytab_kvnos(t->mem, m, "asa1$@MEM.TEST",
					  &kvnos, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(kvnos[0], 257);
	assert_int_equal(kvnos[1], 256);
}

/* A keytab of one made-up principal with the given keys. */
static struct asa_keytab *one_principal(struct test_ctx *t, const char *p,
					krb5_kvno kvno, uint8_t seed)
{
	struct asa_keytab *kt = NULL;
	const char *names[] = { p };

	assert_int_equal(asa_keytab_build(t->krb5, t->mem, names, 1,
					  fake_keys(t->mem, kvno, seed), 2,
					  1700000000, &kt), 0);
	return kt;
}

static size_t entries_of(const struct asa_keytab *kt, const char *p)
{
	size_t i, n = 0;

	for (i = 0; i < kt->num_entries; i++) {
		n += strcmp(kt->entries[i].principal, p) == 0;
	}
	return n;
}

/*
 * An SPN taken off the ASA: the member held it (kvnos 2 and 3, the
 * account's keys); a push of the account and the other SPN at kvno 4
 * drops it, while keys the member keeps of its own (other bytes, even at
 * the same kvno) stay.
 */
static void test_retire_dropped_spn(void **state)
{
	struct test_ctx *t = *state;
	const char *own = "host/web1.mem.test@MEM.TEST";
	struct asa_keytab *cur = NULL, *kept = NULL, *m = NULL;
	size_t dropped = 0;

	assert_int_equal(asa_keytab_merge(t->krb5, t->mem,
					  fake_keytab(t, 3, 2, 20),
					  fake_keytab(t, 3, 3, 30), 2, &cur),
			 0);
	assert_int_equal(asa_keytab_merge(t->krb5, t->mem, cur,
					  one_principal(t, own, 3, 77), 2,
					  &cur), 0);
	assert_int_equal(cur->num_entries, 14);

	assert_int_equal(asa_keytab_retire(t->krb5, t->mem, cur,
					   fake_keytab(t, 2, 4, 40), false,
					   &kept, &dropped), 0);
	assert_int_equal(dropped, 4);
	assert_int_equal(entries_of(kept, principals[2]), 0);
	assert_int_equal(entries_of(kept, principals[0]), 4);
	assert_int_equal(entries_of(kept, principals[1]), 4);
	assert_int_equal(entries_of(kept, own), 2);

	/* What install writes: the merge after it. */
	assert_int_equal(asa_keytab_merge(t->krb5, t->mem, kept,
					  fake_keytab(t, 2, 4, 40), 2, &m), 0);
	assert_int_equal(entries_of(m, principals[2]), 0);
	assert_non_null(find(m, principals[1], 4, AES256));
	assert_non_null(find(m, principals[1], 3, AES256));
	assert_null(find(m, principals[1], 2, AES256));
	assert_non_null(find(m, own, 3, AES256));
}

/*
 * The same keys arriving again (no principal gone) drop nothing; nor does
 * a push whose keys match nothing the member holds under other names.
 */
static void test_retire_keeps_carried(void **state)
{
	struct test_ctx *t = *state;
	struct asa_keytab *cur = fake_keytab(t, 3, 3, 30);
	struct asa_keytab *kept = NULL;
	size_t dropped = 1;

	assert_int_equal(asa_keytab_retire(t->krb5, t->mem, cur,
					   fake_keytab(t, 3, 4, 40), false,
					   &kept, &dropped), 0);
	assert_int_equal(dropped, 0);
	assert_same_keytab(cur, kept);
	assert_int_equal(asa_keytab_retire(t->krb5, t->mem, NULL,
					   fake_keytab(t, 3, 4, 40), false,
					   &kept, &dropped), 0);
	assert_int_equal(kept->num_entries, 0);
	assert_int_equal(dropped, 0);
}

/*
 * An SPN left behind long ago is recognised by the account's keys that
 * the member still holds at its kvno, even when the push carries neither
 * that SPN nor that kvno.
 */
static void test_retire_by_key_only(void **state)
{
	struct test_ctx *t = *state;
	struct asa_keytab *cur = NULL, *kept = NULL;

	assert_int_equal(asa_keytab_merge(t->krb5, t->mem,
					  fake_keytab(t, 3, 5, 50),
					  fake_keytab(t, 1, 6, 60), 2, &cur),
			 0);
	assert_int_equal(asa_keytab_retire(t->krb5, t->mem, cur,
					   fake_keytab(t, 1, 7, 70), false,
					   &kept, NULL), 0);
	assert_int_equal(entries_of(kept, principals[1]), 0);
	assert_int_equal(entries_of(kept, principals[2]), 0);
	assert_int_equal(entries_of(kept, principals[0]), 4);
}

/*
 * A revocation: with replace, the member keeps of the ASA only what the
 * push carries (the current kvno), not the previous kvno, under any of
 * its names; its own keys stay.
 */
static void test_retire_replace(void **state)
{
	struct test_ctx *t = *state;
	const char *own = "host/web1.mem.test@MEM.TEST";
	struct asa_keytab *cur = NULL, *kept = NULL, *m = NULL;
	struct asa_keytab *current = fake_keytab(t, 3, 4, 40);
	krb5_kvno *kvnos = NULL;
	size_t n = 0;

	assert_int_equal(asa_keytab_merge(t->krb5, t->mem,
					  fake_keytab(t, 3, 3, 30), current,
					  2, &cur), 0);
	assert_int_equal(asa_keytab_merge(t->krb5, t->mem, cur,
					  one_principal(t, own, 3, 77), 2,
					  &cur), 0);
	assert_int_equal(asa_keytab_retire(t->krb5, t->mem, cur, current,
					   true, &kept, NULL), 0);
	assert_int_equal(kept->num_entries, 2);
	assert_int_equal(entries_of(kept, own), 2);
	assert_int_equal(asa_keytab_merge(t->krb5, t->mem, kept, current, 2,
					  &m), 0);
	assert_int_equal(asa_keytab_kvnos(t->mem, m, principals[0], &kvnos,
					  &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(kvnos[0], 4);
	assert_null(find(m, principals[2], 3, AES128));
	assert_non_null(find(m, principals[2], 4, AES128));
	assert_non_null(find(m, own, 3, AES128));
}

/* install with replace, through the file. */
static void test_install_replace(void **state)
{
	struct test_ctx *t = *state;
	struct asa_keytab *now = NULL;
	krb5_kvno *kvnos = NULL;
	size_t n = 0;
	char path[128];

	snprintf(path, sizeof(path), "%s/revoke.keytab", t->dir);
	assert_int_equal(asa_keytab_install(t->krb5, t->mem,
					    fake_keytab(t, 3, 7, 70),
					    principals, 3, path, 0600,
					    (gid_t)-1, false, NULL), 0);
	assert_int_equal(asa_keytab_install(t->krb5, t->mem,
					    fake_keytab(t, 3, 8, 80),
					    principals, 3, path, 0600,
					    (gid_t)-1, false, &now), 0);
	assert_int_equal(asa_keytab_kvnos(t->mem, now, NULL, &kvnos, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(asa_keytab_install(t->krb5, t->mem,
					    fake_keytab(t, 3, 8, 80),
					    principals, 3, path, 0600,
					    (gid_t)-1, true, NULL), 0);
	assert_int_equal(asa_keytab_read_file(t->krb5, t->mem, path, false,
					      &now), 0);
	assert_int_equal(asa_keytab_kvnos(t->mem, now, NULL, &kvnos, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(kvnos[0], 8);
	assert_int_equal(now->num_entries, 6);
}

static void test_list_sorted(void **state)
{
	struct test_ctx *t = *state;
	struct asa_keytab *m = NULL;
	struct asa_keytab_item *items = NULL;
	size_t n = 0, i;

	assert_int_equal(asa_keytab_merge(t->krb5, t->mem,
					  fake_keytab(t, 2, 4, 1),
					  fake_keytab(t, 2, 5, 2), 2, &m), 0);
	assert_int_equal(asa_keytab_list(t->mem, m, &items, &n), 0);
	assert_int_equal(n, 8);
	for (i = 1; i < n; i++) {
		int c = strcmp(items[i - 1].principal, items[i].principal);

		assert_true(c < 0 || (c == 0 &&
				      items[i - 1].kvno >= items[i].kvno));
	}
	assert_string_equal(items[0].principal, "asa1$@MEM.TEST");
	assert_int_equal(items[0].kvno, 5);
	assert_int_equal(items[0].enctype, AES256);
}

/* verify: the DC's keys (exported under NAME$ only) against a member. */
static void test_check_keys(void **state)
{
	struct test_ctx *t = *state;
	struct asa_keytab *member = NULL;
	struct asa_keytab *dc = fake_keytab(t, 1, 3, 30);
	struct asa_keytab *stale = fake_keytab(t, 3, 2, 20);
	struct asa_keytab *wrong = fake_keytab(t, 3, 3, 31);
	const char *msg = NULL;
	krb5_error_code ret;

	assert_int_equal(asa_keytab_merge(t->krb5, t->mem, stale,
					  fake_keytab(t, 3, 3, 30), 2,
					  &member), 0);
	assert_non_null(asa_keytab_find(member, principals[2], 3, AES128));
	assert_null(asa_keytab_find(member, principals[2], 4, AES128));

	assert_int_equal(asa_keytab_check_keys(t->krb5, member, dc,
					       principals, 3), 0);
	/* A member that missed the roll. */
	ret = asa_keytab_check_keys(t->krb5, stale, dc, principals, 3);
	assert_int_equal(ret, KRB5_KT_NOTFOUND);
	msg = krb5_get_error_message(t->krb5, ret);
	assert_non_null(strstr(msg, "asa1$@MEM.TEST kvno 3"));
	krb5_free_error_message(t->krb5, msg);
	/* Same kvno, other keys (a roll that was redone). */
	assert_int_equal(asa_keytab_check_keys(t->krb5, wrong, dc,
					       principals, 3),
			 KRB5KRB_AP_ERR_BAD_INTEGRITY);
}

static size_t count_dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de = NULL;
	size_t n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.') {
			n++;
		}
	}
	closedir(d);
	return n;
}

static void test_write_mode_0600(void **state)
{
	struct test_ctx *t = *state;
	struct asa_keytab *kt = fake_keytab(t, 3, 2, 1);
	struct asa_keytab *back = NULL;
	struct stat st;
	char path[128];
	size_t before = count_dir_entries(t->dir);

	snprintf(path, sizeof(path), "%s/m0600.keytab", t->dir);
	assert_int_equal(asa_keytab_write_file(t->krb5, kt, path, 0600,
					       (gid_t)-1), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	/* No temporary file left beside it. */
	assert_int_equal(count_dir_entries(t->dir), before + 1);
	assert_int_equal(asa_keytab_read_file(t->krb5, t->mem, path, false,
					      &back), 0);
	assert_same_keytab(kt, back);
}

static void test_write_mode_0640_group(void **state)
{
	struct test_ctx *t = *state;
	struct asa_keytab *kt = fake_keytab(t, 3, 2, 1);
	struct stat st;
	char path[128];
	/* As root any group works (www-data on a member); otherwise ours. */
	gid_t gid = (geteuid() == 0) ? 33 : getegid();

	snprintf(path, sizeof(path), "%s/m0640.keytab", t->dir);
	assert_int_equal(asa_keytab_write_file(t->krb5, kt, path, 0640, gid),
			 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(st.st_gid, gid);
}

static void test_write_refuses_modes(void **state)
{
	struct test_ctx *t = *state;
	struct asa_keytab *kt = fake_keytab(t, 1, 2, 1);
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), "%s/refused.keytab", t->dir);
	assert_int_equal(asa_keytab_write_file(t->krb5, kt, path, 0644,
					       (gid_t)-1), EINVAL);
	assert_int_equal(asa_keytab_write_file(t->krb5, kt, path, 0640,
					       (gid_t)-1), EINVAL);
	assert_int_equal(stat(path, &st), -1);
}

/* Replacing a keytab: the old file stays whole until the new one is
 * complete, and the result is a new inode renamed over it. */
static void test_write_replaces_atomically(void **state)
{
	struct test_ctx *t = *state;
	struct asa_keytab *k2 = fake_keytab(t, 3, 2, 1);
	struct asa_keytab *k3 = fake_keytab(t, 3, 3, 2);
	struct asa_keytab *back = NULL;
	struct stat st1, st2;
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/replace.keytab", t->dir);
	assert_int_equal(asa_keytab_write_file(t->krb5, k2, path, 0600,
					       (gid_t)-1), 0);
	/* A reader holding the old file open keeps reading the old keys. */
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st1), 0);
	assert_int_equal(asa_keytab_write_file(t->krb5, k3, path, 0600,
					       (gid_t)-1), 0);
	assert_int_equal(stat(path, &st2), 0);
	assert_int_not_equal(st1.st_ino, st2.st_ino);
	assert_int_equal(asa_keytab_read_fd(t->krb5, t->mem, fd, &back), 0);
	close(fd);
	assert_same_keytab(k2, back);
	assert_int_equal(asa_keytab_read_file(t->krb5, t->mem, path, false,
					      &back), 0);
	assert_same_keytab(k3, back);
}

static void test_write_missing_directory(void **state)
{
	struct test_ctx *t = *state;
	struct asa_keytab *kt = fake_keytab(t, 1, 2, 1);
	char path[128];
	const char *msg = NULL;
	krb5_error_code ret;

	snprintf(path, sizeof(path), "%s/nodir/x.keytab", t->dir);
	ret = asa_keytab_write_file(t->krb5, kt, path, 0600, (gid_t)-1);
	assert_int_equal(ret, ENOENT);
	/* The message names the file. */
	msg = krb5_get_error_message(t->krb5, ret);
	assert_non_null(strstr(msg, path));
	krb5_free_error_message(t->krb5, msg);
}

static void test_install(void **state)
{
	struct test_ctx *t = *state;
	struct asa_keytab *now = NULL;
	krb5_kvno *kvnos = NULL;
	size_t n = 0, k;
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), "%s/install.keytab", t->dir);
	for (k = 1; k <= 4; k++) {
		assert_int_equal(asa_keytab_install(t->krb5, t->mem,
						    fake_keytab(t, 3, k, k),
						    principals, 3, path, 0600,
						    (gid_t)-1, false, &now), 0);
	}
	assert_int_equal(asa_keytab_kvnos(t->mem, now, NULL, &kvnos, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(kvnos[0], 4);
	assert_int_equal(kvnos[1], 3);
	assert_int_equal(asa_keytab_read_file(t->krb5, t->mem, path, false,
					      &now), 0);
	assert_int_equal(now->num_entries, 12);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);

	/* Refused: a keytab lacking a principal, or with a stranger; the
	 * installed keytab stays as it was. */
	assert_int_equal(asa_keytab_install(t->krb5, t->mem,
					    fake_keytab(t, 2, 5, 5),
					    principals, 3, path, 0600,
					    (gid_t)-1, false, NULL),
			 KRB5_KT_NOTFOUND);
	assert_int_equal(asa_keytab_install(t->krb5, t->mem,
					    fake_keytab(t, 3, 5, 5),
					    principals, 2, path, 0600,
					    (gid_t)-1, false, NULL),
			 KRB5_PRINC_NOMATCH);
	assert_int_equal(asa_keytab_read_file(t->krb5, t->mem, path, false,
					      &now), 0);
	assert_null(asa_keytab_find(now, principals[0], 5, AES256));
	assert_non_null(asa_keytab_find(now, principals[0], 4, AES256));
}

/* Two installers at once, each for its own principal: with the lock
 * neither loses the other's keys. */
static void test_install_concurrent(void **state)
{
	struct test_ctx *t = *state;
	struct asa_keytab *now = NULL;
	char path[128];
	pid_t pids[2];
	int i, status;

	snprintf(path, sizeof(path), "%s/race.keytab", t->dir);
	for (i = 0; i < 2; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			const char *mine[] = { principals[i] };
			struct asa_key *keys = NULL;
			struct asa_keytab *kt = NULL;
			krb5_kvno k;
			int rc = 0;

			/* keys of their own: principals sharing keys are
			 * names of one account, which one push carries */
			for (k = 1; k <= 30 && rc == 0; k++) {
				keys = fake_keys(t->mem, k,
						 (uint8_t)(k + 100 * i));
				if (asa_keytab_build(t->krb5, t->mem, mine, 1,
						     keys, 2, 1, &kt) != 0 ||
				    asa_keytab_install(t->krb5, t->mem, kt,
						       mine, 1, path, 0600,
						       (gid_t)-1, false,
						       NULL) != 0) {
					rc = 1;
				}
			}
			/* The child's copy of the fixture, freed here. */
			krb5_free_context(t->krb5);
			TALLOC_FREE(t);
			_exit(rc);
		}
	}
	for (i = 0; i < 2; i++) {
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	assert_int_equal(asa_keytab_read_file(t->krb5, t->mem, path, false,
					      &now), 0);
	for (i = 0; i < 2; i++) {
		assert_non_null(asa_keytab_find(now, principals[i], 30,
						AES256));
		assert_non_null(asa_keytab_find(now, principals[i], 29,
						AES128));
	}
	assert_int_equal(now->num_entries, 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_principals),
		cmocka_unit_test(test_principals_refuse_odd_names),
		cmocka_unit_test(test_build),
		cmocka_unit_test(test_serialize_parse_roundtrip),
		cmocka_unit_test(test_written_file_read_by_mit),
		cmocka_unit_test(test_secret_dir_sweeps_dead_owners),
		cmocka_unit_test(test_secret_dir_sweep_leaves_planted),
		cmocka_unit_test(test_parse_refuses_garbage),
		cmocka_unit_test(test_parse_empty_keytab),
		cmocka_unit_test(test_parse_every_truncation),
		cmocka_unit_test(test_parse_refuses_bad_entries),
		cmocka_unit_test(test_parse_skips_holes),
		cmocka_unit_test(test_parse_size_limit),
		cmocka_unit_test(test_read_fd_pipe),
		cmocka_unit_test(test_read_file_missing),
		cmocka_unit_test(test_check_principals),
		cmocka_unit_test(test_merge_keeps_newest_two),
		cmocka_unit_test(test_merge_incoming_replaces_same_kvno),
		cmocka_unit_test(test_merge_idempotent),
		cmocka_unit_test(test_merge_older_incoming_dropped),
		cmocka_unit_test(test_merge_large_kvno),
		cmocka_unit_test(test_retire_dropped_spn),
		cmocka_unit_test(test_retire_keeps_carried),
		cmocka_unit_test(test_retire_by_key_only),
		cmocka_unit_test(test_retire_replace),
		cmocka_unit_test(test_list_sorted),
		cmocka_unit_test(test_check_keys),
		cmocka_unit_test(test_write_mode_0600),
		cmocka_unit_test(test_write_mode_0640_group),
		cmocka_unit_test(test_write_refuses_modes),
		cmocka_unit_test(test_write_replaces_atomically),
		cmocka_unit_test(test_write_missing_directory),
		cmocka_unit_test(test_install),
		cmocka_unit_test(test_install_concurrent),
		cmocka_unit_test(test_install_replace),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
