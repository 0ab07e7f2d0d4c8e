#!/bin/bash
# selftest/suites/fleet_smoke.sh: the fleet environment of the fleet
# benchmark (selftest/fleet.sh), small: 10 members on an ad_dc.
#
#   - they start (each its own sshd on its own address), and samba-asa
#     create, verify and roll reach every one with its defaults;
#   - every member's keytab decrypts a real ticket, before and after the
#     roll (kvno -k);
#   - stop leaves no process of theirs and none of their lines in the
#     namespace's hosts file and samba-asa's known_hosts;
#   - a start that fails half-way (one member's address taken) stops the
#     members it had started.
#
# Environment ad_dc; emits subunit v1.  ~15-40 s.

. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
# shellcheck source=selftest/fleet.sh
. "$REPO/selftest/fleet.sh"

N=10
NAME=fleet$$
INST=$PREFIX_ABS
SAM=$PREFIX_ABS/private/sam.ldb
KNOWN=$PREFIX_ABS/private/asa/known_hosts
HOSTS=/etc/netns/$SELFTEST_NETNS/hosts
LOWER=$(echo "$REALM" | tr '[:upper:]' '[:lower:]')
SPNS=(http/a$NAME.$LOWER http/b$NAME.$LOWER)
URLS=()
KEYTABS=()
SSHD_PIDS=()
BLOCKER=

cleanup()
{
	[ -n "$BLOCKER" ] && kill "$BLOCKER" 2>/dev/null
	fleet_stop "$INST" >/dev/null 2>&1
	rm -rf "$TMP"
}
trap cleanup EXIT

# The fleet's URLs, keytabs and sshd PIDs (in this shell: check runs its
# command in a subshell).
fleet_members()
{
	local f

	array_read_environ "$INST" || return 1
	read -r -a URLS <<<"${ARRAY_ENV[SELFTEST_FLEET_URLS]:-}"
	for f in "$INST"/fleet/f*/sshd.pid; do
		[ -e "$f" ] || continue
		SSHD_PIDS+=("$(cat "$f")")
		KEYTABS+=("${f%/sshd.pid}/http.keytab")
	done
}

started()
{
	[ "${#URLS[@]}" = "$N" ] && [ "${#SSHD_PIDS[@]}" = "$N" ] ||
		{ echo "${#URLS[@]} URLs and ${#SSHD_PIDS[@]} sshds, not $N"
		  return 1; }
}

create_on_all()
{
	local out k

	out=$(asa create "$NAME" --spn "${SPNS[@]}" --member "${URLS[@]}" \
		-s "$SMB_CONF_PATH" 2>&1) || { echo "$out"; return 1; }
	[ "$(grep -c ': installed; holds kvno 1$' <<<"$out")" = "$N" ] ||
		{ echo "$out"; return 1; }
	for k in "${KEYTABS[@]}"; do
		[ -s "$k" ] || { echo "no keytab $k"; return 1; }
	done
}

# Every member's keytab decrypts a fresh ticket for each SPN at KVNO.
kvno_all()
{
	local want=$1 k spn out

	started || return 1
	nsx kdestroy >/dev/null 2>&1
	nsx kinit "$DC_USERNAME@$REALM" <"$SELFTEST_PASSWORD_FILE" \
		>/dev/null || { echo "kinit failed"; return 1; }
	for k in "${KEYTABS[@]}"; do
		for spn in "${SPNS[@]}"; do
			out=$(nsx kvno -k "$k" "$spn" 2>&1) &&
			[[ $out == *"kvno = $want, keytab entry valid"* ]] ||
				{ echo "$k, $spn: $out"; return 1; }
		done
	done
}

verify_all()
{
	local out

	out=$(asa verify "$NAME" -s "$SMB_CONF_PATH" 2>&1) &&
	grep -q "all $((${#SPNS[@]} * N)) (SPN, member) pairs work" <<<"$out" ||
		{ echo "$out"; return 1; }
}

roll_all()
{
	local out

	out=$(asa roll "$NAME" -s "$SMB_CONF_PATH" 2>&1) &&
	grep -q "^Rolled $NAME: kvno 1 -> 2" <<<"$out" &&
	[ "$(grep -c ': holds kvno 2, 1$' <<<"$out")" = "$N" ] ||
		{ echo "$out"; return 1; }
}

# Nothing of the fleet left: no process runs one of its files (an sshd
# or a session of one), no hosts or known_hosts line, no directory.
nothing_left()
{
	local p left=0

	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		array_is_ours "$p" "$INST/fleet" && array_any_alive "$p" &&
			{ echo "process $p still runs"; left=1; }
	done
	grep -F "$FLEET_TAG" "$HOSTS" "$KNOWN" && left=1
	[ ! -e "$INST/fleet" ] || { echo "$INST/fleet is still there"; left=1; }
	return $left
}

stop_fleet()
{
	local p

	for p in "${SSHD_PIDS[@]}"; do
		array_any_alive "$p" || { echo "sshd $p is not running"; return 1; }
	done
	fleet_stop "$INST" && nothing_left
}

# A member's address already taken: the start fails and stops the others.
failed_start()
{
	local out rc i

	"${NSX[@]}" /usr/bin/python3 -c '
import socket, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.1.3", 22))
s.listen()
print("listening", flush=True)
time.sleep(120)' >"$TMP/blocker" 2>&1 &
	BLOCKER=$!
	for ((i = 0; i < 100; i++)); do
		grep -q listening "$TMP/blocker" && break
		sleep 0.1
	done
	grep -q listening "$TMP/blocker" || { cat "$TMP/blocker"; return 1; }
	out=$(fleet_start "$INST" 5 2>&1)
	rc=$?
	kill "$BLOCKER" 2>/dev/null
	BLOCKER=
	echo "$out"
	[ "$rc" != 0 ] || { echo "the start did not fail"; return 1; }
	grep -q "the sshd of f3 has gone" <<<"$out" && nothing_left
}

fleet_start "$INST" "$N" >"$TMP/start.out" 2>&1
fleet_members
check "start: $N members, each its own sshd" started || {
	cat "$TMP/start.out" >&2
	exit 1
}
check "create: the keytab installed on every member" create_on_all
check "kvno -k: every member's keytab, kvno 1" kvno_all 1
check "verify: every SPN on every member" verify_all
check "roll: every member holds kvno 2 and 1" roll_all
check "kvno -k: every member's keytab, kvno 2" kvno_all 2
check "stop: no sshd, hosts or known_hosts line left" stop_fleet
check "a failed start stops the members it started" failed_start
exit $((FAILED > 0))
