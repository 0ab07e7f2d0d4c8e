#!/bin/bash
# selftest/bench/bench_roll_ldap.sh: does rolling an ASA disturb the DC?
# LDAP search latency (p50 / p99) on the DC while `samba-asa roll` runs
# back to back, against the same DC idle, in the same run.
#
# Figures, not a test.  A DC (samba -M single: every service shares one
# process, the case where a busy roll would show most) and an array of
# BENCH_ROLL_MEMBERS members (default 3) start in a namespace of their
# own; an ASA with the seed's five SPNs is created on them; then one LDAP
# client searches for BENCH_ROLL_SECONDS (default 30) with nothing else
# going on, and again as long while rolls run one after another.
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
# shellcheck source=selftest/array.sh
. "$REPO/selftest/array.sh"

N=${BENCH_ROLL_MEMBERS:-3}
SECS=${BENCH_ROLL_SECONDS:-30}
ASA=$REPO/bin/tools/samba-asa
RUN=$REPO/st/bench-roll-$$
NS=asa-benchroll-$$
INST=$RUN/ad_dc
ROLLER=

# shellcheck source=selftest/bench/array_env.sh
. "$REPO/selftest/bench/array_env.sh"
bench_preflight bench_roll_ldap

teardown()
{
	trap - EXIT INT TERM HUP
	if [ -n "$ROLLER" ]; then
		touch "$RUN/stop"
		wait "$ROLLER" 2>/dev/null
	fi
	bench_array_stop
}
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

say "provisioning a DC and starting it with an array of $N members"
bench_array_start "$N"

nsx()
{
	ip netns exec "$NS" "$@"
}

LOCAL=(-H "$PREFIX_ABS/private/sam.ldb" -s "$SMB_CONF_PATH")
nsx kinit "$DC_USERNAME@$REALM" <"$SELFTEST_PASSWORD_FILE" >/dev/null ||
	{ say "kinit failed"; exit 2; }
nsx "$ASA" create benchroll --spn "${SPNS[@]}" \
	--member "${URLS[@]}" "${LOCAL[@]}" \
	>"$RUN/create.out" 2>&1 ||
	{ cat "$RUN/create.out"; say "create failed"; exit 2; }

search()
{
	nsx /usr/bin/python3 "$REPO/selftest/bench/bench_ldap_client.py" \
		"ldap://$SERVER.$L" "$SECS"
}

# rolls one after another until $RUN/stop exists; one line per roll:
# exit status, seconds
roller()
{
	local t0 rc

	while [ ! -e "$RUN/stop" ]; do
		t0=$EPOCHREALTIME
		nsx "$ASA" roll benchroll "${LOCAL[@]}" >/dev/null 2>&1
		rc=$?
		echo "$rc $(awk -v a="$t0" -v b="$EPOCHREALTIME" \
			'BEGIN { printf "%.2f", b - a }')"
	done
}

say "searching for $SECS s with the DC idle"
IDLE=$(search) || { say "the search client failed"; exit 2; }
say "searching for $SECS s while rolls run back to back"
roller >"$RUN/rolls" &
ROLLER=$!
BUSY=$(search) || { say "the search client failed"; exit 2; }
touch "$RUN/stop"	# the roll under way finishes
wait "$ROLLER" 2>/dev/null
ROLLER=

/usr/bin/python3 - "$IDLE" "$BUSY" "$RUN/rolls" "$N" <<'EOF'
import json, sys
idle, busy = json.loads(sys.argv[1]), json.loads(sys.argv[2])
rolls = [l.split() for l in open(sys.argv[3]) if l.strip()]
done = [float(t) for rc, t in rolls if rc == '0']
failed = sum(1 for rc, t in rolls if rc != '0')
print()
print('LDAP search latency on the DC (samba -M single), idle vs while '
      'rolls run (%s members)' % sys.argv[4])
print('%-16s %9s %9s %9s %9s' % ('', 'searches', 'p50 ms', 'p99 ms',
                                 'max ms'))
for name, r in (('idle', idle), ('during rolls', busy)):
    print('%-16s %9d %9.2f %9.2f %9.2f' % (name, r['searches'], r['p50_ms'],
                                           r['p99_ms'], r['max_ms']))
print('ratio (rolls/idle): p50 %.2fx, p99 %.2fx' % (
    busy['p50_ms'] / idle['p50_ms'], busy['p99_ms'] / idle['p99_ms']))
print('rolls completed during the window: %d (median %.1f s each), '
      'failed: %d' % (len(done), sorted(done)[len(done) // 2] if done
                      else float('nan'), failed))
EOF
