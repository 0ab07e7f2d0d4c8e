#!/bin/bash
# selftest/suites/pair_roll.sh: the password roll on two replicating DCs
# with a server array (environment ad_dc_pair_array: selftest/pair.sh and
# selftest/array.sh), both DCs running the asa_roll service with the real
# `samba-asa roll --due` (the plansuite pair_roll in selftest/tests.py).
#
#   - the roll follows the PDC emulator role: with the role on dc1, the
#     ASA due on both DCs, dc2's runs log that dc2 is idle and roll
#     nothing, and dc1's service rolls; `samba-tool fsmo transfer
#     --role=pdc` to dc2, and the next due roll is dc2's while dc1's runs
#     are idle; status and the members written through one DC are read
#     through the other (`samba-asa status -H ldap://<other DC>`);
#   - keys replicate: after a roll through one DC, every member decrypts
#     tickets issued by the other DC's KDC (a krb5.conf naming only that
#     KDC; kvno -k and curl --negotiate), fresh ones and ones issued before
#     the roll, before and after the role moves;
#   - a roll while the other DC is down: dc2 stopped (by its PID), dc1's
#     service rolls, dc2 started again: no member refuses a ticket from
#     either KDC at any point while dc2 catches up, and it does catch up.
#
# How long replication takes is measured, not assumed: natural replication
# of a roll to the other DC, and dc2's catch-up after its restart (to its
# directory, and to its KDC issuing tickets at the new kvno).  The figures
# are printed (lines starting "figure:", in the suite's output).
#
# The rolls are the service's own: the suite only makes the ASA due, by
# editing "asa:roll interval" in a DC's smb.conf (samba-asa reads it on
# every run); 1h between the steps, so nothing rolls while the suite looks.
# Who rolled is read from each DC's samba log (the lines the service
# writes) and from each DC's directory; whether it worked, from real
# tickets.
#
# Emits subunit v1.
#
# Copyright (C) samba-asa authors 2026
#
# This program is free software; you can redistribute it and/or modify
# it under the terms of the GNU General Public License as published by
# the Free Software Foundation; either version 3 of the License, or
# (at your option) any later version.

. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
. "$REPO/selftest/suites/roll_common.sh"
# st_launch_samba and st_wait_samba, to start dc2 again as pair.sh did
. "$REPO/selftest/env.sh"

for v in DC2_SERVER DC2_SERVER_IP DC2_PREFIX_ABS DC2_SMB_CONF_PATH \
	 DC2_KRB5_CONFIG DC1_KRB5_CONFIG DC1_DSA_DN DC2_DSA_DN \
	 SELFTEST_SERVICE_MODULES; do
	if [ -z "${!v:-}" ]; then
		echo "$suite_name.sh: $v is not set:" \
			"run inside env ad_dc_pair_array" >&2
		exit 2
	fi
done

SHORT=15s		# asa:roll interval while a roll is wanted
LONG=1h			# and while the suite looks
DCS=([1]=$SERVER.$LOWER [2]=$DC2_SERVER.$LOWER)
SAMS=([1]=$SAM [2]=$DC2_PREFIX_ABS/private/sam.ldb)
CONFS=([1]=$SMB_CONF_PATH [2]=$DC2_SMB_CONF_PATH)
KRB5S=([1]=$DC1_KRB5_CONFIG [2]=$DC2_KRB5_CONFIG)
LOGS=([1]=$PREFIX_ABS/samba.out [2]=$DC2_PREFIX_ABS/samba.out)
DSAS=([1]=$DC1_DSA_DN [2]=$DC2_DSA_DN)
ADMIN=([1]=$TMP/admin1.cc [2]=$TMP/admin2.cc)

figure()
{
	echo "figure: $*"
}

# on N CMD...: CMD as a client of DC N: its krb5.conf (only its KDC), its
# sam.ldb for the helpers of roll_common.sh, its log.
on()
{
	local n=$1
	shift
	KRB5_CONFIG=${KRB5S[$n]} SAM=${SAMS[$n]} LOG=${LOGS[$n]} "$@"
}

