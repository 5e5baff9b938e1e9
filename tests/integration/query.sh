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
"$RECV" -T acme "$T/acme.json" || die "logthra-recv acme"
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

finish
