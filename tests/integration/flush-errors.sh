#!/bin/bash
# logthra-flush when things go wrong: ClickHouse down, ClickHouse
# refusing the insert of the rows or of the streams index, a corrupt
# spool file, another flush holding the lock.  Nothing may be lost and nothing may arrive twice.
. "$(dirname "$0")/lib.sh"

need_clickhouse
need_built

rows() { ch_query "$1 FORMAT TSV"; }

# spool_with NAME TENANT...: a fresh spool holding the seed push once per
# tenant given.
spool_with() {
	local dir=$T/$1 t
	shift
	mkdir -p "$dir"
	for t in "$@"; do
		"$RECV" -T "$t" -D "$dir" "$SEED" || die "logthra-recv -T $t failed"
	done
}

note "ClickHouse is not running"
spool_with down acme
SPOOL=$T/down
port=$(free_port)
run "$FLUSH" -D "$SPOOL" -U "http://127.0.0.1:$port/"
check_rc 75 "logthra-flush with nothing listening"
check_contains "127.0.0.1:$port" "$RUN_ERR" "the error names the URL"
check_eq 1 "$(count_files "$SPOOL/tenants/acme/ready")" "the file is back in ready/"
check_eq 0 "$(count_files "$SPOOL/tenants/acme/active")" "nothing left in active/"

start_clickhouse
run "$FLUSH" -D "$SPOOL" -U "$CH_URL"
check_rc 0 "logthra-flush once ClickHouse runs"
check_match '^flushed 1 files, 2 rows, ' "$RUN_OUT" "the kept file is flushed"
check_eq 2 "$(rows "SELECT count() FROM logs.log WHERE tenant_id = 'acme'")" \
    "the rows arrived exactly once"
run "$FLUSH" -D "$SPOOL" -U "$CH_URL"
check_match '^flushed 0 files, 0 rows, ' "$RUN_OUT" "a second flush finds nothing"
check_eq 2 "$(rows "SELECT count() FROM logs.log WHERE tenant_id = 'acme'")" \
    "still exactly 2 rows"

