# selftest/deb_upgrade.sh (make test-deb-upgrade): a DC moved from Debian
# 12 to Debian 13 with samba-asa installed, the way the release notes say:
# sourced by `selftest/deb.sh --upgrade DEBIAN12.deb DEBIAN13.deb` once its
# Debian 12 DC (Samba 4.17) is provisioned and running.
#
#   Debian 12: the +deb12 package installed, the module enabled, asa_roll
#   started, SPNs written, a duplicate refused.  samba stopped.
#   The upgrade: apt's sources switched to trixie, the +deb13 package in a
#   local repository (file:/srv/samba-asa, as an administrator keeps the
#   packages of a local build).  Without it apt plans to remove samba-asa;
#   run, samba-asa's apt hook stops it before anything changes.  With it
#   (simulated) apt plans samba-asa's +deb13 with samba 4.22; then
#   `apt-get upgrade --without-new-pkgs` and `apt-get full-upgrade`:
#   samba-asa moves to +deb13 in the same run as samba-libs, the new
#   modules are unpacked before samba and samba-ad-dc are configured
#   (their postinst restarts the DC on a booted system), and nothing is
#   left half installed.
#   Debian 13: samba 4.22 starts with both parts, its log says the module
#   loaded and its key index was rebuilt (ICU 72 to 76 changed the
#   collation), asa_roll started, the SPNs are intact, a duplicate is
#   still refused with 000021C7, dbcheck is clean.
#
# The packages the upgrade downloads are kept in $ROOT_CACHE/deb-upgrade-
# archives (a second run downloads only what changed; a run alongside
# downloads its own).
#
# This program is free software; you can redistribute it and/or modify
# it under the terms of the GNU General Public License as published by
# the Free Software Foundation; either version 3 of the License, or
# (at your option) any later version.

V12=$(dpkg-deb -f "$DEB" Version)
V13=$(dpkg-deb -f "$DEB13" Version)
SAMBA13=$(dpkg-deb -f "$DEB13" Depends |
	sed -n 's/.*samba-libs (= \([^)]*\)).*/\1/p')
CRED=(-H "ldap://$IP" -U"Administrator%$PW")
WIDE="ｈｔｔｐ/mail.${REALM,,}"

# ---- Debian 12: installed, enabled, used ------------------------------

expect "Debian 12: install $V12" 0 "" -- \
	inroot apt-get install -y -q "$PKG" "$MPKG"
stop_samba
expect "Debian 12: samba-asa enable" 0 "Enabled unique_principal_names" -- \
	innet samba-asa enable
sed -i "/^\[global\]/a\\	server services = +asa_roll" \
	"$ROOT/etc/samba/smb.conf"
step "Debian 12: samba 4.17 starts with both parts" start_samba || finish
expect "Debian 12: asa_roll started" 0 "asa_roll: started" -- \
	grep -m1 "asa_roll: started" "$LOG"
for u in websvc1 websvc2; do
	innet samba-tool user create "$u" --random-password "${CRED[@]}" \
		>/dev/null 2>&1
done
add_spns()
{
	innet samba-tool spn add "http/mail.${REALM,,}" websvc1 "${CRED[@]}" &&
	innet samba-tool spn add "http/web.${REALM,,}" websvc1 "${CRED[@]}" &&
	innet samba-tool spn add "imap/mail.${REALM,,}" websvc2 "${CRED[@]}"
}
check "Debian 12: SPNs written" add_spns
spn_list()
{
	local u
	for u in websvc1 websvc2; do
		innet samba-tool spn list "$u" "${CRED[@]}" |
			sed -n 's/^[[:space:]]*\([a-z]*\/.*\)$/'"$u"' \1/p'
	done | sort
}
SPNS_BEFORE=$(spn_list)
expect "Debian 12: a duplicate SPN refused with 000021C7" nz "000021C7" -- \
	innet samba-tool spn add "$WIDE" websvc2 "${CRED[@]}"
