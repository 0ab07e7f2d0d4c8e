#!/bin/bash
# selftest/suites/asa_roll.sh: `samba-asa roll` on environment ad_dc_array,
# against the real DC and real members (sshd + Apache with mod_auth_gssapi).
#
# What a user would notice, each checked with real Kerberos tickets:
#
#   - a roll moves the directory to kvno + 1 and every member to
#     {kvno + 1, kvno}; a client holding a ticket issued before the roll
#     still gets in (kvno -k and curl reusing its ccache), a fresh client too;
#   - two rolls in a row: members keep the previous kvno and drop older;
#   - a member that refuses: the roll stops, the directory is unchanged and
#     the status names the member; --force rolls and marks it stale; the
#     next roll, once it is back, repairs it;
#   - kill -9 at every named step (SAMBA_ASA_TEST_STOP_AT, test only):
#     every member still decrypts fresh tickets for every SPN, and the next
#     roll completes;
#   - two rolls at once: one refuses, the kvno goes up by exactly one;
#   - the status the roll records (Latest / Previous) is in the directory.
#
# Usage: asa_roll.sh   (variables from the environment, as the runner sets
# them).  Emits subunit v1.

# REPO, ASA, NSX, TMP, KRB5CCNAME; exits 2 outside env ad_dc
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
# shellcheck source=selftest/suites/roll_common.sh
. "$REPO/selftest/suites/roll_common.sh"

roll_setup rl

# --- one roll, clients before and after ------------------------------------

# A client with tickets for every SPN issued now, before any roll.
old_client()
{
	local s

	rl_kinit "$TMP/old.ccache" || return 1
	for s in "${SPNS[@]}"; do
		KRB5CCNAME=FILE:$TMP/old.ccache nsx kvno "$s@$REALM" || return 1
	done
	# and one that authenticated to the web service already
	KRB5CCNAME=FILE:$TMP/old.ccache http_lb 200
}

K0=$(dir_kvno "$NAME")
check setup.old_client old_client
check roll.once expect_out 0 "Rolled $NAME: kvno $K0 -> $((K0 + 1))" -- \
	asa roll "$NAME" "${LOCAL[@]}"
check roll.dir_kvno test_eq "$((K0 + 1))" dir_kvno "$NAME"
for m in "${MEMBERS[@]}"; do
	check "roll.keytab.$m" member_holds "$m" "$((K0 + 1)) $K0"
done
# kvno -k reuses the ticket in the ccache: the one from before the roll
check roll.old_ticket_kvno_k all_decrypt "$TMP/old.ccache" "$K0"
check roll.old_ticket_curl each_member_http "$TMP/old.ccache"
check roll.new_ticket all_decrypt_fresh "$((K0 + 1))"
check roll.new_ticket_curl fresh_http
check roll.status_recorded member_status_is "$((K0 + 1))" "$K0"
check roll.last_roll_recorded last_roll_recent "$NAME"

# --- two rolls in a row ----------------------------------------------------

check roll.twice expect_out 0 "kvno $((K0 + 1)) -> $((K0 + 2))" -- \
	asa roll "$NAME" "${LOCAL[@]}"
for m in "${MEMBERS[@]}"; do
	check "twice.keytab.$m" member_holds "$m" "$((K0 + 2)) $((K0 + 1))"
done
check twice.new_ticket all_decrypt_fresh "$((K0 + 2))"
# the ticket of two rolls ago is at a kvno no member keeps: refused, as
# designed (tickets live 10 h, rolls are weeks apart)
check twice.oldest_dropped expect_out nz "" -- \
	env KRB5CCNAME=FILE:$TMP/old.ccache "${NSX[@]}" kvno \
	-k "$(member_var KEYTAB "${MEMBERS[0]}")" "${SPNS[0]}@$REALM"

# --- JSON ------------------------------------------------------------------

check json.output expect_out 0 \
	'^\{"name": "'"$NAME"'", "rolled": true, "old_kvno": '"$((K0 + 2))"', "kvno": '"$((K0 + 3))"', "kdc_keys_checked": true' -- \
	asa roll "$NAME" --json "${LOCAL[@]}"
K=$((K0 + 3))

# --- a member down ---------------------------------------------------------

DOWN=${MEMBERS[1]}
check down.setup member_down "$DOWN"
check down.refused expect_out 1 "$DOWN.*(down|refused|failed|exit)" -- \
	asa roll "$NAME" "${LOCAL[@]}"
