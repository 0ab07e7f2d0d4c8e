#!/bin/bash
# selftest/fleet.sh: a fleet of array members, many and cheap, for the
# fleet benchmark (selftest/bench/bench_fleet.sh) and its smoke suite.
#
# Used two ways:
#   source selftest/fleet.sh          (fleet_start, fleet_stop)
#   bash selftest/fleet.sh start INSTANCE N
#   bash selftest/fleet.sh stop INSTANCE
#
# INSTANCE is a running ad_dc (selftest/env.sh start).  "start" adds, in the
# DC's network namespace, members f1..fN (N at most 250) on 127.0.1.1..,
# each with its own sshd (port 22, its own host key) and nothing else: no
# Apache, no load balancer, no DNS records (fN.<dns domain> is in the
# namespace's hosts file, which is all ssh needs).  The DC reaches them as
# it reaches real members: samba-asa's own SSH identity and known_hosts in
# <private dir>/asa (made by `samba-asa member setup`, the members' host
# keys added), and on each member the line `member setup` prints,
# authorising that key for the member program only, with keytab
# INSTANCE/fleet/fN/http.keytab.  The member program is the one `member
# setup` names (samba-asa-member, built beside samba-asa), or
# $FLEET_MEMBER_PROGRAM (a path) when set.
#
# The sshds start all at once and are stopped by the PIDs recorded in
# INSTANCE/fleet/fN/sshd.pid (with their sessions, and only processes that
# still run one of our files); a start that fails stops what it started.
# Most of the work is array.sh's (sourced): its sshd configuration, PID
# bookkeeping and process checks.
#
# "start" appends to INSTANCE/environ: SELFTEST_FLEET_DIR,
# SELFTEST_FLEET_MEMBERS ("f1=127.0.1.1 f2=..."), SELFTEST_FLEET_URLS (the
# members' URLs, space-separated) and FLEET_START_SECONDS.

