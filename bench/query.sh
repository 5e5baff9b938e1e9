#!/bin/bash
# Query benchmark: how close logthra-query comes to the SQL it sends run
# alone on the same ClickHouse, and its peak resident size whatever the
# answer's size; for metric queries (the log-volume histogram), how
# close it comes to the best statement written by hand.
#
# A day of BENCH_QUERY_ROWS access-log entries (JSON lines with method,
# path, status, duration, user, bytes) in 100 streams over 10 label
# names, written into the logs table and the streams index directly in
# SQL (INSERT ... SELECT FROM numbers(N)); logthra-flush makes the tables
# from one small push first, so that they are its own.  For each query,
# logthra-query prints the statements it runs at -vv; then, BENCH_RUNS
# times each, interleaved:
#   - curl posting those statements to ClickHouse, the answer to
#     /dev/null (the floor: ClickHouse's work and the transfer);
#   - logthra-query in command mode, -o json to /dev/null, under
#     /usr/bin/time for its peak resident size.
# Prints medians, the ratio of logthra-query's time to curl's, the peak
# RSS, and PASS/FAIL against the targets: at most 1.2 times the SQL
# alone, at most 64 MB.  Exits 1 when a target is missed.
#
# Usage: bench/query.sh            (after a build; make bench runs it)
#   BENCH_QUERY_ROWS=10000000 BENCH_RUNS=5
#   LT_CLICKHOUSE=chdb: on ClickHouse 26 (the current layout) rather than
#   Debian's 18.16; LT_CH_COMPRESSION=zstd: 18.16 compressing with ZSTD
set -euo pipefail
LT_NAME=bench-query
. "$(dirname "$0")/../tests/integration/lib.sh"

ROWS=${BENCH_QUERY_ROWS:-10000000}
RUNS=${BENCH_RUNS:-5}
MAX_RATIO=1.2
MAX_KIB=65536
TENANT=bench
# The day of the rows, UTC: fixed, so that every run reads the same.
DAY=2026-12-01
FROM=${DAY}T00:00:00Z
TO=$(date -u -d "$DAY + 1 day" +%Y-%m-%dT%H:%M:%SZ)

need_clickhouse
need_built
[[ -x /usr/bin/time ]] || lt_missing /usr/bin/time time
start_clickhouse
export LOGTHRA_CONFIG=/dev/null LOGTHRA_CLICKHOUSE_URL=$CH_URL

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

note "logthra-flush makes the tables from one push"
mkdir -p "$T/spool"
printf '{"streams":[{"stream":{"app":"setup"},"values":[["%s","tables made"]]}]}\n' \
    "$(date -u +%s%N)" >"$T/setup.json"
"$RECV" -T setup -D "$T/spool" "$T/setup.json" || die "logthra-recv"
"$FLUSH" -D "$T/spool" -U "$CH_URL" >/dev/null || die "logthra-flush"

