/*
 * samba-asa: writing a member's keytab atomically, under a lock; see
 * member_keytab.h.
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* mkostemp, explicit_bzero, reallocarray */
#endif

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <krb5.h>

#include "member_keytab.h"

/* Add every entry to the (empty) FILE: keytab at path. */
static krb5_error_code write_entries(krb5_context ctx,
				     const struct asa_keytab *keytab,
				     const char *path)
{
	char name[PATH_MAX + 6];
	krb5_keytab kt = NULL;
	krb5_keytab_entry entry;
	krb5_error_code ret = 0;
	size_t i;
	int len;

	len = snprintf(name, sizeof(name), "FILE:%s", path);
	if (len < 0 || (size_t)len >= sizeof(name)) {
		return ENAMETOOLONG;
	}
	ret = krb5_kt_resolve(ctx, name, &kt);
	if (ret != 0) {
		return ret;
	}
	for (i = 0; i < keytab->num_entries; i++) {
		const struct asa_keytab_entry *e = &keytab->entries[i];

		memset(&entry, 0, sizeof(entry));
		ret = krb5_parse_name_flags(ctx, e->principal,
					    KRB5_PRINCIPAL_PARSE_REQUIRE_REALM,
					    &entry.principal);
		if (ret != 0) {
			break;
		}
		entry.timestamp = (krb5_timestamp)e->timestamp;
		entry.vno = e->kvno;
		entry.key.magic = KV5M_KEYBLOCK;
		entry.key.enctype = e->enctype;
		entry.key.length = e->key_length;
		/* MIT copies the key; ours stays in its own buffer. */
		entry.key.contents = e->key;
		ret = krb5_kt_add_entry(ctx, kt, &entry);
		krb5_free_principal(ctx, entry.principal);
		if (ret != 0) {
			break;
		}
	}
	krb5_kt_close(ctx, kt);
	return ret;
}

/*
 * MIT opens an existing FILE: keytab only when it already starts with the
 * version (an empty file is "Unsupported key table format version
 * number"), and creates a missing one without O_EXCL.  So we create the
 * file ourselves, exclusively and 0600, and give it the version bytes.
 */
static krb5_error_code write_version(int fd)
{
	static const uint8_t version[2] = { 0x05, 0x02 };
	ssize_t done;

	do {
		done = write(fd, version, sizeof(version));
	} while (done == -1 && errno == EINTR);
	if (done == -1) {
		return errno;
	}
	return done == sizeof(version) ? 0 : KRB5_KT_IOERR;
}

krb5_error_code asa_kt_write_new(krb5_context ctx, int fd, const char *path,
				 const struct asa_keytab *keytab)
{
	krb5_error_code ret = write_version(fd);

	return ret != 0 ? ret : write_entries(ctx, keytab, path);
}

/* path's directory, in dir (of size PATH_MAX). */
static void dir_of(const char *path, char *dir)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL) {
		snprintf(dir, PATH_MAX, ".");
	} else if (slash == path) {
		snprintf(dir, PATH_MAX, "/");
	} else {
		snprintf(dir, PATH_MAX, "%.*s", (int)(slash - path), path);
	}
}

static krb5_error_code fsync_dir_of(const char *path)
{
	char dir[PATH_MAX];
	krb5_error_code ret = 0;
	int fd;

	dir_of(path, dir);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1) {
		return errno;
	}
	if (fsync(fd) == -1) {
		ret = errno;
	}
	close(fd);
	return ret;
}

/* The temporary file's contents, owner, mode, flushed: the step that
 * failed in *step. */
