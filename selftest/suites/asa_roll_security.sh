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

roll_teardown
exit $((FAILED > 0))