# kinit_at N CCACHE: a ticket for the administrator from DC N's KDC.
kinit_at()
{
	KRB5CCNAME=FILE:$2 on "$1" nsx kinit "$DC_USERNAME@$REALM" \
		<"$SELFTEST_PASSWORD_FILE" >/dev/null
}

kvno_on()
{
	on "$1" dir_kvno "$NAME"
}

# kvno_on_is N K: DC N's directory has kvno K for the ASA.
kvno_on_is()
{
	local got

	got=$(kvno_on "$1")
	echo "dc$1: kvno $got, wanted $2"
	[ "$got" = "$2" ]
}

# fresh_at N [KVNO]: tickets issued now by DC N's KDC for every SPN
# decrypt with every member's keytab (at KVNO).
fresh_at()
{
	local cc

	cc=$(mktemp "$TMP/fresh$1.XXXXXX")
	kinit_at "$1" "$cc" || { echo "no ticket from dc$1's KDC"; return 1; }
	on "$1" all_decrypt "$cc" "${2:-}"
}

# tickets_at N CCACHE: a client of DC N's KDC with tickets for every SPN,
# issued now, that also authenticated through the load balancer.
tickets_at()
{
	local s

	kinit_at "$1" "$2" || return 1
	for s in "${SPNS[@]}"; do
		KRB5CCNAME=FILE:$2 on "$1" nsx kvno "$s@$REALM" || return 1
	done
	KRB5CCNAME=FILE:$2 on "$1" http_lb 200
}

# http_at N CCACHE: every member answers curl --negotiate with that
# client's tickets (from DC N's KDC) with 200.
http_at()
{
	on "$1" each_member_http "$2"
}

# set_interval VALUE N...: "asa:roll interval" in the smb.conf of DC N.
set_interval()
{
	local value=$1 n
	shift

	for n in "$@"; do
		grep -qE '^[[:space:]]*asa:roll interval = ' "${CONFS[$n]}" ||
			{ echo "no asa:roll interval in ${CONFS[$n]}"; return 1; }
		sed -i "s/^\\([[:space:]]*asa:roll interval = \\).*\$/\\1$value/" \
			"${CONFS[$n]}" || return 1
		grep -E 'asa:roll interval' "${CONFS[$n]}"
	done
}

# due_on N: the ASA's roll is due by DC N's directory and smb.conf.
due_on()
{
	local out

	out=$(asa status "$NAME" --json -H "${SAMS[$1]}" -s "${CONFS[$1]}")
	grep -F '"roll_due"' <<<"$out"
	grep -qF '"roll_due": true' <<<"$out"
}

# idle_in_log N HOLDER FROM: a run of DC N's service after line FROM of its
# log said that DC N is not the PDC emulator, DC HOLDER is, and rolled
# nothing.
idle_in_log()
{
	local want="idle: this DC (${DSAS[$1]}) is not the PDC emulator (${DSAS[$2]} holds the role); rolling nothing"

	tail -n +"$3" "${LOGS[$1]}" | grep -a 'asa_roll: roll\[' | tail -3
	tail -n +"$3" "${LOGS[$1]}" | grep -aE 'asa_roll: roll\[[0-9]+\]: ' |
		grep -aqF -- "$want" ||
		{ echo "dc$1: no such line after line $3: $want"; return 1; }
}

# never_rolled N FROM [LOG]: no run of DC N's service from line FROM of its
# log (or of LOG) on rolled the ASA or tried to.
never_rolled()
{
	local lines

	lines=$(tail -n +"$2" "${3:-${LOGS[$1]}}" |
		grep -aE "asa_roll: roll\\[[0-9]+\\]: ($NAME: due, rolling|Rolled $NAME:)")
	echo "dc$1, from line $2: ${lines:-no roll of $NAME}"
	[ -z "$lines" ]
}

