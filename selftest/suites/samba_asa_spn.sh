#!/bin/bash
# selftest/suites/samba_asa_spn.sh: `samba-asa spn`, `enable` and `disable`
# against a real DC (environment ad_dc), over both backends: ldap:// with
# Kerberos (and ldaps:// with a simple bind), and the local sam.ldb.
#
# Emits subunit v1 on stdout (test: / success: / failure: NAME [ ... ]).
# Needs from the environment: SERVER, SERVER_IP, REALM, DC_USERNAME,
# DC_PASSWORD, PREFIX_ABS, SMB_CONF_PATH, KRB5_CONFIG, and SELFTEST_NETNS
# (clients run inside that network namespace); LDB_MODULES_PATH when the
# uniqueness module is enabled (then local tools need it).
#
# Every object it creates has a name with a per-run prefix, so runs do not
# collide; writes that would leave a duplicate in the live directory are
# made in a copy of the private directory only.

# REPO, ASA, NSX, TMP, KRB5CCNAME; exits 2 outside env ad_dc
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
P=st$$					# per-run prefix
SAM=$PREFIX_ABS/private/sam.ldb
LDAP=(-H "ldap://$SERVER_IP" -k yes)
LOCAL=(-H "$SAM" -s "$SMB_CONF_PATH")
DOMAIN_DN=$("${NSX[@]}" ldbsearch -H "$SAM" -s base -b "" \
	defaultNamingContext 2>/dev/null |
	sed -n 's/^defaultNamingContext: //p')
CONFIG_DN="CN=Configuration,$DOMAIN_DN"
DNSDOMAIN=$(echo "$REALM" | tr '[:upper:]' '[:lower:]')

# --- subunit ---------------------------------------------------------------

. "$REPO/selftest/subunit.sh"

# samba-asa with the password on standard input, TLS to the test DC
asa_pw_stdin()
{
	LDAPTLS_REQCERT=never "${NSX[@]}" "$ASA" "$@" <"$TMP/pw"
}

# --- setup -----------------------------------------------------------------

# Test names are relative: selftest.py prefixes them with the suite's name.
N=spn
subunit_start_test "$N.setup"
setup_out=$(
	set -e
	printf '%s\n' "$DC_PASSWORD" >"$TMP/pw"
	chmod 600 "$TMP/pw"
	printf '%s\n' "$DC_PASSWORD" |
		"${NSX[@]}" kinit "$DC_USERNAME@$REALM" >/dev/null
	for c in ${P}a ${P}b; do
		"${NSX[@]}" samba-tool computer create "$c" -H "$SAM" \
			-s "$SMB_CONF_PATH"
	done
	"${NSX[@]}" samba-tool user create "${P}u" --random-password \
		--userou="CN=Users" -H "$SAM" -s "$SMB_CONF_PATH" \
		--use-username-as-cn
	cat >"$TMP/upn.ldif" <<EOF
dn: CN=${P}u,CN=Users,$DOMAIN_DN
changetype: modify
replace: userPrincipalName
userPrincipalName: ${P}svc@$DNSDOMAIN
EOF
	"${NSX[@]}" ldbmodify -H "$SAM" "$TMP/upn.ldif"
	cat >"$TMP/cfg.ldif" <<EOF
dn: CN=${P}cfg,CN=Services,$CONFIG_DN
objectClass: user
servicePrincipalName: http/${P}cfg.$DNSDOMAIN
EOF
	"${NSX[@]}" ldbadd -H "$SAM" "$TMP/cfg.ldif"
	2>&1)
if [ $? -ne 0 ]; then
	result "$N.setup" 0 "$setup_out"
	exit 1
fi
subunit_pass_test "$N.setup"

A=${P}a				# sAMAccountName without the $
B=${P}b
ADN="CN=${P}a,CN=Computers,$DOMAIN_DN"
BDN="CN=${P}b,CN=Computers,$DOMAIN_DN"
UPN=${P}svc@$DNSDOMAIN
S1=http/${P}one.$DNSDOMAIN
S2=http/${P}two.$DNSDOMAIN
S3=http/${P}three.$DNSDOMAIN

# --- query, add, list, remove (ldap:// with Kerberos) -----------------------

expect $N.query.free 0 "^$S1: free" -- asa spn query "$S1" "${LDAP[@]}"
expect $N.query.free.local 0 "^$S1: free" -- \
	asa spn query "$S1" "${LOCAL[@]}"
expect $N.add.two 0 "Added to $ADN" -- \
	asa spn add "$A" "$S1" "$S2" "${LDAP[@]}"
expect $N.list.sam 0 "$S2" -- asa spn list "$A" "${LDAP[@]}"
expect $N.list.sam-dollar.local 0 "$S1" -- \
	asa spn list "$A\$" "${LOCAL[@]}"
