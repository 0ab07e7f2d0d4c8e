#!/bin/bash
# selftest/array_imap.sh: the second protocol of the array environment
# (selftest/array.sh sources this file): each member's Dovecot IMAP behind
# the same load balancer, and the log that proves how each HTTP request
# authenticated.  Needs array.sh's ARRAY_* variables.

# The members' Dovecot (IMAP): Debian's dovecot-imapd and dovecot-gssapi.
# Each member runs its own master (dovecot -F, so the PID we record is the
# master, which stops its children) with its own config, base_dir,
# state_dir and log, listening on the member's address only, so several run
# in one namespace.  Authentication is GSSAPI only, with the member's
# Dovecot keytab (SELFTEST_MEMBER_IMAP_KEYTAB_<member>, 0640 root:dovecot:
# Dovecot's auth process runs as dovecot and reads it), accepting any
# principal of it (imap/<load-balanced name>).  Every authenticated
# Kerberos user is the mail user of the same name (static passdb and
# userdb: nobody's uid, a home under this run's directory); Dovecot logs
# "Login: user=<...>, method=GSSAPI" (2.4: "Logged in: ...") for each.
# The keytab is not made here: the tests install it, as for Apache.
ARRAY_IMAP_GROUP=dovecot	# Dovecot's auth process reads the keytab

# The major.minor of the installed Dovecot: 2.3 (Debian 12) and 2.4
# (Debian 13) take different configuration files.
array_dovecot_version()
{
	local v

	v=$(dovecot --version 2>/dev/null) || return 1
	v=${v%% *}
	echo "$v" | cut -d. -f1-2
}

array_write_dovecot_config()
{
	local mdir=$1 name=$2 ip=$3 wdir=$4 version=$5
	local ddir=$wdir/dovecot home=$ARRAY_WWW/mail

	install -d -m 0755 "$ddir" "$ddir/run" "$ddir/state" || return 1
	# MIT's replay cache of Dovecot's acceptor, private to this member
	install -d -o dovecot -g dovecot -m 0700 "$wdir/imap-rcache" ||
		return 1
	if [ "$version" = 2.3 ]; then
		cat >"$mdir/dovecot.conf" <<EOF
# Dovecot of array member $name, written by selftest/array.sh
protocols = imap
listen = $ip
base_dir = $ddir/run
state_dir = $ddir/state
instance_name = asa-$name
log_path = $mdir/dovecot.log
ssl = no
disable_plaintext_auth = yes
# Kerberos only: the keytab's keys, under any of its principals
auth_mechanisms = gssapi
auth_gssapi_hostname = "\$ALL"
auth_krb5_keytab = $wdir/imap.keytab
import_environment = TZ KRB5_CONFIG=$ARRAY_WWW/krb5.conf KRB5RCACHEDIR=$wdir/imap-rcache
# the Kerberos user is the mail user
passdb {
  driver = static
  args = nopassword=y
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$home/%Ln allow_all_users=yes
}
mail_location = maildir:~/Maildir
EOF
	else
		cat >"$mdir/dovecot.conf" <<EOF
# Dovecot of array member $name, written by selftest/array.sh
dovecot_config_version = 2.4.0
dovecot_storage_version = 2.4.0
protocols = imap
listen = $ip
base_dir = $ddir/run
state_dir = $ddir/state
instance_name = asa-$name
log_path = $mdir/dovecot.log
ssl = no
auth_allow_cleartext = no
# Kerberos only: the keytab's keys, under any of its principals
auth_mechanisms = gssapi
auth_gssapi_hostname = \$ALL
auth_krb5_keytab = $wdir/imap.keytab
import_environment {
  TZ = %{env:TZ}
  KRB5_CONFIG = $ARRAY_WWW/krb5.conf
  KRB5RCACHEDIR = $wdir/imap-rcache
}
# the Kerberos user is the mail user
passdb static {
  fields {
    nopassword = yes
  }
}
userdb static {
  fields {
    uid = nobody
    gid = nogroup
    home = $home/%{user | username | lower}
  }
}
userdb_static_allow_all_users = yes
mail_driver = maildir
mail_path = ~/Maildir
EOF
	fi
}

# Start MEMBER's Dovecot in namespace NS (its config written first by
# array_write_dovecot_config).  "ip netns exec" execs dovecot, and -F keeps
# the master in the foreground: $! is the master.
array_start_imap()
{
	local ns=$1 mdir=$2

	ip netns exec "$ns" dovecot -F -c "$mdir/dovecot.conf" \
		</dev/null >"$mdir/dovecot.out" 2>&1 &
	echo "$!" >"$mdir/dovecot.pid"
}

