#!/bin/bash
# selftest/suites/asa_verify.sh: `samba-asa verify` and `samba-asa status`
# on environment ad_dc_array.  An ASA made with `samba-asa create` (the
# seed's five SPNs, every member of the array), then:
#
#   - status after create: every member Latest = kvno 1, Previous not set;
#   - verify fails for an ASA without members, passes with a local one;
#   - verify passes (a real ticket per SPN, decrypted with each member's
#     key; the KDC's keys equal every member's), as text and as JSON whose
#     figures match the directory (kvno, SPNs, members); over ldap:// it
#     says the KDC's keys were not compared; with -U and with no ticket
#     at all (the account's own keys on the DC) it passes too;
#   - verify fails (exit 1), naming that member and only that one, when a
#     member's keytab is removed, when it cannot be reached, when it holds
#     a wrong key, and when it is stale (the password changed by hand and
#     the new keys installed on every member but one);
#   - a push to the stale member that fails: status shows its error, its
#     Latest still 1, "behind"; the others Latest 2 / Previous 1;
#   - after `create` repairs the stale member: status shows Latest 2 /
#     Previous 1 on every member, and verify passes again.
#
# Emits subunit v1.  Every object it creates has a per-run name.

# REPO, ASA, NSX, TMP, KRB5CCNAME, expect(); exits 2 outside an ad_dc env
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
. "$REPO/selftest/subunit.sh"
# shellcheck source=selftest/array.sh
. "$REPO/selftest/array.sh"	# array_authorize

for v in SELFTEST_ARRAY_MEMBERS SELFTEST_ARRAY_SSH_KEY \
	 SELFTEST_ARRAY_SSH_KNOWN_HOSTS SELFTEST_PASSWORD_FILE; do
	if [ -z "${!v:-}" ]; then
		echo "asa_verify.sh: $v is not set: run in env ad_dc_array" >&2
		exit 2
	fi
done
export LDB_MODULES_PATH=${LDB_MODULES_PATH:-}
PY=/usr/bin/python3

P=v$$
L=$(echo "$REALM" | tr '[:upper:]' '[:lower:]')
SAM=$PREFIX_ABS/private/sam.ldb
LOCAL=(-s "$SMB_CONF_PATH")
NAME=${P}a
SPNS=(http/mail.$L http/autod.$L exchangeMDB/outlook.$L
      exchangeRFR/outlook.$L exchangeAB/outlook.$L)
MEMBERS=()
URLS=()
for m in $SELFTEST_ARRAY_MEMBERS; do
	MEMBERS+=("${m%%=*}")
done

for m in "${MEMBERS[@]}"; do
	URLS+=("$(member_var URL "$m")")
done

# --- helpers (each prints what it saw, for the failure report) -------------

# verify --json of NAME into $TMP/v.json; prints it
verify_json()
{
	asa verify "$NAME" --json "${LOCAL[@]}" "$@" >"$TMP/v.json"
	local rc=$?
	cat "$TMP/v.json"
	return $rc
}

