#!/bin/bash
# OpenTelemetry logs over OTLP/HTTP end to end, under inetd
# (systemd-socket-activate) and CGI (nginx + fcgiwrap):
#  - OpenTelemetry's Node.js SDK (tests/clients/otlp-sdk.js) with its
#    protobuf and its JSON exporter, batch and simple processors, gzip or
#    not, to /otlp/v1/logs and /v1/logs: records with every attribute and
#    body type, trace context, severities, nanosecond times, attributes
#    over the SDK's limit; a resource without service.name;
#  - OTLP JSON written here, sent with curl: int64 as strings, hex ids,
#    the proto's own field names, enum names, gzip;
#  - per-tenant otlp_index_labels and otlp_drop_attributes;
#  - partial success (a line over the tenant's max_line_size), and every
#    error answer with its google.rpc.Status body: 400, 401, 413, 415,
#    429 and 503 with Retry-After;
# then logthra-flush, and every row in ClickHouse (labels, structured
# metadata, line, time to the nanosecond) compared with the rows
# tests/clients/otlp-expect.js works out from the same records by Loki's
# rules; and logthra-query finds them by service_name.
. "$(dirname "$0")/lib.sh"

need_clickhouse
need_inetd
need_nginx
need node nodejs npm npm gzip gzip
need_built

CLIENTS=$abs_top_srcdir/tests/clients
EXPECT=$CLIENTS/otlp-expect.js

lt_need_clients 18.19 "OpenTelemetry's SDK"

# --- settings and servers -------------------------------------------------------

# A small max_body_size for the 413 (the pushes here are a few KiB); a
# tenant with a tiny ingestion rate, one with a short max_line_size, one
# with its own OTLP lists.
CONF=$T/otlp.conf
{
	cat "$T/base.conf"
	cat <<'EOF'
max_body_size = 256KiB

[tenant otlp.slow]
ingestion_rate = 10
ingestion_burst_size = 1000

[tenant otlp.small]
max_line_size = 200

[tenant otlp.custom]
otlp_index_labels = service.name, host.name
otlp_drop_attributes = k8s.* lib.kind
EOF
} >"$CONF"
chmod 644 "$CONF"
export LOGTHRA_CONFIG=$CONF

SPOOL_I=$T/spool-inetd
SPOOL_N=$T/spool-nginx
mkdir -p "$SPOOL_I" "$SPOOL_N"
start_clickhouse
start_inetd "$SPOOL_I"
INETD=$INETD_URL
start_nginx_fcgiwrap "$SPOOL_N"
NGINX=$NGINX_URL

# --- the records ------------------------------------------------------------------

# Two minutes ago, with nanoseconds that milliseconds would lose.
BASE=$(($(date +%s) - 120))

