#!/usr/bin/python3
# Selftest suite: bad principal names sent to the DC through raw LDAP
# (python ldb over ldap://), with the unique_principal_names module
# enabled.  For every value: the client gets a clear error (or, for the
# values Windows accepts, the value is stored the way the module
# documents), the DC keeps serving (the rootDSE answers), and nothing
# else was written.
#
# What the module documents (modules/ldb/unique_principal_names.c,
# upn_sanitize_msg, and common/principal.c): an SPN is stored as Windows
# stores it, cut at its first NUL byte, with bytes that are not UTF-8
# replaced by U+FFFD; then it must have two or three '/'-separated parts,
# not all empty, and at most 1024 bytes.  Samba's own ldap_spn test
# ("dodgy spns", verified against Windows) needs such values accepted.
#
# Environment (env ad_dc): SERVER_IP, REALM, DC_USERNAME, DC_PASSWORD,
# SMB_CONF_PATH; run inside SELFTEST_NETNS.
#
# Output: subunit v1; exit status 1 if any case failed.
#
# Copyright (C) samba-asa authors 2026
#
# This program is free software; you can redistribute it and/or modify
# it under the terms of the GNU General Public License as published by
# the Free Software Foundation; either version 3 of the License, or
# (at your option) any later version.

import os
import sys
import traceback
import uuid

import ldb
from samba.dsdb import UF_WORKSTATION_TRUST_ACCOUNT

from asa_test_util import env, connect

PREFIX = ""	# the runner names tests SUITE.TEST
MAX = 1024		# the module's limit, bytes


samdb = connect()
BASE = str(samdb.get_default_basedn())
RUN = uuid.uuid4().hex[:6]
DNS = env('REALM').lower()
created = []
FAILED = 0


def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def computer(short, spns=None):
    n = "ubi%s%s" % (RUN, short)
    dn = "CN=%s,CN=Computers,%s" % (n, BASE)
    msg = {"dn": dn, "objectClass": "computer",
           "sAMAccountName": n + "$",
           "userAccountControl": str(UF_WORKSTATION_TRUST_ACCOUNT)}
    if spns:
        msg["servicePrincipalName"] = spns
    samdb.add(msg)
    created.append(dn)
    return dn


def stored(dn, attr="servicePrincipalName"):
    res = samdb.search(base=dn, scope=ldb.SCOPE_BASE, attrs=[attr])
    if len(res) != 1 or attr not in res[0]:
        return []
    return [bytes(v) for v in res[0][attr]]


def exists(dn):
    try:
        return len(samdb.search(base=dn, scope=ldb.SCOPE_BASE,
                                attrs=["dn"])) == 1
    except ldb.LdbError as e:
        if e.args[0] == ldb.ERR_NO_SUCH_OBJECT:
            return False
        raise


def add_value(dn, value, attr="servicePrincipalName"):
    m = ldb.Message(ldb.Dn(samdb, dn))
    m[attr] = ldb.MessageElement([value], ldb.FLAG_MOD_ADD, attr)
    samdb.modify(m)


def serving():
    """A fresh connection must get the rootDSE: the DC did not die or
    hang on what it was sent."""
    db = connect()
    res = db.search(base="", scope=ldb.SCOPE_BASE,
                    attrs=["dsServiceName"])
    check(len(res) == 1 and "dsServiceName" in res[0],
          "the rootDSE does not answer after the write")


def refused(what, fn, code=ldb.ERR_CONSTRAINT_VIOLATION, text=(),
            not_text=("000021C7", "000021C8")):
    """fn must fail with code; the diagnostic must contain every string
    in text and none in not_text (a malformed name is no duplicate)."""
    try:
        fn()
    except ldb.LdbError as e:
        msg = e.args[1]
        check(e.args[0] == code,
              "%s: error %d (%s), expected %d" % (what, e.args[0], msg,
                                                  code))
        for t in text:
            check(t in msg, "%s: diagnostic %r lacks %r" % (what, msg, t))
        for t in not_text:
            check(t not in msg,
                  "%s: diagnostic %r says %r, which is misleading" %
                  (what, msg, t))
        return msg
    raise AssertionError("%s: accepted" % what)


