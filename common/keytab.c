/*
 * samba-asa: keytabs of the alternate service account; see keytab.h.
 *
 * Reading, merging and writing are member/'s (libc and MIT Kerberos
 * only, shared with samba-asa-member): here they are wrapped so that what
 * they return lives on a talloc context, keys wiped when freed.
 */

#include <errno.h>
#include <signal.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <talloc.h>
#include <krb5.h>

#include "keys.h"
#include "keytab.h"

#ifndef discard_const_p
#define discard_const_p(type, ptr) ((type *)((uintptr_t)(ptr)))
#endif

/* ----------------------------------------------------------------------
 * Entries
 */

static krb5_error_code entry_copy(TALLOC_CTX *mem_ctx,
				  struct asa_keytab_entry *dst,
				  const struct asa_keytab_entry *src)
{
	*dst = *src;
	dst->principal = talloc_strdup(mem_ctx, src->principal);
	dst->key = talloc_memdup(mem_ctx, src->key, src->key_length);
	if (dst->principal == NULL || dst->key == NULL) {
		asa_secret_wipe_on_free(dst->key);
		return ENOMEM;
	}
	asa_secret_wipe_on_free(dst->key);
	return 0;
}

static struct asa_keytab *keytab_new(TALLOC_CTX *mem_ctx, size_t num)
{
	struct asa_keytab *kt = talloc_zero(mem_ctx, struct asa_keytab);

	if (kt == NULL) {
		return NULL;
	}
	kt->entries = talloc_zero_array(kt, struct asa_keytab_entry,
					num > 0 ? num : 1);
	if (kt->entries == NULL) {
		TALLOC_FREE(kt);
		return NULL;
	}
	return kt;
}

/* ----------------------------------------------------------------------
 * Principals
 */

krb5_error_code asa_keytab_principals(krb5_context ctx,
				      TALLOC_CTX *mem_ctx,
				      const char *realm,
				      const char *sam_account_name,
				      const char * const *spns,
				      size_t num_spns,
				      char ***principals,
				      size_t *num_principals)
{
	TALLOC_CTX *frame = NULL;
	char **names = NULL;
	char *upper_realm = NULL;
	krb5_principal princ = NULL;
	char *unparsed = NULL;
	size_t n = 0, i, j;
	krb5_error_code ret = 0;

	*principals = NULL;
	*num_principals = 0;

	if (realm == NULL || realm[0] == '\0' ||
	    sam_account_name == NULL || sam_account_name[0] == '\0' ||
	    (spns == NULL && num_spns > 0)) {
		return EINVAL;
	}

	frame = talloc_new(mem_ctx);
	if (frame == NULL) {
		return ENOMEM;
	}
	upper_realm = talloc_strdup(frame, realm);
	names = talloc_zero_array(frame, char *, num_spns + 2);
	if (upper_realm == NULL || names == NULL) {
		ret = ENOMEM;
		goto done;
	}
	for (i = 0; upper_realm[i] != '\0'; i++) {
		if (upper_realm[i] >= 'a' && upper_realm[i] <= 'z') {
			upper_realm[i] -= 'a' - 'A';
		}
	}

	for (i = 0; i < num_spns + 1; i++) {
		const char *name = (i == 0) ? sam_account_name : spns[i - 1];
		char *full = NULL;

		if (name == NULL || name[0] == '\0' ||
		    strpbrk(name, "@\\") != NULL) {
			ret = EINVAL;
			krb5_set_error_message(ctx, ret,
					       "'%s' cannot be part of a "
					       "Kerberos principal name "
					       "(empty, or holds '@' or "
					       "'\\')",
					       name != NULL ? name : "");
			goto done;
		}
		full = talloc_asprintf(frame, "%s@%s", name, upper_realm);
		if (full == NULL) {
			ret = ENOMEM;
			goto done;
		}
		ret = krb5_parse_name_flags(ctx, full,
					    KRB5_PRINCIPAL_PARSE_REQUIRE_REALM,
					    &princ);
		if (ret != 0) {
			goto done;
		}
		ret = krb5_unparse_name(ctx, princ, &unparsed);
		krb5_free_principal(ctx, princ);
		princ = NULL;
		if (ret != 0) {
			goto done;
		}
		for (j = 0; j < n; j++) {
			if (strcmp(names[j], unparsed) == 0) {
				break;
			}
		}
		if (j == n) {
			names[n] = talloc_strdup(names, unparsed);
			if (names[n] == NULL) {
				ret = ENOMEM;
				goto done;
			}
			n++;
		}
		krb5_free_unparsed_name(ctx, unparsed);
		unparsed = NULL;
	}

	*principals = talloc_steal(mem_ctx, names);
	*num_principals = n;

done:
	if (unparsed != NULL) {
		krb5_free_unparsed_name(ctx, unparsed);
	}
	TALLOC_FREE(frame);
	return ret;
}

