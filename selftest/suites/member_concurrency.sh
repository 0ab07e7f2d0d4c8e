#!/bin/bash
# selftest/suites/member_concurrency.sh: how many members samba-asa reaches
# at once, on environment ad_dc_array (a real DC, real sshd members).
#
#   - with asa:member concurrency = 2, `samba-asa verify` and `samba-asa
#     roll` never run more than two ssh children at once, and do run two
#     (the array has three members; without the bound all three run);
#   - a member that never answers (its forced command sleeps) costs its
#     own asa:member timeout only: the others' ssh children end long
#     before its deadline, the roll names it as timed out, and stops
#     before the directory (the others hold the new keys beside the old).
#
# "asa:ssh program" is a wrapper that logs the start and end of each ssh
# (the member's address, monotonic seconds) and runs the real ssh.
#
# Emits subunit v1.

. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
. "$REPO/selftest/suites/roll_common.sh"

LOG=$TMP/ssh.log
WRAPPER=$TMP/ssh-count
TIMEOUT=20

cat >"$WRAPPER" <<EOF
#!/bin/sh
# ssh, its start and end logged: "+ HOST SECONDS", "- HOST SECONDS"
host=
prev=
for a in "\$@"; do
	[ "\$prev" = -- ] && host=\$a
	prev=\$a
done
now() { cut -d' ' -f1 /proc/uptime; }
echo "+ \$host \$(now)" >>"$LOG"
ssh "\$@"
rc=\$?
echo "- \$host \$(now)" >>"$LOG"
exit \$rc
EOF
chmod 0755 "$WRAPPER"

roll_setup mc
roll_smb_conf "asa:ssh program = $WRAPPER" "asa:member concurrency = 2" \
	"asa:member timeout = $TIMEOUT"

# The most ssh children the log shows at once, and how many ran.
at_most()
{
	local want=$1 most runs

	cat "$LOG"
	most=$(awk '$1 == "+" { n++; if (n > m) m = n }
		    $1 == "-" { n-- } END { print m + 0 }' "$LOG")
	runs=$(grep -c '^+' "$LOG")
	echo "at most $most at once, $runs in all"
	[ "$most" = "$want" ] && [ "$runs" -ge "${#MEMBERS[@]}" ]
}

run_logged()
{
	rm -f "$LOG"
	"$@"
}

check verify.runs run_logged expect_out 0 "" -- asa verify "$NAME" "${LOCAL[@]}"
check verify.two_at_once at_most 2

KV=$(dir_kvno "$NAME")
check roll.runs run_logged expect_out 0 "" -- asa roll "$NAME" "${LOCAL[@]}"
check roll.rolled kvno_grew "$KV" "$NAME"
check roll.two_at_once at_most 2
check roll.decrypt all_decrypt_fresh "$((KV + 1))"
KV=$((KV + 1))

# --- a member that never answers ---------------------------------------------

HUNG=${MEMBERS[0]}
HUNG_IP=$(member_var URL "$HUNG")	# the host ssh is given
HUNG_IP=${HUNG_IP#ssh://}
HUNG_IP=${HUNG_IP#*@}
HUNG_IP=${HUNG_IP%%[:/]*}

# Every other member's ssh ended before the hung one's deadline (its start
# plus asa:member timeout), and the hung one's not before it.
others_done_first()
{
	local start end

	cat "$LOG"
	start=$(awk -v h="$HUNG_IP" '$1 == "+" && $2 == h { print $3 }' "$LOG")
	[ -n "$start" ] || { echo "no ssh to $HUNG ($HUNG_IP)"; return 1; }
	awk -v h="$HUNG_IP" -v s="$start" -v t="$TIMEOUT" -v n="${#MEMBERS[@]}" '
		$1 == "-" && $2 != h { done++; if ($3 >= s + t) late++ }
		END {
			printf "others done: %d, after the deadline: %d\n",
				done, late
			exit !(done == n - 1 && late == 0)
		}' "$LOG"
}

check hang.setup member_slow "$HUNG" 300
check hang.roll_fails_naming_it run_logged expect_out 1 \
	"member $HUNG_IP: no answer within $TIMEOUT s" -- \
	asa roll "$NAME" "${LOCAL[@]}"
check hang.others_done_before_its_deadline others_done_first
check hang.directory_unchanged test_eq "$KV" dir_kvno "$NAME"
check hang.others_hold_both member_holds "${MEMBERS[1]}" "$((KV + 1)) $KV"

roll_teardown
exit $((FAILED > 0))
