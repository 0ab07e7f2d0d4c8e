#!/usr/bin/python3
# Selftest suite for the unique_principal_names LDB module: one case per
# rule, against a running DC with the module in sam.ldb's @MODULES.
#
# Environment (exported by the selftest runner): SERVER_IP, REALM,
# DC_USERNAME, DC_PASSWORD, SMB_CONF_PATH, PREFIX_ABS.  Optional:
# ASA_UPN_MODE = enforce (default) | audit | off, the value of
# "asa:unique principal names" in the DC's smb.conf: in audit and off
# modes the module's refusals become acceptances (samldb's own
# domain-NC checks stay); ASA_UPN_LOG = the DC's log file, to check that
# audit mode logs both DNs.  SAM_LDB_PATH (default
# $PREFIX_ABS/private/sam.ldb) enables the replicated-update case.
#
# Output: subunit v1 ("test: NAME", "success: NAME", "failure: NAME [ ...
# ]", "skip: NAME [ ... ]"); exit status 1 if any case failed.
#
# Copyright (C) samba-asa authors 2026
#
# This program is free software; you can redistribute it and/or modify
# it under the terms of the GNU General Public License as published by
# the Free Software Foundation; either version 3 of the License, or
# (at your option) any later version.

import ctypes
import os
import struct
import sys
import time
import uuid
import traceback
import subprocess

import ldb
from samba.samdb import SamDB
from samba.param import LoadParm
from samba.credentials import Credentials, DONT_USE_KERBEROS
from samba.auth import system_session
from samba.dsdb import UF_WORKSTATION_TRUST_ACCOUNT, UF_NORMAL_ACCOUNT

SPN_ERROR = ("000021C7: AtrErr: DSID-03200BBA, #1:\n"
             "\t0: 000021C7: DSID-03200BBA, problem 1005 "
             "(CONSTRAINT_ATT_TYPE), data 0, Att 90303 "
             "(servicePrincipalName)\n")
UPN_ERROR = ("000021C8: AtrErr: DSID-03200BBA, #1:\n"
             "\t0: 000021C8: DSID-03200BBA, problem 1005 "
             "(CONSTRAINT_ATT_TYPE), data 0, Att 90290 "
             "(userPrincipalName)\n")
REPLICATED_UPDATE_OID = "1.3.6.1.4.1.7165.4.3.3"
HEURISTIC_POS = 20   # the 21st character of dSHeuristics


class Skip(Exception):
    pass


def env(name, default=None):
    v = os.environ.get(name, default)
    if v is None:
        sys.stderr.write("unique_principal_names.py: %s is not set\n" %
                         name)
        sys.exit(2)
    return v


SERVER = env('SERVER_IP')
REALM = env('REALM').upper()
USERNAME = env('DC_USERNAME')
PASSWORD = env('DC_PASSWORD')
SMB_CONF = env('SMB_CONF_PATH')
PREFIX = env('PREFIX_ABS', '')
MODE = os.environ.get('ASA_UPN_MODE', 'enforce')
LOG_FILE = os.environ.get('ASA_UPN_LOG')
SAM_LDB = os.environ.get('SAM_LDB_PATH',
                         os.path.join(PREFIX, 'private', 'sam.ldb')
                         if PREFIX else None)
ENFORCE = MODE == 'enforce'

lp = LoadParm()
lp.load(SMB_CONF)
creds = Credentials()
creds.guess(lp)
creds.set_username(USERNAME)
creds.set_password(PASSWORD)
creds.set_realm(REALM)
creds.set_kerberos_state(DONT_USE_KERBEROS)

samdb = SamDB(url="ldap://%s" % SERVER, lp=lp, credentials=creds)
BASE = str(samdb.get_default_basedn())
CONFIG = str(samdb.get_config_basedn())
DS_DN = "CN=Directory Service,CN=Windows NT,CN=Services," + CONFIG
RUN = uuid.uuid4().hex[:8]
DNS_DOMAIN = REALM.lower()

created = []


def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


# ---------------------------------------------------------------- helpers

def name(short):
    return "upn%s%s" % (short, RUN)


def add_computer(short, spns=None, dnshostname=None, upn=None):
    n = name(short)
    dn = "CN=%s,CN=Computers,%s" % (n, BASE)
    msg = {"dn": dn,
           "objectClass": "computer",
           "sAMAccountName": n + "$",
           "userAccountControl": str(UF_WORKSTATION_TRUST_ACCOUNT)}
    if spns:
        msg["servicePrincipalName"] = spns
    if dnshostname:
        msg["dNSHostName"] = dnshostname
    if upn:
        msg["userPrincipalName"] = upn
    samdb.add(msg)
    created.append(dn)
    return dn


