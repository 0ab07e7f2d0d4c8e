/*
 * samba-asa: hooks that let the selftest prove a roll safe.
 *
 * They do something only in a build configured with --enable-selftest
 * (what `make test` builds; wscript defines ASA_SELFTEST for this file
 * alone).  In any other build, the one `make`, `make install` and the
 * Debian package ship, they are empty functions and the program reads no
 * test variable: nothing outside a test build can make it write a secret
 * to a descriptor or kill itself.
 *
 *   SAMBA_ASA_TEST_STOP_AT=STEP    the roll kills itself with SIGKILL on
 *                                  reaching STEP (roll_step_name()), to
 *                                  show a crash there is harmless;
 *   SAMBA_ASA_TEST_SECRET_FD=N     the new password and the hex of its
 *                                  keys (create: the password only) are
 *                                  written to the already open fd N, so
 *                                  a test knows what to look for when it
 *                                  scans processes, files and output for
 *                                  leaked secrets.
 */
#ifndef _ASA_TEST_HOOKS_H_
#define _ASA_TEST_HOOKS_H_

#include <stdbool.h>
#include <stddef.h>

#include "keys.h"

/* SAMBA_ASA_TEST_STOP_AT: SIGKILL ourselves on reaching step. */
void asa_test_stop_at(int step);

/* SAMBA_ASA_TEST_SECRET_FD: password and keys (keys may be NULL). */
void asa_test_show_secrets(const char *password,
			   const struct asa_key *keys,
			   size_t num_keys);

#endif /* _ASA_TEST_HOOKS_H_ */
