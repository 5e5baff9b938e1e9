#!/bin/bash
# logthra-flush's batches stay within batch_max_bytes: a file that would
# take a batch past the limit goes into the next one, a file larger than
# the limit goes alone, and batch_max_rows closes a batch once reached.
# The expected batches are worked out here from the files' sizes and
# entries, in the order logthra-flush reads them (ready/ by name), and
# compared with the batches it reports at -v; every row arrives once.
. "$(dirname "$0")/lib.sh"

need_clickhouse
need_built

start_clickhouse
export LOGTHRA_CLICKHOUSE_URL=$CH_URL LOGTHRA_INGESTION_RATE=0

# store NAME N: stores a push of N entries "NAME-I" of about 130 bytes.
store() {
	padded_push "$T/push.json" "$1" "$2"
	"$RECV" -T acme -D "$T/spool" "$T/push.json" || die "logthra-recv of $1 failed"
}

# expected MAX_BYTES MAX_ROWS: the batches, one "FILES ROWS BYTES" line
# each, that the rule gives for the files now in ready/.
expected() {
	local f size n files=0 rows=0 bytes=0
	for f in $(ls "$T/spool/tenants/acme/ready" | sort); do
		size=$(stat -c %s "$T/spool/tenants/acme/ready/$f")
		n=${entries[$f]}
		if ((files > 0 && (bytes >= $1 || size > $1 - bytes))); then
			echo "$files $rows $bytes"
			files=0 rows=0 bytes=0
		fi
		files=$((files + 1)) rows=$((rows + n)) bytes=$((bytes + size))
		if ((bytes >= $1 || rows >= $2)); then
			echo "$files $rows $bytes"
			files=0 rows=0 bytes=0
		fi
	done
	((files == 0)) || echo "$files $rows $bytes"
}

# reported: the batches logthra-flush -v said it inserted.
reported() {
	sed -n 's/.*inserted a batch of tenant "acme": \([0-9]*\) files, \([0-9]*\) rows, \([0-9]*\) bytes$/\1 \2 \3/p' "$T/flush.err"
}

# check_run NAME MAX_BYTES MAX_ROWS: flushes the spool with those caps
# and compares the batches with expected().
check_run() {
	local name=$1 want got
	want=$(expected "$2" "$3")
	ch_query "DROP TABLE IF EXISTS logs.log" >/dev/null
	"$FLUSH" -v -D "$T/spool" --batch-bytes="$2" --batch-rows="$3" >/dev/null 2>"$T/flush.err" ||
	    die "logthra-flush failed: $(tail -3 "$T/flush.err")"
	got=$(reported)
	if [[ "$got" == "$want" ]]; then
		ok "$name: batches as the rule gives ($(echo "$want" | wc -l) of them)"
	else
		fail "$name: batches"
		lt_detail expected "$want"
		lt_detail reported "$got"
	fi
	[[ "$(ch_query "SELECT count(), uniqExact(msg) FROM logs.log")" == "$total	$total" ]] &&
	    ok "$name: $total rows, each once" ||
	    fail "$name: rows in ClickHouse: $(ch_query "SELECT count(), uniqExact(msg) FROM logs.log")"
	rm -rf "$T/spool" && cp -a "$T/spool.orig" "$T/spool"
}

# Files of 100, 300, 100, 1000 (larger than the limit below), 200, 100
# and 100 entries, each named after its order in ready/.
declare -A entries
total=0
i=0
for n in 100 300 100 1000 200 100 100; do
	store "f$i" "$n"
	i=$((i + 1))
	total=$((total + n))
done
# The receiver names files by their time of arrival: the order of
# storing is the order of the names.
i=0
declare -a order=(100 300 100 1000 200 100 100)
for f in $(ls "$T/spool/tenants/acme/ready" | sort); do
	entries[$f]=${order[$i]}
	i=$((i + 1))
done
((i == 7)) || die "expected 7 spool files, found $i"
cp -a "$T/spool" "$T/spool.orig"

# A limit of about 450 entries' bytes: 100+300 fit, the next 100 would
# not; 1000 goes alone; 200+100+100 fit.
small=$(stat -c %s "$T/spool/tenants/acme/ready/$(ls "$T/spool/tenants/acme/ready" | sort | head -1)")
limit=$((small * 9 / 2))
check_run "batch_max_bytes $limit" "$limit" 1000000
[[ "$(expected "$limit" 1000000 | wc -l)" -ge 4 ]] &&
    ok "the limit splits the files into at least 4 batches" ||
    fail "the limit should split the files into at least 4 batches: $(expected "$limit" 1000000)"
check_run "batch_max_rows 250" 1000000000 250
check_run "one batch" 1000000000 1000000
finish