# The main set: a resource with index labels and others, two scopes (one
# with a version and attributes, one with more attributes than the
# SDK's limit of 10), records with every body and attribute type.
cat >"$T/main.json" <<EOF
{"resource": {"service.name": "shop", "service.namespace": "retail",
   "k8s.namespace.name": "prod", "host.name": "node-1", "process.pid": 4242,
   "process.command_args": ["node", "app.js"], "process.debug": false},
 "limits": {"attributeCountLimit": 10},
 "scopes": [
  {"name": "checkout", "version": "1.2.3",
   "attributes": {"lib.kind": "http", "lib.level": 3},
   "records": [
    {"time": [$BASE, 123456789], "observed": [$((BASE + 1)), 5],
     "severityNumber": 9, "severityText": "INFO", "body": "order placed",
     "eventName": "order.placed",
     "attributes": {"s": "text", "b": true, "i": -42, "d": 2.5,
       "by": {"\$bytes": "AAEC/w=="}, "arr": [1, "a", true, 0.25],
       "kv": {"z": 1, "a": {"n": "<&>"}}, "http.status-code": 201},
     "trace": {"traceId": "0af7651916cd43dd8448eb211c80319c",
       "spanId": "b7ad6b7169203331", "traceFlags": 1}},
    {"time": [$BASE, 200000001], "observed": [$BASE, 200000002],
     "severityNumber": 17, "severityText": "ERROR", "body": 42},
    {"time": [$BASE, 300000003], "observed": [$BASE, 300000004],
     "body": 3.25, "attributes": {"tiny": 1e-7, "neg.tiny": -2.5e-8}},
    {"time": [$BASE, 400000005], "observed": [$BASE, 400000006],
     "severityNumber": 13, "body": {"msg": "x", "n": 1, "nested": {"b": true},
       "html": "<a&b>", "list": [1, 2.5, "three"]}},
    {"time": [$BASE, 500000007], "observed": [$BASE, 500000008],
     "body": [1, "two", {"three": 3}, [false]]},
    {"time": [$BASE, 600000009], "observed": [$BASE, 600000010],
     "body": true, "attributes": {"a1": 1, "a2": 2, "a3": 3, "a4": 4,
       "a5": 5, "a6": 6, "a7": 7, "a8": 8, "a9": 9, "a10": 10, "a11": 11,
       "a12": 12}},
    {"time": [$BASE, 700000011], "observed": [$BASE, 700000012],
     "body": "tab\there\nnew line, quote ' backslash \\\\ ünïcødé ☃"},
    {"time": [$BASE, 800000013], "observed": [$BASE, 800000014],
     "body": {"\$bytes": "aGVsbG8gYnl0ZXM="}},
    {"time": [$BASE, 900000015], "observed": [$BASE, 900000016],
     "body": "the record's host.name wins over the resource's",
     "attributes": {"host.name": "from-record", "lib.level": "record"}}
   ]},
  {"name": "db",
   "attributes": {"c1": 1, "c2": 2, "c3": 3, "c4": 4, "c5": 5, "c6": 6,
     "c7": 7, "c8": 8, "c9": 9, "c10": 10, "c11": 11},
   "records": [
    {"time": [$((BASE + 1)), 1], "observed": [$((BASE + 1)), 2],
     "severityNumber": 5, "severityText": "DEBUG", "body": "select 1",
     "trace": {"traceId": "4bf92f3577b34da6a3ce929d0e0e4736",
       "spanId": "00f067aa0ba902b7", "traceFlags": 0}}
   ]}
 ]}
EOF

# A resource without service.name: service_name is unknown_service.
cat >"$T/noservice.json" <<EOF
{"resource": {"k8s.namespace.name": "batch", "host.name": "node-2"},
 "scopes": [{"name": "cron", "records": [
   {"time": [$((BASE + 2)), 1], "observed": [$((BASE + 2)), 2], "body": "job one"},
   {"time": [$((BASE + 2)), 3], "observed": [$((BASE + 2)), 4], "body": "job two"}
 ]}]}
EOF

# --- the SDK through both transports ------------------------------------------------

# expect MODE FILE TENANT [OPTIONS]: the rows Loki would store for
# them are expected; otlp-expect.js works them all out at the end.
: >"$T/expect.jobs"
expect() {
	local IFS=$'\t'
	printf '%s\n' "$*" >>"$T/expect.jobs"
}

# sdk TENANT EXPORTER URL FILE [ARGS...]: the SDK pushes FILE's records;
# its report goes to $T/TENANT.report.
sdk() {
	local tenant=$1 exporter=$2 url=$3 file=$4
	shift 4
	run node "$CLIENTS/otlp-sdk.js" --exporter "$exporter" --url "$url" \
	    --tenant "$tenant" --records "$file" --report "$T/$tenant.report" "$@"
}

# report_field TENANT EXPR: a JavaScript expression over the report r.
report_field() {
	node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1]));
process.stdout.write(String(eval(process.argv[2])));' "$T/$1.report" "$2"
}

