#!/bin/bash
# selftest/suites/uniqueness_tools.sh: the unique_principal_names module as
# stock clients see it (environment ad_dc, module enabled):
#
#   - samba-tool's own commands (spn add, computer create
#     --service-principal-name, user create) and OpenLDAP's ldapmodify
#     (SASL GSSAPI, and a simple bind over ldaps://) get Windows' errors,
#     000021C7 / 000021C8, for duplicates stock Samba would let through
#     (values held in the configuration naming context, Windows-equivalent
#     spellings), and nothing is half-created;
#   - bad values sent with ldapmodify (no '/', four parts, empty, 64 KiB,
#     not UTF-8, an embedded NUL) get a clear error or are stored the way
#     the module documents, and the DC keeps serving;
#   - the tools of a provisioned DC keep working with the module in the
#     stack: samba-tool dbcheck --cross-ncs finds no error (locally; 4.17's
#     dbcheck fails over LDAP on any DC, it reads @SAMBA_DSDB), and
#     samba-tool domain info, ldbsearch and samba-tool on sam.ldb work;
#   - the key index file starts afresh after a boot, and is rebuilt when
#     its keys come from another collation version (another ICU).
#
# Emits subunit v1 on stdout.  Needs SERVER_IP, REALM, DC_USERNAME,
# DC_PASSWORD, PREFIX_ABS, SMB_CONF_PATH, KRB5_CONFIG and, with the
# module enabled, LDB_MODULES_PATH; clients run inside SELFTEST_NETNS.
#
# Copyright (C) samba-asa authors 2026
#
# This program is free software; you can redistribute it and/or modify
# it under the terms of the GNU General Public License as published by
# the Free Software Foundation; either version 3 of the License, or
# (at your option) any later version.

# REPO, ASA, NSX, TMP, KRB5CCNAME; exits 2 outside env ad_dc
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
P=ut$$					# per-run prefix of every name
SAM=$PREFIX_ABS/private/sam.ldb
URL=ldap://$SERVER_IP
CREDS=(-U"$DC_USERNAME%$DC_PASSWORD")
DNSDOMAIN=$(echo "$REALM" | tr '[:upper:]' '[:lower:]')
SPN_ERR=000021C7
UPN_ERR=000021C8

# OpenLDAP clients with the Kerberos ticket
lmod()
{
	nsx ldapmodify -Y GSSAPI -Q -H "$URL" "$@"
}

lsearch()
{
	nsx ldapsearch -Y GSSAPI -Q -LLL -o ldif-wrap=no -H "$URL" "$@"
}

# the values of ATTR on DN, one a line ("attr: value", base64 decoded);
# exit 1 if there is none
values()
{
	local line out
	out=$(lsearch -s base -b "$1" "$2" | grep -i "^$2:" |
	while IFS= read -r line; do
		case $line in
		*::*)	printf '%s: %s\n' "$2" \
				"$(printf '%s' "${line#*:: }" | base64 -d)" ;;
		*)	printf '%s\n' "$line" ;;
		esac
	done)
	[ -n "$out" ] || return 1
	printf '%s\n' "$out"
}

# exit 0 if DN exists
exists()
{
	lsearch -s base -b "$1" dn 2>/dev/null | grep -q '^dn:'
}

absent()
{
	if exists "$1"; then
		echo "$1 exists"
		return 1
	fi
	echo "$1: no such object"
}

# the DC answers a fresh connection's rootDSE query
rootdse()
{
	nsx ldapsearch -x -LLL -o nettimeout=10 -H "$URL" -s base -b "" \
		dsServiceName
}

# --- setup -----------------------------------------------------------------

