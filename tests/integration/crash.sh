#!/bin/bash
# Crash test against a real ClickHouse: pushes known entries, kills
# logthra-flush (phase A), clickhouse-server (phase B) and logthra-recv
# (phase C) with SIGKILL at random moments, lets the system recover, and
# asserts that ClickHouse ends up holding every acknowledged entry
# exactly once (and every other entry at most once).
#
# Environment:
#   CRASH_KILLS=N   kill points to reach in all (default 220, about 2-3
#                   minutes; e.g. CRASH_KILLS=5000 for a long run by hand)
#   CRASH_SEED=N    seed for bash's RANDOM (printed; replays the same
#                   choices, though not the same timing)
# A kill point is a SIGKILL that hit a process that was still running.
. "$(dirname "$0")/lib.sh"

need_clickhouse
need_inetd
need_built

KILLS=${CRASH_KILLS:-220}
[[ "$KILLS" =~ ^[0-9]+$ ]] && ((KILLS >= 3)) || die "CRASH_KILLS must be a number >= 3"
CRASH_SEED=${CRASH_SEED:-$RANDOM}
[[ "$CRASH_SEED" =~ ^[0-9]+$ ]] || die "CRASH_SEED must be a number"
RANDOM=$CRASH_SEED
note "seed $CRASH_SEED (replay the choices with CRASH_SEED=$CRASH_SEED), $KILLS kill points"

# Kill points per phase: most go to logthra-flush; ClickHouse restarts
# are slow, so they get few.
KILLS_B=$((KILLS / 25))
((KILLS_B >= 1)) || KILLS_B=1
KILLS_C=$((KILLS / 10))
((KILLS_C >= 2)) || KILLS_C=2
KILLS_A=$((KILLS - KILLS_B - KILLS_C))
((KILLS_A >= 1)) || KILLS_A=1
note "phase A $KILLS_A flush kills, phase B $KILLS_B ClickHouse kills, phase C $KILLS_C receiver kills"

SPOOL=$T/spool
mkdir -p "$SPOOL"
PUSHES=$T/pushes     # "PUSH N ACK" per push attempted; ACK 1 or 0
: >"$PUSHES"
TENANTS=(crash-a crash-b)

start_clickhouse

# Deferred files are due at once, and INSERTs are small, so that one
# flush does many of them and each kill can land anywhere.
export LOGTHRA_SPOOL=$SPOOL
export LOGTHRA_CLICKHOUSE_URL=$CH_URL
export LOGTHRA_RETRY_MIN_DELAY=0 LOGTHRA_RETRY_MAX_DELAY=0
export LOGTHRA_BATCH_MAX_ROWS=50

rows() { ch_query "$1 FORMAT TSV"; }

# Rows in the table (0 before the first flush created it).
row_count() { rows "SELECT count() FROM logs.log" 2>/dev/null || echo 0; }

# rand N: a number in [0, N).
rand() { R=$(((RANDOM * 32768 + RANDOM) % $1)); }

# sleep_ms MS: sleeps MS milliseconds (0 sleeps not at all).
sleep_ms() {
	(($1 > 0)) || return 0
	sleep "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))"
}

