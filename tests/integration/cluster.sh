#!/bin/bash
# Logthra's logs in a ClickHouse cluster: what logthra-flush relies on
# when it writes through a Distributed table to several shards, checked
# on Debian's ClickHouse 18.16 with two shards of one replica each,
# twice: without ZooKeeper (MergeTree tables made on each shard by hand)
# and with ZooKeeper (ReplicatedMergeTree made by ON CLUSTER DDL).
#
# The facts: an INSERT with insert_distributed_sync=1 stores every row
# on its shard before it answers, one part per shard and day; the
# sharding key intHash64(push_id) keeps a push on one shard; with a
# shard down the INSERT fails but the other shards keep what they got,
# whole pushes, and a SELECT through the Distributed table fails
# instead of counting less, so that the count by (push, day) of
# logthra-spool(5) finds what is missing and sending only that repairs
# it; an asynchronous INSERT (the default) answers 200 for rows no
# shard holds yet.  These facts are why logthra-flush --cluster writes
# to each shard's own table instead (tests/integration/cluster-flush.sh
# tests that, in make check); this one and cluster-facts.sh, which
# shows more, are run by hand when a new ClickHouse is to be trusted.

. "$(dirname "$0")/lib.sh"

need_clickhouse
need_zookeeper

DB=logs
# 2024-01-01 00:00:00 UTC
DAY1=1704067200
COLUMNS_SQL="(tenant_id String, stream_id UInt64, label Array(String),
 timestamp DateTime, timestamp_ns Int64, msg String,
 metadata Array(String), push_id UInt64)"
ORDER_SQL="PARTITION BY toDate(timestamp, 'UTC')
 ORDER BY (tenant_id, toStartOfHour(timestamp), stream_id, timestamp)"
INSERT_COLS="tenant_id, stream_id, label, timestamp, timestamp_ns, msg, metadata, push_id"
SHARDING="intHash64(push_id)"

# gen FILE BASE PER START FROM COUNT: RowBinary rows in Logthra's column
# order, rows FROM to FROM+COUNT-1 of a sequence in which row n belongs
# to push BASE + n / PER and has the time START + n; so a push can be
# made again, row for row, as logthra-flush would send it again.
gen() {
	local file=$1 base=$2 per=$3 start=$4 from=$5 count=$6
	curl -sS --fail -o "$file" --data-binary "SELECT 'acme', toUInt64(n % 7),
	    ['app=test'], toDateTime(toUInt32($start + n)),
	    toInt64($start + n) * 1000000000, concat('line ', toString(n)),
	    emptyArrayString(), toUInt64($base + intDiv(n, $per))
	    FROM (SELECT number + $from AS n FROM system.numbers LIMIT $count)
	    FORMAT RowBinary" "${CHC_URLS[0]}" ||
	    die "could not make rows with ClickHouse"
}

# ins I TABLE FILE [SETTING=VALUE...]: one INSERT ... FORMAT RowBinary
# over HTTP on server I (from 0), as logthra-flush sends it; sets
# HTTP_STATUS and HTTP_BODY.
ins() {
	local i=$1 table=$2 file=$3 s args=()
	shift 3
	for s in "$@"; do
		args+=(--url-query "$s")
	done
	http_req --url-query "query=INSERT INTO $table ($INSERT_COLS) FORMAT RowBinary" \
	    ${args[@]+"${args[@]}"} --data-binary "@$file" "${CHC_URLS[$i]}"
}

# sql I SQL [SETTING=VALUE...]: a statement whose failure is a result;
# sets HTTP_STATUS and HTTP_BODY.
sql() {
	local i=$1 q=$2 s args=()
	shift 2
	for s in "$@"; do
		args+=(--url-query "$s")
	done
	http_req ${args[@]+"${args[@]}"} --data-binary "$q" "${CHC_URLS[$i]}"
}

# Rows of the pushes FIRST to LAST on shard I, in its local table.
local_rows() {
	chc_query "$1" "SELECT count() FROM $DB.log_local WHERE push_id BETWEEN $2 AND $3"
}

