#!/bin/bash
# selftest/suites/array_clients.sh: real clients, several implementations,
# authenticate with Kerberos through the load balancer to both protocols of
# the array (environment ad_dc_array), before, during and after two rolls:
#
#   HTTP   curl --negotiate, chromium (headless, --auth-server-allowlist),
#          python urllib with python3-gssapi (gss_clients.py http);
#   IMAP   curl (AUTHENTICATE GSSAPI), python imaplib with python3-gssapi
#          (gss_clients.py imap).
#
# One ASA carries http/ and imap/ SPNs of the load-balanced name; every
# member holds its keys twice, in Apache's keytab and in Dovecot's, and
# `samba-asa roll` rolls both.  After each roll the clients run twice: with
# the service tickets they got before the roll (the kvno checked) and with
# fresh ones.  Every attempt counts; each client's count is asserted, with
# 0 failed.  The members' logs must show the same: Apache's auth.log one
# 200 per HTTP success, each for the Kerberos user with GSS_MECH
# Negotiate/krb5 and the client's User-Agent (no Basic, no NTLM, ever);
# Dovecot's log one "Login: user=<...>, method=GSSAPI" per IMAP success
# and no other method.  A client whose Debian package is missing is
# skipped, named, with the reason.
#
# Emits subunit v1.
#
# This program is free software; you can redistribute it and/or modify
# it under the terms of the GNU General Public License as published by
# the Free Software Foundation; either version 3 of the License, or
# (at your option) any later version.

. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
# shellcheck source=selftest/suites/roll_common.sh
. "$REPO/selftest/suites/roll_common.sh"

# shellcheck source=selftest/clients.sh
. "$REPO/selftest/clients.sh"
CLIENTS_NETNS=${SELFTEST_NETNS:-}

LB=mail.$LOWER
NAME=aclients$$
RESULTS=$TMP/results		# one line per attempt: OK|FAIL CLIENT ...
# The clients of this run (CLIENT:PROTO), those that can run here.
CLIENTS=()

cleanup()
{
	[ -e "$TMP/stop" ] || touch "$TMP/stop"
	wait 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

# --- the clients: one attempt each, one line in RESULTS -----------------

# record CLIENT PROTO PHASE OK DETAIL
record()
{
	local word=FAIL

	[ "$4" = 1 ] && word=OK
	echo "$word $1 $2 $3 $5" >>"$RESULTS"
}

curl_http()
{
	local phase=$1 out rc=0

	out=$(nsx curl -sS --max-time 20 --negotiate -u : -w '\n%{http_code}' \
		"http://$LB/" 2>&1) || rc=$?
	if [ "$rc" = 0 ] && [ "${out##*$'\n'}" = 200 ] &&
	   [[ $out == "array member "* ]]; then
		record curl http "$phase" 1 "$(awk '{ print $3; exit }' <<<"$out")"
	else
		record curl http "$phase" 0 "curl=$rc ${out//$'\n'/ }"
	fi
}

curl_imap()
{
	local out

	out=$(clients_curl_imap "$LB")
	record curl imap "$1" "$([ $? = 0 ] && echo 1 || echo 0)" "$out"
}

python_client()
{
	local proto=$1 phase=$2 target=$3 line

	while read -r line; do
		if [[ $line == OK* ]]; then
			record python "$proto" "$phase" 1 "${line#OK }"
		else
			record python "$proto" "$phase" 0 "${line#FAIL }"
		fi
	done < <(clients_python "$proto" "$target" "${4:-1}" 2>&1 || true)
}

# python_PROTO PHASE [COUNT]: COUNT attempts in one process.
python_http()
{
	python_client http "$1" "http://$LB/" "${2:-1}"
}

python_imap()
{
	python_client imap "$1" "$LB" "${2:-1}"
}

chromium_http()
{
	local out

	out=$(TMPDIR=$TMP clients_chromium "http://$LB/")
	record chromium http "$1" "$([ $? = 0 ] && echo 1 || echo 0)" "$out"
}

# run_clients PHASE CCACHE ROUNDS [CHROMIUM]: every client ROUNDS times
# with the ticket cache CCACHE; chromium (seconds to start) once, and only
# if CHROMIUM is not "no".
run_clients()
{
	local phase=$1 cc=$2 rounds=$3 c i
	local -x KRB5CCNAME=FILE:$cc

	for c in "${CLIENTS[@]}"; do
		case "$c" in
		chromium:*)
			[ "${4:-yes}" = no ] || chromium_http "$phase" ;;
		python:*)
			"python_${c#*:}" "$phase" "$rounds" ;;
		*)
			for ((i = 0; i < rounds; i++)); do
				"${c%%:*}_${c#*:}" "$phase"
			done ;;
		esac
	done
}

