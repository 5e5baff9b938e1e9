#!/bin/bash
# logthra-recv when the spool's file system fails it: each step of
# storing a push (create, write, fsync of the file, rename into ready/,
# fsync of ready/) fails in turn with the errors a disk gives (ENOSPC,
# EDQUOT, EIO, EMFILE, EROFS), injected by powerfs (tests/powerfs).  Each
# time the push gets 503 with Retry-After, the message names the problem,
# nothing is left half-written in tmp/ or ready/, and the next push is
# stored.  A record in seen/ that cannot be made costs nothing: the push
# was stored and gets its 204.  Short of memory (ulimit -v) the receiver
# in file mode stores the push or exits 75, never anything else, and
# leaves no file behind when it does not store it.
. "$(dirname "$0")/lib.sh"

need_inetd
need_powerfs
need_built

MNT=$T/mnt
SPOOL=$MNT/spool
FAULTS=$T/faults
mkdir -p "$MNT" "$T/src/spool"
: >"$FAULTS"
powerfs_mount "$MNT" "$T/powerfs.log" --faults "$FAULTS" "$T/src"
LT_LOGS+=("powerfs=$T/powerfs.log")

# The default settings: the record against retries is made.
unset LOGTHRA_DEDUP_WINDOW
: >"$T/recv.conf"
chmod 644 "$T/recv.conf"
export LOGTHRA_CONFIG=$T/recv.conf
start_inetd "$SPOOL"
TD=$SPOOL/tenants/acme

# faults TEXT: the rules powerfs applies from now on.
faults() {
	printf '%s\n' "$1" >"$FAULTS"
	kill -USR2 "$POWERFS_PID"
	# powerfs reads the file at its next operation after the signal.
	stat "$SPOOL" >/dev/null
}

N=0
# push_once: a push no other push equals.
push_once() {
	N=$((N + 1))
	printf '{"streams":[{"stream":{"app":"faults"},"values":[["%d","line %d"]]}]}\n' \
	    $((1709251200000000000 + N)) "$N" >"$T/push.json"
	push "$INETD_URL/loki/api/v1/push" "$T/push.json" -H 'X-Scope-OrgID: acme'
}

push_once
check_status 204 "a push with no fault"
stored=$(count_files "$TD/ready")

# refused RULE WHAT ERROR-TEXT: with RULE in force, a push is refused.
refused() {
	local rule=$1 what=$2 text=$3
	faults "$rule"
	push_once
	faults ""
	check_status 503 "$what"
	check_contains "Retry-After: 30" "$HTTP_HEADERS" "$what: Retry-After"
	check_contains "the spool could not store the push ($text); try again later" \
	    "$HTTP_BODY" "$what: the answer names the problem"
	check_eq "$stored" "$(count_files "$TD/ready")" "$what: nothing new in ready/"
	check_eq 0 "$(count_files "$TD/tmp")" "$what: nothing left in tmp/"
}

refused "create ENOSPC 1 /spool/tenants/acme/tmp" "no space to create the file" \
    "No space left on device"
refused "write ENOSPC 1 /spool/tenants/acme/tmp" "no space to write the file" \
    "No space left on device"
refused "write EDQUOT 1 /spool/tenants/acme/tmp" "quota exceeded while writing" \
    "Disk quota exceeded"
refused "fsync EIO 1 /spool/tenants/acme/tmp" "fsync of the file fails" \
    "Input/output error"
refused "rename EIO 1 /spool/tenants/acme/tmp" "the rename into ready/ fails" \
    "Input/output error"
refused "fsyncdir EIO 1 /spool/tenants/acme/ready" "fsync of ready/ fails" \
    "Input/output error"
refused "create EMFILE 1 /spool/tenants/acme/tmp" "no file descriptor left" \
    "Too many open files"
refused "create EROFS 1 /spool/tenants/acme/tmp" "a file system gone read-only" \
    "Read-only file system"