# The view of every server: both shards by TCP port, itself local.
check_clusters() {
	local i expect
	for ((i = 0; i < CHC_N; i++)); do
		expect=$(printf '1\t127.0.0.1\t%s\t%d\n2\t127.0.0.1\t%s\t%d' \
		    "${CHC_TCP_PORTS[0]}" $((i == 0)) "${CHC_TCP_PORTS[1]}" $((i == 1)))
		check_eq "$expect" "$(chc_query "$i" "SELECT shard_num, host_address, port, is_local FROM system.clusters WHERE cluster = '$CHC_CLUSTER' ORDER BY shard_num")" \
		    "server $((i + 1)): system.clusters lists both shards by TCP port, itself as local"
		check_eq "$(printf 'cluster\t%s\nreplica\tr1\nshard\t%d' "$CHC_CLUSTER" $((i + 1)))" \
		    "$(chc_query "$i" "SELECT * FROM system.macros ORDER BY macro")" \
		    "server $((i + 1)): macros {cluster}, {shard} and {replica}"
	done
	check_eq 2 "$(chc_query 0 "SELECT count() FROM cluster('$CHC_CLUSTER', system, one)")" \
	    "the cluster() table function reaches both servers"
	check_eq 1 "$(chc_query 0 "SELECT count() FROM system.settings WHERE name = 'insert_distributed_sync' AND value = '0'")" \
	    "the setting insert_distributed_sync exists, off by default"
}

# One synchronous INSERT of 10 pushes of 100 rows.
check_sync_insert() {
	local kind=$1 a b
	gen "$T/a.bin" 1001 100 "$DAY1" 0 1000
	ins 0 "$DB.log" "$T/a.bin" insert_distributed_sync=1 max_insert_block_size=1001
	check_status 200 "$kind: synchronous INSERT through the Distributed table"
	# Asked at once: the rows are on their shards when the answer comes.
	a=$(local_rows 0 1001 1010)
	b=$(local_rows 1 1001 1010)
	check_eq 1000 $((a + b)) "$kind: at the answer the shards hold all rows ($a + $b)"
	((a > 0 && b > 0)) && ok "$kind: both shards got rows" ||
	    fail "$kind: both shards got rows ($a, $b)"
	check_eq 1000 "$(chc_query 0 "SELECT count() FROM $DB.log")" \
	    "$kind: SELECT through the Distributed table on server 1 sees all rows"
	check_eq 1000 "$(chc_query 1 "SELECT count() FROM $DB.log")" \
	    "$kind: SELECT through the Distributed table on server 2 sees all rows"
	check_eq "$(printf '10\t100\t100')" \
	    "$(chc_query 0 "SELECT count(), min(c), max(c) FROM (SELECT push_id, count() AS c FROM $DB.log GROUP BY push_id)")" \
	    "$kind: 10 pushes of 100 rows"
	check_eq 10 $(($(chc_query 0 "SELECT uniqExact(push_id) FROM $DB.log_local") +
	    $(chc_query 1 "SELECT uniqExact(push_id) FROM $DB.log_local"))) \
	    "$kind: every push lies on one shard only"
	check_eq 1 "$(chc_query 0 "SELECT count() FROM system.parts WHERE database = '$DB' AND table = 'log_local' AND active")" \
	    "$kind: the INSERT of one day is one part on shard 1"
	check_eq 1 "$(chc_query 1 "SELECT count() FROM system.parts WHERE database = '$DB' AND table = 'log_local' AND active")" \
	    "$kind: the INSERT of one day is one part on shard 2"
}

# The same body again: a plain MergeTree stores it twice; a replicated
# table recognises the block and keeps it once.
check_same_again() {
	local kind=$1 expect=$2
	ins 0 "$DB.log" "$T/a.bin" insert_distributed_sync=1 max_insert_block_size=1001
	check_status 200 "$kind: the same INSERT again"
	check_eq "$expect" "$(chc_query 0 "SELECT count() FROM $DB.log")" \
	    "$kind: after the same INSERT again the table holds $expect rows"
}

# Removes day 1 on both shards.
drop_day1() {
	local kind=$1 i
	if [[ "$kind" == replicated ]]; then
		sql 0 "ALTER TABLE $DB.log_local ON CLUSTER $CHC_CLUSTER DROP PARTITION '2024-01-01'"
		check_status 200 "$kind: ALTER TABLE ... ON CLUSTER ... DROP PARTITION"
	else
		sql 0 "ALTER TABLE $DB.log_local ON CLUSTER $CHC_CLUSTER DROP PARTITION '2024-01-01'"
		check_status 500 "$kind: ALTER ... ON CLUSTER fails without ZooKeeper"
		for i in 0 1; do
			chc_query "$i" "ALTER TABLE $DB.log_local DROP PARTITION '2024-01-01'" >/dev/null
		done
	fi
	check_eq 0 "$(chc_query 0 "SELECT count() FROM $DB.log WHERE toDate(timestamp, 'UTC') = '2024-01-01'")" \
	    "$kind: day 1 is gone from both shards"
}

