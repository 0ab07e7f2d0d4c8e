/*
 * samba-asa: the members' SSH host keys in samba-asa's known_hosts, as
 * ssh-keygen sees them (the file may be hashed: HashKnownHosts).
 */

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <talloc.h>
#include "asa_admin.h"

/* Nothing of ours reaches the child: a fixed, small environment. */
static char *keygen_environ[] = {
	discard_const_p(char, "PATH=/usr/bin:/bin"),
	discard_const_p(char, "LC_ALL=C"),
	NULL,
};

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
	char *argv[] = {
		discard_const_p(char, "ssh-keygen"),
		discard_const_p(char, show ? "-l" : "-q"),
		discard_const_p(char, "-F"),
		discard_const_p(char, name),
		discard_const_p(char, "-f"),
		discard_const_p(char, file),
		NULL,
	};
	posix_spawn_file_actions_t fa;
	int pipefd[2] = { -1, -1 };
	size_t used = 0;
	pid_t pid;
	int status = 0;
	int ret;

	if (out != NULL && pipe2(pipefd, O_CLOEXEC) != 0) {
		return -1;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	if (out != NULL) {
		posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	} else {
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null",
						 O_WRONLY, 0);
	}
	ret = posix_spawnp(&pid, argv[0], &fa, NULL, argv, keygen_environ);
	posix_spawn_file_actions_destroy(&fa);
	if (out != NULL) {
		close(pipefd[1]);
	}
	if (ret != 0) {
		if (out != NULL) {
			close(pipefd[0]);
		}
		return -1;
	}
	if (out != NULL) {
		ssize_t got;

		while (used + 1 < size &&
		       ((got = read(pipefd[0], out + used,
				    size - 1 - used)) > 0 ||
			(got == -1 && errno == EINTR))) {
			used += got > 0 ? (size_t)got : 0;
		}
		out[used] = '\0';
		close(pipefd[0]);
	}
	while (waitpid(pid, &status, 0) == -1) {
		if (errno != EINTR) {
			return -1;
		}
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
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
