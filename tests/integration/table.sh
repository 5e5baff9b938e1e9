#!/bin/bash
# The table on Debian's ClickHouse (18.16): --print-ddl for given versions
# without a server and for the server it asks; the portable table made
# and filled; retention by dropping old days (the longest tenant's wins,
# "kept forever" keeps all, and the streams index loses the same days);
# the streams index after a flush holds exactly the pushed streams and
# days, a second flush of the same pushes adds none, and --migrate
# makes and fills it for a table from before it; --migrate then finds
# nothing to do; a table the INSERT cannot fill is refused by name and
# the files kept.
# (tests/integration/chdb.sh does the current layout on ClickHouse 26.)
. "$(dirname "$0")/lib.sh"

need_clickhouse
need_built

SPOOL=$T/spool
mkdir -p "$SPOOL"
rows() { ch_query "$1 FORMAT TSV"; }

note "--print-ddl --server-version: no server needed"
unused=$(free_port)
run "$FLUSH" --print-ddl --server-version 26.7 -U "http://127.0.0.1:$unused/"
check_rc 0 "--print-ddl --server-version 26.7"
check_contains "-- Logthra's table for ClickHouse 26.7: the current layout, with tokenbf_v1." \
    "$RUN_OUT" "the header says the version and layout"
check_contains "INDEX msg_tokens msg TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 1" "$RUN_OUT" \
    "26.7: tokenbf_v1 on msg"
check_contains "msg String CODEC(ZSTD(6))" "$RUN_OUT" "26.7: msg in ZSTD(6)"
check_contains "timestamp DateTime64(9, 'UTC')" "$RUN_OUT" "26.7: DateTime64(9)"
run "$FLUSH" --print-ddl --server-version 24.8 --retention 30 -U "http://127.0.0.1:$unused/"
check_contains "INDEX msg_tokens msg TYPE tokenbf_v1(" "$RUN_OUT" "24.8: tokenbf_v1"
check_contains "TTL toDateTime(timestamp) + toIntervalDay(30)" "$RUN_OUT" \
    "--retention 30 (days) is a TTL"
check_contains "SETTINGS ttl_only_drop_parts = 1" "$RUN_OUT" "and parts are dropped whole"
printf '[tenant acme]\nretention = 7d\n' >"$T/tenants.conf"
run "$FLUSH" -c "$T/tenants.conf" --print-ddl --server-version 25.3 --retention 30d \
    -U "http://127.0.0.1:$unused/"
check_contains "TTL toDateTime(timestamp) + toIntervalDay(7) WHERE tenant_id = 'acme', toDateTime(timestamp) + toIntervalDay(30) WHERE tenant_id NOT IN ('acme')" \
    "$RUN_OUT" "a tenant's retention is a TTL rule of its own"
run "$FLUSH" --print-ddl --server-version 18.16 --retention 30 -U "http://127.0.0.1:$unused/"
check_not_contains "TTL" "$RUN_OUT" "18.16 has no TTL"
run "$FLUSH" --print-ddl --server-version 24 -U "http://127.0.0.1:$unused/"
check_rc 1 "--server-version 24 is refused"
check_contains 'error: invalid --server-version "24"' "$RUN_ERR" "and named"
run "$FLUSH" --print-ddl -U "http://127.0.0.1:$unused/"
check_rc 1 "--print-ddl without a version asks the server, which is not there"
check_contains "--server-version=X.Y prints the statements for that version without connecting" \
    "$RUN_ERR" "the hint names --server-version"
run "$FLUSH" --server-version 24.8
check_rc 1 "--server-version without --print-ddl is a usage error"
run "$FLUSH" --dry-run
check_rc 1 "--dry-run without --migrate is a usage error"

start_clickhouse

note "--print-ddl asks the server"
run "$FLUSH" --print-ddl -U "$CH_URL"
check_rc 0 "--print-ddl against 18.16"
check_contains "-- Logthra's table for ClickHouse 18.16: the portable layout" "$RUN_OUT" \
    "the server's version and the portable layout"

note "retention by days on a server without TTL"
today=$(date -u +%Y-%m-%d)
old_day=$(date -u -d '-40 days' +%Y-%m-%d)
mid_day=$(date -u -d '-10 days' +%Y-%m-%d)
for t in acme beta; do
	printf '{"streams":[{"stream":{"app":"a"},"values":[["%s","old"],["%s","mid"],["%s","new"]]}]}\n' \
	    "$old_day" "$mid_day" "$today" >"$T/$t.json"
	run "$RECV" -T "$t" -D "$SPOOL" "$T/$t.json"
	check_rc 0 "a push for $t with entries of 40 days ago, 10 days ago and today"
