#!/bin/bash
# selftest/suites/member_install.sh: how the DC reaches the members of a
# server array, and the member side (samba-asa-member, run by a real sshd
# as the forced command of the DC's key, the line `samba-asa member setup`
# prints; `samba-asa member install` by hand, its alias), in environment
# ad_dc_array.
#
# The DC side is asa_member_push() / asa_member_fetch(), driven by
# bin/test/helper_member with the transport options samba-asa takes from
# smb.conf.  The keys are the KDC's own: a throwaway computer account made
# here with samba-tool, its keys read back with `samba-tool domain
# exportkeytab` after each real password change and shaped by kt_tool.py
# into the keytab samba-asa builds (NAME$ plus one entry per SPN).
#
# Proves: a push reaches every member at once and `kvno -k` decrypts a
# real ticket with each member's keytab; three password changes keep the
# previous kvno and drop the older (a ticket of the previous kvno still
# gets 200 from Apache, one of the older gets 401); 0640 root:www-data
# with --group (Apache reads it), 0600 without (Apache cannot); garbage,
# an empty stdin, another account's keytab and KDC principals are refused
# with the keytab untouched; --show returns the keytab; the client's own
# command never runs; pinned --principal; eight installs at once all land
# (the lock); an unreachable member (wrong port, stopped sshd, one that
# never answers) fails alone, named, while the others succeed; malformed
# URLs are refused; the local transport.
#
# Emits subunit v1.

# REPO, ASA, NSX, TMP, HELPER, NAME, SPNS, MEMBERS, push, setup, ...
. "$(dirname "${BASH_SOURCE[0]}")/member_common.sh"

# push_file_ok WANT FILE URL...: push FILE; every URL reports
# "ok kvnos=WANT".
push_file_ok()
{
	local want=$1 file=$2 out line rc=0
	shift 2

	out=$(push "$file" "$@")
	echo "$out"
	for url in "$@"; do
		line=$(grep -F "$url " <<<"$out")
		[ "$line" = "$url ok kvnos=$want" ] ||
			{ echo "wanted '$url ok kvnos=$want'"; rc=1; }
	done
	return $rc
}

# push_all_ok WANT URL...: the same with $TMP/current.keytab.
push_all_ok()
{
	local want=$1
	shift

	push_file_ok "$want" "$TMP/current.keytab" "$@"
}

# kvno -k: a fresh ticket for every SPN, decrypted with MEMBER's keytab.
kvno_member()
{
	kvno_keytab "$(member_var KEYTAB "$1")"
}

keytab_mode()
{
	local kt=$1 want=$2 got

	got=$(stat -c '%a %U %G' "$kt") || return 1
	echo "$kt: $got"
	[ "$got" = "$want" ]
}

# The kvnos a keytab holds for the account, newest first: "5 4".
keytab_kvnos()
{
	klist -k "$1" | awk -v a="$ACCOUNT" '$2 == a { print $1 }' |
		sort -rnu | tr '\n' ' ' | sed 's/ $//'
}

keytab_has_kvnos()
{
	local got

	got=$(keytab_kvnos "$1")
	klist -k "$1"
	echo "kvnos of $ACCOUNT: '$got', wanted '$2'"
	[ "$got" = "$2" ]
}

# curl to MEMBER directly, for the load-balanced name, with CCACHE.
http_member()
{
	local want=$1 m=$2 ccache=$3 got

	got=$(KRB5CCNAME=FILE:$ccache nsx curl -sS -o /dev/null \
		-w '%{http_code}' --negotiate -u : \
		--connect-to "mail.$LOWER:80:$(member_var IP "$m"):80" \
		"http://mail.$LOWER/") || { echo "curl failed: $got"; return 1; }
	echo "HTTP $got from $m (wanted $want)"
	[ "$got" = "$want" ]
}

# A ccache holding a ticket for http/mail of the current kvno.
ticket_now()
{
	local ccache=$1

	KRB5CCNAME=FILE:$ccache nsx kinit "Administrator@$REALM" \
		<"$SELFTEST_PASSWORD_FILE" >/dev/null &&
	KRB5CCNAME=FILE:$ccache nsx kvno "http/mail.$LOWER"
}

