/*
 * samba-asa: the --json output of every command, built with libjansson.
 *
 * Directory strings are untrusted bytes and need not be UTF-8 (a DC that
 * took a value unchecked can replicate it to us); JSON holds only
 * Unicode, so a value is given as Windows and unique_principal_names
 * store such an SPN (asa_name_sanitize(), principal.h): up to its first
 * NUL, each byte sequence that is not UTF-8 replaced by U+FFFD (the text
 * output shows such bytes as \xNN instead).
 */
#ifndef _ASA_CLI_JSON_H_
#define _ASA_CLI_JSON_H_

#include <stdbool.h>
#include <stdio.h>
#include <jansson.h>
#include <ldb.h>

/* s as a JSON string (null for NULL); NULL only when out of memory. */
json_t *cli_json_text(const char *s);

/* An ldb value (which need not end in a NUL) the same way. */
json_t *cli_json_value(const struct ldb_val *v);

/* A kvno, or null for 0 (none). */
json_t *cli_json_kvno(unsigned int kvno);

/*
 * array with value appended (the reference taken), or NULL with both
 * dropped when either is NULL or memory runs out: a list built in a loop
 * ends NULL if any step failed.
 */
json_t *cli_json_append(json_t *array, json_t *value);

/*
 * Print value and a newline on out, and drop the reference.  Each object
 * inside an array starts a line of its own, so that line-oriented tools
 * see one record per line.  ASA_EXIT_OK, or ASA_EXIT_USAGE after saying
 * why when value is NULL (out of memory while building it).
 */
int cli_json_print(FILE *out, json_t *value);

#endif /* _ASA_CLI_JSON_H_ */
