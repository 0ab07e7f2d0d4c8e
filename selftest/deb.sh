#!/bin/bash
# selftest/deb.sh (make test-deb): the Debian package samba-asa as an
# administrator meets it, in a throwaway Debian root with a DC inside: a
# Debian 12 root for a package built on Debian 12 (Samba 4.17), a Debian
# 13 one for a package built on Debian 13 (Samba 4.22, make deb-debian13).
#
#   bash selftest/deb.sh [PACKAGE.deb]	(default: bin/deb/samba-asa_*.deb)
#   bash selftest/deb.sh --upgrade DEBIAN12.deb DEBIAN13.deb
#					(make test-deb-upgrade)
#
# The root is a debootstrap of the package's release (the Debian release
# of the samba-libs it depends on) with samba's DC packages, made once and
# kept in $SAMBA_ASA_ROOT_CACHE (default /var/cache/samba-asa) as
# deb-<release>-samba-<version>-<hash> (a few minutes, from the Debian
# mirror the host's apt uses; selftest/root.sh); each run mounts an
# overlay on it, so the cached root stays clean.  In it: a DC provisioned
# with the system's default paths (/etc/samba/smb.conf, /var/lib/samba),
# run `samba -i -M single` in a network namespace of this run on
# 127.0.0.21, and then
#   install (the running DC unchanged), enable both parts, use them (a
#   duplicate SPN refused with 000021C7 through samba-tool spn add,
#   samba-asa status, the asa_roll service started; samba-asa-member on a
#   member without Samba, pushed to: selftest/deb_member.sh), removal
#   refused while smb.conf starts asa_roll, remove with samba running (the
#   module taken out of @MODULES), samba, ldbsearch and dbcheck starting
#   cleanly without it; install again, enable, purge (index and
#   private/asa/ gone), start cleanly again.
# With --upgrade, the DC (in a Debian 12 root) is moved to Debian 13 with
# the package installed instead: selftest/deb_upgrade.sh says how.
# Tests are reported in subunit v1; the last line is "N passed, N failed".
#
# Everything runs in a mount namespace of its own (every mount goes with
# it, however the run ends) and the trap stops samba by its PID, whatever
# is left in the network namespace, and deletes it.
#
# This program is free software; you can redistribute it and/or modify
# it under the terms of the GNU General Public License as published by
# the Free Software Foundation; either version 3 of the License, or
# (at your option) any later version.

set -u

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$REPO/selftest/root.sh"

die() { echo "deb.sh: $*" >&2; exit 2; }
[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, mounts, netns)"

# Mounts made from here on vanish with this namespace.
root_unshare "${BASH_SOURCE[0]}" "$@"

# --upgrade: selftest/deb_upgrade.sh's test instead of the package's life.
DEB13=""
if [ "${1:-}" = --upgrade ]; then
	[ $# = 3 ] && [ -f "$2" ] && [ -f "$3" ] ||
		die "usage: deb.sh --upgrade DEBIAN12.deb DEBIAN13.deb"
	DEB13=$(realpath "$3")
	shift
fi
DEB=${1:-$(ls -t "$REPO"/bin/deb/samba-asa_*.deb 2>/dev/null | head -1)}
[ -n "$DEB" ] && [ -f "$DEB" ] || die "no package: run make deb"
DEB=$(realpath "$DEB")
# samba-asa depends on samba-asa-member of its version, built beside it.
MEMBER_DEB=$(dirname "$DEB")/$(basename "$DEB" |
	sed 's/^samba-asa_/samba-asa-member_/')
[ -f "$MEMBER_DEB" ] || die "no $MEMBER_DEB beside $DEB"

SAMBA_VERSION=$(dpkg-deb -f "$DEB" Depends |
	sed -n 's/.*samba-libs (= \([^)]*\)).*/\1/p')
[ -n "$SAMBA_VERSION" ] || die "$DEB names no samba-libs version"
case "$SAMBA_VERSION" in
*deb12*)	DIST=bookworm; ICU=libicu72 ;;
*deb13*)	DIST=trixie; ICU=libicu76 ;;
*)		die "samba-libs $SAMBA_VERSION is neither Debian 12's nor 13's" ;;
esac
[ -z "$DEB13" ] || [ "$DIST" = bookworm ] ||
	die "--upgrade: $DEB is not a Debian 12 package"