# refused_untouched MEMBER PATTERN FILE: pushing FILE to MEMBER fails
# with PATTERN in the message naming it, and its keytab is as it was.
refused_untouched()
{
	local m=$1 pattern=$2 file=$3 kt before after out

	kt=$(member_var KEYTAB "$m")
	before=$(digest "$kt")$(stat -c '%a%U%G%i' "$kt")
	out=$(push "$file" "$(member_var URL "$m")")
	echo "$out"
	after=$(digest "$kt")$(stat -c '%a%U%G%i' "$kt")
	[ "$before" = "$after" ] || { echo "the keytab changed"; return 1; }
	grep -qE "error=[0-9]+ member $m\\.$LOWER refused: .*$pattern" \
		<<<"$out"
}

# The same through ssh directly, standard input from FILE.
ssh_refused_untouched()
{
	local m=$1 pattern=$2 file=$3 kt before after out rc

	kt=$(member_var KEYTAB "$m")
	before=$(digest "$kt")
	out=$(nsx ssh -F "$SELFTEST_ARRAY_SSH_CONFIG" "$m.$LOWER" \
		samba-asa member install <"$file" 2>&1)
	rc=$?
	echo "exit $rc: $out"
	after=$(digest "$kt")
	[ "$before" = "$after" ] || { echo "the keytab changed"; return 1; }
	[ "$rc" = 1 ] && grep -qE "$pattern" <<<"$out"
}

# The client asks for its own command: the forced command runs instead,
# refuses the request, and the client's command never runs.
ssh_client_command()
{
	local m=$1 out rc log

	out=$(nsx ssh -F "$SELFTEST_ARRAY_SSH_CONFIG" "$m.$LOWER" \
		"touch $TMP/client-ran-$m" </dev/null 2>&1)
	rc=$?
	echo "exit $rc: $out"
	[ ! -e "$TMP/client-ran-$m" ] || { echo "the client's command ran"; return 1; }
	[ "$rc" = 1 ] || return 1
	grep -qF "request 'touch $TMP/client-ran-$m' ignored" <<<"$out" ||
		return 1
	log=$(member_var SSHD_LOG "$m")
	grep -q "forced-command (key-option) '$MEMBER_PROG --keytab=" "$log"
}

# A client that asks for no command (a shell) gets nothing either.
ssh_no_command()
{
	local m=$1 out rc

	out=$(nsx ssh -F "$SELFTEST_ARRAY_SSH_CONFIG" "$m.$LOWER" \
		</dev/null 2>&1)
	rc=$?
	echo "exit $rc: $out"
	[ "$rc" = 1 ] && grep -qF "a login without a command is ignored" \
		<<<"$out"
}

# fetch every member; each fetched keytab equals the member's file, key
# for key (compared by digest: no key is printed).
fetch_equal()
{
	local out i=0 m kt rc=0

	mkdir -p "$TMP/fetched"
	out=$(fetch "$TMP/fetched" $(member_urls "${MEMBERS[@]}"))
	echo "$out"
	for m in "${MEMBERS[@]}"; do
		kt=$(member_var KEYTAB "$m")
		grep -qF "$(member_var URL "$m") ok kvnos=$1" <<<"$out" ||
			{ echo "$m: not ok kvnos=$1"; rc=1; }
		[ "$(klist -k -e -K "$TMP/fetched/$i.keytab" | tail -n +2 |
		     sha256sum)" = \
		  "$(klist -k -e -K "$kt" | tail -n +2 | sha256sum)" ] ||
			{ echo "$m: fetched keytab differs"; rc=1; }
		i=$((i + 1))
	done
	return $rc
}

# Eight installs at once on one member, each with a principal of its own
# (keys of its own too: a principal with the account's keys is a name of
# the ASA, which every push carries or drops): all land, none lost to
# another install's write.
concurrent_installs()
{
	local m=$1 url i pids=() rc=0 kt

	url=$(member_var URL "$m")
	kt=$(member_var KEYTAB "$m")
	for i in 1 2 3 4 5 6 7 8; do
		/usr/bin/python3 "$KT_TOOL" "$TMP/export.keytab" \
			"$TMP/c$i.keytab" "$ACCOUNT" --distinct \
			"http/c$i.$LOWER@$REALM" ||
			return 1
	done
	for i in 1 2 3 4 5 6 7 8; do
		push "$TMP/c$i.keytab" "$url" >"$TMP/c$i.out" 2>&1 &
		pids+=($!)
	done
	for i in "${!pids[@]}"; do
		wait "${pids[$i]}" || rc=1
		cat "$TMP/c$((i + 1)).out"
	done
	klist -k "$kt"
	for i in 1 2 3 4 5 6 7 8; do
		klist -k "$kt" | grep -qF "http/c$i.$LOWER@$REALM" ||
			{ echo "http/c$i was lost"; rc=1; }
	done
	return $rc
}

