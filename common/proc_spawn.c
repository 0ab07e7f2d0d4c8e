/*
 * samba-asa: starting a helper program, the half of the process runner
 * (proc.h) before the event loop: its environment, its path, its
 * descriptors, fork() and exec.
 *
 * fork() and not posix_spawn(): only a forked child can ask for
 * PR_SET_PDEATHSIG before exec.  An exec that fails is reported through
 * a close-on-exec pipe, so a missing program is an error of the request,
 * not an exit status 127 to guess at.
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
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <talloc.h>

#include "proc.h"
#include "proc_spawn.h"

#define PROC_DEFAULT_PATH	"/usr/local/bin:/usr/bin:/bin"

static const char *proc_base_env[] = {
	"PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "TZ", NULL,
};

/* Set "NAME=VALUE" (entry, on env) in env, replacing NAME's value. */
static char **env_put(char **env, size_t *n, char *entry)
{
	size_t name_len = strcspn(entry, "=");
	size_t i;

	for (i = 0; i < *n; i++) {
		if (strncmp(env[i], entry, name_len) == 0 &&
		    env[i][name_len] == '=') {
			talloc_free(env[i]);
			env[i] = entry;
			return env;
		}
	}
	env = talloc_realloc(NULL, env, char *, *n + 2);
	if (env == NULL) {
		return NULL;
	}
	env[(*n)++] = entry;
	env[*n] = NULL;
	return env;
}

char **asa_proc_environ(TALLOC_CTX *mem_ctx, const char * const *extra)
{
	char **env = talloc_zero_array(mem_ctx, char *, 1);
	size_t n = 0, i;

	for (i = 0; env != NULL && proc_base_env[i] != NULL; i++) {
		const char *name = proc_base_env[i];
		const char *v = getenv(name);
		char *entry = NULL;

		if (v == NULL && strcmp(name, "PATH") == 0) {
			v = PROC_DEFAULT_PATH;
		}
		if (v == NULL) {
			continue;
		}
		entry = talloc_asprintf(env, "%s=%s", name, v);
		env = (entry != NULL) ? env_put(env, &n, entry) : NULL;
	}
	for (i = 0; env != NULL && extra != NULL && extra[i] != NULL; i++) {
		const char *v = NULL;
		char *entry = NULL;

		if (strchr(extra[i], '=') != NULL) {
			entry = talloc_strdup(env, extra[i]);
		} else if ((v = getenv(extra[i])) != NULL) {
			entry = talloc_asprintf(env, "%s=%s", extra[i], v);
		} else {
			continue;
		}
		env = (entry != NULL) ? env_put(env, &n, entry) : NULL;
	}
	if (env == NULL) {
		return NULL;
	}
	talloc_set_name_const(env, "asa_proc_environ");
	return talloc_steal(mem_ctx, env);
}

/* argv[0] as a path: itself when it holds a '/', else the first
 * executable file of that name in the child's PATH. */
static char *proc_find(TALLOC_CTX *mem_ctx, const char *name, char **env)
{
	const char *path = PROC_DEFAULT_PATH;
	char *dirs = NULL, *dir = NULL, *save = NULL;
	size_t i;

	if (name[0] == '\0') {
		return NULL;
	}
	if (strchr(name, '/') != NULL) {
		return talloc_strdup(mem_ctx, name);
	}
	for (i = 0; env[i] != NULL; i++) {
		if (strncmp(env[i], "PATH=", 5) == 0) {
			path = env[i] + 5;
		}
	}
	dirs = talloc_strdup(mem_ctx, path);
	for (dir = (dirs != NULL) ? strtok_r(dirs, ":", &save) : NULL;
	     dir != NULL; dir = strtok_r(NULL, ":", &save)) {
		struct stat st;
		char *file = NULL;

		if (dir[0] != '/') {
			continue;	/* never a relative PATH entry */
		}
		file = talloc_asprintf(mem_ctx, "%s/%s", dir, name);
		if (file != NULL && stat(file, &st) == 0 &&
		    S_ISREG(st.st_mode) && access(file, X_OK) == 0) {
			TALLOC_FREE(dirs);
			return file;
		}
		TALLOC_FREE(file);
	}
	TALLOC_FREE(dirs);
	return NULL;
}

/* A descriptor moved above 0, 1 and 2 (our caller may have closed
 * those), so the child's dup2() onto them never meets itself. */
static int fd_above_stdio(int fd)
{
	int moved;

	if (fd < 0 || fd > 2) {
		return fd;
	}
	moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	close(fd);
	return moved;
}

void asa_proc_close_fd(int *fd)
{
	if (*fd != -1) {
		close(*fd);
		*fd = -1;
	}
}

