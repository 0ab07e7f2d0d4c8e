#!/bin/sh
# before-remove: what must hold before samba-asa's files leave this host.
# Run by the Debian package's prerm (as /usr/libexec/samba-asa/before-remove)
# and by `make uninstall`.
#
# Two settings of this DC name files that a removal takes away, and each
# stops samba once its file is gone:
#
#  - sam.ldb's @MODULES record naming unique_principal_names: samba and
#    every local tool that opens sam.ldb (samba-tool, ldbsearch) fail to
#    load the module and stop.  That record is ours to change: it is taken
#    out with `samba-asa disable`, which works with samba running (samba
#    reads @MODULES at start, so a running samba keeps the module it has
#    loaded until its next restart, and then starts without it).
#  - smb.conf's `server services` naming asa_roll: samba refuses to start
#    a service it cannot find.  smb.conf is the administrator's file, not
#    ours to edit, so the removal is refused until asa_roll is taken out.
#
# The asa_roll check comes first, so a refusal changes nothing.  sam.ldb is
# found as samba finds it: smb.conf's `private dir` (samba-tool testparm).
#
#   before-remove [-s smb.conf]
#
# Environment: SAMBA_ASA, the samba-asa program [/usr/bin/samba-asa].
# Exit status: 0 nothing left that needs samba-asa's files; 1 refused,
# nothing changed; 2 usage.
#
# This program is free software; you can redistribute it and/or modify
# it under the terms of the GNU General Public License as published by
# the Free Software Foundation; either version 3 of the License, or
# (at your option) any later version.

set -eu

SAMBA_ASA=${SAMBA_ASA:-/usr/bin/samba-asa}
MODULE=unique_principal_names
SERVICE=asa_roll
conf=""

case "${1:-}" in
-s)	conf=${2:?"before-remove: -s needs an smb.conf"} ;;
"")	;;
*)	echo "usage: before-remove [-s smb.conf]" >&2; exit 2 ;;
esac

refuse()
{
	echo "samba-asa: $*" >&2
	echo "samba-asa: nothing was changed; samba-asa is still installed." >&2
	exit 1
}

# smb.conf as samba reads it (includes and defaults resolved).
if [ -n "$conf" ] && [ ! -e "$conf" ]; then
	echo "before-remove: $conf: no such file" >&2
	exit 2
fi
if [ -z "$conf" ]; then
	conf=$(samba -b 2>/dev/null | sed -n 's/^ *CONFIGFILE: *//p')
	conf=${conf:-/etc/samba/smb.conf}
fi
if [ ! -e "$conf" ]; then
	# No smb.conf: no samba configured here, nothing refers to us.
	exit 0
fi
param()
{
	samba-tool testparm --suppress-prompt -s "$conf" \
		--parameter-name="$1" 2>/dev/null
}
services=$(param "server services") ||
	refuse "cannot read $conf with samba-tool testparm; fix it (samba" \
	       "would not start either), or check the removal by hand:" \
	       "'server services' must not name $SERVICE and the @LIST of" \
	       "sam.ldb's @MODULES must not name $MODULE"
private=$(param "private dir") || private=""

if printf '%s\n' "$services" | tr ',' '\n' | tr -d ' \t' |
   grep -qx "$SERVICE"; then
	refuse "$conf starts the $SERVICE service ('server services'" \
	       "includes it), whose module this removal takes away: samba" \
	       "would not start.  Take $SERVICE out of 'server services'" \
	       "(e.g. delete '+$SERVICE'), restart samba" \
	       "(systemctl restart samba-ad-dc), then remove samba-asa again."
fi

sam="$private/sam.ldb"
if [ -z "$private" ] || [ ! -f "$sam" ]; then
	# Not a DC (no sam.ldb): no @MODULES to clean.
	exit 0
fi
if ! out=$("$SAMBA_ASA" disable -s "$conf" -H "$sam" 2>&1); then
	printf '%s\n' "$out" >&2
	refuse "cannot take $MODULE out of $sam's @MODULES (above); samba" \
	       "and every local tool would fail to start without the" \
	       "module.  Fix that, or run '$SAMBA_ASA disable -H $sam'" \
	       "yourself, then remove samba-asa again."
fi
printf '%s\n' "$out"
case "$out" in
*"samba is running"*)
	echo "samba-asa: samba keeps $MODULE until it restarts, and starts" \
	     "without it."
	;;
esac
exit 0