N=setup
echo "test: $N"
setup_out=$(
	set -e
	printf '%s\n' "$DC_PASSWORD" |
		nsx kinit "$DC_USERNAME@$REALM" >/dev/null
	printf '%s' "$DC_PASSWORD" >"$TMP/pw"	# ldapmodify -y: no newline
	chmod 600 "$TMP/pw"
	rootdse >"$TMP/rootdse"
	nsx ldapsearch -x -LLL -H "$URL" -s base -b "" \
		defaultNamingContext configurationNamingContext >"$TMP/ncs"
	# holders of the names the cases below try to take: a user in
	# the configuration NC (where stock samldb does not look) and
	# accounts in the domain NC
	cat >"$TMP/setup.ldif" <<EOF
dn: CN=${P}cfg,CN=Services,$(sed -n 's/^configurationNamingContext: //p' "$TMP/ncs")
changetype: add
objectClass: user
sAMAccountName: ${P}cfg
servicePrincipalName: http/${P}cfg.$DNSDOMAIN
servicePrincipalName: cifs/${P}cfg.$DNSDOMAIN
userPrincipalName: ${P}new1@$DNSDOMAIN

dn: CN=${P}dom,CN=Computers,$(sed -n 's/^defaultNamingContext: //p' "$TMP/ncs")
changetype: add
objectClass: computer
sAMAccountName: ${P}dom\$
userAccountControl: 4096
servicePrincipalName: http/${P}dom.$DNSDOMAIN

dn: CN=${P}upn,CN=Users,$(sed -n 's/^defaultNamingContext: //p' "$TMP/ncs")
changetype: add
objectClass: user
sAMAccountName: ${P}upn
userPrincipalName: ${P}new2@$DNSDOMAIN

dn: CN=${P}acct,CN=Users,$(sed -n 's/^defaultNamingContext: //p' "$TMP/ncs")
changetype: add
objectClass: user
sAMAccountName: ${P}acct

dn: CN=${P}bad,CN=Computers,$(sed -n 's/^defaultNamingContext: //p' "$TMP/ncs")
changetype: add
objectClass: computer
sAMAccountName: ${P}bad\$
userAccountControl: 4096
EOF
	lmod -f "$TMP/setup.ldif" >/dev/null
	2>&1)
if [ $? -ne 0 ]; then
	result "$N" 0 "$setup_out"
	exit 1
fi
echo "success: $N"

DOMAIN_DN=$(sed -n 's/^defaultNamingContext: //p' "$TMP/ncs")
CONFIG_DN=$(sed -n 's/^configurationNamingContext: //p' "$TMP/ncs")
CFG=CN=${P}cfg,CN=Services,$CONFIG_DN
DOM=CN=${P}dom,CN=Computers,$DOMAIN_DN
ACCT=CN=${P}acct,CN=Users,$DOMAIN_DN
BAD=CN=${P}bad,CN=Computers,$DOMAIN_DN
CFG_SPN=http/${P}cfg.$DNSDOMAIN
DOM_SPN=http/${P}dom.$DNSDOMAIN

# --- samba-tool ---------------------------------------------------------------

# samba-tool spn add searches the domain NC for the value first; a
# Windows-equivalent spelling of a domain SPN passes that search (it only
# case-folds) and reaches the DC, which must refuse it.
expect samba_tool.spn_add.equivalent_of_domain_spn nz "$SPN_ERR" -- \
	nsx samba-tool spn add "ＨＴＴＰ/${P}dom.$DNSDOMAIN" "${P}acct" \
	-H "$URL" "${CREDS[@]}"
expect samba_tool.spn_add.equivalent.nothing_written 1 "" -- \
	values "$ACCT" servicePrincipalName
# the alias rule: host/X while cifs/X is held in the configuration NC
expect samba_tool.spn_add.alias_of_config_nc_spn nz "$SPN_ERR" -- \
	nsx samba-tool spn add "host/${P}cfg.$DNSDOMAIN" "${P}acct" \
	-H "$URL" "${CREDS[@]}"
expect samba_tool.spn_add.free_value_accepted 0 "" -- \
	nsx samba-tool spn add "http/${P}free.$DNSDOMAIN" "${P}acct" \
	-H "$URL" "${CREDS[@]}"

# computer create with an SPN held in the configuration NC: stock samba
# accepts it; the module refuses, and no computer is left behind
expect samba_tool.computer_create.taken_spn nz "$SPN_ERR" -- \
	nsx samba-tool computer create "${P}pc1" \
	--service-principal-name="$CFG_SPN" -H "$URL" "${CREDS[@]}"
expect samba_tool.computer_create.taken_spn.no_computer 0 "no such object" -- \
	absent "CN=${P}pc1,CN=Computers,$DOMAIN_DN"
# one free and one taken (a Windows-equivalent spelling): all or nothing
expect samba_tool.computer_create.one_of_two_taken nz "$SPN_ERR" -- \
	nsx samba-tool computer create "${P}pc2" \
	--service-principal-name="http/${P}pc2.$DNSDOMAIN" \
	--service-principal-name="hţtp/${P}CFG.$DNSDOMAIN" \
	-H "$URL" "${CREDS[@]}"
