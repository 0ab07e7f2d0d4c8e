/*
 * samba-asa: the parts of Samba's server-service interface that a service
 * module needs, which samba-dev does not ship.
 *
 * Copyright (C) samba-asa authors 2026
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 *
 * This program is distributed in the hope that it will be useful,
 * but WITHOUT ANY WARRANTY; without even the implied warranty of
 * MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.  See the
 * GNU General Public License for more details.
 */

/*
 * A server service is a .so in Samba's MODULESDIR/service whose
 * samba_init_module() registers a struct service_details; "server services
 * = +NAME" in smb.conf makes samba call its task_init with a struct
 * task_server.  Both structures and the functions below are private to
 * Samba (libservice-samba4.so.0, every symbol versioned with the build's
 * private ABI tag), so this module is built for one Samba build: the
 * layouts here are those of Samba 4.17 (source4/samba/service.h and
 * service_task.h), and wscript records the ABI tag of the installed
 * library at configure time (ASA_SAMBA_PRIVATE_ABI) so that the module
 * refers to exactly that version and a different Samba refuses to load it
 * instead of calling into a changed structure.
 */
#ifndef _ASA_SAMBA_SERVICE_H_
#define _ASA_SAMBA_SERVICE_H_

#include <stdbool.h>
#include <stdint.h>
#include <talloc.h>
#include <core/ntstatus.h>
#include <gen_ndr/server_id.h>

struct tevent_context;
struct model_ops;
struct imessaging_context;
struct loadparm_context;

/* lpcfg_server_role() of an Active Directory DC (libds/common/roles.h) */
#define ASA_ROLE_ACTIVE_DIRECTORY_DC 4

struct process_details {
	unsigned int instances;
};

/* What samba hands a service's task_init; the task owns the process's
 * (or, under -M single, samba's) event context. */
struct task_server {
	struct tevent_context *event_ctx;
	const struct model_ops *model_ops;
	struct imessaging_context *msg_ctx;
	struct loadparm_context *lp_ctx;
	struct server_id server_id;
	void *private_data;
	void *process_context;
};

struct service_details {
	bool inhibit_fork_on_accept;
	/* prefork: run the task in the master process only */
	bool inhibit_pre_fork;
	NTSTATUS (*task_init)(struct task_server *task);
	void (*post_fork)(struct task_server *task,
			  struct process_details *details);
};

NTSTATUS register_server_service(TALLOC_CTX *ctx,
				 const char *name,
				 const struct service_details *details);

/*
 * Ends the task: fatal=true also asks samba to shut down, fatal=false ends
 * only this task (and, under the standard and prefork models, its
 * process).  The task is freed.
 */
void task_server_terminate(struct task_server *task,
			   const char *reason,
			   bool fatal);

void task_server_set_title(struct task_server *task, const char *title);

/* What samba's module loader calls in every MODULESDIR/service/ *.so. */
NTSTATUS samba_init_module(TALLOC_CTX *ctx);

#ifdef ASA_SAMBA_PRIVATE_ABI
/* Refer to the private ABI the module was configured for, by name. */
__asm__(".symver register_server_service,"
	"register_server_service@" ASA_SAMBA_PRIVATE_ABI);
__asm__(".symver task_server_terminate,"
	"task_server_terminate@" ASA_SAMBA_PRIVATE_ABI);
__asm__(".symver task_server_set_title,"
	"task_server_set_title@" ASA_SAMBA_PRIVATE_ABI);
#endif

#endif /* _ASA_SAMBA_SERVICE_H_ */
