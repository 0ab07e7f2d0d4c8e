#!/bin/bash
# selftest/smoke.sh: the suite "smoke", proof that environment ad_dc is what
# the other suites think it is: LDAP answers with this environment's naming
# contexts, the KDC issues real service tickets, our LDB module is loaded
# from the build tree and listed in sam.ldb's @MODULES, and the service
# module directory is bind-mounted for samba only.
#
# Runs inside the environment's network namespace (selftest.py does that),
# with the variables of selftest/env.sh.  Emits subunit v1.

set -u
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$REPO/selftest/subunit.sh"

PYTHON=/usr/bin/python3
MODULE=unique_principal_names
MODULE_SO=$REPO/bin/plugins/ldb/$MODULE.so
SERVICE_DIR=/usr/lib/x86_64-linux-gnu/samba/service
DNSNAME=$(echo "$REALM" | tr A-Z a-z)
BASEDN=DC=$(echo "$DNSNAME" | sed 's/\./,DC=/g')
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export KRB5CCNAME=FILE:$TMP/ccache

# The rootDSE names this environment's partitions (so we talk to our DC,
# not to someone else's on the same address in another namespace).
rootdse()
{
	local out
	out=$(ldapsearch -x -LLL -o ldif-wrap=no -H "ldap://$SERVER_IP" \
		-s base -b "" defaultNamingContext namingContexts \
		dnsHostName) || return 1
	echo "$out"
	echo "$out" | grep -qix "defaultNamingContext: $BASEDN" &&
	echo "$out" | grep -qix "namingContexts: CN=Configuration,$BASEDN" &&
	echo "$out" | grep -qix "namingContexts: CN=Schema,CN=Configuration,$BASEDN" &&
	echo "$out" | grep -qix "dnsHostName: $SERVER.$DNSNAME"
}

# kinit with the password on standard input (never in argv), then a real
# service ticket for the DC's LDAP service.
kerberos_ticket()
{
	kinit "$DC_USERNAME@$REALM" <"$SELFTEST_PASSWORD_FILE" || return 1
	kvno "ldap/$SERVER.$DNSNAME@$REALM" || return 1
	klist
	klist | grep -q "ldap/$SERVER.$DNSNAME@$REALM"
}

# A GSSAPI bind with that ticket: LDAP and the KDC agree on the keys.
ldap_gssapi()
{
	ldapsearch -LLL -Y GSSAPI -H "ldap://$SERVER.$DNSNAME" \
		-b "$BASEDN" -s base dn 2>&1 | tee /dev/stderr |
		grep -qix "dn: $BASEDN"
}

# samba has our module mapped, the very file the build made.
module_loaded()
{
	local so
	so=$(readlink -f "$MODULE_SO")
	echo "looking for $so in /proc/$SELFTEST_SAMBA_PID/maps"
	# A path ending in $so: run in a chroot (make test-debian13), maps
	# names samba's files from its own mount namespace's root, which is
	# the host's.
	awk -v so="$so" 'substr($NF, length($NF) - length(so) + 1) == so {
		found = 1 }
		END { exit !found }' "/proc/$SELFTEST_SAMBA_PID/maps"
}

# @MODULES of sam.ldb lists the module first (read without the module
# stack, which is what @MODULES configures).
module_listed()
{
	"$PYTHON" - "$PREFIX_ABS/private/sam.ldb" "$MODULE" <<'PY'
import sys
import ldb
db = ldb.Ldb("tdb://" + sys.argv[1], flags=ldb.FLG_RDONLY,
             options=["modules:"])
res = db.search(base="@MODULES", scope=ldb.SCOPE_BASE, attrs=["@LIST"])
modules = str(res[0]["@LIST"][0]).split(",")
print("@LIST:", ",".join(modules))
sys.exit(0 if modules[0] == sys.argv[2] else 1)
PY
}

# Every directory in LDB_MODULES_PATH exists (else local tools fail).
ldb_modules_path()
{
	local d
	echo "LDB_MODULES_PATH=${LDB_MODULES_PATH:-}"
	[ -n "${LDB_MODULES_PATH:-}" ] || return 1
	for d in ${LDB_MODULES_PATH//:/ }; do
		[ -d "$d" ] || { echo "missing: $d"; return 1; }
	done
}

# samba sees our service module directory over Samba's; nobody else does.
service_mount()
{
	local mnt=" $SERVICE_DIR "
	grep -F "$mnt" "/proc/$SELFTEST_SAMBA_PID/mountinfo" ||
		{ echo "not mounted for samba"; return 1; }
	if grep -F "$mnt" /proc/self/mountinfo /proc/1/mountinfo; then
		echo "the bind mount leaked out of samba's mount namespace"
		return 1
	fi
	# What samba sees there: the system's modules, plus ours when built.
	diff <(ls "/proc/$SELFTEST_SAMBA_PID/root$SERVICE_DIR") \
	     <({ ls "$SERVICE_DIR"
		 ls "$REPO/bin/plugins/service" 2>/dev/null | grep '\.so$'
	       } | sort -u)
}

testit "rootdse" rootdse
testit "kerberos_ticket" kerberos_ticket
testit "ldap_gssapi" ldap_gssapi
testit "ldb_modules_path" ldb_modules_path
# Skipped only when a stock DC was asked for; a module missing from where
# the build puts it is a failure, not a skip.
if [ "${SELFTEST_LDB_MODULE:-yes}" != no ]; then
	testit "ldb_module_loaded" module_loaded
	testit "ldb_module_listed" module_listed
else
	skipit "ldb_module_loaded" "SELFTEST_LDB_MODULE=no: a stock DC"
	skipit "ldb_module_listed" "SELFTEST_LDB_MODULE=no: a stock DC"
fi
testit "service_module_mount" service_mount
exit $failed
