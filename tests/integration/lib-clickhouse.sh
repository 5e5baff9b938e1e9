# ClickHouse for Logthra's integration tests, sourced by lib.sh: Debian's
# clickhouse-server (start_clickhouse, ch_query), a cluster of them with
# ZooKeeper (start_clickhouse_cluster, chc_query), a current ClickHouse
# through chdb (start_chdb), and the example queries of README.md and
# logthra(7).  Each server runs on free loopback ports with its data in
# the test's temporary directory.

# Each test names what it uses up front, so that a missing program is
# reported before anything starts.
need_clickhouse() {
	if [[ "${LT_CLICKHOUSE:-}" == chdb ]]; then
		need_chdb
	else
		need clickhouse-server clickhouse-server curl curl
	fi
}

# --- ClickHouse -----------------------------------------------------------

# LT_CH_COMPRESSION=zstd or zstd:LEVEL: the server compresses every part
# with ZSTD (at that level) rather than LZ4, the <compression> section of
# its configuration (18.16 has no per-column codecs), for the benchmarks
# that measure what an operator's setting does (bench/storage.sh).
# Sets LT_CH_COMPRESSION_ARGS, the server's extra options.
lt_ch_compression_args() {
	LT_CH_COMPRESSION_ARGS=()
	case "${LT_CH_COMPRESSION:-}" in
	"") ;;
	zstd) LT_CH_COMPRESSION_ARGS=(--compression.case.method=zstd) ;;
	zstd:[0-9]*) LT_CH_COMPRESSION_ARGS=(--compression.case.method=zstd
	    --compression.case.level="${LT_CH_COMPRESSION#zstd:}") ;;
	*) die "LT_CH_COMPRESSION=$LT_CH_COMPRESSION: zstd or zstd:LEVEL" ;;
	esac
}

# Starts Debian's clickhouse-server with its data in the temporary
# directory, on free loopback ports.  Exports CH_URL.
start_clickhouse() {
	if [[ "${LT_CLICKHOUSE:-}" == chdb ]]; then
		start_chdb
		return
	fi
	need_clickhouse
	local dir=$T/clickhouse attempt i
	lt_ch_compression_args
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
		    --logger.log="$dir/log.txt" --logger.errorlog="$dir/err.txt" \
		    ${LT_CH_COMPRESSION_ARGS[@]+"${LT_CH_COMPRESSION_ARGS[@]}"}
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
	lt_ch_compression_args
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
			    ${LT_CH_COMPRESSION_ARGS[@]+"${LT_CH_COMPRESSION_ARGS[@]}"} \
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
		printf '<?xml version="1.0"?>\n<!-- Generated by tests/integration/lib-clickhouse.sh -->\n<yandex>\n'
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
