#!/bin/bash
# Receive benchmark: how close logthra-recv comes to a receiver that does
# nothing, in both of its deployments.
#
# Starts, each on its own free loopback port,
#   - nginx + fcgiwrap running logthra-recv as a CGI program,
#   - nginx + fcgiwrap running bench/null-responder.c as a CGI program,
#   - systemd-socket-activate --accept --inetd running logthra-recv,
#   - systemd-socket-activate --accept --inetd running the null responder,
#   - both again for the durable null responder (null-responder.c built
#     with DURABLE_DIR),
# and drives each with wrk (bench/post.lua), which POSTs one push body
# over keep-alive connections: under CGI nginx starts one program per
# push, under inetd one per connection.  The bodies (bench/gen-push.js)
# are pushes of access-log lines of about 190 bytes, in JSON and in
# protobuf + snappy holding the same entries, of BENCH_SIZES bytes of
# JSON.  Every combination runs BENCH_RUNS times, in rounds over all of
# them, logthra-recv and the durable responder one right after the other
# (which goes first alternates from round to round), then the null
# responder, so that each pair sees the same state of a machine that may
# be shared and noisy: the ratios are medians of the ratios within each
# round, not ratios of medians, since the disk's pace can change twofold
# between rounds.  Beside each median, how busy the machine's CPUs were
# (all processes, from /proc/stat) during the runs of logthra-recv and
# of the durable responder: near 100%, the CPUs were the limit; well
# below, the disk (fsync) or the wait between a push and its answer.
# Trust the medians and ratios, not single runs.  Every answer must be
# 204 and, for logthra-recv, every 204 a file in the spool, or the
# benchmark fails.  The spool is emptied after each run.
#
# The null responder stores nothing: under CGI its ceiling is nginx,
# fcgiwrap and one fork and exec per push; under inetd it only copies
# bytes over loopback, so there the ratio says what parsing and storing
# durably (a file, two fsyncs) cost, not what a better receiver could
# reach.  The durable null responder adds the disk's part: it stores each
# body in a new file made durable as logthra-recv makes a push (write,
# fsync, rename, fsync of the directory) and parses nothing, so
# logthra-recv over it is what Logthra's own work costs.
#
# OpenTelemetry logs: the same entries as an OTLP protobuf request
# (uncompressed, one resource per stream, the labels as resource
# attributes that become index labels, each line a string body) POSTed
# to /otlp/v1/logs, each answer of logthra-recv 200 and a file in the
# spool; the null responders take it as any other body, so that the main
# table has OTLP's ratio to the durable ceiling too, and a second table
# compares its entries/s with those of the Loki protobuf push of the same
# entries (target: at least 0.8).
#
# Then the peak RSS of logthra-recv in file mode (-T TENANT FILE) for a
# push at the size limit: 16 MiB of JSON, the protobuf of the same
# entries, and a protobuf of 16 MiB (which decodes to about 61 MiB).
#
# Prints a table; writes the medians as TSV to BENCH_OUT (default
# BUILD/bench/results/recv.tsv), one line per transport, format and size;
# its last two columns are the CPU busy percentages.
# Plot throughput against push size with gnuplot, for example:
#   set logscale xy; set xlabel 'push (bytes of JSON)'; set ylabel 'MB/s'
#   f = 'bench/results/recv.tsv'
#   plot for [t in "cgi inetd"] for [b in "json protobuf"] \
#     f using 4:((strcol(1) eq t && strcol(2) eq b) ? $8 : NaN) w lp t t.' '.b, \
#     for [t in "cgi inetd"] for [b in "json protobuf"] \
#     f using 4:((strcol(1) eq t && strcol(2) eq b) ? $10 : NaN) w lp dt 2 t t.' '.b.' null'
#
# Usage: bench/recv.sh            (after a build)
#   BENCH_RUNS=3 BENCH_SECONDS=3 BENCH_THREADS=2 BENCH_CONNECTIONS=8
#   BENCH_SIZES="10k=10000 100k=100000 1m=1000000"   (NAME=BYTES of JSON)
#   BENCH_OUT=path/recv.tsv  BENCH_RSS=0 (skip the RSS part)
#   BENCH_FORMATS="json protobuf otlp"   (any of them; otlp needs protobuf
#   for its ratio)
set -euo pipefail
LT_NAME=bench-recv
. "$(dirname "$0")/../tests/integration/lib.sh"

