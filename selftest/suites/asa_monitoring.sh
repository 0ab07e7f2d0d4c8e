#!/bin/bash
# selftest/suites/asa_monitoring.sh: what a monitoring system sees, on
# environment ad_dc_array with a real ASA on three real members.
#
#   status --check: 0 OK on a healthy ASA; 1 WARNING naming a stale member
#   (a forced roll while it was down); 2 CRITICAL naming the member that
#   holds an overdue roll back, and a member whose keys lag the directory
#   (its password changed behind samba-asa's back); 3 UNKNOWN when the DC
#   answers nothing (samba stopped with SIGSTOP: the LDAP timeouts end the
#   check), and within the timeout; so does verify -U over LDAP.
#   status and status --json say "overdue" with the member; roll --due
#   prints the "warning:" line the asa_roll service logs at warning
#   level, and roll --due --json the same as data.
#
# The overdue cases use a copy of smb.conf with a 1 s roll interval.
# About 60 s with its environment.

. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
. "$REPO/selftest/suites/roll_common.sh"

M2=${MEMBERS[1]}
roll_setup mon
trap 'kill -CONT -- "-$SELFTEST_SAMBA_PID" 2>/dev/null; roll_teardown;
      rm -rf "$TMP"' EXIT

# A copy of smb.conf on which every ASA is due one second after its last
# roll (or creation).
cp "$SMB_CONF_PATH" "$TMP/short.conf"
sed -i "/^\[global\]/a \\	asa:roll interval = 1s\\n\\	asa:roll jitter = 0\\n\\	asa:roll retry = 1h\\n\\	asa:ldap timeout = 5s" \
	"$TMP/short.conf"
SHORT=(-H "$SAM" -s "$TMP/short.conf")

# check_is RC PATTERN [SMB.CONF ARGS...]: status --check exits RC and its
# one line matches PATTERN.
check_is()
{
	local want=$1 pat=$2 out rc
	shift 2

	out=$(asa status --check "$@" 2>"$TMP/err")
	rc=$?
	echo "exit $rc: $out"
	cat "$TMP/err"
	[ "$rc" = "$want" ] && [ "$(wc -l <<<"$out")" = 1 ] &&
	grep -qE -- "$pat" <<<"$out"
}

check check.ok check_is 0 "^SAMBA-ASA OK: 1 ASA, 3 members" "${LOCAL[@]}"

# --- a stale member: a forced roll while it was down ---------------------

stale_member()
{
	member_down "$M2" || return 1
	asa roll "$NAME" --force "${LOCAL[@]}"
	member_up "$M2" || return 1
	check_is 1 "^SAMBA-ASA WARNING: .*$NAME: member $M2\\.[^ ]* stale" \
		"${LOCAL[@]}"
}
check check.stale-warning stale_member

repaired()
{
	asa roll "$NAME" "${LOCAL[@]}" || return 1
	check_is 0 "^SAMBA-ASA OK" "${LOCAL[@]}"
}
check check.repaired-ok repaired

# --- a failed roll, overdue ----------------------------------------------

failed_roll_overdue()
{
	member_down "$M2" || return 1
	sleep 1.1	# the 1 s interval of short.conf has passed
	! asa roll "$NAME" "${LOCAL[@]}" || return 1
	check_is 1 "^SAMBA-ASA WARNING: .*$NAME: 1 failed roll" \
		"${LOCAL[@]}" || return 1
	check_is 2 "^SAMBA-ASA CRITICAL: .*$NAME: roll overdue since .*held back by $M2\\." \
		"${SHORT[@]}"
}
check check.failed-roll-overdue-critical failed_roll_overdue

status_overdue()
{
	local out

	out=$(asa status "$NAME" "${SHORT[@]}") || return 1
	echo "$out"
	grep -qE "^  OVERDUE: +since .*held back by $M2\\." <<<"$out" || return 1
	out=$(asa status "$NAME" --json "${SHORT[@]}") || return 1
	echo "$out"
	"$PY" -c '
import json, sys
a = json.load(sys.stdin)["asas"][0]
assert a["overdue"] is True, a
assert [m for m in a["held_back_by"] if m.startswith(sys.argv[1] + ".")], a
' "$M2" <<<"$out" || return 1
	# with the default interval it is not overdue, and says nothing
	out=$(asa status "$NAME" "${LOCAL[@]}") || return 1
	! grep -q OVERDUE <<<"$out"
}
PY=/usr/bin/python3
check status.overdue status_overdue

