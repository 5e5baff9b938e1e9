#!/bin/bash
# What Debian's ClickHouse 18.16 does in a cluster, found by running it:
# distributed DDL without and with ZooKeeper, inserts through a
# Distributed table (synchronous or not, with a shard down), what a
# client learns from system.clusters, and what ReplicatedMergeTree's
# block deduplication does to a retry.  Not a test: it prints every
# statement, ClickHouse's answer, the HTTP status and the time, for a
# person to read (tests/integration/cluster.sh asserts what Logthra
# relies on).  Run it from a built tree:
#
#   tests/integration/cluster-facts.sh [nozk|zk|all]   (default all)
#
# Takes about a minute; needs clickhouse-server and, for zk, Debian's
# zookeeper package.

. "$(dirname "$0")/lib.sh"

MODE=${1:-all}
DB=logs

COLUMNS_SQL="(tenant_id String, stream_id UInt64, label Array(String),
 timestamp DateTime, timestamp_ns Int64, msg String,
 metadata Array(String), push_id UInt64)"
ORDER_SQL="PARTITION BY toDate(timestamp, 'UTC')
 ORDER BY (tenant_id, toStartOfHour(timestamp), stream_id, timestamp)"
INSERT_COLS="tenant_id, stream_id, label, timestamp, timestamp_ns, msg, metadata, push_id"
# 2024-01-01 00:00:00 UTC
DAY1=1704067200

section() { printf '\n==== %s ====\n' "$*"; }

# show I SQL [CURL-ARGS...]: runs SQL on server I (from 0) and prints
# it, the status, the time and the answer.  Sets SHOW_CODE, SHOW_OUT.
show() {
	local i=$1 sql=$2 res
	shift 2
	printf '\n[server %d] %s\n' $((i + 1)) "$sql"
	res=$(curl -sS --max-time 300 -o "$T/show.out" -w '%{http_code} %{time_total}' \
	    "$@" --data-binary "$sql" "${CHC_URLS[$i]}" 2>"$T/show.err") ||
	    res="000 $(tr '\n' ' ' <"$T/show.err")"
	SHOW_CODE=${res%% *}
	SHOW_OUT=$(cat "$T/show.out" 2>/dev/null || true)
	printf -- '-> HTTP %s, %s s\n' "$SHOW_CODE" "${res#* }"
	[[ -z "$SHOW_OUT" ]] || printf '%s\n' "$SHOW_OUT" | head -n 20 | sed 's/^/   /'
}

# val I SQL: prints the answer only (for counts).
val() {
	{ chc_query "$1" "$2" 2>&1 || true; } | head -n 3 | tr '\n' ' ' | sed 's/ $//'
}

# gen FILE FIRST-PUSH PUSHES ROWS-PER-PUSH START: RowBinary rows in
# Logthra's column order, made by server 1: push ids FIRST-PUSH
# onwards, one second apart from START (a Unix time).
gen() {
	local file=$1 first=$2 pushes=$3 per=$4 start=$5
	curl -sS --fail -o "$file" --data-binary "SELECT 'acme', toUInt64(number % 7),
	    ['app=test'], toDateTime(toUInt32($start + number)),
	    toInt64($start + number) * 1000000000, concat('line ', toString(number)),
	    emptyArrayString(), toUInt64($first + intDiv(number, $per))
	    FROM system.numbers LIMIT $((pushes * per)) FORMAT RowBinary" \
	    "${CHC_URLS[0]}"
}

# insert I TABLE FILE [SETTING=VALUE...]: INSERT ... FORMAT RowBinary
# over HTTP on server I with the settings in the URL, printed as show.
insert() {
	local i=$1 table=$2 file=$3 res s args=()
	shift 3
	for s in "$@"; do
		args+=(--url-query "$s")
	done
	printf '\n[server %d] INSERT INTO %s (...) FORMAT RowBinary  <%s (%d bytes)%s\n' \
	    $((i + 1)) "$table" "${file##*/}" "$(stat -c %s "$file")" \
	    "${*:+  settings: $*}"
	res=$(curl -sS --max-time 300 -o "$T/show.out" -w '%{http_code} %{time_total}' \
	    --url-query "query=INSERT INTO $table ($INSERT_COLS) FORMAT RowBinary" \
	    ${args[@]+"${args[@]}"} --data-binary "@$file" "${CHC_URLS[$i]}" \
	    2>"$T/show.err") || res="000 $(tr '\n' ' ' <"$T/show.err")"
	SHOW_CODE=${res%% *}
	SHOW_OUT=$(cat "$T/show.out" 2>/dev/null || true)
	printf -- '-> HTTP %s, %s s\n' "$SHOW_CODE" "${res#* }"
	[[ -z "$SHOW_OUT" ]] || printf '%s\n' "$SHOW_OUT" | head -n 5 | sed 's/^/   /'
}