RUNS=${BENCH_RUNS:-3}
SECS=${BENCH_SECONDS:-3}
THREADS=${BENCH_THREADS:-2}
CONNS=${BENCH_CONNECTIONS:-8}
SIZES=${BENCH_SIZES:-"10k=10000 100k=100000 1m=1000000"}
OUT=${BENCH_OUT:-$abs_top_builddir/bench/results/recv.tsv}
DO_RSS=${BENCH_RSS:-1}
read -ra FORMATS <<<"${BENCH_FORMATS:-json protobuf otlp}"
BENCH=$abs_top_srcdir/bench
# Free space the runs need besides the spool's own reserve: a run of
# 1 MB pushes writes a few GB before it is removed.
MIN_FREE_KB=$((4 << 20))

for v in RUNS:RUNS SECS:SECONDS THREADS:THREADS CONNS:CONNECTIONS; do
	name=${v%%:*}
	val=${!name}
	[[ $val =~ ^[1-9][0-9]*$ ]] ||
	    die "BENCH_${v#*:} must be a positive integer, not '$val'"
done
for f in "${FORMATS[@]}"; do
	[[ $f == json || $f == protobuf || $f == otlp ]] ||
	    die "BENCH_FORMATS: '$f' is not json, protobuf or otlp"
done
for s in $SIZES; do
	[[ $s =~ ^[A-Za-z0-9_.-]+=[1-9][0-9]*$ ]] || die "BENCH_SIZES: '$s' is not NAME=BYTES"
done

need_nginx
need_inetd
need wrk wrk node nodejs npm npm
[[ -x /usr/bin/time ]] || lt_missing /usr/bin/time time
need_built

START=$(date +%s)

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
per_s() { awk -v n="$1" -v e="$2" 'BEGIN { printf "%.0f", n * e }'; }
mbps() { awk -v n="$1" -v b="$2" 'BEGIN { printf "%.1f", n * b / 1e6 }'; }

# --- protobufjs and snappy for the bodies, as tests/integration/loki.sh ----

if ! lt_install_clients; then
	tail -n 20 "$T/npm.log" | sed 's/^/#   /'
	die "npm ci of tests/clients/package-lock.json failed"
fi

# --- bodies --------------------------------------------------------------

# Generated now, timestamped a minute ago: well inside the creation grace
# for the whole run, and no max_age is set.
BODIES=$T/bodies
read -ra specs <<<"$SIZES"
((DO_RSS)) && specs+=(rss-json=16777216 rss-pb=pb:16777216)
node "$BENCH/gen-push.js" "$BODIES" "${specs[@]}" >"$T/bodies.tsv" ||
    die "gen-push.js failed"
declare -A ENTRIES JSON_BYTES PB_BYTES PB_RAW OTLP_BYTES
SIZE_NAMES=()
while IFS=$'\t' read -r name entries jb pb raw otlp; do
	ENTRIES[$name]=$entries
	JSON_BYTES[$name]=$jb
	PB_BYTES[$name]=$pb
	PB_RAW[$name]=$raw
	OTLP_BYTES[$name]=$otlp
	[[ $name == rss-* ]] || SIZE_NAMES+=("$name")
done <"$T/bodies.tsv"
for name in "${SIZE_NAMES[@]}"; do
	note "body $name: ${ENTRIES[$name]} entries, JSON ${JSON_BYTES[$name]} bytes, protobuf ${PB_BYTES[$name]} bytes (${PB_RAW[$name]} before snappy), OTLP ${OTLP_BYTES[$name]} bytes"
done

# --- the null responder, built as the programs are -----------------------

cc=$(sed -n 's/^CC = //p' "$abs_top_builddir/Makefile" 2>/dev/null || true)
cflags=$(sed -n 's/^CFLAGS = //p' "$abs_top_builddir/Makefile" 2>/dev/null || true)
: "${cc:=cc}" "${cflags:=-O2}"
read -ra cc_words <<<"$cc"
read -ra cflags_words <<<"$cflags"
mkdir -p "$T/bin"
chmod 755 "$T/bin"
NULL=$T/bin/null-responder
DURABLE=$T/bin/durable-responder
SPOOL_DURABLE=$T/spool-durable
note "building the null responders: $cc $cflags"
"${cc_words[@]}" "${cflags_words[@]}" -o "$NULL" "$BENCH/null-responder.c" ||
    die "could not build null-responder.c"
