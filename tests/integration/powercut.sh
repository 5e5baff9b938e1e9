#!/bin/bash
# Power cuts under a running receiver and flusher: every push answered
# 204 reaches ClickHouse exactly once, a push not answered is whole or
# absent, and nothing good is quarantined.
#
# A kill leaves the page cache to the kernel, which writes it out; a power
# cut keeps only what was made durable.  So the spool lives on powerfs
# (tests/powerfs/powerfs.c), a FUSE file system that keeps beside its live
# state a durable one under the strictest reading of POSIX: a file's data
# survives only once the file was fsynced, a name (create, rename, unlink,
# link) only once its directory was, each directory on its own.  That is
# worse than ext4 or XFS ever do (see logthra-spool(5), "Power failure").
# ClickHouse stays outside: it is another machine.
#
# Each round mounts the last round's durable image, runs
# logthra-replay --recover (as after a boot), then lets two clients push
# over socket activation (logthra-recv under systemd-socket-activate)
# while logthra-flush runs again and again, and cuts the power at a
# random moment.  Everything touching the file system is then killed, and
# powerfs writes out what survived, which the next round starts from.  A
# push that got no answer is sent again, the same bytes, in the next round
# (a client's retry: stored once, or twice when the cut fell between its
# spool file and its record in seen/, never lost).  At the end the last
# image is recovered and flushed on a plain directory, and ClickHouse's
# rows are compared with the pushes, computed by this script.
#
# Environment:
#   POWERCUT_CUTS=N   power cuts (default 200; more by hand)
#   POWERCUT_SEED=N   seed for bash's RANDOM (printed)
#   POWERCUT_BIN=DIR  take logthra-recv, -flush and -replay from DIR (the
#                     mutants of scripts/powercut-mutants)
. "$(dirname "$0")/lib.sh"

need_clickhouse
need_inetd
need_powerfs
need_built

if [[ -n "${POWERCUT_BIN:-}" ]]; then
	RECV=$POWERCUT_BIN/logthra-recv
	FLUSH=$POWERCUT_BIN/logthra-flush
	REPLAY=$POWERCUT_BIN/logthra-replay
	note "programs from $POWERCUT_BIN"
fi

CUTS=${POWERCUT_CUTS:-200}
[[ "$CUTS" =~ ^[0-9]+$ ]] && ((CUTS >= 1)) || die "POWERCUT_CUTS must be a number >= 1"
PC_SEED=${POWERCUT_SEED:-$RANDOM}
[[ "$PC_SEED" =~ ^[0-9]+$ ]] || die "POWERCUT_SEED must be a number"
RANDOM=$PC_SEED
note "seed $PC_SEED (POWERCUT_SEED=$PC_SEED replays the choices, not the timing), $CUTS power cuts"

export LC_ALL=C # sort and join agree
MNT=$T/mnt
SPOOL=$MNT/spool
mkdir -p "$MNT" "$T/img.0/spool" "$T/payloads" "$T/attempts"

# ours: the programs working on the mount now (not the
# systemd-socket-activate that starts the receivers).
ours() { pgrep -f -- "-D $SPOOL" | grep -vx "${INETD_PID:-0}" || true; }

start_clickhouse
export LOGTHRA_CLICKHOUSE_URL=$CH_URL
# Deferred files are due at once, and INSERTs are small, so that one
# flush sends many and a cut can fall anywhere among them.
export LOGTHRA_RETRY_MIN_DELAY=0 LOGTHRA_RETRY_MAX_DELAY=0
export LOGTHRA_BATCH_MAX_ROWS=60
# The clients' retries are to be recognised, as with the default.
unset LOGTHRA_DEDUP_WINDOW
printf 'ingestion_rate = 0\n' >"$T/powercut.conf"
chmod 644 "$T/powercut.conf"
export LOGTHRA_CONFIG=$T/powercut.conf
start_inetd "$SPOOL"

# rand N: a number in [0, N) in R.
rand() { R=$(((RANDOM * 32768 + RANDOM) % $1)); }

