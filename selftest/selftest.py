#!/usr/bin/python3
# selftest/selftest.py: run the test plan (selftest/tests.py) against real
# Samba AD DCs, as Samba's selftest does, and judge the results against
# selftest/knownfail.
#
#   /usr/bin/python3 selftest/selftest.py [--tests REGEX] [--list] [-v]
#
# Every suite writes subunit v1 on standard output.  Test names become
# SUITE.TEST (Samba's python tests call themselves "__main__.Class.test";
# that prefix is dropped).  A test fails the run when it fails and is not in
# knownfail, or passes and is in knownfail (an unexpected success: the entry
# is stale and must go); a suite fails the run when it times out, exits
# non-zero without reporting a failure, or reports nothing at all.
#
# Samba's python tests exit 0 even when a case fails, so the exit status of a
# suite is never taken as its result: the result lines are counted.
#
# Everything a run makes lives in st/run-DATE-PID/ (git-ignored): the
# template DC, one directory per environment (kept when its suite failed),
# every suite's raw output and the whole subunit stream ("subunit").
#
# The last line printed is always "N passed, N failed, N skipped" (known
# failures count as skipped), and the exit status is 0 only when nothing
# failed.

import argparse
import os
import re
import shutil
import signal
import subprocess
import tempfile
import sys
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV_SH = os.path.join(REPO, "selftest", "env.sh")
# ad_dc_array: ad_dc plus the member hosts and load balancer of array.sh.
ARRAY_SH = os.path.join(REPO, "selftest", "array.sh")
# ad_dc_pair: ad_dc plus a second DC joined to it (pair.sh), both -M standard.
PAIR_SH = os.path.join(REPO, "selftest", "pair.sh")
# ad_dc_pair_array: both, the pair first (the members serve either DC).
ENVIRONMENTS = ("ad_dc", "ad_dc_array", "ad_dc_pair", "ad_dc_pair_array")
ARRAY_ENVIRONMENTS = ("ad_dc_array", "ad_dc_pair_array")
PAIR_ENVIRONMENTS = ("ad_dc_pair", "ad_dc_pair_array")
PLAN = os.path.join(REPO, "selftest", "tests.py")
KNOWNFAIL = os.path.join(REPO, "selftest", "knownfail")
# What stock Samba fails and unique_principal_names fixes: applies when the
# DCs run without the module (not built, or SELFTEST_LDB_MODULE=no).
KNOWNFAIL_STOCK = os.path.join(REPO, "selftest", "knownfail.stock")
# What one Samba release does differently (selftest/knownfail.samba-4.22,
# say): added when the installed samba is that release.
KNOWNFAIL_RELEASE = os.path.join(REPO, "selftest", "knownfail.samba-%s")
ST = os.path.join(REPO, "st")
# The longest Unix socket path below an environment's directory, with room
# for a second DC (INSTANCE/dc2) and a two-digit directory name; sun_path
# holds 108 bytes with the NUL.
DEEPEST_SOCKET = "/NN/dc2/state/winbindd_privileged/pipe"
SOCKET_PATH_MAX = 108
KEEP_RUNS = 5		# old run directories kept for post-mortems

# subunit v1 result keywords, and what each means to us.
OUTCOMES = {
    "success": "success", "successful": "success", "ok": "success",
    "failure": "failure", "fail": "failure",
    "error": "error",
    "skip": "skip",
    "xfail": "xfail",
    "uxsuccess": "uxsuccess",
}
RESULT_RE = re.compile(r"^(%s):? (.*)$" % "|".join(OUTCOMES))
TEST_RE = re.compile(r"^(test|testing):? (.*)$")
IGNORED_RE = re.compile(r"^(time|progress|tags):")


class Terminated(Exception):
    """SIGTERM or SIGHUP: unwind so that the environments are torn down."""


def on_signal(signum, frame):
    raise Terminated("signal %d" % signum)


