/*
 * asa_roll: a Samba server service that rolls the passwords of alternate
 * service accounts when they are due.
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
 * "server services = +asa_roll" starts it inside samba.  It does no
 * directory or Kerberos work itself: a roll talks to every member host and
 * to the directory and may take minutes, and under "-M single" every
 * service shares samba's one event loop.  So, as dns_update runs
 * samba_dnsupdate, it runs
 *
 *	samba-asa roll --due -H <sam.ldb> -s <smb.conf>
 *
 * as a child process, reads its output without blocking and sleeps again.
 * The command decides everything that needs the directory: whether this
 * DC holds the PDC emulator role (it stays idle otherwise), which ASAs are
 * due, and their rolls.  Its last line on standard output says when to
 * look again ("next-due: <unix seconds>" or "next-due: none"); its exit
 * status is 0 (done), 1 (a roll failed) or 2 (usage or environment).
 *
 * The timer: a first run "asa:roll start delay" after samba starts; after
 * a run that succeeded, at the next due time but never later than
 * "asa:roll check interval" (so a role change, a new ASA or a roll by hand
 * on another DC is noticed); after a failed run, after "asa:roll retry",
 * doubling with each consecutive failure up to "asa:roll retry max".  One
 * child at a time; one that runs longer than "asa:roll timeout" is
 * stopped.  "asa:roll interval" and "asa:roll jitter" are the command's
 * (it reads the same smb.conf); they are checked here so that a bad value
 * is reported when samba starts.
 *
 * Every line the child prints goes to samba's log (standard output at
 * NOTICE, standard error at ERR), as does its exit status.  The child
 * runs through samba-asa's process runner (common/proc.h) on the task's
 * event loop: it never gets a secret from us (its argument vector names
 * two files) nor one of samba's descriptors, gets a clean environment
 * (with what a Samba tool needs of samba's), leads a process group of
 * its own, and dies with the task's process (PR_SET_PDEATHSIG).  On
 * "asa:roll timeout" the whole group gets SIGTERM, SIGKILL after a grace
 * period; when the task is freed (samba or the task stopping) it gets
 * SIGTERM; once the child has ended, anything it left in its group is
 * killed.  Its end is noticed through a pidfd, not SIGCHLD, so nothing
 * here competes with samba's own handling of its children.
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <talloc.h>
#include <tevent.h>
#include <param.h>
#include <util/debug.h>

#include "proc.h"
#include "roll.h"
#include "schedule.h"
#include "samba_service.h"

#ifndef ASA_SAMBA_ASA_PATH
#define ASA_SAMBA_ASA_PATH "/usr/bin/samba-asa"
#endif

/* Defaults of the service's own smb.conf options. */
#define ASA_ROLL_CHECK_INTERVAL_DEFAULT (3600)
#define ASA_ROLL_START_DELAY_DEFAULT (30)
#define ASA_ROLL_TIMEOUT_DEFAULT (3600)

/* After SIGTERM, how long a child has before SIGKILL. */
#define ASA_ROLL_KILL_GRACE (30)
/* A line of output longer than this is logged in pieces. */
#define ASA_ROLL_LINE_MAX (1024)
/* The longest a timer sleeps (tevent counts seconds in 32 bits). */
#define ASA_ROLL_DELAY_MAX ((int64_t)INT32_MAX)

struct asa_roll_options {
	const char *command;		/* samba-asa */
	const char *sam_ldb;		/* -H */
	const char *smb_conf;		/* -s, NULL: samba's default */
	struct asa_schedule_policy policy;
	int64_t check_interval;
	int64_t start_delay;
	int64_t timeout;
};

struct asa_roll_child {
	struct asa_roll_service *service;
	struct tevent_req *req;		/* NULL once it has ended */
	pid_t pid;
	bool timed_out;
	char *last_line;		/* the last line on standard output */
	struct timeval started;
};

struct asa_roll_service {
	struct task_server *task;
	struct asa_roll_options options;
	struct tevent_timer *run_te;	/* the next run */
	struct asa_roll_child *child;	/* the run in progress, or NULL */
	unsigned int failures;		/* consecutive failed runs */
};

static void asa_roll_schedule(struct asa_roll_service *service,
			      int64_t delay);

/* Seconds from 'from' to 'to'. */
static double asa_roll_seconds(const struct timeval *from,
			       const struct timeval *to)
{
	return (double)(to->tv_sec - from->tv_sec) +
	       (double)(to->tv_usec - from->tv_usec) / 1e6;
}

