/*
 * samba-asa: running a helper program from a tevent loop; see proc.h.
 * The child is started by proc_spawn.c; this is its life on the loop:
 * its standard input written and its output read as they are ready,
 * the deadline, the stop, the reaping.
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <talloc.h>
#include <tevent.h>

#include "proc.h"
#include "proc_spawn.h"

#define PROC_LINE_MAX_DEFAULT	1024
#define PROC_KILL_GRACE_DEFAULT	2000
/* Without a pidfd: how often to look whether the child has ended. */
#define PROC_POLL_MS		100
/* What is still read from a pipe once the child has ended: a process
 * that left its group may hold it open and keep writing. */
#define PROC_DRAIN_MAX		(256 * 1024)

struct asa_proc_state;

/* One of the child's output pipes. */
struct proc_pipe {
	struct asa_proc_state *state;
	enum asa_proc_stream stream;
	int fd;				/* owned by fde once it exists */
	struct tevent_fd *fde;		/* NULL once closed */
	uint8_t **buf;			/* the result's out or err */
	size_t *length;
	size_t size;			/* allocated, beyond the NUL */
	size_t max;
	bool *truncated;
	bool secret;
	char *line;			/* line_fn's line, line_max + 1 */
	size_t line_used;
};

struct asa_proc_state {
	struct tevent_context *ev;
	struct tevent_req *req;
	struct asa_proc_result *result;
	void (*line_fn)(void *private_data, pid_t pid,
			enum asa_proc_stream stream, const char *line);
	void (*stop_fn)(void *private_data, pid_t pid, int sig);
	void *private_data;
	size_t line_max;
	unsigned int kill_grace_ms;
	pid_t pid;
	bool reaped;
	uint8_t *in;			/* our copy, wiped when freed */
	size_t in_length;
	size_t in_done;
	int in_fd;
	struct tevent_fd *in_fde;
	struct proc_pipe out;
	struct proc_pipe err;
	struct tevent_fd *exit_fde;	/* the child's pidfd */
	struct tevent_timer *poll_te;	/* instead, without a pidfd */
	struct tevent_timer *deadline_te;
	bool term_sent;
};

/* Our own wipe, not keys.c's: the asa_roll service links this file and
 * must not pull in Kerberos with it. */
static int proc_wipe_destructor(void *ptr)
{
	explicit_bzero(ptr, talloc_get_size(ptr));
	return 0;
}

static void proc_wipe_on_free(void *ptr)
{
	talloc_set_destructor(ptr, proc_wipe_destructor);
}

static void proc_finish(struct asa_proc_state *state);

static void proc_pipe_line(struct proc_pipe *p)
{
	struct asa_proc_state *state = p->state;

	if (p->line_used > 0 && p->line[p->line_used - 1] == '\r') {
		p->line_used--;
	}
	p->line[p->line_used] = '\0';
	p->line_used = 0;
	state->line_fn(state->private_data, state->pid, p->stream, p->line);
}

/* Keep what fits under the cap; the kept bytes grow by doubling, and a
 * secret's old copy is wiped before it is freed. */
static void proc_pipe_keep(struct proc_pipe *p, const uint8_t *data,
			   size_t n)
{
	size_t room = p->max - *p->length;

	if (n > room) {
		*p->truncated = true;
		n = room;
	}
	if (n == 0) {
		return;
	}
	if (*p->length + n > p->size) {
		size_t size = p->size == 0 ? 4096 : p->size;
		uint8_t *buf = NULL;

		while (size < *p->length + n) {
			size *= 2;
		}
		if (size > p->max) {
			size = p->max;
		}
		buf = talloc_zero_size(p->state->result, size + 1);
		if (buf == NULL) {
			*p->truncated = true;
			return;
		}
		if (p->secret) {
			proc_wipe_on_free(buf);
		}
		if (*p->buf != NULL) {
			memcpy(buf, *p->buf, *p->length);
			talloc_free(*p->buf);	/* wipes a secret */
		}
		*p->buf = buf;
		p->size = size;
	}
	memcpy(*p->buf + *p->length, data, n);
	*p->length += n;
	(*p->buf)[*p->length] = '\0';
}

