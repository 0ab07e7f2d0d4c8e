/*
 * samba-asa enable / disable: put unique_principal_names at the front of
 * the @LIST attribute of sam.ldb's @MODULES record, or take it out.
 *
 * sam.ldb is opened with ldb alone and no module stack ("modules:"), so
 * this works whether or not the module loads.  Because a @LIST naming a
 * module ldb cannot find stops samba and every local tool, enable first
 * checks that the module is where ldb will look and that it loads.
 * samba reads @LIST once at start: a running samba needs a restart.
 */
#include <dirent.h>
#include <fcntl.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#include <talloc.h>
#include <tevent.h>
#include <ldb.h>
#include <param.h>

#include "cli.h"

#define MODULE_NAME "unique_principal_names"

#ifndef ASA_LDB_MODULESDIR
#define ASA_LDB_MODULESDIR "/usr/lib/x86_64-linux-gnu/ldb/modules/ldb"
#endif

/* exported by libsamba-hostconfig, not declared in param.h */
const char *lpcfg_pid_directory(struct loadparm_context *lp_ctx);

static void usage_enable(FILE *out)
{
	fputs("Usage: samba-asa enable [-H SAM.LDB] [-s smb.conf]\n"
	      "\n"
	      "Put the unique_principal_names module at the front of "
	      "sam.ldb's module\nstack (@MODULES @LIST).  Checks first that "
	      "ldb can load the module\n(LDB_MODULES_PATH, or ldb's module "
	      "directory).  Idempotent.  If samba is\nrunning, it uses the "
	      "module after a restart.\n\n", out);
	cli_usage_common(out, false, false);
	fputs("  -H SAM.LDB              the DC's sam.ldb (default: from "
	      "smb.conf)\n", out);
}

static void usage_disable(FILE *out)
{
	fputs("Usage: samba-asa disable [-H SAM.LDB] [-s smb.conf]\n"
	      "\n"
	      "Take the unique_principal_names module out of sam.ldb's "
	      "module stack.\nIdempotent.  If samba is running, the change "
	      "takes effect at its restart.\n\n", out);
	cli_usage_common(out, false, false);
	fputs("  -H SAM.LDB              the DC's sam.ldb (default: from "
	      "smb.conf)\n", out);
}

/*
 * Find MODULE_NAME.so where ldb looks and check that it loads.  Returns
 * its path or NULL after printing why.
 */
static char *find_module(TALLOC_CTX *mem_ctx)
{
	TALLOC_CTX *frame = talloc_stackframe();
	const char *env = getenv("LDB_MODULES_PATH");
	char *path = NULL;
	char *dirs = NULL;
	char *searched = NULL;
	char *save = NULL;
	char *d = NULL;
	void *handle = NULL;

	dirs = talloc_strdup(frame, env != NULL ? env : ASA_LDB_MODULESDIR);
	searched = talloc_strdup(frame, "");
	if (dirs == NULL || searched == NULL) {
		goto fail;
	}
	for (d = strtok_r(dirs, ":", &save); d != NULL;
	     d = strtok_r(NULL, ":", &save)) {
		struct stat st;
		char *p = NULL;

		if (stat(d, &st) != 0 || !S_ISDIR(st.st_mode)) {
			cli_error("LDB_MODULES_PATH names %s, which is not a "
				  "directory: ldb (and so samba) would fail "
				  "to start; fix LDB_MODULES_PATH first", d);
			goto fail;
		}
		searched = talloc_asprintf_append(searched, " %s", d);
		p = talloc_asprintf(frame, "%s/%s.so", d, MODULE_NAME);
		if (p == NULL || searched == NULL) {
			goto fail;
		}
		if (path == NULL && access(p, R_OK) == 0) {
			path = p;
		}
	}
	if (path == NULL) {
		cli_error("%s.so is not in%s: install it (make install) or "
			  "point LDB_MODULES_PATH at the directory holding "
			  "it (samba then needs the same LDB_MODULES_PATH); "
			  "sam.ldb is unchanged", MODULE_NAME, searched);
		goto fail;
	}
	handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (handle == NULL) {
		cli_error("%s does not load: %s; sam.ldb is unchanged", path,
			  dlerror());
		goto fail;
	}
	if (dlsym(handle, "ldb_init_module") == NULL) {
		cli_error("%s is no ldb module (no ldb_init_module); sam.ldb "
			  "is unchanged", path);
		dlclose(handle);
		goto fail;
	}
	dlclose(handle);
	path = talloc_steal(mem_ctx, path);
	TALLOC_FREE(frame);
	return path;
fail:
	TALLOC_FREE(frame);
	return NULL;
}