# counts: rows per shard in the local tables, and through the
# Distributed table on every server.
counts() {
	local i line=
	for ((i = 0; i < CHC_N; i++)); do
		[[ "${CHC_PIDS[$i]}" != 0 ]] || { line+="shard $((i + 1)): down; "; continue; }
		line+="shard $((i + 1)) local: $(val "$i" "SELECT count() FROM $DB.log_local"); "
	done
	for ((i = 0; i < CHC_N; i++)); do
		[[ "${CHC_PIDS[$i]}" != 0 ]] || continue
		line+="Distributed on $((i + 1)): $(val "$i" "SELECT count() FROM $DB.log"); "
	done
	printf '   counts: %s\n' "$line"
}

# parts I: active parts of the local table on server I.
parts() {
	printf '   parts on shard %d: %s\n' $(($1 + 1)) "$(chc_query "$1" \
	    "SELECT partition, name, rows FROM system.parts WHERE database = '$DB' AND table = 'log_local' AND active ORDER BY name" |
	    tr '\n\t' '; ')"
}

common_facts() {
	section "version, settings and system.clusters"
	show 0 "SELECT version()"
	show 0 "SELECT name, value, changed, description FROM system.settings WHERE name LIKE 'insert_distributed%' OR name LIKE 'distributed_ddl%' OR name IN ('skip_unavailable_shards', 'prefer_localhost_replica', 'connect_timeout_with_failover_ms', 'insert_quorum', 'insert_deduplicate') FORMAT TSVWithNames"
	show 0 "DESCRIBE TABLE system.clusters"
	show 0 "SELECT * FROM system.clusters WHERE cluster = '$CHC_CLUSTER' FORMAT TSVWithNames"
	show 1 "SELECT cluster, shard_num, host_name, host_address, port, is_local FROM system.clusters WHERE cluster = '$CHC_CLUSTER' FORMAT TSVWithNames"
	show 0 "SELECT * FROM system.macros"
	show 0 "SELECT getMacro('shard'), getMacro('replica')"
	show 0 "SELECT name FROM system.table_functions WHERE name IN ('remote', 'cluster', 'remoteSecure', 'clusterAllReplicas') ORDER BY name"
}

# Distributed inserts: the same experiments on MergeTree and
# ReplicatedMergeTree local tables.
insert_facts() {
	local kind=$1 t0 t1
	section "$kind: synchronous insert through the Distributed table"
	gen "$T/a.bin" 1001 10 100 "$DAY1"
	insert 0 "$DB.log" "$T/a.bin" insert_distributed_sync=1 max_insert_block_size=1001
	counts
	parts 0
	parts 1
	show 0 "SELECT push_id, count() FROM $DB.log GROUP BY push_id ORDER BY push_id FORMAT TSV"
	show 1 "SELECT shardNum() FROM system.one" # probably absent in 18.16
	show 0 "SELECT hostName(), tcpPort(), count() FROM $DB.log GROUP BY hostName(), tcpPort()"

	section "$kind: the same body again (a retry of exactly the same INSERT)"
	insert 0 "$DB.log" "$T/a.bin" insert_distributed_sync=1 max_insert_block_size=1001
	counts

	section "$kind: asynchronous insert (insert_distributed_sync=0, the default)"
	gen "$T/b.bin" 2001 10 100 "$DAY1"
	insert 0 "$DB.log" "$T/b.bin"
	counts
	sleep 3
	printf '   after 3 s:\n'
	counts
	ls -R "${CHC_DIRS[0]}/data/$DB/log" 2>/dev/null | sed 's/^/   queue: /' | head -n 8

	section "$kind: query ids of a Distributed insert on the other shard"
	gen "$T/c.bin" 3001 10 100 "$DAY1"
	insert 0 "$DB.log" "$T/c.bin" insert_distributed_sync=1 \
	    query_id=logthra-facts-$kind-1 log_queries=1
	show 1 "SYSTEM FLUSH LOGS"
	show 0 "SYSTEM FLUSH LOGS"
	show 1 "SELECT type, query_id, initial_query_id, is_initial_query, written_rows, query FROM system.query_log WHERE initial_query_id = 'logthra-facts-$kind-1' OR query_id = 'logthra-facts-$kind-1' FORMAT Vertical"
	show 1 "SELECT type, query_id, initial_query_id, is_initial_query, written_rows, substring(query, 1, 60) FROM system.query_log WHERE query LIKE 'INSERT%' ORDER BY event_time DESC LIMIT 4 FORMAT TSV"
	show 0 "SELECT type, query_id, initial_query_id, is_initial_query, written_rows FROM system.query_log WHERE initial_query_id = 'logthra-facts-$kind-1' OR query_id = 'logthra-facts-$kind-1' FORMAT TSV"
	show 0 "SELECT count() FROM cluster('$CHC_CLUSTER', system, processes) WHERE initial_query_id LIKE 'logthra-%'"
	show 0 "SELECT count() FROM remote('127.0.0.1:${CHC_TCP_PORTS[1]}', system, processes)"

	section "$kind: one shard down during a synchronous insert"
	counts
	stop_cluster_server 1
	gen "$T/d.bin" 4001 10 100 "$DAY1"
	insert 0 "$DB.log" "$T/d.bin" insert_distributed_sync=1 max_insert_block_size=1001
	show 0 "SELECT count() FROM $DB.log_local WHERE push_id >= 4001 AND push_id < 5000"
	show 0 "SELECT count() FROM $DB.log"
	show 0 "SELECT count() FROM $DB.log" --url-query skip_unavailable_shards=1
	t0=$(date +%s%N)
	restart_cluster_server 1
	t1=$(date +%s%N)
	printf '   shard 2 restarted in %d ms\n' $(((t1 - t0) / 1000000))
	show 0 "SELECT push_id, count() FROM $DB.log WHERE push_id >= 4001 AND push_id < 5000 GROUP BY push_id ORDER BY push_id FORMAT TSV"
	show 1 "SELECT count() FROM $DB.log_local WHERE push_id >= 4001 AND push_id < 5000"
	counts

	section "$kind: one shard down during an asynchronous insert"
	stop_cluster_server 1
	gen "$T/e.bin" 5001 10 100 "$DAY1"
	insert 0 "$DB.log" "$T/e.bin"
	counts
	restart_cluster_server 1
	sleep 4
	printf '   shard 2 back, after 4 s:\n'
	counts

	section "$kind: an INSERT of two days through the Distributed table"
	gen "$T/f.bin" 6001 2 100 $((DAY1 + 86400 - 100))
	insert 0 "$DB.log" "$T/f.bin" insert_distributed_sync=1 max_insert_block_size=1001
	parts 0
	parts 1
}

