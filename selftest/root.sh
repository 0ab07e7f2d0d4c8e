# selftest/root.sh: throwaway Debian roots for the tests that need another
# Debian than the host's, or a clean one (selftest/deb.sh,
# selftest/debian13.sh, selftest/deb_upgrade.sh).  Sourced; functions only.
#
# A root is a debootstrap of a Debian release with a list of packages,
# made once and cached in $ROOT_CACHE (SAMBA_ASA_ROOT_CACHE, default
# /var/cache/samba-asa, outside the checkout) under a name its maker keys
# by its recipe.  A run never writes to the cached root: it mounts an
# overlay on it in a work directory of its own, with what a booted system
# has (/proc, /sys, /dev's nodes, /dev/shm, /dev/pts, a /run tmpfs), and
# throws the overlay away at the end.  The archive is reached through a
# sources.list written into the root (SAMBA_ASA_DEBIAN_MIRROR, default the
# Debian mirror the host's apt uses); the host's apt configuration is
# never touched.
#
# The caller runs in a mount namespace of its own (root_unshare), so every
# mount goes with it however the run ends; root_cleanup unmounts in order
# for a clean end.
#
# This program is free software; you can redistribute it and/or modify
# it under the terms of the GNU General Public License as published by
# the Free Software Foundation; either version 3 of the License, or
# (at your option) any later version.

ROOT_CACHE=${SAMBA_ASA_ROOT_CACHE:-/var/cache/samba-asa}
# A root being made (root_cleanup removes it should the run end first).
ROOT_NEW=""

