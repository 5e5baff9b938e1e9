#!/bin/bash
# Every form of log query logthra-query takes, answered as Loki answers
# it: a data set of two tenants (JSON, logfmt and plain lines, structured
# metadata, a stream label a JSON key repeats, lines that are not JSON, an
# entry pushed twice) is pushed and flushed into ClickHouse, and each
# query of tests/integration/query-ref.py is asked through logthra-recv's
# socket (socket activation, one address for pushes and queries) and
# through nginx + fcgiwrap (logthra-query as CGI).  The expected answers
# come from query-ref.py, a second implementation in Python that parses no
# LogQL (each query is written there twice, once as LogQL and once as
# Python).  Also: the other tenant sees only its own rows, labels, label
# values, series and index stats against counts made in Python, Loki's
# errors for bad queries and limits, a form-encoded POST, the terminal
# command.
#
# Environment: LT_CLICKHOUSE=chdb runs it against ClickHouse 26 (chdb),
# the current table layout; LT_CLICKHOUSE=cluster against two Debian
# shards with ZooKeeper (logthra-flush --cluster, Distributed tables), the
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

REF=$abs_top_srcdir/tests/integration/query-ref.py
SPOOL=$T/spool
mkdir -p "$SPOOL" "$T/pushes"
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

# The data set two hours back, whole minutes; the queries' range covers it.
base=$((($(date +%s) - 7200) / 60 * 60))
python3 "$REF" gen "$T/pushes" "$base" || die "query-ref.py gen failed"
for f in "$T"/pushes/*.json; do
	tenant=${f##*/}
	"$RECV" -T "${tenant%%-*}" -D "$SPOOL" "$f" || die "logthra-recv of $f failed"
done
run "$FLUSH" -D "$SPOOL" -U "$CH_URL" "${flush_args[@]}"
check_rc 0 "logthra-flush of the data set"
if [[ "${LT_CLICKHOUSE:-}" == cluster ]]; then
	n0=$(CH_URL=${CHC_URLS[0]} ch_query "SELECT count() FROM logs.log_local")
	n1=$(CH_URL=${CHC_URLS[1]} ch_query "SELECT count() FROM logs.log_local")
	check_eq 1 "$((n0 > 0 && n1 > 0))" "both shards hold rows ($n0 and $n1)"
fi

CONF=$T/query.conf
{ cat "$T/base.conf"; printf 'clickhouse_url = %s\n' "$CH_URL"; } >"$CONF"
chmod 644 "$CONF"
export LOGTHRA_CONFIG=$CONF
start_inetd "$SPOOL"
start_nginx_fcgiwrap "$T/spool-nginx"

START=$(date -u -d "@$((base - 60))" +%Y-%m-%dT%H:%M:%SZ)  # RFC 3339
END=$(((base + 3 * 3600) * 1000000000))                      # nanoseconds

# ask URL TENANT LOGQL PARAMS: a query_range over the data set's range;
# the answer in $T/answer.json, HTTP_STATUS set.
ask() {
	local url=$1 tenant=$2 logql=$3 params=$4 args=() kv
	IFS='&' read -ra kv <<<"$params"
	for p in "${kv[@]}"; do args+=(--data-urlencode "$p"); done
	HTTP_STATUS=$(curl -sS -G --max-time 60 -o "$T/answer.json" -w '%{http_code}' \
	    -H "X-Scope-OrgID: $tenant" --data-urlencode "query=$logql" \
	    --data-urlencode "start=$START" --data-urlencode "end=$END" "${args[@]}" \
	    "$url/loki/api/v1/query_range") || HTTP_STATUS=000
}

# same NAME WHAT: the answer in $T/answer.json is what query-ref.py
# expects of query NAME for tenant $3 (default acme).
same() {
	local want got
	want=$(python3 "$REF" expect "$1" "$base" "${3:-acme}") || want="(query-ref.py failed)"
	got=$(python3 "$REF" answer "$T/answer.json" 2>&1) || got="(not an answer: $(head -c 300 "$T/answer.json"))"
	check_eq "$want" "$got" "$2"
}

