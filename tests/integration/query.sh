#!/bin/bash
# logthra-query against Debian's ClickHouse: pushes stored and flushed,
# then read back as a command (lines and JSON), through logthra-recv's
# socket in inetd mode (one address for pushes and queries) with Loki's
# parameters and limits, and as CGI; read and write tokens.
. "$(dirname "$0")/lib.sh"

need_clickhouse
need_built
QUERY=$abs_top_builddir/src/logthra-query

SPOOL=$T/spool
mkdir -p "$SPOOL"
start_clickhouse
export LOGTHRA_CONFIG=/dev/null LOGTHRA_CLICKHOUSE_URL=$CH_URL LOGTHRA_SPOOL=$SPOOL

now=$(date -u +%s)
ts() { date -u -d "@$(( now - $1 ))" +%Y-%m-%dT%H:%M:%SZ; }
cat >"$T/acme.json" <<JSON
{"streams":[{"stream":{"app":"api","env":"prod"},"values":[
 ["$(ts 300)","GET /a 200"],["$(ts 200)","GET /b 500 error"],["$(ts 100)","GET /c 200"]]},
 {"stream":{"app":"db"},"values":[["$(ts 150)","slow query error"]]}]}
JSON
cat >"$T/beta.json" <<JSON
{"streams":[{"stream":{"app":"api"},"values":[["$(ts 120)","beta's secret error"]]}]}
JSON
cat >"$T/gamma.json" <<JSON
{"streams":[{"stream":{"app":"pay"},"values":[
 ["$(ts 250)","took=abc status=200"],["$(ts 200)","took=2.5 status=500"],["$(ts 100)","took=1.5 status=200"]]}]}
JSON
"$RECV" -T acme "$T/acme.json" || die "logthra-recv acme"
"$RECV" -T gamma "$T/gamma.json" || die "logthra-recv gamma"
"$RECV" -T beta "$T/beta.json" || die "logthra-recv beta"
run "$FLUSH"
check_rc 0 "logthra-flush"

note "command mode"
TZ=UTC run "$QUERY" -T acme '{app=~".+"} |= "error"' --since=1h
check_rc 0 "a log query"
check_eq 2 "$(wc -l <<<"$RUN_OUT")" "two entries with error"
check_contains "{app=\"api\", env=\"prod\"} GET /b 500 error" "$RUN_OUT" "labels and line as logcli"
check_not_contains "secret" "$RUN_OUT" "nothing of another tenant"
check_eq "slow query error" "$(head -n 1 <<<"$RUN_OUT" | sed 's/.*} *//')" "newest first"
run "$QUERY" -T acme -o json --forward --limit=2 '{app="api"}'
check_rc 0 "JSON output"
check_contains '"resultType":"streams"' "$RUN_OUT" "Loki's streams answer"
run "$QUERY" -T acme --limit=9999 '{app="api"}'
check_rc 65 "over max_entries_limit_per_query"
check_contains "max entries limit per query exceeded, limit > max_entries_limit_per_query (9999 > 5000)" \
    "$RUN_ERR" "Loki's message"

note "one socket for pushes and queries (logthra-recv, inetd mode)"
# Sends standard input to a program in inetd mode over a socket pair and
# prints what it answers.
cat >"$T/inetd.py" <<'PY'
import socket, subprocess, sys
a, b = socket.socketpair()
p = subprocess.Popen(sys.argv[1:2] + ['--mode=inetd'], stdin=b, stdout=b)
b.close()
a.sendall(sys.stdin.buffer.read())
a.shutdown(socket.SHUT_WR)
out = b''
while True:
    d = a.recv(65536)
    if not d:
        break
    out += d
p.wait()
sys.stdout.write(out.decode('utf-8', 'replace'))
PY
http() { python3 "$T/inetd.py" "$@"; }
out=$(printf 'GET /loki/api/v1/labels HTTP/1.1\r\nHost: x\r\nX-Scope-OrgID: acme\r\n\r\nGET /loki/api/v1/query_range?query=%%7Bapp%%3D%%22db%%22%%7D&since=1h HTTP/1.1\r\nHost: x\r\nX-Scope-OrgID: acme\r\nConnection: close\r\n\r\n' | http "$RECV")
check_contains "Transfer-Encoding: chunked" "$out" "answers are chunked"
check_contains '"app"' "$out" "label names"
check_contains 'slow query error' "$out" "the db stream's entry"
check_not_contains 'GET /a' "$out" "and only that stream"

note "CGI"
out=$(GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=GET REQUEST_URI='/loki/api/v1/label/app/values' \
	QUERY_STRING='since=1h' HTTP_X_SCOPE_ORGID=beta "$QUERY")
check_contains "Status: 200 OK" "$out" "CGI answer"
check_contains '"api"' "$out" "beta's values"
check_not_contains '"db"' "$out" "not acme's"

note "metric queries (counts worked out from the pushes above)"
# GET path through CGI as tenant, with name=value parameters; prints the
# answer's series one a line: labels as JSON, then the value (instant)
# or time-since-now:value pairs (range), or the status and message.
cat >"$T/result.py" <<'PY'
import json, sys
head, _, body = sys.stdin.read().partition("\r\n\r\n")
if not head.startswith("Status: 200"):
    print(head.split("\r\n")[0], body.strip())
    sys.exit(0)