# role_is N: both DCs' directories name DC N as the PDC emulator.
role_is()
{
	local n=$1 k got rc=0

	for k in 1 2; do
		[ -n "${DOWN[$k]:-}" ] && continue
		got=$(on "$k" nsx ldbsearch -H "${SAMS[$k]}" -s base \
			-b "$DOMAIN_DN" fSMORoleOwner 2>/dev/null | unfold |
			sed -n 's/^fSMORoleOwner: //p')
		echo "dc$k: fSMORoleOwner $got"
		[ "${got,,}" = "${DSAS[$n],,}" ] || rc=1
	done
	return $rc
}

# transfer_to N: the PDC emulator role to DC N, as an administrator does.
transfer_to()
{
	KRB5CCNAME=FILE:${ADMIN[$1]} on "$1" nsx samba-tool fsmo transfer \
		--role=pdc -H "ldap://${DCS[$1]}" --use-kerberos=required
}

# status_through N K: `samba-asa status` over LDAP to DC N says the ASA is
# at kvno K and every member holds K as Latest and K - 1 as Previous, with
# the last roll WHEN (unix seconds) and status "ok".
status_through()
{
	local n=$1 k=$2 when=$3 out

	out=$(KRB5CCNAME=FILE:${ADMIN[$n]} on "$n" asa status "$NAME" --json \
		-H "ldap://${DCS[$n]}" -k yes) || { echo "$out"; return 1; }
	echo "$out"
	/usr/bin/python3 - "$out" "$k" "$when" "${MEMBERS[@]}" <<'EOF'
import json
import sys

doc = json.loads(sys.argv[1])
asa = doc["asas"][0] if "asas" in doc else doc
k, when = int(sys.argv[2]), int(sys.argv[3])
bad = []
if asa["kvno"] != k:
    bad.append("kvno %s, wanted %d" % (asa["kvno"], k))
if asa["last_roll"] != when:
    bad.append("last_roll %s, wanted %d" % (asa["last_roll"], when))
names = sorted(m["name"].split(".")[0] for m in asa["members"])
if names != sorted(sys.argv[4:]):
    bad.append("members %s, wanted %s" % (names, sorted(sys.argv[4:])))
for m in asa["members"]:
    latest = (m["latest"] or {}).get("kvno")
    previous = (m["previous"] or {}).get("kvno")
    if (latest, previous, m["status"]) != (k, k - 1, "ok"):
        bad.append("%s: latest %s, previous %s, status %s" %
                   (m["name"], latest, previous, m["status"]))
print("\n".join(bad))
sys.exit(1 if bad else 0)
EOF
}

# last_roll_on N: the ASA's last roll (unix seconds) in DC N's directory.
last_roll_on()
{
	asa status "$NAME" --json -H "${SAMS[$1]}" -s "${CONFS[$1]}" |
		sed -n 's/.*"last_roll": \([0-9]*\),.*/\1/p'
}

# member_list_through N: `samba-asa member list` over LDAP to DC N names
# every member.
member_list_through()
{
	local out m rc=0

	out=$(KRB5CCNAME=FILE:${ADMIN[$1]} on "$1" asa member list "$NAME" \
		-H "ldap://${DCS[$1]}" -k yes) || { echo "$out"; return 1; }
	echo "$out"
	for m in "${MEMBERS[@]}"; do
		grep -qF "$(member_var URL "$m")" <<<"$out" ||
			{ echo "no $m"; rc=1; }
	done
	return $rc
}

# watch_kvno K FILE: poll both DCs' directories (at most 3 minutes) until
# each has kvno K; FILE gets the time ($EPOCHREALTIME) each had it first
# ("-" for never) and the seconds one round of polling took.  Run in the
# background while a roll is expected, so the time replication takes is
# measured from the roller's change.
watch_kvno()
{
	local k=$1 t0=$EPOCHREALTIME t1=- t2=- now rounds=0

	while :; do
		rounds=$((rounds + 1))
		now=$EPOCHREALTIME
		[ "$t1" = - ] && [ "$(kvno_on 1)" = "$k" ] && t1=$now
		now=$EPOCHREALTIME
		[ "$t2" = - ] && [ "$(kvno_on 2)" = "$k" ] && t2=$now
		[ "$t1" != - ] && [ "$t2" != - ] && break
		awk -v a="$t0" -v b="$now" 'BEGIN { exit !(b - a > 180) }' &&
			break
		sleep 0.2
	done
	echo "$t1 $t2 $(awk -v a="$t0" -v b="$EPOCHREALTIME" -v n="$rounds" \
		'BEGIN { printf "%.1f", (b - a) / n }')" >"$2"
}

