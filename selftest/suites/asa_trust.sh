#!/bin/bash
# selftest/suites/asa_trust.sh: nothing a domain machine can write steers
# the DC's root roll (issue 11, finding 1), on environment ad_dc_array.
#
# An ordinary machine account (bound with its own password, Kerberos) and
# the ASA (bound with its key from a member keytab, kinit -k) plant what
# the default security descriptor of a computer lets them create under
# themselves: an ASA marker and a local: member under the machine, member
# records under the ASA.  Then `roll --due` and a roll by hand run as root
# on the DC, and we check what a user would: no file is created, the
# machine's password does not change, no key reaches a planted record,
# the real members decrypt fresh tickets and tickets from before the roll
# (kvno -k with each member's keytab), and status names the untrusted
# records, a terminal escape in a planted name shown escaped.  Then the
# rule for files root writes on the DC (local: members): a directory
# others can write, a FIFO, a symbolic link.
#
# About 60 s on top of the environment.
#
# Emits subunit v1.

. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
. "$REPO/selftest/suites/roll_common.sh"

roll_setup tr
roll_smb_conf "asa:roll interval = 1h" "asa:roll jitter = 0" \
	"asa:roll retry = 10m"
LDAP=ldap://$SERVER.$LOWER
ESC=$'\033'

# The SDDL of the object at DN (owner, group, DACL).
sddl_of()
{
	nsx ldbsearch -H "$SAM" --controls=sd_flags:1:7 -s base -b "$1" \
		nTSecurityDescriptor 2>/dev/null | unfold |
		sed -n 's/^nTSecurityDescriptor: //p'
}

# ldbadd over LDAP with the Kerberos ticket in CCACHE (stdin: LDIF).
add_as()
{
	KRB5CCNAME=FILE:$1 nsx ldbadd -H "$LDAP" --use-kerberos=required
}

# An attribute of the account NAME$.
account_attr()
{
	nsx ldbsearch -H "$SAM" "(sAMAccountName=$1\$)" "$2" 2>/dev/null |
		unfold | sed -n "s/^$2: //p"
}

# A member record (serviceConnectionPoint) as LDIF: DN (base64) URL.
scp_ldif()
{
	printf 'dn:: %s\nobjectClass: serviceConnectionPoint\n' \
		"$(printf '%s' "$1" | base64 -w0)"
	printf 'serviceClassName: %s\nserviceBindingInformation: %s\n\n' \
		"$2" "$3"
}

# --- the ASA made by create: its key cannot add records -----------------

ASA_CC=$TMP/asa.cc
KT0=$(member_var KEYTAB "${MEMBERS[0]}")
asa_kinit()
{
	KRB5CCNAME=FILE:$ASA_CC nsx kinit -k -t "$KT0" "$NAME\$@$REALM"
}
check setup.asa_kinit asa_kinit

no_self_create()
{
	local s

	s=$(sddl_of "$ASA_DN")
	echo "$s"
	[ -n "$s" ] && ! grep -q '(A;;CCDC;;;PS)' <<<"$s" &&
		! grep -qE '\(A;;[A-Z]*CC[A-Z]*;;;AO\)' <<<"$s"
}
check create.sd_no_self_create no_self_create

asa_plant_refused()
{
	local out rc

	out=$(scp_ldif "CN=byasa,$ASA_DN" samba-asa-member \
		"local:$TMP/byasa.keytab" | add_as "$ASA_CC" 2>&1)
	rc=$?
	echo "$out (exit $rc)"
	# refused for want of rights, not for want of a connection
	[ "$rc" != 0 ] && grep -qi "insufficient" <<<"$out" &&
		! nsx ldbsearch -H "$SAM" -s base -b "CN=byasa,$ASA_DN" \
			dn 2>/dev/null | grep -q '^dn:'
}
check create.asa_key_cannot_add_record asa_plant_refused

