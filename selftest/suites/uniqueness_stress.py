#!/usr/bin/python3
# Selftest suite: the unique_principal_names module under concurrent load.
#
# Eight client processes, each with its own LDAP connection (SamDB over
# ldap://), write 10,000 times in all, at once, SPNs chosen to collide:
# the clients walk the same small window of names at the same pace, so
# most names are fought over by several clients within milliseconds; the
# values come in Unicode-equivalent and case variants ("http/x",
# "ＨＴＴＰ/x", "hţtp/x"), as host/ aliases of http/ values held
# elsewhere, as two-value modifies and as adds of new computer objects;
# half the accounts live in the configuration naming context, where
# samldb does not look.  Afterwards:
#
#   - no two objects hold the same SPN (a search of every naming context,
#     compared the way Windows compares), and `samba-asa spn audit` over
#     LDAP agrees;
#   - every refused write got a constraint violation with 000021C7;
#   - every accepted value is stored, byte for byte, on its object, and no
#     refused value (nor a refused new object) was written;
#   - samba-tool dbcheck --cross-ncs finds no error afterwards.
#
# Environment (env ad_dc): SERVER_IP, REALM, DC_USERNAME, DC_PASSWORD,
# SMB_CONF_PATH, KRB5_CONFIG, LDB_MODULES_PATH (for the local dbcheck);
# run inside SELFTEST_NETNS; SELFTEST_SAMBA_PID to report the DC's CPU
# time.  Optional:
# STRESS_CLIENTS (8), STRESS_WRITES (10000), STRESS_SEED, SAMBA_ASA.
#
# Output: subunit v1 on stdout; counts and timings on stderr.  Exit status
# 1 if any case failed.
#
# Copyright (C) samba-asa authors 2026
#
# This program is free software; you can redistribute it and/or modify
# it under the terms of the GNU General Public License as published by
# the Free Software Foundation; either version 3 of the License, or
# (at your option) any later version.

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import unicodedata
import uuid

import ldb
from samba.dsdb import UF_WORKSTATION_TRUST_ACCOUNT

from asa_test_util import env, connect

PREFIX = ""	# the runner names tests SUITE.TEST
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

POOL = 1500		# contended names
WINDOW = 32		# how many of them the clients fight over at a time
ALIAS_POOL = 100	# http/ names held by a seed account; host/ refused


def key(value):
    """Our own approximation of Windows' comparison, for the values this
    suite writes: compatibility decomposition, marks dropped, case
    folded.  Independent of the module's ICU keys on purpose."""
    d = unicodedata.normalize("NFKD", value)
    return "".join(c for c in d if not unicodedata.combining(c)).casefold()


# Service-class spellings Windows treats as "http": case, full width, a
# cedilla, a combining acute accent.
HTTP_VARIANTS = ["http", "HTTP", "Http", "\uff48\uff54\uff54\uff50",
                 "h\u0163tp", "htt\u0070\u0301"]
HOST_VARIANTS = ["host", "HOST", "Host", "\uff48\uff4f\uff53\uff54",
                 "h\u014dst"]


def name_value(rng, plan, k):
    inst = "s%d-%s.%s" % (k, plan["run"], plan["dnsdomain"])
    r = rng.random()
    if r < 0.3:
        inst = inst.upper()
    elif r < 0.45:
        inst = "\uff53" + inst[1:]	# full-width s
    return "%s/%s" % (rng.choice(HTTP_VARIANTS), inst)


def alias_value(rng, plan, k):
    inst = "alias%d-%s.%s" % (k, plan["run"], plan["dnsdomain"])
    if rng.random() < 0.7:
        # host/X while http/X is held by the seed account: refused
        return "%s/%s" % (rng.choice(HOST_VARIANTS), inst)
    # an equivalent of the seed's own value
    return "%s/%s" % (rng.choice(HTTP_VARIANTS[1:]), inst.upper())


# ------------------------------------------------------------------ worker