# The DC's own packages; ldb-tools for ldbsearch; krb5-user for kinit;
# the libraries samba-asa needs beyond samba's, so that installing the
# package needs no download.
ROOT_PACKAGES="samba samba-ad-dc samba-ad-provision samba-dsdb-modules
winbind python3-samba ldb-tools krb5-user openssh-client $ICU liblmdb0"
# One root per samba version and package list.
BASE="$ROOT_CACHE/deb-$DIST-samba-${SAMBA_VERSION//[:+~]/_}-$(echo \
	$ROOT_PACKAGES | md5sum | cut -c1-8)"
WORK="$REPO/st/deb.$$"
ROOT="$WORK/root"
NS="asa-deb-$$"
IP=127.0.0.21
REALM=DEB.TEST
DOMAIN=DEB
PW="Deb-$(head -c 12 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')-9a"
PRIV=/var/lib/samba/private
SAMBA_PID=""
SAMBA_RUNS=0
T0=$(date +%s)

mkdir -p "$WORK"

# ---- the cached root --------------------------------------------------

# root_make's last step: samba must be the version the package was built
# against.
check_base()
{
	local got
	got=$(root_chroot "$1" dpkg-query -W -f='${Version}' samba-libs)
	[ "$got" = "$SAMBA_VERSION" ] && return 0
	echo "deb.sh: the mirror's samba-libs is $got, the package was" \
	     "built against $SAMBA_VERSION: rebuild it (make deb) on a host" \
	     "with the mirror's samba" | tee /dev/stderr
	return 1
}

# ---- run it: the overlay, mounts, netns -------------------------------

cleanup()
{
	local p
	stop_samba
	if ip netns list 2>/dev/null | grep -qw "$NS"; then
		for p in $(ip netns pids "$NS" 2>/dev/null); do
			kill -KILL "$p" 2>/dev/null
		done
		ip netns del "$NS" 2>/dev/null
	fi
	root_cleanup "$WORK"
}

# inroot CMD...: in the root, on the host's network (apt only).
inroot() { root_chroot "$ROOT" "$@"; }
# innet CMD...: in the root, in this run's network namespace.
innet() { ip netns exec "$NS" chroot "$ROOT" "${ROOT_ENV[@]}" "$@"; }

start_samba()
{
	local out i
	SAMBA_RUNS=$((SAMBA_RUNS + 1))
	out="$WORK/samba.$SAMBA_RUNS.out"
	rm -f "$WORK/samba.stdin"
	mkfifo "$WORK/samba.stdin"
	# samba -i stops at the end of its input: a writer held open here,
	# so samba goes too should this script be killed.
	exec 8<>"$WORK/samba.stdin"
	setsid ip netns exec "$NS" chroot "$ROOT" "${ROOT_ENV[@]}" \
		samba -i -M single -d "${SAMBA_LOG_LEVEL:-3}" \
		< "$WORK/samba.stdin" > "$out" 2>&1 &
	SAMBA_PID=$!
	LOG=$out
	for i in $(seq 1 120); do
		if ! kill -0 "$SAMBA_PID" 2>/dev/null; then
			echo "samba exited at start (log $out):"
			tail -20 "$out"
			SAMBA_PID=""
			return 1
		fi
		if innet ldbsearch -H "ldap://$IP" -b '' -s base \
			dnsHostName >/dev/null 2>&1; then
			echo "samba (pid $SAMBA_PID) answers LDAP"
			return 0
		fi
		sleep 0.5
	done
	echo "samba did not answer LDAP within 60 s (log $out)"
	return 1
}

# Stop samba's process group (smbd and winbindd go with it) by its PID.
stop_samba()
{
	local i
	[ -n "$SAMBA_PID" ] || return 0
	kill -TERM -- "-$SAMBA_PID" 2>/dev/null
	for i in $(seq 1 40); do
		kill -0 -- "-$SAMBA_PID" 2>/dev/null || break
		sleep 0.25
	done
	kill -KILL -- "-$SAMBA_PID" 2>/dev/null
	wait "$SAMBA_PID" 2>/dev/null
	exec 8>&-
	SAMBA_PID=""
}

# ---- reporting --------------------------------------------------------

