#!/bin/bash
# The same pushes, flushed by logthra-flush into Debian's ClickHouse
# (18.16, the portable table), a current ClickHouse (26.7 through chdb,
# the current table) and a two-shard cluster of Debian servers with
# ZooKeeper (--cluster, a Distributed table): each holds every entry
# once, and every example query of README.md and logthra(7) gives the
# same answer on all three.  (The only difference shown is the
# timestamp's fraction of a second on the current table, taken off
# before comparing.)
. "$(dirname "$0")/lib.sh"

need_clickhouse
need_zookeeper
need_chdb
need_built

SPOOL=$T/spool
mkdir -p "$SPOOL"
spool_push() {
	printf '%s\n' "$3" >"$T/$2.json"
	"$RECV" -T "$1" -D "$SPOOL" "$T/$2.json" || die "logthra-recv -T $1 $2.json failed"
}

# The seed, and lines of the last hour (the queries look at it) with
# levels, structured metadata and an error, for two tenants.
"$RECV" -T acme -D "$SPOOL" "$SEED" || die "logthra-recv of the seed failed"
base=$((($(date +%s) - 1800) / 60 * 60))
ns() { printf '%d%09d' "$((base + $1))" "$2"; }
for t in acme beta; do
	spool_push "$t" "recent-$t" '{"streams":[
	 {"stream":{"app":"test-app","level":"error"},"values":[
	  ["'"$(ns 1 250000000)"'","Disk ERROR on /dev/sda",{"trace_id":"0af7651916cd43dd"}],
	  ["'"$(ns 2 0)"'","retrying",{"trace_id":"0af7651916cd43dd"}]]},
	 {"stream":{"app":"test-app","level":"warn"},"values":[
	  ["'"$(ns 61 999999999)"'","slow response",{"trace_id":"abc"}]]},
	 {"stream":{"app":"other"},"values":[["'"$(ns 3 5)"'","other app line"]]}]}'
done
# 31 pushes in all: that none falls on one of the shards is one in 10^9.
for i in $(seq 1 28); do
	spool_push acme "more-$i" '{"streams":[{"stream":{"app":"test-app","level":"info"},"values":[["'"$(ns $((100 + i)) "$i")"'","line '"$i"'"]]}]}'
done
for target in debian current cluster; do cp -a "$SPOOL" "$T/spool-$target"; done
ROWS=$((2 + 2 * 4 + 28))

# --- the three targets --------------------------------------------------------

start_clickhouse_cluster 2 --zookeeper
CLUSTER_URL=${CHC_URLS[1]}
run "$FLUSH" -D "$T/spool-cluster" -U "${CHC_URLS[0]}" --cluster "$CHC_CLUSTER" \
    --shard-urls "${CHC_URLS[0]} ${CHC_URLS[1]}"
check_rc 0 "flushed into the two-shard cluster"

start_clickhouse
DEBIAN_URL=$CH_URL
run "$FLUSH" -D "$T/spool-debian" -U "$DEBIAN_URL"
check_rc 0 "flushed into Debian's ClickHouse"

start_chdb
CURRENT_URL=$CH_URL
run "$FLUSH" -D "$T/spool-current" -U "$CURRENT_URL"
check_rc 0 "flushed into ClickHouse $CH_VERSION"

at() { CH_URL=$1 ch_query "$2 FORMAT TSV"; }
check_eq "DateTime DateTime64(9, \\'UTC\\')" \
    "$(at "$DEBIAN_URL" "SELECT type FROM system.columns WHERE database = 'logs' AND table = 'log' AND name = 'timestamp'") $(at "$CURRENT_URL" "SELECT type FROM system.columns WHERE database = 'logs' AND table = 'log' AND name = 'timestamp'")" \
    "each server has the table of its version"
for url in "$DEBIAN_URL" "$CLUSTER_URL" "$CURRENT_URL"; do
	check_eq "$ROWS $ROWS" "$(at "$url" "SELECT count(), uniqExact(tenant_id, timestamp_ns, msg) FROM logs.log" | tr '\t' ' ')" \
	    "$ROWS rows, each once, at $url"
done
n1=$(CH_URL=${CHC_URLS[0]} ch_query "SELECT count() FROM logs.log_local")
check_eq 1 "$((n1 > 0 && n1 < ROWS))" "both shards hold rows ($n1 on the first)"

# --- the documents' queries --------------------------------------------------

# The answers with DateTime64's fraction of a second taken off.
answer() { at "$1" "$2" | sed -E 's/([0-9]{2}:[0-9]{2}:[0-9]{2})\.[0-9]{9}/\1/g'; }
mapfile -t QUERIES < <(readme_queries; man_queries)
check_eq 10 "${#QUERIES[@]}" "README.md and logthra(7) have 10 example queries"
for q in "${QUERIES[@]}"; do
	want=$(answer "$DEBIAN_URL" "$q")
	check_match '.' "$want" "Debian's ClickHouse answers something: ${q:0:50}..."
	check_eq "$want" "$(answer "$CURRENT_URL" "$q")" "ClickHouse $CH_VERSION answers the same"
	check_eq "$want" "$(answer "$CLUSTER_URL" "$q")" "the cluster answers the same"
done

finish
