#!/bin/bash
# Retried pushes are stored once (dedup_window, logthra-spool(5) RETRIED
# PUSHES).  A client sends a push, and its connection is cut right after
# the body went out, so it never sees the answer; it waits for the
# receiver to end, as a client waits out its timeout, and sends the same
# push again.  Under socket activation and behind nginx + fcgiwrap, with
# the default window: the retry is answered 204, and after a flush
# ClickHouse holds every entry exactly once.  With the window turned off
# for one tenant the same client stores its pushes twice, which shows the
# check can fail.  Also: a JSON push and the same entries as protobuf are
# one push; a retry after the first copy was flushed is still known; a
# flush removes records past the window.
#
# Environment: RETRY_ROUNDS=N cut-and-retry rounds per server (default 8).
. "$(dirname "$0")/lib.sh"

need_clickhouse
need_inetd
need_nginx
need python3 python3
need_built

ROUNDS=${RETRY_ROUNDS:-8}
[[ "$ROUNDS" =~ ^[0-9]+$ ]] && ((ROUNDS >= 1)) || die "RETRY_ROUNDS must be a number >= 1"

# The default window, as an operator has it; one tenant without.
unset LOGTHRA_DEDUP_WINDOW
CONF=$T/retry.conf
cat >"$CONF" <<'EOF'
[tenant no-dedup]
dedup_window = 0
EOF
chmod 644 "$CONF"
export LOGTHRA_CONFIG=$CONF

SPOOL_I=$T/spool-inetd
SPOOL_N=$T/spool-nginx
mkdir -p "$SPOOL_I" "$SPOOL_N"
start_clickhouse
start_inetd "$SPOOL_I"
start_nginx_fcgiwrap "$SPOOL_N"

rows() { ch_query "$1 FORMAT TSV"; }

# A client that sends one whole request and closes its end before it
# reads a byte of the answer, after DELAY_MS.
cat >"$T/cut.py" <<'EOF'
import socket, sys, time
port, tenant, path, delay_ms = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
body = open(sys.argv[5], 'rb').read()
head = ('POST /loki/api/v1/push HTTP/1.1\r\nHost: 127.0.0.1\r\n'
        'X-Scope-OrgID: %s\r\nContent-Type: application/json\r\n'
        'Content-Length: %d\r\n\r\n' % (tenant, len(body))).encode()
s = socket.create_connection(('127.0.0.1', port))
s.sendall(head + body)
time.sleep(delay_ms / 1000)
s.close()
EOF

# make_push FILE NAME N: a push of N entries "NAME-I" in two streams.
make_push() {
	awk -v name="$2" -v n="$3" 'BEGIN {
		printf "{\"streams\":["
		for (k = 0; k < 2; k++) {
			printf "%s{\"stream\":{\"app\":\"retry\",\"s\":\"%d\"},\"values\":[", (k ? "," : ""), k
			for (i = k; i < n; i += 2)
				printf "%s[\"1709251200%09d\",\"%s-%d\"]", (i > k ? "," : ""), i, name, i
			printf "]}"
		}
		printf "]}\n"
	}' >"$1"
}

# receivers SPOOL: the logthra-recv processes working on SPOOL (named in
# their arguments under inetd, in their environment under CGI).  Under
# valgrind (LT_VALGRIND=1) a receiver's name is memcheck's.
receivers() {
	local pid
	for pid in $(pgrep -x 'logthra-recv|memcheck-amd64-|memcheck-.*'); do
		cat "/proc/$pid/cmdline" "/proc/$pid/environ" 2>/dev/null |
		    tr '\0' '\n' | grep -qF -- "$1" && echo "$pid"
	done
	return 0
}

# wait_receivers SPOOL: until the receivers of SPOOL have ended, as a
# client's timeout outlasts the push it gave up on.
wait_receivers() {
	local i
	for ((i = 0; i < 300; i++)); do
		[[ -z "$(receivers "$1")" ]] && return 0
		sleep 0.02
	done
	note "logthra-recv still runs on $1 after 6 s"
}

# rounds NAME PORT URL SPOOL TENANT: ROUNDS pushes of entries NAME-R-I,
# each cut after its body and then retried.
rounds() {
	local name=$1 port=$2 url=$3 spool=$4 tenant=$5 r delay codes=
	for ((r = 1; r <= ROUNDS; r++)); do
		make_push "$T/push.json" "$name-$r" 5
		delay=$(((r - 1) * 7 % 40))
		python3 "$T/cut.py" "$port" "$tenant" /loki/api/v1/push "$delay" "$T/push.json"
		wait_receivers "$spool"
		push "$url/loki/api/v1/push" "$T/push.json" -H "X-Scope-OrgID: $tenant"
		codes+=" $HTTP_STATUS"
	done
	check_eq "$(printf ' 204%.0s' $(seq "$ROUNDS"))" "$codes" \
	    "$name: every retry after a cut connection -> 204"
}

