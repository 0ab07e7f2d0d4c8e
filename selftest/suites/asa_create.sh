#!/bin/bash
# selftest/suites/asa_create.sh: `samba-asa create`, `member add|remove|
# list` and `keytab` against a real DC and a real server array
# (environment ad_dc_array: members m1..m3 with sshd and Apache +
# mod_auth_gssapi behind haproxy on the load-balanced names).
#
#   - create with the seed's five SPNs and members m1, m2: every SPN gets
#     a real service ticket that each member's keytab decrypts (kvno -k);
#     the keys equal what `samba-tool domain exportkeytab` reads;
#   - a member that refuses fails alone, named, with its status recorded;
#     the same create again repairs it, and then has nothing to change;
#     other arguments are refused, naming the difference;
#   - member add brings m3 into service (curl --negotiate through haproxy
#     gets 200 from m1, m2 and m3, their access logs name the Kerberos
#     user); --copy-from; member remove leaves the keytab; member list;
#   - keytab exports keys that decrypt a ticket for every SPN;
#   - a duplicate SPN at create fails, naming the holder, with nothing
#     left behind; over LDAP (-k yes) too; an unreachable member fails
#     alone; the password never reaches a child's argv or environment;
#   - bad input: unknown account, account not an ASA, malformed member
#     URL, keytab file not writable, bad name, bad SPN.
#
# Emits subunit v1.  Every object it creates has a per-run name.

. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
. "$REPO/selftest/array.sh"	# array_authorize

for v in SELFTEST_ARRAY_MEMBERS SELFTEST_ARRAY_SSH_KEY \
	 SELFTEST_ARRAY_SSH_KNOWN_HOSTS SELFTEST_LB_NAMES; do
	if [ -z "${!v:-}" ]; then
		echo "asa_create.sh: $v is not set: run in env ad_dc_array" >&2
		exit 2
	fi
done
export LDB_MODULES_PATH=${LDB_MODULES_PATH:-}

. "$REPO/selftest/subunit.sh"

P=c$$				# per-run prefix of account names
L=$(echo "$REALM" | tr '[:upper:]' '[:lower:]')
SAM=$PREFIX_ABS/private/sam.ldb
LOCAL=(-H "$SAM" -s "$SMB_CONF_PATH")
LDAP=(-H "ldap://$SERVER_IP" -k yes -s "$SMB_CONF_PATH")
DOMAIN_DN=$("${NSX[@]}" ldbsearch -H "$SAM" -s base -b "" \
	defaultNamingContext 2>/dev/null |
	sed -n 's/^defaultNamingContext: //p')
SEED_SPNS=(http/mail.$L http/autod.$L exchangeMDB/outlook.$L
	   exchangeRFR/outlook.$L exchangeAB/outlook.$L)
MAIN=${P}m			# the ASA of the array
MEMBERS=()
for m in $SELFTEST_ARRAY_MEMBERS; do
	MEMBERS+=("${m%%=*}")
done

# --- helpers (each prints what it saw, for the failure report) -------------

# No object named NAME ($ or not) anywhere in the domain.
nothing_named()
{
	local out

	out=$(nsx ldbsearch -H "$SAM" -b "$DOMAIN_DN" \
		"(|(sAMAccountName=$1\$)(cn=$1))" dn 2>&1)
	echo "$out"
	grep -q '^# 0 entries' <<<"$out" && ! grep -q '^dn: ' <<<"$out"
}

# No account holds SPN.
spn_free()
{
	asa spn query "$1" "${LOCAL[@]}"
}

# kvno -k KEYTAB for every SPN given: a real ticket, decrypted.
tickets_decrypt()
{
	local kt=$1 spn rc=0
	shift

	ls -l "$kt" || return 1
	for spn in "$@"; do
		nsx kvno -k "$kt" "$spn" 2>&1 || rc=1
	done
	return $rc
}

# "kvno enctype sha256-prefix" of PRINCIPAL's AES keys in KEYTAB
aes_keys()
{
	nsx klist -k -e -K "$1" | awk -v p="$2" '$2 == p && /aes/ {
		et = $3; k = $NF; gsub(/[()]/, "", et); gsub(/[()]/, "", k)
		print $1, et, k }' |
	while read -r kv et k; do
		echo "$kv $et $(printf %s "$k" | sha256sum | cut -c1-16)"
	done | sort
}