# Shard 2 down during a synchronous INSERT, then what logthra-flush does
# with suspect files: count per (push, day), send only what is missing.
check_shard_down() {
	local kind=$1 a b got missing=() p k
	stop_cluster_server 1
	gen "$T/d.bin" 4001 100 "$DAY1" 0 1000
	ins 0 "$DB.log" "$T/d.bin" insert_distributed_sync=1 max_insert_block_size=1001
	check_status 500 "$kind: synchronous INSERT with shard 2 down fails"
	check_contains "Connection refused" "$HTTP_BODY" "$kind: ... and says why"
	# Shard 1's part may commit after the answer, when no query is
	# left in system.processes (cluster-facts.sh, "late commit"); or
	# never.  Wait until its count stays the same for a second.
	a=-1
	for ((k = 0; k < 100; k++)); do
		b=$(local_rows 0 4001 4010)
		((b == a)) && break
		a=$b
		sleep 1
	done
	note "$kind: shard 1 kept $a rows of the failed INSERT"
	check_eq 0 "$(chc_query 0 "SELECT count() FROM (SELECT push_id, count() AS c FROM $DB.log_local WHERE push_id BETWEEN 4001 AND 4010 GROUP BY push_id) WHERE c != 100")" \
	    "$kind: ... whole pushes only"
	sql 0 "SELECT count() FROM $DB.log WHERE push_id BETWEEN 4001 AND 4010"
	check_status 500 "$kind: a SELECT through the Distributed table fails while a shard is down"
	restart_cluster_server 1
	b=$(local_rows 1 4001 4010)
	check_eq 0 "$b" "$kind: shard 2 holds nothing of the failed INSERT"

	# The count of logthra-spool(5), through the Distributed table.
	got=$(chc_query 0 "SELECT push_id, intDiv(timestamp_ns, 86400000000000) AS day, count() FROM $DB.log WHERE tenant_id = 'acme' AND push_id BETWEEN 4001 AND 4010 GROUP BY push_id, day ORDER BY push_id FORMAT TSV")
	: >"$T/missing.bin"
	for ((k = 0; k < 10; k++)); do
		p=$((4001 + k))
		grep -q "^$p	" <<<"$got" && continue
		missing+=("$p")
		gen "$T/one.bin" 4001 100 "$DAY1" $((k * 100)) 100
		cat "$T/one.bin" >>"$T/missing.bin"
	done
	check_eq $(((1000 - a) / 100)) "${#missing[@]}" \
	    "$kind: the count by (push, day) finds the pushes of shard 2 missing"
	ins 0 "$DB.log" "$T/missing.bin" insert_distributed_sync=1 max_insert_block_size=1001
	check_status 200 "$kind: the missing pushes sent again"
	check_eq "$(printf '1000\t1000\t10')" \
	    "$(chc_query 0 "SELECT count(), uniqExact(push_id, timestamp_ns, msg), uniqExact(push_id) FROM $DB.log WHERE push_id BETWEEN 4001 AND 4010")" \
	    "$kind: then every row of the failed INSERT is there once"
}

# An asynchronous INSERT answers 200 although shard 2 is down: its rows
# wait in server 1's queue, which logthra-flush cannot count.
check_async() {
	local kind=$1 i n
	stop_cluster_server 1
	gen "$T/e.bin" 5001 100 "$DAY1" 0 1000
	ins 0 "$DB.log" "$T/e.bin" max_insert_block_size=1001
	check_status 200 "$kind: asynchronous INSERT (the default) with shard 2 down answers 200"
	n=$(local_rows 0 5001 5010)
	((n < 1000)) && ok "$kind: ... while the shards hold only $n of its 1000 rows" ||
	    fail "$kind: ... while the shards hold only $n of its 1000 rows"
	restart_cluster_server 1
	for ((i = 0; i < 300; i++)); do
		n=$(chc_query 0 "SELECT count() FROM $DB.log WHERE push_id BETWEEN 5001 AND 5010")
		((n < 1000)) || break
		sleep 0.1
	done
	check_eq 1000 "$n" "$kind: the queued rows arrive once shard 2 is back ($((i / 10)).$((i % 10)) s)"
}

