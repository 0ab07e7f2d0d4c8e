#!/bin/bash
# selftest/suites/roll_common.sh: what the roll suites (asa_roll*.sh) share,
# on environment ad_dc_array.  Source it after common.sh.
#
# roll_setup PREFIX makes an ASA named PREFIX<pid> with the seed's SPNs and
# every member of the array, with `samba-asa create`; the helpers below
# check what a user would: the directory's kvno, each member's keytab, real
# tickets (kvno -k) and real web requests (curl --negotiate).
#
# Every check prints what it saw, for the failure report.

# shellcheck source=selftest/array.sh
. "$REPO/selftest/array.sh"	# array_key_line

for v in SELFTEST_ARRAY_DIR SELFTEST_ARRAY_MEMBERS SELFTEST_ARRAY_SSH_KEY \
	 SELFTEST_ARRAY_SSH_KNOWN_HOSTS SELFTEST_ARRAY_FORCED_COMMAND \
	 SELFTEST_LB_IP SELFTEST_PASSWORD_FILE; do
	if [ -z "${!v:-}" ]; then
		echo "$suite_name.sh: $v is not set: run in env ad_dc_array" >&2
		exit 2
	fi
done
export LDB_MODULES_PATH=${LDB_MODULES_PATH:-}

SAM=$PREFIX_ABS/private/sam.ldb
LOCAL=(-H "$SAM" -s "$SMB_CONF_PATH")
LOWER=$(echo "$REALM" | tr '[:upper:]' '[:lower:]')
SPNS=("http/mail.$LOWER" "http/autod.$LOWER" "exchangeMDB/outlook.$LOWER"
      "exchangeRFR/outlook.$LOWER" "exchangeAB/outlook.$LOWER")
MEMBERS=()
for m in $SELFTEST_ARRAY_MEMBERS; do
	MEMBERS+=("${m%%=*}")
done

FAILED=0

# check NAME FUNCTION ARGS...: passes when FUNCTION exits 0.
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
	printf '%s\nexit status %s of: %s\n' "$out" "$rc" "$*" | sed 's/^/ /'
	echo "]"
	return 1
}

# expect_out RC PATTERN -- CMD...: CMD exits RC ("nz": non-zero) and its
# output matches PATTERN (extended regex; empty: anything).
expect_out()
{
	local rc=$1 pat=$2 out got
	shift 3

	out=$("$@" 2>&1)
	got=$?
	printf '%s\n(exit %s)\n' "$out" "$got"
	if [ "$rc" = nz ]; then
		[ "$got" != 0 ] || return 1
	elif [ "$got" != "$rc" ]; then
		return 1
	fi
	[ -z "$pat" ] || grep -qE -- "$pat" <<<"$out"
}

# test_eq WANT CMD...: CMD prints WANT.
test_eq()
{
	local want=$1 got
	shift

	got=$("$@")
	echo "wanted '$want', got '$got'"
	[ "$got" = "$want" ]
}

# LDIF folds long lines; join them back.
unfold()
{
	sed -e ':a' -e '$!N;s/\n //;ta' -e 'P;D'
}

rl_kinit()
{
	KRB5CCNAME=FILE:$1 nsx kinit "$DC_USERNAME@$REALM" \
		<"$SELFTEST_PASSWORD_FILE" >/dev/null
}

# The directory's msDS-KeyVersionNumber of NAME$.
dir_kvno()
{
	nsx ldbsearch -H "$SAM" "(sAMAccountName=$1\$)" \
		msDS-KeyVersionNumber 2>/dev/null | unfold |
		sed -n 's/^msDS-KeyVersionNumber: //p'
}

# with_name NAME CMD...: CMD about the ASA NAME instead of $NAME.
with_name()
{
	(NAME=$1; shift; "$@")
}

# kvno_grew BEFORE NAME: the directory's kvno is above BEFORE.
kvno_grew()
{
	local now

	now=$(dir_kvno "$2")
	echo "kvno $1 -> $now"
	[ -n "$now" ] && [ "$now" -gt "$1" ]
}