def add_user(short, upn=None, spns=None):
    n = name(short)
    dn = "CN=%s,CN=Users,%s" % (n, BASE)
    msg = {"dn": dn, "objectClass": "user", "sAMAccountName": n}
    if upn:
        msg["userPrincipalName"] = upn
    if spns:
        msg["servicePrincipalName"] = spns
    samdb.add(msg)
    created.append(dn)
    return dn


def add_config_user(short, spns=None, upn=None):
    """A user object in the configuration NC, where stock samldb does not
    look."""
    n = name(short)
    dn = "CN=%s,CN=Services,%s" % (n, CONFIG)
    msg = {"dn": dn, "objectClass": "user", "sAMAccountName": n}
    if spns:
        msg["servicePrincipalName"] = spns
    if upn:
        msg["userPrincipalName"] = upn
    samdb.add(msg)
    created.append(dn)
    return dn


def modify(dn, attr, values, flag=ldb.FLAG_MOD_ADD, controls=None,
           db=None):
    db = db or samdb
    m = ldb.Message(ldb.Dn(db, dn))
    m[attr] = ldb.MessageElement(values, flag, attr)
    db.modify(m, controls=controls or [])


def values(dn, attr, controls=None):
    res = samdb.search(base=dn, scope=ldb.SCOPE_BASE, attrs=[attr],
                       controls=controls or [])
    if len(res) != 1 or attr not in res[0]:
        return []
    return [str(v) for v in res[0][attr]]


def expect_refused(what, fn, text, code=ldb.ERR_CONSTRAINT_VIOLATION):
    """In enforce mode the write must fail with code and text; in audit
    and off modes it must succeed."""
    try:
        fn()
    except ldb.LdbError as e:
        if not ENFORCE:
            raise AssertionError("%s: refused in %s mode: %s" %
                                 (what, MODE, e.args[1]))
        if e.args[0] != code:
            raise AssertionError("%s: error %d, expected %d: %s" %
                                 (what, e.args[0], code, e.args[1]))
        if text is not None and text not in e.args[1]:
            raise AssertionError("%s: diagnostic %r lacks %r" %
                                 (what, e.args[1], text))
        return False
    if ENFORCE:
        raise AssertionError("%s: accepted, expected refusal" % what)
    return True


def expect_ok(what, fn):
    try:
        fn()
    except ldb.LdbError as e:
        raise AssertionError("%s: refused: %s" % (what, e.args[1]))


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def get_heuristics():
    res = samdb.search(base=DS_DN, scope=ldb.SCOPE_BASE,
                       attrs=["dSHeuristics"])
    if "dSHeuristics" in res[0]:
        return str(res[0]["dSHeuristics"][0])
    return None


def set_heuristics(value):
    m = ldb.Message(ldb.Dn(samdb, DS_DN))
    if value is None:
        m["dSHeuristics"] = ldb.MessageElement([], ldb.FLAG_MOD_REPLACE,
                                               "dSHeuristics")
    else:
        m["dSHeuristics"] = ldb.MessageElement(value, ldb.FLAG_MOD_REPLACE,
                                               "dSHeuristics")
    samdb.modify(m)


def heuristics_with(c, old):
    # characters 10 and 20 must be '1' and '2' once the value is that
    # long (Samba validates them)
    h = list((old or "").ljust(HEURISTIC_POS + 1, '0'))
    h[9] = '1'
    h[19] = '2'
    h[HEURISTIC_POS] = c
    return "".join(h)


# ------------------------------------------------------------------ cases

def test_spn_config_nc_then_domain():
    spn = "http/cfg1-%s.%s" % (RUN, DNS_DOMAIN)
    add_config_user("cu1", spns=[spn])
    expect_refused("computer with an SPN held in the config NC",
                   lambda: add_computer("c1", spns=[spn.upper()]),
                   SPN_ERROR)


def test_spn_domain_then_config_nc():
    spn = "http/cfg2-%s.%s" % (RUN, DNS_DOMAIN)
    add_computer("c2", spns=[spn])
    cu = add_config_user("cu2")
    # samldb finds this direction itself (it searches the domain NC), so
    # it is refused in every mode; the text is Windows' unless "off"
    try:
        modify(cu, "servicePrincipalName", spn)
    except ldb.LdbError as e:
        check(e.args[0] == ldb.ERR_CONSTRAINT_VIOLATION and
              (SPN_ERROR in e.args[1] or MODE == 'off'),
              "refused with %r" % (e.args[1],))
        check(values(cu, "servicePrincipalName") == [],
              "the refused SPN was written")
        return
    raise AssertionError("config-NC user took a domain computer's SPN")


