#!/bin/bash
# selftest/subunit.sh: helpers for shell test suites that speak subunit v1.
#
#	. "$(dirname "$0")/subunit.sh"
#	testit "rootDSE answers" ldapsearch -x -H "ldap://$SERVER_IP" ...
#	testit_expect_failure "plain bind refused" ldapsearch -x -D ... -w ...
#	skipit "LDB module loaded" "the module is not built"
#	exit $failed
#
# Each test prints "test: NAME", then "success: NAME" or "failure: NAME [",
# the command's output, "]".  selftest/selftest.py prefixes NAME with the
# suite's name.  $failed counts the failures, so a suite can exit non-zero
# when one failed (the runner counts the lines either way).

failed=0

subunit_start_test()
{
	echo "test: $1"
}

subunit_pass_test()
{
	echo "success: $1"
}

# subunit_fail_test NAME [DETAILS]: DETAILS (or standard input) goes between
# the brackets.  A details line that is exactly "]" would end the block
# early, so every line is indented by one space.
subunit_fail_test()
{
	echo "failure: $1 ["
	if [ $# -ge 2 ]; then
		printf '%s\n' "$2"
	else
		cat
	fi | sed 's/^/ /'
	echo "]"
}

subunit_skip_test()
{
	echo "skip: $1 ["
	printf ' %s\n' "${2:-skipped}"
	echo "]"
}

# result NAME OK DETAILS: report one test (OK 1 passed, 0 failed),
# counting failures in FAILED.  A suite may define its own.
: "${FAILED:=0}"
result()
{
	local name=$1 ok=$2 out=$3

	if [ "$ok" = 1 ]; then
		subunit_pass_test "$name"
	else
		FAILED=$((FAILED + 1))
		subunit_fail_test "$name" "$out"
	fi
}

# testit NAME COMMAND...: passes when COMMAND exits 0.
testit()
{
	local name=$1 out status
	shift
	subunit_start_test "$name"
	out=$("$@" 2>&1)
	status=$?
	if [ "$status" = 0 ]; then
		subunit_pass_test "$name"
	else
		failed=$((failed + 1))
		printf '%s\nexit status %s of: %s\n' "$out" "$status" "$*" |
			subunit_fail_test "$name"
	fi
	return "$status"
}

# testit_expect_failure NAME COMMAND...: passes when COMMAND fails.
testit_expect_failure()
{
	local name=$1 out status
	shift
	subunit_start_test "$name"
	out=$("$@" 2>&1)
	status=$?
	if [ "$status" != 0 ]; then
		subunit_pass_test "$name"
		return 0
	fi
	failed=$((failed + 1))
	printf '%s\nunexpectedly succeeded: %s\n' "$out" "$*" |
		subunit_fail_test "$name"
	return 1
}

# skipit NAME REASON
skipit()
{
	subunit_start_test "$1"
	subunit_skip_test "$1" "$2"
}
