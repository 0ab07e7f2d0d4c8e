#!/bin/bash
# selftest/suites/asa_roll_real.sh: the asa_roll service inside samba
# running the real `samba-asa roll --due` on environment ad_dc_array, with
# a short roll interval (the plansuite asa_roll_service.real in
# selftest/tests.py: asa:roll interval = 20s, check interval 5s, retry 5s).
#
#   - the PDC emulator role held by another DC (fSMORoleOwner changed in
#     the directory, as in asa_roll_due): an ASA with the seed's SPNs on
#     every member of the array, due at once, is not rolled for more than
#     an interval; the service's runs say they are idle;
#   - the role back, the service rolls it, unattended: the directory's
#     kvno grows, samba's log shows the roll, every member decrypts a
#     fresh ticket at the new kvno and a ticket issued before the roll
#     still decrypts;
#   - between rolls the service runs the command and it finds nothing due;
#     the next roll comes on schedule; members hold the newest two kvnos;
#   - a member down: the run fails, the log says so and that it retries,
#     the directory is unchanged; the member back, a retry rolls.
#
# Emits subunit v1.

. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
. "$REPO/selftest/suites/roll_common.sh"

LOG=$PREFIX_ABS/samba.out	# samba -i logs to standard output
INTERVAL=20			# asa:roll interval of the plansuite
SAMBA_PID=${SELFTEST_SAMBA_PID:?}

set_pdc()
{
	printf 'dn: %s\nchangetype: modify\nreplace: fSMORoleOwner\nfSMORoleOwner: %s\n' \
		"$DOMAIN_DN" "$1" | nsx ldbmodify -H "$SAM" >/dev/null
}

other_dc()
{
	printf 'dn: %s\nobjectClass: server\n\ndn: %s\nobjectClass: nTDSDSA\n' \
		"$OTHER_SERVER" "$OTHER" |
		nsx ldbadd -H "$SAM" --controls=relax:0
}

other_dc_gone()
{
	nsx ldbdel -H "$SAM" "$OTHER" && nsx ldbdel -H "$SAM" "$OTHER_SERVER"
}

DOMAIN_DN=$(nsx ldbsearch -H "$SAM" -s base -b "" defaultNamingContext \
	2>/dev/null | unfold | sed -n 's/^defaultNamingContext: //p')
PDC=$(nsx ldbsearch -H "$SAM" -s base -b "$DOMAIN_DN" fSMORoleOwner \
	2>/dev/null | unfold | sed -n 's/^fSMORoleOwner: //p')
OTHER_SERVER="CN=DC8$$,CN=Servers,CN=Default-First-Site-Name,CN=Sites,CN=Configuration,$DOMAIN_DN"
OTHER="CN=NTDS Settings,$OTHER_SERVER"

# idle_logged_from FROM: a run after line FROM said it is idle.
idle_logged_from()
{
	log_has_from "$1" \
		"roll\\[[0-9]+\\]: idle: this DC .* is not the PDC emulator"
}

check service.started wait_for 60 grep -aqE 'asa_roll: started \(pid [0-9]+' "$LOG"
check service.runs_real_command wait_for 60 grep -aqE \
	"asa_roll: roll\\[[0-9]+\\] started: $ASA roll --due -H $SAM -s $SMB_CONF_PATH\$" "$LOG"

# --- not the PDC emulator: idle ---------------------------------------------
# The ASA is made while another DC holds the role: a new ASA is due at
# once, and must still not roll here.  (Also keeps the service's first
# roll away from `create`, which is still handing members their keys.)

check pdc.other_dc other_dc
check pdc.moved_away set_pdc "$OTHER"
FROM=$(log_lines)
check pdc.idle_in_log wait_for 60 idle_logged_from "$FROM"
roll_setup rs			# NAME: the ASA, on every member
K0=$(dir_kvno "$NAME")
rl_kinit "$TMP/before.cc"
check setup.tickets_before all_decrypt "$TMP/before.cc" "$K0"
FROM=$(log_lines)
sleep $((INTERVAL + 10))
check pdc.idle_rolled_nothing kvno_is "$K0"
check pdc.idle_runs_logged log_has_from "$FROM" \
	"roll\\[[0-9]+\\]: idle: .*"
check pdc.idle_runs_succeed log_has_from "$FROM" \
	"roll\\[[0-9]+\\] finished: exit status 0"

# --- the role back: the service rolls it --------------------------------------

check pdc.moved_back set_pdc "$PDC"
FROM=$(log_lines)
check roll1.kvno_grew wait_for 120 kvno_grew "$K0" "$NAME"
K1=$(dir_kvno "$NAME")
check roll1.by_one test_eq "$((K0 + 1))" echo "$K1"
check roll1.in_samba_log wait_for 30 rolled_in_log "$FROM"
check roll1.members_decrypt_fresh all_decrypt_fresh "$K1"
check roll1.old_tickets_still_decrypt all_decrypt "$TMP/before.cc" "$K0"

# --- nothing due in between, the next roll on schedule ----------------------

FROM=$(log_lines)
check between.runs_find_nothing_due wait_for 60 log_has_from "$FROM" \
	"roll\\[[0-9]+\\]: $NAME: not due"
check between.not_rolled kvno_is "$K1"
check roll2.kvno_grew wait_for $((INTERVAL * 6)) kvno_grew "$K1" "$NAME"
check roll2.in_samba_log wait_for 30 rolled_in_log "$FROM"

# The role away again, so that no roll moves the kvno while the members'
# keytabs are read: a roll running then has ended once a run says idle.
check pdc.moved_away_again set_pdc "$OTHER"
FROM=$(log_lines)
check pdc.idle_again wait_for 60 idle_logged_from "$FROM"
K2=$(dir_kvno "$NAME")
for m in "${MEMBERS[@]}"; do
	check "roll2.member_holds_two_newest.$m" member_holds "$m" \
		"$K2 $((K2 - 1))"
done
check pdc.moved_back_again set_pdc "$PDC"
check pdc.other_dc_gone other_dc_gone

# --- a member down: the run fails, is retried, and rolls once it is back -----

check retry.member_down member_down "${MEMBERS[2]}"
FROM=$(log_lines)
check retry.failure_in_log wait_for $((INTERVAL * 6)) log_has_from "$FROM" \
	"roll\\[[0-9]+\\] failed: exit status 1: a roll failed .*retrying in [0-9]+ s"
check retry.directory_unchanged kvno_is "$K2"
check retry.member_up member_up "${MEMBERS[2]}"
check retry.rolls_when_back wait_for 120 kvno_grew "$K2" "$NAME"
K3=$(dir_kvno "$NAME")
check retry.members_decrypt_fresh all_decrypt_fresh "$K3"

roll_teardown
exit $((FAILED > 0))