# A failed synchronous INSERT (shard 2 down) of 100000 rows, 4 times:
# shard 1's rows, and logthra queries in system.processes, every 20 ms
# after the answer.  The part of the local shard commits after the
# answer (or never), when no query is listed any more.
late_commit_facts() {
	local kind=$1 run t1 k c p last
	section "$kind: late commit of a failed synchronous INSERT"
	stop_cluster_server 1
	for run in 1 2 3 4; do
		gen "$T/l.bin" $((9000 + run * 100)) 10 10000 "$DAY1"
		insert 0 "$DB.log" "$T/l.bin" insert_distributed_sync=1 \
		    max_insert_block_size=100001 query_id=logthra-late-$kind-$run
		t1=$(date +%s%N)
		last=
		for ((k = 0; k < 50; k++)); do
			c=$(val 0 "SELECT count() FROM $DB.log_local WHERE push_id BETWEEN $((9000 + run * 100)) AND $((9099 + run * 100))")
			p=$(val 0 "SELECT count() FROM system.processes WHERE query_id LIKE 'logthra-%'")
			if [[ "$c/$p" != "$last" ]]; then
				printf '   +%d ms: shard 1 holds %s rows; logthra queries running: %s\n' \
				    $((($(date +%s%N) - t1) / 1000000)) "$c" "$p"
				last=$c/$p
			fi
			sleep 0.02
		done
	done
	restart_cluster_server 1
}

# An HTTP INSERT is listed in system.processes only once 1 MiB of its
# body (or all of it) has arrived.
body_facts() {
	local first q q2
	section "when an HTTP INSERT appears in system.processes"
	gen "$T/h.bin" 9900 1 30000 "$DAY1"
	q="INSERT INTO $DB.log_local ($INSERT_COLS) FORMAT RowBinary"
	for first in 300000 1000000 1100000; do
		exec 7<>"/dev/tcp/127.0.0.1/${CHC_HTTP_PORTS[1]}"
		printf 'POST /?query=%s&query_id=logthra-body-%s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\nConnection: close\r\n\r\n' \
		    "${q// /%20}" "$first" "$(stat -c %s "$T/h.bin")" >&7
		head -c "$first" "$T/h.bin" >&7
		sleep 1
		printf '   %d of %d bytes sent, 1 s later: %s INSERT listed on shard 2\n' "$first" \
		    "$(stat -c %s "$T/h.bin")" "$(val 1 "SELECT count() FROM system.processes WHERE query_id = 'logthra-body-$first'")"
		tail -c +$((first + 1)) "$T/h.bin" >&7
		IFS= read -r -t 30 q2 <&7 || true
		exec 7<&-
	done
}