# --- an ordinary machine plants an ASA marker and a local: member -------

M=ev$$
M_PW="Ev-$$-$(head -c 12 /dev/urandom | base64 | tr -d '/+=')"
M_CC=$TMP/machine.cc
plant_machine()
{
	set -e
	nsx samba-tool computer create "$M" -H "$SAM" >/dev/null
	nsx samba-tool user setpassword "$M\$" --newpassword="$M_PW" \
		-H "$SAM" >/dev/null
	KRB5CCNAME=FILE:$M_CC nsx kinit "$M\$@$REALM" <<<"$M_PW" >/dev/null
	M_DN=$(nsx ldbsearch -H "$SAM" "(sAMAccountName=$M\$)" dn \
		2>/dev/null | unfold | sed -n 's/^dn: //p')
	{
		printf 'dn: CN=samba-asa,%s\nobjectClass: serviceConnectionPoint\n' \
			"$M_DN"
		# due at once, whatever the interval
		printf 'serviceClassName: samba-asa\nkeywords: version=1\n'
		printf 'keywords: last_roll=1\n\n'
		scp_ldif "CN=planted,$M_DN" samba-asa-member \
			"local:$TMP/by-machine"
	} | add_as "$M_CC"
	echo "$M_DN" >"$TMP/m_dn"
}
check plant.machine plant_machine
M_DN=$(cat "$TMP/m_dn" 2>/dev/null)
M_KVNO=$(account_attr "$M" msDS-KeyVersionNumber)
M_PWD=$(account_attr "$M" pwdLastSet)

machine_untouched()
{
	local k p

	k=$(account_attr "$M" msDS-KeyVersionNumber)
	p=$(account_attr "$M" pwdLastSet)
	echo "kvno $M_KVNO -> $k, pwdLastSet $M_PWD -> $p"
	ls -l "$TMP/by-machine" 2>&1
	[ -n "$k" ] && [ "$k" = "$M_KVNO" ] && [ "$p" = "$M_PWD" ] &&
		[ ! -e "$TMP/by-machine" ]
}

# Tickets from before the rolls.
OLD_CC=$TMP/old.cc
K0=$(dir_kvno "$NAME")
old_tickets()
{
	rl_kinit "$1" && all_decrypt "$1" "$2"
}
check setup.old_tickets old_tickets "$OLD_CC" "$K0"

check machine.due.setup set_last_roll "$ASA_DN" $(($(date +%s) - 7200))
due_run()
{
	asa roll --due "${LOCAL[@]}" >"$TMP/due.out" 2>&1
	echo "exit $?" >>"$TMP/due.out"
	cat "$TMP/due.out"
	grep -q '^exit 0$' "$TMP/due.out"
}
check machine.due.exit due_run
check machine.due.names_untrusted grep -q "^$M: UNTRUSTED" "$TMP/due.out"
check machine.due.machine_untouched machine_untouched
check machine.due.asa_rolled test_eq "$((K0 + 1))" dir_kvno "$NAME"
check machine.due.old_tickets all_decrypt "$OLD_CC" "$K0"
check machine.due.fresh_tickets all_decrypt_fresh "$((K0 + 1))"

check machine.by_hand.refused expect_out 1 "untrusted" -- \
	asa roll "$M" "${LOCAL[@]}"
check machine.by_hand.machine_untouched machine_untouched

status_names_machine()
{
	local out

	out=$(asa status "${LOCAL[@]}")
	echo "$out"
	grep -q "^UNTRUSTED ASA $M " <<<"$out" &&
		! grep -q "^ASA $M " <<<"$out"
}
check machine.status status_names_machine

# --- an ASA of an earlier version: its key plants member records --------

OLD_CC2=$TMP/old2.cc
K1=$(dir_kvno "$NAME")
check legacy.old_tickets old_tickets "$OLD_CC2" "$K1"