class Suite:
    def __init__(self, name, env="none", command=None, timeout=300,
                 may_be_empty=False, smbconf=(), model="single"):
        if command is None:
            raise ValueError("suite %s has no command" % name)
        self.name = name
        self.env = env
        self.command = command
        self.timeout = timeout
        self.may_be_empty = may_be_empty
        # Extra [global] lines for this suite's DC ("name = value").
        self.smbconf = list(smbconf)
        # samba's process model (-M) for this suite's DC.
        self.model = model


def read_plan(path):
    suites = []

    def plansuite(name, **kwargs):
        suites.append(Suite(name, **kwargs))

    with open(path) as f:
        code = compile(f.read(), path, "exec")
    exec(code, {"plansuite": plansuite, "__file__": path})
    return suites


def read_knownfail(path):
    """One regular expression per line; '#' starts a comment."""
    patterns = []
    if not os.path.exists(path):
        return patterns
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            line = re.sub(r"(^|\s+)#.*$", "", line).strip()
            if not line:
                continue
            try:
                patterns.append(re.compile(line))
            except re.error as e:
                sys.exit("%s:%d: bad regular expression: %s" %
                         (path, lineno, e))
    return patterns


def samba_release():
    """The installed samba's release ("4.17", "4.22"), or None."""
    try:
        out = subprocess.run(["samba", "-V"], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True).stdout
    except OSError:
        return None
    m = re.search(r"Version (\d+\.\d+)\.", out)
    return m.group(1) if m else None


class Result:
    def __init__(self, name, outcome, details=""):
        self.name = name
        self.outcome = outcome	# success failure error skip xfail uxsuccess
        self.details = details
        self.verdict = None	# passed failed skipped, after knownfail


class SubunitParser:
    """Reads one suite's subunit v1 text, line by line.

    Names are made SUITE.TEST.  Output between "test:" and its result is
    kept as the test's output and shown if the test fails."""

    def __init__(self, suite):
        self.suite = suite
        self.results = []
        self.current = None		# name of the test now running
        self.current_output = []
        self.details = None		# (name, outcome, lines) inside [ ... ]

    def fullname(self, name):
        name = name.strip()
        if name.startswith("__main__."):
            name = name[len("__main__."):]
        return "%s.%s" % (self.suite, name)

    def feed(self, line):
        line = line.rstrip("\n")
        if self.details is not None:
            if line.strip() == "]":
                name, outcome, lines = self.details
                self.details = None
                self.finish(name, outcome, "\n".join(lines))
            else:
                self.details[2].append(line)
            return
        m = TEST_RE.match(line)
        if m:
            if self.current is not None:
                self.finish(self.current, "error",
                            "started again before it reported a result")
            self.current = self.fullname(m.group(2))
            self.current_output = []
            return
        m = RESULT_RE.match(line)
        if m:
            outcome = OUTCOMES[m.group(1)]
            rest = m.group(2).rstrip()
            bracket = re.match(r"^(.*?) \[( multipart)?$", rest)
            if bracket:
                self.details = (self.fullname(bracket.group(1)), outcome, [])
            else:
                self.finish(self.fullname(rest), outcome, "")
            return
        if IGNORED_RE.match(line):
            return
        if self.current is not None:
            self.current_output.append(line)

    def finish(self, name, outcome, details):
        if name == self.current:
            output = "\n".join(self.current_output)
            if output.strip():
                details = output + ("\n" + details if details else "")
            self.current = None
            self.current_output = []
        self.results.append(Result(name, outcome, details))

    def close(self, why):
        """End of stream: a test still running never reported."""
        if self.details is not None:
            name, outcome, lines = self.details
            self.details = None
            self.finish(name, outcome, "\n".join(lines))
        if self.current is not None:
            self.finish(self.current, "error", why)