expect $N.list.dn 0 "$S1" -- asa spn list "$ADN" "${LDAP[@]}"
expect $N.list.json 0 "\"servicePrincipalName\": \\[.*\"$S1\"" -- \
	asa spn list "$A" --json "${LDAP[@]}"
expect $N.query.taken 1 "^$S1: taken by" -- \
	asa spn query "$S1" "${LDAP[@]}"
expect $N.query.taken.names-holder 1 "$ADN" -- \
	asa spn query "$(echo "$S1" | tr '[:lower:]' '[:upper:]')" "${LDAP[@]}"
expect $N.query.taken.local 1 "$ADN" -- asa spn query "$S2" "${LOCAL[@]}"
expect $N.query.json 1 "\"taken\": true" -- \
	asa spn query "$S1" --json "${LDAP[@]}"
expect $N.query.one-taken-one-free 1 "^$S3: free" -- \
	asa spn query "$S3" "$S1" "${LDAP[@]}"

# all or nothing: S3 is free, S1 is A's
expect $N.add.all-or-nothing 1 "$S1 is taken.*|nothing was added" -- \
	asa spn add "$B" "$S3" "$S1" "${LDAP[@]}"
expect $N.add.all-or-nothing.nothing-written 0 \
	"Registered ServicePrincipalNames for $BDN" "!$S3" -- \
	asa spn list "$B" "${LDAP[@]}"
expect $N.add.sam-dollar 0 "Added to $BDN" -- \
	asa spn add "$B\$" "$S3" "${LDAP[@]}"
expect $N.add.own-value 0 "already registered" -- \
	asa spn add "$B" "$S3" "${LDAP[@]}"
expect $N.add.upn 0 "Added to CN=${P}u" -- \
	asa spn add "$UPN" "http/${P}upn.$DNSDOMAIN" "${LDAP[@]}"
expect $N.list.upn 0 "http/${P}upn" -- asa spn list "$UPN" "${LDAP[@]}"
expect $N.add.local 0 "Added to $BDN" -- \
	asa spn add "$B" "http/${P}local.$DNSDOMAIN" "${LOCAL[@]}"

# a value held in the configuration naming context
expect $N.query.config-nc 1 "CN=${P}cfg,CN=Services,$CONFIG_DN" -- \
	asa spn query "HTTP/${P}cfg.$DNSDOMAIN" "${LDAP[@]}"
expect $N.add.config-nc-refused 1 "CN=${P}cfg,CN=Services" -- \
	asa spn add "$B" "http/${P}cfg.$DNSDOMAIN" "${LDAP[@]}"
expect $N.add.config-nc-refused.local 1 "CN=${P}cfg,CN=Services" -- \
	asa spn add "$B" "http/${P}cfg.$DNSDOMAIN" "${LOCAL[@]}"

# Windows' equivalence: cīfs/x is cifs/x
expect $N.add.unicode 0 "Added" -- \
	asa spn add "$A" "cīfs/${P}uni.$DNSDOMAIN" "${LDAP[@]}"
expect $N.query.unicode 1 "equivalent" -- \
	asa spn query "cifs/${P}uni.$DNSDOMAIN" "${LDAP[@]}"
expect $N.add.unicode-refused 1 "is taken" -- \
	asa spn add "$B" "CIFS/${P}uni.$DNSDOMAIN" "${LDAP[@]}"

# sPNMappings: host/x is taken by http/x elsewhere; http/x is not by host/x
expect $N.add.alias-refused 1 "alias" -- \
	asa spn add "$B" "host/${P}one.$DNSDOMAIN" "${LDAP[@]}"
expect $N.add.host 0 "Added" -- \
	asa spn add "$A" "host/${P}h.$DNSDOMAIN" "${LDAP[@]}"
expect $N.query.alias-of-held-host-is-free 0 "free" -- \
	asa spn query "http/${P}h.$DNSDOMAIN" "${LDAP[@]}"

# remove
expect $N.remove 0 "Removed from $ADN" -- \
	asa spn remove "$A" "$S2" "${LDAP[@]}"
expect $N.remove.gone 0 "Registered ServicePrincipalNames for $ADN" \
	"!$S2" -- asa spn list "$A" "${LDAP[@]}"
expect $N.remove.not-held 1 "not registered" -- \
	asa spn remove "$A" "$S2" "${LDAP[@]}"
expect $N.remove.all-or-nothing 1 "nothing was removed" -- \
	asa spn remove "$A" "$S1" "$S2" "${LDAP[@]}"
expect $N.remove.all-or-nothing.kept 0 "$S1" -- \
	asa spn list "$A" "${LDAP[@]}"
expect $N.remove.local 0 "Removed" -- \
	asa spn remove "$B" "http/${P}local.$DNSDOMAIN" "${LOCAL[@]}"

# --- audit -------------------------------------------------------------------