# An INSERT over two days: one part per shard and day.
check_two_days() {
	local kind=$1 i
	# 4 pushes of 60 rows from 100 s before midnight: the second push
	# spans both days.
	gen "$T/f.bin" 6001 60 $((DAY1 + 86400 - 100)) 0 240
	ins 0 "$DB.log2" "$T/f.bin" insert_distributed_sync=1 max_insert_block_size=241
	check_status 200 "$kind: synchronous INSERT of two days"
	check_eq 240 "$(chc_query 0 "SELECT count() FROM $DB.log2")" "$kind: ... all 240 rows there"
	for i in 0 1; do
		check_eq 1 "$(chc_query "$i" "SELECT (SELECT count() FROM system.parts WHERE database = '$DB' AND table = 'log2_local' AND active) = (SELECT uniqExact(toDate(timestamp, 'UTC')) FROM $DB.log2_local)")" \
		    "$kind: one part per day on shard $((i + 1))"
	done
}

# The part of a Distributed INSERT that goes to another shard runs there
# under a query id of its own (initial_query_id too): waiting for
# logthra-flush's queries by query id sees it only as long as the INSERT
# on the server it was sent to runs.
check_query_ids() {
	local kind=$1
	gen "$T/c.bin" 3001 100 "$DAY1" 0 1000
	ins 0 "$DB.log" "$T/c.bin" insert_distributed_sync=1 max_insert_block_size=1001 \
	    "query_id=logthra-cluster-$kind" log_queries=1
	check_status 200 "$kind: INSERT with a query id"
	chc_query 1 "SYSTEM FLUSH LOGS" >/dev/null
	check_eq 0 "$(chc_query 1 "SELECT count() FROM system.query_log WHERE query_id LIKE 'logthra-cluster-%' OR initial_query_id LIKE 'logthra-cluster-%'")" \
	    "$kind: shard 2 does not know the query id of the INSERT"
	check_eq 1 "$(chc_query 1 "SELECT count() > 0 FROM system.query_log WHERE type = 2 AND query LIKE 'INSERT INTO $DB.log_local %' AND is_initial_query")" \
	    "$kind: ... its part runs there as an INSERT INTO $DB.log_local of its own"
}

# The way around the Distributed table: an INSERT straight into the
# local table of the shard that a push belongs to, under logthra-flush's
# query id, which waiting for queries on every shard through cluster()
# sees while it runs; then the argument of logthra-spool(5) holds on
# each shard as on one server, and the count goes through the
# Distributed table.
check_direct() {
	local kind=$1 i n q line
	for i in 0 1; do
		# Pushes 8001 + i, 8003 + i, ...: push_id % 2 picks the shard.
		curl -sS --fail -o "$T/s$i.bin" --data-binary "SELECT 'acme', toUInt64(0),
		    ['app=test'], toDateTime(toUInt32($DAY1 + number)),
		    toInt64($DAY1 + number) * 1000000000, concat('line ', toString(number)),
		    emptyArrayString(), toUInt64(8001 + $i + 2 * intDiv(number, 100))
		    FROM system.numbers LIMIT 500 FORMAT RowBinary" "${CHC_URLS[0]}"
		ins "$i" "$DB.log_local" "$T/s$i.bin" max_insert_block_size=501 \
		    "query_id=logthra-direct-$kind-$i"
		check_status 200 "$kind: INSERT straight into shard $((i + 1))'s local table"
	done
	check_eq "$(printf '1000\t10\t100')" \
	    "$(chc_query 0 "SELECT sum(c), count(), max(c) FROM (SELECT push_id, intDiv(timestamp_ns, 86400000000000) AS day, count() AS c FROM $DB.log WHERE tenant_id = 'acme' AND push_id BETWEEN 8001 AND 8010 GROUP BY push_id, day)")" \
	    "$kind: the count by (push, day) through the Distributed table sees both shards"

	# An INSERT into shard 2 whose body is still coming.  ClickHouse
	# 18.16 starts it (and lists it in system.processes) only once it
	# has read 1 MiB of the body, or all of it: send 1.1 MB, then wait.
	gen "$T/hold.bin" 8100 100000 "$DAY1" 0 30000
	q="INSERT INTO $DB.log_local ($INSERT_COLS) FORMAT RowBinary"
	exec 7<>"/dev/tcp/127.0.0.1/${CHC_HTTP_PORTS[1]}"
	printf 'POST /?query=%s&query_id=logthra-hold-%s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\nConnection: close\r\n\r\n' \
	    "${q// /%20}" "$kind" "$(stat -c %s "$T/hold.bin")" >&7
	head -c 1100000 "$T/hold.bin" >&7
	for ((i = 0; i < 100; i++)); do
		n=$(chc_query 0 "SELECT count() FROM cluster('$CHC_CLUSTER', system, processes) WHERE query_id LIKE 'logthra-hold-%'")
		((n == 0)) || break
		sleep 0.1
	done
	check_eq 1 "$n" "$kind: cluster(..., system, processes) on server 1 sees the running INSERT on shard 2 by its query id"
	tail -c +1100001 "$T/hold.bin" >&7
	line=
	IFS= read -r -t 30 line <&7 || true
	exec 7<&-
	check_eq "HTTP/1.1 200 OK" "${line%$'\r'}" "$kind: ... which then ends"
	check_eq 0 "$(chc_query 0 "SELECT count() FROM cluster('$CHC_CLUSTER', system, processes) WHERE query_id LIKE 'logthra-hold-%'")" \
	    "$kind: ... and is gone from system.processes"
}

