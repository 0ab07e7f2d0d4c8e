/*
 * samba-asa: pushing keytabs to members and fetching theirs; see
 * member.h.
 *
 * Pushes run one ssh child per member, all at once, driven by one poll()
 * loop: the keytab goes down each child's standard input, its standard
 * output (the member's answer, or its keytab for a fetch) and standard
 * error (the member's or ssh's complaint) come back, and a child that has
 * not finished by its deadline is killed (SIGTERM, then SIGKILL).
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <talloc.h>
#include <krb5.h>

#include "keys.h"
#include "keytab.h"
#include "member.h"

/* What we keep of a child's standard error. */
#define MEMBER_STDERR_MAX	(16 * 1024)
/* Between SIGTERM and SIGKILL for a child past its deadline. */
#define MEMBER_KILL_GRACE_MS	2000

char **asa_member_ssh_argv(TALLOC_CTX *mem_ctx,
			   const struct asa_member_transport_options *o,
			   const struct asa_member_url *url,
			   bool show)
{
	const char *args[40];
	size_t n = 0, i;
	char **argv = NULL;
	int timeout = asa_member_timeout(o);
	int connect_timeout = timeout < 10 ? timeout : 10;
	const char *program = (o != NULL && o->ssh_program != NULL)
		? o->ssh_program : "ssh";
	TALLOC_CTX *tmp = talloc_new(mem_ctx);

	if (tmp == NULL) {
		return NULL;
	}
	args[n++] = program;
	args[n++] = "-T";	/* no terminal */
	args[n++] = "-x";	/* no X11 forwarding */
	args[n++] = "-a";	/* no agent forwarding */
	if (o != NULL && o->ssh_identity != NULL) {
		args[n++] = "-i";
		args[n++] = o->ssh_identity;
		args[n++] = "-o";
		args[n++] = "IdentitiesOnly=yes";
	}
	args[n++] = "-o";
	args[n++] = "BatchMode=yes";
	args[n++] = "-o";
	args[n++] = "PasswordAuthentication=no";
	args[n++] = "-o";
	args[n++] = "KbdInteractiveAuthentication=no";
	if (o != NULL && o->ssh_known_hosts != NULL) {
		/* ssh splits an option's value at spaces (a list of
		 * files) unless it is quoted. */
		bool space = strchr(o->ssh_known_hosts, ' ') != NULL;

		args[n++] = "-o";
		args[n++] = talloc_asprintf(tmp, "UserKnownHostsFile=%s%s%s",
					    space ? "\"" : "",
					    o->ssh_known_hosts,
					    space ? "\"" : "");
	}
	args[n++] = "-o";
	args[n++] = (o != NULL && o->accept_new_host_key)
		? "StrictHostKeyChecking=accept-new"
		: "StrictHostKeyChecking=yes";
	args[n++] = "-o";
	args[n++] = talloc_asprintf(tmp, "ConnectTimeout=%d",
				    connect_timeout);
	/* A connection of our own each time: no master left behind. */
	args[n++] = "-o";
	args[n++] = "ControlMaster=no";
	args[n++] = "-o";
	args[n++] = "ControlPath=none";
	args[n++] = "-o";
	args[n++] = "ClearAllForwardings=yes";
	args[n++] = "-o";
	args[n++] = "LogLevel=ERROR";
	if (url->user != NULL) {
		args[n++] = "-l";
		args[n++] = url->user;
	}
	if (url->port != 0) {
		args[n++] = "-p";
		args[n++] = talloc_asprintf(tmp, "%u", url->port);
	}
	args[n++] = "--";
	args[n++] = url->host;
	args[n++] = asa_member_request(tmp, o, url, show);
	args[n] = NULL;

	argv = talloc_zero_array(mem_ctx, char *, n + 1);
	if (argv == NULL) {
		goto fail;
	}
	for (i = 0; i < n; i++) {
		if (args[i] == NULL) {
			goto fail;
		}
		argv[i] = talloc_strdup(argv, args[i]);
		if (argv[i] == NULL) {
			goto fail;
		}
	}
	TALLOC_FREE(tmp);
	return argv;
fail:
	TALLOC_FREE(argv);
	TALLOC_FREE(tmp);
	return NULL;
}

/* ----------------------------------------------------------------------
 * Pushing and fetching: the ssh children and their poll loop
 */