/*
 * In the child, between fork() and exec: only async-signal-safe calls.
 * Dies with its parent, leads a group of its own, starts with default
 * signal handling and an empty mask, gets in, out and err as 0, 1, 2
 * and none of our other descriptors but the exec report.
 */
static void proc_child(pid_t parent, int in, int out, int err, int report,
		       const char *path, char *const argv[],
		       char *const envp[]) __attribute__((noreturn));
static void proc_child(pid_t parent, int in, int out, int err, int report,
		       const char *path, char *const argv[],
		       char *const envp[])
{
	struct sigaction dfl;
	sigset_t none;
	int sig, e;
	ssize_t ignored;

	if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent) {
		_exit(127);
	}
	if (setpgid(0, 0) != 0) {
		_exit(127);
	}
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++) {
		if (sig != SIGKILL && sig != SIGSTOP) {
			/* glibc's own signals refuse: fine */
			sigaction(sig, &dfl, NULL);
		}
	}
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (dup2(in, 0) == -1 || dup2(out, 1) == -1 || dup2(err, 2) == -1) {
		_exit(127);
	}
	if (report > 3) {
		close_range(3, (unsigned int)report - 1, 0);
	}
	close_range((unsigned int)report + 1, ~0U, 0);
	execve(path, argv, envp);
	e = errno;
	ignored = write(report, &e, sizeof(e));
	(void)ignored;
	_exit(127);
}

int asa_proc_spawn(const struct asa_proc_options *o,
		   struct asa_proc_child *child)
{
	TALLOC_CTX *frame = talloc_new(NULL);
	char **envp = NULL;
	char *path = NULL;
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 };
	int report[2] = { -1, -1 };
	pid_t parent = getpid();
	int child_errno = 0;
	int ret = 0, i;
	ssize_t n;

	*child = (struct asa_proc_child) {
		.pid = -1, .in = -1, .out = -1, .err = -1,
	};
	if (frame == NULL) {
		return ENOMEM;
	}
	envp = asa_proc_environ(frame, o->env);
	if (envp == NULL) {
		ret = ENOMEM;
		goto done;
	}
	path = proc_find(frame, o->argv[0], envp);
	if (path == NULL) {
		ret = ENOENT;
		goto done;
	}
	if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0 ||
	    pipe2(report, O_CLOEXEC) != 0) {
		ret = errno;
		goto done;
	}
	if (o->stdin_data != NULL) {
		if (pipe2(in, O_CLOEXEC) != 0 ||
		    fcntl(in[1], F_SETFL, O_NONBLOCK) == -1) {
			ret = errno;
			goto done;
		}
	} else {
		in[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (in[0] == -1) {
			ret = errno;
			goto done;
		}
	}
	for (i = 0; i < 2; i++) {
		in[i] = fd_above_stdio(in[i]);
		out[i] = fd_above_stdio(out[i]);
		err[i] = fd_above_stdio(err[i]);
		report[i] = fd_above_stdio(report[i]);
	}
	if (in[0] < 0 || out[0] < 0 || out[1] < 0 || err[0] < 0 ||
	    err[1] < 0 || report[0] < 0 || report[1] < 0 ||
	    (o->stdin_data != NULL && in[1] < 0)) {
		ret = EMFILE;
		goto done;
	}

	child->pid = fork();
	if (child->pid == -1) {
		ret = errno;
		goto done;
	}
	if (child->pid == 0) {
		proc_child(parent, in[0], out[1], err[1], report[1], path,
			   (char *const *)o->argv, envp);
	}
	/* Also here: no signal to the group may precede the child's own
	 * setpgid() (EACCES once it has run exec: it did it already). */
	setpgid(child->pid, child->pid);
	asa_proc_close_fd(&report[1]);

	/* EOF once exec has run; an errno if it failed. */
	do {
		n = read(report[0], &child_errno, sizeof(child_errno));
	} while (n == -1 && errno == EINTR);
	if (n == sizeof(child_errno)) {
		int status;

		while (waitpid(child->pid, &status, 0) == -1 &&
		       errno == EINTR) {
		}
		child->pid = -1;
		ret = child_errno != 0 ? child_errno : ENOEXEC;
		goto done;
	}
	child->in = in[1];
	child->out = out[0];
	child->err = err[0];
	in[1] = out[0] = err[0] = -1;
done:
	for (i = 0; i < 2; i++) {
		asa_proc_close_fd(&in[i]);
		asa_proc_close_fd(&out[i]);
		asa_proc_close_fd(&err[i]);
		asa_proc_close_fd(&report[i]);
	}
	TALLOC_FREE(frame);
	return ret;
}
