#!/bin/bash
# The current layout of logthra(7), THE TABLE, on ClickHouse 26 (chdb,
# tests/chdb/chdb-http.js; tests/integration/table.sh does the portable
# one on Debian's 18.16):
#  - --print-ddl asks the server and names its version and layout;
#  - a table made by a flush with --retention: its columns, indexes, TTL
#    and ttl_only_drop_parts; rows exact, timestamp_ns (an ALIAS) to the
#    nanosecond, labels['app'], hasToken() through tokenbf_v1; a second
#    flush adds nothing;
#  - --migrate --dry-run and --migrate of the retention; rows past it go;
#  - a retention per tenant (one a quote in its id, kept forever): one
#    TTL rule each, rows past it deleted for one tenant, kept for another;
#  - a portable table made on 26 is filled, then --migrate adds what can
#    be added in place; the MIGRATING recipe of logthra(7), run as
#    written, moves it to the current layout with every row exact;
#  - a table as Logthra made it on 26.2 and later before (the text index,
#    ZSTD(1)) is filled, and --migrate puts tokenbf_v1 in the text
#    index's place and the strings' codec, without rewriting a part;
#  - a table whose timestamp cannot take the rows is refused by name.
. "$(dirname "$0")/lib.sh"

need_built
start_chdb

SPOOL=$T/spool
mkdir -p "$SPOOL"

# ClickHouse's answer to a query (TSV escapes a quote: o\'brien).
rows() { ch_query "$1 FORMAT TSV"; }
# The text of SHOW CREATE TABLE DB.log.
show_create() { ch_query "SHOW CREATE TABLE $1.log FORMAT TabSeparatedRaw" || true; }
# Writes a push payload to a file and spools it for a tenant.
spool_push() {
	printf '%s\n' "$3" >"$T/push.json"
	run "$RECV" -T "$1" -D "$SPOOL" "$T/push.json"
	check_rc 0 "logthra-recv -T $1: $2"
}
# Runs statements separated by ';' one by one, as clickhouse-client
# --multiquery would: comment lines go first, as --print-ddl's first
# line could hold a ";".
run_statements() {
	local stmt rc=0
	while IFS= read -r -d ';' stmt; do
		[[ -n "${stmt//[[:space:]]/}" ]] || continue
		ch_query "$stmt" >/dev/null || rc=1
	done < <(sed '/^--/d'; printf ';')
	return "$rc"
}
# make_table VERSION DB: DB.log as --print-ddl makes it for VERSION.
make_table() {
	run "$FLUSH" --print-ddl --server-version "$1" -d "$2" -U "$CH_URL"
	check_rc 0 "--print-ddl --server-version $1 -d $2"
	if run_statements <<<"$RUN_OUT"; then
		ok "the statements for $1 make $2.log on ClickHouse $CH_VERSION"
	else
		fail "the statements for $1 make $2.log on ClickHouse $CH_VERSION"
	fi
}
# How many lines of TEXT start with PREFIX: lines_starting PREFIX TEXT.
lines_starting() { awk -v p="$1" 'index($0, p) == 1 { n++ } END { print n + 0 }' <<<"$2"; }

# Times of the last hour, so that no TTL takes them: a minute half an
# hour ago, and nanoseconds that a DateTime would lose.
base=$((($(date +%s) - 1800) / 60 * 60))
ns() { printf '%d%09d' "$((base + $1))" "$2"; }
# A time DAYS days back, in nanoseconds.
days_ago() { printf '%d000000000' "$((base - $1 * 86400))"; }
version=$(cut -d. -f1,2 <<<"$CH_VERSION")
check_match '^(26\.([2-9]|[1-9][0-9])|(2[7-9]|[3-9][0-9])\.[0-9]+)$' "$version" \
    "chdb runs ClickHouse 26.2 or newer (the text index, for the old table): $CH_VERSION"

# --- --print-ddl ---------------------------------------------------------------

note "--print-ddl asks the server"
run "$FLUSH" --print-ddl -U "$CH_URL"
check_rc 0 "--print-ddl against ClickHouse $CH_VERSION"
check_eq "-- Logthra's table for ClickHouse $version: the current layout, with tokenbf_v1." \
    "$(head -n 1 <<<"$RUN_OUT")" "the header names the server's version and the current layout"