/* "2026-11-25 07:00:00 UTC", for the log. */
static const char *asa_roll_time_text(TALLOC_CTX *mem_ctx, time_t t)
{
	struct tm tm;
	char text[64];

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%S UTC", &tm) == 0) {
		return talloc_asprintf(mem_ctx, "%lld", (long long)t);
	}
	return talloc_strdup(mem_ctx, text);
}

/*
 * A duration option "asa:NAME" (asa_schedule_parse_duration()), at least
 * 'min' seconds.  false with *why on mem_ctx when it is not.
 */
static bool asa_roll_duration_option(TALLOC_CTX *mem_ctx,
				     struct loadparm_context *lp_ctx,
				     const char *name,
				     int64_t default_value,
				     int64_t min,
				     int64_t *value,
				     char **why)
{
	const char *text = lpcfg_parm_string(lp_ctx, NULL, "asa", name);
	int64_t seconds = 0;

	if (text == NULL) {
		*value = default_value;
		return true;
	}
	if (asa_schedule_parse_duration(text, &seconds) != 0) {
		*why = talloc_asprintf(mem_ctx,
				       "smb.conf: 'asa:%s = %s' is not a "
				       "duration (seconds, or e.g. 21d, 12h, "
				       "90m, 30s)",
				       name, text);
		return false;
	}
	if (seconds < min) {
		*why = talloc_asprintf(mem_ctx,
				       "smb.conf: 'asa:%s = %s' is too "
				       "short: it must be at least %lld s",
				       name, text, (long long)min);
		return false;
	}
	if (seconds > ASA_ROLL_DELAY_MAX) {
		*why = talloc_asprintf(mem_ctx,
				       "smb.conf: 'asa:%s = %s' is too "
				       "long: it must be at most %lld s",
				       name, text,
				       (long long)ASA_ROLL_DELAY_MAX);
		return false;
	}
	*value = seconds;
	return true;
}

/*
 * The smb.conf options: the roll policy (interval, jitter, retry, retry
 * max) exactly as `samba-asa roll` reads it, and the service's own.
 */
static bool asa_roll_read_options(TALLOC_CTX *mem_ctx,
				  struct loadparm_context *lp_ctx,
				  struct asa_roll_options *options,
				  char **why)
{
	if (asa_roll_policy_load(mem_ctx, lp_ctx, &options->policy,
				 why) != 0) {
		return false;
	}
	if (!asa_roll_duration_option(mem_ctx, lp_ctx, "roll check interval",
				      ASA_ROLL_CHECK_INTERVAL_DEFAULT, 1,
				      &options->check_interval, why) ||
	    !asa_roll_duration_option(mem_ctx, lp_ctx, "roll start delay",
				      ASA_ROLL_START_DELAY_DEFAULT, 0,
				      &options->start_delay, why) ||
	    !asa_roll_duration_option(mem_ctx, lp_ctx, "roll timeout",
				      ASA_ROLL_TIMEOUT_DEFAULT, 1,
				      &options->timeout, why)) {
		return false;
	}

	options->command = lpcfg_parm_string(lp_ctx, NULL, "asa",
					     "roll command");
	if (options->command == NULL) {
		options->command = ASA_SAMBA_ASA_PATH;
	}
	if (options->command[0] != '/') {
		*why = talloc_asprintf(mem_ctx,
				       "smb.conf: 'asa:roll command = %s' "
				       "must be an absolute path (of "
				       "samba-asa)", options->command);
		return false;
	}
	options->command = talloc_strdup(mem_ctx, options->command);
	options->sam_ldb = lpcfg_private_path(mem_ctx, lp_ctx, "sam.ldb");
	options->smb_conf = lpcfg_configfile(lp_ctx);
	if (options->smb_conf != NULL) {
		options->smb_conf = talloc_strdup(mem_ctx, options->smb_conf);
	}
	if (options->command == NULL || options->sam_ldb == NULL) {
		*why = talloc_strdup(mem_ctx, "out of memory");
		return false;
	}
	return true;
}

/* Log one line of the child's output; control characters become '?'. */
static void asa_roll_child_line(void *private_data,
				pid_t pid,
				enum asa_proc_stream stream,
				const char *text)
{
	struct asa_roll_child *child = talloc_get_type_abort(
		private_data, struct asa_roll_child);
	char *line = talloc_strdup(child, text);
	size_t i;

	if (line == NULL) {
		DBG_ERR("asa_roll: roll[%d]: out of memory logging a line\n",
			(int)pid);
		return;
	}
	for (i = 0; line[i] != '\0'; i++) {
		unsigned char c = (unsigned char)line[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			line[i] = '?';
		}
	}
	if (stream == ASA_PROC_STDERR) {
		DBG_ERR("asa_roll: roll[%d]: %s\n", (int)pid, line);
		TALLOC_FREE(line);
		return;
	}
	if (strncmp(line, "warning: ", 9) == 0) {
		/* an overdue roll, the members holding it back named */
		DBG_WARNING("asa_roll: roll[%d]: %s\n", (int)pid, line);
	} else {
		DBG_NOTICE("asa_roll: roll[%d]: %s\n", (int)pid, line);
	}
	TALLOC_FREE(child->last_line);
	child->last_line = line;
}

