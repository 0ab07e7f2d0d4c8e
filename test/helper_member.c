/*
 * helper_member: drive asa_member_push() and asa_member_fetch() from the
 * selftest suites, exactly as the samba-asa commands do (transport options
 * from smb.conf), one line of result per member.
 *
 *   helper_member push  [-s smb.conf] [--timeout=N] [--accept-new]
 *                       KEYTAB_FILE URL...
 *   helper_member fetch [-s smb.conf] [--timeout=N] OUTDIR URL...
 *
 * --protocol=N: the DC says it speaks member protocol N (to test a
 * member's refusal).  Each member: "URL ok kvnos=N,N" (and "URL after
 * install: REPORT" when its after install command ran) or "URL
 * error=CODE MESSAGE"; a fetch
 * writes OUTDIR/<index>.keytab.  Exit 0 when every member succeeded, 1
 * when one failed, 2 on a usage error (a malformed URL, with the parser's
 * message).  Not installed.
 */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <talloc.h>
#include <krb5.h>
#include <param.h>

#include "keytab.h"
#include "member.h"

static int usage(void)
{
	fprintf(stderr, "usage: helper_member push [-s smb.conf] "
		"[--timeout=N] [--accept-new] KEYTAB_FILE URL...\n"
		"       helper_member fetch [-s smb.conf] [--timeout=N] "
		"OUTDIR URL...\n");
	return 2;
}

static int read_file(TALLOC_CTX *mem_ctx, const char *path, uint8_t **data,
		     size_t *length)
{
	int fd = open(path, O_RDONLY);
	uint8_t *buf = talloc_size(mem_ctx, ASA_KEYTAB_MAX_SIZE + 1);
	size_t used = 0;
	ssize_t n;

	if (fd == -1 || buf == NULL) {
		return errno != 0 ? errno : ENOMEM;
	}
	while (used < ASA_KEYTAB_MAX_SIZE + 1 &&
	       (n = read(fd, buf + used, ASA_KEYTAB_MAX_SIZE + 1 - used)) > 0) {
		used += (size_t)n;
	}
	close(fd);
	*data = buf;
	*length = used;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ "accept-new", no_argument, NULL, 'a' },
		{ "protocol", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	TALLOC_CTX *mem = talloc_new(NULL);
	struct asa_member_transport_options o = { .local_gid = (gid_t)-1 };
	struct loadparm_context *lp_ctx = NULL;
	const struct asa_member_url **urls = NULL;
	struct asa_member_result *r = NULL;
	const char *smb_conf = NULL;
	const char *verb = NULL;
	const char *arg = NULL;
	krb5_context ctx = NULL;
	uint8_t *data = NULL;
	size_t length = 0;
	int timeout = 0;
	bool accept_new = false;
	unsigned int protocol = 0;
	int i, n, c, ret, rc = 0;

	if (argc < 2) {
		return usage();
	}
	verb = argv[1];
	argv++;
	argc--;
	while ((c = getopt_long(argc, argv, "s:", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			smb_conf = optarg;
			break;
		case 't':
			timeout = atoi(optarg);
			break;
		case 'a':
			accept_new = true;
			break;
		case 'p':
			protocol = (unsigned int)atoi(optarg);
			break;
		default:
			return usage();
		}
	}
	if (argc - optind < 2 ||
	    (strcmp(verb, "push") != 0 && strcmp(verb, "fetch") != 0)) {
		return usage();
	}
	arg = argv[optind++];

	if (smb_conf != NULL) {
		lp_ctx = loadparm_init_global(false);
		if (lp_ctx == NULL || !lpcfg_load(lp_ctx, smb_conf) ||
		    asa_member_transport_options_load(mem, lp_ctx, &o) != 0) {
			fprintf(stderr, "cannot load %s\n", smb_conf);
			return 2;
		}
	}
	if (timeout > 0) {
		o.timeout_seconds = timeout;
	}
	o.accept_new_host_key = accept_new;
	o.protocol = protocol;

	n = argc - optind;
	urls = talloc_zero_array(mem, const struct asa_member_url *, n);
	for (i = 0; i < n; i++) {
		struct asa_member_url *u = NULL;
		char *why = NULL;

		if (asa_member_url_parse(mem, argv[optind + i], &u,
					 &why) != 0) {
			fprintf(stderr, "%s\n", why != NULL ? why : "?");
			return 2;
		}
		urls[i] = u;
	}
	if (krb5_init_context(&ctx) != 0) {
		return 2;
	}

	if (strcmp(verb, "push") == 0) {
		ret = read_file(mem, arg, &data, &length);
		if (ret != 0) {
			fprintf(stderr, "%s: %s\n", arg, strerror(ret));
			return 2;
		}
		ret = asa_member_push(mem, ctx, &o, urls, n, data, length,
				      &r);
	} else {
		ret = asa_member_fetch(mem, ctx, &o, urls, n, &r);
	}
	if (r == NULL) {
		fprintf(stderr, "%s failed: %s\n", verb, strerror(ret));
		return 2;
	}
	for (i = 0; i < n; i++) {
		char *url = asa_member_url_string(mem, urls[i]);
		size_t k;

		if (r[i].error != 0) {
			printf("%s error=%d %s\n", url, r[i].error,
			       r[i].message != NULL ? r[i].message : "");
			rc = 1;
			continue;
		}
		printf("%s ok kvnos=", url);
		for (k = 0; k < r[i].num_kvnos; k++) {
			printf("%s%u", k > 0 ? "," : "",
			       (unsigned int)r[i].kvnos[k]);
		}
		printf("\n");
		if (r[i].after_install != NULL) {
			printf("%s after install: %s\n", url,
			       r[i].after_install);
		}
		if (r[i].keytab != NULL) {
			char *path = talloc_asprintf(mem, "%s/%d.keytab",
						     arg, i);

			if (asa_keytab_write_file(ctx, r[i].keytab, path,
						  0600, (gid_t)-1) != 0) {
				printf("%s error=write cannot write %s\n",
				       url, path);
				rc = 1;
			}
		}
	}
	krb5_free_context(ctx);
	TALLOC_FREE(mem);
	return rc;
}