expect $N.audit.clean 0 "0 duplicates" -- asa spn audit "${LDAP[@]}"
expect $N.audit.clean.local 0 "0 duplicates" -- asa spn audit "${LOCAL[@]}"
expect $N.audit.clean.json 0 "\"groups\": \\[\\]" -- \
	asa spn audit --json "${LOCAL[@]}"

# Duplicates go into a copy of the private directory, with the module
# taken out of the copy's stack: the live DC stays clean.
subunit_start_test "$N.audit.copy-setup"
copy_out=$(
	set -e
	cp -a "$PREFIX_ABS/private" "$TMP/private"
	"$ASA" disable -H "$TMP/private/sam.ldb"
	# stock samldb lets both through: it checks the domain naming
	# context only (the first value is held in the configuration NC),
	# and compares by case only (the second is cīfs/... on A)
	cat >"$TMP/dup.ldif" <<EOF
dn: $BDN
changetype: modify
add: servicePrincipalName
servicePrincipalName: HTTP/${P}cfg.$DNSDOMAIN
servicePrincipalName: cifs/${P}uni.$DNSDOMAIN
EOF
	ldbmodify -H "$TMP/private/sam.ldb" "$TMP/dup.ldif"
	2>&1)
if [ $? -eq 0 ]; then
	subunit_pass_test "$N.audit.copy-setup"
	COPY=(-H "$TMP/private/sam.ldb" -s "$SMB_CONF_PATH")
	expect $N.audit.finds-duplicate 1 \
		"${P}cfg.$DNSDOMAIN is held by more than one account .same value" -- \
		asa spn audit "${COPY[@]}"
	expect $N.audit.finds-equivalent 1 "equivalent as Windows compares" \
		-- asa spn audit "${COPY[@]}"
	expect $N.audit.json 1 "\"match\": \"exact\"" -- \
		asa spn audit --json "${COPY[@]}"
	expect $N.audit.names-config-holder 1 "CN=${P}cfg,CN=Services" -- \
		asa spn audit "${COPY[@]}"
else
	result "$N.audit.copy-setup" 0 "$copy_out"
fi

# --- other ways to bind --------------------------------------------------------

expect $N.bind.ldaps-password-file 0 "$S1" -- \
	env LDAPTLS_REQCERT=never "${NSX[@]}" "$ASA" spn list "$A" \
	-H "ldaps://$SERVER_IP" -U "$DC_USERNAME" --password-file "$TMP/pw"
expect $N.bind.starttls-password-stdin 0 "$S1" -- \
	asa_pw_stdin spn list "$A" -H "ldap://$SERVER_IP" -U "$DC_USERNAME" \
	--password-stdin
# While samba-asa holds a password (here: waiting for it on stdin) no core
# file can be written: it sets its own core limit to 0, also when started
# with an unlimited one.
no_core_while_waiting()
{
	local pid limits rc=0

	( ulimit -c unlimited
	  sleep 5 | "$ASA" spn list "$A" -H "ldap://$SERVER_IP" \
		-U "$DC_USERNAME" --password-stdin >/dev/null 2>&1 ) &
	sleep 1
	pid=$(pgrep -n -f "$ASA spn list $A -H ldap://$SERVER_IP") ||
		{ echo "samba-asa is not running"; wait; return 1; }
	limits=$(grep "Max core file size" "/proc/$pid/limits")
	echo "$limits"
	awk '{ exit !($5 == 0 && $6 == 0) }' <<<"$limits" || rc=1
	wait
	return "$rc"
}
subunit_start_test "$N.no-core-file"
out=$(no_core_while_waiting 2>&1)
result "$N.no-core-file" "$([ $? = 0 ] && echo 1 || echo 0)" "$out"

# -k yes -U: samba-asa gets its own ticket, in memory only
asa_own_ticket()
{
	KRB5CCNAME=FILE:$TMP/unused "${NSX[@]}" "$ASA" "$@" || return
	if [ -e "$TMP/unused" ]; then
		echo "a credential cache was written to disk"
		return 1
	fi
}

expect $N.bind.kerberos-password-file 0 "$S1" -- \
	asa_own_ticket spn list "$A" -H "ldap://$SERVER_IP" -k yes \
	-U "$DC_USERNAME" --password-file "$TMP/pw"
expect $N.bind.password-in-argv-refused 2 "never goes on the command line" \
	-- asa spn list "$A" -H "ldaps://$SERVER_IP" -U "$DC_USERNAME%secret"
expect $N.bind.no-ticket 2 "kinit" -- \
	env KRB5CCNAME=FILE:$TMP/none "${NSX[@]}" "$ASA" spn list "$A" \
	"${LDAP[@]}"

# --- bad input ---------------------------------------------------------------

expect $N.bad.unknown-account 1 "no account" -- \
	asa spn list "${P}nosuch" "${LDAP[@]}"