struct member_job {
	const struct asa_member_url *url;
	struct asa_member_result *result;
	const char *name;
	bool show;
	pid_t pid;
	int in_fd;
	int out_fd;
	int err_fd;
	const uint8_t *in_data;
	size_t in_length;
	size_t in_done;
	uint8_t *out;		/* wiped when freed: a fetched keytab */
	size_t out_length;
	bool out_overflow;
	char *err;
	size_t err_length;
	struct timespec deadline;
	bool term_sent;
	struct timespec kill_at;
	bool timed_out;
	bool reaped;
	int status;
};

static int64_t ms_until(const struct timespec *when)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)(when->tv_sec - now.tv_sec) * 1000 +
	       (when->tv_nsec - now.tv_nsec) / 1000000;
}

static void after_ms(struct timespec *ts, int64_t ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

static void close_fd(int *fd)
{
	if (*fd != -1) {
		close(*fd);
		*fd = -1;
	}
}

/* The environment of a child: a few harmless variables, nothing else. */
static char **child_environ(TALLOC_CTX *mem_ctx)
{
	static const char *keep[] = {
		"PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "TZ",
	};
	char **env = talloc_zero_array(mem_ctx, char *,
				       sizeof(keep) / sizeof(keep[0]) + 1);
	size_t i, n = 0;

	if (env == NULL) {
		return NULL;
	}
	for (i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		const char *v = getenv(keep[i]);

		if (v == NULL) {
			if (strcmp(keep[i], "PATH") != 0) {
				continue;
			}
			v = "/usr/local/bin:/usr/bin:/bin";
		}
		env[n] = talloc_asprintf(env, "%s=%s", keep[i], v);
		if (env[n] == NULL) {
			TALLOC_FREE(env);
			return NULL;
		}
		n++;
	}
	return env;
}

static int job_spawn(struct member_job *job, char **argv, char **envp)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, dflt;
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 };
	int ret;

	if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 ||
	    pipe2(err, O_CLOEXEC) != 0) {
		ret = errno;
		goto fail;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	if (job->show) {
		/* Nothing to send: the child reads /dev/null. */
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null",
						 O_RDONLY, 0);
	} else {
		posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	}
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, err[1], 2);
	/* Nothing else of ours (a directory connection, another member's
	 * pipes) leaks into ssh. */
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	sigemptyset(&none);
	sigemptyset(&dflt);
	sigaddset(&dflt, SIGPIPE);
	sigaddset(&dflt, SIGCHLD);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &dflt);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
					POSIX_SPAWN_SETSIGDEF);
	ret = posix_spawnp(&job->pid, argv[0], &fa, &attr, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (ret != 0) {
		job->pid = -1;
		goto fail;
	}
	close(in[0]);
	close(out[1]);
	close(err[1]);
	if (job->show) {
		close(in[1]);
		job->in_fd = -1;
	} else {
		job->in_fd = in[1];
		fcntl(job->in_fd, F_SETFL,
		      fcntl(job->in_fd, F_GETFL) | O_NONBLOCK);
	}
	job->out_fd = out[0];
	job->err_fd = err[0];
	return 0;

fail:
	close_fd(&in[0]);
	close_fd(&in[1]);
	close_fd(&out[0]);
	close_fd(&out[1]);
	close_fd(&err[0]);
	close_fd(&err[1]);
	return ret;
}

static void job_write(struct member_job *job)
{
	while (job->in_done < job->in_length) {
		ssize_t n = write(job->in_fd, job->in_data + job->in_done,
				  job->in_length - job->in_done);

		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			if (errno == EAGAIN) {
				return;
			}
			/* EPIPE: ssh is gone; its exit status says why. */
			break;
		}
		job->in_done += (size_t)n;
	}
	close_fd(&job->in_fd);
}

static void job_read(TALLOC_CTX *mem_ctx, struct member_job *job, bool err)
{
	uint8_t buf[16384];
	int *fd = err ? &job->err_fd : &job->out_fd;
	ssize_t n;

	n = read(*fd, buf, sizeof(buf));
	if (n < 0) {
		if (errno == EINTR || errno == EAGAIN) {
			return;
		}
		n = 0;
	}
	if (n == 0) {
		close_fd(fd);
		return;
	}
	if (err) {
		size_t room = MEMBER_STDERR_MAX - job->err_length;
		size_t take = (size_t)n < room ? (size_t)n : room;

		if (take == 0) {
			return;
		}
		if (job->err == NULL) {
			job->err = talloc_zero_size(mem_ctx,
						    MEMBER_STDERR_MAX + 1);
			if (job->err == NULL) {
				return;
			}
		}
		memcpy(job->err + job->err_length, buf, take);
		job->err_length += take;
		return;
	}
	if (job->out_length + (size_t)n > ASA_MEMBER_ANSWER_MAX) {
		job->out_overflow = true;
		asa_memwipe(buf, sizeof(buf));
		return;
	}
	if (job->out == NULL) {
		job->out = talloc_zero_size(mem_ctx, ASA_MEMBER_ANSWER_MAX + 1);
		if (job->out == NULL) {
			job->out_overflow = true;
			asa_memwipe(buf, sizeof(buf));
			return;
		}
		asa_secret_wipe_on_free(job->out);
	}
	memcpy(job->out + job->out_length, buf, (size_t)n);
	job->out_length += (size_t)n;
	asa_memwipe(buf, sizeof(buf));
}

