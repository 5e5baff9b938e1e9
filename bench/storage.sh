#!/bin/bash
# Storage benchmark: bytes per log entry in logthra-flush's own table,
# on Debian's ClickHouse 18.16 and on ClickHouse 26 (chdb), against the
# targets of logthra(7), Bytes per entry.
#
# About BENCH_STORAGE_ROWS access-log entries of about 190 bytes in 8
# streams of 4 labels (bench/gen-push.js, bodies of 16 MB that go on one
# from another), stored by logthra-recv in file mode; then, for each
# server, a copy of the spool flushed by logthra-flush into the table it
# makes, OPTIMIZE TABLE ... FINAL, and bytes_on_disk of the active parts
# over their rows: in total, per column and per skip index.  The servers:
#   - 18.16 as configured by default (LZ4): for information;
#   - 18.16 with <compression> set to ZSTD (LT_CH_COMPRESSION, level
#     BENCH_STORAGE_ZSTD_LEVEL), what logthra(7) tells an operator to
#     set: target at most 40 bytes an entry;
#   - ClickHouse 26 through chdb (the current layout, its own codecs):
#     target at most 30 bytes an entry.
# The bytes depend on the lines alone, not on the machine.  Also prints
# how long each flush took (the codecs cost at INSERT time).  Exits 1
# when a target is missed.
#
# Usage: bench/storage.sh          (after a build; make bench runs it)
#   BENCH_STORAGE_ROWS=1000000 BENCH_STORAGE_SERVERS="18.16 18.16-zstd 26"
#   BENCH_STORAGE_ZSTD_LEVEL=1
set -euo pipefail
LT_NAME=bench-storage
. "$(dirname "$0")/../tests/integration/lib.sh"

ROWS=${BENCH_STORAGE_ROWS:-1000000}
SERVERS=${BENCH_STORAGE_SERVERS:-18.16 18.16-zstd 26}
ZSTD_LEVEL=${BENCH_STORAGE_ZSTD_LEVEL:-1}
BODY_BYTES=16000000
# gen-push.js fits about 72,000 entries in a body of 16 MB.
PER_BODY=72000
MAX_18=40
MAX_26=30
TENANT=bench

need_built
[[ " $SERVERS " != *" 18.16"* ]] || need clickhouse-server clickhouse-server curl curl
[[ " $SERVERS " != *" 26 "* ]] || need_chdb

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# --- the entries -----------------------------------------------------------

# protobufjs and snappy for gen-push.js: NODE_PATH when it is set,
# otherwise installed as the client tests do.
if [[ -z "${NODE_PATH:-}" ]] && ! lt_install_clients; then
	tail -n 20 "$T/npm.log" | sed 's/^/#   /'
	die "npm ci of tests/clients/package-lock.json failed"
fi
bodies=$(((ROWS + PER_BODY - 1) / PER_BODY))
specs=()
for ((b = 0; b < bodies; b++)); do specs+=("$(printf 'b%04d' "$b")=$BODY_BYTES"); done
note "generating $bodies bodies of $BODY_BYTES bytes"
GEN_PUSH_CONTINUE=1 node "$abs_top_srcdir/bench/gen-push.js" "$T/bodies" "${specs[@]}" \
    >"$T/bodies.tsv" || die "gen-push.js failed"
note "logthra-recv (file mode) storing them"
for f in "$T"/bodies/b*.json; do
	LOGTHRA_CONFIG=/dev/null LOGTHRA_INGESTION_RATE=0 "$RECV" -T "$TENANT" \
	    -D "$T/spool" "$f" || die "logthra-recv $f"
done
entries=$(awk -F'\t' '{ n += $2 } END { print n }' "$T/bodies.tsv")
json_bytes=$(awk -F'\t' '{ n += $3 } END { print n }' "$T/bodies.tsv")

# --- measuring -----------------------------------------------------------

# bytes SQL: the one number ClickHouse answers.
bytes() { ch_query "$1" | tr -d '\n'; }
per_entry() { awk -v b="$1" -v n="$2" 'BEGIN { printf "%.2f", b / n }'; }