check_contains "INDEX msg_tokens msg TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 1" "$RUN_OUT" \
    "tokenbf_v1 on msg"
check_contains "    msg String CODEC(ZSTD(6))," "$RUN_OUT" "msg in ZSTD(6)"
check_not_contains "TTL" "$RUN_OUT" "no TTL without a retention"

# --- a table made with a retention ---------------------------------------------

note "pushes of two tenants, flushed with --retention 30 into a new database"
spool_push acme "labels, metadata, nanoseconds" '{"streams":[
 {"stream":{"level":"error","app":"web"},"values":[
  ["'"$(ns 1 123456789)"'","disk error on sda",{"trace_id":"t1","span_id":"s1"}],
  ["'"$(ns 2 1)"'","retrying later",{"trace_id":"t1"}]]},
 {"stream":{"app":"api"},"values":[["'"$(ns 3 999999999)"'","request served"]]}]}'
spool_push beta "a line of 10 days ago and one of now" '{"streams":[
 {"stream":{"app":"web","host":"h1"},"values":[
  ["'"$(days_ago 10)"'","ten days old"],
  ["'"$(ns 4 7)"'","an error: in beta",{"user":"u1","a":"b"}]]}]}'
run "$FLUSH" -D "$SPOOL" -U "$CH_URL" -d cur --retention 30
check_rc 0 "logthra-flush -d cur --retention 30"
check_match '^flushed 2 files, 5 rows, [0-9]+ bytes in ' "$RUN_OUT" "2 files, 5 rows"
check_eq "" "$RUN_ERR" "nothing on stderr"
create=$(show_create cur)
check_contains "TTL toDateTime(timestamp) + toIntervalDay(30)
SETTINGS ttl_only_drop_parts = 1" "$create" \
    "SHOW CREATE TABLE: TTL 30 days, whole parts dropped"
