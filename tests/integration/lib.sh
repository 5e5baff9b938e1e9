# Shared machinery for Logthra's integration tests.  Sourced by each
# tests/integration/*.sh (and by scripts/demo); it starts real servers:
# ClickHouse, nginx + fcgiwrap, and logthra-recv under
# systemd-socket-activate, each on a free loopback port, all inside one
# temporary directory that is removed afterwards; a current ClickHouse
# too, through chdb (start_chdb).  This file has the core (settings,
# checks, the temporary directory and cleanup, processes, memory
# checkers, ports, the spool) and sources the servers' machinery beside
# it: lib-clickhouse.sh (ClickHouse, clusters, chdb) and lib-web.sh
# (systemd-socket-activate, nginx + fcgiwrap, HTTP).
#
# Environment:
#   abs_top_builddir, abs_top_srcdir  set by automake; default: this repo
#   LOGTHRA_TEST_KEEP=1    keep the temporary directory (its path is printed)
#   LOGTHRA_ALLOW_SKIP=1   a missing program (or npm package) skips the
#                          test (exit 77) instead of failing it
#   TMPDIR                 where the temporary directory goes (default /tmp)
#   LT_CLICKHOUSE=chdb     start_clickhouse starts chdb (ClickHouse 26.x,
#                          start_chdb) instead of the 18.16 server, so
#                          that any test runs against a current engine
#   LT_SANITIZE=1          the programs are built with AddressSanitizer and
#                          UBSan (make check sets it in a build configured
#                          with --enable-sanitizers; see scripts/sanitize)
#   LT_VALGRIND=1          run every logthra-recv, logthra-flush and
#                          logthra-replay under valgrind's memcheck
#                          (scripts/sanitize --valgrind)
#
# A test calls check functions (ok, fail, check_eq, ...) and ends with
# `finish`, which prints "PASS: name (N checks)" or a failure summary and
# sets the exit status.  An unexpected command failure aborts the test
# (set -e) and is reported with its line.

set -eEuo pipefail

# Servers live in /usr/sbin on Debian; an unprivileged PATH may lack it.
PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin
export PATH
# Messages and number formats must not depend on the user's locale.
export LC_ALL=C

LT_NAME=${LT_NAME:-$(basename "$0" .sh)}
LT_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${abs_top_srcdir:=$(cd "$LT_LIB_DIR/../.." && pwd)}"
: "${abs_top_builddir:=$abs_top_srcdir}"
export abs_top_srcdir abs_top_builddir

RECV=$abs_top_builddir/src/logthra-recv
FLUSH=$abs_top_builddir/src/logthra-flush
REPLAY=$abs_top_builddir/src/logthra-replay
QUERY=$abs_top_builddir/src/logthra-query
SEED=$abs_top_srcdir/tests/data/seed-push.json

LT_CHECKS=0
LT_FAILS=0
LT_FINISHED=0
LT_PIDS=()      # servers started, in start order
LT_PID_NAMES=() # their names, for messages
LT_LOGS=()      # "label=path" of server logs, shown on failure
LT_UID=$(id -u)
LT_MEMCHECK=       # sanitizer or valgrind (lt_memcheck_setup)
LT_MEMCHECK_DIR=   # its wrappers and reports
LT_MEMCHECK_DONE=0
LT_VALGRIND_STATUS=87 # no program exits so by itself

# The unprivileged users servers run as when the tests run as root.
LT_CH_USER=clickhouse
id "$LT_CH_USER" >/dev/null 2>&1 || LT_CH_USER=nobody
LT_CGI_USER=nobody
LT_CGI_GROUP=$(id -gn nobody 2>/dev/null || echo nogroup)

# --- output -------------------------------------------------------------

note() { printf '# %s\n' "$*"; }

ok() {
	LT_CHECKS=$((LT_CHECKS + 1))
	printf 'ok %d - %s\n' "$LT_CHECKS" "$*"
}

fail() {
	LT_CHECKS=$((LT_CHECKS + 1))
	LT_FAILS=$((LT_FAILS + 1))
	printf 'not ok %d - %s\n' "$LT_CHECKS" "$*"
}

# Prints text indented, for details under a failed check.
lt_detail() {
	local label=$1 text=$2
	printf '#   %s:\n' "$label"
	printf '%s\n' "$text" | head -n 40 | sed 's/^/#     /'
}

