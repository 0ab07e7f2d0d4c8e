#!/bin/bash
# selftest/suites/admin_guide.sh: the admin guide's chapters 5 to 9, command
# by command as written there, on a DC that has met no member yet: no SSH
# key of its own and an EMPTY known_hosts (the other suites and the demo
# fill it beforehand; this one must not).  On environment ad_dc_array.
#
#   5  member setup makes the DC's key and prints the line; the line goes
#      into each member's authorized_keys; the check by hand over ssh;
#   6  create with the seed's SPNs and two members (first contact: each
#      member's host key recorded, its fingerprint printed, the one the
#      member has), the same command again ("Nothing to change"), spn list
#      and member list;
#   7  member add of the third member (first contact), member remove,
#      keytab; a member whose recorded host key differs is refused;
#   8  verify and status; 9  roll, roll --due.
#
# Each step runs on the DC the way the guide shows it, with only -s for
# the test DC's smb.conf.  About 40 s.

. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
. "$REPO/selftest/suites/roll_common.sh"

PRIV=$PREFIX_ABS/private
KH=$PRIV/asa/known_hosts
NAME=guide$$
S=(-s "$SMB_CONF_PATH")
M1=${MEMBERS[0]} M2=${MEMBERS[1]} M3=${MEMBERS[2]}

member_var()
{
	local var=SELFTEST_MEMBER_$1_$2
	echo "${!var}"
}

url()
{
	echo "ssh://root@$1.$LOWER$(member_var KEYTAB "$1")"
}

# Put the array back as the other suites expect it (known_hosts, the
# array's key and forced command), whatever happened here.
restore()
{
	local m

	install -m 0600 "$SELFTEST_ARRAY_DIR/dc_ssh_key" "$PRIV/asa/id_ed25519"
	install -m 0644 "$SELFTEST_ARRAY_DIR/dc_ssh_key.pub" \
		"$PRIV/asa/id_ed25519.pub"
	cp "$SELFTEST_ARRAY_SSH_KNOWN_HOSTS" "$KH"
	for m in "${MEMBERS[@]}"; do
		member_authorize "$m" "$(member_command "$m")"
	done
	rm -rf "$TMP"
}
trap restore EXIT

# A fresh DC: no key of its own, no known host.
rm -f "$PRIV/asa/id_ed25519" "$PRIV/asa/id_ed25519.pub" "$KH"

# --- 5. member setup -----------------------------------------------------

# samba-asa member setup --keytab=... --group=www-data, once per member
# here (each member of the test array keeps its keytab elsewhere); the
# printed line goes into the member's authorized_keys.
setup_members()
{
	local m line

	for m in "${MEMBERS[@]}"; do
		line=$(asa member setup --keytab="$(member_var KEYTAB "$m")" \
			--group=www-data "${S[@]}") || return 1
		echo "$line"
		[[ $line == "restrict,command=\"$(realpath "$REPO/bin/member/samba-asa-member") --keytab=$(member_var KEYTAB "$m") --group=www-data\" ssh-ed25519 "* ]] ||
			return 1
		echo "$line" >"$SELFTEST_ARRAY_DIR/$m/authorized_keys"
	done
	[ "$(stat -c '%a %U' "$PRIV/asa/id_ed25519")" = "600 root" ] &&
	[ -e "$KH" ] && [ ! -s "$KH" ]
}
check ch5.member-setup setup_members

# --- 6. create -----------------------------------------------------------

# The seed's five SPNs and two members, on a DC that knows neither.  Each
# member's host key is recorded on first contact, and the fingerprint
# printed is the one of the member's own key.
create_first_contact()
{
	local out m fp

	out=$(asa create "$NAME" --spn "${SPNS[@]}" \
		--member "$(url "$M1")" "$(url "$M2")" "${S[@]}" 2>&1)
	local rc=$?
	echo "$out"
	[ "$rc" = 0 ] || return 1
	for m in "$M1" "$M2"; do
		fp=$(ssh-keygen -lf "$SELFTEST_ARRAY_DIR/$m/ssh_host_ed25519_key.pub" |
			awk '{ print $2 }')
		grep -E "first contact" <<<"$out" | grep -qF "$fp" ||
			{ echo "no fingerprint $fp for $m"; return 1; }
		grep -q "$m.$LOWER: installed" <<<"$out" || return 1
		ssh-keygen -F "$m.$LOWER" -f "$KH" >/dev/null ||
			{ echo "$m not in $KH"; return 1; }
	done
}
check ch6.create-first-contact create_first_contact

create_again()
{
	local out

	out=$(asa create "$NAME" --spn "${SPNS[@]}" \
		--member "$(url "$M1")" "$(url "$M2")" "${S[@]}" 2>&1) ||
		{ echo "$out"; return 1; }
	echo "$out"
	grep -q "Nothing to change" <<<"$out"
}
check ch6.create-again create_again