legacy()
{
	nsx /usr/bin/python3 - "$SAM" "$SMB_CONF_PATH" "$ASA_DN" <<'EOF'
import sys
from samba.auth import system_session
from samba.param import LoadParm
from samba.samdb import SamDB
from samba.sd_utils import SDUtils
lp = LoadParm()
lp.load(sys.argv[2])
db = SamDB(url=sys.argv[1], session_info=system_session(), lp=lp)
SDUtils(db).dacl_add_ace(sys.argv[3], "(A;;CCDC;;;PS)")
EOF
}
check legacy.setup legacy
EVIL_NAME="evil${ESC}[8mhidden"
plant_asa()
{
	asa_kinit || return 1
	{
		scp_ldif "CN=$EVIL_NAME,$ASA_DN" samba-asa-member \
			"local:$TMP/by-asa.keytab"
		scp_ldif "CN=unreachable,$ASA_DN" samba-asa-member \
			"ssh://root@127.0.0.99/etc/krb5.keytab"
	} | add_as "$ASA_CC"
}
check plant.asa plant_asa

check legacy.status_says_secure expect_out 0 \
	"UNTRUSTED ASA $NAME .*|samba-asa secure $NAME" -- \
	asa status "${LOCAL[@]}"
check legacy.roll_refused expect_out 1 "untrusted" -- \
	asa roll "$NAME" "${LOCAL[@]}"
check legacy.roll_refused.kvno test_eq "$K1" dir_kvno "$NAME"
check legacy.secure expect_out 0 "untrusted member record evil" -- \
	asa secure "$NAME" "${LOCAL[@]}"
check legacy.secured no_self_create
check legacy.asa_key_cannot_add_record asa_plant_refused

status_escaped()
{
	local out

	out=$(asa status "$NAME" "${LOCAL[@]}" 2>&1)
	printf '%s\n' "$out" | cat -v
	! grep -q "$ESC" <<<"$out" &&
		grep -qF 'UNTRUSTED member record evil\x1b[8mhidden' \
			<<<"$out" &&
		grep -qF 'UNTRUSTED member record unreachable' <<<"$out"
}
check planted.status_names_escaped status_escaped
member_list_escaped()
{
	local out

	out=$(asa member list "$NAME" "${LOCAL[@]}" 2>&1)
	printf '%s\n' "$out" | cat -v
	! grep -q "$ESC" <<<"$out" && grep -qF 'UNTRUSTED' <<<"$out"
}
check planted.member_list member_list_escaped

roll_by_hand()
{
	asa roll "$NAME" "${LOCAL[@]}" >"$TMP/roll.out" 2>&1
	echo "exit $?" >>"$TMP/roll.out"
	cat -v "$TMP/roll.out"
	grep -q '^exit 0$' "$TMP/roll.out" &&
		grep -q 'UNTRUSTED member record unreachable' "$TMP/roll.out" &&
		! grep -q "$ESC" "$TMP/roll.out"
}
check planted.by_hand roll_by_hand
check planted.by_hand.rolled test_eq "$((K1 + 1))" dir_kvno "$NAME"
check planted.by_hand.no_file test ! -e "$TMP/by-asa.keytab"
check planted.by_hand.old_tickets all_decrypt "$OLD_CC2" "$K1"
check planted.by_hand.fresh_tickets all_decrypt_fresh "$((K1 + 1))"
check planted.by_hand.members member_holds "${MEMBERS[0]}" \
	"$((K1 + 1)) $K1"

OLD_CC3=$TMP/old3.cc
check planted.due.old_tickets_before old_tickets "$OLD_CC3" "$((K1 + 1))"
check planted.due.setup set_last_roll "$ASA_DN" $(($(date +%s) - 7200))
check planted.due due_run
check planted.due.names grep -q "UNTRUSTED member record unreachable" \
	"$TMP/due.out"