done
# Tenant beta keeps 60 days: no day goes while one tenant keeps it.
printf '[tenant beta]\nretention = 60d\n' >"$T/beta60.conf"
run "$FLUSH" -c "$T/beta60.conf" -D "$SPOOL" -U "$CH_URL" --retention 30
check_rc 0 "flush with retention 30 days, beta 60"
check_eq 6 "$(rows "SELECT count() FROM logs.log")" "all 6 rows are there"
check_not_contains "dropped day" "$RUN_OUT" "no day is dropped: beta keeps 60 days"
run "$FLUSH" -D "$SPOOL" -U "$CH_URL" --retention 30
check_rc 0 "flush with retention 30 days"
check_contains "dropped day $old_day of logs.log: past the retention" "$RUN_OUT" \
    "the day 40 days back is dropped, and said"
check_eq "mid
mid
new
new" "$(rows "SELECT msg FROM logs.log ORDER BY timestamp_ns, tenant_id")" \
    "the rows of 10 days ago and today stay"
run "$FLUSH" -D "$SPOOL" -U "$CH_URL" --retention 5
check_contains "dropped day $mid_day" "$RUN_OUT" "retention 5 days drops the day 10 days back"
check_eq 2 "$(rows "SELECT count() FROM logs.log")" "today's 2 rows stay"
printf '[tenant beta]\nretention = 0\n' >"$T/forever.conf"
run "$FLUSH" -c "$T/forever.conf" -D "$SPOOL" -U "$CH_URL" --retention 1s
check_rc 0 "a tenant kept forever"
check_eq 2 "$(rows "SELECT count() FROM logs.log")" "keeps every day"
run "$FLUSH" -D "$SPOOL" -U "$CH_URL" --retention tomorrow
check_rc 1 "--retention tomorrow is refused"
check_contains "retention" "$RUN_ERR" "naming the setting"

check_eq "$today" "$(rows "SELECT DISTINCT day FROM logs.log_streams")" \
    "the streams index lost the same days"

note "the streams index (logthra(7), THE STREAMS INDEX)"
streams_push() {
	printf '%s\n' '{"streams":[{"stream":{"app":"a"},"values":[["2024-03-01T23:59:59.9Z","1"],["2024-03-02T00:00:00Z","2"]]},{"stream":{"env":"x","app":"b"},"values":[["2024-03-02T10:00:00Z","3"],["2024-03-02T11:00:00Z","4"]]}]}' >"$T/s1.json"
	printf '%s\n' '{"streams":[{"stream":{"app":"a"},"values":[["2024-03-02T05:00:00Z","5"]]}]}' >"$T/s2.json"
	run "$RECV" -T acme -D "$SPOOL" "$T/s1.json"
	check_rc 0 "a push of acme: {app=a} on 1 and 2 March, {app=b,env=x} on 2 March"
	run "$RECV" -T beta -D "$SPOOL" "$T/s2.json"
	check_rc 0 "a push of beta: {app=a} on 2 March"
}
# What the pushes say, worked out by hand: a row per tenant, stream and day.
pushed="acme	['app=a']	2024-03-01
acme	['app=a']	2024-03-02
acme	['app=b','env=x']	2024-03-02
beta	['app=a']	2024-03-02"
indexed() { rows "SELECT tenant_id, label, day FROM idx.log_streams GROUP BY tenant_id, label, day ORDER BY tenant_id, day, label"; }
streams_push
run "$FLUSH" -D "$SPOOL" -U "$CH_URL" -d idx
check_rc 0 "flush into a new database idx"
check_eq "$pushed" "$(indexed)" "idx.log_streams holds the pushed (tenant, stream, day) set"
check_streams_index idx.log "and exactly the streams and days of idx.log's rows"
check_eq String "$(rows "SELECT type FROM system.columns WHERE database = 'idx' AND table = 'log_streams' AND name = 'tenant_id'")" \
    "tenant_id String on 18.16"
check_eq ReplacingMergeTree "$(rows "SELECT engine FROM system.tables WHERE database = 'idx' AND name = 'log_streams'")" \
    "a ReplacingMergeTree"
