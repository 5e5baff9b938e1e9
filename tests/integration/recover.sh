#!/bin/bash
# logthra-replay --recover after a crash: claimed files go back to
# ready/, stale temporary files go, fresh ones stay; a flush afterwards
# delivers every row exactly once.
. "$(dirname "$0")/lib.sh"

need_clickhouse
need_built

SPOOL=$T/spool
mkdir -p "$SPOOL"
TD=$SPOOL/tenants/acme

for i in 1 2 3; do
	"$RECV" -T acme -D "$SPOOL" "$SEED" || die "logthra-recv -T acme failed"
done
check_eq 3 "$(count_files "$TD/ready")" "three files in tenants/acme/ready/"

note "a flush that was killed: one file claimed, temporary files left over"
claimed=$(find "$TD/ready" -type f -printf '%f\n' | sort | head -n 1)
mkdir -p "$TD/active" "$TD/tmp"
mv "$TD/ready/$claimed" "$TD/active/$claimed"
touch -d '2 hours ago' "$TD/tmp/old.spool"
touch -d '45 minutes ago' "$TD/tmp/middle.spool"
touch "$TD/tmp/fresh.spool"

# Options of re-import are refused with --recover, not ignored: a
# recovery asked for as a dry run must not change the spool.
snapshot() { (cd "$TD" && find . -printf '%p %s\n' | sort); }
before=$(snapshot)
for opt in -n --dry-run --force --tenant=acme --since=2024-01-01 --until=2030-01-01; do
	run "$REPLAY" -D "$SPOOL" --recover "$opt"
	check_rc 1 "logthra-replay --recover $opt"
	want=${opt%%=*}
	[[ $want == -n || $want == --dry-run ]] && want=-n/--dry-run
	check_contains "logthra-replay: error: $want goes with re-importing archives, not with --recover" \
	    "$RUN_ERR" "--recover $opt: the message names the option"
done
check_eq "$before" "$(snapshot)" "the refused recoveries changed nothing"

# The retry time is set during the run: 30 s after a moment between these.
started=$(date +%s)
run "$REPLAY" -D "$SPOOL" --recover
ended=$(date +%s)
check_rc 0 "logthra-replay --recover"
check_contains "recovered 1 claimed files, removed 1 stale temporary files" \
    "$RUN_OUT" "summary line"
check_eq 2 "$(count_files "$TD/ready")" "two files in ready/"
check_eq 1 "$([[ -f "$TD/deferred/$claimed" ]] && echo 1 || echo 0)" \
    "the claimed file waits in deferred/ under its own name"
due=$(stat -c %Y "$TD/deferred/$claimed")
check_eq 1 "$((due >= started + 29 && due <= ended + 31))" \
    "due after retry_min_delay (30 s), time for a dead run's INSERT to end"
check_eq 0 "$(count_files "$TD/active")" "active/ is empty"
check_eq "fresh.spool
middle.spool" "$(find "$TD/tmp" -type f -printf '%f\n' | sort)" \
    "the 2 h old temporary file is gone, younger ones are kept"

run "$REPLAY" -D "$SPOOL" --recover --tmp-max-age=30m
check_rc 0 "logthra-replay --recover --tmp-max-age=30m"
check_contains "recovered 0 claimed files, removed 1 stale temporary files" \
    "$RUN_OUT" "summary line"
check_eq "fresh.spool" "$(find "$TD/tmp" -type f -printf '%f\n')" \
    "the 45 min old file is gone too"

run "$REPLAY" -D "$SPOOL" --recover
check_contains "recovered 0 claimed files, removed 0 stale temporary files" \
    "$RUN_OUT" "nothing to do the second time"

note "flush: every row once"
start_clickhouse
run "$FLUSH" -D "$SPOOL" -U "$CH_URL"
check_match '^flushed 2 files, 4 rows, .*; 1 files wait for a retry$' "$RUN_OUT" \
    "the fresh files are flushed; the taken-back claim waits for its time"
run "$FLUSH" -D "$SPOOL" -U "$CH_URL" --retry-now
check_rc 0 "logthra-flush --retry-now"
check_match '^flushed 1 files, 2 rows, ' "$RUN_OUT" "then it is flushed too"
check_eq 6 "$(ch_query "SELECT count() FROM logs.log WHERE tenant_id = 'acme'")" \
    "6 rows in ClickHouse"
check_eq 000 "$(count_files "$TD/ready")$(count_files "$TD/active")$(count_files "$TD/deferred")" \
    "ready/, active/ and deferred/ are empty"

note "a stale claim is also taken back by logthra-flush itself"
"$RECV" -T acme -D "$SPOOL" "$SEED" || die "logthra-recv -T acme failed"
name=$(find "$TD/ready" -type f -printf '%f\n')
mv "$TD/ready/$name" "$TD/active/$name"
run "$FLUSH" -D "$SPOOL" -U "$CH_URL"
check_rc 0 "logthra-flush with a stale claim"
check_match '^flushed 0 files, 0 rows, .*; 1 files wait for a retry$' "$RUN_OUT" \
    "the stale claim is taken back and waits"
check_eq 1 "$(count_files "$TD/deferred")" "in deferred/"
LOGTHRA_RETRY_MIN_DELAY=0 run "$FLUSH" -D "$SPOOL" -U "$CH_URL" --retry-now
check_match '^flushed 1 files, 2 rows, ' "$RUN_OUT" "the stale claim is flushed"
check_eq 8 "$(ch_query "SELECT count() FROM logs.log WHERE tenant_id = 'acme'")" \
    "8 rows in ClickHouse"

finish
