#!/bin/bash
# ClickHouse benchmark: the CPU time ClickHouse spends per million rows
# that logthra-flush loads, for the batch sizes of a timer run and the
# coalescing of logthra-flush --follow, and the push-to-queryable latency
# that --follow keeps while coalescing.
#
# ClickHouse's CPU is the user + system time of the clickhouse-server
# process (/proc/PID/stat), from the start of a flush until the server
# is idle again: no merge running and the set of active parts unchanged
# for BENCH_SETTLE seconds.  So it counts the INSERTs and the background
# merges that their parts cause, which is what a smaller or larger batch
# changes.  The server's idle CPU, measured before each run over the
# same span, is subtracted.
#
# Timer runs: BENCH_ROWS entries of about 190 bytes in pushes of
# BENCH_PUSH_ENTRIES (1 MB of JSON, as Promtail's largest batches), stored
# by logthra-recv in file mode, flushed by one logthra-flush run for each
# batch size of BENCH_BATCHES (batch_max_bytes; batch_max_rows is raised
# out of the way), BENCH_RUNS times each, interleaved, into a new table.
#
# Follow runs: logthra-recv under systemd-socket-activate takes
# BENCH_FOLLOW_RATE pushes of BENCH_FOLLOW_ENTRIES entries per second
# (100 KB of JSON each) for BENCH_FOLLOW_SECONDS, while
# logthra-flush --follow runs with each follow_delay of BENCH_DELAYS,
# BENCH_FOLLOW_RUNS times each, interleaved; then, with the same load,
# BENCH_PROBES single-entry pushes measure the time from their 204 to
# their row being queryable.
#
# Prints medians: CPU seconds per million rows, INSERTs, parts left, and
# for --follow the latency's median and maximum.  Writes TSV to
# BUILD/bench/results/clickhouse-cpu.tsv.
#
# Usage: bench/clickhouse-cpu.sh     (after a build; make bench runs it)
#   BENCH_ROWS=1000000 BENCH_PUSH_ENTRIES=4500 BENCH_RUNS=3
#   BENCH_BATCHES="4MiB 8MiB 16MiB 32MiB 64MiB" BENCH_SETTLE=3
#   BENCH_DELAYS="0 200ms 500ms 800ms" BENCH_FOLLOW_RUNS=2 BENCH_FOLLOW_RATE=20
#   BENCH_FOLLOW_ENTRIES=450 BENCH_FOLLOW_SECONDS=15 BENCH_PROBES=10
set -euo pipefail
LT_NAME=bench-clickhouse-cpu
. "$(dirname "$0")/../tests/integration/lib.sh"

ROWS=${BENCH_ROWS:-1000000}
PUSH_ENTRIES=${BENCH_PUSH_ENTRIES:-4500}
RUNS=${BENCH_RUNS:-3}
BATCHES=${BENCH_BATCHES:-4MiB 8MiB 16MiB 32MiB 64MiB}
SETTLE=${BENCH_SETTLE:-3}
DELAYS=${BENCH_DELAYS:-0 200ms 500ms 800ms}
FOLLOW_RATE=${BENCH_FOLLOW_RATE:-20}
FOLLOW_ENTRIES=${BENCH_FOLLOW_ENTRIES:-450}
FOLLOW_SECONDS=${BENCH_FOLLOW_SECONDS:-15}
FOLLOW_RUNS=${BENCH_FOLLOW_RUNS:-2}
PROBES=${BENCH_PROBES:-10}
OUT=$abs_top_builddir/bench/results/clickhouse-cpu.tsv
RECV=$abs_top_builddir/src/logthra-recv
FLUSH=$abs_top_builddir/src/logthra-flush
TICKS=$(getconf CLK_TCK)

need_clickhouse
need_built
need_inetd
printf 'ingestion_rate = 0\n' >"$T/bench.conf"
chmod 644 "$T/bench.conf"
export LOGTHRA_CONFIG=$T/bench.conf
start_clickhouse
# lt_spawn may start the server through a wrapper; its CPU is the
# server's own process, found by its unique port.
CH_SERVER_PID=$(pgrep -f -- "--http_port=$CH_HTTP_PORT" | head -1)
[[ -n "$CH_SERVER_PID" ]] || die "could not find the clickhouse-server process"

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# The server's CPU so far, in clock ticks.
ch_ticks() { awk '{ print $14 + $15 }' "/proc/$CH_SERVER_PID/stat"; }
now() { date +%s.%N; }