# push to MEMBERS; those in BAD fail, naming themselves with PATTERN;
# the others succeed.
push_some_fail()
{
	local pattern=$1 bad=$2 out rc=0 url
	shift 2

	out=$(push "$TMP/current.keytab" "$@")
	echo "exit $?: $out"
	for url in "$@"; do
		if [ "$url" = "$bad" ]; then
			grep -qE "^$url error=[0-9]+ member .*$pattern" <<<"$out" ||
				{ echo "no failure for $url"; rc=1; }
		else
			grep -qE "^$url ok kvnos=" <<<"$out" ||
				{ echo "$url did not succeed"; rc=1; }
		fi
	done
	return $rc
}

sshd_pid()
{
	local pid=""

	read -r pid 2>/dev/null <"$SELFTEST_ARRAY_DIR/$1/sshd.pid"
	echo "$pid"
}

stop_sshd()
{
	local m=$1 pid i

	pid=$(sshd_pid "$m")
	[ -n "$pid" ] && array_is_ours "$pid" "$SELFTEST_ARRAY_DIR" ||
		{ echo "no sshd of ours for $m"; return 1; }
	kill -TERM "$pid" || return 1
	for ((i = 0; i < 50; i++)); do
		array_any_alive "$pid" || return 0
		sleep 0.1
	done
	echo "sshd $pid of $m did not stop"
	return 1
}

start_sshd()
{
	local m=$1 mdir=$SELFTEST_ARRAY_DIR/$1 i

	# A simple command, so that $! is sshd itself (or ip, which execs
	# it), as array.sh records it, and no shell of ours holds the
	# suite's output open.
	"${NSX[@]}" /usr/sbin/sshd -D -f "$mdir/sshd_config" \
		-E "$mdir/sshd.log" </dev/null >>"$mdir/sshd.out" 2>&1 &
	echo "$!" >"$mdir/sshd.pid"
	for ((i = 0; i < 100; i++)); do
		nsx ss -ltnH | grep -qF "$(member_var IP "$m"):22 " && return 0
		sleep 0.1
	done
	echo "sshd of $m did not come back"
	return 1
}

# A TCP listener that accepts and never says a word (a hung member).
start_silent_listener()
{
	"${NSX[@]}" /usr/bin/python3 -c '
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(8)
print("listening", flush=True)
conns = []
while True:
    c, _ = s.accept()
    conns.append(c)
' "$(member_var IP "${MEMBERS[0]}")" 2200 </dev/null >"$TMP/listener.out" 2>&1 &
	echo "$!" >"$TMP/listener.pid"
	for ((i = 0; i < 50; i++)); do
		grep -q listening "$TMP/listener.out" && return 0
		sleep 0.1
	done
	return 1
}

# No ssh child of the helper outlives it.
no_ssh_left()
{
	local p args

	for p in /proc/[0-9]*; do
		args=$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null) || continue
		if [[ $args == ssh\ * && $args == *" -p 2200 "* ]]; then
			echo "left behind: ${p#/proc/} $args"
			return 1
		fi
	done
}

silent_member()
{
	local url=$1 out t0 t1

	t0=$EPOCHREALTIME
	out=$(push --timeout=3 "$TMP/current.keytab" \
		"$(member_var URL "${MEMBERS[1]}")" "$url")
	t1=$EPOCHREALTIME
	echo "$out"
	echo "took $(array_elapsed "$t0" "$t1") s"
	grep -qE "^$(member_var URL "${MEMBERS[1]}") ok kvnos=" <<<"$out" &&
	grep -qE "^$url error=[0-9]+ member .*(no answer within 3 s|timed out)" \
		<<<"$out" && no_ssh_left
}

# authorize MEMBER SETUP-OPTIONS...: MEMBER's authorized_keys becomes the
# line `samba-asa member setup` prints with these options.
authorize()
{
	local m=$1 mdir=$SELFTEST_ARRAY_DIR/$1
	shift

	"$ASA" member setup -s "$SMB_CONF_PATH" \
		--keytab="$(member_var KEYTAB "$m")" "$@" \
		>"$mdir/authorized_keys.new" &&
	mv -f "$mdir/authorized_keys.new" "$mdir/authorized_keys"
}

