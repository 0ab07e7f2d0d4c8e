#!/bin/bash
# selftest/suites/asa_roll_due.sh: `samba-asa roll --due`, what the asa_roll
# service runs, on environment ad_dc_array.
#
#   - with asa:roll interval = 1h, two ASAs just rolled: nothing is due,
#     nothing rolls, and the last line is "next-due: <about an hour on>";
#   - one ASA's last roll moved two hours back in the directory: --due
#     rolls that one and not the other;
#   - the PDC emulator role held by another DC (fSMORoleOwner of the domain
#     head changed in the directory): --due is idle, rolls nothing although
#     an ASA is due, and rolls it once the role is back;
#   - members holding keys above the directory's kvno that no recorded
#     attempt of this DC staged (a roll made on another DC, not replicated
#     yet; here: a roll killed after staging): --due waits asa:roll settle
#     instead of staging other keys at that kvno, and rolls with settle 0;
#   - a due ASA with a member down: --due exits 1, the failure is counted
#     in the directory, and next-due waits for the retry (asa:roll retry);
#   - the roll over ldap:// with Kerberos (an admin host), the password
#     sent over the encrypted connection.
#
# Emits subunit v1.

. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
. "$REPO/selftest/suites/roll_common.sh"

roll_setup du
A=$NAME
A_DN=$ASA_DN
B=dv$$
roll_smb_conf "asa:roll interval = 1h" "asa:roll jitter = 0" \
	"asa:roll retry = 10m"

DOMAIN_DN=$(nsx ldbsearch -H "$SAM" -s base -b "" defaultNamingContext \
	2>/dev/null | unfold | sed -n 's/^defaultNamingContext: //p')
PDC=$(nsx ldbsearch -H "$SAM" -s base -b "$DOMAIN_DN" fSMORoleOwner \
	2>/dev/null | unfold | sed -n 's/^fSMORoleOwner: //p')
# Another DC as far as the role is concerned: a server with an nTDSDSA
# object (system-only: added with the relax control, as join does through
# DRS), which fSMORoleOwner must reference.
OTHER_SERVER="CN=DC9$$,CN=Servers,CN=Default-First-Site-Name,CN=Sites,CN=Configuration,$DOMAIN_DN"
OTHER="CN=NTDS Settings,$OTHER_SERVER"

# The value of key in the samba-asa SCP of the ASA at DN.
set_pdc()
{
	printf 'dn: %s\nchangetype: modify\nreplace: fSMORoleOwner\nfSMORoleOwner: %s\n' \
		"$DOMAIN_DN" "$1" | nsx ldbmodify -H "$SAM" >/dev/null
}

# due_run RC: roll --due exits RC; its output in $TMP/due.out, its last
# line's time in NEXT_DUE.
due_run()
{
	local rc

	asa roll --due "${LOCAL[@]}" >"$TMP/due.out" 2>&1
	rc=$?
	cat "$TMP/due.out"
	echo "(exit $rc)"
	NEXT_DUE=$(tail -n 1 "$TMP/due.out" | sed -n 's/^next-due: //p')
	echo "$NEXT_DUE" >"$TMP/next_due"
	[ "$rc" = "$1" ]
}

# next_due_about SECONDS: the last --due said now + SECONDS (+- 120 s).
next_due_about()
{
	local n now

	n=$(cat "$TMP/next_due")
	now=$(date +%s)
	echo "next-due: '$n', now $now, wanted about now + $1"
	[[ $n =~ ^[0-9]+$ ]] &&
	[ "$n" -ge $((now + $1 - 120)) ] && [ "$n" -le $((now + $1 + 120)) ]
}

# B: a second ASA whose one member is a keytab on this host (a member
# serves one ASA, so B cannot share the array's keytabs).
setup_b()
{
	asa create "$B" --spn "http/$B.$LOWER" \
		--member "local:$TMP/b.keytab" "${LOCAL[@]}" || return 1
	asa roll "$A" "${LOCAL[@]}" && asa roll "$B" "${LOCAL[@]}"
}
check due.setup setup_b
B_DN=$(nsx ldbsearch -H "$SAM" "(sAMAccountName=$B\$)" dn 2>/dev/null |
	unfold | sed -n 's/^dn: //p')

KA=$(dir_kvno "$A")
KB=$(dir_kvno "$B")
b_local_member()
{
	klist -k "$TMP/b.keytab"
	klist -k "$TMP/b.keytab" | grep -q "^ *$KB $B\\\$@$REALM"
}
check due.setup.local_member b_local_member
check due.nothing_due due_run 0
check due.nothing_due.next next_due_about 3600
check due.nothing_due.a_unchanged test_eq "$KA" dir_kvno "$A"
check due.nothing_due.b_unchanged test_eq "$KB" dir_kvno "$B"