data, now = json.loads(body)["data"], int(sys.argv[1])
for s in data["result"]:
    m = json.dumps(s["metric"], sort_keys=True, separators=(",", ":"))
    if data["resultType"] == "vector":
        print(m, s["value"][1])
    else:
        print(m, " ".join("%d:%s" % (int(float(t)) - now, v) for t, v in s["values"]))
PY
metric() {
	local path=$1 tenant=$2 qs
	shift 2
	qs=$(python3 -c 'import sys, urllib.parse
print(urllib.parse.urlencode([tuple(a.split("=", 1)) for a in sys.argv[1:]]))' "$@")
	GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=GET REQUEST_URI="/loki/api/v1/$path" \
		QUERY_STRING="$qs" HTTP_X_SCOPE_ORGID=$tenant "$QUERY" |
		python3 "$T/result.py" "$now"
}
check_eq '{"app":"api","env":"prod"} 3' \
    "$(metric query acme 'query=count_over_time({app="api"}[10m])' "time=$now")" \
    "count_over_time: three lines in 10 minutes"
check_eq '{"app":"api","env":"prod"} 0.005' \
    "$(metric query acme 'query=rate({app="api"}[10m])' "time=$now")" \
    "rate: 3 / 600 s"
check_eq $'{"app":"api"} 3\n{"app":"db"} 1' \
    "$(metric query acme 'query=sum by (app) (count_over_time({app=~".+"}[10m]))' "time=$now")" \
    "sum by (app)"
check_eq '{} 2' \
    "$(metric query acme 'query=sum(count_over_time({app=~".+"} |= "error" | drop __error__, __error_details__ [10m]))' "time=$now")" \
    "sum of a filtered count, Grafana's drop of the error labels"
check_eq '{"app":"db"} 16' \
    "$(metric query acme 'query=bytes_over_time({app="db"}[10m])' "time=$now")" \
    "bytes_over_time: the line's bytes"
# Steps at -330, -270, ..., -30 s, windows (t - 60 s, t]: the lines at
# -300, -200 and -100 s fall in those ending at -270, -150 and -90 s.
check_eq '{"app":"api","env":"prod"} -270:1 -150:1 -90:1' \
    "$(metric query_range acme 'query=count_over_time({app="api"}[1m])' \
	"start=$((now - 330))" "end=$now" step=60)" \
    "a range query's steps"
check_eq '{"app":"db","what":"slow"} 1' \
    "$(metric query acme 'query=count_over_time({app="db"} | regexp "(?P<what>\\w+) query" [10m])' "time=$now")" \
    "a count through the pipeline (a parser)"
check_eq '{} 4' \
    "$(metric query gamma 'query=sum(sum_over_time({app="pay"} | logfmt | unwrap took | __error__="" [10m]))' "time=$now")" \
    "sum_over_time of an unwrapped label: 2.5 + 1.5, the bad one dropped"
check_eq $'{"status":"200"} 1.5\n{"status":"500"} 2.5' \
    "$(metric query gamma 'query=max_over_time({app="pay"} | logfmt | unwrap took | __error__="" [10m]) by (status)' "time=$now")" \
    "max_over_time by (status)"
out=$(metric query gamma 'query=sum_over_time({app="pay"} | logfmt | unwrap took [10m])' "time=$now")
check_contains "Status: 400" "$out" "an unwrap error is a 400"
check_contains "pipeline error: 'SampleExtractionErr' for series: '{__error__=\"SampleExtractionErr\", __error_details__=\"strconv.ParseFloat: parsing \\\"abc\\\": invalid syntax\", app=\"pay\", status=\"200\", took=\"abc\"}'" \
    "$out" "in Loki's words, with the series"
check_eq '{} 2' "$(metric query acme 'query=vector(1)+vector(1)')" "Grafana's data source test"
# Buckets of gcd(45 s, 120 s) = 15 s, windows moved by offsets: the
# same counts as the rows give (decolorize sends the leaf to the rows).
for q in 'count_over_time({app=~".+"}[2m] offset 1m)' 'bytes_rate({app=~".+"}[2m] offset -20s)'; do
	fast=$(metric query_range acme "query=$q" "start=$((now - 400))" "end=$now" step=45)
	rows=$(metric query_range acme "query=${q/\}/\} | decolorize}" "start=$((now - 400))" "end=$now" step=45)
	check_eq "$rows" "$fast" "$q: buckets as rows"
	check_contains ":" "$fast" "$q: some points"
done
# Which statements: counts per bucket in ClickHouse, else the rows.
run "$QUERY" -T acme -vv -o json --since=10m 'sum by (app) (count_over_time({app=~".+"}[1m]))'
check_rc 0 "a metric query in command mode"
check_contains '"resultType":"matrix"' "$RUN_OUT" "a matrix over the range"
check_contains "GROUP BY stream_id, m, k) AS counts ANY LEFT JOIN" "$RUN_ERR" "counted in ClickHouse, per stream and bucket"
check_contains "arrayFilter(x -> (startsWith(x, 'app=')), any(label)) AS lbl" "$RUN_ERR" "the stream labels by app, from the streams index"
run "$QUERY" -T acme -vv -o json --since=10m 'count_over_time({app="db"} | logfmt [1m])'
check_contains "ORDER BY timestamp_ns ASC" "$RUN_ERR" "a parser's leaf reads the rows, oldest first"

finish