for tr in inetd nginx; do
	if [[ $tr == inetd ]]; then url=$INETD; else url=$NGINX; fi
	note "OpenTelemetry's SDK through $tr"
	# The protobuf exporter, batched, to Loki's path.
	sdk "otlp.$tr.proto" proto "$url/otlp/v1/logs" "$T/main.json"
	check_rc 0 "$tr: the SDK's protobuf exporter delivered 10 records"
	expect records "$T/main.json" "otlp.$tr.proto"
	# The JSON exporter, a request per record, gzip, to OTLP's own path.
	sdk "otlp.$tr.json" http "$url/v1/logs" "$T/main.json" --processor simple --gzip
	check_rc 0 "$tr: the SDK's JSON exporter (gzip, one request per record) delivered 10 records"
	expect records "$T/main.json" "otlp.$tr.json"
	check_eq "10 x application/json gzip 200" \
	    "$(report_field "otlp.$tr.json" 'r.exchanges.length + " x " +
	    [...new Set(r.exchanges.map((e) => e.contentType + " " + e.contentEncoding + " " + e.status))].join()')" \
	    "$tr: the JSON exporter's requests, each answered 200"
	# The protobuf exporter with gzip, a resource without service.name.
	sdk "otlp.$tr.noservice" proto "$url/otlp/v1/logs" "$T/noservice.json" --gzip
	check_rc 0 "$tr: the protobuf exporter with gzip, no service.name"
	expect records "$T/noservice.json" "otlp.$tr.noservice"
done

check_eq "POST /otlp/v1/logs application/x-protobuf null 200 application/x-protobuf" \
    "$(report_field otlp.inetd.proto 'r.exchanges.map((e) => [e.method, e.path,
    e.contentType, String(e.contentEncoding), e.status, e.responseType].join(" ")).join("\n")')" \
    "inetd: the protobuf exporter made one request, answered 200 in protobuf"
check_eq "none" "$(report_field otlp.inetd.proto 'r.exchanges[0].bodyBase64 === "" ? "none" :
    JSON.stringify(r.exchanges[0].body)')" \
    "inetd: the answer to a request stored whole is an empty ExportLogsServiceResponse"
check_eq "application/json" "$(report_field otlp.nginx.json 'r.exchanges[0].responseType')" \
    "nginx: the JSON exporter's answer is JSON"

note "per-tenant otlp_index_labels and otlp_drop_attributes"
sdk otlp.custom proto "$INETD/otlp/v1/logs" "$T/main.json"
check_rc 0 "tenant otlp.custom: the SDK delivered 10 records"
expect records "$T/main.json" otlp.custom --index-labels "service.name host.name" \
    --drop "k8s.* lib.kind"

# --- OTLP JSON written by hand ---------------------------------------------------------

# Every value type; int64 as strings (one over 2^53), ids in upper-case
# hex, the proto's field names in one record, enum names, a record with
# only an observed time, two resources.
T0=$BASE
cat >"$T/hand.json" <<EOF
{"resourceLogs": [
 {"resource": {"attributes": [
   {"key": "service.name", "value": {"stringValue": "hand"}},
   {"key": "deployment.environment.name", "value": {"stringValue": "test"}},
   {"key": "cloud.region", "value": {"stringValue": "eu-west-1"}},
   {"key": "host.id", "value": {"intValue": "9007199254740993"}}]},
  "scopeLogs": [{"scope": {"name": "hand-scope", "version": "0.1",
     "droppedAttributesCount": 2},
   "logRecords": [
    {"timeUnixNano": "$((T0 + 3))000000001", "observedTimeUnixNano": "$((T0 + 3))000000002",
     "severityNumber": "SEVERITY_NUMBER_WARN", "severityText": "Warning",
     "body": {"stringValue": "hand one"},
     "attributes": [
      {"key": "str", "value": {"stringValue": "a \"quoted\" <b>"}},
      {"key": "yes", "value": {"boolValue": true}},
      {"key": "no", "value": {"boolValue": false}},
      {"key": "neg", "value": {"intValue": "-9223372036854775808"}},
      {"key": "small", "value": {"intValue": 7}},
      {"key": "dbl", "value": {"doubleValue": 0.1}},
      {"key": "whole", "value": {"doubleValue": 3}},
      {"key": "exp", "value": {"doubleValue": 1.5e-9}},
      {"key": "raw", "value": {"bytesValue": "3q2+7w=="}},
      {"key": "list", "value": {"arrayValue": {"values": [
        {"stringValue": "x"}, {"intValue": "12345678901234"},
        {"kvlistValue": {"values": [{"key": "k", "value": {"doubleValue": 2.5}}]}},
        {"bytesValue": "AQI="}]}}},
      {"key": "map", "value": {"kvlistValue": {"values": [
        {"key": "inner.b", "value": {"boolValue": true}},
        {"key": "deep", "value": {"kvlistValue": {"values": [
          {"key": "leaf", "value": {"stringValue": "v"}}]}}}]}}}],
     "droppedAttributesCount": 3, "flags": 257,
     "traceId": "5B8EFFF798038103D269B633813FC60C", "spanId": "EEE19B7EC3C1B174"},
    {"time_unix_nano": "$((T0 + 3))000000003", "observed_time_unix_nano": "$((T0 + 3))000000004",
     "severity_number": 21, "severity_text": "FATAL",
     "body": {"kvlist_value": {"values": [{"key": "b", "value": {"int_value": "2"}},
       {"key": "a", "value": {"string_value": "one"}}]}},
     "attributes": [{"key": "snake", "value": {"bool_value": true}}],
     "trace_id": "5b8efff798038103d269b633813fc60c", "span_id": "eee19b7ec3c1b174"},
    {"observedTimeUnixNano": "$((T0 + 3))000000005",
     "body": {"arrayValue": {"values": [{"doubleValue": 1e21}, {"boolValue": false}]}}},
    {"timeUnixNano": "$((T0 + 3))000000006", "body": {"doubleValue": -0.5},
     "attributes": [{"key": "empty.list", "value": {"arrayValue": {}}}]}]}]},
 {"resource": {"attributes": [
   {"key": "k8s.pod.name", "value": {"stringValue": "pod-7"}}]},
  "scopeLogs": [{"logRecords": [
    {"timeUnixNano": "$((T0 + 3))000000007", "body": {"intValue": "-1"}}]}]}
]}
EOF
gzip -c "$T/hand.json" >"$T/hand.json.gz"