mapfile -t QUERIES < <(python3 "$REF" list)
check_eq 1 "$((${#QUERIES[@]} >= 25))" "query-ref.py lists ${#QUERIES[@]} queries"
for server in inetd nginx; do
	if [[ $server == inetd ]]; then url=$INETD_URL; else url=$NGINX_URL; fi
	note "$server: every query of query-ref.py"
	for line in "${QUERIES[@]}"; do
		IFS=$'\t' read -r name logql params <<<"$line"
		ask "$url" acme "$logql" "$params"
		if [[ "$HTTP_STATUS" != 200 ]]; then
			check_eq 200 "$HTTP_STATUS" "$server: $name: $logql ($(head -c 300 "$T/answer.json"))"
			continue
		fi
		same "$name" "$server: $name: $logql"
	done
	ask "$url" beta '{app="api"}' 'limit=1000'
	same all-api "$server: tenant beta gets its own rows only" beta
done

note "labels, label values, series, index stats (from the streams index)"
counts=$(python3 "$REF" labels "$base" acme)
field() { python3 -c 'import json,sys; print(json.dumps(json.loads(sys.argv[1])[sys.argv[2]], sort_keys=True))' "$counts" "$1"; }
data() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["status"]=="success", d; print(json.dumps(d["data"] if sys.argv[2]=="data" else d[sys.argv[2]], sort_keys=True))' "$T/http.body" "${1:-data}" 2>&1; }
range=(--data-urlencode "start=$START" --data-urlencode "end=$END")
for url in "$INETD_URL" "$NGINX_URL"; do
	http_req -G -H 'X-Scope-OrgID: acme' "${range[@]}" "$url/loki/api/v1/labels"
	check_eq "$(field labels)" "$(data)" "label names at $url"
	http_req -G -H 'X-Scope-OrgID: acme' "${range[@]}" "$url/loki/api/v1/label/app/values"
	check_eq "$(field app)" "$(data)" "values of app at $url"
	http_req -G -H 'X-Scope-OrgID: acme' "${range[@]}" --data-urlencode 'query={env="prod"}' \
	    "$url/loki/api/v1/label/app/values"
	check_eq "$(field prod_apps)" "$(data)" "values of app of {env=\"prod\"} at $url"
	http_req -G -H 'X-Scope-OrgID: acme' "${range[@]}" --data-urlencode 'match[]={app="api"}' \
	    --data-urlencode 'match[]={app="db"}' "$url/loki/api/v1/series"
	got=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(json.dumps(sorted(d["data"], key=lambda s: json.dumps(s, sort_keys=True)), sort_keys=True))' "$T/http.body" 2>&1)
	check_eq "$(field series)" "$got" "series of two match[] at $url"
	http_req -G -H 'X-Scope-OrgID: acme' "${range[@]}" --data-urlencode 'query={app="api"}' \
	    "$url/loki/api/v1/index/stats"
	got=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["streams"], d["entries"], d["bytes"])' "$T/http.body" 2>&1)
	check_eq "$(field api_streams) $(field api_entries) $(field api_bytes)" "$got" \
	    "index stats of {app=\"api\"} (streams, entries, bytes) at $url"
done
http_req -G -H 'X-Scope-OrgID: beta' "${range[@]}" "$INETD_URL/loki/api/v1/label/msg/values"
check_eq '[]' "$(data)" "no label of parsed lines in the index"

note "Loki's errors"
ask "$INETD_URL" acme '{app="api"' ''
check_eq 400 "$HTTP_STATUS" "an unclosed selector -> 400"
check_contains "parse error at line 1, col" "$(cat "$T/answer.json")" "Loki's parse error"
ask "$INETD_URL" acme '{app=~".*"}' ''
check_eq 400 "$HTTP_STATUS" "a selector every stream matches -> 400"
ask "$INETD_URL" acme '{app="api"}' 'limit=5001'
check_eq 400 "$HTTP_STATUS" "limit 5001 -> 400"
check_contains "max_entries_limit_per_query" "$(cat "$T/answer.json")" "naming the limit"
http_req -G -H 'X-Scope-OrgID: acme' --data-urlencode 'query={app="api"}' \
    --data-urlencode "start=$(((base - 40 * 86400) * 1000000000))" --data-urlencode "end=$END" \
    "$INETD_URL/loki/api/v1/query_range"