/* ----------------------------------------------------------------------
 * Build
 */

krb5_error_code asa_keytab_build(krb5_context ctx,
				 TALLOC_CTX *mem_ctx,
				 const char * const *principals,
				 size_t num_principals,
				 const struct asa_key *keys,
				 size_t num_keys,
				 uint32_t timestamp,
				 struct asa_keytab **keytab)
{
	struct asa_keytab *kt = NULL;
	size_t i, j, n = 0;
	krb5_error_code ret = 0;

	*keytab = NULL;

	if (num_principals == 0 || num_keys == 0 ||
	    num_principals > ASA_KEYTAB_MAX_ENTRIES ||
	    num_keys > ASA_KEYTAB_MAX_ENTRIES / num_principals) {
		ret = EINVAL;
		krb5_set_error_message(ctx, ret,
				       "a keytab needs 1 to %d entries, "
				       "not %zu principals x %zu keys",
				       ASA_KEYTAB_MAX_ENTRIES,
				       num_principals, num_keys);
		return ret;
	}

	kt = keytab_new(mem_ctx, num_principals * num_keys);
	if (kt == NULL) {
		return ENOMEM;
	}

	for (i = 0; i < num_principals; i++) {
		for (j = 0; j < num_keys; j++) {
			struct asa_keytab_entry src = {
				.principal = discard_const_p(char,
							     principals[i]),
				.kvno = keys[j].kvno,
				.enctype = keys[j].enctype,
				.timestamp = timestamp,
				.key_length = keys[j].length,
				.key = keys[j].contents,
			};

			ret = entry_copy(kt->entries, &kt->entries[n], &src);
			if (ret != 0) {
				goto done;
			}
			n++;
			kt->num_entries = n;
		}
	}

	*keytab = kt;
	kt = NULL;

done:
	TALLOC_FREE(kt);
	return ret;
}

/* ----------------------------------------------------------------------
 * member/'s keytabs on talloc
 */

/* A talloc copy of plain (malloc()ed by member/), which is freed. */
static krb5_error_code keytab_adopt(TALLOC_CTX *mem_ctx,
				    struct asa_keytab *plain,
				    struct asa_keytab **keytab)
{
	struct asa_keytab *kt = NULL;
	krb5_error_code ret = 0;
	size_t i;

	*keytab = NULL;
	kt = keytab_new(mem_ctx, plain->num_entries);
	if (kt == NULL) {
		ret = ENOMEM;
	}
	for (i = 0; ret == 0 && i < plain->num_entries; i++) {
		ret = entry_copy(kt->entries, &kt->entries[i],
				 &plain->entries[i]);
		kt->num_entries += (ret == 0) ? 1 : 0;
	}
	asa_kt_free(plain);
	if (ret != 0) {
		TALLOC_FREE(kt);
		return ret;
	}
	*keytab = kt;
	return 0;
}

