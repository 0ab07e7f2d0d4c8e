#!/bin/bash
# make bench: benchmarks that print figures (not timed tests).
#
# BENCH_ONLY: which ones, comma-separated (default spn,asa,roll,fleet):
#   spn   unique_principal_names per SPN write and spn audit, at several
#         database sizes: BENCH_SIZES (default 1000,10000,100000),
#         BENCH_WRITES (default 300) and BENCH_CG_WRITES (writes per
#         callgrind run, default 100; 0 skips it)
#   asa   samba-asa create and verify for an ASA on an array of
#         BENCH_ASA_MEMBERS members (default 20), BENCH_ASA_ROUNDS rounds
#         (default 3)
#   roll  LDAP search latency on the DC idle and while rolls run back to
#         back: BENCH_ROLL_MEMBERS (default 3), BENCH_ROLL_SECONDS (30)
#   fleet samba-asa create, verify and roll on 1, 10, 50 and 100 members
#         (selftest/fleet.sh: sshd and the member program only), their
#         ratios to 1 member, peak memory and CPU: BENCH_FLEET_SIZES
#         (default 1,10,50,100), BENCH_FLEET_ROUNDS (default 3),
#         BENCH_FLEET_CONCURRENCY (asa:member concurrency)
set -u
cd "$(dirname "$0")/.."
what=",${BENCH_ONLY:-spn,asa,roll,fleet},"
rc=0
if [[ $what == *,spn,* ]]; then
	/usr/bin/python3 selftest/bench/bench_spn.py \
		--sizes "${BENCH_SIZES:-1000,10000,100000}" \
		--writes "${BENCH_WRITES:-300}" \
		--cg-writes "${BENCH_CG_WRITES:-100}" || rc=1
fi
if [[ $what == *,asa,* ]]; then
	bash selftest/bench/bench_asa.sh || rc=1
fi
if [[ $what == *,roll,* ]]; then
	bash selftest/bench/bench_roll_ldap.sh || rc=1
fi
if [[ $what == *,fleet,* ]]; then
	bash selftest/bench/bench_fleet.sh || rc=1
fi
exit $rc
