/*
 * samba-asa: keytabs of the alternate service account; see keytab.h.
 *
 * The version 2 keytab format (MIT's FILE: keytab, big-endian):
 *
 *   uint8 0x05, uint8 0x02
 *   records: int32 size, then size bytes (size < 0: a hole of -size bytes
 *            left by a deleted entry; size 0: end of keytab)
 *   record:  uint16 number of components (realm not counted)
 *            uint16 length + realm
 *            (uint16 length + component) for each component
 *            uint32 name type, uint32 timestamp, uint8 kvno
 *            uint16 enctype, uint16 key length + key
 *            [uint32 kvno, when at least 4 bytes of the record remain;
 *             when non-zero it replaces the 8-bit kvno]
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
 * Parse (untrusted bytes)
 */

struct kt_reader {
	const uint8_t *data;
	size_t length;
	size_t pos;
};

static bool rd_u8(struct kt_reader *r, uint8_t *v)
{
	if (r->length - r->pos < 1) {
		return false;
	}
	*v = r->data[r->pos];
	r->pos += 1;
	return true;
}

static bool rd_u16(struct kt_reader *r, uint16_t *v)
{
	if (r->length - r->pos < 2) {
		return false;
	}
	*v = ((uint16_t)r->data[r->pos] << 8) | r->data[r->pos + 1];
	r->pos += 2;
	return true;
}

static bool rd_u32(struct kt_reader *r, uint32_t *v)
{
	if (r->length - r->pos < 4) {
		return false;
	}
	*v = ((uint32_t)r->data[r->pos] << 24) |
	     ((uint32_t)r->data[r->pos + 1] << 16) |
	     ((uint32_t)r->data[r->pos + 2] << 8) |
	     (uint32_t)r->data[r->pos + 3];
	r->pos += 4;
	return true;
}

/* A counted octet string: uint16 length, then the bytes (not copied). */
static bool rd_counted(struct kt_reader *r, krb5_data *d)
{
	uint16_t len;

	if (!rd_u16(r, &len) || r->length - r->pos < len) {
		return false;
	}
	d->magic = KV5M_DATA;
	d->length = len;
	d->data = discard_const_p(char, (const char *)&r->data[r->pos]);
	r->pos += len;
	return true;
}

static krb5_error_code parse_record(krb5_context ctx,
				    TALLOC_CTX *mem_ctx,
				    struct kt_reader *r,
				    size_t index,
				    struct asa_keytab_entry *entry)
{
	krb5_data components[ASA_KEYTAB_MAX_COMPONENTS];
	krb5_principal_data princ = { 0 };
	char *unparsed = NULL;
	uint16_t count, enctype16;
	uint32_t name_type, timestamp, kvno32;
	uint8_t kvno8;
	krb5_data key = { 0 };
	size_t keybytes = 0, keylength = 0;
	krb5_error_code ret = 0;
	uint16_t i;

	if (!rd_u16(r, &count)) {
		goto truncated;
	}
	if (count == 0 || count > ASA_KEYTAB_MAX_COMPONENTS) {
		ret = KRB5_KT_FORMAT;
		krb5_set_error_message(ctx, ret,
				       "keytab entry %zu: principal with %u "
				       "components (1 to %d accepted)",
				       index, (unsigned)count,
				       ASA_KEYTAB_MAX_COMPONENTS);
		return ret;
	}
	if (!rd_counted(r, &princ.realm)) {
		goto truncated;
	}
	for (i = 0; i < count; i++) {
		if (!rd_counted(r, &components[i])) {
			goto truncated;
		}
	}
	if (!rd_u32(r, &name_type) || !rd_u32(r, &timestamp) ||
	    !rd_u8(r, &kvno8) || !rd_u16(r, &enctype16) ||
	    !rd_counted(r, &key)) {
		goto truncated;
	}
	entry->kvno = kvno8;
	/* The 32-bit kvno MIT appends; what may follow it is ignored, as
	 * MIT does. */
	if (rd_u32(r, &kvno32) && kvno32 != 0) {
		entry->kvno = kvno32;
	}

