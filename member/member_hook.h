/*
 * samba-asa-member: the command a member runs after a successful install
 * (a service reload), from its own config only ("after install").
 */
#ifndef _ASA_MEMBER_HOOK_H_
#define _ASA_MEMBER_HOOK_H_

#include <stdbool.h>
#include <stddef.h>

#include "member_config.h"

/*
 * Run k->hook: execve() of its argv (no shell, no PATH search) with a
 * minimal environment (PATH, LANG=C, SAMBA_ASA_KEYTAB=the keytab), standard
 * input from /dev/null, in a process group of its own, killed (the whole
 * group) when it has not finished within k->hook_timeout seconds.  true
 * when it exited 0; else false with why (its exit status or the timeout,
 * and the last line it wrote) in report.
 */
bool member_hook_run(const struct member_keytab_conf *k, char *report,
		     size_t report_size);

#endif /* _ASA_MEMBER_HOOK_H_ */