"${cc_words[@]}" "${cflags_words[@]}" -DDURABLE_DIR="\"$SPOOL_DURABLE\"" \
    -o "$DURABLE" "$BENCH/null-responder.c" ||
    die "could not build null-responder.c with DURABLE_DIR"
chmod 755 "$NULL" "$DURABLE"

# --- servers -------------------------------------------------------------

# One configuration for both transports (fcgiwrap and
# systemd-socket-activate pass no other environment): the rate limit off,
# since a benchmark measures the receiver, and the default body limit
# spelled out.  wrk sends one body over and over, which dedup_window
# would take for a client's retries after the first and not store: off,
# so that every request stores its push (the record that the window
# keeps for each push costs an fsync of its own, measured apart in
# docs/benchmarks.md).
cat >"$T/bench.conf" <<'EOF'
ingestion_rate = 0
max_body_size = 16MiB
dedup_window = 0
EOF
chmod 644 "$T/bench.conf"
export LOGTHRA_CONFIG=$T/bench.conf
"$RECV" --print-config | grep -q '^ingestion_rate *= *0$' ||
    die "bench.conf does not turn the rate limit off: $("$RECV" --print-config | grep ingestion_rate)"

SPOOL_CGI=$T/spool-cgi
SPOOL_INETD=$T/spool-inetd
SPOOL_NULL=$T/spool-null
mkdir -p "$SPOOL_CGI" "$SPOOL_INETD" "$SPOOL_NULL" "$SPOOL_DURABLE"/{tmp,ready}
declare -A URL SPOOL
start_nginx_fcgiwrap "$SPOOL_CGI"
URL[cgi,recv]=$NGINX_URL
SPOOL[cgi]=$SPOOL_CGI
# start_nginx_fcgiwrap keeps its files (configuration, socket, logs)
# under $T: the second instance gets a directory of its own as its T.
# Should it fail meanwhile, the cleanup must still remove the real T.
MAIN_T=$T
trap 'T=$MAIN_T lt_cleanup' EXIT
NULL_T=$T/null-cgi
mkdir -p "$NULL_T"
chmod 755 "$NULL_T"
REAL_RECV=$RECV
RECV=$NULL
T=$NULL_T start_nginx_fcgiwrap "$SPOOL_NULL"
URL[cgi,null]=$NGINX_URL
start_inetd "$SPOOL_NULL"
URL[inetd,null]=$INETD_URL
# The durable responder's files go to SPOOL_DURABLE (built in), which
# start_nginx_fcgiwrap hands to the CGI user.
DURABLE_T=$T/durable-cgi
mkdir -p "$DURABLE_T"
chmod 755 "$DURABLE_T"
RECV=$DURABLE
T=$DURABLE_T start_nginx_fcgiwrap "$SPOOL_DURABLE"
URL[cgi,durable]=$NGINX_URL
start_inetd "$SPOOL_DURABLE"
URL[inetd,durable]=$INETD_URL
RECV=$REAL_RECV
start_inetd "$SPOOL_INETD"
URL[inetd,recv]=$INETD_URL
SPOOL[inetd]=$SPOOL_INETD

# ready_files SPOOL: pushes stored, in any tenant.
ready_files() {
	[[ -d "$1/tenants" ]] || { echo 0; return 0; }
	find "$1/tenants" -path '*/ready/*' -type f | wc -l | tr -d ' '
}

# Empties a spool, keeping its directory (and owner).  The programs of
# the last run may still be finishing a push that wrk no longer waits
# for; give them a moment.
clean_spool() {
	sleep 0.3
	rm -rf "$1/tenants"
}

# The same for the durable responder's directory: its files, not its
# directories (the responder does not create them).
durable_files() { find "$SPOOL_DURABLE/ready" -type f | wc -l | tr -d ' '; }
clean_durable() {
	sleep 0.3
	find "$SPOOL_DURABLE/tmp" "$SPOOL_DURABLE/ready" -type f -delete
}

