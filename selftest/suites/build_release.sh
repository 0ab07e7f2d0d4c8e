#!/bin/bash
# selftest/suites/build_release.sh: configure builds only against a Samba
# release wscript knows (SAMBA_RELEASES), and the build made here is for
# the Samba installed here (env none; ~3 s).
#
#   unknown_release_refused  a samba reporting 4.99.1 (a stand-in first on
#                            PATH): configure stops, naming the release
#                            found and the releases supported
#   no_samba_refused         no samba at all: configure stops and says so
#   service_abi_is_installed the asa_roll module asks for the private ABI
#                            tag of the installed libservice, which samba
#                            -V's release names
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

TMP=$(mktemp -d /tmp/build_release.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
FAILED=0

# configure_with DIR: waf configure of a copy of wscript, with DIR first
# on PATH; prints its output, returns its status.
configure_with()
{
	local src=$TMP/src.$RANDOM
	mkdir -p "$src"
	cp "$REPO/wscript" "$src/"
	(cd "$src" && PATH="$1:$PATH" "$REPO/buildtools/bin/waf" configure \
		--prefix=/usr 2>&1)
}

# A samba that says it is 4.99.1 and has Samba's usual build paths.
mkdir -p "$TMP/fake"
cat > "$TMP/fake/samba" <<'EOF'
#!/bin/sh
case "$1" in
-V)	echo "Version 4.99.1-Debian" ;;
-b)	echo "   MODULESDIR: /usr/lib/x86_64-linux-gnu/samba" ;;
esac
EOF
chmod 755 "$TMP/fake/samba"

name=unknown_release_refused
subunit_start_test $name
out=$(configure_with "$TMP/fake")
rc=$?
ok=1
[ $rc != 0 ] || ok=0
for want in "Samba 4.99.1-Debian is not supported" "4.17 (Debian 12" \
	    "4.22 (Debian 13"; do
	grep -qF "$want" <<<"$out" || ok=0
done
result $name $ok "exit $rc; wanted the release found and those supported
$out"

# No samba: a samba that is not there (a PATH entry whose samba fails).
name=no_samba_refused
subunit_start_test $name
mkdir -p "$TMP/nosamba"
printf '#!/bin/sh\nexit 127\n' > "$TMP/nosamba/samba"
chmod 755 "$TMP/nosamba/samba"
out=$(configure_with "$TMP/nosamba")
rc=$?
ok=1
[ $rc != 0 ] && grep -qF "is the samba package installed" <<<"$out" || ok=0
result $name $ok "exit $rc
$out"

name=service_abi_is_installed
subunit_start_test $name
mod=$REPO/bin/plugins/service/asa_roll.so
release=$(samba -V | awk '{print $2}' | cut -d. -f1-2)
want=$(objdump -T "$mod" 2>/dev/null | awk '/register_server_service/ {
	gsub(/[()]/, "", $(NF-1)); print $(NF-1); exit }')
have=$(objdump -T /usr/lib/x86_64-linux-gnu/samba/libservice*samba*.so.0 \
	2>/dev/null | awk '/register_server_service$/ { print $(NF-1); exit }')
ok=1
[ -n "$want" ] && [ "$want" = "$have" ] || ok=0
case "$want" in "SAMBA_$release."*) ;; *) ok=0 ;; esac
result $name $ok "asa_roll.so asks for '$want'; the installed libservice
defines '$have'; samba -V's release is $release"

exit 0
