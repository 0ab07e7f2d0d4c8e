/*
 * samba-asa-member: running the "after install" command; see
 * member_hook.h.
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "member_hook.h"

/* What is kept of the command's output, for its last line. */
#define HOOK_OUTPUT_MAX 4096

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void child_exec(const struct member_keytab_conf *k, int out)
{
	char keytab_env[PATH_MAX + 32];
	char *envp[] = {
		(char *)"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:"
			"/usr/bin:/sbin:/bin",
		(char *)"LANG=C",
		keytab_env,
		NULL,
	};
	int null_fd;

	setpgid(0, 0);
	if (chdir("/") != 0) {
		_exit(127);
	}
	snprintf(keytab_env, sizeof(keytab_env), "SAMBA_ASA_KEYTAB=%s",
		 k->path);
	null_fd = open("/dev/null", O_RDONLY);
	if (null_fd == -1 || dup2(null_fd, 0) == -1 || dup2(out, 1) == -1 ||
	    dup2(out, 2) == -1) {
		_exit(127);
	}
	closefrom(3);
	signal(SIGPIPE, SIG_DFL);
	execve(k->hook[0], k->hook, envp);
	dprintf(2, "cannot run %s: %s\n", k->hook[0], strerror(errno));
	_exit(127);
}

/* The last non-empty line of out, control characters made '?'. */
static void last_line(char *out, size_t length, char *line, size_t size)
{
	char *end = out + length;
	char *start = NULL;
	size_t n, i;

	while (end > out && (end[-1] == '\n' || end[-1] == '\r' ||
			     end[-1] == ' ')) {
		end--;
	}
	for (start = end; start > out && start[-1] != '\n'; start--) {
	}
	n = (size_t)(end - start);
	if (n >= size) {
		n = size - 1;
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)start[i];

		line[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	line[n] = '\0';
}

bool member_hook_run(const struct member_keytab_conf *k, char *report,
		     size_t report_size)
{
	char out[HOOK_OUTPUT_MAX];
	char said[256];
	size_t used = 0;
	long long deadline = now_ms() + (long long)k->hook_timeout * 1000;
	bool exited = false;
	bool timed_out = false;
	int status = 0;
	int pipefd[2];
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC) != 0) {
		snprintf(report, report_size, "cannot run %s: %s",
			 k->hook[0], strerror(errno));
		return false;
	}
	pid = fork();
	if (pid == 0) {
		child_exec(k, pipefd[1]);
	}
	close(pipefd[1]);
	if (pid == -1) {
		close(pipefd[0]);
		snprintf(report, report_size, "cannot run %s: %s",
			 k->hook[0], strerror(errno));
		return false;
	}
	setpgid(pid, pid);	/* whichever of us comes first */
	fcntl(pipefd[0], F_SETFL, O_NONBLOCK);

	while (!exited) {
		struct pollfd pfd = { .fd = pipefd[0], .events = POLLIN };
		long long left = deadline - now_ms();
		char buf[1024];
		ssize_t n;

		if (left <= 0) {
			timed_out = true;
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			while (waitpid(pid, &status, 0) == -1 &&
			       errno == EINTR) {
			}
			break;
		}
		/* Short slices: the command may exit while a child of its
		 * own keeps the pipe open. */
		poll(pipefd[0] >= 0 ? &pfd : NULL, pipefd[0] >= 0 ? 1 : 0,
		     left < 100 ? (int)left : 100);
		while (pipefd[0] >= 0 &&
		       (n = read(pipefd[0], buf, sizeof(buf))) != -1) {
			size_t take;

			if (n == 0) {
				close(pipefd[0]);
				pipefd[0] = -1;
				break;
			}
			/* keep the end: the last line says most */
			if ((size_t)n >= sizeof(out)) {
				used = 0;
			} else if (used + (size_t)n > sizeof(out)) {
				take = used + (size_t)n - sizeof(out);
				memmove(out, out + take, used - take);
				used -= take;
			}
			take = (size_t)n < sizeof(out) ? (size_t)n
						       : sizeof(out);
			memcpy(out + used, buf + (size_t)n - take, take);
			used += take;
		}
		exited = waitpid(pid, &status, WNOHANG) == pid;
	}
	if (pipefd[0] >= 0) {
		close(pipefd[0]);
	}
	last_line(out, used, said, sizeof(said));
	if (timed_out) {
		snprintf(report, report_size, "%s did not finish within %u s "
			 "(killed)%s%s", k->hook[0], k->hook_timeout,
			 said[0] != '\0' ? ": " : "", said);
		return false;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		return true;
	}
	if (WIFEXITED(status)) {
		snprintf(report, report_size, "%s exited with status %d%s%s",
			 k->hook[0], WEXITSTATUS(status),
			 said[0] != '\0' ? ": " : "", said);
	} else {
		snprintf(report, report_size, "%s was killed by signal %d%s%s",
			 k->hook[0], WTERMSIG(status),
			 said[0] != '\0' ? ": " : "", said);
	}
	return false;
}
