#!/bin/bash
# Loki's live tail, /loki/api/v1/tail, through logthra-recv under
# systemd-socket-activate (the query front serves it on the same
# address), read by a real WebSocket client (`ws` from npm, through
# tests/clients/tail.js): the history since start, then entries pushed
# and flushed while the tail is open, with a line filter applied, each
# with its labels, timestamp and line exactly; the client's close
# answered; the tenant's limit of concurrent tails (set to 2 here) and
# tail_max_duration (10 s here) closing tails with Loki's words; a bad
# delay_for refused before the handshake; and CGI's 400 that says where
# to send a tail instead.
. "$(dirname "$0")/lib.sh"

need_clickhouse
need_inetd
need node nodejs npm npm python3 python3
need_built

CLIENTS=$abs_top_srcdir/tests/clients

lt_need_clients 18.0 ws

SPOOL=$T/spool
mkdir -p "$SPOOL"
start_clickhouse
CONF=$T/tail.conf
{
	cat "$T/base.conf"
	printf 'clickhouse_url = %s\n' "$CH_URL"
	printf 'tail_max_duration = 10s\n'
	printf 'max_concurrent_tail_requests = 2\n'
} >"$CONF"
chmod 644 "$CONF"
export LOGTHRA_CONFIG=$CONF
start_inetd "$SPOOL"
HTTP=$INETD_URL
WS=ws://127.0.0.1:$INETD_PORT/loki/api/v1/tail

flush() {
	run "$FLUSH" -D "$SPOOL"
	check_rc 0 "logthra-flush $1"
}

# Entry k of a push is at second S and k*1001 nanoseconds.
ns() { printf '%d%09d' "$1" $(($2 * 1001)); }

note "the history: an entry a minute ago"
OLD=$(($(date +%s) - 60))
cat >"$T/old.json" <<JSON
{"streams":[{"stream":{"app":"tail","env":"a"},"values":[
 ["$(ns "$OLD" 1)","keep old"],["$(ns "$OLD" 2)","drop old"]]}]}
JSON
push "$HTTP/loki/api/v1/push" "$T/old.json" -H 'X-Scope-OrgID: tail'
check_status 204 "push of the history"
flush "of the history"

# tail_start NAME QUERY PARAMS [ARG...]: tail.js (with ARGs) in the
# background on the tail of QUERY and the other PARAMS (&limit=1), its
# events in $T/NAME.events.
tail_start() {
	local name=$1 query=$2 params=$3
	shift 3
	: >"$T/$name.events"
	node "$CLIENTS/tail.js" --tenant tail --out "$T/$name.events" \
	    --url "$WS?query=$(python3 -c 'import sys, urllib.parse
print(urllib.parse.quote(sys.argv[1], safe=""))' "$query")$params" "$@" \
	    >"$T/$name.out" 2>&1 &
}

# wait_event NAME PATTERN SECONDS: until an event of NAME matches.
wait_event() {
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		grep -q -- "$2" "$T/$1.events" && return 0
		sleep 0.1
	done
	note "no event like $2 from $1 within $3 s"
	return 1
}

# entries NAME: labels, timestamp and line of every entry NAME got, in
# the order they came, one per line, tab-separated.
entries() {
	python3 - "$T/$1.events" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e['event'] != 'message':
        continue
    for s in e['data']['streams']:
        for v in s['values']:
            print('%s\t%s\t%s' % (json.dumps(s['stream'], sort_keys=True),
                                  v[0], v[1]))
PY
}

close_of() {
	python3 - "$T/$1.events" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e['event'] == 'close':
        print('%d %s' % (e['code'], e['reason']))
PY
}

note "two tails, the limit; a third is closed with Loki's message"
START=$(date +%s)
tail_start a '{app="tail"} |= "keep"' '&limit=10' --close-after 4
tail_start b '{app="tail"}' '&limit=1'
# Their first messages (the history) come after they took their slots.
opened=0
wait_event a '"message"' 10 && wait_event b '"message"' 10 && opened=1 || true
check_eq 1 "$opened" "both tails are open and sent their history"
tail_start c '{app="tail"}' ''
wait_event c '"close"' 10 || true
check_eq "1011 max concurrent tail requests limit exceeded, count > limit (3 > 2)" \
    "$(close_of c)" "the third tail is closed with Loki's words"

