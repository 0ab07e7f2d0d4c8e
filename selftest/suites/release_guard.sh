#!/bin/bash
# selftest/suites/release_guard.sh: modules built for another Samba release
# never load into this one, and samba's log says why (env ad_dc, with
# "server services = +asa_roll").
#
# ASA_FOREIGN_MODULES names a directory holding asa_roll.so and
# unique_principal_names.so built against another Samba release (make
# test-debian13 hands the Debian 12 build's modules to the Debian 13 run:
# what a DC upgraded to Debian 13 without samba-asa's package would load).
# Without it every test is skipped.
#
#   asa_roll: samba (restarted with the foreign asa_roll.so in its service
#   directory) refuses to start, naming the service; its log names the
#   module and the private library or ABI tag this samba lacks (4.22
#   renamed the private libraries; samba logs why a module did not load
#   at log level 5, which the plan sets); with the module built here it
#   starts again.
#   unique_principal_names: ldb refuses the foreign module, so a sam.ldb
#   whose @LIST names it does not open, and the error names the module
#   (a module of an older ldb loads and is refused by its version check,
#   "module version mismatch"; one of a newer ldb does not load).
#
# Copyright (C) samba-asa authors 2026
#
# This program is free software; you can redistribute it and/or modify
# it under the terms of the GNU General Public License as published by
# the Free Software Foundation; either version 3 of the License, or
# (at your option) any later version.

. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
ST_REPO=$REPO
. "$REPO/selftest/env.sh"

FOREIGN=${ASA_FOREIGN_MODULES:-}
TESTS="asa_roll.foreign_refused asa_roll.log_says_why
asa_roll.own_module_starts unique_principal_names.foreign_refused"

if [ -z "$FOREIGN" ] || [ ! -e "$FOREIGN/asa_roll.so" ] ||
   [ ! -e "$FOREIGN/unique_principal_names.so" ]; then
	for t in $TESTS; do
		subunit_start_test "$t"
		subunit_skip_test "$t" "no modules of another release" \
			"(ASA_FOREIGN_MODULES; make test-debian13 sets it)"
	done
	exit 0
fi

# The private ABI tag the foreign module asks for, and this samba's.
tag_of()
{
	objdump -T "$1" | awk '/register_server_service/ {
		gsub(/[()]/, "", $(NF-1)); print $(NF-1); exit }'
}
FOREIGN_TAG=$(tag_of "$FOREIGN/asa_roll.so")
OWN_TAG=$(tag_of "$REPO/bin/plugins/service/asa_roll.so")

SAMBA_PID=${SELFTEST_SAMBA_PID:?}
DIR=$PREFIX_ABS
NS=$SELFTEST_NETNS
LOG=$DIR/samba.out

stop_samba()
{
	local pid i
	read -r pid <"$DIR/samba.pid"
	kill -TERM -- "-$pid" 2>/dev/null
	for i in $(seq 1 100); do
		kill -0 -- "-$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL -- "-$pid" 2>/dev/null
	return 0
}

# start_samba SVCDIR: samba with the service modules of SVCDIR; its
# standard input is a FIFO this suite holds open (samba -i stops at EOF).
FIFO=$TMP/samba.stdin
mkfifo "$FIFO"
exec 9<>"$FIFO"
start_samba()
{
	st_launch_samba "$DIR" "$NS" "$1" "$KRB5_CONFIG" 0<&9
	read -r SAMBA_PID <"$DIR/samba.pid"
}

# Wait for samba to exit: 0 when it did within 60 s.
samba_exits()
{
	local i
	for i in $(seq 1 600); do
		kill -0 "$SAMBA_PID" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}

# ---- asa_roll ---------------------------------------------------------

stop_samba
SVC_FOREIGN=$TMP/service-foreign
cp -a "$SELFTEST_SERVICE_MODULES" "$SVC_FOREIGN"
cp "$FOREIGN/asa_roll.so" "$SVC_FOREIGN/asa_roll.so"
start_samba "$SVC_FOREIGN"

FOREIGN_LOG=$TMP/samba.foreign.out
foreign_refused()
{
	local rc=0
	echo "the foreign module asks for $FOREIGN_TAG; this samba is" \
	     "$OWN_TAG"
	[ -n "$FOREIGN_TAG" ] && [ "$FOREIGN_TAG" != "$OWN_TAG" ] || return 1
	samba_exits || { echo "samba still runs"; rc=1; }
	cp "$LOG" "$FOREIGN_LOG"
	[ $rc = 0 ] || return 1
	grep "Failed to start service 'asa_roll'" "$FOREIGN_LOG"
}
check asa_roll.foreign_refused foreign_refused

# Why: the private library it names is not there (4.22 renamed them), or
# it is, without the foreign module's tag.
log_says_why()
{
	grep -E "Error loading module '[^']*/asa_roll.so'" "$FOREIGN_LOG" |
		grep -E "cannot open shared object file|$FOREIGN_TAG" ||
		{ tail -20 "$FOREIGN_LOG"; return 1; }
}
check asa_roll.log_says_why log_says_why

own_module_starts()
{
	start_samba "$SELFTEST_SERVICE_MODULES"
	st_wait_samba "$DIR" "$NS" "$SERVER_IP" "$SAMBA_PID" "$KRB5_CONFIG" &&
		grep -m1 "asa_roll: started" "$LOG"
}
check asa_roll.own_module_starts own_module_starts

# ---- unique_principal_names -------------------------------------------

LDB_FOREIGN=$TMP/ldb-foreign
mkdir -p "$LDB_FOREIGN"
cp "$FOREIGN/unique_principal_names.so" "$LDB_FOREIGN/"
ldb_refused()
{
	local out
	out=$("${NSX[@]}" env LDB_MODULES_PATH="$LDB_FOREIGN" ldbsearch \
		-H "$DIR/private/sam.ldb" -s base -b '' dnsHostName 2>&1) && {
		echo "$out"; echo "sam.ldb opened with the foreign module"
		return 1; }
	echo "$out"
	grep -qE "unique_principal_names|module version mismatch" <<<"$out"
}
check unique_principal_names.foreign_refused ldb_refused

exit 0
