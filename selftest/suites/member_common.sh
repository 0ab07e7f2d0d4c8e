#!/bin/bash
# selftest/suites/member_common.sh: what the member suites (member_install,
# member_program) share in environment ad_dc_array: a throwaway computer
# account NAME$ with two SPNs (AES only) whose keys the KDC really has,
# exported into the keytab samba-asa would push, and the DC side driven by
# bin/test/helper_member.  Source it after nothing else:
#
#	. "$(dirname "${BASH_SOURCE[0]}")/member_common.sh"
#
# It sources common.sh and array.sh, and defines HELPER, MEMBER_PROG,
# KT_TOOL, SAM, LOWER, NAME, ACCOUNT, SPNS, MEMBERS and the functions
# below; `check setup setup` makes the account and $TMP/current.keytab.

# REPO, ASA, NSX, TMP, KRB5CCNAME; exits 2 outside an environment
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
# shellcheck source=selftest/array.sh
. "$REPO/selftest/array.sh"		# array_descendants, array_is_ours

for v in SELFTEST_ARRAY_DIR SELFTEST_ARRAY_MEMBERS SELFTEST_ARRAY_SSH_CONFIG \
	 SELFTEST_PASSWORD_FILE; do
	if [ -z "${!v:-}" ]; then
		echo "$suite_name.sh: $v is not set: run in env ad_dc_array" >&2
		exit 2
	fi
done
export LDB_MODULES_PATH=${LDB_MODULES_PATH:-}

HELPER=$REPO/bin/test/helper_member
MEMBER_PROG=$(realpath "$REPO/bin/member/samba-asa-member")
KT_TOOL=$REPO/selftest/suites/kt_tool.py
SAM=$PREFIX_ABS/private/sam.ldb
LOWER=$(echo "$REALM" | tr '[:upper:]' '[:lower:]')
NAME=mi$$			# the account, sAMAccountName NAME$
ACCOUNT="$NAME\$@$REALM"
SPNS=("http/mail.$LOWER" "http/autod.$LOWER")
MEMBERS=()
for m in $SELFTEST_ARRAY_MEMBERS; do
	MEMBERS+=("${m%%=*}")
done

# --- helpers (each prints what it saw, for the failure report) ----------

member_urls()
{
	local m

	for m in "$@"; do
		member_var URL "$m"
	done
}

push()
{
	nsx "$HELPER" push -s "$SMB_CONF_PATH" "$@"
}

fetch()
{
	nsx "$HELPER" fetch -s "$SMB_CONF_PATH" "$@"
}

# The keytab samba-asa would push, from the KDC's current keys: FILE.
export_keytab()
{
	local out=$1

	rm -f "$TMP/export.keytab"
	nsx samba-tool domain exportkeytab "$TMP/export.keytab" \
		-s "$SMB_CONF_PATH" --principal="$NAME\$" >/dev/null &&
	/usr/bin/python3 "$KT_TOOL" "$TMP/export.keytab" "$out" \
		"$ACCOUNT" "${SPNS[@]/%/@$REALM}"
}

current_kvno()
{
	nsx ldbsearch -H "$SAM" "(sAMAccountName=$NAME\$)" \
		msDS-KeyVersionNumber | sed -n 's/^msDS-KeyVersionNumber: //p'
}

change_password()
{
	nsx samba-tool user setpassword "$NAME\$" --random-password \
		-H "$SAM" -s "$SMB_CONF_PATH" >/dev/null
}

digest()
{
	sha256sum <"$1" | cut -d' ' -f1
}

# kvno -k: a fresh ticket for every SPN, decrypted with the keytab KT.
kvno_keytab()
{
	local kt=$1 spn

	KRB5CCNAME=FILE:$TMP/fresh.ccache nsx kinit "Administrator@$REALM" \
		<"$SELFTEST_PASSWORD_FILE" >/dev/null || return 1
	for spn in "${SPNS[@]}"; do
		KRB5CCNAME=FILE:$TMP/fresh.ccache nsx kvno -k "$kt" "$spn" ||
			return 1
	done
	rm -f "$TMP/fresh.ccache"
}

# --- setup: a throwaway account with two SPNs, AES only ------------------

setup()
{
	local spn

	nsx kinit "Administrator@$REALM" <"$SELFTEST_PASSWORD_FILE" \
		>/dev/null || return 1
	nsx samba-tool computer create "$NAME" --prepare-oldjoin -H "$SAM" \
		-s "$SMB_CONF_PATH" || return 1
	change_password || return 1
	for spn in "${SPNS[@]}"; do
		nsx samba-tool spn add "$spn" "$NAME\$" -H "$SAM" \
			-s "$SMB_CONF_PATH" || return 1
	done
	cat >"$TMP/enctypes.ldif" <<EOF
dn: $(nsx ldbsearch -H "$SAM" "(sAMAccountName=$NAME\$)" dn |
	sed -n 's/^dn: //p')
changetype: modify
replace: msDS-SupportedEncryptionTypes
msDS-SupportedEncryptionTypes: 24
EOF
	nsx ldbmodify -H "$SAM" "$TMP/enctypes.ldif" || return 1
	export_keytab "$TMP/current.keytab"
}
