#!/usr/bin/python3
# One side of the instruction-count benchmark (bench_spn.py runs it under
# valgrind --tool=callgrind): open a DC's sam.ldb locally, with samba
# stopped, through the same module stack samba uses, and write COUNT
# times, one transaction each:
#   spn       add one http/ SPN to each of the accounts
#             B<first>..B<first+count-1> that bench_spn.py's grow() made
#   computer  create computers C<first>.. with dNSHostName and the two
#             host/ SPNs samba-tool computer create gives them (host/ has
#             ~50 sPNMappings aliases, each checked)
#
# usage: bench_cg_client.py SMB_CONF FIRST COUNT [spn|computer]

import sys

import ldb
from samba.auth import system_session
from samba.param import LoadParm
from samba.samdb import SamDB


def main():
    smbconf, first, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    what = sys.argv[4] if len(sys.argv) > 4 else 'spn'
    lp = LoadParm()
    lp.load(smbconf)
    db = SamDB(url=lp.samdb_url(), session_info=system_session(), lp=lp)
    base = str(db.get_default_basedn())
    realm = db.domain_dns_name()
    if what == 'computer':
        for j in range(first, first + count):
            db.add({"dn": "CN=C%06d,CN=Computers,%s" % (j, base),
                    "objectClass": "computer",
                    "sAMAccountName": "C%06d$" % j,
                    "userAccountControl": "4096",
                    "dNSHostName": "c%06d.%s" % (j, realm),
                    "servicePrincipalName": [
                        "HOST/C%06d" % j, "HOST/c%06d.%s" % (j, realm)]})
        return
    for j in range(first, first + count):
        m = ldb.Message(ldb.Dn(db, "CN=B%06d,CN=Computers,%s" % (j, base)))
        m["servicePrincipalName"] = ldb.MessageElement(
            "http/cgw%06d.%s" % (j, realm), ldb.FLAG_MOD_ADD,
            "servicePrincipalName")
        db.modify(m)


if __name__ == '__main__':
    main()