# make_push FILE PUSH N: N entries "pc-PUSH-I" over up to three streams
# and days.
make_push() {
	awk -v p="$2" -v n="$3" 'BEGIN {
		s = p % 3 + 1
		printf "{\"streams\":["
		for (k = 0; k < s; k++) {
			printf "%s{\"stream\":{\"app\":\"powercut\",\"s\":\"%d\"},\"values\":[", (k ? "," : ""), k
			first = 1
			for (i = k; i < n; i += s) {
				day = (i + p) % 3
				printf "%s[\"%d%09d\",\"pc-%d-%d\"]", (first ? "" : ","), \
				    1709251200 + day * 86400 + p % 80000, i, p, i
				first = 0
			}
			printf "]}"
		}
		printf "]}\n"
	}' >"$1"
}

# send PUSH: one attempt; appends "PUSH N CURL-RC CODE" to the client's
# attempts file once curl has ended (never before: a kill must not leave
# a line for an attempt that did not happen).
send() {
	local p=$1 n code rc=0
	n=$(cat "$T/payloads/$p.n")
	code=$(curl -sS --max-time 20 -o /dev/null -w '%{http_code}' \
	    -H 'X-Scope-OrgID: power' -H 'Content-Type: application/json' \
	    --data-binary "@$T/payloads/$p.json" "$INETD_URL/loki/api/v1/push" \
	    2>/dev/null) || rc=$?
	printf '%s %s %s %s\n' "$p" "$n" "$rc" "${code:-000}" >>"$T/attempts/$BASHPID"
	[[ $rc == 0 && $code == 204 ]]
}

# client K ROUND: first the retries handed to it, then new pushes until
# the power is cut.
client() {
	local k=$1 round=$2 j=0 p n
	while read -r p; do
		[[ -d "$T" && ! -e "$T/stop" ]] || return 0
		send "$p" || printf '%s\n' "$p" >>"$T/retry.next.$k"
	done <"$T/retry.$k"
	while [[ -d "$T" && ! -e "$T/stop" ]]; do
		p=$((round * 1000 + k * 500 + j))
		j=$((j + 1))
		n=$(((p * 7919) % 240 + 1))
		make_push "$T/payloads/$p.json" "$p" "$n"
		printf '%d\n' "$n" >"$T/payloads/$p.n"
		send "$p" || printf '%s\n' "$p" >>"$T/retry.next.$k"
	done
}

# flusher: logthra-flush again and again until the power is cut.
flusher() {
	while [[ -d "$T" && ! -e "$T/stop" ]]; do
		"$FLUSH" -D "$SPOOL" >>"$T/flush.out" 2>&1 || true
	done
}

# wait_quiet: until no program of ours works on the mount, killing what
# still does after 10 s (a receiver waiting for a body, say).
wait_quiet() {
	local i
	for ((i = 0; i < 500; i++)); do
		[[ -z "$(ours)" ]] && return 0
		sleep 0.02
	done
	note "still running after 10 s, killed: $(ours | tr '\n' ' ')"
	kill -KILL $(ours) 2>/dev/null || true
	sleep 0.2
}

# --- every cut point of one push into a spool that does not exist yet ---------

# The receiver creates the spool (its rate limiter first, then the
# tenant's directories) and the file: at each of its operations in turn
# the power goes; whenever it said the
# push was stored (exit 0), the image holds it, and a flush of the image
# gives ClickHouse its two entries.
note "every cut point of logthra-recv creating the spool and storing one push"
mkdir -p "$T/empty"
powerfs_mount "$MNT" "$T/first.log" --dump "$T/first.img" "$T/empty"
LOGTHRA_INGESTION_RATE=4MiB "$RECV" -T first -D "$SPOOL" "$SEED" >"$T/first.out" 2>&1 ||
    die "logthra-recv on powerfs failed: $(cat "$T/first.out")"