check_eq 400 "$HTTP_STATUS" "a 40-day range -> 400"
check_contains "the query time range exceeds the limit" "$HTTP_BODY" "in Loki's words"
http_req -G -H 'X-Scope-OrgID: acme' --data-urlencode 'query={app="api"}' "$NGINX_URL/loki/api/v1/query"
check_eq 400 "$HTTP_STATUS" "a log query as an instant query -> 400"
note "hostile queries: a clear 400 or a plain answer, never harm"
for bad in 'limit=-1' 'limit=abc' 'limit=1e12' 'direction=sideways'; do
	ask "$INETD_URL" acme '{app="api"}' "$bad"
	check_eq 400 "$HTTP_STATUS" "$bad -> 400 ($(head -c 120 "$T/answer.json"))"
done
http_req -G -H 'X-Scope-OrgID: acme' --data-urlencode 'query={app="api"}' \
    --data-urlencode 'start=0' --data-urlencode 'end=4102444800' "$INETD_URL/loki/api/v1/query_range"
check_eq 400 "$HTTP_STATUS" "a range of 130 years -> 400"
deep=$(printf '(%.0s' $(seq 200))'a="b"'$(printf ')%.0s' $(seq 200))
ask "$INETD_URL" acme "{app=\"api\"} | $deep" ''
check_eq 400 "$HTTP_STATUS" "label filters nested 200 deep -> 400"
check_contains "parse error" "$(cat "$T/answer.json")" "a parse error names the limit"
ask "$INETD_URL" acme '{app="api"} |~ "(a+)+$" | json | msg=~"(x+x+)+y"' 'limit=5'
check_eq 200 "$HTTP_STATUS" "catastrophic regexes in a line and a label filter: answered"
ask "$INETD_URL" acme '{app="api"} |= "\x01'"'"'\\"' 'limit=5'
check_eq 200 "$HTTP_STATUS" "a control byte, a quote and a backslash in a line filter are text"
ask "$INETD_URL" acme '{app="api"} |= "\x00"' 'limit=5'
check_eq 400 "$HTTP_STATUS" "a NUL in a string -> 400"
check_contains "NUL" "$(cat "$T/answer.json")" "saying so"
ask "$NGINX_URL" acme "{app=\"api'; DROP TABLE logs.log; --\"}" 'limit=10'
check_eq 200 "$HTTP_STATUS" "a quote in a label value is a value"
check_eq '[]' "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["data"]["result"])' "$T/answer.json" 2>&1)" \
    "that matches no stream"
check_eq 1 "$(ch_query "SELECT count() > 0 FROM logs.log")" "and the table is still there"

note "a form-encoded POST, the terminal command"
HTTP_STATUS=$(curl -sS -o "$T/answer.json" -w '%{http_code}' -H 'X-Scope-OrgID: acme' \
    --data-urlencode 'query={app="web", env="stage"} | logfmt | duration > 1s' \
    --data-urlencode "start=$START" --data-urlencode "end=$END" --data-urlencode limit=1000 \
    "$NGINX_URL/loki/api/v1/query_range")
check_eq 200 "$HTTP_STATUS" "POST query_range"
same logfmt-duration "the POSTed query's answer"
run "$QUERY" -T beta -o json --from="$START" --to="$(date -u -d "@$((base + 3 * 3600))" +%Y-%m-%dT%H:%M:%SZ)" \
    --limit=1000 '{app="api"} | json | __error__="" | duration > 100ms'
check_rc 0 "logthra-query in the terminal"
printf '%s\n' "$RUN_OUT" >"$T/answer.json"
same json-duration "its JSON answer, tenant beta" beta

finish
