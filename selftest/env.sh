#!/bin/bash
# selftest/env.sh: real Samba AD DCs in network namespaces, for the tests.
#
# Used two ways:
#   source selftest/env.sh            (bash callers: testenv.sh, demo.sh)
#   bash selftest/env.sh provision TEMPLATE
#   bash selftest/env.sh start TEMPLATE INSTANCE NETNS
#   bash selftest/env.sh stop INSTANCE
#
# Provisioning takes ~6 s, so a run provisions once into a TEMPLATE directory
# and every environment starts from a copy of it (an INSTANCE directory).
# Each instance runs in its own network namespace, on 127.0.0.21, with its
# own /etc/netns/NETNS/{hosts,resolv.conf} and krb5.conf; samba runs in its
# own process group (so smbd and winbindd, which it forks, go with it) and in
# a private mount namespace where our service modules are bind-mounted over
# Samba's service directory.
#
# "start" writes INSTANCE/environ: KEY=VALUE lines, the variables Samba's
# selftest gives its tests (SERVER, SERVER_IP, REALM, DOMAIN, DC_USERNAME,
# DC_PASSWORD, PREFIX_ABS, SMB_CONF_PATH, KRB5_CONFIG) plus SELFTEST_NETNS,
# SELFTEST_SAMBA_PID and LDB_MODULES_PATH.  SELFTEST_SAMBA_MODEL chooses
# samba's process model (-M: single, the default here, prefork or standard).
#
# samba runs with -i, and in that mode it exits when its standard input
# reaches end of file.  "start" hands samba its own standard input: the
# caller keeps the writing end of that pipe open for the environment's life,
# so if the caller dies, even by SIGKILL, samba goes away too.
#
# Nothing here kills by name: only the process group whose id we recorded
# and the processes inside the namespace we created.

