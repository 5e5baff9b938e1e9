#!/bin/bash
# Loki's push protocol end to end, under inetd (systemd-socket-activate)
# and CGI (nginx + fcgiwrap):
#  - fixture bodies from tests/clients/fixtures.js (built from
#    tests/proto/push.proto): Loki v1 JSON plain, gzip, deflate as zlib
#    and raw, identity and sniffed; the legacy JSON; protobuf + snappy
#    plain, with Content-Encoding snappy, gzip, sniffed and with unknown
#    fields; each to /loki/api/v1/push and /api/prom/push (JSON and
#    protobuf also to /api/push), all over one inetd connection;
#  - the real clients winston-loki (protobuf and JSON) and pino-loki;
#  - a partial push (400, the good entry stored), no tenant (401), a
#    gzip bomb (413), unknown Content-Type and Content-Encoding (415), a
#    tenant over its ingestion_rate (429 + Retry-After, nothing stored);
# then logthra-flush, and every row in ClickHouse to the nanosecond.
#
# The client libraries are installed with `npm ci` from
# tests/clients/package-lock.json into tests/clients-deps/ of the build
# tree, and reused while the lock file is unchanged.
. "$(dirname "$0")/lib.sh"

need_clickhouse
need_inetd
need_nginx
need node nodejs npm npm
need_built

CLIENTS=$abs_top_srcdir/tests/clients

# --- the client libraries ----------------------------------------------------

lt_need_clients 18.0 "the clients"

# --- fixtures and servers -------------------------------------------------------

FX=$T/fixtures
node "$CLIENTS/fixtures.js" gen "$FX" || die "fixtures.js gen failed"
BODIES=()
declare -A B_FILE B_TYPE B_ENC
while IFS=$'\t' read -r name _set file ctype cenc; do
	BODIES+=("$name")
	B_FILE[$name]=$FX/$file
	B_TYPE[$name]=$ctype
	B_ENC[$name]=$cenc
done <"$FX/manifest.tsv"
note "${#BODIES[@]} fixture bodies: ${BODIES[*]}"

# Settings for both transports: one tenant with a small ingestion rate.
# (The partial push needs no setting: its bad line is over Loki's
# default max_line_size of 256 KiB.)
cat >"$T/loki.conf" <<'EOF'
[tenant slow]
ingestion_rate = 10
ingestion_burst_size = 1000
EOF
chmod 644 "$T/loki.conf"
export LOGTHRA_CONFIG=$T/loki.conf

# logthra-recv under inetd runs through a wrapper that counts its starts,
# one per connection.
cat >"$T/recv-wrapper" <<EOF
#!/bin/sh
printf '%s\n' "\$\$" >>"$T/recv-starts"
exec "$RECV" "\$@"
EOF
chmod 755 "$T/recv-wrapper"
: >"$T/recv-starts"
recv_starts() { wc -l <"$T/recv-starts" | tr -d ' '; }

SPOOL_I=$T/spool-inetd
SPOOL_N=$T/spool-nginx
mkdir -p "$SPOOL_I" "$SPOOL_N"
start_clickhouse
REAL_RECV=$RECV
RECV=$T/recv-wrapper
start_inetd "$SPOOL_I"
RECV=$REAL_RECV
start_nginx_fcgiwrap "$SPOOL_N"

declare -A EP_PATH=([v1]=/loki/api/v1/push [prom]=/api/prom/push [push]=/api/push)
FX_PAIRS=() # TENANT=BODY of every fixture push answered 204

# body_args NAME: sets BARGS to the curl arguments that send the body.
body_args() {
	local name=$1
	BARGS=()
	if [[ "${B_TYPE[$name]}" == - ]]; then
		BARGS+=(-H 'Content-Type:')
	else
		BARGS+=(-H "Content-Type: ${B_TYPE[$name]}")
	fi
	if [[ "${B_ENC[$name]}" != - ]]; then
		BARGS+=(-H "Content-Encoding: ${B_ENC[$name]}")
	fi
	BARGS+=(--data-binary "@${B_FILE[$name]}")
}

