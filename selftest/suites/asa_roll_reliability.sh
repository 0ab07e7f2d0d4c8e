#!/bin/bash
# selftest/suites/asa_roll_reliability.sh: many rolls while real clients
# authenticate through the load balancer, on environment ad_dc_array.
#
# Two clients loop `curl --negotiate` through haproxy (round robin over
# every member), each request with a service ticket asked for just then,
# so tickets are issued on both sides of every password change and used
# at once: the window a roll must not break.  Meanwhile ROLLS rolls run
# back to back ($ASA_ROLL_RELIABILITY_ROLLS, default 30; the issue's
# figure is 100), and in the middle one member's sshd is stopped and
# restarted (rolls while it is down are refused and change nothing; the
# next one after it is back updates it).
#
# Passes when no request got 401 (or anything but 200), the clients made
# requests during the whole run, and the directory's kvno went up by the
# number of rolls that succeeded.  Prints requests served and rolls done.
#
# Emits subunit v1.

. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
. "$REPO/selftest/suites/roll_common.sh"

ROLLS=${ASA_ROLL_RELIABILITY_ROLLS:-30}
roll_setup rel

rl_kinit "$TMP/tgt.ccache"
STOP=$TMP/stop

# client N: requests until $STOP exists; one line per request in
# $TMP/client.N: "HTTP_CODE MEMBER".
client()
{
	local n=$1 cc=$TMP/client.$1.ccache code body

	while [ ! -e "$STOP" ]; do
		cp "$TMP/tgt.ccache" "$cc"	# the TGT only: a fresh ticket
		code=$(KRB5CCNAME=FILE:$cc nsx curl -sS -o "$TMP/body.$n" \
			-w '%{http_code}' --negotiate -u : \
			"http://mail.$LOWER/" 2>>"$TMP/client.$n.err")
		body=$(sed -n 's/^array member \(m[0-9]*\) .*/\1/p' \
			"$TMP/body.$n" 2>/dev/null)
		echo "${code:-000} ${body:-none}" >>"$TMP/client.$n"
	done
}

K0=$(dir_kvno "$NAME")
client 1 &
C1=$!
client 2 &
C2=$!

ok=0
refused=0
other=0
: >"$TMP/rolls.log"
for i in $(seq "$ROLLS"); do
	if [ "$i" = $((ROLLS / 2)) ]; then
		member_down "${MEMBERS[1]}" >>"$TMP/rolls.log" 2>&1
	fi
	if [ "$i" = $((ROLLS / 2 + 2)) ]; then
		member_up "${MEMBERS[1]}" >>"$TMP/rolls.log" 2>&1
	fi
	asa roll "$NAME" "${LOCAL[@]}" >>"$TMP/rolls.log" 2>&1
	case $? in
	0) ok=$((ok + 1)) ;;
	1) refused=$((refused + 1)) ;;
	*) other=$((other + 1)) ;;
	esac
done
member_up "${MEMBERS[1]}" >>"$TMP/rolls.log" 2>&1
# a last roll with every member up: it must work
asa roll "$NAME" "${LOCAL[@]}" >>"$TMP/rolls.log" 2>&1 && ok=$((ok + 1))
sleep 1
touch "$STOP"
wait "$C1" "$C2"

K1=$(dir_kvno "$NAME")
cat "$TMP/client.1" "$TMP/client.2" >"$TMP/requests"
TOTAL=$(wc -l <"$TMP/requests")
GOOD=$(grep -c '^200 ' "$TMP/requests")
BAD=$((TOTAL - GOOD))

summary()
{
	echo "rolls: $ok done, $refused refused (member down), $other" \
	     "errors; kvno $K0 -> $K1"
	echo "requests: $TOTAL attempted, $GOOD succeeded, $BAD failed"
	awk '{ print $2 }' "$TMP/requests" | sort | uniq -c |
		sed 's/^/  served by /'
	grep -v '^200 ' "$TMP/requests" | sort | uniq -c | head
	head -c 2000 "$TMP/client.1.err" "$TMP/client.2.err" 2>/dev/null
}
summary >&2

check reliability.no_failed_request test_eq 0 echo "$BAD"
check reliability.clients_ran expect_out 0 "" -- \
	test "$TOTAL" -ge $((ROLLS * 2))
check reliability.rolls_done test_eq "$((K0 + ok))" dir_kvno "$NAME"
check reliability.no_roll_error test_eq 0 echo "$other"
check reliability.most_rolled expect_out 0 "" -- \
	test "$ok" -ge $((ROLLS / 2))
check reliability.every_member_served expect_out 0 "" -- \
	test "$(awk '$1 == 200 { print $2 }' "$TMP/requests" | sort -u |
		wc -l)" = "${#MEMBERS[@]}"
check reliability.members_current all_decrypt_fresh "$K1"

roll_teardown
exit $((FAILED > 0))