class Environment:
    """One running DC (selftest/env.sh start), torn down by stop()."""

    def __init__(self, template, instance, netns, verbose, array=False,
                 smbconf=(), model="single", pair=False):
        self.template = template
        self.smbconf = list(smbconf)
        self.model = model
        self.instance = instance
        self.netns = netns
        self.verbose = verbose
        self.array = array
        self.pair = pair
        self.vars = {}
        self.start_seconds = None
        self.stdin_w = None

    def start(self, log):
        # samba -i exits when its stdin reaches end of file: it gets the
        # read end of this pipe, we keep the write end until stop().  If
        # this runner is killed outright, samba still goes away.
        r, w = os.pipe()
        self.stdin_w = w
        env = env_sh_environ(self.verbose)
        env["SELFTEST_SMBCONF_EXTRA"] = "\n".join(self.smbconf)
        env["SELFTEST_SAMBA_MODEL"] = self.model
        if self.pair:
            # under -M single a DC blocks on a DNS query to itself
            env["SELFTEST_SAMBA_MODEL"] = "standard"
        try:
            proc = subprocess.run(
                ["bash", ENV_SH, "start", self.template, self.instance,
                 self.netns],
                stdin=r, stdout=log, stderr=subprocess.STDOUT, env=env)
            if proc.returncode != 0:
                raise RuntimeError("environment did not start (exit %d)" %
                                   proc.returncode)
            if self.pair:
                # dc2's samba reads the same pipe as dc1's
                proc = subprocess.run(
                    ["bash", PAIR_SH, "start", self.instance],
                    stdin=r, stdout=log, stderr=subprocess.STDOUT,
                    env=env_sh_environ(self.verbose))
                if proc.returncode != 0:
                    raise RuntimeError("the second DC did not start "
                                       "(exit %d)" % proc.returncode)
        finally:
            os.close(r)
        if self.array:
            proc = subprocess.run(
                ["bash", ARRAY_SH, "start", self.instance],
                stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, env=env_sh_environ(self.verbose))
            if proc.returncode != 0:
                raise RuntimeError("the array did not start (exit %d)" %
                                   proc.returncode)
        with open(os.path.join(self.instance, "environ")) as f:
            for line in f:
                key, sep, value = line.rstrip("\n").partition("=")
                if sep:
                    self.vars[key] = value
        self.start_seconds = float(self.vars.get("START_SECONDS", "nan")) + \
            float(self.vars.get("ARRAY_START_SECONDS", "0")) + \
            float(self.vars.get("PAIR_START_SECONDS", "0"))

    def stop(self):
        if self.pair:
            subprocess.run(["bash", PAIR_SH, "stop", self.instance],
                           stdin=subprocess.DEVNULL,
                           env=env_sh_environ(self.verbose))
        if self.array:
            subprocess.run(["bash", ARRAY_SH, "stop", self.instance],
                           stdin=subprocess.DEVNULL,
                           env=env_sh_environ(self.verbose))
        subprocess.run(["bash", ENV_SH, "stop", self.instance],
                       stdin=subprocess.DEVNULL,
                       env=env_sh_environ(self.verbose))
        if self.stdin_w is not None:
            os.close(self.stdin_w)
            self.stdin_w = None


def env_sh_environ(verbose):
    env = dict(os.environ)
    env["ST_VERBOSE"] = "1" if verbose else "0"
    return env


