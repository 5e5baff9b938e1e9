#!/bin/bash
# discover_log_levels, on by default as in Loki: every entry stored gets
# structured metadata detected_level, from a level label of its stream, a
# level field of its line or a level word in it, and logthra-query reads
# it back; a [tenant] section turns it off.
. "$(dirname "$0")/lib.sh"

need_clickhouse
need_built
QUERY=$abs_top_builddir/src/logthra-query

SPOOL=$T/spool
mkdir -p "$SPOOL"
start_clickhouse
# lib.sh turns it off for the other tests; this one has Loki's default,
# but for one tenant.
unset LOGTHRA_DISCOVER_LOG_LEVELS
printf '[tenant quiet]\ndiscover_log_levels = no\n' >"$T/level.conf"
export LOGTHRA_CONFIG=$T/level.conf LOGTHRA_CLICKHOUSE_URL=$CH_URL LOGTHRA_SPOOL=$SPOOL

rows() { ch_query "$1 FORMAT TSV"; }

now=$(date -u +%s)
ns() { printf '%d%09d' $(( now - $1 )) 0; }
cat >"$T/acme.json" <<JSON
{"streams":[{"stream":{"app":"api"},"values":[
 ["$(ns 50)","level=error msg=x"],
 ["$(ns 40)","{\"msg\":\"y\",\"severity\":\"WARNING\"}"],
 ["$(ns 30)","nothing to see here",{"trace_id":"abc"}],
 ["$(ns 20)","z",{"detected_level":"Dbg"}]]},
 {"stream":{"app":"db","level":"warn"},"values":[["$(ns 10)","level=error slow query"]]}]}
JSON
cat >"$T/quiet.json" <<JSON
{"streams":[{"stream":{"app":"api"},"values":[["$(ns 5)","level=error msg=x"]]}]}
JSON
run "$RECV" -T acme "$T/acme.json"
check_rc 0 "logthra-recv acme"
run "$RECV" -T quiet "$T/quiet.json"
check_rc 0 "logthra-recv quiet"
run "$FLUSH"
check_rc 0 "logthra-flush"

note "stored: detected_level in the sorted metadata of every entry"
check_eq "level=error msg=x	['detected_level=error']
{\"msg\":\"y\",\"severity\":\"WARNING\"}	['detected_level=warn']
nothing to see here	['detected_level=unknown','trace_id=abc']
z	['detected_level=debug']
level=error slow query	['detected_level=warn']" \
    "$(rows "SELECT msg, metadata FROM logs.log WHERE tenant_id = 'acme'
	ORDER BY timestamp_ns")" \
    "a logfmt field, a JSON field, no level, one sent (normalized), a level label"
check_eq "level=error msg=x	[]" \
    "$(rows "SELECT msg, metadata FROM logs.log WHERE tenant_id = 'quiet'")" \
    "[tenant quiet] discover_log_levels = no adds nothing"

note "read back by logthra-query"
run "$QUERY" -T acme -o json --since=1h '{app="api"} | detected_level="error"'
check_rc 0 "a query on detected_level"
check_contains '"detected_level":"error"' "$RUN_OUT" "level=error reads back as detected_level=\"error\""
check_contains 'level=error msg=x' "$RUN_OUT" "the entry of level=error"
check_not_contains 'nothing to see here' "$RUN_OUT" "and not the others"
run "$QUERY" -T acme -o json --since=1h '{app="db"} | detected_level="warn"'
check_rc 0 "a query on the level label's detected_level"
check_contains '"detected_level":"warn"' "$RUN_OUT" "the stream's level=\"warn\" reads back as detected_level=\"warn\""
check_contains 'level=error slow query' "$RUN_OUT" "over the level field of its line"
run "$QUERY" -T quiet -o json --since=1h '{app="api"}'
check_rc 0 "the quiet tenant"
check_not_contains 'detected_level' "$RUN_OUT" "no detected_level where it is off"

finish