# during_loop CLIENT CCACHE: CLIENT again and again (phase "during") with
# its own copy of CCACHE, until one attempt has started after TMP/stop
# appeared: the attempts cover the whole roll, at least two of them.
during_loop()
{
	local c=$1 cc stopped=0

	cc=$TMP/during.${c/:/-}.ccache
	cp "$2" "$cc"
	touch "$TMP/ready.${c/:/-}"
	while [ "$stopped" = 0 ]; do
		[ -e "$TMP/stop" ] && stopped=1
		KRB5CCNAME=FILE:$cc "${c%%:*}_${c#*:}" during
		# the roll gets the CPU, not a client's busy loop
		[ "$stopped" = 1 ] || sleep 0.5
	done
}

# roll_with_clients N CCACHE: every client running in a loop (tickets of
# CCACHE) while `samba-asa roll` runs; they stop once the roll has ended
# and each has run again.
roll_with_clients()
{
	local n=$1 cc=$2 c pids=() rc=0 before t=0

	rm -f "$TMP/stop" "$TMP"/ready.*
	for c in "${CLIENTS[@]}"; do
		during_loop "$c" "$cc" &
		pids+=("$!")
	done
	# the roll starts once every client is under way
	while [ "$(ls "$TMP"/ready.* 2>/dev/null | wc -l)" -lt \
		"${#CLIENTS[@]}" ] && [ "$t" -lt 600 ]; do
		sleep 0.1
		t=$((t + 1))
	done
	before=$(dir_kvno "$NAME")
	t=$SECONDS
	asa roll "$NAME" "${LOCAL[@]}" || rc=$?
	touch "$TMP/stop"
	echo "roll $n took $((SECONDS - t)) s" | tee -a "$TMP/timing"
	wait "${pids[@]}"
	echo "roll $n: kvno $before -> $(dir_kvno "$NAME"), exit $rc"
	[ "$rc" = 0 ] && kvno_grew "$before" "$NAME"
}

# --- what the members logged ----------------------------------------------

# Apache's auth.log lines of all members for AGENT (a regex on the
# User-Agent), from the suite's start.
auth_log_lines()
{
	local m

	for m in "${MEMBERS[@]}"; do
		tail -n +"$((${AUTH_START[$m]} + 1))" \
			"$(member_var AUTH_LOG "$m")"
	done
}

imap_log_lines()
{
	local m

	for m in "${MEMBERS[@]}"; do
		tail -n +"$((${IMAP_START[$m]} + 1))" \
			"$(member_var IMAP_LOG "$m")"
	done
}

# client_count CLIENT PROTO MIN: at least MIN attempts, all OK.
client_count()
{
	local ok fail

	ok=$(grep -c "^OK $1 $2 " "$RESULTS")
	fail=$(grep -c "^FAIL $1 $2 " "$RESULTS")
	echo "$1 $2: $ok succeeded, $fail failed (at least $3 wanted)"
	grep "^FAIL $1 $2 " "$RESULTS" | head -5
	[ "$fail" = 0 ] && [ "$ok" -ge "$3" ]
}

