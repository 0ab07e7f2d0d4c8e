/*
 * Unit tests of common/proc.c, the one process runner: exit codes and
 * signals, standard input delivered (more than a pipe holds) or
 * /dev/null, the cap on each output stream, the child's environment,
 * the deadline and a cancel ending the whole process group (also a
 * member of it that ignores SIGTERM), what a child leaves in its group
 * once it exits, lines as they come, a missing program, and several
 * children on one loop at once.  The children are /bin/sh scripts.
 *
 * Copyright (C) samba-asa authors 2026
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 */

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <setjmp.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <talloc.h>
#include <tevent.h>

#include "proc.h"

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Run "sh -c SCRIPT" with o's other settings; the result. */
static struct asa_proc_result *run_sh(TALLOC_CTX *mem, const char *script,
				      struct asa_proc_options *o)
{
	const char *argv[] = { "/bin/sh", "-c", script, NULL };
	struct asa_proc_result *r = NULL;

	o->argv = argv;
	assert_int_equal(asa_proc_run(mem, o, &r), 0);
	assert_non_null(r);
	assert_true(r->status_known);
	return r;
}

/* Whether process pid is gone (or a zombie nobody has reaped yet),
 * waiting up to 10 s for it. */
static bool gone(pid_t pid)
{
	int i;

	for (i = 0; i < 1000; i++) {
		char path[64], buf[256], *p = NULL;
		FILE *f = NULL;
		size_t n;

		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
		f = fopen(path, "r");
		if (f == NULL) {
			return true;
		}
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = '\0';
		p = strrchr(buf, ')');
		if (p != NULL && p[1] == ' ' && p[2] == 'Z') {
			return true;
		}
		usleep(10000);
	}
	return false;
}

static void test_exit_codes(void **state)
{
	TALLOC_CTX *mem = talloc_new(NULL);
	struct asa_proc_options o = { 0 };
	struct asa_proc_result *r = NULL;

	r = run_sh(mem, "exit 0", &o);
	assert_true(WIFEXITED(r->wait_status));
	assert_int_equal(WEXITSTATUS(r->wait_status), 0);
	assert_false(r->timed_out);

	r = run_sh(mem, "exit 3", &o);
	assert_true(WIFEXITED(r->wait_status));
	assert_int_equal(WEXITSTATUS(r->wait_status), 3);
	assert_string_equal(asa_proc_status_text(mem, r), "exit status 3");

	r = run_sh(mem, "kill -USR1 $$", &o);
	assert_true(WIFSIGNALED(r->wait_status));
	assert_int_equal(WTERMSIG(r->wait_status), SIGUSR1);
	assert_false(r->timed_out);
	TALLOC_FREE(mem);
}

static void test_missing_program(void **state)
{
	TALLOC_CTX *mem = talloc_new(NULL);
	const char *by_name[] = { "asa-no-such-program", NULL };
	const char *by_path[] = { "/nonexistent/asa-program", NULL };
	const char *not_exec[] = { "/etc/passwd", NULL };
	struct asa_proc_options o = { 0 };
	struct asa_proc_result *r = NULL;

	o.argv = by_name;
	assert_int_equal(asa_proc_run(mem, &o, &r), ENOENT);
	assert_null(r);
	o.argv = by_path;
	assert_int_equal(asa_proc_run(mem, &o, &r), ENOENT);
	o.argv = not_exec;
	assert_int_equal(asa_proc_run(mem, &o, &r), EACCES);
	TALLOC_FREE(mem);
}

