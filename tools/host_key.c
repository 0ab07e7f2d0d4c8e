/*
 * samba-asa: the members' SSH host keys in samba-asa's known_hosts, as
 * ssh-keygen sees them (the file may be hashed: HashKnownHosts).
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <talloc.h>
#include "asa_admin.h"
#include "proc.h"

/* The name ssh records a host under: HOST, or [HOST]:PORT. */
static char *known_hosts_name(TALLOC_CTX *mem_ctx,
			      const struct asa_member_url *url)
{
	if (url->port == 0 || url->port == 22) {
		return talloc_strdup(mem_ctx, url->host);
	}
	return talloc_asprintf(mem_ctx, "[%s]:%u", url->host, url->port);
}

/*
 * ssh-keygen [-l] -F NAME -f FILE; its standard output into out (at most
 * size - 1 bytes, NUL-terminated) when out is not NULL.  Its exit status,
 * or -1 if it could not run.
 */
static int keygen_find(const char *name, const char *file, bool show,
		       char *out, size_t size)
{
	const char *argv[] = {
		"ssh-keygen", show ? "-l" : "-q", "-F", name, "-f", file, NULL,
	};
	/* its output in one language */
	const char *env[] = { "LC_ALL=C", NULL };
	struct asa_proc_options o = {
		.argv = argv,
		.env = env,
		.stdout_max = (out != NULL && size > 0) ? size - 1 : 0,
		.timeout_ms = 60 * 1000,
	};
	struct asa_proc_result *r = NULL;
	int ret = -1;

	if (asa_proc_run(NULL, &o, &r) != 0) {
		return -1;
	}
	if (out != NULL && size > 0) {
		memcpy(out, r->out != NULL ? (char *)r->out : "",
		       r->out_length);
		out[r->out_length] = '\0';
	}
	if (r->status_known && WIFEXITED(r->wait_status)) {
		ret = WEXITSTATUS(r->wait_status);
	}
	TALLOC_FREE(r);
	return ret;
}

bool admin_host_key_known(const struct asa_member_transport_options *topts,
			  const struct asa_member_url *url)
{
	char *name = NULL;
	bool known;

	if (url->transport != ASA_MEMBER_SSH ||
	    topts->ssh_known_hosts == NULL) {
		return true;
	}
	name = known_hosts_name(NULL, url);
	if (name == NULL) {
		return true;
	}
	known = keygen_find(name, topts->ssh_known_hosts, false, NULL, 0)
		== 0;
	TALLOC_FREE(name);
	return known;
}

void admin_host_key_show(const struct asa_member_transport_options *topts,
			 const struct asa_member_url *url,
			 const char *member)
{
	char out[4096];
	char *name = NULL;
	char *line = NULL;
	char *save = NULL;

	if (url->transport != ASA_MEMBER_SSH ||
	    topts->ssh_known_hosts == NULL) {
		return;
	}
	name = known_hosts_name(NULL, url);
	if (name == NULL ||
	    keygen_find(name, topts->ssh_known_hosts, true, out,
			sizeof(out)) != 0) {
		TALLOC_FREE(name);
		return;
	}
	/* "# Host NAME found: line N", then "NAME TYPE SHA256:..." */
	for (line = strtok_r(out, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		const char *key = NULL;

		if (line[0] == '#') {
			continue;
		}
		key = strchr(line, ' ');
		if (key == NULL) {
			continue;
		}
		printf("\t%s: first contact, host key recorded in %s:%s\n",
		       member, topts->ssh_known_hosts, key);
	}
	TALLOC_FREE(name);
}
