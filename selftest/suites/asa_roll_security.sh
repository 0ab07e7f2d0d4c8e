#!/bin/bash
# selftest/suites/asa_roll_security.sh: the password and keys of a roll
# never show where they must not, on environment ad_dc_array (samba at
# log level 10, see the plan).
#
# The roll tells this test (and nothing else) its new password and keys
# through SAMBA_ASA_TEST_SECRET_FD; one member is slowed so the roll runs
# for a few seconds, during which every process's /proc/PID/cmdline and
# /proc/PID/environ is scanned, repeatedly.  After it: every file written
# since the roll started (the DC's directory but sam.ldb's databases, the
# array's directory but the members' keytabs, /tmp, /dev/shm, /var/tmp)
# and samba's log are scanned for the password (as UTF-8 and as the
# UTF-16LE of unicodePwd) and for the key bytes.  The members' keytabs must
# hold the keys (that is their job), and must not hold the password.
#
# Then: create and roll at -d 10 over ldaps:// with a simple bind print
# neither password nor key in any form; the test hooks are only in the
# test build; /dev/shm entries planted by others are not followed or
# removed, and a killed roll's keys there are removed by the next run;
# every authenticated user can read the member records, as documented.
#
# Emits subunit v1.

. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
. "$REPO/selftest/suites/roll_common.sh"

roll_setup sec

SCAN=$REPO/selftest/suites/roll_secret_scan.py
PY=/usr/bin/python3

touch "$TMP/marker"
sleep 1			# file times: the roll's writes are newer
check secret.slow_member member_slow "${MEMBERS[0]}" 4

# The roll, with the secrets on fd 3 for this test.
(
	exec 3>"$TMP/secret"
	SAMBA_ASA_TEST_SECRET_FD=3 "${NSX[@]}" "$ASA" roll "$NAME" \
		"${LOCAL[@]}" >"$TMP/roll.out" 2>&1
	echo $? >"$TMP/roll.rc"
) &
ROLL=$!

proc_scan()
{
	local i

	for i in $(seq 200); do
		grep -q '^key ' "$TMP/secret" 2>/dev/null && break
		sleep 0.1
	done
	[ -s "$TMP/secret" ] || { echo "the roll gave no secrets"; return 1; }
	"$PY" "$SCAN" proc "$TMP/secret" "$ROLL"
}
check secret.proc_cmdline_environ proc_scan
wait "$ROLL"
check secret.roll_worked test_eq 0 cat "$TMP/roll.rc"
cat "$TMP/roll.out" >&2
member_up "${MEMBERS[0]}" >/dev/null

files_scan()
{
	local kt=() m

	for m in "${MEMBERS[@]}"; do
		kt+=(--keytab "$(member_var KEYTAB "$m")")
	done
	"$PY" "$SCAN" files "$TMP/secret" "$TMP/marker" "${kt[@]}" \
		--exclude "$PREFIX_ABS/private/sam.ldb" \
		--exclude "$PREFIX_ABS/private/sam.ldb.d" \
		--exclude "$TMP/secret" \
		"$PREFIX_ABS" "$SELFTEST_ARRAY_DIR" /tmp /dev/shm /var/tmp
}
check secret.files files_scan

