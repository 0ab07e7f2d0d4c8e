#!/bin/bash
# selftest/asa_roll_standin.sh: a stand-in for `samba-asa roll --due`, for
# the tests of the asa_roll service (selftest/suites/asa_roll_service.sh).
#
# The service runs it as it runs samba-asa ("asa:roll command"), with the
# same arguments: roll --due -H SAM_LDB -s SMB_CONF.  It keeps its state in
# the directory next to the DC's etc/ (PREFIX/asa-roll-standin/), where the
# test tells it how to behave and reads what it did:
#
#   mode         what to do (default "none"):
#                  none      print some lines, then "next-due: none"; exit 0
#                  due:N     ... then "next-due: <now + N>"; exit 0
#                  garbled   ... then a last line that is not next-due; 0
#                  fail      an error on standard error; exit 1
#                  env       an error on standard error; exit 2
#                  sleep:N   record its PID in "sleeping", then sleep N s
#                  hang:N    start two processes of its own that sleep N s
#                            (as samba-asa starts ssh and samba-tool),
#                            record their PIDs in "grandchildren", its own
#                            in "sleeping", then sleep N s
#                  hang-stubborn:N   the same, but the second of them
#                            ignores SIGTERM
#   invocations  one line per run:
#                  N start TIME PID MODE ARGS...
#                  N end TIME PID EXIT NEXT_DUE (not for sleep:N)
#
# It is not a mock of samba-asa: the service only ever sees a program's
# output and exit status, which is what this varies.

set -u

args=$*
conf=""
while [ $# -gt 0 ]; do
	case "$1" in
	-s)	conf=${2:-}; shift 2 || shift ;;
	*)	shift ;;
	esac
done
if [ -z "$conf" ]; then
	echo "asa_roll_standin: no -s SMB_CONF among: $args" >&2
	exit 2
fi
dir=$(dirname "$(dirname "$conf")")/asa-roll-standin
mkdir -p "$dir"

n=$(($(cat "$dir/count" 2>/dev/null || echo 0) + 1))
echo "$n" >"$dir/count"
mode=$(cat "$dir/mode" 2>/dev/null || echo none)
echo "$n start $(date +%s) $$ $mode $args" >>"$dir/invocations"

echo "standin: run $n, mode $mode"
# Control characters must reach samba's log defused.
printf 'standin: a tab\there, an escape \033[31m, a CR at the end\r\n'

code=0
next=none
case "$mode" in
none)
	echo "next-due: none" ;;
due:*)
	next=$(($(date +%s) + ${mode#due:}))
	echo "next-due: $next" ;;
garbled)
	echo "standin: this run ends without saying when to look again" ;;
fail)
	echo "standin: run $n failed on purpose" >&2
	code=1 ;;
env)
	echo "standin: run $n: environment error on purpose" >&2
	code=2 ;;
hang:*|hang-stubborn:*)
	secs=${mode#*:}
	sleep "$secs" &
	kids=$!
	if [[ $mode == hang-stubborn:* ]]; then
		(trap '' TERM; exec sleep "$secs") &
		kids="$kids $!"
	fi
	echo "$kids" >"$dir/grandchildren"
	echo "$$" >"$dir/sleeping"
	echo "standin: run $n hanging $secs s in processes $kids"
	sleep "$secs" ;;
sleep:*)
	echo "$$" >"$dir/sleeping"
	echo "standin: run $n sleeping ${mode#sleep:} s"
	exec sleep "${mode#sleep:}" ;;
*)
	echo "standin: unknown mode $mode" >&2
	code=2 ;;
esac
echo "$n end $(date +%s) $$ $code $next" >>"$dir/invocations"
exit "$code"