# push_matrix TRANSPORT URL: every fixture body to /loki/api/v1/push and
# /api/prom/push with X-Scope-OrgID (JSON and protobuf also to /api/push
# with tenant-id), each for a tenant of its own, fx.TRANSPORT.BODY.ENDPOINT,
# all in one curl run.  Checks each status; sets MATRIX_N (requests) and
# MATRIX_CONNECTS (curl's num_connects per request, in order).
push_matrix() {
	local tr=$1 url=$2 ep name tenant hdr i=0 status connects rest
	local -a args=(-v) tenants=() names=() paths=()
	rm -rf "$T/matrix.$tr"
	mkdir -p "$T/matrix.$tr"
	for ep in v1 prom push; do
		hdr=X-Scope-OrgID
		[[ $ep != push ]] || hdr='tenant-id'
		for name in "${BODIES[@]}"; do
			if [[ $ep == push && $name != json && $name != proto ]]; then
				continue
			fi
			tenant=fx.$tr.$name.$ep
			body_args "$name"
			if ((i > 0)); then
				args+=(--next)
			fi
			args+=(-sS --max-time 60 -o "$T/matrix.$tr/$i.body"
			    -w "%{http_code} %{num_connects}\n"
			    -H "$hdr: $tenant" "${BARGS[@]}" "$url${EP_PATH[$ep]}")
			tenants+=("$tenant")
			names+=("$name")
			paths+=("${EP_PATH[$ep]}")
			i=$((i + 1))
		done
	done
	MATRIX_N=$i
	curl "${args[@]}" >"$T/matrix.$tr/out" 2>"$T/matrix.$tr/err" || true
	MATRIX_CONNECTS=
	i=0
	while read -r status connects rest; do
		MATRIX_CONNECTS+="$connects "
		HTTP_STATUS=$status
		HTTP_BODY=$(cat "$T/matrix.$tr/$i.body" 2>/dev/null || true)
		check_status 204 "$tr: ${names[$i]} to ${paths[$i]}"
		[[ "$status" != 204 ]] || FX_PAIRS+=("${tenants[$i]}=${names[$i]}")
		i=$((i + 1))
	done <"$T/matrix.$tr/out"
	check_eq "$MATRIX_N" "$i" "$tr: curl made all $MATRIX_N requests"
	if ((i != MATRIX_N)); then
		lt_detail "curl's messages" "$(grep -v '^[*<>{}]' "$T/matrix.$tr/err" | tail -n 5)"
	fi
}

# --- fixtures over one inetd connection -------------------------------------------

note "every fixture body over one keep-alive connection to logthra-recv under inetd"
starts=$(recv_starts)
push_matrix inetd "$INETD_URL"
want_connects="1 $(printf '0 %.0s' $(seq 2 "$MATRIX_N"))"
check_eq "$want_connects" "$MATRIX_CONNECTS" \
    "inetd: curl opened one connection for $MATRIX_N requests (num_connects 1, then 0)"
check_eq $((MATRIX_N - 1)) "$(grep -c 'Re-using existing connection' "$T/matrix.inetd/err" || true)" \
    "inetd: curl -v re-used the connection $((MATRIX_N - 1)) times"
check_eq 1 $(($(recv_starts) - starts)) \
    "inetd: one logthra-recv process served all $MATRIX_N requests"

note "every fixture body through nginx + fcgiwrap"
push_matrix nginx "$NGINX_URL"

# --- real clients --------------------------------------------------------------------

CLIENT_N=120
CLIENT_TENANTS=()
# client TRANSPORT URL KIND: KIND is winston-proto, winston-json or pino.
client() {
	local tr=$1 url=$2 kind=$3 tenant=$1.$3
	case $kind in
	winston-proto) run node "$CLIENTS/winston.js" --url "$url" --tenant "$tenant" \
	    --marker "$tenant" --count "$CLIENT_N" ;;
	winston-json) run node "$CLIENTS/winston.js" --url "$url" --tenant "$tenant" \
	    --marker "$tenant" --count "$CLIENT_N" --json ;;
	pino) run node "$CLIENTS/pino.js" --url "$url" --tenant "$tenant" \
	    --marker "$tenant" --count "$CLIENT_N" ;;
	esac
	check_rc 0 "$tr: $kind pushed $CLIENT_N lines"
	if ((RUN_RC == 0)) && [[ -n "$RUN_ERR" ]]; then
		printf '%s\n' "$RUN_ERR" | sed 's/^/# /'
	fi
	CLIENT_TENANTS+=("$tenant")
}
for tr in inetd nginx; do
	if [[ $tr == inetd ]]; then url=$INETD_URL; else url=$NGINX_URL; fi
	note "real clients through $tr"
	client "$tr" "$url" winston-proto
	client "$tr" "$url" winston-json
	client "$tr" "$url" pino