# now_ms: milliseconds since the epoch.
now_ms() { local t=$EPOCHREALTIME; R=$((${t%.*} * 1000 + 10#${t#*.} / 1000)); }

# make_push FILE PUSH N STREAMS DAYS: a push payload with N entries whose
# messages are "crash-PUSH-I" (I from 0), spread over STREAMS streams and
# DAYS UTC days (so that one push needs several INSERTs), in March 2024.
make_push() {
	awk -v p="$2" -v n="$3" -v s="$4" -v d="$5" 'BEGIN {
		printf "{\"streams\":["
		for (k = 0; k < s; k++) {
			printf "%s{\"stream\":{\"app\":\"crash\",\"s\":\"%d\"},\"values\":[", (k ? "," : ""), k
			first = 1
			for (i = k; i < n; i += s) {
				# The days move on every 50 pushes, so that no
				# partition collects too many small parts.
				day = (int(i / s) + k + p) % d + int(p / 50) % 20 * 3
				sec = 1709251200 + day * 86400 + p % 80000
				printf "%s[\"%d%09d\",\"crash-%d-%d\"]", (first ? "" : ","), sec, i, p, i
				first = 0
			}
			printf "]}"
		}
		printf "]}\n"
	}' >"$1"
}

PUSH=0
PUSH_ACKED=0
PUSH_UNACKED=0

# push_file TENANT N STREAMS DAYS: one push in file mode, run to the end;
# it must be acknowledged.
push_file() {
	PUSH=$((PUSH + 1))
	make_push "$T/push.json" "$PUSH" "$2" "$3" "$4"
	run "$RECV" -T "$1" "$T/push.json"
	if ((RUN_RC == 0)); then
		printf '%d %d 1\n' "$PUSH" "$2" >>"$PUSHES"
		PUSH_ACKED=$((PUSH_ACKED + 1))
	else
		printf '%d %d 0\n' "$PUSH" "$2" >>"$PUSHES"
		fail "logthra-recv -T $1 (push $PUSH) exits 0"
		lt_detail "exit status" "$RUN_RC"
		lt_detail stderr "$RUN_ERR"
	fi
}

# Unexpected exit statuses, collected so that one bad binary does not
# print hundreds of failures; checked at the end.
UNEXPECTED=$T/unexpected
: >"$UNEXPECTED"
unexpected() { printf '%s\n' "$*" >>"$UNEXPECTED"; }

spool_pending() {
	find "$SPOOL/tenants" -mindepth 3 -maxdepth 3 -type f \
	    \( -path "$SPOOL/tenants/*/ready/*" -o -path "$SPOOL/tenants/*/active/*" \
	    -o -path "$SPOOL/tenants/*/deferred/*" \) \
	    2>/dev/null | wc -l | tr -d ' '
}

recover() {
	run "$REPLAY" --recover "$@"
	((RUN_RC == 0)) || unexpected "logthra-replay --recover $* exited $RUN_RC: $RUN_ERR"
	RECOVERS=$((RECOVERS + 1))
}
RECOVERS=0

# --- phase A: kill logthra-flush --------------------------------------------

note "phase A: SIGKILL logthra-flush at random moments"
declare -A FLUSH_RC=() KILL_WHERE=()
kills_a=0
flush_ms=100    # how long a flush runs, learned from complete runs
round=0
quick=0         # this round starts a flush at once after the last kill
t0=$SECONDS
while ((kills_a < KILLS_A && round < KILLS_A * 5)); do
	round=$((round + 1))
	was_quick=$quick
	quick=0
	# A few pushes per round: some large, some spanning days and streams.
	# None in a quick round: the new flush then starts while an INSERT
	# that the killed one sent may still be under way in ClickHouse.
	# (The count is kept apart from R, which rand overwrites in the loop.)
	rand 4
	n_pushes=$((R + 1))
	((was_quick == 0)) || n_pushes=0
	for ((j = 0; j < n_pushes; j++)); do
		rand 2
		tenant=${TENANTS[$R]}
		rand 8
		case $R in
		0) n=1 s=1 d=1 ;;
		1 | 2) rand 120; n=$((R + 1)) s=1 d=1 ;;
		3 | 4 | 5) rand 200; n=$((R + 1)) s=3 d=2 ;;
		*) rand 400; n=$((R + 100)) s=4 d=3 ;;
		esac
		push_file "$tenant" "$n" "$s" "$d"
	done

	# Mostly kill it, now and then let it finish (and learn how long a
	# flush of such a spool takes, so that the kills cover the whole run).
	rand 8
	if ((R == 0)); then
		now_ms
		start=$R
		run "$FLUSH"
		now_ms
		flush_ms=$(((flush_ms + R - start) / 2))
		((flush_ms >= 20)) || flush_ms=20
		FLUSH_RC[$RUN_RC]=$((${FLUSH_RC[$RUN_RC]:-0} + 1))
		((RUN_RC == 0)) || unexpected "phase A: complete flush exited $RUN_RC: $RUN_ERR"
	else
		max=$((flush_ms * 3 / 2))
		((max <= 300)) || max=300
		rand $((max + 1))
		delay=$R
		before=-1
		((was_quick)) || before=$(row_count)
		: >"$T/flush.out"; : >"$T/flush.err" # not left from the last run if killed at once
		"$FLUSH" >"$T/flush.out" 2>"$T/flush.err" &
		pid=$!
		sleep_ms "$delay"
		kill -KILL "$pid" 2>/dev/null || true
		rc=0
		wait "$pid" 2>/dev/null || rc=$?
		FLUSH_RC[$rc]=$((${FLUSH_RC[$rc]:-0} + 1))
		case $rc in
		137)
			kills_a=$((kills_a + 1))
			rand 4
			quick=$((R == 0))
			((quick == 0 && before >= 0)) || continue
			# Where did it land?  (Roughly: an INSERT the dead run
			# sent may still be under way.)
			claims=$(find "$SPOOL/tenants" -mindepth 3 -maxdepth 3 -type f \
			    -path "$SPOOL/tenants/*/active/*" | wc -l)
			if (($(row_count) == before)); then
				KILL_WHERE[before-insert]=$((${KILL_WHERE[before-insert]:-0} + 1))
			elif ((claims > 0)); then
				KILL_WHERE[between-inserts]=$((${KILL_WHERE[between-inserts]:-0} + 1))
			else
				KILL_WHERE[after-inserts]=$((${KILL_WHERE[after-inserts]:-0} + 1))
			fi
			;;
		0) ;;
		*) unexpected "phase A: flush exited $rc: $(cat "$T/flush.err")" ;;
		esac
	fi
	# --recover must be safe whenever no flush runs.
	rand 10
	((R != 0)) || recover