# The kvnos MEMBER's keytab holds for NAME$, newest first, on one line.
member_kvnos()
{
	nsx klist -k "$(member_var KEYTAB "$1")" 2>/dev/null |
		awk -v p="$NAME\$@$REALM" '$2 == p { print $1 }' |
		sort -rnu | tr '\n' ' ' | sed 's/ $//'
}

# member_holds MEMBER "K1 K2": exactly these kvnos, for every principal.
member_holds()
{
	local m=$1 want=$2 kt got p

	kt=$(member_var KEYTAB "$m")
	nsx klist -k -e "$kt"
	got=$(member_kvnos "$m")
	echo "$m holds kvnos '$got', wanted '$want'"
	[ "$got" = "$want" ] || return 1
	for p in "${SPNS[@]}"; do
		got=$(nsx klist -k "$kt" | awk -v p="$p@$REALM" \
			'$2 == p { print $1 }' | sort -rnu | tr '\n' ' ' |
			sed 's/ $//')
		[ "$got" = "$want" ] ||
			{ echo "$p: '$got'"; return 1; }
	done
	stat -c '%a %U %G %n' "$kt"
}

# all_decrypt CCACHE [KVNO]: with the tickets in CCACHE (got there if
# missing), every SPN's ticket decrypts with every member's keytab (kvno -k
# reuses a ticket already in the ccache); KVNO: the tickets are at it.
all_decrypt()
{
	local cc=$1 want=${2:-} s m out rc=0

	for s in "${SPNS[@]}"; do
		for m in "${MEMBERS[@]}"; do
			out=$(KRB5CCNAME=FILE:$cc nsx kvno \
				-k "$(member_var KEYTAB "$m")" "$s@$REALM" 2>&1)
			echo "$m: $out"
			if [[ $out != *"keytab entry valid"* ]]; then
				rc=1
			elif [ -n "$want" ] &&
			     [[ $out != *"kvno = $want,"* ]]; then
				rc=1
			fi
		done
	done
	return $rc
}

# all_decrypt_fresh [KVNO]: the same with tickets issued now.
all_decrypt_fresh()
{
	local cc

	cc=$(mktemp "$TMP/fresh.XXXXXX")
	rl_kinit "$cc" || return 1
	all_decrypt "$cc" "${1:-}"
}

# http_lb STATUS: curl --negotiate through the load balancer.
http_lb()
{
	local out

	out=$(nsx curl -sS -o /dev/null -w '%{http_code}' --negotiate -u : \
		"http://mail.$LOWER/" 2>&1)
	echo "through the load balancer: $out"
	[ "$out" = "$1" ]
}

# each_member_http CCACHE: every member answers 200 to that client.
each_member_http()
{
	local cc=$1 m out rc=0

	for m in "${MEMBERS[@]}"; do
		out=$(KRB5CCNAME=FILE:$cc nsx curl -sS -o /dev/null \
			-w '%{http_code}' --negotiate -u : \
			--connect-to "mail.$LOWER:80:$(member_var IP "$m"):80" \
			"http://mail.$LOWER/" 2>&1)
		echo "$m: $out"
		[ "$out" = 200 ] || rc=1
	done
	return $rc
}

fresh_http()
{
	local cc

	cc=$(mktemp "$TMP/fresh.XXXXXX")
	rl_kinit "$cc" || return 1
	each_member_http "$cc"
}

# The 'keywords' of the member SCPs (or the ASA's own, ASA_SCP) of NAME.
scp_keywords()
{
	local filter=$1

	nsx ldbsearch -H "$SAM" -b "$ASA_DN" \
		"(&(objectClass=serviceConnectionPoint)$filter)" cn keywords \
		2>/dev/null | unfold
}

# A member's record is named after its host (m1.<dns domain>).
member_keywords()
{
	scp_keywords "(serviceClassName=samba-asa-member)(cn=$1.$LOWER)" |
		sed -n 's/^keywords: //p'
}

