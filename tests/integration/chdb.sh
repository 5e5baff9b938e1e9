#!/bin/bash
# logthra-flush, unchanged, against a current ClickHouse: chdb, the
# ClickHouse 26.x engine as a library, behind tests/chdb/chdb-http.js
# (Debian has only the 18.16 server that the other tests start).
#  - pushes of several tenants in file mode: the seed, labels, structured
#    metadata, a message with every awkward byte (tab, newline, quotes,
#    backslash, UTF-8, control bytes, NUL), a push across two days, and a
#    long tenant id; flushed into rows that are checked value by value;
#  - the streams index holds the pushed streams on the days of their
#    lines, exactly those of the logs table's rows;
#  - a second flush adds nothing, and neither does the claimed file of a
#    run that died after its INSERT (the presence query), to the rows or
#    to the index; after one day of it is dropped, only that day is sent
#    again, and its streams again, which fold into the ones there;
#  - every example query of README.md ("The table") and logthra(7), taken
#    from the documents as written, answers what it should, and so do the
#    DROP PARTITION and RENAME TABLE of logthra(7).
. "$(dirname "$0")/lib.sh"

need_chdb
need_built

SPOOL=$T/spool
mkdir -p "$SPOOL"

# ClickHouse's answer to a query, for comparisons.
rows() { ch_query "$1 FORMAT TSV"; }
# A whole second as the timestamp column shows it (start_chdb runs the
# engine in UTC): DateTime, or DateTime64(9) with nine zero decimals;
# TS_FRAC is set once logthra-flush has created the table for the version.
TS_FRAC=
dt() { printf '%s%s\n' "$(dts "$1")" "$TS_FRAC"; }
# A DateTime (toStartOfMinute gives one on either type).
dts() { date -u -d "@$1" '+%Y-%m-%d %H:%M:%S'; }
# Writes a push payload to a file and spools it for a tenant.
spool_push() {
	printf '%s\n' "$3" >"$T/$2.json"
	run "$RECV" -T "$1" -D "$SPOOL" "$T/$2.json"
	check_rc 0 "logthra-recv -T $1 $2.json"
}

start_chdb
check_match '^(2[6-9]|[3-9][0-9])\.' "$CH_VERSION" \
    "chdb runs a current ClickHouse (26 or newer), not 18.16"

# --- pushes ------------------------------------------------------------------

note "the seed, and lines of the last hour with levels and metadata (acme)"
run "$RECV" -T acme -D "$SPOOL" "$SEED"
check_rc 0 "logthra-recv -T acme seed-push.json"
# A minute half an hour ago: the example queries look at the last hour.
base=$((($(date +%s) - 1800) / 60 * 60))
ns() { printf '%d000000000' "$((base + $1))"; }
spool_push acme recent '{"streams":[
 {"stream":{"app":"test-app","level":"error"},"values":[
  ["'"$(ns 1)"'","Disk ERROR on /dev/sda",{"trace_id":"0af7651916cd43dd","span_id":"b7ad6b7169203331"}],
  ["'"$(ns 2)"'","retrying",{"trace_id":"0af7651916cd43dd"}]]},
 {"stream":{"app":"test-app","level":"warn"},"values":[
  ["'"$(ns 61)"'","slow response",{"trace_id":"abc"}]]},
 {"stream":{"app":"other"},"values":[["'"$(ns 3)"'","other app line"]]}
]}'

note "every awkward byte in a message; unsorted labels and metadata (beta)"
spool_push beta odd '{"streams":[{"stream":{"host":"web-1","app":"test-app","env":"prod"},"values":[
 ["1700000000000000007","tab\there \"quoted\" back\\slash ünïcödé 日本 🚀\nsecond line\u0001 nul\u0000end",
  {"user":"u1","trace_id":"abc","a":"b"}]]}]}'
odd_hex=$(printf 'tab\there "quoted" back\\slash ünïcödé 日本 🚀\nsecond line\001 nul\000end' |
    od -An -tx1 -v | tr -d ' \n' | tr a-f A-F)

