#!/bin/bash
# logthra-flush --follow against a real ClickHouse: entries pushed with
# logthra-recv in file mode are queryable within 3 s, for a tenant known
# at the start and for a new one; a burst of pushes makes few passes; a
# logthra-flush started meanwhile (by a timer, say) gives up as it always
# does; files that waited while ClickHouse was down go in by the
# periodic wake-up; SIGTERM and SIGINT end it with status 0, leaving
# nothing in ready/ or active/.
. "$(dirname "$0")/lib.sh"

need_clickhouse
need_built

SPOOL=$T/spool
mkdir -p "$SPOOL"
LOG=$T/follow.log
LIMIT_MS=3000

rows() { ch_query "$1 FORMAT TSV"; }

# Rows of a tenant (0 before the table exists).
tenant_rows() {
	rows "SELECT count() FROM logs.log WHERE tenant_id = '$1'" 2>/dev/null || echo 0
}

# Monotonic enough for intervals of seconds: bash's own clock, in ms.
now_ms() {
	local t=$EPOCHREALTIME
	echo $((${t%.*} * 1000 + 10#${t#*.} / 1000))
}

# wait_rows TENANT N LIMIT_MS: waits until ClickHouse holds N rows of
# TENANT; WAITED_MS is how long that took.  Returns 1 after LIMIT_MS.
wait_rows() {
	local tenant=$1 want=$2 limit=$3 t0
	t0=$(now_ms)
	while [[ "$(tenant_rows "$tenant")" != "$want" ]]; do
		WAITED_MS=$(($(now_ms) - t0))
		((WAITED_MS <= limit)) || return 1
		sleep 0.02
	done
	WAITED_MS=$(($(now_ms) - t0))
}

# Files in every tenant's ready/ and active/.
waiting_files() {
	find "$SPOOL/tenants" \( -path '*/ready/*' -o -path '*/active/*' \) \
	    -type f 2>/dev/null | wc -l | tr -d ' '
}

# Summary lines of passes that flushed something.
busy_passes() { grep -c '^flushed [1-9]' "$LOG" || true; }

# eventually COMMAND...: runs COMMAND until it succeeds, for up to 3 s.
# A pass prints its summary line and removes its files just after its
# rows are queryable; on a slow machine (valgrind) that takes a while.
eventually() {
	local i
	for ((i = 0; i < 150; i++)); do
		"$@" && return 0
		sleep 0.02
	done
	return 1
}
logged() { grep -Eq "$1" "$LOG"; }
spool_empty() { [[ "$(spool_files "$SPOOL")" == 0 ]]; }

# start_follow [ENV-AND-COMMAND-PREFIX...]: starts logthra-flush --follow
# on SPOOL and waits for its first pass (which creates the table).
start_follow() {
	: >"$LOG"
	lt_spawn follow "$LOG" "$@" "$FLUSH" --follow -v -D "$SPOOL" -U "$CH_URL"
	FOLLOW_PID=$LT_LAST_PID
	local i
	for ((i = 0; i < 300; i++)); do
		grep -q '^flushed ' "$LOG" && return 0
		alive "$FOLLOW_PID" || die "logthra-flush --follow exited at start: $(cat "$LOG")"
		sleep 0.05
	done
	die "logthra-flush --follow made no first pass within 15 s"
}

# Running and not a zombie.
alive() {
	local _pid _comm state
	read -r _pid _comm state _ 2>/dev/null <"/proc/$1/stat" || return 1
	[[ "$state" != Z ]]
}

# stop_follow SIGNAL: sends it, waits up to 10 s for the exit; sets
# FOLLOW_RC (or "still running") and STOP_MS.
stop_follow() {
	local t0 i
	t0=$(now_ms)
	kill -"$1" "$FOLLOW_PID"
	for ((i = 0; i < 1000; i++)); do
		alive "$FOLLOW_PID" || break
		sleep 0.01
	done
	STOP_MS=$(($(now_ms) - t0))
	if alive "$FOLLOW_PID"; then
		FOLLOW_RC="still running"
	else
		FOLLOW_RC=0
		wait "$FOLLOW_PID" || FOLLOW_RC=$?
	fi
	lt_stop_server "$FOLLOW_PID"
}

# push_file TENANT [SPOOL]: one push of the seed (2 entries) in file mode.
push_file() {
	run "$RECV" -T "$1" -D "${2:-$SPOOL}" "$SEED"
	[[ "$RUN_RC" == 0 ]] || die "logthra-recv -T $1 failed ($RUN_RC): $RUN_ERR"
}

start_clickhouse

note "the first pass, then it waits"
start_follow
check_match '^flushed 0 files, 0 rows, 0 bytes in [0-9]+\.[0-9]{3} s$' \
    "$(grep '^flushed ' "$LOG" | head -n 1)" "the first pass prints the usual summary line"
check_contains "following spool \"$SPOOL\"" "$(cat "$LOG")" "-v says it follows the spool"

note "a logthra-flush started meanwhile finds the lock taken"
run "$FLUSH" -D "$SPOOL" -U "$CH_URL"
check_rc 75 "logthra-flush while --follow runs"
check_contains "error: another logthra-flush or logthra-replay is running on spool \"$SPOOL\"" \
    "$RUN_ERR" "it says another logthra-flush is running"
run "$FLUSH" --follow -D "$SPOOL" -U "$CH_URL"
check_rc 75 "a second logthra-flush --follow"

note "a push to a tenant, then to a new tenant, queryable within 3 s"
push_file acme
if wait_rows acme 2 "$LIMIT_MS"; then
	ok "acme's 2 rows queryable ${WAITED_MS} ms after the push"
else
	fail "acme's rows not in ClickHouse ${LIMIT_MS} ms after the push"
fi
eventually logged '^flushed 1 files' || true
check_match $'(^|\n)flushed 1 files, 2 rows, [0-9]+ bytes in [0-9.]+ s($|\n)' \
    "$(cat "$LOG")" "the pass prints its summary line"
push_file newco
if wait_rows newco 2 "$LIMIT_MS"; then
	ok "a new tenant's 2 rows queryable ${WAITED_MS} ms after the push"
else
	fail "the new tenant's rows not in ClickHouse ${LIMIT_MS} ms after the push"
fi
# The new tenant's ready/ is watched now: a second push is seen at once
# too (the periodic wake-up is 30 s away).
push_file newco
if wait_rows newco 4 "$LIMIT_MS"; then
	ok "a second push to the new tenant queryable ${WAITED_MS} ms after it"
else
	fail "the new tenant's second push not in ClickHouse ${LIMIT_MS} ms after it"
fi

note "a burst of 20 pushes"
# Made in a spool of their own and moved into SPOOL's ready/ at once, as
# their receivers' last renames would be: how long a push takes (much
# longer under valgrind) must not spread the burst.
mkdir -p "$T/burst"
for i in $(seq 20); do push_file acme "$T/burst"; done
before=$(busy_passes)
mv "$T/burst/tenants/acme/ready/"* "$SPOOL/tenants/acme/ready/"
if wait_rows acme 42 "$LIMIT_MS"; then
	ok "the burst's 40 rows queryable ${WAITED_MS} ms after it arrived"
else
	fail "the burst's rows not in ClickHouse ${LIMIT_MS} ms after it arrived"
fi
burst_logged() { (($(busy_passes) > before)); }
eventually burst_logged || true
passes=$(($(busy_passes) - before))
note "the burst took $passes passes"
if ((passes >= 1 && passes < 20)); then
	ok "20 pushes were flushed in fewer passes ($passes)"
else
	fail "20 pushes were flushed in $passes passes"
fi
check_eq 0 "$(waiting_files)" "nothing waits in ready/ or active/"
check_eq 0 "$(rows "SELECT count() FROM (SELECT push_id, timestamp_ns, msg
    FROM logs.log GROUP BY push_id, timestamp_ns, msg HAVING count() > 1)")" \
    "no row is in ClickHouse twice"

note "SIGTERM ends it"
stop_follow TERM
check_eq 0 "$FOLLOW_RC" "logthra-flush --follow exits with 0 on SIGTERM"
if ((STOP_MS <= 2000)); then
	ok "it exits ${STOP_MS} ms after SIGTERM"
else
	fail "it took ${STOP_MS} ms to exit after SIGTERM"
fi
check_not_contains "error:" "$(cat "$LOG")" "no errors in its output"
check_eq 0 "$(waiting_files)" "nothing left in ready/ or active/"
run "$FLUSH" -D "$SPOOL" -U "$CH_URL"
check_rc 0 "the lock is free again: a normal run"

note "ClickHouse down: the periodic wake-up (retry_min_delay 1s) delivers later"
start_follow env --default-signal=INT LOGTHRA_RETRY_MIN_DELAY=1 LOGTHRA_RETRY_MAX_DELAY=1
have=$(tenant_rows acme)
stop_clickhouse
push_file acme
sleep 1.5
check_eq 1 "$(find "$SPOOL/tenants/acme" \( -path '*/ready/*' -o -path '*/deferred/*' \) -type f | wc -l | tr -d ' ')" \
    "the push waits in the spool while ClickHouse is down"
check_contains "error: could not ask ClickHouse for its version" \
    "$(cat "$LOG")" "the pass reports ClickHouse's absence"
restart_clickhouse
if wait_rows acme $((have + 2)) "$LIMIT_MS"; then
	ok "the waiting push is queryable ${WAITED_MS} ms after ClickHouse is back"
else
	fail "the waiting push not in ClickHouse ${LIMIT_MS} ms after ClickHouse is back"
fi
eventually spool_empty || true
check_eq 0 "$(spool_files "$SPOOL")" "the spool is empty"

note "SIGINT ends it too"
stop_follow INT
check_eq 0 "$FOLLOW_RC" "logthra-flush --follow exits with 0 on SIGINT"
if ((STOP_MS <= 2000)); then
	ok "it exits ${STOP_MS} ms after SIGINT"
else
	fail "it took ${STOP_MS} ms to exit after SIGINT"
fi

finish