# The AES keys of NAME$ in KEYTAB are the ones exportkeytab reads from
# the DC's database (and there are two: AES256 and AES128) at the current
# kvno (Samba 4.22 exports the previous kvno's too).
keys_equal_dc()
{
	local kt=$1 name=$2 dc mine

	rm -f "$TMP/dc.keytab"
	nsx samba-tool domain exportkeytab "$TMP/dc.keytab" \
		-s "$SMB_CONF_PATH" --principal="$name\$" >/dev/null || return 1
	dc=$(aes_keys "$TMP/dc.keytab" "$name\$@$REALM" | awk '
		{ line[NR] = $0; kv[NR] = $1; if ($1 > max) max = $1 }
		END { for (i = 1; i <= NR; i++) if (kv[i] == max) print line[i] }')
	mine=$(aes_keys "$kt" "$name\$@$REALM")
	rm -f "$TMP/dc.keytab"
	printf 'exportkeytab:\n%s\nmember:\n%s\n' "$dc" "$mine"
	[ -n "$dc" ] && [ "$(wc -l <<<"$dc")" = 2 ] && [ "$dc" = "$mine" ]
}

# member list --json of ASA, the member NAME's record matches PATTERN
member_status()
{
	local asa=$1 name=$2 pattern=$3 out

	out=$(asa member list "$asa" --json "${LOCAL[@]}") || return 1
	echo "$out"
	grep -F "\"name\": \"$name\"" <<<"$out" | grep -qE -- "$pattern"
}

# curl --negotiate through the load balancer, once per member: every
# member answers 200 once, and its access log has the Kerberos user.
array_serves()
{
	local i out m
	local -A seen=()

	for ((i = 0; i < ${#MEMBERS[@]}; i++)); do
		out=$(nsx curl -sS -w ' %{http_code}' --negotiate -u : \
			"http://mail.$L/") || { echo "curl: $out"; return 1; }
		echo "request $i: $out"
		[[ $out == *" 200" ]] || return 1
		m=$(sed -n 's/^array member \(m[0-9]*\) .*/\1/p' <<<"$out")
		[ -n "$m" ] && seen[$m]=1
	done
	for m in "${MEMBERS[@]}"; do
		[ -n "${seen[$m]:-}" ] || { echo "$m did not answer"; return 1; }
		tail -n 1 "$(member_var ACCESS_LOG "$m")"
		grep -qE "^[^ ]+ Administrator@$REALM \[.*\] \"GET / HTTP/1\.1\" 200 member=$m\$" \
			"$(member_var ACCESS_LOG "$m")" ||
			{ echo "$m logged no Kerberos user"; return 1; }
	done
}

# children_clean STRACE-LOG SECRETS: in the strace log of a create, no
# child got the ASA's password (SECRETS: what the create wrote on
# SAMBA_ASA_TEST_SECRET_FD) in any form in its argv or environment, each
# ran with the small environment member.h promises, and ssh ran.
children_clean()
{
	local log=$1 secrets=$2 rc=0

	[ -s "$log" ] || { echo "no strace log"; return 1; }
	/usr/bin/python3 - "$log" <<'EOF' || rc=1
import re, sys
allowed_env = {"PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "TZ"}
bad = 0
execs = 0
for line in open(sys.argv[1], errors="replace"):
    m = re.search(r'execve\("([^"]*)", \[(.*?)\], (0x[0-9a-f]+ /\* \d+ vars \*/|\[.*?\])\) = 0', line)
    if not m:
        continue
    prog, argv, env = m.groups()
    execs += 1
    if execs == 1:
        continue        # samba-asa itself, as the test started it
    args = re.findall(r'"((?:[^"\\]|\\.)*)"', argv)
    print(prog, " ".join(args)[:300])
    names = {e.split("=", 1)[0] for e in re.findall(r'"((?:[^"\\]|\\.)*)"', env)}
    if not names <= allowed_env:
        print("  environment beyond the small one:", sorted(names - allowed_env))
        bad += 1
if execs < 2:
    print("no child was run")
    bad += 1
sys.exit(1 if bad else 0)
EOF
	grep -q 'execve("[^"]*/ssh"' "$log" ||
		{ echo "ssh never ran"; rc=1; }
	/usr/bin/python3 "$REPO/selftest/suites/roll_secret_scan.py" log \
		"$secrets" "$log" || rc=1
	return $rc
}

# --- setup -----------------------------------------------------------------

N=create
subunit_start_test "$N.setup"
setup_out=$(
	set -e
	nsx kinit "$DC_USERNAME@$REALM" <"$SELFTEST_PASSWORD_FILE" >/dev/null
	# The array made the DC's SSH key with `member setup`, where
	# samba-asa looks by default: create and member add use defaults.
	test -f "$PREFIX_ABS/private/asa/id_ed25519"
	test -s "$PREFIX_ABS/private/asa/known_hosts"
	# an account that holds an SPN, made without samba-asa
	nsx samba-tool computer create "${P}h" -H "$SAM" -s "$SMB_CONF_PATH"
	nsx samba-tool spn add "http/${P}held.$L" "${P}h\$" -H "$SAM" \
		-s "$SMB_CONF_PATH"
	for m in "${MEMBERS[@]}"; do
		cp -p "$(member_var AUTHORIZED_KEYS "$m")" \
			"$TMP/authorized_keys.$m"
	done
	2>&1)
if [ $? -ne 0 ]; then
	result "$N.setup" 0 "$setup_out"
	exit 1
fi
subunit_pass_test "$N.setup"

restore_keys()
{
	local m
	for m in "${MEMBERS[@]}"; do
		[ -e "$TMP/authorized_keys.$m" ] &&
			cp -p "$TMP/authorized_keys.$m" \
				"$(member_var AUTHORIZED_KEYS "$m")"
	done
	rm -rf "$TMP"
}
trap restore_keys EXIT

# --- bad input: nothing is created ------------------------------------------

expect $N.bad-url 1 "member URL.*nothing was created" -- \
	asa create "${P}x" --spn "http/${P}x.$L" --member "ftp://m1.$L/k" \
	"${LOCAL[@]}"
expect $N.bad-url.relative-path 1 "member URL" -- \
	asa create "${P}x" --spn "http/${P}x.$L" \
	--member "ssh://m1.$L" "${LOCAL[@]}"
expect $N.bad-name 1 "not a valid ASA name" -- \
	asa create "much-too-long-name-$P" --spn "http/${P}x.$L" "${LOCAL[@]}"
expect $N.bad-spn 1 "not a valid SPN" -- \
	asa create "${P}x" --spn "no-slash" "${LOCAL[@]}"
expect $N.no-spn 2 "--spn" -- asa create "${P}x" "${LOCAL[@]}"
expect $N.bad-enctypes 2 "des" -- \
	asa create "${P}x" --spn "http/${P}x.$L" --enctypes des "${LOCAL[@]}"
expect $N.bad-ou 1 "no such object" -- \
	asa create "${P}x" --spn "http/${P}x.$L" \
	--ou "OU=nowhere,$DOMAIN_DN" "${LOCAL[@]}"
check $N.bad-input.nothing-created nothing_named "${P}x"
expect $N.exists-not-an-asa 1 "${P}h\\$ exists but is not an ASA" -- \
	asa create "${P}h" --spn "http/${P}x.$L" "${LOCAL[@]}"

# --- a duplicate SPN: refused, naming the holder, nothing left behind ------

expect $N.duplicate-spn 1 "CN=${P}h,CN=Computers.*http/${P}held" -- \
	asa create "${P}d" --spn "http/${P}free.$L" "http/${P}held.$L" \
	--member "local:$TMP/d.keytab" "${LOCAL[@]}"
check $N.duplicate-spn.nothing-left nothing_named "${P}d"
check $N.duplicate-spn.other-spn-free spn_free "http/${P}free.$L"
check $N.duplicate-spn.no-keytab test ! -e "$TMP/d.keytab"
expect $N.duplicate-spn.ldap 1 "CN=${P}h,CN=Computers" -- \
	asa create "${P}d" --spn "HTTP/${P}HELD.$L" "${LDAP[@]}"
check $N.duplicate-spn.ldap.nothing-left nothing_named "${P}d"

# The password never crosses an unprotected connection: GSSAPI that signs
# but does not seal (SASL security strength 1) is refused before anything
# is written.
expect $N.ldap.unprotected-refused 2 "not protected.*nothing was created" -- \
	env LDAPSASL_SECPROPS=maxssf=1 "${NSX[@]}" "$ASA" create "${P}x" \
	--spn "http/${P}x.$L" "${LDAP[@]}"
check $N.ldap.unprotected-refused.nothing-created nothing_named "${P}x"

# A delegated administrator who may create computer accounts in an OU but
# not the objects under them that make an account an ASA: the account is
# made, then the samba-asa SCP is refused, and the account goes again.
delegate_setup()
{
	local sid

	nsx samba-tool ou create "OU=${P}ou,$DOMAIN_DN" "${LOCAL[@]}" &&
	nsx samba-tool user create "${P}dlg" --random-password \
		"${LOCAL[@]}" >/dev/null &&
	printf 'Dlg-%s-%s\n' "$RANDOM$RANDOM" "$$" >"$TMP/dlg.pw" &&
	nsx samba-tool user setpassword "${P}dlg" \
		--newpassword="$(cat "$TMP/dlg.pw")" "${LOCAL[@]}" &&
	sid=$(nsx samba-tool user show "${P}dlg" --attributes=objectSid \
		"${LOCAL[@]}" | sed -n 's/^objectSid: //p') &&
	[ -n "$sid" ] &&
	nsx samba-tool dsacl set --objectdn="OU=${P}ou,$DOMAIN_DN" \
		--sddl="(OA;;CCDC;bf967a86-0de6-11d0-a285-00aa003049e2;;$sid)" \
		"${LOCAL[@]}" >/dev/null
}
if check $N.delegate.setup delegate_setup; then
	expect $N.delegate.undone 1 \
		"nothing was left behind: CN=${P}g,OU=${P}ou.* was deleted" -- \
		asa create "${P}g" --spn "http/${P}g.$L" \
		--ou "OU=${P}ou,$DOMAIN_DN" --member "local:$TMP/g.keytab" \
		-H "ldap://$SERVER_IP" -k yes -U "${P}dlg" \
		--password-file "$TMP/dlg.pw" -s "$SMB_CONF_PATH"
	check $N.delegate.nothing-left nothing_named "${P}g"
	check $N.delegate.spn-free spn_free "http/${P}g.$L"
	check $N.delegate.no-keytab test ! -e "$TMP/g.keytab"
fi

# --- over LDAP: an unreachable member fails alone; no secret in argv ------

U=${P}u
STRACE=()
if command -v strace >/dev/null; then
	STRACE=(strace -f -qq -v -s 4096 -e trace=execve -o "$TMP/strace.log")
fi
expect $N.unreachable 1 "member 127\\.0\\.0\\.99 .*did not get the keys" -- \
	env SAMBA_ASA_TEST_SECRET_FD=3 "${NSX[@]}" "${STRACE[@]}" "$ASA" \
	create "$U" --spn "http/${U}.$L" \
	--member "ssh://root@127.0.0.99$TMP/u.keytab" "local:$TMP/u.keytab" \
	"${LDAP[@]}" 3>"$TMP/u.secrets"
check $N.unreachable.others-unaffected tickets_decrypt "$TMP/u.keytab" \
	"http/${U}.$L"
check $N.unreachable.keytab-0600 \
	test "$(stat -c %a "$TMP/u.keytab")" = 600
check $N.unreachable.status-records-error member_status "$U" 127.0.0.99 \
	'"last_error": "[^"]+'
check $N.unreachable.status-records-success member_status "$U" local \
	'"latest_kvno": 1, .*"last_error": null'
check $N.ldap.keys-equal-exportkeytab keys_equal_dc "$TMP/u.keytab" "$U"
if [ ${#STRACE[@]} -gt 0 ]; then
	check $N.password-not-in-children children_clean "$TMP/strace.log" \
		"$TMP/u.secrets"
else
	skipit $N.password-not-in-children "strace is not installed"
fi
expect $N.unreachable.member-remove 0 "not wiped" -- \
	asa member remove "$U" 127.0.0.99 "${LOCAL[@]}"

# --- the array's ASA, m2 refusing at first ---------------------------------

array_authorize "$PREFIX_ABS" m2 \
	'cat >/dev/null; echo "m2 refuses for the test" >&2; exit 1'
M1_URL=$(member_var URL m1)
M2_URL=$(member_var URL m2)
M3_URL=$(member_var URL m3)
create_main()
{
	asa create "$MAIN" --spn "${SEED_SPNS[@]}" \
		--member "$M1_URL" "$M2_URL" "${LOCAL[@]}"
}
expect $N.main.one-member-refuses 1 \
	"member m2\\.$L .*did not get the keys.*m2 refuses for the test" -- \
	create_main
check $N.main.m1-installed member_status "$MAIN" "m1.$L" \
	'"latest_kvno": 1, .*"current": true'
check $N.main.m2-error-recorded member_status "$MAIN" "m2.$L" \
	'"latest_kvno": null, .*"last_error": "[^"]*m2 refuses for the test'
cp -p "$TMP/authorized_keys.m2" "$(member_var AUTHORIZED_KEYS m2)"
expect $N.main.again-repairs 0 "Repaired" -- create_main
check $N.main.m2-repaired member_status "$MAIN" "m2.$L" \
	'"latest_kvno": 1, .*"current": true, .*"last_error": null'
expect $N.main.again-nothing-to-change 0 "Nothing to change" -- create_main
expect $N.main.other-args-refused 1 \
	"SPN http/${P}more\\.$L is not on $MAIN.*spn add" -- \
	asa create "$MAIN" --spn "${SEED_SPNS[@]}" "http/${P}more.$L" \
	--member "$M1_URL" "$M2_URL" "${LOCAL[@]}"
check $N.main.other-args-changed-nothing spn_free "http/${P}more.$L"
expect $N.main.other-members-refused 1 "member .*m3.* is not recorded" -- \
	asa create "$MAIN" --spn "${SEED_SPNS[@]}" --member "$M1_URL" \
	"$M2_URL" "$M3_URL" "${LOCAL[@]}"
expect $N.main.account 0 "userAccountControl: 4096" -- \
	nsx ldbsearch -H "$SAM" "(sAMAccountName=$MAIN\$)" userAccountControl
expect $N.main.aes-only 0 "msDS-SupportedEncryptionTypes: 24" -- \
	nsx ldbsearch -H "$SAM" "(sAMAccountName=$MAIN\$)" \
	msDS-SupportedEncryptionTypes
expect $N.main.domain-computers-only 0 "primaryGroupID: 515" "!memberOf" -- \
	nsx ldbsearch -H "$SAM" "(sAMAccountName=$MAIN\$)" primaryGroupID \
	memberOf
for m in m1 m2; do
	check "$N.main.kvno.$m" tickets_decrypt "$(member_var KEYTAB "$m")" \
		"${SEED_SPNS[@]}"
	check "$N.main.keys-equal-exportkeytab.$m" keys_equal_dc \
		"$(member_var KEYTAB "$m")" "$MAIN"
done
check $N.main.no-rc4 bash -c "! ${NSX[*]} klist -k -e \
	'$(member_var KEYTAB m1)' | grep -i arcfour"

# --- member add / list / remove ------------------------------------------

N=member
expect $N.add.m3 0 "m3\\.$L: installed; holds kvno 1" -- \
	asa member add "$MAIN" "$M3_URL" "${LOCAL[@]}"
check $N.add.m3.kvno tickets_decrypt "$(member_var KEYTAB m3)" \
	"${SEED_SPNS[@]}"
check $N.add.m3.in-service array_serves
expect $N.add.again-nothing-to-do 0 "nothing to do" -- \
	asa member add "$MAIN" "$M3_URL" "${LOCAL[@]}"
expect $N.add.name-taken 1 "member named m1\\.$L already" -- \
	asa member add "$MAIN" "local:$TMP/other.keytab" --name "m1.$L" \
	"${LOCAL[@]}"
expect $N.add.copy-from 0 "copy: installed; holds kvno 1" -- \
	asa member add "$MAIN" "local:$TMP/copy.keytab" --name copy \
	--copy-from "m1.$L" "${LOCAL[@]}"
check $N.add.copy-from.kvno tickets_decrypt "$TMP/copy.keytab" \
	"${SEED_SPNS[@]}"
expect $N.add.copy-from-unknown 1 "no such member" -- \
	asa member add "$MAIN" "local:$TMP/copy2.keytab" --copy-from nosuch \
	"${LOCAL[@]}"
# two at once, one of them unreachable: it fails alone and stays recorded
expect $N.add.unreachable 1 "member 127\\.0\\.0\\.99 .*did not get the keys" -- \
	asa member add "$MAIN" "local:$TMP/two.keytab" \
	"ssh://root@127.0.0.99$TMP/x.keytab" "${LOCAL[@]}"
check $N.add.unreachable.other-installed tickets_decrypt "$TMP/two.keytab" \
	"http/autod.$L"
check $N.add.unreachable.recorded member_status "$MAIN" 127.0.0.99 \
	'"latest_kvno": null, .*"last_error": "[^"]+'
expect $N.add.unreachable.removed 0 "Removed member local .*Removed member 127" -- \
	bash -c "${NSX[*]} '$ASA' member remove '$MAIN' local 127.0.0.99 \
	${LOCAL[*]} | tr '\n' ' '"
expect $N.add.bad-url 1 "member URL.*nothing was added" -- \
	asa member add "$MAIN" "http://m1.$L/x" "${LOCAL[@]}"
expect $N.add.unknown-account 1 "no account ${P}nosuch\\$" -- \
	asa member add "${P}nosuch" "local:$TMP/n.keytab" "${LOCAL[@]}"
expect $N.add.not-an-asa 1 "${P}h\\$ exists but is not an ASA" -- \
	asa member add "${P}h" "local:$TMP/n.keytab" "${LOCAL[@]}"
check $N.add.refused-wrote-nothing test ! -e "$TMP/n.keytab"
expect $N.list 0 "m1\\.$L.*Latest: kvno 1" -- \
	bash -c "${NSX[*]} '$ASA' member list '$MAIN' ${LOCAL[*]} | tr '\n' ' '"
expect $N.list.json 0 '"name": "m3\.'"$L"'", .*"latest_kvno": 1' -- \
	asa member list "$MAIN" --json "${LDAP[@]}"
expect $N.remove 0 "keytabs were not wiped" -- \
	asa member remove "$MAIN" copy "${LOCAL[@]}"
check $N.remove.keytab-kept tickets_decrypt "$TMP/copy.keytab" \
	"http/mail.$L"
expect $N.remove.gone 0 "" "!\"name\": \"copy\"" -- \
	asa member list "$MAIN" --json "${LOCAL[@]}"
expect $N.remove.unknown 1 "nosuch is not a member of" -- \
	asa member remove "$MAIN" m1.$L nosuch "${LOCAL[@]}"
expect $N.remove.unknown.kept-m1 0 "\"name\": \"m1\\.$L\"" -- \
	asa member list "$MAIN" --json "${LOCAL[@]}"

# --- keytab -------------------------------------------------------------------

N=keytab
expect $N.export 0 "Wrote 12 keys of $MAIN\\$ to $TMP/export.keytab" -- \
	asa keytab "$MAIN" "$TMP/export.keytab" "${LOCAL[@]}"
check $N.export.mode-0600 \
	test "$(stat -c '%a %U' "$TMP/export.keytab")" = "600 root"
check $N.export.kvno tickets_decrypt "$TMP/export.keytab" "${SEED_SPNS[@]}"
check $N.export.keys-equal-exportkeytab keys_equal_dc "$TMP/export.keytab" \
	"$MAIN"
expect $N.export.copy-from 0 "Wrote" -- \
	asa keytab "$MAIN" "$TMP/export2.keytab" --copy-from "m2.$L" \
	"${LOCAL[@]}"
check $N.export.copy-from.kvno tickets_decrypt "$TMP/export2.keytab" \
	"http/autod.$L"
expect $N.not-writable 2 "nothing was written" -- \
	asa keytab "$MAIN" "$TMP/no/such/dir/k.keytab" "${LOCAL[@]}"
expect $N.unknown-account 1 "no account" -- \
	asa keytab "${P}nosuch" "$TMP/k.keytab" "${LOCAL[@]}"
expect $N.not-an-asa 1 "not an ASA" -- \
	asa keytab "${P}h" "$TMP/k.keytab" "${LOCAL[@]}"
check $N.refused-wrote-nothing test ! -e "$TMP/k.keytab"

# --- after a roll: where a new member's keys come from matters ------------

# The suite's ccache holds a ticket for http/mail at kvno 1 (from the kvno
# tests above): a client that got its ticket before the roll.  A member
# added with --copy-from gets the previous kvno too and accepts it; one
# keyed from the DC's database (current kvno only) does not, as member
# add --help says.
N=after-roll
expect $N.roll 0 "kvno 1 -> 2" -- asa roll "$MAIN" "${LOCAL[@]}"
expect $N.copy-from 0 "copy2: installed; holds kvno 2, 1" -- \
	asa member add "$MAIN" "local:$TMP/copy2.keytab" --name copy2 \
	--copy-from "m1.$L" "${LOCAL[@]}"
check $N.copy-from.old-ticket-accepted tickets_decrypt \
	"$TMP/copy2.keytab" "http/mail.$L"
expect $N.from-dc 0 "dc2: installed; holds kvno 2\$" -- \
	asa member add "$MAIN" "local:$TMP/dc2.keytab" --name dc2 \
	"${LOCAL[@]}"
expect $N.from-dc.old-ticket-refused nz "kvno = 1, keytab entry invalid" -- \
	nsx kvno -k "$TMP/dc2.keytab" "http/mail.$L"
expect $N.keytab.copy-from 0 "kvno 2 and the previous one" -- \
	asa keytab "$MAIN" "$TMP/export3.keytab" --copy-from "m2.$L" \
	"${LOCAL[@]}"
fresh_tickets_decrypt()
{
	KRB5CCNAME=FILE:$TMP/ccache2 nsx kinit "$DC_USERNAME@$REALM" \
		<"$SELFTEST_PASSWORD_FILE" >/dev/null &&
	KRB5CCNAME=FILE:$TMP/ccache2 tickets_decrypt "$@"
}
check $N.from-dc.new-tickets fresh_tickets_decrypt "$TMP/dc2.keytab" \
	"${SEED_SPNS[@]}"
check $N.keys-equal-exportkeytab keys_equal_dc "$TMP/dc2.keytab" "$MAIN"
expect $N.list 0 '"name": "m1\.'"$L"'", .*"latest_kvno": 2, .*"previous_kvno": 1' -- \
	asa member list "$MAIN" --json "${LOCAL[@]}"

# member add takes the ASA's roll lock (a roll must not change the keys
# between member add reading them and installing them): while something
# holds <private>/asa/roll-NAME.lock, member add waits; once it is free,
# member add goes on.
N=lock
LOCKFILE=$PREFIX_ABS/private/asa/roll-$(echo "$MAIN" |
	tr '[:upper:]' '[:lower:]').lock
add_waits_for_lock()
{
	local holder adder i released added

	rm -f "$TMP/held" "$TMP/released" "$TMP/added"
	# holds the lock for 10 s, then notes when it let go
	flock "$LOCKFILE" sh -c 'touch "$1"; sleep 10; date +%s.%N >"$2"' \
		sh "$TMP/held" "$TMP/released" &
	holder=$!
	for i in $(seq 1 100); do
		[ -e "$TMP/held" ] && break
		sleep 0.1
	done
	[ -e "$TMP/held" ] || { echo "flock never took the lock"; return 1; }
	( asa member add "$MAIN" "local:$TMP/locked.keytab" --name locked \
		"${LOCAL[@]}"; echo "exit $?"; date +%s.%N >"$TMP/added" ) \
		>"$TMP/locked.out" 2>&1 &
	adder=$!
	wait "$holder"
	wait "$adder"
	cat "$TMP/locked.out"
	released=$(cat "$TMP/released")
	added=$(cat "$TMP/added")
	echo "lock released at $released, member add finished at $added"
	grep -q "locked: installed" "$TMP/locked.out" &&
		grep -q "^exit 0" "$TMP/locked.out" &&
		awk -v a="$added" -v r="$released" 'BEGIN { exit !(a > r) }'
}
check $N.member-add-waits add_waits_for_lock

exit $((FAILED > 0))