# ch_settle: waits until no merge runs and the active parts stay the
# same for SETTLE seconds.
ch_settle() {
	local last="" cur quiet=0
	while ((quiet < SETTLE * 10)); do
		cur=$(ch_query "SELECT (SELECT count() FROM system.merges), groupArray(name) FROM (SELECT name FROM system.parts WHERE active AND database = 'logs' ORDER BY name)")
		if [[ "$cur" == "$last" && "$cur" == 0* ]]; then
			quiet=$((quiet + 1))
		else
			quiet=0
		fi
		last=$cur
		sleep 0.1
	done
}

# idle_rate: the server's idle CPU in ticks per second, over SETTLE s.
idle_rate() {
	local t0 c0 c1 t1
	ch_settle
	t0=$(now) c0=$(ch_ticks)
	sleep "$SETTLE"
	t1=$(now) c1=$(ch_ticks)
	awk -v c="$((c1 - c0))" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", c / (b - a) }'
}

# cpu_per_million TICKS0 T0 IDLE ROWS: the server's CPU seconds since
# TICKS0 at T0, less its idle rate, per million ROWS.
cpu_per_million() {
	local c1 t1
	c1=$(ch_ticks) t1=$(now)
	awk -v c="$((c1 - $1))" -v a="$2" -v b="$t1" -v idle="$3" -v n="$4" -v hz="$TICKS" \
	    'BEGIN { s = (c - idle * (b - a)) / hz; if (s < 0) s = 0; printf "%.3f", s / n * 1e6 }'
}

fresh_table() {
	ch_query "DROP TABLE IF EXISTS logs.log" >/dev/null
	ch_query "DROP TABLE IF EXISTS logs.log_streams" >/dev/null
	"$FLUSH" -U "$CH_URL" -D "$T/empty-spool" >/dev/null
}
mkdir -p "$T/empty-spool"

# ch_events: the server's counts so far of INSERT statements and of
# rows merged, as "INSERTS MERGED_ROWS".
ch_events() {
	ch_query "SELECT sumIf(value, event = 'InsertQuery'), sumIf(value, event = 'MergedRows') FROM system.events" | tr '\t' ' '
}
# events_since "I0 M0": INSERT statements and millions of rows merged since.
events_since() {
	local now
	now=$(ch_events)
	awk -v a="$1" -v b="$now" 'BEGIN { split(a, x, " "); split(b, y, " "); printf "%d %.2f\n", y[1] - x[1], (y[2] - x[2]) / 1e6 }'
}
active_parts() { ch_query "SELECT count() FROM system.parts WHERE active AND database = 'logs' AND table = 'log'"; }

# gen_push FILE N SEED: a Loki JSON push of N access-log entries in 8
# streams of 4 labels, different for every SEED, timestamped now.
gen_push() {
	awk -v n="$2" -v seed="$3" -v now="$(date +%s)" 'BEGIN {
		srand(seed + 1)
		printf "{\"streams\":["
		per = int(n / 8)
		for (s = 0; s < 8; s++) {
			if (s) printf ","
			printf "{\"stream\":{\"app\":\"web%d\",\"env\":\"prod\",\"host\":\"node-%d\",\"job\":\"nginx\"},\"values\":[", s, s % 3
			for (i = 0; i < per; i++) {
				if (i) printf ","
				printf "[\"%d%09d\",\"10.0.%d.%d - - \\\"GET /api/v1/items/%d?user=%d HTTP/1.1\\\" %d %d \\\"-\\\" \\\"Mozilla/5.0 (X11; Linux x86_64)\\\" rt=%.3f req_id=%08x%08x\"]",
				    now - 60, (seed * 1000 + i) * 10 % 1000000000, int(rand() * 255), int(rand() * 255),
				    int(rand() * 99999), int(rand() * 9999), rand() < 0.9 ? 200 : 404,
				    int(rand() * 50000), rand(), int(rand() * 2147483647), int(rand() * 2147483647)
			}
			printf "]}"
		}
		printf "]}\n"
	}' >"$1"
}

# --- timer runs: batch sizes ----------------------------------------------------

pushes=$(((ROWS + PUSH_ENTRIES - 1) / PUSH_ENTRIES))
note "storing $pushes pushes of $PUSH_ENTRIES entries with logthra-recv"
for ((p = 0; p < pushes; p++)); do
	gen_push "$T/push.json" "$PUSH_ENTRIES" "$p"
	"$RECV" -T bench -D "$T/spool.orig" "$T/push.json"
done
rows=$(((PUSH_ENTRIES / 8) * 8 * pushes))