# --- without ZooKeeper: MergeTree, tables made on each shard ----------------

start_clickhouse_cluster 2
check_clusters
sql 0 "CREATE DATABASE $DB ON CLUSTER $CHC_CLUSTER"
check_status 500 "mergetree: ON CLUSTER fails without ZooKeeper"
check_contains "DDL background thread is not initialized" "$HTTP_BODY" "mergetree: ... and says so"
for i in 0 1; do
	chc_query "$i" "CREATE DATABASE $DB" >/dev/null
	for t in log log2; do
		chc_query "$i" "CREATE TABLE $DB.${t}_local $COLUMNS_SQL ENGINE = MergeTree() $ORDER_SQL" >/dev/null
		chc_query "$i" "CREATE TABLE $DB.$t AS $DB.${t}_local ENGINE = Distributed($CHC_CLUSTER, $DB, ${t}_local, $SHARDING)" >/dev/null
	done
done
check_eq "Distributed($CHC_CLUSTER, $DB, log_local, $SHARDING)" \
    "$(chc_query 1 "SELECT engine_full FROM system.tables WHERE database = '$DB' AND name = 'log'")" \
    "mergetree: system.tables.engine_full shows the sharding key"
check_sync_insert mergetree
check_same_again mergetree 2000
drop_day1 mergetree
check_shard_down mergetree
check_async mergetree
check_two_days mergetree
check_query_ids mergetree
check_direct mergetree
stop_cluster_server 0
stop_cluster_server 1

# --- with ZooKeeper: ReplicatedMergeTree, ON CLUSTER DDL ----------------------

start_clickhouse_cluster 2 --zookeeper
sql 0 "CREATE DATABASE $DB ON CLUSTER $CHC_CLUSTER"
check_status 200 "replicated: CREATE DATABASE ... ON CLUSTER"
for t in log log2; do
	sql 0 "CREATE TABLE $DB.${t}_local ON CLUSTER $CHC_CLUSTER $COLUMNS_SQL ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/$DB/$t', '{replica}') $ORDER_SQL"
	check_status 200 "replicated: CREATE TABLE $DB.${t}_local ON CLUSTER ... ReplicatedMergeTree"
	sql 0 "CREATE TABLE $DB.$t ON CLUSTER $CHC_CLUSTER AS $DB.${t}_local ENGINE = Distributed($CHC_CLUSTER, $DB, ${t}_local, $SHARDING)"
	check_status 200 "replicated: CREATE TABLE $DB.$t ON CLUSTER ... Distributed"
done
for i in 0 1; do
	check_eq 4 "$(chc_query "$i" "SELECT count() FROM system.tables WHERE database = '$DB'")" \
	    "replicated: server $((i + 1)) has the tables"
	check_eq ReplicatedMergeTree "$(chc_query "$i" "SELECT engine FROM system.tables WHERE database = '$DB' AND name = 'log_local'")" \
	    "replicated: server $((i + 1)): log_local is replicated"
done
check_eq r1 "$(chc_query 1 "SELECT name FROM system.zookeeper WHERE path = '/clickhouse/tables/2/$DB/log/replicas'")" \
    "replicated: shard 2 registered its replica in ZooKeeper under its macros"
check_sync_insert replicated
check_same_again replicated 1000
drop_day1 replicated
ins 0 "$DB.log" "$T/a.bin" insert_distributed_sync=1 max_insert_block_size=1001
check_eq 1000 "$(chc_query 0 "SELECT count() FROM $DB.log")" \
    "replicated: after DROP PARTITION the same INSERT stores its rows again"
check_shard_down replicated
check_async replicated
check_two_days replicated
check_query_ids replicated
check_direct replicated
finish