done
rcs=
for rc in "${!FLUSH_RC[@]}"; do rcs+=" exit $rc: ${FLUSH_RC[$rc]};"; done
note "phase A: $round rounds, $kills_a flush kills in $((SECONDS - t0)) s (flush runs $flush_ms ms;$rcs $PUSH pushes so far)"
note "phase A kills: ${KILL_WHERE[before-insert]:-0} before any INSERT was committed, ${KILL_WHERE[between-inserts]:-0} after one with claims left in active/, ${KILL_WHERE[after-inserts]:-0} after all, $((kills_a - ${KILL_WHERE[before-insert]:-0} - ${KILL_WHERE[between-inserts]:-0} - ${KILL_WHERE[after-inserts]:-0})) with a flush at once before or after"
check_eq "$KILLS_A" "$kills_a" "phase A reached $KILLS_A kills of a running logthra-flush"

# --- phase B: kill clickhouse-server --------------------------------------------

note "phase B: SIGKILL clickhouse-server while logthra-flush runs"
kills_b=0
declare -A FLUSH_RC_B=()
t0=$SECONDS
for ((round = 0; round < KILLS_B; round++)); do
	rand 3
	n_pushes=$((R + 1))
	for ((j = 0; j < n_pushes; j++)); do
		rand 300
		push_file "${TENANTS[$((j % 2))]}" "$((R + 50))" 3 3
	done
	rand 200
	delay=$R
	: >"$T/flush.out"; : >"$T/flush.err" # not left from the last run if killed at once
	timeout -k 5 120 "$FLUSH" >"$T/flush.out" 2>"$T/flush.err" &
	pid=$!
	sleep_ms "$delay"
	kill_clickhouse
	kills_b=$((kills_b + 1))
	rc=0
	wait "$pid" 2>/dev/null || rc=$?
	FLUSH_RC_B[$rc]=$((${FLUSH_RC_B[$rc]:-0} + 1))
	[[ "$rc" == 0 || "$rc" == 75 ]] ||
	    unexpected "phase B: flush during a ClickHouse crash exited $rc: $(cat "$T/flush.err")"
	# Now and then a flush while ClickHouse is down: it must give up
	# (75) and keep the files.
	rand 3
	if ((R == 0)); then
		push_file "${TENANTS[0]}" 30 2 2
		before=$(spool_pending)
		run "$FLUSH"
		((RUN_RC == 75)) ||
		    unexpected "phase B: flush with ClickHouse down exited $RUN_RC (expected 75): $RUN_ERR"
		after=$(spool_pending)
		((after == before)) ||
		    unexpected "phase B: flush with ClickHouse down changed the pending files from $before to $after"
	fi
	restart_clickhouse
	rand 4
	((R != 0)) || recover
