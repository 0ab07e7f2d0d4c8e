#!/bin/bash
# selftest/pair.sh: the environment ad_dc_pair, ad_dc plus a second DC.
#
# Used two ways:
#   source selftest/pair.sh           (pair_start, pair_stop, pair_check_repl)
#   bash selftest/pair.sh start INSTANCE
#   bash selftest/pair.sh stop INSTANCE
#   bash selftest/pair.sh check-repl INSTANCE
#   bash selftest/pair.sh replicate INSTANCE
#
# INSTANCE is a running ad_dc (selftest/env.sh start, with
# SELFTEST_SAMBA_MODEL=standard: see below).  "start" adds, in the DC's
# network namespace, dc2 on 127.0.0.22, in INSTANCE/dc2:
#
#   join      samba-tool domain join REALM DC against dc1, with the same
#             per-DC paths as env.sh's provision (pid, log, sockets) and the
#             suite's extra smb.conf lines, authenticated by a ticket (the
#             password never goes on a command line);
#   module    unique_principal_names enabled in dc2's sam.ldb with
#             samba-asa enable, samba stopped, when dc1 has it; dc2's own
#             SPNs (samba_spnupdate) and TLS key made before its start, as
#             env.sh does for dc1;
#   DNS       dc2's A record and its <NTDS Settings objectGUID>._msdcs CNAME
#             added on dc1 before dc2 starts: on loopback the join registers
#             neither, and without the CNAME dc1 cannot find dc2 to pull from;
#   samba     dc2's samba, -M standard, in its own process group and mount
#             namespace (env.sh's st_launch_samba), with a krb5.conf that
#             names dc2 as the only KDC;
#   repl      the KCC run on dc1, every naming context replicated both
#             ways, and the replication state checked (pair_check_repl)
#             before "start" returns.
#
# Both DCs must run -M standard: under -M single a DC blocks on a DNS query
# to its own DNS server (dc1 does, finding dc2 to pull from) and stops
# answering.  Checked for dc1 too: started -M single, it timed out in its
# KCC ("DsExecuteKCC failed - {Device Timeout}") and then answered neither
# DRS nor an LDAP rootDSE query; selftest.py starts it -M standard.
#
# dc2's samba gets "start"'s standard input, as env.sh gives dc1's: the
# runner keeps the writing end of that pipe open, so both DCs go away if
# the runner dies.
#
# "start" appends to INSTANCE/environ: DC2_SERVER, DC2_SERVER_IP,
# DC2_NETBIOSNAME, DC2_PREFIX_ABS, DC2_SMB_CONF_PATH, DC2_KRB5_CONFIG (a
# krb5.conf naming only dc2's KDC; KRB5_CONFIG names only dc1's, and so does
# DC1_KRB5_CONFIG), DC1_DSA_DN and DC2_DSA_DN (each DC's NTDS Settings, its
# rootDSE dsServiceName), DC1_DSA_GUID and DC2_DSA_GUID, DC2_SAMBA_PID and
# PAIR_START_SECONDS.
#
# "check-repl" checks the replication state of both DCs (pair_check_repl),
# "replicate" replicates every naming context both ways now
# (pair_replicate); the suites use both.
#
# "stop" stops dc2's process group by the PID it recorded; the namespace and
# dc1 are env.sh stop's.  Safe to call twice and on a half-started pair.