# repl_seconds FILE FROM TO: seconds from DC FROM's change to DC TO's copy
# of it, as watch_kvno saw them, with the precision of its polling.
repl_seconds()
{
	local t=(0 0 0 0)

	read -r t[1] t[2] t[3] <"$1" 2>/dev/null
	if [ "${t[$3]:--}" = - ] || [ "${t[$2]:--}" = - ]; then
		echo never
		return 1
	fi
	echo "$(st_elapsed "${t[$2]}" "${t[$3]}") s (polled every" \
		"${t[3]} s)"
}

# roll_by HOLDER OTHER: the ASA made due on OTHER first (OTHER's service
# looks and stays idle), then on HOLDER, whose service rolls it; then
# nothing is due anywhere again.  OTHER "-": down.  Sets FROM_OTHER (where
# OTHER's log stood before) and ROLLED (the new kvno).
roll_by()
{
	local h=$1 o=$2 tag=$3 before from_h watch

	before=$(kvno_on "$h")
	if [ "$o" != - ]; then
		FROM_OTHER=$(on "$o" log_lines)
		check "$tag.due_on_dc$o" set_interval "$SHORT" "$o"
		check "$tag.dc$o.sees_it_due" wait_for 120 due_on "$o"
		FROM_DUE=$(on "$o" log_lines)
		check "$tag.dc$o.idle" wait_for 60 idle_in_log "$o" "$h" \
			"$FROM_DUE"
	fi
	from_h=$(on "$h" log_lines)
	WATCH=$TMP/watch.$tag
	rm -f "$WATCH"
	if [ "$o" != - ]; then
		watch_kvno "$((before + 1))" "$WATCH" &
		watch=$!
	fi
	check "$tag.due_on_dc$h" set_interval "$SHORT" "$h"
	check "$tag.dc$h.starts_roll" on "$h" wait_for 120 log_has_from \
		"$from_h" "roll\\[[0-9]+\\]: $NAME: due, rolling"
	# Not due again for an hour, at once: SHORT after this roll would
	# be the next.
	if [ "$o" != - ]; then
		set_interval "$LONG" "$h" "$o" >/dev/null
	else
		set_interval "$LONG" "$h" >/dev/null
	fi
	check "$tag.dc$h.rolls" on "$h" wait_for 180 rolled_in_log "$from_h"
	check "$tag.dc$h.kvno_by_one" kvno_on_is "$h" "$((before + 1))"
	ROLLED=$((before + 1))
	if [ "$o" != - ]; then
		check "$tag.dc$o.rolled_nothing" never_rolled "$o" "$FROM_OTHER"
		wait "$watch"
		check "$tag.replicated_to_dc$o" kvno_on_is "$o" "$ROLLED"
		figure "the roll on dc$h reached dc$o by natural replication" \
			"in $(repl_seconds "$WATCH" "$h" "$o")"
	fi
}

DOMAIN_DN=$(nsx ldbsearch -H "$SAM" -s base -b "" defaultNamingContext \
	2>/dev/null | unfold | sed -n 's/^defaultNamingContext: //p')
declare -A DOWN=()

# --- setup: dc2 reaches the members too, the ASA made through dc1 ----------