note "3000 lines in two streams across midnight: two days, two INSERTs (gamma)"
# 2024-03-01 23:59:30 UTC on, 20 ms apart: 1500 lines on each day.
first=1709337570
awk -v first="$first" 'BEGIN {
	printf "{\"streams\":["
	for (s = 0; s < 2; s++) {
		printf "%s{\"stream\":{\"app\":\"bulk\",\"shard\":\"%d\"},\"values\":[", (s ? "," : ""), s
		for (i = s; i < 3000; i += 2)
			printf "%s[\"%d%09d\",\"bulk line %d\"]", (i > s ? "," : ""), \
			    first + int(i / 50), (i % 50) * 20000000, i
		printf "]}"
	}
	print "]}"
}' >"$T/bulk.json"
run "$RECV" -T gamma -D "$SPOOL" "$T/bulk.json"
check_rc 0 "logthra-recv -T gamma bulk.json"

long=tenant-with-a-rather-long-name.example
spool_push "$long" long '{"streams":[{"stream":{"app":"b"},"values":[["1700000000000000000","beta one"]]}]}'

# A copy of gamma's file, to play the claim of a run that died later.
gamma_file=$(find "$SPOOL/tenants/gamma/ready" -type f -printf '%f\n')
cp "$SPOOL/tenants/gamma/ready/$gamma_file" "$T/gamma.spool"

# --- flush and rows ------------------------------------------------------------

run "$FLUSH" -D "$SPOOL" -U "$CH_URL"
check_rc 0 "logthra-flush into chdb"
check_match '^flushed 5 files, 3008 rows, [0-9]+ bytes in [0-9]+\.[0-9]+ s$' \
    "$RUN_OUT" "flush summary counts 5 files, 3008 rows"
