#!/bin/bash
# logthra-flush --cluster into two Debian ClickHouse servers (18.16) with
# ZooKeeper: the ON CLUSTER DDL makes ReplicatedMergeTree tables on each
# shard and a Distributed table; each push lands whole on shard
# push_id % 2, every entry exactly once, and stays so through a second
# flush, a re-claimed file of a dead run and a shard that is down during
# a flush; queries through the Distributed table answer what the same
# pushes answer on one server; the streams index on each shard holds
# exactly the streams and days of that shard's rows, and --migrate
# fills it on each shard when it is missing; retention drops old days on
# every shard, of the index too; a wrong shard list or cluster name is
# refused.
. "$(dirname "$0")/lib.sh"

need_clickhouse
need_zookeeper
need_built

SPOOL=$T/spool
mkdir -p "$SPOOL"
start_clickhouse_cluster 2 --zookeeper
URLS="${CHC_URLS[0]} ${CHC_URLS[1]}"
cflush() { run "$FLUSH" -D "$SPOOL" -U "${CHC_URLS[0]}" --cluster "$CHC_CLUSTER" --shard-urls "$URLS" "$@"; }
on() { CH_URL=${CHC_URLS[$1]} ch_query "$2 FORMAT TSV"; }

# Pushes of three tenants: 30 pushes of 3 entries, on two days.
push_n() { # push_n TENANT I
	printf '{"streams":[{"stream":{"app":"a%s","level":"info"},"values":[["2024-01-01T00:00:%02dZ","one %s"],["2024-01-01T00:00:%02d.5Z","two %s"],["2024-01-02T00:00:00Z","three %s"]]}]}\n' \
	    "$(($2 % 3))" "$2" "$2" "$2" "$2" "$2" >"$T/p.json"
	"$RECV" -T "$1" -D "$SPOOL" "$T/p.json" || die "logthra-recv -T $1 failed"
}
for i in $(seq 1 10); do for t in acme beta gamma; do push_n "$t" "$i"; done; done
cp -a "$SPOOL" "$T/spool-copy"
cp -a "$SPOOL" "$T/spool-single"

note "--print-ddl for the cluster"
run "$FLUSH" --print-ddl -U "${CHC_URLS[0]}" --cluster "$CHC_CLUSTER"
check_contains "CREATE TABLE IF NOT EXISTS logs.log_local ON CLUSTER $CHC_CLUSTER" "$RUN_OUT" \
    "the shards' table, ON CLUSTER"
check_contains "ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/logs/log_local', '{replica}')" \
    "$RUN_OUT" "replicated, by the servers' macros"
check_contains "ENGINE = Distributed($CHC_CLUSTER, logs, log_local, push_id)" "$RUN_OUT" \
    "a Distributed table sharded by push_id"

check_contains "CREATE TABLE IF NOT EXISTS logs.log_streams_local ON CLUSTER $CHC_CLUSTER" \
    "$RUN_OUT" "the streams index's shard tables, ON CLUSTER"
check_contains "ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/logs/log_streams_local', '{replica}')" \
    "$RUN_OUT" "replicated, folding duplicates"
check_contains "ENGINE = Distributed($CHC_CLUSTER, logs, log_streams_local, stream_id)" "$RUN_OUT" \
    "and a Distributed table over them"

# check_shard_indexes WHAT: each shard's index holds exactly the streams
# and days of that shard's rows, and the Distributed ones agree.
check_shard_indexes() {
	local i
	for i in 0 1; do
		CH_URL=${CHC_URLS[$i]}
		check_eq "$(streams_of_logs logs.log_local)" "$(streams_indexed logs.log_streams_local)" \
		    "$1: shard $((i + 1))'s index holds the streams and days of its rows"
	done
	CH_URL=${CHC_URLS[1]} check_streams_index logs.log "$1: through the Distributed tables too"
}
# The pushes, worked out by hand: 3 tenants, streams {app=a0..a2,
# level=info}, each on 2 days.
pushed=$(for t in acme beta gamma; do for a in 0 1 2; do for d in 01 02; do
	printf "%s\t['app=a%s','level=info']\t2024-01-%s\n" "$t" "$a" "$d"; done; done; done)
indexed() { on 0 "SELECT tenant_id, label, day FROM logs.log_streams GROUP BY tenant_id, label, day ORDER BY tenant_id, label, day"; }