check_eq "tenant_id	LowCardinality(String)	
stream_id	UInt64	
label	Array(String)	
labels	Map(String, String)	MATERIALIZED
timestamp	DateTime64(9, 'UTC')	
timestamp_ns	Int64	ALIAS
msg	String	
metadata	Array(String)	
push_id	UInt64	" \
    "$(ch_query "SELECT name, type, default_kind FROM system.columns
    WHERE database = 'cur' AND table = 'log' ORDER BY position FORMAT TSVRaw")" \
    "the columns: LowCardinality tenant_id, DateTime64(9, 'UTC'), labels, timestamp_ns an ALIAS"
check_contains "\`timestamp_ns\` Int64 ALIAS toUnixTimestamp64Nano(timestamp)" "$create" \
    "timestamp_ns is toUnixTimestamp64Nano(timestamp)"
check_eq "label_bloom	bloom_filter(0.01)
msg_tokens	tokenbf_v1(32768, 3, 0)" \
    "$(ch_query "SELECT name, type_full FROM system.data_skipping_indices
    WHERE database = 'cur' AND table = 'log' ORDER BY name FORMAT TSVRaw")" \
    "the indexes: the bloom filter on label, tokenbf_v1 on msg"
check_eq "acme	$(fnv1a64 app=api)	['app=api']	$(ns 3 999999999)	$(date -u -d "@$((base + 3))" '+%F %T').999999999	request served	[]
acme	$(fnv1a64 app=web level=error)	['app=web','level=error']	$(ns 1 123456789)	$(date -u -d "@$((base + 1))" '+%F %T').123456789	disk error on sda	['span_id=s1','trace_id=t1']
acme	$(fnv1a64 app=web level=error)	['app=web','level=error']	$(ns 2 1)	$(date -u -d "@$((base + 2))" '+%F %T').000000001	retrying later	['trace_id=t1']
beta	$(fnv1a64 app=web host=h1)	['app=web','host=h1']	$(days_ago 10)	$(date -u -d "@$((base - 864000))" '+%F %T').000000000	ten days old	[]
beta	$(fnv1a64 app=web host=h1)	['app=web','host=h1']	$(ns 4 7)	$(date -u -d "@$((base + 4))" '+%F %T').000000007	an error: in beta	['a=b','user=u1']" \
    "$(rows "SELECT tenant_id, stream_id, label, timestamp_ns, toString(timestamp),
    msg, metadata FROM cur.log ORDER BY tenant_id, stream_id, timestamp")" \
    "the rows value by value; timestamp and timestamp_ns to the nanosecond"
check_eq "acme	3	1
beta	2	1" "$(rows "SELECT tenant_id, count(), uniqExact(push_id) FROM cur.log
    WHERE push_id != 0 GROUP BY tenant_id ORDER BY tenant_id")" \
    "one push_id per push, none 0"
check_eq "api		1
web	error	2
web		2" "$(rows "SELECT labels['app'] AS app, labels['level'] AS level, count()
    FROM cur.log GROUP BY app, level ORDER BY app, level DESC")" \
    "labels['app'] and labels['level'] answer"
check_eq "an error: in beta
disk error on sda" "$(rows "SELECT msg FROM cur.log WHERE hasToken(msg, 'error') ORDER BY msg")" \
    "hasToken(msg, 'error') finds the 2 rows with the word"
check_eq "" "$(rows "SELECT msg FROM cur.log WHERE hasToken(msg, 'err')")" \
    "hasToken(msg, 'err') finds none: a word, not a part of one"
check_contains "Name: msg_tokens" "$(ch_query "EXPLAIN indexes = 1 SELECT msg FROM cur.log
    WHERE hasToken(msg, 'error')")" "hasToken() uses tokenbf_v1"
check_eq "disk error on sda" "$(rows "SELECT msg FROM cur.log WHERE has(label, 'level=error')
    AND timestamp_ns = $(ns 1 123456789)")" "has(label, ...) and timestamp_ns in WHERE"

check_streams_index cur.log "the streams index holds exactly the streams and days of the rows"
check_eq "acme	['app=api']	$(date -u -d "@$base" +%F)
acme	['app=web','level=error']	$(date -u -d "@$base" +%F)
beta	['app=web','host=h1']	$(date -u -d "@$((base - 864000))" +%F)
beta	['app=web','host=h1']	$(date -u -d "@$base" +%F)" \
    "$(rows "SELECT tenant_id, label, day FROM cur.log_streams GROUP BY tenant_id, label, day
    ORDER BY tenant_id, label, day")" "the pushed streams, each on the days of its lines"
check_eq "tenant_id	LowCardinality(String)
stream_id	UInt64
label	Array(String)
day	Date" "$(ch_query "SELECT name, type FROM system.columns WHERE database = 'cur'
    AND table = 'log_streams' ORDER BY position FORMAT TSVRaw")" \
    "the streams table's columns, tenant_id LowCardinality"
create=$(ch_query "SHOW CREATE TABLE cur.log_streams FORMAT TabSeparatedRaw")
check_contains "ENGINE = ReplacingMergeTree
PARTITION BY day
ORDER BY (tenant_id, stream_id, day)
TTL day + toIntervalDay(31)
SETTINGS ttl_only_drop_parts = 1" "$create" \
    "a ReplacingMergeTree by day, kept a day longer than the rows"

run "$FLUSH" -D "$SPOOL" -U "$CH_URL" -d cur --retention 30
check_rc 0 "a second flush"
check_match '^flushed 0 files, 0 rows, ' "$RUN_OUT" "flushes nothing"
check_eq 5 "$(rows "SELECT count() FROM cur.log")" "still 5 rows"

# --- --migrate of the retention --------------------------------------------------

note "--migrate of a table as this version makes it"
run "$FLUSH" -U "$CH_URL" -d cur --retention 30 --migrate --dry-run
check_rc 0 "--migrate --dry-run --retention 30"
check_eq "-- cur.log needs no change that --migrate makes (ClickHouse $version)." \
    "$RUN_OUT" "nothing to change"
run "$FLUSH" -U "$CH_URL" -d cur --retention 7 --migrate --dry-run
check_rc 0 "--migrate --dry-run --retention 7"
check_eq "ALTER TABLE cur.log MODIFY TTL toDateTime(timestamp) + toIntervalDay(7);
ALTER TABLE cur.log_streams MODIFY TTL day + toIntervalDay(8);" \
    "$RUN_OUT" "exactly the TTL's change, of the logs table and of the streams index"
check_contains "toIntervalDay(30)" "$(show_create cur)" "the dry run changed nothing"
run "$FLUSH" -U "$CH_URL" -d cur --retention 7 --migrate
check_rc 0 "--migrate --retention 7"
check_eq "ALTER TABLE cur.log MODIFY TTL toDateTime(timestamp) + toIntervalDay(7);
ALTER TABLE cur.log_streams MODIFY TTL day + toIntervalDay(8);" \
    "$RUN_OUT" "prints the changes it makes"
check_contains "TTL day + toIntervalDay(8)" \
    "$(ch_query "SHOW CREATE TABLE cur.log_streams FORMAT TabSeparatedRaw")" \
    "the streams index's TTL follows"
create=$(show_create cur)
check_contains "TTL toDateTime(timestamp) + toIntervalDay(7)
SETTINGS ttl_only_drop_parts = 1" "$create" "SHOW CREATE TABLE: TTL 7 days"
run "$FLUSH" -U "$CH_URL" -d cur --retention 7 --migrate --dry-run
check_eq "-- cur.log needs no change that --migrate makes (ClickHouse $version)." \
    "$RUN_OUT" "then nothing to change"
ch_query "OPTIMIZE TABLE cur.log FINAL" >/dev/null || fail "OPTIMIZE TABLE cur.log FINAL"
check_eq "4	0" "$(rows "SELECT count(), countIf(msg = 'ten days old') FROM cur.log")" \
    "the day of 10 days ago went with the new TTL, the others stay"

# --- a retention per tenant ------------------------------------------------------

# Loki's tenant ids may hold a quote (lt_tenant_valid: [A-Za-z0-9!-_.*'()]).
q="o'brien"
printf '[tenant acme]\nretention = 7d\n\n[tenant %s]\nretention = 0\n' "$q" >"$T/tenants.conf"
note "a retention per tenant: acme 7 days, $q forever, the others 30"
for t in acme beta "$q"; do
	spool_push "$t" "lines of 40 and 10 days ago and of now" '{"streams":[
	 {"stream":{"app":"t"},"values":[
	  ["'"$(days_ago 40)"'","forty days old"],
	  ["'"$(days_ago 10)"'","ten days old"],
	  ["'"$(ns 5 0)"'","new line"]]}]}'
done
run "$FLUSH" -c "$T/tenants.conf" -D "$SPOOL" -U "$CH_URL" -d ten --retention 30
check_rc 0 "logthra-flush -d ten with the tenants' retentions"
check_match '^flushed 3 files, 9 rows, ' "$RUN_OUT" "3 files, 9 rows"
check_eq "" "$RUN_ERR" "nothing on stderr"
create=$(show_create ten)
check_contains "TTL toDateTime(timestamp) + toIntervalDay(7) WHERE tenant_id = 'acme', toDateTime(timestamp) + toIntervalDay(30) WHERE tenant_id NOT IN ('acme', 'o\\'brien')
" "$create" "a TTL rule for acme, none for $q (forever), one for the others"
check_not_contains "ttl_only_drop_parts" "$create" \
    "no ttl_only_drop_parts: a day's part holds every tenant"
run "$FLUSH" -c "$T/tenants.conf" -U "$CH_URL" -d ten --retention 30 --migrate --dry-run
check_eq "-- ten.log needs no change that --migrate makes (ClickHouse $version)." \
    "$RUN_OUT" "--migrate --dry-run: the quoted tenant's rule reads back as written"
# Its first rule is acme's 7 days: not a TTL of 7 days for everyone.
run "$FLUSH" -U "$CH_URL" -d ten --retention 7 --migrate --dry-run
check_eq "ALTER TABLE ten.log MODIFY TTL toDateTime(timestamp) + toIntervalDay(7);
ALTER TABLE ten.log MODIFY SETTING ttl_only_drop_parts = 1;
ALTER TABLE ten.log_streams MODIFY TTL day + toIntervalDay(8);
ALTER TABLE ten.log_streams MODIFY SETTING ttl_only_drop_parts = 1;" "$RUN_OUT" \
    "without the tenants' sections, --retention 7 replaces the rules (acme's is also 7 days)"
check_eq "new line" "$(rows "SELECT msg FROM ten.log WHERE tenant_id = 'o\\'brien'
    AND timestamp_ns = $(ns 5 0)")" "the quoted tenant's rows arrive"
ch_query "OPTIMIZE TABLE ten.log FINAL" >/dev/null || fail "OPTIMIZE TABLE ten.log FINAL"
check_eq "acme	new line
beta	new line
beta	ten days old
o\\'brien	forty days old
o\\'brien	new line
o\\'brien	ten days old" "$(rows "SELECT tenant_id, msg FROM ten.log ORDER BY tenant_id, msg")" \
    "after OPTIMIZE FINAL: acme keeps 7 days, beta 30, $q everything"

# --- a portable table on ClickHouse 26 -------------------------------------------

note "a portable table (the 18.16 statements) on ClickHouse $version"
make_table 18.16 old
spool_push acme "to the portable table" '{"streams":[
 {"stream":{"app":"web","env":"prod"},"values":[["'"$(ns 6 7)"'","hello portable world"]]}]}'
run "$FLUSH" -v -D "$SPOOL" -U "$CH_URL" -d old
check_rc 0 "logthra-flush into the portable table"
check_contains "table old.log differs from what ClickHouse $version can hold; \"logthra-flush --migrate --dry-run\" lists the changes" \
    "$RUN_ERR" "-v: it says that --migrate has changes to make"
check_match '^flushed 1 files, 1 rows, ' "$RUN_OUT" "1 row"
check_eq "acme	['app=web','env=prod']	$(date -u -d "@$((base + 6))" '+%F %T')	$(ns 6 7)	hello portable world" \
    "$(rows "SELECT tenant_id, label, toString(timestamp), timestamp_ns, msg FROM old.log")" \
    "the row, timestamp_ns sent to the nanosecond"
run "$FLUSH" -U "$CH_URL" -d old --retention 30 --migrate --dry-run
check_rc 0 "--migrate --dry-run --retention 30 of the portable table"
dry=$RUN_OUT
check_eq 8 "$(wc -l <<<"$dry")" "8 lines: a note, 5 changes of the table, 2 of its streams index"
check_eq "ALTER TABLE old.log_streams MODIFY TTL day + toIntervalDay(31);
ALTER TABLE old.log_streams MODIFY SETTING ttl_only_drop_parts = 1;" "$(tail -n 2 <<<"$dry")" \
    "the streams index (made portable, with the table) gets the TTL too"
check_match '^-- not changed: the table has the portable layout .* see logthra\(7\), ' \
    "$(head -n 1 <<<"$dry")" "first, the portable layout is not changed, and why"
check_eq 1 "$(lines_starting "ALTER TABLE old.log ADD COLUMN IF NOT EXISTS labels Map(String, String) MATERIALIZED " "$dry")" \
    "ADD COLUMN labels"
check_eq 1 "$(lines_starting "ALTER TABLE old.log ADD INDEX IF NOT EXISTS label_bloom " "$dry")" \
    "ADD INDEX label_bloom"
check_eq 1 "$(lines_starting "ALTER TABLE old.log ADD INDEX IF NOT EXISTS msg_tokens msg TYPE tokenbf_v1(" "$dry")" \
    "ADD INDEX msg_tokens"
check_eq 1 "$(lines_starting "ALTER TABLE old.log MODIFY TTL toDateTime(timestamp) + toIntervalDay(30);" "$dry")" \
    "MODIFY TTL"
check_eq 1 "$(lines_starting "ALTER TABLE old.log MODIFY SETTING ttl_only_drop_parts = 1;" "$dry")" \
    "MODIFY SETTING ttl_only_drop_parts = 1"
run "$FLUSH" -U "$CH_URL" -d old --retention 30 --migrate
check_rc 0 "--migrate --retention 30 of the portable table"
check_eq "$dry" "$RUN_OUT" "it makes the changes the dry run listed"
create=$(show_create old)
check_contains "\`labels\` Map(String, String) MATERIALIZED" "$create" "the table has labels"
check_contains "INDEX label_bloom label TYPE bloom_filter(0.01) GRANULARITY 1" "$create" \
    "the bloom filter"
check_contains "INDEX msg_tokens msg TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 1" "$create" \
    "tokenbf_v1"
check_contains "TTL toDateTime(timestamp) + toIntervalDay(30)
SETTINGS " "$create" "the TTL"
check_match $'\nSETTINGS [^\n]*ttl_only_drop_parts = 1' "$create" "ttl_only_drop_parts = 1"
run "$FLUSH" -U "$CH_URL" -d old --retention 30 --migrate --dry-run
check_eq "-- old.log needs no change that --migrate makes (ClickHouse $version).
$(head -n 1 <<<"$dry")" "$RUN_OUT" "then nothing to change, the layout still not"
spool_push beta "to the migrated portable table" '{"streams":[
 {"stream":{"app":"api"},"values":[["'"$(ns 7 9)"'","hello again"]]}]}'
run "$FLUSH" -D "$SPOOL" -U "$CH_URL" -d old --retention 30
check_rc 0 "logthra-flush into the migrated portable table"
check_match '^flushed 1 files, 1 rows, ' "$RUN_OUT" "1 row"
check_eq "web	prod	$(ns 6 7)	hello portable world
api		$(ns 7 9)	hello again" \
    "$(rows "SELECT labels['app'], labels['env'], timestamp_ns, msg FROM old.log
    ORDER BY timestamp_ns")" "labels['app'] answers for the old row and the new"
check_eq "hello again
hello portable world" "$(rows "SELECT msg FROM old.log WHERE hasToken(msg, 'hello') ORDER BY msg")" \
    "hasToken() on old and new parts"

# --- MIGRATING, as logthra(7) writes it --------------------------------------------

# The .EX block of logthra(7)'s "Migrating", the roff escapes undone.
recipe=$(awk '/^\.SS Migrating/ { on = 1; next } /^\.S[HS]/ { on = 0 }
    on && /^\.EX/ { ex = 1; next } on && /^\.EE/ { ex = 0; next }
    on && ex' "$abs_top_srcdir/man/logthra.7" |
    sed 's/\\(aq/'"'"'/g; s/\\-/-/g; s/\\e/\\/g')
check_eq 4 "$(grep -c -E '^(logthra-flush|clickhouse-client|systemctl) ' <<<"$recipe")" \
    "logthra(7) MIGRATING: 4 commands"
note "a portable logs.log with rows of several tenants and days"
make_table 18.16 logs
run "$RECV" -T acme -D "$SPOOL" "$SEED"
check_rc 0 "logthra-recv -T acme seed-push.json (2024-01-01)"
spool_push beta "nanoseconds, metadata, awkward bytes" '{"streams":[
 {"stream":{"host":"h2","app":"web"},"values":[
  ["1700000000000000007","tab\there \"quoted\" back\\slash ünïcödé\nline",{"k":"v"}],
  ["'"$(ns 8 999999999)"'","late line"]]}]}'
