#!/bin/bash
# selftest/bench/array_env.sh: what the benchmarks that need a DC and a
# server array share (bench_asa.sh, bench_roll_ldap.sh).  Source it (after
# selftest/env.sh and selftest/array.sh) with RUN, NS and INST set, then:
#
#   bench_preflight NAME  the checks every benchmark makes first
#   bench_dc_start        provision a DC into RUN/template, start it in
#                         namespace NS as INST, export the environment's
#                         variables and KRB5CCNAME, and set L (the DNS
#                         domain) and SPNS (the seed's five); exits 2 when
#                         it does not start
#   bench_array_start N   the same with an array of N members, and set
#                         MEMBERS and URLS
#   bench_array_stop      stop the array and the DC, remove RUN
#
# Copyright (C) samba-asa authors 2026
#
# This program is free software; you can redistribute it and/or modify
# it under the terms of the GNU General Public License as published by
# the Free Software Foundation; either version 3 of the License, or
# (at your option) any later version.

# bench_preflight NAME: say() prefixes NAME; exit 2 unless we are root and
# $ASA is built.
bench_preflight()
{
	BENCH_NAME=$1
	[ "$(id -u)" = 0 ] ||
		{ say "must run as root (network namespaces)"; exit 2; }
	[ -x "$ASA" ] || { say "$ASA is not built (make)"; exit 2; }
}

say()
{
	echo "$BENCH_NAME: $*"
}

# INST/environ into this shell's environment.
bench_export_environ()
{
	local v

	array_read_environ "$INST" || exit 2
	for v in "${!ARRAY_ENV[@]}"; do
		export "$v=${ARRAY_ENV[$v]}"
	done
}

bench_dc_start()
{
	mkdir -p "$RUN"
	st_provision "$RUN/template"
	# samba -i stops when its standard input ends: this script holds the
	# FIFO's other end (9), so samba goes when the benchmark goes.
	mkfifo "$RUN/samba.stdin"
	exec 9<>"$RUN/samba.stdin"
	st_start "$RUN/template" "$INST" "$NS" <"$RUN/samba.stdin" ||
		{ say "the DC did not start"; exit 2; }
	bench_export_environ
	export KRB5CCNAME=FILE:$RUN/ccache

	L=$(echo "$REALM" | tr '[:upper:]' '[:lower:]')
	SPNS=(http/mail.$L http/autod.$L exchangeMDB/outlook.$L
	      exchangeRFR/outlook.$L exchangeAB/outlook.$L)
}

bench_array_start()
{
	local n=$1 m var

	bench_dc_start
	SELFTEST_ARRAY_NMEMBERS=$n array_start "$INST" </dev/null ||
		{ say "the array did not start"; exit 2; }
	bench_export_environ
	MEMBERS=()
	URLS=()
	for m in $SELFTEST_ARRAY_MEMBERS; do
		m=${m%%=*}
		MEMBERS+=("$m")
		var=SELFTEST_MEMBER_URL_$m
		URLS+=("${!var}")
	done
}

bench_array_stop()
{
	array_stop "$INST" >/dev/null 2>&1
	st_stop "$INST" >/dev/null 2>&1
	exec 9>&- 2>/dev/null
	rm -rf "$RUN"
}
