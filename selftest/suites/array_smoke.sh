#!/bin/bash
# selftest/suites/array_smoke.sh: proof that environment ad_dc_array is what
# the ASA suites will take it for.  With a throwaway computer account made
# here by samba-tool (not by samba-asa: this proves the environment only)
# whose keys every member gets:
#
#   - the load-balanced names and the members resolve, through the hosts
#     file and through the DC's DNS;
#   - every member's keytab decrypts a real service ticket (kvno -k);
#   - curl --negotiate through haproxy gets 200 from every member in turn,
#     each member's access log names the Kerberos user, and NTLM gets 401
#     even with the right password;
#   - the DC's SSH key runs the forced command on every member, never the
#     command the client asked for, and no other key gets in.
#
# Usage: array_smoke.sh [INSTANCE]   (variables from the environment, as the
# runner sets them, or read from INSTANCE/environ).  Emits subunit v1.

set -u
# shellcheck disable=SC2317 # the functions run through check()

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=selftest/array.sh
. "$REPO/selftest/array.sh"	# array_authorize

if [ $# -ge 1 ]; then
	array_read_environ "$1" ||
		{ echo "array_smoke.sh: no environ in $1" >&2; exit 2; }
	for v in "${!ARRAY_ENV[@]}"; do
		export "$v=${ARRAY_ENV[$v]}"
	done
fi
for v in REALM SERVER_IP PREFIX_ABS SMB_CONF_PATH KRB5_CONFIG \
	 SELFTEST_PASSWORD_FILE SELFTEST_ARRAY_DIR SELFTEST_ARRAY_MEMBERS \
	 SELFTEST_ARRAY_SSH_CONFIG SELFTEST_ARRAY_SSH_KNOWN_HOSTS \
	 SELFTEST_LB_IP SELFTEST_LB_NAMES; do
	if [ -z "${!v:-}" ]; then
		echo "array_smoke.sh: $v is not set: run in env ad_dc_array" >&2
		exit 2
	fi
done
export KRB5_CONFIG LDB_MODULES_PATH=${LDB_MODULES_PATH:-}

# Clients run inside the environment's network namespace.
NSX=()
if [ -n "${SELFTEST_NETNS:-}" ] &&
   [ "$(ip netns identify $$ 2>/dev/null)" != "$SELFTEST_NETNS" ]; then
	NSX=(ip netns exec "$SELFTEST_NETNS")
fi

TMP=$(mktemp -d /tmp/array_smoke.XXXXXX)
export KRB5CCNAME=FILE:$TMP/ccache
LOWER=$(echo "$REALM" | tr '[:upper:]' '[:lower:]')
SAM=$PREFIX_ABS/private/sam.ldb
ASA=asmk$$			# sAMAccountName without the $, per run
MEMBERS=()
for m in $SELFTEST_ARRAY_MEMBERS; do
	MEMBERS+=("${m%%=*}")
done

# --- subunit ---------------------------------------------------------------

FAILED=0

# check NAME COMMAND...: a test that passes when COMMAND exits 0; its
# output is shown on failure.
check()
{
	local name=$1 out rc
	shift

	echo "test: $name"
	out=$("$@" 2>&1)
	rc=$?
	if [ "$rc" = 0 ]; then
		echo "success: $name"
		return 0
	fi
	FAILED=$((FAILED + 1))
	echo "failure: $name ["
	printf '%s\nexit status %s of: %s\n' "$out" "$rc" "$*" |
		sed 's/^/ /'
	echo "]"
	return 1
}

# --- helpers (each prints what it saw, for the failure report) ----------

nsx()
{
	"${NSX[@]}" "$@"
}

member_var()
{
	local var=SELFTEST_MEMBER_$1_$2
	echo "${!var}"
}

# NAME resolves to IP in the hosts file and in the DC's DNS.
resolves()
{
	local name=$1 ip=$2 hosts dns

	hosts=$(nsx getent hosts "$name")
	dns=$(nsx host -t A "$name" "$SERVER_IP")
	printf 'hosts: %s\ndns: %s\n' "$hosts" "$dns"
	[[ $hosts == "$ip "* ]] && [[ $dns == *"$name has address $ip"* ]]
}

# curl through the load balancer: prints "STATUS BODY", fails unless
# STATUS is the one wanted.
http_get()
{
	local want=$1 out
	shift

	out=$(nsx curl -sS -o "$TMP/body" -w '%{http_code}' \
		-D "$TMP/headers" "$@") || { echo "curl failed: $out"; return 1; }
	echo "$out $(cat "$TMP/body" 2>/dev/null)"
	sed 's/^/  /' "$TMP/headers"
	[ "$out" = "$want" ]
}

# Three requests through haproxy: 200 each, one from every member, and
# the fourth goes back to the first one's member (round robin).
round_robin()
{
	local n=${#MEMBERS[@]} i out seen=() first="" m
	local -A count=()

	for ((i = 0; i <= n; i++)); do
		out=$(http_get 200 --negotiate -u : "http://mail.$LOWER/") ||
			{ echo "request $i: $out"; return 1; }
		m=$(sed -n 's/^200 array member \(m[0-9]*\) .*/\1/p' \
			<<<"${out%%$'\n'*}")
		echo "request $i: $m"
		[ -n "$m" ] || { echo "$out"; return 1; }
		if [ "$i" -lt "$n" ]; then
			seen+=("$m")
			count[$m]=$((${count[$m]:-0} + 1))
			[ -z "$first" ] && first=$m
		elif [ "$m" != "$first" ]; then
			echo "request $i went to $m, not back to $first"
			return 1
		fi
	done
	for m in "${MEMBERS[@]}"; do
		[ "${count[$m]:-0}" = 1 ] ||
			{ echo "$m answered ${count[$m]:-0} of $n"; return 1; }
	done
}

# Each member accepts with its own keytab, read on every request: with
# MEMBER's keytab moved aside, MEMBER alone refuses (401), the others still
# accept, and with it back MEMBER accepts again, all without a restart.
# Requests go to one member directly, for the load-balanced name.
own_keytab()
{
	local m=$1 kt other rc=0 url="http://mail.$LOWER/"

	kt=$(member_var KEYTAB "$m")
	direct()
	{
		http_get "$1" --negotiate -u : \
			--connect-to "mail.$LOWER:80:$(member_var IP "$2"):80" "$url"
	}
	direct 200 "$m" || return 1
	mv "$kt" "$kt.aside" || return 1
	direct 401 "$m" || rc=1
	for other in "${MEMBERS[@]}"; do
		[ "$other" = "$m" ] || direct 200 "$other" || rc=1
	done
	mv "$kt.aside" "$kt" || return 1
	[ "$rc" = 0 ] && direct 200 "$m"
}

# MEMBER's access log has a 200 for the Kerberos user (%u).
logged_user()
{
	local log

	log=$(member_var ACCESS_LOG "$1")
	tail -n 5 "$log"
	grep -qE "^[^ ]+ Administrator@$REALM \[.*\] \"GET / HTTP/1\.1\" 200 member=$1\$" \
		"$log"
}

# ssh as the DC to MEMBER asking for a command of our own: the forced
# command (set to print "forced MEMBER" and what the client asked for)
# runs instead, sshd logs it as the key's forced command, and the
# client's command never runs.
ssh_forced()
{
	local m=$1 out log

	log=$(member_var SSHD_LOG "$m")
	out=$(echo "keytab bytes" | nsx ssh -F "$SELFTEST_ARRAY_SSH_CONFIG" \
		"$m.$LOWER" "touch $TMP/client-ran-$m; echo client-ran")
	echo "output: $out"
	tail -n 3 "$log"
	[ "$out" = "forced $m asked: touch $TMP/client-ran-$m; echo client-ran" ] ||
		return 1
	[ ! -e "$TMP/client-ran-$m" ] || { echo "the client's command ran"; return 1; }
	grep -q "forced-command (key-option) 'cat > /dev/null; echo \"forced $m" \
		"$log"
}

# Any key but the DC's is refused.
ssh_other_key()
{
	local m=$1 out

	out=$(nsx ssh -F /dev/null -o BatchMode=yes -o IdentitiesOnly=yes \
		-o UserKnownHostsFile="$SELFTEST_ARRAY_SSH_KNOWN_HOSTS" \
		-o StrictHostKeyChecking=yes -i "$TMP/other_key" \
		"root@$m.$LOWER" true 2>&1)
	[ $? = 255 ] && [[ $out == *"Permission denied"* ]] ||
		{ echo "$out"; return 1; }
	echo "$out"
}

keytab_has_aes()
{
	nsx klist -k -e "$1" &&
	nsx klist -k -e "$1" | grep -q "$ASA\\\$@$REALM .*aes256-cts"
}

install_keytab()
{
	local m=$1 kt

	kt=$(member_var KEYTAB "$m")
	install -m 0640 -o root -g "$(member_var KEYTAB_GROUP "$m")" \
		"$TMP/asa.keytab" "$kt" &&
	ls -l "$kt" &&
	[ "$(stat -c '%a %U %G' "$kt")" = "640 root www-data" ]
}

# Leave the environment as it was: the members' authorized_keys (saved
# before the ssh tests), no keytab, no account.
cleanup()
{
	local m

	for m in "${MEMBERS[@]}"; do
		[ -e "$TMP/authorized_keys.$m" ] &&
			mv -f "$TMP/authorized_keys.$m" \
				"$(member_var AUTHORIZED_KEYS "$m")"
		rm -f "$(member_var KEYTAB "$m")"
	done
	nsx samba-tool computer delete "$ASA" -H "$SAM" \
		-s "$SMB_CONF_PATH" >/dev/null 2>&1
	rm -rf "$TMP"
}
trap cleanup EXIT
trap "exit 1" TERM INT HUP

# --- setup: a throwaway account with the array's SPNs, its keys on every
# member -------------------------------------------------------------------

setup()
{
	local label

	nsx kinit "Administrator@$REALM" <"$SELFTEST_PASSWORD_FILE" \
		>/dev/null || return 1
	# Enabled (plain "computer create" makes a disabled account without
	# keys), then a random password instead of the oldjoin one.
	nsx samba-tool computer create "$ASA" --prepare-oldjoin -H "$SAM" \
		-s "$SMB_CONF_PATH" || return 1
	nsx samba-tool user setpassword "$ASA\$" --random-password \
		-H "$SAM" -s "$SMB_CONF_PATH" || return 1
	for label in mail autod outlook; do
		nsx samba-tool spn add "http/$label.$LOWER" "$ASA\$" \
			-H "$SAM" -s "$SMB_CONF_PATH" || return 1
	done
	cat >"$TMP/enctypes.ldif" <<EOF
dn: CN=$ASA,CN=Computers,$(nsx ldbsearch -H "$SAM" -s base -b "" \
	defaultNamingContext | sed -n 's/^defaultNamingContext: //p')
changetype: modify
replace: msDS-SupportedEncryptionTypes
msDS-SupportedEncryptionTypes: 24
EOF
	nsx ldbmodify -H "$SAM" "$TMP/enctypes.ldif" || return 1
	nsx samba-tool domain exportkeytab "$TMP/asa.keytab" \
		-s "$SMB_CONF_PATH" --principal="$ASA\$" || return 1
}
check setup setup || exit 1

for name in $SELFTEST_LB_NAMES; do
	check "resolve.${name%%.*}" resolves "$name" "$SELFTEST_LB_IP"
done
for m in "${MEMBERS[@]}"; do
	check "resolve.$m" resolves "$m.$LOWER" "$(member_var IP "$m")"
done

check keytab.aes keytab_has_aes "$TMP/asa.keytab"
for m in "${MEMBERS[@]}"; do
	check "keytab.install.$m" install_keytab "$m"
done

# kvno reads the ticket it gets from the KDC with the member's keytab.
for m in "${MEMBERS[@]}"; do
	for name in $SELFTEST_LB_NAMES; do
		check "kvno.$m.${name%%.*}" nsx kvno \
			-k "$(member_var KEYTAB "$m")" "http/$name"
	done
done

# --- HTTP through the load balancer ------------------------------------

check http.anonymous-401 http_get 401 "http://mail.$LOWER/"
check http.offers-negotiate-only grep -qx $'WWW-Authenticate: Negotiate\r' \
	"$TMP/headers"
check http.negotiate.round-robin round_robin
for name in $SELFTEST_LB_NAMES; do
	check "http.negotiate.${name%%.*}" \
		http_get 200 --negotiate -u : "http://$name/"
done
check http.negotiate.kerberos-ticket \
	bash -c "${NSX[*]} klist | grep -i 'HTTP/mail.$LOWER@$REALM'"
for m in "${MEMBERS[@]}"; do
	check "http.access-log.$m" logged_user "$m"
done
check http.own-keytab own_keytab "${MEMBERS[0]}"
# NTLM with the right password (from a file, never argv): still 401.
(umask 077
 printf 'machine mail.%s login Administrator password %s\n' "$LOWER" \
	"$(cat "$SELFTEST_PASSWORD_FILE")" >"$TMP/netrc")
check http.ntlm-401 http_get 401 --ntlm --netrc-file "$TMP/netrc" \
	"http://mail.$LOWER/"

# --- ssh: the DC's key runs the forced command only ----------------------

# The command's own output says what the client asked for, so the test
# can show it was not run.
for m in "${MEMBERS[@]}"; do
	cp -p "$(member_var AUTHORIZED_KEYS "$m")" "$TMP/authorized_keys.$m"
	array_authorize "$PREFIX_ABS" "$m" \
		"cat > /dev/null; echo \"forced $m asked: \$SSH_ORIGINAL_COMMAND\""
done
ssh-keygen -q -t ed25519 -N '' -f "$TMP/other_key" </dev/null
for m in "${MEMBERS[@]}"; do
	check "ssh.forced-command.$m" ssh_forced "$m"
	check "ssh.other-key-refused.$m" ssh_other_key "$m"
done

exit $((FAILED > 0))