/* What a member/ function made, adopted, or its error. */
static krb5_error_code adopt_result(krb5_error_code ret,
				    TALLOC_CTX *mem_ctx,
				    struct asa_keytab *plain,
				    struct asa_keytab **keytab)
{
	*keytab = NULL;
	if (ret != 0) {
		asa_kt_free(plain);
		return ret;
	}
	return plain != NULL ? keytab_adopt(mem_ctx, plain, keytab) : 0;
}

krb5_error_code asa_keytab_parse(krb5_context ctx,
				 TALLOC_CTX *mem_ctx,
				 const uint8_t *data,
				 size_t length,
				 struct asa_keytab **keytab)
{
	struct asa_keytab *plain = NULL;

	krb5_error_code ret = asa_kt_parse(ctx, data, length, &plain);

	return adopt_result(ret, mem_ctx, plain, keytab);
}

krb5_error_code asa_keytab_read_fd(krb5_context ctx,
				   TALLOC_CTX *mem_ctx,
				   int fd,
				   struct asa_keytab **keytab)
{
	return asa_keytab_read_fd_deadline(ctx, mem_ctx, fd, 0, keytab);
}

krb5_error_code asa_keytab_read_fd_deadline(krb5_context ctx,
					    TALLOC_CTX *mem_ctx,
					    int fd,
					    unsigned int seconds,
					    struct asa_keytab **keytab)
{
	struct asa_keytab *plain = NULL;

	krb5_error_code ret = asa_kt_read_fd(ctx, fd, seconds, &plain);

	return adopt_result(ret, mem_ctx, plain, keytab);
}

krb5_error_code asa_keytab_read_file(krb5_context ctx,
				     TALLOC_CTX *mem_ctx,
				     const char *path,
				     bool missing_ok,
				     struct asa_keytab **keytab)
{
	struct asa_keytab *plain = NULL;

	krb5_error_code ret = asa_kt_read_file(ctx, path, missing_ok,
					       &plain);

	return adopt_result(ret, mem_ctx, plain, keytab);
}

krb5_error_code asa_keytab_check_principals(krb5_context ctx,
					    const struct asa_keytab *keytab,
					    const char * const *expected,
					    size_t num_expected,
					    bool require_all)
{
	return asa_kt_check_principals(ctx, keytab, expected, num_expected,
				       require_all);
}

const struct asa_keytab_entry *asa_keytab_find(const struct asa_keytab *kt,
					       const char *principal,
					       krb5_kvno kvno,
					       krb5_enctype enctype)
{
	size_t i;

	for (i = 0; kt != NULL && i < kt->num_entries; i++) {
		const struct asa_keytab_entry *e = &kt->entries[i];

		if (e->kvno == kvno && e->enctype == enctype &&
		    strcmp(e->principal, principal) == 0) {
			return e;
		}
	}
	return NULL;
}

krb5_error_code asa_keytab_check_keys(krb5_context ctx,
				      const struct asa_keytab *holder,
				      const struct asa_keytab *reference,
				      const char * const *principals,
				      size_t num_principals)
{
	krb5_error_code ret;
	size_t i, j;

	if (reference == NULL || reference->num_entries == 0) {
		ret = KRB5_KT_NOTFOUND;
		krb5_set_error_message(ctx, ret,
				       "no reference keys to compare with");
		return ret;
	}

	for (j = 0; j < num_principals; j++) {
		for (i = 0; i < reference->num_entries; i++) {
			const struct asa_keytab_entry *r =
				&reference->entries[i];
			const struct asa_keytab_entry *h = NULL;
			char name[64];

			h = asa_keytab_find(holder, principals[j], r->kvno,
					    r->enctype);
			if (h != NULL && asa_kt_keys_equal(h, r)) {
				continue;
			}
			if (krb5_enctype_to_name(r->enctype, false, name,
						 sizeof(name)) != 0) {
				snprintf(name, sizeof(name), "enctype %d",
					 (int)r->enctype);
			}
			ret = (h == NULL) ? KRB5_KT_NOTFOUND :
					    KRB5KRB_AP_ERR_BAD_INTEGRITY;
			krb5_set_error_message(ctx, ret,
					       "%s kvno %u %s: %s",
					       principals[j],
					       (unsigned)r->kvno, name,
					       (h == NULL) ?
					       "no key" :
					       "the key differs from the "
					       "directory's");
			return ret;
		}
	}
	return 0;
}

