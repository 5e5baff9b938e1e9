#!/bin/bash
# logthra-flush --status, --status --json, SPOOL/flush.state and
# --metrics-file against a real ClickHouse: pushes of two tenants written
# by logthra-recv in file mode, the report before and after a flush, with
# ClickHouse refusing and then stopped (a deferred file, "not
# reachable", the last run's error), as a user who may only read the
# spool, and while another process holds the flush lock, which --status
# shows and never disturbs.
. "$(dirname "$0")/lib.sh"

need_clickhouse
need_built
need python3 python3 flock util-linux strace strace promtool prometheus

SPOOL=$T/spool
mkdir -p "$SPOOL" "$T/metrics"
METRICS=$T/metrics/logthra.prom
A=acme
B="beta.team_(1)"

# status [ARGS...]: logthra-flush --status on SPOOL.
status() { run "$FLUSH" -D "$SPOOL" -U "$CH_URL" --status "$@"; }
flush() { run "$FLUSH" -D "$SPOOL" -U "$CH_URL" --metrics-file="$METRICS" "$@"; }

# line LABEL: the value of "LABEL:" in the last report.
line() {
	printf '%s\n' "$RUN_OUT" | sed -n "s/^$1: *//p"
}

# row TENANT: the tenant's row of the table, blanks squeezed.
row() {
	printf '%s\n' "$RUN_OUT" | awk -v t="$1" '$1 == t' | tr -s ' '
}

# js EXPR: a Python expression over the last report parsed as JSON (j).
js() {
	python3 -c 'import json, sys
j = json.loads(sys.argv[1])
print(eval(sys.argv[2]))' "$RUN_OUT" "$1"
}

# metric SAMPLE: the value of one sample of the metrics file.
metric() {
	awk -v s="$1" 'index($0, s " ") == 1 { print substr($0, length(s) + 2) }' "$METRICS"
}

# state KEY: a value of SPOOL/flush.state.
state() { sed -n "s/^$1 //p" "$SPOOL/flush.state"; }

check_metrics() { lt_check_metrics "$METRICS" "$1"; }

# Everything under SPOOL with its size and mtime: --status changes none.
snapshot() {
	find "$SPOOL" -printf '%p %s %T@ %m\n' | sort
}

start_clickhouse

note "an empty spool, before any run"
status
check_rc 0 "--status of an empty spool"
check_eq "none recorded" "$(line 'Last run')" "no run recorded yet"
check_match '^answers \(http://127\.0\.0\.1:[0-9]+/\)$' "$(line ClickHouse)" "ClickHouse answers"
check_eq free "$(line 'Flush lock')" "nobody holds the lock"
check_eq "0 (ready 0, deferred 0, active 0)" "$(line 'Files waiting')" "nothing waits"
run env LOGTHRA_CLICKHOUSE_PASSWORD=wrong "$FLUSH" -D "$SPOOL" -U "$CH_URL" --status
check_rc 3 "--status with a wrong password"
check_match '^answers with an error \(HTTP [0-9]+\): Code: [0-9]+' "$(line ClickHouse)" \
    "ClickHouse answers with its error"

note "pushes of two tenants"
"$RECV" -T "$A" -D "$SPOOL" "$SEED" || die "logthra-recv -T $A failed"
"$RECV" -T "$A" -D "$SPOOL" "$SEED" || die "logthra-recv -T $A failed"
"$RECV" -T "$B" -D "$SPOOL" "$SEED" || die "logthra-recv -T $B failed"
bytes_a=$(find "$SPOOL/tenants/$A" -name '*.spool' -printf '%s\n' | awk '{s += $1} END {print s}')
bytes_b=$(find "$SPOOL/tenants/$B" -name '*.spool' -printf '%s\n' | awk '{s += $1} END {print s}')
oldest=$(find "$SPOOL/tenants" -name '*.spool' -printf '%f\n' | sort | head -n 1)
before=$(snapshot)
status
check_rc 0 "--status with files waiting"
check_eq "3 (ready 3, deferred 0, active 0)" "$(line 'Files waiting')" "three files wait"
check_eq 6 "$(line 'Entries waiting')" "their entries, from the END records"
check_eq "$((bytes_a + bytes_b))" "$(line 'Bytes waiting')" "their bytes"
check_match '^20[0-9-]+ [0-9:]+ UTC \([0-9]+ s ago\)$' "$(line 'Oldest waiting push')" \
    "the oldest push, with its age"