/* One read(); false when there is nothing more for now or ever. */
static bool proc_pipe_read(struct proc_pipe *p, size_t *total)
{
	uint8_t buf[16384];
	ssize_t n;
	size_t i;

	if (p->fde == NULL) {
		return false;
	}
	n = read(p->fd, buf, sizeof(buf));
	if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
		return false;
	}
	if (n <= 0) {
		TALLOC_FREE(p->fde);	/* closes the pipe */
		p->fd = -1;
		return false;
	}
	proc_pipe_keep(p, buf, (size_t)n);
	for (i = 0; p->line != NULL && i < (size_t)n; i++) {
		if (buf[i] == '\n') {
			proc_pipe_line(p);
			continue;
		}
		if (p->line_used == p->state->line_max) {
			proc_pipe_line(p);
		}
		p->line[p->line_used++] = (char)buf[i];
	}
	if (p->secret) {
		explicit_bzero(buf, sizeof(buf));
	}
	if (total != NULL) {
		*total += (size_t)n;
	}
	return true;
}

static void proc_pipe_readable(struct tevent_context *ev,
			       struct tevent_fd *fde,
			       uint16_t flags,
			       void *private_data)
{
	/* Part of struct asa_proc_state, not a talloc chunk of its own. */
	struct proc_pipe *p = private_data;

	proc_pipe_read(p, NULL);
}

/* What is left in a pipe once the child has ended, never waiting. */
static void proc_pipe_drain(struct proc_pipe *p)
{
	size_t total = 0;

	while (total < PROC_DRAIN_MAX && proc_pipe_read(p, &total)) {
		;
	}
	if (p->line != NULL && p->line_used > 0) {
		proc_pipe_line(p);
	}
	TALLOC_FREE(p->fde);
	p->fd = -1;
}

static bool proc_pipe_watch(struct asa_proc_state *state,
			    struct proc_pipe *p, int fd)
{
	int flags = fcntl(fd, F_GETFL);

	p->fd = fd;
	if (flags == -1 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1) {
		asa_proc_close_fd(&p->fd);
		return false;
	}
	p->fde = tevent_add_fd(state->ev, state, fd, TEVENT_FD_READ,
			       proc_pipe_readable, p);
	if (p->fde == NULL) {
		asa_proc_close_fd(&p->fd);
		return false;
	}
	tevent_fd_set_auto_close(p->fde);
	return true;
}

static void proc_stdin_close(struct asa_proc_state *state)
{
	TALLOC_FREE(state->in_fde);	/* closes the pipe */
	state->in_fd = -1;
}

/* A write to a child that has gone raises SIGPIPE: blocked for the
 * write, and one it raised taken back, so that a library never ends
 * its caller. */
static void proc_stdin_writable(struct tevent_context *ev,
				struct tevent_fd *fde,
				uint16_t flags,
				void *private_data)
{
	struct asa_proc_state *state = talloc_get_type_abort(
		private_data, struct asa_proc_state);
	sigset_t pipe_set, old, pending;
	bool was_pending;
	ssize_t n;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigpending(&pending);
	was_pending = sigismember(&pending, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	do {
		n = write(state->in_fd, state->in + state->in_done,
			  state->in_length - state->in_done);
	} while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EPIPE && !was_pending) {
		struct timespec zero = { 0, 0 };

		sigtimedwait(&pipe_set, NULL, &zero);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);

	if (n < 0 && errno == EAGAIN) {
		return;
	}
	if (n > 0) {
		state->in_done += (size_t)n;
	}
	/* All written, or the child stopped reading: its status says why. */
	if (n <= 0 || state->in_done == state->in_length) {
		proc_stdin_close(state);
	}
}

static void proc_signal(struct asa_proc_state *state, int sig)
{
	if (state->pid > 0 && !state->reaped) {
		kill(-state->pid, sig);	/* its process group */
		kill(state->pid, sig);	/* should setpgid() have failed */
	}
}

static void proc_deadline(struct tevent_context *ev,
			  struct tevent_timer *te,
			  struct timeval current_time,
			  void *private_data);