	if (princ.realm.length == 0) {
		ret = KRB5_KT_FORMAT;
		krb5_set_error_message(ctx, ret,
				       "keytab entry %zu: empty realm", index);
		return ret;
	}
	if (entry->kvno == 0) {
		ret = KRB5_KT_FORMAT;
		krb5_set_error_message(ctx, ret,
				       "keytab entry %zu: kvno 0", index);
		return ret;
	}
	/* MIT stores the enctype as a signed 16-bit number. */
	entry->enctype = (krb5_enctype)(int16_t)enctype16;
	if (!krb5_c_valid_enctype(entry->enctype)) {
		ret = KRB5_BAD_ENCTYPE;
		krb5_set_error_message(ctx, ret,
				       "keytab entry %zu: unknown enctype %d",
				       index, (int)entry->enctype);
		return ret;
	}
	ret = krb5_c_keylengths(ctx, entry->enctype, &keybytes, &keylength);
	if (ret != 0) {
		return ret;
	}
	if (key.length != keylength) {
		ret = KRB5_BAD_KEYSIZE;
		krb5_set_error_message(ctx, ret,
				       "keytab entry %zu: a %u-byte key for "
				       "enctype %d, which has %zu-byte keys",
				       index, key.length, (int)entry->enctype,
				       keylength);
		return ret;
	}

	princ.magic = KV5M_PRINCIPAL;
	princ.data = components;
	princ.length = count;
	princ.type = (krb5_int32)name_type;
	ret = krb5_unparse_name(ctx, &princ, &unparsed);
	if (ret != 0) {
		return ret;
	}
	entry->principal = talloc_strdup(mem_ctx, unparsed);
	krb5_free_unparsed_name(ctx, unparsed);
	entry->timestamp = timestamp;
	entry->key_length = key.length;
	entry->key = talloc_memdup(mem_ctx, key.data, key.length);
	asa_secret_wipe_on_free(entry->key);
	if (entry->principal == NULL || entry->key == NULL) {
		return ENOMEM;
	}
	return 0;

truncated:
	ret = KRB5_KT_FORMAT;
	krb5_set_error_message(ctx, ret,
			       "keytab entry %zu is truncated or its lengths "
			       "are inconsistent", index);
	return ret;
}

krb5_error_code asa_keytab_parse(krb5_context ctx,
				 TALLOC_CTX *mem_ctx,
				 const uint8_t *data,
				 size_t length,
				 struct asa_keytab **keytab)
{
	struct asa_keytab *kt = NULL;
	struct kt_reader r = { .data = data, .length = length, .pos = 0 };
	size_t allocated = 0;
	krb5_error_code ret = 0;

	*keytab = NULL;

	if (data == NULL && length > 0) {
		return EINVAL;
	}
	if (length > ASA_KEYTAB_MAX_SIZE) {
		ret = KRB5_KT_FORMAT;
		krb5_set_error_message(ctx, ret,
				       "keytab of %zu bytes refused (more "
				       "than %d)", length,
				       ASA_KEYTAB_MAX_SIZE);
		return ret;
	}
	if (length < 2 || data[0] != 0x05 || data[1] != 0x02) {
		ret = KRB5_KT_FORMAT;
		krb5_set_error_message(ctx, ret,
				       "not a version 2 keytab (it must start "
				       "with bytes 05 02)");
		return ret;
	}
	r.pos = 2;

	kt = keytab_new(mem_ctx, 16);
	if (kt == NULL) {
		return ENOMEM;
	}
	allocated = 16;

	while (r.length - r.pos > 0) {
		uint32_t usize;
		int32_t size;
		struct kt_reader rec;

		if (!rd_u32(&r, &usize)) {
			ret = KRB5_KT_FORMAT;
			krb5_set_error_message(ctx, ret,
					       "keytab ends inside a record "
					       "length");
			goto done;
		}
		size = (int32_t)usize;
		if (size == 0) {
			/* MIT's end marker; what follows is unused space. */
			break;
		}
		if (size < 0) {
			uint32_t hole = (uint32_t)0 - usize;

			if (hole > r.length - r.pos) {
				ret = KRB5_KT_FORMAT;
				krb5_set_error_message(ctx, ret,
						       "keytab hole runs past "
						       "its end");
				goto done;
			}
			r.pos += hole;
			continue;
		}
		if ((uint32_t)size > r.length - r.pos) {
			ret = KRB5_KT_FORMAT;
			krb5_set_error_message(ctx, ret,
					       "keytab entry %zu runs past "
					       "its end (%d bytes claimed, "
					       "%zu left)", kt->num_entries,
					       (int)size, r.length - r.pos);
			goto done;
		}
		if (kt->num_entries >= ASA_KEYTAB_MAX_ENTRIES) {
			ret = KRB5_KT_FORMAT;
			krb5_set_error_message(ctx, ret,
					       "keytab has more than %d "
					       "entries",
					       ASA_KEYTAB_MAX_ENTRIES);
			goto done;
		}
		if (kt->num_entries == allocated) {
			struct asa_keytab_entry *grown = NULL;

			grown = talloc_realloc(kt, kt->entries,
					       struct asa_keytab_entry,
					       allocated * 2);
			if (grown == NULL) {
				ret = ENOMEM;
				goto done;
			}
			kt->entries = grown;
			allocated *= 2;
		}

		rec.data = &r.data[r.pos];
		rec.length = (size_t)size;
		rec.pos = 0;
		ret = parse_record(ctx, kt->entries, &rec, kt->num_entries,
				   &kt->entries[kt->num_entries]);
		if (ret != 0) {
			goto done;
		}
		kt->num_entries++;
		r.pos += (size_t)size;
	}