push_once
check_status 204 "with the faults gone, a push is stored again"
stored=$((stored + 1))
check_eq "$stored" "$(count_files "$TD/ready")" "and is in ready/"

note "the record against retries cannot be made"
faults "create EIO 0 /spool/seen"
push_once
faults ""
check_status 204 "a push whose record in seen/ fails is stored and acknowledged"
stored=$((stored + 1))
check_eq "$stored" "$(count_files "$TD/ready")" "its file is in ready/"
# Under inetd the receiver logs to syslog; in file mode to standard error.
N=$((N + 1))
printf '{"streams":[{"stream":{"app":"faults"},"values":[["%d","line %d"]]}]}\n' \
    $((1709251200000000000 + N)) "$N" >"$T/push.json"
faults "create EIO 0 /spool/seen"
run "$RECV" -T acme -D "$SPOOL" "$T/push.json"
faults ""
check_rc 0 "file mode: a push whose record fails is stored"
stored=$((stored + 1))
check_contains "could not create \"$SPOOL/seen/acme/" "$RUN_ERR" \
    "file mode: the failed record is reported"
check_contains "to record the push against retries: Input/output error" "$RUN_ERR" \
    "file mode: with its cause"

lt_stop_server "$INETD_PID"
# Every file in ready/ is whole: read by this test's own reading of the
# format (logthra-spool(5)): the magic, version 1, then records of type,
# length, payload and CRC, the last one END, ending the file.
cat >"$T/whole.py" <<'EOF2'
import struct, sys
bad = []
for path in sys.argv[1:]:
    data = open(path, 'rb').read()
    ok = data[:8] == b'\x89LTSP\r\n\x1a' and data[8:12] == b'\x01\x00\x00\x00'
    at, last = 12, None
    while ok and at < len(data):
        if at + 5 > len(data):
            ok = False
            break
        last = data[at:at + 1]
        (n,) = struct.unpack('<I', data[at + 1:at + 5])
        at += 5 + n + 4
    if not ok or at != len(data) or last != b'Z':
        bad.append(path.rsplit('/', 1)[-1])
print(' '.join(bad))
EOF2
check_eq "" "$(python3 "$T/whole.py" "$TD"/ready/*.spool)" \
    "every file in ready/ is whole (magic, records, END last)"

note "file mode, short of memory"
if [[ "${LT_SANITIZE:-0}" == 1 || "${LT_VALGRIND:-0}" == 1 ]]; then
	note "left out under the memory checkers: they cannot start under ulimit -v"
else
	awk 'BEGIN { printf "{\"streams\":[{\"stream\":{\"app\":\"big\"},\"values\":["
	    for (i = 0; i < 60000; i++) printf "%s[\"1709251200%09d\",\"%0100d\"]", (i ? "," : ""), i, i
	    printf "]}]}\n" }' >"$T/big.json"
	MEM=$T/mem-spool
	outcomes= odd=
	for v in $(seq 4000 2000 40000); do
		before=$(spool_files "$MEM")
		rc=0
		# The same push each time: each one stored is a new file.
		(ulimit -S -v "$v" && LOGTHRA_INGESTION_RATE=0 LOGTHRA_DEDUP_WINDOW=0 \
		    exec "$RECV" -T acme -D "$MEM" "$T/big.json") \
		    >"$T/mem.out" 2>&1 || rc=$?
		after=$(spool_files "$MEM")
		outcomes+=" $v:$rc"
		case $rc in
		0) ((after == before + 1)) || odd+=" $v: exit 0 with $((after - before)) new files;" ;;
		75 | 127) ((after == before)) || odd+=" $v: exit $rc with $((after - before)) new files;" ;;
		*) odd+=" $v: exit $rc ($(head -c 200 "$T/mem.out"));" ;;
		esac
	done
	note "exit status per ulimit -v:$outcomes"
	check_eq "" "$odd" "stored with exit 0, or nothing stored with 75 (127: the loader)"
	check_contains ":75 " "$outcomes " "some runs were short of memory while storing (75)"
fi

finish
