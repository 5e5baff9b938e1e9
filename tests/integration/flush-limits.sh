#!/bin/bash
# logthra-flush short of memory or file descriptors: a good spool file
# that cannot be read now is never quarantined.  Runs under a sweep of
# ulimit -v and ulimit -n values, from too little to start to plenty,
# each on what the runs before left; whatever each run says, nothing is
# quarantined and no file is lost, and a run without limits then
# delivers every row exactly once.  (logthra-flush used to quarantine a
# 12 MB file with "Cannot allocate memory".)
#
# Under the sanitizers (LT_SANITIZE=1) the address-space sweep is left
# out, said so in the log: ASan reserves terabytes of address space, so
# no limit lets it start.
. "$(dirname "$0")/lib.sh"

need_clickhouse
need_built

rows() { ch_query "$1 FORMAT TSV"; }
start_clickhouse
export LOGTHRA_CLICKHOUSE_URL=$CH_URL LOGTHRA_INGESTION_RATE=0
export LOGTHRA_RETRY_MIN_DELAY=0 LOGTHRA_RETRY_MAX_DELAY=0

# spool_for NAME: a spool with a 12 MB file and two small ones.
spool_for() {
	local dir=$T/$1 i
	mkdir -p "$dir"
	padded_push "$T/big.json" "$1-big" 90000
	"$RECV" -T acme -D "$dir" "$T/big.json" || die "logthra-recv of the big push failed"
	for i in 1 2; do
		padded_push "$T/small.json" "$1-small$i" 10
		"$RECV" -T acme -D "$dir" "$T/small.json" || die "logthra-recv of a small push failed"
	done
}

# sweep NAME ULIMIT-FLAG VALUES...: runs logthra-flush under each limit in
# turn; counts the outcomes and checks the spool after each run.
sweep() {
	local name=$1 flag=$2 v files quarantined lost= deferred=0 outcomes=
	shift 2
	SPOOL=$T/$name
	for v in "$@"; do
		LT_RUN_TIMEOUT=60 run bash -c 'ulimit -S '"$flag"' "$1" && exec "$2" -D "$3" -d "$4"' \
		    sh "$v" "$FLUSH" "$SPOOL" "$name"
		outcomes+=" $v:$RUN_RC"
		((RUN_RC == 0)) || note "ulimit $flag $v: $(grep -m1 'error' <<<"$RUN_ERR")"
		grep -q 'waits for a later run' <<<"$RUN_ERR" && deferred=$((deferred + 1))
		quarantined=0
		[[ ! -d "$SPOOL/quarantine" ]] ||
		    quarantined=$(find "$SPOOL/quarantine" -type f | wc -l | tr -d ' ')
		if ((quarantined > 0)); then
			fail "$name: nothing quarantined under ulimit $flag $v"
			lt_detail "logthra-flush said" "$RUN_ERR"
			return
		fi
		# Every file is in the spool or its rows are all in ClickHouse.
		files=$(spool_files "$SPOOL")
		((files == 3)) || [[ -n "$lost" ]] || lost=$v
	done
	note "$name: exit status per limit:$outcomes"
	ok "$name: nothing quarantined under any limit"
	# Short of memory, the 12 MB file is what cannot be read.  (Short of
	# descriptors the runs stop sooner: listing a directory takes the
	# descriptor that reading a file would, and the unit test of
	# lt_spool_load() covers EMFILE there.)
	[[ $flag != -v ]] || check_eq 1 "$((deferred > 0))" \
	    "$name: some run could not read a file and deferred it ($deferred runs)"
	run "$FLUSH" -D "$SPOOL" -d "$name" --retry-now
	check_rc 0 "$name: logthra-flush without limits"
	check_eq 0 "$(spool_files "$SPOOL")" "$name: the spool is empty"
	check_eq "90020 90020 20 20" \
	    "$(rows "SELECT count(), uniqExact(msg), countIf(msg LIKE '%small%'), uniqExactIf(msg, msg LIKE '%small%') FROM $name.log" | tr '\t' ' ')" \
	    "$name: every row exactly once (all, distinct; of the small files: all, distinct)"
	[[ -z "$lost" ]] || note "$name: from ulimit $flag $lost on, some files had been flushed"
}

note "a good file is never quarantined for want of memory"
if [[ "${LT_SANITIZE:-0}" == 1 ]]; then
	note "left out under the sanitizers: ASan cannot start under ulimit -v"
else
	spool_for mem
	# KiB of address space: from too little for the dynamic loader to
	# plenty for the 12 MB file, its rows and libcurl's buffers.
	sweep mem -v $(seq 40000 4000 160000) 400000
fi

note "a good file is never quarantined for want of file descriptors"
spool_for fds
# Standard streams, the libraries' own, the lock, the connection, the
# spool's directories and the file: from too few to start to plenty.
sweep fds -n $(seq 3 1 24) 1024

finish