static krb5_error_code fill_temporary(krb5_context ctx, int fd,
				      const char *tmp,
				      const struct asa_keytab *keytab,
				      const char *path, mode_t mode,
				      uid_t uid, gid_t gid, const char **step)
{
	struct stat st;
	krb5_error_code ret;

	*step = "write the keys";
	ret = asa_kt_write_new(ctx, fd, tmp, keytab);
	if (ret != 0) {
		return ret;
	}
	/*
	 * A keytab above what asa_kt_read_fd() accepts would make every
	 * later install on this host fail: refuse it, the old one left.
	 */
	*step = "keep it within the size limit";
	if (fstat(fd, &st) == -1) {
		return errno;
	}
	if (st.st_size > ASA_KEYTAB_MAX_SIZE) {
		krb5_set_error_message(ctx, EFBIG,
				       "the keytab %s would be %lld bytes, "
				       "more than the %d samba-asa reads "
				       "back: not written", path,
				       (long long)st.st_size,
				       ASA_KEYTAB_MAX_SIZE);
		*step = NULL;
		return EFBIG;
	}
	*step = "set the owner and group";
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) &&
	    fchown(fd, uid, gid) == -1) {
		return errno;
	}
	*step = "set the mode";
	if (fchmod(fd, mode) == -1) {
		return errno;
	}
	*step = "flush to disk";
	if (fsync(fd) == -1) {
		return errno;
	}
	return 0;
}

krb5_error_code asa_kt_write_file(krb5_context ctx,
				  const struct asa_keytab *keytab,
				  const char *path,
				  mode_t mode,
				  uid_t uid,
				  gid_t gid)
{
	char tmp[PATH_MAX];
	const char *step = "create a temporary file";
	krb5_error_code ret = 0;
	int fd = -1;

	if (keytab == NULL || path == NULL || path[0] == '\0') {
		return EINVAL;
	}
	if (mode != 0600 && mode != 0640) {
		krb5_set_error_message(ctx, EINVAL,
				       "keytab mode %04o refused: 0600, or "
				       "0640 with a group", (unsigned)mode);
		return EINVAL;
	}
	if (mode == 0640 && gid == (gid_t)-1) {
		krb5_set_error_message(ctx, EINVAL,
				       "keytab mode 0640 needs the group of "
				       "the service that reads it");
		return EINVAL;
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >=
	    sizeof(tmp)) {
		return ENAMETOOLONG;
	}
	fd = mkostemp(tmp, O_CLOEXEC);	/* mode 0600 */
	if (fd == -1) {
		ret = errno;
		krb5_set_error_message(ctx, ret,
				       "cannot write keytab %s: cannot %s "
				       "beside it: %s", path, step,
				       strerror(ret));
		return ret;
	}
	ret = fill_temporary(ctx, fd, tmp, keytab, path, mode, uid, gid,
			     &step);
	close(fd);
	if (ret == 0) {
		step = "rename into place";
		if (rename(tmp, path) == -1) {
			ret = errno;
		}
	}
	if (ret != 0) {
		unlink(tmp);
		if (step != NULL) {
			const char *msg = krb5_get_error_message(ctx, ret);

			krb5_set_error_message(ctx, ret,
					       "cannot write keytab %s: "
					       "cannot %s: %s", path, step,
					       msg);
			krb5_free_error_message(ctx, msg);
		}
		return ret;
	}
	ret = fsync_dir_of(path);
	if (ret != 0) {
		krb5_set_error_message(ctx, ASA_KEYTAB_ERR_NOT_DURABLE,
				       "the new keytab is in place at %s, but "
				       "its directory could not be flushed "
				       "to disk (%s): it may not survive a "
				       "crash", path, strerror(ret));
		return ASA_KEYTAB_ERR_NOT_DURABLE;
	}
	return 0;
}

