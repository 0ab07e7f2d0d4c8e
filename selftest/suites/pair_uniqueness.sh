#!/bin/bash
# selftest/suites/pair_uniqueness.sh: unique_principal_names on two
# replicating DCs (environment ad_dc_pair, selftest/pair.sh).
#
#   - each DC refuses an originating duplicate, SPN (000021C7) and UPN
#     (000021C8), also of a value it holds only because it replicated it
#     from the other DC;
#   - replicated writes are never refused: the same SPN added to two
#     accounts on the two DCs at the same time, before either has seen the
#     other's write (inbound replication is switched off on both for that
#     moment), is accepted by both, as on Windows (and the same UPN on two
#     users); replication then carries on without an error, dbcheck finds
#     nothing wrong, both accounts hold the value on both DCs, and
#     `samba-asa spn audit` on either DC (sam.ldb and ldap://) names the
#     pair and exits 1;
#   - why that matters: while the duplicate exists, neither KDC issues a
#     ticket for that SPN (kvno fails); after `samba-asa spn remove` on one
#     account and replication, both do again.
#
# Emits subunit v1.  Clients are the real ones: OpenLDAP's ldapmodify and
# ldapsearch (SASL GSSAPI), samba-tool, samba-asa, MIT kvno.  Every request
# to a DC asks that DC's own KDC for its ticket (a krb5.conf naming only
# that DC), so each DC is checked on its own.
#
# Copyright (C) samba-asa authors 2026
#
# This program is free software; you can redistribute it and/or modify
# it under the terms of the GNU General Public License as published by
# the Free Software Foundation; either version 3 of the License, or
# (at your option) any later version.

# REPO, ASA, NSX, TMP, KRB5CCNAME; exits 2 outside an environment
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
. "$REPO/selftest/subunit.sh"

for v in DC2_SERVER DC2_SERVER_IP DC2_PREFIX_ABS DC2_SMB_CONF_PATH \
	 DC2_KRB5_CONFIG DC1_KRB5_CONFIG; do
	if [ -z "${!v:-}" ]; then
		echo "$suite_name.sh: $v is not set:" \
			"run inside env ad_dc_pair" >&2
		exit 2
	fi
done

P=pu$$					# per-run prefix
DNSDOMAIN=$(echo "$REALM" | tr '[:upper:]' '[:lower:]')
DC1=$SERVER.$DNSDOMAIN
DC2=$DC2_SERVER.$DNSDOMAIN
SPN_ERR=000021C7
UPN_ERR=000021C8