for tr in inetd nginx; do
	if [[ $tr == inetd ]]; then url=$INETD; else url=$NGINX; fi
	note "OTLP JSON by hand through $tr"
	http_req -H 'Content-Type: application/json' -H "X-Scope-OrgID: otlp.$tr.hand" \
	    --data-binary "@$T/hand.json" "$url/otlp/v1/logs"
	check_status 200 "$tr: OTLP JSON by hand"
	check_match '^Content-Type: application/json' "$(grep -i '^content-type' <<<"$HTTP_HEADERS")" \
	    "$tr: the answer to JSON is JSON"
	printf '%s' "$HTTP_BODY" >"$T/answer"
	check_eq none "$(node "$EXPECT" response "$T/answer" json 2>&1)" \
	    "$tr: an ExportLogsServiceResponse without partialSuccess ($HTTP_BODY)"
	expect request "$T/hand.json" "otlp.$tr.hand"
	http_req -H 'Content-Type: application/json' -H 'Content-Encoding: gzip' \
	    -H "X-Scope-OrgID: otlp.$tr.handgz" --data-binary "@$T/hand.json.gz" \
	    "$url/v1/logs"
	check_status 200 "$tr: OTLP JSON by hand, gzip"
	expect request "$T/hand.json" "otlp.$tr.handgz"
done

# --- partial success ------------------------------------------------------------------------

LONG=$(head -c 300 /dev/zero | tr '\0' L)
cat >"$T/partial.json" <<EOF
{"resource": {"service.name": "partial"},
 "scopes": [{"name": "p", "records": [
   {"time": [$((BASE + 4)), 1], "observed": [$((BASE + 4)), 1], "body": "short one"},
   {"time": [$((BASE + 4)), 2], "observed": [$((BASE + 4)), 2], "body": "long $LONG"},
   {"time": [$((BASE + 4)), 3], "observed": [$((BASE + 4)), 3], "body": "short two"}
 ]}]}
EOF
# What is stored: the two short ones.
node -e 'const fs = require("fs"); const s = JSON.parse(fs.readFileSync(process.argv[1]));
s.scopes[0].records.splice(1, 1); fs.writeFileSync(process.argv[2], JSON.stringify(s));' \
    "$T/partial.json" "$T/partial-stored.json"
