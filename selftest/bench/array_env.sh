#!/bin/bash
# selftest/bench/array_env.sh: what the benchmarks that need a DC and a
# server array share (bench_asa.sh, bench_roll_ldap.sh).  Source it (after
# selftest/env.sh and selftest/array.sh) with RUN, NS and INST set, then:
#
#   bench_array_start N   provision a DC into RUN/template, start it in
#                         namespace NS as INST with an array of N members,
#                         export the environment's variables and
#                         KRB5CCNAME, and set L (the DNS domain), SPNS
#                         (the seed's five), MEMBERS and URLS; exits 2
#                         when something does not start
#   bench_array_stop      stop the array and the DC, remove RUN
#
# Copyright (C) samba-asa authors 2026
#
# This program is free software; you can redistribute it and/or modify
# it under the terms of the GNU General Public License as published by
# the Free Software Foundation; either version 3 of the License, or
# (at your option) any later version.

bench_array_start()
{
	local n=$1 m v var

	mkdir -p "$RUN"
	st_provision "$RUN/template"
	# samba -i stops when its standard input ends: this script holds the
	# FIFO's other end (9), so samba goes when the benchmark goes.
	mkfifo "$RUN/samba.stdin"
	exec 9<>"$RUN/samba.stdin"
	st_start "$RUN/template" "$INST" "$NS" <"$RUN/samba.stdin" ||
		{ say "the DC did not start"; exit 2; }
	SELFTEST_ARRAY_NMEMBERS=$n array_start "$INST" </dev/null ||
		{ say "the array did not start"; exit 2; }
	array_read_environ "$INST" || exit 2
	for v in "${!ARRAY_ENV[@]}"; do
		export "$v=${ARRAY_ENV[$v]}"
	done
	export KRB5CCNAME=FILE:$RUN/ccache

	L=$(echo "$REALM" | tr '[:upper:]' '[:lower:]')
	SPNS=(http/mail.$L http/autod.$L exchangeMDB/outlook.$L
	      exchangeRFR/outlook.$L exchangeAB/outlook.$L)
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