setup_line()
{
	local m=$1 want got

	want=$("$ASA" member setup -s "$SMB_CONF_PATH" \
		--keytab="$(member_var KEYTAB "$m")" --group=www-data) ||
		return 1
	got=$(cat "$(member_var AUTHORIZED_KEYS "$m")")
	echo "want: $want"
	echo "got:  $got"
	[ "$want" = "$got" ] &&
	[[ $got == "restrict,command=\"$MEMBER_PROG --keytab=$(member_var KEYTAB "$m") --group=www-data\" ssh-ed25519 "* ]] &&
	[[ $got == *" $(cut -d' ' -f2 "$PREFIX_ABS/private/asa/id_ed25519.pub") "* ]]
}

setup_idempotent()
{
	local before after

	before=$(digest "$PREFIX_ABS/private/asa/id_ed25519")
	"$ASA" member setup -s "$SMB_CONF_PATH" >/dev/null || return 1
	after=$(digest "$PREFIX_ABS/private/asa/id_ed25519")
	[ "$before" = "$after" ] &&
	keytab_mode "$PREFIX_ABS/private/asa/id_ed25519" "600 root root"
}

# With the krb5.conf the members' Apache reads (the instance's may sit
# in a checkout www-data cannot enter).
www_data_reads()
{
	KRB5_CONFIG=$SELFTEST_ARRAY_WWW_DIR/krb5.conf \
	setpriv --reuid=www-data --regid=www-data --init-groups \
		klist -k "$1" >/dev/null
}

local_member()
{
	local kt=$TMP/local/dc.keytab out

	mkdir -p "$TMP/local"
	out=$(push "$TMP/current.keytab" "local:$kt")
	echo "$out"
	[ "$out" = "local:$kt ok kvnos=$1" ] &&
	keytab_mode "$kt" "600 root root" &&
	KRB5CCNAME=FILE:$TMP/fresh.ccache nsx kinit "Administrator@$REALM" \
		<"$SELFTEST_PASSWORD_FILE" >/dev/null &&
	KRB5CCNAME=FILE:$TMP/fresh.ccache nsx kvno -k "$kt" "${SPNS[0]}"
}

bad_url()
{
	local out rc

	out=$(push "$TMP/current.keytab" "$1" 2>&1)
	rc=$?
	echo "exit $rc: $out"
	[ "$rc" = 2 ] && grep -qF "member URL" <<<"$out"
}

cleanup()
{
	local m

	[ -s "$TMP/listener.pid" ] && kill "$(cat "$TMP/listener.pid")" 2>/dev/null
	for m in "${MEMBERS[@]}"; do
		[ -n "$(sshd_pid "$m")" ] &&
			! array_any_alive "$(sshd_pid "$m")" &&
			start_sshd "$m" >/dev/null
		rm -f "$(member_var KEYTAB "$m")" \
			"$(member_var KEYTAB "$m").lock"
	done
	nsx samba-tool computer delete "$NAME" -H "$SAM" \
		-s "$SMB_CONF_PATH" >/dev/null 2>&1
	rm -rf "$TMP"
}
trap cleanup EXIT
trap "exit 1" TERM INT HUP

check setup setup || exit 1

for m in "${MEMBERS[@]}"; do
	check "setup.authorized-keys-line.$m" setup_line "$m"
done
check setup.idempotent setup_idempotent

URLS=($(member_urls "${MEMBERS[@]}"))
K=$(current_kvno)

# --- a push to every member, real tickets ---------------------------------

check "push.all" push_all_ok "$K" "${URLS[@]}"
for m in "${MEMBERS[@]}"; do
	kt=$(member_var KEYTAB "$m")
	check "push.mode-0640-www-data.$m" keytab_mode "$kt" "640 root www-data"
	check "push.www-data-reads.$m" www_data_reads "$kt"
	check "push.kvno-k.$m" kvno_member "$m"
done
check "http.ticket.kvno-$K" ticket_now "$TMP/kvno0.ccache"
for m in "${MEMBERS[@]}"; do
	check "http.negotiate.$m" http_member 200 "$m" "$TMP/kvno0.ccache"
done

# --- three password changes: previous kept, older dropped ----------------