krb5_error_code asa_keytab_merge(krb5_context ctx,
				 TALLOC_CTX *mem_ctx,
				 const struct asa_keytab *current,
				 const struct asa_keytab *incoming,
				 unsigned int keep_kvnos,
				 struct asa_keytab **merged)
{
	struct asa_keytab *plain = NULL;

	krb5_error_code ret = asa_kt_merge(ctx, current, incoming,
					   keep_kvnos, &plain);

	return adopt_result(ret, mem_ctx, plain, merged);
}

krb5_error_code asa_keytab_retire(krb5_context ctx,
				  TALLOC_CTX *mem_ctx,
				  const struct asa_keytab *current,
				  const struct asa_keytab *incoming,
				  bool replace,
				  struct asa_keytab **kept,
				  size_t *num_dropped)
{
	struct asa_keytab *plain = NULL;

	krb5_error_code ret = asa_kt_retire(ctx, current, incoming, replace,
					    &plain, num_dropped);

	return adopt_result(ret, mem_ctx, plain, kept);
}

/* A listing's order (member/'s), ties kept in their first order. */
static int entry_ptr_cmp(const void *pa, const void *pb)
{
	const struct asa_keytab_entry *a =
		*(const struct asa_keytab_entry * const *)pa;
	const struct asa_keytab_entry *b =
		*(const struct asa_keytab_entry * const *)pb;
	int c = asa_kt_entry_cmp(a, b);

	return c != 0 ? c : (a > b) - (a < b);
}

krb5_error_code asa_keytab_list(TALLOC_CTX *mem_ctx,
				const struct asa_keytab *keytab,
				struct asa_keytab_item **items,
				size_t *num_items)
{
	const struct asa_keytab_entry **sorted = NULL;
	struct asa_keytab_item *list = NULL;
	size_t n = keytab->num_entries;
	size_t i;

	*items = NULL;
	*num_items = 0;

	sorted = talloc_zero_array(mem_ctx, const struct asa_keytab_entry *,
				   n + 1);
	list = talloc_zero_array(mem_ctx, struct asa_keytab_item, n + 1);
	if (sorted == NULL || list == NULL) {
		TALLOC_FREE(sorted);
		TALLOC_FREE(list);
		return ENOMEM;
	}
	for (i = 0; i < n; i++) {
		sorted[i] = &keytab->entries[i];
	}
	qsort(sorted, n, sizeof(sorted[0]), entry_ptr_cmp);
	for (i = 0; i < n; i++) {
		list[i].principal = talloc_strdup(list, sorted[i]->principal);
		if (list[i].principal == NULL) {
			TALLOC_FREE(sorted);
			TALLOC_FREE(list);
			return ENOMEM;
		}
		list[i].kvno = sorted[i]->kvno;
		list[i].enctype = sorted[i]->enctype;
	}
	TALLOC_FREE(sorted);
	*items = list;
	*num_items = n;
	return 0;
}

krb5_error_code asa_keytab_kvnos(TALLOC_CTX *mem_ctx,
				 const struct asa_keytab *keytab,
				 const char *principal,
				 krb5_kvno **kvnos,
				 size_t *num_kvnos)
{
	krb5_kvno *plain = NULL;
	size_t n = 0;
	krb5_error_code ret;

	*kvnos = NULL;
	*num_kvnos = 0;
	ret = asa_kt_kvnos(keytab, principal, &plain, &n);
	if (ret != 0) {
		return ret;
	}
	return asa_kvnos_adopt(mem_ctx, plain, n, kvnos, num_kvnos);
}

