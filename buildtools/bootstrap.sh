#!/bin/bash
# Bootstrap a Debian 12 (bookworm, Samba 4.17) or Debian 13 (trixie, Samba
# 4.22) machine for building and testing samba-asa.
#
#   bootstrap.sh [--test] [--deb]
#   bootstrap.sh --packages CODENAME [--deb]   (print the package list)
#
# Without --test, only what `make` needs to build; with --test (make test,
# demo, bench, fuzz) also what the tests and the demo need; --deb adds the
# packaging tools.  Missing packages are installed when run as root; any
# other user is told which are missing, and builds when none is.  Then
# waf is fetched from Debian's own samba source package of the installed
# samba into a git-ignored cache (.cache/waf).  Idempotent: silent when
# nothing is missing.  Nothing from the source package is ever committed.
# A samba orig tarball of the installed version already in .cache/src/ is
# used as it is (no network).
set -eu

TOP=$(cd "$(dirname "$0")/.." && pwd)
CACHE="$TOP/.cache"
WAFDIR="$CACHE/waf"

die() { echo "bootstrap: $*" >&2; exit 2; }

# Packages: build, DC, clients (curl, chromium, python3-gssapi), members
# (sshd, apache, dovecot, haproxy), docs.  libpopt-dev (samba-asa's
# options) comes with samba-dev.
# The clang runtime (libFuzzer, the sanitizers) is per release.
PACKAGES="samba samba-ad-dc samba-ad-provision samba-dev python3-samba winbind
libldb-dev ldb-tools libtevent-dev libtalloc-dev libkrb5-dev krb5-user
libldap-dev ldap-utils libsasl2-modules-gssapi-mit libcmocka-dev libicu-dev
pkg-config gcc make python3-subunit subunit iproute2 util-linux procps
openssh-server openssh-client apache2 libapache2-mod-auth-gssapi haproxy
curl xsltproc docbook-xsl xz-utils dpkg-dev clang valgrind strace openssl
liblmdb-dev libgnutls28-dev libjansson-dev dovecot-imapd dovecot-gssapi
chromium python3-gssapi"
declare -A CLANG_RT=([bookworm]=libclang-rt-14-dev [trixie]=libclang-rt-19-dev)

# What `make` needs (configure also asks samba -V for the release).
BUILD_PACKAGES="samba samba-dev libldb-dev libtdb-dev liblmdb-dev libtalloc-dev
libtevent-dev libkrb5-dev libldap-dev libicu-dev libgnutls28-dev
libjansson-dev pkg-config gcc make python3 xsltproc docbook-xsl xz-utils"

# What `make deb` and `make test-deb` need besides: bootstrap.sh --deb.
DEB_PACKAGES="debhelper dh-python lintian debootstrap libtdb-dev"

usage() { die "usage: bootstrap.sh [--test] [--deb] | --packages CODENAME [--deb]"; }
PRINT=""
DEB=0
TEST=0
while [ $# -gt 0 ]; do
	case "$1" in
	--deb)		DEB=1 ;;
	--test)		TEST=1 ;;
	--packages)	[ $# -ge 2 ] || usage; PRINT=$2; shift ;;
	*)		usage ;;
	esac
	shift
done

CODENAME=$PRINT
if [ -z "$CODENAME" ]; then
	[ -r /etc/os-release ] && command -v dpkg-query >/dev/null ||
		die "needs Debian 12 (bookworm) or 13 (trixie); this is" \
		    "not a Debian system"
	CODENAME=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
fi
[ -n "${CLANG_RT[$CODENAME]:-}" ] ||
	die "needs Debian 12 (bookworm) or 13 (trixie), not" \
	    "'${CODENAME:-unknown}'"
PACKAGES="$PACKAGES ${CLANG_RT[$CODENAME]}"
[ $DEB = 0 ] || PACKAGES="$PACKAGES $DEB_PACKAGES"
if [ -n "$PRINT" ]; then
	echo $PACKAGES
	exit 0
fi
if [ $TEST = 0 ] && [ $DEB = 0 ]; then
	PACKAGES=$BUILD_PACKAGES
fi
[ $TEST = 0 ] || [ "$(id -u)" = 0 ] ||
	die "the tests and the demo run as root (network namespaces)"