spool_push "$q" "a quoted tenant" '{"streams":[
 {"stream":{"app":"q"},"values":[["'"$(ns 9 42)"'","quoted tenant line"]]}]}'
run "$FLUSH" -D "$SPOOL" -U "$CH_URL"
check_rc 0 "logthra-flush into the portable logs.log"
check_match '^flushed 3 files, 5 rows, ' "$RUN_OUT" "3 files, 5 rows"
every_row="SELECT tenant_id, stream_id, label, timestamp_ns, hex(msg), metadata, push_id
    FROM logs.log ORDER BY tenant_id, timestamp_ns, msg"
before=$(rows "$every_row")
check_eq "DateTime" "$(ch_query "SELECT type FROM system.columns WHERE database = 'logs'
    AND table = 'log' AND name = 'timestamp' FORMAT TSVRaw")" "logs.log is portable: timestamp DateTime"

note "the recipe: clickhouse-client runs each statement through ch_query"
# The commands as the recipe names them, each noted with its exit
# status in recipe.calls (the first two run in a pipeline's subshells):
# clickhouse-client --multiquery reads statements separated by ';',
# --query one.
logthra-flush() { "$FLUSH" "$@"; }
clickhouse-client() {
	local rc=0
	case $1 in
	--multiquery) run_statements || rc=$? ;;
	--query) ch_query "$2" >/dev/null || rc=$? ;;
	*) rc=2 ;;
	esac
	printf 'clickhouse-client %s: %d\n' "$1" "$rc" >>"$T/recipe.calls"
	return "$rc"
}
systemctl() { printf 'systemctl %s\n' "$*" >>"$T/recipe.calls"; }
: >"$T/recipe.calls"
export LOGTHRA_CLICKHOUSE_URL=$CH_URL
eval "$recipe" 2>"$T/recipe.err" || true
unset LOGTHRA_CLICKHOUSE_URL
unset -f logthra-flush clickhouse-client systemctl
check_eq "clickhouse-client --multiquery: 0
clickhouse-client --query: 0
clickhouse-client --query: 0
systemctl start logthra-flush.timer" "$(cat "$T/recipe.calls")" \
    "every step of the recipe ran and succeeded"