check due.make_a_due set_last_roll "$A_DN" $(($(date +%s) - 7200))
check due.rolls_a due_run 0
check due.rolls_a.rolled test_eq "$((KA + 1))" dir_kvno "$A"
check due.rolls_a.b_not test_eq "$KB" dir_kvno "$B"
check due.rolls_a.members member_holds "${MEMBERS[0]}" \
	"$((KA + 1)) $KA"
check due.rolls_a.next next_due_about 3600
check due.rolls_a.decrypt all_decrypt_fresh "$((KA + 1))"
KA=$((KA + 1))

# --- not the PDC emulator --------------------------------------------------

other_dc()
{
	printf 'dn: %s\nobjectClass: server\n\ndn: %s\nobjectClass: nTDSDSA\n' \
		"$OTHER_SERVER" "$OTHER" |
		nsx ldbadd -H "$SAM" --controls=relax:0
}
other_dc_gone()
{
	nsx ldbdel -H "$SAM" "$OTHER" && nsx ldbdel -H "$SAM" "$OTHER_SERVER"
}
check pdc.other_dc other_dc
check pdc.setup set_last_roll "$A_DN" $(($(date +%s) - 7200))
check pdc.moved_away set_pdc "$OTHER"
due_idle()
{
	due_run 0 || return 1
	grep -q "^idle: .*not the PDC emulator" "$TMP/due.out" &&
	[ "$(tail -n 1 "$TMP/due.out" | cut -d' ' -f1)" = "next-due:" ]
}
check pdc.idle_run due_idle
check pdc.idle_rolled_nothing test_eq "$KA" dir_kvno "$A"
check pdc.idle_next_not_now next_due_about 600
check pdc.moved_back set_pdc "$PDC"
check pdc.other_dc_gone other_dc_gone
check pdc.holder_rolls due_run 0
check pdc.holder_rolled test_eq "$((KA + 1))" dir_kvno "$A"
KA=$((KA + 1))

# --- keys staged by a roll this directory does not show --------------------
#
# A roll killed after its members got kvno K+1 and before the directory
# changed looks, from this DC, like a roll made on another DC whose change
# has not replicated here yet (the PDC emulator role moved here meanwhile):
# members hold K+1, the directory says K, and no failed attempt is
# recorded.  --due waits for replication (up to asa:roll settle, 15 min,
# after the due time) rather than stage other keys at K+1; once due longer
# than that, or with asa:roll settle = 0, it rolls.

check staged.setup expect_out 137 "" -- \
	env SAMBA_ASA_TEST_STOP_AT=staged "${NSX[@]}" "$ASA" roll "$A" \
	"${LOCAL[@]}"
check staged.members_ahead member_holds "${MEMBERS[0]}" "$((KA + 1)) $KA"
# due 10 s ago (interval 1h, jitter 0): the wait lasts until due + 15 min
check staged.make_due set_last_roll "$A_DN" $(($(date +%s) - 3610))
due_waits()
{
	due_run 0 || return 1
	grep -q "^$A: due, but a member holds kvno $((KA + 1)) above this directory's $KA.*waiting for replication" \
		"$TMP/due.out"
}
check staged.waits due_waits
check staged.unchanged test_eq "$KA" dir_kvno "$A"
check staged.still_staged member_holds "${MEMBERS[0]}" "$((KA + 1)) $KA"
check staged.next_after_settle next_due_about 890
check staged.members_decrypt all_decrypt_fresh "$KA"
settle()
{
	sed -i '/asa:roll settle = /d' "$SMB_CONF_PATH"
	[ -z "$1" ] || roll_smb_conf "asa:roll settle = $1"
}
check staged.settle_0 settle 0
check staged.settle_0.rolls due_run 0
check staged.settle_0.rolled test_eq "$((KA + 1))" dir_kvno "$A"
check staged.settle_0.decrypt all_decrypt_fresh "$((KA + 1))"
check staged.settle_default settle ""
KA=$((KA + 1))

# --- a failure and the retry -----------------------------------------------

check retry.setup set_last_roll "$A_DN" $(($(date +%s) - 7200))
check retry.member_down member_down "${MEMBERS[2]}"
check retry.fails due_run 1
check retry.unchanged test_eq "$KA" dir_kvno "$A"
check retry.counted test_eq 1 asa_keyword "$A_DN" roll_failures
check retry.next_after_retry next_due_about 600
check retry.member_up member_up "${MEMBERS[2]}"
check retry.still_waits due_run 0
check retry.still_unchanged test_eq "$KA" dir_kvno "$A"

# --- over LDAP, from an "admin host" ---------------------------------------

check ldap.roll expect_out 0 "Rolled $A: kvno $KA -> $((KA + 1))" -- \
	asa roll "$A" -H "ldap://$SERVER_IP" -k yes -s "$SMB_CONF_PATH"
check ldap.dir_kvno test_eq "$((KA + 1))" dir_kvno "$A"
check ldap.members member_holds "${MEMBERS[1]}" "$((KA + 1)) $KA"
check ldap.decrypt all_decrypt_fresh "$((KA + 1))"

roll_teardown
exit $((FAILED > 0))