check_eq "$(date -u -d "@${oldest:0:10}" '+%Y-%m-%d %H:%M:%S UTC')" \
    "$(line 'Oldest waiting push' | sed 's/ (.*//')" "its time comes from the file name"
check_eq "0" "$(line 'Incomplete files')" "every file is complete"
check_match '^Tenant +Ready +Deferred +Active +Quarantined +Incomplete +Entries +Bytes +Oldest +Next retry +Flushed entries$' \
    "$(printf '%s\n' "$RUN_OUT" | grep '^Tenant')" "the table's header"
check_match "^$A 2 0 0 0 0 4 $bytes_a [0-9]+ s - 0\$" "$(row "$A")" "the row of $A"
check_match "^beta\.team_\(1\) 1 0 0 0 0 2 $bytes_b [0-9]+ s - 0\$" "$(row "$B")" "the row of $B"
check_eq "$before" "$(snapshot)" "--status changed nothing in the spool"
check_eq 0 "$(count_files "$SPOOL/tenants/$A/active")" "and claimed nothing"

note "--status --json before the flush"
status --json
check_rc 0 "--status --json"
check_eq "3 6 $((bytes_a + bytes_b))" \
    "$(js '"%d %d %d" % (j["backlog"]["files"], j["backlog"]["entries"], j["backlog"]["bytes"])')" \
    "the backlog in JSON"
check_eq "['$A', '$B']" "$(js '[t["tenant"] for t in j["tenants"]]')" "both tenants, sorted"
check_eq "True True False None" \
    "$(js '" ".join(map(str, [j["clickhouse"]["reachable"], j["clickhouse"]["ok"], j["flush_lock"]["held"], j["last_run"]]))')" \
    "ClickHouse answers, no lock, no run yet"

note "two modes at once are refused by name, and do nothing"
# OPTIONS|THE FIRST NAMED|THE SECOND: -F is named -F/--follow, as is --follow.
while IFS='|' read -r modes first second; do
	flush $modes </dev/null
	check_rc 1 "logthra-flush $modes"
	check_eq "logthra-flush: error: options $first and $second cannot be used together
Try \"logthra-flush --help\" for more information." "$RUN_ERR" "$modes: the message names both"
	check_eq "" "$RUN_OUT" "$modes: nothing on standard output"
done <<'EOF'
--status --migrate|--status|--migrate
--migrate --status|--migrate|--status
--status --print-config|--status|--print-config
-F --print-ddl|-F/--follow|--print-ddl
--follow --status|-F/--follow|--status
--check-config --migrate|--check-config|--migrate
EOF
check_eq "$before" "$(snapshot)" "the refused runs changed nothing in the spool"
check_eq "" "$(find "$T/metrics" -type f)" "and wrote no metrics file"

note "a flush, with the metrics file"
flush
check_rc 0 "logthra-flush"
check_match '^flushed 3 files, 6 rows, ' "$RUN_OUT" "it flushed the three files"
check_eq "1 0 0" "$(state runs) $(state failures) $(state last_exit_status)" "flush.state counts the run"
check_eq "$A 4 $bytes_a 2" "$(grep "^tenant $A " "$SPOOL/flush.state" | cut -d' ' -f2-)" \
    "flush.state counts $A's entries, bytes and files"