# On dc2, as on every DC that may roll: its own key (member setup), its line
# authorised on every member beside dc1's, and the members' host keys.
dc2_reaches_members()
{
	local m line keys

	for m in "${MEMBERS[@]}"; do
		line=$(asa member setup -s "$DC2_SMB_CONF_PATH" \
			--keytab="$(member_var KEYTAB "$m")" \
			--group="$(member_var KEYTAB_GROUP "$m")") || return 1
		keys=$(member_var AUTHORIZED_KEYS "$m")
		{ cat "$keys"; echo "$line"; } >"$keys.new" &&
			mv -f "$keys.new" "$keys" || return 1
		cat "$keys"
	done
	cmp "$DC2_PREFIX_ABS/private/asa/id_ed25519.pub" \
		"$SELFTEST_ARRAY_SSH_PUBKEY" >/dev/null 2>&1 &&
		{ echo "dc2 has dc1's key"; return 1; }
	# OpenSSH 10 (Debian 13) also prints a "# host:22 SSH-2.0-..."
	# comment per host on standard output: keep only the keys.
	nsx ssh-keyscan -t ed25519 $(for m in "${MEMBERS[@]}"; do
		echo "$(member_var HOST "$m")"; done) 2>/dev/null |
		grep -v '^#' >"$DC2_PREFIX_ABS/private/asa/known_hosts"
	cat "$DC2_PREFIX_ABS/private/asa/known_hosts"
	[ "$(wc -l <"$DC2_PREFIX_ABS/private/asa/known_hosts")" = \
		"${#MEMBERS[@]}" ]
}
check setup.dc2_reaches_members dc2_reaches_members
check setup.admin_ticket_dc1 kinit_at 1 "${ADMIN[1]}"
check setup.admin_ticket_dc2 kinit_at 2 "${ADMIN[2]}"
check setup.role_on_dc1 role_is 1

roll_setup pr			# NAME, ASA_DN: the ASA, through dc1
K0=$(kvno_on 1)
watch_kvno "$K0" "$TMP/watch.create"
check setup.replicated_to_dc2 kvno_on_is 2 "$K0"
figure "the new ASA reached dc2 by natural replication" \
	"$(repl_seconds "$TMP/watch.create" 1 2) after create returned"
check setup.dc1_tickets tickets_at 1 "$TMP/before1.cc"
check setup.dc2_tickets tickets_at 2 "$TMP/before2.cc"
# keys installed through dc1 decrypt tickets from dc2's KDC
check setup.dc2_tickets_decrypt on 2 all_decrypt "$TMP/before2.cc" "$K0"

# --- the role on dc1: dc2 idle, dc1 rolls -----------------------------------

roll_by 1 2 dc1_role
K1=$ROLLED
check dc1_role.dc2_fresh_tickets fresh_at 2 "$K1"
check dc1_role.dc2_old_tickets on 2 all_decrypt "$TMP/before2.cc" "$K0"
check dc1_role.dc2_old_tickets_curl http_at 2 "$TMP/before2.cc"
check dc1_role.dc1_fresh_tickets fresh_at 1 "$K1"
WHEN1=$(last_roll_on 1)
check dc1_role.status_through_dc2 wait_for 60 status_through 2 "$K1" "$WHEN1"
check dc1_role.members_through_dc2 member_list_through 2

# --- the role moves to dc2: dc1 idle, dc2 rolls -----------------------------

check transfer.tickets_dc1 tickets_at 1 "$TMP/mid1.cc"
check transfer.tickets_dc2 tickets_at 2 "$TMP/mid2.cc"
FROM1=$(on 1 log_lines)
check transfer.to_dc2 transfer_to 2
check transfer.role_on_dc2 wait_for 60 role_is 2
check transfer.dc1_idle wait_for 60 idle_in_log 1 2 "$FROM1"
roll_by 2 1 dc2_role
K2=$ROLLED
check dc2_role.dc1_rolled_nothing_since_transfer never_rolled 1 "$FROM1"
check dc2_role.dc1_fresh_tickets fresh_at 1 "$K2"
check dc2_role.dc2_fresh_tickets fresh_at 2 "$K2"
# tickets from before the transfer, from either KDC, still work
check dc2_role.dc1_old_tickets on 1 all_decrypt "$TMP/mid1.cc" "$K1"
check dc2_role.dc2_old_tickets on 2 all_decrypt "$TMP/mid2.cc" "$K1"
check dc2_role.dc1_old_tickets_curl http_at 1 "$TMP/mid1.cc"
WHEN2=$(last_roll_on 2)
check dc2_role.status_through_dc1 wait_for 60 status_through 1 "$K2" "$WHEN2"
for m in "${MEMBERS[@]}"; do
	check "dc2_role.keytab.$m" member_holds "$m" "$K2 $K1"