note "refused before the handshake: delay_for over 5"
tail_start d '{app="tail"}' '&delay_for=6'
wait_event d '"refused"' 10 || true
check_contains '"status":400' "$(cat "$T/d.events")" "delay_for=6 is a 400"
check_contains "delay_for can't be greater than 5" "$(cat "$T/d.events")" \
    "with Loki's message"

note "entries pushed while the tails are open"
NOW=$(date +%s)
cat >"$T/live.json" <<JSON
{"streams":[
 {"stream":{"app":"tail","env":"a"},"values":[
  ["$(ns "$NOW" 1)","keep one"],["$(ns "$NOW" 2)","drop two"],
  ["$(ns "$NOW" 3)","keep three"]]},
 {"stream":{"app":"tail","env":"b"},"values":[["$(ns "$NOW" 4)","keep four"]]},
 {"stream":{"app":"other"},"values":[["$(ns "$NOW" 5)","keep other"]]}]}
JSON
push "$HTTP/loki/api/v1/push" "$T/live.json" -H 'X-Scope-OrgID: tail'
check_status 204 "push while tailing"
flush "while tailing"
wait_event a '"close"' 15 || true
check_eq "{\"app\": \"tail\", \"env\": \"a\"}	$(ns "$OLD" 1)	keep old
{\"app\": \"tail\", \"env\": \"a\"}	$(ns "$NOW" 1)	keep one
{\"app\": \"tail\", \"env\": \"a\"}	$(ns "$NOW" 3)	keep three
{\"app\": \"tail\", \"env\": \"b\"}	$(ns "$NOW" 4)	keep four" \
    "$(entries a)" "the filtered tail got the history and the new entries, exactly"
check_eq "1000 " "$(close_of a)" "the client's close is answered with its code"

note "the closed tail's slot is free again"
tail_start e '{app="tail"}' '&limit=1' --close-after 1
wait_event e '"close"' 10 || true
check_eq "{\"app\": \"tail\", \"env\": \"b\"}	$(ns "$NOW" 4)	keep four" \
    "$(entries e)" "a new tail opens and gets the newest entry (limit=1)"

note "tail_max_duration ends the tail that stays"
wait_event b '"close"' 20 || true
check_eq "1011 reached tail max duration limit" "$(close_of b)" \
    "closed with Loki's words"
check_eq 1 "$(($(date +%s) - START >= 10))" "after 10 s, not before"
check_eq "{\"app\": \"tail\", \"env\": \"a\"}	$(ns "$OLD" 2)	drop old
{\"app\": \"tail\", \"env\": \"a\"}	$(ns "$NOW" 1)	keep one
{\"app\": \"tail\", \"env\": \"a\"}	$(ns "$NOW" 2)	drop two
{\"app\": \"tail\", \"env\": \"a\"}	$(ns "$NOW" 3)	keep three
{\"app\": \"tail\", \"env\": \"b\"}	$(ns "$NOW" 4)	keep four" \
    "$(entries b)" "the unfiltered tail got the newest old entry, then every new one"

note "through CGI a tail cannot work: 400 naming the way out"
run env GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=GET \
    REQUEST_URI='/loki/api/v1/tail?query=%7Bapp%3D%22tail%22%7D' \
    QUERY_STRING='query=%7Bapp%3D%22tail%22%7D' HTTP_X_SCOPE_ORGID=tail \
    "$QUERY" -m cgi
check_contains "Status: 400 Bad Request" "$RUN_OUT" "CGI answers 400"
check_contains "cannot pass through CGI" "$RUN_OUT" "saying why"
check_contains "inetd listener" "$RUN_OUT" "and where to send it"
finish