/* The runner is about to signal the child's group at asa:roll timeout. */
static void asa_roll_child_stopping(void *private_data, pid_t pid, int sig)
{
	struct asa_roll_child *child = talloc_get_type_abort(
		private_data, struct asa_roll_child);

	if (sig == SIGTERM) {
		child->timed_out = true;
		DBG_ERR("asa_roll: roll[%d] still running after %lld s "
			"(asa:roll timeout): sending SIGTERM\n", (int)pid,
			(long long)child->service->options.timeout);
		return;
	}
	DBG_ERR("asa_roll: roll[%d] ignored SIGTERM for %d s: sending "
		"SIGKILL\n", (int)pid, ASA_ROLL_KILL_GRACE);
}

/* The task is stopping while the child runs: the runner's request,
 * freed with the child, sends its group SIGTERM. */
static int asa_roll_child_destructor(struct asa_roll_child *child)
{
	if (child->req != NULL) {
		DBG_NOTICE("asa_roll: stopping: sending SIGTERM to "
			   "roll[%d]\n", (int)child->pid);
	}
	return 0;
}

/* What the end of a run says, for the log. */
static const char *asa_roll_exit_text(TALLOC_CTX *mem_ctx,
				      const struct asa_roll_child *child,
				      const struct asa_proc_result *r,
				      bool *ok)
{
	int status = r->wait_status;

	*ok = false;
	if (!r->status_known) {
		return "ended, exit status unknown (reaped elsewhere)";
	}
	if (WIFSIGNALED(status)) {
		return talloc_asprintf(mem_ctx, "killed by signal %d%s",
				       WTERMSIG(status),
				       child->timed_out ?
				       " (asa:roll timeout)" : "");
	}
	if (!WIFEXITED(status)) {
		return "ended, exit status unknown";
	}
	switch (WEXITSTATUS(status)) {
	case 0:
		*ok = !child->timed_out;
		return child->timed_out ?
			"exit status 0 after asa:roll timeout" :
			"exit status 0";
	case 1:
		return "exit status 1: a roll failed";
	case 2:
		return "exit status 2: usage or environment error";
	case 127:
		return "exit status 127: the command could not be run";
	default:
		return talloc_asprintf(mem_ctx, "exit status %d",
				       WEXITSTATUS(status));
	}
}

/*
 * The delay the command's last line asks for ("next-due: SECONDS" or
 * "next-due: none"), at most the check interval.  -1 when the line is
 * not there or not understood.
 */
static int64_t asa_roll_next_due_delay(struct asa_roll_service *service,
				       const char *line,
				       time_t now)
{
	const char *prefix = "next-due:";
	const char *p = NULL;
	char *end = NULL;
	long long due;
	int64_t delay;

	if (line == NULL || strncmp(line, prefix, strlen(prefix)) != 0) {
		return -1;
	}
	p = line + strlen(prefix);
	while (*p == ' ' || *p == '\t') {
		p++;
	}
	if (strcmp(p, "none") == 0) {
		return service->options.check_interval;
	}
	if (*p < '0' || *p > '9') {
		return -1;
	}
	errno = 0;
	due = strtoll(p, &end, 10);
	if (errno != 0 || end == p || (*end != '\0' && *end != ' ')) {
		return -1;
	}
	if (due <= (long long)now) {
		/* Due again at once would run it back to back. */
		DBG_WARNING("asa_roll: the command says the next roll is "
			    "due now; looking again after asa:roll retry "
			    "(%lld s)\n",
			    (long long)service->options.policy.retry_base);
		return service->options.policy.retry_base;
	}
	delay = (int64_t)due - (int64_t)now;
	if (delay > service->options.check_interval) {
		delay = service->options.check_interval;
	}
	return delay;
}