log_scan()
{
	"$PY" "$SCAN" log "$TMP/secret" "$PREFIX_ABS/samba.out" \
		"$PREFIX_ABS"/log/*
}
check secret.samba_log log_scan

# The members did get the keys (else the scans above prove nothing).
keytabs_hold_keys()
{
	local kt=() m

	for m in "${MEMBERS[@]}"; do
		kt+=(--keytab "$(member_var KEYTAB "$m")")
	done
	"$PY" "$SCAN" keytabs "$TMP/secret" "${kt[@]}"
}
check secret.keytabs_hold_keys keytabs_hold_keys

# -d 10 over ldaps:// with a simple bind (the password from a file):
# neither the bind password nor the new password nor its keys in what
# create and roll print, in any form (libldap's packet dumps, which -d 3
# used to turn on, showed the bind and the unicodePwd of both).
LDAPS=(-H "ldaps://$SERVER_IP" -U "$DC_USERNAME"
       --password-file "$SELFTEST_PASSWORD_FILE" -s "$SMB_CONF_PATH" -d 10)

# debug_run WHAT ARGS...: samba-asa ARGS at -d 10, its secrets in
# $TMP/WHAT.secret and all it printed in $TMP/WHAT.d10; exit 0 and
# libldap's trace in the output (else the scan proves nothing).
debug_run()
{
	local what=$1 rc
	shift

	(
		exec 3>"$TMP/$what.secret"
		SAMBA_ASA_TEST_SECRET_FD=3 LDAPTLS_REQCERT=never \
			"${NSX[@]}" "$ASA" "$@" "${LDAPS[@]}" \
			>"$TMP/$what.d10" 2>&1
	)
	rc=$?
	tail -5 "$TMP/$what.d10"
	echo "$(wc -l <"$TMP/$what.d10") lines, exit $rc"
	[ "$rc" = 0 ] && grep -q 'ldap_' "$TMP/$what.d10"
}

debug_scan()
{
	"$PY" "$SCAN" log "$TMP/$1.secret" "$TMP/$1.d10" \
		"$PREFIX_ABS/samba.out" "$PREFIX_ABS"/log/* \
		--password "$SELFTEST_PASSWORD_FILE"
}

check secret.debug10_create debug_run create create "${NAME}d" \
	--spn "http/d10-$NAME.$LOWER"
check secret.debug10_create_scan debug_scan create
check secret.debug10_roll debug_run roll roll "$NAME"
check secret.debug10_roll_scan debug_scan roll
# and on the DC's sam.ldb (Samba's own debug system at level 10)
local_debug_run()
{
	local rc

	(
		exec 3>"$TMP/local.secret"
		SAMBA_ASA_TEST_SECRET_FD=3 "${NSX[@]}" "$ASA" roll "$NAME" \
			"${LOCAL[@]}" -d 10 >"$TMP/local.d10" 2>&1
	)
	rc=$?
	tail -5 "$TMP/local.d10"
	echo "$(wc -l <"$TMP/local.d10") lines, exit $rc"
	[ "$rc" = 0 ]
}
check secret.debug10_roll_local local_debug_run
check secret.debug10_roll_local_scan debug_scan local

# The hooks that gave the secrets above exist only in a build configured
# for tests (make test): the release program, linked beside it from the
# same objects, neither names nor honours them.
RELEASE=$REPO/bin/test/samba-asa-release

release_has_no_hooks()
{
	[ -x "$RELEASE" ] ||
		{ echo "no $RELEASE: not a build for tests?"; return 1; }
	! grep -a -o 'SAMBA_ASA_TEST[A-Z_]*' "$RELEASE"
}
check hooks.release_names_none release_has_no_hooks

release_ignores_hooks()
{
	local before rc

	before=$(dir_kvno "$NAME")
	(
		exec 3>"$TMP/release.secret"
		SAMBA_ASA_TEST_SECRET_FD=3 SAMBA_ASA_TEST_STOP_AT=keys \
			"${NSX[@]}" "$RELEASE" roll "$NAME" "${LOCAL[@]}"
	)
	rc=$?
	echo "exit $rc; $(wc -c <"$TMP/release.secret") bytes on fd 3"
	[ "$rc" = 0 ] && [ ! -s "$TMP/release.secret" ] &&
		kvno_grew "$before" "$NAME"
}
check hooks.release_ignores_them release_ignores_hooks

test_build_honours_hooks()
{
	local before rc

	before=$(dir_kvno "$NAME")
	(
		exec 3>"$TMP/test.secret"
		SAMBA_ASA_TEST_SECRET_FD=3 SAMBA_ASA_TEST_STOP_AT=keys \
			"${NSX[@]}" "$ASA" roll "$NAME" "${LOCAL[@]}"
	)
	rc=$?
	echo "exit $rc (137: SIGKILL at step keys)"
	grep -c '^key ' "$TMP/test.secret"
	[ "$rc" = 137 ] && grep -q '^password ' "$TMP/test.secret" &&
		test_eq "$before" dir_kvno "$NAME"
}
check hooks.test_build_honours_them test_build_honours_hooks

# /dev/shm: the private directories that hold keys for a moment.  Entries
# named like them but planted by others (a symbolic link to a directory
# with a file in it; another user's directory) are neither followed nor
# removed by the sweep.  A roll killed with SIGKILL as samba-tool starts
# to export the keys takes samba-tool with it (PR_SET_PDEATHSIG, the
# process runner's): no keys are written; what it left (the directory;
# the keys, had the kill come later) is removed by the next run.
# In a /dev/shm of its own (a private mount namespace): other tests on
# this machine sweep the real one.
dead_pid()
{
	local p=$(($(cat /proc/sys/kernel/pid_max) - 1))

	while [ -e "/proc/$p" ]; do
		p=$((p - 1))
	done
	echo "$p"
}

# In the private namespace: plant, kill a roll, run the next one; each
# finding on a line "RESULT NAME ok|fail", the details around it.
shm_scenario()
{
	local SHM=/dev/shm dead pid dir="" left i

	mount -t tmpfs -o mode=1777,size=16m tmpfs "$SHM" || return 1
	dead=$(dead_pid)
	mkdir -p "$TMP/victim" && echo keep >"$TMP/victim/precious"
	ln -s "$TMP/victim" "$SHM/asa-keytab.$dead.planted"
	mkdir -m 0700 "$SHM/asa-dckeys.$dead.foreign"
	echo theirs >"$SHM/asa-dckeys.$dead.foreign/keytab"
	chown -R nobody "$SHM/asa-dckeys.$dead.foreign"

	"${NSX[@]}" "$ASA" roll "$NAME" "${LOCAL[@]}" >"$TMP/killed.out" 2>&1 &
	pid=$!
	# the KDC's keys are exported into a private directory after the
	# password change (samba-tool: seconds); kill the roll then
	for i in $(seq 1200); do
		dir=$(ls -d "$SHM"/asa-dckeys."$pid".* 2>/dev/null | head -1)
		[ -n "$dir" ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if [ -n "$dir" ]; then
		kill -KILL "$pid"
	fi
	wait "$pid"
	echo "roll $pid killed while $dir existed"
	cat "$TMP/killed.out"
	# its samba-tool (the one exporting into $dir) ends with it; the
	# pattern does not match its own text (grep's own command line)
	for i in $(seq 300); do
		left=$(grep -lsE -- "asa-dckeys[.]$pid[.][^/]+/keytab" \
			/proc/[0-9]*/cmdline)
		[ -z "$left" ] && break
		sleep 0.1
	done
	echo "samba-tool still exporting after 30 s: ${left:-none}"
	ls -la "$dir"
	# (without PR_SET_PDEATHSIG samba-tool finishes and writes the keys)
	[ -n "$dir" ] && [ -z "$left" ] && [ ! -e "$dir/keytab" ] &&
		echo "RESULT killed_roll_ends_its_export ok" ||
		echo "RESULT killed_roll_ends_its_export fail"
	# what a kill a moment later leaves: the keys, written
	[ -z "$dir" ] || [ -s "$dir/keytab" ] ||
		echo "stands in for the keys" >"$dir/keytab"
	ls -la "$dir"

	"${NSX[@]}" "$ASA" roll "$NAME" "${LOCAL[@]}"
	echo "next roll: exit $?"
	[ -n "$dir" ] && [ ! -e "$dir" ] &&
		echo "RESULT next_run_sweeps ok" ||
		echo "RESULT next_run_sweeps fail"

	ls -la "$SHM" "$TMP/victim" "$SHM/asa-dckeys.$dead.foreign"
	[ -L "$SHM/asa-keytab.$dead.planted" ] &&
	[ "$(cat "$TMP/victim/precious")" = keep ] &&
	[ "$(cat "$SHM/asa-dckeys.$dead.foreign/keytab")" = theirs ] &&
		echo "RESULT planted_entries_untouched ok" ||
		echo "RESULT planted_entries_untouched fail"
}
export -f shm_scenario dead_pid nsx
export ASA NAME TMP
export NSX_LINE="${NSX[*]}"
unshare -m --propagation private bash -c \
	'NSX=($NSX_LINE); LOCAL=("$@"); shm_scenario' shm "${LOCAL[@]}" \
	>"$TMP/shm.report" 2>&1