# member_status_is LATEST PREVIOUS: every member's record says so.
member_status_is()
{
	local m kw rc=0

	for m in "${MEMBERS[@]}"; do
		kw=$(member_keywords "$m")
		echo "$m: $(echo "$kw" | tr '\n' ' ')"
		grep -qx "latest_kvno=$1" <<<"$kw" || rc=1
		grep -qx "previous_kvno=$2" <<<"$kw" || rc=1
	done
	return $rc
}

member_error_recorded()
{
	local kw

	kw=$(member_keywords "$1")
	echo "$kw"
	grep -q "^last_error=." <<<"$kw"
}

# member_stale_is MEMBER true|false
member_stale_is()
{
	local kw

	kw=$(member_keywords "$1")
	echo "$kw"
	if [ "$2" = true ]; then
		grep -qiE "^stale=(1|true|yes)$" <<<"$kw"
	else
		! grep -qiE "^stale=(1|true|yes)$" <<<"$kw"
	fi
}

last_roll_recent()
{
	local kw t now

	kw=$(scp_keywords "(serviceClassName=samba-asa)" |
		sed -n 's/^keywords: //p')
	echo "$kw"
	t=$(sed -n 's/^last_roll=//p' <<<"$kw")
	now=$(date +%s)
	[ -n "$t" ] && [ "$t" -le "$now" ] && [ "$t" -gt $((now - 3600)) ]
}

