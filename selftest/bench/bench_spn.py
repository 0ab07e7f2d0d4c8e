#!/usr/bin/python3
# make bench: the cost of unique_principal_names per SPN write, against
# stock Samba, on the same provisioned database at several sizes; and the
# time of `samba-asa spn audit` over all of its SPNs.
#
# Figures, not a pass/fail test: a slow machine makes both variants slow.
# Stock and module runs alternate (stock, module, stock, module) so drift
# on a busy machine hits both alike.
#
# usage: bench_spn.py [--sizes 1000,10000,100000] [--writes 300]
#                     [--rounds 2] [--out DIR]

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
ENV_SH = os.path.join(REPO, 'selftest', 'env.sh')
MODULE = 'unique_principal_names'
MODULES_DIR = os.path.join(REPO, 'bin', 'plugins', 'ldb')
SAMBA_ASA = os.path.join(REPO, 'bin', 'tools', 'samba-asa')
PYTHON = '/usr/bin/python3'


def say(msg):
    print('bench: %s' % msg, flush=True)


def env(**extra):
    e = dict(os.environ)
    e['LDB_MODULES_PATH'] = MODULES_DIR
    e.update(extra)
    return e


def set_module(tree, enabled):
    """Enable or disable our module in TREE's sam.ldb (samba stopped),
    with the project's own samba-asa enable / disable."""
    subprocess.run([SAMBA_ASA, 'enable' if enabled else 'disable',
                    '-H', os.path.join(tree, 'private', 'sam.ldb'),
                    '-s', os.path.join(tree, 'etc', 'smb.conf')],
                   check=True, env=env(), stdout=subprocess.DEVNULL)


def grow(base, start, stop):
    """Add computers start..stop-1 (two SPNs each) to base's sam.ldb,
    locally with samba stopped, in transactions of 1000."""
    code = r'''
import sys, time
import ldb
from samba.auth import system_session
from samba.param import LoadParm
from samba.samdb import SamDB
smbconf, start, stop = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
lp = LoadParm()
lp.load(smbconf)
db = SamDB(url=lp.samdb_url(), session_info=system_session(), lp=lp)
base = str(db.get_default_basedn())
realm = db.domain_dns_name()
t0 = time.time()
i = start
while i < stop:
    db.transaction_start()
    for j in range(i, min(i + 1000, stop)):
        db.add({"dn": "CN=B%06d,CN=Computers,%s" % (j, base),
                "objectClass": "computer",
                "sAMAccountName": "B%06d$" % j,
                "userAccountControl": "4096",
                "servicePrincipalName": ["host/b%06d.%s" % (j, realm),
                                         "http/b%06d.%s" % (j, realm)]})
    db.transaction_commit()
    i = min(i + 1000, stop)
    if (i - start) % 10000 == 0 or i == stop:
        print("bench:   %d accounts (%.0f/s)" % (i, (i - start) /
              (time.time() - t0)), flush=True)
'''
    subprocess.run([PYTHON, '-c', code, os.path.join(base, 'etc', 'smb.conf'),
                    str(start), str(stop)], check=True, env=env())


def median_or_nan(xs):
    return statistics.median(xs) if xs else float('nan')


def instructions(snap, first, count, what='spn'):
    """Instructions (valgrind --tool=callgrind) of one local process
    that makes count writes of kind what (bench_cg_client.py) through
    snap's sam.ldb stack (a copy: snap stays as it was)."""
    run = snap + '.cg'
    copy_tree(snap, run)
    try:
        cg_out = os.path.join(run, 'callgrind.out')
        proc = subprocess.run(
            ['valgrind', '--tool=callgrind', '--callgrind-out-file=' + cg_out,
             PYTHON, os.path.join(REPO, 'selftest', 'bench',
                                  'bench_cg_client.py'),
             os.path.join(run, 'etc', 'smb.conf'), str(first), str(count),
             what],
            env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True)
        if proc.returncode != 0:
            sys.exit('bench: the callgrind client failed:\n' + proc.stderr)
        with open(cg_out) as f:
            for line in f:
                if line.startswith('summary:') or line.startswith('totals:'):
                    return int(line.split()[1])
        sys.exit('bench: no instruction total in ' + cg_out)
    finally:
        shutil.rmtree(run, ignore_errors=True)


