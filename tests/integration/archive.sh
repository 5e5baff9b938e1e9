#!/bin/bash
# Archives and their re-import against a real ClickHouse: with
# after_flush = archive flushed files are kept, not removed; an archive of
# spool files (here made with tar, as an operator might) is re-imported
# by logthra-replay without doubling rows ClickHouse holds, filtered by
# tenant and time window, and doubled on purpose with --force.
. "$(dirname "$0")/lib.sh"

need_clickhouse
need_built

SPOOL=$T/spool
mkdir -p "$SPOOL"
start_clickhouse
count() { ch_query "SELECT count() FROM logs.log WHERE $1"; }

# Two tenants; acme's push spans two days.
cat >"$T/acme.json" <<'JSON'
{"streams":[{"stream":{"app":"a"},"values":[
 ["2024-01-01T10:00:00Z","acme day 1"],["2024-01-02T10:00:00Z","acme day 2"]]}]}
JSON
cat >"$T/beta.json" <<'JSON'
{"streams":[{"stream":{"app":"b"},"values":[["2024-01-01T11:00:00Z","beta day 1"]]}]}
JSON
"$RECV" -T acme -D "$SPOOL" "$T/acme.json" || die "logthra-recv acme"
"$RECV" -T beta -D "$SPOOL" "$T/beta.json" || die "logthra-recv beta"

note "an archive of the spool files, made before flushing"
(cd "$SPOOL/tenants" && tar -czf "$T/spool.tar.gz" acme/ready beta/ready)
check_eq 2 "$(tar -tzf "$T/spool.tar.gz" | grep -c '\.spool$')" "two spool files in the tar"

note "flush with after_flush = archive"
LOGTHRA_AFTER_FLUSH=archive run "$FLUSH" -D "$SPOOL" -U "$CH_URL"
check_rc 0 "logthra-flush"
check_match '^flushed 2 files, 3 rows, ' "$RUN_OUT" "2 files, 3 rows"
check_eq 0 "$(spool_files "$SPOOL")" "no spool file left in tenants/"
check_eq 2 "$(find "$SPOOL/archive" -path '*/staging/*' -name '*.spool' | wc -l)" \
    "both files kept in archive/T/staging/ until their period is over"

note "dry run: nothing changes"
run "$REPLAY" -D "$SPOOL" --dry-run "$T/spool.tar.gz"
check_rc 0 "logthra-replay --dry-run"
check_match '^would replay 2 files \(3 entries\) from 1 archives' "$(tail -n 1 <<<"$RUN_OUT")" \
    "dry-run summary"
check_contains "acme/ready/" "$RUN_OUT" "dry run names each file"
check_eq 0 "$(spool_files "$SPOOL")" "dry run wrote nothing"

note "re-import of what ClickHouse holds already: nothing doubled"
run "$REPLAY" -D "$SPOOL" "$T/spool.tar.gz"
check_rc 0 "logthra-replay ARCHIVE"
check_match '^replayed 2 files \(3 entries\) from 1 archives' "$RUN_OUT" "summary"
check_eq 11 "$(count_files "$SPOOL/tenants/acme/deferred")$(count_files "$SPOOL/tenants/beta/deferred")" \
    "one file per tenant in deferred/"
run "$FLUSH" -D "$SPOOL" -U "$CH_URL"
check_rc 0 "logthra-flush of the re-imported files"
check_match '^flushed 2 files, 0 rows, ' "$RUN_OUT" "no row inserted again"
check_eq 3 "$(count "1")" "still 3 rows"

note "rows lost in ClickHouse come back, and only they"
ch_query "ALTER TABLE logs.log DROP PARTITION '2024-01-02'" >/dev/null
check_eq 2 "$(count "1")" "day 2 dropped"
run "$REPLAY" -D "$SPOOL" --tenant acme "$T/spool.tar.gz"
check_match '^replayed 1 files \(2 entries\) from 1 archives; skipped 1 ' "$RUN_OUT" \
    "--tenant acme: beta skipped"
run "$FLUSH" -D "$SPOOL" -U "$CH_URL"
check_match '^flushed 1 files, 1 rows, ' "$RUN_OUT" "only the missing day is inserted"
check_eq "acme day 1	1
acme day 2	1
beta day 1	1" "$(ch_query "SELECT msg, count() FROM logs.log GROUP BY msg ORDER BY msg FORMAT TSV")" \
    "every entry exactly once"

note "a time window, and --force"
run "$REPLAY" -D "$SPOOL" --force --since 2024-01-02 --until 2024-01-03 "$T/spool.tar.gz"
check_rc 0 "logthra-replay --force --since --until"
check_match '^replayed 1 files \(1 entries\)' "$RUN_OUT" "only acme's day-2 entry is in the window"
check_eq 1 "$(count_files "$SPOOL/tenants/acme/ready")" "--force writes into ready/"
run "$FLUSH" -D "$SPOOL" -U "$CH_URL"
check_eq 2 "$(count "msg = 'acme day 2'")" "--force inserts it again, as asked"
check_eq 1 "$(count "msg = 'acme day 1'")" "entries outside the window are not"

note "bad input"
printf 'not an archive' >"$T/junk.tar"
run "$REPLAY" -D "$SPOOL" "$T/junk.tar"
check_rc 1 "logthra-replay of a file that is no archive"
check_contains "junk.tar" "$RUN_ERR" "the error names the file"
run "$REPLAY" -D "$SPOOL" --since yesterday "$T/spool.tar.gz"
check_rc 1 "an invalid --since"
check_contains 'invalid value "yesterday" for option --since' "$RUN_ERR" "names the option"

finish
