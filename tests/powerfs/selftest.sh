#!/usr/bin/env bash
# Self test of powerfs, the power-cut FUSE file system (see powerfs.c).
#
#   tests/powerfs/selftest.sh PATH/TO/powerfs      (or POWERFS=... selftest.sh)
#
# Builds nothing.  Needs root (or fuse access), /dev/fuse, fusermount3 and
# python3.  POWERFS_WRAPPER is put before the binary, word-split, e.g.
#   POWERFS_WRAPPER="valgrind -q --error-exitcode=1 --leak-check=full"
# POWERFS_TIMEOUT (seconds, default 60) bounds each mount and exit.
#
# Each scenario mounts a fresh copy of a small SOURCE tree, works on it
# with python3, cuts the power (or not), unmounts and checks the image
# that --dump wrote.  Prints "ok - ..." / "not ok - ..." per check and a
# last PASS/FAIL line; exits 0 only when every check passed.

# Functions run through check() and traps look unreachable to shellcheck.
# shellcheck disable=SC2317

set -euo pipefail

POWERFS=${1:-${POWERFS:-}}
if [[ -z $POWERFS ]]; then
	echo "usage: $0 PATH/TO/powerfs   (or set POWERFS)" >&2
	exit 2
fi
if [[ ! -x $POWERFS ]]; then
	# Under make check: configure did not find libfuse3.
	echo "FAIL: powerfs-selftest ($POWERFS is not built: install the Debian package libfuse3-dev and run configure again)"
	exit 1
fi
read -r -a WRAPPER <<<"${POWERFS_WRAPPER:-}"
TIMEOUT=${POWERFS_TIMEOUT:-60}

TMP=$(mktemp -d "${TMPDIR:-/tmp}/powerfs-selftest.XXXXXX")
PID=      # the running powerfs, if any
MNT=      # its mount point
HOLDER=   # a background process holding a file open, if any
NCHECKS=0
NFAILED=0
FINISHED=0

is_mounted() {
	awk -v m="$1" '$2 == m { found = 1 } END { exit !found }' /proc/mounts
}

# Whether pid is running (a zombie child is not).
alive() {
	local state
	[[ -r /proc/$1/stat ]] || return 1
	state=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
	[[ -n $state && $state != Z ]]
}