streams_push
run "$FLUSH" -D "$SPOOL" -U "$CH_URL" -d idx
check_rc 0 "the same pushes flushed again"
check_eq 10 "$(rows "SELECT count() FROM idx.log")" "the logs table has their rows twice"
check_eq "$pushed" "$(indexed)" "the index, read with GROUP BY, has nothing more"
check_streams_index idx.log "and still matches the logs table"

note "--migrate fills the index of a table made before it"
ch_query "DROP TABLE idx.log_streams" >/dev/null
run "$FLUSH" -U "$CH_URL" -d idx --migrate --dry-run
check_rc 0 "--migrate --dry-run"
check_contains "CREATE TABLE IF NOT EXISTS idx.log_streams" "$RUN_OUT" "would create the index"
check_eq 2 "$(grep -c '^INSERT INTO idx.log_streams ' <<<"$RUN_OUT")" \
    "and fill it, a statement per day of the logs table"
check_eq 0 "$(rows "SELECT count() FROM system.tables WHERE database = 'idx' AND name = 'log_streams'")" \
    "a dry run changes nothing"
run "$FLUSH" -U "$CH_URL" -d idx --migrate
check_rc 0 "--migrate"
check_eq "$pushed" "$(indexed)" "the index holds the pushed set"
check_streams_index idx.log "exactly the streams and days of idx.log"
run "$FLUSH" -U "$CH_URL" -d idx --migrate
check_rc 0 "--migrate again"
check_eq "-- idx.log needs no change that --migrate makes (ClickHouse 18.16)." "$RUN_OUT" \
    "finds nothing more to do"
# An installation upgraded without --migrate: a flush makes the index,
# empty, and indexes new rows; --migrate adds the days before.
ch_query "DROP TABLE idx.log_streams" >/dev/null
printf '%s\n' '{"streams":[{"stream":{"app":"c"},"values":[["2024-03-03T00:00:00Z","6"]]}]}' >"$T/s3.json"
run "$RECV" -T beta -D "$SPOOL" "$T/s3.json"
run "$FLUSH" -D "$SPOOL" -U "$CH_URL" -d idx
check_rc 0 "a flush into idx.log without its index"
check_eq "beta	['app=c']	2024-03-03" "$(indexed)" "makes the index with the new push's stream alone"
run "$FLUSH" -U "$CH_URL" -d idx --migrate
check_rc 0 "--migrate"
check_eq 2 "$(grep -c '^INSERT INTO idx.log_streams ' <<<"$RUN_OUT")" "fills the 2 days it lacks"
check_not_contains "CREATE TABLE" "$RUN_OUT" "and creates nothing"
check_eq "$pushed
beta	['app=c']	2024-03-03" "$(indexed)" "the index holds every pushed stream and day"
check_streams_index idx.log "exactly those of idx.log"

note "--migrate on 18.16"
run "$FLUSH" -U "$CH_URL" --migrate --dry-run --retention 30
check_rc 0 "--migrate --dry-run"
check_eq "-- logs.log needs no change that --migrate makes (ClickHouse 18.16)." "$RUN_OUT" \
    "nothing to change: 18.16 has nothing more to offer"
run "$FLUSH" -U "$CH_URL" -t nothing_here --migrate
check_rc 0 "--migrate of a table that does not exist"
check_contains "logs.nothing_here does not exist" "$RUN_OUT" "says so"

note "a table the INSERT cannot fill"
ch_query "CREATE TABLE logs.seed (tenant_id FixedString(10), label Array(String), timestamp Date, msg String) ENGINE = MergeTree() PARTITION BY timestamp ORDER BY tenant_id" >/dev/null
run "$RECV" -T acme -D "$SPOOL" "$SEED"
run "$FLUSH" -D "$SPOOL" -U "$CH_URL" -t seed
check_rc 1 "flush into the seed's table fails"
check_contains "error: table logs.seed cannot take Logthra's rows: tenant_id (FixedString(10)), stream_id (missing), timestamp (Date), timestamp_ns (missing), metadata (missing), push_id (missing)" \
    "$RUN_ERR" "naming every column that does not fit"
check_eq 1 "$(count_files "$SPOOL/tenants/acme/ready")" "the push stays in ready/"
check_eq 0 "$(rows "SELECT count() FROM logs.seed")" "nothing went into the table"

finish