krb5_error_code asa_kvnos_adopt(TALLOC_CTX *mem_ctx,
				krb5_kvno *plain,
				size_t n,
				krb5_kvno **kvnos,
				size_t *num_kvnos)
{
	*kvnos = talloc_memdup(mem_ctx, plain, (n + 1) * sizeof(plain[0]));
	free(plain);
	if (*kvnos == NULL) {
		return ENOMEM;
	}
	*num_kvnos = n;
	return 0;
}

krb5_error_code asa_keytab_write_file(krb5_context ctx,
				      const struct asa_keytab *keytab,
				      const char *path,
				      mode_t mode,
				      gid_t gid)
{
	return asa_kt_write_file(ctx, keytab, path, mode, (uid_t)-1, gid);
}

krb5_error_code asa_keytab_install(krb5_context ctx,
				   TALLOC_CTX *mem_ctx,
				   const struct asa_keytab *incoming,
				   const char * const *expected,
				   size_t num_expected,
				   const char *path,
				   mode_t mode,
				   gid_t gid,
				   bool replace,
				   struct asa_keytab **installed)
{
	struct asa_keytab *plain = NULL;
	struct asa_keytab *adopted = NULL;
	krb5_error_code ret;

	ret = asa_kt_install(ctx, incoming, expected, num_expected, path,
			     mode, (uid_t)-1, gid, replace, &plain);
	ret = adopt_result(ret, mem_ctx, plain, &adopted);
	if (installed != NULL) {
		*installed = adopted;
	} else {
		TALLOC_FREE(adopted);
	}
	return ret;
}

/* Overwrite a regular file of ours with zeros (it held keys). */
static void secret_file_wipe(int fd)
{
	static const uint8_t zeros[4096];
	struct stat st;
	off_t done = 0;

	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_uid != geteuid()) {
		return;
	}
	while (done < st.st_size) {
		size_t n = sizeof(zeros);
		ssize_t w;

		if ((off_t)n > st.st_size - done) {
			n = (size_t)(st.st_size - done);
		}
		w = pwrite(fd, zeros, n, done);
		if (w <= 0) {
			break;
		}
		done += w;
	}
	fsync(fd);
}

/* Wipe and remove NAME in the directory dfd: a regular file is zeroed
 * first; anything else is only unlinked (never followed). */
static void secret_file_remove_at(int dfd, const char *name)
{
	struct stat st;
	int fd;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(st.st_mode)) {
		fd = openat(dfd, name, O_WRONLY | O_NOFOLLOW | O_NONBLOCK |
			    O_NOCTTY | O_CLOEXEC);
		if (fd != -1) {
			secret_file_wipe(fd);
			close(fd);
		}
	}
	unlinkat(dfd, name, 0);
}

void asa_secret_file_remove(const char *path)
{
	secret_file_remove_at(AT_FDCWD, path);
}

/*
 * Remove NAME under the directory dfd if it is what asa_secret_dir_make()
 * makes: a directory (not a symbolic link to one), ours, mode 0700; its
 * files wiped first.  Anything else with such a name was put there by
 * someone else: it is neither followed nor removed.
 */
static void secret_dir_remove_at(int dfd, const char *name)
{
	struct stat st, opened;
	struct dirent *e = NULL;
	DIR *d = NULL;
	int fd;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
	    !S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 07777) != 0700) {
		return;
	}
	fd = openat(dfd, name,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1) {
		return;
	}
	/* the same directory that was checked, not one swapped in */
	if (fstat(fd, &opened) != 0 || opened.st_dev != st.st_dev ||
	    opened.st_ino != st.st_ino) {
		close(fd);
		return;
	}
	d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 ||
		    strcmp(e->d_name, "..") == 0) {
			continue;
		}
		secret_file_remove_at(dirfd(d), e->d_name);
	}
	closedir(d);
	unlinkat(dfd, name, AT_REMOVEDIR);
}

/*
 * Remove BASE/asa-WHAT.<pid>.* (any WHAT) of processes that no longer
 * exist: what a run killed before it could clean up (SIGKILL) left,
 * perhaps with keys in it.
 */
