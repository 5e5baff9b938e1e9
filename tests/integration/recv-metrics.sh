#!/bin/bash
# The receiver's per-tenant counters (SPOOL/recv.stats) through both
# ways logthra-recv runs as one process per request: inetd (under
# systemd-socket-activate) and CGI (nginx + fcgiwrap), each on its own
# spool.  A known mix of pushes, some of them at once from parallel
# curls: accepted ones, an oversized line and a stream with a bad label
# in one push, a push over a tenant's tiny ingestion rate (429), a push
# whose rate-limit state cannot be kept (503), refusals before the
# tenant is known (401, 404) and after (415).  Then logthra-flush
# --metrics-file, and every counter must be what the test sent; the file
# must pass promtool check metrics; logthra-recv --metrics must print the
# same families; and the flushed entries must match the accepted ones.
. "$(dirname "$0")/lib.sh"

need_clickhouse
need_inetd
need_nginx
need_built
need python3 python3 promtool prometheus

PARALLEL=6 # accepted pushes sent at once, 3 entries of 10 bytes each

# Lines up to 100 bytes; tenant slow may store 50 bytes at once, refilled
# at 1 byte per second: a second push of 30 bytes comes too soon.
cat >"$T/metrics.conf" <<'EOF'
dedup_window = 0
discover_log_levels = no
max_line_size = 100

[tenant slow]
ingestion_rate = 1
ingestion_burst_size = 50
EOF
chmod 644 "$T/metrics.conf"
export LOGTHRA_CONFIG=$T/metrics.conf

NOW=$(date +%s)000000000

# A push of three 10-byte lines for the tenant's stream.
printf '{"streams":[{"stream":{"app":"m"},"values":[["%s","line-%05d"],["%s","line-%05d"],["%s","line-%05d"]]}]}' \
    "$NOW" 1 "$NOW" 2 "$NOW" 3 >"$T/ok.json"
for ((i = 1; i <= PARALLEL; i++)); do
	printf '{"streams":[{"stream":{"app":"m","n":"%d"},"values":[["%s","line-%05d"],["%s","line-%05d"],["%s","line-%05d"]]}]}' \
	    "$i" "$NOW" 1 "$NOW" 2 "$NOW" 3 >"$T/ok-$i.json"
done
# One entry kept (10 bytes), one line of 101 bytes, two entries of a
# stream whose label name is invalid.
long=$(head -c 101 /dev/zero | tr '\0' x)
printf '{"streams":[{"stream":{"app":"m"},"values":[["%s","kept-line!"],["%s","%s"]]},{"stream":{"bad-name":"x"},"values":[["%s","a"],["%s","b"]]}]}' \
    "$NOW" "$NOW" "$long" "$NOW" "$NOW" >"$T/mixed.json"

start_clickhouse

# send URL WHAT: the whole mix against one front.
send() {
	local url=$1/loki/api/v1/push i pids=()
	note "$2: $PARALLEL pushes at once"
	for ((i = 1; i <= PARALLEL; i++)); do
		curl -sS --max-time 60 -o /dev/null -w '%{http_code}\n' \
		    -H 'Content-Type: application/json' -H 'X-Scope-OrgID: ok' \
		    --data-binary "@$T/ok-$i.json" "$url" >"$T/par-$i.status" &
		pids+=($!)
	done
	# Only the curls: the servers are this shell's children too.
	wait "${pids[@]}" || true
	for ((i = 1; i <= PARALLEL; i++)); do
		check_eq 204 "$(cat "$T/par-$i.status")" "$2: parallel push $i"
	done

	push "$url" "$T/mixed.json" -H 'X-Scope-OrgID: ok'
	check_status 400 "$2: a push with a long line and a bad label"
	check_contains "3 of 4 entries rejected, 1 stored" "$HTTP_BODY" \
	    "$2: the answer counts them"

	push "$url" "$T/ok.json" -H 'X-Scope-OrgID: slow'
	check_status 204 "$2: the slow tenant's first push"
	push "$url" "$T/ok.json" -H 'X-Scope-OrgID: slow'
	check_status 429 "$2: its second push, over the rate"

	push "$url" "$T/ok.json" -H 'X-Scope-OrgID: broken'
	check_status 503 "$2: a push whose rate-limit state cannot be kept"

	push "$url" "$T/ok.json"
	check_status 401 "$2: a push without a tenant"
	push "$1/api/nope" "$T/ok.json" -H 'X-Scope-OrgID: ok'
	check_status 404 "$2: a push to an unknown path"
	http_req -H 'Content-Type: text/plain' -H 'X-Scope-OrgID: ok' \
	    --data-binary "@$T/ok.json" "$url"
	check_status 415 "$2: a push of text/plain"
}

# metric FILE SAMPLE: the value of one sample, or "none".
metric() {
	awk -v s="$2" 'index($0, s " ") == 1 { v = substr($0, length(s) + 2) }
	    END { print v == "" ? "none" : v }' "$1"
}