def test_spn_unicode_equivalent():
    a = add_computer("c3", spns=["cifs/uni-%s.%s" % (RUN, DNS_DOMAIN)])
    b = add_computer("c4")
    # 'ī' is 'i', full-width 'ｆ' is 'f': Windows compares them equal
    expect_refused("Unicode-equivalent SPN",
                   lambda: modify(b, "servicePrincipalName",
                                  "c\u012b\uff46s/UNI-%s.%s" %
                                  (RUN, DNS_DOMAIN)),
                   SPN_ERROR)
    # a different letter is a different name
    expect_ok("SPN differing in a real letter",
              lambda: modify(b, "servicePrincipalName",
                             "cifs/uno-%s.%s" % (RUN, DNS_DOMAIN)))
    check(a is not None, "unreachable")


def test_spn_exact_duplicate_domain_text():
    spn = "http/dup-%s.%s" % (RUN, DNS_DOMAIN)
    add_computer("c5", spns=[spn])
    b = add_computer("c6")
    # samldb refuses this one first; the client still sees 000021C7
    try:
        modify(b, "servicePrincipalName", spn)
    except ldb.LdbError as e:
        check(e.args[0] == ldb.ERR_CONSTRAINT_VIOLATION and
              (SPN_ERROR in e.args[1] or MODE == 'off'),
              "domain duplicate refused with %r" % (e.args[1],))
        return
    raise AssertionError("domain-NC duplicate SPN accepted")


def test_upn_duplicate_domain():
    upn = "u1-%s@%s" % (RUN, DNS_DOMAIN)
    add_user("u1", upn=upn)
    try:
        add_user("u2", upn=upn.upper())
    except ldb.LdbError as e:
        check(e.args[0] == ldb.ERR_CONSTRAINT_VIOLATION and
              (UPN_ERROR in e.args[1] or MODE == 'off'),
              "domain duplicate UPN refused with %r" % (e.args[1],))
        return
    raise AssertionError("duplicate UPN accepted")


def test_upn_duplicate_config_nc():
    upn = "u3-%s@%s" % (RUN, DNS_DOMAIN)
    add_config_user("cu3", upn=upn)
    expect_refused("domain user taking a config-NC user's UPN",
                   lambda: add_user("u3", upn=upn), UPN_ERROR)


def test_upn_unicode_equivalent():
    add_user("u4", upn="j\u00f6rg-%s@%s" % (RUN, DNS_DOMAIN))
    u5 = add_user("u5")
    expect_refused("Unicode-equivalent UPN",
                   lambda: modify(u5, "userPrincipalName",
                                  "JORG-%s@%s" % (RUN, DNS_DOMAIN)),
                   UPN_ERROR)
    # the wide '＠' is no '@' (Samba's ldap_upn_sam_account agrees)
    expect_ok("UPN with a wide at",
              lambda: modify(u5, "userPrincipalName",
                             "jorg-%s\uff20%s" % (RUN, DNS_DOMAIN),
                             ldb.FLAG_MOD_REPLACE))


def test_undelete_spn_now_taken():
    spn = "http/undel-%s.%s" % (RUN, DNS_DOMAIN)
    a = add_computer("c7", spns=[spn])
    guid = samdb.search(base=a, scope=ldb.SCOPE_BASE,
                        attrs=["objectGUID"])[0]["objectGUID"][0]
    guid_str = str(uuid.UUID(bytes_le=bytes(guid)))
    samdb.delete(a)
    created.remove(a)
    add_config_user("cu7", spns=[spn])
    deleted = samdb.search(base="<GUID=%s>" % guid_str,
                           scope=ldb.SCOPE_BASE, attrs=["dn"],
                           controls=["show_deleted:1"])[0].dn

    def undelete():
        m = ldb.Message(deleted)
        m["isDeleted"] = ldb.MessageElement([], ldb.FLAG_MOD_DELETE,
                                            "isDeleted")
        m["distinguishedName"] = ldb.MessageElement(
            a, ldb.FLAG_MOD_REPLACE, "distinguishedName")
        m["servicePrincipalName"] = ldb.MessageElement(
            spn, ldb.FLAG_MOD_ADD, "servicePrincipalName")
        samdb.modify(m, controls=["show_deleted:1"])
        created.append(a)
    expect_refused("undelete bringing back a taken SPN", undelete,
                   SPN_ERROR)
    if ENFORCE:
        res = samdb.search(base="<GUID=%s>" % guid_str,
                           scope=ldb.SCOPE_BASE, attrs=["isDeleted"],
                           controls=["show_deleted:1"])
        check("isDeleted" in res[0], "the refused undelete happened")


