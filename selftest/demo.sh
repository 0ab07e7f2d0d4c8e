#!/bin/bash
# selftest/demo.sh: "make demo", the seed's whole procedure on a throwaway
# domain, end to end, narrated step by step:
#
#   a DC with unique_principal_names and the asa_roll service enabled, in a
#   network namespace of its own; three members (sshd, Apache with
#   mod_auth_gssapi, Dovecot IMAP with GSSAPI) behind haproxy on the
#   load-balanced names; unique SPNs (query, a duplicate refused by the DC
#   itself); the shared service account created with the seed's five SPNs
#   and an imap/ one, installed on every member (Apache's keytab and
#   Dovecot's); status and verify; then real clients through the load
#   balancer (curl --negotiate, headless chromium, IMAP AUTHENTICATE GSSAPI
#   with Python's imaplib and with curl) running while the service rolls
#   the password on a short demo schedule and one member goes down and
#   comes back.  It ends with the count of authentications per client (0
#   failed, or the demo fails), the rolls done, the kvno and the status,
#   and tears everything down.
#
# Every name and directory carries this script's PID: it runs twice in a
# row and twice at once.

set -eu
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$REPO/selftest/env.sh"
. "$REPO/selftest/array.sh"
. "$REPO/selftest/clients.sh"

[ "$(id -u)" = 0 ] || st_die "must run as root (network namespaces)"

RUN=$REPO/st/demo-$$
NS=asa-demo-$$
CLIENTS_NETNS=$NS
INST=$RUN/dc1
SAMBA_ASA=$REPO/bin/tools/samba-asa
ROLL_INTERVAL=40	# seconds between scheduled rolls, for the demo
ROLLS_WANTED=3		# scheduled rolls to watch (one of them delayed)
CLIENTS=3
CLIENT_PIDS=()

step()
{
	echo
	echo "=== $*"
}

say()
{
	echo "==> $*"
}

teardown()
{
	local pid

	trap - EXIT INT TERM HUP
	step "tearing down: clients, members, load balancer, samba, namespace"
	for pid in "${CLIENT_PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${CLIENT_PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	if [ -e "$INST/array" ]; then
		array_stop "$INST" || true
	fi
	st_stop "$INST"
	exec 9>&- 2>/dev/null || true
	rm -rf "$RUN"
	say "nothing left: no samba, sshd, apache2, dovecot or haproxy of ours," \
		"no namespace $NS"
}
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

in_ns()
{
	ip netns exec "$NS" "$@"
}

asa()
{
	in_ns "$SAMBA_ASA" "$@"
}

# expect_refusal PATTERN COMMAND...: the command must fail saying PATTERN.
expect_refusal()
{
	local pattern=$1 out
	shift
	if out=$("$@" 2>&1); then
		echo "$out"
		st_die "a duplicate SPN was accepted"
	fi
	echo "$out" | grep -E "$pattern|ERROR" | head -3
	echo "$out" | grep -qE "$pattern" ||
		st_die "refused, but not with $pattern"
}

# The ASA's kvno as the directory has it.
asa_kvno()
{
	in_ns ldbsearch -H "$SAM" -b "$BASEDN" "(sAMAccountName=$ASA\$)" \
		msDS-KeyVersionNumber 2>/dev/null |
		sed -n 's/^msDS-KeyVersionNumber: //p'
}

# wait_for WHAT SECONDS COMMAND...: run COMMAND every 2 s until it
# succeeds, with a progress line; fail the demo after SECONDS.
wait_for()
{
	local what=$1 limit=$2 t0=$SECONDS
	shift 2

	while ! "$@"; do
		if [ $((SECONDS - t0)) -ge "$limit" ]; then
			echo
			st_die "gave up waiting for $what after $limit s"
		fi
		printf '\r    waiting for %s: %d s (kvno %s, %s)   ' "$what" \
			$((SECONDS - t0)) "$(asa_kvno)" "$(client_counts)"
		sleep 2
	done
	printf '\r    %s after %d s (kvno %s, %s)          \n' "$what" \
		$((SECONDS - t0)) "$(asa_kvno)" "$(client_counts)"
}