/* The child has ended: log how, and when to run again. */
static void asa_roll_child_done(struct tevent_req *req)
{
	struct asa_roll_child *child = tevent_req_callback_data(
		req, struct asa_roll_child);
	struct asa_roll_service *service = child->service;
	TALLOC_CTX *frame = talloc_new(NULL);
	struct asa_proc_result *r = NULL;
	struct timeval now_tv = tevent_timeval_current();
	time_t now = now_tv.tv_sec;
	const char *how = NULL;
	bool ok = false;
	int64_t delay;
	int ret;

	ret = asa_proc_run_recv(req, frame, &r);
	child->req = NULL;
	TALLOC_FREE(req);
	if (ret != 0) {
		how = talloc_asprintf(frame, "could not be run: %s",
				      strerror(ret));
	} else {
		how = asa_roll_exit_text(frame, child, r, &ok);
	}

	if (ok) {
		DBG_NOTICE("asa_roll: roll[%d] finished: %s (%.1f s)\n",
			   (int)child->pid, how,
			   asa_roll_seconds(&child->started, &now_tv));
		service->failures = 0;
		delay = asa_roll_next_due_delay(service, child->last_line,
						now);
		if (delay < 0) {
			DBG_WARNING("asa_roll: roll[%d] did not end with "
				    "\"next-due: SECONDS\" or \"next-due: "
				    "none\" (last line: \"%s\"); looking "
				    "again after asa:roll check interval\n",
				    (int)child->pid,
				    child->last_line ? child->last_line : "");
			delay = service->options.check_interval;
		}
	} else {
		service->failures++;
		delay = asa_schedule_backoff(&service->options.policy,
					     service->failures);
		DBG_ERR("asa_roll: roll[%d] failed: %s (%.1f s); failure %u "
			"in a row, retrying in %lld s\n",
			(int)child->pid, how,
			asa_roll_seconds(&child->started, &now_tv),
			service->failures, (long long)delay);
	}

	service->child = NULL;
	TALLOC_FREE(child);
	asa_roll_schedule(service, delay);
	TALLOC_FREE(frame);
}

/* Start `samba-asa roll --due`.  false (logged) when it could not be. */
static bool asa_roll_start(struct asa_roll_service *service)
{
	static const char *env[] = { ASA_PROC_SAMBA_ENV, NULL };
	struct asa_roll_options *options = &service->options;
	struct tevent_context *ev = service->task->event_ctx;
	struct asa_roll_child *child = NULL;
	struct asa_proc_options po = {
		.env = env,
		.line_fn = asa_roll_child_line,
		.line_max = ASA_ROLL_LINE_MAX,
		.stop_fn = asa_roll_child_stopping,
		.timeout_ms = (uint64_t)options->timeout * 1000,
		.kill_grace_ms = ASA_ROLL_KILL_GRACE * 1000,
	};
	const char *argv[8];
	size_t argc = 0;

	if (access(options->command, X_OK) != 0) {
		DBG_ERR("asa_roll: cannot run %s: %s (asa:roll command: the "
			"path of samba-asa)\n",
			options->command, strerror(errno));
		return false;
	}

	argv[argc++] = options->command;
	argv[argc++] = "roll";
	argv[argc++] = "--due";
	argv[argc++] = "-H";
	argv[argc++] = options->sam_ldb;
	if (options->smb_conf != NULL) {
		argv[argc++] = "-s";
		argv[argc++] = options->smb_conf;
	}
	argv[argc] = NULL;
	po.argv = argv;

	child = talloc_zero(service, struct asa_roll_child);
	if (child == NULL) {
		DBG_ERR("asa_roll: out of memory\n");
		return false;
	}
	child->service = service;
	po.private_data = child;
	child->req = asa_proc_run_send(child, ev, &po);
	if (child->req == NULL) {
		DBG_ERR("asa_roll: out of memory\n");
		TALLOC_FREE(child);
		return false;
	}
	/* A child that could not start ends the request at once, through
	 * asa_roll_child_done() like any other end. */
	tevent_req_set_callback(child->req, asa_roll_child_done, child);
	talloc_set_destructor(child, asa_roll_child_destructor);
	child->pid = asa_proc_run_pid(child->req);
	child->started = tevent_timeval_current();
	service->child = child;

	DBG_NOTICE("asa_roll: roll[%d] started: %s roll --due -H %s%s%s\n",
		   (int)child->pid, options->command, options->sam_ldb,
		   options->smb_conf ? " -s " : "",
		   options->smb_conf ? options->smb_conf : "");
	return true;
}

