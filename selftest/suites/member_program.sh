#!/bin/bash
# selftest/suites/member_program.sh: samba-asa-member, the member side as
# its own program, in environment ad_dc_array: a real DC pushes with
# asa_member_push() (bin/test/helper_member) to a real sshd whose forced
# command is samba-asa-member.
#
# Proves: the program links libkrb5 and libc and nothing of Samba, talloc
# or popt, and builds from the source tree alone with the one command the
# README gives; one member keeps two keytabs (one per service) from a
# config file, each with its own owner, group and mode, and `kvno -k`
# decrypts real tickets with both; a config file others may write, or one
# not root's, is refused, named, nothing installed; the "after install"
# command runs after an install only, with a clean environment, /dev/null
# as input, in its own process group, and its failure or hang is reported
# to the DC while the keys stay installed, a hang bounded by its timeout
# (its processes killed); garbage, a keytab over 1 MiB and a stalled
# sender are refused and named; two member records of one host (one per
# keytab) through create and member add; the line older versions printed
# (`samba-asa member install`) still works; a member of another protocol
# version, and a DC of another one, are refused with both versions named.
#
# Emits subunit v1.

# REPO, ASA, NSX, TMP, HELPER, NAME, SPNS, MEMBERS, push, setup, ...
. "$(dirname "${BASH_SOURCE[0]}")/member_common.sh"

M=${MEMBERS[0]}
MDIR=$SELFTEST_ARRAY_DIR/$M
WDIR=$(dirname "$(member_var KEYTAB "$M")")
HTTP_KT=$WDIR/http.keytab
IMAP_KT=$WDIR/imap.keytab
CONF=$TMP/member.conf
HOST=$M.$LOWER

# The ASA of the records tests, with its member records.
asa_cleanup()
{
	local dn

	dn=$(nsx ldbsearch -H "$SAM" "(sAMAccountName=${ASA_NAME:-none}\$)" \
		dn | sed -n 's/^dn: //p')
	[ -n "$dn" ] && nsx ldbdel -H "$SAM" --recursive "$dn" >/dev/null
	rm -f "$WDIR"/svc-*.keytab "$WDIR"/svc-*.keytab.lock
}

cleanup()
{
	[ -f "$TMP/authorized_keys.saved" ] &&
		cp "$TMP/authorized_keys.saved" "$MDIR/authorized_keys"
	[ -s "$TMP/hang.pid" ] && kill "$(cat "$TMP/hang.pid")" 2>/dev/null
	rm -f "$HTTP_KT" "$HTTP_KT.lock" "$IMAP_KT" "$IMAP_KT.lock"
	asa_cleanup
	nsx samba-tool computer delete "$NAME" -H "$SAM" \
		-s "$SMB_CONF_PATH" >/dev/null 2>&1
	rm -rf "$TMP"
}
trap cleanup EXIT
trap "exit 1" TERM INT HUP

# authorize COMMAND: the DC's key on member M runs COMMAND only.
authorize()
{
	array_key_line "$SELFTEST_ARRAY_DIR/dc_ssh_key.pub" "$1" \
		>"$MDIR/authorized_keys.new" &&
	mv -f "$MDIR/authorized_keys.new" "$MDIR/authorized_keys"
}

url()
{
	echo "ssh://root@$HOST$1"
}

# The libraries a binary needs, without the ones MIT Kerberos and libc
# bring; prints what else there is.
only_krb5_and_libc()
{
	local extra

	ldd "$1" || return 1
	extra=$(ldd "$1" | awk '{ print $1 }' |
		grep -vE '^(linux-vdso\.so|/lib64/ld-linux|libc\.so|libkrb5\.so|libk5crypto\.so|libcom_err\.so|libkrb5support\.so|libkeyutils\.so|libresolv\.so)')
	echo "other libraries: '${extra}'"
	[ -z "$extra" ]
}