/* More than a pipe holds, so the child and the runner must take turns. */
static void test_stdin_delivered(void **state)
{
	TALLOC_CTX *mem = talloc_new(NULL);
	const char *argv[] = { "cat", NULL };
	size_t length = 300 * 1024, i;
	uint8_t *data = talloc_size(mem, length);
	struct asa_proc_options o = {
		.argv = argv,
		.stdout_max = 1024 * 1024,
	};
	struct asa_proc_result *r = NULL;

	assert_non_null(data);
	for (i = 0; i < length; i++) {
		data[i] = (uint8_t)(i * 7 + i / 251);
	}
	o.stdin_data = data;
	o.stdin_length = length;
	assert_int_equal(asa_proc_run(mem, &o, &r), 0);
	assert_int_equal(WEXITSTATUS(r->wait_status), 0);
	assert_int_equal(r->out_length, length);
	assert_memory_equal(r->out, data, length);
	assert_false(r->out_truncated);

	/* Without a buffer: /dev/null, an immediate end of file. */
	o.stdin_data = NULL;
	o.stdin_length = 0;
	assert_int_equal(asa_proc_run(mem, &o, &r), 0);
	assert_int_equal(WEXITSTATUS(r->wait_status), 0);
	assert_int_equal(r->out_length, 0);

	/* A child that reads nothing and exits: no SIGPIPE for us. */
	o.stdin_data = data;
	o.stdin_length = length;
	r = run_sh(mem, "exit 4", &o);
	assert_int_equal(WEXITSTATUS(r->wait_status), 4);
	TALLOC_FREE(mem);
}

static void test_output_caps(void **state)
{
	TALLOC_CTX *mem = talloc_new(NULL);
	struct asa_proc_options o = {
		.stdout_max = 1000,
		.stderr_max = 10,
	};
	struct asa_proc_result *r = NULL;
	size_t i;

	/* The child writes far more than the caps and is not held up. */
	r = run_sh(mem, "head -c 500000 /dev/zero | tr '\\0' x; "
		   "echo 0123456789abcdef >&2; exit 5", &o);
	assert_int_equal(WEXITSTATUS(r->wait_status), 5);
	assert_int_equal(r->out_length, 1000);
	assert_true(r->out_truncated);
	for (i = 0; i < r->out_length; i++) {
		assert_int_equal(r->out[i], 'x');
	}
	assert_int_equal(r->out[1000], '\0');
	assert_int_equal(r->err_length, 10);
	assert_true(r->err_truncated);
	assert_string_equal(r->err, "0123456789");

	/* Exactly at the cap: not truncated.  No cap: nothing kept. */
	o.stdout_max = 6;
	o.stderr_max = 0;
	r = run_sh(mem, "printf hello!; echo gone >&2", &o);
	assert_int_equal(r->out_length, 6);
	assert_false(r->out_truncated);
	assert_string_equal((const char *)r->out, "hello!");
	assert_int_equal(r->err_length, 0);
	assert_null(r->err);
	assert_true(r->err_truncated);
	TALLOC_FREE(mem);
}

