#!/bin/bash
# selftest/debian13.sh: this tree built and tested on Debian 13 (trixie,
# Samba 4.22), from a Debian 12 host.
#
#   bash selftest/debian13.sh test [REGEX]	(make test-debian13)
#   bash selftest/debian13.sh demo		(make demo-debian13)
#   bash selftest/debian13.sh bench		(make bench-debian13; BENCH_ONLY,
#			BENCH_FLEET_SIZES, _ROUNDS, _CONCURRENCY)
#   bash selftest/debian13.sh deb		(make deb-debian13)
#   bash selftest/debian13.sh root		(only make the root)
#   bash selftest/debian13.sh shell		(a shell in it, for developers)
#
# The root is a debootstrap of trixie from Debian's archive with every
# package `buildtools/bootstrap.sh --packages trixie --deb` lists (Samba
# 4.22, samba-dev, the member stack, the build tools), made once and kept
# in $SAMBA_ASA_ROOT_CACHE (default /var/cache/samba-asa), outside the
# checkout, under a name keyed by its package list: trixie-<hash>.  Debian
# 13 ships no samba.tests python package, so the one of the samba source
# package the root installed (the same tarball waf comes from) is put into
# the root's python3-samba directory then; nothing of it enters the tree.
#
# Each run mounts an overlay on the cached root (the cache stays clean),
# copies the tree's files (as git sees them) to /build/samba-asa in it,
# builds there with `make` and runs what was asked, chrooted: the suites'
# DCs run in network namespaces made inside the root, as on the host.
# "test" runs the suites of DEBIAN13_TESTS (or REGEX) with selftest.py;
# its last line is selftest's "N passed, N failed, N skipped".  "deb"
# copies the packages it builds to bin/deb-trixie/.
#
# Everything runs in a mount namespace of its own (every mount goes with
# it, however the run ends).
#
# This program is free software; you can redistribute it and/or modify
# it under the terms of the GNU General Public License as published by
# the Free Software Foundation; either version 3 of the License, or
# (at your option) any later version.

set -u

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$REPO/selftest/root.sh"
DIST=trixie

# What must pass on Samba 4.22 (README: "Supported Samba releases").
DEBIAN13_TESTS='^(unit|build_release|release_guard|smoke|samba\.tests\.ldap_spn|samba\.tests\.ldap_upn_sam_account|unique_principal_names|uniqueness_tools|uniqueness_bad_input|samba_asa_spn|json_output|admin_input|asa_create|asa_verify|asa_dckeys|member_install|member_program|member_concurrency|fleet_smoke|array_clients|asa_roll|asa_roll_service(\.prefork|\.standard|\.badopt)?|pair_uniqueness|pair_roll)$'

die() { echo "debian13.sh: $*" >&2; exit 2; }
say() { echo "debian13.sh: $*" >&2; }

CMD=${1:-test}
case "$CMD" in
test|demo|bench|deb|root|shell) ;;
*) die "usage: debian13.sh test [REGEX] | demo | bench | deb | root | shell" ;;
esac
[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, mounts, netns)"

# Mounts made from here on vanish with this namespace.
root_unshare "${BASH_SOURCE[0]}" "$@"

PACKAGES=$(bash "$REPO/buildtools/bootstrap.sh" --packages $DIST --deb) ||
	die "cannot list the packages of a $DIST root"
# The root's recipe, part of its key: change it and a new root is made.
ROOT_FORMAT=1
KEY=$(echo "$DIST $ROOT_FORMAT $PACKAGES" | md5sum | cut -c1-12)
BASE="$ROOT_CACHE/$DIST-$KEY"
WORK="$REPO/st/debian13.$$"
ROOT="$WORK/root"
RESULT_LINE=""
T0=$(date +%s)

# ---- the cached root --------------------------------------------------

# root_make's last step: samba's own source, of the version installed (waf
# for the build and the samba.tests python package Debian 13 does not
# ship).
finish_base()
{
	root_chroot "$1" sh -c 'mkdir -p /usr/src/samba &&
		cd /usr/src/samba &&
		apt-get source --download-only -qq \
		"samba=$(dpkg-query -W -f="\${Version}" samba)"' &&
	add_samba_tests "$1"
}

# Samba's python tests of the installed samba, from its source package.
add_samba_tests()
{
	local dir=$1 pydir tarball tmp
	pydir=$(root_chroot "$dir" /usr/bin/python3 -c \
		'import os, samba; print(os.path.dirname(samba.__file__))') ||
		return 1
	[ ! -e "$dir$pydir/tests" ] || return 0
	tarball=$(ls "$dir"/usr/src/samba/samba_*.orig.tar.xz | tail -1)
	[ -n "$tarball" ] || { echo "no samba orig tarball"; return 1; }
	tmp=$(mktemp -d "$dir/tmp/samba-tests.XXXXXX")
	tar -xJf "$tarball" -C "$tmp" --wildcards '*/python/samba/tests' ||
		return 1
	mv "$tmp"/samba-*/python/samba/tests "$dir$pydir/tests"
	rm -rf "$tmp"
	echo "samba.tests from $(basename "$tarball") in $pydir/tests"
}

# ---- the run ----------------------------------------------------------

