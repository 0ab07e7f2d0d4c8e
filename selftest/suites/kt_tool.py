#!/usr/bin/python3
# selftest/suites/kt_tool.py: reshape a keytab for the member tests, from
# the version 2 format alone (no key is ever printed).
#
#   kt_tool.py IN OUT ACCOUNT [--distinct] [PRINCIPAL...]
#
# OUT gets the AES entries of ACCOUNT (e.g. "asa1$@REALM") at its highest
# kvno from IN (what `samba-tool domain exportkeytab --principal=asa1$`
# wrote: Samba 4.17 writes the current keys, 4.22 the previous ones too),
# and the same keys again under each PRINCIPAL: the keytab samba-asa
# builds for an ASA (one entry per SPN plus NAME$@REALM), made from the
# KDC's own keys.
# With --distinct each PRINCIPAL gets keys of its own instead (a hash of
# its name and the account's key): not a name of the account, as keys a
# member keeps of its own are not.

import hashlib
import struct
import sys

AES = (17, 18)


def read_entries(data):
    if data[:2] != b"\x05\x02":
        raise SystemExit("%s: not a version 2 keytab" % sys.argv[1])
    pos = 2
    while pos + 4 <= len(data):
        (size,) = struct.unpack(">i", data[pos:pos + 4])
        pos += 4
        if size == 0:
            break
        if size < 0:
            pos += -size
            continue
        rec = data[pos:pos + size]
        pos += size
        p = 0
        (ncomp,) = struct.unpack(">H", rec[p:p + 2])
        p += 2
        (rlen,) = struct.unpack(">H", rec[p:p + 2])
        realm = rec[p + 2:p + 2 + rlen].decode()
        p += 2 + rlen
        comps = []
        for _ in range(ncomp):
            (clen,) = struct.unpack(">H", rec[p:p + 2])
            comps.append(rec[p + 2:p + 2 + clen].decode())
            p += 2 + clen
        ntype, stamp, kvno8, etype, klen = struct.unpack(">IIBHH",
                                                         rec[p:p + 13])
        p += 13
        key = rec[p:p + klen]
        p += klen
        kvno = kvno8
        if len(rec) - p >= 4:
            (kvno32,) = struct.unpack(">I", rec[p:p + 4])
            if kvno32:
                kvno = kvno32
        yield "/".join(comps) + "@" + realm, stamp, kvno, etype, key


def record(name, stamp, kvno, etype, key):
    princ, realm = name.rsplit("@", 1)
    comps = princ.split("/")
    rec = struct.pack(">HH", len(comps), len(realm)) + realm.encode()
    for c in comps:
        rec += struct.pack(">H", len(c)) + c.encode()
    rec += struct.pack(">IIBHH", 1, stamp, kvno & 0xff, etype, len(key))
    rec += key + struct.pack(">I", kvno)
    return struct.pack(">i", len(rec)) + rec


def main():
    src, dst, account = sys.argv[1:4]
    extra = sys.argv[4:]
    distinct = extra[:1] == ["--distinct"]
    if distinct:
        extra = extra[1:]
    with open(src, "rb") as f:
        entries = [e for e in read_entries(f.read())
                   if e[0] == account and e[3] in AES]
    if not entries:
        raise SystemExit("%s: no AES keys of %s" % (src, account))
    newest = max(e[2] for e in entries)
    entries = [e for e in entries if e[2] == newest]
    out = b"\x05\x02"
    for i, name in enumerate([account] + extra):
        for _, stamp, kvno, etype, key in entries:
            if distinct and i > 0:
                key = hashlib.sha512(name.encode() + key).digest()[
                    :len(key)]
            out += record(name, stamp, kvno, etype, key)
    with open(dst, "wb") as f:
        f.write(out)


main()