shm_result()
{
	cat "$TMP/shm.report"
	grep -qx "RESULT $1 ok" "$TMP/shm.report"
}
check shm.killed_roll_ends_its_export shm_result killed_roll_ends_its_export
check shm.next_run_sweeps shm_result next_run_sweeps
check shm.planted_entries_untouched shm_result planted_entries_untouched

# Who reads the member records: every authenticated user (the admin
# guide says so; they hold no secret).  An ordinary user, its own
# password, over ldaps://.
records_readable_by_users()
{
	local user=rd$$ out n

	printf 'Rd-%s-9x' "$(head -c 12 /dev/urandom | base64 |
		tr -dc A-Za-z0-9)" >"$TMP/user.pw"
	nsx samba-tool user create "$user" "$(cat "$TMP/user.pw")" \
		-H "$SAM" -s "$SMB_CONF_PATH" >/dev/null || return 1
	out=$(LDAPTLS_REQCERT=never nsx ldapsearch -x -LLL -o ldif-wrap=no \
		-H "ldaps://$SERVER_IP" -D "$user@$LOWER" -y "$TMP/user.pw" \
		-b "$ASA_DN" "(serviceClassName=samba-asa-member)" \
		serviceBindingInformation 2>&1)
	echo "$out"
	n=$(grep -c '^serviceBindingInformation: ' <<<"$out")
	echo "$user read $n member records of ${#MEMBERS[@]}"
	[ "$n" = "${#MEMBERS[@]}" ]
}
check records.readable_by_every_user records_readable_by_users

