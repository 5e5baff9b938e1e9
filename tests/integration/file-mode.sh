#!/bin/bash
# logthra-recv in file mode, logthra-flush into a real ClickHouse: the
# seed payload ends as two exact rows; timestamps in every accepted form
# keep their nanoseconds; structured metadata; tenants stay apart; an
# invalid payload leaves nothing behind.
. "$(dirname "$0")/lib.sh"

need_clickhouse
need_built

SPOOL=$T/spool
mkdir -p "$SPOOL"

# ClickHouse's answer to a query, for comparisons.
rows() { ch_query "$1 FORMAT TSV"; }

# Writes a push payload to a file.
payload() { printf '%s\n' "$2" >"$T/$1.json"; }

note "--print-ddl --server-version needs no server"
unused=$(free_port)
run "$FLUSH" --print-ddl --server-version 18.16 -U "http://127.0.0.1:$unused/"
check_rc 0 "logthra-flush --print-ddl --server-version 18.16"
check_contains "CREATE DATABASE IF NOT EXISTS logs" "$RUN_OUT" \
    "--print-ddl prints CREATE DATABASE"
check_contains "CREATE TABLE IF NOT EXISTS logs.log" "$RUN_OUT" \
    "--print-ddl prints CREATE TABLE"
check_contains "timestamp_ns Int64" "$RUN_OUT" "--print-ddl has timestamp_ns Int64"

start_clickhouse

note "the seed payload, from a file"
run "$RECV" -T acme -D "$SPOOL" "$SEED"
check_rc 0 "logthra-recv -T acme -D SPOOL seed-push.json"
check_eq "" "$RUN_OUT$RUN_ERR" "file mode is quiet on success"
READY=$SPOOL/tenants/acme/ready
check_eq 1 "$(count_files "$READY")" "exactly one file in tenants/acme/ready/"
check_eq 0 "$(count_files "$SPOOL/tenants/acme/tmp")" "nothing left in tenants/acme/tmp/"
name=$(find "$READY" -type f -printf '%f\n' | head -n 1)
check_match '^[0-9]{19}-[0-9]+-[0-9a-f]{8}\.spool$' "$name" \
    "spool file name is NS-PID-RANDOM.spool"
magic=$(od -An -tx1 -N8 "$READY/$name" | tr -d ' \n')
check_eq 894c5453500d0a1a "$magic" "spool file starts with the magic"

run "$FLUSH" -D "$SPOOL" -U "$CH_URL"
check_rc 0 "logthra-flush"
check_match '^flushed 1 files, 2 rows, [0-9]+ bytes in [0-9]+\.[0-9]+ s$' \
    "$RUN_OUT" "flush summary counts 1 file, 2 rows"
check_eq 0 "$(count_files "$READY")" "tenants/acme/ready/ is empty after flush"
check_eq 0 "$(count_files "$SPOOL/tenants/acme/active")" "tenants/acme/active/ is empty after flush"

sid=$(fnv1a64 app=test-app level=info)
expected="acme	$sid	['app=test-app','level=info']	1704067200	2024-01-01 00:00:00	1704067200000000000	ready	[]
acme	$sid	['app=test-app','level=info']	1704067200	2024-01-01 00:00:00	1704067200000000000	starting up	[]"
check_eq "$expected" "$(rows "SELECT tenant_id, stream_id, label,
    toUnixTimestamp(timestamp), toString(toTimeZone(timestamp, 'UTC')),
    timestamp_ns, msg, metadata FROM logs.log WHERE tenant_id = 'acme'
    ORDER BY timestamp_ns, msg")" \
    "ClickHouse holds the seed's 2 rows (tenant, stream_id, labels, times, messages)"
check_eq 2 "$(rows "SELECT count() FROM logs.log")" "2 rows in all"
check_eq 2 "$(rows "SELECT count() FROM logs.log WHERE tenant_id = 'acme'
    AND has(label, 'app=test-app') AND timestamp >= toDateTime('2024-01-01 00:00:00', 'UTC')")" \
    "the README's example query finds them"

note "stdin and '-' read the payload too"
run "$RECV" -T acme -D "$SPOOL" <"$SEED"
check_rc 0 "logthra-recv -T acme < seed-push.json"
run "$RECV" -T acme -D "$SPOOL" - <"$SEED"
check_rc 0 "logthra-recv -T acme - < seed-push.json"
check_eq 2 "$(count_files "$READY")" "two new files in tenants/acme/ready/"

note "timestamps: Loki nanoseconds, RFC 3339 with fraction and offset; metadata"
payload precise '{"streams":[{"stream":{"job":"precise"},"values":[
  ["1700000000123456789","loki nanoseconds"],
  ["2023-11-14T22:13:20.123456789+01:00","rfc3339 with offset"],
  ["2024-01-01T12:00:00.5Z","rfc3339 utc"],
  ["1700000000000000001","with metadata",{"trace_id":"abc"}]
]}]}'
run "$RECV" -T precise -D "$SPOOL" "$T/precise.json"
check_rc 0 "logthra-recv -T precise (ns strings, RFC 3339, metadata)"