note "a flush into the cluster"
cflush
check_rc 0 "logthra-flush --cluster"
check_match '^flushed 30 files, 90 rows, ' "$RUN_OUT" "30 files, 90 rows"
check_eq 90 "$(on 0 "SELECT count() FROM logs.log")" "90 rows through the Distributed table on server 1"
check_eq 90 "$(on 1 "SELECT count() FROM logs.log")" "and on server 2"
n1=$(on 0 "SELECT count() FROM logs.log_local")
n2=$(on 1 "SELECT count() FROM logs.log_local")
check_eq 90 "$((n1 + n2))" "the shards hold 90 rows together ($n1 + $n2)"
check_eq "1 1" "$((n1 > 0)) $((n2 > 0))" "both shards hold rows"
check_eq 0 "$(on 0 "SELECT count() FROM logs.log_local WHERE push_id % 2 != 0")" \
    "shard 1 holds only pushes with push_id % 2 = 0"
check_eq 0 "$(on 1 "SELECT count() FROM logs.log_local WHERE push_id % 2 != 1")" \
    "shard 2 only those with push_id % 2 = 1"
check_eq 0 "$(on 0 "SELECT count() FROM (SELECT push_id, count() AS c FROM logs.log GROUP BY push_id HAVING c != 3)")" \
    "every push has its 3 rows"
check_eq 90 "$(on 0 "SELECT uniqExact(tenant_id, msg) FROM logs.log")" "no row twice"
check_eq "$pushed" "$(indexed)" "the streams index holds the pushed streams on their days"
check_shard_indexes "after the flush"
# How logthra-query reads the index on a cluster: each shard resolves
# the selector in its own index (distributed_product_mode=local rewrites
# the Distributed streams table to the shard's), or the index is read
# once and sent to the shards (GLOBAL IN); both count what has() does.
want=$(on 0 "SELECT count() FROM logs.log WHERE tenant_id = 'acme' AND has(label, 'app=a1')")
check_eq "$want" "$(CH_URL="${CHC_URLS[0]}?distributed_product_mode=local" ch_query "SELECT count() FROM logs.log
    WHERE tenant_id = 'acme' AND stream_id IN (SELECT stream_id FROM logs.log_streams
    WHERE tenant_id = 'acme' AND has(label, 'app=a1'))")" \
    "a selector through the index, each shard in its own ($want rows)"
check_eq "$want" "$(on 1 "SELECT count() FROM logs.log WHERE tenant_id = 'acme' AND stream_id
    GLOBAL IN (SELECT stream_id FROM logs.log_streams WHERE tenant_id = 'acme'
    AND has(label, 'app=a1'))")" "and with GLOBAL IN"

note "queries through the Distributed table answer as on one server"
run "$FLUSH" -D "$T/spool-single" -U "${CHC_URLS[0]}" -d single
check_rc 0 "the first 30 pushes again, into one server's table (database single)"
for q in "SELECT tenant_id, count() FROM TABLE GROUP BY tenant_id ORDER BY tenant_id" \
    "SELECT arrayFirst(x -> startsWith(x, 'app='), label) AS app, count() FROM TABLE WHERE tenant_id = 'acme' GROUP BY app ORDER BY app" \
    "SELECT toDate(timestamp, 'UTC') AS d, count() FROM TABLE WHERE tenant_id = 'beta' GROUP BY d ORDER BY d" \
    "SELECT msg FROM TABLE WHERE tenant_id = 'gamma' AND positionCaseInsensitive(msg, 'THREE 1') > 0 ORDER BY msg" \
    "SELECT timestamp_ns, msg FROM TABLE WHERE tenant_id = 'acme' AND has(label, 'app=a1') AND timestamp >= '2024-01-01 00:00:00' ORDER BY timestamp_ns, msg LIMIT 5"; do
	want=$(on 0 "${q//TABLE/single.log}")
	got=$(on 1 "${q//TABLE/logs.log}")
	check_eq "$want" "$got" "the same answer: ${q:0:60}..."
done