for step in 1 2; do
	check "roll$step.password-change" change_password
	check "roll$step.export" export_keytab "$TMP/current.keytab"
	K1=$(current_kvno)
	check "roll$step.push" push_all_ok "$K1,$((K1 - 1))" "${URLS[@]}"
	for m in "${MEMBERS[@]}"; do
		check "roll$step.kvnos.$m" keytab_has_kvnos \
			"$(member_var KEYTAB "$m")" "$K1 $((K1 - 1))"
		check "roll$step.kvno-k.$m" kvno_member "$m"
	done
	# A ticket of the previous kvno still works; after the second
	# change, one of the kvno before that does not.
	check "roll$step.ticket.kvno-$K1" ticket_now "$TMP/kvno$step.ccache"
	prev=$((step - 1))
	for m in "${MEMBERS[@]}"; do
		check "roll$step.previous-kvno-ticket-200.$m" \
			http_member 200 "$m" "$TMP/kvno$prev.ccache"
		check "roll$step.new-ticket-200.$m" \
			http_member 200 "$m" "$TMP/kvno$step.ccache"
	done
done
for m in "${MEMBERS[@]}"; do
	check "roll2.dropped-kvno-ticket-401.$m" \
		http_member 401 "$m" "$TMP/kvno0.ccache"
done

# --- refusals: the keytab is untouched -----------------------------------

M1=${MEMBERS[0]}
head -c 3000 /dev/urandom >"$TMP/garbage"
printf '\005\002\000\000\000\100garbage' >"$TMP/truncated"
# another account: the same keys under another NAME$ (same length)
/usr/bin/python3 - "$TMP/export.keytab" "$TMP/other.keytab" "$NAME" <<'EOF'
import sys
data = open(sys.argv[1], "rb").read()
name = sys.argv[3].encode()
other = b"zz" + name[2:]
open(sys.argv[2], "wb").write(data.replace(name + b"$", other + b"$"))
EOF
/usr/bin/python3 "$KT_TOOL" "$TMP/export.keytab" "$TMP/krbtgt.keytab" \
	"$ACCOUNT" "krbtgt/$REALM@$REALM"
: >"$TMP/empty"

check refuse.garbage refused_untouched "$M1" "not a keytab" "$TMP/garbage"
check refuse.truncated refused_untouched "$M1" "not a keytab" \
	"$TMP/truncated"
check refuse.other-account refused_untouched "$M1" "serves one ASA" \
	"$TMP/other.keytab"
check refuse.krbtgt refused_untouched "$M1" "KDC itself" \
	"$TMP/krbtgt.keytab"
check refuse.empty-stdin ssh_refused_untouched "$M1" "not a keytab" \
	"$TMP/empty"
check refuse.garbage-over-ssh ssh_refused_untouched "$M1" \
	"not a keytab" "$TMP/garbage"
check refuse.other-keytab-path push_some_fail \
	"refused: samba-asa-member: this member keeps the keytab at" \
	"ssh://root@$M1.$LOWER/etc/other.keytab" \
	"ssh://root@$M1.$LOWER/etc/other.keytab"
for m in "${MEMBERS[@]}"; do
	check "forced-command.client-command-ignored.$m" \
		ssh_client_command "$m"
done

check forced-command.no-command-ignored ssh_no_command "$M1"

# --- fetch (--show) ------------------------------------------------------

check fetch.equals-member-keytab fetch_equal "$K1,$((K1 - 1))"

# --- pinned principals, mode without a group -----------------------------

M2=${MEMBERS[1]}
M3=${MEMBERS[2]:-${MEMBERS[1]}}
# Pinned to another account: this one's keys are refused.
check pinned.other-authorize authorize "$M2" --group=www-data \
	--principal="other\$@$REALM"
check pinned.other-refused refused_untouched "$M2" \
	"accepts the keys of other\\\$@$REALM only" "$TMP/current.keytab"
# Pinned to this account (the admin guide's example): its keys with every
# SPN are taken, and so are the account's alone.
check pinned.authorize authorize "$M2" --group=www-data \
	--principal="$ACCOUNT"
check pinned.accepts-spns push_file_ok "$K1,$((K1 - 1))" \
	"$TMP/current.keytab" "$(member_var URL "$M2")"
/usr/bin/python3 "$KT_TOOL" "$TMP/export.keytab" "$TMP/account-only.keytab" \
	"$ACCOUNT"
check pinned.accepts-account-only push_file_ok "$K1,$((K1 - 1))" \
	"$TMP/account-only.keytab" "$(member_var URL "$M2")"