def test_dnshostname_rewrite_clash():
    old = "dh-%s.%s" % (RUN, DNS_DOMAIN)
    new = "dh2-%s.%s" % (RUN, DNS_DOMAIN)
    a = add_computer("c8", spns=["host/" + old], dnshostname=old)
    add_config_user("cu8", spns=["host/" + new])
    # samldb rewrites host/<old> to host/<new>: that clashes
    expect_refused("dNSHostName change rewriting host/ onto a taken SPN",
                   lambda: modify(a, "dNSHostName", new,
                                  ldb.FLAG_MOD_REPLACE),
                   SPN_ERROR)
    if ENFORCE:
        check(values(a, "dNSHostName") == [old],
              "dNSHostName changed despite the refusal")


def test_samaccountname_rewrite_clash():
    old = name("c9")
    new = name("d9")
    a = add_computer("c9", spns=["host/" + old])
    add_config_user("cu9", spns=["host/" + new])
    expect_refused("sAMAccountName change rewriting host/ onto a taken "
                   "SPN",
                   lambda: modify(a, "sAMAccountName", new + "$",
                                  ldb.FLAG_MOD_REPLACE),
                   SPN_ERROR)


def test_alias_host_after_cifs_refused():
    inst = "al1-%s.%s" % (RUN, DNS_DOMAIN)
    add_config_user("cu10", spns=["cifs/" + inst])
    b = add_computer("c10")
    expect_refused("host/X while cifs/X is held elsewhere",
                   lambda: modify(b, "servicePrincipalName",
                                  "HOST/" + inst),
                   SPN_ERROR)


def test_alias_cifs_after_host_allowed():
    inst = "al2-%s.%s" % (RUN, DNS_DOMAIN)
    add_config_user("cu11", spns=["host/" + inst])
    b = add_computer("c11")
    # Windows lets an administrator add cifs/X when host/X is elsewhere
    expect_ok("cifs/X while host/X is held elsewhere",
              lambda: modify(b, "servicePrincipalName", "cifs/" + inst))


def _heuristics_case(c, spn_checked, upn_checked):
    old = get_heuristics()
    set_heuristics(heuristics_with(c, old))
    try:
        spn = "http/heur%s-%s.%s" % (c, RUN, DNS_DOMAIN)
        upn = "heur%s-%s@%s" % (c, RUN, DNS_DOMAIN)
        add_config_user("ch" + c, spns=[spn], upn=upn)
        comp = add_computer("h" + c)
        user = add_user("hu" + c)
        if spn_checked:
            expect_refused("SPN with dSHeuristics[20]=%s" % c,
                           lambda: modify(comp, "servicePrincipalName",
                                          spn), SPN_ERROR)
        else:
            expect_ok("SPN with dSHeuristics[20]=%s" % c,
                      lambda: modify(comp, "servicePrincipalName", spn))
        if upn_checked:
            expect_refused("UPN with dSHeuristics[20]=%s" % c,
                           lambda: modify(user, "userPrincipalName",
                                          upn), UPN_ERROR)
        else:
            expect_ok("UPN with dSHeuristics[20]=%s" % c,
                      lambda: modify(user, "userPrincipalName", upn))
    finally:
        set_heuristics(old)


def test_dsheuristics_0():
    _heuristics_case('0', True, True)


def test_dsheuristics_1():
    _heuristics_case('1', True, False)


def test_dsheuristics_2():
    _heuristics_case('2', False, True)


def test_dsheuristics_3():
    _heuristics_case('3', False, False)


def test_readd_own_value():
    spn = "http/own-%s.%s" % (RUN, DNS_DOMAIN)
    upn = "own-%s@%s" % (RUN, DNS_DOMAIN)
    a = add_computer("c12", spns=[spn], upn=upn)
    expect_ok("replace with its own SPN",
              lambda: modify(a, "servicePrincipalName", spn,
                             ldb.FLAG_MOD_REPLACE))
    expect_ok("replace with a case variant of its own SPN",
              lambda: modify(a, "servicePrincipalName", spn.upper(),
                             ldb.FLAG_MOD_REPLACE))
    expect_ok("replace with its own UPN",
              lambda: modify(a, "userPrincipalName", upn,
                             ldb.FLAG_MOD_REPLACE))