node "$EXPECT" json-of-records "$T/partial.json" >"$T/partial-otlp.json"

for tr in inetd nginx; do
	if [[ $tr == inetd ]]; then url=$INETD; else url=$NGINX; fi
	note "partial success through $tr (max_line_size = 200 for tenant otlp.small)"
	sdk otlp.small proto "$url/otlp/v1/logs" "$T/partial.json"
	check_rc 0 "$tr: the SDK takes a partial success as delivered"
	check_eq 200 "$(report_field otlp.small 'r.exchanges[0].status')" "$tr: partial success is a 200"
	printf '%s' "$(report_field otlp.small 'r.exchanges[0].bodyBase64')" | base64 -d >"$T/answer"
	got=$(node "$EXPECT" response "$T/answer" proto 2>&1)
	note "$tr: partial_success: $got"
	check_match $'^1\t.+' "$got" "$tr: partial_success.rejected_log_records is 1, with a message"
	check_contains "too long" "$got" "$tr: the message says why"
	check_match "(record|entry) 2" "$got" "$tr: the message names the record"
	check_contains "Received Partial Success" "$(report_field otlp.small 'r.diag.join("\n")')" \
	    "$tr: the SDK read the partial success"
	expect records "$T/partial-stored.json" otlp.small

	# The same in JSON, by curl: the answer in JSON.
	http_req -H 'Content-Type: application/json' -H 'X-Scope-OrgID: otlp.small' \
	    --data-binary "@$T/partial-otlp.json" "$url/otlp/v1/logs"
	check_status 200 "$tr: a JSON push with a line over max_line_size"
	printf '%s' "$HTTP_BODY" >"$T/answer"
	got=$(node "$EXPECT" response "$T/answer" json 2>&1)
	check_match $'^"?1"?\t.*too long' "$got" "$tr: partialSuccess in JSON ($HTTP_BODY)"
	expect records "$T/partial-stored.json" otlp.small
done

# --- refusals ---------------------------------------------------------------------------------

# refused SPOOL STATUS CODE ENCODING WHAT CURL-ARGS...: STATUS, a
# google.rpc.Status body in ENCODING with gRPC code CODE and a message
# (checked by check_statuses, with one run of node for all), and no new
# spool file.
STATUS_N=0
STATUS_WANT=()
: >"$T/status.jobs"
refused() {
	local spool=$1 status=$2 code=$3 enc=$4 what=$5 before ctype
	shift 5
	before=$(spool_files "$spool")
	http_req "$@"
	check_status "$status" "$what"
	ctype=$(sed -n 's/^[Cc]ontent-[Tt]ype: *//p' <<<"$HTTP_HEADERS")
	if [[ $enc == json ]]; then
		check_eq application/json "$ctype" "$what: a JSON Status"
	else
		check_eq application/x-protobuf "$ctype" "$what: a protobuf Status"
	fi
	check_eq "$before" "$(spool_files "$spool")" "$what: no spool file"
	STATUS_N=$((STATUS_N + 1))
	cp "$T/http.body" "$T/status.$STATUS_N"
	printf 'status\t%s\t%s\n' "$T/status.$STATUS_N" "$enc" >>"$T/status.jobs"
	STATUS_WANT+=("$code	$what")
}

# check_statuses: the Status bodies refused() kept.
check_statuses() {
	local i=0 got code what
	node "$EXPECT" batch "$T/status.jobs" >"$T/status.got" 2>&1 || true
	while IFS= read -r got; do
		code=${STATUS_WANT[$i]%%$'\t'*}
		what=${STATUS_WANT[$i]#*$'\t'}
		note "$what: Status $got"
		check_match "^$code"$'\t.+' "$got" "$what: Status code $code with a message"
		i=$((i + 1))
	done <"$T/status.got"
	check_eq "$STATUS_N" "$i" "every Status body was read"
}

printf '\xff\xff\xff\xff\x0f' >"$T/garbage.bin"
printf '{"resourceLogs": [' >"$T/bad.json"
sed 's/"0af7651916cd43dd8448eb211c80319c"/"abc"/' <(node "$EXPECT" json-of-records "$T/main.json") \
    >"$T/badtrace.json"
head -c 300000 /dev/urandom | base64 -w0 |
    sed 's/.*/{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"stringValue":"&"}}]}]}]}/' \
    >"$T/big.json"
printf '{"resource": {"service.name": "slow"}, "scopes": [{"name": "s", "records": [
 {"time": [%d, 1], "body": "slow first %s"}]}]}' "$((BASE + 5))" \
    "$(head -c 600 /dev/zero | tr '\0' x)" >"$T/slow1.json"
