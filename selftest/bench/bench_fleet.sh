#!/bin/bash
# selftest/bench/bench_fleet.sh: samba-asa create, verify and roll on
# arrays of 1, 10, 50 and 100 members, and how each grows with the array.
#
# Figures, not a test: nothing here asserts a time.  A DC and a fleet of
# members (selftest/fleet.sh: each member its own sshd and the member
# program, nothing else) start in a network namespace of their own; then,
# ROUNDS times, for each size N in turn, an ASA with the seed's five SPNs is
# created on the first N members, verified (5 x N tickets decrypted with
# the keytabs fetched back over ssh, the KDC's keys compared) and rolled,
# and removed again with the members' keytabs.  Each command is measured by
# fleet_measure.py (wall time, peak memory of samba and of samba-asa, CPU of
# the DC's side and of the members' side); the table at the end gives the
# median and range per size and the median's ratio to 1 member.
#
# The members run on the same CPUs as the DC here: what they spend (sshd's
# key exchange, the member program) is the "mem. s" column, which a real
# array spends on its own hosts.
#
# The raw figures are kept in st/bench-fleet-DATE.jsonl.
#
# usage: bench_fleet.sh   BENCH_FLEET_SIZES (default 1,10,50,100, at most
#                         250 members), BENCH_FLEET_ROUNDS (default 3),
#                         BENCH_FLEET_CONCURRENCY (asa:member concurrency;
#                         default: samba-asa's)
#
# Copyright (C) samba-asa authors 2026
#
# This program is free software; you can redistribute it and/or modify
# it under the terms of the GNU General Public License as published by
# the Free Software Foundation; either version 3 of the License, or
# (at your option) any later version.

set -u
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=selftest/env.sh
. "$REPO/selftest/env.sh"
# shellcheck source=selftest/fleet.sh
. "$REPO/selftest/fleet.sh"

IFS=, read -r -a SIZES <<<"${BENCH_FLEET_SIZES:-1,10,50,100}"
ROUNDS=${BENCH_FLEET_ROUNDS:-3}
CONCURRENCY=${BENCH_FLEET_CONCURRENCY:-}
[ -z "$CONCURRENCY" ] || [[ $CONCURRENCY =~ ^[1-9][0-9]*$ ]] ||
	{ echo "bench_fleet: BENCH_FLEET_CONCURRENCY: '$CONCURRENCY'" >&2; exit 2; }
ASA=$REPO/bin/tools/samba-asa
MEASURE=$REPO/selftest/bench/fleet_measure.py
RUN=$REPO/st/bench-fleet-$$
NS=asa-fleet-$$
INST=$RUN/ad_dc