def instructions_per_write(snap, writes, what='spn'):
    """Instructions per write, start-up and one-time costs (the first
    write opens the module's ICU collator) cancelled: the process with
    1 + writes writes minus the one with 1."""
    one = instructions(snap, 0, 1, what)
    many = instructions(snap, 0, 1 + writes, what)
    return (many - one) / writes


def copy_tree(src, dst):
    if os.path.exists(dst):
        shutil.rmtree(dst)
    subprocess.run(['cp', '-a', src, dst], check=True)
    subprocess.run(['sed', '-i', 's|%s|%s|g' % (src, dst),
                    os.path.join(dst, 'etc', 'smb.conf')], check=True)


class Instance:
    def __init__(self, template, inst, ns):
        self.inst = inst
        self.proc = subprocess.Popen(['bash', ENV_SH, 'start', template,
                                      inst, ns], stdin=subprocess.PIPE)
        # env.sh returns once LDAP and Kerberos answer; samba keeps our
        # pipe as its standard input and exits when we close it.
        t0 = time.time()
        if self.proc.wait() != 0:
            self.stop()
            raise RuntimeError('environment did not start')
        self.start_seconds = time.time() - t0
        self.vars = {}
        with open(os.path.join(inst, 'environ')) as f:
            for line in f:
                k, _, v = line.rstrip('\n').partition('=')
                self.vars[k] = v

    def run(self, argv):
        e = env(**self.vars)
        return subprocess.run(['ip', 'netns', 'exec',
                               self.vars['SELFTEST_NETNS']] + argv,
                              env=e, check=True, stdout=subprocess.PIPE,
                              text=True).stdout

    def stop(self):
        try:
            self.proc.stdin.close()
        except Exception:
            pass
        subprocess.run(['bash', ENV_SH, 'stop', self.inst])


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--sizes', default='1000,10000,100000')
    p.add_argument('--writes', type=int, default=300)
    p.add_argument('--rounds', type=int, default=2)
    p.add_argument('--cg-writes', type=int, default=100,
                   help='SPN writes per callgrind run (0: skip callgrind)')
    p.add_argument('--out', default=os.path.join(REPO, 'st', 'bench-%d' %
                                                 os.getpid()))
    opts = p.parse_args()
    sizes = [int(x) for x in opts.sizes.split(',')]
    if not (os.path.exists(os.path.join(MODULES_DIR, MODULE + '.so')) and
            os.access(SAMBA_ASA, os.X_OK)):
        sys.exit('bench: build the module and samba-asa first (make)')
    out = os.path.abspath(opts.out)
    os.makedirs(out, exist_ok=True)
    ns_prefix = 'asabench%d' % os.getpid()
    base = os.path.join(out, 'base')

    say('provisioning a DC (stock: our module out of @LIST)')
    subprocess.run(['bash', ENV_SH, 'provision', base], check=True)
    set_module(base, False)

    results = []
    have = 0
    for size in sizes:
        say('growing the database to %d accounts (2 SPNs each)' % size)
        grow(base, have, size)
        have = size
        snaps = {}
        for variant in ('stock', 'module'):
            snap = os.path.join(out, '%s-%d' % (variant, size))
            copy_tree(base, snap)
            with open(os.path.join(snap, 'template.vars')) as f:
                tv = f.read().replace(base, snap)
            with open(os.path.join(snap, 'template.vars'), 'w') as f:
                f.write(tv)
            set_module(snap, variant == 'module')
            snaps[variant] = snap

        figures = {'stock': [], 'module': [], 'refused_stock': [],
                   'refused_module': [], 'start': {}, 'cpu_stock': [],
                   'cpu_module': []}
        for rnd in range(opts.rounds):
            for variant in ('stock', 'module'):
                # Not a prefix of the snapshot's name: env.sh checks the
                # copy for leftover references to its template.
                inst = os.path.join(out, 'run-%s-%d' % (variant, size))
                say('%d accounts, %s, round %d: %d writes' %
                    (size, variant, rnd + 1, opts.writes))
                i = Instance(snaps[variant], inst,
                             '%s-%s-%d' % (ns_prefix, variant, size))
                try:
                    figures['start'].setdefault(variant, []).append(
                        i.start_seconds)
                    line = i.run([PYTHON, os.path.join(
                        REPO, 'selftest', 'bench', 'bench_client.py'),
                        'ldap://%s' % i.vars['SERVER_IP'],
                        i.vars['SELFTEST_PASSWORD_FILE'], str(size),
                        str(opts.writes), '%s%d' % (variant, rnd)])
                finally:
                    i.stop()
                r = json.loads(line.strip().splitlines()[-1])
                # The figures are only what they claim if the DC ran the
                # variant we meant: with the module every refusal is
                # 000021C7, stock Samba never says it.
                windows = r['refused_000021C7']
                if (variant == 'module') != (windows == r['refused']['n']) \
                        or (variant == 'stock' and windows != 0):
                    sys.exit('bench: %s run refused %d of %d with 000021C7'
                             % (variant, windows, r['refused']['n']))
                figures[variant].append(r['accepted']['median_ms'])
                if r.get('samba_cpu_ms_per_write') is not None:
                    figures['cpu_' + variant].append(
                        r['samba_cpu_ms_per_write'])
                figures['refused_' + variant].append(
                    r['refused']['median_ms'])
                shutil.rmtree(inst, ignore_errors=True)

        # Instruction counts do not depend on what else the machine is
        # doing, so this ratio stays honest on a busy machine, where the
        # LDAP figures above drift.  It leaves out the LDAP server's own
        # cost (the same for both), so it is the stricter ratio.
        cg_writes = min(opts.cg_writes, size - 1)
        if shutil.which('valgrind') and cg_writes > 0:
            say('%d accounts: instructions per write (callgrind, %d writes '
                'in one local process)' % (size, cg_writes))
            cg = {v: instructions_per_write(snaps[v], cg_writes)
                  for v in ('stock', 'module')}
            say('%d accounts: instructions per computer created (two '
                'host/ SPNs, as samba-tool computer create)' % size)
            cgc = {v: instructions_per_write(snaps[v], cg_writes // 2,
                                             'computer')
                   for v in ('stock', 'module')}
        else:
            cg = {'stock': float('nan'), 'module': float('nan')}
            cgc = dict(cg)

        # Audit over every SPN of the database; a clean database must
        # audit clean, or the figure times something else.
        samdb = os.path.join(snaps['module'], 'private', 'sam.ldb')
        t0 = time.time()
        rc = subprocess.run([SAMBA_ASA, 'spn', 'audit', '-H', samdb,
                             '-s', os.path.join(snaps['module'], 'etc',
                                                'smb.conf')],
                            env=env(), stdout=subprocess.DEVNULL).returncode
        audit_s = time.time() - t0
        if rc != 0:
            sys.exit('bench: spn audit exited %d on a clean database' % rc)

        row = {
            'accounts': size,
            'spns': 2 * size,
            'stock_ms': statistics.median(figures['stock']),
            'module_ms': statistics.median(figures['module']),
            'refused_stock_ms': statistics.median(figures['refused_stock']),
            'refused_module_ms': statistics.median(
                figures['refused_module']),
            'start_stock_s': max(figures['start']['stock']),
            'start_module_s': max(figures['start']['module']),
            'audit_s': audit_s,
            'cpu_stock_ms': median_or_nan(figures['cpu_stock']),
            'cpu_module_ms': median_or_nan(figures['cpu_module']),
            'cg_stock': cg['stock'],
            'cg_module': cg['module'],
            'cgc_stock': cgc['stock'],
            'cgc_module': cgc['module'],
        }
        row['cg_ratio'] = row['cg_module'] / row['cg_stock']
        row['cg_own'] = row['cg_module'] - row['cg_stock']
        row['cgc_ratio'] = row['cgc_module'] / row['cgc_stock']
        row['cpu_ratio'] = row['cpu_module_ms'] / row['cpu_stock_ms']
        row['ratio'] = row['module_ms'] / row['stock_ms']
        results.append(row)
        # Each size's figures as soon as they are measured: a run cut
        # short (100k accounts take long to build) keeps what it has.
        say('%d accounts: LDAP median %.2f vs %.2f ms (%.2fx); samba CPU '
            '%.3f vs %.3f ms (%.2fx); instructions %.0f vs %.0f (%.3fx); '
            'computer created %.0f vs %.0f (%.3fx); audit %.2f s' % (
                size, row['stock_ms'], row['module_ms'], row['ratio'],
                row['cpu_stock_ms'], row['cpu_module_ms'],
                row['cpu_ratio'], row['cg_stock'], row['cg_module'],
                row['cg_ratio'], row['cgc_stock'], row['cgc_module'],
                row['cgc_ratio'], row['audit_s']))
        for variant in ('stock', 'module'):
            shutil.rmtree(snaps[variant], ignore_errors=True)

    print()
    print('unique_principal_names: per-write cost (median of medians, '
          'ms; one LDAP client)')
    print('%9s %8s %9s %9s %7s %11s %11s %9s' % (
        'accounts', 'SPNs', 'stock', 'module', 'ratio', 'refused(s)',
        'refused(m)', 'audit s'))
    for r in results:
        print('%9d %8d %9.2f %9.2f %6.2fx %11.2f %11.2f %9s' % (
            r['accounts'], r['spns'], r['stock_ms'], r['module_ms'],
            r['ratio'], r['refused_stock_ms'], r['refused_module_ms'],
            '%.2f' % r['audit_s']))
    print()
    print('samba CPU time per accepted SPN write over LDAP (ms; user + '
          'system of the DC process, median of rounds)')
    print('%9s %9s %9s %7s' % ('accounts', 'stock', 'module', 'ratio'))
    for r in results:
        print('%9d %9.3f %9.3f %6.2fx' % (r['accounts'], r['cpu_stock_ms'],
                                          r['cpu_module_ms'],
                                          r['cpu_ratio']))
    print()
    print('per-write instructions through the sam.ldb stack (callgrind, '
          'local, samba stopped; independent of machine load)')
    print('%9s %12s %12s %7s %12s   %s' % (
        'accounts', 'stock', 'module', 'ratio', 'module own',
        'computer created: stock, module, ratio'))
    for r in results:
        print('%9d %12.0f %12.0f %6.3fx %12.0f   %.0f %.0f %.3fx' % (
            r['accounts'], r['cg_stock'], r['cg_module'], r['cg_ratio'],
            r['cg_own'], r['cgc_stock'], r['cgc_module'], r['cgc_ratio']))
    if len(results) > 1:
        first, last = results[0], results[-1]
        # Stock Samba's own cost grows with its index lists; what the
        # module adds is the part this project answers for.
        print('instruction growth %d -> %d accounts: stock %.3fx, '
              'module %.3fx, the module\'s own share %.3fx' % (
                  first['accounts'], last['accounts'],
                  last['cg_stock'] / first['cg_stock'],
                  last['cg_module'] / first['cg_module'],
                  last['cg_own'] / first['cg_own']))
        print('growth %d -> %d accounts: stock %.2fx, module %.2fx' % (
            first['accounts'], last['accounts'],
            last['stock_ms'] / first['stock_ms'],
            last['module_ms'] / first['module_ms']))
    print('start-up with the module (first start builds its index): ' +
          ', '.join('%d: %.1f s' % (r['accounts'], r['start_module_s'])
                    for r in results))
    with open(os.path.join(out, 'results.json'), 'w') as f:
        json.dump(results, f, indent=1)
    shutil.rmtree(base, ignore_errors=True)


if __name__ == '__main__':
    main()