sed 's/slow first/slow second/; s/, 1\]/, 2]/' "$T/slow1.json" >"$T/slow2.json"
node "$EXPECT" json-of-records "$T/slow1.json" >"$T/slow1-otlp.json"
node "$EXPECT" json-of-records "$T/slow2.json" >"$T/slow2-otlp.json"

for tr in inetd nginx; do
	if [[ $tr == inetd ]]; then
		url=$INETD spool=$SPOOL_I
	else
		url=$NGINX spool=$SPOOL_N
	fi
	note "refusals through $tr"
	refused "$spool" 400 3 proto "$tr: garbage protobuf" \
	    -H 'Content-Type: application/x-protobuf' -H "X-Scope-OrgID: otlp.$tr.bad" \
	    --data-binary "@$T/garbage.bin" "$url/otlp/v1/logs"
	refused "$spool" 400 3 json "$tr: malformed JSON" \
	    -H 'Content-Type: application/json' -H "X-Scope-OrgID: otlp.$tr.bad" \
	    --data-binary "@$T/bad.json" "$url/otlp/v1/logs"
	refused "$spool" 400 3 json "$tr: a traceId that is not 32 hex digits" \
	    -H 'Content-Type: application/json' -H "X-Scope-OrgID: otlp.$tr.bad" \
	    --data-binary "@$T/badtrace.json" "$url/otlp/v1/logs"
	check_contains "traceId" "$HTTP_BODY" "$tr: the 400 names the traceId"
	refused "$spool" 401 16 json "$tr: no tenant and no default_tenant" \
	    -H 'Content-Type: application/json' --data-binary "@$T/hand.json" \
	    "$url/otlp/v1/logs"
	refused "$spool" 413 8 json "$tr: a body over max_body_size" \
	    -H 'Content-Type: application/json' -H "X-Scope-OrgID: otlp.$tr.big" \
	    --data-binary "@$T/big.json" "$url/otlp/v1/logs"
	refused "$spool" 415 3 proto "$tr: Content-Type text/plain" \
	    -H 'Content-Type: text/plain' -H "X-Scope-OrgID: otlp.$tr.bad" \
	    --data-binary "@$T/hand.json" "$url/otlp/v1/logs"
	refused "$spool" 415 3 json "$tr: Content-Encoding br" \
	    -H 'Content-Type: application/json' -H 'Content-Encoding: br' \
	    -H "X-Scope-OrgID: otlp.$tr.bad" --data-binary "@$T/hand.json" \
	    "$url/otlp/v1/logs"

	http_req -H 'Content-Type: application/json' -H 'X-Scope-OrgID: otlp.slow' \
	    --data-binary "@$T/slow1-otlp.json" "$url/otlp/v1/logs"
	check_status 200 "$tr: tenant otlp.slow, a first push within its burst"
	expect records "$T/slow1.json" otlp.slow
	refused "$spool" 429 8 json "$tr: tenant otlp.slow over its ingestion_rate" \
	    -H 'Content-Type: application/json' -H 'X-Scope-OrgID: otlp.slow' \
	    --data-binary "@$T/slow2-otlp.json" "$url/otlp/v1/logs"
	check_match '^[1-9][0-9]*$' "$(sed -n 's/^[Rr]etry-[Aa]fter: *//p' <<<"$HTTP_HEADERS")" \
	    "$tr: the 429 carries Retry-After"
done