# Row n: stream n % 100, whose ten labels (sorted by name, as the table
# holds them) take 2 to 100 values; its time spreads the rows evenly over
# the day, in microseconds (n times the day in nanoseconds would pass
# 2^64 beyond 213,503 rows and wrap into the day's first minutes).  The line is an access-log entry: 2% of statuses are 5xx.
# ch_query gives up after 60 s; filling 10 million rows takes longer.
ch_long() {
	curl -sS --fail-with-body -o "$T/ch.out" --data-binary "$1" "$CH_URL" ||
	    { cat "$T/ch.out" >&2; return 1; }
}
# The table's layout (logthra(7), THE TABLE): the current one (LT_CLICKHOUSE=chdb)
# holds the exact time in timestamp, timestamp_ns an ALIAS of it.
if [[ $(ch_query "SELECT type FROM system.columns WHERE database = 'logs'
    AND table = 'log' AND name = 'timestamp'") == DateTime64* ]]; then
	TIME_COLS="timestamp" TIME_VALUES="fromUnixTimestamp64Nano(tns, 'UTC')"
else
	TIME_COLS="timestamp, timestamp_ns" TIME_VALUES="toDateTime(intDiv(tns, 1000000000)), tns"
fi
note "filling logs.log with $ROWS rows"
t0=$(now)
ch_long "INSERT INTO logs.log
    (tenant_id, stream_id, label, $TIME_COLS, msg, metadata, push_id)
SELECT '$TENANT', sipHash64(arrayStringConcat(lbl, ',')) AS sid, lbl,
    $TIME_VALUES, line, emptyArrayString(), 1
FROM (
    SELECT number AS n, n % 100 AS s,
        [concat('app=app', toString(s % 10)),
         concat('cluster=eu-', toString(s % 2)),
         concat('container=c', toString(s % 5)),
         concat('env=', ['prod', 'staging', 'dev'][s % 3 + 1]),
         concat('host=node-', toString(s)),
         concat('job=ns', toString(s % 4), '/app', toString(s % 10)),
         concat('level=', ['info', 'warn', 'error', 'debug'][s % 4 + 1]),
         concat('namespace=ns', toString(s % 4)),
         concat('region=r', toString(s % 3)),
         concat('team=t', toString(s % 7))] AS lbl,
        toInt64(toUInt32(toDateTime('$DAY 00:00:00', 'UTC'))) * 1000000000
            + intDiv(n * 86400000000, $ROWS) * 1000 AS tns,
        intHash32(n) AS h,
        if(h % 50 = 0, [500, 502, 503][h % 3 + 1],
           [200, 200, 200, 201, 204, 301, 304, 400, 404][h % 9 + 1]) AS status,
        concat('{\"time\":\"', toString(toDateTime(intDiv(tns, 1000000000), 'UTC')),
            '\",\"method\":\"', ['GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE'][h % 6 + 1],
            '\",\"path\":\"/api/v1/', ['items', 'users', 'orders', 'carts', 'search'][intDiv(h, 7) % 5 + 1],
            '/', toString(intDiv(h, 35) % 100000),
            '\",\"status\":', toString(status),
            ',\"duration_ms\":', toString(intDiv(h, 11) % 3000),
            ',\"user\":\"user', toString(intDiv(h, 13) % 10000),
            '\",\"bytes\":', toString(intDiv(h, 17) % 100000),
            ',\"ua\":\"Mozilla/5.0 (X11; Linux x86_64)\"}') AS line
    FROM numbers($ROWS))" >/dev/null || die "filling logs.log"
note "streams index from the rows"
ch_long "INSERT INTO logs.log_streams (tenant_id, stream_id, label, day)
    SELECT tenant_id, stream_id, any(label), toDate(timestamp, 'UTC') AS d
    FROM logs.log WHERE tenant_id = '$TENANT' GROUP BY tenant_id, stream_id, d" >/dev/null ||
    die "filling logs.log_streams"
note "merging parts, so that merges do not run during the timings"
ch_long "OPTIMIZE TABLE logs.log PARTITION '$DAY' FINAL" >/dev/null || die "OPTIMIZE"
t1=$(now)
note "filled in $(elapsed "$t0" "$t1") s"
count=$(ch_query "SELECT count() FROM logs.log WHERE tenant_id = '$TENANT'")
[[ $count == "$ROWS" ]] || die "logs.log holds $count rows of $ROWS"
streams=$(ch_query "SELECT uniqExact(stream_id) FROM logs.log_streams WHERE tenant_id = '$TENANT'")
[[ $streams == 100 ]] || die "the streams index holds $streams streams of 100"
check_streams_index logs.log "the streams index agrees with the rows"

query() {
	"$QUERY" -T "$TENANT" --from="$FROM" --to="$TO" -o json "$@"
}

# The cases: a name, a limit, a query.  {app="app3"} is 10 streams, a
# tenth of the rows.
CASES=(
	"selector	100	{app=\"app3\"}"
	"selector	5000	{app=\"app3\"}"
	"substring	100	{app=\"app3\"} |= \"/orders/4242\""
	"substring	5000	{app=\"app3\"} |= \"/orders/\""
	"json filter	100	{app=\"app3\"} | json | status >= 500"
	"json filter	5000	{app=\"app3\"} | json | status >= 500"
	"json, drops most	100	{app=\"app3\"} | json | status >= 500 | duration_ms > 2990"
)

printf '\n%s rows, %s runs each, medians (seconds)\n' "$ROWS" "$RUNS"
printf '  %-18s %6s %8s %8s %7s %8s %8s  %s\n' query limit "SQL" logthra ratio "peak MB" entries query
mkdir -p "$abs_top_builddir/bench/results"
tsv=$abs_top_builddir/bench/results/query.tsv
printf 'case\tlimit\tquery\tsql_s\tquery_s\tratio\tpeak_kib\tentries\n' >"$tsv"
for c in "${CASES[@]}"; do
	IFS=$'\t' read -r name limit q <<<"$c"
	# The statements, as logthra-query runs them (more than one when a
	# LIMIT in the SQL left too few entries).
	query -vv --limit="$limit" "$q" >"$T/answer.json" 2>"$T/debug" ||
	    die "logthra-query $q: $(cat "$T/debug")"
	sed -n 's/^logthra-query: debug: SQL: //p' "$T/debug" >"$T/sql"
	[[ -s "$T/sql" ]] || die "logthra-query printed no SQL at -vv"
	if awk 'length($0) >= 4000 { bad = 1 } END { exit !bad }' "$T/sql"; then
		die "a statement is too long for the debug line: cut short"
	fi
	entries=$(python3 -c 'import json, sys
print(sum(len(s["values"]) for s in json.load(sys.stdin)["data"]["result"]))' <"$T/answer.json") ||
	    die "logthra-query $q: not Loki's answer"
	sql_times=() q_times=() peaks=()
	for ((r = 0; r < RUNS; r++)); do
		t0=$(now)
		while IFS= read -r stmt; do
			curl -sS --fail -o /dev/null --data-binary "$stmt" "$CH_URL" ||
			    die "curl: $stmt"
		done <"$T/sql"
		t1=$(now)
		sql_times+=("$(elapsed "$t0" "$t1")")
		t0=$(now)
		/usr/bin/time -o "$T/time" -f '%M' "$QUERY" -T "$TENANT" --from="$FROM" \
		    --to="$TO" -o json --limit="$limit" "$q" >/dev/null ||
		    die "logthra-query $q"
		t1=$(now)
		q_times+=("$(elapsed "$t0" "$t1")")
		peaks+=("$(tail -n 1 "$T/time")")
	done
	sql_med=$(median "${sql_times[@]}")
	q_med=$(median "${q_times[@]}")
	peak=$(printf '%s\n' "${peaks[@]}" | sort -n | tail -n 1)
	rat=$(ratio "$q_med" "$sql_med")
	printf '  %-18s %6s %8s %8s %7s %8.1f %8s  %s\n' "$name" "$limit" "$sql_med" "$q_med" \
	    "$rat" "$(awk -v k="$peak" 'BEGIN { print k / 1024 }')" "$entries" "$q"
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$limit" "$q" "$sql_med" "$q_med" \
	    "$rat" "$peak" "$entries" >>"$tsv"
	printf '%s\n' "$name, limit $limit: SQL ${sql_times[*]}; logthra-query ${q_times[*]}" >>"$T/runs"
	if awk -v r="$rat" -v m="$MAX_RATIO" 'BEGIN { exit !(r <= m) }'; then
		ok "$name, limit $limit: $rat times the SQL alone: at most $MAX_RATIO"
	else
		fail "$name, limit $limit: $rat times the SQL alone: over $MAX_RATIO"
	fi
	if ((peak <= MAX_KIB)); then
		ok "$name, limit $limit: peak $((peak / 1024)) MB: at most 64 MB"
	else
		fail "$name, limit $limit: peak $((peak / 1024)) MB: over 64 MB"
	fi
done
# Metric queries: Explore's log-volume histogram of the day, per level,
# against the best statement one can write by hand for the same answer.
# The same answer is Loki's: windows (t - 1m, t] to the nanosecond (the
# timestamp_ns column, not the seconds of timestamp) and series that
# include structured metadata (a metadata label `level` counts), with
# the selector resolved in the streams index.  Two such statements, the
# faster counts: grouped by level, or counted per stream with the levels
# joined from the streams index (the form logthra-query sends).  A third
# statement, per minute of the seconds column and without metadata, is
# a floor that gives a different answer, timed for information.  A rate
# over overlapping windows is timed beside the same statements (which
# count per minute: not its answer, and no target).
SEL="SELECT stream_id FROM logs.log_streams WHERE tenant_id = '$TENANT' AND has(label, 'app=app3')"
DAY_NS=$(( $(date -u -d "$DAY" +%s) * 1000000000 ))
# Bucket k holds (DAY + (k - 1) * 1m, DAY + k * 1m]: the window of the
# step at DAY + k minutes (k = 0 the first step, at 00:00).
BASE_NS=$((DAY_NS - 60000000000 + 1))
RANGE_NS="tenant_id = '$TENANT' AND timestamp >= toDateTime('$DAY 00:00:00', 'UTC') - 60
    AND timestamp <= toDateTime('$DAY 00:00:00', 'UTC') + 86400
    AND timestamp_ns >= $BASE_NS AND timestamp_ns < $((DAY_NS + 86400000000000 + 1))
    AND stream_id IN ($SEL)"
LEVEL_OF="arrayFirst(x -> startsWith(x, 'level='), label)"
META_LEVEL="arrayFilter(x -> startsWith(x, 'level='), metadata)"
BUCKET="intDiv(timestamp_ns - $BASE_NS, 60000000000)"
BEST_BY_LEVEL="SELECT $LEVEL_OF AS lv, $META_LEVEL AS ml, $BUCKET AS k, count()
    FROM logs.log WHERE $RANGE_NS GROUP BY lv, ml, k FORMAT TabSeparated"
BEST_JOINED="SELECT lv, ml, k, sum(c) FROM (SELECT stream_id, $META_LEVEL AS ml,
        $BUCKET AS k, count() AS c FROM logs.log WHERE $RANGE_NS
        GROUP BY stream_id, ml, k) AS counts
    ANY LEFT JOIN (SELECT stream_id, arrayFirst(x -> startsWith(x, 'level='), any(label)) AS lv
        FROM logs.log_streams WHERE tenant_id = '$TENANT' AND has(label, 'app=app3')
        GROUP BY stream_id) AS streams USING stream_id
    GROUP BY lv, ml, k FORMAT TabSeparated"
FLOOR="SELECT lv, m, sum(c) FROM (SELECT stream_id, toStartOfMinute(timestamp) AS m,
        count() AS c FROM logs.log WHERE tenant_id = '$TENANT'
        AND timestamp >= toDateTime('$DAY 00:00:00', 'UTC')
        AND timestamp < toDateTime('$DAY 00:00:00', 'UTC') + 86400
        AND stream_id IN ($SEL) GROUP BY stream_id, m) AS counts
    ANY LEFT JOIN (SELECT stream_id, arrayFirst(x -> startsWith(x, 'level='), any(label)) AS lv
        FROM logs.log_streams WHERE tenant_id = '$TENANT' AND has(label, 'app=app3')
        GROUP BY stream_id) AS streams USING stream_id
    GROUP BY lv, m FORMAT TabSeparated"
METRIC_CASES=(
	"volume histogram	60s	sum by (level) (count_over_time({app=\"app3\"} | drop __error__ [1m]))	target"
	"rate, 5m windows	60s	sum by (level) (rate({app=\"app3\"} [5m]))	report"
)
time_sql() {
	local t0 t1
	t0=$(now)
	curl -sS --fail -o /dev/null --data-binary "$1" "$CH_URL" || die "curl: $1"
	t1=$(now)
	elapsed "$t0" "$t1"
}
printf '\nmetric queries over the day, %s runs each, medians (seconds)\n' "$RUNS"
printf '  %-18s %5s %8s %8s %6s %8s %7s %8s %7s\n' query step "best SQL" logthra ratio floor "/floor" "peak MB" points
mtsv=$abs_top_builddir/bench/results/metric.tsv
printf 'case\tstep\tquery\tbest_sql_s\tquery_s\tratio\tfloor_s\tpeak_kib\tpoints\n' >"$mtsv"
for c in "${METRIC_CASES[@]}"; do
	IFS=$'\t' read -r name step q kind <<<"$c"
	query --step="$step" "$q" >"$T/answer.json" 2>"$T/debug" ||
	    die "logthra-query $q: $(cat "$T/debug")"
	points=$(python3 -c 'import json, sys
d = json.load(sys.stdin)["data"]
assert d["resultType"] == "matrix", d["resultType"]
print(sum(len(s["values"]) for s in d["result"]))' <"$T/answer.json") ||
	    die "logthra-query $q: not a matrix"
	if [[ $kind == target ]]; then
		# The hand-written statement must give the same counts.
		curl -sS --fail -o "$T/best.tsv" --data-binary "$BEST_JOINED" "$CH_URL" ||
		    die "curl: $BEST_JOINED"
		python3 - "$T/best.tsv" "$DAY_NS" "$T/answer.json" >"$T/same" <<'PY' ||
import json, sys
from collections import Counter
best = Counter()
for line in open(sys.argv[1]):
    lv, ml, k, c = line.rstrip('\n').split('\t')
    best[(lv.split('=', 1)[1], int(k))] += int(c)
base = int(sys.argv[2]) // 10**9
ours = Counter()
for s in json.load(open(sys.argv[3]))['data']['result']:
    for t, v in s['values']:
        ours[(s['metric']['level'], (int(t) - base) // 60)] += int(v)
print('same' if best == ours else 'different: %d points against %d' % (len(ours), len(best)))
PY
		    die "comparing the answers"
		check_eq "same" "$(cat "$T/same")" "$name: the best SQL gives logthra-query's answer"
	fi
	a_times=() b_times=() f_times=() q_times=() peaks=()
	for ((r = 0; r < RUNS; r++)); do
		a_times+=("$(time_sql "$BEST_BY_LEVEL")")
		b_times+=("$(time_sql "$BEST_JOINED")")
		f_times+=("$(time_sql "$FLOOR")")
		t0=$(now)
		/usr/bin/time -o "$T/time" -f '%M' "$QUERY" -T "$TENANT" --from="$FROM" \
		    --to="$TO" -o json --step="$step" "$q" >/dev/null || die "logthra-query $q"
		t1=$(now)
		q_times+=("$(elapsed "$t0" "$t1")")
		peaks+=("$(tail -n 1 "$T/time")")
	done
	a_med=$(median "${a_times[@]}")
	b_med=$(median "${b_times[@]}")
	f_med=$(median "${f_times[@]}")
	best=$(printf '%s\n' "$a_med" "$b_med" | sort -g | head -n 1)
	q_med=$(median "${q_times[@]}")
	peak=$(printf '%s\n' "${peaks[@]}" | sort -n | tail -n 1)
	rat=$(ratio "$q_med" "$best")
	printf '  %-18s %5s %8s %8s %6s %8s %7s %8.1f %7s\n' "$name" "$step" "$best" "$q_med" \
	    "$rat" "$f_med" "$(ratio "$q_med" "$f_med")" \
	    "$(awk -v k="$peak" 'BEGIN { print k / 1024 }')" "$points"
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$step" "$q" "$best" "$q_med" \
	    "$rat" "$f_med" "$peak" "$points" >>"$mtsv"
	printf '%s\n' "$name: by level ${a_times[*]}; joined ${b_times[*]}; floor ${f_times[*]}; logthra-query ${q_times[*]}" >>"$T/runs"
	if [[ $kind == target ]]; then
		if awk -v r="$rat" -v m="$MAX_RATIO" 'BEGIN { exit !(r <= m) }'; then
			ok "$name: $rat times the best SQL: at most $MAX_RATIO"
		else
			fail "$name: $rat times the best SQL: over $MAX_RATIO"
		fi
	fi
	if ((peak <= MAX_KIB)); then
		ok "$name: peak $((peak / 1024)) MB: at most 64 MB"
	else
		fail "$name: peak $((peak / 1024)) MB: over 64 MB"
	fi
done
note "every run (seconds):"
sed 's/^/#   /' "$T/runs"
finish