	*keytab = kt;
	kt = NULL;

done:
	TALLOC_FREE(kt);
	return ret;
}

krb5_error_code asa_keytab_read_fd(krb5_context ctx,
				   TALLOC_CTX *mem_ctx,
				   int fd,
				   struct asa_keytab **keytab)
{
	return asa_keytab_read_fd_deadline(ctx, mem_ctx, fd, 0, keytab);
}

/* Milliseconds until the monotonic time 'end' (at least 0). */
static int ms_until(const struct timespec *end)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)(end->tv_sec - now.tv_sec) * 1000 +
	     (end->tv_nsec - now.tv_nsec) / 1000000;
	if (ms < 0) {
		return 0;
	}
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

krb5_error_code asa_keytab_read_fd_deadline(krb5_context ctx,
					    TALLOC_CTX *mem_ctx,
					    int fd,
					    unsigned int seconds,
					    struct asa_keytab **keytab)
{
	uint8_t *buf = NULL;
	size_t used = 0;
	/* One byte more than accepted, to tell "too big" from "full". */
	size_t cap = ASA_KEYTAB_MAX_SIZE + 1;
	struct timespec end;
	krb5_error_code ret = 0;

	*keytab = NULL;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += seconds;
	buf = talloc_size(mem_ctx, cap);
	if (buf == NULL) {
		return ENOMEM;
	}
	asa_secret_wipe_on_free(buf);

	while (used < cap) {
		ssize_t got;

		if (seconds > 0) {
			struct pollfd pfd = { .fd = fd, .events = POLLIN };
			int n = poll(&pfd, 1, ms_until(&end));

			if (n < 0 && errno == EINTR) {
				continue;
			}
			if (n == 0) {
				ret = ETIMEDOUT;
				krb5_set_error_message(ctx, ret,
					"no complete keytab within %u s "
					"(%zu bytes came)", seconds, used);
				goto done;
			}
		}
		got = read(fd, buf + used, cap - used);

		if (got < 0) {
			if (errno == EINTR) {
				continue;
			}
			ret = errno;
			krb5_set_error_message(ctx, ret,
					       "reading the keytab failed: %s",
					       strerror(ret));
			goto done;
		}
		if (got == 0) {
			break;
		}
		used += (size_t)got;
	}

	ret = asa_keytab_parse(ctx, mem_ctx, buf, used, keytab);

done:
	TALLOC_FREE(buf);
	return ret;
}

krb5_error_code asa_keytab_read_file(krb5_context ctx,
				     TALLOC_CTX *mem_ctx,
				     const char *path,
				     bool missing_ok,
				     struct asa_keytab **keytab)
{
	struct stat st;
	krb5_error_code ret;
	int fd;

	*keytab = NULL;

	/*
	 * Regular files only: no symbolic link (O_NOFOLLOW), and a FIFO or
	 * device is not waited on (O_NONBLOCK) but refused after fstat().
	 */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW |
		  O_NONBLOCK);
	if (fd == -1) {
		ret = errno;
		if (ret == ENOENT && missing_ok) {
			*keytab = keytab_new(mem_ctx, 0);
			return (*keytab != NULL) ? 0 : ENOMEM;
		}
		krb5_set_error_message(ctx, ret, "cannot open keytab %s: %s%s",
				       path, strerror(ret),
				       ret == ELOOP ? " (a symbolic link is "
				       "never followed)" : "");
		return ret;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		ret = EPERM;
		close(fd);
		krb5_set_error_message(ctx, ret, "keytab %s is not a regular "
				       "file", path);
		return ret;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) == -1) {
		ret = errno;
		close(fd);
		return ret;
	}
	ret = asa_keytab_read_fd(ctx, mem_ctx, fd, keytab);
	close(fd);
	if (ret != 0) {
		const char *msg = krb5_get_error_message(ctx, ret);

		krb5_set_error_message(ctx, ret, "%s: %s", path, msg);
		krb5_free_error_message(ctx, msg);
	}
	return ret;
}

