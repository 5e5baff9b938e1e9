#!/bin/bash
# logthra-recv as an inetd-style HTTP/1.1 server under
# systemd-socket-activate: pushes over both endpoints, keep-alive,
# chunked bodies, Expect: 100-continue, an OpenTelemetry push, every
# refusal with its exact status and no spool file; then logthra-flush and
# the rows in ClickHouse.
. "$(dirname "$0")/lib.sh"

need_clickhouse
need_inetd
need_built

SPOOL=$T/spool
mkdir -p "$SPOOL"
start_clickhouse
start_inetd "$SPOOL"
URL=$INETD_URL
PORT=$INETD_PORT

ready() { count_files "$SPOOL/tenants/$1/ready"; }
rows() { ch_query "$1 FORMAT TSV"; }

note "pushes that are stored"
push "$URL/api/push" "$SEED" -H 'tenant-id: acme'
check_status 204 "POST /api/push with tenant-id: acme"
check_eq "" "$HTTP_BODY" "204 has no body"
check_eq 1 "$(ready acme)" "one file in tenants/acme/ready/"

push "$URL/loki/api/v1/push" "$SEED" -H 'X-Scope-OrgID: loki-tenant'
check_status 204 "POST /loki/api/v1/push with X-Scope-OrgID"
check_eq 1 "$(ready loki-tenant)" "one file in tenants/loki-tenant/ready/"

push "$URL/api/push" "$SEED" -H 'tenant-id: same' -H 'X-Scope-OrgID: same'
check_status 204 "both tenant headers naming the same tenant"

http_req -H 'Content-Type: application/json; charset=utf-8' \
    -H 'tenant-id: charset' --data-binary "@$SEED" "$URL/api/push"
check_status 204 "Content-Type application/json with charset"

http_req -H 'Content-Type:' -H 'tenant-id: notype' --data-binary "@$SEED" \
    "$URL/api/push"
check_status 204 "no Content-Type at all"

note "three requests over one keep-alive connection"
out=$(curl -sS --max-time 60 -H 'Content-Type: application/json' \
    -H 'tenant-id: keepalive' --data-binary "@$SEED" \
    -w '%{http_code} %{num_connects}\n' \
    "$URL/api/push" "$URL/api/push" "$URL/loki/api/v1/push" 2>&1) || true
