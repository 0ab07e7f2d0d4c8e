#!/usr/bin/python3
# selftest/bench/fleet_measure.py: the measuring half of bench_fleet.sh.
#
#   fleet_measure.py run --out FILE --label WHAT --members N
#       --samba-pid PID --listener-pids FILE -- COMMAND...
#
# runs COMMAND (samba-asa, through "ip netns exec", which execs it) and
# appends one JSON line to FILE: its wall time and exit status; samba-asa's
# own peak RSS (VmHWM, read every 50 ms while it runs) and the peak of the
# sum of RSS over it and its children (ssh, samba-tool); the CPU it and its
# children used (wait4); samba's peak RSS during the command (VmHWM over
# samba's process tree, reset first through /proc/PID/clear_refs) and CPU;
# and the CPU the members used (what the members' sshd listeners reaped:
# the per-connection sshd processes and the member program under them).
#
#   fleet_measure.py report FILE
#
# prints the table: per command and member count, the median and range of
# the wall time, the median's ratio to 1 member, memory and CPU.
#
# Copyright (C) samba-asa authors 2026
#
# This program is free software; you can redistribute it and/or modify
# it under the terms of the GNU General Public License as published by
# the Free Software Foundation; either version 3 of the License, or
# (at your option) any later version.

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
SAMPLE_SECONDS = 0.05


def tree(pid):
    """PID and its descendants, through the kernel's children lists."""
    found = []
    todo = [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        try:
            for task in os.listdir("/proc/%d/task" % p):
                with open("/proc/%d/task/%s/children" % (p, task)) as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return found


def status_kb(pid, field):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pid, reaped=False):
    """utime + stime of PID (with reaped=True: of the children it
    waited for), in seconds."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # fields[0] is field 3 (state): utime is field 14, cutime 16
    first = 13 if reaped else 11
    return (int(fields[first]) + int(fields[first + 1])) / CLK_TCK


def reset_hwm(pids):
    for p in pids:
        try:
            with open("/proc/%d/clear_refs" % p, "w") as f:
                f.write("5")
        except OSError:
            pass


def run(args):
    samba = tree(args.samba_pid)
    with open(args.listener_pids) as f:
        listeners = [int(p) for p in f.read().split()]
    reset_hwm(samba)
    samba_cpu0 = {p: cpu_seconds(p) for p in samba}
    samba_reaped0 = cpu_seconds(args.samba_pid, reaped=True)
    members_cpu0 = sum(cpu_seconds(p, reaped=True) for p in listeners)

    t0 = time.monotonic()
    proc = subprocess.Popen(args.command, stdout=args.log, stderr=args.log)
    asa_hwm = 0
    tree_peak = 0
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid != 0:
            break
        asa_hwm = max(asa_hwm, status_kb(proc.pid, "VmHWM"))
        tree_peak = max(tree_peak, sum(status_kb(p, "VmRSS")
                                       for p in tree(proc.pid)))
        time.sleep(SAMPLE_SECONDS)
    wall = time.monotonic() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)

    samba = tree(args.samba_pid)
    hwm = [status_kb(p, "VmHWM") for p in samba]
    record = {
        "label": args.label,
        "members": args.members,
        "rc": proc.returncode,
        "wall": wall,
        "asa_hwm_kb": asa_hwm,
        "asa_tree_peak_kb": tree_peak,
        "asa_cpu": usage.ru_utime + usage.ru_stime,
        "samba_hwm_max_kb": max(hwm),
        "samba_hwm_sum_kb": sum(hwm),
        # processes of samba's that ended meanwhile are not counted
        "samba_cpu": sum(cpu_seconds(p) - samba_cpu0.get(p, 0.0)
                         for p in samba) +
        cpu_seconds(args.samba_pid, reaped=True) - samba_reaped0,
        "members_cpu": sum(cpu_seconds(p, reaped=True)
                           for p in listeners) - members_cpu0,
    }
    with open(args.out, "a") as f:
        f.write(json.dumps(record) + "\n")
    return proc.returncode


def span(values, fmt):
    values = sorted(values)
    return (fmt % statistics.median(values),
            (fmt + "-" + fmt) % (values[0], values[-1]))


def report(args):
    records = []
    with open(args.file) as f:
        for line in f:
            records.append(json.loads(line))
    labels = []
    for r in records:
        if r["label"] not in labels:
            labels.append(r["label"])
    for label in labels:
        rows = {}
        for r in records:
            if r["label"] == label:
                rows.setdefault(r["members"], []).append(r)
        base = rows.get(1)
        base_median = statistics.median(x["wall"] for x in base) \
            if base else None
        print("\n%s" % label)
        print("%7s %6s %16s %6s %5s %8s %8s %8s %8s %8s %8s" % (
            "members", "wall s", "(min-max)", "x1", "fail",
            "samba MB", "asa MB", "asa+ch MB", "DC cpu s",
            "samba s", "mem. s"))
        for n in sorted(rows):
            rs = rows[n]
            med, rng = span([x["wall"] for x in rs], "%.1f")
            ratio = "%.1fx" % (statistics.median(x["wall"] for x in rs) /
                               base_median) if base_median else "-"
            failed = sum(1 for x in rs if x["rc"] != 0)
            print("%7d %6s %16s %6s %5s %8.0f %8.1f %8.0f %8.2f %8.2f "
                  "%8.2f" % (
                      n, med, "(" + rng + ")", ratio,
                      "%d/%d" % (failed, len(rs)),
                      max(x["samba_hwm_max_kb"] for x in rs) / 1024,
                      max(x["asa_hwm_kb"] for x in rs) / 1024,
                      max(x["asa_tree_peak_kb"] for x in rs) / 1024,
                      statistics.median(x["asa_cpu"] for x in rs),
                      statistics.median(x["samba_cpu"] for x in rs),
                      statistics.median(x["members_cpu"] for x in rs)))
    return 0


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("run")
    p.add_argument("--out", required=True)
    p.add_argument("--label", required=True)
    p.add_argument("--members", type=int, required=True)
    p.add_argument("--samba-pid", type=int, required=True)
    p.add_argument("--listener-pids", required=True)
    p.add_argument("--log", type=argparse.FileType("a"), default=sys.stderr)
    p.add_argument("command", nargs="+")
    p = sub.add_parser("report")
    p.add_argument("file")
    args = parser.parse_args()
    if args.what == "run":
        return run(args)
    return report(args)


if __name__ == "__main__":
    sys.exit(main())