static void secret_dirs_sweep(const char *base)
{
	struct dirent *e = NULL;
	DIR *d = NULL;
	int dfd;

	dfd = open(base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd == -1) {
		return;
	}
	d = fdopendir(dfd);
	if (d == NULL) {
		close(dfd);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		const char *dot = NULL;
		char *end = NULL;
		long pid;

		if (strncmp(e->d_name, "asa-", 4) != 0) {
			continue;
		}
		dot = strchr(e->d_name + 4, '.');
		if (dot == NULL || dot == e->d_name + 4) {
			continue;
		}
		errno = 0;
		pid = strtol(dot + 1, &end, 10);
		if (errno != 0 || end == dot + 1 || *end != '.' ||
		    pid <= 0) {
			continue;	/* not ours, or an older name */
		}
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) {
			continue;	/* its process is alive */
		}
		secret_dir_remove_at(dirfd(d), e->d_name);
	}
	closedir(d);
}

krb5_error_code asa_secret_dir_make(krb5_context ctx,
				    const char *what,
				    char *dir,
				    size_t size)
{
	const char *base = "/dev/shm";
	struct stat st;
	krb5_error_code ret;

	if (lstat(base, &st) != 0 || !S_ISDIR(st.st_mode)) {
		base = "/tmp";
	}
	secret_dirs_sweep(base);
	snprintf(dir, size, "%s/asa-%s.%ld.XXXXXX", base, what,
		 (long)getpid());
	if (mkdtemp(dir) == NULL) {	/* mode 0700 */
		ret = errno;
		krb5_set_error_message(ctx, ret,
				       "cannot make a private directory "
				       "under %s: %s", base, strerror(ret));
		return ret;
	}
	return 0;
}

krb5_error_code asa_keytab_serialize(krb5_context ctx,
				     TALLOC_CTX *mem_ctx,
				     const struct asa_keytab *keytab,
				     uint8_t **data,
				     size_t *length)
{
	char dir[64];
	char *file = NULL;
	uint8_t *buf = NULL;
	struct stat st;
	krb5_error_code ret = 0;
	size_t used = 0;
	int fd = -1;

	*data = NULL;
	*length = 0;

	ret = asa_secret_dir_make(ctx, "keytab", dir, sizeof(dir));
	if (ret != 0) {
		return ret;
	}
	file = talloc_asprintf(mem_ctx, "%s/keytab", dir);
	if (file == NULL) {
		ret = ENOMEM;
		goto done;
	}

	fd = open(file, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		  0600);
	if (fd == -1) {
		ret = errno;
		goto done;
	}
	ret = asa_kt_write_new(ctx, fd, file, keytab);
	if (ret != 0) {
		goto done;
	}
	if (fstat(fd, &st) != 0 || lseek(fd, 0, SEEK_SET) != 0) {
		ret = errno;
		goto done;
	}
	if (st.st_size < 2 || st.st_size > ASA_KEYTAB_MAX_SIZE) {
		ret = KRB5_KT_FORMAT;
		goto done;
	}
	buf = talloc_size(mem_ctx, st.st_size);
	if (buf == NULL) {
		ret = ENOMEM;
		goto done;
	}
	asa_secret_wipe_on_free(buf);
	while (used < (size_t)st.st_size) {
		ssize_t got = read(fd, buf + used, st.st_size - used);

		if (got < 0 && errno == EINTR) {
			continue;
		}
		if (got <= 0) {
			ret = (got < 0) ? errno : KRB5_KT_IOERR;
			goto done;
		}
		used += (size_t)got;
	}

	*data = buf;
	*length = used;
	buf = NULL;

done:
	if (fd != -1) {
		close(fd);
	}
	if (file != NULL) {
		asa_secret_file_remove(file);
		TALLOC_FREE(file);
	}
	rmdir(dir);
	TALLOC_FREE(buf);
	return ret;
}