expect $N.bad.unknown-account.add 1 "no account" -- \
	asa spn add "${P}nosuch" "http/${P}x.$DNSDOMAIN" "${LDAP[@]}"
expect $N.bad.malformed-spn 1 "not a valid SPN" -- \
	asa spn query "${P}noslash" "${LDAP[@]}"
expect $N.bad.too-many-parts 1 "not a valid SPN" -- \
	asa spn add "$A" "a/b/c/d" "${LDAP[@]}"
expect $N.bad.url 2 "unsupported URL" -- \
	asa spn query "$S1" -H "http://$SERVER_IP"
expect $N.bad.unreachable 2 "cannot reach" -- \
	asa spn query "$S1" -H "ldap://127.0.0.254" -k yes
expect $N.bad.no-such-file 2 "" -- \
	asa spn query "$S1" -H "$TMP/nonexistent/sam.ldb" -s "$SMB_CONF_PATH"
expect $N.bad.unknown-option 2 "unknown option" -- \
	asa spn list "$A" --frobnicate
expect $N.bad.unknown-command 2 "unknown command" -- asa spn frobnicate
expect $N.help 0 "Usage: samba-asa spn add" -- asa spn add --help

# --- enable / disable on a copy of sam.ldb -------------------------------------

mkdir -p "$TMP/copy"
cp "$SAM" "$TMP/copy/sam.ldb"
C=(-H "$TMP/copy/sam.ldb")
asa disable "${C[@]}" >/dev/null 2>&1	# start from stock

expect modules.disable.idempotent 0 "already disabled" -- asa disable "${C[@]}"
expect modules.enable.missing-module 2 "is not in" -- \
	env LDB_MODULES_PATH=$TMP "$ASA" enable "${C[@]}"
expect modules.enable.missing-module.unchanged 0 "already disabled" -- \
	asa disable "${C[@]}"
expect modules.enable.bad-modules-path 2 "not a directory" -- \
	env LDB_MODULES_PATH=$TMP/nonexistent "$ASA" enable "${C[@]}"
if [ -n "${LDB_MODULES_PATH:-}" ]; then
	expect modules.enable 0 "@LIST now: unique_principal_names,samba_dsdb" -- \
		asa enable "${C[@]}"
	expect modules.enable.idempotent 0 "already enabled" -- \
		asa enable "${C[@]}"
	expect modules.enable.list 0 "@LIST: unique_principal_names,samba_dsdb" \
		-- asa enable "${C[@]}"
	expect modules.disable 0 "@LIST now: samba_dsdb" -- asa disable "${C[@]}"
	expect modules.disable.again 0 "already disabled" -- asa disable "${C[@]}"
fi
expect modules.enable.not-sam-ldb 1 "not a Samba DC" -- \
	bash -c 'ldbadd -H "tdb://$1" </dev/null >/dev/null 2>&1;
		 "$2" disable -H "$1"' _ "$TMP/empty.ldb" "$ASA"
expect modules.enable.over-ldap-refused 2 "not over the network" -- \
	asa enable -H "ldap://$SERVER_IP"

# --- samba-tool asa: the front runs samba-asa with the same arguments -----------

stool()
{
	SAMBA_ASA=$ASA "${NSX[@]}" /usr/bin/python3 \
		"$REPO/selftest/samba_tool_front.py" "$@"
}

expect $N.samba_tool.lists_subcommands 0 "spn +- query, add" -- \
	stool asa --help
# the same answers and exit statuses as samba-asa itself
SF=http/${P}front.$DNSDOMAIN
expect $N.samba_tool.add 0 "Added to $ADN" -- \
	stool asa spn add "$A" "$SF" "${LDAP[@]}"
expect $N.samba_tool.query.taken 1 "^	$ADN \(${A}[$]\): $SF" -- \
	stool asa spn query "$SF" "${LDAP[@]}"
expect $N.samba_tool.query.taken.samba_asa_agrees 1 "^$SF: taken by" -- \
	asa spn query "$SF" "${LOCAL[@]}"
expect $N.samba_tool.remove 0 "" -- \
	stool asa spn remove "$A" "$SF" "${LDAP[@]}"
expect $N.samba_tool.query.free.local 0 "^$SF: free" -- \
	stool asa spn query "$SF" "${LOCAL[@]}"
expect $N.samba_tool.usage_error 2 "" -- stool asa spn query --no-such-option

# --- cleanup (best effort) -------------------------------------------------------

for dn in "$ADN" "$BDN" "CN=${P}u,CN=Users,$DOMAIN_DN" \
	  "CN=${P}cfg,CN=Services,$CONFIG_DN"; do
	"${NSX[@]}" ldbdel -H "$SAM" "$dn" >/dev/null 2>&1
done

[ "$FAILED" -eq 0 ]