check_eq "" "$(cat "$T/recipe.err")" "and said nothing on stderr"
check_eq "DateTime64(9, 'UTC')" "$(ch_query "SELECT type FROM system.columns
    WHERE database = 'logs' AND table = 'log' AND name = 'timestamp' FORMAT TSVRaw")" \
    "logs.log has DateTime64(9, 'UTC')"
check_eq "$before" "$(rows "$every_row")" \
    "every row is there, each with its exact timestamp_ns, bytes, labels and push_id"
check_eq "$before" "$(rows "${every_row//logs.log/logs.log_old}")" "logs.log_old keeps them"
check_eq "1700000000000000007	2023-11-14 22:13:20.000000007" \
    "$(rows "SELECT timestamp_ns, toString(timestamp) FROM logs.log WHERE tenant_id = 'beta'
    AND timestamp_ns < $(ns 0 0)")" "the new timestamp holds the nanoseconds"
run "$FLUSH" -U "$CH_URL" --migrate --dry-run
check_eq "-- logs.log needs no change that --migrate makes (ClickHouse $version)." \
    "$RUN_OUT" "--migrate has nothing left to do"
spool_push acme "after the move" '{"streams":[
 {"stream":{"app":"web"},"values":[["'"$(ns 10 5)"'","after the move"]]}]}'