note "ClickHouse refuses the insert (incompatible table)"
ch_unwritable_table wrong
spool_with refused acme
SPOOL=$T/refused
# The retry time is set during the run: 30 s after a moment between these.
started=$(date +%s)
run "$FLUSH" -D "$SPOOL" -U "$CH_URL" -d wrong
ended=$(date +%s)
check_rc 75 "logthra-flush into an incompatible table"
check_contains "DB::Exception" "$RUN_ERR" "ClickHouse's exception is printed"
check_match '; 1 files wait for a retry$' "$RUN_OUT" "the summary counts the deferred file"
check_eq 1 "$(count_files "$SPOOL/tenants/acme/deferred")" "the file waits in deferred/"
check_eq 0 "$(count_files "$SPOOL/tenants/acme/active")" "nothing left in active/"
check_eq 0 "$(count_files "$SPOOL/quarantine")" "a table problem quarantines nothing"
check_eq 0 "$(rows "SELECT count() FROM wrong.log")" "nothing was inserted"
for f in "$SPOOL"/tenants/acme/deferred/*; do
	m=$(stat -c %Y "$f")
	check_eq 1 "$((m >= started + 29 && m <= ended + 31))" \
	    "next retry ~30 s ahead in the mtime of $(basename "$f")"
done
run "$FLUSH" -D "$SPOOL" -U "$CH_URL"
check_match '^flushed 0 files, 0 rows, .*; 1 files wait for a retry$' "$RUN_OUT" \
    "before their retry time the files wait"
check_eq 1 "$(count_files "$SPOOL/tenants/acme/deferred")" "still in deferred/"
run "$FLUSH" -D "$SPOOL" -U "$CH_URL" --retry-now
check_rc 0 "--retry-now flushes them into the right table at once"
check_eq 4 "$(rows "SELECT count() FROM logs.log WHERE tenant_id = 'acme'")" \
    "and arrive once"

note "ClickHouse refuses the streams index's insert"
mkdir -p "$T/none"
run "$FLUSH" -D "$T/none" -U "$CH_URL" -d sx
check_rc 0 "a flush of nothing makes sx.log and its index"
ch_query "DROP TABLE sx.log_streams" >/dev/null
ch_query "CREATE VIEW sx.log_streams AS SELECT '' AS tenant_id, toUInt64(0) AS stream_id,
    emptyArrayString() AS label, toDate(0) AS day WHERE 0" >/dev/null
spool_with sx acme
SPOOL=$T/sx
run "$FLUSH" -D "$SPOOL" -U "$CH_URL" -d sx
check_rc 75 "logthra-flush when the index takes no rows"
check_contains 'could not insert 1 streams of tenant "acme" into the streams index' "$RUN_ERR" \
    "the error says so"
check_eq 1 "$(count_files "$SPOOL/tenants/acme/deferred")" "the file waits in deferred/"
check_eq 0 "$(count_files "$SPOOL/quarantine")" "nothing is quarantined"
check_eq 0 "$(rows "SELECT count() FROM sx.log")" "no row went in without its stream indexed"
ch_query "DROP TABLE sx.log_streams" >/dev/null
run "$FLUSH" -D "$SPOOL" -U "$CH_URL" -d sx --retry-now
check_rc 0 "once the index takes rows again, --retry-now flushes the file"
check_eq "$(rows "SELECT count() FROM logs.log WHERE tenant_id = 'acme' AND push_id = (SELECT any(push_id) FROM logs.log WHERE tenant_id = 'acme')")" \
    "$(rows "SELECT count() FROM sx.log")" "all the push's rows, once"
check_streams_index sx.log "and its streams are indexed"

note "a corrupt spool file"
spool_with corrupt acme acme beta
SPOOL=$T/corrupt
bad=$(find "$SPOOL/tenants/acme/ready" -type f | sort | head -n 1)
badname=$(basename "$bad")
size=$(stat -c %s "$bad")
off=$((size / 2))
byte=$(od -An -tu1 -j "$off" -N1 "$bad" | tr -d ' ')
printf "\\$(printf '%03o' $((byte ^ 0xff)))" |
    dd of="$bad" bs=1 seek="$off" count=1 conv=notrunc status=none
check_eq "$size" "$(stat -c %s "$bad")" "flipped one byte of $badname"
run "$FLUSH" -D "$SPOOL" -U "$CH_URL" -d corrupt
check_rc 65 "logthra-flush with a corrupt file"
check_contains "$badname" "$RUN_ERR" "the corrupt file is named"
check_match '^flushed 2 files, 4 rows, ' "$RUN_OUT" "the other two files are flushed"
check_eq "acme	2
beta	2" "$(rows "SELECT tenant_id, count() FROM corrupt.log GROUP BY tenant_id ORDER BY tenant_id")" \
    "their rows arrived"
check_contains "1 files quarantined" "$RUN_OUT" "the summary counts it"
check_eq "" "$(find "$SPOOL/tenants" -type f -name '*.spool')" "no spool file left"
check_eq "$badname
$badname.reason" "$(find "$SPOOL/quarantine/acme" -type f -printf '%f\n' | sort)" \
    "the corrupt file is in quarantine/acme/ with its reason"
check_match '^bad CRC in record at byte [0-9]+$' \
    "$(cat "$SPOOL/quarantine/acme/$badname.reason")" "the reason names the bad record"
run "$FLUSH" -D "$SPOOL" -U "$CH_URL" -d corrupt
check_rc 0 "the next flush has nothing to report"
check_eq 4 "$(rows "SELECT count() FROM corrupt.log")" "and inserts nothing twice"
check_eq 2 "$(count_files "$SPOOL/quarantine/acme")" "quarantine is kept"

note "every quarantine reason: truncated, unknown version, not a plain file, wrong tenant"
spool_with reasons acme acme acme acme acme
SPOOL=$T/reasons
TD=$SPOOL/tenants/acme/ready
mapfile -t f < <(find "$TD" -type f -printf '%f\n' | sort)
truncate -s -10 "$TD/${f[0]}"
printf '\002' | dd of="$TD/${f[1]}" bs=1 seek=8 count=1 conv=notrunc status=none
mv "$TD/${f[2]}" "$T/elsewhere.spool" && ln -s "$T/elsewhere.spool" "$TD/${f[2]}"
mkdir -p "$SPOOL/tenants/beta/ready"
mv "$TD/${f[3]}" "$SPOOL/tenants/beta/ready/${f[3]}"
run "$FLUSH" -D "$SPOOL" -U "$CH_URL" -d reasons
check_rc 65 "logthra-flush with four bad files"
check_match '^flushed 1 files, 2 rows, .*; 4 files quarantined$' "$RUN_OUT" \
    "the good file is flushed, four are quarantined"
reason() { cat "$SPOOL/quarantine/$1/$2.reason"; }
check_match '^record at byte [0-9]+ runs past the end of the file$' "$(reason acme "${f[0]}")" \
    "a truncated file: its reason"
check_eq 'unsupported spool format version 2 (this is version 1)' "$(reason acme "${f[1]}")" \
    "an unknown version: its reason"
check_match '^could not open .*Too many levels of symbolic links$' "$(reason acme "${f[2]}")" \
    "a symlink is not followed: its reason"
check_eq 'it belongs to tenant "acme"' "$(reason beta "${f[3]}")" \
    "a file in another tenant's directory: its reason"
check_eq 2 "$(rows "SELECT count() FROM reasons.log")" "only the good file's rows"
check_eq 0 "$(spool_files "$SPOOL")" "nothing is left in tenants/"

note "another flush holds the lock"
spool_with locked acme
SPOOL=$T/locked
# The subshell execs sleep, which then holds the lock on its own.
(
	exec 9>>"$SPOOL/flush.lock"
	flock 9
	exec sleep 60
) &
holder=$!
LT_PIDS+=("$holder")
for ((i = 0; i < 100; i++)); do
	flock -n "$SPOOL/flush.lock" true || break
	sleep 0.1
done
run "$FLUSH" -D "$SPOOL" -U "$CH_URL" -d locked
check_rc 75 "logthra-flush while flush.lock is held"
check_contains "lock" "$RUN_ERR" "it says another run holds the lock"
check_eq 1 "$(count_files "$SPOOL/tenants/acme/ready")" "the file stays in ready/"
run "$REPLAY" -D "$SPOOL" --recover
check_rc 75 "logthra-replay --recover while flush.lock is held"
lt_stop_server "$holder"
run "$FLUSH" -D "$SPOOL" -U "$CH_URL" -d locked
check_rc 0 "logthra-flush after the lock is released"
check_eq 2 "$(rows "SELECT count() FROM locked.log")" "the rows arrived"

finish
