/*
 * samba-asa: Samba 4.22's server-service structures (source4/samba/
 * service.h and service_task.h of 4.22.11), for samba_service.h.
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
#ifndef _ASA_SAMBA_SERVICE_4_22_H_
#define _ASA_SAMBA_SERVICE_4_22_H_

struct process_details {
	unsigned int instances;
};

/* As in 4.17.  With inhibit_pre_fork set, every process model runs the
 * loop on the event context task_init was given, and the task pointer
 * stays the one task_init saw. */
struct task_server {
	struct tevent_context *event_ctx;
	const struct model_ops *model_ops;
	struct imessaging_context *msg_ctx;
	struct loadparm_context *lp_ctx;
	struct server_id server_id;
	void *private_data;
	void *process_context;
};

/*
 * register_server_service() copies sizeof(struct service_details) from
 * the pointer it is given: 4.17's shorter layout would hand samba
 * whatever follows it in memory as before_loop.
 */
struct service_details {
	bool inhibit_fork_on_accept;
	/* prefork: run the task in the master process only */
	bool inhibit_pre_fork;
	NTSTATUS (*task_init)(struct task_server *task);
	void (*post_fork)(struct task_server *task,
			  struct process_details *details);
	/* called just before the loop; NULL: nothing to do then */
	void (*before_loop)(struct task_server *task);
};

#endif /* _ASA_SAMBA_SERVICE_4_22_H_ */