done

# --- dc2 down, dc1 rolls, dc2 back ------------------------------------------

FROM2=$(on 2 log_lines)
check down.role_back_to_dc1 transfer_to 1
check down.role_on_dc1 wait_for 60 role_is 1
check down.dc2_idle wait_for 60 idle_in_log 2 1 "$FROM2"
check down.tickets_dc2 tickets_at 2 "$TMP/last2.cc"

# stop_dc2: dc2's samba process group, by the PID pair.sh recorded.
stop_dc2()
{
	local pid i

	read -r pid <"$DC2_PREFIX_ABS/samba.pid" || return 1
	# samba rewrites its command line (setproctitle): known by its log
	# (the same file, not the same name: in a chroot the link names it
	# from samba's own mount namespace)
	[ "/proc/$pid/fd/1" -ef "${LOGS[2]}" ] ||
		{ echo "pid $pid is not dc2's samba"; return 1; }
	kill -TERM -- "-$pid" || return 1
	for i in $(seq 1 600); do
		kill -0 -- "-$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL -- "-$pid" 2>/dev/null
	! kill -0 -- "-$pid" 2>/dev/null && echo "dc2 (process group $pid) stopped"
}
check down.stop_dc2 stop_dc2
DOWN[2]=1
check down.dc2_kdc_gone expect_out nz "" -- kinit_at 2 "$TMP/none.cc"

roll_by 1 - down
K3=$ROLLED
check down.dc1_fresh_tickets fresh_at 1 "$K3"
# dc2's clients hold tickets at the previous kvno: still good everywhere
check down.dc2_tickets_from_before on 2 all_decrypt "$TMP/last2.cc" "$K2"
check down.dc2_tickets_from_before_curl http_at 2 "$TMP/last2.cc"
check down.dc2_kvno_behind kvno_on_is 2 "$K2"

# dc2 again, as pair.sh started it; its standard input a pipe this suite
# holds (samba -i ends when it closes: with the suite, at the latest).
mv -f "${LOGS[2]}" "${LOGS[2]}.before-restart"
mkfifo "$TMP/dc2.stdin"
exec 9<>"$TMP/dc2.stdin"
T_START=$EPOCHREALTIME
SELFTEST_SAMBA_MODEL=standard st_launch_samba "$DC2_PREFIX_ABS" \
	"$SELFTEST_NETNS" "$SELFTEST_SERVICE_MODULES" "$DC2_KRB5_CONFIG" \
	<"$TMP/dc2.stdin" 9>&-
read -r DC2_PID <"$DC2_PREFIX_ABS/samba.pid"
unset 'DOWN[2]'

