#!/bin/bash
# selftest/bench/bench_asa.sh: how long `samba-asa create`, `verify` and
# `roll` take for an ASA whose server array has N members (default 20).
#
# Figures, not a test: nothing here asserts a time.  A DC and an array of N
# members (selftest/array.sh: each member its own sshd and Apache) are
# started in a network namespace of their own; then, ROUNDS times, an ASA
# with the seed's five SPNs is created on all N members and verified
# (5 x N real tickets decrypted with keytabs fetched back over ssh, and
# the KDC's keys compared), and the ASA and the members' keytabs are
# removed again.  Also timed: `create` again with nothing to change,
# `status`, and `keytab` (one `samba-tool domain exportkeytab`, the fixed
# cost that create and verify each pay once).
#
# usage: bench_asa.sh      BENCH_ASA_MEMBERS (default 20, at most 40)
#                          BENCH_ASA_ROUNDS (default 3)
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

N=${BENCH_ASA_MEMBERS:-20}
ROUNDS=${BENCH_ASA_ROUNDS:-3}
ASA=$REPO/bin/tools/samba-asa
RUN=$REPO/st/bench-asa-$$
NS=asa-bench-$$
INST=$RUN/ad_dc

# shellcheck source=selftest/bench/array_env.sh
. "$REPO/selftest/bench/array_env.sh"
bench_preflight bench_asa

teardown()
{
	trap - EXIT INT TERM HUP
	bench_array_stop
}
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# --- the environment -------------------------------------------------------

say "provisioning a DC and starting it with an array of $N members"
bench_array_start "$N"
SAM=$PREFIX_ABS/private/sam.ldb

nsx()
{
	ip netns exec "$NS" "$@"
}

install -d -m 0700 "$PREFIX_ABS/private/asa"
install -m 0600 "$SELFTEST_ARRAY_SSH_KEY" "$PREFIX_ABS/private/asa/id_ed25519"
install -m 0644 "$SELFTEST_ARRAY_SSH_KNOWN_HOSTS" \
	"$PREFIX_ABS/private/asa/known_hosts"
nsx kinit "$DC_USERNAME@$REALM" <"$SELFTEST_PASSWORD_FILE" >/dev/null ||
	{ say "kinit failed"; exit 2; }

# --- timing --------------------------------------------------------------

declare -A SECONDS_OF	# "what round" -> seconds

# timed WHAT ROUND EXPECTED_STATUS COMMAND...: run it, record the wall time
timed()
{
	local what=$1 round=$2 want=$3 t0 t1 rc
	shift 3

	t0=$EPOCHREALTIME
	"$@" >"$RUN/out" 2>&1
	rc=$?
	t1=$EPOCHREALTIME
	SECONDS_OF["$what $round"]=$(awk -v a="$t0" -v b="$t1" \
		'BEGIN { printf "%.3f", b - a }')
	if [ "$rc" != "$want" ]; then
		say "$what (round $round) exited $rc, not $want:"
		tail -n 20 "$RUN/out" | sed 's/^/    /'
		return 1
	fi
}

remove_asa()
{
	local name=$1 dn m var

	dn=$(nsx ldbsearch -H "$SAM" "(sAMAccountName=$name\$)" dn 2>/dev/null |
		sed -n 's/^dn: //p')
	[ -n "$dn" ] && nsx ldbdel -r -H "$SAM" "$dn" >/dev/null
	for m in "${MEMBERS[@]}"; do
		var=SELFTEST_MEMBER_KEYTAB_$m
		rm -f "${!var}"
	done
}

failed=0
for ((r = 1; r <= ROUNDS; r++)); do
	name=bench$r
	say "round $r of $ROUNDS: $name with ${#SPNS[@]} SPNs on $N members"
	timed create "$r" 0 nsx "$ASA" create "$name" --spn "${SPNS[@]}" \
		--member "${URLS[@]}" -s "$SMB_CONF_PATH" || { failed=1; break; }
	timed create-again "$r" 0 nsx "$ASA" create "$name" \
		--spn "${SPNS[@]}" --member "${URLS[@]}" -s "$SMB_CONF_PATH" ||
		{ failed=1; break; }
	timed verify "$r" 0 nsx "$ASA" verify "$name" -s "$SMB_CONF_PATH" ||
		{ failed=1; break; }
	grep -q "all $((${#SPNS[@]} * N)) (SPN, member) pairs work" \
		"$RUN/out" || { say "verify did not check every pair"; failed=1;
				break; }
	timed verify-ldap "$r" 0 nsx "$ASA" verify "$name" \
		-H "ldap://$SERVER_IP" -k yes -s "$SMB_CONF_PATH" ||
		{ failed=1; break; }
	timed roll "$r" 0 nsx "$ASA" roll "$name" -s "$SMB_CONF_PATH" ||
		{ failed=1; break; }
	timed roll-ldap "$r" 0 nsx "$ASA" roll "$name" \
		-H "ldap://$SERVER_IP" -k yes -s "$SMB_CONF_PATH" ||
		{ failed=1; break; }
	timed status "$r" 0 nsx "$ASA" status "$name" -s "$SMB_CONF_PATH" ||
		{ failed=1; break; }
	timed keytab "$r" 0 nsx "$ASA" keytab "$name" "$RUN/k.keytab" \
		-s "$SMB_CONF_PATH" || { failed=1; break; }
	rm -f "$RUN/k.keytab"
	remove_asa "$name"
done

# --- report ----------------------------------------------------------------

echo
echo "samba-asa create / verify / roll, ${#SPNS[@]} SPNs, $N members, $ROUNDS" \
     "rounds ($(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg))"
printf '%-14s    %10s %10s %10s  %12s\n' "command" "min s" "median s" \
	"max s" "per member"
for what in create create-again verify verify-ldap roll roll-ldap status \
	    keytab; do
	values=()
	for ((r = 1; r <= ROUNDS; r++)); do
		[ -n "${SECONDS_OF["$what $r"]:-}" ] &&
			values+=("${SECONDS_OF["$what $r"]}")
	done
	[ "${#values[@]}" -gt 0 ] || continue
	printf '%s\n' "${values[@]}" | sort -n | awk -v w="$what" -v n="$N" '
		{ v[NR] = $1 }
		END {
			if (NR % 2) med = v[(NR + 1) / 2]
			else med = (v[NR / 2] + v[NR / 2 + 1]) / 2
			printf "%-14s    %10.2f %10.2f %10.2f  %10.3f s\n",
				w, v[1], med, v[NR], med / n
		}'
done
cat <<EOF

create        new ASA: directory writes, one exportkeytab, keytab pushed to
              every member at once over ssh
create-again  the same arguments: nothing to change (from the members' status
              in the directory; no member contacted)
verify        on the DC: a ticket per SPN, every member's keytab fetched,
              ${#SPNS[@]} x $N decryptions, the KDC's keys compared
verify-ldap   over ldap:// with Kerberos: the same without the KDC's keys
roll          on the DC: new keys pushed to every member at once, the
              password changed, the KDC's kvno and keys (exportkeytab) checked
roll-ldap     over ldap:// with Kerberos: the same, the kvno checked only
status        directory only, no member contacted
keytab        one samba-tool domain exportkeytab (python start-up included)
EOF
exit $failed