static void test_environment(void **state)
{
	TALLOC_CTX *mem = talloc_new(NULL);
	const char *env[] = { "ASA_TEST_PASSED", "ASA_TEST_SET=set here",
			      "LC_ALL=C", "ASA_TEST_UNSET", NULL };
	const char *argv[] = { "env", NULL };
	struct asa_proc_options o = {
		.argv = argv,
		.env = env,
		.stdout_max = 65536,
	};
	struct asa_proc_result *r = NULL;
	char *line = NULL, *save = NULL;
	bool passed = false, set = false, lc_all = false, path = false;

	setenv("ASA_TEST_SECRET", "not for children", 1);
	setenv("ASA_TEST_PASSED", "passed on", 1);
	setenv("LC_ALL", "de_DE.UTF-8", 1);
	setenv("LD_PRELOAD", "", 1);
	unsetenv("ASA_TEST_UNSET");
	assert_int_equal(asa_proc_run(mem, &o, &r), 0);
	assert_int_equal(WEXITSTATUS(r->wait_status), 0);
	for (line = strtok_r((char *)r->out, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		static const char *allowed[] = {
			"PATH=", "HOME=", "USER=", "LOGNAME=", "LANG=",
			"TZ=", NULL,
		};
		size_t i;
		bool ok = false;

		if (strcmp(line, "ASA_TEST_PASSED=passed on") == 0) {
			passed = ok = true;
		} else if (strcmp(line, "ASA_TEST_SET=set here") == 0) {
			set = ok = true;
		} else if (strcmp(line, "LC_ALL=C") == 0) {
			lc_all = ok = true;	/* the list overrides ours */
		}
		for (i = 0; !ok && allowed[i] != NULL; i++) {
			ok = strncmp(line, allowed[i],
				     strlen(allowed[i])) == 0;
		}
		if (strncmp(line, "PATH=", 5) == 0) {
			path = true;
		}
		if (!ok) {
			fail_msg("the child got '%s'", line);
		}
	}
	assert_true(passed);
	assert_true(set);
	assert_true(lc_all);
	assert_true(path);

	/* Without PATH of ours: a default one, and a name is found. */
	unsetenv("PATH");
	assert_int_equal(asa_proc_run(mem, &o, &r), 0);
	assert_non_null(strstr((const char *)r->out,
			       "PATH=/usr/local/bin:/usr/bin:/bin\n"));
	setenv("PATH", "/usr/bin:/bin", 1);
	unsetenv("ASA_TEST_SECRET");
	unsetenv("ASA_TEST_PASSED");
	unsetenv("LD_PRELOAD");
	TALLOC_FREE(mem);
}

/*
 * The deadline: SIGTERM to the group, SIGKILL after the grace for what
 * ignores it; every process of the group is gone, and the request
 * ends long before the child's own sleep would have.
 */
static void test_deadline_kills_group(void **state)
{
	TALLOC_CTX *mem = talloc_new(NULL);
	struct asa_proc_options o = {
		.stdout_max = 1024,
		.timeout_ms = 500,
		.kill_grace_ms = 500,
	};
	struct asa_proc_result *r = NULL;
	double t0 = now_seconds();
	int a = 0, b = 0;

	/* Two sleepers in the child's group (one ignores SIGTERM); their
	 * PIDs first, so the test can look for them afterwards.  The
	 * shell ignores SIGTERM too, so only SIGKILL ends it. */
	r = run_sh(mem, "sleep 300 & a=$!; "
		   "(trap '' TERM; exec sleep 301) & b=$!; "
		   "echo $a $b; trap '' TERM; wait", &o);
	assert_true(now_seconds() - t0 < 30);
	assert_true(r->timed_out);
	assert_false(r->canceled);
	assert_true(WIFSIGNALED(r->wait_status));
	assert_int_equal(WTERMSIG(r->wait_status), SIGKILL);
	assert_int_equal(sscanf((const char *)r->out, "%d %d", &a, &b), 2);
	assert_true(gone(a));
	assert_true(gone(b));
	assert_non_null(strstr(asa_proc_status_text(mem, r),
			       "at its deadline"));

	/* One that ends on SIGTERM ends then: killed by signal 15. */
	r = run_sh(mem, "exec sleep 300", &o);
	assert_true(r->timed_out);
	assert_true(WIFSIGNALED(r->wait_status));
	assert_int_equal(WTERMSIG(r->wait_status), SIGTERM);
	TALLOC_FREE(mem);
}

/* A child that exits leaves nothing running in its group, and a
 * process there that holds its output open does not hold us up. */
static void test_leftovers_killed(void **state)
{
	TALLOC_CTX *mem = talloc_new(NULL);
	struct asa_proc_options o = {
		.stdout_max = 1024,
		.timeout_ms = 120 * 1000,
	};
	struct asa_proc_result *r = NULL;
	double t0 = now_seconds();
	int a = 0;

	r = run_sh(mem, "sleep 300 & echo $!; exit 0", &o);
	assert_true(now_seconds() - t0 < 30);
	assert_false(r->timed_out);
	assert_int_equal(WEXITSTATUS(r->wait_status), 0);
	assert_int_equal(sscanf((const char *)r->out, "%d", &a), 1);
	assert_true(gone(a));
	TALLOC_FREE(mem);
}

struct lines {
	char *out;
	char *err;
	pid_t pid;
};

static void collect_line(void *private_data, pid_t pid,
			 enum asa_proc_stream stream, const char *line)
{
	struct lines *l = private_data;

	char **text = (stream == ASA_PROC_STDOUT) ? &l->out : &l->err;

	l->pid = pid;
	*text = talloc_asprintf_append(*text, "[%s]", line);
}

static void test_lines(void **state)
{
	TALLOC_CTX *mem = talloc_new(NULL);
	struct lines l = {
		.out = talloc_strdup(mem, ""),
		.err = talloc_strdup(mem, ""),
	};
	struct asa_proc_options o = {
		.line_fn = collect_line,
		.private_data = &l,
		.line_max = 4,
	};
	struct asa_proc_result *r = NULL;

	r = run_sh(mem, "printf 'ab\\ncd\\r\\n'; printf 'x\\n' >&2; "
		   "printf 'longline'", &o);
	assert_int_equal(WEXITSTATUS(r->wait_status), 0);
	/* each stream in order; the two may interleave either way */
	assert_string_equal(l.out, "[ab][cd][long][line]");
	assert_string_equal(l.err, "[x]");
	assert_int_equal(l.pid, r->pid);
	TALLOC_FREE(mem);
}

struct many {
	int done;
	int ok;
};

static void many_done(struct tevent_req *req)
{
	struct many *m = tevent_req_callback_data_void(req);
	struct asa_proc_result *r = NULL;

	if (asa_proc_run_recv(req, req, &r) == 0 &&
	    WIFEXITED(r->wait_status) && WEXITSTATUS(r->wait_status) == 0) {
		m->ok++;
	}
	TALLOC_FREE(req);
	m->done++;
}

/* Several children on one loop run at once, and a cancel stops one. */
static void test_one_loop(void **state)
{
	TALLOC_CTX *mem = talloc_new(NULL);
	struct tevent_context *ev = tevent_context_init(mem);
	const char *argv[] = { "/bin/sh", "-c", "sleep 1", NULL };
	const char *hang[] = { "/bin/sh", "-c", "exec sleep 300", NULL };
	struct asa_proc_options o = { .argv = argv, .timeout_ms = 60000 };
	struct asa_proc_result *r = NULL;
	struct tevent_req *req = NULL;
	struct many m = { 0 };
	double t0 = now_seconds();
	int i;

	assert_non_null(ev);
	for (i = 0; i < 8; i++) {
		req = asa_proc_run_send(mem, ev, &o);
		assert_non_null(req);
		tevent_req_set_callback(req, many_done, &m);
	}
	while (m.done < 8) {
		assert_int_equal(tevent_loop_once(ev), 0);
	}
	assert_int_equal(m.ok, 8);
	/* eight seconds one after another */
	assert_true(now_seconds() - t0 < 6);

	o.argv = hang;
	req = asa_proc_run_send(mem, ev, &o);
	assert_non_null(req);
	assert_true(asa_proc_run_pid(req) > 0);
	assert_true(tevent_req_cancel(req));
	assert_true(tevent_req_poll(req, ev));
	assert_int_equal(asa_proc_run_recv(req, mem, &r), 0);
	assert_true(r->canceled);
	assert_false(r->timed_out);
	assert_true(WIFSIGNALED(r->wait_status));
	TALLOC_FREE(mem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_codes),
		cmocka_unit_test(test_missing_program),
		cmocka_unit_test(test_stdin_delivered),
		cmocka_unit_test(test_output_caps),
		cmocka_unit_test(test_environment),
		cmocka_unit_test(test_deadline_kills_group),
		cmocka_unit_test(test_leftovers_killed),
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_one_loop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