done
rcs=
for rc in "${!FLUSH_RC_B[@]}"; do rcs+=" exit $rc: ${FLUSH_RC_B[$rc]};"; done
note "phase B: $kills_b ClickHouse kills in $((SECONDS - t0)) s (flush$rcs)"
check_eq "$KILLS_B" "$kills_b" "phase B killed clickhouse-server $KILLS_B times"

# --- phase C: kill logthra-recv -------------------------------------------------

# A trail of phase C and the final flushes, shown for any push that is
# lost: which spool files appeared after each push, and which files
# each flush took away, with what it said.
TRAIL=$T/trail
: >"$TRAIL"
spool_files() {
	(cd "$SPOOL/tenants" 2>/dev/null &&
	    find . -mindepth 3 -maxdepth 3 -type f -name '*.spool' \
	    \( -path '*/ready/*' -o -path '*/active/*' -o -path '*/deferred/*' \) \
	    -printf '%f\n' | sort -u)
}
spool_files >"$T/files.before"
# trail_push N ACKED: the files that appeared since the last look.
trail_push() {
	spool_files >"$T/files.now"
	printf 'push %s acked=%s: new files: %s\n' "$1" "$2" \
	    "$(comm -13 "$T/files.before" "$T/files.now" | tr '\n' ' ')" >>"$TRAIL"
	mv "$T/files.now" "$T/files.before"
}
# trail_flush ARGS...: runs logthra-flush and notes what it took.
trail_flush() {
	run "$FLUSH" "$@"
	spool_files >"$T/files.now"
	printf 'flush (exit %s) took: %s\n  said: %s\n' "$RUN_RC" \
	    "$(comm -23 "$T/files.before" "$T/files.now" | tr '\n' ' ')" \
	    "$(printf '%s %s' "$RUN_OUT" "$RUN_ERR" | tr '\n' ' ')" >>"$TRAIL"
	mv "$T/files.now" "$T/files.before"
}