powerfs_unmount
OPS=$(sed -n 's/^powerfs: \([0-9]*\) mutating operations$/\1/p' "$T/first.log")
[[ "$OPS" =~ ^[0-9]+$ ]] && ((OPS > 5)) || die "powerfs counted no operations: $(cat "$T/first.log")"
acked=0 bad=
for ((n = 1; n <= OPS; n++)); do
	rm -rf "$T/cut.img"
	powerfs_mount "$MNT" "$T/cut.log" --cut-after "$n" --dump "$T/cut.img" "$T/empty"
	rc=0
	LOGTHRA_INGESTION_RATE=4MiB "$RECV" -T first -D "$SPOOL" "$SEED" >/dev/null 2>&1 || rc=$?
	powerfs_unmount
	((rc == 0)) || continue
	acked=$((acked + 1))
	if [[ ! -d "$T/cut.img/spool" ]]; then
		bad+=" $n:no-spool"
		continue
	fi
	"$FLUSH" -D "$T/cut.img/spool" -d "cut$n" >/dev/null 2>&1 || true
	got=$(ch_query "SELECT count() FROM cut$n.log FORMAT TSV" 2>/dev/null || echo none)
	[[ "$got" == 2 ]] || bad+=" $n:$got"
done
note "$OPS cut points, logthra-recv said stored after $acked of them"
check_eq 1 "$((acked > 0))" "some cut points fall after the push was acknowledged"
check_eq "" "$bad" "after every cut that followed the acknowledgement, a flush of the image gives both entries (cut point:rows)"

# --- cuts under pushes and flushes ------------------------------------------------

: >"$T/retry.0"
: >"$T/retry.1"
: >"$T/flush.out"
RECOVER_BAD=0
CUT_KILLED=0
t0=$SECONDS
for ((round = 1; round <= CUTS; round++)); do
	powerfs_mount "$MNT" "$T/powerfs.log" --dump "$T/img.$round" "$T/img.$((round - 1))"
	rm -rf "$T/img.$((round - 1))"

	# As after a boot: take back what the dead runs left.
	if ! "$REPLAY" -D "$SPOOL" --recover >"$T/recover.out" 2>&1; then
		RECOVER_BAD=$((RECOVER_BAD + 1))
		note "round $round: logthra-replay --recover failed: $(tr '\n' ' ' <"$T/recover.out")"
	fi

	rm -f "$T/stop"
	: >"$T/retry.next.0"
	: >"$T/retry.next.1"
	client 0 "$round" &
	c0=$!
	client 1 "$round" &
	c1=$!
	flusher 2>/dev/null &
	fl=$!
	# Most cuts fall while pushes and flushes run; some at once.
	rand 8
	if ((R == 0)); then rand 30; else rand 400; fi
	sleep "$(printf '0.%03d' "$R")"
	# Half the cuts stop the programs first, at once, as a real power
	# cut does: an INSERT on its way then never ends, and a flush cannot
	# go on with its network work after its files stopped.  The others
	# cut the file system first, and the programs meet EIO.
	rand 2
	if ((R == 0)); then
		kill -KILL $(ours) 2>/dev/null || true
		CUT_KILLED=$((CUT_KILLED + 1))
	fi
	kill -USR1 "$POWERFS_PID"
	: >"$T/stop"
	wait "$c0" "$c1" "$fl" 2>/dev/null || true
	wait_quiet
	mv "$T/retry.next.0" "$T/retry.0"
	mv "$T/retry.next.1" "$T/retry.1"

	powerfs_unmount
	[[ -d "$T/img.$round/spool" ]] || die "round $round left no image of the spool"