/* ----------------------------------------------------------------------
 * Validate
 */

static bool name_in(const char *name,
		    const char * const *names,
		    size_t num_names)
{
	size_t i;

	for (i = 0; i < num_names; i++) {
		if (names[i] != NULL && strcmp(names[i], name) == 0) {
			return true;
		}
	}
	return false;
}

krb5_error_code asa_keytab_check_principals(krb5_context ctx,
					    const struct asa_keytab *keytab,
					    const char * const *expected,
					    size_t num_expected,
					    bool require_all)
{
	krb5_error_code ret;
	size_t i, j;

	if (keytab == NULL || keytab->num_entries == 0) {
		ret = KRB5_KT_NOTFOUND;
		krb5_set_error_message(ctx, ret, "the keytab holds no keys");
		return ret;
	}

	for (i = 0; i < keytab->num_entries; i++) {
		const char *p = keytab->entries[i].principal;

		if (!name_in(p, expected, num_expected)) {
			ret = KRB5_PRINC_NOMATCH;
			krb5_set_error_message(ctx, ret,
					       "the keytab holds keys for %s, "
					       "which is not a principal of "
					       "this account", p);
			return ret;
		}
	}

	if (!require_all) {
		return 0;
	}
	for (j = 0; j < num_expected; j++) {
		for (i = 0; i < keytab->num_entries; i++) {
			if (strcmp(keytab->entries[i].principal,
				   expected[j]) == 0) {
				break;
			}
		}
		if (i == keytab->num_entries) {
			ret = KRB5_KT_NOTFOUND;
			krb5_set_error_message(ctx, ret,
					       "the keytab holds no keys for "
					       "%s", expected[j]);
			return ret;
		}
	}
	return 0;
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

static bool keys_equal(const struct asa_keytab_entry *a,
		       const struct asa_keytab_entry *b)
{
	uint8_t diff = 0;
	size_t i;

	if (a->key_length != b->key_length) {
		return false;
	}
	for (i = 0; i < a->key_length; i++) {
		diff |= a->key[i] ^ b->key[i];
	}
	return diff == 0;
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
			if (h != NULL && keys_equal(h, r)) {
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

/* ----------------------------------------------------------------------
 * Merge, list
 */

struct sort_slot {
	const struct asa_keytab_entry *entry;
	size_t order;		/* position before sorting: a stable tie */
	bool keep;
};

static int kvno_cmp_desc(krb5_kvno a, krb5_kvno b)
{
	return (a < b) - (a > b);
}

static int slot_cmp(const void *pa, const void *pb)
{
	const struct sort_slot *a = pa, *b = pb;
	int c;

	c = strcmp(a->entry->principal, b->entry->principal);
	if (c != 0) {
		return c;
	}
	c = kvno_cmp_desc(a->entry->kvno, b->entry->kvno);
	if (c != 0) {
		return c;
	}
	return (a->order > b->order) - (a->order < b->order);
}

krb5_error_code asa_keytab_merge(krb5_context ctx,
				 TALLOC_CTX *mem_ctx,
				 const struct asa_keytab *current,
				 const struct asa_keytab *incoming,
				 unsigned int keep_kvnos,
				 struct asa_keytab **merged)
{
	TALLOC_CTX *frame = NULL;
	struct sort_slot *slots = NULL;
	struct asa_keytab *kt = NULL;
	size_t num_current = (current != NULL) ? current->num_entries : 0;
	size_t n = 0, i, j, first, kept;
	krb5_error_code ret = 0;

	*merged = NULL;

	if (incoming == NULL || keep_kvnos == 0) {
		return EINVAL;
	}
	if (incoming->num_entries + num_current > 2 * ASA_KEYTAB_MAX_ENTRIES) {
		return EINVAL;
	}

	frame = talloc_new(mem_ctx);
	if (frame == NULL) {
		return ENOMEM;
	}
	slots = talloc_zero_array(frame, struct sort_slot,
				  incoming->num_entries + num_current + 1);
	if (slots == NULL) {
		ret = ENOMEM;
		goto done;
	}

	/* Incoming first: on the same (principal, kvno, enctype) it wins. */
	for (i = 0; i < incoming->num_entries + num_current; i++) {
		const struct asa_keytab_entry *e =
			(i < incoming->num_entries) ?
			&incoming->entries[i] :
			&current->entries[i - incoming->num_entries];

		for (j = 0; j < n; j++) {
			const struct asa_keytab_entry *o = slots[j].entry;

			if (o->kvno == e->kvno && o->enctype == e->enctype &&
			    strcmp(o->principal, e->principal) == 0) {
				break;
			}
		}
		if (j < n) {
			continue;
		}
		slots[n].entry = e;
		slots[n].order = n;
		n++;
	}

	qsort(slots, n, sizeof(slots[0]), slot_cmp);

	/* Per principal (now adjacent, newest kvno first): the first
	 * keep_kvnos distinct kvnos stay. */
	kept = 0;
	for (first = 0; first < n; first = i) {
		unsigned int distinct = 0;

		for (i = first; i < n &&
		     strcmp(slots[i].entry->principal,
			    slots[first].entry->principal) == 0; i++) {
			if (i == first ||
			    slots[i].entry->kvno != slots[i - 1].entry->kvno) {
				distinct++;
			}
			slots[i].keep = (distinct <= keep_kvnos);
			kept += slots[i].keep ? 1 : 0;
		}
	}

	if (kept > ASA_KEYTAB_MAX_ENTRIES) {
		ret = EINVAL;
		krb5_set_error_message(ctx, ret,
				       "the merged keytab would hold %zu "
				       "entries, more than %d", kept,
				       ASA_KEYTAB_MAX_ENTRIES);
		goto done;
	}

	kt = keytab_new(mem_ctx, kept);
	if (kt == NULL) {
		ret = ENOMEM;
		goto done;
	}
	for (i = 0; i < n; i++) {
		if (!slots[i].keep) {
			continue;
		}
		ret = entry_copy(kt->entries, &kt->entries[kt->num_entries],
				 slots[i].entry);
		if (ret != 0) {
			goto done;
		}
		kt->num_entries++;
	}

	*merged = kt;
	kt = NULL;

done:
	TALLOC_FREE(kt);
	TALLOC_FREE(frame);
	return ret;
}

/* Whether e's key is one of keys' (same kvno, enctype and key bytes). */
static bool key_among(const struct asa_keytab_entry *e,
		      const struct asa_keytab_entry * const *keys,
		      size_t num_keys)
{
	size_t i;

	for (i = 0; i < num_keys; i++) {
		if (keys[i]->kvno == e->kvno &&
		    keys[i]->enctype == e->enctype && keys_equal(keys[i], e)) {
			return true;
		}
	}
	return false;
}

krb5_error_code asa_keytab_retire(krb5_context ctx,
				  TALLOC_CTX *mem_ctx,
				  const struct asa_keytab *current,
				  const struct asa_keytab *incoming,
				  bool replace,
				  struct asa_keytab **kept,
				  size_t *num_dropped)
{
	TALLOC_CTX *frame = NULL;
	const struct asa_keytab_entry **keys = NULL;
	const char **names = NULL;
	bool *carried = NULL;
	bool *asa = NULL;
	struct asa_keytab *kt = NULL;
	size_t n = (current != NULL) ? current->num_entries : 0;
	size_t num_keys = 0, num_names = 0, i, j;
	krb5_error_code ret = 0;

	*kept = NULL;
	if (num_dropped != NULL) {
		*num_dropped = 0;
	}
	if (incoming == NULL) {
		return EINVAL;
	}
	frame = talloc_new(mem_ctx);
	if (frame == NULL) {
		return ENOMEM;
	}
	keys = talloc_zero_array(frame, const struct asa_keytab_entry *,
				 incoming->num_entries + n + 1);
	names = talloc_zero_array(frame, const char *,
				  incoming->num_entries + 1);
	carried = talloc_zero_array(frame, bool, n + 1);
	asa = talloc_zero_array(frame, bool, n + 1);
	if (keys == NULL || names == NULL || carried == NULL || asa == NULL) {
		ret = ENOMEM;
		goto done;
	}

	/* The ASA's principals and keys: what arrives ... */
	for (i = 0; i < incoming->num_entries; i++) {
		const struct asa_keytab_entry *e = &incoming->entries[i];

		keys[num_keys++] = e;
		if (!name_in(e->principal, names, num_names)) {
			names[num_names++] = e->principal;
		}
	}
	/* ... and what the member holds under those principals. */
	for (i = 0; i < n; i++) {
		const struct asa_keytab_entry *e = &current->entries[i];

		carried[i] = name_in(e->principal, names, num_names);
		if (carried[i]) {
			keys[num_keys++] = e;
		}
	}
	/*
	 * Every name of an account has the account's keys: a principal
	 * holding one of them is the ASA's, whether the push carries it or
	 * not (an SPN the ASA no longer has).  Keys the member keeps of its
	 * own are not the ASA's and stay.
	 */
	for (i = 0; i < n; i++) {
		if (carried[i] ||
		    key_among(&current->entries[i], keys, num_keys)) {
			asa[i] = true;
		}
	}
	for (i = 0; i < n; i++) {
		for (j = 0; asa[i] && j < n; j++) {
			if (!asa[j] && strcmp(current->entries[i].principal,
					      current->entries[j].principal)
				       == 0) {
				asa[j] = true;
			}
		}
	}

	kt = keytab_new(mem_ctx, n);
	if (kt == NULL) {
		ret = ENOMEM;
		goto done;
	}
	for (i = 0; i < n; i++) {
		if (asa[i] && (replace || !carried[i])) {
			continue;
		}
		ret = entry_copy(kt->entries, &kt->entries[kt->num_entries],
				 &current->entries[i]);
		if (ret != 0) {
			goto done;
		}
		kt->num_entries++;
	}
	if (num_dropped != NULL) {
		*num_dropped = n - kt->num_entries;
	}
	*kept = kt;
	kt = NULL;
done:
	TALLOC_FREE(kt);
	TALLOC_FREE(frame);
	return ret;
}

krb5_error_code asa_keytab_list(TALLOC_CTX *mem_ctx,
				const struct asa_keytab *keytab,
				struct asa_keytab_item **items,
				size_t *num_items)
{
	struct sort_slot *slots = NULL;
	struct asa_keytab_item *list = NULL;
	size_t n = keytab->num_entries;
	size_t i;

	*items = NULL;
	*num_items = 0;

	slots = talloc_zero_array(mem_ctx, struct sort_slot, n + 1);
	list = talloc_zero_array(mem_ctx, struct asa_keytab_item, n + 1);
	if (slots == NULL || list == NULL) {
		TALLOC_FREE(slots);
		TALLOC_FREE(list);
		return ENOMEM;
	}
	for (i = 0; i < n; i++) {
		slots[i].entry = &keytab->entries[i];
		slots[i].order = i;
	}
	qsort(slots, n, sizeof(slots[0]), slot_cmp);
	for (i = 0; i < n; i++) {
		list[i].principal = talloc_strdup(list,
						  slots[i].entry->principal);
		if (list[i].principal == NULL) {
			TALLOC_FREE(slots);
			TALLOC_FREE(list);
			return ENOMEM;
		}
		list[i].kvno = slots[i].entry->kvno;
		list[i].enctype = slots[i].entry->enctype;
	}
	TALLOC_FREE(slots);
	*items = list;
	*num_items = n;
	return 0;
}

static int kvno_qsort_desc(const void *pa, const void *pb)
{
	return kvno_cmp_desc(*(const krb5_kvno *)pa, *(const krb5_kvno *)pb);
}

krb5_error_code asa_keytab_kvnos(TALLOC_CTX *mem_ctx,
				 const struct asa_keytab *keytab,
				 const char *principal,
				 krb5_kvno **kvnos,
				 size_t *num_kvnos)
{
	krb5_kvno *list = NULL;
	size_t n = 0, i, j;

	*kvnos = NULL;
	*num_kvnos = 0;

	list = talloc_zero_array(mem_ctx, krb5_kvno,
				 keytab->num_entries + 1);
	if (list == NULL) {
		return ENOMEM;
	}
	for (i = 0; i < keytab->num_entries; i++) {
		const struct asa_keytab_entry *e = &keytab->entries[i];

		if (principal != NULL && strcmp(e->principal, principal) != 0) {
			continue;
		}
		for (j = 0; j < n; j++) {
			if (list[j] == e->kvno) {
				break;
			}
		}
		if (j == n) {
			list[n++] = e->kvno;
		}
	}
	qsort(list, n, sizeof(list[0]), kvno_qsort_desc);
	*kvnos = list;
	*num_kvnos = n;
	return 0;
}

/* ----------------------------------------------------------------------
 * Write (through MIT's FILE: keytab)
 */

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
			goto done;
		}
		entry.timestamp = (krb5_timestamp)e->timestamp;
		entry.vno = e->kvno;
		entry.key.magic = KV5M_KEYBLOCK;
		entry.key.enctype = e->enctype;
		entry.key.length = e->key_length;
		/* MIT copies the key; ours stays in its wiped buffer. */
		entry.key.contents = e->key;
		ret = krb5_kt_add_entry(ctx, kt, &entry);
		krb5_free_principal(ctx, entry.principal);
		if (ret != 0) {
			goto done;
		}
	}

done:
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
	if (done != sizeof(version)) {
		return KRB5_KT_IOERR;
	}
	return 0;
}