note "phase C: SIGKILL logthra-recv in file mode and under socket activation"
start_inetd "$SPOOL"
kills_c=0
recv_us=5       # microseconds per entry, learned from the first push
t0=$SECONDS
round=0
while ((kills_c < KILLS_C && round < KILLS_C * 10)); do
	round=$((round + 1))
	PUSH=$((PUSH + 1))
	rand 20000
	n=$((R + 5000))
	make_push "$T/big.json" "$PUSH" "$n" 3 3
	tenant=${TENANTS[$((round % 2))]}
	acked=0
	if ((round % 2)); then
		# File mode: acknowledged when it exits 0.  The first push
		# runs to the end, to learn how long one takes.
		if ((round == 1)); then
			delay=-1
			now_ms
			start=$R
		else
			rand $((n * recv_us / 1000 * 3 / 2 + 1))
			delay=$R
		fi
		: >"$T/recv.out"; : >"$T/recv.err" # not left from the last run if killed at once
		"$RECV" -T "$tenant" "$T/big.json" >"$T/recv.out" 2>"$T/recv.err" &
		pid=$!
		if ((delay >= 0)); then
			sleep_ms "$delay"
			kill -KILL "$pid" 2>/dev/null || true
		fi
		rc=0
		wait "$pid" 2>/dev/null || rc=$?
		if ((delay < 0)); then
			now_ms
			recv_us=$(((R - start) * 1000 / n + 1))
		fi
		case $rc in
		0) acked=1 ;;
		137) kills_c=$((kills_c + 1)) ;;
		*) unexpected "phase C: logthra-recv exited $rc: $(cat "$T/recv.err")" ;;
		esac
	else
		# inetd mode: acknowledged when curl sees 204.  The body goes
		# slowly so that the kill may land while it is read, while the
		# file is written, or after the answer.  At 20 MiB/s the body
		# takes about size / 21000 ms.  The code file is emptied
		# first: the shell truncates it only in the child after the
		# fork, and a kill before that would leave the last push's
		# 204 there.  A push counts as acknowledged only when curl
		# itself ended well and saw 204.
		: >"$T/curl.code"
		rand $(($(stat -c %s "$T/big.json") / 21000 * 3 / 2 + 10))
		delay=$R
		curl -sS --max-time 60 -o /dev/null -w '%{http_code}' \
		    --limit-rate 20M -H "tenant-id: $tenant" \
		    -H 'Content-Type: application/json' --data-binary "@$T/big.json" \
		    "$INETD_URL/loki/api/v1/push" >"$T/curl.code" 2>"$T/curl.err" &
		cpid=$!
		sleep_ms "$delay"
		killed=0
		rand 4
		if ((R == 0)); then
			# Cut the connection from the client side.
			kill -KILL "$cpid" 2>/dev/null && killed=1
		else
			for child in $(cat "/proc/$INETD_PID/task/$INETD_PID/children" 2>/dev/null); do
				[[ "$(cat "/proc/$child/comm" 2>/dev/null)" == logthra-recv ]] || continue
				kill -KILL "$child" 2>/dev/null && killed=1
			done
		fi
		rc=0
		wait "$cpid" 2>/dev/null || rc=$?
		code=$(cat "$T/curl.code" 2>/dev/null || true)
		if ((rc == 0)) && [[ "$code" == 204 ]]; then
			acked=1
		else
			((killed)) || unexpected "phase C: push over inetd answered ${code:-nothing} (curl $rc): $(cat "$T/curl.err")"
		fi
		if ((killed && !acked)); then
			kills_c=$((kills_c + 1))
		fi
	fi
	printf '%d %d %d\n' "$PUSH" "$n" "$acked" >>"$PUSHES"
	trail_push "$PUSH" "$acked"
	if ((acked)); then
		PUSH_ACKED=$((PUSH_ACKED + 1))
	else
		PUSH_UNACKED=$((PUSH_UNACKED + 1))
	fi
	# Flush now and then, so that receiver kills meet flushes too.
	rand 3
	if ((R == 0)); then
		trail_flush --batch-rows=100000
		((RUN_RC == 0)) || unexpected "phase C: flush exited $RUN_RC: $RUN_ERR"
	fi
done
note "phase C: $round pushes, $kills_c receiver kills in $((SECONDS - t0)) s ($PUSH_UNACKED not acknowledged; logthra-recv takes $recv_us us per entry)"
check_eq "$KILLS_C" "$kills_c" "phase C reached $KILLS_C kills of a push in progress"

# Killed receivers may leave temporary files; no receiver runs now.
# (Ages count in whole seconds: a file from this second is not older
# than 0 s.)
lt_stop_server "$INETD_PID"
sleep 1.1
recover --tmp-max-age=0
left=$(find "$SPOOL/tenants" -mindepth 3 -maxdepth 3 -type f \
    -path "$SPOOL/tenants/*/tmp/*" -printf '%P %s bytes, %TT\n')
check_eq "" "$left" "logthra-replay --recover --tmp-max-age=0 removed the temporary files"
[[ -z "$left" ]] || lt_detail "--recover said ($(date +%T.%N))" "$RUN_OUT$RUN_ERR"

# --- the end: drain the spool and compare ---------------------------------------

note "draining the spool"
for ((i = 0; i < 20; i++)); do
	((i % 2 == 0)) || recover
	trail_flush --batch-rows=100000
	((RUN_RC == 0)) || unexpected "final flush exited $RUN_RC: $RUN_ERR"
	(($(spool_pending) > 0)) || break
done
check_eq 0 "$(spool_pending)" "ready/, active/ and deferred/ are empty after $((i + 1)) flushes"
check_eq 0 "$(find "$SPOOL/quarantine" -type f 2>/dev/null | wc -l | tr -d ' ')" \
    "nothing was quarantined"

kills=$((kills_a + kills_b + kills_c))
note "$kills kill points ($kills_a flush, $kills_b ClickHouse, $kills_c receiver), $RECOVERS --recover runs, $PUSH pushes ($PUSH_UNACKED not acknowledged), seed $CRASH_SEED"
check_eq "" "$(head -n 20 "$UNEXPECTED")" "every program exited as expected"

