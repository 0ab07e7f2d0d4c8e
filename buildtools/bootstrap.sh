#!/bin/bash
# Bootstrap a Debian 12 machine for building and testing samba-asa.
#
# Installs the Debian packages the build, the tests and the demo need when
# any is missing, and fetches waf from Debian's own samba source package into
# a git-ignored cache (.cache/waf).  Idempotent: silent when nothing is
# missing.  Nothing from the source package is ever committed.
set -eu

TOP=$(cd "$(dirname "$0")/.." && pwd)
CACHE="$TOP/.cache"
WAFDIR="$CACHE/waf"

die() { echo "bootstrap: $*" >&2; exit 2; }

# Packages: build, DC, clients, members (sshd, apache, haproxy), docs.
PACKAGES="samba samba-ad-dc samba-dev python3-samba winbind libldb-dev
ldb-tools libtevent-dev libtalloc-dev libkrb5-dev krb5-user libldap-dev
ldap-utils libsasl2-modules-gssapi-mit libcmocka-dev libicu-dev pkg-config
gcc make python3-subunit subunit iproute2 util-linux procps
openssh-server openssh-client apache2 libapache2-mod-auth-gssapi haproxy
curl xsltproc docbook-xsl xz-utils dpkg-dev clang libclang-rt-14-dev valgrind
strace openssl liblmdb-dev"

# What `make deb` and `make test-deb` need besides: bootstrap.sh --deb.
DEB_PACKAGES="debhelper dh-python lintian debootstrap libtdb-dev"
case "${1:-}" in
--deb)	PACKAGES="$PACKAGES $DEB_PACKAGES" ;;
"")	;;
*)	die "usage: bootstrap.sh [--deb]" ;;
esac

[ "$(id -u)" = 0 ] || die "must run as root (packages, network namespaces)"
[ -r /etc/debian_version ] && command -v dpkg-query >/dev/null ||
	die "needs Debian 12 (bookworm); this is not a Debian system"

missing=""
for p in $PACKAGES; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = installed ] || missing="$missing $p"
done
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
if [ ! -f "$WAFDIR/waflib/Scripting.py" ]; then
	echo "bootstrap: fetching waf from Debian's samba source package"
	mkdir -p "$CACHE/apt/lists/partial" "$CACHE/apt/archives/partial" \
		"$CACHE/src"
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
		echo "deb-src [trusted=yes] $u bookworm main" >> "$srcs"
		echo "deb-src [trusted=yes] $u bookworm-updates main" >> "$srcs"
	done
	APTOPT="-o Dir::Etc::SourceList=$srcs -o Dir::Etc::SourceParts=/dev/null
		-o Dir::State::Lists=$CACHE/apt/lists
		-o Dir::Cache=$CACHE/apt -o Debug::NoLocking=1"
	apt-get $APTOPT update -qq > /dev/null 2>&1 ||
		die "cannot read Debian's source index (network?)"
	ver=$(dpkg-query -W -f='${Version}' samba)
	cd "$CACHE/src"
	apt-get $APTOPT source --download-only -qq "samba=$ver" \
		> /dev/null 2>&1 ||
		apt-get $APTOPT source --download-only -qq samba \
		> /dev/null 2>&1 ||
		die "cannot download the samba source package"
	tarball=$(ls -1 samba_4.17.*.orig.tar.xz 2>/dev/null | tail -1)
	[ -n "$tarball" ] || die "no samba 4.17 orig tarball was downloaded"
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
