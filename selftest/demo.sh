#!/bin/bash
# selftest/demo.sh: "make demo", stage 1: a throwaway Samba AD DC, started
# in a network namespace of its own, shown serving LDAP and Kerberos, then
# torn down.  Says what it does at every step.  Runs twice in a row and
# twice at once (every name and directory carries this script's PID).

set -eu
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$REPO/selftest/env.sh"

[ "$(id -u)" = 0 ] || st_die "must run as root (network namespaces)"

RUN=$REPO/st/demo-$$
NS=asa-demo-$$
INST=$RUN/dc1
ST_VERBOSE=1		# env.sh narrates each step

step()
{
	echo
	echo "=== $*"
}

teardown()
{
	trap - EXIT INT TERM HUP
	step "tearing down: samba's process group, namespace $NS, files"
	st_stop "$INST"
	exec 9>&- 2>/dev/null || true
	rm -rf "$RUN"
	echo "==> nothing left: no samba of ours, no namespace $NS"
}
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

in_ns()
{
	ip netns exec "$NS" "$@"
}

mkdir -p "$RUN"
step "1. provisioning a new AD domain (random realm and password)"
st_provision "$RUN/template"
st_read_vars "$RUN/template/template.vars"
echo "==> realm $REALM, NetBIOS domain $DOMAIN," \
	"provisioned in $PROVISION_SECONDS s"

step "2. starting it in network namespace $NS on $ST_SERVER_IP"
# samba -i stops when its standard input ends: a FIFO this script holds.
mkfifo "$RUN/samba.stdin"
exec 9<>"$RUN/samba.stdin"
st_start "$RUN/template" "$INST" "$NS" <"$RUN/samba.stdin"
set -a
. "$INST/environ"
set +a
echo "==> samba PID $SELFTEST_SAMBA_PID, answering after $START_SECONDS s"

step "3. the DC's rootDSE over LDAP (ldapsearch -x -H ldap://$SERVER_IP)"
in_ns ldapsearch -x -LLL -o ldif-wrap=no -H "ldap://$SERVER_IP" \
	-s base -b "" dnsHostName defaultNamingContext namingContexts \
	serverName domainFunctionality isSynchronized

step "4. a Kerberos ticket: kinit $DC_USERNAME@$REALM (password on stdin)"
export KRB5CCNAME=FILE:$RUN/ccache
in_ns kinit "$DC_USERNAME@$REALM" <"$SELFTEST_PASSWORD_FILE" >/dev/null
echo "==> a service ticket for the DC's LDAP service"
in_ns kvno "ldap/$SERVER.$DNSNAME@$REALM"
in_ns klist

step "5. LDAP with that ticket (SASL GSSAPI, no password): the admin's entry"
in_ns ldapsearch -Q -LLL -o ldif-wrap=no -Y GSSAPI \
	-H "ldap://$SERVER.$DNSNAME" -b "DC=${DNSNAME//./,DC=}" \
	"(sAMAccountName=$DC_USERNAME)" distinguishedName objectSid

SAMBA_ASA=$REPO/bin/tools/samba-asa
URL=ldap://$SERVER.$DNSNAME
SPN=http/mail.$DNSNAME
BASEDN=DC=${DNSNAME//./,DC=}

# expect_refusal PATTERN COMMAND...: the command must fail saying PATTERN;
# a duplicate that got through, or another error, stops the demo.
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

step "6. unique SPNs: two web servers, one name (the DC's own rule)"
echo "==> samba-tool computer create web1, web2 (Kerberos, over LDAP)"
in_ns samba-tool computer create web1 -H "$URL" -k yes >/dev/null
in_ns samba-tool computer create web2 -H "$URL" -k yes >/dev/null
echo "==> samba-asa spn query $SPN   (setspn -Q: free?)"
in_ns "$SAMBA_ASA" spn query "$SPN" -H "$URL" -k yes
echo "==> samba-asa spn add web1 $SPN   (setspn -S)"
in_ns "$SAMBA_ASA" spn add web1 "$SPN" -H "$URL" -k yes
echo "==> samba-asa spn query $SPN   (now taken: exit status 1)"
in_ns "$SAMBA_ASA" spn query "$SPN" -H "$URL" -k yes || true
echo "==> samba-tool spn add $SPN web2: samba-tool's own check refuses"
expect_refusal "already affected" \
	in_ns samba-tool spn add "$SPN" 'web2$' -H "$URL" -k yes
echo "==> samba-tool spn add ｈｔｔｐ/mail… web2: full-width, the same name to"
echo "    Windows; samba-tool's check misses it, the DC refuses (000021C7)"
expect_refusal 000021C7 \
	in_ns samba-tool spn add "ｈｔｔｐ/mail.$DNSNAME" 'web2$' \
	-H "$URL" -k yes
echo "==> ldapmodify adding HTTP/MAIL… to web2: the DC refuses (000021C7)"
printf '%s\n' "dn: CN=web2,CN=Computers,$BASEDN" "changetype: modify" \
	"add: servicePrincipalName" \
	"servicePrincipalName: HTTP/MAIL.$DNSNAME" >"$RUN/dup.ldif"
expect_refusal 000021C7 in_ns ldapmodify -Q -Y GSSAPI -H "$URL" -f "$RUN/dup.ldif"
echo "==> samba-asa spn audit   (setspn -X -F: no duplicate anywhere)"
in_ns "$SAMBA_ASA" spn audit -H "$URL" -k yes

step "done: the DC served LDAP and Kerberos and kept SPNs unique"