# Whether status reports a last error for member NAME.
member_has_error()
{
	asa status "$ASA" --json "${LOCAL[@]}" 2>/dev/null |
		/usr/bin/python3 -c '
import json, sys
name = sys.argv[1]
doc = json.load(sys.stdin)
asas = doc["asas"] if isinstance(doc, dict) and "asas" in doc else doc
if isinstance(asas, dict):
    asas = [asas]
for a in asas:
    for m in a.get("members", []):
        if m.get("name", "").split(".")[0] == name and m.get("last_error"):
            sys.exit(0)
sys.exit(1)' "$1"
}

kvno_above()
{
	[ "$(asa_kvno)" -gt "$1" ]
}

# One client: one request through the load balancer a quarter second, one
# line per request ("OK member" or "FAIL ...").  Client N starts from its
# own TGT and reuses a service ticket for up to REFRESH seconds before it
# asks the KDC for a new one (0: a new one for every request).  A ticket
# reused for 20 s spans a roll every 40 s, as a client's 10-hour ticket
# spans a roll every 21 days: the members' previous keys must take it.
client_loop()
{
	local n=$1 refresh=$2 out code body since=-1000
	local tgt=$RUN/client$n.tgt
	export KRB5CCNAME=FILE:$RUN/client$n.ccache

	KRB5CCNAME=FILE:$tgt in_ns kinit "$DC_USERNAME@$REALM" \
		<"$SELFTEST_PASSWORD_FILE" >/dev/null 2>&1 ||
		{ echo "FAIL kinit" >>"$RUN/client$n.log"; return; }
	while [ ! -e "$RUN/clients.stop" ]; do
		if [ $((SECONDS - since)) -ge "$refresh" ]; then
			cp "$tgt" "$RUN/client$n.ccache"
			since=$SECONDS
		fi
		code=0
		out=$(in_ns curl -s --max-time 10 --negotiate -u : \
			-w '\n%{http_code}' "http://$LB_NAME/" 2>&1) || code=$?
		body=${out%$'\n'*}
		if [ "$code" = 0 ] && [ "${out##*$'\n'}" = 200 ]; then
			body=${body#array member }
			echo "OK ${body%% *}" >>"$RUN/client$n.log"
		else
			echo "FAIL curl=$code http=${out##*$'\n'}" \
				>>"$RUN/client$n.log"
		fi
		sleep 0.25
	done
}

# other_client_loop NAME PAUSE COMMAND...: another client, one attempt
# after another (PAUSE seconds between them) with its own TGT,
# service tickets renewed every 10 s, one line per attempt in
# client-NAME.log ("OK <member or imap>" or "FAIL ...").
other_client_loop()
{
	local name=$1 pause=$2 out since=-1000
	local tgt=$RUN/client-$name.tgt
	shift 2
	export KRB5CCNAME=FILE:$RUN/client-$name.ccache

	KRB5CCNAME=FILE:$tgt in_ns kinit "$DC_USERNAME@$REALM" \
		<"$SELFTEST_PASSWORD_FILE" >/dev/null 2>&1 ||
		{ echo "FAIL kinit" >>"$RUN/client-$name.log"; return; }
	while [ ! -e "$RUN/clients.stop" ]; do
		if [ $((SECONDS - since)) -ge 10 ]; then
			cp "$tgt" "$RUN/client-$name.ccache"
			since=$SECONDS
		fi
		if out=$("$@" 2>&1); then
			echo "OK ${out##*[ $'\n']}" >>"$RUN/client-$name.log"
		else
			echo "FAIL ${out//$'\n'/ }" >>"$RUN/client-$name.log"
		fi
		sleep "$pause"
	done
}

# The lines of the clients of KIND (curl: the curl --negotiate clients).
client_lines()
{
	case "$1" in
	curl)	cat "$RUN"/client[0-9]*.log 2>/dev/null ;;
	*)	cat "$RUN/client-$1.log" 2>/dev/null ;;
	esac
}