# shellcheck source=selftest/bench/array_env.sh
. "$REPO/selftest/bench/array_env.sh"
bench_preflight bench_fleet
MAX=0
for n in "${SIZES[@]}"; do
	[[ $n =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] && [ "$n" -le "$FLEET_MAX" ] ||
		{ say "BENCH_FLEET_SIZES: '$n' is not 1..$FLEET_MAX"; exit 2; }
	[ "$n" -gt "$MAX" ] && MAX=$n
done

teardown()
{
	trap - EXIT INT TERM HUP
	fleet_stop "$INST" >/dev/null 2>&1
	bench_array_stop
}
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# --- the environment -------------------------------------------------------

say "provisioning a DC and starting it with a fleet of $MAX members"
bench_dc_start
# samba-asa reads smb.conf at each run: no restart needed.
[ -z "$CONCURRENCY" ] ||
	sed -i "/^\[global\]/a\\	asa:member concurrency = $CONCURRENCY" \
		"$SMB_CONF_PATH"
t0=$EPOCHREALTIME
fleet_start "$INST" "$MAX" || { say "the fleet did not start"; exit 2; }
say "$MAX members up in $(array_elapsed "$t0" "$EPOCHREALTIME") s"
bench_export_environ
read -r -a URLS <<<"$SELFTEST_FLEET_URLS"
KEYTABS=()
for ((i = 1; i <= MAX; i++)); do
	KEYTABS+=("$SELFTEST_FLEET_DIR/f$i/http.keytab")
done
for f in "$SELFTEST_FLEET_DIR"/*/sshd.pid; do
	cat "$f"
done >"$RUN/listeners"
SAM=$PREFIX_ABS/private/sam.ldb

nsx()
{
	ip netns exec "$NS" "$@"
}

nsx kinit "$DC_USERNAME@$REALM" <"$SELFTEST_PASSWORD_FILE" >/dev/null ||
	{ say "kinit failed"; exit 2; }

# timed WHAT N COMMAND...: run it under fleet_measure.py; its output in
# RUN/out.  Fails when the command does.
timed()
{
	local what=$1 n=$2 rc
	shift 2

	: >"$RUN/out"
	/usr/bin/python3 "$MEASURE" run --out "$RUN/figures" --label "$what" \
		--members "$n" --samba-pid "$SELFTEST_SAMBA_PID" \
		--listener-pids "$RUN/listeners" --log "$RUN/out" \
		-- nsx_exec "$@"
	rc=$?
	[ "$rc" = 0 ] && return 0
	failed=1
	say "$what on $n members exited $rc:"
	grep -v ' ok (kvno\|installed; holds\|holds kvno\|keys: equal' \
		"$RUN/out" | tail -n 8 | sed 's/^/    /'
	return 1
}

remove_asa()
{
	local name=$1 n=$2 dn

	dn=$(nsx ldbsearch -H "$SAM" "(sAMAccountName=$name\$)" dn 2>/dev/null |
		sed -n 's/^dn: //p')
	[ -n "$dn" ] && nsx ldbdel -r -H "$SAM" "$dn" >/dev/null
	rm -f "${KEYTABS[@]:0:n}"
}

# fleet_measure.py runs this through PATH: a shell function is not a
# program, so a small script stands in for nsx.
cat >"$RUN/nsx_exec" <<EOF
#!/bin/sh
exec ip netns exec "$NS" "\$@"
EOF
chmod 0755 "$RUN/nsx_exec"
export PATH=$RUN:$PATH

failed=0
for ((r = 1; r <= ROUNDS; r++)); do
	for n in "${SIZES[@]}"; do
		name=fl${n}r$r
		say "round $r of $ROUNDS: $name on $n members (load" \
			"$(cut -d' ' -f1 /proc/loadavg))"
		timed create "$n" "$ASA" create "$name" --spn "${SPNS[@]}" \
			--member "${URLS[@]:0:n}" -s "$SMB_CONF_PATH"
		timed verify "$n" "$ASA" verify "$name" -s "$SMB_CONF_PATH" &&
		{ grep -q "all $((${#SPNS[@]} * n)) (SPN, member) pairs work" \
			"$RUN/out" ||
		{ say "verify did not check every pair"; failed=1; }; }
		timed roll "$n" "$ASA" roll "$name" -s "$SMB_CONF_PATH"
		remove_asa "$name" "$n"
	done
done

# --- report ----------------------------------------------------------------

echo
echo "samba-asa on a fleet: ${#SPNS[@]} SPNs, $ROUNDS rounds ($(nproc) CPUs," \
     "load $(cut -d' ' -f1-3 /proc/loadavg), samba -M $SELFTEST_SAMBA_MODEL)"
/usr/bin/python3 "$MEASURE" report "$RUN/figures"
# the raw figures outlive the run (fleet_measure.py report FILE)
mkdir -p "$REPO/st"
cp "$RUN/figures" "$REPO/st/bench-fleet-$(date +%Y%m%d-%H%M%S).jsonl"
cat <<EOF

wall s     median wall time (min-max over the rounds); x1: the median's ratio
           to the median with 1 member; fail: runs that exited non-zero
samba MB   samba's peak RSS during the command (the largest process of its
           tree; VmHWM, reset before each command)
asa MB     samba-asa's own peak RSS; asa+ch MB: peak of the sum of RSS of
           samba-asa and its children (ssh to each member, samba-tool)
DC cpu s   CPU time of samba-asa and its children (the DC's side)
samba s    CPU time of samba (LDAP, KDC) during the command
mem. s     CPU time of the members (sshd per connection and the member
           program), which real members spend on their own hosts
EOF
exit $failed