# The README's command, from a copy of member/ alone.
standalone_build()
{
	mkdir -p "$TMP/src" && cp -r "$REPO/member" "$TMP/src/" &&
	(cd "$TMP/src" &&
	 cc -O2 -o samba-asa-member member/*.c \
		$(krb5-config --cflags --libs krb5)) &&
	only_krb5_and_libc "$TMP/src/samba-asa-member" &&
	"$TMP/src/samba-asa-member" --version | grep -q "protocol 2"
}

# A build that says it speaks other protocol versions: PROTOCOL MIN.
build_version()
{
	(cd "$TMP/src" &&
	 cc -O2 -DASA_MEMBER_PROTOCOL="$1" -DASA_MEMBER_PROTOCOL_MIN="$2" \
		-o "$TMP/member-v$1" member/*.c \
		$(krb5-config --cflags --libs krb5)) &&
	"$TMP/member-v$1" --version
}

# push_ok URL...: every URL installs the current keys.
push_ok()
{
	local out url rc=0

	out=$(push "$TMP/current.keytab" "$@")
	echo "$out"
	for url in "$@"; do
		grep -qE "^$url ok kvnos=$K(,|\$)" <<<"$out" ||
			{ echo "no success for $url"; rc=1; }
	done
	return $rc
}

# push_refused PATTERN FILE URL: the push of FILE fails, the member named
# with PATTERN; its keytab (if any) unchanged.
push_refused()
{
	local pattern=$1 file=$2 u=$3 out before after

	before=$(cat "$HTTP_KT" "$IMAP_KT" 2>/dev/null | sha256sum)
	out=$(push --timeout=60 "$file" "$u")
	echo "$out"
	after=$(cat "$HTTP_KT" "$IMAP_KT" 2>/dev/null | sha256sum)
	[ "$before" = "$after" ] || { echo "a keytab changed"; return 1; }
	grep -qE "^$u error=[0-9]+ member $HOST.*$pattern" <<<"$out"
}

owner_mode()
{
	local got

	got=$(stat -c '%a %U %G' "$1") || return 1
	echo "$1: $got (wanted $2)"
	[ "$got" = "$2" ]
}

# reads_as USER KEYTAB: USER (with its own groups) can read KEYTAB.
reads_as()
{
	KRB5_CONFIG=$SELFTEST_ARRAY_WWW_DIR/krb5.conf \
	setpriv --reuid="$1" --regid="$(id -g "$1")" --init-groups \
		klist -k "$2" >/dev/null
}

write_conf()
{
	cat >"$CONF" <<EOF
# member.conf of $M, written by member_program.sh
read timeout = 5

[$HTTP_KT]
	group = www-data
	mode = 0640
	principal = $ACCOUNT
	after install = /bin/sh $TMP/hook.sh http ${1:-ok}
	after install timeout = ${2:-30}

[$IMAP_KT]
	owner = nobody
	mode = 0600
EOF
	chmod 0644 "$CONF"
}

# The hook: records its arguments, environment, input and process group.
cat >"$TMP/hook.sh" <<'EOF'
out=$(dirname "$0")/hook.$1
{
	echo "args: $*"
	env | sort
	echo "stdin: $(readlink /proc/self/fd/0)"
	echo "pgid: $(ps -o pgid= $$ | tr -d ' ') pid: $$"
} >"$out"
case $2 in
fail)	echo "reload failed: no such service" >&2; exit 3 ;;
hang)	sleep 300 & echo $! >"$(dirname "$0")/hang.pid"; wait ;;
esac
exit 0
EOF

hook_ran_clean()
{
	local out=$TMP/hook.http

	cat "$out" || return 1
	grep -qx "args: http ok" "$out" &&
	grep -qx "stdin: /dev/null" "$out" &&
	grep -qx "SAMBA_ASA_KEYTAB=$HTTP_KT" "$out" &&
	! grep -qE "^SSH_|^KRB5CCNAME=|^HOME=" "$out" &&
	[ "$(sed -n 's/^pgid: \([0-9]*\) pid: \([0-9]*\)$/\1 \2/p' "$out" |
	     awk '{ print ($1 == $2) }')" = 1 ]
}

# push_hook_reported PATTERN: the push succeeds (keys installed: kvno -k)
# and the DC reports the member's after install failure with PATTERN.
push_hook_reported()
{
	local out t0 t1

	t0=$(date +%s)
	out=$(push --timeout=60 "$TMP/current.keytab" "$(url "$HTTP_KT")")
	t1=$(date +%s)
	echo "$out (after $((t1 - t0)) s)"
	grep -qE "^$(url "$HTTP_KT") ok kvnos=$K" <<<"$out" &&
	grep -qE "^$(url "$HTTP_KT") after install: failed: .*$1" <<<"$out" &&
	kvno_keytab "$HTTP_KT"
}

hang_bounded()
{
	local pid state i

	push_hook_reported "did not finish within 3 s \\(killed\\)" ||
		return 1
	pid=$(cat "$TMP/hang.pid")
	echo "the hook's sleep was $pid"
	# gone, or a zombie whose parent (the killed hook) cannot reap it
	for ((i = 0; i < 50; i++)); do
		state=$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null)
		[ -z "$state" ] || [ "$state" = Z ] && return 0
		sleep 0.1
	done
	echo "still running: state $state"
	return 1
}

# ssh_stalled: a sender that sends half a keytab and stalls is given up
# after the config's read timeout (5 s), named, the keytab untouched.
ssh_stalled()
{
	local before out rc t0 t1

	before=$(digest "$HTTP_KT")
	rm -f "$TMP/stall" && mkfifo "$TMP/stall" || return 1
	exec 7<>"$TMP/stall"
	head -c 100 "$TMP/current.keytab" >&7
	t0=$(date +%s)
	out=$(nsx timeout 60 ssh -F "$SELFTEST_ARRAY_SSH_CONFIG" "$HOST" \
		samba-asa member install --protocol=2 \
		--keytab="$HTTP_KT" <"$TMP/stall" 2>&1)
	rc=$?
	t1=$(date +%s)
	exec 7>&-
	echo "exit $rc after $((t1 - t0)) s: $out"
	[ "$(digest "$HTTP_KT")" = "$before" ] && [ "$rc" = 2 ] &&
	[ $((t1 - t0)) -ge 5 ] && [ $((t1 - t0)) -lt 40 ] &&
	grep -qE "stalled: no complete keytab within 5 s.*untouched" <<<"$out"
}

# --- the program ----------------------------------------------------------

check build.waf-links-krb5-and-libc-only only_krb5_and_libc "$MEMBER_PROG"
check build.standalone-one-command standalone_build
check setup setup || exit 1
K=$(current_kvno)
cp "$MDIR/authorized_keys" "$TMP/authorized_keys.saved"

# --- two keytabs from a config file ----------------------------------------

write_conf
check conf.authorize authorize "$MEMBER_PROG --config=$CONF"
check conf.two-keytabs push_ok "$(url "$HTTP_KT")" "$(url "$IMAP_KT")"
check conf.http-owner-mode owner_mode "$HTTP_KT" "640 root www-data"
check conf.http-www-data-reads reads_as www-data "$HTTP_KT"
check conf.imap-owner-mode owner_mode "$IMAP_KT" "600 nobody root"
check conf.imap-owner-reads reads_as nobody "$IMAP_KT"
check conf.http-kvno-k kvno_keytab "$HTTP_KT"
check conf.imap-kvno-k kvno_keytab "$IMAP_KT"
check conf.hook-ran-clean hook_ran_clean
check conf.other-path-refused push_refused \
	"keeps no keytab $WDIR/other.keytab" "$TMP/current.keytab" \
	"$(url "$WDIR/other.keytab")"

chmod 0664 "$CONF"
check conf.group-writable-refused push_refused \
	"can be written by a user other than root" "$TMP/current.keytab" \
	"$(url "$HTTP_KT")"
chmod 0644 "$CONF"
chown nobody "$CONF"
check conf.not-roots-refused push_refused \
	"owner uid [1-9][0-9]*.* can be written by a user other than root" \
	"$TMP/current.keytab" "$(url "$HTTP_KT")"
chown root "$CONF"

# --- the after install command ---------------------------------------------

write_conf fail
check hook.failure-reported push_hook_reported \
	"exited with status 3: reload failed: no such service"
write_conf hang 3
check hook.hang-killed-at-timeout hang_bounded
write_conf
rm -f "$TMP/hook.http"
head -c 3000 /dev/urandom >"$TMP/garbage"
check hook.refused-install-runs-none push_refused "not a keytab" \
	"$TMP/garbage" "$(url "$HTTP_KT")"
check hook.not-run test ! -e "$TMP/hook.http"

# --- bad input ---------------------------------------------------------------

head -c $((1024 * 1024 + 4096)) /dev/zero | tr '\0' '\5' >"$TMP/huge"
check bad.garbage push_refused "not a keytab" "$TMP/garbage" \
	"$(url "$HTTP_KT")"
check bad.too-large push_refused "more than 1048576" "$TMP/huge" \
	"$(url "$HTTP_KT")"
check bad.stalled ssh_stalled

# --- the DC's records: one member per keytab -------------------------------

ASA_NAME=mp$$
SVC_HTTP=$WDIR/svc-http.keytab
SVC_IMAP=$WDIR/svc-imap.keytab
S=(-s "$SMB_CONF_PATH")

write_svc_conf()
{
	cat >"$CONF" <<EOF
[$SVC_HTTP]
	group = www-data
	after install = /bin/sh $TMP/hook.sh svc ${1:-fail}
[$SVC_IMAP]
	owner = nobody
EOF
	chmod 0644 "$CONF"
}

# create with the http keytab: installed, the hook's failure on stderr.
svc_create()
{
	local out rc

	out=$(asa create "$ASA_NAME" --spn "http/mp.$LOWER" "imap/mp.$LOWER" \
		--member "$(url "$SVC_HTTP")" "${S[@]}" 2>&1)
	rc=$?
	echo "exit $rc: $out"
	[ "$rc" = 0 ] &&
	grep -qE "keys are installed, but its after install command failed: .*exited with status 3" <<<"$out"
}

# The same host with another keytab: a name of its own is asked for,
# then it is a member of its own.
svc_add_same_host()
{
	local out rc

	out=$(asa member add "$ASA_NAME" "$(url "$SVC_IMAP")" "${S[@]}" 2>&1)
	rc=$?
	echo "exit $rc: $out"
	[ "$rc" = 1 ] && grep -q -- "--name" <<<"$out" || return 1
	out=$(asa member add "$ASA_NAME" "$(url "$SVC_IMAP")" \
		--name="$M-imap" "${S[@]}" 2>&1) || { echo "$out"; return 1; }
	echo "$out"
	out=$(asa member list "$ASA_NAME" "${S[@]}") || return 1
	echo "$out"
	grep -qF "$(url "$SVC_HTTP")" <<<"$out" &&
	grep -qF "$(url "$SVC_IMAP")" <<<"$out" &&
	owner_mode "$SVC_IMAP" "600 nobody root" &&
	KRB5CCNAME=FILE:$TMP/svc.ccache nsx kinit "Administrator@$REALM" \
		<"$SELFTEST_PASSWORD_FILE" >/dev/null &&
	KRB5CCNAME=FILE:$TMP/svc.ccache nsx kvno -k "$SVC_IMAP" \
		"imap/mp.$LOWER" &&
	KRB5CCNAME=FILE:$TMP/svc.ccache nsx kvno -k "$SVC_HTTP" \
		"http/mp.$LOWER"
}

# status: the member's record says its after install command failed.
svc_status()
{
	local out

	out=$(asa status "$ASA_NAME" "${S[@]}" 2>&1) || { echo "$out"; return 1; }
	echo "$out"
	if [ "$1" = failed ]; then
		grep -qE "After install:  failed: .*exited with status 3" <<<"$out"
	else
		! grep -q "After install:" <<<"$out"
	fi
}

svc_roll_ok()
{
	local out

	out=$(asa roll "$ASA_NAME" "${S[@]}" 2>&1) ||
		{ echo "$out"; return 1; }
	echo "$out"
	! grep -q "after install" <<<"$out"
}

# A roll reports it too, and rolls: the new kvno decrypts on the member.
svc_roll()
{
	local out rc

	out=$(asa roll "$ASA_NAME" "${S[@]}" 2>&1)
	rc=$?
	echo "exit $rc: $out"
	[ "$rc" = 0 ] && grep -q "^Rolled $ASA_NAME" <<<"$out" &&
	grep -qE "after install failed: .*exited with status 3: .*\(the keys are installed\)" <<<"$out" &&
	KRB5CCNAME=FILE:$TMP/svc2.ccache nsx kinit "Administrator@$REALM" \
		<"$SELFTEST_PASSWORD_FILE" >/dev/null &&
	KRB5CCNAME=FILE:$TMP/svc2.ccache nsx kvno -k "$SVC_HTTP" \
		"http/mp.$LOWER"
}

write_svc_conf
check records.authorize authorize "$MEMBER_PROG --config=$CONF"
check records.create-hook-failure-shown svc_create
check records.same-host-second-keytab svc_add_same_host
check records.status-shows-hook-failure svc_status failed
check records.roll-shows-hook-failure svc_roll
write_svc_conf ok
check records.roll-hook-ok svc_roll_ok
check records.status-hook-ok svc_status ok
asa_cleanup
write_conf

# --- the line older versions printed ----------------------------------------

# `samba-asa member install --keytab=...` as the forced command (a member
# set up before samba-asa-member): it runs samba-asa-member, same options.
check compat.old-line.authorize authorize \
	"$ASA member install --keytab=$HTTP_KT --group=www-data"
check compat.old-line-installs push_ok "$(url "$HTTP_KT")"
check compat.old-line-mode owner_mode "$HTTP_KT" "640 root www-data"
check compat.old-line-refuses-other-path push_refused \
	"this member keeps the keytab at $HTTP_KT" "$TMP/current.keytab" \
	"$(url "$IMAP_KT")"
check compat.restore authorize "$MEMBER_PROG --config=$CONF"

# --- protocol versions ------------------------------------------------------

# push_version PATTERN [helper options]: refused, both versions named by
# the DC (the member's words follow in its log), the keytab untouched.
push_version()
{
	local pattern=$1 before out
	shift

	before=$(digest "$HTTP_KT")
	out=$(push "$@" "$TMP/current.keytab" "$(url "$HTTP_KT")")
	echo "$out"
	[ "$(digest "$HTTP_KT")" = "$before" ] &&
	grep -qE "^$(url "$HTTP_KT") error=[0-9]+ $pattern" <<<"$out"
}

# The member's own words, over ssh with the request a DC of version 3
# sends.
member_says_both()
{
	local out rc

	out=$(nsx ssh -F "$SELFTEST_ARRAY_SSH_CONFIG" "$HOST" \
		samba-asa member install --protocol=3 --keytab="$HTTP_KT" \
		<"$TMP/current.keytab" 2>&1)
	rc=$?
	echo "exit $rc: $out"
	[ "$rc" = 1 ] && grep -qx "protocol: 2" <<<"$out" &&
	grep -qF "this member speaks samba-asa member protocol 2, the DC protocol 3: upgrade samba-asa-member on this member" <<<"$out"
}

check version.build-v1 build_version 1 1
check version.build-v3 build_version 3 3
check version.old-member.authorize authorize "$TMP/member-v1 --config=$CONF"
check version.old-member-refused push_version \
	"member $HOST speaks samba-asa member protocol 1, this DC needs 2: upgrade samba-asa-member on the member"
check version.new-member.authorize authorize "$TMP/member-v3 --config=$CONF"
check version.newer-member-refuses-old-dc push_version \
	"member $HOST speaks samba-asa member protocol 3, this DC speaks 2: upgrade samba-asa on this DC"
check version.current.authorize authorize "$MEMBER_PROG --config=$CONF"
check version.newer-dc-refused push_version \
	"member $HOST speaks samba-asa member protocol 2, this DC needs 3" \
	--protocol=3
check version.member-names-both member_says_both
check version.same-version-installs push_ok "$(url "$HTTP_KT")"

exit $((FAILED > 0))