/* The pid of a running samba, from smb.conf's pid directory, or 0. */
static pid_t samba_pid(struct loadparm_context *lp_ctx)
{
	char path[PATH_MAX];
	char buf[32] = "";
	FILE *f = NULL;
	long pid;

	if (lp_ctx == NULL || lpcfg_pid_directory(lp_ctx) == NULL) {
		return 0;
	}
	snprintf(path, sizeof(path), "%s/samba.pid",
		 lpcfg_pid_directory(lp_ctx));
	f = fopen(path, "r");
	if (f == NULL) {
		return 0;
	}
	if (fgets(buf, sizeof(buf), f) == NULL) {
		buf[0] = '\0';
	}
	fclose(f);
	pid = strtol(buf, NULL, 10);
	if (pid <= 0 || (kill(pid, 0) != 0 && errno != EPERM)) {
		return 0;
	}
	return pid;
}

/* Another process holding path open (by /proc), or 0. */
static pid_t holder_of(const char *path)
{
	struct stat want;
	DIR *proc = NULL;
	struct dirent *p = NULL;
	pid_t found = 0;

	if (stat(path, &want) != 0) {
		return 0;
	}
	proc = opendir("/proc");
	if (proc == NULL) {
		return 0;
	}
	while (found == 0 && (p = readdir(proc)) != NULL) {
		char fddir[64];
		DIR *fds = NULL;
		struct dirent *fd = NULL;
		pid_t pid = strtol(p->d_name, NULL, 10);

		if (pid <= 0 || pid == getpid()) {
			continue;
		}
		snprintf(fddir, sizeof(fddir), "/proc/%d/fd", (int)pid);
		fds = opendir(fddir);
		if (fds == NULL) {
			continue;
		}
		while ((fd = readdir(fds)) != NULL) {
			struct stat st;

			if (fstatat(dirfd(fds), fd->d_name, &st, 0) == 0 &&
			    st.st_dev == want.st_dev &&
			    st.st_ino == want.st_ino) {
				found = pid;
				break;
			}
		}
		closedir(fds);
	}
	closedir(proc);
	return found;
}

/* Split a @LIST value on commas (trimming blanks). */
static const char **split_list(TALLOC_CTX *mem_ctx, const char *list)
{
	const char **names = talloc_array(mem_ctx, const char *, 1);
	char *copy = talloc_strdup(mem_ctx, list != NULL ? list : "");
	char *save = NULL;
	char *t = NULL;
	size_t n = 0;

	if (names == NULL || copy == NULL) {
		return NULL;
	}
	for (t = strtok_r(copy, ",", &save); t != NULL;
	     t = strtok_r(NULL, ",", &save)) {
		char *end = NULL;

		while (*t == ' ' || *t == '\t') {
			t++;
		}
		end = t + strlen(t);
		while (end > t && (end[-1] == ' ' || end[-1] == '\t')) {
			*--end = '\0';
		}
		if (*t == '\0') {
			continue;
		}
		names = talloc_realloc(mem_ctx, names, const char *, n + 2);
		if (names == NULL) {
			return NULL;
		}
		names[n++] = t;
	}
	names[n] = NULL;
	return names;
}