def malformed(name, value, text):
    dn = computer(name)
    before = stored(dn)
    refused("modify adding %r" % value[:80],
            lambda: add_value(dn, value), text=text)
    check(stored(dn) == before, "something was written: %r" % stored(dn))
    serving()
    # the same value in an add of a new object: no object is left
    n = "ubi%s%sa" % (RUN, name)
    adn = "CN=%s,CN=Computers,%s" % (n, BASE)
    refused("add of an object with %r" % value[:80],
            lambda: samdb.add({"dn": adn, "objectClass": "computer",
                               "sAMAccountName": n + "$",
                               "servicePrincipalName": [value]}),
            text=text)
    if exists(adn):
        created.append(adn)
        raise AssertionError("the refused add left %s" % adn)
    serving()


# ------------------------------------------------------------------ cases

PARTS_FEW = "component"	# samldb: "spn[x] invalid with 1 components"
PARTS = "component"


def test_zero_components():
    malformed("z", "nohost-%s" % RUN, [PARTS_FEW])


def test_four_components():
    malformed("f", "http/a-%s/b/c" % RUN, [PARTS])


def test_many_components():
    malformed("m", "/".join(["x%s" % RUN] * 40), [PARTS])


def test_only_slashes():
    # two parts, both empty: Windows refuses "/" and "//"
    malformed("s", "/", ["non-empty part"])


def test_empty_value():
    # python ldb refuses an empty value itself (LDAP error 21 from its own
    # sanity check), before anything is sent; uniqueness_tools.sh sends one
    # with ldapmodify and gets the DC's refusal
    dn = computer("e")
    try:
        add_value(dn, "")
    except ldb.LdbError as e:
        check(e.args[0] != ldb.SUCCESS, "no error code")
    else:
        raise AssertionError("an empty servicePrincipalName was accepted")
    check(stored(dn) == [], "something was written: %r" % stored(dn))
    serving()


def test_64k_spn():
    value = "http/" + "a" * (65536 - 5 - len(RUN)) + RUN
    check(len(value) == 65536, "test data")
    malformed("l", value, ["longer than %d bytes" % MAX])


def test_1025_byte_spn():
    value = "http/" + "b" * (MAX + 1 - 5 - len(RUN)) + RUN
    check(len(value) == MAX + 1, "test data")
    malformed("k", value, ["longer than %d bytes" % MAX])


def test_64k_upn():
    # the schema's rangeUpper (1024) refuses it before the module looks
    dn = computer("u")
    value = "u" * (65536 - len(DNS) - 1 - len(RUN)) + RUN + "@" + DNS
    refused("64 KiB userPrincipalName",
            lambda: add_value(dn, value, "userPrincipalName"),
            code=ldb.ERR_INVALID_ATTRIBUTE_SYNTAX,
            text=["userPrincipalName", "invalid value"])
    check(stored(dn, "userPrincipalName") == [], "the UPN was written")
    serving()


def test_64k_spn_among_good_values():
    # one bad value refuses the whole modify
    dn = computer("g")
    good = "http/good-%s.%s" % (RUN, DNS)
    m = ldb.Message(ldb.Dn(samdb, dn))
    m["servicePrincipalName"] = ldb.MessageElement(
        [good, "http/" + "c" * 65531], ldb.FLAG_MOD_ADD,
        "servicePrincipalName")
    refused("modify with a good and a 64 KiB value",
            lambda: samdb.modify(m), text=["longer than"])
    check(stored(dn) == [], "part of the refused modify was written: %r" %
          [v[:40] for v in stored(dn)])
    serving()