PAIR_REPO=${PAIR_REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
# env.sh's helpers (st_launch_samba, st_wait_samba, st_write_krb5_conf, ...)
. "$PAIR_REPO/selftest/env.sh"

PAIR_DC2=dc2
PAIR_DC2_IP=127.0.0.22
PAIR_TAG="# ad_dc_pair"	# marks our lines in the namespace's hosts file

pair_err()
{
	echo "selftest/pair.sh: $*" >&2
	return 1
}

# The naming contexts of the domain whose base DN is DN, one a line.
pair_ncs()
{
	local dn=$1

	printf '%s\n' "$dn" "CN=Configuration,$dn" \
		"CN=Schema,CN=Configuration,$dn" \
		"DC=DomainDnsZones,$dn" "DC=ForestDnsZones,$dn"
}

# samba-tool ARGS... in the namespace, with the administrator's ticket in
# $PAIR_CCACHE and the krb5.conf $PAIR_KRB5 (dc1's by default).
pair_tool()
{
	KRB5CCNAME=FILE:$PAIR_CCACHE KRB5_CONFIG=${PAIR_KRB5:-$KRB5_CONFIG} \
		ip netns exec "$SELFTEST_NETNS" samba-tool "$@" \
		--use-kerberos=required
}

# Run several samba-tool command lines in one python process (a samba-tool
# process costs ~1 s of start-up on a loaded machine).  Each argument is one
# command line, its words separated by TABs; one that fails is tried again
# twice, a second apart (the first pull from a DC just started may meet a
# connection it drops: WERR_NETNAME_DELETED).  Exits non-zero when one
# failed every time; its output says which.
pair_tools()
{
	KRB5CCNAME=FILE:$PAIR_CCACHE KRB5_CONFIG=${PAIR_KRB5:-$KRB5_CONFIG} \
	ip netns exec "$SELFTEST_NETNS" "$ST_PYTHON" - "$@" <<'EOF'
import sys
from samba.netcmd.main import cmd_sambatool

import time


def samba_tool(*args):
    cmd = cmd_sambatool()
    if hasattr(cmd, "_resolve"):	# Samba 4.21 and later
        cmd, argv = cmd._resolve("samba-tool", *args)
        return cmd._run(*argv)
    return cmd._run("samba-tool", *args)


rc = 0
for line in sys.argv[1:]:
    argv = line.split("\t") + ["--use-kerberos=required"]
    for attempt in range(3):
        status = samba_tool(*argv)
        sys.stdout.flush()
        if not status:
            break
        print("pair: failed (%s): samba-tool %s" % (status, " ".join(argv)))
        time.sleep(1)
    else:
        rc = 1
sys.exit(rc)
EOF
}

# INSTANCE's variables, and a ticket for the administrator in
# $PAIR_CCACHE, unless there is one already ("check-repl" and "replicate"
# on their own get one of their own).
pair_ticket()
{
	local inst=$1

	st_read_vars "$inst/environ" || return 1
	if [ -z "${PAIR_CCACHE:-}" ]; then
		PAIR_CCACHE=$inst/dc2/tool.ccache
		KRB5CCNAME=FILE:$PAIR_CCACHE \
			ip netns exec "$SELFTEST_NETNS" \
			kinit "Administrator@$REALM" <"$inst/password" \
			>/dev/null || return 1
	fi
}

# The replication state of both DCs, from each DC's showrepl --json: every
# naming context has an inbound neighbour that is the other DC, with a
# success and no failure since, and no outbound neighbour reports a
# failure.  Prints what is wrong; exit 0 when nothing is.
pair_check_repl()
{
	local inst=$1

	pair_ticket "$inst" || return 1
	PAIR_KRB5=$inst/krb5.conf pair_tool drs showrepl \
		"$DC_SERVER.$DNSNAME" --json >"$inst/dc2/showrepl.dc1" &&
	PAIR_KRB5=$inst/dc2/krb5.conf pair_tool drs showrepl \
		"$DC2_SERVER.$DNSNAME" --json >"$inst/dc2/showrepl.dc2" ||
		return 1
	"$ST_PYTHON" - "$inst/dc2/showrepl.dc1" "$DC2_DSA_GUID" \
		"$inst/dc2/showrepl.dc2" "$DC1_DSA_GUID" \
		$(pair_ncs "$(pair_domain_dn)") <<'EOF'
import json
import sys

files = sys.argv[1:5]
ncs = [nc.lower() for nc in sys.argv[5:]]
bad = []
for path, partner in ((files[0], files[1]), (files[2], files[3])):
    with open(path) as f:
        data = json.load(f)
    dc = path.rsplit(".", 1)[1]
    seen = set()
    for rep in data["repsFrom"]:
        if rep["is deleted"]:
            continue
        if rep["consecutive failures"] or \
           rep["last success"] in ("NTTIME(0)", "never"):
            bad.append("%s: inbound %s from %s: %s, %d consecutive "
                       "failure(s), last success %s" %
                       (dc, rep["NC dn"], rep.get("DSA", rep["NTDS DN"]),
                        rep["last attempt message"],
                        rep["consecutive failures"], rep["last success"]))
        if rep["DSA objectGUID"] == partner:
            seen.add(rep["NC dn"].lower())
    for nc in ncs:
        if nc not in seen:
            bad.append("%s: no inbound neighbour for %s" % (dc, nc))
    for rep in data["repsTo"]:
        if rep["is deleted"]:
            continue
        if rep["consecutive failures"]:
            bad.append("%s: outbound %s to %s: %s, %d consecutive "
                       "failure(s)" %
                       (dc, rep["NC dn"], rep.get("DSA", rep["NTDS DN"]),
                        rep["last attempt message"],
                        rep["consecutive failures"]))
for line in bad:
    print(line)
sys.exit(1 if bad else 0)
EOF
}

pair_domain_dn()
{
	local dn="" part

	for part in ${DNSNAME//./ }; do
		dn="$dn${dn:+,}DC=$part"
	done
	echo "$dn"
}

# Replicate every naming context both ways, now: each DC pulls from the
# other (the commands go to the DC that pulls, with a ticket from its KDC).
pair_replicate()
{
	local inst=$1 nc dc1 dc2 to1=() to2=()

	pair_ticket "$inst" || return 1
	dc1=$DC_SERVER.$DNSNAME
	dc2=$DC2_SERVER.$DNSNAME
	while read -r nc; do
		to1+=("drs	replicate	$dc1	$dc2	$nc")
		to2+=("drs	replicate	$dc2	$dc1	$nc")
	done < <(pair_ncs "$(pair_domain_dn)")
	PAIR_KRB5=$inst/krb5.conf pair_tools "${to1[@]}" &&
	PAIR_KRB5=$inst/dc2/krb5.conf pair_tools "${to2[@]}"
}

# An attribute of the base object DN in the local sam.ldb of DIR (samba
# stopped or not: ldb locks).
pair_local_attr()
{
	local dir=$1 base=$2 attr=$3

	LDB_MODULES_PATH=$dir/ldb-modules \
		ldbsearch -H "$dir/private/sam.ldb" -s base -b "$base" "$attr" \
		2>/dev/null |
		awk -v a="$attr: " '
			/^ / && take { v = v substr($0, 2); next }
			{ take = 0 }
			index($0, a) == 1 {
				v = substr($0, length(a) + 1); take = 1
			}
			END { if (v != "") print v }'
}

pair_start()
{
	local inst=$1 t0 t1 rc

	[ "$(id -u)" = 0 ] || { pair_err "must run as root"; return 1; }
	[[ $inst == /* ]] ||
		{ pair_err "$inst: an absolute path, please"; return 1; }
	[ -r "$inst/environ" ] ||
		{ pair_err "no ad_dc in $inst (no environ)"; return 1; }
	t0=$(st_now)
	pair_stop "$inst"	# a previous dc2 in this instance
	rm -rf "$inst/dc2"
	( pair_start_dc2 "$inst" )
	rc=$?
	if [ "$rc" != 0 ]; then
		pair_err "start failed, stopping dc2"
		pair_stop "$inst"
		return "$rc"
	fi
	t1=$(st_now)
	echo "PAIR_START_SECONDS=$(st_elapsed "$t0" "$t1")" >>"$inst/environ"
	st_say "pair ready in $(st_elapsed "$t0" "$t1") s"
}

# The body of "start", in a subshell: st_die exits it.
pair_start_dc2()
{
	local inst=$1 d2=$1/dc2 lower dc1_fqdn dc2_fqdn domain_dn
	local dc1_dsa dc2_dsa dc1_guid dc2_guid pid dns_pid t

	set -u
	st_read_vars "$inst/environ"
	lower=$DNSNAME
	dc1_fqdn=$DC_SERVER.$lower
	dc2_fqdn=$PAIR_DC2.$lower
	domain_dn=$(pair_domain_dn)
	PAIR_CCACHE=$d2/admin.ccache
	[ -e "/run/netns/$SELFTEST_NETNS" ] ||
		st_die "the namespace $SELFTEST_NETNS of $inst does not exist"
	st_check_socket_room "$d2"

	mkdir -p "$d2"/{run,log,ncalrpc,winbindd,ntp_signd}
	chmod 0750 "$d2/ntp_signd"	# samba insists
	(umask 077; cp "$inst/password" "$d2/password")
	st_link_ldb_modules "$d2"

	st_say "address and name of $PAIR_DC2 in namespace $SELFTEST_NETNS"
	ip -n "$SELFTEST_NETNS" addr add "$PAIR_DC2_IP/8" dev lo 2>/dev/null ||
		ip -n "$SELFTEST_NETNS" addr show dev lo |
		grep -qF " $PAIR_DC2_IP/" ||
		st_die "cannot add $PAIR_DC2_IP in $SELFTEST_NETNS"
	sed -i "/$PAIR_TAG\$/d" "/etc/netns/$SELFTEST_NETNS/hosts"
	printf '%s\t%s %s %s\n' "$PAIR_DC2_IP" "$dc2_fqdn" "$PAIR_DC2" \
		"$PAIR_TAG" >>"/etc/netns/$SELFTEST_NETNS/hosts"

	KRB5_CONFIG=$inst/krb5.conf KRB5CCNAME=FILE:$PAIR_CCACHE \
		ip netns exec "$SELFTEST_NETNS" kinit "Administrator@$REALM" \
		<"$inst/password" >/dev/null ||
		st_die "no ticket for the administrator from $dc1_fqdn"

	st_say "joining $PAIR_DC2 to $REALM as a DC (from $dc1_fqdn)"
	t=$(st_now)
	pair_tool domain join "$REALM" DC \
		--server="$dc1_fqdn" \
		--targetdir="$d2" \
		--dns-backend=SAMBA_INTERNAL \
		--option="netbios name=$(echo "$PAIR_DC2" | tr a-z A-Z)" \
		--option="interfaces=$PAIR_DC2_IP" \
		--option="bind interfaces only=yes" \
		--option="pid directory=$d2/run" \
		--option="log file=$d2/log/log.%m" \
		--option="ncalrpc dir=$d2/ncalrpc" \
		--option="winbindd socket directory=$d2/winbindd" \
		--option="ntp signd socket directory=$d2/ntp_signd" \
		--option="dns forwarder=127.0.0.1" \
		</dev/null >"$d2/join.log" 2>&1 ||
		{ tail -20 "$d2/join.log" >&2;
		  st_die "join failed, see $d2/join.log"; }
	st_say "joined in $(st_elapsed "$t" "$(st_now)") s"
	if [ -e "$inst/smbconf.extra" ]; then
		# the suite's extra [global] lines apply to both DCs
		sed -i "/^\[global\]/r $inst/smbconf.extra" "$d2/etc/smb.conf"
	fi

	dc1_dsa=$(pair_local_attr "$inst" "" dsServiceName)
	dc2_dsa=$(pair_local_attr "$d2" "" dsServiceName)
	dc1_guid=$(pair_local_attr "$inst" "$dc1_dsa" objectGUID)
	dc2_guid=$(pair_local_attr "$d2" "$dc2_dsa" objectGUID)
	[ -n "$dc1_guid" ] && [ -n "$dc2_guid" ] ||
		st_die "no NTDS Settings objectGUID for dc1 ('$dc1_dsa') or" \
			"dc2 ('$dc2_dsa')"

	# The DNS records on dc1, in the background while dc2 is set up.
	st_say "adding $dc2_fqdn and $dc2_guid._msdcs.$lower to dc1's DNS"
	pair_tools "dns	add	$dc1_fqdn	$lower	$PAIR_DC2	A	$PAIR_DC2_IP" \
		"dns	add	$dc1_fqdn	_msdcs.$lower	$dc2_guid	CNAME	$dc2_fqdn" \
		</dev/null >"$d2/dns.log" 2>&1 &
	dns_pid=$!

	# dc2 like the template dc1: our module (when dc1 runs it) and a TLS
	# key made now rather than samba's RSA 4096 one on its first start.
	if pair_local_attr "$inst" "@MODULES" "@LIST" |
	   grep -qw "$ST_LDB_MODULE"; then
		st_say "enabling LDB module $ST_LDB_MODULE on $PAIR_DC2"
		st_enable_ldb_module "$d2" ||
			st_die "could not enable $ST_LDB_MODULE on $PAIR_DC2"
		echo yes >"$d2/ldb-module-enabled"
	fi
	# dc2's own SPNs (ldap/dc2..., GC/...): samba adds them a while after
	# its start, and until then no KDC issues a ticket for dc2's LDAP or
	# DRS service.  Locally, now, as env.sh does for dc1.
	LDB_MODULES_PATH=$d2/ldb-modules \
		samba_spnupdate -s "$d2/etc/smb.conf" >>"$d2/join.log" 2>&1 ||
		st_die "samba_spnupdate failed on $PAIR_DC2, see $d2/join.log"
	st_make_tls_key "$d2" "$dc2_fqdn"
	st_write_krb5_conf "$d2/krb5.conf" "$REALM" "$PAIR_DC2_IP"

	wait "$dns_pid" ||
		{ cat "$d2/dns.log" >&2;
		  st_die "adding dc2's DNS records on dc1 failed"; }

	st_say "starting samba of $PAIR_DC2 (-M standard)"
	SELFTEST_SAMBA_MODEL=standard \
		st_launch_samba "$d2" "$SELFTEST_NETNS" \
		"$SELFTEST_SERVICE_MODULES" "$d2/krb5.conf"
	read -r pid <"$d2/samba.pid"
	st_wait_samba "$d2" "$SELFTEST_NETNS" "$PAIR_DC2_IP" "$pid" \
		"$d2/krb5.conf"

	cat >>"$inst/environ" <<EOF
DC2_SERVER=$PAIR_DC2
DC2_SERVER_IP=$PAIR_DC2_IP
DC2_NETBIOSNAME=$(echo "$PAIR_DC2" | tr a-z A-Z)
DC2_PREFIX_ABS=$d2
DC2_SMB_CONF_PATH=$d2/etc/smb.conf
DC2_KRB5_CONFIG=$d2/krb5.conf
DC2_SAMBA_PID=$pid
DC1_KRB5_CONFIG=$inst/krb5.conf
DC1_DSA_DN=$dc1_dsa
DC2_DSA_DN=$dc2_dsa
DC1_DSA_GUID=$dc1_guid
DC2_DSA_GUID=$dc2_guid
EOF
	st_read_vars "$inst/environ"

	# dc1's KCC makes its connection from dc2 (it has none until the KCC
	# runs; the join gave dc2 its connections from dc1); then every NC
	# both ways, now.  Commands to dc2 ask dc2's KDC for their tickets:
	# dc1 does not know dc2's ldap/ SPN until it has pulled from dc2.
	st_say "KCC on dc1, replication of every NC both ways"
	t=$(st_now)
	{ PAIR_KRB5=$inst/krb5.conf pair_tools "drs	kcc	$dc1_fqdn" &&
	  pair_replicate "$inst"; } >"$d2/repl.log" 2>&1 ||
		{ tail -20 "$d2/repl.log" >&2;
		  st_die "replication between the DCs failed," \
			"see $d2/repl.log"; }
	pair_check_repl "$inst" >>"$d2/repl.log" 2>&1 ||
		{ tail -20 "$d2/repl.log" >&2;
		  st_die "replication is not healthy, see $d2/repl.log"; }
	st_say "replicated in $(st_elapsed "$t" "$(st_now)") s"
	rm -f "$PAIR_CCACHE"
}

pair_stop()
{
	local inst=$1

	[ -d "$inst/dc2" ] || return 0
	# dc2/ has no netns file: st_stop stops its process group only.
	st_stop "$inst/dc2"
	rm -f "$inst/dc2/admin.ccache"
	if [ -n "$(cat "$inst/netns" 2>/dev/null)" ]; then
		sed -i "/$PAIR_TAG\$/d" \
			"/etc/netns/$(cat "$inst/netns")/hosts" 2>/dev/null
	fi
	return 0
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	cmd=${1:-}
	shift || true
	case "$cmd" in
	start)		pair_start "$@" ;;
	stop)		pair_stop "$@" ;;
	check-repl)	pair_check_repl "$@" ;;
	replicate)	pair_replicate "$@" ;;
	*)	echo "usage: $0 start INSTANCE | stop INSTANCE |" \
			"check-repl INSTANCE | replicate INSTANCE" >&2
		exit 2 ;;
	esac
fi