# Catch-up, from dc2's start until its directory and its KDC are at K3:
# every half second a fresh ticket from dc2's KDC (once it answers) for one
# SPN after another, decrypted with every member's keytab and used through
# the load balancer.  A KDC not answering yet is no failure (clients ask
# another); a ticket a member cannot decrypt, or a refused request, is.
catch_up()
{
	local i=0 s m cc=$TMP/catchup.cc out kvno bad=0 probes=0 now
	local t_answers="" t_dir="" t_kdc=""

	while :; do
		now=$(st_elapsed "$T_START" "$EPOCHREALTIME")
		[ -z "$t_dir" ] && [ "$(kvno_on 2)" = "$K3" ] && t_dir=$now
		s=${SPNS[$((i % ${#SPNS[@]}))]}
		rm -f "$cc"
		now=$(st_elapsed "$T_START" "$EPOCHREALTIME")
		if kinit_at 2 "$cc" 2>/dev/null; then
			[ -z "$t_answers" ] && t_answers=$now
			for m in "${MEMBERS[@]}"; do
				out=$(KRB5CCNAME=FILE:$cc on 2 nsx kvno \
					-k "$(member_var KEYTAB "$m")" \
					"$s@$REALM" 2>&1)
				probes=$((probes + 1))
				if [[ $out != *"keytab entry valid"* ]]; then
					bad=$((bad + 1))
					echo "at $now s, $m: $out"
				fi
				kvno=$(sed -n 's/.*kvno = \([0-9]*\).*/\1/p' \
					<<<"$out")
			done
			[ -z "$t_kdc" ] && [ "$kvno" = "$K3" ] && t_kdc=$now
			probes=$((probes + 1))
			KRB5CCNAME=FILE:$cc on 2 http_lb 200 >/dev/null ||
				{ bad=$((bad + 1)); echo "at $now s: curl failed"; }
		elif [ -n "$t_answers" ]; then
			bad=$((bad + 1))
			echo "at $now s: dc2's KDC answered before, not now"
		fi
		[ -n "$t_dir" ] && [ -n "$t_kdc" ] && break
		awk -v a="$now" 'BEGIN { exit !(a > 300) }' && break
		i=$((i + 1))
		sleep 0.5
	done
	echo "$probes probes, $bad failed; from dc2's start: its KDC" \
		"answered after ${t_answers:-never} s, its directory had kvno" \
		"$K3 after ${t_dir:-never} s, its KDC issued tickets at it" \
		"after ${t_kdc:-never} s"
	echo "${t_answers:--} ${t_dir:--} ${t_kdc:--} $probes $bad" \
		>"$TMP/catchup.times"
	[ "$bad" = 0 ] && [ -n "$t_dir" ] && [ -n "$t_kdc" ]
}
check restart.no_member_breaks_while_dc2_catches_up catch_up
read -r T_ANSWERS T_DIR T_KDC PROBES BAD <"$TMP/catchup.times" 2>/dev/null
figure "dc2 started again after a roll on dc1: its KDC answered after" \
	"${T_ANSWERS:--} s, its directory had the roll after ${T_DIR:--} s," \
	"its KDC issued tickets at the new kvno after ${T_KDC:--} s (from" \
	"its start); ${PROBES:-0} probes of the members meanwhile," \
	"${BAD:-?} failed"
check restart.dc2_answers \
	bash -c '. "$1"; st_wait_samba "$2" "$3" "$4" "$5" "$6"' wait \
	"$REPO/selftest/env.sh" "$DC2_PREFIX_ABS" "$SELFTEST_NETNS" \
	"$DC2_SERVER_IP" "$DC2_PID" "$DC2_KRB5_CONFIG"
check restart.dc2_caught_up kvno_on_is 2 "$K3"
check restart.dc2_fresh_tickets fresh_at 2 "$K3"
fresh_http_at()
{
	kinit_at "$1" "$2" && http_at "$1" "$2"
}
check restart.dc2_fresh_tickets_curl fresh_http_at 2 "$TMP/after2.cc"
check restart.dc1_fresh_tickets fresh_at 1 "$K3"
check restart.dc2_tickets_from_before on 2 all_decrypt "$TMP/last2.cc" "$K2"
WHEN3=$(last_roll_on 1)
check restart.status_through_dc2 wait_for 60 status_through 2 "$K3" "$WHEN3"
check restart.dc2_idle idle_in_log 2 1 1
check restart.dc2_rolled_nothing never_rolled 2 1
check down.dc2_rolled_nothing never_rolled 2 "$FROM2" \
	"${LOGS[2]}.before-restart"
check restart.replicate bash "$REPO/selftest/pair.sh" replicate "$PREFIX_ABS"
check restart.replication_healthy \
	bash "$REPO/selftest/pair.sh" check-repl "$PREFIX_ABS"
for m in "${MEMBERS[@]}"; do
	check "restart.keytab.$m" member_holds "$m" "$K3 $K2"
done

exec 9>&-
exit $((FAILED > 0))