def test_ten_thousand_values_one_collision():
    taken = "http/big-%s-4711.%s" % (RUN, DNS_DOMAIN)
    add_config_user("cu13", spns=[taken])
    a = add_computer("c13")
    spns = ["http/big-%s-%d.%s" % (RUN, i, DNS_DOMAIN)
            for i in range(10000)]
    check(taken in spns, "test data")
    t = time.time()
    expect_refused("10,000 SPNs, one taken",
                   lambda: modify(a, "servicePrincipalName", spns),
                   SPN_ERROR)
    if ENFORCE:
        check(values(a, "servicePrincipalName") == [],
              "part of the refused modify was written")
    sys.stderr.write("10,000-value modify took %.2fs\n" % (time.time() - t))


def test_too_long_spn():
    a = add_computer("c14")
    long_spn = "http/" + "a" * 2000
    expect_refused("2000-byte SPN",
                   lambda: modify(a, "servicePrincipalName", long_spn),
                   "longer than 1024 bytes")
    ok_spn = "http/" + "b" * (1024 - 5 - len(RUN)) + RUN
    check(len(ok_spn) == 1024, "test data")
    expect_ok("1024-byte SPN",
              lambda: modify(a, "servicePrincipalName", ok_spn))


def test_malformed_spns_refused():
    a = add_computer("c15")
    for bad in ("one-part-%s" % RUN, "a/b/c/d%s" % RUN, "//"):
        try:
            modify(a, "servicePrincipalName", bad)
        except ldb.LdbError as e:
            check(e.args[0] == ldb.ERR_CONSTRAINT_VIOLATION,
                  "%r refused with %r" % (bad, e.args[1]))
            continue
        if ENFORCE or bad != "//":
            raise AssertionError("malformed SPN %r accepted" % bad)


def test_samba_tool_spn_add():
    spn = "http/st-%s.%s" % (RUN, DNS_DOMAIN)
    add_config_user("cu16", spns=[spn])
    add_user("u16")
    p = subprocess.run(["samba-tool", "spn", "add", spn, name("u16"),
                        "-H", "ldap://%s" % SERVER,
                        "-U%s%%%s" % (USERNAME, PASSWORD),
                        "-s", SMB_CONF],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True)
    if ENFORCE:
        check(p.returncode != 0 and "000021C7" in p.stdout,
              "samba-tool spn add: rc %d: %s" % (p.returncode, p.stdout))
    else:
        check(p.returncode == 0,
              "samba-tool spn add: rc %d: %s" % (p.returncode, p.stdout))


def test_audit_logs_both_dns():
    if MODE != 'audit':
        raise Skip("only in audit mode")
    if not LOG_FILE:
        raise Skip("ASA_UPN_LOG not set")
    spn = "http/aud-%s.%s" % (RUN, DNS_DOMAIN)
    holder = add_config_user("cu17", spns=[spn])
    comp = add_computer("c17", spns=[spn])
    time.sleep(0.5)
    with open(LOG_FILE, errors='replace') as f:
        log = f.read()
    check(spn in log and comp in log and holder in log,
          "audit log lacks the SPN or one of the DNs")


def test_replicated_update_not_refused():
    if SAM_LDB is None or not os.path.exists(SAM_LDB):
        raise Skip("no local sam.ldb (SAM_LDB_PATH / PREFIX_ABS)")
    spn = "http/repl-%s.%s" % (RUN, DNS_DOMAIN)
    add_config_user("cu18", spns=[spn])
    a = add_computer("c18")
    local = SamDB(url=SAM_LDB, lp=lp, session_info=system_session())
    try:
        modify(a, "servicePrincipalName", spn, db=local,
               controls=["local_oid:%s:0" % REPLICATED_UPDATE_OID])
    except ldb.LdbError as e:
        raise AssertionError("replicated update refused (%d): %s" %
                             tuple(e.args))
    check(values(a, "servicePrincipalName") == [spn],
          "the replicated update's SPN is not stored")