check planted.due.rolled test_eq "$((K1 + 2))" dir_kvno "$NAME"
check planted.due.no_file test ! -e "$TMP/by-asa.keytab"
check planted.due.machine_untouched machine_untouched
check planted.due.old_tickets all_decrypt "$OLD_CC3" "$((K1 + 1))"
check planted.due.fresh_tickets all_decrypt_fresh "$((K1 + 2))"

check planted.remove expect_out 0 "" -- \
	asa member remove "$NAME" unreachable "${LOCAL[@]}"
removed()
{
	local out

	out=$(asa member list "$NAME" "${LOCAL[@]}" 2>&1)
	echo "$out"
	! grep -q unreachable <<<"$out"
}
check planted.removed removed

# --- files on the DC: trusted local: members ------------------------------

F=tf$$
mkdir -p "$TMP/f" "$TMP/shared" && chmod 0755 "$TMP/f" &&
	chmod 0777 "$TMP/shared"
check files.setup asa create "$F" --spn "http/$F.$LOWER" \
	--member "local:$TMP/f/ok.keytab" "${LOCAL[@]}"

local_refused()
{
	local url=$1 file=$2 pat=$3 out rc

	out=$(timeout 120 "${NSX[@]}" "$ASA" member add "$F" "$url" \
		--name "m$RANDOM" "${LOCAL[@]}" 2>&1)
	rc=$?
	echo "$out (exit $rc)"
	ls -l "$file" 2>&1
	[ "$rc" != 0 ] && [ "$rc" != 124 ] && grep -qE -- "$pat" <<<"$out"
}
check files.writable_dir local_refused "local:$TMP/shared/k.keytab" \
	"$TMP/shared/k.keytab" "can be written by a user other than root"
check files.writable_dir.no_file test ! -e "$TMP/shared/k.keytab"
mkfifo "$TMP/f/fifo.keytab"
check files.fifo local_refused "local:$TMP/f/fifo.keytab" \
	"$TMP/f/fifo.keytab" "not a regular file"
ln -s "$TMP/target.keytab" "$TMP/f/link.keytab"
check files.symlink local_refused "local:$TMP/f/link.keytab" \
	"$TMP/f/link.keytab" "not a regular file|symbolic link"
check files.symlink.target_untouched test ! -e "$TMP/target.keytab"
check files.symlink.link_kept test -L "$TMP/f/link.keytab"

# --- what a member answered is printed safely, also when overdue -------
# A member's error text comes from the member (its ssh output): one that
# carries a terminal escape must not reach the terminal or the monitoring
# line as one, also in the "held back by" list of an overdue roll.
F_DN=$(nsx ldbsearch -H "$SAM" "(sAMAccountName=$F\$)" dn 2>/dev/null |
	unfold | sed -n 's/^dn: //p')
F_MEMBER=$(nsx ldbsearch -H "$SAM" -b "$F_DN" -s one \
	"(serviceBindingInformation=local:$TMP/f/ok.keytab)" dn 2>/dev/null |
	unfold | sed -n 's/^dn: //p')
set_member_error()
{
	{
		echo "dn: $F_MEMBER"
		echo "changetype: modify"
		echo "add: keywords"
		printf 'keywords:: %s\n' "$(printf 'last_error=bad%s[8mhidden' \
			"$ESC" | base64 -w0)"
		echo "-"
		echo "add: keywords"
		echo "keywords: last_error_time=$(date +%s)"
	} | nsx ldbmodify -H "$SAM" >/dev/null
}
check errors.setup set_member_error
check errors.overdue set_last_roll "$F_DN" 1
errors_escaped()
{
	local out

	out=$(asa status "$F" "$@" "${LOCAL[@]}" 2>&1)
	printf '%s\n' "$out" | cat -v
	! grep -q "$ESC" <<<"$out" && grep -qF 'bad\x1b[8mhidden' <<<"$out"
}
check errors.status errors_escaped
check errors.status_check errors_escaped --check

roll_teardown
exit "$FAILED"
