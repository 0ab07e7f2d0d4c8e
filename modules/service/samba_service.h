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
 * layouts come from samba_service_<release>.h, read from that release's
 * source4/samba/service.h and service_task.h, and wscript records the ABI
 * tag of the installed library at configure time (ASA_SAMBA_PRIVATE_ABI)
 * so that the module refers to exactly that version and a different Samba
 * refuses to load it instead of calling into a changed structure.
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

/*
 * The layouts, per supported release (wscript's SAMBA_RELEASES sets
 * ASA_SAMBA_RELEASE, e.g. 422 for 4.22, and refuses any other release).
 */
#if ASA_SAMBA_RELEASE == 417
#include "samba_service_4_17.h"
#elif ASA_SAMBA_RELEASE == 422
#include "samba_service_4_22.h"
#else
#error "no server-service layout for this Samba release (see wscript)"
#endif

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