check down.dir_unchanged test_eq "$K" dir_kvno "$NAME"
check down.status_names_member member_error_recorded "$DOWN"
# the others staged K + 1 beside K: harmless, tickets are still at K
check down.others_work all_decrypt_fresh "$K"
# ... and status says so: "staged", not "behind" (they lack nothing)
member_status_word()
{
	local out

	out=$(asa status "$NAME" --json "${LOCAL[@]}")
	echo "$out"
	/usr/bin/python3 -c '
import json, sys
doc = json.loads(sys.argv[1])
asa = doc["asas"][0] if "asas" in doc else doc
for m in asa["members"]:
    if m["name"].split(".")[0] == sys.argv[2]:
        sys.exit(0 if m["status"] == sys.argv[3] else 1)
sys.exit(1)' "$out" "$1" "$2"
}
check down.others_status_staged member_status_word "${MEMBERS[0]}" staged
check down.status_error member_status_word "$DOWN" error
check down.forced expect_out 0 "marked stale" -- \
	asa roll "$NAME" --force "${LOCAL[@]}"
check down.forced_dir_kvno test_eq "$((K + 1))" dir_kvno "$NAME"
check down.stale_recorded member_stale_is "$DOWN" true
check down.member_up member_up "$DOWN"
check down.repaired expect_out 0 "kvno $((K + 1)) -> $((K + 2))" -- \
	asa roll "$NAME" "${LOCAL[@]}"
# repaired: the roll also brought the keys it missed (K + 1)
check down.repaired_keytab member_holds "$DOWN" "$((K + 2)) $((K + 1))"
check down.not_stale member_stale_is "$DOWN" false
check down.all_decrypt all_decrypt_fresh "$((K + 2))"
K=$((K + 2))

# --- kill -9 at every step -------------------------------------------------

for step in locked keys staged password checked recorded; do
	before=$(dir_kvno "$NAME")
	check "kill9.$step.killed" expect_out 137 "" -- \
		env SAMBA_ASA_TEST_STOP_AT=$step "${NSX[@]}" "$ASA" roll \
		"$NAME" "${LOCAL[@]}"
	check "kill9.$step.members_decrypt" all_decrypt_fresh ""
	check "kill9.$step.curl" fresh_http
	check "kill9.$step.completes" expect_out 0 "Rolled $NAME" -- \
		asa roll "$NAME" "${LOCAL[@]}"
	check "kill9.$step.after" all_decrypt_fresh "$(dir_kvno "$NAME")"
	check "kill9.$step.kvno_moved" kvno_grew "$before" "$NAME"
done

# --- two rolls at once -----------------------------------------------------

# Slow down one member so the first roll still holds the lock when the
# second starts (sshd runs the forced command; a sleep before it).
two_at_once()
{
	local before after a b rc_a rc_b

	before=$(dir_kvno "$NAME")
	member_slow "${MEMBERS[0]}" 3 || return 1
	asa roll "$NAME" "${LOCAL[@]}" >"$TMP/a.out" 2>&1 &
	a=$!
	sleep 1
	asa roll "$NAME" "${LOCAL[@]}" >"$TMP/b.out" 2>&1 &
	b=$!
	wait "$a"; rc_a=$?
	wait "$b"; rc_b=$?
	member_up "${MEMBERS[0]}" >/dev/null
	after=$(dir_kvno "$NAME")
	echo "first: $rc_a"; cat "$TMP/a.out"
	echo "second: $rc_b"; cat "$TMP/b.out"
	echo "kvno $before -> $after"
	[ "$rc_a" = 0 ] && [ "$rc_b" = 1 ] &&
	grep -q "another roll of $NAME is running" "$TMP/b.out" &&
	[ "$after" = $((before + 1)) ]
}
check concurrent.one_refused two_at_once
check concurrent.members_decrypt all_decrypt_fresh "$(dir_kvno "$NAME")"

# --- bad input -------------------------------------------------------------

check bad.unknown_asa expect_out 1 "" -- asa roll "nosuch$$" "${LOCAL[@]}"
check bad.usage expect_out 2 "" -- asa roll "${LOCAL[@]}"
check bad.due_with_name expect_out 2 "" -- asa roll "$NAME" --due \
	"${LOCAL[@]}"

roll_teardown
exit $((FAILED > 0))