note "two tenants, each with its own rows; a long tenant id is kept whole"
payload alpha '{"streams":[{"stream":{"app":"a"},"values":[["1700000000000000000","alpha one"],["1700000001000000000","alpha two"]]}]}'
payload beta '{"streams":[{"stream":{"app":"b"},"values":[["1700000000000000000","beta one"]]}]}'
long=tenant-with-a-rather-long-name.example
run "$RECV" -T alpha -D "$SPOOL" "$T/alpha.json"
check_rc 0 "logthra-recv -T alpha"
run "$RECV" -T "$long" -D "$SPOOL" "$T/beta.json"
check_rc 0 "logthra-recv -T $long"

run "$FLUSH" -D "$SPOOL" -U "$CH_URL"
check_rc 0 "logthra-flush of 5 files"
check_match '^flushed 5 files, 11 rows, [0-9]+ bytes in [0-9]+\.[0-9]+ s$' \
    "$RUN_OUT" "flush summary counts 5 files, 11 rows"
check_eq 0 "$(find "$SPOOL/tenants" -type f | wc -l)" "no spool files left"

check_eq "1700000000123456789	1700000000	loki nanoseconds	[]
1704110400500000000	1704110400	rfc3339 utc	[]
1699996400123456789	1699996400	rfc3339 with offset	[]
1700000000000000001	1700000000	with metadata	['trace_id=abc']" \
    "$(rows "SELECT timestamp_ns, toUnixTimestamp(timestamp), msg, metadata
    FROM logs.log WHERE tenant_id = 'precise' ORDER BY msg")" \
    "exact timestamp_ns for every timestamp form, metadata ['trace_id=abc']"
check_eq "['job=precise']" "$(rows "SELECT DISTINCT label FROM logs.log WHERE tenant_id = 'precise'")" \
    "precise rows carry their label"

check_eq "alpha one
alpha two" "$(rows "SELECT msg FROM logs.log WHERE tenant_id = 'alpha' ORDER BY msg")" \
    "tenant alpha sees only its rows"
check_eq "beta one" "$(rows "SELECT msg FROM logs.log WHERE tenant_id = '$long' ORDER BY msg")" \
    "tenant $long sees only its rows"
check_eq "acme	6
alpha	2
precise	4
$long	1" "$(rows "SELECT tenant_id, count() FROM logs.log GROUP BY tenant_id ORDER BY tenant_id")" \
    "rows per tenant"

note "nothing to flush"
run "$FLUSH" -D "$SPOOL" -U "$CH_URL"
check_rc 0 "logthra-flush with an empty spool"
check_match '^flushed 0 files, 0 rows, 0 bytes in [0-9]+\.[0-9]+ s$' "$RUN_OUT" \
    "flush summary says 0 files, 0 rows"
check_eq 13 "$(rows "SELECT count() FROM logs.log")" "no rows added by the empty flush"

note "invalid payloads are refused and leave no file"
payload broken '{"streams":[{"stream":{"app":"x"},"values":[["2024-01-01","a"]'
run "$RECV" -T bad -D "$SPOOL" "$T/broken.json"
check_rc 65 "logthra-recv with malformed JSON"
check_contains "error" "$RUN_ERR" "malformed JSON is reported on stderr"
payload badlabel '{"streams":[{"stream":{"bad-name":"x"},"values":[["2024-01-01","a"]]}]}'
run "$RECV" -T bad -D "$SPOOL" "$T/badlabel.json"
check_rc 65 "logthra-recv with an invalid label name"
payload badts '{"streams":[{"stream":{"app":"x"},"values":[["yesterday","a"]]}]}'
run "$RECV" -T bad -D "$SPOOL" "$T/badts.json"
check_rc 65 "logthra-recv with an invalid timestamp"
check_eq 0 "$(count_files "$SPOOL/tenants/bad/ready")" "no file in tenants/bad/ready/"
check_eq 0 "$(count_files "$SPOOL/tenants/bad/tmp")" "no file in tenants/bad/tmp/"
run "$RECV" -T ../etc -D "$SPOOL" "$SEED"
check_rc 1 "logthra-recv with tenant ../etc"
check_eq 0 "$(find "$T" -name '*.spool' | wc -l)" "no spool file anywhere"

note "a payload goes with file mode alone, and one mode at a time"
run "$RECV" -T mixed -D "$SPOOL" --print-config "$SEED"
check_rc 1 "logthra-recv -T mixed --print-config FILE"
check_contains "too many command-line arguments (first is \"$SEED\")" "$RUN_ERR" \
    "--print-config refuses the payload"
run "$RECV" -T mixed -D "$SPOOL" --metrics --print-config
check_rc 1 "logthra-recv --metrics --print-config"
check_eq "logthra-recv: error: options --metrics and --print-config cannot be used together
Try \"logthra-recv --help\" for more information." "$RUN_ERR" "the message names both"
check_eq "" "$RUN_OUT" "nothing on standard output"
check_eq 0 "$(count_files "$SPOOL/tenants/mixed/ready")" "nothing stored for tenant mixed"

finish
