#!/bin/bash
# logthra-recv as a CGI program behind nginx + fcgiwrap (as deployed on
# Debian): pushes over both endpoints, a chunked request (nginx de-chunks
# it), the refusals with their statuses, max_body_size passed as a
# fastcgi_param; then logthra-flush and the rows in ClickHouse.
. "$(dirname "$0")/lib.sh"

need_clickhouse
need_nginx
need_built

SPOOL=$T/spool
mkdir -p "$SPOOL"
start_clickhouse
start_nginx_fcgiwrap "$SPOOL" LOGTHRA_MAX_BODY_SIZE 1MiB
URL=$NGINX_URL

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

push "$URL/api/push" "$SEED" -H 'tenant-id: chunked' \
    -H 'Transfer-Encoding: chunked' -v
check_status 204 "chunked upload through nginx"
check_contains "Transfer-Encoding: chunked" "$(cat "$T/http.err")" \
    "curl really sent it chunked"
check_eq 1 "$(ready chunked)" "one file in tenants/chunked/ready/"

note "refusals: exact status, no spool file"
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

refuse 401 "no tenant" -H 'Content-Type: application/json' \
    --data-binary "@$SEED" "$URL/api/push"
check_contains "no tenant: send an X-Scope-OrgID header" "$HTTP_BODY" \
    "the message says the tenant is missing"

refuse 400 'tenant "../etc"' -H 'Content-Type: application/json' \
    -H 'tenant-id: ../etc' --data-binary "@$SEED" "$URL/api/push"

refuse 404 "unknown path" -H 'Content-Type: application/json' \
    -H 'tenant-id: acme' --data-binary "@$SEED" "$URL/api/nope"

refuse 405 "GET /api/push" -H 'tenant-id: acme' "$URL/api/push"
check_contains "Allow: POST" "$HTTP_HEADERS" "405 carries Allow: POST"

refuse 415 "Content-Type text/plain" -H 'Content-Type: text/plain' \
    -H 'tenant-id: acme' --data-binary "@$SEED" "$URL/api/push"

printf '%s' '{"streams":[{"stream":{"bad-name":"x"},"values":[["2024-01-01","a"]]}]}' \
    >"$T/badlabel.json"
refuse 400 "invalid label name" -H 'Content-Type: application/json' \
    -H 'tenant-id: acme' --data-binary "@$T/badlabel.json" "$URL/api/push"

{
	printf '{"streams":[{"stream":{"app":"x"},"values":[["2024-01-01","'
	head -c $((2 * 1024 * 1024)) /dev/zero | tr '\0' a
	printf '"]]}]}'
} >"$T/huge.json"
refuse 413 "2 MiB body over LOGTHRA_MAX_BODY_SIZE 1MiB" \
    -H 'Content-Type: application/json' -H 'tenant-id: acme' \
    --data-binary "@$T/huge.json" "$URL/api/push"
refuse 413 "2 MiB chunked body over LOGTHRA_MAX_BODY_SIZE 1MiB" \
    -H 'Content-Type: application/json' -H 'tenant-id: acme' \
    -H 'Transfer-Encoding: chunked' --data-binary "@$T/huge.json" \
    "$URL/api/push"

note "flush and look at the rows"
run "$FLUSH" -D "$SPOOL" -U "$CH_URL"
check_rc 0 "logthra-flush"
check_match '^flushed 3 files, 6 rows, [0-9]+ bytes in [0-9]+\.[0-9]+ s$' \
    "$RUN_OUT" "flush summary counts 3 files, 6 rows"
check_eq 0 "$(spool_files "$SPOOL")" "the spool is empty"

check_eq "acme	2
chunked	2
loki-tenant	2" "$(rows "SELECT tenant_id, count() FROM logs.log GROUP BY tenant_id ORDER BY tenant_id")" \
    "rows per tenant"
sid=$(fnv1a64 app=test-app level=info)
check_eq "acme	$sid	['app=test-app','level=info']	2024-01-01 00:00:00	1704067200000000000	ready	[]
acme	$sid	['app=test-app','level=info']	2024-01-01 00:00:00	1704067200000000000	starting up	[]" \
    "$(rows "SELECT tenant_id, stream_id, label, toString(toTimeZone(timestamp, 'UTC')),
    timestamp_ns, msg, metadata FROM logs.log WHERE tenant_id = 'acme'
    ORDER BY timestamp_ns, msg")" "the seed push's rows for acme"

finish