check pinned.restore authorize "$M2" --group=www-data

check mode-0600.authorize authorize "$M3"
check mode-0600.push push_all_ok "$K1,$((K1 - 1))" "$(member_var URL "$M3")"
check mode-0600.mode keytab_mode "$(member_var KEYTAB "$M3")" \
	"600 root root"
check mode-0600.apache-cannot-read http_member 401 "$M3" \
	"$TMP/kvno2.ccache"
check mode-0600.restore authorize "$M3" --group=www-data
check mode-0640.push-again push_all_ok "$K1,$((K1 - 1))" \
	"$(member_var URL "$M3")"
check mode-0640.mode keytab_mode "$(member_var KEYTAB "$M3")" \
	"640 root www-data"
check mode-0640.apache-reads-again http_member 200 "$M3" \
	"$TMP/kvno2.ccache"

# --- the lock: eight installs at once ------------------------------------

check lock.eight-at-once concurrent_installs "$M1"

# --- unreachable members fail alone --------------------------------------

check unreachable.wrong-port push_some_fail "Connection refused" \
	"ssh://root@$M3.$LOWER:2222$(member_var KEYTAB "$M3")" \
	"${URLS[0]}" "${URLS[1]}" \
	"ssh://root@$M3.$LOWER:2222$(member_var KEYTAB "$M3")"
check unreachable.stop-sshd stop_sshd "$M3"
check unreachable.sshd-stopped push_some_fail \
	"$M3\\.$LOWER: cannot reach it over ssh" "$(member_var URL "$M3")" \
	"${URLS[@]}"
check unreachable.start-sshd start_sshd "$M3"
check unreachable.back push_all_ok "$K1,$((K1 - 1))" "${URLS[@]}"
if check unreachable.silent-listener start_silent_listener; then
	check unreachable.silent-member-killed silent_member \
		"ssh://root@$(member_var IP "$M1"):2200/k"
fi

# --- malformed URLs -------------------------------------------------------

for url in "ssh://root@$M1.$LOWER;id/k" "ssh://$M1.$LOWER" \
	   "ftp://$M1.$LOWER/k" "ssh://root@$M1.$LOWER:70000/k" \
	   "ssh://-oProxyCommand=touch\${IFS}x/k" "ssh://root@$M1/k k" \
	   "ssh://root@$M1/\$(id)" "local:relative/k" \
	   "ssh://root@[::1/k"; do
	check "bad-url.$(printf '%s' "$url" | tr -c 'A-Za-z0-9' _ |
		cut -c1-40)" bad_url "$url"
done

# --- the size limit: a merged keytab too big to read back -----------------

# big_keytab IN OUT KVNO N: IN's entries plus the same keys under N long
# service principals, all at KVNO (about 600 KiB for N = 280).
big_keytab()
{
	/usr/bin/python3 - "$@" <<'EOF'
import struct
import sys

src, dst, kvno, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), \
    int(sys.argv[4])
data = open(src, "rb").read()
pos, recs = 2, []
while pos + 4 <= len(data):
    (size,) = struct.unpack(">i", data[pos:pos + 4])
    pos += 4
    if size <= 0:
        break
    recs.append(data[pos:pos + size])
    pos += size


def parse(rec):
    p = 0
    (ncomp,) = struct.unpack(">H", rec[p:p + 2])
    (rlen,) = struct.unpack(">H", rec[p + 2:p + 4])
    realm = rec[p + 4:p + 4 + rlen]
    p += 4 + rlen
    comps = []
    for _ in range(ncomp):
        (clen,) = struct.unpack(">H", rec[p:p + 2])
        comps.append(rec[p + 2:p + 2 + clen])
        p += 2 + clen
    p += 4 + 4 + 1				# name type, timestamp, vno8
    (enctype, klen) = struct.unpack(">HH", rec[p:p + 4])
    return realm, comps, enctype, rec[p + 4:p + 4 + klen]


def entry(realm, comps, enctype, key):
    b = struct.pack(">HH", len(comps), len(realm)) + realm
    for c in comps:
        b += struct.pack(">H", len(c)) + c
    b += struct.pack(">IIB", 1, 0, kvno & 0xff)
    b += struct.pack(">HH", enctype, len(key)) + key
    b += struct.pack(">I", kvno)
    return struct.pack(">i", len(b)) + b