static void job_try_reap(struct member_job *job)
{
	pid_t got;

	if (job->reaped || job->pid <= 0) {
		return;
	}
	do {
		got = waitpid(job->pid, &job->status, WNOHANG);
	} while (got == -1 && errno == EINTR);
	if (got == job->pid || (got == -1 && errno == ECHILD)) {
		job->reaped = true;
	}
}


static int member_run(TALLOC_CTX *mem_ctx,
		      krb5_context ctx,
		      const struct asa_member_transport_options *options,
		      const struct asa_member_url * const *urls,
		      size_t num_urls,
		      const uint8_t *keytab,
		      size_t keytab_length,
		      bool show,
		      struct asa_member_result **presults)
{
	TALLOC_CTX *frame = talloc_new(mem_ctx);
	struct asa_member_result *results = NULL;
	struct member_job *jobs = NULL;
	struct pollfd *pfds = NULL;
	struct sigaction ign = { .sa_handler = SIG_IGN }, old_pipe;
	char **envp = NULL;
	size_t i, num_ssh = 0, spawn_failed = 0;
	int first_spawn_error = 0;
	int timeout_ms = asa_member_timeout(options) * 1000;
	int ret = 0;

	*presults = NULL;
	if (frame == NULL) {
		return ENOMEM;
	}
	results = talloc_zero_array(mem_ctx, struct asa_member_result,
				    num_urls + 1);
	jobs = talloc_zero_array(frame, struct member_job, num_urls + 1);
	pfds = talloc_zero_array(frame, struct pollfd, 3 * num_urls + 1);
	envp = child_environ(frame);
	if (results == NULL || jobs == NULL || pfds == NULL || envp == NULL) {
		TALLOC_FREE(results);
		TALLOC_FREE(frame);
		return ENOMEM;
	}

	/* A member that closes its end early must not kill us. */
	sigaction(SIGPIPE, &ign, &old_pipe);

	for (i = 0; i < num_urls; i++) {
		struct member_job *job = &jobs[i];
		char **argv = NULL;
		int err;

		results[i].url = urls[i];
		job->url = urls[i];
		job->result = &results[i];
		job->show = show;
		job->pid = -1;
		job->in_fd = job->out_fd = job->err_fd = -1;
		job->reaped = true;
		job->name = asa_member_url_name(frame, urls[i]);
		if (job->name == NULL) {
			ret = ENOMEM;
			goto done;
		}
		if (urls[i]->transport == ASA_MEMBER_LOCAL) {
			continue;
		}
		num_ssh++;
		argv = asa_member_ssh_argv(frame, options, urls[i], show);
		if (argv == NULL) {
			ret = ENOMEM;
			goto done;
		}
		job->in_data = keytab;
		job->in_length = keytab_length;
		err = job_spawn(job, argv, envp);
		if (err != 0) {
			results[i].error = err;
			results[i].message = talloc_asprintf(
				results, "member %s: cannot run %s: %s",
				job->name, argv[0], strerror(err));
			if (first_spawn_error == 0) {
				first_spawn_error = err;
			}
			spawn_failed++;
			continue;
		}
		job->reaped = false;
		after_ms(&job->deadline, timeout_ms);
	}

	/* Local members while the ssh children connect. */
	for (i = 0; i < num_urls; i++) {
		if (urls[i]->transport == ASA_MEMBER_LOCAL) {
			asa_member_local_run(ctx, results, options, urls[i],
				  show ? NULL : keytab, keytab_length,
				  &results[i]);
		}
	}

