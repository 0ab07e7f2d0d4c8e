#!/bin/bash
# Build the libFuzzer targets (test/fuzz_*.c) with clang in a build
# directory of their own (bin-fuzz/, its own waf lock file, so the main
# build in bin/ is untouched) and run each for a bounded time.
#
# usage: buildtools/fuzz.sh [--subunit] SECONDS
#   --subunit   report each target as a subunit v1 test (for selftest)
set -u

TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP"
subunit=0
if [ "${1:-}" = --subunit ]; then
	subunit=1
	shift
fi
seconds=${1:-300}
export WAFLOCK=.lock-waf-fuzz
out="$TOP/bin-fuzz"
log="$out/build.log"
mkdir -p "$out"

report() { # NAME RESULT [DETAILS-FILE]
	if [ $subunit = 1 ]; then
		echo "test: $1"
		if [ "$2" = success ]; then
			echo "success: $1"
		else
			echo "failure: $1 ["
			[ -n "${3:-}" ] && tail -40 "$3"
			echo "]"
		fi
	else
		echo "$1: $2"
	fi
}

if ! command -v clang >/dev/null; then
	report fuzz.build failure
	echo "clang is not installed (apt-get install clang)" >&2
	exit 1
fi
if [ ! -f "$out/c4che/_cache.py" ] || [ wscript -nt "$out/c4che/_cache.py" ]; then
	CC=clang buildtools/bin/waf configure --prefix=/usr --out="$out" \
		--enable-fuzzing > "$log" 2>&1 ||
		{ report fuzz.build failure "$log"; exit 1; }
fi
buildtools/bin/waf build > "$log" 2>&1 ||
	{ report fuzz.build failure "$log"; exit 1; }

rc=0
for target in "$out"/test/fuzz_*; do
	[ -x "$target" ] || continue
	name=$(basename "$target")
	corpus="$out/corpus/$name"
	mkdir -p "$corpus"
	flog="$out/$name.log"
	# -rss_limit_mb bounds memory; findings land in $out/crash-*.
	if "$target" -max_total_time="$seconds" -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$out/$name-" \
		"$corpus" > "$flog" 2>&1; then
		report "fuzz.$name" success
		[ $subunit = 1 ] || grep -E 'stat::number_of_executed_units' "$flog"
	else
		report "fuzz.$name" failure "$flog"
		rc=1
	fi
done
exit $rc