client_counts()
{
	local ok fail
	ok=$(cat "$RUN"/client*.log 2>/dev/null | grep -c '^OK' || true)
	fail=$(cat "$RUN"/client*.log 2>/dev/null | grep -c '^FAIL' || true)
	echo "$ok authentications, $fail failed"
}

mkdir -p "$RUN"
step "1. provisioning a new AD domain (random realm and password)"
st_provision "$RUN/template"
st_read_vars "$RUN/template/template.vars"
echo "==> realm $REALM, NetBIOS domain $DOMAIN," \
	"provisioned in $PROVISION_SECONDS s, unique_principal_names enabled"

step "2. starting the DC in network namespace $NS, with the asa_roll service"
cat <<EOF
    smb.conf [global] gets (a demo schedule; the default interval is 21d):
	server services = +asa_roll
	asa:roll interval = ${ROLL_INTERVAL}s
	asa:roll jitter = 0
	asa:roll retry = 5s
	asa:roll retry max = 10s
	asa:roll check interval = 5s
	asa:roll start delay = 1s
	asa:roll command = $SAMBA_ASA
EOF
export SELFTEST_SMBCONF_EXTRA="server services = +asa_roll
asa:roll interval = ${ROLL_INTERVAL}s
asa:roll jitter = 0
asa:roll retry = 5s
asa:roll retry max = 10s
asa:roll check interval = 5s
asa:roll start delay = 1s
asa:roll command = $SAMBA_ASA"
# samba -i stops when its standard input ends: a FIFO this script holds.
mkfifo "$RUN/samba.stdin"
exec 9<>"$RUN/samba.stdin"
ST_VERBOSE=1 st_start "$RUN/template" "$INST" "$NS" <"$RUN/samba.stdin"
unset SELFTEST_SMBCONF_EXTRA
st_read_vars "$INST/environ"
export KRB5_CONFIG LDB_MODULES_PATH
L=$DNSNAME
SAM=$INST/private/sam.ldb
BASEDN=DC=${L//./,DC=}
LOCAL=(-H "$SAM" -s "$SMB_CONF_PATH")
say "samba PID $SELFTEST_SAMBA_PID, answering after $START_SECONDS s"
export KRB5CCNAME=FILE:$RUN/admin.ccache
in_ns kinit "$DC_USERNAME@$REALM" <"$SELFTEST_PASSWORD_FILE" >/dev/null
say "kinit $DC_USERNAME@$REALM: the administrator's ticket for what follows"

step "3. the server array: three members and a load balancer"
array_start "$INST"
st_read_vars "$INST/environ"
LB_NAME=mail.$L
MEMBERS=()
for m in $SELFTEST_ARRAY_MEMBERS; do
	MEMBERS+=("${m%%=*}")
done
for m in "${MEMBERS[@]}"; do
	v=SELFTEST_MEMBER_IP_$m
	say "member $m.$L on ${!v}: sshd, and Apache with mod_auth_gssapi" \
		"(Kerberos only, no NTLM)"
done
say "haproxy on $SELFTEST_LB_IP: $SELFTEST_LB_NAMES (round robin)"
echo
say "each member's own settings for samba-asa-member: two keytabs, Apache's"
say "(www-data) and Dovecot's (dovecot); m1's config file:"
sed 's/^/    /' "$SELFTEST_MEMBER_CONFIG_m1"
say "samba-asa member setup: the DC's SSH key, and the one line each member"
say "adds to root's authorized_keys (the key may run nothing but"
say "samba-asa-member with that config)"
asa member setup --config="$SELFTEST_MEMBER_CONFIG_m1" -s "$SMB_CONF_PATH"
array_use_member_config "$INST" || st_die "cannot authorise the DC's key"

step "4. unique SPNs (setspn -Q, setspn -S): the DC's own rule"
SPNS=(http/mail.$L http/autod.$L exchangeMDB/outlook.$L
      exchangeRFR/outlook.$L exchangeAB/outlook.$L imap/mail.$L)
URL=ldap://$SERVER.$L
say "samba-asa spn query ${SPNS[*]}   (free: exit status 0)"
asa spn query "${SPNS[@]}" -H "$URL" -k yes
say "samba-tool computer create web1 --service-principal-name=http/web.$L"
in_ns samba-tool computer create web1 \
	--service-principal-name="http/web.$L" -H "$URL" -k yes >/dev/null
say "samba-asa spn query http/web.$L   (taken: exit status 1, the holder)"
asa spn query "http/web.$L" -H "$URL" -k yes || true
say "samba-tool spn add ｈｔｔｐ/web.$L Administrator: full-width letters,"
say "    the same name to Windows; the DC refuses it (000021C7)"
expect_refusal 000021C7 \
	in_ns samba-tool spn add "ｈｔｔｐ/web.$L" Administrator \
	-H "$URL" -k yes
say "ldapmodify adding HTTP/WEB.$L to Administrator: refused (000021C7)"
printf '%s\n' "dn: CN=Administrator,CN=Users,$BASEDN" "changetype: modify" \
	"add: servicePrincipalName" \
	"servicePrincipalName: HTTP/WEB.$L" >"$RUN/dup.ldif"
expect_refusal 000021C7 in_ns ldapmodify -Q -Y GSSAPI -H "$URL" \
	-f "$RUN/dup.ldif"

step "5. the alternate service account: samba-asa create"
ASA=asa-mail
URLS=()
for m in "${MEMBERS[@]}"; do
	v=SELFTEST_MEMBER_URL_$m
	URLS+=("${!v}")
done
echo "    samba-asa create $ASA --spn ${SPNS[*]}"
echo "        --member ${URLS[*]}"
asa create "$ASA" --spn "${SPNS[@]}" --member "${URLS[@]}" "${LOCAL[@]}"
say "Dovecot's keytab on each member: a second member record of the same"
say "host (the member's config says the file is dovecot's, 0640)"
for m in "${MEMBERS[@]}"; do
	v=SELFTEST_MEMBER_IMAP_URL_$m
	echo "    samba-asa member add $ASA ${!v} --name $m-imap"
	asa member add "$ASA" "${!v}" --name "$m-imap" "${LOCAL[@]}"
done
KVNO0=$(asa_kvno)

step "6. samba-asa status and verify (a real ticket for every SPN, on every member)"
asa status "$ASA" "${LOCAL[@]}"
asa verify "$ASA" "${LOCAL[@]}"

step "7. clients through the load balancer, while the service rolls"
REFRESH=(0 10 $((ROLL_INTERVAL / 2)))
for n in $(seq 1 "$CLIENTS"); do
	client_loop "$n" "${REFRESH[$(((n - 1) % 3))]}" &
	CLIENT_PIDS+=("$!")
done
say "$CLIENTS clients: curl --negotiate http://$LB_NAME/ four times a" \
	"second each; client 1 gets a new service ticket for every request,"
say "client 2 keeps one for 10 s, client 3 for $((ROLL_INTERVAL / 2)) s" \
	"(across a roll)"
other_client_loop chromium 1 clients_chromium "http://$LB_NAME/" &
CLIENT_PIDS+=("$!")
other_client_loop imap-python 0.5 clients_python imap "$LB_NAME" &
CLIENT_PIDS+=("$!")
other_client_loop imap-curl 0.5 clients_curl_imap "$LB_NAME" &
CLIENT_PIDS+=("$!")
say "and three more: headless chromium loading http://$LB_NAME/ with"
say "Kerberos (--auth-server-allowlist=$LB_NAME), and two IMAP clients"
say "logging in to imap://$LB_NAME/ with AUTHENTICATE GSSAPI (Python's"
say "imaplib with python3-gssapi, and curl); new service tickets every 10 s"
say "the asa_roll service rolls $ASA every $ROLL_INTERVAL s (kvno $KVNO0 now)"
wait_for "the first scheduled roll" $((ROLL_INTERVAL * 3)) \
	kvno_above "$KVNO0"
KVNO1=$(asa_kvno)

DOWN=${MEMBERS[1]}
DOWN_DIR=$SELFTEST_ARRAY_DIR/$DOWN
step "8. member $DOWN goes down (its sshd, Apache and Dovecot stop)"
say "first out of the load balancer's rotation, as for maintenance: the"
say "requests it is serving finish, no new one goes to it"
array_drain "$INST" "$DOWN" || st_die "cannot drain $DOWN"
array_drain "$INST" "$DOWN" 20 imap || st_die "cannot drain $DOWN's IMAP"
kill "$(cat "$DOWN_DIR/sshd.pid")"
kill "$(cat "$DOWN_DIR/httpd.pid")"
kill "$(cat "$DOWN_DIR/dovecot.pid")"
say "the next roll must not change the password while $DOWN cannot get"
say "the new keys"
wait_for "a roll refused because $DOWN is down" $((ROLL_INTERVAL * 3)) \
	member_has_error "$DOWN"
asa status "$ASA" "${LOCAL[@]}" || true
say "kvno still $(asa_kvno): nothing changed in the directory"

step "9. member $DOWN comes back"
v=SELFTEST_MEMBER_WWW_DIR_$DOWN
KRB5_CONFIG=$SELFTEST_ARRAY_WWW_DIR/krb5.conf KRB5RCACHEDIR=${!v}/rcache \
	in_ns apache2 -f "$DOWN_DIR/apache2.conf" -k start </dev/null
in_ns /usr/sbin/sshd -D -f "$DOWN_DIR/sshd_config" -E "$DOWN_DIR/sshd.log" \
	</dev/null >>"$DOWN_DIR/sshd.out" 2>&1 &
echo "$!" >"$DOWN_DIR/sshd.pid"
array_start_imap "$NS" "$DOWN_DIR"
v=SELFTEST_MEMBER_IP_$DOWN
array_wait_listening "$NS" "${!v}:22" "${!v}:80" "${!v}:143" ||
	st_die "$DOWN did not come back"
for be in members imap; do
	array_lb "$INST" "set server $be/$DOWN state ready" >/dev/null ||
		st_die "cannot put $DOWN back into the load balancer's rotation"
done
say "the service retries with backoff; the delayed roll goes through"
wait_for "the delayed roll" $((ROLL_INTERVAL * 2)) kvno_above "$KVNO1"
KVNO2=$(asa_kvno)
wait_for "one more scheduled roll" $((ROLL_INTERVAL * 3)) \
	kvno_above "$KVNO2"

step "10. stopping the clients"
touch "$RUN/clients.stop"
for pid in "${CLIENT_PIDS[@]}"; do
	wait "$pid" 2>/dev/null || true
done
CLIENT_PIDS=()
OK=$(cat "$RUN"/client*.log | grep -c '^OK' || true)
FAIL=$(cat "$RUN"/client*.log | grep -c '^FAIL' || true)
KVNO=$(asa_kvno)

step "11. the samba log: what the asa_roll service did"
# samba -i logs to its standard output
grep -h 'asa_roll' "$INST/samba.out" | tail -12 || true

step "12. samba-asa status and verify, after the rolls"
asa status "$ASA" "${LOCAL[@]}"
asa verify "$ASA" "${LOCAL[@]}"

step "result"
echo "    authentications attempted: $((OK + FAIL))"
echo "    succeeded:                 $OK"
for m in "${MEMBERS[@]}"; do
	echo "      served by $m (HTTP): $(cat "$RUN"/client*.log |
		grep -c "^OK $m\$" || true)"
done
for c in "curl http:curl" "chromium http:chromium" \
	 "imaplib imap:imap-python" "curl imap:imap-curl"; do
	printf '      %-22s %s succeeded, %s failed\n' "${c%%:*}:" \
		"$(client_lines "${c#*:}" | grep -c '^OK' || true)" \
		"$(client_lines "${c#*:}" | grep -c '^FAIL' || true)"
done
echo "    failed:                    $FAIL"
echo "    rolls done:                $((KVNO - KVNO0))"
echo "    kvno now:                  $KVNO"
if [ "$FAIL" != 0 ]; then
	grep -h '^FAIL' "$RUN"/client*.log | sort | uniq -c | head
	st_die "$FAIL authentications failed"
fi
say "no client authentication failed through $((KVNO - KVNO0)) rolls"