	while (true) {
		size_t n = 0, running = 0;
		int64_t wait_ms = -1;
		int rc;

		for (i = 0; i < num_urls; i++) {
			struct member_job *job = &jobs[i];
			int64_t left;

			if (job->reaped) {
				continue;
			}
			if (job->in_fd == -1 && job->out_fd == -1 &&
			    job->err_fd == -1) {
				job_try_reap(job);
				if (job->reaped) {
					continue;
				}
			}
			running++;
			left = ms_until(job->term_sent ? &job->kill_at
						       : &job->deadline);
			if (left <= 0) {
				if (!job->term_sent) {
					job->timed_out = true;
					job->term_sent = true;
					kill(job->pid, SIGTERM);
					after_ms(&job->kill_at,
						 MEMBER_KILL_GRACE_MS);
					left = MEMBER_KILL_GRACE_MS;
				} else {
					kill(job->pid, SIGKILL);
					/* Pipes close, waitpid follows. */
					left = 50;
				}
			}
			if (job->in_fd == -1 && job->out_fd == -1 &&
			    job->err_fd == -1) {
				/* Exiting: look again soon. */
				left = left < 20 ? left : 20;
			}
			if (wait_ms < 0 || left < wait_ms) {
				wait_ms = left;
			}
			if (job->in_fd != -1) {
				pfds[n++] = (struct pollfd) {
					.fd = job->in_fd, .events = POLLOUT };
			}
			if (job->out_fd != -1) {
				pfds[n++] = (struct pollfd) {
					.fd = job->out_fd, .events = POLLIN };
			}
			if (job->err_fd != -1) {
				pfds[n++] = (struct pollfd) {
					.fd = job->err_fd, .events = POLLIN };
			}
		}
		if (running == 0) {
			break;
		}
		rc = poll(pfds, n, (int)(wait_ms < 0 ? 0 : wait_ms));
		if (rc < 0 && errno != EINTR) {
			ret = errno;
			goto done;
		}
		if (rc <= 0) {
			continue;
		}
		for (i = 0; i < n; i++) {
			size_t j;

			if (pfds[i].revents == 0) {
				continue;
			}
			for (j = 0; j < num_urls; j++) {
				struct member_job *job = &jobs[j];

				if (job->reaped) {
					continue;
				}
				if (pfds[i].fd == job->in_fd) {
					job_write(job);
				} else if (pfds[i].fd == job->out_fd) {
					job_read(frame, job, false);
				} else if (pfds[i].fd == job->err_fd) {
					job_read(frame, job, true);
				} else {
					continue;
				}
				break;
			}
		}
	}

	for (i = 0; i < num_urls; i++) {
		struct member_job *job = &jobs[i];
		struct asa_member_exit e = {
			.timed_out = job->timed_out,
			.wait_status = job->status,
			.out = job->out,
			.out_length = job->out_length,
			.out_overflow = job->out_overflow,
			.err = job->err,
			.err_length = job->err_length,
		};

		if (job->pid > 0) {
			asa_member_answer(ctx, results, options, job->name,
					  show, &e, &results[i]);
		}
	}
	if (num_ssh > 0 && spawn_failed == num_ssh &&
	    num_ssh == num_urls) {
		ret = first_spawn_error;
	}

done:
	for (i = 0; i < num_urls; i++) {
		struct member_job *job = &jobs[i];

		close_fd(&job->in_fd);
		close_fd(&job->out_fd);
		close_fd(&job->err_fd);
		if (!job->reaped && job->pid > 0) {
			/* Only on an internal error: nothing left behind. */
			kill(job->pid, SIGKILL);
			while (waitpid(job->pid, NULL, 0) == -1 &&
			       errno == EINTR) {
			}
		}
	}
	sigaction(SIGPIPE, &old_pipe, NULL);
	TALLOC_FREE(frame);
	if (ret != 0 && ret != first_spawn_error) {
		TALLOC_FREE(results);
		return ret;
	}
	*presults = results;
	return ret;
}

int asa_member_push(TALLOC_CTX *mem_ctx,
		    krb5_context ctx,
		    const struct asa_member_transport_options *options,
		    const struct asa_member_url * const *urls,
		    size_t num_urls,
		    const uint8_t *keytab,
		    size_t keytab_length,
		    struct asa_member_result **results)
{
	if (keytab == NULL || keytab_length == 0) {
		*results = NULL;
		return EINVAL;
	}
	return member_run(mem_ctx, ctx, options, urls, num_urls, keytab,
			  keytab_length, false, results);
}

int asa_member_fetch(TALLOC_CTX *mem_ctx,
		     krb5_context ctx,
		     const struct asa_member_transport_options *options,
		     const struct asa_member_url * const *urls,
		     size_t num_urls,
		     struct asa_member_result **results)
{
	return member_run(mem_ctx, ctx, options, urls, num_urls, NULL, 0,
			  true, results);
}
