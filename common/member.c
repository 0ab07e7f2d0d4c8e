/*
 * samba-asa: pushing keytabs to members and fetching theirs; see
 * member.h.
 *
 * One ssh child per member, through the process runner (proc.h), all on
 * one tevent loop: the keytab goes down each child's standard input, its
 * standard output (the member's answer, or its keytab for a fetch) and
 * standard error (the member's or ssh's complaint) come back, and a
 * child that has not finished by its deadline is stopped with its
 * process group.  At most "asa:member concurrency" children run at once;
 * the next starts as one ends, and each one's deadline counts from its
 * own start, so a member that hangs costs its own deadline and holds up
 * no other.
 */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <talloc.h>
#include <tevent.h>
#include <krb5.h>

#include "keytab.h"
#include "member.h"
#include "proc.h"

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

struct member_run;

struct member_job {
	struct member_run *run;
	size_t index;
	const char *name;
	const char *program;
};

struct member_run {
	krb5_context ctx;
	const struct asa_member_transport_options *options;
	struct tevent_context *ev;
	const struct asa_member_url * const *urls;
	size_t num_urls;
	struct asa_member_result *results;
	struct member_job *jobs;
	const uint8_t *keytab;
	size_t keytab_length;
	bool show;
	size_t next;		/* the next member to start */
	size_t running;
	size_t limit;
	int error;		/* an internal error: stop starting */
	size_t num_ssh;
	size_t spawn_failed;
	int first_spawn_error;
};

static void member_job_done(struct tevent_req *req);

/* Start ssh children up to the limit. */
static void member_start_more(struct member_run *run)
{
	while (run->error == 0 && run->running < run->limit &&
	       run->next < run->num_urls) {
		struct member_job *job = &run->jobs[run->next];
		const struct asa_member_url *url = run->urls[run->next];
		struct asa_proc_options po = {
			.stdin_data = run->show ? NULL : run->keytab,
			.stdin_length = run->show ? 0 : run->keytab_length,
			.stdout_max = ASA_MEMBER_ANSWER_MAX,
			.stdout_secret = run->show,
			.stderr_max = MEMBER_STDERR_MAX,
			.timeout_ms = (uint64_t)
				asa_member_timeout(run->options) * 1000,
			.kill_grace_ms = MEMBER_KILL_GRACE_MS,
		};
		struct tevent_req *req = NULL;
		char **argv = NULL;

		job->run = run;
		job->index = run->next++;
		if (url->transport != ASA_MEMBER_SSH) {
			continue;
		}
		argv = asa_member_ssh_argv(run->jobs, run->options, url,
					   run->show);
		job->name = asa_member_url_name(run->jobs, url);
		if (argv == NULL || job->name == NULL) {
			run->error = ENOMEM;
			return;
		}
		job->program = argv[0];
		po.argv = (const char * const *)argv;
		req = asa_proc_run_send(run->jobs, run->ev, &po);
		if (req == NULL) {
			run->error = ENOMEM;
			return;
		}
		tevent_req_set_callback(req, member_job_done, job);
		run->running++;
	}
}

static void member_job_done(struct tevent_req *req)
{
	struct member_job *job = tevent_req_callback_data_void(req);
	struct member_run *run = job->run;
	struct asa_member_result *r = &run->results[job->index];
	struct asa_proc_result *pr = NULL;
	int ret;

	run->running--;
	ret = asa_proc_run_recv(req, run->jobs, &pr);
	TALLOC_FREE(req);
	if (ret != 0) {
		r->error = ret;
		r->message = talloc_asprintf(run->results, "member %s: cannot "
					     "run %s: %s", job->name,
					     job->program, strerror(ret));
		if (run->first_spawn_error == 0) {
			run->first_spawn_error = ret;
		}
		run->spawn_failed++;
	} else {
		struct asa_member_exit e = {
			.timed_out = pr->timed_out,
			.wait_status = pr->wait_status,
			.out = pr->out,
			.out_length = pr->out_length,
			.out_overflow = pr->out_truncated,
			.err = pr->err,
			.err_length = pr->err_length,
		};

		asa_member_answer(run->ctx, run->results, run->options,
				  job->name, run->show, &e, r);
		TALLOC_FREE(pr);	/* a fetched keytab: wiped */
	}
	member_start_more(run);
}

static size_t member_concurrency(const struct asa_member_transport_options *o)
{
	return (o != NULL && o->concurrency > 0)
		? o->concurrency : ASA_MEMBER_CONCURRENCY_DEFAULT;
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
	struct member_run *run = NULL;
	size_t i;
	int ret = 0;

	*presults = NULL;
	run = talloc_zero(frame, struct member_run);
	if (run == NULL) {
		TALLOC_FREE(frame);
		return ENOMEM;
	}
	run->ctx = ctx;
	run->options = options;
	run->urls = urls;
	run->num_urls = num_urls;
	run->keytab = keytab;
	run->keytab_length = keytab_length;
	run->show = show;
	run->limit = member_concurrency(options);
	run->ev = tevent_context_init(run);
	run->jobs = talloc_zero_array(run, struct member_job, num_urls + 1);
	run->results = talloc_zero_array(mem_ctx, struct asa_member_result,
					 num_urls + 1);
	if (run->ev == NULL || run->jobs == NULL || run->results == NULL) {
		TALLOC_FREE(run->results);
		TALLOC_FREE(frame);
		return ENOMEM;
	}
	for (i = 0; i < num_urls; i++) {
		run->results[i].url = urls[i];
		if (urls[i]->transport == ASA_MEMBER_SSH) {
			run->num_ssh++;
		}
	}

	member_start_more(run);
	/* Local members while the first ssh children connect. */
	for (i = 0; i < num_urls; i++) {
		if (urls[i]->transport == ASA_MEMBER_LOCAL) {
			asa_member_local_run(ctx, run->results, options,
					     urls[i], show ? NULL : keytab,
					     keytab_length, &run->results[i]);
		}
	}
	while (run->running > 0) {
		if (tevent_loop_once(run->ev) != 0) {
			run->error = errno != 0 ? errno : EIO;
			break;
		}
	}
	ret = run->error;
	if (ret == 0 && run->num_ssh > 0 &&
	    run->spawn_failed == run->num_ssh && run->num_ssh == num_urls) {
		/* e.g. no ssh: every result says so, and so does the call */
		ret = run->first_spawn_error;
		*presults = run->results;
	} else if (ret == 0) {
		*presults = run->results;
	} else {
		TALLOC_FREE(run->results);
	}
	/* On an internal error, freeing the requests left stops their
	 * children. */
	TALLOC_FREE(frame);
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