/* Stop the child: SIGTERM to its group, SIGKILL after the grace. */
static void proc_stop(struct asa_proc_state *state)
{
	TALLOC_FREE(state->deadline_te);
	if (!state->term_sent) {
		state->term_sent = true;
		if (state->stop_fn != NULL) {
			state->stop_fn(state->private_data, state->pid,
				       SIGTERM);
		}
		proc_signal(state, SIGTERM);
		state->deadline_te = tevent_add_timer(
			state->ev, state,
			tevent_timeval_current_ofs(
				state->kill_grace_ms / 1000,
				(state->kill_grace_ms % 1000) * 1000),
			proc_deadline, state);
		if (state->deadline_te != NULL) {
			return;
		}
	}
	if (state->stop_fn != NULL) {
		state->stop_fn(state->private_data, state->pid, SIGKILL);
	}
	proc_signal(state, SIGKILL);
}

static void proc_deadline(struct tevent_context *ev,
			  struct tevent_timer *te,
			  struct timeval current_time,
			  void *private_data)
{
	struct asa_proc_state *state = talloc_get_type_abort(
		private_data, struct asa_proc_state);

	state->deadline_te = NULL;
	if (!state->term_sent) {
		state->result->timed_out = true;
	}
	proc_stop(state);
}

static bool proc_cancel(struct tevent_req *req)
{
	struct asa_proc_state *state = tevent_req_data(
		req, struct asa_proc_state);

	if (state->reaped || state->term_sent) {
		return false;
	}
	state->result->canceled = true;
	proc_stop(state);
	return true;
}

/* Reap the child if it has ended; true when it has. */
static bool proc_reap(struct asa_proc_state *state)
{
	siginfo_t info;
	int status = 0;
	pid_t ret;

	/* Ended, not yet reaped: its PID, the ID of its group, is still
	 * taken, so the group can be signalled safely. */
	memset(&info, 0, sizeof(info));
	if (waitid(P_PID, state->pid, &info,
		   WEXITED | WNOHANG | WNOWAIT) == 0 &&
	    info.si_pid == state->pid) {
		kill(-state->pid, SIGKILL);
	}
	ret = waitpid(state->pid, &status, WNOHANG);
	if (ret == 0 || (ret == -1 && errno == EINTR)) {
		return false;
	}
	state->reaped = true;
	if (ret == state->pid) {
		state->result->wait_status = status;
		state->result->status_known = true;
	}
	return true;
}

static void proc_exited(struct tevent_context *ev,
			struct tevent_fd *fde,
			uint16_t flags,
			void *private_data)
{
	struct asa_proc_state *state = talloc_get_type_abort(
		private_data, struct asa_proc_state);

	if (proc_reap(state)) {
		proc_finish(state);
	}
}

static void proc_poll(struct tevent_context *ev,
		      struct tevent_timer *te,
		      struct timeval current_time,
		      void *private_data)
{
	struct asa_proc_state *state = talloc_get_type_abort(
		private_data, struct asa_proc_state);

	state->poll_te = NULL;
	if (proc_reap(state)) {
		proc_finish(state);
		return;
	}
	state->poll_te = tevent_add_timer(
		ev, state, tevent_timeval_current_ofs(0, PROC_POLL_MS * 1000),
		proc_poll, state);
	if (state->poll_te == NULL) {
		proc_signal(state, SIGKILL);
		tevent_req_error(state->req, ENOMEM);
	}
}

static void proc_finish(struct asa_proc_state *state)
{
	TALLOC_FREE(state->exit_fde);
	TALLOC_FREE(state->poll_te);
	TALLOC_FREE(state->deadline_te);
	proc_stdin_close(state);
	proc_pipe_drain(&state->out);
	proc_pipe_drain(&state->err);
	state->result->ended = tevent_timeval_current();
	tevent_req_done(state->req);
}

static int proc_state_destructor(struct asa_proc_state *state)
{
	int status;

	if (state->pid > 0 && !state->reaped) {
		proc_signal(state, SIGTERM);
		waitpid(state->pid, &status, WNOHANG);
	}
	return 0;
}