# Each DC's name, URL, sam.ldb, smb.conf and krb5.conf (naming its own KDC
# only), by number.
DCS=([1]=$DC1 [2]=$DC2)
URL=([1]=ldap://$DC1 [2]=ldap://$DC2)
SAM=([1]=$PREFIX_ABS/private/sam.ldb [2]=$DC2_PREFIX_ABS/private/sam.ldb)
SMBCONF=([1]=$SMB_CONF_PATH [2]=$DC2_SMB_CONF_PATH)
KRB5=([1]=$DC1_KRB5_CONFIG [2]=$DC2_KRB5_CONFIG)

# on N CMD...: run CMD against DC N (1 or 2): its krb5.conf, so tickets
# come from its KDC, and its URL for lmod and lsearch.
on()
{
	local n=$1
	shift
	KRB5_CONFIG=${KRB5[$n]} LURL=${URL[$n]} "$@"
}

# ldapmodify over SASL GSSAPI to $LURL (see on), the LDIF on standard input
lmod()
{
	nsx ldapmodify -Y GSSAPI -Q -H "$LURL" "$@"
}

lsearch()
{
	nsx ldapsearch -Y GSSAPI -Q -LLL -o ldif-wrap=no -H "$LURL" "$@"
}

# add_value N DN ATTR VALUE: an originating write on DC N
add_value()
{
	on "$1" lmod <<EOF
dn: $2
changetype: modify
add: $3
$3: $4
EOF
}

# set_upn N DN VALUE: an originating write on DC N (userPrincipalName is
# single-valued, and user create gave the account one already)
set_upn()
{
	on "$1" lmod <<EOF
dn: $2
changetype: modify
replace: userPrincipalName
userPrincipalName: $3
EOF
}

# holders N ATTR VALUE: the DNs holding ATTR=VALUE on DC N, sorted
holders()
{
	on "$1" lsearch -b "$DOMAIN_DN" "($2=$3)" dn |
		sed -n 's/^dn: //p' | sort
}

# expect_holders N ATTR VALUE DN...: DC N holds ATTR=VALUE on exactly DN...
expect_holders()
{
	local n=$1 attr=$2 value=$3 want got
	shift 3
	want=$(printf '%s\n' "$@" | sort)
	got=$(holders "$n" "$attr" "$value")
	if [ "$got" != "$want" ]; then
		printf 'dc%s: %s=%s is held by:\n%s\nwanted:\n%s\n' "$n" \
			"$attr" "$value" "$got" "$want"
		return 1
	fi
	printf 'dc%s: %s=%s held by %s\n' "$n" "$attr" "$value" "$*"
}

# samba-tool against DC N with the administrator's ticket
stool()
{
	local n=$1
	shift
	on "$n" nsx samba-tool "$@" --use-kerberos=required
}

# repl DEST SRC: DC DEST pulls the domain NC from DC SRC, now
repl()
{
	stool "$1" drs replicate "${DCS[$1]}" "${DCS[$2]}" "$DOMAIN_DN"
}

# every naming context, both ways (pair.sh)
repl_all()
{
	bash "$REPO/selftest/pair.sh" replicate "$PREFIX_ABS"
}

# both ways
repl_both()
{
	repl 2 1 && repl 1 2
}

# the replication state of both DCs, every naming context, both ways
# (pair.sh's check on showrepl --json), and samba-tool's own summary
repl_healthy()
{
	local n out rc=0
	bash "$REPO/selftest/pair.sh" check-repl "$PREFIX_ABS" || rc=1
	for n in 1 2; do
		out=$(stool "$n" drs showrepl --summary "${DCS[$n]}" 2>&1)
		echo "dc$n: $out"
		grep -qF "[ALL GOOD]" <<<"$out" || rc=1
	done
	return $rc
}

# inbound N +|-: switch DC N's inbound replication off (+) or on (-)
inbound()
{
	stool "$1" drs options "${DCS[$1]}" \
		--dsa-option="$2DISABLE_INBOUND_REPL"
}

asa()
{
	nsx "$ASA" "$@"
}

# --- setup -----------------------------------------------------------------

DOMAIN_DN=$(nsx ldbsearch -H "$PREFIX_ABS/private/sam.ldb" -s base -b "" \
	defaultNamingContext 2>/dev/null |
	sed -n 's/^defaultNamingContext: //p')
A=${P}a
B=${P}b
ADN="CN=$A,CN=Users,$DOMAIN_DN"
BDN="CN=$B,CN=Users,$DOMAIN_DN"
U1DN="CN=${P}u1,CN=Users,$DOMAIN_DN"
U2DN="CN=${P}u2,CN=Users,$DOMAIN_DN"

N=setup
subunit_start_test "$N"
setup_out=$(
	set -e
	printf '%s\n' "$DC_PASSWORD" |
		nsx kinit "$DC_USERNAME@$REALM" >/dev/null
	# accounts with keys (random passwords), so kvno can work
	for u in "$A" "$B" "${P}u1" "${P}u2"; do
		stool 1 user create "$u" --random-password \
			--use-username-as-cn -H "${URL[1]}"
	done
	repl 2 1
	for dn in "$ADN" "$BDN" "$U1DN" "$U2DN"; do
		on 2 lsearch -s base -b "$dn" dn | grep -qF "dn: $dn"
	done
	2>&1)
if [ $? -ne 0 ] || [ -z "$DOMAIN_DN" ]; then
	result "$N" 0 "domain DN '$DOMAIN_DN'
$setup_out"
	exit 1
fi
subunit_pass_test "$N"

# --- each DC refuses originating duplicates ---------------------------------

S1=http/${P}one.$DNSDOMAIN	# A's, written on dc1
S2=http/${P}two.$DNSDOMAIN	# B's, written on dc2
UPN1=${P}one@$DNSDOMAIN		# u1's, written on dc1
UPN2=${P}two@$DNSDOMAIN		# u2's, written on dc2

expect originating.spn.dc1.add 0 "" -- add_value 1 "$ADN" \
	servicePrincipalName "$S1"
expect originating.spn.dc1.duplicate 19 "$SPN_ERR" -- \
	add_value 1 "$BDN" servicePrincipalName "$S1"
expect originating.spn.dc2.add 0 "" -- add_value 2 "$BDN" \
	servicePrincipalName "$S2"
expect originating.spn.dc2.duplicate 19 "$SPN_ERR" -- \
	add_value 2 "$ADN" servicePrincipalName "$S2"
expect originating.upn.dc1.add 0 "" -- set_upn 1 "$U1DN" "$UPN1"
expect originating.upn.dc1.duplicate 19 "$UPN_ERR" -- \
	set_upn 1 "$U2DN" "$UPN1"
expect originating.upn.dc2.add 0 "" -- set_upn 2 "$U2DN" "$UPN2"
expect originating.upn.dc2.duplicate 19 "$UPN_ERR" -- \
	set_upn 2 "$U1DN" "$UPN2"

# Each DC now learns the other's values by replication only, and refuses
# a duplicate of them as well: the module's index sees replicated values.
testit originating.replicate repl_both
expect originating.spn.dc2.replicated-value-held 0 "" -- \
	expect_holders 2 servicePrincipalName "$S1" "$ADN"
expect originating.spn.dc1.replicated-value-held 0 "" -- \
	expect_holders 1 servicePrincipalName "$S2" "$BDN"
expect originating.spn.dc2.duplicate-of-replicated 19 "$SPN_ERR" -- \
	add_value 2 "$BDN" servicePrincipalName "$S1"
expect originating.spn.dc1.duplicate-of-replicated 19 "$SPN_ERR" -- \
	add_value 1 "$ADN" servicePrincipalName "$S2"
expect originating.spn.dc2.duplicate-of-replicated.case 19 "$SPN_ERR" -- \
	add_value 2 "$BDN" servicePrincipalName \
	"$(echo "$S1" | tr '[:lower:]' '[:upper:]')"
expect originating.upn.dc2.duplicate-of-replicated 19 "$UPN_ERR" -- \
	set_upn 2 "$U2DN" "$UPN1"
expect originating.upn.dc1.duplicate-of-replicated 19 "$UPN_ERR" -- \
	set_upn 1 "$U1DN" "$UPN2"
# the refused writes changed nothing anywhere
testit originating.nothing-written repl_both
for n in 1 2; do
	expect originating.spn.dc$n.unchanged 0 "" -- \
		expect_holders "$n" servicePrincipalName "$S1" "$ADN"
	expect originating.upn.dc$n.unchanged 0 "" -- \
		expect_holders "$n" userPrincipalName "$UPN2" "$U2DN"
done

# --- replicated writes are never refused -------------------------------------

X=http/${P}both.$DNSDOMAIN
Y=${P}both@$DNSDOMAIN		# a UPN, the same way

# kvno for one of A's own SPNs works on both KDCs: the failure below is
# the duplicate's doing, not the KDC's or the account's.
for n in 1 2; do
	expect kvno.dc$n.unique-spn 0 "$S1" -- on "$n" nsx kvno "$S1"
done

# Inbound replication off on both DCs, so neither can see the other's
# write before making its own: the two writes are as concurrent as two
# writes can be.  Then the same SPN on A through dc1 and on B through dc2,
# at the same time, and the same UPN on u1 through dc1 and u2 through dc2.
testit concurrent.inbound-off.dc1 inbound 1 +
testit concurrent.inbound-off.dc2 inbound 2 +
add_value 1 "$ADN" servicePrincipalName "$X" >"$TMP/x1.out" 2>&1 &
x1=$!
add_value 2 "$BDN" servicePrincipalName "$X" >"$TMP/x2.out" 2>&1 &
x2=$!
set_upn 1 "$U1DN" "$Y" >"$TMP/y1.out" 2>&1 &
y1=$!
set_upn 2 "$U2DN" "$Y" >"$TMP/y2.out" 2>&1 &
y2=$!
for w in x1 x2 y1 y2; do
	wait "${!w}"
	rc=$?
	kind=spn
	[ "${w#y}" = "$w" ] || kind=upn
	name=concurrent.dc${w#?}.$kind.accepted
	subunit_start_test "$name"
	result "$name" "$([ "$rc" = 0 ] && echo 1 || echo 0)" \
		"exit $rc: $(cat "$TMP/$w.out")"
done
expect concurrent.dc1.before-replication 0 "" -- \
	expect_holders 1 servicePrincipalName "$X" "$ADN"
expect concurrent.dc2.before-replication 0 "" -- \
	expect_holders 2 servicePrincipalName "$X" "$BDN"
expect concurrent.dc1.upn.before-replication 0 "" -- \
	expect_holders 1 userPrincipalName "$Y" "$U1DN"
expect concurrent.dc2.upn.before-replication 0 "" -- \
	expect_holders 2 userPrincipalName "$Y" "$U2DN"
testit concurrent.inbound-on.dc1 inbound 1 -
testit concurrent.inbound-on.dc2 inbound 2 -

# Replication takes both writes, in both directions, without an error.
# Then every NC, both ways: while inbound replication was off, a DC may
# have been told of a change (the options themselves, in the configuration
# NC) and recorded its refusal to pull (WERR_DS_DRA_SINK_DISABLED); a
# successful pull clears that, as on Windows.
testit concurrent.replicate.dc2-from-dc1 repl 2 1
testit concurrent.replicate.dc1-from-dc2 repl 1 2
testit concurrent.replicate.every-nc repl_all
testit concurrent.replication-healthy repl_healthy
# Nothing is lost: both accounts hold X, and both users Y, on both DCs.
for n in 1 2; do
	expect concurrent.dc$n.both-hold 0 "" -- \
		expect_holders "$n" servicePrincipalName "$X" "$ADN" "$BDN"
	expect concurrent.dc$n.upn.both-hold 0 "" -- \
		expect_holders "$n" userPrincipalName "$Y" "$U1DN" "$U2DN"
done
# and each DC's database is consistent (every NC, read-only check)
for n in 1 2; do
	expect concurrent.dc$n.dbcheck 0 "Checked [0-9]+ objects \(0 errors\)" \
		-- nsx samba-tool dbcheck --cross-ncs -H "${SAM[$n]}" \
		-s "${SMBCONF[$n]}"
done

# spn audit names the pair (both holders and the SPN) on either DC,
# locally and over LDAP, also as JSON; exit 1.
for n in 1 2; do
	for h in a b; do
		[ "$h" = a ] && dn=$ADN || dn=$BDN
		expect "audit.dc$n.sam.ldb.holder-$h" 1 "$dn" -- \
			asa spn audit -H "${SAM[$n]}" -s "${SMBCONF[$n]}"
		expect "audit.dc$n.ldap.holder-$h" 1 "$dn" -- \
			on "$n" asa spn audit -H "${URL[$n]}" -k yes
	done
	expect "audit.dc$n.sam.ldb.spn" 1 "$X" -- \
		asa spn audit -H "${SAM[$n]}" -s "${SMBCONF[$n]}"
	expect "audit.dc$n.ldap.json" 1 "\"$X\"" -- \
		on "$n" asa spn audit --json -H "${URL[$n]}" -k yes
done

# Why it matters: no KDC issues a ticket for X while it is ambiguous.
for n in 1 2; do
	expect kvno.dc$n.duplicate-fails 1 "not found in Kerberos database" -- \
		on "$n" nsx kvno "$X"
done

# The fix: remove X from one account (through dc2), replicate, and both
# KDCs issue tickets for X again; audit is clean on both.
expect fix.spn-remove 0 "" -- \
	on 2 asa spn remove "$B" "$X" -H "ldap://$DC2" -k yes
expect fix.upn-change 0 "" -- set_upn 2 "$U2DN" "${P}three@$DNSDOMAIN"
testit fix.replicate repl_both
testit fix.replication-healthy repl_healthy
for n in 1 2; do
	expect fix.dc$n.one-holder 0 "" -- \
		expect_holders "$n" servicePrincipalName "$X" "$ADN"
	expect fix.dc$n.upn.one-holder 0 "" -- \
		expect_holders "$n" userPrincipalName "$Y" "$U1DN"
	expect kvno.dc$n.after-fix 0 "$X" -- on "$n" nsx kvno "$X"
	expect audit.dc$n.after-fix 0 "" "!$X" -- \
		on "$n" asa spn audit -H "${URL[$n]}" -k yes
done

exit $((FAILED > 0))