/* PATH.lock, created if need be and locked exclusively: *lock_fd. */
static krb5_error_code lock_keytab(krb5_context ctx, const char *path,
				   int *lock_fd)
{
	char lock_path[PATH_MAX];
	krb5_error_code ret;

	if ((size_t)snprintf(lock_path, sizeof(lock_path), "%s.lock", path) >=
	    sizeof(lock_path)) {
		return ENAMETOOLONG;
	}
	*lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
			0600);
	if (*lock_fd == -1 && errno == ENOENT) {
		/* only a missing directory makes O_CREAT fail so */
		char dir[PATH_MAX];

		dir_of(path, dir);
		krb5_set_error_message(ctx, ENOENT, "the keytab's directory "
				       "%s does not exist: create it, or keep "
				       "the keytab elsewhere (--keytab)", dir);
		return ENOENT;
	}
	if (*lock_fd == -1) {
		ret = errno;
		krb5_set_error_message(ctx, ret, "cannot open lock file %s: %s",
				       lock_path, strerror(ret));
		return ret;
	}
	while (flock(*lock_fd, LOCK_EX) == -1) {
		if (errno != EINTR) {
			ret = errno;
			krb5_set_error_message(ctx, ret, "cannot lock %s: %s",
					       lock_path, strerror(ret));
			close(*lock_fd);
			*lock_fd = -1;
			return ret;
		}
	}
	return 0;
}

krb5_error_code asa_kt_install(krb5_context ctx,
			       const struct asa_keytab *incoming,
			       const char * const *expected,
			       size_t num_expected,
			       const char *path,
			       mode_t mode,
			       uid_t uid,
			       gid_t gid,
			       bool replace,
			       struct asa_keytab **installed)
{
	struct asa_keytab *current = NULL;
	struct asa_keytab *kept = NULL;
	struct asa_keytab *merged = NULL;
	krb5_error_code ret;
	int lock_fd = -1;

	if (installed != NULL) {
		*installed = NULL;
	}
	if (path == NULL || path[0] == '\0') {
		return EINVAL;
	}
	ret = asa_kt_check_principals(ctx, incoming, expected, num_expected,
				      true);
	if (ret != 0) {
		return ret;
	}
	ret = lock_keytab(ctx, path, &lock_fd);
	if (ret != 0) {
		return ret;
	}
	ret = asa_kt_read_file(ctx, path, true, &current);
	if (ret == 0) {
		ret = asa_kt_retire(ctx, current, incoming, replace, &kept,
				    NULL);
	}
	if (ret == 0) {
		ret = asa_kt_merge(ctx, kept, incoming, ASA_KEYTAB_KEEP_KVNOS,
				   &merged);
	}
	if (ret == 0) {
		ret = asa_kt_write_file(ctx, merged, path, mode, uid, gid);
	}
	if (ret == 0 && installed != NULL) {
		*installed = merged;
		merged = NULL;
	}
	/* Closing releases the lock. */
	close(lock_fd);
	asa_kt_free(current);
	asa_kt_free(kept);
	asa_kt_free(merged);
	return ret;
}

krb5_error_code asa_kt_member_install(krb5_context ctx,
				      const struct asa_keytab *incoming,
				      const char * const *pinned,
				      size_t num_pinned,
				      const char *path,
				      mode_t mode,
				      uid_t uid,
				      gid_t gid,
				      bool replace,
				      krb5_kvno **kvnos,
				      size_t *num_kvnos)
{
	struct asa_keytab *current = NULL;
	struct asa_keytab *installed = NULL;
	const char **expected = NULL;
	size_t num_expected = 0;
	const char *account = NULL;
	krb5_error_code ret;

	*kvnos = NULL;
	*num_kvnos = 0;
	/*
	 * The account check reads the current keytab without the lock: two
	 * installs at once of two different accounts could both pass it,
	 * and the merge would then hold both; a DC never does that (a
	 * member URL belongs to one ASA), and the next install refuses.
	 */
	ret = asa_kt_read_file(ctx, path, true, &current);
	if (ret == 0) {
		ret = asa_kt_expected_principals(ctx, incoming, current,
						 pinned, num_pinned,
						 &expected, &num_expected,
						 &account);
	}
	if (ret == 0) {
		ret = asa_kt_install(ctx, incoming, expected, num_expected,
				     path, mode, uid, gid, replace,
				     &installed);
	}
	if (ret == 0) {
		ret = asa_kt_kvnos(installed, account, kvnos, num_kvnos);
	}
	free(expected);
	asa_kt_free(current);
	asa_kt_free(installed);
	return ret;
}