note "a second flush, and a re-claimed file of a dead run"
cflush
check_match '^flushed 0 files, 0 rows, ' "$RUN_OUT" "nothing more to send"
f=$(find "$T/spool-copy/tenants/beta/ready" -type f | head -n 1)
mkdir -p "$SPOOL/tenants/beta/active"
cp "$f" "$SPOOL/tenants/beta/active/"
cflush
check_match '; 1 files wait for a retry$' "$RUN_OUT" "the claim is taken back and waits"
LOGTHRA_RETRY_MIN_DELAY=0 cflush --retry-now
check_rc 0 "--retry-now of the re-claimed file"
check_match '^flushed 1 files, 0 rows, ' "$RUN_OUT" "its rows are found on their shard: none sent again"
check_eq 90 "$(on 0 "SELECT count() FROM logs.log")" "still 90 rows"
check_eq "$pushed" "$(indexed)" "the index, read with GROUP BY, has nothing more"

note "a shard down during a flush"
for i in $(seq 11 20); do push_n acme "$i"; done
stop_cluster_server 1
cflush
check_rc 75 "logthra-flush with shard 2 down"
check_eq 10 "$(find "$SPOOL/tenants/acme/deferred" -type f | wc -l | tr -d ' ')" \
    "the 10 files wait in deferred/"
restart_cluster_server 1
LOGTHRA_RETRY_MIN_DELAY=0 cflush --retry-now
check_rc 0 "--retry-now with both shards up"
check_eq 120 "$(on 0 "SELECT count() FROM logs.log")" "120 rows: the 30 new ones once each"
check_eq 0 "$(on 0 "SELECT count() FROM (SELECT push_id, count() AS c FROM logs.log GROUP BY push_id HAVING c != 3)")" \
    "every push has its 3 rows, none twice"

check_shard_indexes "after a shard was down"

note "--migrate fills a missing index on each shard"
on 0 "DROP TABLE logs.log_streams ON CLUSTER $CHC_CLUSTER" >/dev/null
on 0 "DROP TABLE logs.log_streams_local ON CLUSTER $CHC_CLUSTER" >/dev/null
run "$FLUSH" -U "${CHC_URLS[0]}" --cluster "$CHC_CLUSTER" --shard-urls "$URLS" --migrate
check_rc 0 "--migrate --cluster"
check_contains "CREATE TABLE IF NOT EXISTS logs.log_streams_local ON CLUSTER $CHC_CLUSTER" "$RUN_OUT" \
    "creates the index on every shard"
check_eq 4 "$(grep -c '^INSERT INTO logs.log_streams_local ' <<<"$RUN_OUT")" \
    "fills it, a statement per day and shard"
check_eq "$pushed" "$(indexed)" "the index holds the pushed streams again"
check_shard_indexes "after --migrate"
run "$FLUSH" -U "${CHC_URLS[0]}" --cluster "$CHC_CLUSTER" --shard-urls "$URLS" --migrate
check_eq "-- logs.log needs no change that --migrate makes (ClickHouse 18.16)." "$RUN_OUT" \
    "a second --migrate has nothing to do"

note "retention drops old days on every shard"
run "$FLUSH" -D "$SPOOL" -U "${CHC_URLS[0]}" --cluster "$CHC_CLUSTER" --shard-urls "$URLS" --retention 1
check_rc 0 "a flush with retention 1 day"
check_contains "dropped day 2024-01-01" "$RUN_OUT" "2024-01-01 is dropped"
check_eq 0 "$(on 0 "SELECT count() FROM logs.log")" "nothing of 2024 is left on any shard"
check_eq 0 "$(on 1 "SELECT count() FROM logs.log_streams")" "nor in the streams index"

note "a wrong cluster or shard list"
cflush --shard-urls "${CHC_URLS[0]}"
check_rc 1 "one URL for two shards"
check_contains "error: cluster \"$CHC_CLUSTER\" has 2 shards, shard_urls names 1" "$RUN_ERR" "is refused, named"
run "$FLUSH" -D "$SPOOL" -U "${CHC_URLS[0]}" --cluster nosuch --shard-urls "$URLS"
check_rc 1 "an unknown cluster"
check_contains 'knows no cluster "nosuch"' "$RUN_ERR" "is refused, named"
run "$FLUSH" -D "$SPOOL" -U "${CHC_URLS[0]}" --cluster "$CHC_CLUSTER"
check_rc 1 "--cluster without shard_urls"
check_contains "shard_urls" "$RUN_ERR" "names shard_urls"
run "$FLUSH" -D "$SPOOL" --cluster "bad-name" --shard-urls "$URLS"
check_rc 1 "an invalid cluster name"

finish