stop_samba

# ---- the upgrade ------------------------------------------------------

# apt needs the host's resolver; the DC's comes back after.
cp "$ROOT/etc/resolv.conf" "$WORK/resolv.conf.dc"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
# The downloaded packages are kept for the next run, unless another run
# uses them now (apt locks its archive directory).
ARCHIVES=$ROOT_CACHE/deb-upgrade-archives
mkdir -p "$ROOT_CACHE"
exec 6>"$ARCHIVES.lock"
flock -n 6 || ARCHIVES=$WORK/archives
mkdir -p "$ARCHIVES/partial"
mount --bind "$ARCHIVES" "$ROOT/var/cache/apt/archives"
mkdir -p "$ROOT/srv/samba-asa" "$ROOT/etc/apt/no-sources.list.d"
cp "$DEB13" "$(dirname "$DEB13")/$(basename "$DEB13" |
	sed 's/^samba-asa_/samba-asa-member_/')" "$ROOT/srv/samba-asa/"
(cd "$ROOT/srv/samba-asa" && dpkg-scanpackages . /dev/null > Packages) \
	2>/dev/null
echo "deb [trusted=yes] file:/srv/samba-asa ./" \
	> "$ROOT/etc/apt/sources.list.d/samba-asa.list"
sed -i 's/\bbookworm\b/trixie/g' "$ROOT/etc/apt/sources.list"
expect "apt-get update (trixie and the local repository)" 0 "" -- \
	inroot apt-get update -q

# Without the +deb13 package (the local repository left out) apt plans
# to remove samba-asa (it never plans samba-libs 4.22 next to +deb12).
# Run for real, samba-asa's apt hook stops it before dpkg changes
# anything; without the hook prerm would refuse the removal half-way
# through the upgrade while smb.conf starts asa_roll.
NO_REPO=(-o Dir::Etc::SourceParts=/etc/apt/no-sources.list.d)
APT_OPTS=(-y -q -o Dpkg::Options::=--force-confdef
	  -o Dpkg::Options::=--force-confold)
APT_WITHOUT=$WORK/apt-without.sim
removal_planned()
{
	local libs asa
	inroot apt-get -s full-upgrade "${NO_REPO[@]}" \
		> "$APT_WITHOUT" 2>&1 || { cat "$APT_WITHOUT"; return 1; }
	libs=$(sed -n 's/^Inst samba-libs \[[^]]*\] (\([^ ]*\) .*/\1/p' \
		"$APT_WITHOUT")
	asa=$(grep -E '^(Inst|Remv) samba-asa ' "$APT_WITHOUT")
	echo "samba-libs: ${libs:-kept at $SAMBA_VERSION};" \
	     "samba-asa: ${asa:-kept at $V12}"
	[ -z "$libs" ] || [[ "$asa" == "Remv samba-asa "* ]]
}
check "without the +deb13 package apt plans no 4.22 next to +deb12" \
	removal_planned
state()
{
	inroot dpkg-query -W -f='${db:Status-Abbrev}${Package} ${Version}\n' \
		samba-libs samba samba-asa libc6
	inroot dpkg --audit
}
STATE_BEFORE=$(state)
expect "without it full-upgrade is stopped by samba-asa's apt hook" nz \
	"samba-asa: this run moves samba-libs" -- \
	inroot apt-get full-upgrade "${APT_OPTS[@]}" "${NO_REPO[@]}"
nothing_changed()
{
	local now
	now=$(state)
	echo "$now"
	[ "$now" = "$STATE_BEFORE" ]
}
check "stopped: no package changed, none half installed" nothing_changed

