#!/bin/bash
# make deb: build the Debian packages samba-asa and samba-asa-member (the
# member side alone, no Samba) from the files under version control (and
# new ones not ignored), in a copy of the tree under bin/deb/, so that
# dpkg-buildpackage's output lands there and not beside the checkout.
# Then lintian.  Prints the .debs' paths last, samba-asa's last of all.
#
#   buildtools/deb.sh
#
# The waf cache (.cache/waf, see bootstrap.sh) is copied along: the build
# needs no network.
#
# The package is built for the Samba installed here (its Depends name that
# samba-libs exactly), so its version says which Debian release it is for:
# debian/changelog's version plus +deb12 (bookworm, Samba 4.17) or +deb13
# (trixie, Samba 4.22); +deb13 sorts after +deb12, so a DC upgraded from
# Debian 12 to 13 upgrades the package too.

set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
OUT="$TOP/bin/deb"
die() { echo "deb: $*" >&2; exit 2; }

[ -f "$TOP/.cache/waf/waflib/Scripting.py" ] ||
	die "waf is not bootstrapped: run buildtools/bootstrap.sh --deb"
version=$(dpkg-parsechangelog -l "$TOP/debian/changelog" -S Version)
upstream=${version%-*}
src="$OUT/samba-asa-$upstream"
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
case "$codename" in
bookworm)	suffix=+deb12 ;;
trixie)		suffix=+deb13 ;;
*)		die "builds on Debian 12 (bookworm) or 13 (trixie), not" \
		    "'${codename:-unknown}'" ;;
esac
samba_version=$(dpkg-query -W -f='${Version}' samba-libs) ||
	die "samba-libs is not installed (buildtools/bootstrap.sh --deb)"

rm -rf "$OUT"
mkdir -p "$src/.cache"
if git -C "$TOP" rev-parse --git-dir >/dev/null 2>&1; then
	git -C "$TOP" ls-files -z --cached --others --exclude-standard |
		(cd "$TOP" && xargs -0 cp --parents -a -t "$src")
else
	tar -C "$TOP" --exclude=./bin --exclude=./bin-fuzz --exclude=./st \
		--exclude=./.cache --exclude='./.lock-waf*' -cf - . |
		tar -C "$src" -xf -
fi
cp -a "$TOP/.cache/waf" "$src/.cache/waf"
# This release's entry on top of the changelog, dated as the commit built
# (the build's time outside git).
maint=$(sed -n 's/^Maintainer: //p' "$TOP/debian/control")
when=$(git -C "$TOP" log -1 --format=%aD 2>/dev/null) || when=$(date -R)
[ -n "$when" ] || when=$(date -R)
{
	echo "samba-asa ($version$suffix) $codename; urgency=medium"
	echo
	echo "  * Built for Debian $codename against samba-libs $samba_version."
	echo
	echo " -- $maint  $when"
	echo
	cat "$TOP/debian/changelog"
} > "$src/debian/changelog"

echo "deb: dpkg-buildpackage -us -uc -b -Jauto in $src (log: $OUT/build.log)"
start=$(date +%s)
if ! (cd "$src" && dpkg-buildpackage -us -uc -b -Jauto) > "$OUT/build.log" 2>&1
then
	tail -30 "$OUT/build.log" >&2
	die "dpkg-buildpackage failed (log: $OUT/build.log)"
fi
echo "deb: built in $(( $(date +%s) - start )) s"

changes=$(ls "$OUT"/samba-asa_*.changes)
echo "deb: lintian $(basename "$changes")"
# lintian exits non-zero on errors (its default --fail-on=error).
lintian --allow-root --info --display-info "$changes" | tee "$OUT/lintian.log"
ls "$OUT"/samba-asa-member_*.deb "$OUT"/samba-asa_*.deb
