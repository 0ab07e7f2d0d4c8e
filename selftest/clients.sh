#!/bin/bash
# selftest/clients.sh: the array's clients that are more than one command
# line, for the client suite (suites/array_clients.sh) and the demo.
# Source it; each function runs its client once, in network namespace
# CLIENTS_NETNS (when set and we are not in it already), with the ticket
# cache KRB5CCNAME names, and prints one word on success (the member
# that answered, or "imap") or the reason on failure (exit 1).
#
#   clients_chromium URL        Debian's chromium, headless, Kerberos
#                               allowed for URL's host only
#   clients_curl_imap HOST      curl, IMAP AUTHENTICATE GSSAPI, LIST
#   clients_python http URL | imap HOST   suites/gss_clients.py
#
# This program is free software; you can redistribute it and/or modify
# it under the terms of the GNU General Public License as published by
# the Free Software Foundation; either version 3 of the License, or
# (at your option) any later version.

CLIENTS_REPO=${CLIENTS_REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}

clients_in_ns()
{
	if [ -n "${CLIENTS_NETNS:-}" ] &&
	   [ "$(ip netns identify $$ 2>/dev/null)" != "$CLIENTS_NETNS" ]; then
		ip netns exec "$CLIENTS_NETNS" "$@"
	else
		"$@"
	fi
}

# Chromium on Linux loads the GSSAPI library only once its profile has
# seen a Negotiate challenge (the local-state preference
# net.received_http_auth_negotiate_headers): a new profile answers its
# first challenge without Kerberos, so the page gets 401.  Each run gets a
# new profile with that preference set (and so no cache: every page comes
# from a member, authenticated).  --no-sandbox: we run as root.
clients_chromium()
{
	local url=$1 host prof out rc=1

	host=${url#*://}
	host=${host%%[:/]*}
	prof=$(mktemp -d "${TMPDIR:-/tmp}/asa-chromium.XXXXXX") || return 1
	echo '{"net": {"received_http_auth_negotiate_headers": true}}' \
		>"$prof/Local State"
	out=$(clients_in_ns env HOME="$prof" chromium --headless \
		--no-sandbox --disable-gpu --no-first-run \
		--user-data-dir="$prof" --auth-server-allowlist="$host" \
		--dump-dom "$url" 2>"$prof/stderr")
	if [[ $out =~ array\ member\ (m[0-9]+) ]]; then
		echo "${BASH_REMATCH[1]}"
		rc=0
	else
		echo "chromium: $(tr '\n' ' ' <<<"$out" | cut -c1-160)"
	fi
	rm -rf "$prof"
	return $rc
}

clients_curl_imap()
{
	local out rc=0

	out=$(clients_in_ns curl -sS --max-time 20 \
		--login-options AUTH=GSSAPI -u : "imap://$1/" 2>&1) || rc=$?
	if [ "$rc" = 0 ] && [[ $out == *INBOX* ]]; then
		echo imap
		return 0
	fi
	echo "curl=$rc ${out//$'\n'/ }"
	return 1
}

# clients_python http URL | imap HOST [COUNT]: one line per attempt.
clients_python()
{
	clients_in_ns /usr/bin/python3 \
		"$CLIENTS_REPO/selftest/suites/gss_clients.py" "$@"
}
