/*
 * samba-asa: the process runner's start of a child (proc_spawn.c), for
 * proc.c only.
 */
#ifndef _ASA_PROC_SPAWN_H_
#define _ASA_PROC_SPAWN_H_

#include <sys/types.h>

#include "proc.h"

struct asa_proc_child {
	pid_t pid;
	int in;		/* its standard input, non-blocking; -1: /dev/null */
	int out;	/* its standard output */
	int err;	/* its standard error */
};

/*
 * Start o->argv (see proc.h: its environment, path, descriptors, group,
 * PR_SET_PDEATHSIG): 0 and *child, or an errno, the exec's own included,
 * with nothing left open or running.
 */
int asa_proc_spawn(const struct asa_proc_options *o,
		   struct asa_proc_child *child);

void asa_proc_close_fd(int *fd);

#endif /* _ASA_PROC_SPAWN_H_ */