run "$FLUSH" -D "$SPOOL" -U "$CH_URL"
check_rc 0 "logthra-flush into the moved logs.log"
check_match '^flushed 1 files, 1 rows, ' "$RUN_OUT" "1 row"
check_eq "" "$RUN_ERR" "nothing on stderr: the table is as the server's best"
check_eq "6	$(ns 10 5)	web" "$(rows "SELECT count(), max(timestamp_ns),
    argMax(labels['app'], timestamp) FROM logs.log")" "the new row is there, exact"

# --- a table as Logthra made it before on 26.2 and later ---------------------------

note "a table of Logthra's earlier statements for 26.2 and later (the text index)"
ch_query "CREATE DATABASE txt" >/dev/null
ch_query "CREATE TABLE txt.log (tenant_id LowCardinality(String), stream_id UInt64,
    label Array(String) CODEC(ZSTD(1)),
    labels Map(String, String) MATERIALIZED CAST((
        arrayMap(l -> substring(l, 1, position(l, '=') - 1), label),
        arrayMap(l -> substring(l, position(l, '=') + 1), label)), 'Map(String, String)'),
    timestamp DateTime64(9, 'UTC') CODEC(Delta(8), ZSTD(1)),
    timestamp_ns Int64 ALIAS toUnixTimestamp64Nano(timestamp),
    msg String CODEC(ZSTD(1)), metadata Array(String) CODEC(ZSTD(1)), push_id UInt64,
    INDEX label_bloom label TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX msg_text msg TYPE text(tokenizer = splitByNonAlpha))
    ENGINE = MergeTree PARTITION BY toDate(timestamp, 'UTC')
    ORDER BY (tenant_id, toStartOfHour(timestamp), stream_id, timestamp)" >/dev/null ||
    fail "CREATE TABLE txt.log"
