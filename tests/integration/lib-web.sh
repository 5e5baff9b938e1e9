# Web servers and HTTP for Logthra's integration tests, sourced by lib.sh:
# logthra-recv per connection under systemd-socket-activate
# (start_inetd), nginx with fcgiwrap running logthra-recv and
# logthra-query as CGI programs (start_nginx_fcgiwrap), requests with curl
# or raw bytes (http_req, push, raw_http, check_status), and Loki
# protobuf pushes written by hand (loki_proto_push).  The recipes' tests
# (nginx.sh, apache.sh, lighttpd.sh, openbsd-inetd.sh) start their servers
# themselves, with start_server (lib.sh) and recipe-lib.sh.

# Each test names what it uses up front, so that a missing program is
# reported before anything starts.
need_nginx() { need nginx nginx-light fcgiwrap fcgiwrap curl curl; }
need_inetd() { need systemd-socket-activate systemd curl curl; }

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
# Generated by tests/integration/lib-web.sh
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