done

# --- partial pushes and refusals -----------------------------------------------------------

now_ns() { printf '%s000000000' "$(($(date +%s) - 30))"; }

{
	printf '{"streams":[{"stream":{"app":"partial"},"values":['
	printf '["%s","partial: the good entry"],' "$(now_ns)"
	printf '["%s","partial: the bad entry ' "$(now_ns)"
	head -c 300000 /dev/zero | tr '\0' a
	printf '"]]}]}'
} >"$T/partial.json"

printf '{"streams":[{"stream":{"app":"slow"},"values":[["%s","slow-first %s"]]}]}' \
    "$(now_ns)" "$(head -c 600 /dev/zero | tr '\0' x)" >"$T/slow1.json"
printf '{"streams":[{"stream":{"app":"slow"},"values":[["%s","slow-second %s"]]}]}' \
    "$(now_ns)" "$(head -c 600 /dev/zero | tr '\0' x)" >"$T/slow2.json"

note "a gzip bomb: 200 MB of zeros, compressed as a stream"
head -c 200000000 /dev/zero | gzip -c >"$T/bomb.gz"
note "bomb.gz is $(stat -c %s "$T/bomb.gz") bytes"

# refuse SPOOL STATUS WHAT CURL-ARGS...: STATUS and no new spool file.
refuse() {
	local spool=$1 status=$2 what=$3 before
	shift 3
	before=$(spool_files "$spool")
	http_req "$@"
	check_status "$status" "$what"
	check_eq "$before" "$(spool_files "$spool")" "$what: no spool file"
}

for tr in inetd nginx; do
	if [[ $tr == inetd ]]; then
		url=$INETD_URL spool=$SPOOL_I
	else
		url=$NGINX_URL spool=$SPOOL_N
	fi
	note "partial push and refusals through $tr"

	before=$(spool_files "$spool")
	push "$url/loki/api/v1/push" "$T/partial.json" -H "X-Scope-OrgID: $tr.partial"
	check_status 400 "$tr: a push with one good entry and one line over max_line_size"
	note "$tr: the 400 says: $(head -c 300 <<<"$HTTP_BODY" | tr '\n' ' ')"
	check_contains "too long" "$HTTP_BODY" "$tr: the 400 says why the entry was rejected"
	check_match 'entry 2' "$HTTP_BODY" "$tr: the 400 names the rejected entry"
	check_not_contains "good entry" "$HTTP_BODY" "$tr: the 400 does not list the good entry"
	check_eq $((before + 1)) "$(spool_files "$spool")" "$tr: the good entry was spooled"

	refuse "$spool" 401 "$tr: no tenant header" -H 'Content-Type: application/json' \
	    --data-binary "@${B_FILE[json]}" "$url/loki/api/v1/push"

	refuse "$spool" 413 "$tr: gzip bomb of 200 MB" -H 'Content-Type: application/json' \
	    -H 'Content-Encoding: gzip' -H "X-Scope-OrgID: $tr.bomb" \
	    --data-binary "@$T/bomb.gz" "$url/loki/api/v1/push"

	refuse "$spool" 415 "$tr: Content-Type text/plain" -H 'Content-Type: text/plain' \
	    -H "X-Scope-OrgID: $tr.badtype" --data-binary "@${B_FILE[json]}" \
	    "$url/loki/api/v1/push"
	refuse "$spool" 415 "$tr: Content-Encoding br" -H 'Content-Type: application/json' \
	    -H 'Content-Encoding: br' -H "X-Scope-OrgID: $tr.badtype" \
	    --data-binary "@${B_FILE[json]}" "$url/loki/api/v1/push"

	push "$url/loki/api/v1/push" "$T/slow1.json" -H 'X-Scope-OrgID: slow'
	check_status 204 "$tr: tenant slow, a first push within its burst"
	refuse "$spool" 429 "$tr: tenant slow, a second push over its ingestion_rate" \
	    -H 'Content-Type: application/json' -H 'X-Scope-OrgID: slow' \
	    --data-binary "@$T/slow2.json" "$url/loki/api/v1/push"
	retry=$(sed -n 's/^[Rr]etry-[Aa]fter: *//p' <<<"$HTTP_HEADERS")
	check_match '^[1-9][0-9]*$' "$retry" \
	    "$tr: the 429 carries Retry-After in whole seconds ($retry)"
