#!/bin/bash
# selftest/array.sh: the environment ad_dc_array, ad_dc plus a server array.
#
# Used two ways:
#   source selftest/array.sh          (array_start, array_stop, array_authorize)
#   bash selftest/array.sh start INSTANCE
#   bash selftest/array.sh stop INSTANCE
#   bash selftest/array.sh authorize INSTANCE MEMBER COMMAND
#
# INSTANCE is a running ad_dc (selftest/env.sh start).  "start" adds, in the
# DC's network namespace:
#
#   m1..mN    member hosts (N=3, or $SELFTEST_ARRAY_MEMBERS when that is a
#             number, or $SELFTEST_ARRAY_NMEMBERS; at most 40) on
#             127.0.0.51.., each with its own sshd (port 22) and its own
#             Apache with mod_auth_gssapi (port 80) serving one page that
#             names the member, behind Negotiate (Kerberos only, no NTLM),
#             accepting with that member's keytab;
#             Each member also runs Dovecot IMAP (port 143) accepting
#             AUTHENTICATE GSSAPI only, with a keytab of its own for Dovecot
#             (see array_start_imap);
#   lb        haproxy on 127.0.0.50, mode tcp, round robin to the members:
#             port 80 to their Apache, port 143 to their Dovecot;
#   names     mail., autod. and outlook.<dns domain> for 127.0.0.50 and
#             mN.<dns domain> for the members, in the namespace's hosts file
#             and as A records in the DC's DNS;
#   DC key    the DC's SSH identity for pushing keytabs, made by
#             `samba-asa member setup` where samba-asa looks for it
#             (<private dir>/asa/id_ed25519), which every member authorises
#             only for the forced command samba-asa-member (bin/member/):
#             the authorized_keys line is the
#             one `member setup` prints for that member.  The members' host
#             keys go into samba-asa's known_hosts (<private
#             dir>/asa/known_hosts), so samba-asa reaches the members with
#             its defaults.
#
# Everything lives in INSTANCE/array/, except what the members' Apache
# children (www-data) must read: the checkout may be one only root can
# enter (/root, a 0700 mktemp -d), so each member's page, keytab and replay
# cache, and a copy of krb5.conf, live in a directory of this run,
# /tmp/asa-array-XXXXXX (0711: www-data may pass, not list), made by
# "start" and removed by "stop".  The members' keytabs are not made here:
# the tests install them (0640 root:www-data, as mod_auth_gssapi runs as
# www-data and re-reads the keytab on every request).
#
# The forced command: by default the line `samba-asa member setup
# --keytab=KEYTAB --group=www-data` prints; or $SELFTEST_ARRAY_FORCED_COMMAND
# at start, with %k replaced by the member's keytab path and %m by its name.
# "authorize" (array_authorize) replaces it for one member later; sshd reads
# authorized_keys on every connection, so no restart is needed.
#
# "start" appends to INSTANCE/environ (see array_write_environ below):
# SELFTEST_ARRAY_*, SELFTEST_LB_IP, SELFTEST_LB_NAMES and SELFTEST_MEMBER_*.
# Some values hold spaces (SELFTEST_ARRAY_MEMBERS="m1=127.0.0.51 m2=...",
# SELFTEST_LB_NAMES, SELFTEST_ARRAY_FORCED_COMMAND): environ is KEY=VALUE
# lines, split at the first "=", as the runner and env.sh's st_read_vars
# read it; sourcing it as shell would cut those values short.
#
# "stop" stops every process "start" started, by the PIDs it recorded (and,
# for Apache and sshd, the children those PIDs have), and only if the
# process still runs one of our configuration files: others run Apache, sshd
# and haproxy on this machine.  It leaves the DC and the namespace to
# "env.sh stop".  Safe to call twice and on a half-started array.