# The JSON of verify matches the directory: the kvno, the SPNs and the
# members; every (SPN, member) pair is listed once, and exactly the pairs
# of the members named in $1 (comma-separated, may be empty) fail, with
# reason $2; ok is true only when none fails.
json_matches()
{
	local failing=$1 reason=$2 kvno spns

	kvno=$(nsx ldbsearch -H "$SAM" "(sAMAccountName=$NAME\$)" \
		msDS-KeyVersionNumber | sed -n 's/^msDS-KeyVersionNumber: //p')
	spns=$(nsx ldbsearch -H "$SAM" "(sAMAccountName=$NAME\$)" \
		servicePrincipalName |
		sed -n 's/^servicePrincipalName: //p' | sort | paste -sd,)
	echo "directory: kvno $kvno, SPNs $spns"
	$PY - "$TMP/v.json" "$kvno" "$spns" "$failing" "$reason" \
		"${MEMBERS[*]}" "$L" <<'EOF'
import json, sys
path, kvno, spns, failing, reason, members, dom = sys.argv[1:]
v = json.load(open(path))
failing = {f"{m}.{dom}" for m in failing.split(",") if m}
members = {f"{m}.{dom}" for m in members.split()}
errors = []
def want(cond, what):
    if not cond:
        errors.append(what)
want(v["kvno"] == int(kvno), "kvno %s != %s" % (v["kvno"], kvno))
want(sorted(s["spn"] for s in v["spns"]) == sorted(spns.split(",")),
     "SPNs differ")
want({m["name"] for m in v["members"]} == members, "members differ")
n = 0
for s in v["spns"]:
    want(len(s["members"]) == len(members), "%s: member count" % s["spn"])
    for p in s["members"]:
        n += 1
        if p["member"] in failing:
            want(not p["ok"] and p["result"] == reason and p["error"],
                 "%s %s: %s, wanted %s" % (s["spn"], p["member"],
                                           p["result"], reason))
        else:
            want(p["ok"] and p["result"] == "ok" and p["error"] is None,
                 "%s %s: %s" % (s["spn"], p["member"], p["error"]))
        if s["ticket"] is not None:
            want(s["ticket"]["kvno"] == int(kvno), "ticket kvno")
want(v["pairs"] == n == len(members) * len(v["spns"]), "pair count")
want(v["failed_pairs"] == sum(len(v["spns"]) for m in failing),
     "failed_pairs %s" % v["failed_pairs"])
want(v["ok"] == (not failing and v["dc_key_mismatches"] == 0), "ok flag")
for e in errors:
    print("MISMATCH:", e)
sys.exit(1 if errors else 0)
EOF
}

# In verify's text output, the failing rows name MEMBER (and only it), with
# REASON, one per SPN; the summary says how many fail.
text_names()
{
	local member=$1 reason=$2 out rows other

	out=$(asa verify "$NAME" "${LOCAL[@]}")
	local rc=$?
	echo "$out"
	[ "$rc" = 1 ] || { echo "exit $rc, wanted 1"; return 1; }
	# table rows: "SPN  MEMBER  RESULT", not indented
	rows=$(grep -cE "^[^ ].* $member\.$L +FAIL $reason: " <<<"$out")
	other=$(grep -E '^[^ ].*  FAIL ' <<<"$out" | grep -vc " $member\.$L ")
	echo "rows failing for $member: $rows, for others: $other"
	[ "$rows" = "${#SPNS[@]}" ] && [ "$other" = 0 ] &&
		grep -q "FAILED: ${#SPNS[@]} of $((${#SPNS[@]} * ${#MEMBERS[@]})) (SPN, member) pairs fail" <<<"$out"
}

# status --json: every member has Latest kvno $1 (with a time) and
# Previous $2 (0: not set), and the text says the same
status_shows()
{
	local latest=$1 previous=$2 out

	asa status "$NAME" --json "${LOCAL[@]}" >"$TMP/s.json" || return 1
	cat "$TMP/s.json"
	$PY - "$TMP/s.json" "$latest" "$previous" "${#MEMBERS[@]}" <<'EOF' ||
import json, sys
latest, previous, n = map(int, sys.argv[2:])
s = json.load(open(sys.argv[1]))
(a,) = s["asas"]
assert a["kvno"] == latest, a["kvno"]
assert len(a["members"]) == n, len(a["members"])
assert a["next_roll"] is not None and s["roll_policy"]["interval"] > 0
for m in a["members"]:
    assert m["latest"]["kvno"] == latest, m
    assert m["latest"]["installed"] > 0, m
    if previous:
        assert m["previous"]["kvno"] == previous, m
    else:
        assert m["previous"] is None, m
    assert m["stale"] is False and m["last_error"] is None, m
    assert m["status"] == "ok", m
EOF
		return 1
	out=$(asa status "$NAME" "${LOCAL[@]}") || return 1
	echo "$out"
	[ "$(grep -c "Latest:  *kvno $latest, installed 20" <<<"$out")" = \
	  "${#MEMBERS[@]}" ] || return 1
	if [ "$previous" = 0 ]; then
		[ "$(grep -c 'Previous:  *<not set>' <<<"$out")" = \
		  "${#MEMBERS[@]}" ]
	else
		[ "$(grep -c "Previous:  *kvno $previous\$" <<<"$out")" = \
		  "${#MEMBERS[@]}" ]
	fi && grep -q "next roll: " <<<"$out"
}

