#!/bin/bash
# selftest/suites/json_output.sh: `samba-asa ... --json` stays valid JSON
# when the directory holds a string that is not UTF-8 (environment ad_dc).
#
# Directory strings are untrusted bytes: a value written past Samba's
# syntax check (dbcheck's control, or a DC that took it unchecked and
# replicated it) need not be UTF-8.  JSON holds only Unicode; samba-asa
# gives each byte sequence that is not UTF-8 as U+FFFD, as Windows (and
# unique_principal_names) store such an SPN.  Each check parses the raw
# output strictly (UTF-8, then json.loads) and finds the value there
# with U+FFFD in it.
#
# Where: the URL of the ASA's member (serviceBindingInformation of its
# record), which status, member list, verify and roll print, and then
# the errors that name it.  An indexed attribute (an SPN, the records'
# keywords) cannot hold such bytes in a Samba directory: the index
# refuses them ("Failed to create index key"), and unique_principal_names
# stores U+FFFD for an SPN.
#
# Emits subunit v1 on stdout.

# REPO, ASA, NSX, TMP, KRB5CCNAME, check, expect; exits 2 outside ad_dc
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
P=js$$					# per-run prefix
SAM=$PREFIX_ABS/private/sam.ldb
LOCAL=(-H "$SAM" -s "$SMB_CONF_PATH")
LDAP=(-H "ldap://$SERVER_IP" -k yes)
LOWER=$(echo "$REALM" | tr '[:upper:]' '[:lower:]')
NAME=${P}asa
PY=/usr/bin/python3

# plant: the URL of the member of ASA $NAME becomes
# "local:$TMP/bad\xff\xfe-$P/m.keytab" (a directory that does not exist),
# read back as stored.
plant()
{
	nsx $PY - "$SAM" "$SMB_CONF_PATH" "$NAME" "$P" "$TMP" <<'EOF'
import sys
import ldb
from samba.auth import system_session
from samba.param import LoadParm
from samba.samdb import SamDB

sam, conf, name, tag, tmp = sys.argv[1:6]
lp = LoadParm()
lp.load(conf)
db = SamDB(url=sam, lp=lp, session_info=system_session())
url = b"local:%s/bad\xff\xfe-%s/m.keytab" % (tmp.encode(), tag.encode())
# dbcheck's control lets a value past Samba's syntax check as it is
controls = ["local_oid:1.3.6.1.4.1.7165.4.3.19:0"]
asa = db.search(expression="(sAMAccountName=%s$)" % name, attrs=[])
assert len(asa) == 1, "no ASA %s" % name
records = [r for r in db.search(base=asa[0].dn, scope=ldb.SCOPE_SUBTREE,
                                expression="(serviceBindingInformation=*)",
                                attrs=[])
           if not str(r.dn).startswith("CN=samba-asa,")]
assert len(records) == 1, "%d member records, wanted 1" % len(records)
m = ldb.Message(records[0].dn)
m["serviceBindingInformation"] = ldb.MessageElement(
    url, ldb.FLAG_MOD_REPLACE, "serviceBindingInformation")
db.modify(m, controls=controls)
got = db.search(base=m.dn, scope=ldb.SCOPE_BASE,
                attrs=["serviceBindingInformation"])
assert [bytes(v) for v in got[0]["serviceBindingInformation"]] == [url], \
    "not stored as given"
print("%s: %r" % (m.dn, url))
EOF
}

# strict_json FILE PATH...: FILE is UTF-8 and JSON, and a value at PATH
# (keys and indexes; "*" any element) has the planted text in it, U+FFFD
# for each byte that is not UTF-8.
strict_json()
{
	cat "$1"
	$PY - "$P" "$@" <<'EOF'
import json
import sys

tag, path, keys = sys.argv[1], sys.argv[2], sys.argv[3:]
doc = json.loads(open(path, "rb").read().decode("utf-8", "strict"))
want = "/bad\ufffd\ufffd-%s/" % tag


def find(v, keys):
    if not keys:
        return [v]
    if keys[0] == "*":
        return [x for e in v for x in find(e, keys[1:])]
    k = int(keys[0]) if isinstance(v, list) else keys[0]
    return find(v[k], keys[1:])


found = find(doc, keys)
assert any(isinstance(v, str) and want in v for v in found), \
    "%r not in any of %r" % (want, found)
print("valid JSON with %r" % want)
EOF
}

# json_of RC FILE ARGS...: samba-asa ARGS --json exits RC, its standard
# output in $TMP/FILE
json_of()
{
	local rc=$1 file=$2 got
	shift 2

	asa "$@" --json >"$TMP/$file"
	got=$?
	[ "$got" = "$rc" ] || { echo "exit $got, wanted $rc"; return 1; }
}

# --- setup -----------------------------------------------------------------

setup()
{
	set -e
	printf '%s\n' "$DC_PASSWORD" |
		nsx kinit "$DC_USERNAME@$REALM" >/dev/null
	asa create "$NAME" --spn "http/$NAME.$LOWER" \
		--member "local:$TMP/m.keytab" "${LOCAL[@]}"
	plant
}
check setup setup || exit 1

# --- the commands that print these strings -----------------------------------

status_local()
{
	json_of 0 status.json status "$NAME" "${LOCAL[@]}" &&
		strict_json "$TMP/status.json" asas 0 members '*' url
}
check status.local status_local

status_ldap()
{
	json_of 0 status-ldap.json status "${LDAP[@]}" &&
		strict_json "$TMP/status-ldap.json" asas '*' members '*' url
}
check status.ldap status_ldap

member_list()
{
	json_of 0 members.json member list "$NAME" "${LOCAL[@]}" &&
		strict_json "$TMP/members.json" members '*' url
}
check member_list member_list

# the member cannot be reached: verify and roll fail, naming it
verify()
{
	json_of 1 verify.json verify "$NAME" "${LOCAL[@]}" &&
		strict_json "$TMP/verify.json" members '*' url
}
check verify verify

roll()
{
	json_of 1 roll.json roll "$NAME" "${LOCAL[@]}" &&
		strict_json "$TMP/roll.json" members '*' url
}
check roll roll

exit $((FAILED > 0))