on_exit()
{
	local rc=$?
	root_cleanup "$WORK"
	say "$(( $(date +%s) - T0 )) s in all"
	# The summary line stays last, whatever happened.
	if [ "$CMD" = test ]; then
		if [ -n "$RESULT_LINE" ]; then
			echo "$RESULT_LINE"
		else
			echo "0 passed, 1 failed"
			rc=1
		fi
	fi
	exit $rc
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# bash reads a script as it runs it: everything below is one function,
# read whole before it starts, so that editing this file (a git checkout)
# cannot change a run that is under way.
main()
{
mkdir -p "$WORK"
if [ ! -d "$BASE" ]; then
	t=$(date +%s)
	say "making the $DIST root in $ROOT_CACHE (once; log:" \
	    "$ROOT_CACHE/root-$DIST.log)"
	# With Recommends, as bootstrap.sh installs on a host.
	root_make "$BASE" "$DIST" "$ROOT_CACHE/root-$DIST.log" "" \
		"$PACKAGES" finish_base || die "making the $DIST root failed"
	# Roots of other package lists are of no more use.
	root_prune "$BASE" "$DIST-*"
	say "root $BASE made in $(( $(date +%s) - t )) s"
fi
[ "$CMD" != root ] || exit 0

root_mount "$BASE" "$WORK" || die "cannot mount the overlay on $ROOT"

# The tree as git sees it (tracked and new files, not ignored ones), and
# the samba source tarball the root has, for waf.
SRC=/build/samba-asa
mkdir -p "$ROOT$SRC/.cache/src"
if git -C "$REPO" rev-parse --git-dir >/dev/null 2>&1; then
	git -C "$REPO" ls-files -z --cached --others --exclude-standard |
		(cd "$REPO" && xargs -0 cp --parents -a -t "$ROOT$SRC") ||
		die "cannot copy the tree"
else
	tar -C "$REPO" --exclude=./bin --exclude=./bin-fuzz --exclude=./st \
		--exclude=./.cache --exclude='./.lock-waf*' -cf - . |
		tar -C "$ROOT$SRC" -xf - || die "cannot copy the tree"
fi
ln "$ROOT"/usr/src/samba/samba_*.orig.tar.xz "$ROOT$SRC/.cache/src/" \
	2>/dev/null ||
	cp "$ROOT"/usr/src/samba/samba_*.orig.tar.xz "$ROOT$SRC/.cache/src/"

# The modules this host built (for its Samba), for release_guard: a DC
# upgraded to Debian 13 without samba-asa's package would load them.
FOREIGN=""
if [ -e "$REPO/bin/plugins/service/asa_roll.so" ] &&
   [ -e "$REPO/bin/plugins/ldb/unique_principal_names.so" ]; then
	FOREIGN=/build/foreign
	mkdir -p "$ROOT$FOREIGN"
	cp "$REPO/bin/plugins/service/asa_roll.so" \
		"$REPO/bin/plugins/ldb/unique_principal_names.so" "$ROOT$FOREIGN/"
fi

# inroot CMD...: in the root, from the tree's top.
inroot()
{
	root_chroot "$ROOT" TERM="${TERM:-dumb}" \
		ASA_FOREIGN_MODULES="$FOREIGN" \
		/bin/sh -c 'cd "$0" && exec "$@"' "$SRC" "$@"
}

say "samba $(inroot dpkg-query -W -f='${Version}' samba) in $BASE"
t=$(date +%s)
# The suites need the test build (make test's --enable-selftest hooks);
# the demo and the package the plain one.
target=build
[ "$CMD" != test ] || target=build-selftest
if ! inroot make $target > "$WORK/build.log" 2>&1; then
	tail -30 "$WORK/build.log" >&2
	KEEP=1
	die "the build failed in the $DIST root (log: $WORK/build.log)"
fi
say "built in $(( $(date +%s) - t )) s"

case "$CMD" in
test)
	tests=${2:-$DEBIAN13_TESTS}
	# All but selftest's last line now; that one is printed last.
	inroot /usr/bin/python3 selftest/selftest.py --tests "$tests" 2>&1 |
		tee "$WORK/test.out" | sed -u '$d'
	rc=${PIPESTATUS[0]}
	RESULT_LINE=$(tail -1 "$WORK/test.out")
	case "$RESULT_LINE" in
	*" passed, "*" failed"*) ;;
	*) RESULT_LINE="" ;;
	esac
	exit $rc
	;;
demo)
	inroot make demo
	;;
bench)
	# make bench's choices (selftest/bench.sh) go through to the root.
	inroot env ${BENCH_ONLY+BENCH_ONLY="$BENCH_ONLY"} \
		${BENCH_FLEET_SIZES+BENCH_FLEET_SIZES="$BENCH_FLEET_SIZES"} \
		${BENCH_FLEET_ROUNDS+BENCH_FLEET_ROUNDS="$BENCH_FLEET_ROUNDS"} \
		${BENCH_FLEET_CONCURRENCY+BENCH_FLEET_CONCURRENCY="$BENCH_FLEET_CONCURRENCY"} \
		make bench
	;;
deb)
	inroot make deb || exit
	mkdir -p "$REPO/bin/deb-$DIST"
	cp "$ROOT$SRC"/bin/deb/samba-asa_*.deb \
		"$ROOT$SRC"/bin/deb/samba-asa-member_*.deb \
		"$REPO/bin/deb-$DIST/" &&
		ls "$REPO/bin/deb-$DIST"/samba-asa*.deb
	;;
shell)
	inroot /bin/bash -i
	;;
esac
}
main "$@"; exit