ST_REPO=${ST_REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
ST_PYTHON=/usr/bin/python3	# the python3 on PATH may lack samba's modules
ST_SERVER_IP=127.0.0.21
ST_SERVER=dc1
ST_SAMBA_SERVICE_DIR=/usr/lib/x86_64-linux-gnu/samba/service
ST_LDB_MODULE=unique_principal_names
ST_LDB_MODULES_DIR=$ST_REPO/bin/plugins/ldb
ST_SERVICE_MODULES_DIR=$ST_REPO/bin/plugins/service
ST_VERBOSE=${ST_VERBOSE:-0}

st_say()
{
	if [ "$ST_VERBOSE" = 1 ]; then
		echo "==> $*" >&2
	fi
}

st_die()
{
	echo "selftest/env.sh: $*" >&2
	exit 1
}

# A random string of upper-case letters and digits.
st_random()
{
	local n=$1 set=${2:-A-Z0-9} s
	s=$(LC_ALL=C tr -dc "$set" </dev/urandom | head -c "$n") || true
	echo "$s"
}

# The time in seconds, with milliseconds, for the timings we report.
st_now()
{
	date +%s.%3N
}

# Seconds between two st_now readings.
st_elapsed()
{
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'
}

# Put our LDB module at the top of the stack of the DC in DIR (samba not
# running), the way an administrator does: samba-asa enable, which checks
# that ldb can load the module before it writes sam.ldb's @MODULES.
st_enable_ldb_module()
{
	local dir=$1
	LDB_MODULES_PATH=$ST_LDB_MODULES_DIR "$ST_REPO/bin/tools/samba-asa" \
		enable -H "$dir/private/sam.ldb" -s "$dir/etc/smb.conf" \
		>/dev/null
}

# samba makes its TLS keys on its first start, RSA 4096, ~3 s; every
# instance would pay that.  Make them once for the DC in DIR whose name is
# FQDN (2048 bits, enough for a throwaway test DC), where samba looks for
# them by default.
st_make_tls_key()
{
	local dir=$1 fqdn=$2

	st_say "making the DC's TLS key and self-signed certificate"
	mkdir -p "$dir/private/tls"
	openssl req -x509 -newkey rsa:2048 -nodes -days 30 \
		-subj "/CN=$fqdn" \
		-keyout "$dir/private/tls/key.pem" \
		-out "$dir/private/tls/cert.pem" >/dev/null 2>&1 ||
		st_die "openssl could not make a TLS key"
	chmod 0600 "$dir/private/tls/key.pem"	# samba refuses others
	cp "$dir/private/tls/cert.pem" "$dir/private/tls/ca.pem"
}

# Provision a DC into TEMPLATE, with a realm and passwords of its own.
st_provision()
{
	local dir=$1 tag realm domain pass t0 t1 enabled

	[ "$(id -u)" = 0 ] || st_die "must run as root (network namespaces)"
	rm -rf "$dir"
	# Every per-DC path inside the directory, or DCs running side by side
	# would share (and fight over) /run/samba and friends.
	mkdir -p "$dir"/{run,log,ncalrpc,winbindd,ntp_signd}
	chmod 0750 "$dir/ntp_signd"	# samba insists
	tag=$(st_random 8)
	realm="ASA$tag.TEST"
	domain="ASA$tag"
	# Three character classes, as the default password policy wants; no
	# character that a shell or "-Uuser%password" would trip on.
	pass="$(st_random 24 A-Za-z0-9)-Aa1"
	(umask 077; printf '%s\n' "$pass" >"$dir/password")
	st_say "provisioning realm $realm into $dir"
	t0=$(st_now)
	samba-tool domain provision \
		--realm="$realm" --domain="$domain" \
		--adminpass="$pass" \
		--targetdir="$dir" \
		--server-role=dc \
		--dns-backend=SAMBA_INTERNAL \
		--host-name="$ST_SERVER" \
		--host-ip="$ST_SERVER_IP" \
		--option="interfaces=$ST_SERVER_IP" \
		--option="bind interfaces only=yes" \
		--option="pid directory=$dir/run" \
		--option="log file=$dir/log/log.%m" \
		--option="ncalrpc dir=$dir/ncalrpc" \
		--option="winbindd socket directory=$dir/winbindd" \
		--option="ntp signd socket directory=$dir/ntp_signd" \
		--option="dns forwarder=127.0.0.1" \
		>"$dir/provision.log" 2>&1 ||
		{ tail -20 "$dir/provision.log" >&2;
		  st_die "provision failed, see $dir/provision.log"; }
	# "dns forwarder": provision writes the host's resolver there.  Not
	# the DC's own address either: queries it cannot answer would go
	# round in a loop, and under -M single that starves LDAP (seen: a
	# rootDSE search taking 10-40 s).  127.0.0.1 in the namespace has no
	# DNS server, so a forwarded query fails at once.
	# The admin password was on provision's command line above; that is
	# the only way samba-tool takes it, and this password is thrown away
	# with the run.  Tests read it from the file.

	# samba_spnupdate adds the DC's own SPNs (ldap/..., GC/...) a few
	# seconds after samba's first start; until then "kvno ldap/dc1..."
	# fails.  It works on the local sam.ldb, so do it once, here.
	st_say "adding the DC's service principal names"
	samba_spnupdate -s "$dir/etc/smb.conf" >>"$dir/provision.log" 2>&1 ||
		st_die "samba_spnupdate failed, see $dir/provision.log"

	# samba's own TLS key would cost every instance ~3 s: once, here.
	st_make_tls_key "$dir" "$ST_SERVER.$(echo "$realm" | tr A-Z a-z)"

	# Our module, when built, unless SELFTEST_LDB_MODULE=no asks for a
	# stock DC (to compare with Samba's own behaviour).
	enabled=no
	if [ -e "$ST_LDB_MODULES_DIR/$ST_LDB_MODULE.so" ] &&
	   [ "${SELFTEST_LDB_MODULE:-yes}" != no ]; then
		st_say "enabling LDB module $ST_LDB_MODULE in the template"
		st_enable_ldb_module "$dir" ||
			st_die "could not enable $ST_LDB_MODULE"
		enabled=yes
	fi
	t1=$(st_now)

	cat >"$dir/template.vars" <<EOF
REALM=$realm
DOMAIN=$domain
TEMPLATE=$dir
PROVISION_SECONDS=$(st_elapsed "$t0" "$t1")
LDB_MODULE_ENABLED=$enabled
EOF
}

# Read KEY=VALUE lines into the environment.
st_read_vars()
{
	local key value
	while IFS='=' read -r key value; do
		if [ -n "$key" ]; then
			export "$key=$value"
		fi
	done <"$1"
}

# Copy TEMPLATE into INSTANCE and make the copy point at itself only.
st_copy_template()
{
	local template=$1 inst=$2

	rm -rf "$inst"
	mkdir -p "$(dirname "$inst")"
	# -a keeps the NT ACLs of sysvol, stored in extended attributes.
	cp -a "$template" "$inst"
	# smb.conf is the only file holding absolute paths (checked: grep -r
	# over a fresh provision finds the target directory nowhere else).
	sed -i "s|$template|$inst|g" "$inst/etc/smb.conf"
	rm -f "$inst"/run/*.pid "$inst"/log/* "$inst/provision.log" \
		"$inst/template.vars"
	if grep -rqF "$template" "$inst" 2>/dev/null; then
		grep -rlF "$template" "$inst" >&2
		st_die "the copy in $inst still names $template"
	fi
}

# The krb5.conf for clients and samba inside the namespace: the KDC by
# address (KDC, by default the DC's), no DNS.  The multi-line realm block
# matters: Heimdal (inside samba) rejects "REALM = { kdc = ... }" on one
# line.
st_write_krb5_conf()
{
	local file=$1 realm=$2 kdc=${3:-$ST_SERVER_IP} lower
	lower=$(echo "$realm" | tr A-Z a-z)
	cat >"$file" <<EOF
[libdefaults]
	default_realm = $realm
	dns_lookup_kdc = false
	dns_lookup_realm = false
	rdns = false
	dns_canonicalize_hostname = false

[realms]
	$realm = {
		kdc = $kdc
		admin_server = $kdc
		default_domain = $lower
	}

[domain_realm]
	.$lower = $realm
	$lower = $realm
EOF
}

# DIR/ldb-modules: links to the built LDB modules (see st_start).
st_link_ldb_modules()
{
	local dir=$1 i

	mkdir -p "$dir/ldb-modules"
	for i in "$ST_LDB_MODULES_DIR"/*.so; do
		if [ -e "$i" ]; then
			ln -sf "$i" "$dir/ldb-modules/"
		fi
	done
}

# Start samba for the DC in DIR in network namespace NS, with the service
# modules of SVCDIR mounted over Samba's service directory, KRB5_CONFIG
# KRB5CONF and the process model $SELFTEST_SAMBA_MODEL (default "single";
# two replicating DCs need "standard", see selftest/pair.sh).  Writes
# DIR/samba.pid.  Standard input is handed to samba (see the header).
st_launch_samba()
{
	local dir=$1 ns=$2 svcdir=$3 krb5conf=$4 pid
	local model=${SELFTEST_SAMBA_MODEL:-single}

	st_say "starting samba -M $model (own process group, private mount" \
		"namespace)"
	# setsid: samba leads a new process group, so smbd and winbindd are
	# stopped with it.  unshare -m: the bind mount exists only for samba.
	# Nothing in this chain forks, so $! is samba's own PID.
	# KRB5_CONFIG: samba's KDC and its client code read it too.
	# 0<&8: bash gives a background command /dev/null as standard input
	# unless it is redirected explicitly; samba must get ours.
	exec 8<&0
	KRB5_CONFIG=$krb5conf \
	LDB_MODULES_PATH=$dir/ldb-modules \
	setsid ip netns exec "$ns" \
		unshare --mount --propagation private \
		/bin/sh -c 'mount --bind "$0" "$1" && shift && exec "$@"' \
		"$svcdir" "$ST_SAMBA_SERVICE_DIR" \
		samba -s "$dir/etc/smb.conf" -i -M "$model" \
		0<&8 8<&- >"$dir/samba.out" 2>&1 &
	pid=$!
	exec 8<&-
	echo "$pid" >"$dir/samba.pid"
}

# Wait until the samba with PID of the DC in DIR answers on IP in NS: LDAP
# answers the rootDSE and the KDC named in KRB5CONF issues a ticket.
st_wait_samba()
{
	local dir=$1 ns=$2 ip=$3 pid=$4 krb5conf=$5 i

	st_say "waiting for LDAP (rootDSE) and Kerberos (kinit Administrator)"
	for i in $(seq 1 300); do
		kill -0 "$pid" 2>/dev/null || {
			tail -30 "$dir/samba.out" >&2
			st_die "samba exited during start," \
				"see $dir/samba.out"; }
		if ip netns exec "$ns" ldapsearch -x -LLL -o nettimeout=2 \
			-H "ldap://$ip" -s base -b "" \
			defaultNamingContext </dev/null >/dev/null 2>&1 &&
		   KRB5_CONFIG=$krb5conf \
		   KRB5CCNAME=FILE:$dir/ccache.startup \
		   ip netns exec "$ns" kinit "Administrator@$REALM" \
			<"$dir/password" >/dev/null 2>&1; then
			rm -f "$dir/ccache.startup"
			return 0
		fi
		sleep 0.1
	done
	tail -30 "$dir/samba.out" >&2
	st_die "samba in $ns on $ip did not answer within 30 s"
}

# Start an instance of TEMPLATE in INSTANCE, in network namespace NETNS.
# Standard input is handed to samba (see the header).
# A DC's Unix sockets live below its directory, the deepest being
# state/winbindd_privileged/pipe, and a socket path has at most 107
# characters: winbindd refuses a longer one and samba stops at start.
st_check_socket_room()
{
	local deepest=$1/state/winbindd_privileged/pipe

	[ ${#deepest} -lt 108 ] ||
		st_die "$1 is too long a directory for a DC: samba's socket" \
		       "$deepest would have ${#deepest} characters (at most" \
		       "107); use a checkout with a shorter path"
}

st_start()
{
	local template=$1 inst=$2 ns=$3
	local t0 t1 lower pid svcdir i model

	[ "$(id -u)" = 0 ] || st_die "must run as root (network namespaces)"
	[ -e "$template/template.vars" ] || st_die "no template in $template"
	st_read_vars "$template/template.vars"
	st_check_socket_room "$inst"
	lower=$(echo "$REALM" | tr A-Z a-z)
	t0=$(st_now)

	st_say "copying the template into $inst"
	st_copy_template "$template" "$inst"
	echo "$ns" >"$inst/netns"	# so that "stop" can find it
	if [ -n "${SELFTEST_SMBCONF_EXTRA:-}" ]; then
		# Extra [global] parameters for this instance only (the plan's
		# smbconf=, e.g. another asa:unique principal names mode).
		printf '%s\n' "$SELFTEST_SMBCONF_EXTRA" | sed 's/^/\t/' \
			>"$inst/smbconf.extra"
		sed -i "/^\[global\]/r $inst/smbconf.extra" \
			"$inst/etc/smb.conf"
	fi

	# The service modules: the system's own plus ours, copied (a symlink
	# into the directory we mount over would point at itself).
	svcdir=$inst/service-modules
	mkdir -p "$svcdir"
	cp -a "$ST_SAMBA_SERVICE_DIR"/. "$svcdir"/
	if [ -d "$ST_SERVICE_MODULES_DIR" ]; then
		cp -a "$ST_SERVICE_MODULES_DIR"/*.so "$svcdir"/ 2>/dev/null || true
	fi

	# The LDB modules: links to the built ones, in a directory of their
	# own.  ldb dlopen()s every file in each LDB_MODULES_PATH directory,
	# and the build directory also holds object files; every directory
	# named there must exist, too, built or not.
	st_link_ldb_modules "$inst"

	st_say "creating network namespace $ns (lo up, $ST_SERVER_IP)"
	ip netns add "$ns"
	ip netns exec "$ns" ip link set lo up
	ip netns exec "$ns" ip addr add "$ST_SERVER_IP/8" dev lo 2>/dev/null ||
		true	# 127.0.0.1/8 on lo already covers it on some kernels
	# "ip netns exec" bind-mounts these over /etc/hosts and resolv.conf.
	mkdir -p "/etc/netns/$ns"
	cat >"/etc/netns/$ns/hosts" <<EOF
127.0.0.1	localhost
$ST_SERVER_IP	$ST_SERVER.$lower $ST_SERVER
EOF
	cat >"/etc/netns/$ns/resolv.conf" <<EOF
nameserver $ST_SERVER_IP
search $lower
EOF
	st_write_krb5_conf "$inst/krb5.conf" "$REALM"

	# The process model: single unless the caller asks for another
	# (SELFTEST_SAMBA_MODEL: prefork, samba's default, or standard).
	model=${SELFTEST_SAMBA_MODEL:-single}
	case "$model" in
	single|prefork|standard) ;;
	*) st_die "SELFTEST_SAMBA_MODEL=$model: not single, prefork or standard" ;;
	esac
	SELFTEST_SAMBA_MODEL=$model \
		st_launch_samba "$inst" "$ns" "$svcdir" "$inst/krb5.conf"
	read -r pid <"$inst/samba.pid"

	(umask 077; : >"$inst/environ")
	cat >>"$inst/environ" <<EOF
SERVER=$ST_SERVER
SERVER_IP=$ST_SERVER_IP
NETBIOSNAME=$(echo "$ST_SERVER" | tr a-z A-Z)
REALM=$REALM
DOMAIN=$DOMAIN
DNSNAME=$lower
DC_SERVER=$ST_SERVER
DC_SERVER_IP=$ST_SERVER_IP
DC_USERNAME=Administrator
DC_PASSWORD=$(cat "$inst/password")
USERNAME=Administrator
PASSWORD=$(cat "$inst/password")
PREFIX_ABS=$inst
SELFTEST_PREFIX=$inst
SMB_CONF_PATH=$inst/etc/smb.conf
KRB5_CONFIG=$inst/krb5.conf
SELFTEST_NETNS=$ns
SELFTEST_SAMBA_PID=$pid
SELFTEST_SAMBA_MODEL=$model
SELFTEST_PASSWORD_FILE=$inst/password
SELFTEST_SERVICE_MODULES=$svcdir
LDB_MODULES_PATH=$inst/ldb-modules
EOF

	st_wait_samba "$inst" "$ns" "$ST_SERVER_IP" "$pid" "$inst/krb5.conf" ||
		return 1
	t1=$(st_now)
	echo "START_SECONDS=$(st_elapsed "$t0" "$t1")" >>"$inst/environ"
	st_say "ready in $(st_elapsed "$t0" "$t1") s"
}

# Stop an instance: its samba process group, anything else left in its
# namespace, the namespace and its /etc/netns files.  Safe to call twice
# and on a half-started instance.
st_stop()
{
	local inst=$1 ns="" pid="" i p

	if [ -e "$inst/netns" ]; then
		ns=$(cat "$inst/netns")
	fi
	if [ -e "$inst/samba.pid" ]; then
		read -r pid <"$inst/samba.pid"
	fi

	if [ -n "$pid" ] && kill -0 -- "-$pid" 2>/dev/null; then
		st_say "stopping samba (process group $pid)"
		kill -TERM -- "-$pid" 2>/dev/null || true
		for i in $(seq 1 50); do
			kill -0 -- "-$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL -- "-$pid" 2>/dev/null || true
	fi
	if [ -n "$ns" ] && [ -e "/run/netns/$ns" ]; then
		# Whatever still runs in our namespace is ours (helpers that
		# left samba's process group, e.g. a test's daemons).
		for p in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$p" 2>/dev/null || true
		done
		for i in $(seq 1 50); do
			[ -z "$(ip netns pids "$ns" 2>/dev/null)" ] && break
			sleep 0.1
		done
		st_say "deleting network namespace $ns"
		ip netns del "$ns" 2>/dev/null || true
	fi
	if [ -n "$ns" ]; then
		rm -rf "/etc/netns/$ns"
	fi
	return 0
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -eu
	cmd=${1:-}
	shift || true
	case "$cmd" in
	provision)	st_provision "$@" ;;
	start)		st_start "$@" ;;
	stop)		st_stop "$@" ;;
	enable-module)	st_enable_ldb_module "$@" ;;
	*)	echo "usage: $0 provision TEMPLATE | enable-module DIR |" \
			"start TEMPLATE INSTANCE NETNS | stop INSTANCE" >&2
		exit 2 ;;
	esac
fi