class Runner:
    def __init__(self, args):
        self.args = args
        self.rundir = os.path.join(
            ST, "run-%s-%d" % (time.strftime("%Y%m%d-%H%M%S"), os.getpid()))
        self.template = os.path.join(self.rundir, "template")
        self.envbase = self.rundir	# where environments go (see run())
        self.template_ready = False
        self.provision_seconds = None
        self.knownfail = read_knownfail(KNOWNFAIL)
        self.samba_release = samba_release()
        if self.samba_release:
            self.knownfail += read_knownfail(KNOWNFAIL_RELEASE %
                                             self.samba_release)
        self.counts = {"passed": 0, "failed": 0, "skipped": 0}
        self.failures = []		# (name, what, details) for the end
        self.warnings = []		# environments that needed a retry
        self.xfails = 0
        self.env = None			# the environment now running
        self.proc = None		# the suite now running
        self.nenv = 0
        self.subunit = None
        self.proc_status = 0

    def say(self, text=""):
        print(text, flush=True)

    def known(self, name):
        return any(p.search(name) for p in self.knownfail)

    # --- environments ---

    def provision(self):
        if self.template_ready:
            return
        self.say("provisioning the template DC (once per run)")
        with open(os.path.join(self.rundir, "provision.out"), "w") as log:
            proc = subprocess.run(["bash", ENV_SH, "provision",
                                   self.template],
                                  stdin=subprocess.DEVNULL, stdout=log,
                                  stderr=subprocess.STDOUT,
                                  env=env_sh_environ(self.args.verbose))
        if proc.returncode != 0:
            raise RuntimeError("provision failed: see %s/provision.out" %
                               self.rundir)
        with open(os.path.join(self.template, "template.vars")) as f:
            tvars = dict(line.rstrip("\n").split("=", 1) for line in f
                         if "=" in line)
        self.provision_seconds = tvars.get("PROVISION_SECONDS")
        module = tvars.get("LDB_MODULE_ENABLED") == "yes"
        self.say("template ready in %s s (unique_principal_names %s)" %
                 (self.provision_seconds,
                  "enabled" if module else "NOT enabled: stock Samba, "
                  "selftest/knownfail.stock applies"))
        if not module:
            self.knownfail += read_knownfail(KNOWNFAIL_STOCK)
        self.template_ready = True

    def start_env(self, suite, log):
        if suite.env not in ENVIRONMENTS:
            raise RuntimeError("unknown environment %r" % suite.env)
        self.provision()
        self.nenv += 1
        # The runner's PID makes the name unique among concurrent runs.
        netns = "asa-st-%d-%d" % (os.getpid(), self.nenv)
        # A short directory name: samba's Unix sockets live inside it
        # (state/winbindd_privileged/pipe is the deepest) and a socket
        # path has at most 107 characters.  The suite's name links to it.
        instance = os.path.join(self.envbase, str(self.nenv))
        link = os.path.join(self.rundir, suite.name)
        if os.path.islink(link):
            os.unlink(link)
        os.symlink(instance, link)
        self.env = Environment(self.template, instance, netns,
                               self.args.verbose,
                               array=suite.env in ARRAY_ENVIRONMENTS,
                               smbconf=suite.smbconf,
                               model=suite.model,
                               pair=suite.env in PAIR_ENVIRONMENTS)
        self.env.start(log)
        return self.env

    def start_env_retrying(self, suite, log, out_path):
        """Start the suite's environment; a start that fails is retried
        once in a fresh namespace (a DC that does not come up is an
        environment problem, not the suite's), and the run says so at the
        end with the first attempt's reason.  A second failure fails the
        suite."""
        try:
            return self.start_env(suite, log)
        except RuntimeError as e:
            log.flush()
            first = "%s\n%s" % (e, tail(out_path, 15))
            self.stop_env()
            link = os.path.join(self.rundir, suite.name)
            where = ""
            if os.path.isdir(link):
                kept = os.path.realpath(link)
                os.unlink(link)
                os.symlink(kept, link + ".failed-start")
                where = " (kept in %s)" % kept
            self.warnings.append(
                "%s: the environment did not start on the first attempt%s; "
                "it was retried once:\n    %s" %
                (suite.name, where, first.rstrip().replace("\n", "\n    ")))
            log.write("\n--- environment start failed, retrying once ---\n")
            log.flush()
            return self.start_env(suite, log)

    def stop_env(self):
        env, self.env = self.env, None
        if env is not None:
            env.stop()

    # --- suites ---

    def run_suite(self, suite, index, total, name_filter):
        out_path = os.path.join(self.rundir, suite.name + ".out")
        self.say("[%d/%d] %s%s" % (index, total, suite.name,
                                   "" if suite.env == "none"
                                   else " (env %s)" % suite.env))
        parser = SubunitParser(suite.name)
        self.proc_status = 0
        suite_failure = None
        env_note = ""
        t0 = time.monotonic()
        with open(out_path, "w") as log:
            env_vars = {}
            argv = ["bash", "-c", suite.command]
            try:
                if suite.env != "none":
                    env = self.start_env_retrying(suite, log, out_path)
                    env_vars = env.vars
                    env_note = ", env up in %.1f s" % env.start_seconds
                    argv = ["ip", "netns", "exec", env.netns] + argv
            except RuntimeError as e:
                log.flush()
                suite_failure = "%s\n%s" % (e, tail(out_path))
            if suite_failure is None:
                suite_failure = self.run_command(suite, argv, env_vars,
                                                 parser, log)
            self.stop_env()
        elapsed = time.monotonic() - t0

        results = [r for r in parser.results
                   if name_filter is None or name_filter.search(r.name)]
        raw_failures = [r for r in parser.results
                        if r.outcome in ("failure", "error")]
        if suite_failure is None and self.proc_status != 0 and \
           not raw_failures:
            suite_failure = ("exited with status %d without reporting a "
                             "failure\n%s" % (self.proc_status,
                                              tail(out_path)))
        if suite_failure is None and not parser.results and \
           not suite.may_be_empty:
            suite_failure = "reported no tests\n%s" % tail(out_path)
        if suite_failure is not None:
            results.append(Result(suite.name, "error", suite_failure))

        n = {"passed": 0, "failed": 0, "skipped": 0}
        for r in results:
            self.judge(r)
            n[r.verdict] += 1
            self.counts[r.verdict] += 1
            self.write_subunit(r)
        self.say("      %s: %d passed, %d failed, %d skipped "
                 "(%.1f s%s)" % (suite.name, n["passed"], n["failed"],
                                 n["skipped"], elapsed, env_note))
        if n["failed"] == 0 and suite.env != "none" and \
           not self.args.keep:
            # 40 MB of DC per suite; keep it only when it can explain a
            # failure.
            self.remove_env_dir(suite.name)

    def remove_env_dir(self, name):
        link = os.path.join(self.rundir, name)
        if os.path.islink(link):
            shutil.rmtree(os.path.realpath(link), ignore_errors=True)
            os.unlink(link)

    def run_command(self, suite, argv, env_vars, parser, log):
        """Run one suite; returns a suite-level failure text or None."""
        env = dict(os.environ)
        env.update(env_vars)
        env["REPO"] = REPO
        self.proc_status = None
        # Its own session, so a timeout (or our teardown) stops the whole
        # suite, whatever it started.
        self.proc = subprocess.Popen(argv, cwd=REPO, env=env,
                                     stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT,
                                     start_new_session=True,
                                     text=True, errors="replace")

        def reader(stream):
            for line in stream:
                log.write(line)
                parser.feed(line)

        thread = threading.Thread(target=reader, args=(self.proc.stdout,),
                                  daemon=True)
        thread.start()
        failure = None
        try:
            self.proc.wait(timeout=suite.timeout)
        except subprocess.TimeoutExpired:
            failure = "timed out after %d s" % suite.timeout
            self.kill_suite()
        thread.join(timeout=10)
        self.proc.stdout.close()
        self.proc_status = self.proc.returncode
        self.proc = None
        parser.close(failure or "the suite ended before the test "
                     "reported a result")
        if failure:
            log.flush()
            failure += "\n" + tail(log.name)
        return failure

    def kill_suite(self):
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        except ProcessLookupError:
            pass

    # --- results ---

    def judge(self, r):
        known = self.known(r.name)
        if r.outcome == "success":
            if known:
                r.verdict = "failed"
                self.report(r, "UNEXPECTED SUCCESS",
                            "in selftest/knownfail but passed: remove "
                            "its line from knownfail")
            else:
                r.verdict = "passed"
        elif r.outcome in ("failure", "error"):
            if known:
                r.verdict = "skipped"
                r.outcome = "xfail"
                self.xfails += 1
            else:
                r.verdict = "failed"
                self.report(r, r.outcome.upper(), r.details)
        elif r.outcome == "uxsuccess":
            r.verdict = "failed"
            self.report(r, "UNEXPECTED SUCCESS", r.details)
        else:			# skip, xfail reported by the test itself
            r.verdict = "skipped"

    def report(self, r, what, details):
        self.failures.append((r.name, what, details))
        self.say("%s: %s" % (what, r.name))
        for line in (details or "").rstrip().splitlines():
            self.say("    " + line)

    def write_subunit(self, r):
        outcome = {"passed": "success", "failed": "failure",
                   "skipped": "skip"}[r.verdict]
        if r.outcome == "xfail":
            outcome = "xfail"
        elif r.verdict == "failed" and r.outcome == "success":
            outcome = "uxsuccess"
        self.subunit.write("test: %s\n" % r.name)
        if r.details:
            self.subunit.write("%s: %s [\n" % (outcome, r.name))
            for line in r.details.splitlines():
                # A bare "]" would close the block early.
                self.subunit.write(" %s\n" % line)
            self.subunit.write("]\n")
        else:
            self.subunit.write("%s: %s\n" % (outcome, r.name))
        self.subunit.flush()

    # --- the run ---

    def prune_old_runs(self):
        """Remove old run directories of runners no longer alive."""
        try:
            runs = sorted(d for d in os.listdir(ST) if d.startswith("run-"))
        except FileNotFoundError:
            return
        for d in runs[:-KEEP_RUNS]:
            pid = d.rsplit("-", 1)[-1]
            if pid.isdigit() and os.path.exists("/proc/%s" % pid) and \
               int(pid) != os.getpid():
                continue	# perhaps a run going on right now
            envs = os.path.join(ST, d, "envs")
            if os.path.islink(envs):	# environments kept outside st/
                shutil.rmtree(os.path.realpath(envs), ignore_errors=True)
            shutil.rmtree(os.path.join(ST, d), ignore_errors=True)

    def remove_orphaned_netns(self):
        """Delete network namespaces of runners that were killed outright
        (SIGKILL leaves no chance to tear down): ours are named
        asa-st-<runner PID>-<n>, and a dead PID means nobody uses them.
        samba inside has already exited (its standard input was the dead
        runner's pipe)."""
        try:
            names = subprocess.run(["ip", "netns", "list"],
                                   stdout=subprocess.PIPE, text=True,
                                   stderr=subprocess.DEVNULL).stdout
        except OSError:
            return
        for line in names.splitlines():
            m = re.match(r"^(asa-st-(\d+)-\d+)\b", line)
            if m is None or os.path.exists("/proc/%s" % m.group(2)):
                continue
            self.say("removing network namespace %s of a runner that "
                     "was killed" % m.group(1))
            subprocess.run(["ip", "netns", "del", m.group(1)],
                           stderr=subprocess.DEVNULL)
            shutil.rmtree("/etc/netns/%s" % m.group(1), ignore_errors=True)

    def note_private_checkout(self):
        """One line when others cannot enter the checkout (/root, a 0700
        mktemp -d): the members' Apache (www-data) then reads only what
        array.sh puts in /tmp/asa-array-*; that it cannot fix."""
        path = REPO
        while path != os.path.dirname(path):
            if not os.stat(path).st_mode & 0o001:
                self.say("note: others cannot enter %s (mode %o): what "
                         "the members' Apache reads goes to "
                         "/tmp/asa-array-*" %
                         (path, os.stat(path).st_mode & 0o7777))
                return
            path = os.path.dirname(path)

    def run(self, suites, name_filter):
        os.makedirs(self.rundir)
        self.note_private_checkout()
        if len(self.rundir) + len(DEEPEST_SOCKET) >= SOCKET_PATH_MAX:
            # A deep checkout: the environments go to a short directory
            # of their own, linked from the run directory as "envs".
            self.envbase = tempfile.mkdtemp(prefix="asa-st-", dir="/tmp")
            os.symlink(self.envbase, os.path.join(self.rundir, "envs"))
            self.say("environments in %s (this checkout's path is too "
                     "long for samba's sockets)" % self.envbase)
        self.prune_old_runs()
        self.remove_orphaned_netns()
        subunit_path = os.path.join(self.rundir, "subunit")
        self.subunit = open(subunit_path, "w")
        t0 = time.monotonic()
        interrupted = None
        try:
            for i, suite in enumerate(suites, 1):
                self.run_suite(suite, i, len(suites), name_filter)
        except (KeyboardInterrupt, Terminated) as e:
            interrupted = "interrupted (%s)" % (e or "Ctrl-C")
        finally:
            # Whatever happened, nothing of ours stays running.
            self.kill_suite()
            self.stop_env()
            if not self.args.keep:
                shutil.rmtree(self.template, ignore_errors=True)
            if self.envbase != self.rundir:
                try:
                    os.rmdir(self.envbase)	# only when nothing is kept
                    os.unlink(os.path.join(self.rundir, "envs"))
                except OSError:
                    pass
            self.subunit.close()
        elapsed = time.monotonic() - t0

        self.say()
        if interrupted:
            self.say(interrupted)
            self.counts["failed"] += 1
            self.failures.append(("(run)", interrupted, ""))
        for line in self.warnings:
            self.say("WARNING: " + line)
        if self.failures:
            # Repeated here, briefly, because a CI log often shows only
            # its last lines.
            self.say("FAILED:")
            for name, what, details in self.failures:
                self.say("    %s: %s" % (what, name))
                lines = (details or "").rstrip().splitlines()
                for line in lines[-12:]:
                    self.say("        " + line)
        if self.xfails:
            self.say("%d known failure%s (selftest/knownfail), counted as "
                     "skipped" % (self.xfails,
                                  "" if self.xfails == 1 else "s"))
        timings = "%.0f s in all" % elapsed
        if self.provision_seconds is not None:
            timings += ", template provisioned in %s s" % \
                self.provision_seconds
        self.say("subunit stream: %s (%s)" %
                 (os.path.relpath(subunit_path), timings))
        self.say("%d passed, %d failed, %d skipped" %
                 (self.counts["passed"], self.counts["failed"],
                  self.counts["skipped"]))
        return 1 if self.counts["failed"] else 0