note "the SDK over the rate limit, with an export timeout shorter than Retry-After"
sdk otlp.slow proto "$INETD/otlp/v1/logs" "$T/slow2.json" --timeout 3000
check_rc 1 "the SDK reports the export as failed"
check_match '^429 [1-9][0-9]*$' "$(report_field otlp.slow 'r.exchanges.map((e) => e.status + " " + e.retryAfter).join("\n")')" \
    "the SDK got one 429 with Retry-After, and did not retry before it"

note "a spool short of space: 503 with Retry-After"
printf 'min_free_space = 1000000000GiB\n' >"$T/full.conf"
chmod 644 "$T/full.conf"
start_inetd "$SPOOL_I" -c "$T/full.conf"
refused "$SPOOL_I" 503 14 json "inetd: less free space than min_free_space" \
    -H 'Content-Type: application/json' -H 'X-Scope-OrgID: otlp.full' \
    --data-binary "@$T/hand.json" "$INETD_URL/otlp/v1/logs"
check_match '^[1-9][0-9]*$' "$(sed -n 's/^[Rr]etry-[Aa]fter: *//p' <<<"$HTTP_HEADERS")" \
    "the 503 carries Retry-After"

check_statuses

# --- flush and the rows ------------------------------------------------------------------------

note "logthra-flush"
for spool in "$SPOOL_I" "$SPOOL_N"; do
	run "$FLUSH" -D "$spool" -U "$CH_URL"
	check_rc 0 "logthra-flush -D $spool"
	check_eq 0 "$(spool_files "$spool")" "$spool is empty"
done

# check_file_eq WANT GOT WHAT: the files are equal, else a diff.
check_file_eq() {
	if cmp -s "$1" "$2"; then
		ok "$3"
	else
		fail "$3"
		lt_detail "diff expected actual" "$(diff "$1" "$2" | head -n 40)"
	fi
}

node "$EXPECT" batch "$T/expect.jobs" >"$T/want.tsv" || die "otlp-expect.js failed"
LC_ALL=C sort "$T/want.tsv" >"$T/want.sorted"
ch_query "SELECT tenant_id, label, timestamp_ns, msg, metadata FROM logs.log
    FORMAT TSV" | LC_ALL=C sort >"$T/got.sorted"
check_eq "$(cut -f1 "$T/want.sorted" | uniq -c)" "$(cut -f1 "$T/got.sorted" | uniq -c)" \
    "rows per tenant ($(wc -l <"$T/want.sorted") rows)"
check_file_eq "$T/want.sorted" "$T/got.sorted" \
    "every row: labels, timestamp_ns, line and structured metadata as Loki maps them"

# --- logthra-query by service_name ----------------------------------------------------------------

note "logthra-query finds the records by service_name"
export LOGTHRA_CLICKHOUSE_URL=$CH_URL
# query_entries: each entry of the last query's JSON answer, its line
# then the labels of its stream (Loki's answer adds the entry's
# structured metadata to them).
query_entries() {
	node -e 'const a = JSON.parse(require("fs").readFileSync(0, "utf8"));
for (const s of a.data.result)
	for (const v of s.values)
		console.log(JSON.stringify(v[1]) + " " + JSON.stringify({ ...s.stream, ...(v[2] || {}) }));' \
	    <<<"$RUN_OUT" 2>&1 || true
}
run "$QUERY" -T otlp.inetd.proto -o json --since=1h --limit=100 '{service_name="shop"}'
check_rc 0 '{service_name="shop"} for tenant otlp.inetd.proto'
got=$(query_entries)
check_eq 10 "$(grep -c '^"' <<<"$got" || true)" "logthra-query: the 10 records of service shop"
order=$(grep '^"order placed" ' <<<"$got" || true)
check_contains '"trace_id":"0af7651916cd43dd8448eb211c80319c"' "$order" \
    "logthra-query: \"order placed\" with its structured metadata (trace_id)"
check_contains '"service_namespace":"retail"' "$order" \
    "logthra-query: \"order placed\" with its stream's labels"
run "$QUERY" -T otlp.inetd.noservice -o json --since=1h \
    '{service_name="unknown_service"} | host_name="node-2"'
check_rc 0 '{service_name="unknown_service"} | host_name="node-2"'
check_contains '"job two" ' "$(query_entries)" \
    "logthra-query: a resource without service.name is unknown_service"

finish