static int set_module(TALLOC_CTX *mem_ctx, int argc, char **argv,
		      bool enable)
{
	TALLOC_CTX *frame = talloc_stackframe();
	static const char * const attrs[] = { "@LIST", NULL };
	static const char *no_modules[] = { "modules:", NULL };
	struct cli_options opts = { 0 };
	struct loadparm_context *lp_ctx = NULL;
	struct tevent_context *ev = NULL;
	struct ldb_context *ldb = NULL;
	struct ldb_result *res = NULL;
	struct ldb_message *msg = NULL;
	struct ldb_dn *dn = NULL;
	const char *path = NULL;
	const char *url = NULL;
	const char *old_list = NULL;
	const char **names = NULL;
	char *new_list = NULL;
	char *module = NULL;
	bool has_dsdb = false;
	bool in_transaction = false;
	pid_t pid = 0;
	size_t i;
	int pargc = 0;
	char **pargv = NULL;
	int status;
	int ret;

	status = cli_parse_options(frame, &opts, argc, argv, &pargc, &pargv,
				   false);
	if (status != ASA_EXIT_OK) {
		goto done;
	}
	if (opts.help) {
		(enable ? usage_enable : usage_disable)(stdout);
		goto done;
	}
	status = ASA_EXIT_USAGE;
	if (pargc != 0) {
		(enable ? usage_enable : usage_disable)(stderr);
		goto done;
	}
	if (opts.username != NULL || opts.password_file != NULL ||
	    opts.password_stdin || opts.kerberos != ASA_DIR_KERBEROS_AUTO) {
		cli_error("%s edits sam.ldb on the DC itself and takes no "
			  "credentials", enable ? "enable" : "disable");
		goto done;
	}

	lp_ctx = loadparm_init_global(false);
	if (lp_ctx == NULL) {
		cli_error("out of memory");
		goto done;
	}
	if (opts.smb_conf != NULL) {
		if (!lpcfg_load(lp_ctx, opts.smb_conf)) {
			cli_error("cannot load %s: check -s", opts.smb_conf);
			goto done;
		}
	} else if (!lpcfg_load_default(lp_ctx)) {
		if (opts.url == NULL) {
			cli_error("cannot load the default smb.conf: give -s "
				  "smb.conf or -H sam.ldb");
			goto done;
		}
		lp_ctx = NULL;
	}

	path = opts.url;
	if (path == NULL) {
		path = lpcfg_private_path(frame, lp_ctx, "sam.ldb");
	} else if (strncasecmp(path, "tdb://", 6) == 0) {
		path += 6;
	} else if (strstr(path, "://") != NULL) {
		cli_error("-H %s: %s works on the DC's sam.ldb file, not over "
			  "the network: give -H /path/to/private/sam.ldb",
			  path, enable ? "enable" : "disable");
		goto done;
	}
	if (path == NULL) {
		cli_error("out of memory");
		goto done;
	}
	if (access(path, R_OK | W_OK) != 0) {
		cli_error("cannot modify %s: %s (run as root on the DC, and "
			  "check -H)", path, strerror(errno));
		goto done;
	}

	if (enable) {
		module = find_module(frame);
		if (module == NULL) {
			goto done;
		}
	}

	ev = tevent_context_init(frame);
	ldb = ev != NULL ? ldb_init(frame, ev) : NULL;
	url = talloc_asprintf(frame, "tdb://%s", path);
	if (ldb == NULL || url == NULL) {
		cli_error("out of memory");
		goto done;
	}
	ret = ldb_connect(ldb, url, LDB_FLG_DONT_CREATE_DB, no_modules);
	if (ret != LDB_SUCCESS) {
		cli_error("cannot open %s: %s", path, ldb_errstring(ldb));
		goto done;
	}
	ret = ldb_transaction_start(ldb);
	if (ret != LDB_SUCCESS) {
		cli_error("cannot lock %s for writing: %s; sam.ldb is "
			  "unchanged", path, ldb_errstring(ldb));
		goto done;
	}
	in_transaction = true;

	dn = ldb_dn_new(frame, ldb, "@MODULES");
	ret = ldb_search(ldb, frame, &res, dn, LDB_SCOPE_BASE, attrs, NULL);
	if (ret != LDB_SUCCESS || res->count != 1) {
		cli_error("%s has no @MODULES record: it is not a Samba DC's "
			  "sam.ldb (check -H); nothing changed", path);
		status = ASA_EXIT_REFUSED;
		goto done;
	}
	old_list = ldb_msg_find_attr_as_string(res->msgs[0], "@LIST", "");
	names = split_list(frame, old_list);
	if (names == NULL) {
		cli_error("out of memory");
		goto done;
	}
	for (i = 0; names[i] != NULL; i++) {
		if (strcmp(names[i], "samba_dsdb") == 0) {
			has_dsdb = true;
		}
	}
	if (!has_dsdb) {
		cli_error("@MODULES of %s lists '%s', without samba_dsdb: "
			  "not the sam.ldb of a Samba DC; nothing changed",
			  path, old_list);
		status = ASA_EXIT_REFUSED;
		goto done;
	}

	new_list = talloc_strdup(frame, enable ? MODULE_NAME : "");
	for (i = 0; new_list != NULL && names[i] != NULL; i++) {
		if (strcmp(names[i], MODULE_NAME) == 0) {
			continue;
		}
		new_list = talloc_asprintf_append(new_list, "%s%s",
						  new_list[0] != '\0' ?
						  "," : "", names[i]);
	}
	if (new_list == NULL) {
		cli_error("out of memory");
		goto done;
	}
	if (strcmp(new_list, old_list) == 0) {
		ldb_transaction_cancel(ldb);
		in_transaction = false;
		printf("%s is already %s in %s (@LIST: %s); nothing "
		       "changed\n", MODULE_NAME,
		       enable ? "enabled" : "disabled", path, old_list);
		status = ASA_EXIT_OK;
		goto done;
	}

	msg = ldb_msg_new(frame);
	if (msg == NULL) {
		cli_error("out of memory");
		goto done;
	}
	msg->dn = dn;
	ret = ldb_msg_add_empty(msg, "@LIST", LDB_FLAG_MOD_REPLACE, NULL);
	if (ret == LDB_SUCCESS) {
		ret = ldb_msg_add_string(msg, "@LIST", new_list);
	}
	if (ret == LDB_SUCCESS) {
		ret = ldb_modify(ldb, msg);
	}
	if (ret == LDB_SUCCESS) {
		ret = ldb_transaction_commit(ldb);
		in_transaction = false;
	}
	if (ret != LDB_SUCCESS) {
		cli_error("cannot write @MODULES of %s: %s; nothing changed",
			  path, ldb_errstring(ldb));
		goto done;
	}

	printf("%s %s in %s\n  @LIST was: %s\n  @LIST now: %s\n",
	       enable ? "Enabled" : "Disabled", MODULE_NAME, path, old_list,
	       new_list);
	if (enable) {
		printf("  module: %s\n", module);
		if (getenv("LDB_MODULES_PATH") != NULL) {
			printf("  samba and every local tool (samba-tool, "
			       "ldbsearch) now need\n  LDB_MODULES_PATH=%s "
			       "in their environment\n",
			       getenv("LDB_MODULES_PATH"));
		}
	}
	pid = samba_pid(lp_ctx);
	if (pid == 0) {
		pid = holder_of(path);
	}
	if (pid != 0) {
		printf("samba is running (pid %d): restart it for the change "
		       "to take effect (e.g. systemctl restart "
		       "samba-ad-dc)\n", (int)pid);
	}
	status = ASA_EXIT_OK;
done:
	if (in_transaction) {
		ldb_transaction_cancel(ldb);
	}
	TALLOC_FREE(frame);
	return status;
}

int cmd_enable(TALLOC_CTX *mem_ctx, int argc, char **argv)
{
	return set_module(mem_ctx, argc, argv, true);
}

int cmd_disable(TALLOC_CTX *mem_ctx, int argc, char **argv)
{
	return set_module(mem_ctx, argc, argv, false);
}