APT_WITH=$WORK/apt-with.sim
asa_upgrade_planned()
{
	inroot apt-get -s full-upgrade > "$APT_WITH" 2>&1 ||
		{ cat "$APT_WITH"; return 1; }
	grep -E '^(Inst|Remv) samba(-asa|-libs|) ' "$APT_WITH"
	grep -q "^Inst samba-asa \[$V12\] ($V13 " "$APT_WITH" &&
		grep -q "^Inst samba-libs \[$SAMBA_VERSION\] ($SAMBA13 " \
			"$APT_WITH"
}
check "with it apt plans samba-asa $V13 with samba-libs 4.22" \
	asa_upgrade_planned

DPKG_LOG_START=$(wc -l < "$ROOT/var/log/dpkg.log")
T_UPGRADE=$(date +%s)
expect "apt-get upgrade --without-new-pkgs" 0 "" -- \
	inroot apt-get upgrade --without-new-pkgs "${APT_OPTS[@]}"
expect "apt-get full-upgrade" 0 "" -- \
	inroot apt-get full-upgrade "${APT_OPTS[@]}"
echo "deb.sh: the upgrade took $(( $(date +%s) - T_UPGRADE )) s" >&2
upgraded()
{
	local v audit
	for p in samba-libs samba samba-asa; do
		v=$(inroot dpkg-query -W -f='${db:Status-Abbrev}${Version}' "$p")
		echo "$p: $v"
		case "$p:$v" in
		samba-asa:"ii $V13"|samba*:"ii $SAMBA13") ;;
		*) return 1 ;;
		esac
	done
	audit=$(inroot dpkg --audit)
	[ -z "$audit" ] || { echo "dpkg --audit: $audit"; return 1; }
}
check "upgraded: samba 4.22, samba-asa $V13, nothing half installed" upgraded
# dpkg.log lines "DATE TIME ACTION PACKAGE:ARCH ..." of this upgrade.
new_modules_first()
{
	tail -n +"$((DPKG_LOG_START + 1))" "$ROOT/var/log/dpkg.log" |
		awk '$3 == "upgrade" && $4 ~ /^samba-asa:/ { asa = NR; print }
		     $3 == "configure" && $4 ~ /^samba(-ad-dc)?:/ {
			print; if (!asa) bad = 1 }
		     END { exit (asa && !bad) ? 0 : 1 }'
}
check "samba-asa $V13 unpacked before samba is configured" new_modules_first
inroot apt-get autoclean -q >/dev/null 2>&1
umount "$ROOT/var/cache/apt/archives"
exec 6>&-
cp "$WORK/resolv.conf.dc" "$ROOT/etc/resolv.conf"

# ---- Debian 13 --------------------------------------------------------

SAMBA_LOG_LEVEL=5 step "Debian 13: samba 4.22 starts with both parts" \
	start_samba || finish
expect "Debian 13: the module loaded (samba's log)" 0 \
	"unique_principal_names: mode" -- \
	grep -m1 "unique_principal_names: mode" "$LOG"
expect "Debian 13: asa_roll started" 0 "asa_roll: started" -- \
	grep -m1 "asa_roll: started" "$LOG"
spns_intact()
{
	local now
	now=$(spn_list)
	echo "before: $SPNS_BEFORE"
	echo "now: $now"
	[ -n "$now" ] && [ "$now" = "$SPNS_BEFORE" ]
}
check "Debian 13: the SPNs written on Debian 12 are intact" spns_intact
expect "Debian 13: a duplicate SPN still refused with 000021C7" nz \
	"000021C7" -- innet samba-tool spn add "$WIDE" websvc2 "${CRED[@]}"
expect "Debian 13: another duplicate refused (imap/ of websvc2)" nz \
	"000021C7" -- innet samba-tool spn add "imap/ｍａｉｌ.${REALM,,}" \
	websvc1 "${CRED[@]}"
expect "Debian 13: the key index rebuilt for the new collation (log)" 0 \
	"another collation version" -- \
	grep -h -m1 "building the key index" "$LOG"
expect "Debian 13: samba-tool dbcheck" 0 "0 errors" -- \
	innet samba-tool dbcheck --cross-ncs