# status after a failed push to MEMBER (the ASA at kvno 2): MEMBER keeps
# Latest 1, shows the ssh error with its time and is "behind"; every other
# member has Latest 2, Previous 1 and no error
status_error()
{
	local member=$1 out

	asa status "$NAME" --json "${LOCAL[@]}" >"$TMP/s.json" || return 1
	cat "$TMP/s.json"
	$PY - "$TMP/s.json" "$member.$L" <<'EOF' ||
import json, sys
s = json.load(open(sys.argv[1]))
(a,) = s["asas"]
assert a["kvno"] == 2, a["kvno"]
for m in a["members"]:
    if m["name"] == sys.argv[2]:
        assert m["latest"]["kvno"] == 1, m
        assert "ssh" in m["last_error"] and m["last_error_time"] > 0, m
        assert m["status"] == "behind", m
    else:
        assert m["latest"]["kvno"] == 2 and m["previous"]["kvno"] == 1, m
        assert m["last_error"] is None and m["status"] == "ok", m
EOF
		return 1
	out=$(asa status "$NAME" "${LOCAL[@]}") || return 1
	echo "$out"
	grep -A5 "^  Member $member\.$L " <<<"$out" |
		grep -q "Last error:  *member $member\.$L: .*ssh"
}

# A keytab like MEMBER's own, with the AES256 key of http/mail replaced by
# one from another password (same kvno): written over the member's.
wrong_key()
{
	local m=$1 kt slot

	kt=$(member_var KEYTAB "$m")
	cp -p "$kt" "$TMP/$m.saved" || return 1
	slot=$(printf 'rkt %s\nlist -e\n' "$kt" | nsx ktutil |
		awk -v p="http/mail.$L@$REALM" '$3 == p && /aes256/ { print $1 }')
	[ -n "$slot" ] || { echo "no http/mail aes256 entry in $kt"; return 1; }
	rm -f "$TMP/wrong.kt" "$TMP/new.kt"
	printf 'addent -password -p http/mail.%s@%s -k 1 -e aes256-cts-hmac-sha1-96\nNot-the-password-1\nwkt %s\n' \
		"$L" "$REALM" "$TMP/wrong.kt" | nsx ktutil >/dev/null
	printf 'rkt %s\ndelent %s\nrkt %s\nwkt %s\n' "$kt" "$slot" \
		"$TMP/wrong.kt" "$TMP/new.kt" | nsx ktutil >/dev/null
	install -m 0640 -g "$(member_var KEYTAB_GROUP "$m")" "$TMP/new.kt" \
		"$kt" && nsx klist -k -e "$kt" | grep "http/mail"
}

restore_keytab()
{
	install -m 0640 -g "$(member_var KEYTAB_GROUP "$1")" "$TMP/$1.saved" \
		"$(member_var KEYTAB "$1")"
}

# The password changed by hand (kvno 2); the new keys go to every member
# but STALE, through the member side as the forced command would run it.
change_password_by_hand()
{
	local stale=$1 m

	nsx samba-tool user setpassword "$NAME\$" --random-password \
		-H "$SAM" -s "$SMB_CONF_PATH" || return 1
	asa keytab "$NAME" "$TMP/current.kt" "${LOCAL[@]}" || return 1
	for m in "${MEMBERS[@]}"; do
		[ "$m" = "$stale" ] && continue
		nsx "$ASA" member install --keytab="$(member_var KEYTAB "$m")" \
			--group="$(member_var KEYTAB_GROUP "$m")" \
			<"$TMP/current.kt" || return 1
	done
}

restore_authorized_keys()
{
	local m
	for m in "${MEMBERS[@]}"; do
		[ -e "$TMP/authorized_keys.$m" ] &&
			cp -p "$TMP/authorized_keys.$m" \
				"$(member_var AUTHORIZED_KEYS "$m")"
	done
}

cleanup()
{
	restore_authorized_keys
	rm -rf "$TMP"
}
trap cleanup EXIT

