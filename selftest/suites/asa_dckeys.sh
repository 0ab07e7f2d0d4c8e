#!/bin/bash
# selftest/suites/asa_dckeys.sh: common/dckeys.c against a real DC
# (environment ad_dc).  An account made here with samba-tool gets a
# password this suite chooses (set with a local ldbmodify from a file,
# never on a command line); the keys asa_dc_keys_read() gets from
# `samba-tool domain exportkeytab` must be the ones asa_keys_derive()
# derives from that password, at the account's msDS-KeyVersionNumber, and
# again after a second password change (exportkeytab exports the new kvno
# only).  The comparison itself is test_live in test/test_dckeys.c.
#
# Emits subunit v1.

# REPO, ASA, NSX, TMP, KRB5CCNAME; exits 2 outside env ad_dc
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
. "$REPO/selftest/subunit.sh"

export LDB_MODULES_PATH=${LDB_MODULES_PATH:-}
SAM=$PREFIX_ABS/private/sam.ldb
NAME=dck$$
PROBE=$REPO/bin/test/test_dckeys

cleanup()
{
	nsx samba-tool computer delete "$NAME" -H "$SAM" \
		-s "$SMB_CONF_PATH" >/dev/null 2>&1
	rm -rf "$TMP"
}
trap cleanup EXIT

account_dn()
{
	nsx ldbsearch -H "$SAM" "(sAMAccountName=$NAME\$)" dn |
		sed -n 's/^dn: //p'
}

kvno_of()
{
	nsx ldbsearch -H "$SAM" "(sAMAccountName=$NAME\$)" \
		msDS-KeyVersionNumber |
		sed -n 's/^msDS-KeyVersionNumber: //p'
}

# A new random password into $TMP/password, set on the account through an
# LDIF file (unicodePwd: the password in quotes, UTF-16LE, base64).
set_password()
{
	local dn pw

	dn=$(account_dn)
	[ -n "$dn" ] || { echo "no account $NAME\$"; return 1; }
	pw="$(LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom | head -c 40)-Aa1"
	(umask 077
	 printf '%s\n' "$pw" >"$TMP/password"
	 printf 'dn: %s\nchangetype: modify\nreplace: unicodePwd\nunicodePwd:: %s\n' \
		"$dn" "$(printf '"%s"' "$pw" | iconv -f UTF-8 -t UTF-16LE |
			 base64 -w0)" >"$TMP/pw.ldif")
	nsx ldbmodify -H "$SAM" "$TMP/pw.ldif" >/dev/null
	rm -f "$TMP/pw.ldif"
}

# test_live of the probe, with the account, its password and kvno
live()
{
	local kvno out

	kvno=$(kvno_of)
	echo "msDS-KeyVersionNumber: $kvno"
	out=$(ASA_DCKEYS_LIVE_ACCOUNT="$NAME\$" \
	      ASA_DCKEYS_LIVE_PASSWORD_FILE="$TMP/password" \
	      ASA_DCKEYS_LIVE_KVNO="$kvno" \
	      CMOCKA_MESSAGE_OUTPUT=SUBUNIT nsx "$PROBE" 2>&1)
	echo "$out"
	grep -q '^success: test_live' <<<"$out"
}

# The key check can fail: given another password, test_live fails at
# the key comparison (KRB5KRB_AP_ERR_BAD_INTEGRITY, 0x96c73a1f).
live_wrong_password()
{
	local kvno out

	kvno=$(kvno_of)
	printf 'Not-the-password-1\n' >"$TMP/wrong"
	out=$(ASA_DCKEYS_LIVE_ACCOUNT="$NAME\$" \
	      ASA_DCKEYS_LIVE_PASSWORD_FILE="$TMP/wrong" \
	      ASA_DCKEYS_LIVE_KVNO="$kvno" \
	      CMOCKA_MESSAGE_OUTPUT=SUBUNIT nsx "$PROBE" 2>&1)
	echo "$out"
	grep -A3 '^failure: test_live' <<<"$out" | grep -q 96c73a1f
}

# the probe's own tests (stand-in samba-tool) pass here too
probe_all()
{
	local out

	out=$(CMOCKA_MESSAGE_OUTPUT=SUBUNIT "$PROBE" 2>&1)
	echo "$out"
	! grep -qE '^(failure|error):' <<<"$out"
}

setup()
{
	nsx samba-tool computer create "$NAME" --prepare-oldjoin -H "$SAM" \
		-s "$SMB_CONF_PATH" && set_password
}

testit "setup" setup || exit 1
testit "probe" probe_all
testit "keys-equal-derived" live
testit "wrong-password-differs" live_wrong_password
testit "second-password" set_password
testit "keys-equal-derived.after-change" live
exit $((failed > 0))
