#!/bin/bash
# selftest/suites/asa_roll_service.sh: the asa_roll server service inside a
# real samba (env ad_dc), with the smb.conf lines and process model of its
# plansuite in selftest/tests.py.  ASA_ROLL_SUITE says which part runs:
#
#   single    (-M single) the service starts, runs its command on schedule
#             with the right arguments and logs its output and exit status;
#             re-arms from the command's "next-due:" line, capped by the
#             check interval; backs off after failures (doubling, capped,
#             reset by a success); a run that outlives asa:roll timeout is
#             stopped with every process it started (its process group,
#             also one that ignores SIGTERM); samba keeps answering LDAP while a child runs in
#             its one process; one child at a time; the child is gone
#             once samba stops
#   prefork, standard
#             the service runs in a process of its own; when that process
#             stops (SIGTERM) the child and what it started are killed,
#             and when it dies
#             outright (SIGKILL) the child goes too; prefork restarts it
#   badopt    a bad option value: a clear error in the log, no run, and
#             samba itself keeps running
#
# Those parts run a stand-in command (selftest/asa_roll_standin.sh), which
# prints what the test tells it to and records its runs.  The part with
# the real `samba-asa roll --due` is selftest/suites/asa_roll_real.sh.
#
# No assertion is about how fast anything is: waits are bounded only to
# stop a hung suite, and times are compared only where the service
# guarantees an order (a run never starts before the time it was asked
# for).
#
# Copyright (C) samba-asa authors 2026
#
# This program is free software; you can redistribute it and/or modify
# it under the terms of the GNU General Public License as published by
# the Free Software Foundation; either version 3 of the License, or
# (at your option) any later version.

. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
. "$REPO/selftest/subunit.sh"

PART=${ASA_ROLL_SUITE:-single}
LOG=$PREFIX_ABS/samba.out	# samba -i logs to standard output
STATE=$PREFIX_ABS/asa-roll-standin
SAMBA_PID=${SELFTEST_SAMBA_PID:?}
# What the plansuite configures (selftest/tests.py); the checks below
# depend on these values.
CHECK_INTERVAL=10
RETRY=2
RETRY_MAX=6
TIMEOUT=25

mkdir -p "$STATE"

# result NAME OK DETAILS: what common.sh's expect() reports through.
result()
{
	if [ "$2" = 1 ]; then
		subunit_pass_test "$1"
	else
		failed=$((failed + 1))
		subunit_fail_test "$1" "$3"
	fi
}

# check NAME CONDITION-COMMAND... : one test, passing when the command does;
# on failure the details are the command, the stand-in's record and the
# end of samba's log.
check()
{
	local name=$1 out
	shift
	subunit_start_test "$name"
	if out=$("$@" 2>&1); then
		subunit_pass_test "$name"
		return 0
	fi
	failed=$((failed + 1))
	subunit_fail_test "$name" "$out
\$ $*
--- invocations:
$(cat "$STATE/invocations" 2>/dev/null)
--- samba log (asa_roll lines, last 40):
$(grep -a 'asa_roll' "$LOG" | tail -40)"
	return 1
}

# wait_until SECONDS COMMAND...: poll until COMMAND succeeds; gives up at
# once when samba has died (unless the test stopped it: SAMBA_STOPPED=1).
SAMBA_STOPPED=0
wait_until()
{
	local limit=$1 i
	shift
	for i in $(seq 1 $((limit * 10))); do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		if [ "$SAMBA_STOPPED" = 0 ] && [ ! -e "/proc/$SAMBA_PID" ]; then
			echo "samba (pid $SAMBA_PID) has died"
			return 1
		fi
		sleep 0.1
	done
	echo "not true after $limit s: $*"
	return 1
}

log_has()
{
	grep -aqE -- "$1" "$LOG"
}

# The log after the line matching $1 (the first one).
log_after()
{
	awk -v pat="$1" 'found { print } $0 ~ pat { found = 1 }' "$LOG"
}

# log_has_after ANCHOR PATTERN
log_has_after()
{
	log_after "$1" | grep -aqE -- "$2"
}

# Fields of the stand-in's record.
run_count()
{
	cat "$STATE/count" 2>/dev/null || echo 0
}

# run_field N start|end FIELD (3: time, 4: pid, 5: mode or exit,
# 6: args or next-due)
run_field()
{
	awk -v n="$1" -v what="$2" -v f="$3" \
		'$1 == n && $2 == what { print $f; exit }' \
		"$STATE/invocations" 2>/dev/null
}

run_ended()
{
	[ -n "$(run_field "$1" end 3)" ]
}