# One push of each kind through each server, answered 204 and stored.
first=${SIZE_NAMES[0]}
for tr in cgi inetd; do
	for prog in recv null durable; do
		http_req -H 'X-Scope-OrgID: bench' -H 'Content-Type: application/json' \
		    --data-binary "@$BODIES/$first.json" "${URL[$tr,$prog]}/loki/api/v1/push"
		check_status 204 "$tr $prog: JSON push"
		http_req -H 'X-Scope-OrgID: bench' -H 'Content-Type: application/x-protobuf' \
		    --data-binary "@$BODIES/$first.pb" "${URL[$tr,$prog]}/loki/api/v1/push"
		check_status 204 "$tr $prog: protobuf push"
	done
	if [[ " ${FORMATS[*]} " == *" otlp "* ]]; then
		http_req -H 'X-Scope-OrgID: bench' -H 'Content-Type: application/x-protobuf' \
		    --data-binary "@$BODIES/$first.otlp.pb" "${URL[$tr,recv]}/otlp/v1/logs"
		check_status 200 "$tr recv: OTLP push"
		check_eq 3 "$(ready_files "${SPOOL[$tr]}")" "$tr recv: the three pushes stored"
	else
		check_eq 2 "$(ready_files "${SPOOL[$tr]}")" "$tr recv: both pushes stored"
	fi
	check_eq 2 "$(durable_files)" "$tr durable: both bodies stored"
	clean_spool "${SPOOL[$tr]}"
	clean_durable
done
((LT_FAILS == 0)) || die "the servers do not answer pushes with 204"

# --- throughput ------------------------------------------------------------

# cpu_ticks: the machine's busy and idle (with iowait) clock ticks so far.
cpu_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8, $5 + $6; exit }' /proc/stat; }

# wrk_run TRANSPORT PROGRAM BODY-FILE CONTENT-TYPE [PATH [STATUS]]: one
# run; sets PUSHES (answers per second, all of them STATUS, default 204)
# and BUSY (percent of the CPUs' time busy during it).
wrk_run() {
	local tr=$1 prog=$2 body=$3 ctype=$4 upath=${5:-/loki/api/v1/push} want=${6:-204}
	local line stored avail before after
	avail=$(df -Pk "$T" | awk 'NR == 2 { print $4 }')
	((avail > MIN_FREE_KB)) || die "only $((avail >> 10)) MiB free in $T"
	before=$(cpu_ticks)
	BENCH_BODY=$body BENCH_CTYPE=$ctype BENCH_TENANT=bench BENCH_STATUS=$want \
	    timeout -k 5 $((SECS + 120)) wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" \
	    --timeout 60s -s "$BENCH/post.lua" "${URL[$tr,$prog]}$upath" \
	    >"$T/wrk.out" 2>"$T/wrk.err" || {
		cat "$T/wrk.out" "$T/wrk.err" | sed 's/^/#   /'
		die "wrk failed ($tr $prog $(basename "$body"))"
	}
	after=$(cpu_ticks)
	BUSY=$(awk -v b="$before" -v a="$after" 'BEGIN { split(b, x, " "); split(a, y, " ")
		busy = y[1] - x[1]; idle = y[2] - x[2]
		printf "%.0f", (busy + idle > 0 ? 100 * busy / (busy + idle) : 0) }')
	line=$(grep '^BENCH ' "$T/wrk.out") || die "no result from wrk: $(cat "$T/wrk.out" "$T/wrk.err")"
	local requests=0 duration_us=0 not204=0 connect=0 read=0 write=0 status=0 timeout=0 kv
	for kv in ${line#BENCH }; do
		case ${kv%%=*} in
		requests | duration_us | not204 | connect | read | write | status | timeout)
			printf -v "${kv%%=*}" '%s' "${kv#*=}" ;;
		esac
	done
	if ((requests == 0 || not204 + status > 0 ||
	    connect + read + write + timeout > 0)); then
		sed 's/^/#   /' "$T/wrk.err" "$T/wrk.out"
		fail "$tr $prog $(basename "$body"): $requests answers, $not204 not $want, errors: connect $connect read $read write $write timeout $timeout"
		die "the benchmark is void: not every push was answered $want"
	fi
	if [[ $prog != null ]]; then
		if [[ $prog == recv ]]; then
			stored=$(ready_files "${SPOOL[$tr]}")
		else
			stored=$(durable_files)
		fi
		if ((stored < requests)); then
			fail "$tr $prog $(basename "$body"): $requests answered $want, $stored files stored"
			die "the benchmark is void: pushes answered $want are missing from the spool"
		fi
		if [[ $prog == recv ]]; then
			clean_spool "${SPOOL[$tr]}"
		else
			clean_durable
		fi
	fi
	PUSHES=$(awk -v n="$requests" -v us="$duration_us" 'BEGIN { printf "%.1f", n * 1e6 / us }')
}