expect samba_tool.computer_create.one_of_two_taken.no_computer 0 "no such object" -- \
	absent "CN=${P}pc2,CN=Computers,$DOMAIN_DN"
# locally, on sam.ldb with system rights: the same refusal
expect samba_tool.computer_create.local nz "$SPN_ERR" -- \
	nsx samba-tool computer create "${P}pc3" \
	--service-principal-name="$CFG_SPN" -H "$SAM" -s "$SMB_CONF_PATH"
expect samba_tool.computer_create.local.no_computer 0 "no such object" -- \
	absent "CN=${P}pc3,CN=Computers,$DOMAIN_DN"
expect samba_tool.computer_create.free_spn 0 "" -- \
	nsx samba-tool computer create "${P}pc4" \
	--service-principal-name="http/${P}pc4.$DNSDOMAIN" -H "$URL" \
	"${CREDS[@]}"

# samba-tool user create has no UPN option in 4.17: it always sets
# userPrincipalName to NAME@dnsdomain.  ${P}new1@... is held in the
# configuration NC (stock samba accepts the new user), ${P}new2@... by a
# domain user (samldb refuses, the client must still see 000021C8).
expect samba_tool.user_create.upn_held_in_config_nc nz "$UPN_ERR" -- \
	nsx samba-tool user create "${P}new1" "Pw-$P-Aa1" -H "$URL" \
	"${CREDS[@]}"
expect samba_tool.user_create.upn_held_in_config_nc.no_user 0 "no such object" -- \
	absent "CN=${P}new1,CN=Users,$DOMAIN_DN"
expect samba_tool.user_create.upn_held_in_domain nz "$UPN_ERR" -- \
	nsx samba-tool user create "${P}new2" "Pw-$P-Aa1" -H "$URL" \
	"${CREDS[@]}"
expect samba_tool.user_create.upn_held_in_domain.no_user 0 "no such object" -- \
	absent "CN=${P}new2,CN=Users,$DOMAIN_DN"
expect samba_tool.user_create.free_upn 0 "" -- \
	nsx samba-tool user create "${P}new3" "Pw-$P-Aa1" -H "$URL" \
	"${CREDS[@]}"

# --- ldapmodify ------------------------------------------------------------------

spn_ldif()
{
	printf 'dn: %s\nchangetype: modify\nadd: servicePrincipalName\n' "$1"
	shift
	printf '%s\n' "$@"
	printf -- '-\n'
}

spn_ldif "$ACCT" "servicePrincipalName: HTTP/${P}dom.$DNSDOMAIN" \
	>"$TMP/dup-dom.ldif"
spn_ldif "$ACCT" "servicePrincipalName: $CFG_SPN" >"$TMP/dup-cfg.ldif"
spn_ldif "$DOM" "servicePrincipalName: cīfs/${P}cfg.$DNSDOMAIN" \
	>"$TMP/dup-uni.ldif"

expect ldapmodify.gssapi.duplicate_domain 19 "$SPN_ERR" -- \
	lmod -f "$TMP/dup-dom.ldif"
expect ldapmodify.gssapi.duplicate_config_nc 19 "$SPN_ERR" -- \
	lmod -f "$TMP/dup-cfg.ldif"
expect ldapmodify.gssapi.equivalent 19 "$SPN_ERR" -- \
	lmod -f "$TMP/dup-uni.ldif"
expect ldapmodify.ldaps_simple_bind.duplicate 19 "$SPN_ERR" -- \
	env LDAPTLS_REQCERT=never "${NSX[@]}" ldapmodify -x \
	-H "ldaps://$SERVER_IP" -D "$DC_USERNAME@$REALM" -y "$TMP/pw" \
	-f "$TMP/dup-cfg.ldif"
cat >"$TMP/dup-upn.ldif" <<EOF
dn: $ACCT
changetype: modify
replace: userPrincipalName
userPrincipalName: ${P}NEW1@$DNSDOMAIN
-
EOF
expect ldapmodify.gssapi.duplicate_upn 19 "$UPN_ERR" -- \
	lmod -f "$TMP/dup-upn.ldif"
expect ldapmodify.duplicates.nothing_written 0 "servicePrincipalName: http/${P}free" \
	"!${P}dom|${P}cfg|${P}CFG" -- values "$ACCT" servicePrincipalName

# --- bad input through ldapmodify ------------------------------------------------