spool_push acme "to the table with the text index" '{"streams":[
 {"stream":{"app":"web"},"values":[["'"$(ns 11 11)"'","token line one"],
  ["'"$(ns 12 12)"'","other line"]]}]}'
run "$FLUSH" -D "$SPOOL" -U "$CH_URL" -d txt
check_rc 0 "logthra-flush into it"
check_match '^flushed 1 files, 2 rows, ' "$RUN_OUT" "2 rows"
check_eq "$(ns 11 11)	web	token line one
$(ns 12 12)	web	other line" "$(rows "SELECT timestamp_ns, labels['app'], msg FROM txt.log
    ORDER BY timestamp_ns")" "the rows, exact"
run "$FLUSH" -U "$CH_URL" -d txt --migrate --dry-run
check_rc 0 "--migrate --dry-run"
check_eq "ALTER TABLE txt.log ADD INDEX IF NOT EXISTS msg_tokens msg TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 1;
ALTER TABLE txt.log DROP INDEX IF EXISTS msg_text;
ALTER TABLE txt.log MODIFY COLUMN label Array(String) CODEC(ZSTD(6)), MODIFY COLUMN labels Map(String, String) MATERIALIZED CAST((arrayMap(l -> substring(l, 1, position(l, '=') - 1), label), arrayMap(l -> substring(l, position(l, '=') + 1), label)), 'Map(String, String)') CODEC(ZSTD(6)), MODIFY COLUMN msg String CODEC(ZSTD(6)), MODIFY COLUMN metadata Array(String) CODEC(ZSTD(6));" "$RUN_OUT" \
    "tokenbf_v1 replaces the text index, the strings get ZSTD(6)"
run "$FLUSH" -U "$CH_URL" -d txt --migrate
check_rc 0 "--migrate"
create=$(show_create txt)
check_contains "INDEX msg_tokens msg TYPE tokenbf_v1(" "$create" "the table has tokenbf_v1"
check_not_contains "msg_text" "$create" "and no text index"
check_contains "\`msg\` String CODEC(ZSTD(6))" "$create" "msg is ZSTD(6)"
check_contains "\`label\` Array(String) CODEC(ZSTD(6))" "$create" "label is ZSTD(6)"
check_eq "(DROP INDEX IF EXISTS msg_text)" "$(ch_query "SELECT command FROM system.mutations
    WHERE database = 'txt' FORMAT TSVRaw")" "the codecs are no mutation: no part rewritten"
ch_query "ALTER TABLE txt.log MATERIALIZE INDEX msg_tokens" >/dev/null &&
    ok "logthra(7)'s MATERIALIZE INDEX msg_tokens runs" ||
    fail "logthra(7)'s MATERIALIZE INDEX msg_tokens runs"
check_eq "token line one" "$(rows "SELECT msg FROM txt.log WHERE hasToken(msg, 'token')")" \
    "hasToken() finds the old part's row"
run "$FLUSH" -U "$CH_URL" -d txt --migrate --dry-run
check_eq "-- txt.log needs no change that --migrate makes (ClickHouse $version)." "$RUN_OUT" \
    "then nothing is left to change"

# --- a table that cannot take the rows ----------------------------------------------

note "a table whose timestamp is DateTime64(3)"
ch_query "CREATE DATABASE bad" >/dev/null
ch_query "CREATE TABLE bad.log (tenant_id LowCardinality(String), stream_id UInt64,
    label Array(String), timestamp DateTime64(3, 'UTC'), msg String,
    metadata Array(String), push_id UInt64) ENGINE = MergeTree
    ORDER BY (tenant_id, timestamp)" >/dev/null
spool_push acme "for the DateTime64(3) table" '{"streams":[
 {"stream":{"app":"web"},"values":[["'"$(ns 13 1)"'","refused line"]]}]}'
run "$FLUSH" -D "$SPOOL" -U "$CH_URL" -d bad
check_rc 1 "logthra-flush refuses it"
check_contains "error: table bad.log cannot take Logthra's rows: timestamp (DateTime64(3, 'UTC'))" \
    "$RUN_ERR" "naming the column and its type"
check_eq 1 "$(count_files "$SPOOL/tenants/acme/ready")" "the push stays in ready/"
check_eq 0 "$(rows "SELECT count() FROM bad.log")" "nothing went into the table"

finish
