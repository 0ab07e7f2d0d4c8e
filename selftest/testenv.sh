#!/bin/bash
# selftest/testenv.sh ENV: a shell inside a running test environment, as
# Samba's "make testenv" gives.  ENV is ad_dc (the only one so far).
#
# Provisions a DC, starts it in its own network namespace, and opens an
# interactive bash inside that namespace with the selftest variables set
# ($SERVER, $SERVER_IP, $REALM, $DC_PASSWORD, $SMB_CONF_PATH, ...) and a
# Kerberos ticket for the administrator.  Leaving the shell tears the
# environment down.

set -eu
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$REPO/selftest/env.sh"

envname=${1:-ad_dc}
if [ "$envname" != ad_dc ]; then
	echo "testenv.sh: unknown environment '$envname' (known: ad_dc)" >&2
	exit 2
fi
[ "$(id -u)" = 0 ] || st_die "must run as root (network namespaces)"

RUN=$REPO/st/testenv-$$
NS=asa-testenv-$$
INST=$RUN/$envname

teardown()
{
	trap - EXIT INT TERM HUP
	echo "testenv: tearing down $NS" >&2
	st_stop "$INST"
	exec 9>&- 2>/dev/null || true
	rm -rf "$RUN"
}
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

mkdir -p "$RUN"
ST_VERBOSE=1
st_provision "$RUN/template"

# samba -i stops when its standard input ends: give it a FIFO whose other
# end this script holds open (9), so samba goes when this script goes.
mkfifo "$RUN/samba.stdin"
exec 9<>"$RUN/samba.stdin"
st_start "$RUN/template" "$INST" "$NS" <"$RUN/samba.stdin"

# The shell: the environment's variables, a ticket, a prompt that says
# where it is.  The password goes to kinit on standard input.
cat >"$RUN/bashrc" <<EOF
[ -e ~/.bashrc ] && . ~/.bashrc
set -a
. "$INST/environ"
set +a
export KRB5CCNAME=FILE:$RUN/ccache
kinit "\$DC_USERNAME@\$REALM" <"\$SELFTEST_PASSWORD_FILE" >/dev/null &&
	klist
PS1='[testenv $envname \$SERVER_IP] \w\\$ '
echo
echo "In namespace $NS: DC \$SERVER (\$SERVER_IP), realm \$REALM."
echo "Variables: SERVER SERVER_IP REALM DOMAIN DC_USERNAME DC_PASSWORD"
echo "  PREFIX_ABS SMB_CONF_PATH KRB5_CONFIG SELFTEST_NETNS LDB_MODULES_PATH"
echo "Try: ldapsearch -Y GSSAPI -H ldap://\$SERVER.\$DNSNAME -b '' -s base"
echo "Leave the shell (exit or Ctrl-D) to stop the DC."
EOF
set +e
ip netns exec "$NS" bash --rcfile "$RUN/bashrc" -i 9>&-
exit 0
