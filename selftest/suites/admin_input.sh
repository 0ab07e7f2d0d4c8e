#!/bin/bash
# selftest/suites/admin_input.sh: the mistakes a new administrator makes
# on the command line and in smb.conf, each answered with its reason, on a
# real DC (environment ad_dc):
#
#   asa:member timeout = 2m is two minutes (a member's ssh that answers
#   after 3 s is waited for), "2x" refused with a message; --password=x
#   is refused without echoing x; roll NAME --due and roll --due --force
#   say why; -s with a file that does not exist says so, also with -H
#   ldap://; a keytab whose directory does not exist says that; member
#   setup refuses --principal=bad and takes NAME$@REALM, and a member
#   pinned to NAME$@REALM takes that account's keys with its SPNs; spn
#   add/remove in setspn's order say that the account comes first.
#
# About 25 s with its environment.

. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

SAM=$PREFIX_ABS/private/sam.ldb
LOCAL=(-H "$SAM" -s "$SMB_CONF_PATH")
LOWER=$(echo "$REALM" | tr '[:upper:]' '[:lower:]')
NAME=inp$$

asa()
{
	"${NSX[@]}" "$ASA" "$@"
}

# smb.conf with LINES added to [global], as $TMP/NAME.conf
conf_with()
{
	local file=$TMP/$1.conf line
	shift

	cp "$SMB_CONF_PATH" "$file"
	for line in "$@"; do
		sed -i "/^\[global\]/a \\	$line" "$file"
	done
	echo "$file"
}

# A stand-in for ssh that answers after 3 s with an error of its own.
cat >"$TMP/slow-ssh" <<'SH'
#!/bin/sh
sleep 3
echo "slow-ssh: nobody here" >&2
exit 255
SH
chmod 0755 "$TMP/slow-ssh"

# --- asa:member timeout ----------------------------------------------------

MINUTES=$(conf_with minutes "asa:member timeout = 2m" \
	"asa:ssh program = $TMP/slow-ssh")
expect timeout.2m-is-minutes 1 "slow-ssh: nobody here" "!no answer within" -- \
	asa create "$NAME" --spn "http/$NAME.$LOWER" \
	--member "ssh://root@m.$LOWER/tmp/kt" -H "$SAM" -s "$MINUTES"

BAD=$(conf_with bad "asa:member timeout = 2x")
expect timeout.bad-unit-refused 2 \
	"asa:member timeout in smb.conf: give a duration" -- \
	asa member add "$NAME" "ssh://root@m2.$LOWER/tmp/kt" -H "$SAM" -s "$BAD"

# --- options ---------------------------------------------------------------

expect option.password-not-echoed 2 "unknown option --password \\(" \
	"!S3cretValue" -- asa status --password=S3cretValue "${LOCAL[@]}"
expect option.user-password-refused 2 "a password never goes on the command line" \
	"!S3cretValue" -- asa status -U "$DC_USERNAME%S3cretValue" "${LOCAL[@]}"
expect option.kerberos-bad-value 2 "-k maybe: say -k yes or -k no" -- \
	asa status -k maybe "${LOCAL[@]}"

# -U and -k as Samba's tools read them (cli_credentials): DOMAIN\user,
# and --use-kerberos=desired|required|off, over LDAPS and LDAP
printf '%s\n' "$DC_PASSWORD" >"$TMP/pw" && chmod 600 "$TMP/pw"
LDAPS=(-H "ldaps://$SERVER_IP")
expect option.domain-backslash-user 0 "No ASA|ASA" -- \
	env LDAPTLS_REQCERT=never "${NSX[@]}" "$ASA" status "${LDAPS[@]}" \
	-U "$DOMAIN\\$DC_USERNAME" --password-file "$TMP/pw"
expect option.use-kerberos-off 0 "No ASA|ASA" -- \
	env LDAPTLS_REQCERT=never "${NSX[@]}" "$ASA" status "${LDAPS[@]}" \
	-U "$DC_USERNAME" --use-kerberos=off --password-stdin <"$TMP/pw"
expect option.use-kerberos-required 0 "No ASA|ASA" -- \
	asa status \
	-H "ldap://$SERVER.$LOWER" --use-kerberos=required -U "$DC_USERNAME" \
	--password-file "$TMP/pw"

expect roll.due-with-name 2 "--due rolls every ASA that is due: give no NAME" \
	-- asa roll "$NAME" --due "${LOCAL[@]}"
expect roll.due-with-force 2 "--force only with a NAME" \
	-- asa roll --due --force "${LOCAL[@]}"

expect conf.missing-local 2 "/nonexistent/smb.conf" -- \
	asa status -H "$SAM" -s /nonexistent/smb.conf
expect conf.missing-ldap 2 "-s /nonexistent/smb.conf: cannot load it" -- \
	asa status -H "ldap://$SERVER.$LOWER" -k yes -s /nonexistent/smb.conf

# --- the member side -------------------------------------------------------

# A keytab of NAME$ and one SPN, made with ktutil (a throwaway password).
make_keytab()
{
	local p

	rm -f "$TMP/in.keytab"
	for p in "$NAME\$@$REALM" "http/$NAME.$LOWER@$REALM"; do
		printf '%s\n' "addent -password -p $p -k 2 -e aes256-cts" \
			"Throwaway-Passw0rd" "wkt $TMP/in.keytab" | ktutil \
			>/dev/null || return 1
	done
	klist -k "$TMP/in.keytab"
}
check keytab.made make_keytab

expect member.missing-directory 2 \
	"the keytab's directory $TMP/no/such does not exist" \
	"!cannot open lock file" -- \
	sh -c '"$1" member install --keytab="$2" <"$3"' - "$ASA" \
	"$TMP/no/such/http.keytab" "$TMP/in.keytab"

expect setup.principal-bad 2 "--principal=bad: give the ASA's account" -- \
	asa member setup --keytab=/etc/x.keytab --principal=bad \
	-s "$SMB_CONF_PATH"
expect setup.principal-account 0 "--principal='$NAME\\\$@$REALM'" -- \
	asa member setup --keytab=/etc/x.keytab \
	"--principal=$NAME\$@$REALM" -s "$SMB_CONF_PATH"

# What that line makes the member do: NAME$ with its SPNs is taken, and
# another account is refused.
expect member.pinned-account-takes-spns 0 "^installed " -- \
	sh -c '"$1" member install --keytab="$2" --principal="$3" <"$4"' - \
	"$ASA" "$TMP/pinned.keytab" "$NAME\$@$REALM" "$TMP/in.keytab"
expect member.pinned-account-refuses-other 1 "accepts the keys of other\\\$" -- \
	sh -c '"$1" member install --keytab="$2" --principal="$3" <"$4"' - \
	"$ASA" "$TMP/pinned2.keytab" "other\$@$REALM" "$TMP/in.keytab"

# --- spn add in setspn's order ---------------------------------------------

expect spn.add-account-first 2 "the account comes first .*spn add websvc http/x\\.$LOWER" -- \
	asa spn add "http/x.$LOWER" websvc "${LOCAL[@]}"
expect spn.remove-account-first 2 "the account comes first" -- \
	asa spn remove "http/x.$LOWER" websvc "${LOCAL[@]}"

exit $((FAILED > 0))