# The mail users' homes (nobody's, as the userdb says).
array_make_mail_dir()
{
	install -d -o nobody -g nogroup -m 0700 "$ARRAY_WWW/mail"
}

# The members' variables of this part (see array_write_environ).
array_write_imap_environ()
{
	local inst=$1 lower=$2 adir=$1/array i name

	{
		for i in "${!ARRAY_NAMES[@]}"; do
			name=${ARRAY_NAMES[$i]}
			cat <<EOF
SELFTEST_MEMBER_IMAP_KEYTAB_$name=$ARRAY_WWW/$name/imap.keytab
SELFTEST_MEMBER_IMAP_KEYTAB_GROUP_$name=$ARRAY_IMAP_GROUP
SELFTEST_MEMBER_IMAP_URL_$name=ssh://root@$name.$lower$ARRAY_WWW/$name/imap.keytab
SELFTEST_MEMBER_IMAP_LOG_$name=$adir/$name/dovecot.log
SELFTEST_MEMBER_AUTH_LOG_$name=$adir/$name/auth.log
SELFTEST_MEMBER_CONFIG_$name=$adir/$name/member.conf
EOF
		done
	} >>"$inst/environ"
}

# What Apache logs to prove how each request authenticated: auth.log, one
# line per request: the Kerberos user (%u), the scheme and mechanism
# mod_auth_gssapi used (GSS_MECH: "Negotiate/krb5"; Basic or NTLM would
# show there), the status and the client's User-Agent.  Never the
# Authorization header itself (a credential).  Appended to the member's
# apache2.conf.
array_write_apache_auth_log()
{
	local mdir=$1 name=$2

	cat >>"$mdir/apache2.conf" <<EOF

# How each request authenticated (selftest/array.sh, auth.log)
LogFormat "%h %u mech=%{GSS_MECH}e %>s \\"%r\\" agent=\\"%{User-Agent}i\\" member=$name" auth
CustomLog "$mdir/auth.log" auth
EOF
}

# The IMAP part of the load balancer: the same TCP round robin to the
# members' Dovecot.
array_haproxy_imap()
{
	local i

	cat <<EOF

frontend array_imap
	bind $ARRAY_LB_IP:143
	default_backend imap

backend imap
	balance roundrobin
EOF
	for i in "${!ARRAY_NAMES[@]}"; do
		printf '\tserver %s %s:143 check inter 1s fall 1 rise 1\n' \
			"${ARRAY_NAMES[$i]}" "${ARRAY_IPS[$i]}"
	done
}

# Each member's settings for samba-asa-member (its config file, one section
# per keytab): Apache's keytab for www-data and Dovecot's for dovecot, 0640
# each.  Written by "start" (ADIR/MEMBER/member.conf, root's, 0644); the
# DC's key runs it only after array_use_member_config, as the default line
# serves Apache's keytab alone (what the other suites expect).
array_write_member_config()
{
	local mdir=$1 wdir=$2

	cat >"$mdir/member.conf" <<EOT
# samba-asa-member settings of array member $(basename "$mdir"),
# written by selftest/array_imap.sh
[$wdir/http.keytab]
	group = $ARRAY_KEYTAB_GROUP
	mode = 0640
[$wdir/imap.keytab]
	group = $ARRAY_IMAP_GROUP
	mode = 0640
EOT
	chmod 0644 "$mdir/member.conf"
}

# array_use_member_config INST: every member's DC key forced to
# samba-asa-member --config=its member.conf (both keytabs), with the line
# `samba-asa member setup --config` prints.
array_use_member_config()
{
	local inst=$1 adir=$1/array m line

	array_read_environ "$inst" || return 1
	for m in ${ARRAY_ENV[SELFTEST_ARRAY_MEMBERS]}; do
		m=${m%%=*}
		line=$("$ARRAY_SAMBA_ASA" member setup \
			-s "${ARRAY_ENV[SMB_CONF_PATH]}" \
			--config="$adir/$m/member.conf") ||
			{ array_err "member setup --config for $m failed"; \
			  return 1; }
		printf '%s\n' "$line" >"$adir/$m/authorized_keys.new" &&
		mv -f "$adir/$m/authorized_keys.new" \
			"$adir/$m/authorized_keys" || return 1
	done
}