# set_mode MODE: the stand-in's next run does MODE; prints the number of
# the last run so far (a run that had started still has the old mode).
set_mode()
{
	echo "$1" >"$STATE/mode"
}

# first_run_with MODE AFTER: the first run after run AFTER with MODE.
first_run_with()
{
	awk -v m="$1" -v after="$2" \
		'$2 == "start" && $1 > after && $5 == m { print $1; exit }' \
		"$STATE/invocations" 2>/dev/null
}

has_run_with()
{
	[ -n "$(first_run_with "$1" "$2")" ]
}

# wait_run_with MODE AFTER SECONDS: wait for such a run to end (or, for a
# sleep mode, to start); prints its number.
wait_run_with()
{
	local mode=$1 after=$2 limit=$3 i n
	for i in $(seq 1 $((limit * 10))); do
		n=$(first_run_with "$mode" "$after")
		if [ -n "$n" ] &&
		   { [[ $mode == sleep:* || $mode == hang* ]] ||
		     run_ended "$n"; }
		then
			echo "$n"
			return 0
		fi
		if [ ! -e "/proc/$SAMBA_PID" ]; then
			return 1
		fi
		sleep 0.1
	done
	return 1
}

# The PID of the service's process, from its start line.
service_pid()
{
	grep -aoE 'asa_roll: started \(pid [0-9]+' "$LOG" | tail -1 |
		grep -oE '[0-9]+$'
}

# restarted PID: the service has started again, in another process.
restarted()
{
	local now
	now=$(service_pid)
	[ -n "$now" ] && [ "$now" != "$1" ]
}

