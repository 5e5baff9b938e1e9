#!/bin/bash
# GET /ready on logthra-recv under inetd (systemd-socket-activate) and CGI
# (nginx + fcgiwrap), as Loki's: 200 "ready" while the spool can take a
# push, 503 with the reason when it cannot (a spool the receiver may not
# write, one that is missing, one that is a file, the free-space reserve
# not met), 405 for other methods; no tenant, no credentials.
. "$(dirname "$0")/lib.sh"

need_nginx
need_inetd
need_built

SPOOL=$T/spool
mkdir -p "$SPOOL"
# Credentials are required for pushes; /ready asks for none.
: >"$T/credentials"
chmod 644 "$T/credentials"
CONF=$T/logthra.conf
conf() {
	printf 'dedup_window = 0\ndiscover_log_levels = no\ncredentials_file = %s\n%s\n' \
	    "$T/credentials" "${1:-}" >"$CONF"
	chmod 644 "$CONF"
}
conf
export LOGTHRA_CONFIG=$CONF

# The receiver runs as the CGI user under nginx when we are root (lib.sh);
# under inetd it runs as whoever runs the test, so that one gets a spool
# of its own to take away.
start_nginx_fcgiwrap "$SPOOL"
ISPOOL=$T/ispool
mkdir -p "$ISPOOL"
start_inetd "$ISPOOL"

# head_bytes PORT: the bytes of the answer to HEAD /ready, whole, then
# END (so that its last line ends survive $(...)).
head_bytes() {
	exec 3<>"/dev/tcp/127.0.0.1/$1"
	printf 'HEAD /ready HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' >&3
	timeout 30 cat <&3 | tr -d '\0'
	exec 3<&-
	printf END
}

# ready_is URL STATUS BODY-PATTERN WHAT
ready_is() {
	http_req "$1/ready"
	check_status "$2" "$4"
	check_match "$3" "$HTTP_BODY" "$4: the body"
}

for url in "$NGINX_URL" "$INETD_URL"; do
	note "$url: a spool that can take a push"
	ready_is "$url" 200 '^ready$' "GET /ready"
	check_contains "Content-Length: 6" "$HTTP_HEADERS" "the body is \"ready\\n\""
	http_req -I "$url/ready"
	check_status 200 "HEAD /ready"
	check_contains "Content-Length: 6" "$HTTP_HEADERS" "HEAD /ready: GET's length"
	# What came over the wire: the head, nothing after it.
	check_match $'^HTTP/1.1 200 OK\r\n.*\r\n\r\nEND$' "$(head_bytes "${url##*:}")" \
	    "HEAD /ready has no body"
	http_req -X POST --data-binary x "$url/ready"
	check_status 405 "POST /ready"
	check_contains "Allow: GET, HEAD" "$HTTP_HEADERS" "405 says which methods"
done
check_eq 0 "$(find "$SPOOL" "$ISPOOL" -type f | wc -l)" \
    "the probes left no file behind"

note "inetd: /ready keeps the connection open"
check_eq 200200 "$(curl -sv --max-time 30 -o /dev/null -o /dev/null \
    -w '%{http_code}' "$INETD_URL/ready" "$INETD_URL/ready" 2>"$T/two.err")" \
    "two probes on one connection"
check_contains "Re-using existing connection" "$(cat "$T/two.err")" \
    "curl reused the connection"

note "CGI: a spool its user may not write"
chmod 0555 "$SPOOL"
if as_user "$LT_CGI_USER" test -w "$SPOOL"; then
	fail "chmod 0555 did not take the CGI user's write permission"
else
	ready_is "$NGINX_URL" 503 \
	    "^not ready: spool directory \"$SPOOL\" is not writable: Permission denied$" \
	    "CGI, spool not writable"
	check_contains "Retry-After: 30" "$HTTP_HEADERS" "503 says when to look again"
fi
chmod 2770 "$SPOOL"
ready_is "$NGINX_URL" 200 '^ready$' "CGI, writable again"
mkdir -p "$SPOOL/tenants"
((LT_UID != 0)) || chown "$LT_CGI_USER:$LT_CGI_GROUP" "$SPOOL/tenants"
chmod 0555 "$SPOOL/tenants"
ready_is "$NGINX_URL" 503 \
    "^not ready: spool directory \"$SPOOL/tenants\" is not writable: Permission denied$" \
    "CGI, tenants/ not writable"
chmod 0770 "$SPOOL/tenants"

note "inetd: a spool that is missing, or a file"
rm -rf "$ISPOOL"
ready_is "$INETD_URL" 200 '^ready$' \
    "inetd, a missing spool its parent lets a push create"
start_inetd "$T/no-such-dir/spool"
ready_is "$INETD_URL" 503 \
    "^not ready: spool directory \"$T/no-such-dir/spool\" does not exist$" \
    "inetd, spool and its parent missing"
: >"$T/spool-file"
start_inetd "$T/spool-file"
ready_is "$INETD_URL" 503 "^not ready: spool \"$T/spool-file\" is not a directory$" \
    "inetd, spool is a regular file"
if ((LT_UID != 0)); then
	mkdir -p "$T/ro"
	chmod 0555 "$T/ro"
	start_inetd "$T/ro"
	ready_is "$INETD_URL" 503 "is not writable: Permission denied$" \
	    "inetd, spool not writable"
	chmod 0755 "$T/ro"
fi

note "the free-space reserve (min_free_space) not met"
mkdir -p "$ISPOOL"
start_inetd "$ISPOOL"
ready_is "$INETD_URL" 200 '^ready$' "inetd, a spool again"
conf "min_free_space = 1000000GiB"
for url in "$NGINX_URL" "$INETD_URL"; do
	ready_is "$url" 503 \
	    'bytes free, under the reserve of 1073741824000000 \(min_free_space\)$' \
	    "$url: reserve not met"
done
# A file system without an inode limit (btrfs) has no inode reserve.
if [[ "$(stat -f -c %c "$SPOOL")" != 0 ]]; then
	conf "min_free_inodes = 1000000000000"
	ready_is "$NGINX_URL" 503 'under the reserve of 1000000000000 \(min_free_inodes\)$' \
	    "CGI: inode reserve not met"
fi

finish