check_eq "$B 2 $bytes_b 1" "$(grep '^tenant beta' "$SPOOL/flush.state" | cut -d' ' -f2-)" \
    "and $B's"
check_eq "" "$(find "$SPOOL" -name '*.tmp')" "no temporary file is left"
status
check_rc 0 "--status after the flush"
check_eq "0 (ready 0, deferred 0, active 0)" "$(line 'Files waiting')" "nothing waits"
check_eq "0 (success)" "$(line 'Last run exit status')" "the last run succeeded"
check_match '^[0-9]\.[0-9]{3} s$' "$(line 'Last run duration')" "its duration, in seconds (under 10: a run under valgrind takes over 1)"
check_eq "$(line 'Last run')" "$(line 'Last success')" "the last success is the last run"
check_eq "none" "$(line 'Last error')" "no error so far"
check_eq 1 "$(line 'Runs recorded')" "one run recorded"
check_match "^$A 0 0 0 0 0 0 0 - - 4\$" "$(row "$A")" "$A: flushed entries in the table"

note "the metrics file"
check_metrics "after a successful run"
check_eq 4 "$(metric "logthra_flush_entries_total{tenant=\"$A\"}")" "entries flushed of $A"
check_eq 2 "$(metric "logthra_flush_entries_total{tenant=\"$B\"}")" "entries flushed of $B"
check_eq "$bytes_a" "$(metric "logthra_flush_bytes_total{tenant=\"$A\"}")" "bytes flushed of $A"
check_eq 2 "$(metric "logthra_flush_files_total{tenant=\"$A\"}")" "files flushed of $A"
check_eq "1 0 0" "$(metric logthra_flush_runs_total) $(metric logthra_flush_failures_total) $(metric logthra_flush_last_exit_status)" \
    "runs, failures, last exit status"
check_eq 0 "$(metric "logthra_backlog_files{tenant=\"$A\",state=\"ready\"}")" "nothing ready"
check_eq "$(metric logthra_flush_last_run_timestamp_seconds)" \
    "$(metric logthra_flush_last_success_timestamp_seconds)" "the last success is the last run"
check_eq "$(state last_run_time)" "$(metric logthra_flush_last_run_timestamp_seconds)" \
    "the metrics and flush.state agree"

note "ClickHouse refuses the insert, then stops"
# Times are in seconds: the failed runs must come in a later one than
# the last success for the check of their order below.
sleep 1.1
ch_unwritable_table wrong
"$RECV" -T "$A" -D "$SPOOL" "$SEED" || die "logthra-recv -T $A failed"
flush -d wrong
check_rc 75 "logthra-flush into an incompatible table"
check_eq 1 "$(count_files "$SPOOL/tenants/$A/deferred")" "the file waits in deferred/"
check_contains "DB::Exception" "$(state last_error)" "flush.state keeps ClickHouse's message"
stop_clickhouse
flush
check_rc 75 "logthra-flush with ClickHouse stopped"
status
check_rc 3 "--status with ClickHouse stopped"
check_match '^not reachable: could not reach ClickHouse at http://127\.0\.0\.1:[0-9]+/: ' \
    "$(line ClickHouse)" "ClickHouse: not reachable"
check_eq "75 (temporary failure)" "$(line 'Last run exit status')" "the last run failed"
check_match '^20[0-9-]+ [0-9:]+ UTC: could not ask ClickHouse for its version: could not reach ClickHouse' \
    "$(line 'Last error')" "with its error"
check_eq "1 (0 due)" "$(line 'Deferred files')" "one deferred file, not due"
check_match '^20[0-9-]+ [0-9:]+ UTC \(in (2[0-9]|30|31) s\)$' "$(line 'Next retry')" \
    "its retry time, from its mtime"
