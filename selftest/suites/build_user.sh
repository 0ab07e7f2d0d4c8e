#!/bin/bash
# selftest/suites/build_user.sh: `make` builds as a user other than root
# once the build's Debian packages are installed, and names the missing
# ones instead of trying to install them (env none; ~1-3 min: one build).
#
#   builds_as_nobody        make, run as nobody on a copy of the tree
#                           (with the waf the bootstrap fetched), exits 0
#                           and leaves samba-asa, samba-asa-member and both
#                           modules in bin/
#   missing_package_named   with one build package reported missing (a
#                           stand-in dpkg-query first on PATH), make as
#                           nobody stops before building and names it and
#                           the apt-get line to run as root
#   tests_need_root         make test as nobody says the tests run as root
#
# Copyright (C) samba-asa authors 2026
#
# This program is free software; you can redistribute it and/or modify
# it under the terms of the GNU General Public License as published by
# the Free Software Foundation; either version 3 of the License, or
# (at your option) any later version.

set -u
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$REPO/selftest/subunit.sh"

NOBODY=65534
TMP=$(mktemp -d /tmp/build_user.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
FAILED=0

# as_nobody CMD...: CMD in the copy, as nobody with no groups and a clean
# environment.
as_nobody()
{
	(cd "$TMP/src" && setpriv --reuid=$NOBODY --regid=$NOBODY \
		--clear-groups env -i PATH="$PATH" HOME="$TMP/home" \
		LANG=C.UTF-8 "$@")
}

# The tree without its build, bootstrap cache or test output, and the waf
# the bootstrap fetched; everything owned by nobody.
mkdir -p "$TMP/src/.cache" "$TMP/home"
tar -C "$REPO" --exclude=./bin --exclude=./bin-fuzz --exclude=./st \
	--exclude=./.git --exclude=./.cache --exclude='./.lock-waf*' \
	-cf - . | tar -C "$TMP/src" -xf -
cp -a "$REPO/.cache/waf" "$TMP/src/.cache/"
chown -R $NOBODY:$NOBODY "$TMP"
chmod 755 "$TMP"

# A dpkg-query that reports libjansson-dev as not installed.
mkdir -p "$TMP/fake"
cat > "$TMP/fake/dpkg-query" <<'EOT'
#!/bin/sh
for a in "$@"; do
	[ "$a" = libjansson-dev ] && exit 1
done
exec /usr/bin/dpkg-query "$@"
EOT
chmod 755 "$TMP/fake/dpkg-query"

out=$(PATH="$TMP/fake:$PATH" as_nobody make 2>&1)
rc=$?
ok=0
if [ $rc != 0 ] && [ ! -e "$TMP/src/bin/c4che" ] &&
   grep -q 'missing Debian packages: libjansson-dev' <<<"$out" &&
   grep -q 'as root: apt-get install libjansson-dev' <<<"$out"; then
	ok=1
fi
result missing_package_named $ok "exit $rc, bin/c4che $(ls -d \
	"$TMP/src/bin/c4che" 2>&1); output: $(tail -5 <<<"$out")"

out=$(as_nobody make test TESTS=none 2>&1)
rc=$?
ok=0
if [ $rc != 0 ] && grep -q 'the tests and the demo run as root' <<<"$out"
then
	ok=1
fi
result tests_need_root $ok "exit $rc; output: $(tail -5 <<<"$out")"

out=$(as_nobody make 2>&1)
rc=$?
ok=1
why="exit $rc"
for f in tools/samba-asa member/samba-asa-member \
	 plugins/ldb/unique_principal_names.so plugins/service/asa_roll.so; do
	if [ ! -f "$TMP/src/bin/$f" ]; then
		ok=0
		why="$why; no bin/$f"
	elif [ "$(stat -c %u "$TMP/src/bin/$f")" != $NOBODY ]; then
		ok=0
		why="$why; bin/$f not nobody's"
	fi
done
[ $rc = 0 ] || ok=0
result builds_as_nobody $ok "$why; output: $(tail -10 <<<"$out")"

exit $((FAILED > 0))
