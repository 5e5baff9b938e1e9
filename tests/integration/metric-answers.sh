#!/bin/bash
# Every metric query logthra-query takes, answered as Loki answers it: a
# data set (JSON and logfmt lines with numbers, durations and sizes, some
# not parsable, structured metadata, entries exactly on window edges, two
# hours of them) is pushed and flushed into ClickHouse, and each query of
# tests/integration/metric-ref.py is asked through logthra-recv's socket
# (socket activation, one address for pushes and queries), a few also
# through nginx + fcgiwrap (logthra-query as CGI).  The expected answers
# come from metric-ref.py, a second implementation in Python that parses
# no LogQL (each query is written there twice, once as LogQL and once as a
# tree built by hand) and evaluates by brute force.  Also: Grafana's data
# source test and log volume query, Loki's errors for queries past its
# limits.
#
# Environment: LT_CLICKHOUSE=chdb runs it against ClickHouse 26 (chdb),
# LT_CLICKHOUSE=cluster against two Debian shards with ZooKeeper, the
# queries sent to the second.
. "$(dirname "$0")/lib.sh"

case ${LT_CLICKHOUSE:-} in
chdb) need_chdb ;;
cluster) need_clickhouse; need_zookeeper ;;
*) need_clickhouse ;;
esac
need_inetd
need_nginx
need python3 python3
need_built

REF=$abs_top_srcdir/tests/integration/metric-ref.py
SPOOL=$T/spool
mkdir -p "$SPOOL" "$T/pushes" "$T/answers" "$T/answers-cgi"
flush_args=()
case ${LT_CLICKHOUSE:-} in
chdb) start_chdb ;;
cluster)
	start_clickhouse_cluster 2 --zookeeper
	flush_args=(--cluster "$CHC_CLUSTER" --shard-urls "${CHC_URLS[0]} ${CHC_URLS[1]}")
	CH_URL=${CHC_URLS[1]}
	;;
*) start_clickhouse ;;
esac

check_eq "self-test: ok" "$(python3 "$REF" --self-test 2>&1)" "metric-ref.py's hand-computed cases"

# The data set over the two hours after base, a whole minute.
base=$((($(date +%s) - 3 * 3600) / 60 * 60))
python3 "$REF" gen "$T/pushes" "$base" || die "metric-ref.py gen failed"
# Each entry gets detected_level, as in Loki by default: Grafana's log
# volume groups by it.
for f in "$T"/pushes/*.json; do
	tenant=${f##*/}
	LOGTHRA_DISCOVER_LOG_LEVELS=yes "$RECV" -T "${tenant%%-*}" -D "$SPOOL" "$f" ||
	    die "logthra-recv of $f failed"
done
run "$FLUSH" -D "$SPOOL" -U "$CH_URL" "${flush_args[@]}"
check_rc 0 "logthra-flush of the data set"

# Tenant beta has 5 streams and may have 4 series in an answer.
CONF=$T/query.conf
{
	cat "$T/base.conf"
	printf 'clickhouse_url = %s\n' "$CH_URL"
	printf '[tenant beta]\nmax_query_series = 4\n'
} >"$CONF"
chmod 644 "$CONF"
export LOGTHRA_CONFIG=$CONF
start_inetd "$SPOOL"
start_nginx_fcgiwrap "$T/spool-nginx"

# Where detected_level is stored at ingestion (as Loki's distributor
# does), every series of a metric query carries it.
dl=()
http_req -G -H 'X-Scope-OrgID: acme' --data-urlencode 'query={app="db"}' --data-urlencode limit=1 \
    --data-urlencode "start=$((base * 1000000000))" --data-urlencode "end=$(((base + 7200) * 1000000000))" \
    "$INETD_URL/loki/api/v1/query_range"
check_eq 200 "$HTTP_STATUS" "a log query of the data set"
if [[ "$HTTP_BODY" == *'"detected_level"'* ]]; then
	note "entries carry detected_level"
	dl=(--detected-level)
fi

# ask DIR URL NAME PATH TENANT LOGQL PARAMS: one request, its answer in
# DIR/NAME.json, its status in DIR/NAME.status.
ask() {
	local dir=$1 url=$2 name=$3 path=$4 tenant=$5 logql=$6 params=$7 args=() kv status
	IFS='&' read -ra kv <<<"$params"
	for p in "${kv[@]}"; do args+=(--data-urlencode "$p"); done
	[[ $name != volume* ]] || args+=(-H 'X-Query-Tags: Source=logvolhist')
	status=$(curl -sS -G --max-time 60 -o "$dir/$name.json" -w '%{http_code}' \
	    -H "X-Scope-OrgID: $tenant" --data-urlencode "query=$logql" "${args[@]}" \
	    "$url/loki/api/v1/$path") || status=000
	printf '%s\n' "$status" >"$dir/$name.status"
}