def worker(index, workdir):
    with open(os.path.join(workdir, "plan.json")) as f:
        plan = json.load(f)
    rng = random.Random(plan["seed"] * 1000 + index)
    samdb = connect()
    mine = plan["accounts"][index]		# two DNs
    held = {dn: set() for dn in mine}	# the names this client got
    steps = plan["writes_per_client"]
    results = []

    sys.stdout.write("ready\n")
    sys.stdout.flush()
    if sys.stdin.readline().strip() != "go":
        return 2

    def pick(dn, exclude=()):
        for _ in range(100):
            if rng.random() < 0.7:
                base = s * (POOL - WINDOW) // steps
                k = base + rng.randrange(WINDOW)
            else:
                k = rng.randrange(POOL)
            if k not in held.get(dn, ()) and k not in exclude:
                return k
        return None

    t0 = time.time()
    for s in range(steps):
        r = rng.random()
        dn = rng.choice(mine)
        rec = {"client": index, "step": s}
        if r < 0.06:
            k = rng.randrange(ALIAS_POOL)
            rec.update(op="alias", dn=dn, ks=[],
                       values=[alias_value(rng, plan, k)])
        elif r < 0.14:
            k1 = pick(dn)
            k2 = pick(dn, exclude=(k1,))
            if k1 is None or k2 is None:
                continue
            rec.update(op="modify2", dn=dn, ks=[k1, k2],
                       values=[name_value(rng, plan, k1),
                               name_value(rng, plan, k2)])
        elif r < 0.18:
            k = pick(None)
            sam = "%sw%dx%d" % (plan["prefix"], index, s)
            rec.update(op="add", ks=[k],
                       dn="CN=%s,CN=Computers,%s" % (sam, plan["base"]),
                       sam=sam, values=[name_value(rng, plan, k)])
        else:
            k = pick(dn)
            if k is None:
                continue
            rec.update(op="modify", dn=dn, ks=[k],
                       values=[name_value(rng, plan, k)])
        rec["t"] = time.time()
        try:
            if rec["op"] == "add":
                samdb.add({"dn": rec["dn"],
                           "objectClass": "computer",
                           "sAMAccountName": rec["sam"] + "$",
                           "userAccountControl":
                               str(UF_WORKSTATION_TRUST_ACCOUNT),
                           "servicePrincipalName": rec["values"]})
            else:
                m = ldb.Message(ldb.Dn(samdb, rec["dn"]))
                m["servicePrincipalName"] = ldb.MessageElement(
                    rec["values"], ldb.FLAG_MOD_ADD, "servicePrincipalName")
                samdb.modify(m)
        except ldb.LdbError as e:
            rec["code"] = e.args[0]
            rec["error"] = e.args[1]
        else:
            rec["code"] = 0
            if rec["op"] != "add":
                held[rec["dn"]].update(rec["ks"])
        rec["t_end"] = time.time()
        results.append(rec)
    elapsed = time.time() - t0

    with open(os.path.join(workdir, "worker-%d.json" % index), "w") as f:
        json.dump({"elapsed": elapsed, "results": results}, f)
    return 0


# -------------------------------------------------------------------- main

FAILED = 0


def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def note(line):
    sys.stderr.write("uniqueness_stress: " + line + "\n")
    sys.stderr.flush()