note "socket activation: cut after the body, then the retry"
rounds inetd "$INETD_PORT" "$INETD_URL" "$SPOOL_I" acme
check_eq "$ROUNDS" "$(count_files "$SPOOL_I/tenants/acme/ready")" \
    "inetd: $ROUNDS pushes, $ROUNDS spool files (the first attempts were stored)"
check_eq "$ROUNDS" "$(find "$SPOOL_I/seen/acme" -type f | wc -l | tr -d ' ')" \
    "inetd: one record per push in seen/acme/"

note "nginx + fcgiwrap: cut after the body, then the retry"
rounds nginx "$NGINX_PORT" "$NGINX_URL" "$SPOOL_N" acme
# nginx may end a request whose client went away before it passed it on:
# then the retry is the first copy.  Either way one file per push.
check_eq "$ROUNDS" "$(count_files "$SPOOL_N/tenants/acme/ready")" \
    "nginx: $ROUNDS pushes, $ROUNDS spool files"

note "the same client with dedup_window = 0 for its tenant stores twice"
rounds off "$INETD_PORT" "$INETD_URL" "$SPOOL_I" no-dedup
check_eq "$((2 * ROUNDS))" "$(count_files "$SPOOL_I/tenants/no-dedup/ready")" \
    "no-dedup: every attempt stored"
check_eq 0 "$(find "$SPOOL_I/seen" -path '*/no-dedup/*' -type f | wc -l | tr -d ' ')" \
    "no-dedup: nothing recorded"

note "the same entries as JSON and as protobuf are one push"
cat >"$T/same.json" <<'EOF'
{"streams":[{"stream":{"app":"pb"},"values":[["1709251200000000001","same-1"],["1709251200000000002","same-2"]]}]}
EOF
loki_proto_push "$T/same.pb" '{app="pb"}' 1709251200 same-1 same-2
push "$INETD_URL/loki/api/v1/push" "$T/same.json" -H 'X-Scope-OrgID: formats'
check_status 204 "the JSON push"
http_req -H 'Content-Type: application/x-protobuf' -H 'X-Scope-OrgID: formats' \
    --data-binary "@$T/same.pb" "$INETD_URL/loki/api/v1/push"
check_status 204 "the same entries as protobuf"
check_eq 1 "$(count_files "$SPOOL_I/tenants/formats/ready")" "one spool file"
push "$INETD_URL/loki/api/v1/push" "$T/same.json" -H 'X-Scope-OrgID: other'
check_eq 1 "$(count_files "$SPOOL_I/tenants/other/ready")" \
    "another tenant's identical push is its own"

note "flush, then a late retry and old records"
# A record of a window long past, and one of the current window.
old=$(( ($(date +%s) / 3600 - 5) * 3600 ))
mkdir -p "$SPOOL_I/seen/acme/$old"
: >"$SPOOL_I/seen/acme/$old/0123"
run "$FLUSH" -D "$SPOOL_I" -U "$CH_URL"
check_rc 0 "logthra-flush of the socket-activated spool"
check_eq 0 "$([[ -e "$SPOOL_I/seen/acme/$old" ]] && echo 1 || echo 0)" \
    "the flush removed the bucket of five windows ago"
check_eq "$ROUNDS" "$(find "$SPOOL_I/seen/acme" -type f | wc -l | tr -d ' ')" \
    "and kept the current records"
make_push "$T/push.json" "inetd-$ROUNDS" 5
push "$INETD_URL/loki/api/v1/push" "$T/push.json" -H 'X-Scope-OrgID: acme'
check_status 204 "a retry after its first copy was flushed"
check_eq 0 "$(count_files "$SPOOL_I/tenants/acme/ready")" "is not stored again"
run "$FLUSH" -D "$SPOOL_N" -U "$CH_URL"
check_rc 0 "logthra-flush of the nginx spool"

# Expected, computed from the pushes: every entry of acme's pushes once,
# of no-dedup's twice.
for name in inetd nginx off; do
	for ((r = 1; r <= ROUNDS; r++)); do
		for ((i = 0; i < 5; i++)); do
			if [[ $name == off ]]; then
				printf '%s-%d-%d\t2\n' "$name" "$r" "$i"
			else
				printf '%s-%d-%d\t1\n' "$name" "$r" "$i"
			fi
		done
	done
done | sort >"$T/expected"
rows "SELECT msg, count() FROM logs.log WHERE tenant_id IN ('acme', 'no-dedup') GROUP BY msg" |
    sort >"$T/got"
check_eq "$(cat "$T/expected")" "$(cat "$T/got")" \
    "ClickHouse holds each entry once (twice for the tenant without dedup_window)"
check_eq "formats	2
other	2" "$(rows "SELECT tenant_id, count() FROM logs.log WHERE tenant_id IN ('formats', 'other') GROUP BY tenant_id ORDER BY tenant_id")" \
    "the JSON and protobuf push: its two entries once per tenant"

finish
