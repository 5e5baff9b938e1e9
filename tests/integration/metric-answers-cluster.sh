#!/bin/bash
# metric-answers.sh against a cluster: two Debian ClickHouse shards with
# ZooKeeper, the rows and the streams index sharded by logthra-flush
# --cluster, the queries sent to a Distributed table on the second shard.
export LT_CLICKHOUSE=cluster
exec bash "$(dirname "$0")/metric-answers.sh"
