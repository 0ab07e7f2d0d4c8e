#!/bin/bash
# selftest/suites/asa_retire.sh: old keys leave the members, on environment
# ad_dc_array (three sshd members), with real tickets (kvno -k).
#
#   - spn: an SPN taken off the ASA (spn remove) and a roll: no member's
#     keytab holds that principal any more (klist -k), while tickets for
#     the other SPNs still decrypt on every member;
#   - now: member remove --revoke-now and a roll: a real ticket issued
#     under the kvno the removed member held, which every member decrypted
#     before, decrypts on no remaining member after the roll (the removed
#     member, whose keytab is not touched, still decrypts it: the key is
#     what a removed host could forge tickets with); fresh tickets do;
#   - timed: member remove, then `roll --due` (the asa_roll service's
#     command) rolls the ASA because a member was removed and schedules
#     the revocation asa:revoke after the roll (15 s here), its next-due
#     line then being that time; before it the old ticket still decrypts
#     everywhere, and `status` shows the revocation; a `roll --due` after
#     it revokes: the old ticket decrypts on no remaining member, fresh
#     tickets do, `status` shows nothing pending.
#
# Emits subunit v1.

. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
. "$REPO/selftest/suites/roll_common.sh"

roll_setup ret
L=$LOWER
trap 'roll_teardown; rm -rf "$TMP"' EXIT

# decrypts CCACHE MEMBER SPN: MEMBER's keytab decrypts the ticket for SPN
# in CCACHE (got there when missing); KVNO, if given, is its kvno.
decrypts()
{
	local cc=$1 m=$2 s=$3 want=${4:-} out

	out=$(KRB5CCNAME=FILE:$cc nsx kvno -k "$(member_var KEYTAB "$m")" \
		"$s@$REALM" 2>&1)
	echo "$m: $out"
	[[ $out == *"keytab entry valid"* ]] || return 1
	[ -z "$want" ] || [[ $out == *"kvno = $want,"* ]]
}

# decrypts_on CCACHE KVNO MEMBER...: on each MEMBER, every SPN of SPNS.
decrypts_on()
{
	local cc=$1 want=$2 m s rc=0
	shift 2

	for m in "$@"; do
		for s in "${SPNS[@]}"; do
			decrypts "$cc" "$m" "$s" "$want" || rc=1
		done
	done
	return $rc
}

# fails_on CCACHE MEMBER...: no MEMBER decrypts any of those tickets.
fails_on()
{
	local cc=$1 m s rc=0
	shift

	for m in "$@"; do
		for s in "${SPNS[@]}"; do
			if decrypts "$cc" "$m" "$s"; then
				rc=1
			fi
		done
	done
	return $rc
}

fresh_on()
{
	local cc

	cc=$(mktemp "$TMP/fresh.XXXXXX")
	rl_kinit "$cc" || return 1
	decrypts_on "$cc" "$@"
}

# holds_principal MEMBER PRINCIPAL: MEMBER's keytab has a key for it.
holds_principal()
{
	nsx klist -k "$(member_var KEYTAB "$1")" | grep -F " $2@$REALM"
}

lacks_principal_everywhere()
{
	local m rc=0

	for m in "${MEMBERS[@]}"; do
		nsx klist -k "$(member_var KEYTAB "$m")" | sed 's/^/  /'
		if holds_principal "$m" "$1" >/dev/null; then
			echo "$m still holds $1"
			rc=1
		fi
	done
	return $rc
}

member_url_name()
{
	echo "$1.$L"
}

# --- spn: an SPN taken off the ASA --------------------------------------------

GONE=${SPNS[4]}
check spn.held_before holds_principal "${MEMBERS[0]}" "$GONE"
check spn.remove asa spn remove "$NAME" "$GONE" "${LOCAL[@]}"
unset 'SPNS[4]'
K=$(dir_kvno "$NAME")
check spn.roll asa roll "$NAME" "${LOCAL[@]}"
K=$((K + 1))
check spn.kvno kvno_is "$K"
check spn.dropped lacks_principal_everywhere "$GONE"
check spn.others_kept member_holds "${MEMBERS[0]}" "$K $((K - 1))"
check spn.others_decrypt fresh_on "$K" "${MEMBERS[@]}"

# --- now: member remove --revoke-now, then a roll ---------------------------