def test_invalid_utf8_stored_with_replacement():
    dn = computer("i")
    raw = b"http/bad\xff\xfe-" + RUN.encode() + b"." + DNS.encode()
    add_value(dn, raw)
    want = raw.decode("utf-8", "replace").encode("utf-8")
    check(stored(dn) == [want],
          "stored %r, expected %r (non-UTF-8 bytes as U+FFFD)" %
          (stored(dn), want))
    serving()
    # the same bytes on another account are the same name: refused
    other = computer("j")
    refused("the same non-UTF-8 SPN on another account",
            lambda: add_value(other, raw), text=["000021C7"],
            not_text=())
    check(stored(other) == [], "the duplicate was written")
    serving()


def test_truncated_utf8_sequence():
    # a lead byte with its continuation missing, at the end of the value
    dn = computer("t")
    raw = b"http/cut-" + RUN.encode() + b"\xe2\x82"
    add_value(dn, raw)
    want = raw.decode("utf-8", "replace").encode("utf-8")
    check(stored(dn) == [want], "stored %r, expected %r" %
          (stored(dn), want))
    serving()


def test_invalid_utf8_growing_past_the_limit():
    # 400 bytes sent, 1205 stored (each byte becomes U+FFFD, 3 bytes): the
    # limit applies to what would be stored
    malformed("r", b"http/" + b"\xff" * 400, ["longer than %d bytes" % MAX])


def test_64k_invalid_utf8():
    malformed("v", b"http/" + b"\xfe" * 65531, ["longer than %d bytes" % MAX])


def test_nul_then_64k():
    # cut at the NUL: what is stored is short and valid
    dn = computer("w")
    head = ("http/w-%s.%s" % (RUN, DNS)).encode()
    add_value(dn, head + b"\x00" + b"j" * 65536)
    check(stored(dn) == [head], "stored %r, expected %r" %
          ([v[:40] for v in stored(dn)], head))
    serving()


def test_embedded_nul_cut():
    dn = computer("n")
    head = ("http/nul-%s.%s" % (RUN, DNS)).encode()
    add_value(dn, head + b"\x00junk/more/parts/than/allowed")
    check(stored(dn) == [head],
          "stored %r, expected %r (cut at the NUL)" % (stored(dn), head))
    serving()
    # what follows the NUL is gone: the name is the part before it
    other = computer("o")
    refused("the part before the NUL, upper-cased, on another account",
            lambda: add_value(other, head.upper()), text=["000021C7"],
            not_text=())
    check(stored(other) == [], "the duplicate was written")


def test_embedded_nul_leaving_one_component():
    # "nohost\0/x": what is stored would be "nohost", which is malformed
    malformed("p", b"nohost-" + RUN.encode() + b"\x00/x", [PARTS_FEW])


def test_nul_first():
    # cut at the NUL, nothing is left: an empty name
    dn = computer("q")
    try:
        add_value(dn, b"\x00http/x")
    except ldb.LdbError as e:
        check(e.args[0] != ldb.SUCCESS, "no error code")
    else:
        raise AssertionError("a value starting with NUL was accepted: "
                             "stored %r" % stored(dn))
    check(stored(dn) == [], "something was written: %r" % stored(dn))
    serving()


CASES = [
    test_zero_components,
    test_four_components,
    test_many_components,
    test_only_slashes,
    test_empty_value,
    test_64k_spn,
    test_1025_byte_spn,
    test_64k_upn,
    test_64k_spn_among_good_values,
    test_invalid_utf8_stored_with_replacement,
    test_truncated_utf8_sequence,
    test_invalid_utf8_growing_past_the_limit,
    test_64k_invalid_utf8,
    test_nul_then_64k,
    test_embedded_nul_cut,
    test_embedded_nul_leaving_one_component,
    test_nul_first,
]


def main():
    global FAILED
    for case in CASES:
        name = PREFIX + case.__name__[len("test_"):]
        out("test: " + name)
        try:
            case()
        except Exception:
            FAILED += 1
            text = traceback.format_exc().replace("\n]", "\n ]")
            out("failure: %s [\n%s]" % (name, text))
        else:
            out("success: " + name)
        for dn in reversed(created):
            try:
                samdb.delete(dn)
            except ldb.LdbError:
                pass
        del created[:]
    return 1 if FAILED else 0


if __name__ == '__main__':
    sys.exit(main())