static void proc_pipe_init(struct asa_proc_state *state, struct proc_pipe *p,
			   enum asa_proc_stream stream, size_t max,
			   bool secret)
{
	struct asa_proc_result *r = state->result;
	bool out = (stream == ASA_PROC_STDOUT);

	p->state = state;
	p->stream = stream;
	p->fd = -1;
	p->buf = out ? &r->out : (uint8_t **)&r->err;
	p->length = out ? &r->out_length : &r->err_length;
	p->truncated = out ? &r->out_truncated : &r->err_truncated;
	p->max = max;
	p->secret = secret;
}

/* Fork and exec; 0 or an errno (the child's exec error included). */
static int proc_start(struct asa_proc_state *state,
		      const struct asa_proc_options *o)
{
	struct asa_proc_child child;
	int ret;

	ret = asa_proc_spawn(o, &child);
	if (ret != 0) {
		return ret;
	}
	state->pid = child.pid;
	state->result->pid = child.pid;
	state->result->started = tevent_timeval_current();

	/* From here on the child runs: its end is watched whatever fails
	 * below, and then it is stopped. */
	if (!proc_pipe_watch(state, &state->out, child.out)) {
		ret = ENOMEM;
	}
	if (!proc_pipe_watch(state, &state->err, child.err)) {
		ret = ENOMEM;
	}
	state->in_fd = child.in;
	if (state->in_fd != -1) {
		state->in_fde = tevent_add_fd(state->ev, state, state->in_fd,
					      TEVENT_FD_WRITE,
					      proc_stdin_writable, state);
		if (state->in_fde == NULL) {
			asa_proc_close_fd(&state->in_fd);
			ret = ENOMEM;
		} else {
			tevent_fd_set_auto_close(state->in_fde);
		}
		if (state->in_length == 0) {
			proc_stdin_close(state);
		}
	}
	if (ret == 0) {
		int pidfd = pidfd_open(state->pid, 0);

		if (pidfd >= 0) {
			state->exit_fde = tevent_add_fd(state->ev, state,
							pidfd, TEVENT_FD_READ,
							proc_exited, state);
			if (state->exit_fde == NULL) {
				close(pidfd);
			} else {
				tevent_fd_set_auto_close(state->exit_fde);
			}
		}
		if (state->exit_fde == NULL) {
			state->poll_te = tevent_add_timer(
				state->ev, state,
				tevent_timeval_current_ofs(0,
							   PROC_POLL_MS * 1000),
				proc_poll, state);
			if (state->poll_te == NULL) {
				ret = ENOMEM;
			}
		}
	}
	if (ret == 0 && o->timeout_ms > 0) {
		uint64_t secs = o->timeout_ms / 1000;

		/* tevent counts seconds in 32 bits */
		state->deadline_te = tevent_add_timer(
			state->ev, state,
			tevent_timeval_current_ofs(
				secs > UINT32_MAX ? UINT32_MAX : (uint32_t)secs,
				(uint32_t)(o->timeout_ms % 1000) * 1000),
			proc_deadline, state);
		if (state->deadline_te == NULL) {
			ret = ENOMEM;
		}
	}
	if (ret != 0) {
		/* Cannot watch it: nothing left running. */
		proc_signal(state, SIGKILL);
		while (waitpid(state->pid, NULL, 0) == -1 && errno == EINTR) {
		}
		state->reaped = true;
	}
	return ret;
}