declare -A cpu_of inserts_of merged_of parts_of secs_of
for ((r = 0; r < RUNS; r++)); do
	for b in $BATCHES; do
		fresh_table
		rm -rf "$T/spool" && cp -a "$T/spool.orig" "$T/spool"
		idle=$(idle_rate)
		ev0=$(ch_events)
		c0=$(ch_ticks) t0=$(now)
		"$FLUSH" -U "$CH_URL" -D "$T/spool" --batch-bytes="$b" --batch-rows=100000000 >/dev/null
		t1=$(now)
		ch_settle
		cpu=$(cpu_per_million "$c0" "$t0" "$idle" "$rows")
		n=$(ch_query "SELECT count() FROM logs.log")
		[[ "$n" == "$rows" ]] || die "batch $b: $n rows in the table, $rows pushed"
		cpu_of[$b]+="$cpu "
		secs_of[$b]+="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }') "
		read -r ins merged < <(events_since "$ev0")
		inserts_of[$b]+="$ins "
		merged_of[$b]+="$merged "
		parts_of[$b]+="$(active_parts) "
		note "batch $b run $((r + 1)): $cpu CPU s per million rows"
	done
done

# The floor: the same rows, encoded by ClickHouse itself, in one INSERT
# of one block by curl.
COLS=$(ch_query "SELECT arrayStringConcat(groupArray(name), ', ') FROM (SELECT name FROM system.columns WHERE database = 'logs' AND table = 'log' AND default_kind NOT IN ('MATERIALIZED', 'ALIAS'))")
ch_query "SELECT $COLS FROM logs.log FORMAT RowBinary" >"$T/rows.bin"
q=$(printf 'INSERT INTO logs.log (%s) FORMAT RowBinary' "$COLS" | sed 's/ /%20/g; s/,/%2C/g; s/(/%28/g; s/)/%29/g')
for ((r = 0; r < RUNS; r++)); do
	fresh_table
	idle=$(idle_rate)
	ev0=$(ch_events)
	c0=$(ch_ticks) t0=$(now)
	curl -sS --fail -H 'Expect:' --data-binary "@$T/rows.bin" \
	    "$CH_URL?max_insert_block_size=$((rows + 1))&query=$q" >/dev/null
	t1=$(now)
	ch_settle
	cpu_of[curl]+="$(cpu_per_million "$c0" "$t0" "$idle" "$rows") "
	read -r ins merged < <(events_since "$ev0")
	inserts_of[curl]+="$ins "
	merged_of[curl]+="$merged "
	parts_of[curl]+="$(active_parts) "
	secs_of[curl]+="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }') "
done

mkdir -p "$(dirname "$OUT")"
printf 'mode\tsetting\trows\tch_cpu_s_per_million\tinserts\tmillion_rows_merged\tparts\tflush_s\tlatency_median_ms\tlatency_max_ms\n' >"$OUT"
printf '\nTimer runs: %d rows in %d pushes of %d entries, %d runs each, medians\n' \
    "$rows" "$pushes" "$PUSH_ENTRIES" "$RUNS"
printf '  %-14s %22s %8s %11s %6s %8s\n' "batch_max_bytes" "ClickHouse CPU s/Mrow" "INSERTs" "Mrows merged" "parts" "flush s"
for b in $BATCHES curl; do
	# shellcheck disable=SC2086
	c=$(median ${cpu_of[$b]}) i=$(median ${inserts_of[$b]}) m=$(median ${merged_of[$b]})
	# shellcheck disable=SC2086
	p=$(median ${parts_of[$b]}) s=$(median ${secs_of[$b]})
	printf '  %-14s %22s %8s %11s %6s %8s\n' "$b" "$c" "$i" "$m" "$p" "$s"
	printf 'timer\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\t\n' "$b" "$rows" "$c" "$i" "$m" "$p" "$s" >>"$OUT"
done

# --- follow runs: coalescing ----------------------------------------------------

mkdir -p "$T/fspool"
start_inetd "$T/fspool"
note "generating $((FOLLOW_RATE * 4)) pushes of $FOLLOW_ENTRIES entries"
bodies=$((FOLLOW_RATE * 4))
for ((p = 0; p < bodies; p++)); do gen_push "$T/f$p.json" "$FOLLOW_ENTRIES" "$((100000 + p))"; done

# load SECONDS: pushes FOLLOW_RATE bodies a second for SECONDS through
# the inetd receiver, each body's first line changed so that no two
# pushes are alike; prints the entries pushed.
load() {
	local end=$((SECONDS + $1)) sent=0 k=0 tick
	tick=$(awk -v r="$FOLLOW_RATE" 'BEGIN { printf "%.4f", 1 / r }')
	while ((SECONDS < end)); do
		sed "s/req_id=/req_id=$k-/" "$T/f$((k % bodies)).json" >"$T/load.json"
		curl -s -o /dev/null -w '%{http_code}\n' -H 'X-Scope-OrgID: load' \
		    -H 'Content-Type: application/json' \
		    --data-binary "@$T/load.json" "$INETD_URL/loki/api/v1/push" >>"$T/load.codes"
		k=$((k + 1))
		sleep "$tick"
	done
	echo $((k * (FOLLOW_ENTRIES / 8) * 8))
}