static krb5_error_code fsync_dir_of(const char *path)
{
	char *copy = NULL;
	char *slash = NULL;
	const char *dir = NULL;
	krb5_error_code ret = 0;
	int fd;

	copy = strdup(path);
	if (copy == NULL) {
		return ENOMEM;
	}
	slash = strrchr(copy, '/');
	if (slash == NULL) {
		dir = ".";
	} else if (slash == copy) {
		dir = "/";
	} else {
		*slash = '\0';
		dir = copy;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1) {
		ret = errno;
		goto done;
	}
	if (fsync(fd) == -1) {
		ret = errno;
	}
	close(fd);
done:
	free(copy);
	return ret;
}

krb5_error_code asa_keytab_write_file(krb5_context ctx,
				      const struct asa_keytab *keytab,
				      const char *path,
				      mode_t mode,
				      gid_t gid)
{
	char *tmp = NULL;
	const char *step = NULL;
	struct stat st;
	krb5_error_code ret = 0;
	int fd = -1;

	if (keytab == NULL || path == NULL || path[0] == '\0') {
		return EINVAL;
	}
	if (mode != 0600 && mode != 0640) {
		ret = EINVAL;
		krb5_set_error_message(ctx, ret,
				       "keytab mode %04o refused: 0600, or "
				       "0640 with a group", (unsigned)mode);
		return ret;
	}
	if (mode == 0640 && gid == (gid_t)-1) {
		ret = EINVAL;
		krb5_set_error_message(ctx, ret,
				       "keytab mode 0640 needs the group of "
				       "the service that reads it");
		return ret;
	}

	tmp = talloc_asprintf(NULL, "%s.tmp.XXXXXX", path);
	if (tmp == NULL) {
		return ENOMEM;
	}

	step = "create a temporary file";
	fd = mkstemp(tmp);	/* mode 0600 */
	if (fd != -1 && fcntl(fd, F_SETFD, FD_CLOEXEC) == -1) {
		ret = errno;
		close(fd);
		unlink(tmp);
		errno = ret;
		fd = -1;
	}
	if (fd == -1) {
		ret = errno;
		TALLOC_FREE(tmp);
		krb5_set_error_message(ctx, ret,
				       "cannot write keytab %s: cannot %s "
				       "beside it: %s", path, step,
				       strerror(ret));
		return ret;
	}

	step = "write the keys";
	ret = write_version(fd);
	if (ret != 0) {
		goto done;
	}
	ret = write_entries(ctx, keytab, tmp);
	if (ret != 0) {
		goto done;
	}
	/*
	 * A keytab above what asa_keytab_read_fd() accepts would make
	 * every later install on this host fail: refuse it here, the old
	 * one left in place.
	 */
	step = "keep it within the size limit";
	if (fstat(fd, &st) == -1) {
		ret = errno;
		goto done;
	}
	if (st.st_size > ASA_KEYTAB_MAX_SIZE) {
		ret = EFBIG;
		close(fd);
		fd = -1;
		unlink(tmp);
		TALLOC_FREE(tmp);
		krb5_set_error_message(ctx, ret,
				       "the keytab %s would be %lld bytes, "
				       "more than the %d samba-asa reads "
				       "back: not written", path,
				       (long long)st.st_size,
				       ASA_KEYTAB_MAX_SIZE);
		return ret;
	}
	if (gid != (gid_t)-1) {
		step = "set the group";
		if (fchown(fd, (uid_t)-1, gid) == -1) {
			ret = errno;
			goto done;
		}
	}
	step = "set the mode";
	if (fchmod(fd, mode) == -1) {
		ret = errno;
		goto done;
	}
	step = "flush to disk";
	if (fsync(fd) == -1) {
		ret = errno;
		goto done;
	}
	step = "rename into place";
	if (rename(tmp, path) == -1) {
		ret = errno;
		goto done;
	}
	TALLOC_FREE(tmp);
	ret = fsync_dir_of(path);
	if (ret != 0) {
		krb5_set_error_message(ctx, ASA_KEYTAB_ERR_NOT_DURABLE,
				       "the new keytab is in place at %s, but "
				       "its directory could not be flushed "
				       "to disk (%s): it may not survive a "
				       "crash", path, strerror(ret));
		ret = ASA_KEYTAB_ERR_NOT_DURABLE;
		goto out;
	}

done:
	if (fd != -1) {
		close(fd);
		fd = -1;
	}
	if (tmp != NULL) {
		unlink(tmp);
		TALLOC_FREE(tmp);
	}
	if (ret != 0) {
		const char *msg = krb5_get_error_message(ctx, ret);

		krb5_set_error_message(ctx, ret,
				       "cannot write keytab %s: cannot %s: "
				       "%s", path, step, msg);
		krb5_free_error_message(ctx, msg);
	}
out:
	if (fd != -1) {
		close(fd);
	}
	return ret;
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
	TALLOC_CTX *frame = NULL;
	struct asa_keytab *current = NULL;
	struct asa_keytab *merged = NULL;
	char *lock_path = NULL;
	krb5_error_code ret;
	int lock_fd = -1;

	if (installed != NULL) {
		*installed = NULL;
	}
	if (path == NULL || path[0] == '\0') {
		return EINVAL;
	}

	ret = asa_keytab_check_principals(ctx, incoming, expected,
					  num_expected, true);
	if (ret != 0) {
		return ret;
	}

	frame = talloc_new(mem_ctx);
	if (frame == NULL) {
		return ENOMEM;
	}
	lock_path = talloc_asprintf(frame, "%s.lock", path);
	if (lock_path == NULL) {
		ret = ENOMEM;
		goto done;
	}
	lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
		       0600);
	if (lock_fd == -1 && errno == ENOENT) {
		/* only a missing directory makes O_CREAT fail so */
		char *dir = talloc_strdup(frame, path);
		char *slash = dir != NULL ? strrchr(dir, '/') : NULL;

		ret = ENOENT;
		if (slash != NULL) {
			*(slash == dir ? slash + 1 : slash) = '\0';
		}
		krb5_set_error_message(ctx, ret, "the keytab's directory %s "
				       "does not exist: create it, or keep "
				       "the keytab elsewhere (--keytab)",
				       dir != NULL ? dir : path);
		goto done;
	}
	if (lock_fd == -1) {
		ret = errno;
		krb5_set_error_message(ctx, ret, "cannot open lock file %s: %s",
				       lock_path, strerror(ret));
		goto done;
	}
	while (flock(lock_fd, LOCK_EX) == -1) {
		if (errno != EINTR) {
			ret = errno;
			krb5_set_error_message(ctx, ret,
					       "cannot lock %s: %s",
					       lock_path, strerror(ret));
			goto done;
		}
	}

	ret = asa_keytab_read_file(ctx, frame, path, true, &current);
	if (ret != 0) {
		goto done;
	}
	ret = asa_keytab_retire(ctx, frame, current, incoming, replace,
				&current, NULL);
	if (ret != 0) {
		goto done;
	}
	ret = asa_keytab_merge(ctx, frame, current, incoming,
			       ASA_KEYTAB_KEEP_KVNOS, &merged);
	if (ret != 0) {
		goto done;
	}
	ret = asa_keytab_write_file(ctx, merged, path, mode, gid);
	if (ret != 0) {
		goto done;
	}
	if (installed != NULL) {
		*installed = talloc_steal(mem_ctx, merged);
	}

done:
	if (lock_fd != -1) {
		/* Closing releases the lock. */
		close(lock_fd);
	}
	TALLOC_FREE(frame);
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
	ret = write_version(fd);
	if (ret != 0) {
		goto done;
	}
	ret = write_entries(ctx, keytab, file);
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