# http_logged CLIENT AGENT: one 200 in auth.log for each OK of CLIENT,
# for the Kerberos user, by Negotiate/krb5.
http_logged()
{
	local client=$1 agent=$2 ok lines good

	ok=$(grep -c "^OK $client http " "$RESULTS")
	lines=$(auth_log_lines | grep -E "\"GET / HTTP/1\\.1\" agent=\"$agent")
	good=$(grep -cE "^[^ ]+ $DC_USERNAME@$REALM mech=Negotiate/krb5 200 " \
		<<<"$lines")
	echo "$client: $ok successes, $good 200s logged by Negotiate/krb5" \
		"for $DC_USERNAME@$REALM"
	grep -v " 401 " <<<"$lines" | grep -vE " mech=Negotiate/krb5 200 " |
		head -5
	[ "$ok" -gt 0 ] && [ "$good" = "$ok" ]
}

# No request authenticated by anything but Negotiate with krb5, and no
# anonymous one got in.
http_only_kerberos()
{
	local bad

	bad=$(auth_log_lines | grep -vE \
		"^[^ ]+ (- mech=- 401|[^ ]+ mech=Negotiate/krb5 (200|404)) ")
	echo "lines not (401 unauthenticated | Negotiate/krb5):"
	echo "${bad:-none}"
	[ -z "$bad" ] && [ "$(auth_log_lines | wc -l)" -gt 0 ]
}

imap_logged()
{
	local ok logins good other

	ok=$(grep -c "^OK [a-z]* imap " "$RESULTS")
	# Dovecot 2.3 says "Login:", 2.4 "Logged in:"
	logins=$(imap_log_lines | grep -cE "(Login|Logged in): user=<")
	good=$(imap_log_lines | grep -cE "(Login|Logged in): user=<${DC_USERNAME,,}@$LOWER>, method=GSSAPI, ")
	other=$(imap_log_lines | grep -E "(Login|Logged in): user=<" |
		grep -v "method=GSSAPI, ")
	echo "imap: $ok successes, $logins logins, $good by GSSAPI for" \
		"${DC_USERNAME,,}@$LOWER"
	echo "${other:-no login by another method}"
	imap_log_lines | grep -iE "log(in|ged in)" | tail -n 2
	[ "$ok" -gt 0 ] && [ "$good" = "$ok" ] && [ "$logins" = "$ok" ]
}

# CCACHE holds a ticket for SPN of kvno KVNO (kvno reuses a cached one).
ticket_kvno()
{
	local out

	out=$(KRB5CCNAME=FILE:$1 nsx kvno "$2" 2>&1)
	echo "$out"
	[[ $out == *"kvno = $3" ]]
}

# --- the run ----------------------------------------------------------------

# As the admin guide (chapter 7, "A second service on the same members")
# shows it: the ASA for HTTP, then the imap/ SPN and Dovecot's keytab on
# each member as a second member record of the same host.
setup()
{
	local args=() m kt

	rl_kinit "$TMP/ccache" && cp "$TMP/ccache" "$TMP/tgt" || return 1
	# each member's samba-asa-member config: Apache's keytab and Dovecot's
	array_use_member_config "$PREFIX_ABS" || return 1
	for m in "${MEMBERS[@]}"; do
		cat "$(member_var CONFIG "$m")"
		args+=(--member "$(member_var URL "$m")")
	done
	asa create "$NAME" --spn "http/$LB" "${args[@]}" "${LOCAL[@]}" &&
	asa spn add "$NAME" "imap/$LB" "${LOCAL[@]}" || return 1
	for m in "${MEMBERS[@]}"; do
		asa member add "$NAME" "$(member_var IMAP_URL "$m")" \
			--name "$m-imap" "${LOCAL[@]}" || return 1
	done
	for m in "${MEMBERS[@]}"; do
		kt=$(member_var IMAP_KEYTAB "$m")
		nsx kvno -k "$(member_var KEYTAB "$m")" "http/$LB" &&
		nsx kvno -k "$kt" "imap/$LB" || return 1
		stat -c '%n %a %U:%G' "$kt"
		[ "$(stat -c '%a %G' "$kt")" = "640 dovecot" ] || return 1
	done
}