# common.sh's result/check/expect, for a DC at these paths.
SERVER_IP=$IP DC_USERNAME=Administrator DC_PASSWORD=$PW
PREFIX_ABS=$ROOT/var/lib/samba SMB_CONF_PATH=$ROOT/etc/samba/smb.conf
KRB5_CONFIG=$ROOT/etc/krb5.conf
. "$REPO/selftest/subunit.sh"
. "$REPO/selftest/suites/common.sh"
PASSED=0
FINISHED=0
# However the run ends, the mounts, samba and the namespace go, and the
# last line is the count (an unfinished run counts as one failure more).
on_exit()
{
	cleanup
	rm -rf "$TMP"
	if [ "$FINISHED" = 0 ]; then
		echo "deb.sh: stopped before the end" >&2
		echo "$PASSED passed, $((FAILED + 1)) failed"
	fi
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP
result()
{
	local name=$1 ok=$2 out=$3
	if [ "$ok" = 1 ]; then
		PASSED=$((PASSED + 1))
		subunit_pass_test "$name"
	else
		FAILED=$((FAILED + 1))
		subunit_fail_test "$name" "$out"
	fi
}
finish()
{
	FINISHED=1
	echo "deb.sh: $(( $(date +%s) - T0 )) s in all" >&2
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" = 0 ]
	exit
}
# step NAME COMMAND...: like check, but COMMAND runs in this shell (it may
# start or stop samba, whose PID must stay known here).
step()
{
	local name=$1
	shift
	subunit_start_test "$name"
	if "$@" > "$TMP/step.out" 2>&1; then
		result "$name" 1 ""
	else
		result "$name" 0 "$(cat "$TMP/step.out")"
		return 1
	fi
}
# fatal NAME DETAILS: a step the rest depends on failed.
fatal()
{
	result "$1" 0 "$2"
	finish
}

# ---- set up -----------------------------------------------------------

if [ ! -d "$BASE" ]; then
	t=$(date +%s)
	echo "deb.sh: making the $DIST root in $ROOT_CACHE (once)" >&2
	root_make "$BASE" "$DIST" "$ROOT_CACHE/root-deb-$DIST.log" \
		--no-install-recommends "$ROOT_PACKAGES" check_base ||
		die "making the $DIST root failed" \
		    "(log: $ROOT_CACHE/root-deb-$DIST.log)"
	# Roots of other samba versions or package lists are of no more use.
	root_prune "$BASE" "deb-$DIST-samba-*"
	echo "deb.sh: root made in $(( $(date +%s) - t )) s" >&2
fi
root_mount "$BASE" "$WORK" || die "cannot mount the overlay on $ROOT"
cp "$DEB" "$MEMBER_DEB" "$ROOT/tmp/"
PKG=/tmp/$(basename "$DEB")
MPKG=/tmp/$(basename "$MEMBER_DEB")

ip netns add "$NS" || die "cannot add network namespace $NS"
ip netns exec "$NS" ip link set lo up
ip netns exec "$NS" ip addr add "$IP/8" dev lo

cat > "$ROOT/etc/hosts" <<EOF
127.0.0.1 localhost
$IP dc1.${REALM,,} dc1
EOF
echo "nameserver $IP" > "$ROOT/etc/resolv.conf"
echo dc1 > "$ROOT/etc/hostname"
cat > "$ROOT/etc/krb5.conf" <<EOF
[libdefaults]
	default_realm = $REALM
	dns_lookup_kdc = false
	dns_lookup_realm = false
	rdns = false
[realms]
	$REALM = {
		kdc = $IP
	}
EOF

# A DC as an administrator makes one: the package's smb.conf moved away,
# provision with the default paths.
subunit_start_test "provision"
t=$(date +%s)
mv "$ROOT/etc/samba/smb.conf" "$ROOT/etc/samba/smb.conf.orig" 2>/dev/null
if ! out=$(innet samba-tool domain provision --realm="$REALM" \
	--domain="$DOMAIN" --adminpass="$PW" --server-role=dc \
	--dns-backend=SAMBA_INTERNAL --host-name=dc1 --host-ip="$IP" \
	--option="interfaces = $IP" --option="bind interfaces only = yes" \
	--option="dns forwarder = $IP" 2>&1); then
	fatal provision "$out"
fi
result provision 1 ""
echo "deb.sh: provisioned in $(( $(date +%s) - t )) s" >&2

sam_list()
{
	innet ldbsearch -H "$PRIV/sam.ldb" -b @MODULES -s base @LIST |
		sed -n 's/^@LIST: //p'
}

step "samba starts (stock)" start_samba || finish

if [ -n "$DEB13" ]; then
	. "$REPO/selftest/deb_upgrade.sh"
	stop_samba
	finish
fi

# ---- install: the running DC unchanged --------------------------------

conf_sum=$(md5sum < "$ROOT/etc/samba/smb.conf")
list_before=$(sam_list)
expect "install (apt-get install ./samba-asa.deb ./samba-asa-member.deb)" \
	0 "" -- inroot apt-get install -y -q "$PKG" "$MPKG"
check_unchanged()
{
	local now
	now=$(sam_list)
	echo "@LIST before: $list_before, after: $now"
	[ "$now" = "$list_before" ] || return 1
	[ "$(md5sum < "$ROOT/etc/samba/smb.conf")" = "$conf_sum" ] ||
		{ echo "smb.conf changed"; return 1; }
	kill -0 "$SAMBA_PID" || { echo "samba ($SAMBA_PID) is gone"; return 1; }
	innet ldbsearch -H "ldap://$IP" -b '' -s base dnsHostName
}
check "installing changed nothing on the running DC" check_unchanged
files_present()
{
	local f
	for f in /usr/bin/samba-asa \
		/usr/lib/x86_64-linux-gnu/samba/ldb/unique_principal_names.so \
		/usr/lib/x86_64-linux-gnu/samba/service/asa_roll.so \
		/usr/lib/python3/dist-packages/samba/netcmd/asa.py \
		/usr/sbin/samba-asa-member \
		/usr/libexec/samba-asa/before-remove \
		/usr/libexec/samba-asa/apt-check \
		/etc/apt/apt.conf.d/50samba-asa \
		/usr/share/man/man8/samba-asa.8.gz; do
		[ -e "$ROOT$f" ] && echo "$f" || { echo "missing: $f"; return 1; }
	done
}
check "the package's files are in place" files_present
# The test suite's hooks exist only in a build configured for tests.
no_test_hooks()
{
	! grep -a 'SAMBA_ASA_TEST' "$ROOT/usr/bin/samba-asa"
}
check "the packaged samba-asa has no test hooks" no_test_hooks
expect "samba-tool asa (the front) answers" 0 "samba-asa" -- \
	innet samba-tool asa --help

# ---- enable both parts, use them --------------------------------------

stop_samba
expect "samba-asa enable" 0 "Enabled unique_principal_names" -- \
	innet samba-asa enable
sed -i "/^\[global\]/a\\	server services = +asa_roll" \
	"$ROOT/etc/samba/smb.conf"
step "samba starts with both parts" start_samba
expect "asa_roll started inside samba" 0 "asa_roll: started" -- \
	grep -m1 "asa_roll: started" "$LOG"

CRED=(-H "ldap://$IP" -U"Administrator%$PW")
for u in websvc1 websvc2; do
	innet samba-tool user create "$u" --random-password "${CRED[@]}" \
		>/dev/null 2>&1
done
expect "spn add to the first account" 0 "" -- \
	innet samba-tool spn add "http/mail.${REALM,,}" websvc1 "${CRED[@]}"
# Full-width letters: the same name to Windows, another to samba-tool's own
# check and to stock Samba; the DC's module refuses it.
WIDE="ｈｔｔｐ/mail.${REALM,,}"
expect "a duplicate SPN refused with 000021C7 (samba-tool spn add)" nz \
	"000021C7" -- innet samba-tool spn add "$WIDE" websvc2 "${CRED[@]}"
expect "samba-asa spn query names the holder" 1 "websvc1" -- \
	innet samba-asa spn query "http/mail.${REALM,,}"
expect "samba-asa status" 0 "" -- innet samba-asa status
expect "samba-tool asa status" 0 "" -- innet samba-tool asa status
expect "samba-asa member install runs samba-asa-member (the alias)" 0 \
	"^samba-asa-member .*protocol" -- innet samba-asa member install \
	--version
. "$REPO/selftest/deb_member.sh"

# ---- removal ----------------------------------------------------------

expect "removal refused while smb.conf starts asa_roll" nz \
	"server services" -- inroot apt-get remove -y -q samba-asa
still_enabled()
{
	local st list
	st=$(inroot dpkg-query -W -f='${db:Status-Abbrev}' samba-asa)
	list=$(sam_list)
	echo "dpkg: '$st', @LIST: $list"
	[ "$st" = "ii " ] && [[ "$list" == *unique_principal_names* ]] &&
		kill -0 "$SAMBA_PID"
}
check "after the refusal: installed, enabled, samba running" still_enabled

# The administrator's part: asa_roll out of smb.conf, samba restarted.
sed -i '/server services = +asa_roll/d' "$ROOT/etc/samba/smb.conf"
stop_samba
step "samba restarts without asa_roll" start_samba
expect "remove with samba running disables the module" 0 \
	"Disabled unique_principal_names" -- \
	inroot apt-get remove -y -q samba-asa
removed()
{
	local st list
	st=$(inroot dpkg-query -W -f='${db:Status-Abbrev}' samba-asa)
	list=$(sam_list) || { echo "ldbsearch on sam.ldb failed"; return 1; }
	echo "dpkg: '$st', @LIST: $list"
	[ ! -e "$ROOT/etc/apt/apt.conf.d/50samba-asa" ] ||
		{ echo "apt's hook left behind"; return 1; }
	[ "$st" = "rc " ] && [[ "$list" != *unique_principal_names* ]] &&
		[ ! -e "$ROOT/usr/lib/x86_64-linux-gnu/samba/ldb/unique_principal_names.so" ]
}
check "removed: the module out of @MODULES, ldbsearch opens sam.ldb" removed
expect "the running samba still answers" 0 "dnsHostName" -- \
	innet ldbsearch -H "ldap://$IP" -b '' -s base dnsHostName

clean_start()
{
	stop_samba
	start_samba || return 1
	if grep -E "Failed to start service|unable to stat|Unable to find|module.*not found" "$LOG"; then
		return 1
	fi
}
step "samba starts cleanly after removal" clean_start
expect "samba-tool dbcheck after removal" 0 "0 errors" -- \
	innet samba-tool dbcheck --cross-ncs
expect "without the module, stock Samba accepts the full-width SPN" 0 "" \
	'!000021C7' -- innet samba-tool spn add "$WIDE" websvc2 "${CRED[@]}"

# ---- purge ------------------------------------------------------------

expect "install again" 0 "" -- inroot apt-get install -y -q "$PKG"
stop_samba
expect "enable again" 0 "Enabled" -- innet samba-asa enable
expect "samba-asa member setup makes the DC's key" 0 "ssh-ed25519" -- \
	innet samba-asa member setup
step "samba starts with the module again" start_samba
innet samba-tool spn add "http/web.${REALM,,}" websvc2 "${CRED[@]}" \
	>/dev/null 2>&1
has_state()
{
	ls -ld "$ROOT$PRIV/unique_principal_names.mdb" "$ROOT$PRIV/asa"
}
check "before purge: the module's index and private/asa exist" has_state
expect "purge with samba running" 0 "Disabled unique_principal_names" -- \
	inroot apt-get purge -y -q samba-asa
purged()
{
	local st list f
	st=$(inroot dpkg-query -W -f='${db:Status-Abbrev}' samba-asa \
		2>/dev/null)
	list=$(sam_list) || { echo "ldbsearch on sam.ldb failed"; return 1; }
	echo "dpkg: '$st', @LIST: $list"
	for f in "$ROOT$PRIV"/unique_principal_names.* "$ROOT$PRIV/asa"; do
		[ ! -e "$f" ] || { echo "left behind: $f"; return 1; }
	done
	[ -z "$st" ] || [ "$st" = "un " ] || [ "$st" = "pn " ] || return 1
	[[ "$list" != *unique_principal_names* ]]
}
check "purged: no package, no index, no private/asa" purged
step "samba starts cleanly after purge" clean_start
expect "samba-tool dbcheck after purge" 0 "0 errors" -- \
	innet samba-tool dbcheck --cross-ncs
stop_samba
finish