# The member's forced command as the array set it up.
member_command()
{
	local m=$1 c=$SELFTEST_ARRAY_FORCED_COMMAND

	c=${c//%k/$(member_var KEYTAB "$m")}
	echo "${c//%m/$m}"
}

member_authorize()
{
	local m=$1 dir=$SELFTEST_ARRAY_DIR/$1

	array_key_line "$SELFTEST_ARRAY_DIR/dc_ssh_key.pub" "$2" \
		>"$dir/authorized_keys.new" &&
	mv -f "$dir/authorized_keys.new" "$dir/authorized_keys"
}

# member_slow MEMBER SECONDS: its forced command waits first.
member_slow()
{
	member_authorize "$1" "sleep $2; $(member_command "$1")"
}

# member_down MEMBER: its sshd stopped (connections refused).
member_down()
{
	local dir=$SELFTEST_ARRAY_DIR/$1 pid

	read -r pid <"$dir/sshd.pid" || return 1
	grep -qF "$dir/sshd_config" "/proc/$pid/cmdline" ||
		{ echo "pid $pid is not $1's sshd"; return 1; }
	kill "$pid"
	while kill -0 "$pid" 2>/dev/null; do
		sleep 0.1
	done
	echo "stopped sshd of $1 (pid $pid)"
}

# member_up MEMBER: its sshd running and its forced command the array's.
member_up()
{
	local m=$1 dir=$SELFTEST_ARRAY_DIR/$1 pid ip i

	member_authorize "$m" "$(member_command "$m")" || return 1
	# sshd removes its PidFile when it stops
	pid=""
	[ -s "$dir/sshd.pid" ] && read -r pid <"$dir/sshd.pid"
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		return 0
	fi
	ip=$(member_var IP "$m")
	if [ -n "${SELFTEST_NETNS:-}" ]; then
		ip netns exec "$SELFTEST_NETNS" /usr/sbin/sshd -D \
			-f "$dir/sshd_config" -E "$dir/sshd.log" \
			</dev/null >>"$dir/sshd.out" 2>&1 &
	else
		/usr/sbin/sshd -D -f "$dir/sshd_config" -E "$dir/sshd.log" \
			</dev/null >>"$dir/sshd.out" 2>&1 &
	fi
	echo "$!" >"$dir/sshd.pid"
	for i in $(seq 100); do
		if nsx bash -c "exec 3<>/dev/tcp/$ip/22" 2>/dev/null; then
			echo "sshd of $m is back (pid $(cat "$dir/sshd.pid"))"
			return 0
		fi
		sleep 0.1
	done
	echo "sshd of $m did not come back"
	return 1
}

# The asa_roll service, for the suites that run it: $LOG is the samba log
# it writes to (samba -i logs to standard output: the DC's samba.out),
# $SAMBA_PID (if set) the samba a wait gives up on when it dies.

# wait_for SECONDS FUNCTION ARGS...: poll until FUNCTION succeeds (quietly);
# then run it once more for the report.  Gives up when samba has died.
wait_for()
{
	local limit=$1 i
	shift
	for i in $(seq 1 $((limit * 2))); do
		if "$@" >/dev/null 2>&1; then
			"$@"
			return 0
		fi
		if [ -n "${SAMBA_PID:-}" ] && [ ! -e "/proc/$SAMBA_PID" ]; then
			echo "samba (pid $SAMBA_PID) has died"
			return 1
		fi
		sleep 0.5
	done
	"$@"
	echo "still not true after $limit s"
	return 1
}

# The service's roll[PID] lines, from line FROM of the log on.
log_from()
{
	tail -n +"$1" "$LOG" | grep -a 'asa_roll'
}

log_lines()
{
	wc -l <"$LOG"
}

# log_has_from FROM PATTERN
log_has_from()
{
	log_from "$1" | grep -aE -- "$2" | tail -3
	log_from "$1" | grep -aqE -- "$2"
}

# rolled_in_log FROM: a run after line FROM rolled NAME and finished
# with exit status 0.
rolled_in_log()
{
	local pid

	pid=$(log_from "$1" | grep -aE "roll\\[[0-9]+\\]: $NAME: due, rolling" |
		tail -1 | grep -oE 'roll\[[0-9]+\]' | grep -oE '[0-9]+')
	[ -n "$pid" ] || { echo "no run rolled $NAME"; return 1; }
	log_from "$1" | grep -aE "roll\\[$pid\\]"
	log_from "$1" | grep -aqE "roll\\[$pid\\] finished: exit status 0"
}

kvno_is()
{
	local now
	now=$(dir_kvno "$NAME")
	echo "kvno $now, wanted $1"
	[ "$now" = "$1" ]
}

# Tell samba-asa how to reach the members: the DC's key and the members'
# host keys the array made (smb.conf, as an administrator would).
roll_smb_conf()
{
	local line

	for line in "asa:ssh identity = $SELFTEST_ARRAY_SSH_KEY" \
		    "asa:ssh known hosts = $SELFTEST_ARRAY_SSH_KNOWN_HOSTS" \
		    "$@"; do
		grep -qF "	$line" "$SMB_CONF_PATH" ||
			sed -i "/^\[global\]/a \\	$line" "$SMB_CONF_PATH"
	done
}

# create_asa NAME: the ASA with the seed's SPNs on every member.
create_asa()
{
	local args=() s m

	for s in "${SPNS[@]}"; do
		args+=(--spn "$s")
	done
	for m in "${MEMBERS[@]}"; do
		args+=(--member "$(member_var URL "$m")")
	done
	asa create "$1" "${args[@]}" "${LOCAL[@]}"
}

# roll_setup PREFIX: NAME, ASA_DN, and the ASA on every member.
roll_setup()
{
	local out

	NAME=$1$$
	echo "test: setup"
	out=$(
		set -e
		roll_smb_conf
		rl_kinit "$TMP/ccache"
		create_asa "$NAME"
		for m in "${MEMBERS[@]}"; do
			nsx klist -k "$(member_var KEYTAB "$m")"
		done
	) 2>&1
	if [ $? != 0 ]; then
		echo "failure: setup ["
		printf '%s\n' "$out" | sed 's/^/ /'
		echo "]"
		exit 1
	fi
	echo "success: setup"
	ASA_DN=$(nsx ldbsearch -H "$SAM" "(sAMAccountName=$NAME\$)" dn \
		2>/dev/null | unfold | sed -n 's/^dn: //p')
}

roll_teardown()
{
	local m

	for m in "${MEMBERS[@]}"; do
		member_up "$m" >/dev/null 2>&1
	done
}