FLEET_REPO=${FLEET_REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
ARRAY_REPO=$FLEET_REPO
# shellcheck source=selftest/array.sh
. "$FLEET_REPO/selftest/array.sh"

FLEET_MAX=250
FLEET_TAG="# ad_dc_fleet"	# marks our lines in hosts and known_hosts
FLEET_SAMBA_ASA=$FLEET_REPO/bin/tools/samba-asa

fleet_err()
{
	echo "selftest/fleet.sh: $*" >&2
	return 1
}

# Remove our lines from FILE in place: the namespace's hosts file is
# bind-mounted over /etc/hosts of every process already in the namespace
# (a suite, when it starts the fleet itself), and sed -i would replace it
# with a file they do not see.
fleet_drop_lines()
{
	local file=$1 kept

	[ -e "$file" ] || return 0
	kept=$(grep -vF "$FLEET_TAG" "$file")
	printf '%s\n' "$kept" >"$file"
}

# Wait until the sshd of every member of FDIR (N of them) listens on its
# address in namespace NS: the very process of its pidfile, not another
# (an address someone else listens on is a failed start).  Generous: a
# loaded machine starts 100 sshds slowly.
fleet_wait_sshd()
{
	local ns=$1 fdir=$2 n=$3 t i pid state addr users missing
	local -A by_addr

	for ((t = 0; t < 600; t++)); do
		by_addr=()
		while read -r state _ _ addr _ users; do
			by_addr[$addr]=$users
		done < <(ip netns exec "$ns" ss -ltnpH 2>/dev/null)
		missing=0
		for ((i = 1; i <= n; i++)); do
			read -r pid <"$fdir/f$i/sshd.pid"
			[[ ${by_addr[127.0.1.$i:22]:-} == *"pid=$pid,"* ]] &&
				continue
			array_any_alive "$pid" || {
				fleet_err "the sshd of f$i has gone:" \
					"$(tail -n 2 "$fdir/f$i/sshd.log")"
				return 1; }
			missing=$((missing + 1))
		done
		[ "$missing" = 0 ] && return 0
		sleep 0.1
	done
	fleet_err "$missing sshds do not listen after 60 s"
}

fleet_start()
{
	local inst=$1 n=$2 t0 rc

	[ "$(id -u)" = 0 ] || { fleet_err "must run as root"; return 1; }
	[[ $inst == /* ]] ||
		{ fleet_err "$inst: an absolute path, please"; return 1; }
	[[ $n =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] && [ "$n" -le $FLEET_MAX ] ||
		{ fleet_err "N must be 1..$FLEET_MAX, not '$n'"; return 1; }
	array_read_environ "$inst" ||
		{ fleet_err "no ad_dc in $inst (no environ)"; return 1; }
	t0=$EPOCHREALTIME
	fleet_stop "$inst"
	mkdir -p "$inst/fleet"
	fleet_start_members "$inst" "$n"
	rc=$?
	if [ "$rc" != 0 ]; then
		fleet_err "start failed, stopping what was started"
		fleet_stop "$inst"
		return "$rc"
	fi
	echo "FLEET_START_SECONDS=$(array_elapsed "$t0" "$EPOCHREALTIME")" \
		>>"$inst/environ"
}

fleet_start_members()
{
	local inst=$1 n=$2 fdir=$1/fleet i name ip mdir line hostkey
	local ns=${ARRAY_ENV[SELFTEST_NETNS]:-} lower=${ARRAY_ENV[DNSNAME]:-}
	local smb_conf=${ARRAY_ENV[SMB_CONF_PATH]:-} known pids=()
	local members="" urls="" setup=()

	[ -n "$ns" ] && [ -e "/run/netns/$ns" ] ||
		{ fleet_err "the namespace '$ns' of $inst does not exist"; return 1; }
	[ -n "$lower" ] && [ -n "$smb_conf" ] ||
		{ fleet_err "$inst/environ lacks DNSNAME or SMB_CONF_PATH"; return 1; }
	known=$inst/private/asa/known_hosts

	# Addresses in one ip process: a fork per address costs seconds at
	# 100 members on a loaded machine.
	for ((i = 1; i <= n; i++)); do
		echo "addr replace 127.0.1.$i/8 dev lo"
	done | ip -n "$ns" -batch - ||
		{ fleet_err "cannot add the members' addresses in $ns"; return 1; }

	# One authorized_keys line from `member setup` (which also makes the
	# DC's key), made each member's by its keytab path.
	setup=("$FLEET_SAMBA_ASA" member setup -s "$smb_conf"
	       "--keytab=$fdir/MEMBER/http.keytab")
	[ -n "${FLEET_MEMBER_PROGRAM:-}" ] &&
		setup+=("--command=$FLEET_MEMBER_PROGRAM")
	line=$("${setup[@]}") && [ -n "$line" ] ||
		{ fleet_err "samba-asa member setup failed"; return 1; }
	[[ $line == *"$fdir/MEMBER/http.keytab"* ]] ||
		{ fleet_err "member setup printed no keytab path: $line"
		  return 1; }

	# The host keys, all at once.
	for ((i = 1; i <= n; i++)); do
		mdir=$fdir/f$i
		mkdir -p "$mdir"
		ssh-keygen -q -t ed25519 -N '' -C "f$i.$lower" \
			-f "$mdir/ssh_host_ed25519_key" </dev/null &
		pids+=($!)
	done
	for i in "${pids[@]}"; do
		wait "$i" || { fleet_err "ssh-keygen failed"; return 1; }
	done

	mkdir -p /run/sshd	# sshd's privilege separation directory
	fleet_drop_lines "/etc/netns/$ns/hosts"
	fleet_drop_lines "$known"
	for ((i = 1; i <= n; i++)); do
		name=f$i
		ip=127.0.1.$i
		mdir=$fdir/$name
		read -r hostkey <"$mdir/ssh_host_ed25519_key.pub"
		hostkey=${hostkey% *}	# without the comment
		echo "$name.$lower,$name,$ip $hostkey $FLEET_TAG" >>"$known"
		echo "$ip	$name.$lower $name $FLEET_TAG" \
			>>"/etc/netns/$ns/hosts"
		echo "${line//\/MEMBER\///$name/}" >"$mdir/authorized_keys"
		array_write_sshd_config "$mdir" "$ip"
		# "ip netns exec" execs its command: $! is sshd itself.
		ip netns exec "$ns" /usr/sbin/sshd -D -f "$mdir/sshd_config" \
			-E "$mdir/sshd.log" </dev/null >"$mdir/sshd.out" 2>&1 &
		echo "$!" >"$mdir/sshd.pid"
		members="$members${members:+ }$name=$ip"
		urls="$urls${urls:+ }ssh://root@$name.$lower$mdir/http.keytab"
	done

	fleet_wait_sshd "$ns" "$fdir" "$n" || return 1

	sed -i -e '/^SELFTEST_FLEET_/d' -e '/^FLEET_START_SECONDS=/d' \
		"$inst/environ"
	cat >>"$inst/environ" <<EOF
SELFTEST_FLEET_DIR=$fdir
SELFTEST_FLEET_MEMBERS=$members
SELFTEST_FLEET_URLS=$urls
EOF
}

fleet_stop()
{
	local inst=$1 fdir=$1/fleet ns=""

	[ -d "$fdir" ] || return 0
	array_stop_daemons "$fdir" "$fdir"/*/sshd.pid
	rm -f "$fdir"/*/sshd.pid
	array_read_environ "$inst" && ns=${ARRAY_ENV[SELFTEST_NETNS]:-}
	[ -n "$ns" ] && fleet_drop_lines "/etc/netns/$ns/hosts"
	fleet_drop_lines "$inst/private/asa/known_hosts"
	rm -rf "$fdir"
	return 0
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -u
	case "${1:-}:$#" in
	start:3)	fleet_start "$(cd "$2" && pwd)" "$3" ;;
	stop:2)		fleet_stop "$(cd "$2" && pwd)" ;;
	*)	echo "usage: $0 start INSTANCE N | stop INSTANCE" >&2
		exit 2 ;;
	esac
fi
