# Shared machinery for Logthra's integration tests.  Sourced by each
# tests/integration/*.sh (and by scripts/demo); it starts real servers:
# ClickHouse, nginx + fcgiwrap, and logthra-recv under
# systemd-socket-activate, each on a free loopback port, all inside one
# temporary directory that is removed afterwards; a current ClickHouse
# too, through chdb (start_chdb).
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

# Each test names what it uses up front, so that a missing program is
# reported before anything starts.
need_clickhouse() {
	if [[ "${LT_CLICKHOUSE:-}" == chdb ]]; then
		need_chdb
	else
		need clickhouse-server clickhouse-server curl curl
	fi
}
need_nginx() { need nginx nginx-light fcgiwrap fcgiwrap curl curl; }
need_inetd() { need systemd-socket-activate systemd curl curl; }

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

# --- ClickHouse -----------------------------------------------------------

# Starts Debian's clickhouse-server with its data in the temporary
# directory, on free loopback ports.  Exports CH_URL.
start_clickhouse() {
	if [[ "${LT_CLICKHOUSE:-}" == chdb ]]; then
		start_chdb
		return
	fi
	need_clickhouse
	local dir=$T/clickhouse attempt i
	for attempt in 1 2 3; do
		rm -rf "$dir"
		mkdir -p "$dir/tmp" "$dir/uf" "$dir/fs"
		if ((LT_UID == 0)); then
			chown -R "$LT_CH_USER:" "$dir"
		fi
		CH_HTTP_PORT=$(free_port)
		CH_TCP_PORT=$(free_port)
		CH_INTERSERVER_PORT=$(free_port)
		note "starting clickhouse-server on 127.0.0.1:$CH_HTTP_PORT (data in $dir)"
		lt_user_prefix "$LT_CH_USER"
		lt_spawn clickhouse-stdout "$T/clickhouse.stdout" \
		    ${LT_PRE[@]+"${LT_PRE[@]}"} clickhouse-server \
		    --config-file=/etc/clickhouse-server/config.xml -- \
		    --path="$dir/" --tmp_path="$dir/tmp/" \
		    --user_files_path="$dir/uf/" --format_schema_path="$dir/fs/" \
		    --http_port="$CH_HTTP_PORT" --tcp_port="$CH_TCP_PORT" \
		    --interserver_http_port="$CH_INTERSERVER_PORT" \
		    --listen_host=127.0.0.1 \
		    --logger.log="$dir/log.txt" --logger.errorlog="$dir/err.txt"
		CH_PID=$LT_LAST_PID
		LT_LOGS+=("clickhouse-errors=$dir/err.txt")
		CH_URL=http://127.0.0.1:$CH_HTTP_PORT/
		export CH_URL
		for ((i = 0; i < 300; i++)); do
			if [[ "$(curl -s --max-time 2 "${CH_URL}?query=SELECT%201" 2>/dev/null)" == 1 ]]; then
				note "clickhouse-server is up after $((i / 10)).$((i % 10)) s"
				return 0
			fi
			kill -0 "$CH_PID" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$CH_PID" 2>/dev/null; then
			die "clickhouse-server did not answer on $CH_URL within 30 s"
		fi
		lt_stop_server "$CH_PID"
		if grep -qs 'Address already in use' "$dir/err.txt" "$T/clickhouse.stdout"; then
			note "a port was taken meanwhile; trying other ports"
			continue
		fi
		die "clickhouse-server exited during startup"
	done
	die "clickhouse-server could not get free ports"
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

stop_clickhouse() {
	[[ -n "${CH_PID:-}" ]] || return 0
	note "stopping clickhouse-server"
	lt_stop_server "$CH_PID"
	CH_PID=
}

# kill_clickhouse: kills the server started by start_clickhouse with
# SIGKILL, as a crash would, and waits until it is gone.  Its data
# directory stays for restart_clickhouse.
kill_clickhouse() {
	[[ -n "${CH_PID:-}" ]] || return 0
	kill -KILL -- "-$CH_PID" 2>/dev/null || kill -KILL "$CH_PID" 2>/dev/null || true
	wait "$CH_PID" 2>/dev/null || true
	lt_stop_server "$CH_PID"
	CH_PID=
}

# restart_clickhouse: starts clickhouse-server again on the data
# directory and ports of start_clickhouse (after kill_clickhouse or
# stop_clickhouse) and waits until it answers; CH_URL stays valid.
restart_clickhouse() {
	local dir=$T/clickhouse i
	if [[ "${LT_CLICKHOUSE:-}" == chdb ]]; then
		[[ -z "${CH_PID:-}" ]] || die "restart_clickhouse: chdb-http.js still runs"
		lt_spawn_chdb "$CH_HTTP_PORT"
		return
	fi
	[[ -z "${CH_PID:-}" ]] || die "restart_clickhouse: clickhouse-server still runs"
	[[ -n "${CH_HTTP_PORT:-}" && -d "$dir" ]] ||
	    die "restart_clickhouse: start_clickhouse was not called"
	lt_user_prefix "$LT_CH_USER"
	# The ports may linger briefly after a crash; retry a few times.
	for ((i = 0; i < 600; i++)); do
		if ((i % 100 == 0)); then
			[[ -z "${CH_PID:-}" ]] || lt_stop_server "$CH_PID"
			setsid ${LT_PRE[@]+"${LT_PRE[@]}"} clickhouse-server \
			    --config-file=/etc/clickhouse-server/config.xml -- \
			    --path="$dir/" --tmp_path="$dir/tmp/" \
			    --user_files_path="$dir/uf/" --format_schema_path="$dir/fs/" \
			    --http_port="$CH_HTTP_PORT" --tcp_port="$CH_TCP_PORT" \
			    --interserver_http_port="$CH_INTERSERVER_PORT" \
			    --listen_host=127.0.0.1 \
			    --logger.log="$dir/log.txt" --logger.errorlog="$dir/err.txt" \
			    </dev/null >>"$T/clickhouse.stdout" 2>&1 &
			CH_PID=$!
			LT_PIDS+=("$CH_PID")
			LT_PID_NAMES+=(clickhouse-stdout)
		fi
		if [[ "$(curl -s --max-time 2 "${CH_URL}?query=SELECT%201" 2>/dev/null)" == 1 ]]; then
			return 0
		fi
		if ! kill -0 "$CH_PID" 2>/dev/null; then
			wait "$CH_PID" 2>/dev/null || true
			# Make the next pass start it again.
			i=$(((i / 100 + 1) * 100 - 1))
		fi
		sleep 0.1
	done
	die "clickhouse-server did not come back on $CH_URL within 60 s"
}

# ch_query SQL: runs one statement over HTTP and prints the result.  On
# an error prints ClickHouse's message on stderr and returns 1.
ch_query() {
	local code
	code=$(curl -sS --max-time 60 -o "$T/ch.out" -w '%{http_code}' \
	    --data-binary "$1" "$CH_URL") || code=000
	if [[ "$code" != 200 ]]; then
		printf 'ch_query: HTTP %s for: %s\n' "$code" "$1" >&2
		cat "$T/ch.out" >&2 2>/dev/null || true
		return 1
	fi
	cat "$T/ch.out"
}

# The streams index of logthra(7), THE STREAMS INDEX, beside a logs table:
# streams_of_logs LOGS and streams_indexed STREAMS print the (tenant,
# stream, label, day) set, one TSV row each in the same order, the first
# computed from the logs table's rows by a GROUP BY written here, the
# second as queries read the index (duplicates folded by GROUP BY).
streams_of_logs() {
	ch_query "SELECT tenant_id, stream_id, any(label),
	    toDate(timestamp, 'UTC') AS d FROM $1
	    GROUP BY tenant_id, stream_id, d
	    ORDER BY tenant_id, stream_id, d FORMAT TSV"
}
streams_indexed() {
	ch_query "SELECT tenant_id, stream_id, label, day FROM $1
	    GROUP BY tenant_id, stream_id, label, day
	    ORDER BY tenant_id, stream_id, day FORMAT TSV"
}
# check_streams_index DB.LOGS WHAT: the index DB.LOGS_streams holds
# exactly the streams and days of DB.LOGS's rows.
check_streams_index() {
	local want got
	want=$(streams_of_logs "$1") || want="(query failed)"
	got=$(streams_indexed "$1_streams") || got="(query failed)"
	if [[ -z "$want" ]]; then
		fail "$2: the logs table has rows to compare"
		return
	fi
	check_eq "$want" "$got" "$2"
}

# ch_unwritable_table DB: DB.log with Logthra's columns, which ClickHouse
# refuses to insert into (a view): a refused INSERT, for the tests of
# what logthra-flush does then.
ch_unwritable_table() {
	ch_query "CREATE DATABASE IF NOT EXISTS $1" >/dev/null &&
	ch_query "CREATE VIEW $1.log AS SELECT '' AS tenant_id,
	    toUInt64(0) AS stream_id, emptyArrayString() AS label,
	    toDateTime(0) AS timestamp, toInt64(0) AS timestamp_ns, '' AS msg,
	    emptyArrayString() AS metadata, toUInt64(0) AS push_id WHERE 0" >/dev/null
}

# --- the example queries of the documents -----------------------------------

# The queries of README.md's second SQL block under "The table", one per
# line (newlines inside a query become spaces), comments left out.
readme_queries() {
	awk '/^## The table/ { on = 1; next } /^## / { on = 0 }
	    on && /^```sql/ { n++; in_sql = (n == 2); next }
	    /^```/ { in_sql = 0; next }
	    in_sql && !/^--/ { q = q " " $0; if (/;$/) { print q; q = "" } }' \
	    "$abs_top_srcdir/README.md" | sed 's/^ *//; s/;$//'
}
# The .EX blocks of logthra(7)'s EXAMPLE QUERIES, one per line, with the
# roff escapes undone; man_statement WORD: the .EX block starting so.
man_unroff() { sed 's/\\(aq/'"'"'/g; s/\\-/-/g; s/\\e/\\/g'; }
man_queries() {
	awk '/^\.SH EXAMPLE QUERIES/ { on = 1; next } /^\.SH/ { on = 0 }
	    on && /^\.EX/ { q = ""; ex = 1; next }
	    on && /^\.EE/ { print q; ex = 0; next }
	    ex { q = q " " $0 }' "$abs_top_srcdir/man/logthra.7" |
	    man_unroff | sed 's/^ *//; s/;$//'
}
man_statement() {
	awk -v w="$1" '/^\.EX/ { ex = 1; next } /^\.EE/ { ex = 0; next }
	    ex && index($0, w) == 1' "$abs_top_srcdir/man/logthra.7" | man_unroff
}

# --- ClickHouse cluster -------------------------------------------------------

# The cluster that start_clickhouse_cluster configures in every server.
CHC_CLUSTER=logthra_test

need_zookeeper() {
	need java default-jre-headless
	[[ -r /usr/share/java/zookeeper.jar ]] ||
	    lt_missing /usr/share/java/zookeeper.jar zookeeper
}

# lt_zk_serving PORT: ZooKeeper serves requests.  Its "srvr" four-letter
# word says so; "ruok" is no test: it answers "imok" while the server is
# still loading, and a ClickHouse 18.16 that connects then sees its
# session closed ("ZooKeeperServer not running") and was seen to crash.
lt_zk_serving() {
	[[ "$(timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" &&
	    printf srvr >&3 && cat <&3' lt_zk_serving "$1" 2>/dev/null)" == *"Mode: "* ]]
}

# start_zookeeper: a standalone ZooKeeper from Debian's package, run by
# hand (not by its init script) as the ClickHouse user, with its data in
# $T/zookeeper, on a free loopback port, without the admin web server
# (port 8080 by default).  Sets ZK_PORT and ZK_PID.
start_zookeeper() {
	need_zookeeper
	local dir=$T/zookeeper attempt i cp=/usr/share/java/zookeeper.jar
	# Its log on stderr, when the simple SLF4J binding is there.
	[[ ! -r /usr/share/java/slf4j-simple.jar ]] ||
	    cp+=:/usr/share/java/slf4j-simple.jar
	for attempt in 1 2 3; do
		rm -rf "$dir"
		mkdir -p "$dir/data"
		ZK_PORT=$(free_port)
		# A short tick: a killed ClickHouse server's session, and with
		# it its replicas' is_active nodes, expires in seconds.
		cat >"$dir/zoo.cfg" <<EOF
tickTime=500
initLimit=10
syncLimit=5
dataDir=$dir/data
clientPort=$ZK_PORT
clientPortAddress=127.0.0.1
admin.enableServer=false
4lw.commands.whitelist=ruok,srvr,mntr
maxClientCnxns=0
EOF
		((LT_UID != 0)) || chown -R "$LT_CH_USER:" "$dir"
		note "starting zookeeper on 127.0.0.1:$ZK_PORT (data in $dir)"
		lt_user_prefix "$LT_CH_USER"
		lt_spawn "zookeeper:$ZK_PORT" "$dir/zookeeper.log" \
		    ${LT_PRE[@]+"${LT_PRE[@]}"} java -Xmx256m -XX:+UseSerialGC \
		    -XX:TieredStopAtLevel=1 -XX:-UsePerfData \
		    -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
		    -cp "$cp" org.apache.zookeeper.server.ZooKeeperServerMain \
		    "$dir/zoo.cfg"
		ZK_PID=$LT_LAST_PID
		for ((i = 0; i < 300; i++)); do
			if lt_zk_serving "$ZK_PORT"; then
				note "zookeeper is up after $((i / 10)).$((i % 10)) s"
				return 0
			fi
			kill -0 "$ZK_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$ZK_PID" 2>/dev/null &&
		    die "zookeeper did not answer on port $ZK_PORT within 30 s"
		lt_stop_server "$ZK_PID"
		if grep -qs 'in use' "$dir/zookeeper.log"; then
			note "a port was taken meanwhile; trying another port"
			continue
		fi
		die "zookeeper exited during startup"
	done
	die "zookeeper could not get a free port"
}

# lt_chc_config I: writes server I's configuration: a copy of Debian's
# config.xml and users.xml (ClickHouse reads config.d/ beside the file
# it is given) and config.d/logthra-test.xml with the cluster, the
# server's macros and, with ZooKeeper, where it is.  Ports, paths and
# the listen address come on the command line, as in start_clickhouse.
lt_chc_config() {
	local i=$1 dir=${CHC_DIRS[$1]} j
	mkdir -p "$dir/etc/config.d" "$dir/tmp" "$dir/uf" "$dir/fs"
	cp /etc/clickhouse-server/config.xml /etc/clickhouse-server/users.xml \
	    "$dir/etc/"
	{
		printf '<?xml version="1.0"?>\n<!-- Generated by tests/integration/lib.sh -->\n<yandex>\n'
		printf '    <remote_servers>\n        <%s>\n' "$CHC_CLUSTER"
		for j in "${!CHC_TCP_PORTS[@]}"; do
			printf '            <shard><internal_replication>true</internal_replication>'
			printf '<replica><host>127.0.0.1</host><port>%s</port></replica></shard>\n' \
			    "${CHC_TCP_PORTS[$j]}"
		done
		printf '        </%s>\n    </remote_servers>\n' "$CHC_CLUSTER"
		printf '    <macros><cluster>%s</cluster><shard>%d</shard><replica>r1</replica></macros>\n' \
		    "$CHC_CLUSTER" $((i + 1))
		if [[ -n "${ZK_PORT:-}" ]]; then
			printf '    <zookeeper><node><host>127.0.0.1</host><port>%s</port></node>' \
			    "$ZK_PORT"
			printf '<session_timeout_ms>5000</session_timeout_ms></zookeeper>\n'
		fi
		printf '</yandex>\n'
	} >"$dir/etc/config.d/logthra-test.xml"
	((LT_UID != 0)) || chown -R "$LT_CH_USER:" "$dir"
}

# lt_chc_spawn I: starts server I (configured) in the background.
lt_chc_spawn() {
	local i=$1 dir=${CHC_DIRS[$1]}
	lt_user_prefix "$LT_CH_USER"
	lt_spawn "clickhouse$((i + 1))-stdout" "$dir/stdout" \
	    ${LT_PRE[@]+"${LT_PRE[@]}"} clickhouse-server \
	    --config-file="$dir/etc/config.xml" -- \
	    --path="$dir/" --tmp_path="$dir/tmp/" \
	    --user_files_path="$dir/uf/" --format_schema_path="$dir/fs/" \
	    --http_port="${CHC_HTTP_PORTS[$i]}" --tcp_port="${CHC_TCP_PORTS[$i]}" \
	    --interserver_http_port="${CHC_INTER_PORTS[$i]}" \
	    --listen_host=127.0.0.1 \
	    --logger.log="$dir/log.txt" --logger.errorlog="$dir/err.txt"
	CHC_PIDS[$i]=$LT_LAST_PID
}

# lt_chc_up I: server I answers over HTTP.
lt_chc_up() {
	[[ "$(curl -s --max-time 2 "${CHC_URLS[$1]}?query=SELECT%201" 2>/dev/null)" == 1 ]]
}

# lt_chc_zk_up I: server I (from 0) has its ZooKeeper session: a test
# that starts with ON CLUSTER DDL must not race the connection.
lt_chc_zk_up() {
	[[ "$(curl -s --max-time 2 --data-binary "SELECT count() > 0 FROM system.zookeeper WHERE path = '/'" \
	    "${CHC_URLS[$1]}" 2>/dev/null)" == 1 ]]
}

# start_clickhouse_cluster N [--zookeeper]: starts N Debian
# clickhouse-servers as in start_clickhouse (unprivileged, data in
# $T/chc/I, free loopback ports), each configured with the cluster
# $CHC_CLUSTER (logthra_test) of N shards of one replica each, the
# servers themselves by TCP port, and the macros {cluster}, {shard} (1
# to N) and {replica} (r1).  With --zookeeper it first starts ZooKeeper
# (start_zookeeper) and puts it into every server's configuration, which
# ReplicatedMergeTree and ON CLUSTER need.  Sets the arrays CHC_URLS
# (http://127.0.0.1:PORT/), CHC_HTTP_PORTS, CHC_TCP_PORTS,
# CHC_INTER_PORTS, CHC_PIDS and CHC_DIRS, indexed from 0 (shard I+1 at
# index I), CHC_N, and CH_URL to the first server's URL (ch_query).
# Everything stops when the test ends.
start_clickhouse_cluster() {
	need_clickhouse
	local n=${1:?start_clickhouse_cluster: number of shards} zk=0 attempt i t0 up
	[[ "${2:-}" != --zookeeper ]] || zk=1
	[[ "$n" =~ ^[1-9][0-9]*$ ]] || die "start_clickhouse_cluster: bad count $n"
	t0=$(date +%s%N)
	ZK_PORT=
	((zk == 0)) || start_zookeeper
	CHC_N=$n
	for attempt in 1 2 3; do
		CHC_URLS=() CHC_HTTP_PORTS=() CHC_TCP_PORTS=() CHC_INTER_PORTS=()
		CHC_PIDS=() CHC_DIRS=()
		rm -rf "$T/chc"
		for ((i = 0; i < n; i++)); do
			CHC_HTTP_PORTS[$i]=$(free_port)
			CHC_TCP_PORTS[$i]=$(free_port)
			CHC_INTER_PORTS[$i]=$(free_port)
			CHC_URLS[$i]=http://127.0.0.1:${CHC_HTTP_PORTS[$i]}/
			CHC_DIRS[$i]=$T/chc/$((i + 1))
		done
		for ((i = 0; i < n; i++)); do
			lt_chc_config "$i"
			note "starting clickhouse-server $((i + 1)) of $n on 127.0.0.1:${CHC_HTTP_PORTS[$i]} (tcp ${CHC_TCP_PORTS[$i]})"
			lt_chc_spawn "$i"
			LT_LOGS+=("clickhouse$((i + 1))-errors=${CHC_DIRS[$i]}/err.txt")
		done
		CH_URL=${CHC_URLS[0]}
		export CH_URL
		for ((up = 0; up < 300; up++)); do
			for ((i = 0; i < n; i++)); do
				lt_chc_up "$i" || break
				((zk == 0)) || lt_chc_zk_up "$i" || break
			done
			if ((i == n)); then
				note "cluster $CHC_CLUSTER of $n servers$( ((zk == 0)) || printf ' and zookeeper') up after $((($(date +%s%N) - t0) / 1000000)) ms"
				return 0
			fi
			kill -0 "${CHC_PIDS[$i]}" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "${CHC_PIDS[$i]}" 2>/dev/null &&
		    die "clickhouse-server $((i + 1)) did not answer on ${CHC_URLS[$i]} within 30 s"
		for ((i = 0; i < n; i++)); do
			lt_stop_server "${CHC_PIDS[$i]}"
		done
		if grep -qs 'Address already in use' "$T"/chc/*/err.txt "$T"/chc/*/stdout; then
			note "a port was taken meanwhile; trying other ports"
			continue
		fi
		die "a clickhouse-server of the cluster exited during startup"
	done
	die "the cluster could not get free ports"
}

# chc_query I SQL: ch_query on server I (from 0).
chc_query() {
	CH_URL=${CHC_URLS[$1]} ch_query "$2"
}

# stop_cluster_server I / kill_cluster_server I: stops server I (from
# 0), or kills it with SIGKILL as a crash would; its data directory and
# ports stay for restart_cluster_server.
stop_cluster_server() {
	[[ "${CHC_PIDS[$1]:-0}" != 0 ]] || return 0
	note "stopping clickhouse-server $(($1 + 1))"
	lt_stop_server "${CHC_PIDS[$1]}"
	CHC_PIDS[$1]=0
}

kill_cluster_server() {
	local pid=${CHC_PIDS[$1]:-0}
	[[ "$pid" != 0 ]] || return 0
	note "killing clickhouse-server $(($1 + 1))"
	kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
	lt_stop_server "$pid"
	CHC_PIDS[$1]=0
}

# restart_cluster_server I: starts server I again on its data and ports
# and waits (up to 60 s, retrying while a port lingers) until it answers.
restart_cluster_server() {
	local i=$1 k
	[[ "${CHC_PIDS[$i]:-0}" == 0 ]] ||
	    die "restart_cluster_server: server $((i + 1)) still runs"
	for ((k = 0; k < 600; k++)); do
		if ((k % 100 == 0)); then
			[[ "${CHC_PIDS[$i]}" == 0 ]] || lt_stop_server "${CHC_PIDS[$i]}"
			lt_chc_spawn "$i"
		fi
		lt_chc_up "$i" && return 0
		if ! kill -0 "${CHC_PIDS[$i]}" 2>/dev/null; then
			wait "${CHC_PIDS[$i]}" 2>/dev/null || true
			k=$(((k / 100 + 1) * 100 - 1))
		fi
		sleep 0.1
	done
	die "clickhouse-server $((i + 1)) did not come back within 60 s"
}

# --- chdb: a current ClickHouse ---------------------------------------------

# tests/chdb/chdb-http.js serves ClickHouse's HTTP interface from chdb, the
# ClickHouse engine as a library (26.x; Debian has only the 18.16 server).
# scripts/deps installs chdb with npm ci into tests/chdb/node_modules and
# leaves a copy of the lock file there once the install is complete.
LT_CHDB_DIR=${LOGTHRA_TEST_CHDB_DIR:-$abs_top_srcdir/tests/chdb}

# A dependency is missing or out of date: fail, or skip when allowed.
lt_unavailable() {
	LT_FINISHED=1
	if [[ "${LOGTHRA_ALLOW_SKIP:-0}" == 1 ]]; then
		printf 'SKIP: %s (%s)\n' "$LT_NAME" "$1"
		exit 77
	fi
	printf 'FAIL: %s (%s; set LOGTHRA_ALLOW_SKIP=1 to skip)\n' "$LT_NAME" "$1"
	exit 1
}

need_chdb() {
	need node nodejs curl curl
	[[ -f "$LT_CHDB_DIR/node_modules/chdb/package.json" ]] ||
	    lt_unavailable "chdb is not installed in $LT_CHDB_DIR/node_modules: run scripts/deps"
	cmp -s "$LT_CHDB_DIR/package-lock.json" \
	    "$LT_CHDB_DIR/node_modules/.logthra-installed.lock" ||
	    lt_unavailable "the chdb in $LT_CHDB_DIR/node_modules is not the one package-lock.json pins: run scripts/deps"
}

# start_chdb: starts chdb-http.js with its data in the temporary
# directory, on a free loopback port (it binds port 0 and says which it
# got), and waits until it answers.  Sets what start_clickhouse sets, so
# that ch_query, stop_clickhouse, kill_clickhouse and restart_clickhouse
# work on it: CH_URL (exported), CH_HTTP_PORT, CH_PID; and CH_VERSION,
# ClickHouse's version().
start_chdb() {
	need_chdb
	rm -rf "$T/chdb"
	mkdir -p "$T/chdb"
	lt_spawn_chdb 0
}

# lt_spawn_chdb PORT: starts chdb-http.js on $T/chdb and PORT (0: any).
# TZ=UTC: a DateTime shows in the engine's time zone, which is the
# process's; a server has its own configured.
lt_spawn_chdb() {
	local i
	rm -f "$T/chdb.port"
	note "starting chdb-http.js (data in $T/chdb)"
	lt_spawn chdb "$T/chdb.log" env TZ=UTC \
	    node "$LT_CHDB_DIR/chdb-http.js" "$T/chdb" "$1" "$T/chdb.port"
	CH_PID=$LT_LAST_PID
	# Loading the engine (a 540 MB library) takes a second or more.
	for ((i = 0; i < 600; i++)); do
		if [[ -s "$T/chdb.port" ]]; then
			CH_HTTP_PORT=$(cat "$T/chdb.port")
			CH_URL=http://127.0.0.1:$CH_HTTP_PORT/
			export CH_URL
			if [[ "$(curl -s --max-time 2 "${CH_URL}?query=SELECT%201" 2>/dev/null)" == 1 ]]; then
				CH_VERSION=$(ch_query "SELECT version()")
				note "chdb-http.js is up after $((i / 10)).$((i % 10)) s: ClickHouse $CH_VERSION on $CH_URL"
				return 0
			fi
		fi
		kill -0 "$CH_PID" 2>/dev/null || break
		sleep 0.1
	done
	die "chdb-http.js did not answer within 60 s"
}

# --- logthra-recv under systemd-socket-activate ------------------------------

# start_inetd SPOOLDIR [RECV-ARGS...]: runs logthra-recv per connection,
# inetd style, on a free port.  Exports INETD_URL and INETD_PORT.
start_inetd() {
	need_inetd
	local spool=$1 attempt
	shift
	for attempt in 1 2 3; do
		INETD_PORT=$(free_port)
		note "starting systemd-socket-activate on 127.0.0.1:$INETD_PORT for logthra-recv -D $spool $*"
		# systemd-socket-activate passes only -E variables to the child.
		lt_spawn "socket-activate:$INETD_PORT" "$T/inetd-$INETD_PORT.log" \
		    systemd-socket-activate --accept --inetd \
		    -l "127.0.0.1:$INETD_PORT" \
		    -E LOGTHRA_CONFIG="$LOGTHRA_CONFIG" \
		    ${LOGTHRA_DEDUP_WINDOW+-E LOGTHRA_DEDUP_WINDOW="$LOGTHRA_DEDUP_WINDOW"} \
		    ${LOGTHRA_DISCOVER_LOG_LEVELS+-E LOGTHRA_DISCOVER_LOG_LEVELS="$LOGTHRA_DISCOVER_LOG_LEVELS"} \
		    "$RECV" -D "$spool" "$@"
		INETD_PID=$LT_LAST_PID
		if wait_port "$INETD_PORT" "$INETD_PID" systemd-socket-activate \
		    "$T/inetd-$INETD_PORT.log" "Listening on"; then
			INETD_URL=http://127.0.0.1:$INETD_PORT
			export INETD_URL INETD_PORT
			return 0
		fi
		lt_stop_server "$INETD_PID"
		if grep -qs 'in use' "$T/inetd-$INETD_PORT.log"; then
			continue
		fi
		die "systemd-socket-activate did not start"
	done
	die "systemd-socket-activate could not get a free port"
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

# --- nginx + fcgiwrap -------------------------------------------------------

# lt_cgi_recv: sets LT_CGI_RECV to a logthra-recv that the CGI user can
# run: the one built, or a copy in $T/bin when the build tree is out of
# that user's reach (e.g. under /root).
lt_cgi_recv() {
	LT_CGI_RECV=$(lt_cgi_program "$RECV")
	LT_CGI_QUERY=$(lt_cgi_program "$QUERY")
}

# lt_cgi_program PATH: PATH, or a copy of it the CGI user can run.
lt_cgi_program() {
	local name=${1##*/}
	if ((LT_UID == 0)) && ! as_user "$LT_CGI_USER" test -x "$1"; then
		mkdir -p "$T/bin"
		cp "$1" "$T/bin/$name"
		chmod 755 "$T/bin" "$T/bin/$name"
		printf '%s\n' "$T/bin/$name"
	else
		printf '%s\n' "$1"
	fi
}

# start_fcgiwrap DIR: starts fcgiwrap as the CGI user, listening on
# DIR/fcgiwrap.sock, with the test's umask (what it runs inherits it).
# Exports FCGIWRAP_SOCK; sets FCGIWRAP_PID.
start_fcgiwrap() {
	need fcgiwrap fcgiwrap
	local dir=$1 i
	# fcgiwrap creates its socket as the CGI user; nginx's workers run
	# as the same user, so they may connect.
	mkdir -p "$dir"
	((LT_UID == 0)) && chown "$LT_CGI_USER:$LT_CGI_GROUP" "$dir"
	FCGIWRAP_SOCK=$dir/fcgiwrap.sock
	export FCGIWRAP_SOCK
	rm -f "$FCGIWRAP_SOCK"
	note "starting fcgiwrap on unix:$FCGIWRAP_SOCK"
	lt_user_prefix "$LT_CGI_USER"
	lt_spawn fcgiwrap "$T/fcgiwrap.log" \
	    ${LT_PRE[@]+"${LT_PRE[@]}"} fcgiwrap -c 2 -s "unix:$FCGIWRAP_SOCK"
	FCGIWRAP_PID=$LT_LAST_PID
	for ((i = 0; i < 100; i++)); do
		[[ -S "$FCGIWRAP_SOCK" ]] && break
		kill -0 "$FCGIWRAP_PID" 2>/dev/null || die "fcgiwrap exited during startup"
		sleep 0.1
	done
	[[ -S "$FCGIWRAP_SOCK" ]] || die "fcgiwrap did not create $FCGIWRAP_SOCK"
}

# start_nginx_fcgiwrap SPOOLDIR [NAME VALUE]...: nginx passes the push
# endpoints (and everything else, so that logthra-recv answers 404 and
# 405 itself) to fcgiwrap, which runs logthra-recv as a CGI program.
# Extra NAME VALUE pairs become fastcgi_param lines (settings such as
# LOGTHRA_MAX_BODY_SIZE).  NGINX_LOCATION_EXTRA, when set, holds more
# directives for the locations that reach logthra-recv (auth_basic, for
# example).  Exports NGINX_URL and NGINX_PORT.
start_nginx_fcgiwrap() {
	need_nginx
	local spool=$1 dir=$T/nginx recv=$RECV attempt i params=
	shift
	mkdir -p "$dir"
	chmod 755 "$dir"
	while (($# >= 2)); do
		params+="	fastcgi_param $1 $2;"$'\n'
		shift 2
	done
	if ((LT_UID == 0)); then
		# fcgiwrap and logthra-recv run as nobody: the spool is theirs.
		mkdir -p "$spool"
		chown -R "$LT_CGI_USER:$LT_CGI_GROUP" "$spool"
	fi
	lt_cgi_recv
	recv=$LT_CGI_RECV
	start_fcgiwrap "$dir/run"
	local sock=$FCGIWRAP_SOCK

	cat >"$dir/logthra-fastcgi.conf" <<EOF
${NGINX_LOCATION_EXTRA:-}
	include /etc/nginx/fastcgi_params;
	fastcgi_param SCRIPT_FILENAME $recv;
	fastcgi_param LOGTHRA_SPOOL $spool;
	fastcgi_param LOGTHRA_CONFIG $LOGTHRA_CONFIG;
$params	fastcgi_pass unix:$sock;
EOF
	# Loki's read paths go to logthra-query, as docs/recipes/nginx.md has
	# it; /ready, which probes the spool, stays logthra-recv's.
	sed "s|SCRIPT_FILENAME $recv;|SCRIPT_FILENAME $LT_CGI_QUERY;|" \
	    "$dir/logthra-fastcgi.conf" >"$dir/logthra-query-fastcgi.conf"
	printf '\tfastcgi_buffering off;\n' >>"$dir/logthra-query-fastcgi.conf"
	for attempt in 1 2 3; do
		NGINX_PORT=$(free_port)
		local user_line=
		((LT_UID == 0)) && user_line="user $LT_CGI_USER $LT_CGI_GROUP;"
		cat >"$dir/nginx.conf" <<EOF
# Generated by tests/integration/lib.sh
$user_line
daemon off;
master_process on;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log info;
events { worker_connections 64; }
http {
	access_log $dir/access.log;
	client_body_temp_path $dir/client_body;
	fastcgi_temp_path $dir/fastcgi;
	proxy_temp_path $dir/proxy;
	uwsgi_temp_path $dir/uwsgi;
	scgi_temp_path $dir/scgi;
	# Large enough that logthra-recv's own limit (413) is what is tested.
	client_max_body_size 64m;
	server {
		listen 127.0.0.1:$NGINX_PORT;
		server_name localhost;
		location ~ ^/(api/push|loki/api/v1/push)\$ {
			include $dir/logthra-fastcgi.conf;
		}
		location ~ ^/(loki/api/v1/(query_range|query|labels|label|label/[^/]+/values|series|index/stats|status/buildinfo))\$ {
			include $dir/logthra-query-fastcgi.conf;
		}
		location / {
			include $dir/logthra-fastcgi.conf;
		}
	}
}
EOF
		rm -f "$dir/nginx.pid"
		note "starting nginx on 127.0.0.1:$NGINX_PORT"
		lt_spawn "nginx:$NGINX_PORT" "$dir/stderr.log" \
		    nginx -p "$dir/" -e "$dir/error.log" -c "$dir/nginx.conf"
		NGINX_PID=$LT_LAST_PID
		LT_LOGS+=("nginx-error=$dir/error.log")
		if wait_port "$NGINX_PORT" "$NGINX_PID" nginx "$dir/nginx.pid"; then
			NGINX_URL=http://127.0.0.1:$NGINX_PORT
			export NGINX_URL NGINX_PORT
			return 0
		fi
		lt_stop_server "$NGINX_PID"
		if grep -qs 'in use' "$dir/error.log" "$dir/stderr.log"; then
			continue
		fi
		die "nginx did not start"
	done
	die "nginx could not get a free port"
}

# --- HTTP -------------------------------------------------------------------

# http_req [CURL-ARGS...] URL: one request; sets HTTP_STATUS (the status
# curl received, 000 when none), HTTP_BODY, HTTP_HEADERS (the response
# headers) and HTTP_CURL_RC (curl's exit status; a send failure after the
# answer arrived still counts the answer).
http_req() {
	HTTP_CURL_RC=0
	HTTP_STATUS=$(curl -sS --max-time 60 -o "$T/http.body" \
	    -D "$T/http.headers" -w '%{http_code}' "$@" 2>"$T/http.err") ||
	    HTTP_CURL_RC=$?
	[[ -n "$HTTP_STATUS" ]] || HTTP_STATUS=000
	HTTP_BODY=$(cat "$T/http.body" 2>/dev/null || true)
	HTTP_HEADERS=$(tr -d '\r' <"$T/http.headers" 2>/dev/null || true)
	if ((HTTP_CURL_RC != 0)); then
		note "curl exited with $HTTP_CURL_RC: $(grep -v '^[*<>{}]' "$T/http.err" | tail -n 3)"
	fi
	return 0
}

# push URL FILE [CURL-ARGS...]: POSTs a JSON file.
push() {
	local url=$1 file=$2
	shift 2
	http_req -H 'Content-Type: application/json' --data-binary "@$file" \
	    "$@" "$url"
}

# check_status EXPECTED WHAT
check_status() {
	if [[ "$HTTP_STATUS" == "$1" ]]; then
		ok "$2 -> $1"
	else
		fail "$2 -> $1"
		lt_detail "actual status" "$HTTP_STATUS"
		[[ -z "$HTTP_BODY" ]] || lt_detail body "$HTTP_BODY"
	fi
}

# raw_http PORT REQUEST-FILE: sends bytes over a fresh connection and
# prints the status code of the answer (bash's /dev/tcp, no other tools).
raw_http() {
	local port=$1 file=$2 line
	exec 3<>"/dev/tcp/127.0.0.1/$port"
	cat "$file" >&3
	line=
	IFS= read -r -t 30 line <&3 || true
	exec 3<&-
	line=${line%$'\r'}
	set -- $line
	printf '%s\n' "${2:-none}"
}

# --- Loki protobuf pushes ------------------------------------------------------

# Protobuf and snappy written by hand, for small pushes without protoc or
# node: every value below is a string of \xHH escapes, one per byte,
# that printf %b writes out.

# lt_pb_varint N: N (0 or more) as a protobuf varint.
lt_pb_varint() {
	local n=$1 out= b
	while ((n >= 128)); do
		printf -v b '\\x%02x' $(((n & 127) | 128))
		out+=$b
		n=$((n >> 7))
	done
	printf -v b '\\x%02x' "$n"
	printf '%s' "$out$b"
}

# lt_pb_text STRING: the bytes of STRING.
lt_pb_text() {
	local s=$1 out= b c i
	for ((i = 0; i < ${#s}; i++)); do
		printf -v c '%d' "'${s:i:1}"
		printf -v b '\\x%02x' $((c & 255))
		out+=$b
	done
	printf '%s' "$out"
}

# lt_pb_len FIELD BYTES: a length-delimited field holding BYTES (escaped).
lt_pb_len() {
	printf '%s%s%s' "$(lt_pb_varint $(($1 << 3 | 2)))" \
	    "$(lt_pb_varint $((${#2} / 4)))" "$2"
}

# lt_snappy BYTES: BYTES in snappy's block format, as literals only: the
# length, then literals of at most 60 bytes, each after a tag byte of
# (length - 1) << 2.
lt_snappy() {
	local s=$1 out i chunk
	out=$(lt_pb_varint $((${#s} / 4)))
	for ((i = 0; i < ${#s}; i += 240)); do
		chunk=${s:i:240}
		out+=$(printf '\\x%02x' $(((${#chunk} / 4 - 1) << 2)))$chunk
	done
	printf '%s' "$out"
}

# loki_proto_push FILE LABELS SECONDS LINE...: writes to FILE a Loki
# protobuf push (logproto.PushRequest, snappy-compressed) of one stream
# with label text LABELS, such as {app="x"}, and one entry per LINE;
# entry i (from 1) has the timestamp SECONDS plus i nanoseconds.
loki_proto_push() {
	local file=$1 labels=$2 secs=$3 entries= entry stream ts line i=0
	shift 3
	for line in "$@"; do
		i=$((i + 1))
		# Timestamp { seconds = 1; nanos = 2; }
		ts="\\x08$(lt_pb_varint "$secs")\\x10$(lt_pb_varint "$i")"
		# EntryAdapter { timestamp = 1; line = 2; }
		entry=$(lt_pb_len 1 "$ts")$(lt_pb_len 2 "$(lt_pb_text "$line")")
		entries+=$(lt_pb_len 2 "$entry")
	done
	# StreamAdapter { labels = 1; entries = 2; } in PushRequest { streams = 1; }
	stream=$(lt_pb_len 1 "$(lt_pb_text "$labels")")$entries
	printf '%b' "$(lt_snappy "$(lt_pb_len 1 "$stream")")" >"$file"
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
