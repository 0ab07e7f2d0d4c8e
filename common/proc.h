/*
 * samba-asa: running a helper program from a tevent loop.
 *
 * Every program samba-asa starts on a DC (ssh to a member, samba-tool,
 * ssh-keygen, the service's `samba-asa roll`) runs through
 * asa_proc_run_send(), so each gets the same treatment:
 *
 * - argv only, no shell; argv[0] is an absolute path, or a name looked
 *   up in the child's PATH before anything starts (ENOENT at once);
 * - an environment built here, never ours passed on: PATH (ours, else
 *   /usr/local/bin:/usr/bin:/bin), HOME, USER, LOGNAME, LANG, LC_ALL and
 *   TZ when we have them, then the caller's list: "NAME" (our value, when
 *   set) or "NAME=VALUE";
 * - standard input from a buffer (copied, the copy wiped when done) or
 *   from /dev/null; no other descriptor of ours;
 * - standard output and standard error each kept up to a cap (the rest
 *   is read and dropped, and the result says so), and optionally handed
 *   over line by line as they come;
 * - a process group of its own: at the deadline SIGTERM to the group,
 *   SIGKILL after a grace period; the same on tevent_req_cancel(); once
 *   the child has ended, whatever it left in its group is killed; it
 *   gets SIGTERM should we die first (PR_SET_PDEATHSIG);
 * - its end seen through a pidfd (polled where there is none), never
 *   SIGCHLD, so nothing competes with samba's own handling of children.
 */
#ifndef _ASA_PROC_H_
#define _ASA_PROC_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>
#include <sys/types.h>
#include <talloc.h>
#include <tevent.h>

/* What a Samba tool run on a DC needs of our environment, for
 * asa_proc_options.env: where our LDB module is (once @LIST names it,
 * every local tool loads it), the Kerberos configuration, and the
 * smb.conf and Python path an administrator or a test set. */
#define ASA_PROC_SAMBA_ENV \
	"LDB_MODULES_PATH", "KRB5_CONFIG", "SMB_CONF_PATH", "PYTHONPATH"

enum asa_proc_stream {
	ASA_PROC_STDOUT = 1,
	ASA_PROC_STDERR = 2,
};

struct asa_proc_options {
	const char * const *argv;	/* NULL-terminated */
	const char * const *env;	/* "NAME" or "NAME=VALUE"; NULL-ended */
	const uint8_t *stdin_data;	/* NULL: /dev/null */
	size_t stdin_length;
	size_t stdout_max;		/* bytes kept; 0: none */
	size_t stderr_max;
	bool stdout_secret;		/* wipe the kept output when freed */
	/* Each line as it comes (without its '\n'; a longer line than
	 * line_max comes in pieces), NULL for none. */
	void (*line_fn)(void *private_data, pid_t pid,
			enum asa_proc_stream stream, const char *line);
	size_t line_max;		/* 0: 1024 */
	/* Told just before the runner signals the group at the deadline
	 * or on cancel (SIGTERM, then SIGKILL), NULL for not. */
	void (*stop_fn)(void *private_data, pid_t pid, int sig);
	void *private_data;		/* of line_fn and stop_fn */
	uint64_t timeout_ms;		/* 0: no deadline */
	unsigned int kill_grace_ms;	/* SIGTERM to SIGKILL; 0: 2000 */
};

struct asa_proc_result {
	pid_t pid;
	int wait_status;		/* waitpid()'s */
	bool status_known;		/* false: reaped by someone else */
	bool timed_out;			/* stopped at the deadline */
	bool canceled;			/* stopped by tevent_req_cancel() */
	uint8_t *out;			/* NUL-terminated; may be NULL */
	size_t out_length;
	bool out_truncated;
	char *err;			/* NUL-terminated; may be NULL */
	size_t err_length;
	bool err_truncated;
	struct timeval started;
	struct timeval ended;
};

/*
 * Start argv.  The request is done once the child has ended and been
 * reaped (or could not be started).  Freeing the request before then
 * sends SIGTERM to the child's group.
 */
struct tevent_req *asa_proc_run_send(TALLOC_CTX *mem_ctx,
				     struct tevent_context *ev,
				     const struct asa_proc_options *options);

/* The child's PID once it runs (for a log), -1 before or without one. */
pid_t asa_proc_run_pid(struct tevent_req *req);

/*
 * 0 and *result (on mem_ctx) when the child ran, however it ended;
 * an errno when it could not be started (ENOENT: no such program) or
 * watched.
 */
int asa_proc_run_recv(struct tevent_req *req,
		      TALLOC_CTX *mem_ctx,
		      struct asa_proc_result **result);

/* The same, run to its end on an event loop of its own. */
int asa_proc_run(TALLOC_CTX *mem_ctx,
		 const struct asa_proc_options *options,
		 struct asa_proc_result **result);

/*
 * "exit status N", "killed by signal N" (and "at its deadline"), for
 * messages.  On mem_ctx.
 */
char *asa_proc_status_text(TALLOC_CTX *mem_ctx,
			   const struct asa_proc_result *result);

/* The child's environment for options->env, on mem_ctx (NULL: ENOMEM). */
char **asa_proc_environ(TALLOC_CTX *mem_ctx, const char * const *env);

#endif /* _ASA_PROC_H_ */