nozk_facts() {
	section "without ZooKeeper"
	start_clickhouse_cluster 2
	common_facts
	show 0 "CREATE DATABASE $DB ON CLUSTER $CHC_CLUSTER"
	show 0 "SELECT * FROM system.zookeeper WHERE path = '/'"
	for i in 0 1; do
		show "$i" "CREATE DATABASE $DB"
		show "$i" "CREATE TABLE $DB.log_local $COLUMNS_SQL ENGINE = MergeTree() $ORDER_SQL"
		show "$i" "CREATE TABLE $DB.log AS $DB.log_local ENGINE = Distributed($CHC_CLUSTER, $DB, log_local, intHash64(push_id))"
	done
	show 0 "CREATE TABLE $DB.bad AS $DB.log_local ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/$DB/bad', '{replica}') $ORDER_SQL"
	insert_facts mergetree
	late_commit_facts mergetree
	body_facts
	section "without ZooKeeper: ALTER ... ON CLUSTER"
	show 0 "ALTER TABLE $DB.log_local ON CLUSTER $CHC_CLUSTER DROP PARTITION '2024-01-01'"
	show 0 "ALTER TABLE $DB.log_local DROP PARTITION '2024-01-01'"
	counts
	for i in 0 1; do
		stop_cluster_server "$i"
	done
}

zk_facts() {
	local i
	section "with ZooKeeper"
	start_clickhouse_cluster 2 --zookeeper
	common_facts
	show 0 "SELECT name FROM system.zookeeper WHERE path = '/'"
	show 0 "CREATE DATABASE $DB ON CLUSTER $CHC_CLUSTER"
	show 0 "CREATE TABLE $DB.log_local ON CLUSTER $CHC_CLUSTER $COLUMNS_SQL ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/$DB/log', '{replica}') $ORDER_SQL"
	show 0 "CREATE TABLE $DB.log ON CLUSTER $CHC_CLUSTER AS $DB.log_local ENGINE = Distributed($CHC_CLUSTER, $DB, log_local, intHash64(push_id))"
	show 1 "SHOW CREATE TABLE $DB.log_local"
	show 1 "SHOW CREATE TABLE $DB.log"
	show 1 "SELECT name, engine, engine_full FROM system.tables WHERE database = '$DB' FORMAT TSV"
	show 0 "CREATE TABLE IF NOT EXISTS $DB.log ON CLUSTER $CHC_CLUSTER AS $DB.log_local ENGINE = Distributed($CHC_CLUSTER, $DB, log_local, intHash64(push_id))"
	show 0 "CREATE TABLE $DB.log ON CLUSTER $CHC_CLUSTER AS $DB.log_local ENGINE = Distributed($CHC_CLUSTER, $DB, log_local, intHash64(push_id))"
	show 0 "SELECT name FROM system.zookeeper WHERE path = '/clickhouse/tables/1/$DB/log/replicas'"
	insert_facts replicated
	late_commit_facts replicated

	section "with ZooKeeper: ALTER ... DROP PARTITION ON CLUSTER"
	counts
	show 0 "ALTER TABLE $DB.log_local ON CLUSTER $CHC_CLUSTER DROP PARTITION '2024-01-01'"
	counts
	show 0 "ALTER TABLE $DB.log ON CLUSTER $CHC_CLUSTER DROP PARTITION '2024-01-02'"
	counts

	section "with ZooKeeper: the same body after DROP PARTITION (block deduplication)"
	insert 0 "$DB.log" "$T/a.bin" insert_distributed_sync=1 max_insert_block_size=1001
	counts
	insert 0 "$DB.log" "$T/a.bin" insert_distributed_sync=1 max_insert_block_size=1001 insert_deduplicate=0
	counts

	section "with ZooKeeper: ON CLUSTER while a shard is down"
	stop_cluster_server 1
	show 0 "CREATE TABLE $DB.t2 ON CLUSTER $CHC_CLUSTER (x UInt8) ENGINE = Memory" --url-query distributed_ddl_task_timeout=5
	restart_cluster_server 1
	sleep 2
	show 1 "EXISTS TABLE $DB.t2"

	section "with ZooKeeper: ZooKeeper down"
	lt_stop_server "$ZK_PID"
	gen "$T/g.bin" 7001 10 100 "$DAY1"
	insert 0 "$DB.log" "$T/g.bin" insert_distributed_sync=1 max_insert_block_size=1001
	show 0 "SELECT count() FROM $DB.log"
	ps -o rss=,args= -u "$LT_CH_USER" | cut -c1-60 | sed 's/^/   memory (RSS kB): /'
}

case $MODE in
nozk) nozk_facts ;;
zk) zk_facts ;;
all) nozk_facts; zk_facts ;;
*) die "usage: $0 [nozk|zk|all]" ;;
esac
ok "the experiments ran (read the output)"
finish