# Expected messages, one per line: acknowledged ones, and the ones of
# pushes that were not acknowledged (they may be there, once).
awk '$3 == 1 { for (i = 0; i < $2; i++) printf "crash-%d-%d\n", $1, i }' \
    "$PUSHES" | sort >"$T/acked"
awk '$3 == 0 { for (i = 0; i < $2; i++) printf "crash-%d-%d\n", $1, i }' \
    "$PUSHES" | sort >"$T/unacked"
rows "SELECT msg FROM logs.log" | sort >"$T/got"
sort -u "$T/got" >"$T/got.distinct"

check_eq "$(wc -l <"$T/acked" | tr -d ' ') acknowledged entries" \
    "$(comm -12 "$T/acked" "$T/got.distinct" | wc -l | tr -d ' ') acknowledged entries" \
    "ClickHouse holds every acknowledged entry"
lost=$(comm -23 "$T/acked" "$T/got.distinct")
check_eq "" "$(printf '%s\n' "$lost" | head -n 20)" "no acknowledged entry is lost (first 20 shown)"
# What became of the first lost pushes, from the trail (phase C and the
# final flushes only).
for p in $(printf '%s\n' "$lost" | sed -n 's/^crash-\([0-9]*\)-.*/\1/p' | sort -un | head -n 3); do
	files=$(sed -n "s/^push $p acked=[01]: new files: //p" "$TRAIL")
	note "lost push $p: $(grep -E "^push $p " "$TRAIL" || echo "not in the trail (phases A and B are not traced)")"
	for f in $files; do
		note "  its file $f is now: $(find "$SPOOL" -name "$f*" -printf '%P ' 2>/dev/null)"
		grep -A1 -F "$f" "$TRAIL" | grep -v "^push " | sed 's/^/#     /' || true
	done
done
doubled=$(uniq -c "$T/got" | awk '$1 > 1 { print $2 " x" $1 }')
check_eq "" "$(printf '%s\n' "$doubled" | head -n 20)" "no entry is in ClickHouse more than once (first 20 shown)"
if [[ -n "$doubled" ]]; then
	note "$(printf '%s\n' "$doubled" | wc -l) entries doubled, in pushes: $(printf '%s\n' "$doubled" | sed 's/^crash-\([0-9]*\)-.*/\1/' | sort -un | head -n 30 | tr '\n' ' ')"
fi
check_eq "$(wc -l <"$T/got.distinct" | tr -d ' ')" \
    "$(rows "SELECT count() FROM logs.log")" "rows in ClickHouse == distinct messages"
check_eq "" "$(comm -23 "$T/got.distinct" <(sort -m "$T/acked" "$T/unacked") | head -n 20)" \
    "ClickHouse holds no entry that was never pushed"
# An unacknowledged push was written whole or not at all: all or none.
partial=$(sed 's/^crash-\([0-9]*\)-.*/\1/' "$T/got.distinct" | uniq -c |
    awk 'NR == FNR { n[$1] = $2; next } $2 in n && $1 != n[$2] { print "push " $2 ": " $1 " of " n[$2] }' \
    "$PUSHES" - | head -n 20)
check_eq "" "$partial" "every push is in ClickHouse whole or not at all"
# logthra(7), THE STREAMS INDEX: whatever the kills, a row in the table
# has its stream and day in the index (which may hold more).
check_eq 0 "$(rows "SELECT count() FROM (SELECT DISTINCT tenant_id, stream_id,
    toDate(timestamp, 'UTC') AS d FROM logs.log) WHERE (tenant_id, stream_id, d) NOT IN
    (SELECT tenant_id, stream_id, day FROM logs.log_streams)")" \
    "every row's stream and day is in the streams index"
present=$(sed 's/^crash-\([0-9]*\)-.*/\1/' "$T/got.distinct" | uniq |
    awk 'NR == FNR { if ($3 == 0) u[$1] = 1; next } $1 in u' "$PUSHES" - | wc -l)
note "$((present)) of $PUSH_UNACKED unacknowledged pushes are in ClickHouse (stored before the kill)"

finish