check_eq "204 1
204 0
204 0" "$out" "three 204s, one connection (curl's num_connects 1, 0, 0)"
check_eq 3 "$(ready keepalive)" "three files in tenants/keepalive/ready/"

note "chunked request body"
push "$URL/api/push" "$SEED" -H 'tenant-id: chunked' \
    -H 'Transfer-Encoding: chunked' -v
check_status 204 "chunked upload"
check_contains "Transfer-Encoding: chunked" "$(cat "$T/http.err")" \
    "curl really sent it chunked"

note "a body over 1 MiB with Expect: 100-continue"
big=$T/big.json
line=$(printf '%0500d' 0)
BIG_N=3000
{
	printf '{"streams":[{"stream":{"app":"big"},"values":['
	for ((i = 0; i < BIG_N; i++)); do
		((i == 0)) || printf ','
		printf '["%d","%s %d"]' $((1700000000000000000 + i)) "$line" "$i"
	done
	printf ']}]}\n'
} >"$big"
check_eq 1 "$(($(stat -c %s "$big") > 1048576))" "the big payload is over 1 MiB"
push "$URL/api/push" "$big" -H 'tenant-id: big' -H 'Expect: 100-continue' -v
check_status 204 "POST of $(stat -c %s "$big") bytes with Expect: 100-continue"
check_contains "HTTP/1.1 100 Continue" "$(cat "$T/http.err")" \
    "the server answered 100 Continue"

note "OpenTelemetry logs in OTLP's JSON encoding"
printf '{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"api"}}]},"scopeLogs":[{"logRecords":[{"timeUnixNano":"%s","body":{"stringValue":"hello otlp"}}]}]}]}' \
    "$(($(date +%s) * 1000000000))" >"$T/otlp.json"
push "$URL/otlp/v1/logs" "$T/otlp.json" -H 'X-Scope-OrgID: otlp'
check_status 200 "POST /otlp/v1/logs"
check_eq "{}" "$HTTP_BODY" "an empty ExportLogsServiceResponse in JSON"
check_match '^application/json' "$(sed -n 's/^[Cc]ontent-[Tt]ype: //p' <<<"$HTTP_HEADERS")" \
    "the answer is JSON, as the request"
check_eq 1 "$(ready otlp)" "one file in tenants/otlp/ready/"

stored=$(spool_files "$SPOOL")
check_eq 11 "$stored" "11 spool files stored so far"

note "refusals: exact status, no spool file"
# refuse STATUS WHAT [CURL-ARGS...]: the request gets STATUS and the
# spool gains no file.
refuse() {
	local status=$1 what=$2 before
	shift 2
	before=$(spool_files "$SPOOL")
	http_req "$@"
	check_status "$status" "$what"
	check_eq "$before" "$(spool_files "$SPOOL")" "$what: no spool file"
}

printf '%s' '{"streams":[{"stream":{"app":"x"},' >"$T/malformed.json"
refuse 400 "malformed JSON" -H 'Content-Type: application/json' \
    -H 'tenant-id: acme' --data-binary "@$T/malformed.json" "$URL/api/push"
check_match 'line|column' "$HTTP_BODY" "the message names the position"
check_match '^text/plain' "$(sed -n 's/^[Cc]ontent-[Tt]ype: //p' <<<"$HTTP_HEADERS")" \
    "error body is text/plain"

refuse 401 "no tenant" -H 'Content-Type: application/json' \
    --data-binary "@$SEED" "$URL/api/push"
check_contains "no tenant: send an X-Scope-OrgID header" "$HTTP_BODY" \
    "the message says the tenant is missing"

refuse 400 'tenant "../etc"' -H 'Content-Type: application/json' \
    -H 'tenant-id: ../etc' --data-binary "@$SEED" "$URL/api/push"
check_eq 0 "$(find "$T" -path "$SPOOL" -prune -o -name '*.spool' -print | wc -l)" \
    "no spool file outside the spool"

refuse 400 "tenant-id and X-Scope-OrgID differ" -H 'Content-Type: application/json' \
    -H 'tenant-id: one' -H 'X-Scope-OrgID: two' --data-binary "@$SEED" "$URL/api/push"

refuse 404 "unknown path" -H 'Content-Type: application/json' \
    -H 'tenant-id: acme' --data-binary "@$SEED" "$URL/api/nope"

refuse 405 "GET /api/push" -H 'tenant-id: acme' "$URL/api/push"
check_contains "Allow: POST" "$HTTP_HEADERS" "405 carries Allow: POST"

refuse 415 "Content-Type text/plain" -H 'Content-Type: text/plain' \
    -H 'tenant-id: acme' --data-binary "@$SEED" "$URL/api/push"
refuse 400 "JSON sent as application/x-protobuf" \
    -H 'Content-Type: application/x-protobuf' \
    -H 'tenant-id: acme' --data-binary "@$SEED" "$URL/api/push"
check_contains "could not decode the protobuf body" "$HTTP_BODY" \
    "the message says the protobuf body is not snappy data"
refuse 415 "Content-Encoding br" -H 'Content-Type: application/json' \
    -H 'Content-Encoding: br' -H 'tenant-id: acme' \
    --data-binary "@$SEED" "$URL/api/push"

printf '%s' '{"streams":[{"stream":{"bad-name":"x"},"values":[["2024-01-01","a"]]}]}' \
    >"$T/badlabel.json"
refuse 400 "invalid label name" -H 'Content-Type: application/json' \
    -H 'tenant-id: acme' --data-binary "@$T/badlabel.json" "$URL/api/push"
check_contains "stream" "$HTTP_BODY" "the message names the stream"

{
	printf '{"streams":[{"stream":{"app":"x"},"values":[["2024-01-01","'
	head -c 300000 /dev/zero | tr '\0' a
	printf '"]]}]}'
} >"$T/longline.json"
refuse 400 "line over max_line_size" -H 'Content-Type: application/json' \
    -H 'tenant-id: acme' --data-binary "@$T/longline.json" "$URL/api/push"
check_contains "too long" "$HTTP_BODY" "the message says the line is too long"

future="$(($(date +%s) + 3600))000000000"
printf '{"streams":[{"stream":{"app":"x"},"values":[["%s","from the future"]]}]}' \
    "$future" >"$T/future.json"
refuse 400 "timestamp 1 h in the future" -H 'Content-Type: application/json' \
    -H 'tenant-id: acme' --data-binary "@$T/future.json" "$URL/api/push"

printf '%s' '{"resourceLogs":5}' >"$T/otlp-bad.json"
refuse 400 "OTLP JSON that is not a request" -H 'Content-Type: application/json' \
    -H 'X-Scope-OrgID: otlp' --data-binary "@$T/otlp-bad.json" "$URL/otlp/v1/logs"
check_match '^\{"code":3,"message":"' "$HTTP_BODY" \
    "the body is a google.rpc.Status in JSON (INVALID_ARGUMENT)"

refuse 431 "20 KiB of headers" -H 'Content-Type: application/json' \
    -H 'tenant-id: acme' -H "X-Padding: $(head -c 20000 /dev/zero | tr '\0' x)" \
    --data-binary "@$SEED" "$URL/api/push"

note "raw requests"
# raw STATUS WHAT: sends $T/raw.req over a new connection.
raw() {
	local before
	before=$(spool_files "$SPOOL")
	check_eq "$1" "$(raw_http "$PORT" "$T/raw.req")" "$2 -> $1"
	check_eq "$before" "$(spool_files "$SPOOL")" "$2: no spool file"
}
printf 'POST /api/push HTTP/1.1\r\nHost: x\r\ntenant-id: acme\r\nContent-Type: application/json\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n' \
    >"$T/raw.req"
raw 400 "both Content-Length and Transfer-Encoding"
printf 'POST /api/push HTTP/1.1\r\nHost: x\r\ntenant-id: acme\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n' \
    >"$T/raw.req"
raw 411 "POST with neither Content-Length nor Transfer-Encoding"
printf 'POST /api/push HTTP/1.1\r\nHost: x\r\ntenant-id: acme\r\nTransfer-Encoding: gzip\r\n\r\n' \
    >"$T/raw.req"
raw 501 "Transfer-Encoding gzip"
printf 'GARBAGE\r\n\r\n' >"$T/raw.req"
raw 400 "malformed request line"

note "max_body_size from a config file: a second instance"
printf 'max_body_size = 64KiB\n' >"$T/small.conf"
start_inetd "$SPOOL" -c "$T/small.conf"
refuse 413 "body over max_body_size (Expect: 100-continue)" \
    -H 'Content-Type: application/json' -H 'tenant-id: acme' \
    -H 'Expect: 100-continue' --data-binary "@$T/longline.json" "$INETD_URL/api/push"
refuse 413 "body over max_body_size (chunked)" \
    -H 'Content-Type: application/json' -H 'tenant-id: acme' \
    -H 'Transfer-Encoding: chunked' --data-binary "@$T/longline.json" \
    "$INETD_URL/api/push"
head -c 5000000 /dev/zero | tr '\0' a >"$T/5mb.bin"
refuse 413 "5 MB body over max_body_size (Content-Length, no Expect)" \
    -H 'Content-Type: application/json' -H 'tenant-id: acme' -H 'Expect:' \
    --data-binary "@$T/5mb.bin" "$INETD_URL/api/push"
push "$INETD_URL/api/push" "$SEED" -H 'tenant-id: small'
check_status 204 "a small push to the limited instance"

note "flush and look at the rows"
run "$FLUSH" -D "$SPOOL" -U "$CH_URL"
check_rc 0 "logthra-flush"
n=$((2 * 10 - 2 + BIG_N + 1 + 2))
check_match "^flushed 12 files, $n rows, [0-9]+ bytes in [0-9]+\\.[0-9]+ s\$" \
    "$RUN_OUT" "flush summary counts 12 files, $n rows"
check_eq 0 "$(spool_files "$SPOOL")" "the spool is empty"

check_eq "acme	2
big	$BIG_N
charset	2
chunked	2
keepalive	6
loki-tenant	2
notype	2
otlp	1
same	2
small	2" "$(rows "SELECT tenant_id, count() FROM logs.log GROUP BY tenant_id ORDER BY tenant_id")" \
    "rows per tenant"
sid=$(fnv1a64 app=test-app level=info)
check_eq "acme	$sid	['app=test-app','level=info']	2024-01-01 00:00:00	1704067200000000000	ready	[]
acme	$sid	['app=test-app','level=info']	2024-01-01 00:00:00	1704067200000000000	starting up	[]" \
    "$(rows "SELECT tenant_id, stream_id, label, toString(toTimeZone(timestamp, 'UTC')),
    timestamp_ns, msg, metadata FROM logs.log WHERE tenant_id = 'acme'
    ORDER BY timestamp_ns, msg")" "the seed push's rows for acme"
check_eq "$BIG_N	$BIG_N	1700000000000000000	$((1700000000000000000 + BIG_N - 1))	$((${#line} + 5))" \
    "$(rows "SELECT count(), uniqExact(msg), min(timestamp_ns), max(timestamp_ns),
    max(length(msg)) FROM logs.log WHERE tenant_id = 'big'")" \
    "the big push arrived whole"
check_eq "['service_name=api']	hello otlp" \
    "$(rows "SELECT label, msg FROM logs.log WHERE tenant_id = 'otlp'")" \
    "the OpenTelemetry record's stream and line"

finish
