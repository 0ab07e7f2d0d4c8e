/*
 * samba-asa: the selftest's hooks (see test_hooks.h).  Only this file
 * depends on ASA_SELFTEST, so a test build and a release build share
 * every other object.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "roll.h"
#include "test_hooks.h"

#ifdef ASA_SELFTEST

void asa_test_stop_at(int step)
{
	const char *want = getenv("SAMBA_ASA_TEST_STOP_AT");

	if (want != NULL && roll_step_from_name(want) == step) {
		fflush(stdout);
		fflush(stderr);
		kill(getpid(), SIGKILL);
	}
}

void asa_test_show_secrets(const char *password,
			   const struct asa_key *keys,
			   size_t num_keys)
{
	const char *fd_text = getenv("SAMBA_ASA_TEST_SECRET_FD");
	char *end = NULL;
	long fd;
	size_t i, j;
	FILE *f = NULL;

	if (fd_text == NULL) {
		return;
	}
	fd = strtol(fd_text, &end, 10);
	if (end == fd_text || *end != '\0' || fd < 3) {
		return;
	}
	f = fdopen((int)fd, "w");
	if (f == NULL) {
		return;
	}
	fprintf(f, "password %s\n", password);
	for (i = 0; keys != NULL && i < num_keys; i++) {
		fprintf(f, "key %d ", keys[i].enctype);
		for (j = 0; j < keys[i].length; j++) {
			fprintf(f, "%02x", keys[i].contents[j]);
		}
		fputc('\n', f);
	}
	fclose(f);
}

#else /* !ASA_SELFTEST */

void asa_test_stop_at(int step)
{
}

void asa_test_show_secrets(const char *password,
			   const struct asa_key *keys,
			   size_t num_keys)
{
}

#endif /* ASA_SELFTEST */