# check_counts FILE WHAT: every counter against what send() sent.
check_counts() {
	local f=$1 w=$2 p=logthra_recv
	check_eq "$((PARALLEL + 1)) $((3 * PARALLEL + 1)) $((30 * PARALLEL + 10))" \
	    "$(metric "$f" "${p}_pushes_total{tenant=\"ok\"}") $(metric "$f" "${p}_entries_total{tenant=\"ok\"}") $(metric "$f" "${p}_bytes_total{tenant=\"ok\"}")" \
	    "$w: pushes, entries and line bytes accepted of ok"
	check_eq "1 2" \
	    "$(metric "$f" "${p}_rejected_entries_total{tenant=\"ok\",reason=\"line_too_long\"}") $(metric "$f" "${p}_rejected_entries_total{tenant=\"ok\",reason=\"invalid_labels\"}")" \
	    "$w: entries of ok rejected, by reason"
	check_eq "$PARALLEL 1 1" \
	    "$(metric "$f" "${p}_responses_total{tenant=\"ok\",code=\"204\"}") $(metric "$f" "${p}_responses_total{tenant=\"ok\",code=\"400\"}") $(metric "$f" "${p}_responses_total{tenant=\"ok\",code=\"415\"}")" \
	    "$w: answers to ok"
	check_eq "1 3 30" \
	    "$(metric "$f" "${p}_pushes_total{tenant=\"slow\"}") $(metric "$f" "${p}_entries_total{tenant=\"slow\"}") $(metric "$f" "${p}_bytes_total{tenant=\"slow\"}")" \
	    "$w: accepted of slow"
	check_eq "3 1 1" \
	    "$(metric "$f" "${p}_rejected_entries_total{tenant=\"slow\",reason=\"rate_limited\"}") $(metric "$f" "${p}_responses_total{tenant=\"slow\",code=\"204\"}") $(metric "$f" "${p}_responses_total{tenant=\"slow\",code=\"429\"}")" \
	    "$w: slow's rate-limited entries and its answers"
	check_eq "0 0 1" \
	    "$(metric "$f" "${p}_pushes_total{tenant=\"broken\"}") $(metric "$f" "${p}_entries_total{tenant=\"broken\"}") $(metric "$f" "${p}_responses_total{tenant=\"broken\",code=\"503\"}")" \
	    "$w: broken's 503"
	check_eq "1 1" \
	    "$(metric "$f" "${p}_responses_total{tenant=\"\",code=\"401\"}") $(metric "$f" "${p}_responses_total{tenant=\"\",code=\"404\"}")" \
	    "$w: refusals before the tenant was known"
	check_eq "none" "$(metric "$f" "${p}_pushes_total{tenant=\"\"}")" \
	    "$w: no pushes of no tenant"
	# Every sample of the receiver's families was checked above: 3 of
	# each of the first three families, 3 rejected, 8 responses.
	check_eq 20 "$(grep -c "^${p}_" "$f")" "$w: no other receiver samples"
	check_eq "$((3 * PARALLEL + 1)) 3" \
	    "$(metric "$f" 'logthra_flush_entries_total{tenant="ok"}') $(metric "$f" 'logthra_flush_entries_total{tenant="slow"}')" \
	    "$w: logthra-flush flushed as many entries as were accepted"
	lt_check_metrics "$f" "$w"
}

# run_front NAME SPOOL URL: the mix, a flush, the checks.
run_front() {
	local name=$1 spool=$2 url=$3 prom=$T/$1.prom
	send "$url" "$name"
	run "$FLUSH" -D "$spool" -U "$CH_URL" --metrics-file="$prom"
	check_rc 0 "$name: logthra-flush --metrics-file"
	check_counts "$prom" "$name"
	run "$RECV" -D "$spool" --metrics
	check_rc 0 "$name: logthra-recv --metrics"
	check_eq "$(grep '^\(# [A-Z]* \)\?logthra_recv_' "$prom")" "$RUN_OUT" \
	    "$name: logthra-recv --metrics prints the families of the metrics file"
}

# The rate-limit state of tenant broken is a directory: the receiver
# cannot open it and answers 503, a real failure of the spool that
# leaves the counters' file alone.
SPOOL_I=$T/spool-inetd
SPOOL_C=$T/spool-cgi
mkdir -p "$SPOOL_I/rate/broken" "$SPOOL_C/rate/broken"

start_inetd "$SPOOL_I"
run_front inetd "$SPOOL_I" "$INETD_URL"

start_nginx_fcgiwrap "$SPOOL_C"
run_front cgi "$SPOOL_C" "$NGINX_URL"
if ((LT_UID == 0)); then
	check_eq "$LT_CGI_USER 660" "$(stat -c '%U %a' "$SPOOL_C/recv.stats")" \
	    "cgi: the counters are the CGI user's, group-writable"
fi

note "a torn counter file: detected, restarted, pushes unharmed"
printf 'garbage' >>"$SPOOL_I/recv.stats"
push "$INETD_URL/loki/api/v1/push" "$T/ok.json" -H 'X-Scope-OrgID: ok'
check_status 204 "a push with a torn counter file"
check_contains "torn or corrupt record dropped" "$(cat "$T"/inetd-*.log)" \
    "the receiver warns in its log"
run "$RECV" -D "$SPOOL_I" --metrics
check_eq "$((PARALLEL + 2))" \
    "$(printf '%s\n' "$RUN_OUT" | sed -n 's/^logthra_recv_pushes_total{tenant="ok"} //p')" \
    "the other records kept their counts"

note "counters that cannot be written never fail a push"
mv "$SPOOL_I/recv.stats" "$SPOOL_I/recv.stats.old"
mkdir "$SPOOL_I/recv.stats"
push "$INETD_URL/loki/api/v1/push" "$T/ok.json" -H 'X-Scope-OrgID: ok'
check_status 204 "a push whose counters cannot be written"
check_contains "the request is not counted" "$(cat "$T"/inetd-*.log)" \
    "the receiver warns in its log"

finish