def dc_cpu_seconds():
    """CPU time the DC's samba process has used (under -M single it
    serves every LDAP request), or None."""
    pid = os.environ.get("SELFTEST_SAMBA_PID")
    try:
        with open("/proc/%s/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / \
            os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, TypeError):
        return None


def run_case(name, fn):
    global FAILED
    out("test: " + PREFIX + name)
    try:
        fn()
    except Exception:
        FAILED += 1
        text = traceback.format_exc().replace("\n]", "\n ]")
        out("failure: %s%s [\n%s]" % (PREFIX, name, text))
        return False
    out("success: " + PREFIX + name)
    return True


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def some(items, n=10):
    items = list(items)
    s = "\n".join("  %r" % (i,) for i in items[:n])
    if len(items) > n:
        s += "\n  ... and %d more" % (len(items) - n)
    return s


class Stress:

    def __init__(self):
        self.samdb = connect()
        self.base = str(self.samdb.get_default_basedn())
        self.config = str(self.samdb.get_config_basedn())
        self.run = uuid.uuid4().hex[:6]
        self.prefix = "ust" + self.run
        self.dnsdomain = env('REALM').lower()
        self.clients = int(os.environ.get("STRESS_CLIENTS", "8"))
        self.writes = int(os.environ.get("STRESS_WRITES", "10000"))
        self.seed = int(os.environ.get("STRESS_SEED",
                                       str(random.randrange(1 << 30))))
        self.workdir = tempfile.mkdtemp(prefix="uniqueness_stress.")
        self.created = []
        self.results = []
        self.elapsed = None
        self.stored = None	# dn -> [values], every SPN in the forest

    # -- setup

    def add(self, msg):
        self.samdb.add(msg)
        self.created.append(msg["dn"])

    def setup(self):
        accounts = []
        for i in range(self.clients):
            c = "%sc%d" % (self.prefix, i)
            cdn = "CN=%s,CN=Computers,%s" % (c, self.base)
            self.add({"dn": cdn, "objectClass": "computer",
                      "sAMAccountName": c + "$",
                      "userAccountControl":
                          str(UF_WORKSTATION_TRUST_ACCOUNT)})
            u = "%su%d" % (self.prefix, i)
            udn = "CN=%s,CN=Services,%s" % (u, self.config)
            self.add({"dn": udn, "objectClass": "user",
                      "sAMAccountName": u})
            accounts.append([cdn, udn])
        self.seed_dn = "CN=%sseed,CN=Services,%s" % (self.prefix,
                                                      self.config)
        self.seed_values = ["http/alias%d-%s.%s" % (k, self.run,
                                                    self.dnsdomain)
                            for k in range(ALIAS_POOL)]
        self.add({"dn": self.seed_dn, "objectClass": "user",
                  "sAMAccountName": self.prefix + "seed",
                  "servicePrincipalName": self.seed_values})
        self.plan = {"run": self.run, "prefix": self.prefix,
                     "dnsdomain": self.dnsdomain, "base": self.base,
                     "seed": self.seed, "accounts": accounts,
                     "writes_per_client": self.writes // self.clients}
        with open(os.path.join(self.workdir, "plan.json"), "w") as f:
            json.dump(self.plan, f)
        note("run %s, seed %d, %d clients x %d writes" %
             (self.run, self.seed, self.clients,
              self.plan["writes_per_client"]))

    # -- the concurrent writes

    def concurrent_writes(self):
        procs = []
        try:
            for i in range(self.clients):
                procs.append(subprocess.Popen(
                    [sys.executable, os.path.abspath(__file__),
                     "--worker", str(i), self.workdir],
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                    universal_newlines=True))
            for i, p in enumerate(procs):
                line = p.stdout.readline()
                check(line.strip() == "ready",
                      "client %d did not connect (said %r)" % (i, line))
            cpu0 = dc_cpu_seconds()
            t0 = time.time()
            for p in procs:		# all connected: start together
                p.stdin.write("go\n")
                p.stdin.flush()
            deadline = t0 + 900
            for i, p in enumerate(procs):
                rc = p.wait(timeout=max(1, deadline - time.time()))
                check(rc == 0, "client %d exited %d" % (i, rc))
            self.elapsed = time.time() - t0
            cpu1 = dc_cpu_seconds()
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()
        worker_times = []
        for i in range(self.clients):
            with open(os.path.join(self.workdir,
                                   "worker-%d.json" % i)) as f:
                w = json.load(f)
            worker_times.append(w["elapsed"])
            self.results.extend(w["results"])
        for r in self.results:
            if r["op"] == "add" and r["code"] == 0:
                self.created.append(r["dn"])
        by = {}
        for r in self.results:
            c = by.setdefault(r["op"], [0, 0, 0])
            c[0 if r["code"] == 0 else
              1 if r["code"] == ldb.ERR_CONSTRAINT_VIOLATION else 2] += 1
        acc = sum(c[0] for c in by.values())
        ref = sum(c[1] for c in by.values())
        oth = sum(c[2] for c in by.values())
        note("%d writes by %d clients in %.1f s (%.0f writes/s; slowest "
             "client %.1f s): %d accepted, %d refused, %d other errors" %
             (len(self.results), self.clients, self.elapsed,
              len(self.results) / self.elapsed, max(worker_times),
              acc, ref, oth))
        for op in sorted(by):
            note("  %-8s accepted %5d  refused %5d  other %d" %
                 (op, by[op][0], by[op][1], by[op][2]))
        if cpu0 is not None and cpu1 is not None:
            note("the DC's samba process used %.1f s of CPU for them "
                 "(%.2f ms a write); load average now %s" %
                 (cpu1 - cpu0, 1000 * (cpu1 - cpu0) / len(self.results),
                  " ".join("%.1f" % x for x in os.getloadavg())))
        check(len(self.results) >= self.writes * 0.99,
              "only %d of %d writes were made" %
              (len(self.results), self.writes))
        check(acc > 0 and ref > 0,
              "no collision happened (accepted %d, refused %d): the test "
              "data is wrong" % (acc, ref))

    # -- what the clients saw

    def refusals_carry_000021c7(self):
        check(self.results, "no results (the writes did not run)")
        bad = [r for r in self.results if r["code"] not in
               (0, ldb.ERR_CONSTRAINT_VIOLATION)]
        check(not bad, "writes failed with another error:\n" + some(bad))
        bad = [r for r in self.results
               if r["code"] == ldb.ERR_CONSTRAINT_VIOLATION and
               "000021C7" not in r["error"]]
        check(not bad, "refusals without 000021C7:\n" + some(bad))

    def alias_writes_refused(self):
        alias = [r for r in self.results if r["op"] == "alias"]
        check(alias, "no alias writes were made")
        bad = [r for r in alias if r["code"] == 0]
        check(not bad, "host/ (or http/ equivalents) accepted while "
              "http/X is held by %s:\n%s" % (self.seed_dn, some(bad)))

    # -- what the directory holds

    def read_directory(self):
        res = self.samdb.search(base="", scope=ldb.SCOPE_BASE,
                                attrs=["namingContexts"])
        ncs = [str(v) for v in res[0]["namingContexts"]]
        stored = {}
        for nc in ncs:
            for m in self.samdb.search(base=nc, scope=ldb.SCOPE_SUBTREE,
                                       expression="(servicePrincipalName=*)",
                                       attrs=["servicePrincipalName"]):
                stored[str(m.dn).lower()] = [
                    str(v) for v in m["servicePrincipalName"]]
        self.stored = stored
        return ncs

    def no_duplicate_in_directory(self):
        ncs = self.read_directory()
        holders = {}
        for dn, vals in self.stored.items():
            for v in vals:
                holders.setdefault(key(v), {}).setdefault(dn, v)
        dups = [(k, h) for k, h in holders.items() if len(h) > 1]
        nvals = sum(len(v) for v in self.stored.values())
        note("directory: %d SPN values on %d objects in %d naming "
             "contexts" % (nvals, len(self.stored), len(ncs)))
        check(not dups, "SPNs held by more than one object:\n" +
              some(dups))
        # host/X beside http/X held by another object (the alias rule)
        hosts = [k for k in holders if k.startswith("host/")]
        clash = []
        for k in hosts:
            alias = "http/" + k[len("host/"):]
            if alias in holders and \
               set(holders[alias]) != set(holders[k]):
                clash.append((k, holders[k], holders[alias]))
        check(not clash, "host/X and http/X on different objects:\n" +
              some(clash))

    def accepted_values_stored(self):
        if self.stored is None:
            self.read_directory()
        missing = []
        accepted_keys = {}
        for r in self.results:
            if r["code"] != 0:
                continue
            have = self.stored.get(r["dn"].lower(), [])
            for v in r["values"]:
                if v not in have:
                    missing.append((r["dn"], v))
                accepted_keys.setdefault(key(v), []).append(r["dn"])
        check(not missing, "accepted values not stored:\n" +
              some(missing))
        twice = [(k, d) for k, d in accepted_keys.items() if len(d) > 1]
        check(not twice, "one name accepted more than once:\n" +
              some(twice))
        # and nothing else: what the run's accounts hold is exactly what
        # was accepted
        run_dns = set(d.lower() for pair in self.plan["accounts"]
                      for d in pair)
        run_dns.update(r["dn"].lower() for r in self.results
                       if r["op"] == "add" and r["code"] == 0)
        extra = []
        for dn in run_dns:
            for v in self.stored.get(dn, []):
                if key(v) not in accepted_keys:
                    extra.append((dn, v))
        check(not extra, "values stored that no accepted write sent:\n" +
              some(extra))
        note("%d accepted names, all stored" % len(accepted_keys))

    def refused_values_not_stored(self):
        if self.stored is None:
            self.read_directory()
        # A refused two-value modify may be refused for one value and the
        # client may later be given the other one: a value on the object
        # is a leak only if no accepted write put it there.
        accepted = set()
        for r in self.results:
            if r["code"] == 0:
                accepted.update((r["dn"].lower(), key(v))
                                for v in r["values"])
        leaked = []
        for r in self.results:
            if r["code"] == 0:
                continue
            if r["op"] == "add":
                res = self.samdb.search(base=self.base,
                                        scope=ldb.SCOPE_SUBTREE,
                                        expression="(sAMAccountName=%s$)"
                                        % r["sam"], attrs=["dn"])
                if len(res) != 0:
                    leaked.append(("refused add left", str(res[0].dn)))
                    self.created.append(str(res[0].dn))
                continue
            have = set(key(v) for v in self.stored.get(r["dn"].lower(),
                                                        []))
            for v in r["values"]:
                if key(v) in have and \
                   (r["dn"].lower(), key(v)) not in accepted:
                    leaked.append((r["dn"], v))
        if leaked:
            # every write of those names, in order, to tell a lost
            # refusal from a wrong one
            keys = set(key(v) for _, v in leaked)
            hist = sorted((r for r in self.results
                           if any(key(v) in keys for v in r["values"])),
                          key=lambda r: (r["t"], r["client"]))
            raise AssertionError(
                "refused writes whose values are stored:\n%s\n"
                "every write of those names:\n%s" %
                (some(leaked), some([(round(r["t"], 4), r["client"],
                                      r["op"], r["dn"], r["values"],
                                      r["code"],
                                      r.get("error", "")[:60])
                                     for r in hist], 40)))

    def spn_audit_clean(self):
        asa = os.environ.get("SAMBA_ASA",
                             os.path.join(REPO, "bin", "tools", "samba-asa"))
        ccache = os.path.join(self.workdir, "ccache")
        e = dict(os.environ, KRB5CCNAME="FILE:" + ccache)
        p = subprocess.run(["kinit", "%s@%s" % (env('DC_USERNAME'),
                                                 env('REALM').upper())],
                           input=env('DC_PASSWORD') + "\n", env=e,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           universal_newlines=True)
        check(p.returncode == 0, "kinit: %s" % p.stdout)
        t0 = time.time()
        p = subprocess.run([asa, "spn", "audit", "-H",
                            "ldap://%s" % env('SERVER_IP'), "-k", "yes"],
                           env=e, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, universal_newlines=True)
        note("spn audit: %.1f s: %s" % (time.time() - t0,
                                         p.stdout.strip()[-200:]))
        check(p.returncode == 0 and " 0 duplicates" in p.stdout,
              "samba-asa spn audit: exit %d:\n%s" % (p.returncode,
                                                     p.stdout))

    def dbcheck_cross_ncs(self):
        # locally, with system rights, through the module (the runner
        # exports LDB_MODULES_PATH); after the writes, before cleanup
        t0 = time.time()
        p = subprocess.run(["samba-tool", "dbcheck", "--cross-ncs",
                            "-s", env('SMB_CONF_PATH')],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           universal_newlines=True)
        tail = "\n".join(p.stdout.strip().splitlines()[-30:])
        note("dbcheck --cross-ncs: %.1f s: %s" %
             (time.time() - t0, tail.splitlines()[-1] if tail else ""))
        check(p.returncode == 0 and " (0 errors)" in p.stdout,
              "samba-tool dbcheck --cross-ncs: exit %d:\n%s" %
              (p.returncode, tail))

    def dc_still_serving(self):
        res = self.samdb.search(base="", scope=ldb.SCOPE_BASE,
                                attrs=["dsServiceName"])
        check(len(res) == 1 and "dsServiceName" in res[0],
              "rootDSE does not answer")
        # and it still takes a write and refuses a duplicate
        dn = self.plan["accounts"][0][0]
        v = "http/after-%s.%s" % (self.run, self.dnsdomain)
        m = ldb.Message(ldb.Dn(self.samdb, dn))
        m["servicePrincipalName"] = ldb.MessageElement(
            v, ldb.FLAG_MOD_ADD, "servicePrincipalName")
        self.samdb.modify(m)
        m = ldb.Message(ldb.Dn(self.samdb, self.seed_dn))
        m["servicePrincipalName"] = ldb.MessageElement(
            v.upper(), ldb.FLAG_MOD_ADD, "servicePrincipalName")
        try:
            self.samdb.modify(m)
        except ldb.LdbError as e:
            check(e.args[0] == ldb.ERR_CONSTRAINT_VIOLATION and
                  "000021C7" in e.args[1], "refused with %r" % (e.args,))
        else:
            raise AssertionError("duplicate accepted after the stress run")

    def cleanup(self):
        for dn in reversed(self.created):
            try:
                self.samdb.delete(dn)
            except ldb.LdbError:
                pass
        shutil.rmtree(self.workdir, ignore_errors=True)


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--worker":
        return worker(int(sys.argv[2]), sys.argv[3])

    st = Stress()
    try:
        if not run_case("setup", st.setup):
            return 1
        if run_case("concurrent_writes", st.concurrent_writes):
            run_case("refusals_carry_000021C7", st.refusals_carry_000021c7)
            run_case("alias_writes_refused", st.alias_writes_refused)
            run_case("no_duplicate_in_directory",
                     st.no_duplicate_in_directory)
            run_case("accepted_values_stored", st.accepted_values_stored)
            run_case("refused_values_not_stored",
                     st.refused_values_not_stored)
        run_case("spn_audit_clean", st.spn_audit_clean)
        run_case("dbcheck_cross_ncs", st.dbcheck_cross_ncs)
        run_case("dc_still_serving", st.dc_still_serving)
    finally:
        st.cleanup()
    return 1 if FAILED else 0


if __name__ == '__main__':
    sys.exit(main())