def tail(path, lines=30):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:]).rstrip()
    except OSError:
        return ""


def main():
    parser = argparse.ArgumentParser(
        description="Run samba-asa's test plan against real Samba DCs.")
    parser.add_argument("--tests", metavar="REGEX",
                        help="run the suites whose name matches REGEX; if "
                        "none does, run them all and count only the tests "
                        "(SUITE.TEST) that match")
    parser.add_argument("--list", action="store_true",
                        help="list the suites and exit")
    parser.add_argument("--keep", action="store_true",
                        help="keep the template and every environment's "
                        "directory under st/")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="say what the environments do")
    args = parser.parse_args()

    suites = read_plan(PLAN)
    if args.list:
        for s in suites:
            print("%-40s env=%s timeout=%ds" % (s.name, s.env, s.timeout))
        return 0

    name_filter = None
    if args.tests:
        try:
            regex = re.compile(args.tests)
        except re.error as e:
            sys.exit("--tests: bad regular expression: %s" % e)
        chosen = [s for s in suites if regex.search(s.name)]
        if chosen:
            suites = chosen
        else:
            name_filter = regex

    if any(s.env != "none" for s in suites) and os.geteuid() != 0:
        sys.exit("selftest: environments need root (network namespaces)")

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    return Runner(args).run(suites, name_filter)


if __name__ == "__main__":
    sys.exit(main())
