#!/bin/bash
# logthra-flush --follow puts each (stream, day) into the streams index
# once, not once per pass: passes of a stream it has indexed send only
# the logs INSERT (counted by ClickHouse's InsertQuery event).  When the
# streams table is dropped under it and made anew, the streams go in
# again, so that every row that can be read still has its stream
# indexed (logthra(7), THE STREAMS INDEX).
. "$(dirname "$0")/lib.sh"

need_clickhouse
need_built

SPOOL=$T/spool
mkdir -p "$SPOOL"
LOG=$T/follow.log

start_clickhouse

inserts() { ch_query "SELECT value FROM system.events WHERE event = 'InsertQuery'"; }
tenant_rows() { ch_query "SELECT count() FROM logs.log WHERE tenant_id = 'acme'" 2>/dev/null || echo 0; }
indexed() { ch_query "SELECT count() FROM logs.log_streams FINAL WHERE tenant_id = 'acme' AND has(label, 'app=web')"; }

# push I: one entry "line-I" of stream {app="web"}, timestamped now.
push() {
	printf '{"streams":[{"stream":{"app":"web"},"values":[["%s","line-%s"]]}]}' \
	    "$(date +%s%N)" "$1" >"$T/push.json"
	run "$RECV" -T acme -D "$SPOOL" "$T/push.json"
	[[ "$RUN_RC" == 0 ]] || die "logthra-recv failed ($RUN_RC): $RUN_ERR"
}

# wait_rows N: until ClickHouse holds N rows of acme, for up to 20 s.
wait_rows() {
	local i
	for ((i = 0; i < 1000; i++)); do
		[[ "$(tenant_rows)" == "$1" ]] && return 0
		sleep 0.02
	done
	die "ClickHouse holds $(tenant_rows) rows of acme, not $1: $(tail -5 "$LOG")"
}

lt_spawn follow "$LOG" "$FLUSH" --follow --follow-delay=0 -v -D "$SPOOL" -U "$CH_URL"
FOLLOW_PID=$LT_LAST_PID
for ((i = 0; i < 300; i++)); do
	grep -q '^flushed ' "$LOG" && break
	sleep 0.05
done

# The first pass of the stream indexes it: two INSERTs.
before=$(inserts)
push 1
wait_rows 1
first=$(($(inserts) - before))
check_eq 2 "$first" "the first pass of a stream: its index row and its logs, 2 INSERTs"

# Three more passes of the same stream and day: one INSERT each.
before=$(inserts)
for i in 2 3 4; do
	push "$i"
	wait_rows "$i"
done
check_eq 3 "$(($(inserts) - before))" "three more passes of the stream: 3 INSERTs, the logs only"
check_eq 1 "$(indexed)" "the stream is in the index"

# The streams table dropped and made anew by the next pass: the stream
# goes in again.
ch_query "DROP TABLE logs.log_streams" >/dev/null
push 5
wait_rows 5
check_eq 1 "$(indexed)" "after the streams table was made anew, the stream is in it again"

kill "$FOLLOW_PID"
wait "$FOLLOW_PID" 2>/dev/null || true
finish
