#!/bin/bash
# A broken configuration file under inetd (systemd-socket-activate) and
# CGI (nginx + fcgiwrap): every request gets 500 with the file:line error
# in its body and in the log, never an empty reply or a bare 502, and
# nothing reaches the spool; a password in the file stays out of the
# answer.  A credentials file that cannot be loaded gets 500 in both
# modes alike.  Then --check-config of every program: exit 0 on a good
# file, 1 and the file:line error on a bad one.
. "$(dirname "$0")/lib.sh"

need_nginx
need_inetd
need_built

SPOOL=$T/spool
mkdir -p "$SPOOL"
CONF=$T/logthra.conf
GOOD="dedup_window = 0
discover_log_levels = no"
# Line 3 is wrong; the password must never reach a client.
BAD="dedup_window = 0
clickhouse_password = hunter2-secret
max_body_size = lots"
WANT="$CONF:3: invalid value \"lots\" for setting \"max_body_size\""
conf() { printf '%s\n' "$1" >"$CONF"; chmod 644 "$CONF"; }
conf "$GOOD"
export LOGTHRA_CONFIG=$CONF

start_nginx_fcgiwrap "$SPOOL"
start_inetd "$SPOOL"
INETD_LOG=$T/inetd-$INETD_PORT.log
# CGI programs' standard error: fcgiwrap passes it to its own.
CGI_LOG=$T/fcgiwrap.log

note "a good file: pushes are stored"
push "$NGINX_URL/loki/api/v1/push" "$SEED" -H 'X-Scope-OrgID: acme'
check_status 204 "CGI push with a good file"
push "$INETD_URL/loki/api/v1/push" "$SEED" -H 'X-Scope-OrgID: acme'
check_status 204 "inetd push with a good file"
STORED=$(spool_files "$SPOOL")
check_eq 2 "$STORED" "two spool files"

conf "$BAD"

# broken WHAT URL CURL-ARGS...: a request that must get the 500.
broken() {
	local what=$1 url=$2
	shift 2
	http_req "$@" "$url"
	check_status 500 "$what"
	check_contains "configuration error: $WANT" "$HTTP_BODY" \
	    "$what: the body names the file, the line and the error"
	check_not_contains "hunter2" "$HTTP_BODY" "$what: no password in the body"
	check_eq "$STORED" "$(spool_files "$SPOOL")" "$what: nothing in the spool"
}

for mode in CGI inetd; do
	if [[ $mode == CGI ]]; then url=$NGINX_URL; else url=$INETD_URL; fi
	note "$mode with a broken file"
	broken "$mode push" "$url/loki/api/v1/push" \
	    -H 'Content-Type: application/json' -H 'X-Scope-OrgID: acme' \
	    --data-binary "@$SEED"
	check_eq 0 "$HTTP_CURL_RC" "$mode push: the answer arrived whole (curl exit 0)"
	broken "$mode query path" "$url/loki/api/v1/labels" -H 'X-Scope-OrgID: acme'
	broken "$mode /ready" "$url/ready"
	# OTLP's answer is a google.rpc.Status, the message in it.
	http_req -H 'Content-Type: application/json' -H 'X-Scope-OrgID: acme' \
	    --data-binary '{"resourceLogs":[]}' "$url/otlp/v1/logs"
	check_status 500 "$mode OTLP push"
	check_match '^\{"code":13,"message":"configuration error: ' "$HTTP_BODY" \
	    "$mode OTLP push: a JSON google.rpc.Status with the error"
done

note "inetd: the head is read first, the answer closes the connection"
check_contains "Connection: close" "$HTTP_HEADERS" "inetd answer says Connection: close"
head -c $((4 * 1024 * 1024)) /dev/zero | tr '\0' a >"$T/big.body"
broken "inetd push of a 4 MiB body" "$INETD_URL/loki/api/v1/push" \
    -H 'Content-Type: application/json' -H 'X-Scope-OrgID: acme' \
    --data-binary "@$T/big.body"
# A keep-alive client's second request never reaches a process that
# has no settings: curl reconnects, and gets the 500 again.
check_eq 500500 "$(curl -s --max-time 30 -o /dev/null -o /dev/null \
    -w '%{http_code}' "$INETD_URL/ready" "$INETD_URL/ready")" \
    "two requests on one curl: both answered 500"