declare -A AUTH_START IMAP_START
for m in "${MEMBERS[@]}"; do
	AUTH_START[$m]=$(wc -l <"$(member_var AUTH_LOG "$m")")
	IMAP_START[$m]=$(wc -l <"$(member_var IMAP_LOG "$m")")
done
: >"$RESULTS"

check setup setup || exit 1

# Which clients this machine has (bootstrap.sh --test installs them all).
CLIENTS=(curl:http curl:imap)
if command -v chromium >/dev/null; then
	CLIENTS+=(chromium:http)
else
	subunit_skip_test clients.chromium "no chromium (Debian package" \
		"chromium): run buildtools/bootstrap.sh --test"
fi
if /usr/bin/python3 -c 'import gssapi' 2>/dev/null; then
	CLIENTS+=(python:http python:imap)
else
	subunit_skip_test clients.python "no python3-gssapi (Debian package" \
		"python3-gssapi): run buildtools/bootstrap.sh --test"
fi

# Before any roll: kvno 1 tickets, kept in ccache.0.
cp "$TMP/tgt" "$TMP/ccache.0"
T0=$SECONDS
run_clients before "$TMP/ccache.0" 3
check tickets.before ticket_kvno "$TMP/ccache.0" "http/$LB" 1

for n in 1 2; do
	check "roll.$n" roll_with_clients "$n" "$TMP/ccache.$((n - 1))"
	# the tickets of before this roll, then fresh ones (kept for the
	# next roll)
	prev=$TMP/ccache.$((n - 1))
	check "tickets.from-before-roll-$n.http" \
		ticket_kvno "$prev" "http/$LB" "$n"
	check "tickets.from-before-roll-$n.imap" \
		ticket_kvno "$prev" "imap/$LB" "$n"
	run_clients "after-roll-$n-old-tickets" "$prev" 3
	cp "$TMP/tgt" "$TMP/ccache.$n"
	run_clients "after-roll-$n" "$TMP/ccache.$n" 1 no
	check "tickets.after-roll-$n" ticket_kvno "$TMP/ccache.$n" \
		"http/$LB" "$((n + 1))"
done

# verify: a real ticket for both SPNs decrypted by every member record.
check verify asa verify "$NAME" "${LOCAL[@]}"

# The counts: before (3), during (>= 2 per roll), after each roll with old
# tickets (3) and new ones (1); chromium once per phase.
for c in "${CLIENTS[@]}"; do
	min=$((3 + 2 * 2 + 2 * (3 + 1)))
	[[ $c == chromium:* ]] && min=$((1 + 2 * 2 + 2 * 1))
	check "count.${c%%:*}.${c#*:}" client_count "${c%%:*}" "${c#*:}" "$min"
done
check log.http.curl http_logged curl 'curl/'
[[ " ${CLIENTS[*]} " == *" chromium:http "* ]] &&
	check log.http.chromium http_logged chromium '[^"]*HeadlessChrome/'
[[ " ${CLIENTS[*]} " == *" python:http "* ]] &&
	check log.http.python http_logged python 'Python-urllib/'
check log.http.only-kerberos http_only_kerberos
check log.imap.gssapi imap_logged

# The matrix, for the log.
{
	echo "array_clients: client x protocol (succeeded/failed)," \
		"$((SECONDS - T0)) s from the first client to the last;" \
		"$(tr '\n' ' ' <"$TMP/timing")"
	for c in "${CLIENTS[@]}"; do
		echo "  ${c%%:*} ${c#*:}: $(grep -c "^OK ${c%%:*} ${c#*:} " \
			"$RESULTS")/$(grep -c "^FAIL ${c%%:*} ${c#*:} " "$RESULTS")"
	done
} >&2

exit $((FAILED > 0))