# A roll that leads its process group (as the asa_roll service starts it)
# and gets SIGTERM while its ssh hangs on a member (samba stopping under
# -M single signals only the roll) ends all it started: no ssh is left.
# Each ssh leads a process group of its own (the runner's, to be stopped
# whole at its deadline) and ends with the roll (PR_SET_PDEATHSIG), so
# this looks at the roll's session, which holds them all (by session ID,
# not by name).
group_left()
{
	local f stat fields

	for f in /proc/[0-9]*/stat; do
		stat=$(cat "$f" 2>/dev/null) || continue
		read -r -a fields <<<"${stat##*) }"
		if [ "${fields[3]}" = "$1" ] && [ "${fields[0]}" != Z ]; then
			echo "${f//[^0-9]/}"
		fi
	done
}

sigterm_ends_group()
{
	local pid left i

	member_slow "${MEMBERS[0]}" 300 || return 1
	setsid "${NSX[@]}" "$ASA" roll "$NAME" "${LOCAL[@]}" \
		>"$TMP/term.out" 2>&1 &
	pid=$!
	# its ssh to the slow member: in the session for 3 s (the roll's
	# member timeout, 30 s, is far)
	for i in $(seq 200); do
		left=$(group_left "$pid" | grep -vx "$pid")
		[ -n "$left" ] && break
		sleep 0.1
	done
	sleep 3
	left=$(group_left "$pid" | grep -vx "$pid")
	echo "in session $pid before SIGTERM: ${left:-none}"
	[ -n "$left" ] || { cat "$TMP/term.out"; return 1; }
	kill -TERM "$pid"
	wait "$pid"
	echo "roll: exit $?"
	for i in $(seq 100); do
		left=$(group_left "$pid")
		[ -z "$left" ] && break
		sleep 0.1
	done
	echo "left in session $pid after 10 s: ${left:-none}"
	member_up "${MEMBERS[0]}" >/dev/null
	[ -z "$left" ]
}
check sigterm.roll_ends_its_group sigterm_ends_group

roll_teardown
exit $((FAILED > 0))