# bad NAME RC PATTERN LDIF-VALUE-LINE: the value goes to ${P}bad, which
# must hold nothing afterwards, and the DC must still answer
bad()
{
	local name=$1 rc=$2 pat=$3 line=$4
	spn_ldif "$BAD" "$line" >"$TMP/$name.ldif"
	expect "ldapmodify.bad.$name" "$rc" "$pat" -- \
		lmod -f "$TMP/$name.ldif"
	expect "ldapmodify.bad.$name.nothing_written" 1 "" -- \
		values "$BAD" servicePrincipalName
	expect "ldapmodify.bad.$name.dc_serving" 0 "dsServiceName" -- rootdse
}

LONG=$(head -c 65531 /dev/zero | tr '\0' a)
bad no_slash 19 "invalid with 1 components" \
	"servicePrincipalName: nohost-$P"
bad four_parts 19 "invalid with 4 components" \
	"servicePrincipalName: http/$P.$DNSDOMAIN/b/c"
bad only_slashes 19 "non-empty part" "servicePrincipalName: //"
bad empty 21 "empty attribute" "servicePrincipalName:"
bad 64k 19 "longer than 1024 bytes" "servicePrincipalName: http/$LONG"
bad nul_leaving_one_part 19 "invalid with 1 components" \
	"servicePrincipalName:: $(printf 'nohost-%s\0/x' "$P" | base64 -w0)"

# Accepted on purpose (Windows does; Samba's ldap_spn "dodgy spns"): a
# value is stored up to its first NUL, with non-UTF-8 bytes as U+FFFD.
spn_ldif "$BAD" "servicePrincipalName:: $(printf 'http/nul-%s\0junk/x/y' \
	"$P" | base64 -w0)" >"$TMP/nul.ldif"
expect ldapmodify.nul.accepted 0 "" -- lmod -f "$TMP/nul.ldif"
expect ldapmodify.nul.stored_cut 0 "^servicePrincipalName: http/nul-$P\$" -- \
	values "$BAD" servicePrincipalName
spn_ldif "$BAD" "servicePrincipalName:: $(printf 'http/bad\377\376-%s' \
	"$P" | base64 -w0)" >"$TMP/utf8.ldif"
expect ldapmodify.invalid_utf8.accepted 0 "" -- lmod -f "$TMP/utf8.ldif"
expect ldapmodify.invalid_utf8.stored_replaced 0 \
	"^servicePrincipalName: http/bad��-$P\$" -- \
	values "$BAD" servicePrincipalName
expect ldapmodify.invalid_utf8.dc_serving 0 "dsServiceName" -- rootdse
# the same bytes again, on another account: the same name, refused
spn_ldif "$ACCT" "servicePrincipalName:: $(printf 'http/bad\377\376-%s' \
	"$P" | base64 -w0)" >"$TMP/utf8-dup.ldif"
expect ldapmodify.invalid_utf8.duplicate 19 "$SPN_ERR" -- \
	lmod -f "$TMP/utf8-dup.ldif"

# --- the DC's own tools -----------------------------------------------------------

expect tools.dbcheck_cross_ncs.local 0 "Checked [0-9]+ objects \(0 errors\)" -- \
	nsx samba-tool dbcheck --cross-ncs -s "$SMB_CONF_PATH"
expect tools.domain_info 0 "Domain +: $DNSDOMAIN" -- \
	nsx samba-tool domain info "$SERVER_IP"
expect tools.ldbsearch_local 0 "servicePrincipalName: http/${P}dom" -- \
	nsx ldbsearch -H "$SAM" -b "$DOMAIN_DN" "(sAMAccountName=${P}dom\$)" \
	servicePrincipalName
expect tools.spn_list_local 0 "http/${P}free" -- \
	nsx samba-tool spn list "${P}acct" -H "$SAM" -s "$SMB_CONF_PATH"
expect tools.user_list_local 0 "${P}new3" -- \
	nsx samba-tool user list -H "$SAM" -s "$SMB_CONF_PATH"
expect tools.samba_asa_audit 0 " 0 duplicates" -- \
	nsx "$ASA" spn audit \
	-H "$URL" -k yes

# --- the key index file ------------------------------------------------------------
#
# unique_principal_names.mdb starts afresh when its boot marker names
# another boot (after a crash of the machine the unsynced file may be
# damaged).  Here a tool run locally finds a stale marker while samba
# keeps its own, older copy open: each copy catches up with the writes it
# did not see, so both must still refuse duplicates made through the
# other.  Windows-equivalent spellings get past samba-tool's own search.
IDX=$PREFIX_ABS/private/unique_principal_names.mdb
BOOT_ID=$(cat /proc/sys/kernel/random/boot_id)

