#!/bin/bash
# Flush benchmark: how close logthra-flush comes to the fastest way of
# loading the same rows into ClickHouse, and which insert format that is.
#
# Generates pushes (BENCH_ROWS entries of about 190 bytes), stores them
# with logthra-recv, then times, BENCH_RUNS times each against one local
# ClickHouse (Debian's clickhouse-server, started here):
#   - logthra-flush on a copy of the spool (files -> ClickHouse);
#   - curl posting the same rows, already encoded, as RowBinary,
#     TabSeparated and JSONEachRow: the floor for each format.
# Prints medians and the ratios to the fastest curl baseline measured in
# the same run; the machine may be shared and noisy, so trust ratios and
# medians, not single runs.
#
# Usage: bench/flush.sh            (after a build; make bench runs it)
#   BENCH_ROWS=1000000 BENCH_RUNS=5
set -euo pipefail
LT_NAME=bench-flush
. "$(dirname "$0")/../tests/integration/lib.sh"

ROWS=${BENCH_ROWS:-1000000}
RUNS=${BENCH_RUNS:-5}
PER_FILE=100000
COLS="tenant_id, stream_id, label, timestamp, timestamp_ns, msg, metadata, push_id"
RECV=$abs_top_builddir/src/logthra-recv
FLUSH=$abs_top_builddir/src/logthra-flush

need_clickhouse
need_built
start_clickhouse

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# Pushes of PER_FILE entries in 10 streams, lines like an access log.
gen_push() {
	awk -v file="$1" -v n="$PER_FILE" 'BEGIN {
		srand(file + 1)
		printf "{\"streams\":["
		per = n / 10
		for (s = 0; s < 10; s++) {
			if (s) printf ","
			printf "{\"stream\":{\"app\":\"web%d\",\"env\":\"prod\",\"host\":\"node-1\",\"level\":\"info\"},\"values\":[", s
			for (i = 0; i < per; i++) {
				if (i) printf ","
				ts = 1700000000 + file * 100 + s * 10
				printf "[\"%d%09d\",\"GET /api/v1/items/%d?user=%d 200 %dms ua=\\\"Mozilla/5.0 (X11; Linux x86_64)\\\" req_id=%08x%08x\"]",
				    ts, i * 1000, int(rand() * 99999), int(rand() * 9999),
				    int(rand() * 900), int(rand() * 2147483647), int(rand() * 2147483647)
			}
			printf "]}"
		}
		printf "]}\n"
	}' >"$T/push$1.json"
}

files=$(((ROWS + PER_FILE - 1) / PER_FILE))
note "generating $files pushes of $PER_FILE entries"
for ((f = 0; f < files; f++)); do gen_push "$f"; done
json_bytes=$(cat "$T"/push*.json | wc -c)

note "logthra-recv (file mode) storing them"
t0=$(now)
for ((f = 0; f < files; f++)); do
	# A benchmark measures the receiver, not the rate limit.
	LOGTHRA_INGESTION_RATE=0 "$RECV" -T bench -D "$T/spool" "$T/push$f.json"
done
t1=$(now)
recv_s=$(elapsed "$t0" "$t1")
cp -a "$T/spool" "$T/spool.orig"

fresh_table() {
	ch_query "DROP TABLE IF EXISTS logs.log" >/dev/null
	ch_query "DROP TABLE IF EXISTS logs.log_streams" >/dev/null
	"$FLUSH" -U "$CH_URL" -D "$T/empty-spool" >/dev/null
}
mkdir -p "$T/empty-spool"

flush_times=()
for ((r = 0; r < RUNS; r++)); do
	fresh_table
	rm -rf "$T/spool" && cp -a "$T/spool.orig" "$T/spool"
	t0=$(now)
	"$FLUSH" -U "$CH_URL" -D "$T/spool" >"$T/flush.out"
	t1=$(now)
	flush_times+=("$(elapsed "$t0" "$t1")")
	count=$(ch_query "SELECT count() FROM logs.log")
	[[ $count == "$((files * PER_FILE))" ]] || die "flush stored $count rows"
done

# The same rows, encoded by ClickHouse itself, for the curl baselines.
for fmt in RowBinary TabSeparated JSONEachRow; do
	ch_query "SELECT $COLS FROM logs.log FORMAT $fmt" >"$T/rows.$fmt"
done
declare -A curl_med
for fmt in RowBinary TabSeparated JSONEachRow; do
	q=$(printf 'INSERT INTO logs.log (%s) FORMAT %s' "$COLS" "$fmt" | sed 's/ /%20/g; s/,/%2C/g; s/(/%28/g; s/)/%29/g')
	times=()
	for ((r = 0; r < RUNS; r++)); do
		fresh_table
		t0=$(now)
		curl -sS --fail -H 'Expect:' --data-binary "@$T/rows.$fmt" "$CH_URL?query=$q" >/dev/null
		t1=$(now)
		times+=("$(elapsed "$t0" "$t1")")
	done
	curl_med[$fmt]=$(median "${times[@]}")
done

flush_med=$(median "${flush_times[@]}")
best=${curl_med[RowBinary]}
for fmt in TabSeparated JSONEachRow; do
	if awk -v a="${curl_med[$fmt]}" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=${curl_med[$fmt]}; fi
done
rows=$((files * PER_FILE))
printf '\n%s rows, %s runs each, medians (seconds)\n' "$rows" "$RUNS"
printf '  %-44s %8s %10s %8s\n' "what" "seconds" "rows/s" "ratio"
printf '  %-44s %8s %10.0f %8s\n' "logthra-recv, $files files ($((json_bytes >> 20)) MiB JSON)" "$recv_s" "$(awk -v n=$rows -v s=$recv_s 'BEGIN{print n/s}')" "-"
for fmt in RowBinary TabSeparated JSONEachRow; do
	printf '  %-44s %8s %10.0f %8s\n' "curl INSERT FORMAT $fmt ($(($(stat -c %s "$T/rows.$fmt") >> 20)) MiB)" \
	    "${curl_med[$fmt]}" "$(awk -v n=$rows -v s="${curl_med[$fmt]}" 'BEGIN{print n/s}')" "$(ratio "${curl_med[$fmt]}" "$best")"
done
printf '  %-44s %8s %10.0f %8s\n' "logthra-flush (RowBinary)" "$flush_med" \
    "$(awk -v n=$rows -v s="$flush_med" 'BEGIN{print n/s}')" "$(ratio "$flush_med" "$best")"
printf '  (ratio: time / fastest curl baseline; flush runs: %s)\n' "${flush_times[*]}"
spool_mb=$(du -sm "$T/spool.orig" | cut -f1)
speed=$(ratio "$best" "$flush_med")
printf '  logthra-flush: %s MB/s of spool; %s of the fastest raw insert'"'"'s rows per second (target: at least 0.80)\n' \
    "$(awk -v m="$spool_mb" -v s="$flush_med" 'BEGIN { printf "%.0f", m / s }')" "$speed"
mkdir -p "$abs_top_builddir/bench/results"
printf 'rows\tflush_s\traw_best_s\tflush_rows_per_s\traw_rows_per_s\tspeed_ratio\n%d\t%s\t%s\t%.0f\t%.0f\t%s\n' \
    "$rows" "$flush_med" "$best" "$(awk -v n=$rows -v s="$flush_med" 'BEGIN{print n/s}')" \
    "$(awk -v n=$rows -v s="$best" 'BEGIN{print n/s}')" "$speed" >"$abs_top_builddir/bench/results/flush.tsv"
ok "benchmark completed"
finish