struct tevent_req *asa_proc_run_send(TALLOC_CTX *mem_ctx,
				     struct tevent_context *ev,
				     const struct asa_proc_options *o)
{
	struct tevent_req *req = NULL;
	struct asa_proc_state *state = NULL;
	int ret;

	req = tevent_req_create(mem_ctx, &state, struct asa_proc_state);
	if (req == NULL) {
		return NULL;
	}
	state->ev = ev;
	state->req = req;
	state->pid = -1;
	state->in_fd = -1;
	state->line_fn = o->line_fn;
	state->stop_fn = o->stop_fn;
	state->private_data = o->private_data;
	state->line_max = o->line_max != 0 ? o->line_max
					   : PROC_LINE_MAX_DEFAULT;
	state->kill_grace_ms = o->kill_grace_ms != 0
		? o->kill_grace_ms : PROC_KILL_GRACE_DEFAULT;
	talloc_set_destructor(state, proc_state_destructor);

	state->result = talloc_zero(state, struct asa_proc_result);
	if (state->result == NULL) {
		tevent_req_oom(req);
		return tevent_req_post(req, ev);
	}
	state->result->pid = -1;
	if (o->argv == NULL || o->argv[0] == NULL) {
		tevent_req_error(req, EINVAL);
		return tevent_req_post(req, ev);
	}
	proc_pipe_init(state, &state->out, ASA_PROC_STDOUT, o->stdout_max,
		       o->stdout_secret);
	proc_pipe_init(state, &state->err, ASA_PROC_STDERR, o->stderr_max,
		       false);
	if (state->line_fn != NULL) {
		state->out.line = talloc_size(state, state->line_max + 1);
		state->err.line = talloc_size(state, state->line_max + 1);
		if (state->out.line == NULL || state->err.line == NULL) {
			tevent_req_oom(req);
			return tevent_req_post(req, ev);
		}
	}
	if (o->stdin_data != NULL) {
		state->in = talloc_size(state, o->stdin_length + 1);
		if (state->in == NULL) {
			tevent_req_oom(req);
			return tevent_req_post(req, ev);
		}
		proc_wipe_on_free(state->in);
		memcpy(state->in, o->stdin_data, o->stdin_length);
		state->in_length = o->stdin_length;
	}
	tevent_req_set_cancel_fn(req, proc_cancel);

	ret = proc_start(state, o);
	if (ret != 0) {
		tevent_req_error(req, ret);
		return tevent_req_post(req, ev);
	}
	return req;
}

pid_t asa_proc_run_pid(struct tevent_req *req)
{
	struct asa_proc_state *state = tevent_req_data(
		req, struct asa_proc_state);

	return state->reaped ? -1 : state->pid;
}

int asa_proc_run_recv(struct tevent_req *req,
		      TALLOC_CTX *mem_ctx,
		      struct asa_proc_result **result)
{
	struct asa_proc_state *state = tevent_req_data(
		req, struct asa_proc_state);
	enum tevent_req_state req_state;
	uint64_t err = 0;

	*result = NULL;
	if (tevent_req_is_error(req, &req_state, &err)) {
		tevent_req_received(req);
		return req_state == TEVENT_REQ_NO_MEMORY ? ENOMEM
		       : err != 0 ? (int)err : EIO;
	}
	*result = talloc_move(mem_ctx, &state->result);
	tevent_req_received(req);
	return 0;
}

int asa_proc_run(TALLOC_CTX *mem_ctx,
		 const struct asa_proc_options *options,
		 struct asa_proc_result **result)
{
	TALLOC_CTX *frame = talloc_new(mem_ctx);
	struct tevent_context *ev = NULL;
	struct tevent_req *req = NULL;
	int ret = ENOMEM;

	*result = NULL;
	if (frame == NULL) {
		return ENOMEM;
	}
	ev = tevent_context_init(frame);
	if (ev != NULL) {
		req = asa_proc_run_send(frame, ev, options);
	}
	if (req != NULL) {
		if (!tevent_req_poll(req, ev)) {
			ret = errno != 0 ? errno : EIO;
		} else {
			ret = asa_proc_run_recv(req, mem_ctx, result);
		}
	}
	TALLOC_FREE(frame);
	return ret;
}

char *asa_proc_status_text(TALLOC_CTX *mem_ctx,
			   const struct asa_proc_result *r)
{
	int s = r->wait_status;

	if (!r->status_known) {
		return talloc_strdup(mem_ctx, "ended, exit status unknown");
	}
	if (WIFSIGNALED(s)) {
		return talloc_asprintf(mem_ctx, "killed by signal %d%s",
				       WTERMSIG(s), r->timed_out ?
				       " at its deadline" : "");
	}
	if (WIFEXITED(s)) {
		return talloc_asprintf(mem_ctx, "exit status %d",
				       WEXITSTATUS(s));
	}
	return talloc_strdup(mem_ctx, "ended, exit status unknown");
}