# roll --due: the retry delay (1 h) has not passed, so no attempt; the
# overdue roll is a "warning:" line naming the member (the service logs it
# at warning level), and --json says the same.
roll_due_warns()
{
	local out

	out=$(asa roll --due "${SHORT[@]}" 2>&1)
	echo "$out"
	grep -qE "^warning: $NAME: roll overdue since [0-9]+ \\(1 failed attempt\\): held back by member $M2\\." \
		<<<"$out" || return 1
	out=$(asa roll --due --json "${SHORT[@]}") || return 1
	echo "$out"
	"$PY" -c '
import json, sys
d = json.load(sys.stdin)
a = [a for a in d["asas"] if a["name"] == sys.argv[1]][0]
assert a["action"] == "not-due", a
assert a["overdue"] is True and a["roll_failures"] == 1, a
assert a["held_back_by"][0]["name"].startswith(sys.argv[2] + "."), a
assert isinstance(d["next_due"], int), d
' "$NAME" "$M2" <<<"$out"
}
check roll-due.warning-and-json roll_due_warns

back_ok()
{
	member_up "$M2" || return 1
	asa roll "$NAME" "${LOCAL[@]}" || return 1
	check_is 0 "^SAMBA-ASA OK" "${LOCAL[@]}"
}
check check.back-ok back_ok

# --- keys that lag the directory -----------------------------------------

# The password changed behind samba-asa's back: every member lags.
lagging()
{
	nsx samba-tool user setpassword "$NAME\$" --random-password \
		-H "$SAM" -s "$SMB_CONF_PATH" >/dev/null || return 1
	check_is 2 "^SAMBA-ASA CRITICAL: .*$NAME: member [^ ]+ lags the directory" \
		"${LOCAL[@]}" || return 1
	asa roll "$NAME" "${LOCAL[@]}" &&
	check_is 0 "^SAMBA-ASA OK" "${LOCAL[@]}"
}
check check.lagging-critical lagging

# --- a DC that answers nothing -------------------------------------------

# samba stopped (SIGSTOP to its process group): the kernel still accepts
# the TCP connection, nothing answers.  The check ends UNKNOWN after the
# 5 s of asa:ldap timeout.  The DC is also the namespace's DNS server:
# the name lookups before the bind wait for the resolver (RES_OPTIONS
# keeps that to a few seconds, as the admin guide suggests for checks).
unresponsive_dc()
{
	local out rc t0 t1

	nsx kinit "$DC_USERNAME@$REALM" <"$SELFTEST_PASSWORD_FILE" \
		>/dev/null || return 1
	check_is 0 "^SAMBA-ASA OK" -H "ldap://$SERVER.$LOWER" -k yes \
		-s "$TMP/short.conf" || return 1
	kill -STOP -- "-$SELFTEST_SAMBA_PID" || return 1
	t0=$SECONDS
	out=$(RES_OPTIONS="timeout:1 attempts:1" timeout 120 \
		"${NSX[@]}" "$ASA" status --check \
		-H "ldap://$SERVER.$LOWER" -k yes -s "$TMP/short.conf" 2>&1)
	rc=$?
	t1=$SECONDS
	kill -CONT -- "-$SELFTEST_SAMBA_PID"
	echo "exit $rc after $((t1 - t0)) s: $out"
	[ "$rc" = 3 ] && [ $((t1 - t0)) -lt 60 ] &&
	grep -q "^SAMBA-ASA UNKNOWN" <<<"$out"
}
check check.unresponsive-dc-unknown unresponsive_dc

# verify -U reads the password itself (for the tickets too); its bind
# still gives up after asa:ldap timeout, as every command's does: here
# StartTLS, the first request of a simple bind on ldap://, unanswered.
unresponsive_dc_verify()
{
	local out rc t0 t1

	kill -STOP -- "-$SELFTEST_SAMBA_PID" || return 1
	t0=$SECONDS
	out=$(timeout 120 "${NSX[@]}" "$ASA" verify "$NAME" \
		-H "ldap://$SERVER_IP" -U "$DC_USERNAME" \
		--password-file "$SELFTEST_PASSWORD_FILE" \
		-s "$TMP/short.conf" 2>&1)
	rc=$?
	t1=$SECONDS
	kill -CONT -- "-$SELFTEST_SAMBA_PID"
	echo "exit $rc after $((t1 - t0)) s: $out"
	[ "$rc" = 2 ] && [ $((t1 - t0)) -lt 40 ]
}
check verify.unresponsive-dc-timeout unresponsive_dc_verify

exit $((FAILED > 0))