done
cat "$T"/attempts/* >"$T/attempts.all"
note "$CUTS power cuts in $((SECONDS - t0)) s: $(wc -l <"$T/attempts.all") push attempts, $(awk '$3 == 0 && $4 == 204' "$T/attempts.all" | wc -l) answered 204, $(grep -c 'waits for a later run\|error' "$T/flush.out" || true) flush errors"
note "powerfs: $(grep -c 'power cut after' "$T/powerfs.log") cuts ($CUT_KILLED with the programs stopped first), last: $(grep 'power cut after' "$T/powerfs.log" | tail -n 1)"
check_eq 0 "$RECOVER_BAD" "logthra-replay --recover succeeded after every cut"

# --- the end: the last image, on a plain directory ------------------------------

FINAL=$T/img.$CUTS/spool
run "$REPLAY" -D "$FINAL" --recover
check_rc 0 "logthra-replay --recover on the last image"
for ((i = 0; i < 10; i++)); do
	run "$FLUSH" -D "$FINAL" --retry-now
	pending=$(find "$FINAL/tenants" -mindepth 3 -maxdepth 3 -type f -name '*.spool' \
	    \( -path '*/ready/*' -o -path '*/active/*' -o -path '*/deferred/*' \) | wc -l)
	((pending > 0)) || break
done
check_rc 0 "the last flush"
check_eq 0 "$pending" "ready/, active/ and deferred/ are empty"
quarantined=0
[[ ! -d "$FINAL/quarantine" ]] || quarantined=$(find "$FINAL/quarantine" -type f | wc -l)
check_eq 0 "$quarantined" "nothing was quarantined"
((quarantined == 0)) || note "quarantine: $(cat "$FINAL"/quarantine/*/*.reason 2>/dev/null | sort | uniq -c | head -n 5 | tr '\n' ';')"

# Expected, per push from the attempts: acknowledged (some attempt got
# 204), attempts made, entries.  Got: how often each entry is in
# ClickHouse.
awk '{ n[$1] = $2; tries[$1]++; if ($3 == 0 && $4 == 204) acked[$1] = 1 }
     END { for (p in n) printf "%s %s %d %d\n", p, n[p], tries[p], (p in acked) }' \
    "$T/attempts.all" | sort >"$T/expected"
ch_query "SELECT msg, count() FROM logs.log WHERE tenant_id = 'power' GROUP BY msg FORMAT TSV" |
    sed 's/^pc-\([0-9]*\)-\([0-9]*\)\t/\1 \2 /' | sort >"$T/got"
# Per push: how many of its entries were seen, the least and the most
# copies of any of them.
awk '{ p = $1; c = $3; seen[p]++; if (!(p in lo) || c < lo[p]) lo[p] = c; if (c > hi[p]) hi[p] = c }
     END { for (p in seen) printf "%s %d %d %d\n", p, seen[p], lo[p], hi[p] }' \
    "$T/got" | sort >"$T/per-push"
# Each push: expected line joined with what was seen.
join -a 1 -e 0 -o 1.1,1.2,1.3,1.4,2.2,2.3,2.4 "$T/expected" "$T/per-push" >"$T/joined"
unknown=$(join -v 2 "$T/expected" "$T/per-push" | head -n 5)
check_eq "" "$unknown" "ClickHouse holds no entry of a push that was never made"

# push n tries acked seen lo hi
lost=$(awk '$4 == 1 && ($5 < $2 || $6 < 1) { print "push " $1 ": " $5 " of " $2 " entries" }' "$T/joined" | head -n 10)
check_eq "" "$lost" "every entry of every acknowledged push is in ClickHouse"
doubled=$(awk '$3 == 1 && $7 > 1 { print "push " $1 ": an entry " $7 " times" }' "$T/joined" | head -n 10)
check_eq "" "$doubled" "no entry of a push sent once is in ClickHouse twice"
retried_over=$(awk '$3 > 1 && $7 > $3 { print "push " $1 ": an entry " $7 " times in " $3 " attempts" }' "$T/joined" | head -n 10)
check_eq "" "$retried_over" "a retried push is stored at most once per attempt"
partial=$(awk '$5 > 0 && ($5 != $2 || $6 != $7) { print "push " $1 ": " $5 " of " $2 " entries, " $6 " to " $7 " copies" }' "$T/joined" | head -n 10)
check_eq "" "$partial" "every push is in ClickHouse whole (each entry as often as the others) or not at all"
note "$(awk '$4 == 1' "$T/joined" | wc -l) pushes acknowledged, $(awk '$4 == 0 && $5 > 0' "$T/joined" | wc -l) unacknowledged ones stored all the same, $(awk '$3 > 1' "$T/joined" | wc -l) retried, $(awk '$3 > 1 && $7 > 1' "$T/joined" | wc -l) of those stored twice"

finish
