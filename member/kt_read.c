/*
 * samba-asa: reading keytabs from untrusted bytes; see member_keytab.h.
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

#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* mkostemp, explicit_bzero, reallocarray */
#endif

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <krb5.h>

#include "member_keytab.h"

void asa_kt_wipe(void *ptr, size_t length)
{
	if (ptr != NULL && length > 0) {
		explicit_bzero(ptr, length);
	}
}

void asa_kt_free(struct asa_keytab *kt)
{
	size_t i;

	if (kt == NULL) {
		return;
	}
	for (i = 0; i < kt->num_entries; i++) {
		asa_kt_wipe(kt->entries[i].key, kt->entries[i].key_length);
		free(kt->entries[i].key);
		free(kt->entries[i].principal);
	}
	free(kt->entries);
	free(kt);
}

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
	d->data = (char *)(uintptr_t)&r->data[r->pos];
	r->pos += len;
	return true;
}

static krb5_error_code format_error(krb5_context ctx, krb5_error_code ret,
				    size_t index, const char *what)
{
	krb5_set_error_message(ctx, ret, "keytab entry %zu: %s", index, what);
	return ret;
}

static krb5_error_code parse_record(krb5_context ctx,
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
		return format_error(ctx, KRB5_KT_FORMAT, index, "empty realm");
	}
	if (entry->kvno == 0) {
		return format_error(ctx, KRB5_KT_FORMAT, index, "kvno 0");
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
	entry->principal = strdup(unparsed);
	krb5_free_unparsed_name(ctx, unparsed);
	entry->timestamp = timestamp;
	entry->key_length = key.length;
	entry->key = malloc(key.length > 0 ? key.length : 1);
	if (entry->principal == NULL || entry->key == NULL) {
		return ENOMEM;
	}
	memcpy(entry->key, key.data, key.length);
	return 0;

truncated:
	krb5_set_error_message(ctx, KRB5_KT_FORMAT,
			       "keytab entry %zu is truncated or its lengths "
			       "are inconsistent", index);
	return KRB5_KT_FORMAT;
}

struct asa_keytab *asa_kt_alloc(size_t num)
{
	struct asa_keytab *kt = calloc(1, sizeof(*kt));

	if (kt == NULL) {
		return NULL;
	}
	kt->entries = calloc(num > 0 ? num : 1, sizeof(kt->entries[0]));
	if (kt->entries == NULL) {
		free(kt);
		return NULL;
	}
	return kt;
}

krb5_error_code asa_kt_parse(krb5_context ctx, const uint8_t *data,
			     size_t length, struct asa_keytab **keytab)
{
	struct asa_keytab *kt = NULL;
	struct kt_reader r = { .data = data, .length = length, .pos = 0 };
	size_t allocated = 16;
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

	kt = asa_kt_alloc(allocated);
	if (kt == NULL) {
		return ENOMEM;
	}

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

			grown = reallocarray(kt->entries, allocated * 2,
					     sizeof(kt->entries[0]));
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
		memset(&kt->entries[kt->num_entries], 0,
		       sizeof(kt->entries[0]));
		ret = parse_record(ctx, &rec, kt->num_entries,
				   &kt->entries[kt->num_entries]);
		/* counted even when half-made, so that it is freed */
		kt->num_entries++;
		if (ret != 0) {
			goto done;
		}
		r.pos += (size_t)size;
	}

	*keytab = kt;
	kt = NULL;

done:
	asa_kt_free(kt);
	return ret;
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

krb5_error_code asa_kt_read_fd(krb5_context ctx, int fd,
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
	buf = malloc(cap);
	if (buf == NULL) {
		return ENOMEM;
	}

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

	ret = asa_kt_parse(ctx, buf, used, keytab);

done:
	asa_kt_wipe(buf, used);
	free(buf);
	return ret;
}

krb5_error_code asa_kt_read_file(krb5_context ctx, const char *path,
				 bool missing_ok, struct asa_keytab **keytab)
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
			*keytab = asa_kt_alloc(0);
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
	ret = asa_kt_read_fd(ctx, fd, 0, keytab);
	close(fd);
	if (ret != 0) {
		const char *msg = krb5_get_error_message(ctx, ret);

		krb5_set_error_message(ctx, ret, "%s: %s", path, msg);
		krb5_free_error_message(ctx, msg);
	}
	return ret;
}
