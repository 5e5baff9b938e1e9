#!/bin/bash
# Memory benchmark: the peak resident size of logthra-flush working off a
# backlog of BENCH_BACKLOG_MB (1024 by default) of spool files, against a
# local ClickHouse.  The flusher must stream its work: its peak should
# not grow with the backlog.  Measured at a quarter of the backlog and
# at all of it, so that growth shows.
#
# The backlog is copies of one spool file of 100,000 access-log entries
# (16 MB), written once by logthra-recv; copies are fresh files to the
# flusher, so all are inserted.
#
# Usage: bench/memory.sh     (after a build; make bench runs it)
#   BENCH_BACKLOG_MB=1024
set -euo pipefail
LT_NAME=bench-memory
. "$(dirname "$0")/../tests/integration/lib.sh"

BACKLOG_MB=${BENCH_BACKLOG_MB:-1024}
RECV=$abs_top_builddir/src/logthra-recv
FLUSH=$abs_top_builddir/src/logthra-flush

need_clickhouse
need_built
[[ -x /usr/bin/time ]] || lt_missing /usr/bin/time time
start_clickhouse

note "one push of 100000 entries"
awk 'BEGIN {
	srand(7)
	printf "{\"streams\":["
	for (s = 0; s < 10; s++) {
		if (s) printf ","
		printf "{\"stream\":{\"app\":\"web%d\",\"env\":\"prod\",\"host\":\"node-1\",\"level\":\"info\"},\"values\":[", s
		for (i = 0; i < 10000; i++) {
			if (i) printf ","
			printf "[\"%d%09d\",\"GET /api/v1/items/%d?user=%d 200 %dms ua=\\\"Mozilla/5.0 (X11; Linux x86_64)\\\" req_id=%08x%08x\"]",
			    1700000000 + s, i * 1000, int(rand() * 99999), int(rand() * 9999),
			    int(rand() * 900), int(rand() * 2147483647), int(rand() * 2147483647)
		}
		printf "]}"
	}
	printf "]}\n"
}' >"$T/push.json"
LOGTHRA_INGESTION_RATE=0 LOGTHRA_MAX_BODY_SIZE=64MiB \
    "$RECV" -T bench -D "$T/one" "$T/push.json"
one=$(ls "$T"/one/tenants/bench/ready/*.spool)
one_mb=$(( $(stat -c %s "$one") >> 20 ))

# backlog N: N copies of the file in a fresh spool.
backlog() {
	local i ready=$T/spool/tenants/bench/ready
	rm -rf "$T/spool"
	mkdir -p "$ready"
	for ((i = 0; i < $1; i++)); do cp "$one" "$ready/$i-$(basename "$one")"; done
}

printf '\nlogthra-flush peak resident size (target: at most 64 MB whatever the backlog)\n'
printf '  %-12s %8s %10s %10s %10s\n' backlog files rows "seconds" "peak MB"
copies=$(( (BACKLOG_MB + one_mb - 1) / one_mb ))
for n in $(( (copies + 3) / 4 )) "$copies"; do
	backlog "$n"
	ch_query "DROP TABLE IF EXISTS logs.log" >/dev/null
	/usr/bin/time -o "$T/time" -f '%e %M' "$FLUSH" -U "$CH_URL" -D "$T/spool" >"$T/flush.out"
	read -r secs kib <"$T/time"
	rows=$(ch_query "SELECT count() FROM logs.log")
	[[ $rows == "$((n * 100000))" ]] || die "flush stored $rows rows of $((n * 100000))"
	printf '  %-12s %8d %10d %10s %10d\n' "$((n * one_mb)) MB" "$n" "$rows" "$secs" "$((kib / 1024))"
	printf 'flush\t%d\t%d\t%s\t%d\n' "$((n * one_mb))" "$rows" "$secs" "$kib" >>"$T/memory.tsv"
	if ((kib <= 65536)); then
		ok "peak $((kib / 1024)) MB with a $((n * one_mb)) MB backlog: at most 64 MB"
	else
		fail "peak $((kib / 1024)) MB with a $((n * one_mb)) MB backlog: over 64 MB"
	fi
done
mkdir -p "$abs_top_builddir/bench/results"
cp "$T/memory.tsv" "$abs_top_builddir/bench/results/memory.tsv"
finish