done

# --- flush and the rows -------------------------------------------------------------------------

note "logthra-flush"
for spool in "$SPOOL_I" "$SPOOL_N"; do
	run "$FLUSH" -D "$spool" -U "$CH_URL"
	check_rc 0 "logthra-flush -D $spool"
	check_eq 0 "$(spool_files "$spool")" "$spool is empty"
done

rows() { ch_query "$1 FORMAT TSV"; }

# check_file_eq WANT GOT WHAT: the files are equal, else a diff.
check_file_eq() {
	if cmp -s "$1" "$2"; then
		ok "$3"
	else
		fail "$3"
		lt_detail "diff expected actual" "$(diff "$1" "$2" | head -n 40)"
	fi
}

note "the fixture rows, exactly, once per transport and endpoint"
node "$CLIENTS/fixtures.js" expect "$FX" "${FX_PAIRS[@]}" >"$T/fx.want"
rows "SELECT tenant_id, label, timestamp_ns, msg, metadata FROM logs.log
    WHERE tenant_id LIKE 'fx.%' ORDER BY tenant_id, timestamp_ns, msg" >"$T/fx.got"
check_eq "$(cut -f1 "$T/fx.want" | uniq -c)" "$(cut -f1 "$T/fx.got" | uniq -c)" \
    "rows per fixture tenant ($(wc -l <"$T/fx.want") rows for ${#FX_PAIRS[@]} pushes)"
check_file_eq "$T/fx.want" "$T/fx.got" \
    "every fixture row: labels, timestamp_ns, msg and structured metadata"

note "the clients' lines, each exactly once"
host=$(uname -n)
for tenant in "${CLIENT_TENANTS[@]}"; do
	kind=${tenant#*.}
	case $kind in
	winston-proto) label="['format=protobuf','job=winston-loki','level=info']" ;;
	winston-json) label="['format=json','job=winston-loki','level=info']" ;;
	pino) label="['hostname=$host','job=pino-loki','level=info']" ;;
	esac
	for ((i = 1; i <= CLIENT_N; i++)); do
		case $kind in
		winston-proto) md="[]" ;;
		winston-json) md="['level=info','seq=$i']" ;;
		pino) md="['seq=$i']" ;;
		esac
		printf '%s\t%s-%04d\t%s\n' "$label" "$tenant" "$i" "$md"
	done >"$T/client.want"
	rows "SELECT label, msg, metadata FROM logs.log WHERE tenant_id = '$tenant'
	    ORDER BY msg, timestamp_ns" >"$T/client.got"
	check_file_eq "$T/client.want" "$T/client.got" \
	    "$tenant: all $CLIENT_N markers once, with their labels and metadata"
done

note "partial pushes and refusals in ClickHouse"
for tr in inetd nginx; do
	check_eq "partial: the good entry" \
	    "$(rows "SELECT msg FROM logs.log WHERE tenant_id = '$tr.partial'")" \
	    "$tr: the partial push stored its good entry only"
done
check_eq "slow-first	2" \
    "$(rows "SELECT substring(msg, 1, 10), count() FROM logs.log
    WHERE tenant_id = 'slow' GROUP BY substring(msg, 1, 10)")" \
    "tenant slow: the first push from each transport, nothing of the refused ones"

want_tenants=$(printf '%s\n' "${FX_PAIRS[@]%%=*}" "${CLIENT_TENANTS[@]}" \
    inetd.partial nginx.partial slow | LC_ALL=C sort)
check_eq "$want_tenants" "$(rows "SELECT DISTINCT tenant_id FROM logs.log ORDER BY tenant_id")" \
    "no other tenant has rows (nothing of the 401, 413, 415 and 429 pushes)"

finish