# root_host_mirror [security]: the Debian mirror the host's apt uses (or
# its security mirror), deb.debian.org's if it names none.
root_host_mirror()
{
	local u
	u=$( (grep -h '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null |
	      awk '{print $2}'; grep -h '^deb ' /etc/apt/sources.list \
	      /etc/apt/sources.list.d/*.list 2>/dev/null | awk '{print $2}') |
	    grep "/debian${1:+-$1}/\?\$" | head -1)
	echo "${u:-http://deb.debian.org/debian${1:+-$1}}"
}
ROOT_MIRROR=${SAMBA_ASA_DEBIAN_MIRROR:-$(root_host_mirror)}
ROOT_SECURITY=${SAMBA_ASA_DEBIAN_SECURITY:-$(root_host_mirror security)}

# root_unshare SCRIPT ARGS...: run SCRIPT again in a mount namespace of
# its own, unless this process is in one already.
root_unshare()
{
	[ -z "${ASA_ROOT_UNSHARED:-}" ] || return 0
	ASA_ROOT_UNSHARED=1 exec unshare --mount --propagation private \
		/bin/bash "$@"
}

# root_sources DIST [src]: the sources.list of a root of DIST (main,
# updates, security; with deb-src lines for apt-get source).
root_sources()
{
	local t
	for t in deb ${2:+deb-src}; do
		echo "$t $ROOT_MIRROR $1 main"
		echo "$t $ROOT_MIRROR $1-updates main"
		echo "$t $ROOT_SECURITY $1-security main"
	done
}

# The environment of every command in a root.
ROOT_ENV=(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8
	  DEBIAN_FRONTEND=noninteractive)

# root_chroot DIR [VAR=VALUE...] CMD...: CMD in DIR with ROOT_ENV (and
# VAR=VALUE), on the network of the caller.
root_chroot()
{
	local dir=$1
	shift
	chroot "$dir" "${ROOT_ENV[@]}" "$@"
}

# root_umount_below DIR: unmount everything at or below DIR, deepest first.
root_umount_below()
{
	local m
	findmnt -rno TARGET | awk -v d="$1" \
		'$0 == d || index($0, d "/") == 1' | sort -r |
	while read -r m; do
		umount "$m" 2>/dev/null || umount -l "$m"
	done
}

# root_make BASE DIST LOG APT_OPTIONS PACKAGES [HOOK]: make the cached
# root BASE unless it exists: debootstrap DIST, install PACKAGES with
# "apt-get install APT_OPTIONS", run HOOK DIR (its failure fails the
# root), then move it in place.  Another run making the same root is
# waited for.  Returns non-zero, with the end of LOG on stderr, on failure.
root_make()
{
	local base=$1 dist=$2 log=$3 opts=$4 packages=$5 hook=${6:-}
	local tmp t rc=0
	mkdir -p "$(dirname "$base")"
	exec 7>"$base.lock"
	flock 7
	if [ -d "$base" ]; then
		exec 7>&-
		return 0
	fi
	if ! command -v debootstrap >/dev/null; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			debootstrap >/dev/null || return 1
	fi
	tmp=$(mktemp -d "$(dirname "$base")/new-$dist.XXXXXX")
	ROOT_NEW=$tmp
	t=$(date +%s)
	debootstrap --variant=minbase "$dist" "$tmp" "$ROOT_MIRROR" \
		> "$log" 2>&1 || rc=$?
	echo "root: debootstrap $dist from $ROOT_MIRROR:" \
	     "$(( $(date +%s) - t )) s" >&2
	if [ $rc = 0 ]; then
		root_sources "$dist" src > "$tmp/etc/apt/sources.list"
		rm -f "$tmp"/etc/apt/sources.list.d/*
		cp /etc/resolv.conf "$tmp/etc/resolv.conf"
		# Package scripts start nothing in a root.
		printf '#!/bin/sh\nexit 101\n' > "$tmp/usr/sbin/policy-rc.d"
		chmod 755 "$tmp/usr/sbin/policy-rc.d"
		mount -t proc proc "$tmp/proc"
		t=$(date +%s)
		root_chroot "$tmp" sh -c "apt-get update -qq &&
			apt-get install -y -qq $opts $(echo $packages)" \
			>> "$log" 2>&1 || rc=$?
		echo "root: packages: $(( $(date +%s) - t )) s" >&2
		[ $rc != 0 ] || [ -z "$hook" ] ||
			"$hook" "$tmp" >> "$log" 2>&1 || rc=$?
		root_chroot "$tmp" apt-get clean >> "$log" 2>&1
	fi
	root_umount_below "$tmp"
	if [ $rc = 0 ] && mv -T "$tmp" "$base"; then
		ROOT_NEW=""
	else
		tail -20 "$log" >&2
		rm -rf --one-file-system "$tmp"
		ROOT_NEW=""
		rc=1
	fi
	exec 7>&-
	return $rc
}

# root_prune BASE GLOB: remove the cached roots matching GLOB (a pattern
# of names beside BASE: older recipes of the same root) but BASE, and but
# those made or used (root_mount touches BASE.used) within a day or
# mounted by a run now (root_mount holds a shared lock on each): a run of
# another checkout, with another recipe, may be using one.
root_prune()
{
	local d fd
	for d in "$(dirname "$1")"/$2; do
		[ -d "$d" ] && [ "$d" != "$1" ] || continue
		[ -z "$(find "$d" "$d.used" -maxdepth 0 -mtime -1 \
			2>/dev/null)" ] || continue
		exec {fd}>>"$d.lock"
		if flock -n -x "$fd"; then
			rm -rf --one-file-system "$d"
			rm -f "$d.used" "$d.lock"
		else
			echo "root: $d is in use, left in place" >&2
		fi
		exec {fd}>&-
	done
}

# root_mount BASE WORK: an overlay on BASE at WORK/root (its writes in
# WORK), set up as a booted system has it, BASE locked (shared) for as
# long as this process runs.  /run is a tmpfs: ip netns keeps its
# namespaces there, sshd wants /run/sshd, samba 4.22 its nmbd socket dir
# /run/samba/nmbd.
root_mount()
{
	local base=$1 work=$2 root=$2/root d fd
	touch "$base.used"	# in use (root_prune)
	# In use until this process ends: root_prune leaves it alone.
	exec {fd}>>"$base.lock"
	flock -s "$fd"
	mkdir -p "$root" "$work/upper" "$work/ovl"
	mount -t overlay overlay -o \
		"lowerdir=$base,upperdir=$work/upper,workdir=$work/ovl" \
		"$root" || return 1
	mount -t proc proc "$root/proc"
	mount -t sysfs sysfs "$root/sys"
	for d in null zero full random urandom tty; do
		rm -f "$root/dev/$d"
		touch "$root/dev/$d"
		mount --bind "/dev/$d" "$root/dev/$d"
	done
	mkdir -p "$root/dev/shm" "$root/dev/pts"
	mount -t tmpfs -o mode=1777 tmpfs "$root/dev/shm"
	mount -t devpts -o newinstance,ptmxmode=0666 devpts "$root/dev/pts"
	ln -sf pts/ptmx "$root/dev/ptmx"
	mount -t tmpfs -o mode=0755 tmpfs "$root/run"
	mkdir -p "$root/run/netns" "$root/run/sshd" "$root/run/samba/nmbd" \
		"$root/run/lock"
	cp /etc/resolv.conf "$root/etc/resolv.conf"
}

# root_cleanup WORK: the network namespaces made inside WORK/root, every
# mount below WORK, and WORK itself (unless KEEP is set); a root half made.
root_cleanup()
{
	local work=$1 ns
	for ns in "$work"/root/run/netns/*; do
		[ -e "$ns" ] || continue
		umount "$ns" 2>/dev/null
	done
	root_umount_below "$work"
	[ -n "${KEEP:-}" ] || rm -rf --one-file-system "$work"
	if [ -n "$ROOT_NEW" ]; then
		root_umount_below "$ROOT_NEW"
		rm -rf --one-file-system "$ROOT_NEW"
		ROOT_NEW=""
	fi
}