# measure NAME TARGET: flushes a fresh copy of the spool into the server
# started last, merges, prints the bytes and PASS/FAIL against TARGET
# (none: information only), then stops the server.
measure() {
	local name=$1 target=$2 t0 t1 rows total line cols idx
	rm -rf "$T/spool.copy"
	cp -a "$T/spool" "$T/spool.copy"
	t0=$(now)
	LOGTHRA_CONFIG=/dev/null "$FLUSH" -D "$T/spool.copy" -U "$CH_URL" >"$T/flush.out" ||
	    die "logthra-flush into $name"
	t1=$(now)
	ch_long "OPTIMIZE TABLE logs.log FINAL" || die "OPTIMIZE on $name"
	rows=$(bytes "SELECT sum(rows) FROM system.parts
	    WHERE active AND database = 'logs' AND table = 'log'")
	total=$(bytes "SELECT sum(bytes_on_disk) FROM system.parts
	    WHERE active AND database = 'logs' AND table = 'log'")
	[[ $rows == "$entries" ]] || die "$name: the table holds $rows rows of $entries"
	line=$(per_entry "$total" "$rows")
	cols=$(ch_query "SELECT name, data_compressed_bytes FROM system.columns
	    WHERE database = 'logs' AND table = 'log' AND data_compressed_bytes > 0
	    FORMAT TSV" |
	    awk -F'\t' -v n="$rows" '{ printf "%s%s %.2f", sep, $1, $2 / n; sep = ", " }')
	idx=
	if [[ $name == 26* ]]; then
		idx=$(ch_query "SELECT name, data_compressed_bytes + marks_bytes
		    FROM system.data_skipping_indices
		    WHERE database = 'logs' AND table = 'log' ORDER BY name FORMAT TSV" |
		    awk -F'\t' -v n="$rows" '{ printf "%s%s %.2f", sep, $1, $2 / n; sep = ", " }')
	fi
	printf '  %-22s %8s %9s  %s\n' "$name" "$line" "$(elapsed "$t0" "$t1")" \
	    "$cols${idx:+; indexes: $idx}"
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$rows" "$total" "$line" \
	    "$(elapsed "$t0" "$t1")" "$cols" "$idx" >>"$tsv"
	if [[ -z $target ]]; then
		note "$name: $line bytes an entry (no target: the server's default compression)"
	elif awk -v v="$line" -v m="$target" 'BEGIN { exit !(v <= m) }'; then
		ok "$name: $line bytes an entry: at most $target"
	else
		fail "$name: $line bytes an entry: over $target"
	fi
	stop_clickhouse
}
# A statement that may take longer than ch_query's minute.
ch_long() {
	curl -sS --fail-with-body -o "$T/ch.out" --data-binary "$1" "$CH_URL" ||
	    { cat "$T/ch.out" >&2; return 1; }
}

mkdir -p "$abs_top_builddir/bench/results"
tsv=$abs_top_builddir/bench/results/storage.tsv
printf 'server\trows\tbytes\tbytes_per_entry\tflush_s\tcolumns\tindexes\n' >"$tsv"
printf '\n%s entries, %s bytes of JSON pushes (%s an entry)\n' "$entries" "$json_bytes" \
    "$(per_entry "$json_bytes" "$entries")"
printf '  %-22s %8s %9s  %s\n' server bytes/e "flush s" "bytes an entry per column"
for server in $SERVERS; do
	case $server in
	18.16)
		LT_CLICKHOUSE= LT_CH_COMPRESSION= start_clickhouse
		measure "18.16 (LZ4)" "" ;;
	18.16-zstd)
		LT_CLICKHOUSE= LT_CH_COMPRESSION=zstd:$ZSTD_LEVEL start_clickhouse
		measure "18.16 (zstd level $ZSTD_LEVEL)" "$MAX_18" ;;
	26)
		start_chdb
		measure "26 ($CH_VERSION)" "$MAX_26" ;;
	*) die "BENCH_STORAGE_SERVERS: $server is not 18.16, 18.16-zstd or 26" ;;
	esac
done
finish