mapfile -t QUERIES < <(python3 "$REF" list "$base")
check_eq 1 "$((${#QUERIES[@]} >= 80))" "metric-ref.py lists ${#QUERIES[@]} queries"
note "inetd: every query of metric-ref.py"
for line in "${QUERIES[@]}"; do
	IFS=$'\t' read -r name path tenant logql params <<<"$line"
	ask "$T/answers" "$INETD_URL" "$name" "$path" "$tenant" "$logql" "$params"
done
note "CGI: a few"
for line in "${QUERIES[@]}"; do
	IFS=$'\t' read -r name path tenant logql params <<<"$line"
	case $name in
	count-5m | sum-by | unwrap-duration | vv-on | i-topk | i-sort-desc | i-scalar | \
	    i-vector-plus-vector | volume | unwrap-error) ;;
	*) continue ;;
	esac
	ask "$T/answers-cgi" "$NGINX_URL" "$name" "$path" "$tenant" "$logql" "$params"
done
for dir in answers answers-cgi; do
	only=()
	[[ $dir == answers ]] || only=(--only-present)
	while read -r verdict name why; do
		if [[ $verdict == ok ]]; then
			ok "$dir: $name"
		else
			fail "$dir: ${name%:}"
			lt_detail "query" "$(printf '%s\n' "${QUERIES[@]}" | awk -F'\t' -v n="${name%:}" '$1 == n {print $4}')"
			lt_detail "difference" "$why"
		fi
	done < <(python3 "$REF" check "$T/$dir" "$base" "${dl[@]}" "${only[@]}" 2>&1)
done

note "Grafana's data source test"
http_req -G -H 'X-Scope-OrgID: acme' --data-urlencode 'query=vector(1)+vector(1)' \
    --data-urlencode "time=$(date +%s)" "$NGINX_URL/loki/api/v1/query"
check_eq 200 "$HTTP_STATUS" "vector(1)+vector(1)"
got=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))["data"]; print(d["resultType"], d["result"][0]["metric"], d["result"][0]["value"][1])' "$T/http.body" 2>&1)
check_eq "vector {} 2" "$got" "vector(1)+vector(1) is a vector of 2"

note "Loki's limits"
now=$(date +%s)
http_req -G -H 'X-Scope-OrgID: acme' --data-urlencode 'query=count_over_time({app="api"}[1m])' \
    --data-urlencode "start=$(((now - 30 * 86400) * 1000000000))" --data-urlencode "end=$((now * 1000000000))" \
    --data-urlencode step=1 "$INETD_URL/loki/api/v1/query_range"
check_eq 400 "$HTTP_STATUS" "30 days at a 1s step -> 400"
check_contains "exceeded maximum resolution of 11,000 points per time series" "$HTTP_BODY" "in Loki's words"
http_req -G -H 'X-Scope-OrgID: acme' --data-urlencode 'query=topk(1e10, count_over_time({app="api"}[1m]))' \
    --data-urlencode "time=$now" "$INETD_URL/loki/api/v1/query"
check_eq 400 "$HTTP_STATUS" "topk(1e10, ...) -> 400"
check_contains "invalid parameter topk(1e10," "$HTTP_BODY" "in Loki's words"
http_req -G -H 'X-Scope-OrgID: beta' --data-urlencode 'query=count_over_time({app="api"}[10m])' \
    --data-urlencode "start=$(((base + 600) * 1000000000))" --data-urlencode "end=$(((base + 7200) * 1000000000))" \
    --data-urlencode step=60 "$INETD_URL/loki/api/v1/query_range"
check_eq 400 "$HTTP_STATUS" "5 series past beta's max_query_series of 4 -> 400"
check_contains "maximum number of series (4) reached for a single query" "$HTTP_BODY" "in Loki's words"
http_req -G -H 'X-Scope-OrgID: beta' --data-urlencode 'query=sum(count_over_time({app="api"}[10m]))' \
    --data-urlencode "time=$(((base + 3600) * 1000000000))" "$NGINX_URL/loki/api/v1/query"
check_eq 200 "$HTTP_STATUS" "one series of the same 5 streams is answered"

finish