rl_kinit "$TMP/old1.cc"
GOT=(${MEMBERS[0]} ${MEMBERS[1]})
EVICTED=${MEMBERS[2]}
check now.before.old_ticket decrypts_on "$TMP/old1.cc" "$K" "${MEMBERS[@]}"
expect now.remove 0 "Revocation pending: .*kvno $K and below" -- \
	asa member remove "$NAME" "$(member_url_name "$EVICTED")" \
	--revoke-now "${LOCAL[@]}"
expect now.status 0 "revocation: +kvno $K and below, right after the next roll" -- \
	asa status "$NAME" "${LOCAL[@]}"
expect now.roll 0 "revoked: the members hold kvno $((K + 1)) only" -- \
	asa roll "$NAME" "${LOCAL[@]}"
K=$((K + 1))
check now.kvno kvno_is "$K"
check now.old_ticket_refused fails_on "$TMP/old1.cc" "${GOT[@]}"
check now.evicted_still_decrypts decrypts_on "$TMP/old1.cc" "$((K - 1))" \
	"$EVICTED"
check now.fresh_tickets fresh_on "$K" "${GOT[@]}"
check now.members_hold_current_only member_holds "${GOT[0]}" "$K"
expect now.status.clear 0 "" "!revocation:" -- \
	asa status "$NAME" "${LOCAL[@]}"

# --- timed: member remove, roll --due, revocation after asa:revoke after ----

# The evicted member back, with the current keys (member add), then
# another one removed.
check timed.readd asa member add "$NAME" "$(member_var URL "$EVICTED")" \
	"${LOCAL[@]}"
GOT=(${MEMBERS[0]} ${MEMBERS[2]})
EVICTED=${MEMBERS[1]}
roll_smb_conf "asa:revoke after = 15" "asa:roll jitter = 0"
rl_kinit "$TMP/old2.cc"
check timed.before.old_ticket decrypts_on "$TMP/old2.cc" "$K" "${GOT[@]}"
expect timed.remove 0 "Revocation pending: .*kvno $K and below" -- \
	asa member remove "$NAME" "$(member_url_name "$EVICTED")" \
	"${LOCAL[@]}"
# roll --due rolls, and its last line (when the service runs it again)
# is the revocation time, not the next roll weeks away.
due_rolls_and_schedules()
{
	local out rc start n

	start=$(date +%s)
	out=$(asa roll --due "${LOCAL[@]}" 2>&1)
	rc=$?
	echo "$out"
	echo "(exit $rc)"
	[ "$rc" = 0 ] || return 1
	grep -q "members were removed: rolling" <<<"$out" || return 1
	n=$(tail -n 1 <<<"$out" | sed -n 's/^next-due: //p')
	echo "next-due '$n', started $start, now $(date +%s)"
	[[ $n =~ ^[0-9]+$ ]] && [ "$n" -ge $((start + 15)) ] &&
		[ "$n" -le $(($(date +%s) + 15)) ]
}
check timed.due_rolls due_rolls_and_schedules
check timed.kvno kvno_is "$((K + 1))"
K=$((K + 1))

revocation_json()
{
	asa status "$NAME" --json "${LOCAL[@]}" |
		grep -oE '"revocation": (null|\{[^}]*\})'
}
check timed.status_pending expect_out 0 \
	"\"revocation\": \\{\"kvno\": $((K - 1)), \"after_next_roll\": false, .*\"at\": [0-9]+" -- \
	revocation_json
check timed.still_valid_before decrypts_on "$TMP/old2.cc" "$((K - 1))" \
	"${GOT[@]}"

# roll --due until it has revoked (its next-due is the revocation time).
revoked_by_due()
{
	local out

	out=$(asa roll --due "${LOCAL[@]}" 2>&1)
	echo "$out"
	grep -q "revoked: the members hold kvno $K only" <<<"$out"
}
check timed.due_revokes wait_for 90 revoked_by_due
check timed.old_ticket_refused fails_on "$TMP/old2.cc" "${GOT[@]}"
check timed.fresh_tickets fresh_on "$K" "${GOT[@]}"
check timed.members_hold_current_only member_holds "${GOT[1]}" "$K"
check timed.status_clear expect_out 0 '"revocation": null' -- \
	revocation_json

exit $((FAILED > 0))