parsed = [parse(r) for r in recs]
out = b"\x05\x02" + b"".join(entry(*e) for e in parsed)
realm = parsed[0][0]
keys = {}
for _, comps, enctype, key in parsed:
    if len(comps) == 1:			# the account: NAME$
        keys[enctype] = key
for i in range(n):
    host = ("big%04d-" % i + "x" * 1000).encode() + b"." + \
        realm.lower()
    for enctype, key in sorted(keys.items()):
        out += entry(realm, [b"http", host], enctype, key)
open(dst, "wb").write(out)
print("%s: %d bytes" % (dst, len(out)))
EOF
}

# The first big push fits; the second, merged with it, would not (nor be
# read back: every later install would fail): refused, the keytab
# byte-identical; a normal push after it still works.
M2=${MEMBERS[1]}
KT2=$(member_var KEYTAB "$M2")
cp -p "$KT2" "$TMP/m2.saved"
check size.make-big-keytabs eval \
	'big_keytab "$TMP/current.keytab" "$TMP/big1.keytab" "$K1" 280 &&
	 big_keytab "$TMP/current.keytab" "$TMP/big2.keytab" $((K1 + 1)) 280'
check size.first-big-push-fits push_file_ok "$K1,$((K1 - 1))" \
	"$TMP/big1.keytab" "$(member_var URL "$M2")"
check size.merged-too-big-refused refused_untouched "$M2" \
	"would be [0-9]+ bytes, more than" "$TMP/big2.keytab"
check size.normal-push-after push_all_ok "$K1,$((K1 - 1))" \
	"$(member_var URL "$M2")"
check size.kvno-k-after kvno_member "$M2"
cp -p "$TMP/m2.saved" "$KT2"

# --- member install's own options (run by hand) --------------------------

install_by_hand()
{
	local want_rc=$1 pattern=$2 out rc
	shift 2

	out=$(env -u SSH_CONNECTION -u SSH_ORIGINAL_COMMAND \
		"$ASA" member install "$@" <"$TMP/current.keytab" 2>&1)
	rc=$?
	echo "exit $rc: $out"
	[ "$rc" = "$want_rc" ] && grep -qE -- "$pattern" <<<"$out"
}

check cli.no-keytab install_by_hand 2 "--keytab=PATH is required"
check cli.relative-keytab install_by_hand 2 "absolute path" \
	--keytab=relative/k
check cli.bad-mode install_by_hand 2 "0600 or 0640" \
	--keytab="$TMP/k" --mode=0644
check cli.mode-0640-needs-group install_by_hand 2 "needs --group" \
	--keytab="$TMP/k" --mode=0640
check cli.unknown-group install_by_hand 2 "no such group" \
	--keytab="$TMP/k" --group=no-such-group-here
check cli.not-writable install_by_hand 2 "failed: .*untouched" \
	--keytab="$TMP/no-such-dir/k"
check cli.by-hand install_by_hand 0 "^kvnos: $K1\$" \
	--keytab="$TMP/by-hand.keytab" --group=www-data
check cli.by-hand-mode keytab_mode "$TMP/by-hand.keytab" "640 root www-data"

# A sender that stalls (half a keytab, then nothing, the pipe still open)
# is given up after --read-timeout, the keytab untouched.
stalled_input()
{
	local kt=$TMP/by-hand.keytab before out rc t0 t1

	before=$(digest "$kt")
	rm -f "$TMP/stall"
	mkfifo "$TMP/stall" || return 1
	exec 7<>"$TMP/stall"
	head -c 100 "$TMP/current.keytab" >&7
	t0=$(date +%s)
	out=$(env -u SSH_CONNECTION -u SSH_ORIGINAL_COMMAND timeout 60 \
		"$ASA" member install --keytab="$kt" --group=www-data \
		--read-timeout=3 <"$TMP/stall" 2>&1)
	rc=$?
	t1=$(date +%s)
	exec 7>&-
	echo "exit $rc after $((t1 - t0)) s: $out"
	[ "$(digest "$kt")" = "$before" ] ||
		{ echo "the keytab changed"; return 1; }
	[ "$rc" = 2 ] && [ $((t1 - t0)) -ge 3 ] && [ $((t1 - t0)) -lt 30 ] &&
		grep -qE "stalled: no complete keytab within 3 s .*untouched" \
			<<<"$out"
}
check cli.stalled-input stalled_input

# --- the DC as its own member ---------------------------------------------

check local.push-and-kvno-k local_member "$K1"

exit $((FAILED > 0))
