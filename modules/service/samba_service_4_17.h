/*
 * samba-asa: Samba 4.17's server-service structures (source4/samba/
 * service.h and service_task.h of 4.17.12), for samba_service.h.
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
#ifndef _ASA_SAMBA_SERVICE_4_17_H_
#define _ASA_SAMBA_SERVICE_4_17_H_

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

#endif /* _ASA_SAMBA_SERVICE_4_17_H_ */