def test_long_key_spn_keeps_the_index():
    """An SPN whose comparison key is longer than an LMDB key can be (511
    bytes: U+FDFA is one character of 3 bytes that compares as its 18
    letters; test/test_upn_index.c checks this value's key length) is
    accepted or refused cleanly, is itself unique, and leaves the index
    working: a Unicode-equivalent of another SPN is still refused."""
    long_spn = "\ufdfa" * 22 + "/host-" + RUN
    check(len(long_spn.encode()) == 80, "test data")
    try:
        add_computer("L1", spns=[long_spn])
        stored_long = True
    except ldb.LdbError as e:
        check(e.args[0] == ldb.ERR_CONSTRAINT_VIOLATION,
              "the long-key SPN refused with %d: %s" % tuple(e.args))
        stored_long = False
    if stored_long:
        # another such name, held in the configuration NC (where samldb
        # does not look): its equivalent is found through its long key
        add_config_user("cuL2", spns=["\ufdfa" * 22 + "/host2-" + RUN])
        b = add_computer("L2")
        expect_refused("the long-key SPN's equivalent on a second object",
                       lambda: modify(b, "servicePrincipalName",
                                      "\ufdfa" * 22 + "/HOST2-" + RUN),
                       SPN_ERROR)
    add_computer("L3", spns=["http/web1-%s.%s" % (RUN, DNS_DOMAIN)])
    c = add_computer("L4")
    expect_refused("http/w\u00e9b1 beside http/web1 after a long key",
                   lambda: modify(c, "servicePrincipalName",
                                  "http/w\u00e9b1-%s.%s" %
                                  (RUN, DNS_DOMAIN)),
                   SPN_ERROR)
    if ENFORCE:
        check(values(c, "servicePrincipalName") == [],
              "the refused SPN was written")


def _local_samdb():
    if SAM_LDB is None or not os.path.exists(SAM_LDB):
        raise Skip("no local sam.ldb (SAM_LDB_PATH / PREFIX_ABS)")
    return SamDB(url=SAM_LDB, lp=lp, session_info=system_session())


def test_refused_write_in_local_transaction():
    """A tool holding its own transaction on sam.ldb: a refused modify
    leaves nothing behind even when the tool commits afterwards (read
    back over LDAP, a fresh connection)."""
    local = _local_samdb()
    spn = "http/ltx-%s.%s" % (RUN, DNS_DOMAIN)
    add_config_user("cu19", spns=[spn])
    a = add_computer("c19")
    desc = "ltx-%s" % RUN
    local.transaction_start()
    try:
        modify(a, "description", desc, ldb.FLAG_MOD_REPLACE, db=local)
        accepted = expect_refused(
            "a taken SPN inside a local transaction",
            lambda: modify(a, "servicePrincipalName", spn.upper(),
                           db=local),
            SPN_ERROR)
    except BaseException:
        local.transaction_cancel()
        raise
    try:
        local.transaction_commit()
        committed = True
    except ldb.LdbError as e:
        committed = False
        check(not accepted, "the commit failed: %s" % (e.args[1],))
        sys.stderr.write("commit after a refusal: %s\n" % (e.args[1],))
    fresh = SamDB(url="ldap://%s" % SERVER, lp=lp, credentials=creds)
    res = fresh.search(base=a, scope=ldb.SCOPE_BASE,
                       attrs=["servicePrincipalName", "description"])
    got = [str(v) for v in res[0].get("servicePrincipalName", [])]
    if accepted:
        check(got == [spn.upper()] and committed,
              "accepted in %s mode but not stored: %r" % (MODE, got))
        return
    check(got == [], "the refused SPN survived the commit: %r" % got)
    if committed:
        check([str(v) for v in res[0].get("description", [])] == [desc],
              "the commit succeeded but lost the transaction's other "
              "write")


def test_accepted_writes_in_local_transaction():
    """Writes the module accepts inside a tool's transaction commit as
    usual, also after another write of the transaction was refused and
    the transaction cancelled and started again."""
    local = _local_samdb()
    a = add_computer("c20")
    spn = "http/ltxok-%s.%s" % (RUN, DNS_DOMAIN)
    local.transaction_start()
    try:
        modify(a, "servicePrincipalName", spn, db=local)
        modify(a, "servicePrincipalName", "cifs/ltxok-%s.%s" %
               (RUN, DNS_DOMAIN), db=local)
    except BaseException:
        local.transaction_cancel()
        raise
    local.transaction_commit()
    check(sorted(values(a, "servicePrincipalName")) ==
          sorted([spn, "cifs/ltxok-%s.%s" % (RUN, DNS_DOMAIN)]),
          "the committed SPNs are not there: %r" %
          values(a, "servicePrincipalName"))
    # and the index learnt them: an equivalent on another object is refused
    b = add_computer("c21")
    expect_refused("an equivalent of an SPN committed locally",
                   lambda: modify(b, "servicePrincipalName",
                                  "HTTP/LTX\u00d6K-%s.%s" %
                                  (RUN, DNS_DOMAIN)),
                   SPN_ERROR)


class MDBVal(ctypes.Structure):
    _fields_ = [("mv_size", ctypes.c_size_t), ("mv_data", ctypes.c_void_p)]