alive()
{
	# A zombie still answers kill -0: look at its state.
	[ -e "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null
}

gone()
{
	! alive "$1"
}

# fd_kinds PID: how many pipes and pidfds the process holds.
fd_kinds()
{
	local f pipes=0 pidfds=0 t

	for f in /proc/"$1"/fd/*; do
		t=$(readlink "$f" 2>/dev/null) || continue
		case "$t" in
		pipe:*)			pipes=$((pipes + 1)) ;;
		anon_inode:\[pidfd\]) pidfds=$((pidfds + 1)) ;;
		esac
	done
	echo "pipes=$pipes pidfds=$pidfds"
}

# fds_no_more BEFORE AFTER (fd_kinds output)
fds_no_more()
{
	local p0 p1 f1
	p0=${1%% *}; p0=${p0#pipes=}
	p1=${2%% *}; p1=${p1#pipes=}
	f1=${2#*pidfds=}
	echo "before: $1; after: $2"
	[ "$p1" -le "$p0" ] && [ "$f1" = 0 ]
}

# group_gone PGID: no process is left in that process group (read from
# /proc, not by name); prints those that are.
group_gone()
{
	local f stat fields left=""

	[ -n "$1" ] && [ "$1" -gt 1 ] || { echo "no group '$1'"; return 1; }
	for f in /proc/[0-9]*/stat; do
		stat=$(cat "$f" 2>/dev/null) || continue
		read -r -a fields <<<"${stat##*) }"
		# state ppid pgrp: a zombie has ended (its parent reaps it)
		if [ "${fields[2]}" = "$1" ] && [ "${fields[0]}" != Z ]; then
			left="$left ${f//[^0-9]/}"
		fi
	done
	[ -z "$left" ] || { echo "left in process group $1:$left"; return 1; }
}

# all_gone PID...: none of them runs.
all_gone()
{
	local p rc=0

	[ $# -gt 0 ] || { echo "no PIDs"; return 1; }
	for p in "$@"; do
		alive "$p" && { echo "$p still runs"; rc=1; }
	done
	return $rc
}

ppid_of()
{
	awk '/^PPid:/ { print $2 }' "/proc/$1/status" 2>/dev/null
}

ldap_answers()
{
	"${NSX[@]}" ldapsearch -x -LLL -o nettimeout=60 \
		-H "ldap://$SERVER_IP" -s base -b "" defaultNamingContext
}

# --- the parts --------------------------------------------------------

# The service is up and has run once; sets STARTED (its PID) and RUN1.
common_start()
{
	check "service starts and logs it" \
		wait_until 60 log_has 'asa_roll: started \(pid [0-9]+'
	STARTED=$(service_pid)

	check "the first run comes after the start delay" \
		wait_until 60 run_ended 1
	RUN1=$(run_field 1 start 4)
}

part_single()
{
	local sam="$PREFIX_ABS/private/sam.ldb" n r d m f1 f2 f3 f4 e g s s2
	local before t fds_before fds_after

	common_start
	check "runs inside samba under -M single" \
		test "$STARTED" = "$SAMBA_PID"
	check "command gets roll --due -H sam.ldb -s smb.conf" \
		grep -qE "^1 start [0-9]+ [0-9]+ [^ ]+ roll --due -H $sam -s $SMB_CONF_PATH\$" \
		"$STATE/invocations"
	check "command output reaches samba's log" \
		wait_until 10 log_has "asa_roll: roll\\[$RUN1\\]: standin: run 1, mode "
	check "control characters are defused in the log" \
		log_has "asa_roll: roll\\[$RUN1\\]: standin: a tab"$'\t'"here, an escape \\?\\[31m, a CR at the end\$"
	check "exit status is logged" \
		wait_until 10 log_has "asa_roll: roll\\[$RUN1\\] finished: exit status 0"
	# Idle now for a check interval: what samba holds between runs.
	wait_until 10 log_has_after "roll\\[$RUN1\\] finished" \
		'asa_roll: next run in' >/dev/null
	fds_before=$(fd_kinds "$SAMBA_PID")

	# next-due: N re-arms the timer for N (before the check interval).
	set_mode due:4
	n=$(wait_run_with due:4 0 60) || n=""
	check "a run reports next-due" test -n "$n"
	if [ -n "$n" ]; then
		r=$(wait_run_with due:4 "$n" 60) || r=""
		d=$(run_field "$n" end 6)
		check "re-armed from next-due: logged" \
			log_has_after "roll\\[$(run_field "$n" start 4)\\] finished" \
			'asa_roll: next run in [0-4] s'
		check "re-armed from next-due: the next run is not early" \
			test -n "$r" -a "$(run_field "${r:-0}" start 3)" -ge "${d:-0}"
		# The run before the first due:4 one said "none": it waited a
		# whole check interval.
		if [ "$(run_field $((n - 1)) start 5)" = none ]; then
			check "next-due: none waits the check interval" \
				test $(($(run_field "$n" start 3) - \
					$(run_field $((n - 1)) end 3))) \
					-ge $CHECK_INTERVAL
		fi
	fi

	# A far next-due: the check interval still wakes it.
	before=$(run_count)
	set_mode due:86400
	m=$(wait_run_with due:86400 "$before" 60) || m=""
	check "a far next-due is capped by the check interval: logged" \
		test -n "$m" -a -n "$(log_after "roll\\[$(run_field "${m:-0}" start 4)\\] finished" | grep -aE "asa_roll: next run in $CHECK_INTERVAL s")"
	before=$(run_count)
	set_mode fail
	check "a far next-due is capped by the check interval: it runs" \
		wait_until 60 has_run_with fail "$before"

	# Failures back off: retry, doubling, capped at retry max.
	f1=$(wait_run_with fail "$before" 60) || f1=""
	f2=""; f3=""; f4=""
	if [ -n "$f1" ]; then
		f2=$(wait_run_with fail "$f1" 60) || f2=""
	fi
	if [ -n "$f2" ]; then
		f3=$(wait_run_with fail "$f2" 60) || f3=""
	fi
	if [ -n "$f3" ]; then
		f4=$(wait_run_with fail "$f3" 60) || f4=""
	fi
	check "a failing command is run again" test -n "$f4"
	t=$(run_field "${f1:-0}" start 4)
	check "its error output is logged as an error" \
		log_has "asa_roll: roll\\[$t\\]: standin: run $f1 failed on purpose"
	check "its failure is logged" \
		log_has "asa_roll: roll\\[$t\\] failed: exit status 1: a roll failed"
	check "backoff: retry delay first" \
		log_has "roll\\[$t\\] failed: .*failure 1 in a row, retrying in $RETRY s"
	check "backoff: doubles" \
		log_has "roll\\[$(run_field "${f2:-0}" start 4)\\] failed: .*failure 2 in a row, retrying in $((RETRY * 2)) s"
	check "backoff: capped at retry max" \
		log_has "roll\\[$(run_field "${f3:-0}" start 4)\\] failed: .*failure 3 in a row, retrying in $RETRY_MAX s"
	check "backoff: no retry before its time" \
		test -n "$f4" -a \
		"$(($(run_field "${f2:-0}" start 3) - $(run_field "${f1:-0}" end 3)))" -ge $RETRY -a \
		"$(($(run_field "${f3:-0}" start 3) - $(run_field "${f2:-0}" end 3)))" -ge $((RETRY * 2)) -a \
		"$(($(run_field "${f4:-0}" start 3) - $(run_field "${f3:-0}" end 3)))" -ge $RETRY_MAX

	before=$(run_count)
	set_mode env
	e=$(wait_run_with env "$before" 60) || e=""
	check "exit status 2 is logged as an environment error" \
		test -n "$e" -a -n "$(grep -aE "roll\\[$(run_field "${e:-0}" start 4)\\] failed: exit status 2: usage or environment error" "$LOG")"

	# A success resets the backoff.
	before=$(run_count)
	set_mode none
	n=$(wait_run_with none "$before" 60) || n=""
	before=$(run_count)
	set_mode fail
	f1=$(wait_run_with fail "$before" 60) || f1=""
	check "a success resets the backoff" \
		log_has "roll\\[$(run_field "${f1:-0}" start 4)\\] failed: .*failure 1 in a row, retrying in $RETRY s"

	before=$(run_count)
	set_mode garbled
	g=$(wait_run_with garbled "$before" 60) || g=""
	check "a run without next-due is reported" \
		log_has "roll\\[$(run_field "${g:-0}" start 4)\\] did not end with \"next-due"
	# Idle again (a check interval after a run without next-due): the
	# runs since the first left no pipe or pidfd behind.
	wait_until 10 log_has_after \
		"roll\\[$(run_field "${g:-0}" start 4)\\] did not end" \
		'asa_roll: next run in' >/dev/null
	fds_after=$(fd_kinds "$SAMBA_PID")
	# Each run opens two pipes and a pidfd; samba's own pipes come and
	# go, so: no more pipes than before, and no pidfd.
	check "no descriptor leaks across runs" \
		fds_no_more "$fds_before" "$fds_after"

	# A child that hangs, as a roll hangs in a member's ssh, with two
	# processes of its own (one ignores SIGTERM): samba (one process)
	# keeps answering, no second child starts, and asa:roll timeout
	# stops it and all it started.
	rm -f "$STATE/sleeping" "$STATE/grandchildren"
	before=$(run_count)
	set_mode hang-stubborn:300
	s=$(wait_run_with hang-stubborn:300 "$before" 60) || s=""
	wait_until 10 test -s "$STATE/sleeping" >/dev/null
	s=$(cat "$STATE/sleeping" 2>/dev/null)
	read -r -a kids <"$STATE/grandchildren"
	check "the command's own processes run in its process group" \
		test "$(ps -o pgid= -p "${kids[0]:-0}" | tr -d ' ')" = "$s"
	check "LDAP answers while the command runs (-M single)" ldap_answers
	check "the command was still running then" alive "${s:-0}"
	before=$(run_count)
	sleep $((CHECK_INTERVAL + RETRY_MAX))
	check "one child at a time" test "$(run_count)" = "$before"
	check "a run past asa:roll timeout is stopped: logged" \
		wait_until 60 log_has "roll\\[$s\\] still running after $TIMEOUT s \\(asa:roll timeout\\): sending SIGTERM"
	check "a run past asa:roll timeout is stopped: failed" \
		wait_until 10 log_has "roll\\[$s\\] failed: killed by signal 15 \\(asa:roll timeout\\)"
	check "a run past asa:roll timeout is stopped: gone" \
		wait_until 10 gone "$s"
	check "a run past asa:roll timeout: what it started is gone" \
		wait_until 10 all_gone "${kids[@]}"
	check "a run past asa:roll timeout: its process group is empty" \
		wait_until 10 group_gone "$s"

	# Last: samba stops while a child runs.
	rm -f "$STATE/sleeping"
	set_mode sleep:300
	wait_until 60 test -s "$STATE/sleeping" >/dev/null
	s2=$(cat "$STATE/sleeping" 2>/dev/null)
	check "a child runs before samba stops" alive "${s2:-0}"
	SAMBA_STOPPED=1
	kill -TERM "$SAMBA_PID" 2>/dev/null
	check "samba stops" wait_until 60 gone "$SAMBA_PID"
	check "the child is gone after samba stops" wait_until 30 gone "${s2:-0}"
}

# prefork and standard: the task runs in a process of its own.
part_forked()
{
	local s s2 svc svc2 before

	common_start
	check "runs in a process of its own (-M $SELFTEST_SAMBA_MODEL)" \
		test -n "$STARTED" -a "$STARTED" != "$SAMBA_PID"
	check "the command's output is logged" \
		wait_until 10 log_has "asa_roll: roll\\[$RUN1\\]: standin: run 1, mode "
	svc=$STARTED

	# The service's process stops (SIGTERM): it kills its child and
	# what that started.
	rm -f "$STATE/sleeping" "$STATE/grandchildren"
	set_mode hang:300
	wait_until 60 test -s "$STATE/sleeping" >/dev/null
	s=$(cat "$STATE/sleeping" 2>/dev/null)
	read -r -a kids <"$STATE/grandchildren"
	check "the command runs as a child of the service's process" \
		test -n "$s" -a "$(ppid_of "${s:-0}")" = "$svc"
	check "LDAP answers while the command runs" ldap_answers
	kill -TERM "$svc" 2>/dev/null
	check "the service's process stops on SIGTERM" \
		wait_until 30 gone "$svc"
	check "it kills its child when it stops" \
		wait_until 30 gone "${s:-0}"
	check "and what the child started" \
		wait_until 30 all_gone "${kids[@]}"
	check "its process group is empty" wait_until 30 group_gone "$s"
	check "it logs that" \
		log_has "asa_roll: stopping: sending SIGTERM to roll\\[$s\\]"

	if [ "$SELFTEST_SAMBA_MODEL" = prefork ]; then
		# prefork starts the service again; this time its process
		# dies outright (SIGKILL): the child still goes with it.
		rm -f "$STATE/sleeping"
		check "prefork restarts the service" \
			wait_until 120 restarted "$svc"
		svc2=$(service_pid)
		wait_until 60 test -s "$STATE/sleeping" >/dev/null
		s2=$(cat "$STATE/sleeping" 2>/dev/null)
		check "the restarted service runs the command" \
			test -n "$s2" -a "$(ppid_of "${s2:-0}")" = "$svc2"
		kill -KILL "$svc2" 2>/dev/null
		check "the child goes when the service's process is killed" \
			wait_until 30 gone "${s2:-0}"
	fi
	check "samba still answers LDAP" ldap_answers
	check "samba is still running" alive "$SAMBA_PID"
}

part_badopt()
{
	check "a bad option value is reported clearly" \
		wait_until 60 log_has "asa_roll: not starting: smb.conf: 'asa:roll retry = 5 parsecs' is not a duration"
	check "samba keeps running" ldap_answers
	sleep 3	# the start delay is 1 s
	check "the service does not run the command" \
		test ! -e "$STATE/invocations"
	part_non_dc
}

# On a server that is not an AD DC the service refuses to start, saying
# why, and samba carries on.  samba itself runs only as a DC unless told
# otherwise ("server role check:inhibit"), and needs a sam.ldb to start:
# a copy of this DC's, under a standalone role, with asa_roll as its only
# service, in a mount namespace where the service directory holds ours.
part_non_dc()
{
	local dir=$TMP/non-dc pid i

	mkdir -p "$dir"/{etc,lock,state,cache,run,ncalrpc,winbindd}
	cp -a "$PREFIX_ABS/private" "$dir/private"
	cat >"$dir/etc/smb.conf" <<EOF
[global]
	server role = standalone
	server role check:inhibit = yes
	server services = asa_roll
	netbios name = NONDC
	workgroup = NONDC
	private dir = $dir/private
	lock directory = $dir/lock
	state directory = $dir/state
	cache directory = $dir/cache
	pid directory = $dir/run
	ncalrpc dir = $dir/ncalrpc
	winbindd socket directory = $dir/winbindd
	log level = 3
	asa:roll command = $REPO/selftest/asa_roll_standin.sh
	asa:roll start delay = 0
EOF
	mkfifo "$dir/stdin"
	setsid unshare --mount --propagation private \
		/bin/sh -c 'mount --bind "$0" "$1" && shift && exec "$@"' \
		"$SELFTEST_SERVICE_MODULES" \
		/usr/lib/x86_64-linux-gnu/samba/service \
		samba -s "$dir/etc/smb.conf" -i -M single \
		<"$dir/stdin" >"$dir/samba.out" 2>&1 &
	pid=$!
	exec 9>"$dir/stdin"	# samba -i runs until this closes
	LOG=$dir/samba.out check "a non-DC refuses to start the service" \
		wait_until 60 log_has 'asa_roll: not starting: this server is not an Active Directory domain controller'
	sleep 2
	check "a non-DC samba carries on without it" alive "$pid"
	check "a non-DC never runs the command" \
		test ! -e "$dir/asa-roll-standin/invocations"
	exec 9>&-
	kill -TERM -- "-$pid" 2>/dev/null
	for i in $(seq 1 50); do
		gone "$pid" && break
		sleep 0.1
	done
	kill -KILL -- "-$pid" 2>/dev/null
}

case "$PART" in
single)			part_single ;;
prefork|standard)	part_forked ;;
badopt)			part_badopt ;;
*)	echo "asa_roll_service.sh: unknown part $PART" >&2; exit 2 ;;
esac
exit "$failed"
