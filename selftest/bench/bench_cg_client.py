#!/usr/bin/python3
# One side of the instruction-count benchmark (bench_spn.py runs it under
# valgrind --tool=callgrind): open a DC's sam.ldb locally, with samba
# stopped, through the same module stack samba uses, and add one SPN to
# each of the accounts B<first>..B<first+count-1> that bench_spn.py's
# grow() made, one modify (one transaction) each.
#
# usage: bench_cg_client.py SMB_CONF FIRST COUNT

import sys

import ldb
from samba.auth import system_session
from samba.param import LoadParm
from samba.samdb import SamDB


def main():
    smbconf, first, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    lp = LoadParm()
    lp.load(smbconf)
    db = SamDB(url=lp.samdb_url(), session_info=system_session(), lp=lp)
    base = str(db.get_default_basedn())
    realm = db.domain_dns_name()
    for j in range(first, first + count):
        m = ldb.Message(ldb.Dn(db, "CN=B%06d,CN=Computers,%s" % (j, base)))
        m["servicePrincipalName"] = ldb.MessageElement(
            "http/cgw%06d.%s" % (j, realm), ldb.FLAG_MOD_ADD,
            "servicePrincipalName")
        db.modify(m)


if __name__ == '__main__':
    main()
