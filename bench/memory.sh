#!/bin/bash
# Memory benchmark: the peak resident size of logthra-flush working off a
# backlog of BENCH_BACKLOG_MB (1024 by default) of spool files, against a
# local ClickHouse.  The flusher must stream its work: its peak should
# not grow with the backlog.  Measured at a quarter of the backlog and
# at all of it, so that growth shows.
#
# The backlog is copies of one spool file, written once by logthra-recv;
# copies are fresh files to the flusher, so all are inserted.  Two
# shapes: files of 100,000 access-log entries (11 MB, larger than a
# batch: each goes alone), and of 9,000 entries (1 MB, as Promtail's
# largest pushes), which fill batches of many files up to
# batch_max_bytes.
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

# make_one ENTRIES: one spool file of ENTRIES entries in 10 streams;
# sets one (its path) and one_kb.
make_one() {
	note "one push of $1 entries"
	awk -v n="$1" 'BEGIN {
		srand(7)
		printf "{\"streams\":["
		for (s = 0; s < 10; s++) {
			if (s) printf ","
			printf "{\"stream\":{\"app\":\"web%d\",\"env\":\"prod\",\"host\":\"node-1\",\"level\":\"info\"},\"values\":[", s
			for (i = 0; i < n / 10; i++) {
				if (i) printf ","
				printf "[\"%d%09d\",\"GET /api/v1/items/%d?user=%d 200 %dms ua=\\\"Mozilla/5.0 (X11; Linux x86_64)\\\" req_id=%08x%08x\"]",
				    1700000000 + s, i * 1000, int(rand() * 99999), int(rand() * 9999),
				    int(rand() * 900), int(rand() * 2147483647), int(rand() * 2147483647)
			}
			printf "]}"
		}
		printf "]}\n"
	}' >"$T/push.json"
	rm -rf "$T/one"
	LOGTHRA_INGESTION_RATE=0 LOGTHRA_MAX_BODY_SIZE=64MiB \
	    "$RECV" -T bench -D "$T/one" "$T/push.json"
	one=$(ls "$T"/one/tenants/bench/ready/*.spool)
	one_kb=$(( $(stat -c %s "$one") >> 10 ))
}

# backlog N: N copies of the file in a fresh spool.
backlog() {
	local i ready=$T/spool/tenants/bench/ready
	rm -rf "$T/spool"
	mkdir -p "$ready"
	for ((i = 0; i < $1; i++)); do cp "$one" "$ready/$i-$(basename "$one")"; done
}

printf '\nlogthra-flush peak resident size (target: at most 64 MB whatever the backlog)\n'
printf '  %-12s %10s %8s %10s %10s %10s\n' backlog "file" files rows "seconds" "peak MB"
for entries in 100000 9000; do
	make_one "$entries"
	copies=$(( (BACKLOG_MB * 1024 + one_kb - 1) / one_kb ))
	for n in $(( (copies + 3) / 4 )) "$copies"; do
		backlog "$n"
		ch_query "DROP TABLE IF EXISTS logs.log" >/dev/null
		/usr/bin/time -o "$T/time" -f '%e %M' "$FLUSH" -U "$CH_URL" -D "$T/spool" >"$T/flush.out"
		read -r secs kib <"$T/time"
		rows=$(ch_query "SELECT count() FROM logs.log")
		[[ $rows == "$((n * entries))" ]] || die "flush stored $rows rows of $((n * entries))"
		mb=$(( n * one_kb >> 10 ))
		printf '  %-12s %10s %8d %10d %10s %10d\n' "$mb MB" "$((one_kb >> 10)).$(( (one_kb & 1023) * 10 >> 10 )) MB" \
		    "$n" "$rows" "$secs" "$((kib / 1024))"
		printf 'flush\t%d\t%d\t%s\t%d\t%d\n' "$mb" "$rows" "$secs" "$kib" "$one_kb" >>"$T/memory.tsv"
		if ((kib <= 65536)); then
			ok "peak $((kib / 1024)) MB with a $mb MB backlog of $((one_kb >> 10)) MB files: at most 64 MB"
		else
			fail "peak $((kib / 1024)) MB with a $mb MB backlog of $((one_kb >> 10)) MB files: over 64 MB"
		fi
	done
done
mkdir -p "$abs_top_builddir/bench/results"
cp "$T/memory.tsv" "$abs_top_builddir/bench/results/memory.tsv"
finish