check_eq "3 2" "$(line 'Runs recorded') $(line 'Failed runs')" "three runs, two failed"
check_match "^$A 0 1 0 0 0 2 [0-9]+ [0-9]+ s in [0-9]+ s 4\$" "$(row "$A")" "$A's row"
status --json
check_rc 3 "--status --json with ClickHouse stopped"
check_eq "3 False False 75 1" \
    "$(js '" ".join(map(str, [j["exit_status"], j["clickhouse"]["reachable"], j["clickhouse"]["ok"], j["last_run"]["exit_status"], j["tenants"][0]["deferred"]]))')" \
    "the same in JSON"
check_contains "could not reach ClickHouse" "$(js 'j["last_error"]["message"]')" "the error in JSON"
status --no-ping
check_rc 2 "--status --no-ping: the last run failed"
check_eq "not asked (--no-ping)" "$(line ClickHouse)" "ClickHouse not asked"
check_metrics "after failed runs"
check_eq "3 2 75" "$(metric logthra_flush_runs_total) $(metric logthra_flush_failures_total) $(metric logthra_flush_last_exit_status)" \
    "the metrics count the failures"
check_eq 1 "$(metric "logthra_backlog_files{tenant=\"$A\",state=\"deferred\"}")" "the deferred file"
check_eq 2 "$(metric "logthra_backlog_entries{tenant=\"$A\"}")" "its entries"
check_match '^[0-9]+$' "$(metric "logthra_backlog_oldest_seconds{tenant=\"$A\"}")" "its age"
check_eq 1 "$(( $(metric logthra_flush_last_run_timestamp_seconds) > $(metric logthra_flush_last_success_timestamp_seconds) ))" \
    "the last success is older than the last run"

note "a corrupt state file"
printf 'version 1\nruns 12\n' >"$SPOOL/flush.state"
status --no-ping
check_rc 0 "--status with a corrupt state file: nothing known failed"
check_match '^unknown: state file .* is corrupt' "$(line 'Last run')" "it says the state is unknown"
check_contains "is corrupt" "$RUN_ERR" "and warns"

restart_clickhouse
flush --retry-now
check_rc 0 "logthra-flush once ClickHouse is back, despite the corrupt state file"
check_contains "start afresh" "$RUN_ERR" "it warned and started the counters afresh"
check_eq "1 0" "$(state runs) $(state failures)" "the counters restarted"
status
check_rc 0 "--status is healthy again"
check_eq "0 (ready 0, deferred 0, active 0)" "$(line 'Files waiting')" "nothing waits"

note "a user who may only read the spool"
"$RECV" -T "$B" -D "$SPOOL" "$SEED" || die "logthra-recv -T $B failed"
chmod -R a+rX,go-w "$SPOOL"
before=$(snapshot)
flush_bin=$FLUSH
if ((LT_UID == 0)); then
	lt_user_prefix nobody
	reader=("${LT_PRE[@]}")
	if ! as_user nobody test -x "$flush_bin"; then
		# The build tree is out of nobody's reach (e.g. under /root).
		mkdir -p "$T/bin"
		cp "$FLUSH" "$T/bin/logthra-flush"
		chmod 755 "$T/bin" "$T/bin/logthra-flush"
		flush_bin=$T/bin/logthra-flush
	fi
else
	chmod -R a-w "$SPOOL"
	reader=()
fi
run ${reader[@]+"${reader[@]}"} "$flush_bin" -D "$SPOOL" -U "$CH_URL" --status --json
check_rc 0 "--status as a user who may only read the spool"
check_eq "1 2" "$(js '"%d %d" % (j["backlog"]["files"], j["backlog"]["entries"])')" \
    "it reads the backlog"
check_eq "1" "$(js 'j["runs"]')" "and flush.state"
((LT_UID == 0)) || chmod -R u+w "$SPOOL"
check_eq "$before" "$(snapshot)" "and changes nothing"

note "another process holds the flush lock"
( exec 9>>"$SPOOL/flush.lock"; flock 9; exec sleep 60 ) &
holder=$!
LT_PIDS+=("$holder")
for ((i = 0; i < 100; i++)); do
	flock -n "$SPOOL/flush.lock" true || break
	sleep 0.1
