#!/bin/bash
# selftest/unit.sh: the suite "unit", every cmocka program bin/test/test_*,
# each test reported as PROGRAM.TEST in subunit v1.
#
# cmocka writes subunit itself when CMOCKA_MESSAGE_OUTPUT=SUBUNIT.  A program
# that dies (a crash, a failed talloc leak check, a sanitizer report) without
# reporting a failure is reported as a failure of PROGRAM, so a crash is
# never silent.

set -u
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$REPO/selftest/subunit.sh"

export CMOCKA_MESSAGE_OUTPUT=SUBUNIT
status=0
found=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT

for prog in "$REPO"/bin/test/test_*; do
	# The build directory also holds object files (test_x.c.1.o).
	[ -f "$prog" ] && [ -x "$prog" ] || continue
	found=1
	name=$(basename "$prog")
	"$prog" >"$out" 2>&1
	rc=$?
	# Prefix every test name with the program's, keep the rest.
	sed -E "s/^(test|testing|success|successful|failure|fail|error|skip|xfail|uxsuccess): /\1: $name./" "$out"
	if [ "$rc" != 0 ] && ! grep -qE '^(failure|fail|error):' "$out"; then
		subunit_start_test "$name"
		tail -40 "$out" |
		{ cat; echo "$name exited with status $rc"; } |
			subunit_fail_test "$name"
	fi
	[ "$rc" = 0 ] || status=1
done

if [ "$found" = 0 ]; then
	echo "unit.sh: no cmocka programs in $REPO/bin/test (not built?)" >&2
fi
exit $status