static void asa_roll_run(struct tevent_context *ev,
			 struct tevent_timer *te,
			 struct timeval current_time,
			 void *private_data)
{
	struct asa_roll_service *service = talloc_get_type_abort(
		private_data, struct asa_roll_service);

	service->run_te = NULL;
	if (service->child != NULL) {
		/* Cannot happen: the timer is armed when a child ends. */
		DBG_WARNING("asa_roll: roll[%d] still running\n",
			    (int)service->child->pid);
		return;
	}
	if (!asa_roll_start(service)) {
		int64_t delay;

		service->failures++;
		delay = asa_schedule_backoff(&service->options.policy,
					     service->failures);
		DBG_ERR("asa_roll: failure %u in a row, retrying in %lld s\n",
			service->failures, (long long)delay);
		asa_roll_schedule(service, delay);
	}
}

/* Run again in 'delay' seconds. */
static void asa_roll_schedule(struct asa_roll_service *service,
			      int64_t delay)
{
	struct tevent_context *ev = service->task->event_ctx;
	TALLOC_CTX *frame = talloc_new(NULL);

	if (delay < 0) {
		delay = 0;
	}
	if (delay > ASA_ROLL_DELAY_MAX) {
		delay = ASA_ROLL_DELAY_MAX;
	}
	TALLOC_FREE(service->run_te);
	service->run_te = tevent_add_timer(
		ev, service, tevent_timeval_current_ofs((uint32_t)delay, 0),
		asa_roll_run, service);
	if (service->run_te == NULL) {
		DBG_ERR("asa_roll: out of memory: no further runs until "
			"samba restarts\n");
		goto done;
	}
	DBG_NOTICE("asa_roll: next run in %lld s, at %s\n", (long long)delay,
		   asa_roll_time_text(frame, time(NULL) + (time_t)delay));
done:
	TALLOC_FREE(frame);
}

static NTSTATUS asa_roll_task_init(struct task_server *task)
{
	struct asa_roll_service *service = NULL;
	struct asa_roll_options *options = NULL;
	char *why = NULL;
	const char *reason = NULL;

	if (lpcfg_server_role(task->lp_ctx) != ASA_ROLE_ACTIVE_DIRECTORY_DC) {
		reason = "asa_roll: not starting: this server is not an "
			 "Active Directory domain controller (server role), "
			 "and only a DC rolls ASA passwords";
		DBG_ERR("%s\n", reason);
		task_server_terminate(task, reason, false);
		return NT_STATUS_INVALID_DOMAIN_ROLE;
	}

	task_server_set_title(task, "task[asa_roll]");

	service = talloc_zero(task, struct asa_roll_service);
	if (service == NULL) {
		task_server_terminate(task, "asa_roll: out of memory", true);
		return NT_STATUS_NO_MEMORY;
	}
	service->task = task;
	task->private_data = service;
	options = &service->options;

	if (!asa_roll_read_options(service, task->lp_ctx, options, &why)) {
		reason = talloc_asprintf(task, "asa_roll: not starting: %s",
					 why ? why : "out of memory");
		DBG_ERR("%s\n", reason ? reason : "asa_roll: not starting");
		task_server_terminate(task, reason ? reason : "asa_roll",
				      false);
		return NT_STATUS_INVALID_PARAMETER;
	}
	if (access(options->command, X_OK) != 0) {
		DBG_WARNING("asa_roll: %s: %s: rolls fail until it is "
			    "installed (asa:roll command)\n",
			    options->command, strerror(errno));
	}

	DBG_NOTICE("asa_roll: started (pid %d, Samba private ABI %s): "
		   "runs \"%s roll --due\", first in %lld s, then when the "
		   "next ASA is due or every %lld s (asa:roll check "
		   "interval); after a failure in %lld s, doubling up to "
		   "%lld s; roll interval %lld s, jitter %lld s\n",
		   (int)getpid(),
#ifdef ASA_SAMBA_PRIVATE_ABI
		   ASA_SAMBA_PRIVATE_ABI,
#else
		   "unknown",
#endif
		   options->command, (long long)options->start_delay,
		   (long long)options->check_interval,
		   (long long)options->policy.retry_base,
		   (long long)options->policy.retry_max,
		   (long long)options->policy.interval,
		   (long long)options->policy.jitter);

	asa_roll_schedule(service, options->start_delay);
	if (service->run_te == NULL) {
		task_server_terminate(task, "asa_roll: out of memory", true);
		return NT_STATUS_NO_MEMORY;
	}
	return NT_STATUS_OK;
}

/* Called for every .so in MODULESDIR/service when samba starts. */
NTSTATUS samba_init_module(TALLOC_CTX *ctx)
{
	static const struct service_details details = {
		/* one process, one timer: nothing to fork or pre-fork */
		.inhibit_fork_on_accept = true,
		.inhibit_pre_fork = true,
		.task_init = asa_roll_task_init,
		.post_fork = NULL,
	};

	return register_server_service(ctx, "asa_roll", &details);
}