# --- setup -----------------------------------------------------------------

N=verify
subunit_start_test "$N.setup"
setup_out=$(
	set -e
	nsx kinit "$DC_USERNAME@$REALM" <"$SELFTEST_PASSWORD_FILE" >/dev/null
	# The DC's SSH key where samba-asa looks by default (member.h)
	install -d -m 0700 "$PREFIX_ABS/private/asa"
	install -m 0600 "$SELFTEST_ARRAY_SSH_KEY" \
		"$PREFIX_ABS/private/asa/id_ed25519"
	install -m 0644 "$SELFTEST_ARRAY_SSH_KNOWN_HOSTS" \
		"$PREFIX_ABS/private/asa/known_hosts"
	for m in "${MEMBERS[@]}"; do
		cp -p "$(member_var AUTHORIZED_KEYS "$m")" \
			"$TMP/authorized_keys.$m"
	done
	asa create "$NAME" --spn "${SPNS[@]}" --member "${URLS[@]}" \
		"${LOCAL[@]}"
	2>&1)
if [ $? -ne 0 ]; then
	result "$N.setup" 0 "$setup_out"
	exit 1
fi
subunit_pass_test "$N.setup"

PAIRS=$((${#SPNS[@]} * ${#MEMBERS[@]}))

# --- healthy -----------------------------------------------------------------

check status.after-create status_shows 1 0
expect $N.healthy 0 \
	"all $PAIRS \(SPN, member\) pairs work; the KDC's keys equal every member's" \
	'FAIL' -- asa verify "$NAME" "${LOCAL[@]}"
check $N.healthy.json verify_json
check $N.healthy.json-matches json_matches "" ""
expect $N.ldap.dc-keys-skipped 0 \
	"KDC's keys: not compared: .*all $PAIRS \(SPN, member\) pairs work\." \
	-- bash -c "set -o pipefail; $(printf '%q ' "${NSX[@]}" "$ASA" \
		verify "$NAME" -H "ldap://$SERVER_IP" -k yes) | tr '\n' ' '"
expect $N.password 0 \
	"Tickets as $DC_USERNAME@$REALM \(-U, password\).*all $PAIRS" -- \
	bash -c "set -o pipefail; KRB5CCNAME=FILE:$TMP/none $(printf '%q ' "${NSX[@]}" \
		"$ASA" verify "$NAME" -U "$DC_USERNAME" \
		--password-file "$SELFTEST_PASSWORD_FILE" "${LOCAL[@]}") |
		tr '\n' ' '"
expect $N.no-ticket.account-keys 0 \
	"Tickets as $NAME\\\$@$REALM \(the KDC's keys.*all $PAIRS" -- \
	bash -c "set -o pipefail; KRB5CCNAME=FILE:$TMP/none $(printf '%q ' "${NSX[@]}" \
		"$ASA" verify "$NAME" "${LOCAL[@]}") | tr '\n' ' '"
expect $N.bad-password 2 "no TGT for $DC_USERNAME@$REALM" -- \
	bash -c "echo Not-the-password-1 | $(printf '%q ' "${NSX[@]}" \
		"$ASA" verify "$NAME" -U "$DC_USERNAME" --password-stdin \
		"${LOCAL[@]}")"
expect $N.unknown-asa 1 "no account ${P}nosuch" -- \
	asa verify "${P}nosuch" "${LOCAL[@]}"
expect $N.usage 2 "Usage: samba-asa verify" -- asa verify
expect status.unknown-asa 1 "no account ${P}nosuch" -- \
	asa status "${P}nosuch" "${LOCAL[@]}"
expect status.all 0 "ASA $NAME \($NAME\\\$@$REALM\)" -- \
	asa status "${LOCAL[@]}"

# An ASA without members fails (nothing holds its keys); with a local
# member (a keytab on the DC itself) it passes
expect $N.no-members.setup 0 "" -- \
	asa create "${P}n" --spn "http/${P}n.$L" "${LOCAL[@]}"
expect $N.no-members 1 "${P}n has no members" '!pairs (work|fail)' -- \
	asa verify "${P}n" "${LOCAL[@]}"
expect $N.local-member.setup 0 "" -- \
	asa member add "${P}n" "local:$TMP/local.keytab" "${LOCAL[@]}"
expect $N.local-member 0 \
	"http/${P}n.$L +local +ok .*all 1 \(SPN, member\) pairs work; the KDC's keys equal" \
	-- bash -c "set -o pipefail; $(printf '%q ' "${NSX[@]}" "$ASA" \
		verify "${P}n" "${LOCAL[@]}") | tr '\n' ' '"

# --- one member fails: it and only it is named ------------------------------

M1=${MEMBERS[0]}
M2=${MEMBERS[1]:-${MEMBERS[0]}}
M3=${MEMBERS[2]:-${MEMBERS[0]}}

# m2's keytab removed
KT2=$(member_var KEYTAB "$M2")
mv "$KT2" "$TMP/kt2.aside"
check $N.keytab-removed text_names "$M2" no-keytab
verify_json >/dev/null
check $N.keytab-removed.json json_matches "$M2" no-keytab
mv "$TMP/kt2.aside" "$KT2"

# m3 unreachable: its sshd refuses the DC's key
: >"$(member_var AUTHORIZED_KEYS "$M3")"
check $N.unreachable text_names "$M3" unreachable
verify_json >/dev/null
check $N.unreachable.json json_matches "$M3" unreachable
restore_authorized_keys

# m1 holds a wrong key for one SPN: that pair fails, and the KDC's keys
# differ from m1's
subunit_start_test "$N.wrong-key.setup"
out=$(wrong_key "$M1" 2>&1) && subunit_pass_test "$N.wrong-key.setup" ||
	result "$N.wrong-key.setup" 0 "$out"
expect $N.wrong-key 1 \
	"http/mail.$L +$M1.$L +FAIL wrong-key: .*FAILED: 1 of $PAIRS .*1 member does not hold the KDC's keys" \
	-- bash -c "set -o pipefail; $(printf '%q ' "${NSX[@]}" "$ASA" \
		verify "$NAME" "${LOCAL[@]}") | tr '\n' ' '"
expect $N.wrong-key.dc-keys-name-member 1 \
	"$M1.$L .*FAIL: the KDC's keys: http/mail.$L@$REALM kvno 1 aes256-cts-hmac-sha1-96: the key differs" \
	-- bash -c "set -o pipefail; $(printf '%q ' "${NSX[@]}" "$ASA" \
		verify "$NAME" "${LOCAL[@]}") | tr '\n' ' '"
restore_keytab "$M1"
expect $N.healthy-again 0 "all $PAIRS \(SPN, member\) pairs work" -- \
	asa verify "$NAME" "${LOCAL[@]}"

# m3 stale: the password changed by hand, the new keys everywhere else
check $N.stale.setup change_password_by_hand "$M3"
check $N.stale text_names "$M3" kvno-missing
expect $N.stale.says-stale 1 \
	"$M3.$L +FAIL kvno-missing: the ticket is kvno 2, the member holds kvno 1 \(stale\)" \
	-- asa verify "$NAME" "${LOCAL[@]}"
verify_json >/dev/null
check $N.stale.json json_matches "$M3" kvno-missing

# A push to m3 that fails (ssh refuses the DC's key): the others get
# kvno 2 recorded, m3 keeps Latest 1 and shows the error
: >"$(member_var AUTHORIZED_KEYS "$M3")"
expect $N.push-fails 1 "$M3.$L" -- asa create "$NAME" --spn "${SPNS[@]}" \
	--member "${URLS[@]}" "${LOCAL[@]}"
restore_authorized_keys
check status.member-error status_error "$M3"

# create again repairs it: Latest 2 / Previous 1 everywhere, no error
expect $N.repair 0 "" -- asa create "$NAME" --spn "${SPNS[@]}" \
	--member "${URLS[@]}" "${LOCAL[@]}"
check status.after-second-install status_shows 2 1
expect $N.repaired 0 \
	"all $PAIRS \(SPN, member\) pairs work; the KDC's keys equal every member's" \
	-- asa verify "$NAME" "${LOCAL[@]}"

exit $((FAILED > 0))