missing=""
for p in $PACKAGES; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = installed ] || missing="$missing $p"
done
if [ -n "$missing" ] && [ "$(id -u)" != 0 ]; then
	die "missing Debian packages:$missing (as root: apt-get install$missing)"
fi
if [ -n "$missing" ]; then
	echo "bootstrap: installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	# Package scripts must not start daemons on the build host.
	policy=/usr/sbin/policy-rc.d
	created_policy=0
	if [ ! -e $policy ]; then
		printf '#!/bin/sh\nexit 101\n' > $policy
		chmod 755 $policy
		created_policy=1
	fi
	rc=0
	# With Recommends, as the tests were verified (samba-ad-dc, apache2).
	{ apt-get update -qq && apt-get install -y -qq \
		$missing; } > "${TMPDIR:-/tmp}/samba-asa-apt.$$.log" 2>&1 || rc=$?
	[ $created_policy = 1 ] && rm -f $policy
	if [ $rc != 0 ]; then
		tail -20 "${TMPDIR:-/tmp}/samba-asa-apt.$$.log" >&2
		die "apt-get install failed (log: ${TMPDIR:-/tmp}/samba-asa-apt.$$.log)"
	fi
	rm -f "${TMPDIR:-/tmp}/samba-asa-apt.$$.log"
fi

# waf (and Samba's private headers, read but never committed) come from the
# samba source package matching the installed samba.
ver=$(dpkg-query -W -f='${Version}' samba-dev)
upstream=${ver#*:}
upstream=${upstream%-*}
tarball=samba_$upstream.orig.tar.xz
if [ ! -f "$WAFDIR/waflib/Scripting.py" ]; then
	mkdir -p "$CACHE/src"
	cd "$CACHE/src"
fi
if [ ! -f "$WAFDIR/waflib/Scripting.py" ] && [ ! -f "$tarball" ]; then
	echo "bootstrap: fetching waf from Debian's samba source package"
	mkdir -p "$CACHE/apt/lists/partial" "$CACHE/apt/archives/partial"
	# A private sources file built from the system's Debian mirrors, as
	# deb-src; the machine's own apt configuration is not touched.
	srcs="$CACHE/apt/sources.list"
	: > "$srcs"
	uris=$( (grep -h '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null |
		awk '{print $2}'; grep -h '^deb ' /etc/apt/sources.list \
		/etc/apt/sources.list.d/*.list 2>/dev/null | awk '{print $2}') |
		grep -v security | grep debian | sort -u)
	[ -n "$uris" ] || uris=http://deb.debian.org/debian
	for u in $uris; do
		echo "deb-src [trusted=yes] $u $CODENAME main" >> "$srcs"
		echo "deb-src [trusted=yes] $u $CODENAME-updates main" \
			>> "$srcs"
	done
	APTOPT="-o Dir::Etc::SourceList=$srcs -o Dir::Etc::SourceParts=/dev/null
		-o Dir::State::Lists=$CACHE/apt/lists
		-o Dir::Cache=$CACHE/apt -o Debug::NoLocking=1"
	apt-get $APTOPT update -qq > /dev/null 2>&1 ||
		die "cannot read Debian's source index (network?)"
	# The mirror may have moved on to a later Debian revision or point
	# release of the same Samba release: its waf builds as well.
	apt-get $APTOPT source --download-only -qq "samba=$ver" \
		> /dev/null 2>&1 ||
		apt-get $APTOPT source --download-only -qq samba \
		> /dev/null 2>&1 ||
		die "cannot download the samba source package"
	if [ ! -f "$tarball" ]; then
		release=$(echo "$upstream" | cut -d. -f1-2)
		tarball=$(ls -1 "samba_$release".*.orig.tar.xz 2>/dev/null |
			tail -1)
		[ -n "$tarball" ] ||
			die "no samba $release orig tarball was downloaded"
	fi
fi
if [ ! -f "$WAFDIR/waflib/Scripting.py" ]; then
	tmp=$(mktemp -d "$CACHE/waf.XXXXXX")
	tar -xJf "$tarball" -C "$tmp" --wildcards '*/third_party/waf' ||
		die "cannot extract waf from $tarball"
	rm -rf "$WAFDIR"
	mv "$tmp"/samba-*/third_party/waf "$WAFDIR"
	rm -rf "$tmp"
	echo "${tarball}" > "$WAFDIR/.source"
	cd "$TOP"
fi
exit 0