check_eq "" "$RUN_ERR" "logthra-flush says nothing on stderr"
check_eq 0 "$(spool_files "$SPOOL")" "no spool files left"
TS_FRAC=$(rows "SELECT if(type LIKE 'DateTime64%', '.000000000', '') FROM system.columns
    WHERE database = 'logs' AND table = 'log' AND name = 'timestamp'")
note "the table's timestamp: $(rows "SELECT type FROM system.columns
    WHERE database = 'logs' AND table = 'log' AND name = 'timestamp'")"

sid=$(fnv1a64 app=test-app level=info)
check_eq "acme	$sid	['app=test-app','level=info']	1704067200	$(dt 1704067200)	1704067200000000000	ready	[]
acme	$sid	['app=test-app','level=info']	1704067200	$(dt 1704067200)	1704067200000000000	starting up	[]" \
    "$(rows "SELECT tenant_id, stream_id, label, toUnixTimestamp(timestamp),
    toString(toTimeZone(timestamp, 'UTC')), timestamp_ns, msg, metadata
    FROM logs.log WHERE tenant_id = 'acme' AND timestamp_ns = 1704067200000000000
    ORDER BY msg")" \
    "the seed's 2 rows, value by value"
check_eq "$(ns 1)	$(fnv1a64 app=test-app level=error)	Disk ERROR on /dev/sda	['span_id=b7ad6b7169203331','trace_id=0af7651916cd43dd']
$(ns 2)	$(fnv1a64 app=test-app level=error)	retrying	['trace_id=0af7651916cd43dd']
$(ns 3)	$(fnv1a64 app=other)	other app line	[]
$(ns 61)	$(fnv1a64 app=test-app level=warn)	slow response	['trace_id=abc']" \
    "$(rows "SELECT timestamp_ns, stream_id, msg, metadata FROM logs.log
    WHERE tenant_id = 'acme' AND timestamp_ns > 1704067200000000000
    ORDER BY timestamp_ns")" \
    "acme's recent rows: times, streams, messages, sorted metadata"
check_eq "['app=test-app','env=prod','host=web-1']	$(fnv1a64 app=test-app env=prod host=web-1)	['a=b','trace_id=abc','user=u1']	1700000000000000007	1700000000	$odd_hex" \
    "$(rows "SELECT label, stream_id, metadata, timestamp_ns,
    toUnixTimestamp(timestamp), hex(msg) FROM logs.log WHERE tenant_id = 'beta'")" \
    "beta's row: sorted labels and metadata, the message byte for byte"
check_eq "2024-03-01	750	0	1498	$(fnv1a64 app=bulk shard=0)
2024-03-01	750	1	1499	$(fnv1a64 app=bulk shard=1)
2024-03-02	750	1500	2998	$(fnv1a64 app=bulk shard=0)
2024-03-02	750	1501	2999	$(fnv1a64 app=bulk shard=1)" \
    "$(rows "SELECT toDate(timestamp, 'UTC') AS d, count(),
    min(toUInt32(substring(msg, 11))) AS lo, max(toUInt32(substring(msg, 11))),
    stream_id FROM logs.log WHERE tenant_id = 'gamma'
    GROUP BY d, stream_id ORDER BY d, lo")" \
    "gamma: 750 rows a day in each of 2 streams, split at midnight"
check_eq "3000	3000	1709337570000000000	1709337629980000000" \
    "$(rows "SELECT count(), uniqExact(msg), min(timestamp_ns), max(timestamp_ns)
    FROM logs.log WHERE tenant_id = 'gamma'")" \
    "gamma: 3000 distinct lines, first and last time to the nanosecond"
check_eq "acme	6	2
beta	1	1
gamma	3000	1
$long	1	1" \
    "$(rows "SELECT tenant_id, count(), uniqExact(push_id) FROM logs.log
    GROUP BY tenant_id ORDER BY tenant_id")" \
    "rows and pushes per tenant; a long tenant id is kept whole"
check_eq 0 "$(rows "SELECT count() FROM logs.log WHERE push_id = 0")" \
    "every row has its push_id"
gamma_index() {
	rows "SELECT stream_id, label, day FROM logs.log_streams WHERE tenant_id = 'gamma'
	    GROUP BY stream_id, label, day ORDER BY day, label"
}
gamma_pushed="$(fnv1a64 app=bulk shard=0)	['app=bulk','shard=0']	2024-03-01
$(fnv1a64 app=bulk shard=1)	['app=bulk','shard=1']	2024-03-01
$(fnv1a64 app=bulk shard=0)	['app=bulk','shard=0']	2024-03-02
$(fnv1a64 app=bulk shard=1)	['app=bulk','shard=1']	2024-03-02"
check_eq "$gamma_pushed" "$(gamma_index)" \
    "the streams index: gamma's 2 streams on each of the 2 days of their lines"
check_eq 4 "$(rows "SELECT count() FROM logs.log_streams WHERE tenant_id = 'gamma'")" \
    "one row each: the batch's streams are written once"
check_streams_index logs.log "the streams index holds exactly the streams and days of the rows"
index_before=$(streams_indexed logs.log_streams)

# --- nothing twice -------------------------------------------------------------

note "a second flush adds nothing"
run "$FLUSH" -D "$SPOOL" -U "$CH_URL"
check_rc 0 "second logthra-flush"
check_match '^flushed 0 files, 0 rows, 0 bytes in ' "$RUN_OUT" "it flushes nothing"
check_eq 3008 "$(rows "SELECT count() FROM logs.log")" "still 3008 rows"

# claim_again TENANT FILE COPY: a run that died after its INSERT left the
# tenant's FILE (whose content is COPY) claimed in active/; flushes it.
claim_again() {
	mkdir -p "$SPOOL/tenants/$1/active"
	cp "$3" "$SPOOL/tenants/$1/active/$2"
	run "$FLUSH" -D "$SPOOL" -U "$CH_URL"
	check_match '^flushed 0 files, 0 rows, .*; 1 files wait for a retry$' "$RUN_OUT" \
	    "the dead run's claim is taken back and waits"
	LOGTHRA_RETRY_MIN_DELAY=0 run "$FLUSH" -D "$SPOOL" -U "$CH_URL" --retry-now
	check_rc 0 "logthra-flush --retry-now of the claimed file"
}
claim_gamma() { claim_again gamma "$gamma_file" "$T/gamma.spool"; }
note "a claimed file whose rows all arrived: the presence query finds them"
claim_gamma
check_match '^flushed 1 files, 0 rows, ' "$RUN_OUT" "no row sent again"
check_eq 3008 "$(rows "SELECT count() FROM logs.log")" "still 3008 rows"
check_eq "$index_before" "$(streams_indexed logs.log_streams)" \
    "the streams index, read with GROUP BY, is as it was"

# --- the documents' queries ------------------------------------------------------

mapfile -t RQ < <(readme_queries)
mapfile -t MQ < <(man_queries)
check_eq 5 "${#RQ[@]}" "README.md has 5 example queries"
check_eq 5 "${#MQ[@]}" "logthra(7) has 5 example queries"

# What each should answer, in the documents' order (the 5th differs).
E_LINES="$(dt 1704067200)	['app=test-app','level=info']	starting up
$(dt 1704067200)	['app=test-app','level=info']	ready
$(dt $((base + 1)))	['app=test-app','level=error']	Disk ERROR on /dev/sda
$(dt $((base + 2)))	['app=test-app','level=error']	retrying
$(dt $((base + 61)))	['app=test-app','level=warn']	slow response"
E_LEVELS="	1
level=error	2
level=info	2
level=warn	1"
E_MINUTES="$(dts "$base")	3
$(dts $((base + 60)))	1"
E_SEARCH="Disk ERROR on /dev/sda"
E_README_META="slow response"
E_MAN_META="$(dt $((base + 1)))	Disk ERROR on /dev/sda
$(dt $((base + 2)))	retrying"

# check_query DOC N SQL EXPECTED [ORDERED-BY-FIRST-COLUMN]: rows compared
# as sorted sets (equal timestamps may come in any order); the order of
# the first column is checked apart.
check_query() {
	local doc=$1 n=$2 sql=$3 expected=$4 ordered=${5:-0} out
	if ! out=$(ch_query "$sql" 2>"$T/q.err"); then
		fail "$doc query $n runs: $sql"
		lt_detail error "$(cat "$T/q.err")"
		return 0
	fi
	ok "$doc query $n runs"
	check_eq "$(sort <<<"$expected")" "$(sort <<<"$out")" \
	    "$doc query $n answers as expected"
	if ((ordered)); then
		cut -f1 <<<"$out" | sort -c 2>/dev/null &&
		    ok "$doc query $n is in time order" ||
		    fail "$doc query $n is in time order"
	fi
}
for doc in README.md logthra.7; do
	if [[ $doc == README.md ]]; then Q=("${RQ[@]}"); meta=$E_README_META
	else Q=("${MQ[@]}"); meta=$E_MAN_META; fi
	check_query "$doc" 1 "${Q[0]}" "$E_LINES" 1
	check_query "$doc" 2 "${Q[1]}" "$E_LEVELS"
	check_query "$doc" 3 "${Q[2]}" "$E_MINUTES" 1
	check_query "$doc" 4 "${Q[3]}" "$E_SEARCH"
	check_query "$doc" 5 "${Q[4]}" "$meta"
done

# logthra(7)'s query of the index, as written (an .EX block of its own).
index_query=$(awk '/^\.EX/ { ex = 1; n = 0; next } /^\.EE/ { ex = 0; next }
    ex && n++ == 0 && index($0, "SELECT label FROM logs.log_streams") == 1 { on = 1 }
    ex && on { print } !ex { on = 0 }' "$abs_top_srcdir/man/logthra.7" | man_unroff)
check_query logthra.7 "THE STREAMS INDEX" "$index_query" "['app=test-app','level=error']
['app=test-app','level=info']
['app=test-app','level=warn']"

note "logthra(7): old days go with DROP PARTITION"
drop=$(man_statement 'ALTER TABLE logs.log DROP PARTITION')
check_eq "ALTER TABLE logs.log DROP PARTITION '2024-01-01'" "$drop" \
    "logthra(7) shows DROP PARTITION"
before=$(rows "SELECT count() FROM logs.log")
check_query logthra.7 "DROP PARTITION" "$drop" ""
check_eq "0	$((before - 2))" "$(rows "SELECT countIf(toDate(timestamp, 'UTC') = '2024-01-01'), count()
    FROM logs.log")" "the day's 2 rows are gone, the others stay"

note "a claimed file with one day missing: only that day is sent again"
ch_query "ALTER TABLE logs.log DROP PARTITION '2024-03-02'" >/dev/null ||
    fail "dropping gamma's second day"
check_eq 1500 "$(rows "SELECT count() FROM logs.log WHERE tenant_id = 'gamma'")" \
    "1500 rows of gamma gone"
claim_gamma
check_match '^flushed 1 files, 1500 rows, ' "$RUN_OUT" "1500 rows sent again"
check_eq "2024-03-01	1500
2024-03-02	1500" "$(rows "SELECT toDate(timestamp, 'UTC') AS d, count() FROM logs.log
    WHERE tenant_id = 'gamma' GROUP BY d ORDER BY d")" "gamma has each day once"
check_eq "$gamma_pushed" "$(gamma_index)" \
    "its streams, sent again with the day, fold into the index's (GROUP BY)"

note "a claimed file whose last day lies within one second: found all the same"
# Three days, the last one's rows within one second: ClickHouse 26.7
# skipped that day's part when the DateTime64 timestamp was bounded by
# a DateTime ("timestamp < toDateTime(S + 1)"), and its rows were sent
# again.
printf '{"streams":[{"stream":{"app":"edge"},"values":[%s]}]}\n' \
    '["1710547486000000000","a"],["1710633886000000001","b"],["1710720286000000002","c"],["1710720286999999999","d"]' \
    >"$T/edge.json"
run "$RECV" -T edge -D "$SPOOL" "$T/edge.json"
check_rc 0 "logthra-recv -T edge edge.json"
edge_file=$(find "$SPOOL/tenants/edge/ready" -type f -printf '%f\n')
cp "$SPOOL/tenants/edge/ready/$edge_file" "$T/edge.spool"
run "$FLUSH" -D "$SPOOL" -U "$CH_URL"
check_match '^flushed 1 files, 4 rows, ' "$RUN_OUT" "edge's 4 rows flushed"
claim_again edge "$edge_file" "$T/edge.spool"
check_match '^flushed 1 files, 0 rows, ' "$RUN_OUT" "no row of edge sent again"
check_eq "2024-03-16	1
2024-03-17	1
2024-03-18	2" "$(rows "SELECT toDate(timestamp, 'UTC') AS d, count() FROM logs.log
    WHERE tenant_id = 'edge' GROUP BY d ORDER BY d")" "edge has each row once"

note "logthra(7): the prototype's table is renamed out of the way"
rename=$(man_statement 'RENAME TABLE')
check_eq "RENAME TABLE logs.log TO logs.log_prototype" "$rename" \
    "logthra(7) shows RENAME TABLE"
before=$(rows "SELECT count() FROM logs.log")
check_query logthra.7 "RENAME TABLE" "$rename" ""
check_eq "$before" "$(rows "SELECT count() FROM logs.log_prototype")" \
    "the rows are in logs.log_prototype"
run "$RECV" -T acme -D "$SPOOL" "$SEED"
run "$FLUSH" -D "$SPOOL" -U "$CH_URL"
check_rc 0 "logthra-flush creates the table again"
check_eq 2 "$(rows "SELECT count() FROM logs.log")" "and fills it"

finish