# check_eq EXPECTED ACTUAL WHAT
check_eq() {
	if [[ "$1" == "$2" ]]; then
		ok "$3"
	else
		fail "$3"
		lt_detail expected "$1"
		lt_detail actual "$2"
	fi
}

# check_match REGEX ACTUAL WHAT (extended regular expression, bash's =~)
check_match() {
	if [[ "$2" =~ $1 ]]; then
		ok "$3"
	else
		fail "$3"
		lt_detail "expected to match" "$1"
		lt_detail actual "$2"
	fi
}

# check_contains NEEDLE HAYSTACK WHAT (fixed string)
check_contains() {
	if [[ "$2" == *"$1"* ]]; then
		ok "$3"
	else
		fail "$3"
		lt_detail "expected to contain" "$1"
		lt_detail actual "$2"
	fi
}

# check_not_contains NEEDLE HAYSTACK WHAT
check_not_contains() {
	if [[ "$2" != *"$1"* ]]; then
		ok "$3"
	else
		fail "$3"
		lt_detail "expected not to contain" "$1"
		lt_detail actual "$2"
	fi
}

# Shows the last lines of every server log (after a failure).
lt_dump_logs() {
	local entry label path
	for entry in ${LT_LOGS[@]+"${LT_LOGS[@]}"}; do
		label=${entry%%=*}
		path=${entry#*=}
		[[ -s "$path" ]] || continue
		printf '# ---- %s (%s), last lines ----\n' "$label" "$path"
		tail -n 30 "$path" | sed 's/^/#   /'
	done
}

# Ends a test: summary line and exit status.
finish() {
	LT_FINISHED=1
	lt_memcheck_finish
	if ((LT_FAILS > 0)); then
		lt_dump_logs
		printf 'FAIL: %s (%d of %d checks failed)\n' "$LT_NAME" \
		    "$LT_FAILS" "$LT_CHECKS"
		exit 1
	fi
	if ((LT_CHECKS == 0)); then
		printf 'FAIL: %s (no checks ran)\n' "$LT_NAME"
		exit 1
	fi
	printf 'PASS: %s (%d checks)\n' "$LT_NAME" "$LT_CHECKS"
	exit 0
}

# A setup step failed: the test cannot go on.
die() {
	printf 'not ok - %s\n' "$*"
	LT_FAILS=$((LT_FAILS + 1))
	LT_FINISHED=1
	lt_dump_logs
	printf 'FAIL: %s (%s)\n' "$LT_NAME" "$*"
	exit 1
}

# A required program is missing: fail, or skip when allowed.
lt_missing() {
	local what=$1 package=$2
	LT_FINISHED=1
	if [[ "${LOGTHRA_ALLOW_SKIP:-0}" == 1 ]]; then
		printf 'SKIP: %s (%s not found; install the Debian package %s)\n' \
		    "$LT_NAME" "$what" "$package"
		exit 77
	fi
	printf 'FAIL: %s (%s not found; install the Debian package %s, run scripts/deps, or set LOGTHRA_ALLOW_SKIP=1 to skip)\n' \
	    "$LT_NAME" "$what" "$package"
	exit 1
}

# need PROGRAM PACKAGE...: each program must be on PATH.
need() {
	while (($# >= 2)); do
		command -v "$1" >/dev/null 2>&1 || lt_missing "$1" "$2"
		shift 2
	done
}

# The programs under test must have been built.
need_built() {
	local p
	for p in "$RECV" "$FLUSH" "$REPLAY"; do
		[[ -x "$p" ]] || die "$p is missing: build first (scripts/build or make)"
	done
	[[ -r "$SEED" ]] || die "$SEED is missing"
}

# --- temporary directory and cleanup --------------------------------------

# Runs a command as the given unprivileged user when we are root.
as_user() {
	local user=$1
	shift
	if ((LT_UID == 0)); then
		setpriv --reuid="$user" --regid="$(id -g "$user")" \
		    --init-groups -- "$@"
	else
		"$@"
	fi
}

lt_make_tmpdir() {
	T=$(mktemp -d "${TMPDIR:-/tmp}/logthra-$LT_NAME.XXXXXX")
	# Servers run as other users when we are root; they must reach it.
	chmod 755 "$T"
	if ((LT_UID == 0)) && ! as_user "$LT_CGI_USER" test -x "$T/."; then
		rmdir "$T"
		T=$(mktemp -d "/tmp/logthra-$LT_NAME.XXXXXX")
		chmod 755 "$T"
	fi
}

lt_stop_pid() {
	local pid=$1 i
	kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
	# Each server runs in its own process group (setsid); end the group.
	kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 200; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
}

# Stops one server started by lt_spawn, by its pid.
lt_stop_server() {
	local pid=$1 i
	lt_stop_pid "$pid"
	for i in "${!LT_PIDS[@]}"; do
		[[ "${LT_PIDS[$i]}" == "$pid" ]] && LT_PIDS[$i]=0
	done
	return 0
}

lt_stop_all() {
	local i
	for ((i = ${#LT_PIDS[@]} - 1; i >= 0; i--)); do
		[[ "${LT_PIDS[$i]}" != 0 ]] || continue
		lt_stop_pid "${LT_PIDS[$i]}"
		LT_PIDS[$i]=0
	done
}

lt_on_error() {
	local rc=$1 line=$2 cmd=$3
	# Only the main shell reports; subshells just pass the status on.
	[[ "$BASHPID" == "$$" ]] || return 0
	printf '# command failed with status %d at %s line %s: %s\n' \
	    "$rc" "$0" "$line" "$cmd"
}

lt_cleanup() {
	local rc=$?
	set +eE
	trap - ERR
	if ((LT_FINISHED == 0)) && ((rc != 0)); then
		lt_dump_logs
		printf 'FAIL: %s (aborted with status %d after %d checks)\n' \
		    "$LT_NAME" "$rc" "$LT_CHECKS"
		((rc == 77)) && rc=1
	fi
	lt_stop_all
	# A mount still there must go before its directory is removed.
	[[ -z "${LT_POWERFS_MNT:-}" ]] || fusermount3 -u -z "$LT_POWERFS_MNT" 2>/dev/null || true
	# An aborted test: what the memory checker found may say why.
	((LT_MEMCHECK_DONE == 1 || rc == 0)) || lt_memcheck_show
	if [[ -n "${T:-}" && -d "$T" ]]; then
		if [[ "${LOGTHRA_TEST_KEEP:-0}" == 1 ]]; then
			printf '# kept %s\n' "$T"
		else
			rm -rf "$T"
		fi
	fi
	if [[ -n "$LT_MEMCHECK_DIR" && -d "$LT_MEMCHECK_DIR" ]]; then
		if [[ "${LOGTHRA_TEST_KEEP:-0}" == 1 ]]; then
			printf '# kept %s\n' "$LT_MEMCHECK_DIR"
		else
			rm -rf "$LT_MEMCHECK_DIR"
		fi
	fi
	exit "$rc"
}

trap 'lt_on_error $? $LINENO "$BASH_COMMAND"' ERR
trap lt_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

lt_make_tmpdir

# No system configuration: every test states its settings.  Two
# exceptions: most tests push the same body again on purpose, to make
# another spool file, which dedup_window would take for a client's retry
# and not store; tests/integration/retry.sh tests that with the default.
# And most compare the structured metadata they stored, or answers with
# it, with what they pushed, so discover_log_levels does not add
# detected_level; tests/integration/level.sh tests it with the default.
# The environment covers programs the tests run, the file those that a
# web server runs, which may not pass the environment on.
printf 'dedup_window = 0\ndiscover_log_levels = no\n' >"$T/base.conf"
chmod 644 "$T/base.conf"
export LOGTHRA_CONFIG=$T/base.conf
for lt_var in $(compgen -e); do
	case $lt_var in
	LOGTHRA_CONFIG | LOGTHRA_TEST_KEEP | LOGTHRA_ALLOW_SKIP | LOGTHRA_TEST_CHDB_DIR) ;;
	LOGTHRA_*) unset "$lt_var" ;;
	esac
done
unset lt_var
export LOGTHRA_DEDUP_WINDOW=0 LOGTHRA_DISCOVER_LOG_LEVELS=no

# --- processes --------------------------------------------------------------

# lt_spawn NAME LOGFILE COMMAND...: starts a server in the background in
# its own session (so nothing it does to its process group reaches the
# test), records it for cleanup, and sets LT_LAST_PID.
lt_spawn() {
	local name=$1 log=$2
	shift 2
	setsid "$@" </dev/null >"$log" 2>&1 &
	LT_LAST_PID=$!
	LT_PIDS+=("$LT_LAST_PID")
	LT_PID_NAMES+=("$name")
	LT_LOGS+=("$name=$log")
}

# run COMMAND...: runs a program under test with a time limit; sets
# RUN_RC, RUN_OUT (stdout) and RUN_ERR (stderr).  Never fails itself.
run() {
	RUN_RC=0
	timeout -k 5 "${LT_RUN_TIMEOUT:-120}" "$@" >"$T/run.out" 2>"$T/run.err" ||
	    RUN_RC=$?
	RUN_OUT=$(cat "$T/run.out")
	RUN_ERR=$(cat "$T/run.err")
	if ((RUN_RC == 124)); then
		note "timed out: $*"
	fi
	return 0
}

# check_rc EXPECTED WHAT: the last run's exit status.
check_rc() {
	if [[ "$RUN_RC" == "$1" ]]; then
		ok "$2 (exit $1)"
	else
		fail "$2 (exit $1)"
		lt_detail "actual exit status" "$RUN_RC"
		[[ -z "$RUN_OUT" ]] || lt_detail stdout "$RUN_OUT"
		[[ -z "$RUN_ERR" ]] || lt_detail stderr "$RUN_ERR"
	fi
}

# lt_user_prefix USER: sets LT_PRE to the words that run a command as
# USER when we are root (empty otherwise).  A prefix, not a function,
# because lt_spawn runs the command through setsid.
lt_user_prefix() {
	LT_PRE=()
	if ((LT_UID == 0)); then
		LT_PRE=(setpriv --reuid="$1" --regid="$(id -g "$1")" --init-groups --)
	fi
}

# --- memory checkers ----------------------------------------------------------

# Under a memory checker (LT_SANITIZE=1 or LT_VALGRIND=1) RECV, FLUSH and
# REPLAY are wrappers that run the programs so that their reports go to
# LT_MEMCHECK_DIR/logs, whoever starts them: a test, fcgiwrap,
# systemd-socket-activate or another server, none of which passes the
# test's environment on.  finish fails the test on a report that means an
# error, and shows it: a leak found at exit, after the answer went out,
# fails no other check.  LT_MEMCHECK_DIR is beside $T, not in it, so
# that tests which look at what changed in $T do not see it.
lt_memcheck_setup() {
	if [[ "${LT_VALGRIND:-0}" == 1 ]]; then
		LT_MEMCHECK=valgrind
	elif [[ "${LT_SANITIZE:-0}" == 1 ]]; then
		LT_MEMCHECK=sanitizer
	else
		return 0
	fi
	LT_MEMCHECK_DIR=$T.memcheck
	mkdir -m 755 "$LT_MEMCHECK_DIR"
	mkdir -p "$LT_MEMCHECK_DIR/bin" "$LT_MEMCHECK_DIR/logs"
	# CGI programs run as another user when we are root.
	chmod 755 "$LT_MEMCHECK_DIR/bin"
	chmod 1777 "$LT_MEMCHECK_DIR/logs"
	lt_memcheck_wrappers
}

# Compiles the wrappers into LT_MEMCHECK_DIR/bin.  Programs, not shell
# scripts: a shell would merge environment variables of the same name,
# which is how fcgiwrap passes a header sent twice.  A sanitizer build
# reports to logs/report.PROGRAM.PID (log_path, over the options built
# in: src/sanitize-options.c); valgrind logs to logs/PROGRAM.PID and
# ends a program it found errors in with LT_VALGRIND_STATUS.
lt_memcheck_wrappers() {
	local dir=$LT_MEMCHECK_DIR var prog name def
	need cc build-essential
	if [[ "$LT_MEMCHECK" == valgrind ]]; then
		need valgrind valgrind
		def=(-DLT_VALGRIND="\"$(command -v valgrind)\""
		    -DLT_VG_STATUS="\"$LT_VALGRIND_STATUS\"")
	else
		def=(-DLT_SAN_OPTIONS="\"log_path=$dir/logs/report:log_exe_name=1\"")
	fi
	cat >"$dir/wrapper.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef LT_SAN_OPTIONS
/* Some process traces this one (a test's strace). */
static int
traced(void)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");
	int t = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "TracerPid:", 10) == 0)
			t = atoi(line + 10) != 0;
	fclose(f);
	return t;
}

/* NAME=OLD:MORE, or NAME=MORE: later options win. */
static int
add_options(const char *name, const char *more)
{
	const char *old = getenv(name);
	size_t n = (old != NULL ? strlen(old) + 1 : 0) + strlen(more) + 1;
	char *v = malloc(n);

	if (v == NULL)
		return -1;
	snprintf(v, n, "%s%s%s", old != NULL ? old : "", old != NULL ? ":" : "",
	    more);
	return setenv(name, v, 1);
}
#endif

int
main(int argc, char **argv)
{
#ifdef LT_SAN_OPTIONS
	/* LeakSanitizer cannot work under ptrace: then it does not look. */
	(void)argc;
	if (add_options("ASAN_OPTIONS", LT_SAN_OPTIONS) < 0 ||
	    add_options("UBSAN_OPTIONS", LT_SAN_OPTIONS) < 0 ||
	    (traced() && add_options("ASAN_OPTIONS", "detect_leaks=0") < 0))
		return 127;
	argv[0] = LT_PROG;
	execv(LT_PROG, argv);
#else
	char **av = calloc((size_t)argc + 8, sizeof(*av));
	int i, n = 0;

	if (av == NULL)
		return 127;
	av[n++] = LT_VALGRIND;
	av[n++] = "--error-exitcode=" LT_VG_STATUS;
	av[n++] = "--leak-check=full";
	av[n++] = "--errors-for-leak-kinds=definite";
	av[n++] = "--track-fds=no";
	av[n++] = "--vgdb=no";
	av[n++] = "--log-file=" LT_VG_LOG;
	av[n++] = LT_PROG;
	for (i = 1; i < argc; i++)
		av[n++] = argv[i];
	av[n] = NULL;
	execv(LT_VALGRIND, av);
#endif
	perror(LT_PROG);
	return 127;
}
EOF
	for var in RECV FLUSH REPLAY QUERY; do
		prog=${!var}
		[[ -x "$prog" ]] || continue # need_built reports it
		name=${prog##*/}
		if ((LT_UID == 0)) && ! as_user "$LT_CGI_USER" test -x "$prog"; then
			# The build tree is out of the CGI user's reach.
			mkdir -p -m 755 "$dir/real"
			cp "$prog" "$dir/real/$name"
			prog=$dir/real/$name
		fi
		cc -O -o "$dir/bin/$name" "${def[@]}" -DLT_PROG="\"$prog\"" \
		    -DLT_VG_LOG="\"$dir/logs/$name.%p\"" "$dir/wrapper.c" ||
		    die "could not compile the memory checker's wrapper with cc"
		printf -v "$var" '%s' "$dir/bin/$name"
	done
}

# Waits (up to 60 s) until no program of this test runs but the servers
# it started: a CGI program or an inetd child may still be looking for
# leaks after its answer, a program a test left behind may still be on
# its way; stopping the servers, or looking before they end, would miss
# their reports.  They are known by LT_MEMCHECK_DIR in their command line
# (valgrind's --log-file) or environment (the sanitizers' log_path).
lt_memcheck_wait() {
	local i f pid comm state rest busy
	local -A servers=()
	for pid in ${LT_PIDS[@]+"${LT_PIDS[@]}"}; do
		servers[$pid]=1
	done
	for ((i = 0; i < 600; i++)); do
		busy=
		for f in /proc/[0-9]*/stat; do
			read -r pid comm state rest 2>/dev/null <"$f" || continue
			[[ "$comm" == "(logthra-"* || "$comm" == "(memcheck-"* ]] || continue
			[[ "$state" != Z && -z "${servers[$pid]:-}" ]] || continue
			grep -qaF -- "$LT_MEMCHECK_DIR/logs/" "/proc/$pid/cmdline" \
			    "/proc/$pid/environ" 2>/dev/null || continue
			busy="$pid $comm"
			break
		done
		[[ -n "$busy" ]] || return 0
		sleep 0.1
	done
	note "$busy still runs after 60 s"
}

# lt_memcheck_bad: prints the reports (paths) that mean errors: every
# valgrind log without "0 errors" (which a process valgrind could not
# follow to its end lacks too), every sanitizer report that says an
# error.  A process killed (crash.sh) while LeakSanitizer looked for
# leaks at its exit leaves a report of its tracer's complaint only.
lt_memcheck_bad() {
	local f
	for f in "$LT_MEMCHECK_DIR"/logs/*; do
		[[ -f "$f" ]] || continue
		if [[ "$LT_MEMCHECK" == sanitizer ]]; then
			grep -Eq 'ERROR|SUMMARY|runtime error|fatal error' "$f" ||
			    continue
		elif grep -q '^==[0-9]*== ERROR SUMMARY: 0 errors' "$f"; then
			continue
		fi
		printf '%s\n' "$f"
	done
}

# Shows the reports that mean errors.
lt_memcheck_show() {
	local f
	[[ -n "$LT_MEMCHECK" && -d "$LT_MEMCHECK_DIR/logs" ]] || return 0
	while IFS= read -r f; do
		printf '# ---- %s report %s ----\n' "$LT_MEMCHECK" "${f##*/}"
		head -n 150 "$f" | sed 's/^/#   /'
	done < <(lt_memcheck_bad)
}

# Part of finish: once the programs have ended and the servers are
# stopped, a check that no report means errors.
lt_memcheck_finish() {
	local n bad
	[[ -n "$LT_MEMCHECK" ]] || return 0
	LT_MEMCHECK_DONE=1
	lt_memcheck_wait
	lt_stop_all
	n=$(find "$LT_MEMCHECK_DIR/logs" -type f | wc -l | tr -d ' ')
	bad=$(lt_memcheck_bad | wc -l | tr -d ' ')
	if [[ "$LT_MEMCHECK" == sanitizer ]]; then
		((n == bad)) || note "$((n - bad)) sanitizer reports of killed processes, without errors"
		check_eq 0 "$bad" "the sanitizers reported no errors"
	else
		check_eq 0 "$bad" "valgrind found no errors in $n runs"
	fi
	((bad == 0)) || lt_memcheck_show
}

lt_memcheck_setup

# --- ports ------------------------------------------------------------------

# Something listens (or is bound) on the loopback port.
lt_port_busy() {
	local p=$1
	if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
		return 0
	fi
	if command -v ss >/dev/null 2>&1 &&
	    [[ -n "$(ss -Htanu "( sport = :$p )" 2>/dev/null)" ]]; then
		return 0
	fi
	return 1
}

# Prints a free loopback TCP port.  Ports come from below the kernel's
# ephemeral range so that outgoing connections do not take them; ports
# handed out before in this test are not reused.
free_port() {
	local p i
	for ((i = 0; i < 200; i++)); do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
		if grep -qx "$p" "$T/ports.used" 2>/dev/null; then
			continue
		fi
		lt_port_busy "$p" && continue
		printf '%s\n' "$p" >>"$T/ports.used"
		printf '%s\n' "$p"
		return 0
	done
	echo "free_port: no free port found" >&2
	return 1
}

# wait_port PORT PID WHAT [READY-FILE [READY-TEXT]]: waits (bounded)
# until the server is ready and the port accepts connections; fails when
# the process died.  READY-FILE (a pid file, or a log containing
# READY-TEXT) shows that it is our process that bound the port, not
# one that took it meanwhile.
wait_port() {
	local port=$1 pid=$2 what=$3 file=${4:-} text=${5:-} i
	for ((i = 0; i < 300; i++)); do
		kill -0 "$pid" 2>/dev/null || return 1
		if [[ -z "$file" ]] || { [[ -s "$file" ]] &&
		    { [[ -z "$text" ]] || grep -qF "$text" "$file"; }; }; then
			if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
				return 0
			fi
		fi
		sleep 0.1
	done
	note "$what did not open port $port within 30 s"
	return 1
}

# start_server NAME CONFIG-FUNCTION READY-FILE COMMAND...: starts a
# server on a free loopback port.  CONFIG-FUNCTION is called with the port
# and writes the server's configuration for it; then COMMAND is spawned
# with its output in $T/NAME.log, and waited for until READY-FILE (a pid
# file, or "" for none) exists and the port accepts connections.  A port
# taken meanwhile ("in use" in the log: some servers go on without it)
# means another try on another port.  Exports SERVER_PORT and SERVER_URL;
# sets SERVER_PID.
start_server() {
	local name=$1 config=$2 ready=$3 attempt port
	shift 3
	for attempt in 1 2 3; do
		port=$(free_port)
		"$config" "$port"
		[[ -z "$ready" ]] || rm -f "$ready"
		note "starting $name on 127.0.0.1:$port"
		lt_spawn "$name:$port" "$T/$name.log" "$@"
		SERVER_PID=$LT_LAST_PID
		if wait_port "$port" "$SERVER_PID" "$name" "$ready" &&
		    ! grep -qs 'in use' "$T/$name.log"; then
			SERVER_PORT=$port
			SERVER_URL=http://127.0.0.1:$port
			export SERVER_PORT SERVER_URL
			return 0
		fi
		lt_stop_server "$SERVER_PID"
		grep -qs 'in use' "$T/$name.log" && continue
		die "$name did not start"
	done
	die "$name could not get a free port"
}

# --- Node.js clients ------------------------------------------------------------

# lt_npm_unavailable REASON: ends a test whose npm clients cannot run:
# a failure naming REASON (with npm's output, when there is some), or a
# skip when LOGTHRA_ALLOW_SKIP=1 says a skip is acceptable here.
lt_npm_unavailable() {
	LT_FINISHED=1
	if [[ "${LOGTHRA_ALLOW_SKIP:-0}" == 1 ]]; then
		printf 'SKIP: %s (%s)\n' "$LT_NAME" "$1"
		exit 77
	fi
	[[ ! -s "$T/npm.log" ]] || tail -n 20 "$T/npm.log" | sed 's/^/#   /'
	printf 'FAIL: %s (%s; set LOGTHRA_ALLOW_SKIP=1 to skip)\n' "$LT_NAME" "$1"
	exit 1
}

# lt_need_clients MAJOR.MINOR WHO: the npm clients, installed, on a node
# of at least that version (WHO names what needs it); otherwise the test
# ends as lt_npm_unavailable says.
lt_need_clients() {
	local want=$1 who=$2
	node -e 'const [a, b] = process.versions.node.split(".").map(Number);
const [x, y] = process.argv[1].split(".").map(Number);
process.exit(a > x || (a === x && b >= y) ? 0 : 1)' "$want" ||
	    lt_npm_unavailable "node $(node --version) is older than $want, which $who needs"
	lt_install_clients ||
	    lt_npm_unavailable "npm ci of tests/clients/package-lock.json failed"
}

# lt_install_clients: installs the libraries pinned in
# tests/clients/package-lock.json with npm ci into
# BUILD/tests/clients-deps, unless that lock was installed there before
# (installed.lock is copied only after a complete install), and exports
# NODE_PATH.  Concurrent callers wait on a lock.  Returns 1 when npm ci
# failed, with its output's tail in $T/npm.log.
lt_install_clients() {
	local clients=$abs_top_srcdir/tests/clients
	local dir=$abs_top_builddir/tests/clients-deps rc=0
	mkdir -p "$dir"
	exec 9>"$dir/.lock"
	flock 9
	if [[ -d "$dir/node_modules" ]] &&
	    cmp -s "$clients/package-lock.json" "$dir/installed.lock" &&
	    cmp -s "$clients/package.json" "$dir/installed.json"; then
		note "reusing the client libraries in $dir"
	else
		note "npm ci in $dir"
		rm -rf "$dir/node_modules" "$dir/installed.lock" \
		    "$dir/installed.json" "$dir/package.json" \
		    "$dir/package-lock.json"
		cp "$clients/package.json" "$clients/package-lock.json" "$dir/"
		chmod u+w "$dir/package.json" "$dir/package-lock.json"
		if (cd "$dir" && timeout -k 10 600 npm ci --ignore-scripts \
		    --no-audit --no-fund --loglevel=error) >"$T/npm.log" 2>&1; then
			cp "$clients/package-lock.json" "$dir/installed.lock"
			cp "$clients/package.json" "$dir/installed.json"
		else
			rc=1
		fi
	fi
	exec 9>&-
	export NODE_PATH=$dir/node_modules
	return $rc
}

# --- Prometheus metrics -------------------------------------------------------

# A strict reading of the text exposition format: every line a HELP, a
# TYPE or a sample of the family named just before, each family once,
# counters named *_total, label values escaped.
lt_check_exposition() {
	python3 - "$1" <<'EOF'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
assert text.endswith("\n"), "no line end at the end"
name = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
value = r'"(?:[^"\\\n]|\\[\\"n])*"'
label = r"[a-zA-Z_][a-zA-Z0-9_]*=" + value
sample = re.compile(r"^(%s)(\{%s(?:,%s)*\})? (-?[0-9]+(?:\.[0-9]+)?)$" % (name, label, label))
seen, family, typed = set(), None, None
for n, line in enumerate(text.splitlines(), 1):
    m = re.match(r"^# HELP (%s) \S.*$" % name, line)
    if m:
        family, typed = m.group(1), None
        assert family not in seen, "line %d: %s twice" % (n, family)
        seen.add(family)
        continue
    m = re.match(r"^# TYPE (%s) (counter|gauge)$" % name, line)
    if m:
        assert m.group(1) == family, "line %d: TYPE of another family" % n
        assert m.group(2) != "counter" or family.endswith("_total"), family
        typed = family
        continue
    m = sample.match(line)
    assert m, "line %d is not a sample: %r" % (n, line)
    assert typed and m.group(1) == typed, "line %d outside its family" % n
print("ok")
EOF
}

# lt_check_metrics FILE WHAT: the strict reading above, and promtool's
# (a test that calls this needs promtool prometheus up front).
lt_check_metrics() {
	local file=$1 what=$2 out
	out=$(lt_check_exposition "$file" 2>&1) || true
	check_eq ok "$out" "$what: the strict reading of the text format accepts it"
	out=$(promtool check metrics <"$file" 2>&1) && out="ok:$out" || true
	check_eq ok: "$out" "$what: promtool check metrics accepts it"
}

# --- powerfs: a file system that keeps only what was made durable -----------

# need_powerfs: tests/powerfs, which make check builds, and FUSE; sets
# POWERFS.
need_powerfs() {
	need fusermount3 fuse3
	POWERFS=$abs_top_builddir/tests/powerfs/powerfs
	[[ -x "$POWERFS" ]] ||
	    die "$POWERFS is not built: install the Debian package libfuse3-dev, run configure again, then make check (scripts/deps installs it)"
	[[ -c /dev/fuse ]] || die "/dev/fuse is missing: powerfs needs FUSE"
}

# powerfs_mount MOUNTPOINT LOG ARGS...: runs powerfs ARGS... MOUNTPOINT in
# the background, its output appended to LOG, until it is mounted.  Sets
# POWERFS_PID; the mount goes when the test ends.
powerfs_mount() {
	local mnt=$1 log=$2 i
	shift 2
	"$POWERFS" "$@" "$mnt" >>"$log" 2>&1 &
	POWERFS_PID=$!
	LT_POWERFS_MNT=$mnt
	for ((i = 0; i < 300; i++)); do
		mountpoint -q "$mnt" && return 0
		kill -0 "$POWERFS_PID" 2>/dev/null || die "powerfs exited: $(tail -n 3 "$log")"
		sleep 0.01
	done
	die "powerfs did not mount $mnt"
}

# powerfs_unmount: unmounts the last mount and waits until powerfs has
# written its image (--dump) and exited.
powerfs_unmount() {
	fusermount3 -u "$LT_POWERFS_MNT" 2>/dev/null || {
		sleep 0.5
		fusermount3 -u "$LT_POWERFS_MNT"
	} || die "could not unmount $LT_POWERFS_MNT"
	wait "$POWERFS_PID" || die "powerfs exited with status $?"
	POWERFS_PID=0
	LT_POWERFS_MNT=
}
LT_POWERFS_MNT=
POWERFS_PID=0

# --- spool ------------------------------------------------------------------

# count_files DIR: regular files directly in DIR (0 when it is missing).
count_files() {
	[[ -d "$1" ]] || { echo 0; return 0; }
	find "$1" -mindepth 1 -maxdepth 1 -type f | wc -l | tr -d ' '
}

# spool_files SPOOL: every file under SPOOL/tenants, in any state.
spool_files() {
	[[ -d "$1/tenants" ]] || { echo 0; return 0; }
	find "$1/tenants" -type f | wc -l | tr -d ' '
}

# padded_push FILE NAME N: a Loki JSON push of N entries "NAME-I" in the
# stream {app="NAME"}, each line padded to about 130 bytes.
padded_push() {
	awk -v name="$2" -v n="$3" 'BEGIN {
		printf "{\"streams\":[{\"stream\":{\"app\":\"%s\"},\"values\":[", name
		for (i = 0; i < n; i++)
			printf "%s[\"1709251200%09d\",\"%s-%d %0110d\"]", (i ? "," : ""), i, name, i, i
		printf "]}]}\n"
	}' >"$1"
}

# fnv1a64 STRING...: the stream_id of a stream whose sorted labels are the
# arguments ("name=value"): FNV-1a 64 over each followed by a NUL byte.
fnv1a64() {
	local h=$((0xcbf29ce484222325)) s c i
	for s in "$@"; do
		for ((i = 0; i < ${#s}; i++)); do
			printf -v c '%d' "'${s:i:1}"
			c=$((c & 255))
			h=$(((h ^ c) * 0x100000001b3))
		done
		h=$(((h ^ 0) * 0x100000001b3))
	done
	printf '%u\n' "$h"
}

# --- ClickHouse, web servers and HTTP -----------------------------------------

# Their machinery is in two files beside this one.
. "$LT_LIB_DIR/lib-clickhouse.sh"
. "$LT_LIB_DIR/lib-web.sh"