expect index.file_and_boot_marker 0 "^$BOOT_ID\$" -- \
	sh -c 'test -s "$1" && cat "$1.boot"' sh "$IDX"

echo "not-this-boot" >"$IDX.boot"
old_inode=$(stat -c %i "$IDX")
expect index.stale_marker.local_write 0 "" -- \
	nsx samba-tool spn add "http/${P}kx1.$DNSDOMAIN" "${P}acct" \
	-H "$SAM" -s "$SMB_CONF_PATH"
expect index.stale_marker.started_afresh 0 "^new $BOOT_ID\$" -- \
	sh -c 'i=$(stat -c %i "$1"); [ "$i" != "$2" ] && echo "new $(cat "$1.boot")" ||
		echo "same file (inode $i)"' sh "$IDX" "$old_inode"
# samba's copy (the old file) sees the local write by catching up
spn_ldif "$DOM" "servicePrincipalName: ＨＴＴＰ/${P}kx1.$DNSDOMAIN" \
	>"$TMP/kx1.ldif"
spn_ldif "$DOM" "servicePrincipalName: http/${P}kx2.$DNSDOMAIN" \
	>"$TMP/kx2.ldif"
expect index.stale_marker.samba_refuses_local_value 19 "$SPN_ERR" -- \
	lmod -f "$TMP/kx1.ldif"
# and the local copy sees samba's writes
expect index.stale_marker.samba_write 0 "" -- lmod -f "$TMP/kx2.ldif"
expect index.stale_marker.local_refuses_samba_value nz "$SPN_ERR" -- \
	nsx samba-tool spn add "ＨＴＴＰ/${P}kx2.$DNSDOMAIN" "${P}acct" \
	-H "$SAM" -s "$SMB_CONF_PATH"
expect index.stale_marker.audit_clean 0 " 0 duplicates" -- \
	nsx "$ASA" spn audit -H "$URL" -k yes

# Keys from another collation (ICU 72 on Debian 12, 76 on 13: a DC
# upgraded in place) may not match the keys made now.  The index records
# the collation's version and is rebuilt when it differs.  Here, right
# after a local write (so that no change since needs catching up), its
# version is set to one no ICU has and every key record dropped: a
# Windows-equal duplicate of the value just written is then refused only
# if the index is rebuilt (samldb's own search does not see it).  samba's
# process checked its copy at start, so a local tool, a new process, is
# the one to notice, as samba is after an upgrade's restart.
HELPER_INDEX=$REPO/bin/test/helper_index
expect index.key_version.recorded 0 "^stored ([0-9]+) current \1\$" -- \
	"$HELPER_INDEX" "$IDX" key-version
expect index.key_version.local_write 0 "" -- \
	nsx samba-tool spn add "http/${P}kx3.$DNSDOMAIN" "${P}acct" \
	-H "$SAM" -s "$SMB_CONF_PATH"
expect index.key_version.aged 0 "dropped [1-9][0-9]* key records" -- \
	"$HELPER_INDEX" "$IDX" age-keys
expect index.key_version.rebuilt_refuses nz "$SPN_ERR" -- \
	nsx samba-tool spn add "ＨＴＴＰ/${P}kx3.$DNSDOMAIN" "${P}dom\$" \
	-H "$SAM" -s "$SMB_CONF_PATH"
# the rebuild commits with the next write that succeeds
expect index.key_version.next_write 0 "" -- \
	nsx samba-tool spn add "http/${P}kx4.$DNSDOMAIN" "${P}acct" \
	-H "$SAM" -s "$SMB_CONF_PATH"
expect index.key_version.current_again 0 "^stored ([0-9]+) current \1\$" -- \
	"$HELPER_INDEX" "$IDX" key-version

# --- cleanup (best effort) --------------------------------------------------------

for dn in "$CFG" "$DOM" "$ACCT" "$BAD" "CN=${P}upn,CN=Users,$DOMAIN_DN" \
	  "CN=${P}pc4,CN=Computers,$DOMAIN_DN" \
	  "CN=${P}new3,CN=Users,$DOMAIN_DN"; do
	nsx ldapdelete -Y GSSAPI -Q -H "$URL" "$dn" >/dev/null 2>&1
done

[ "$FAILED" -eq 0 ]