declare -A MED ALL BUSY_ALL RATIO_ALL
declare -A EXT=([json]=json [protobuf]=pb [otlp]=otlp.pb)
declare -A CTYPE=([json]=application/json [protobuf]=application/x-protobuf
    [otlp]=application/x-protobuf)
declare -A UPATH=([json]=/loki/api/v1/push [protobuf]=/loki/api/v1/push
    [otlp]=/otlp/v1/logs)
declare -A WANT=([json]=204 [protobuf]=204 [otlp]=200)
# Every format against both null responders: storing an OTLP body
# durably is the same work as storing any other body of its size.
# progs_of FORMAT [ROUND]: logthra-recv and the durable responder one
# right after the other, the first of them alternating by round.
progs_of() { if ((${2:-0} % 2)); then echo durable recv null; else echo recv durable null; fi; }
total=0
for fmt in "${FORMATS[@]}"; do
	read -ra p <<<"$(progs_of "$fmt")"
	total=$((total + ${#SIZE_NAMES[@]} * 2 * RUNS * ${#p[@]}))
done
note "throughput: $total runs of ${SECS} s (wrk -t$THREADS -c$CONNS), about $((total * (SECS + 1) / 60 + 1)) minutes"
# Round after round of every combination, rather than all runs of one
# after the other: what drifts during the benchmark (the machine's other
# load, the file system's state after the spools were emptied) then
# reaches every combination alike.
for ((r = 0; r < RUNS; r++)); do
	for size in "${SIZE_NAMES[@]}"; do
		for fmt in "${FORMATS[@]}"; do
			for tr in cgi inetd; do
				declare -A ROUND=()
				for prog in $(progs_of "$fmt" "$r"); do
					want=${WANT[$fmt]}
					[[ $prog == recv ]] || want=204
					wrk_run "$tr" "$prog" "$BODIES/$size.${EXT[$fmt]}" "${CTYPE[$fmt]}" \
					    "${UPATH[$fmt]}" "$want"
					ALL[$tr,$fmt,$size,$prog]+="$PUSHES "
					BUSY_ALL[$tr,$fmt,$size,$prog]+="$BUSY "
					ROUND[$prog]=$PUSHES
				done
				RATIO_ALL[$tr,$fmt,$size,null]+="$(ratio "${ROUND[recv]}" "${ROUND[null]}") "
				RATIO_ALL[$tr,$fmt,$size,durable]+="$(ratio "${ROUND[recv]}" "${ROUND[durable]}") "
			done
		done
	done
	note "round $((r + 1)) of $RUNS done after $(($(date +%s) - START)) s"
done
for size in "${SIZE_NAMES[@]}"; do
	for fmt in "${FORMATS[@]}"; do
		for tr in cgi inetd; do
			for prog in $(progs_of "$fmt"); do
				# shellcheck disable=SC2086 # lists of numbers
				MED[$tr,$fmt,$size,$prog]=$(median ${ALL[$tr,$fmt,$size,$prog]})
				# shellcheck disable=SC2086
				MED[$tr,$fmt,$size,$prog,busy]=$(median ${BUSY_ALL[$tr,$fmt,$size,$prog]})
			done
			# shellcheck disable=SC2086
			MED[$tr,$fmt,$size,ratio]=$(median ${RATIO_ALL[$tr,$fmt,$size,null]})
			# shellcheck disable=SC2086
			MED[$tr,$fmt,$size,ratio_d]=$(median ${RATIO_ALL[$tr,$fmt,$size,durable]})
			ok "$tr $fmt $size: every answer ${WANT[$fmt]}, every push stored (pushes/s, recv: ${ALL[$tr,$fmt,$size,recv]% }; null: ${ALL[$tr,$fmt,$size,null]% }; durable: ${ALL[$tr,$fmt,$size,durable]% }; recv/durable by round: ${RATIO_ALL[$tr,$fmt,$size,durable]% }; CPU busy %, recv: ${BUSY_ALL[$tr,$fmt,$size,recv]% }; durable: ${BUSY_ALL[$tr,$fmt,$size,durable]% })"
		done
	done
done

# --- peak memory -------------------------------------------------------------

# rss FILE: median peak RSS (KiB) and seconds of logthra-recv storing FILE
# in file mode; sets RSS_KB and RSS_S.
rss() {
	local i kb=() s=()
	for ((i = 0; i < RUNS; i++)); do
		/usr/bin/time -f '%M %e' -o "$T/time.out" \
		    "$RECV" -T bench -D "$T/spool-file" "$1" >"$T/file.out" 2>&1 ||
		    { cat "$T/file.out"; die "logthra-recv failed on $(basename "$1")"; }
		read -r k e <"$T/time.out"
		kb+=("$k")
		s+=("$e")
		rm -rf "$T/spool-file"
	done
	RSS_KB=$(median "${kb[@]}")
	RSS_S=$(median "${s[@]}")
}

declare -A RSS RSS_T RSS_BYTES
RSS_ROWS=()
if ((DO_RSS)); then
	for row in "$first.json" rss-json.json rss-json.pb rss-pb.pb; do
		rss "$BODIES/$row"
		RSS[$row]=$RSS_KB
		RSS_T[$row]=$RSS_S
		RSS_BYTES[$row]=$(stat -c %s "$BODIES/$row")
		RSS_ROWS+=("$row")
	done
	ok "peak RSS measured in file mode"
fi

# --- report ----------------------------------------------------------------

elapsed=$(($(date +%s) - START))
mkdir -p "$(dirname "$OUT")"
{
	printf '# bench/recv.sh %s: %s runs of %s s, wrk -t%s -c%s, medians (ratios: of the ratios within each round); MB = 10^6 bytes of body sent\n' \
	    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$RUNS" "$SECS" "$THREADS" "$CONNS"
	printf '#transport\tformat\tsize\tjson_bytes\tbody_bytes\tentries\trecv_pushes_s\trecv_MB_s\tnull_pushes_s\tnull_MB_s\tratio\tdurable_pushes_s\tdurable_MB_s\tratio_durable\tbusy_recv_pct\tbusy_durable_pct\n'
	for tr in cgi inetd; do
		for fmt in "${FORMATS[@]}"; do
			for size in "${SIZE_NAMES[@]}"; do
				case $fmt in
				json) bytes=${JSON_BYTES[$size]} ;;
				protobuf) bytes=${PB_BYTES[$size]} ;;
				otlp) bytes=${OTLP_BYTES[$size]} ;;
				esac
				a=${MED[$tr,$fmt,$size,recv]}
				b=${MED[$tr,$fmt,$size,null]}
				d=${MED[$tr,$fmt,$size,durable]}
				printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$tr" "$fmt" "$size" \
				    "${JSON_BYTES[$size]}" "$bytes" "${ENTRIES[$size]}" \
				    "$a" "$(mbps "$a" "$bytes")" "$b" "$(mbps "$b" "$bytes")" "${MED[$tr,$fmt,$size,ratio]}" \
				    "$d" "$(mbps "$d" "$bytes")" "${MED[$tr,$fmt,$size,ratio_d]}" \
				    "${MED[$tr,$fmt,$size,recv,busy]}" "${MED[$tr,$fmt,$size,durable,busy]}"
			done
		done
	done
} >"$OUT"

