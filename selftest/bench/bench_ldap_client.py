#!/usr/bin/python3
# One LDAP client (run inside the DC's namespace by bench_roll_ldap.sh):
# searches the DC for SECONDS, one indexed search after another (an
# account by sAMAccountName, as a login or an application does), and
# prints one JSON line: the number of searches and their p50 / p99 / max
# latency in ms.  Kerberos (the ccache of KRB5CCNAME) over ldap://.
#
# usage: bench_ldap_client.py URL SECONDS

import json
import sys
import time

from samba.credentials import Credentials, MUST_USE_KERBEROS
from samba.param import LoadParm
from samba.samdb import SamDB


def main():
    url, seconds = sys.argv[1], float(sys.argv[2])
    lp = LoadParm()
    lp.load_default()
    creds = Credentials()
    creds.guess(lp)
    creds.set_kerberos_state(MUST_USE_KERBEROS)
    samdb = SamDB(url=url, credentials=creds, lp=lp)
    base = samdb.get_default_basedn()
    times = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t0 = time.perf_counter()
        res = samdb.search(base, expression='(sAMAccountName=Administrator)',
                           attrs=['objectSid', 'userPrincipalName'])
        times.append(time.perf_counter() - t0)
        if len(res) != 1:
            sys.exit('the search found %d entries' % len(res))
    times.sort()

    def pct(p):
        return 1000 * times[min(len(times) - 1, int(len(times) * p))]

    print(json.dumps({'searches': len(times), 'p50_ms': pct(0.50),
                      'p99_ms': pct(0.99), 'max_ms': 1000 * times[-1]}))


main()
