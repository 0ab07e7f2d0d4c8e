#!/usr/bin/python3
# One LDAP client timing SPN writes against a DC (run inside the DC's
# network namespace by bench_spn.py).  Prints one JSON line of figures.
#
# usage: bench_client.py URL PASSWORD_FILE NUM_ACCOUNTS WRITES TAG

import json
import os
import random
import sys
import time

import ldb
from samba.credentials import Credentials
from samba.param import LoadParm
from samba.samdb import SamDB


def samba_cpu_seconds():
    """CPU time (user + system) samba has used so far: the DC's own
    cost of our writes, which other load on the machine stretches far
    less than it stretches wall time.  None when the PID is unknown."""
    pid = os.environ.get('SELFTEST_SAMBA_PID')
    if not pid:
        return None
    try:
        with open('/proc/%s/stat' % pid) as f:
            fields = f.read().rsplit(')', 1)[1].split()
    except OSError:
        return None
    # utime and stime are fields 14 and 15 of stat(5); fields[0] is 3.
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def main():
    url, pwfile, naccounts, writes, tag = sys.argv[1:6]
    naccounts = int(naccounts)
    writes = int(writes)
    lp = LoadParm()
    lp.load_default()
    creds = Credentials()
    creds.guess(lp)
    creds.set_username('Administrator')
    with open(pwfile) as f:
        creds.set_password(f.read().strip())
    samdb = SamDB(url=url, credentials=creds, lp=lp)
    base = str(samdb.get_default_basedn())
    realm = samdb.domain_dns_name()
    rng = random.Random(tag)
    windows_errors = []

    def account_dn(i):
        return 'CN=B%06d,CN=Computers,%s' % (i, base)

    def add_spn(i, spn):
        m = ldb.Message(ldb.Dn(samdb, account_dn(i)))
        m['servicePrincipalName'] = ldb.MessageElement(
            spn, ldb.FLAG_MOD_ADD, 'servicePrincipalName')
        t0 = time.perf_counter()
        try:
            samdb.modify(m)
            ok = True
        except ldb.LdbError as e:
            ok = False
            # Which module refused: ours answers with Windows' 000021C7.
            if len(e.args) > 1 and '000021C7' in str(e.args[1]):
                windows_errors.append(spn)
        return time.perf_counter() - t0, ok

    # Warm up the connection and the server's caches.
    for n in range(20):
        add_spn(rng.randrange(naccounts), 'warm/%s-%d.%s' % (tag, n, realm))

    added = []
    accepted = []
    cpu0 = samba_cpu_seconds()
    for n in range(writes):
        i = rng.randrange(naccounts)
        spn = 'bench/%s-%d.%s' % (tag, n, realm)
        dt, ok = add_spn(i, spn)
        if not ok:
            print('unexpected refusal of a unique SPN', file=sys.stderr)
            sys.exit(1)
        accepted.append(dt)
        added.append(spn)

    cpu1 = samba_cpu_seconds()
    refused = []
    for n in range(max(writes // 5, 10)):
        i = rng.randrange(naccounts)
        spn = 'http/b%06d.%s' % (i, realm)   # held by account i
        dt, ok = add_spn((i + 1) % naccounts, spn)
        if ok:
            print('duplicate SPN %s was accepted' % spn, file=sys.stderr)
            sys.exit(1)
        refused.append(dt)

    def stats(xs):
        xs = sorted(xs)
        return {'n': len(xs),
                'median_ms': 1000 * xs[len(xs) // 2],
                'p90_ms': 1000 * xs[int(len(xs) * 0.9)]}

    print(json.dumps({'accepted': stats(accepted),
                      'refused': stats(refused),
                      'refused_000021C7': len(windows_errors),
                      'samba_cpu_ms_per_write':
                      None if cpu0 is None or cpu1 is None
                      else 1000 * (cpu1 - cpu0) / writes}))


main()