printf '\nReceive throughput: %s runs of %s s each, wrk -t%s -c%s, medians\n' "$RUNS" "$SECS" "$THREADS" "$CONNS"
printf '(MB/s of body sent, 10^6 bytes; ratio = logthra-recv / null responder, pushes/s;\n'
printf ' durable = the null responder storing each body durably; ratio/d = logthra-recv / durable;\n'
printf ' ratios are medians of the ratios within each round; cpu%% = CPUs busy during recv / durable)\n\n'
printf '  %-6s %-9s %-5s %9s %11s %9s %11s %9s %6s %11s %7s %7s\n' transport format size "body" "recv push/s" "recv MB/s" "null push/s" "null MB/s" ratio "dur. push/s" "ratio/d" "cpu%"
while IFS=$'\t' read -r tr fmt size _jb bytes _e a am b bm rt d _dm rd br bd; do
	[[ $tr == \#* ]] && continue
	flag=
	awk -v r="$rt" 'BEGIN { exit !(r < 0.6) }' && flag=' <'
	printf '  %-6s %-9s %-5s %9s %11s %9s %11s %9s %6s %11s %7s %7s%s\n' "$tr" "$fmt" "$size" "$bytes" "$a" "$am" "$b" "$bm" "$rt" "$d" "$rd" "$br/$bd" "$flag"
done <"$OUT"
printf '  (< : logthra-recv below 0.6 of the null responder)\n'

# OpenTelemetry logs against Loki's protobuf push of the same entries.
OTLP_OUT=${OUT%.tsv}-otlp.tsv
if [[ " ${FORMATS[*]} " == *" otlp "* && " ${FORMATS[*]} " == *" protobuf "* ]]; then
	{
		printf '#transport\tsize\tentries\tloki_pb_bytes\totlp_bytes\tloki_pb_pushes_s\tloki_pb_entries_s\totlp_pushes_s\totlp_entries_s\tratio\n'
		for tr in cgi inetd; do
			for size in "${SIZE_NAMES[@]}"; do
				a=${MED[$tr,protobuf,$size,recv]}
				o=${MED[$tr,otlp,$size,recv]}
				e=${ENTRIES[$size]}
				printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$tr" "$size" "$e" \
				    "${PB_BYTES[$size]}" "${OTLP_BYTES[$size]}" \
				    "$a" "$(per_s "$a" "$e")" "$o" "$(per_s "$o" "$e")" "$(ratio "$o" "$a")"
			done
		done
	} >"$OTLP_OUT"
	printf '\nOpenTelemetry logs (OTLP protobuf, uncompressed, /otlp/v1/logs) against\n'
	printf 'Loki protobuf + snappy of the same entries, logthra-recv, medians\n\n'
	printf '  %-6s %-5s %8s %10s %10s %12s %12s %12s %12s %6s\n' transport size entries "pb bytes" "otlp bytes" "pb push/s" "pb entries/s" "otlp push/s" "otlp ent./s" ratio
	while IFS=$'\t' read -r tr size e pbb ob a ae o oe rt; do
		[[ $tr == \#* ]] && continue
		flag=
		awk -v r="$rt" 'BEGIN { exit !(r < 0.8) }' && flag=' <'
		printf '  %-6s %-5s %8s %10s %10s %12s %12s %12s %12s %6s%s\n' "$tr" "$size" "$e" "$pbb" "$ob" "$a" "$ae" "$o" "$oe" "$rt" "$flag"
	done <"$OTLP_OUT"
	printf '  (< : OTLP below 0.8 of the Loki protobuf push)\n'
fi

if ((DO_RSS)); then
	printf '\nPeak RSS of logthra-recv in file mode (median of %s; /usr/bin/time %%M)\n\n' "$RUNS"
	printf '  %-52s %10s %10s %10s %8s\n' push "body" "RSS KiB" "RSS/body" seconds
	for row in "${RSS_ROWS[@]}"; do
		case $row in
		"$first.json") what="$first JSON (the fixed cost)" ;;
		rss-json.json) what="16 MiB JSON (${ENTRIES[rss-json]} entries)" ;;
		rss-json.pb) what="protobuf of the same entries" ;;
		rss-pb.pb) what="16 MiB protobuf (${ENTRIES[rss-pb]} entries, $((PB_RAW[rss-pb] >> 20)) MiB decoded)" ;;
		esac
		printf '  %-52s %10s %10s %10s %8s\n' "$what" "${RSS_BYTES[$row]}" "${RSS[$row]}" \
		    "$(awk -v k="${RSS[$row]}" -v b="${RSS_BYTES[$row]}" 'BEGIN { printf "%.2f", k * 1024 / b }')" \
		    "${RSS_T[$row]}"
	done
fi
printf '\nTSV: %s\nTime: %d s\n' "$OUT" "$elapsed"
ok "benchmark completed"
finish