now_ms() { local t=$EPOCHREALTIME; echo $((${t%.*} * 1000 + 10#${t#*.} / 1000)); }
# probe I: one entry; the milliseconds from its 204 to its row.
probe() {
	local t0
	printf '{"streams":[{"stream":{"job":"probe"},"values":[["%s","probe-%s"]]}]}' \
	    "$(date +%s%N)" "$1" >"$T/probe.json"
	push "$INETD_URL/loki/api/v1/push" "$T/probe.json" -H 'X-Scope-OrgID: probe'
	t0=$(now_ms)
	[[ "$HTTP_STATUS" == 204 ]] || die "probe $1: HTTP $HTTP_STATUS $HTTP_BODY"
	until [[ "$(curl -s --data-binary "SELECT count() FROM logs.log WHERE tenant_id = 'probe' AND msg = 'probe-$1'" "$CH_URL")" == 1 ]]; do
		sleep 0.01
	done
	echo $(($(now_ms) - t0))
}

declare -A fcpu_of finserts_of fmerged_of fparts_of lat_med_of lat_max_of
for ((r = 0; r < FOLLOW_RUNS; r++)); do
	for d in $DELAYS; do
		fresh_table
		rm -f "$T/load.codes"
		"$FLUSH" -U "$CH_URL" -D "$T/fspool" --follow --follow-delay="$d" 2>"$T/follow.err" &
		fpid=$!
		idle=$(idle_rate)
		ev0=$(ch_events)
		c0=$(ch_ticks) t0=$(now)
		n=$(load "$FOLLOW_SECONDS")
		bad=$(grep -vc '^204$' "$T/load.codes" || true)
		((bad == 0)) || die "follow $d: $bad pushes were not answered 204: $(sort "$T/load.codes" | uniq -c)"
		until [[ "$(ch_query "SELECT count() FROM logs.log WHERE tenant_id = 'load'")" == "$n" ]]; do
			sleep 0.1
			kill -0 "$fpid" 2>/dev/null || die "logthra-flush --follow stopped: $(tail -3 "$T/follow.err")"
		done
		ch_settle
		fcpu_of[$d]+="$(cpu_per_million "$c0" "$t0" "$idle" "$n") "
		read -r ins merged < <(events_since "$ev0")
		finserts_of[$d]+="$ins "
		fmerged_of[$d]+="$merged "
		fparts_of[$d]+="$(active_parts) "
		# Latency under the same load: the load in the background.
		load $((PROBES + 2)) >/dev/null &
		lpid=$!
		lats=()
		for ((i = 0; i < PROBES; i++)); do
			lats+=("$(probe "$d-$r-$i")")
			sleep 0.3
		done
		wait "$lpid"
		lat_med_of[$d]+="$(median "${lats[@]}") "
		lat_max_of[$d]+="$(printf '%s\n' "${lats[@]}" | sort -n | tail -1) "
		kill "$fpid" && wait "$fpid" || true
		# What the last pushes left is not the next run's.
		rm -rf "$T/fspool/tenants"
		note "follow $d run $((r + 1)): ${fcpu_of[$d]##* } latency ${lats[*]}"
	done
done

printf '\nFollow runs: %d pushes/s of %d entries for %d s, %d runs each, medians\n' \
    "$FOLLOW_RATE" "$FOLLOW_ENTRIES" "$FOLLOW_SECONDS" "$FOLLOW_RUNS"
printf '  %-12s %22s %8s %11s %6s %15s %12s\n' "follow_delay" "ClickHouse CPU s/Mrow" "INSERTs" "Mrows merged" "parts" "latency med ms" "latency max"
for d in $DELAYS; do
	# shellcheck disable=SC2086
	c=$(median ${fcpu_of[$d]}) i=$(median ${finserts_of[$d]}) m=$(median ${fmerged_of[$d]})
	# shellcheck disable=SC2086
	p=$(median ${fparts_of[$d]})
	# shellcheck disable=SC2086
	lm=$(median ${lat_med_of[$d]}) lx=$(printf '%s\n' ${lat_max_of[$d]} | sort -n | tail -1)
	printf '  %-12s %22s %8s %11s %6s %15s %12s\n' "$d" "$c" "$i" "$m" "$p" "$lm" "$lx"
	printf 'follow\t%s\t\t%s\t%s\t%s\t%s\t\t%s\t%s\n' "$d" "$c" "$i" "$m" "$p" "$lm" "$lx" >>"$OUT"
done
ok "benchmark completed"
finish