cleanup() {
	local rc=$? i
	set +e
	if [[ -n $HOLDER ]]; then
		kill "$HOLDER" 2>/dev/null
		wait "$HOLDER" 2>/dev/null
	fi
	if [[ -n $MNT ]] && is_mounted "$MNT"; then
		fusermount3 -u "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null
	fi
	if [[ -n $PID ]]; then
		kill "$PID" 2>/dev/null
		for ((i = 0; i < 100; i++)); do
			alive "$PID" || break
			sleep 0.1
		done
		kill -KILL "$PID" 2>/dev/null
		wait "$PID" 2>/dev/null
	fi
	rm -rf "$TMP"
	if [[ $FINISHED != 1 ]]; then
		echo "not ok - the self test stopped early (exit status $rc)"
		echo "FAIL: powerfs-selftest ($((NFAILED + 1)) of $((NCHECKS + 1)) checks failed)"
		rc=1
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pass() {
	NCHECKS=$((NCHECKS + 1))
	echo "ok - $1"
}

fail() {
	NCHECKS=$((NCHECKS + 1))
	NFAILED=$((NFAILED + 1))
	echo "not ok - $1"
}

# check WHAT COMMAND...: one check, passed when COMMAND succeeds.
check() {
	local what=$1
	shift
	if "$@"; then pass "$what"; else fail "$what"; fi
}

# show TEXT: prints TEXT as comments.
show() {
	local line
	while IFS= read -r line; do
		echo "# $line"
	done <<<"$1"
}

# hold_open FILE: in the background, keeps FILE open; HOLDER is its pid.
hold_open() {
	(
		exec 3<"$1"
		exec sleep 3600
	) &
	HOLDER=$!
	sleep 0.2
}

# ---- One scenario: a fresh SOURCE, mount point and dump directory ----

NSCEN=0
new_scenario() {
	NSCEN=$((NSCEN + 1))
	S=$TMP/s$NSCEN
	SRC=$S/src
	MNT=$S/mnt
	DUMP=$S/dump
	LOG=$S/log
	TRACE=$S/trace
	mkdir -p "$SRC" "$MNT"
}

# start_fs [powerfs options]: mounts SRC on MNT and waits until mounted.
start_fs() {
	local i
	"${WRAPPER[@]}" "$POWERFS" --dump "$DUMP" --trace "$TRACE" "$@" \
		"$SRC" "$MNT" 2>"$LOG" &
	PID=$!
	for ((i = 0; i < TIMEOUT * 10; i++)); do
		is_mounted "$MNT" && return 0
		alive "$PID" || break
		sleep 0.1
	done
	echo "# powerfs did not mount; its output:"
	sed 's/^/#   /' "$LOG"
	return 1
}

# stop_fs: unmounts, waits for powerfs to dump and exit; RC = its status.
# fusermount3 -u fails with EBUSY while a file is open; umount -l then
# detaches, and powerfs exits once the last file is closed.
stop_fs() {
	local i
	if is_mounted "$MNT" && ! fusermount3 -u "$MNT" 2>>"$S/umount.log"; then
		umount -l "$MNT" 2>>"$S/umount.log" || true
	fi
	for ((i = 0; i < TIMEOUT * 10; i++)); do
		alive "$PID" || break
		sleep 0.1
	done
	if alive "$PID"; then
		echo "# powerfs did not exit; killing it"
		kill -KILL "$PID"
	fi
	RC=0
	wait "$PID" || RC=$?
	PID=
}

# exited_ok WHAT: a check that powerfs exited 0 (under POWERFS_WRAPPER
# a memory error makes that fail too); shows its output when not.
exited_ok() {
	if ((RC == 0)); then
		pass "$1: powerfs exits 0"
	else
		fail "$1: powerfs exits 0 (it exited $RC)"
		sed 's/^/#   /' "$LOG"
	fi
}

# The number in powerfs's last "N mutating operations" line.
op_count() {
	sed -n 's/^powerfs: \([0-9]*\) mutating operations$/\1/p' "$LOG" | tail -n 1
}

# py CODE: runs python3 on the mount with a few helpers; prints what
# CODE prints.
PRELUDE='
import errno, fcntl, os, signal, subprocess, sys, time
M = os.environ["MNT"]
def p(x):
    return os.path.join(M, x.lstrip("/"))
def put(path, data, fsync=True):
    fd = os.open(p(path), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.write(fd, data)
        if fsync:
            os.fsync(fd)
    finally:
        os.close(fd)
def fsync_dir(path):
    fd = os.open(p(path), os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
def fsync_file(path):
    fd = os.open(p(path), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
def res(f, *a, **k):
    """OK, or the errno name f failed with."""
    try:
        f(*a, **k)
        return "OK"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
'
py() {
	MNT=$MNT PFPID=$PID python3 -c "$PRELUDE$1"
}

# ---- Checks on the image ----

# has FILE CONTENT: FILE is a regular file in the image holding CONTENT.
has() {
	local f=$DUMP/$1
	[[ -f $f && ! -L $f ]] || return 1
	[[ $(stat -c %s "$f") == "${#2}" && "$(cat "$f")" == "$2" ]]
}
absent() {
	[[ ! -e $DUMP/$1 && ! -L $DUMP/$1 ]]
}
empty_file() {
	[[ -f $DUMP/$1 && ! -s $DUMP/$1 ]]
}
is_dir() {
	[[ -d $DUMP/$1 && ! -L $DUMP/$1 ]]
}
mtime_is() {
	[[ $(stat -c %Y "$DUMP/$1") == "$2" ]]
}
mode_is() {
	[[ $(stat -c %a "$DUMP/$1") == "$2" ]]
}
separate_copies() {
	[[ $(stat -c %i "$DUMP/$1") != $(stat -c %i "$DUMP/$2") &&
		$(stat -c %h "$DUMP/$1") == 1 && $(stat -c %h "$DUMP/$2") == 1 ]]
}
symlink_to() {
	[[ -L $DUMP/$1 && $(readlink "$DUMP/$1") == "$2" ]]
}
in_trace() {
	grep -qxF -- "$1" <(cut -d' ' -f2- "$TRACE")
}
not_in_trace() {
	! in_trace "$1"
}
in_log() {
	grep -qE -- "$1" "$LOG"
}
not_in_log() {
	! in_log "$1"
}
equals() {
	[[ $1 == "$2" ]]
}

# ======================================================================
# 1. The durability rules, then a power cut by SIGUSR1.
# ======================================================================
new_scenario
(
	cd "$SRC"
	mkdir -p c1 c2 c3 c4/a c4/b c5/a c5/b c6 c7 c8 c9 c10 c11 c12 c13 \
		c14/sub c15 c16 c17 c18 c19 c20
	printf keep >c6/f
	printf 'OLD DATA' >c8/f
	printf v0 >c8/g
	printf x >c9/f
	printf x >c9/g
	touch -d '2001-01-01 00:00:00 UTC' c9/f c9/g
	printf x >c10/f
	printf x >c10/g
	chmod 644 c10/f c10/g
	printf ro >c13/f
	printf gone >c15/f
	printf A >c16/f
	printf x >c18/f
	chmod 644 c18/f
	printf old >c19/b
)
start_fs
out=$(py '
T = 1234567890 * 10**9
# c1: data fsynced, directory fsynced
put("c1/f", b"hello"); fsync_dir("c1")
# c2: directory fsynced, data not
put("c2/f", b"data", fsync=False); fsync_dir("c2")
# c3: data fsynced, directory not
put("c3/f", b"data")
# c4: rename a/x -> b/x, only b/ fsynced
put("c4/a/x", b"moved"); fsync_dir("c4/a")
os.rename(p("c4/a/x"), p("c4/b/x")); fsync_dir("c4/b")
# c5: the same with both fsynced
put("c5/a/x", b"moved"); fsync_dir("c5/a")
os.rename(p("c5/a/x"), p("c5/b/x")); fsync_dir("c5/b"); fsync_dir("c5/a")
# c6: unlink, directory not fsynced
os.unlink(p("c6/f"))
# c7: new subdirectory, everything under it fsynced but not its parent
os.mkdir(p("c7/sub")); os.mkdir(p("c7/sub/deeper"))
put("c7/sub/deeper/f", b"lost"); fsync_dir("c7/sub/deeper"); fsync_dir("c7/sub")
# c8: overwritten, not fsynced; written, fsynced, overwritten
fd = os.open(p("c8/f"), os.O_WRONLY | os.O_TRUNC); os.write(fd, b"NEW"); os.close(fd)
fd = os.open(p("c8/g"), os.O_WRONLY)
os.write(fd, b"v1"); os.fsync(fd); os.pwrite(fd, b"v2 is longer", 0); os.close(fd)
# c9: utimens (AT_SYMLINK_NOFOLLOW) then fsync; utimens alone
os.utime(p("c9/f"), ns=(T, T), follow_symlinks=False); fsync_file("c9/f")
os.utime(p("c9/g"), ns=(T, T), follow_symlinks=False)
# c10: chmod then fsync; chmod alone
os.chmod(p("c10/f"), 0o600); fsync_file("c10/f"); os.chmod(p("c10/g"), 0o600)
# c11: a hard link: one inode, two names
put("c11/f", b"linked"); os.link(p("c11/f"), p("c11/g")); fsync_dir("c11")
print("nlink", os.stat(p("c11/f")).st_nlink, os.stat(p("c11/f")).st_ino == os.stat(p("c11/g")).st_ino)
# c12: a symbolic link
os.symlink("some/target", p("c12/l")); fsync_dir("c12")
# c13: fsync of a file open O_RDONLY, of a directory O_RDONLY|O_DIRECTORY
fsync_file("c13/f"); fsync_dir("c13")
# c14: rmdir, directory not fsynced
os.rmdir(p("c14/sub"))
# c15: unlink, directory fsynced
os.unlink(p("c15/f")); fsync_dir("c15")
# c16: an open file unlinked, then written and fsynced: its durable name
# still refers to the inode
fd = os.open(p("c16/f"), os.O_WRONLY); os.unlink(p("c16/f"))
os.pwrite(fd, b"B", 0); os.fsync(fd); os.close(fd)
# c17: RENAME_NOREPLACE and RENAME_EXCHANGE through renameat2(2)
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
put("c17/a", b"a"); put("c17/b", b"b")
def renameat2(a, b, flags):
    if libc.renameat2(-100, p(a).encode(), -100, p(b).encode(), flags) != 0:
        raise OSError(ctypes.get_errno(), "renameat2")
print("noreplace", res(renameat2, "c17/a", "c17/b", 1), res(renameat2, "c17/a", "c17/c", 1))
print("exchange", res(renameat2, "c17/b", "c17/c", 2))
# c20: an O_DSYNC write is durable at once; sync() makes nothing durable
fd = os.open(p("c20/d"), os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_DSYNC, 0o644)
os.write(fd, b"dsync"); os.close(fd)
put("c20/s", b"synced?", fsync=False); os.sync(); fsync_dir("c20")
# c18: an unlinked open file still answers fstat, fchmod and futimens
# (libfuse keeps it under a hidden name that nobody sees)
fd = os.open(p("c18/f"), os.O_RDWR); os.unlink(p("c18/f"))
st = os.fstat(fd); os.fchmod(fd, 0o600); os.utime(fd, ns=(T, T)); st2 = os.fstat(fd)
print("unlinked", st.st_nlink, st.st_size, oct(st2.st_mode & 0o777),
      st2.st_mtime_ns == T, os.listdir(p("c18")))
os.close(fd)
# c19: a rename over an open file is one rename, atomic
put("c19/a", b"new"); fd = os.open(p("c19/b"), os.O_RDONLY)
os.rename(p("c19/a"), p("c19/b")); fsync_dir("c19")
print("over", os.read(fd, 10).decode(), os.listdir(p("c19")), os.fstat(fd).st_nlink)
os.close(fd)
# what is live before the cut
print("live", open(p("c3/f"), "rb").read().decode(), os.path.exists(p("c6/f")))
# the cut: an open file, then SIGUSR1, then everything fails
fd = os.open(p("c1/f"), os.O_RDONLY)
os.kill(int(os.environ["PFPID"]), signal.SIGUSR1)
print("after", res(os.read, fd, 10), res(os.stat, p("c1")), res(put, "c1/new", b"x"),
      res(os.listdir, M), res(os.fsync, fd))
print("close", res(os.close, fd))
')
show "$out"
check "getattr: nlink counts live names, one inode number for both" \
	grep -qx 'nlink 2 True' <<<"$out"
check "RENAME_NOREPLACE: EEXIST onto a name, works onto none" \
	grep -qx 'noreplace EEXIST OK' <<<"$out"
check "RENAME_EXCHANGE: EINVAL" grep -qx 'exchange EINVAL' <<<"$out"
check "unlinked open file: fstat (nlink 0), fchmod, futimens work; not listed" \
	grep -qxF "unlinked 0 1 0o600 True []" <<<"$out"
check "rename over an open file: the old inode stays readable, one name" \
	grep -qxF "over old ['b'] 0" <<<"$out"
one_rename() {
	in_trace "rename /c19/a /c19/b" && not_in_trace "unlink /c19/b"
}
check "rename over an open file counts as one rename, no unlink" one_rename
check "before the cut the live state shows" grep -qx 'live data False' <<<"$out"
check "SIGUSR1: read, stat, create, readdir, fsync then fail with EIO" \
	grep -qx 'after EIO EIO EIO EIO EIO' <<<"$out"
check "kernel sends FSYNC for a file open O_RDONLY" in_trace "fsync /c13/f"
check "kernel sends FSYNCDIR for a directory open O_RDONLY|O_DIRECTORY" \
	in_trace "fsyncdir /c13"
stop_fs
exited_ok "SIGUSR1 cut"
check "SIGUSR1 cut: the cut line names the last operation" \
	in_log '^powerfs: power cut after operation [0-9]+ \(fsyncdir /c19\)$'
check "file fsynced + dir fsynced -> present with its data" has c1/f hello
check "dir fsynced, file not -> present and empty" empty_file c2/f
check "file fsynced, dir not -> absent" absent c3/f
check "rename a/x -> b/x, only b/ fsynced -> in a/" has c4/a/x moved
check "rename a/x -> b/x, only b/ fsynced -> and in b/" has c4/b/x moved
check "rename a/x -> b/x, both fsynced -> not in a/" absent c5/a/x
check "rename a/x -> b/x, both fsynced -> in b/" has c5/b/x moved
check "unlink without dir fsync -> still there with its data" has c6/f keep
check "mkdir not fsynced in its parent -> absent with all under it" \
	absent c7/sub
check "overwritten (O_TRUNC) without fsync -> old data" has c8/f 'OLD DATA'
check "overwritten after fsync -> the fsynced data" has c8/g v1
check "utimens then file fsync -> new mtime kept" mtime_is c9/f 1234567890
check "utimens without fsync -> old mtime" mtime_is c9/g 978307200
check "chmod then file fsync -> new mode" mode_is c10/f 600
check "chmod without fsync -> old mode" mode_is c10/g 644
check "hard link -> both names with the data" has c11/g linked
check "hard link -> written as two separate files" separate_copies c11/f c11/g
check "symlink + dir fsync -> symlink with its target" \
	symlink_to c12/l some/target
check "rmdir without dir fsync -> still there" is_dir c14/sub
check "unlink + dir fsync -> gone" absent c15/f
check "unlinked open file fsynced -> its durable name has the new data" \
	has c16/f B
check "image keeps the source's untouched files" has c13/f ro
c18_kept() { has c18/f x && mode_is c18/f 644; }
check "unlinked open file, fchmod not fsynced -> name, data and mode kept" \
	c18_kept
check "O_DSYNC write + dir fsync -> present with its data" has c20/d dsync
check "sync() instead of fsync -> empty" empty_file c20/s
c19_replaced() { has c19/b new && absent c19/a; }
check "rename over an open file + dir fsync -> new data under the name" \
	c19_replaced

# ======================================================================
# 2. A clean unmount without a cut dumps the live state.
# ======================================================================
new_scenario
mkdir -p "$SRC/d"
printf x >"$SRC/d/old"
start_fs
py '
put("new", b"live", fsync=False)
os.unlink(p("d/old"))
os.mkdir(p("e"))
'
stop_fs
exited_ok "clean unmount"
check "clean unmount: no power cut reported" not_in_log 'power cut'
check "clean unmount: unsynced new file dumped with its data" has new live
check "clean unmount: unsynced unlink is kept" absent d/old
check "clean unmount: unsynced mkdir is kept" is_dir e
check "operation count line: 'powerfs: 4 mutating operations'" \
	in_log '^powerfs: 4 mutating operations$'

# ======================================================================
# 3. --cut-after N, for every N of a short run.
# ======================================================================
# Three rounds of: create fN, write, fsync the file, fsync the root: four
# mutating operations each.  SEQ prints one result per operation and
# "ack fN" when the root's fsync (the acknowledgement) succeeded.
SEQ='
for i in range(3):
    name = "f%d" % i
    fd = None
    try:
        fd = os.open(p(name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        print("OK")
    except OSError as e:
        print(errno.errorcode[e.errno])
    print(res(os.write, fd, b"data%d" % i) if fd is not None else "SKIP")
    print(res(os.fsync, fd) if fd is not None else "SKIP")
    if fd is not None:
        res(os.close, fd)
    r = res(fsync_dir, "/")
    print(r)
    if r == "OK":
        print("ack", name)
'
new_scenario
start_fs
out=$(py "$SEQ")
stop_fs
exited_ok "run without a cut"
TOTAL=$(op_count)
check "run without a cut: 12 mutating operations, all acknowledged" \
	equals "$TOTAL $(grep -c '^ack' <<<"$out")" "12 3"

# cut_ok N RESULTS: operations 1..N-1 succeeded (N too, except that a
# create that is the N-th looks failed: libfuse's lookup after it gets
# EIO), every later one failed; the image holds exactly the acknowledged
# files with their data; the log names the N-th operation.
cut_ok() {
	local n=$1 results=$2 k=0 r i
	while read -r r; do
		[[ $r == ack* ]] && continue
		k=$((k + 1))
		if ((k < n)); then
			[[ $r == OK ]] || { echo "# op $k: $r"; return 1; }
		elif ((k == n)); then
			[[ $r == OK || ($r == EIO && $(((k - 1) % 4)) == 0) ]] ||
				{ echo "# op $k: $r"; return 1; }
		else
			[[ $r == EIO || $r == SKIP ]] || { echo "# op $k: $r"; return 1; }
		fi
	done <<<"$results"
	((k == 12)) || return 1
	for i in 0 1 2; do
		if ((4 * i + 4 <= n)); then
			has "f$i" "data$i" || { echo "# f$i missing"; return 1; }
			grep -qx "ack f$i" <<<"$results" || return 1
		else
			absent "f$i" || { echo "# f$i present"; return 1; }
		fi
	done
	in_log "^powerfs: power cut after operation $n \\(" &&
		in_log "^powerfs: $n mutating operations$" &&
		((RC == 0))
}
for ((n = 1; n <= TOTAL; n++)); do
	new_scenario
	start_fs --cut-after "$n"
	out=$(py "$SEQ")
	stop_fs
	check "--cut-after $n: ops 1..$n done, EIO from $((n + 1)) on, image as acknowledged" \
		cut_ok "$n" "$out"
done

# ======================================================================
# 4. Fault injection, and SIGUSR2 to re-read the rules.
# ======================================================================
new_scenario
mkdir -p "$SRC/d/sub" "$SRC/dd" "$SRC/e" "$SRC/ro"
cat >"$S/faults" <<'EOF'
# a comment, then a blank line

write ENOSPC 1      # the next write only
fsyncdir EIO 0 /d   # every time, /d and under it only
any EROFS 0 /ro
EOF
start_fs --faults "$S/faults"
out=$(py '
fd = os.open(p("f"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
print("writes", res(os.pwrite, fd, b"aaa", 0), res(os.pwrite, fd, b"bbb", 0),
      res(os.pwrite, fd, b"ccc", 3), os.fstat(fd).st_size)
os.close(fd)
print("fsyncdir", res(fsync_dir, "d"), res(fsync_dir, "d"), res(fsync_dir, "d/sub"),
      res(fsync_dir, "dd"), res(fsync_dir, "e"), res(fsync_dir, "/"))
print("ro", res(os.mkdir, p("ro/x")), res(os.stat, p("ro")), os.listdir(p("ro")))
')
show "$out"
check "faults: 'write ENOSPC 1' fails exactly one write, which changes nothing" \
	grep -qx 'writes ENOSPC OK OK 6' <<<"$out"
check "faults: 'fsyncdir EIO 0 /d' fails under /d every time, nowhere else" \
	grep -qx 'fsyncdir EIO EIO EIO OK OK OK' <<<"$out"
check "faults: 'any EROFS 0 /ro' fails mutating ops only" \
	grep -qx 'ro EROFS OK \[\]' <<<"$out"
check "faults: a failed operation is not counted" not_in_trace "fsyncdir /d"
printf 'create EMFILE 1\n' >"$S/faults"
kill -USR2 "$PID"
out=$(py '
print("reload", res(put, "g", b"x"), res(put, "g", b"x"), res(fsync_dir, "d"))
')
rm -f "$S/faults"
kill -USR2 "$PID"
out2=$(py 'print("cleared", res(os.mkdir, p("ro/x")))')
stop_fs
exited_ok "faults"
check "faults: SIGUSR2 re-reads the file ('create EMFILE 1', /d rule gone)" \
	grep -qx 'reload EMFILE OK OK' <<<"$out"
check "faults: a missing file clears all faults" \
	grep -qx 'cleared OK' <<<"$out2"
check "faults: the image (clean unmount) has the file written around the fault" \
	has f bbbccc

# ======================================================================
# 5. Locks are the kernel's: flock and fcntl locks between processes.
# ======================================================================
new_scenario
start_fs
out=$(py '
TRY = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
try:
    if sys.argv[2] == "flock":
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    else:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    print("got")
except BlockingIOError:
    print("busy")
"""
def other(kind):
    return subprocess.run([sys.executable, "-c", TRY, p("lock"), kind],
                          capture_output=True, text=True, check=True).stdout.strip()
fd = os.open(p("lock"), os.O_RDWR | os.O_CREAT, 0o644)
fcntl.flock(fd, fcntl.LOCK_EX)
a = other("flock")
fcntl.flock(fd, fcntl.LOCK_UN)
b = other("flock")
fcntl.lockf(fd, fcntl.LOCK_EX)
c = other("lockf")
fcntl.lockf(fd, fcntl.LOCK_UN)
d = other("lockf")
os.close(fd)
print("locks", a, b, c, d)
')
stop_fs
exited_ok "locks"
show "$out"
check "flock between two processes is exclusive, then released" \
	grep -qx 'locks busy got busy got' <<<"$out"

# ======================================================================
# 6. Unmount while a process holds a file open.
# ======================================================================
new_scenario
printf held >"$SRC/f"
start_fs
hold_open "$MNT/f"
if fusermount3 -u "$MNT" 2>/dev/null; then busy=no; else busy=yes; fi
check "fusermount3 -u fails (EBUSY) while a file is open" equals "$busy" yes
umount -l "$MNT"
sleep 0.3
check "after umount -l powerfs serves the open file until it is closed" \
	alive "$PID"
kill "$HOLDER"
wait "$HOLDER" 2>/dev/null || true
HOLDER=
stop_fs
check "once the file is closed powerfs dumps the image" has f held
exited_ok "unmount with a file held open"

# SIGTERM while an unlinked file is held open: powerfs unmounts lazily,
# dumps the live state (without the unlinked file) and exits 0.
new_scenario
printf held >"$SRC/f"
printf keep >"$SRC/g"
start_fs
hold_open "$MNT/f"
rm "$MNT/f"
kill -TERM "$PID"
stop_fs
kill "$HOLDER"
wait "$HOLDER" 2>/dev/null || true
HOLDER=
exited_ok "SIGTERM with an unlinked file held open"
only_g() { has g keep && [[ $(ls -A "$DUMP") == g ]]; }
check "SIGTERM: live state dumped, without the unlinked file" only_g

# ======================================================================
# Sanity: cut-after 0 cuts before anything, and bad usage fails.
# ======================================================================
new_scenario
printf src >"$SRC/f"
start_fs --cut-after 0
out=$(py 'print("zero", res(os.stat, p("f")))')
stop_fs
exited_ok "--cut-after 0"
check "--cut-after 0: everything fails, image is SOURCE" \
	equals "$out $(has f src && echo same)" "zero EIO same"
mkdir -p "$S/full" && touch "$S/full/x"
if "$POWERFS" --dump "$S/full" "$SRC" "$MNT" 2>/dev/null; then r=0; else r=$?; fi
check "a non-empty --dump directory is refused before mounting" \
	equals "$r $(is_mounted "$MNT" && echo mounted)" "1 "

FINISHED=1
if ((NFAILED == 0)); then
	echo "PASS: powerfs-selftest ($NCHECKS checks)"
	exit 0
fi
echo "FAIL: powerfs-selftest ($NFAILED of $NCHECKS checks failed)"
exit 1