done
status
check_rc 0 "--status while flush.lock is held"
check_match '^held by PID [0-9]+' "$(line 'Flush lock')" "it shows the lock held"
flock -n "$SPOOL/flush.lock" true && r=free || r=held
check_eq held "$r" "the lock is still held after --status"
lt_stop_server "$holder"

note "logthra-flush --follow holds the lock"
lt_spawn follow "$T/follow.log" "$FLUSH" --follow --follow-delay=0 -D "$SPOOL" \
    -U "$CH_URL" --metrics-file="$METRICS"
follow=$LT_LAST_PID
for ((i = 0; i < 150; i++)); do
	grep -qs '^flushed ' "$T/follow.log" && break
	sleep 0.1
done
# The name is the holder's comm, valgrind's own (memcheck-amd64-, say)
# when the tests run under it (LT_VALGRIND=1).
holder_name=logthra-flush
[[ "${LT_VALGRIND:-0}" != 1 ]] || holder_name=$(cat "/proc/$follow/comm")
status --json
check_rc 0 "--status while logthra-flush --follow runs"
check_eq "True $follow $holder_name" \
    "$(js '" ".join(map(str, [j["flush_lock"]["held"], j["flush_lock"]["pid"], j["flush_lock"]["program"]]))')" \
    "the lock is held by the follower, by PID and name"
for ((k = 0; k < 20; k++)); do
	status --no-ping >/dev/null
done
"$RECV" -T "$A" -D "$SPOOL" "$SEED" || die "logthra-recv -T $A failed"
for ((i = 0; i < 100; i++)); do
	[[ "$(spool_files "$SPOOL")" == 0 ]] && break
	sleep 0.1
done
check_eq 0 "$(spool_files "$SPOOL")" "the follower goes on flushing after 20 --status runs"
run "$FLUSH" -D "$SPOOL" -U "$CH_URL"
check_rc 75 "a timer run still finds the lock taken"
lt_stop_server "$follow"
check_match '^[0-9]+$' "$(state runs)" "flush.state is readable"
runs=$(state runs)
check_eq 1 "$((runs >= 3))" "each pass of --follow is recorded ($runs runs)"
check_eq "$runs" "$(metric logthra_flush_runs_total)" "and written to the metrics file"
check_metrics "written by --follow"

note "--status takes no lock at all"
run strace -f -qq -e trace=flock,fcntl -o "$T/strace.log" \
    "$FLUSH" -D "$SPOOL" -U "$CH_URL" --status
check_rc 0 "--status under strace"
check_match 'fcntl|flock' "$(cat "$T/strace.log")" "strace saw the calls it watches"
check_eq "" "$(grep -E 'flock\(|F_(OFD_)?SETLKW?' "$T/strace.log" || true)" \
    "--status made no flock(2) call and set no fcntl(2) lock"
run strace -f -qq -e trace=flock -o "$T/strace.log" "$FLUSH" -D "$SPOOL" -U "$CH_URL"
check_contains "LOCK_EX|LOCK_NB" "$(cat "$T/strace.log")" "while a run takes its lock with flock(2)"

note "--status never takes the lock from a starting run"
# With --status looking all the time, timer runs must still get the lock
# every time: --status reads /proc/locks and takes no lock of its own.
(
	while :; do
		"$FLUSH" -D "$SPOOL" -U "$CH_URL" --status --no-ping >/dev/null 2>&1 || :
	done
) &
looker=$!
LT_PIDS+=("$looker")
lost=0
for ((k = 0; k < 30; k++)); do
	"$FLUSH" -D "$SPOOL" -U "$CH_URL" >/dev/null 2>&1 || lost=$((lost + 1))
done
lt_stop_server "$looker"
check_eq 0 "$lost" "30 runs beside a busy --status all got the lock"

finish