spn_and_member_list()
{
	local out s

	out=$(asa spn list "$NAME" "${S[@]}") || return 1
	echo "$out"
	for s in "${SPNS[@]}"; do
		grep -qiF "$s" <<<"$out" || return 1
	done
	out=$(asa member list "$NAME" "${S[@]}") || return 1
	echo "$out"
	grep -q "$M1.$LOWER" <<<"$out" && grep -q "$M2.$LOWER" <<<"$out"
}
check ch6.lists spn_and_member_list

# ch. 5's check by hand, with samba-asa's known_hosts (root's own does not
# know the members).
by_hand()
{
	(umask 077
	 nsx ssh -i "$PRIV/asa/id_ed25519" -o BatchMode=yes \
		-o UserKnownHostsFile="$KH" "root@$M1.$LOWER" \
		samba-asa member install --show >"$TMP/m1.keytab") || return 1
	nsx klist -k "$TMP/m1.keytab" | tee /dev/stderr |
		grep -q "$NAME\\\$@$REALM"
}
check ch5.by-hand by_hand

# --- 7. member add, remove, keytab ---------------------------------------

member_add_first_contact()
{
	local out fp

	out=$(asa member add "$NAME" "$(url "$M3")" "${S[@]}" 2>&1) ||
		{ echo "$out"; return 1; }
	echo "$out"
	fp=$(ssh-keygen -lf "$SELFTEST_ARRAY_DIR/$M3/ssh_host_ed25519_key.pub" |
		awk '{ print $2 }')
	grep "first contact" <<<"$out" | grep -qF "$fp" &&
	ssh-keygen -F "$M3.$LOWER" -f "$KH" >/dev/null &&
	nsx klist -k "$(member_var KEYTAB "$M3")" | grep -q "$NAME\\\$@$REALM"
}
check ch7.member-add member_add_first_contact

member_remove()
{
	local out

	out=$(asa member remove "$NAME" "$M3.$LOWER" "${S[@]}" 2>&1) ||
		{ echo "$out"; return 1; }
	echo "$out"
	out=$(asa member list "$NAME" "${S[@]}") || return 1
	echo "$out"
	! grep -q "$M3.$LOWER" <<<"$out"
}
check ch7.member-remove member_remove

# A host key that changed (or a man in the middle) is refused even by the
# commands that accept a first contact.
changed_host_key()
{
	local out rc

	cp "$KH" "$TMP/kh.saved"
	ssh-keygen -R "$M3.$LOWER" -f "$KH" >/dev/null 2>&1
	ssh-keygen -q -t ed25519 -N '' -f "$TMP/other" </dev/null
	echo "$M3.$LOWER $(cut -d' ' -f1,2 "$TMP/other.pub")" >>"$KH"
	out=$(asa member add "$NAME" "$(url "$M3")" "${S[@]}" 2>&1)
	rc=$?
	echo "$out"
	cp "$TMP/kh.saved" "$KH"
	[ "$rc" != 0 ] && grep -q "Host key verification failed" <<<"$out"
}
check ch7.changed-host-key-refused changed_host_key

keytab_file()
{
	local out

	out=$(asa keytab "$NAME" "$TMP/guide.keytab" "${S[@]}" 2>&1) ||
		{ echo "$out"; return 1; }
	echo "$out"
	[ "$(stat -c %a "$TMP/guide.keytab")" = 600 ] &&
	nsx klist -k "$TMP/guide.keytab" | grep -q "$NAME\\\$@$REALM"
}
check ch7.keytab keytab_file

# --- 8. verify, status ---------------------------------------------------

verify_and_status()
{
	local out

	rl_kinit "$TMP/ccache" || return 1
	out=$(asa verify "$NAME" "${S[@]}" 2>&1) || { echo "$out"; return 1; }
	echo "$out"
	out=$(asa status "$NAME" "${S[@]}" 2>&1) || { echo "$out"; return 1; }
	echo "$out"
	grep -q "$M1.$LOWER" <<<"$out"
}
check ch8.verify-status verify_and_status

# --- 9. roll, roll --due -------------------------------------------------

roll_now()
{
	local out before after

	before=$(dir_kvno "$NAME")
	out=$(asa roll "$NAME" "${S[@]}" 2>&1) || { echo "$out"; return 1; }
	echo "$out"
	after=$(dir_kvno "$NAME")
	echo "kvno $before -> $after"
	[ "$after" = $((before + 1)) ] &&
	out=$(asa verify "$NAME" "${S[@]}" 2>&1) || { echo "$out"; return 1; }
}
check ch9.roll roll_now

roll_due()
{
	local out

	out=$(asa roll --due "${S[@]}" 2>&1) || { echo "$out"; return 1; }
	echo "$out"
	[[ $(tail -n 1 <<<"$out") =~ ^next-due:\ [0-9]+$ ]]
}
check ch9.roll-due roll_due

exit $((FAILED > 0))
