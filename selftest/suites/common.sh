#!/bin/bash
# selftest/suites/common.sh: the setup that the shell suites run against a
# real DC (environment ad_dc) share.  Source it first:
#
#	. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
#
# It stops the suite (exit 2) unless SERVER_IP, REALM, DC_USERNAME,
# DC_PASSWORD, PREFIX_ABS, SMB_CONF_PATH and KRB5_CONFIG are set, exports
# KRB5_CONFIG, and sets
#
#	REPO	the top of the tree
#	ASA	the samba-asa binary ($SAMBA_ASA, or the one built)
#	NSX	the command prefix that runs a client inside SELFTEST_NETNS,
#		empty when we already are there
#	TMP	a scratch directory, removed on exit
#
# and exports KRB5CCNAME, a credentials cache in TMP.  It defines check
# and expect, on selftest/subunit.sh's subunit_* and result (sourced
# here), and nsx (a command in the namespace), asa (samba-asa there) and
# member_var (SELFTEST_MEMBER_<N>_<VAR> of selftest/array.sh).  A suite
# may define its own of any of them after sourcing this.
#
# Copyright (C) samba-asa authors 2026
#
# This program is free software; you can redistribute it and/or modify
# it under the terms of the GNU General Public License as published by
# the Free Software Foundation; either version 3 of the License, or
# (at your option) any later version.

set -u

suite_name=$(basename "$0" .sh)

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$REPO/selftest/subunit.sh"
ASA=${SAMBA_ASA:-$REPO/bin/tools/samba-asa}

for v in SERVER_IP REALM DC_USERNAME DC_PASSWORD PREFIX_ABS SMB_CONF_PATH \
	 KRB5_CONFIG; do
	if [ -z "${!v:-}" ]; then
		echo "$suite_name.sh: $v is not set: run inside env ad_dc" >&2
		exit 2
	fi
done
export KRB5_CONFIG

# Run clients inside the DC's network namespace unless we already are.
NSX=()
if [ -n "${SELFTEST_NETNS:-}" ] &&
   [ "$(ip netns identify $$ 2>/dev/null)" != "$SELFTEST_NETNS" ]; then
	NSX=(ip netns exec "$SELFTEST_NETNS")
fi

nsx()
{
	"${NSX[@]}" "$@"
}

asa()
{
	"${NSX[@]}" "$ASA" "$@"
}

# asa_keyword DN KEY: a keyword of the ASA at DN, read from $SAM.
asa_keyword()
{
	nsx ldbsearch -H "$SAM" -b "CN=samba-asa,$1" -s base keywords \
		2>/dev/null | unfold | sed -n "s/^keywords: $2=//p"
}

# set_last_roll DN SECONDS: the ASA's last roll as the directory says.
set_last_roll()
{
	local dn=$1 t=$2 old

	old=$(asa_keyword "$dn" last_roll)
	{
		echo "dn: CN=samba-asa,$dn"
		echo "changetype: modify"
		if [ -n "$old" ]; then
			echo "delete: keywords"
			echo "keywords: last_roll=$old"
			echo "-"
		fi
		echo "add: keywords"
		echo "keywords: last_roll=$t"
	} | nsx ldbmodify -H "$SAM" >/dev/null
}

# member_var N VAR: selftest/array.sh's SELFTEST_MEMBER_<N>_<VAR>
member_var()
{
	local var=SELFTEST_MEMBER_$1_$2
	echo "${!var}"
}

TMP=$(mktemp -d "/tmp/$suite_name.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
export KRB5CCNAME=FILE:$TMP/ccache

FAILED=0

# check NAME COMMAND...: passes when COMMAND (a function that prints what
# it saw) exits 0.
check()
{
	local name=$1 out rc
	shift

	subunit_start_test "$name"
	out=$("$@" 2>&1)
	rc=$?
	result "$name" "$([ "$rc" = 0 ] && echo 1 || echo 0)" \
		"$out
exit status $rc of: $*"
	return "$rc"
}

# expect NAME RC PATTERN [!PATTERN] -- CMD...
# CMD must exit RC ("nz": any non-zero status) with output (stdout and
# stderr) matching the extended regular expression PATTERN (empty:
# anything) and, if given, not matching the second one.  The suite
# defines how a test is reported: result NAME OK DETAILS (OK is 1 or 0).
expect()
{
	local name=$1 rc=$2 pat=$3 notpat="" out got ok=1
	shift 3
	if [ "$1" != "--" ]; then
		notpat=${1#!}
		shift
	fi
	shift
	echo "test: $name"
	out=$("$@" 2>&1)
	got=$?
	if [ "$rc" = nz ]; then
		[ "$got" != 0 ] || ok=0
	elif [ "$got" != "$rc" ]; then
		ok=0
	fi
	if [ -n "$pat" ] && ! grep -qE -- "$pat" <<<"$out"; then
		ok=0
	fi
	if [ -n "$notpat" ] && grep -qE -- "$notpat" <<<"$out"; then
		ok=0
	fi
	result "$name" "$ok" \
		"exit $got (wanted $rc), wanted /$pat/${notpat:+ and not /$notpat/}
\$ $*
$out"
}