def index_version(path, set_to=None):
    """The key index's format version (record "V"), read through liblmdb;
    with set_to, written first."""
    lib = ctypes.CDLL("liblmdb.so.0")
    lib.mdb_strerror.restype = ctypes.c_char_p
    env = ctypes.c_void_p()
    txn = ctypes.c_void_p()
    dbi = ctypes.c_uint()

    def ok(rc, what):
        if rc != 0:
            raise AssertionError("%s: %s" % (what, lib.mdb_strerror(rc)))

    ok(lib.mdb_env_create(ctypes.byref(env)), "mdb_env_create")
    try:
        # the module's map size (UPN_INDEX_MAP_SIZE)
        ok(lib.mdb_env_set_mapsize(env, ctypes.c_size_t(1 << 34)),
           "mdb_env_set_mapsize")
        ok(lib.mdb_env_open(env, path.encode(), 0x4000, 0o600),
           "mdb_env_open")	# MDB_NOSUBDIR
        ok(lib.mdb_txn_begin(env, None, 0, ctypes.byref(txn)),
           "mdb_txn_begin")
        ok(lib.mdb_dbi_open(txn, None, 0, ctypes.byref(dbi)),
           "mdb_dbi_open")
        name = ctypes.create_string_buffer(b"V", 1)
        key = MDBVal(1, ctypes.cast(name, ctypes.c_void_p))
        if set_to is not None:
            buf = ctypes.create_string_buffer(struct.pack("<Q", set_to), 8)
            val = MDBVal(8, ctypes.cast(buf, ctypes.c_void_p))
            ok(lib.mdb_put(txn, dbi, ctypes.byref(key), ctypes.byref(val),
                           0), "mdb_put")
        val = MDBVal()
        ok(lib.mdb_get(txn, dbi, ctypes.byref(key), ctypes.byref(val)),
           "mdb_get")
        version = struct.unpack("<Q", ctypes.string_at(val.mv_data, 8))[0]
        ok(lib.mdb_txn_commit(txn), "mdb_txn_commit")
        return version
    finally:
        lib.mdb_env_close(env)


LOCAL_WRITE = """
import sys, ldb, samba
from samba.samdb import SamDB
from samba.param import LoadParm
from samba.auth import system_session
lp = LoadParm()
lp.load(sys.argv[1])
samba.set_debug_level(1)
db = SamDB(url=sys.argv[2], lp=lp, session_info=system_session())
m = ldb.Message(ldb.Dn(db, sys.argv[3]))
m["servicePrincipalName"] = ldb.MessageElement(
    sys.argv[4], ldb.FLAG_MOD_ADD, "servicePrincipalName")
db.modify(m)
"""


def test_index_of_older_format_rebuilt():
    """An index written by the module's previous format (version 2: long
    keys stored as they are) is rebuilt on the first use by this module,
    which says so in the log; afterwards it finds equivalents again."""
    if not ENFORCE:
        raise Skip("only in enforce mode (the index is not used in off)")
    if SAM_LDB is None or not os.path.exists(SAM_LDB):
        raise Skip("no local sam.ldb (SAM_LDB_PATH / PREFIX_ABS)")
    path = os.path.join(os.path.dirname(SAM_LDB),
                        "unique_principal_names.mdb")
    add_computer("c22", spns=["http/old-%s.%s" % (RUN, DNS_DOMAIN)])
    current = index_version(path)
    check(current != 2, "the module still writes format 2")
    index_version(path, set_to=2)
    # a process that opens sam.ldb afresh (samba checks once per process)
    b = add_computer("c23")
    p = subprocess.run([sys.executable, "-c", LOCAL_WRITE, SMB_CONF,
                        SAM_LDB, b,
                        "http/new-%s.%s" % (RUN, DNS_DOMAIN)],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True, timeout=300)
    check(p.returncode == 0, "the local write failed: %s" % p.stdout)
    check("format version 2" in p.stdout and "rebuilding" in p.stdout,
          "no word of the rebuild in the log: %r" % p.stdout[-2000:])
    check(index_version(path) == current,
          "the index was not rebuilt to format %d" % current)
    c = add_computer("c24")
    expect_refused("an equivalent of an SPN indexed before the rebuild",
                   lambda: modify(c, "servicePrincipalName",
                                  "HTTP/\u00d6LD-%s.%s" % (RUN, DNS_DOMAIN)),
                   SPN_ERROR)