ARRAY_REPO=${ARRAY_REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
ARRAY_PYTHON=/usr/bin/python3	# the python3 on PATH may lack samba's modules
ARRAY_LB_IP=127.0.0.50
ARRAY_LB_LABELS="mail autod outlook"
ARRAY_APACHE_MODULES=/usr/lib/apache2/modules
ARRAY_KEYTAB_GROUP=www-data	# Apache's user reads the keytab
ARRAY_TAG="# ad_dc_array"	# marks our lines in the namespace's hosts file
ARRAY_SAMBA_ASA=$ARRAY_REPO/bin/tools/samba-asa
# The member side; `member setup` finds it beside samba-asa.
ARRAY_SAMBA_ASA_MEMBER=$(realpath -m "$ARRAY_REPO/bin/member/samba-asa-member")
# What `member setup` puts in the line (for the record in environ).
ARRAY_DEFAULT_FORCED_COMMAND="$ARRAY_SAMBA_ASA_MEMBER --keytab=%k --group=$ARRAY_KEYTAB_GROUP"
# The members' second protocol (Dovecot IMAP) and Apache's auth.log.
# shellcheck source=selftest/array_imap.sh
. "$ARRAY_REPO/selftest/array_imap.sh"

array_say()
{
	if [ "${ST_VERBOSE:-0}" = 1 ]; then
		echo "==> $*" >&2
	fi
}

array_err()
{
	echo "selftest/array.sh: $*" >&2
	return 1
}

# Seconds between two $EPOCHREALTIME readings, for the timings we report.
array_elapsed()
{
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'
}

# INSTANCE/environ into the associative array ARRAY_ENV (a later line
# wins, as it does for the runner).  Builtins only: on a loaded machine
# every fork costs tens of milliseconds, and start and stop do many.
declare -A ARRAY_ENV
array_read_environ()
{
	local key value

	ARRAY_ENV=()
	[ -r "$1/environ" ] || return 1
	while IFS='=' read -r key value; do
		[ -n "$key" ] && ARRAY_ENV[$key]=$value
	done <"$1/environ"
}

# The members: ARRAY_NAMES (m1..mN) and ARRAY_IPS (127.0.0.51..).
ARRAY_NAMES=()
ARRAY_IPS=()
array_members()
{
	local n=${SELFTEST_ARRAY_NMEMBERS:-3} i

	# SELFTEST_ARRAY_MEMBERS=N asks for N members; the same variable in
	# a started array's environ lists them ("m1=127.0.0.51 ...").
	if [[ ${SELFTEST_ARRAY_MEMBERS:-} =~ ^[0-9]+$ ]]; then
		n=$SELFTEST_ARRAY_MEMBERS
	fi
	if ! [ "$n" -ge 1 ] 2>/dev/null || [ "$n" -gt 40 ]; then
		array_err "SELFTEST_ARRAY_MEMBERS must be 1..40, not '$n'"
		return 1
	fi
	ARRAY_NAMES=()
	ARRAY_IPS=()
	for ((i = 1; i <= n; i++)); do
		ARRAY_NAMES+=("m$i")
		ARRAY_IPS+=("127.0.0.$((50 + i))")
	done
}

# The authorized_keys line that lets the DC's key run COMMAND and nothing
# else.  sshd takes \" and \\ inside command="...".
array_key_line()
{
	local pubkey_file=$1 command=$2 pubkey

	read -r pubkey <"$pubkey_file" || return 1
	command=${command//\\/\\\\}
	command=${command//\"/\\\"}
	printf 'restrict,command="%s" %s\n' "$command" "$pubkey"
}

# Replace MEMBER's authorised DC key with one forced to run COMMAND.
# Atomic, so a connection never sees a half-written file; sshd reads the
# file on every connection.
array_authorize()
{
	local inst=$1 member=$2 command=$3 adir=$1/array

	[ -d "$adir/$member" ] ||
		{ array_err "no member $member in $inst"; return 1; }
	array_key_line "$adir/dc_ssh_key.pub" "$command" \
		>"$adir/$member/authorized_keys.new" &&
	mv -f "$adir/$member/authorized_keys.new" \
		"$adir/$member/authorized_keys"
}

array_write_sshd_config()
{
	local mdir=$1 ip=$2

	cat >"$mdir/sshd_config" <<EOF
# sshd of array member $(basename "$mdir"), written by selftest/array.sh
ListenAddress $ip:22
HostKey $mdir/ssh_host_ed25519_key
PidFile $mdir/sshd.pid
AuthorizedKeysFile $mdir/authorized_keys
UsePAM no
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
# the files live in the build tree or /tmp, not in a root-only home
StrictModes no
PrintMotd no
LogLevel VERBOSE
# Debian's bash sources ~/.bashrc for a command run by sshd when SHLVL says
# it is the top-level shell; this machine's root .bashrc takes ~2 s and
# changes PATH.  The forced command must not depend on root's dotfiles.
SetEnv SHLVL=1
EOF
}

array_write_apache_config()
{
	local mdir=$1 name=$2 ip=$3 fqdn=$4 wdir=$5

	cat >"$mdir/apache2.conf" <<EOF
# Apache of array member $name, written by selftest/array.sh
ServerRoot "$mdir"
ServerName $fqdn
PidFile "$mdir/httpd.pid"
DefaultRuntimeDir "$mdir/run"
ErrorLog "$mdir/error.log"
LogLevel warn
Listen $ip:80
User www-data
Group www-data

LoadModule mpm_event_module $ARRAY_APACHE_MODULES/mod_mpm_event.so
LoadModule authn_core_module $ARRAY_APACHE_MODULES/mod_authn_core.so
LoadModule authz_core_module $ARRAY_APACHE_MODULES/mod_authz_core.so
LoadModule authz_user_module $ARRAY_APACHE_MODULES/mod_authz_user.so
LoadModule dir_module $ARRAY_APACHE_MODULES/mod_dir.so
LoadModule auth_gssapi_module $ARRAY_APACHE_MODULES/mod_auth_gssapi.so
# Debian builds log_config into apache2 itself
<IfModule !log_config_module>
LoadModule log_config_module $ARRAY_APACHE_MODULES/mod_log_config.so
</IfModule>

# A test member: one child process, a few threads.
StartServers 1
ServerLimit 2
ThreadLimit 8
ThreadsPerChild 8
MinSpareThreads 1
MaxSpareThreads 8
MaxRequestWorkers 16

# %u is the authenticated (Kerberos) user, "-" when there is none.
LogFormat "%h %u %t \"%r\" %>s member=$name" member
CustomLog "$mdir/access.log" member

DocumentRoot "$wdir/htdocs"
DirectoryIndex index.html
<Directory />
	AllowOverride None
	Require all denied
</Directory>
<Directory "$wdir/htdocs">
	Require all granted
</Directory>
<Location />
	AuthType GSSAPI
	AuthName "array member $name"
	GssapiCredStore keytab:$wdir/http.keytab
	# krb5 only: SPNEGO may not fall back to NTLM (gss-ntlmssp)
	GssapiAllowedMech krb5
	# GSS_MECH ("Negotiate/krb5") for auth.log (array_imap.sh)
	GssapiPublishMech On
	Require valid-user
</Location>
EOF
	mkdir -p "$mdir/run"
	install -d -m 0755 "$wdir/htdocs"
	echo "array member $name ($fqdn)" >"$wdir/htdocs/index.html"
	chmod 0644 "$wdir/htdocs/index.html"
}

# The directory of this run that the members' Apache children read (see
# the top of this file), recorded in ADIR/www so that "stop" removes it.
array_make_www_dir()
{
	local adir=$1 krb5_conf=$2 wbase mode

	# What we cannot fix ourselves: www-data must be able to pass /tmp.
	mode=$(stat -c %a /tmp) || return 1
	(( 8#$mode & 1 )) || {
		array_err "/tmp is mode $mode, www-data cannot pass it:" \
			"the members' Apache would answer 403 (chmod 1777 /tmp)"
		return 1
	}
	wbase=$(mktemp -d /tmp/asa-array-XXXXXX) ||
		{ array_err "cannot make a directory in /tmp"; return 1; }
	echo "$wbase" >"$adir/www"
	chmod 0711 "$wbase" &&
	install -m 0644 "$krb5_conf" "$wbase/krb5.conf" ||
		{ array_err "cannot fill $wbase"; return 1; }
	ARRAY_WWW=$wbase
}

# Remove the directory array_make_www_dir made for ADIR (only a directory
# of that name, owned by root, as a stale ADIR/www could name anything).
array_remove_www_dir()
{
	local adir=$1 wbase=""

	[ -e "$adir/www" ] || return 0
	read -r wbase <"$adir/www"
	if [[ $wbase =~ ^/tmp/asa-array-[A-Za-z0-9]{6}$ ]] &&
	   [ -d "$wbase" ] && [ ! -L "$wbase" ] &&
	   [ "$(stat -c %u "$wbase")" = 0 ]; then
		rm -rf "$wbase"
	fi
	rm -f "$adir/www"
}

array_write_haproxy_config()
{
	local adir=$1 i

	{
		cat <<EOF
# the load balancer of the array, written by selftest/array.sh
global
	maxconn 256
	# array_lb: take a member out of rotation first, as an admin does
	stats socket $adir/lb/haproxy.sock mode 600 level admin

defaults
	mode tcp
	timeout connect 5s
	timeout client 60s
	timeout server 60s
	# A member that is down (the demo stops one) is left out within a
	# second, and a connection it refuses meanwhile goes to another.
	option redispatch
	retries 3
	timeout check 1s

frontend array
	bind $ARRAY_LB_IP:80
	default_backend members

backend members
	balance roundrobin
EOF
		for i in "${!ARRAY_NAMES[@]}"; do
			printf '\tserver %s %s:80 check inter 1s fall 1 rise 1\n' \
				"${ARRAY_NAMES[$i]}" \
				"${ARRAY_IPS[$i]}"
		done
		array_haproxy_imap
	} >"$adir/lb/haproxy.cfg"
}

# array_lb INST COMMAND...: one command to the load balancer's admin socket
# (e.g. "set server members/m2 state maint"); prints its answer.
array_lb()
{
	local sock=$1/array/lb/haproxy.sock

	shift
	/usr/bin/python3 - "$sock" "$*" <<'PY'
import socket
import sys

s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
out = b""
while True:
    data = s.recv(65536)
    if not data:
        break
    out += data
sys.stdout.write(out.decode(errors="replace"))
PY
}

# array_drain INST MEMBER [SECONDS [BACKEND]]: MEMBER out of the load
# balancer's rotation (maintenance) and no connection of a client left on
# it, so that stopping it breaks no request in flight.  BACKEND: members
# (HTTP, the default) or imap.
array_drain()
{
	local inst=$1 m=$2 secs=${3:-20} be=${4:-members} t=0 cur

	array_lb "$inst" "set server $be/$m state maint" >/dev/null ||
		return 1
	while :; do
		# "show stat" is CSV: pxname,svname,qcur,qmax,scur,...
		cur=$(array_lb "$inst" "show stat" |
		      awk -F, -v m="$m" -v be="$be" \
			'$1 == be && $2 == m { print $5 }')
		[ "$cur" = 0 ] && return 0
		[ "$t" -ge $((secs * 10)) ] && {
			array_err "$m still has $cur connection(s) after ${secs} s"
			return 1
		}
		sleep 0.1
		t=$((t + 1))
	done
}

# Add A records to the DC's DNS in namespace NS, one "NAME=IP" argument
# each, with samba-tool dns add, run in one python process over one RPC
# connection (a samba-tool process per record costs ~1 s, a connection per
# record ~0.5 s; this way a record takes ~0.1 s).  A record that was there
# already (a restart on the same DC) counts as added when the DC's DNS
# answers with it.  Needs a ticket (KRB5CCNAME).
array_dns_add()
{
	local ns=$1 server=$2 zone=$3 smb_conf=$4 out arg rc=0
	shift 4

	# samba-tool prints its own messages on stdout too: ours are marked.
	out=$(ip netns exec "$ns" "$ARRAY_PYTHON" - "$server" "$zone" \
		"$smb_conf" "$@" <<'EOF'
import sys
from samba.netcmd.main import cmd_sambatool
import samba.netcmd.dns


def samba_tool(*args):
    cmd = cmd_sambatool()
    if hasattr(cmd, "_resolve"):	# Samba 4.21 and later
        cmd, argv = cmd._resolve("samba-tool", *args)
        return cmd._run(*argv)
    return cmd._run("samba-tool", *args)


connect = samba.netcmd.dns.dns_connect
connections = {}


def connect_once(server, lp, creds):
    if server not in connections:
        connections[server] = connect(server, lp, creds)
    return connections[server]


samba.netcmd.dns.dns_connect = connect_once
server, zone, smb_conf = sys.argv[1:4]
for arg in sys.argv[4:]:
    name, ip = arg.split("=", 1)
    if samba_tool("dns", "add", server, zone, name, "A", ip,
                  "--use-kerberos=required", "-s", smb_conf):
        print("array-dns-failed: " + arg)
EOF
	)
	rc=$?
	echo "$out"
	[ "$rc" = 0 ] || return 1
	for arg in $(sed -n 's/^array-dns-failed: //p' <<<"$out"); do
		ip netns exec "$ns" host -t A "${arg%%=*}.$zone" "$server" |
			grep -qF " has address ${arg#*=}" ||
			{ echo "${arg%%=*}.$zone: no A record ${arg#*=}" >&2;
			  rc=1; }
	done
	return $rc
}

# The DNS job of "start": a ticket for the administrator (password on
# stdin), then array_dns_add in the instance's namespace.
array_dns_job()
{
	local inst=$1 adir=$1/array rc=1
	shift

	array_read_environ "$inst" || return 1
	export KRB5_CONFIG=${ARRAY_ENV[KRB5_CONFIG]}
	export KRB5CCNAME=FILE:$adir/admin.ccache
	export LDB_MODULES_PATH=${ARRAY_ENV[LDB_MODULES_PATH]:-}
	if ip netns exec "${ARRAY_ENV[SELFTEST_NETNS]}" \
		kinit "Administrator@${ARRAY_ENV[REALM]}" \
		<"${ARRAY_ENV[SELFTEST_PASSWORD_FILE]}" >/dev/null; then
		array_dns_add "${ARRAY_ENV[SELFTEST_NETNS]}" \
			"${ARRAY_ENV[SERVER]}.${ARRAY_ENV[DNSNAME]}" \
			"${ARRAY_ENV[DNSNAME]}" "${ARRAY_ENV[SMB_CONF_PATH]}" "$@"
		rc=$?
	fi
	rm -f "$adir/admin.ccache"
	return $rc
}

# If the runner dies without stopping us (SIGKILL), samba goes when its
# standard input closes; this job then stops the array's daemons too.
array_watchdog()
{
	local inst=$1 samba_pid=$2

	trap '' INT	# Ctrl-C is the runner's to handle
	tail --pid="$samba_pid" -f /dev/null 2>/dev/null
	ARRAY_IN_WATCHDOG=1 array_stop "$inst"
}

# Run FUNCTION ARGS... of this file in a background bash whose command
# line names TAG, a path under the array's directory (so that array_stop
# can tell the PID in TAG.pid is still ours).  $! is that bash.
array_spawn()
{
	local tag=$1
	shift

	bash -c '. "$1"; shift 2; "$@"' array-job \
		"$ARRAY_REPO/selftest/array.sh" "$tag" "$@" &
	echo "$!" >"$tag.pid"
}

# Wait until every ADDRESS:PORT given listens in namespace NS.
array_wait_listening()
{
	local ns=$1 i want missing listening
	shift

	for ((i = 0; i < 200; i++)); do
		listening=" $(ip netns exec "$ns" ss -ltnH 2>/dev/null |
			awk '{ printf "%s ", $4 }')"
		missing=""
		for want in "$@"; do
			[[ $listening == *" $want "* ]] ||
				missing="$missing $want"
		done
		[ -z "$missing" ] && return 0
		sleep 0.05
	done
	array_err "nothing listens on$missing after 10 s"
}

array_start()
{
	local inst=$1 t0 t1 rc

	[ "$(id -u)" = 0 ] || { array_err "must run as root"; return 1; }
	[[ $inst == /* ]] || { array_err "$inst: an absolute path, please"; return 1; }
	array_read_environ "$inst" ||
		{ array_err "no ad_dc in $inst (no environ)"; return 1; }
	array_members || return 1
	t0=$EPOCHREALTIME
	array_stop "$inst"	# a previous array in this instance
	rm -rf "$inst/array"
	mkdir -p "$inst/array"
	array_start_members "$inst"
	rc=$?
	if [ "$rc" != 0 ]; then
		array_err "start failed, stopping what was started"
		array_stop "$inst"
		return "$rc"
	fi
	t1=$EPOCHREALTIME
	echo "ARRAY_START_SECONDS=$(array_elapsed "$t0" "$t1")" \
		>>"$inst/environ"
	array_say "array ready in $(array_elapsed "$t0" "$t1") s"
	return 0
}

array_start_members()
{
	local inst=$1 adir=$1/array
	local ns=${ARRAY_ENV[SELFTEST_NETNS]:-} realm=${ARRAY_ENV[REALM]:-}
	local lower=${ARRAY_ENV[DNSNAME]:-} server=${ARRAY_ENV[SERVER]:-}
	local krb5_conf=${ARRAY_ENV[KRB5_CONFIG]:-}
	local i name ip mdir wdir fqdn dns_pid dns_args=() label pidfile pid
	local forced command hostkey listen=("$ARRAY_LB_IP:80" "$ARRAY_LB_IP:143")
	local lb_names="" dovecot_version

	[ -n "$ns" ] && [ -e "/run/netns/$ns" ] ||
		{ array_err "the namespace '$ns' of $inst does not exist"; return 1; }
	[ -n "$realm" ] && [ -n "$lower" ] && [ -n "$server" ] ||
		{ array_err "$inst/environ lacks REALM, DNSNAME or SERVER"; return 1; }
	forced=${SELFTEST_ARRAY_FORCED_COMMAND:-$ARRAY_DEFAULT_FORCED_COMMAND}

	array_say "addresses and names in namespace $ns"
	for ip in "$ARRAY_LB_IP" "${ARRAY_IPS[@]}"; do
		ip -n "$ns" addr add "$ip/8" dev lo 2>/dev/null ||
		ip -n "$ns" addr show dev lo | grep -qF " $ip/" ||
			{ array_err "cannot add $ip in $ns"; return 1; }
	done
	for label in $ARRAY_LB_LABELS; do
		lb_names="$lb_names $label.$lower"
		dns_args+=("$label=$ARRAY_LB_IP")
	done
	sed -i "/$ARRAY_TAG\$/d" "/etc/netns/$ns/hosts"
	{
		echo "$ARRAY_LB_IP	${lb_names# } $ARRAY_TAG"
		for i in "${!ARRAY_NAMES[@]}"; do
			name=${ARRAY_NAMES[$i]}
			echo "${ARRAY_IPS[$i]}	$name.$lower $name $ARRAY_TAG"
			dns_args+=("$name=${ARRAY_IPS[$i]}")
		done
	} >>"/etc/netns/$ns/hosts"

	# The DNS records take a few seconds (python, Kerberos, RPC): in the
	# background while the daemons start.
	array_say "adding A records to the DC's DNS (in the background)"
	array_spawn "$adir/dns" array_dns_job "$inst" "${dns_args[@]}" \
		</dev/null >"$adir/dns.log" 2>&1
	dns_pid=$!

	array_say "keys: the DC's SSH key (samba-asa member setup) and the" \
		"members' host keys"
	# member setup makes the key in the DC's private dir; the array keeps
	# copies of it and of samba-asa's known_hosts under its own names.
	rm -f "$inst/private/asa/id_ed25519" "$inst/private/asa/id_ed25519.pub"
	"$ARRAY_SAMBA_ASA" member setup -s "${ARRAY_ENV[SMB_CONF_PATH]}" \
		--keytab=/array-probe >/dev/null ||
		{ array_err "samba-asa member setup failed"; return 1; }
	[ -f "$inst/private/asa/id_ed25519.pub" ] ||
		{ array_err "member setup made no key in $inst/private/asa"; return 1; }
	install -m 0600 "$inst/private/asa/id_ed25519" "$adir/dc_ssh_key"
	install -m 0644 "$inst/private/asa/id_ed25519.pub" \
		"$adir/dc_ssh_key.pub"
	: >"$inst/private/asa/known_hosts"
	array_make_www_dir "$adir" "$krb5_conf" || return 1
	array_make_mail_dir ||
		{ array_err "cannot make the mail users' directory"; return 1; }
	dovecot_version=$(array_dovecot_version) ||
		{ array_err "no dovecot (dovecot-imapd, dovecot-gssapi):" \
			"run buildtools/bootstrap.sh --test"; return 1; }
	cat >"$adir/ssh_config" <<EOF
# ssh as the DC pushing keytabs to the array members (ssh -F THIS mN)
Host *
	User root
	IdentityFile $adir/dc_ssh_key
	IdentitiesOnly yes
	UserKnownHostsFile $adir/known_hosts
	GlobalKnownHostsFile /dev/null
	StrictHostKeyChecking yes
	BatchMode yes
	PasswordAuthentication no
	ConnectTimeout 5
EOF

	mkdir -p /run/sshd	# sshd's privilege separation directory
	mkdir -p "$adir/lb"
	for i in "${!ARRAY_NAMES[@]}"; do
		name=${ARRAY_NAMES[$i]}
		ip=${ARRAY_IPS[$i]}
		mdir=$adir/$name
		wdir=$ARRAY_WWW/$name
		fqdn=$name.$lower
		mkdir -p "$mdir"
		install -d -m 0711 "$wdir"
		# mod_auth_gssapi's replay cache, private to this member
		install -d -o www-data -g www-data -m 0700 "$wdir/rcache"
		ssh-keygen -q -t ed25519 -N '' -C "$fqdn" \
			-f "$mdir/ssh_host_ed25519_key" </dev/null ||
			{ array_err "ssh-keygen failed"; return 1; }
		read -r hostkey <"$mdir/ssh_host_ed25519_key.pub"
		hostkey=${hostkey% *}	# without the comment
		echo "$fqdn,$name,$ip $hostkey" \
			>>"$inst/private/asa/known_hosts"
		if [ -n "${SELFTEST_ARRAY_FORCED_COMMAND:-}" ]; then
			command=${forced//%k/$wdir/http.keytab}
			command=${command//%m/$name}
			array_authorize "$inst" "$name" "$command" || return 1
		else
			"$ARRAY_SAMBA_ASA" member setup \
				-s "${ARRAY_ENV[SMB_CONF_PATH]}" \
				--keytab="$wdir/http.keytab" \
				--group="$ARRAY_KEYTAB_GROUP" \
				>"$mdir/authorized_keys" ||
				{ array_err "member setup for $name failed"; return 1; }
		fi
		array_write_sshd_config "$mdir" "$ip"
		array_write_apache_config "$mdir" "$name" "$ip" "$fqdn" "$wdir"
		array_write_apache_auth_log "$mdir" "$name"
		array_write_dovecot_config "$mdir" "$name" "$ip" "$wdir" \
			"$dovecot_version" ||
			{ array_err "cannot write $name's Dovecot config"; return 1; }
		array_write_member_config "$mdir" "$wdir"

		array_say "starting sshd and apache2 of $name on $ip"
		# "ip netns exec" execs its command: $! is sshd itself.
		ip netns exec "$ns" /usr/sbin/sshd -D -f "$mdir/sshd_config" \
			-E "$mdir/sshd.log" </dev/null >"$mdir/sshd.out" 2>&1 &
		echo "$!" >"$mdir/sshd.pid"
		# apache2 -k start detaches; it writes its PidFile itself.
		KRB5_CONFIG=$ARRAY_WWW/krb5.conf KRB5RCACHEDIR=$wdir/rcache \
		ip netns exec "$ns" apache2 -f "$mdir/apache2.conf" -k start \
			</dev/null >"$mdir/apache2.out" 2>&1 ||
			{ cat "$mdir/apache2.out" >&2;
			  array_err "apache2 of $name did not start"; return 1; }
		array_say "starting dovecot of $name on $ip"
		array_start_imap "$ns" "$mdir"
		listen+=("$ip:22" "$ip:80" "$ip:143")
	done

	cp "$inst/private/asa/known_hosts" "$adir/known_hosts"

	array_say "starting haproxy on $ARRAY_LB_IP:80"
	array_write_haproxy_config "$adir"
	ip netns exec "$ns" haproxy -db -f "$adir/lb/haproxy.cfg" \
		</dev/null >"$adir/lb/haproxy.log" 2>&1 &
	echo "$!" >"$adir/lb/haproxy.pid"

	array_wait_listening "$ns" "${listen[@]}" || return 1
	for pidfile in "$adir"/*/sshd.pid "$adir"/*/httpd.pid \
		       "$adir"/*/dovecot.pid \
		       "$adir/lb/haproxy.pid"; do
		read -r pid <"$pidfile"
		array_any_alive "$pid" ||
			{ array_err "the process of $pidfile has gone"; return 1; }
	done

	if ! wait "$dns_pid"; then
		cat "$adir/dns.log" >&2
		array_err "adding the DNS records failed, see $adir/dns.log"
		return 1
	fi
	rm -f "$adir/dns.pid"

	if [ -n "${ARRAY_ENV[SELFTEST_SAMBA_PID]:-}" ]; then
		array_spawn "$adir/watchdog" array_watchdog "$inst" \
			"${ARRAY_ENV[SELFTEST_SAMBA_PID]}" </dev/null >/dev/null 2>&1
	fi

	array_write_environ "$inst" "$lower" "$forced" "${lb_names# }"
	array_write_imap_environ "$inst" "$lower"
}

# Append the array's variables to INSTANCE/environ (replacing those of a
# previous start).
array_write_environ()
{
	local inst=$1 lower=$2 forced=$3 lb_names=$4 adir=$1/array
	local i name ip all=""

	sed -i -e '/^SELFTEST_ARRAY_/d' -e '/^SELFTEST_LB_/d' \
		-e '/^SELFTEST_MEMBER_/d' -e '/^ARRAY_START_SECONDS=/d' \
		"$inst/environ"
	{
		for i in "${!ARRAY_NAMES[@]}"; do
			name=${ARRAY_NAMES[$i]}
			ip=${ARRAY_IPS[$i]}
			all="$all${all:+ }$name=$ip"
			cat <<EOF
SELFTEST_MEMBER_IP_$name=$ip
SELFTEST_MEMBER_HOST_$name=$name.$lower
SELFTEST_MEMBER_KEYTAB_$name=$ARRAY_WWW/$name/http.keytab
SELFTEST_MEMBER_WWW_DIR_$name=$ARRAY_WWW/$name
SELFTEST_MEMBER_KEYTAB_GROUP_$name=$ARRAY_KEYTAB_GROUP
SELFTEST_MEMBER_URL_$name=ssh://root@$name.$lower$ARRAY_WWW/$name/http.keytab
SELFTEST_MEMBER_ACCESS_LOG_$name=$adir/$name/access.log
SELFTEST_MEMBER_ERROR_LOG_$name=$adir/$name/error.log
SELFTEST_MEMBER_AUTHORIZED_KEYS_$name=$adir/$name/authorized_keys
SELFTEST_MEMBER_SSHD_LOG_$name=$adir/$name/sshd.log
EOF
		done
		cat <<EOF
SELFTEST_ARRAY_DIR=$adir
SELFTEST_ARRAY_WWW_DIR=$ARRAY_WWW
SELFTEST_ARRAY_MEMBERS=$all
SELFTEST_ARRAY_SSH_KEY=$adir/dc_ssh_key
SELFTEST_ARRAY_SSH_PUBKEY=$adir/dc_ssh_key.pub
SELFTEST_ARRAY_SSH_CONFIG=$adir/ssh_config
SELFTEST_ARRAY_SSH_KNOWN_HOSTS=$adir/known_hosts
SELFTEST_ARRAY_FORCED_COMMAND=$forced
SELFTEST_LB_IP=$ARRAY_LB_IP
SELFTEST_LB_NAMES=$lb_names
EOF
	} >>"$inst/environ"
}

# Add PID and all its descendants to ARRAY_FOUND (through the kernel's
# children lists: no fork per process).
ARRAY_FOUND=()
array_descendants()
{
	local pid=$1 list child children

	for list in /proc/"$pid"/task/*/children; do
		[ -r "$list" ] || continue
		children=()
		read -r -a children <"$list"
		for child in "${children[@]}"; do
			array_descendants "$child"
		done
	done
	ARRAY_FOUND+=("$pid")
}

# Whether PID still runs one of the files under DIR (its command line
# names it): a PID in a stale pidfile may belong to someone else by now.
array_is_ours()
{
	local pid=$1 dir=$2 args=()

	mapfile -d "" -t args 2>/dev/null <"/proc/$pid/cmdline" || return 1
	[[ " ${args[*]} " == *"$dir/"* ]]
}

# Whether one of the PIDs runs.  A zombie does not count: PID 1 of these
# machines reaps orphans only about once a second.
array_any_alive()
{
	local p stat

	for p in "$@"; do
		read -r stat 2>/dev/null <"/proc/$p/stat" || continue
		stat=${stat##*) }
		[ "${stat%% *}" != Z ] && return 0
	done
	return 1
}

# Stop the processes of the PIDFILEs and their descendants (sshd's
# sessions and Apache's children, which may outlive their parent for a
# moment), each only if it still runs one of the files under DIR.
array_stop_daemons()
{
	local dir=$1 pidfile pid p i victims=()
	shift

	for pidfile in "$@"; do
		[ -e "$pidfile" ] || continue
		pid=""
		read -r pid <"$pidfile"
		[ -n "$pid" ] || continue
		array_is_ours "$pid" "$dir" || continue
		ARRAY_FOUND=()
		array_descendants "$pid"
		for p in "${ARRAY_FOUND[@]}"; do
			array_is_ours "$p" "$dir" && victims+=("$p")
		done
	done
	[ "${#victims[@]}" -gt 0 ] || return 0
	array_say "stopping ${#victims[@]} processes of $dir"
	kill -TERM "${victims[@]}" 2>/dev/null
	for ((i = 0; i < 50; i++)); do
		array_any_alive "${victims[@]}" || break
		sleep 0.1
	done
	for p in "${victims[@]}"; do
		array_is_ours "$p" "$dir" && kill -KILL "$p" 2>/dev/null
	done
}

array_stop()
{
	local inst=$1 adir=$1/array pidfile pid ns=""

	[ -d "$adir" ] || return 0
	# The jobs: the DNS job of a start that failed half-way, and the
	# watchdog (unless it is the watchdog that stops us).
	for pidfile in "$adir/dns.pid" "$adir/watchdog.pid"; do
		[ -e "$pidfile" ] || continue
		[ "$pidfile" = "$adir/watchdog.pid" ] &&
			[ -n "${ARRAY_IN_WATCHDOG:-}" ] && continue
		pid=""
		read -r pid <"$pidfile"
		if [ -n "$pid" ] && array_is_ours "$pid" "$adir"; then
			ARRAY_FOUND=()
			array_descendants "$pid"
			kill -TERM "${ARRAY_FOUND[@]}" 2>/dev/null
		fi
		rm -f "$pidfile"
	done
	array_stop_daemons "$adir" "$adir"/*/sshd.pid "$adir"/*/httpd.pid \
		"$adir"/*/dovecot.pid "$adir/lb/haproxy.pid"
	rm -f "$adir"/*/sshd.pid "$adir"/*/httpd.pid "$adir"/*/dovecot.pid \
		"$adir/lb/haproxy.pid" \
		"$adir/admin.ccache"	# the DNS job's, if it was cut short
	array_remove_www_dir "$adir"
	array_read_environ "$inst" && ns=${ARRAY_ENV[SELFTEST_NETNS]:-}
	if [ -n "$ns" ] && [ -e "/etc/netns/$ns/hosts" ]; then
		sed -i "/$ARRAY_TAG\$/d" "/etc/netns/$ns/hosts"
	fi
	return 0
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -u
	cmd=${1:-}
	shift || true
	case "$cmd" in
	start)		[ $# = 1 ] || cmd=usage ;;
	stop)		[ $# = 1 ] || cmd=usage ;;
	authorize)	[ $# = 3 ] || cmd=usage ;;
	esac
	# Daemons need absolute paths, and stop recognises its processes by
	# the absolute path in their command lines.
	if [ "$cmd" != usage ] && [ $# -ge 1 ]; then
		case "$1" in
		/*)	;;
		*)	[ -d "$1" ] ||
				{ array_err "no directory $1"; exit 1; }
			set -- "$(cd "$1" && pwd)" "${@:2}" ;;
		esac
	fi
	case "$cmd" in
	start)		array_start "$@" ;;
	stop)		array_stop "$@" ;;
	authorize)	array_authorize "$@" ;;
	*)	echo "usage: $0 start INSTANCE | stop INSTANCE |" \
			"authorize INSTANCE MEMBER COMMAND" >&2
		exit 2 ;;
	esac
fi
