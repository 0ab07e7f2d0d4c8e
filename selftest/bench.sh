#!/bin/bash
# make bench: benchmarks that print figures (not timed tests).
# BENCH_SIZES (default 1000,10000,100000), BENCH_WRITES (default 300) and
# BENCH_CG_WRITES (writes per callgrind run, default 100; 0 skips it).
set -eu
cd "$(dirname "$0")/.."
exec /usr/bin/python3 selftest/bench/bench_spn.py \
	--sizes "${BENCH_SIZES:-1000,10000,100000}" \
	--writes "${BENCH_WRITES:-300}" \
	--cg-writes "${BENCH_CG_WRITES:-100}"
