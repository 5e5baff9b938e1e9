#!/bin/bash
# Latency benchmark: from the 204 of a push (logthra-recv under
# systemd-socket-activate, as deployed) to its row being queryable in
# ClickHouse, in the two ways logthra-flush can run:
#   - timer: logthra-flush started every BENCH_TIMER seconds (30, as the
#     shipped systemd timer does), pushes at random moments between runs;
#   - follow: logthra-flush --follow, woken by the spool (follow_delay
#     as logthra-flush --print-config gives it), pushes a second apart.
# Prints median, maximum and minimum per mode; writes them as TSV to
# BUILD/bench/results/latency.tsv.
#
# Usage: bench/latency.sh     (after a build; make bench runs it)
#   BENCH_TIMER=30 BENCH_TIMER_PUSHES=6 BENCH_FOLLOW_PUSHES=20
set -euo pipefail
LT_NAME=bench-latency
. "$(dirname "$0")/../tests/integration/lib.sh"

TIMER=${BENCH_TIMER:-30}
TIMER_PUSHES=${BENCH_TIMER_PUSHES:-6}
FOLLOW_PUSHES=${BENCH_FOLLOW_PUSHES:-20}
OUT=$abs_top_builddir/bench/results/latency.tsv

need_built
need_inetd
SPOOL=$T/spool
mkdir -p "$SPOOL"
start_clickhouse
start_inetd "$SPOOL"
"$FLUSH" -D "$SPOOL" -U "$CH_URL" >/dev/null # creates the table

now_ms() { local t=$EPOCHREALTIME; echo $((${t%.*} * 1000 + 10#${t#*.} / 1000)); }
stats() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END {
	printf "%s\t%s\t%s", (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2), a[NR], a[1] }'; }

# latency TAG I: pushes one entry and prints the milliseconds from the
# 204 to the row being queryable.
latency() {
	local ts t0
	ts=$(date +%s%N)
	printf '{"streams":[{"stream":{"job":"lat"},"values":[["%s","%s-%d"]]}]}' \
	    "$ts" "$1" "$2" >"$T/p.json"
	push "$INETD_URL/loki/api/v1/push" "$T/p.json" -H 'X-Scope-OrgID: lat'
	t0=$(now_ms)
	[[ "$HTTP_STATUS" == 204 ]] || die "push $1-$2: HTTP $HTTP_STATUS $HTTP_BODY"
	until [[ "$(curl -s --data-binary "SELECT count() FROM logs.log WHERE msg = '$1-$2'" "$CH_URL")" == 1 ]]; do
		sleep 0.002
	done
	echo $(($(now_ms) - t0))
}

rm -f "$OUT.tmp"
printf '\nfrom the 204 of a push to its row in ClickHouse (ms)\n'
printf '  %-34s %7s %8s %8s %8s\n' mode pushes median max min

# The timer: what systemd's OnUnitActiveSec=30s amounts to.
(
	while :; do
		sleep "$TIMER"
		"$FLUSH" -D "$SPOOL" -U "$CH_URL" >>"$T/timer.log" 2>&1 || true
	done
) &
timer_pid=$!
lat=()
for ((i = 1; i <= TIMER_PUSHES; i++)); do
	sleep "$(awk -v s="$RANDOM" -v t="$TIMER" 'BEGIN { srand(s); printf "%.2f", rand() * t }')"
	lat+=("$(latency timer "$i")")
done
kill "$timer_pid" 2>/dev/null || true
wait "$timer_pid" 2>/dev/null || true
read -r med max min <<<"$(stats "${lat[@]}")"
printf '  %-34s %7d %8s %8s %8s\n' "timer every ${TIMER} s" "$TIMER_PUSHES" "$med" "$max" "$min"
printf 'timer\t%d\t%s\t%s\t%s\n' "$TIMER_PUSHES" "$med" "$max" "$min" >>"$OUT.tmp"
ok "timer: ${TIMER_PUSHES} pushes, median $med ms"

lt_spawn follow "$T/follow.log" "$FLUSH" --follow -D "$SPOOL" -U "$CH_URL"
until grep -q '^flushed' "$T/follow.log"; do sleep 0.05; done
lat=()
for ((i = 1; i <= FOLLOW_PUSHES; i++)); do
	lat+=("$(latency follow "$i")")
	sleep 1
done
read -r med max min <<<"$(stats "${lat[@]}")"
delay=$("$FLUSH" --print-config | sed -n 's/^follow_delay *= *//p')
printf '  %-34s %7d %8s %8s %8s\n' "--follow (follow_delay $delay)" "$FOLLOW_PUSHES" "$med" "$max" "$min"
printf 'follow\t%d\t%s\t%s\t%s\n' "$FOLLOW_PUSHES" "$med" "$max" "$min" >>"$OUT.tmp"
ok "follow: ${FOLLOW_PUSHES} pushes, median $med ms"
mkdir -p "$(dirname "$OUT")"
mv "$OUT.tmp" "$OUT"
finish