note "the error is in the logs too"
check_contains "$WANT" "$(cat "$INETD_LOG")" "inetd: the error in the log"
check_contains "answered 500 to POST /loki/api/v1/push" "$(cat "$INETD_LOG")" \
    "inetd: the answer in the log"
check_contains "$WANT" "$(cat "$CGI_LOG")" "CGI: the error in the log"
check_contains "answered 500 to GET /loki/api/v1/labels" "$(cat "$CGI_LOG")" \
    "CGI: logthra-query's answer in the log"
check_not_contains "hunter2" "$(cat "$INETD_LOG" "$CGI_LOG")" \
    "no password in the logs"

note "a misspelt password line does not echo the password"
conf "clickhouse_password hunter2-secret = x"
http_req "$INETD_URL/ready"
check_status 500 "inetd: a line that is not name = value"
check_contains "$CONF:1: syntax error" "$HTTP_BODY" "the body names line 1"
check_not_contains "hunter2" "$HTTP_BODY" "the password is not in it"

note "a credentials file that cannot be loaded: 500 in both modes"
conf "$GOOD
credentials_file = $T/missing-credentials"
for url in "$NGINX_URL" "$INETD_URL"; do
	push "$url/loki/api/v1/push" "$SEED" -H 'X-Scope-OrgID: acme'
	check_status 500 "$url: push with an unloadable credentials file"
	check_contains "credentials_file could not be loaded" "$HTTP_BODY" \
	    "$url: the body says so"
done
check_eq "$STORED" "$(spool_files "$SPOOL")" "nothing in the spool"

note "logthra-query under inetd with a broken file"
conf "$BAD"
QPORT=$(free_port)
lt_spawn "query-inetd:$QPORT" "$T/query-inetd.log" \
    systemd-socket-activate --accept --inetd -l "127.0.0.1:$QPORT" \
    -E LOGTHRA_CONFIG="$CONF" "$QUERY"
wait_port "$QPORT" "$LT_LAST_PID" systemd-socket-activate \
    "$T/query-inetd.log" "Listening on" || die "systemd-socket-activate did not start"
broken "logthra-query inetd" "http://127.0.0.1:$QPORT/loki/api/v1/labels" \
    -H 'X-Scope-OrgID: acme'

note "--check-config"
conf "$GOOD"
printf '%s\n' "$BAD" >"$T/bad.conf"
for prog in "$RECV" "$FLUSH" "$REPLAY" "$QUERY"; do
	name=${prog##*/}
	run "$prog" -c "$CONF" --check-config
	check_rc 0 "$name --check-config on a good file"
	check_eq "$name: configuration file \"$CONF\" is valid" "$RUN_OUT" \
	    "$name says the file is valid"
	run "$prog" -c "$T/bad.conf" --check-config
	check_rc 1 "$name --check-config on a bad file"
	check_contains "$name: error: $T/bad.conf:3: invalid value \"lots\" for setting \"max_body_size\"" \
	    "$RUN_ERR" "$name names the file and the line"
	check_contains "$name: hint: " "$RUN_ERR" "$name gives a hint"
	LOGTHRA_CONFIG=$T/bad.conf run "$prog" --check-config
	check_rc 1 "$name --check-config on LOGTHRA_CONFIG's bad file"
done

note "--check-config reads the other files a program reads at start"
printf '%s\ncredentials_file = %s\n' "$GOOD" "$T/missing-credentials" >"$T/creds.conf"
run "$RECV" -c "$T/creds.conf" --check-config
check_rc 1 "logthra-recv: a credentials file that cannot be loaded"
check_contains "$T/missing-credentials" "$RUN_ERR" "the error names the file"
printf 'pw\n' >"$T/password"
chmod 644 "$T/password"
printf '%s\nclickhouse_password_file = %s\n' "$GOOD" "$T/password" >"$T/pw.conf"
run "$FLUSH" -c "$T/pw.conf" --check-config
check_rc 1 "logthra-flush: a password file readable by everyone"
check_contains "is readable by everyone" "$RUN_ERR" "the error says why"
printf '%s\ndatabase = no-such-name\n' "$GOOD" >"$T/db.conf"
run "$FLUSH" -c "$T/db.conf" --check-config
check_rc 1 "logthra-flush: an invalid database name"
chmod 600 "$T/password"
run "$QUERY" -c "$T/pw.conf" --check-config
check_rc 0 "logthra-query: a password file of its own"

finish
