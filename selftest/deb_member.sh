# selftest/deb_member.sh: the samba-asa-member package on a member without
# Samba.  Sourced by selftest/deb.sh once its DC runs with samba-asa
# installed and enabled.
#
# The member is a second root of the same Debian release with nothing but
# minbase and openssh-server (cached beside the DC's, its own overlay),
# whose sshd listens on $MEMBER_IP in the DC's network namespace.  There:
# samba-asa-member installed with apt (it brings no other package, no
# Samba one), ldd of the program names no Samba library; the DC's key
# authorised as `samba-asa member setup` prints it; the DC creates an ASA
# with that member (first contact, keytab pushed over ssh), and the
# member's keytab gets a service ticket from the DC's KDC (kvno -k); then
# remove, install again and purge on the member.
#
# This program is free software; you can redistribute it and/or modify
# it under the terms of the GNU General Public License as published by
# the Free Software Foundation; either version 3 of the License, or
# (at your option) any later version.

MEMBER_PACKAGES="openssh-server"
MBASE="$ROOT_CACHE/deb-member-$DIST-$(echo $MEMBER_PACKAGES | md5sum |
	cut -c1-8)"
MROOT=$WORK/member/root
MEMBER_IP=127.0.0.22
MEMBER=m1.${REALM,,}
KEYTAB=/etc/asa/http.keytab
ARRAY_SPN=http/array.${REALM,,}
SSHD_PID=""

if [ ! -d "$MBASE" ]; then
	t=$(date +%s)
	echo "deb.sh: making the $DIST member root in $ROOT_CACHE (once)" >&2
	root_make "$MBASE" "$DIST" "$ROOT_CACHE/root-deb-member-$DIST.log" \
		--no-install-recommends "$MEMBER_PACKAGES" ||
		die "making the member root failed" \
		    "(log: $ROOT_CACHE/root-deb-member-$DIST.log)"
	root_prune "$MBASE" "deb-member-$DIST-*"
	echo "deb.sh: member root made in $(( $(date +%s) - t )) s" >&2
fi
root_mount "$MBASE" "$WORK/member" || die "cannot mount the member root"
cp "$MEMBER_DEB" "$MROOT/tmp/"
echo "$MEMBER_IP $MEMBER m1" >> "$ROOT/etc/hosts"
echo m1 > "$MROOT/etc/hostname"
ip netns exec "$NS" ip addr add "$MEMBER_IP/8" dev lo

stop_sshd()
{
	[ -n "$SSHD_PID" ] || return 0
	kill -TERM "$SSHD_PID" 2>/dev/null
	wait "$SSHD_PID" 2>/dev/null
	SSHD_PID=""
}

member_pkgs() { root_chroot "$MROOT" dpkg-query -W -f='${Package}\n' | sort; }
PKGS_BEFORE=$(member_pkgs)
expect "member: apt-get install ./samba-asa-member.deb" 0 "" -- \
	root_chroot "$MROOT" apt-get install -y -q \
	"/tmp/$(basename "$MEMBER_DEB")"
only_member_pkg()
{
	local added
	added=$(comm -13 <(echo "$PKGS_BEFORE") <(member_pkgs))
	echo "packages added: $added"
	[ "$added" = samba-asa-member ] || return 1
	! root_chroot "$MROOT" dpkg-query -W -f='${Package}\n' |
		grep -v '^samba-asa-member$' | grep -i samba
}
check "member: apt added samba-asa-member alone, no Samba package" \
	only_member_pkg
no_samba_libs()
{
	local out
	out=$(root_chroot "$MROOT" ldd /usr/sbin/samba-asa-member) ||
		return 1
	echo "$out"
	grep -q libkrb5 <<<"$out" && ! grep -qiE 'samba|not found' <<<"$out"
}
check "member: ldd samba-asa-member names no Samba library" no_samba_libs

# The DC's key, authorised on the member for samba-asa-member only.
authorise()
{
	local line
	line=$(innet samba-asa member setup --keytab="$KEYTAB" |
		grep '^restrict,command=') || return 1
	echo "$line"
	mkdir -p -m 700 "$MROOT/root/.ssh"
	mkdir -p "$MROOT/etc/asa"
	printf '%s\n' "$line" > "$MROOT/root/.ssh/authorized_keys"
	chmod 600 "$MROOT/root/.ssh/authorized_keys"
}
check "member: the DC's key authorised (samba-asa member setup)" authorise
setsid ip netns exec "$NS" chroot "$MROOT" "${ROOT_ENV[@]}" \
	/usr/sbin/sshd -D -e -o ListenAddress="$MEMBER_IP" \
	-o PermitRootLogin=prohibit-password > "$WORK/sshd.out" 2>&1 &
SSHD_PID=$!

expect "member: samba-asa create pushes the ASA's keytab to it" 0 \
	"first contact" -- innet samba-asa create DEBASA --spn "$ARRAY_SPN" \
	--member "ssh://root@$MEMBER$KEYTAB"
# A real ticket for the array's SPN from the member's keytab.
printf '%s\n' "$PW" > "$TMP/pw"
ticket_from_member_keytab()
{
	ls -l "$MROOT$KEYTAB" || return 1
	cp "$MROOT$KEYTAB" "$ROOT/tmp/member.keytab"
	innet env KRB5CCNAME=FILE:/tmp/member.cc \
		kinit "Administrator@$REALM" < "$TMP/pw" >/dev/null || return 1
	innet env KRB5CCNAME=FILE:/tmp/member.cc \
		kvno -k /tmp/member.keytab "$ARRAY_SPN@$REALM"
}
check "member: its keytab decrypts a ticket for $ARRAY_SPN (kvno -k)" \
	ticket_from_member_keytab
rm -f "$TMP/pw" "$ROOT/tmp/member.keytab" "$ROOT/tmp/member.cc"
stop_sshd

member_gone()
{
	local st
	st=$(root_chroot "$MROOT" dpkg-query -W -f='${db:Status-Abbrev}' \
		samba-asa-member 2>/dev/null)
	echo "dpkg: '$st'"
	[ ! -e "$MROOT/usr/sbin/samba-asa-member" ] &&
		{ [ -z "$st" ] || [ "$st" = "un " ] || [ "$st" = "pn " ]; }
}
# It has no conffiles: removed, dpkg forgets it as if purged.
expect "member: apt-get remove samba-asa-member" 0 "" -- \
	root_chroot "$MROOT" apt-get remove -y -q samba-asa-member
check "member: removed, the program gone, nothing left" member_gone
expect "member: install again, then apt-get purge samba-asa-member" 0 "" -- \
	root_chroot "$MROOT" sh -c "apt-get install -y -q \
	/tmp/$(basename "$MEMBER_DEB") && apt-get purge -y -q samba-asa-member"
check "member: purged, the program gone" member_gone