def _concurrent_worker(args):
    idx, count, pool, seed = args
    import random
    rnd = random.Random(seed)
    db = SamDB(url="ldap://%s" % SERVER, lp=lp, credentials=creds)
    dn = "CN=%s,CN=Computers,%s" % (name("cc%d" % idx), BASE)
    results = []
    for _ in range(count):
        v = rnd.choice(pool)
        if rnd.random() < 0.5:
            v = v.upper()
        try:
            modify(dn, "servicePrincipalName", v, db=db)
            results.append("ok " + v.lower())
        except ldb.LdbError as e:
            if e.args[0] == ldb.ERR_ATTRIBUTE_OR_VALUE_EXISTS:
                results.append("own")
            elif (e.args[0] == ldb.ERR_CONSTRAINT_VIOLATION and
                  SPN_ERROR in e.args[1]):
                results.append("refused")
            else:
                results.append("other: %d %s" % (e.args[0], e.args[1]))
    return results


def test_concurrent_writers():
    """8 clients add colliding SPNs at once: afterwards no SPN of the pool
    is held twice, and every refusal carried 000021C7."""
    import multiprocessing
    if not ENFORCE:
        raise Skip("only in enforce mode")
    total = int(os.environ.get("ASA_UPN_CONCURRENT_WRITES", "1000"))
    clients = 8
    pool = ["http/conc%d-%s.%s" % (i, RUN, DNS_DOMAIN) for i in range(50)]
    for i in range(clients):
        add_computer("cc%d" % i)
    with multiprocessing.Pool(clients) as workers:
        res = workers.map(_concurrent_worker,
                          [(i, total // clients, pool, i) for i in
                           range(clients)])
    flat = [r for rs in res for r in rs]
    others = [r for r in flat if r.startswith("other")]
    check(not others, "unexpected errors: %s" % others[:5])
    holders = {}
    for r in samdb.search(base="", scope=ldb.SCOPE_SUBTREE,
                          expression="(servicePrincipalName=http/conc*)",
                          attrs=["servicePrincipalName"],
                          controls=["search_options:1:2"]):
        for v in r["servicePrincipalName"]:
            holders.setdefault(str(v).lower(), set()).add(str(r.dn))
    dups = {k: v for k, v in holders.items() if len(v) > 1}
    check(not dups, "duplicates after concurrent writes: %s" % dups)
    # no value was accepted for two different clients (objects); the
    # same object may add case variants of its own value (Samba allows
    # that, see ldap_spn's "case-insensitive duplicate")
    owner = {}
    for i, rs in enumerate(res):
        for r in rs:
            if r.startswith("ok "):
                v = r[3:]
                check(owner.setdefault(v, i) == i,
                      "%s accepted for clients %d and %d" %
                      (v, owner[v], i))
    accepted = sum(1 for r in flat if r.startswith("ok "))
    sys.stderr.write("concurrent: %d writes, %d accepted, %d refused\n" %
                     (len(flat), accepted, flat.count("refused")))


CASES = [
    test_spn_config_nc_then_domain,
    test_spn_domain_then_config_nc,
    test_spn_unicode_equivalent,
    test_spn_exact_duplicate_domain_text,
    test_upn_duplicate_domain,
    test_upn_duplicate_config_nc,
    test_upn_unicode_equivalent,
    test_undelete_spn_now_taken,
    test_dnshostname_rewrite_clash,
    test_samaccountname_rewrite_clash,
    test_alias_host_after_cifs_refused,
    test_alias_cifs_after_host_allowed,
    test_dsheuristics_0,
    test_dsheuristics_1,
    test_dsheuristics_2,
    test_dsheuristics_3,
    test_readd_own_value,
    test_ten_thousand_values_one_collision,
    test_too_long_spn,
    test_malformed_spns_refused,
    test_samba_tool_spn_add,
    test_audit_logs_both_dns,
    test_replicated_update_not_refused,
    test_long_key_spn_keeps_the_index,
    test_refused_write_in_local_transaction,
    test_accepted_writes_in_local_transaction,
    test_index_of_older_format_rebuilt,
    test_concurrent_writers,
]

# Cases that test samldb's own (domain-NC) checks, which stay whatever the
# module's mode; they need no mode adjustment.


def cleanup():
    for dn in reversed(created):
        try:
            samdb.delete(dn)
        except ldb.LdbError:
            pass
    del created[:]


def main():
    failed = 0
    for case in CASES:
        tname = "samba_asa.unique_principal_names.%s.%s" % (
            MODE, case.__name__[len("test_"):])
        out("test: " + tname)
        try:
            case()
        except Skip as e:
            out("skip: %s [\n%s\n]" % (tname, e))
        except Exception:
            failed += 1
            out("failure: %s [\n%s]" % (tname, traceback.format_exc()))
        else:
            out("success: " + tname)
        cleanup()
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
