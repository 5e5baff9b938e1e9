#!/bin/bash
# Authentication of pushes (logthra-credentials(5)) with real servers:
#  - tokens made by `logthra-recv --new-token`, their lines appended to a
#    credentials file of mode 0640, and entries with "-" for REMOTE_USER;
#  - inetd (systemd-socket-activate): Bearer and Basic accepted; a wrong,
#    missing or malformed token 401 with WWW-Authenticate, a tenant not
#    granted 403, "*" for any tenant; requests with different
#    credentials over one keep-alive connection, each judged on its own;
#    a token revoked between two requests of one connection;
#  - nginx + fcgiwrap (CGI): the same, HTTP_AUTHORIZATION passed by nginx,
#    and REMOTE_USER ignored while trust_remote_user is off;
#  - nginx with auth_basic and trust_remote_user = yes: nginx's user
#    mapped to its entry's tenants, 401 from nginx itself without a
#    password; inetd still checks the Authorization header;
#  - a group-writable or missing credentials file: 500 for every push,
#    the reason in the receiver's log;
# every refusal with its status and message and no spool file, no token
# in any log or spool file; then logthra-flush, and the rows in
# ClickHouse under the granted tenants only.
. "$(dirname "$0")/lib.sh"

need_clickhouse
need_inetd
need_nginx
need openssl openssl sha256sum coreutils
need_built

start_clickhouse

SPOOL_I=$T/spool-inetd  # inetd
SPOOL_N=$T/spool-nginx  # CGI, tokens
SPOOL_R=$T/spool-remote # CGI, REMOTE_USER
mkdir -p "$SPOOL_I" "$SPOOL_N" "$SPOOL_R"
CRED=$T/credentials
CONF=$T/auth.conf
PUSH=/loki/api/v1/push

printf 'credentials_file = %s\n' "$CRED" >"$CONF"
chmod 644 "$CONF"
export LOGTHRA_CONFIG=$CONF

# The CGI program runs as nobody: the file's group lets it read.
new_cred_file() {
	: >"$1"
	chmod 0640 "$1"
	((LT_UID != 0)) || chown "root:$LT_CGI_GROUP" "$1"
}
new_cred_file "$CRED"

# --- tokens -------------------------------------------------------------------

note "tokens from logthra-recv --new-token"
# new_token NAME TENANTS: makes a token, checks the line against it, and
# appends the line to the credentials file.  Sets TOKEN.
new_token() {
	local name tenants secret
	run "$RECV" --new-token "$1" "$2"
	check_rc 0 "--new-token $1 $2"
	TOKEN=$(grep -oE 'lt_[A-Za-z0-9_-]{43}' <<<"$RUN_ERR" || true)
	check_eq 46 "${#TOKEN}" "$1: a token of 46 characters on stderr"
	read -r name secret tenants <<<"$RUN_OUT"
	check_eq "$1 $2" "$name $tenants" "$1: the line names the entry and its tenants"
	check_eq "sha256:$(printf '%s' "$TOKEN" | sha256sum | cut -d' ' -f1)" \
	    "$secret" "$1: the secret is the token's SHA-256"
	check_not_contains "$TOKEN" "$RUN_OUT" "$1: the token is not in the line"
	printf '%s\n' "$RUN_OUT" >>"$CRED"
}
new_token web1 acme,beta
TOK_WEB1=$TOKEN
new_token ops '*'
TOK_OPS=$TOKEN
new_token k8s gamma
TOK_K8S=$TOKEN
# A well-formed token that the file does not know.
run "$RECV" --new-token ghost acme
check_rc 0 "--new-token ghost acme (not appended)"
TOK_GHOST=$(grep -oE 'lt_[A-Za-z0-9_-]{43}' <<<"$RUN_ERR" || true)
check_eq 46 "${#TOK_GHOST}" "ghost: a token"
TOKENS=("$TOK_WEB1" "$TOK_OPS" "$TOK_K8S" "$TOK_GHOST")
check_eq 4 "$(printf '%s\n' "${TOKENS[@]}" | sort -u | wc -l)" "four different tokens"

run "$RECV" --new-token web1 acme
check_rc 1 "--new-token for a name already in the file"
check_contains "\"web1\" is in $CRED already" "$RUN_ERR" "the message names the entry"

{
	printf '# REMOTE_USER only: nginx checks the password\n'
	printf 'alice\t-\tacme\n'
	printf 'bob - beta   # a comment\n'
} >>"$CRED"
check_eq 640 "$(stat -c %a "$CRED")" "the credentials file still has mode 0640"
check_eq 6 "$(grep -c . "$CRED")" "five entries and a comment"

# --- helpers ------------------------------------------------------------------

# pushto URL TENANT [CURL-ARGS...]: the seed push to URL's push path.
pushto() {
	local url=$1 tenant=$2
	shift 2
	push "$url$PUSH" "$SEED" -H "X-Scope-OrgID: $tenant" "$@"
}

# accept SPOOL URL TENANT WHAT [CURL-ARGS...]: 204 and one more file in
# SPOOL/tenants/TENANT/ready.
accept() {
	local spool=$1 url=$2 tenant=$3 what=$4 before
	shift 4
	before=$(count_files "$spool/tenants/$tenant/ready")
	pushto "$url" "$tenant" "$@"
	check_status 204 "$what"
	check_eq $((before + 1)) "$(count_files "$spool/tenants/$tenant/ready")" \
	    "$what: one more file in tenants/$tenant/ready"
}

# stored SPOOL: the files under SPOOL/tenants/*/ready and tmp.
stored() {
	find "$1/tenants" -mindepth 3 -maxdepth 3 -type f \
	    \( -path '*/ready/*' -o -path '*/tmp/*' \) 2>/dev/null | wc -l
}

# refuse SPOOL URL TENANT STATUS MESSAGE WHAT [CURL-ARGS...]: STATUS with
# MESSAGE in the body, and no file stored in any tenant.
refuse() {
	local spool=$1 url=$2 tenant=$3 status=$4 msg=$5 what=$6 before
	shift 6
	before=$(stored "$spool")
	pushto "$url" "$tenant" "$@"
	check_status "$status" "$what"
	check_contains "$msg" "$HTTP_BODY" "$what: the message"
	check_eq "$before" "$(stored "$spool")" "$what: nothing stored"
}

CHALLENGE='WWW-Authenticate: Bearer realm="logthra", Basic realm="logthra"'
MSG_NONE='credentials required: send Authorization: Bearer TOKEN (or Basic)'
MSG_BAD='invalid credentials'
MSG_500="credentials_file could not be loaded; see the receiver's log"

# token_checks URL SPOOL: what inetd and CGI answer alike.
token_checks() {
	local url=$1 spool=$2 before

	accept "$spool" "$url" acme "web1, Bearer, tenant acme" \
	    -H "Authorization: Bearer $TOK_WEB1"
	accept "$spool" "$url" beta "web1, Basic (curl -u), tenant beta" \
	    -u "web1:$TOK_WEB1"
	accept "$spool" "$url" zeta "ops (\"*\"), Bearer, tenant zeta" \
	    -H "Authorization: Bearer $TOK_OPS"
	accept "$spool" "$url" gamma "k8s, scheme and spacing as the RFC allows" \
	    -H "Authorization: bEaReR   $TOK_K8S  "

	refuse "$spool" "$url" acme 401 "$MSG_BAD" "a token the file does not know" \
	    -H "Authorization: Bearer $TOK_GHOST"
	check_contains "$CHALLENGE" "$HTTP_HEADERS" "401 carries WWW-Authenticate"
	refuse "$spool" "$url" acme 401 "$MSG_NONE" "no credentials"
	check_contains "$CHALLENGE" "$HTTP_HEADERS" "401 without credentials carries WWW-Authenticate"
	refuse "$spool" "$url" acme 401 "$MSG_BAD" "Basic with the wrong token" \
	    -u "web1:$TOK_GHOST"
	refuse "$spool" "$url" acme 401 "$MSG_BAD" "Basic with web1's token under another name" \
	    -u "k8s:$TOK_WEB1"
	refuse "$spool" "$url" acme 401 "$MSG_BAD" "Basic for an entry whose secret is \"-\"" \
	    -u 'alice:-'
	refuse "$spool" "$url" acme 401 "$MSG_BAD" "a token one character short" \
	    -H "Authorization: Bearer ${TOK_WEB1%?}"
	refuse "$spool" "$url" acme 401 "$MSG_BAD" "an unknown scheme" \
	    -H "Authorization: Token $TOK_WEB1"
	refuse "$spool" "$url" acme 401 "$MSG_BAD" "Basic that is not base64" \
	    -H 'Authorization: Basic !!!notbase64'

	refuse "$spool" "$url" secret 403 '"web1" may not push to tenant "secret"' \
	    "web1 for a tenant it is not granted" -H "Authorization: Bearer $TOK_WEB1"
	check_not_contains "WWW-Authenticate" "$HTTP_HEADERS" "403 carries no WWW-Authenticate"
	refuse "$spool" "$url" acme 403 '"k8s" may not push to tenant "acme"' \
	    "k8s (Basic) for acme" -u "k8s:$TOK_K8S"
	check_eq 0 "$(find "$spool/tenants" -path '*/secret*' | wc -l)" \
	    "no directory for the refused tenant \"secret\""

	# Without a tenant no entry grants anything, not even "*"; and the
	# credentials are asked for before the tenant.
	before=$(stored "$spool")
	push "$url$PUSH" "$SEED" -H "Authorization: Bearer $TOK_OPS"
	check_status 401 "ops (\"*\") without a tenant"
	check_contains "no tenant: send an X-Scope-OrgID header" "$HTTP_BODY" \
	    "the message says the tenant is missing"
	push "$url$PUSH" "$SEED"
	check_status 401 "neither credentials nor a tenant"
	check_contains "$MSG_NONE" "$HTTP_BODY" "the message asks for credentials"
	check_eq "$before" "$(stored "$spool")" "no tenant: nothing stored"
}

# --- inetd ----------------------------------------------------------------------

note "inetd"
# -v: refusals are logged too, so that the log has something to hide.
start_inetd "$SPOOL_I" -v
token_checks "$INETD_URL" "$SPOOL_I"

note "inetd: keep-alive connections, each request judged on its own"
# A request refused before its body is read ends the connection (its
# body is never read); the next one opens a new connection.
ka_args=()
ka() { # ka TENANT [CURL-ARGS...]
	local tenant=$1
	shift
	((${#ka_args[@]} == 0)) || ka_args+=(--next)
	ka_args+=(-o /dev/null -w '%{http_code} %{num_connects}\n'
	    -H 'Content-Type: application/json' -H "X-Scope-OrgID: $tenant"
	    --data-binary "@$SEED" "$@" "$INETD_URL$PUSH")
}
# One connection, four credentials: a grant does not carry over.
ka ka-acme -H "Authorization: Bearer $TOK_OPS"
ka beta -u "web1:$TOK_WEB1"
ka gamma -H "Authorization: Bearer $TOK_K8S"
ka gamma -H "Authorization: Bearer $TOK_WEB1"
# Each on a new connection: no credentials, then ops' token under
# web1's name.
ka ka-beta
ka ka-beta -u "web1:$TOK_OPS"
# A new connection again: a grant, then a refusal.
ka ka-beta -u "ops:$TOK_OPS"
ka acme -H "Authorization: Bearer $TOK_K8S"
before=$(stored "$SPOOL_I")
out=$(curl -sS --max-time 60 "${ka_args[@]}" 2>&1) || true
check_eq "204 1
204 0
204 0
403 0
401 1
401 1
204 1
403 0" "$out" "statuses and connections (curl's num_connects)"
check_eq $((before + 4)) "$(stored "$SPOOL_I")" "four of the eight stored"
check_eq "1 1 2 2 1" "$(count_files "$SPOOL_I/tenants/ka-acme/ready") \
$(count_files "$SPOOL_I/tenants/ka-beta/ready") \
$(count_files "$SPOOL_I/tenants/beta/ready") \
$(count_files "$SPOOL_I/tenants/gamma/ready") \
$(count_files "$SPOOL_I/tenants/acme/ready")" \
    "files for ka-acme, ka-beta, beta, gamma, acme: 1, 1, 2, 2, 1"

# --- nginx + fcgiwrap, tokens ---------------------------------------------------

note "nginx + fcgiwrap: tokens"
start_nginx_fcgiwrap "$SPOOL_N"
NGINX_TOKENS_URL=$NGINX_URL
token_checks "$NGINX_URL" "$SPOOL_N"
# nginx passes the Basic user as REMOTE_USER; without trust_remote_user
# it proves nothing, and the password is checked as a token.
refuse "$SPOOL_N" "$NGINX_URL" acme 401 "$MSG_BAD" \
    "Basic for alice (REMOTE_USER alice) while trust_remote_user is off" \
    -u 'alice:anything'

# --- a credentials file that cannot be used --------------------------------------

note "a credentials file that cannot be used: 500 for every push"
INETD_LOG=$T/inetd-$INETD_PORT.log
# fcgiwrap (without -f) passes on the CGI program's stderr as its own.
CGI_LOG=$T/fcgiwrap.log
# unusable TEXT WHAT: every push over both transports gets 500, and TEXT
# is in both receivers' logs.
unusable() {
	local text=$1 what=$2 url spool
	for url in "$INETD_URL" "$NGINX_TOKENS_URL"; do
		spool=$SPOOL_I
		[[ "$url" == "$INETD_URL" ]] || spool=$SPOOL_N
		refuse "$spool" "$url" acme 500 "$MSG_500" "$what, $url, web1's token" \
		    -H "Authorization: Bearer $TOK_WEB1"
		refuse "$spool" "$url" acme 500 "$MSG_500" "$what, $url, no credentials"
	done
	check_contains "logthra-recv: error: $text" "$(cat "$INETD_LOG")" \
	    "$what: the reason in logthra-recv's stderr (inetd)"
	check_contains "logthra-recv: error: $text" "$(cat "$CGI_LOG")" \
	    "$what: the reason in logthra-recv's stderr (CGI, through fcgiwrap)"
}
chmod 0660 "$CRED"
unusable "credentials file \"$CRED\" is writable by its group (mode 0660); it must not be: chmod go-w it" \
    "group-writable"
chmod 0640 "$CRED"
mv "$CRED" "$CRED.away"
unusable "could not open credentials file \"$CRED\": No such file or directory" \
    "missing"
mv "$CRED.away" "$CRED"
accept "$SPOOL_I" "$INETD_URL" acme "inetd: the file back, the next push" \
    -H "Authorization: Bearer $TOK_WEB1"
accept "$SPOOL_N" "$NGINX_TOKENS_URL" acme "CGI: the file back, the next push" \
    -H "Authorization: Bearer $TOK_WEB1"
lt_stop_server "$NGINX_PID"
lt_stop_server "$FCGIWRAP_PID"
# The next start_nginx_fcgiwrap writes a new fcgiwrap.log.
mv "$CGI_LOG" "$T/fcgiwrap-tokens.log"

# --- nginx auth_basic + trust_remote_user -----------------------------------------

note "nginx auth_basic and trust_remote_user = yes"
PW_ALICE=alice-$RANDOM$RANDOM
PW_BOB=bob-$RANDOM$RANDOM
PW_CAROL=carol-$RANDOM$RANDOM
# Apache's MD5 (nginx's own code) and SHA-512 and SHA-256 crypt (glibc's
# crypt(3), which nginx uses for the rest).
{
	printf 'alice:%s\n' "$(openssl passwd -apr1 "$PW_ALICE")"
	printf 'bob:%s\n' "$(openssl passwd -6 "$PW_BOB")"
	printf 'carol:%s\n' "$(openssl passwd -5 "$PW_CAROL")"
} >"$T/htpasswd"
chmod 644 "$T/htpasswd"
printf 'trust_remote_user = yes\n' >>"$CONF"
NGINX_LOCATION_EXTRA="	auth_basic \"logthra\";
	auth_basic_user_file $T/htpasswd;"
start_nginx_fcgiwrap "$SPOOL_R"
unset NGINX_LOCATION_EXTRA
U=$NGINX_URL
accept "$SPOOL_R" "$U" acme "alice (apr1) for acme" -u "alice:$PW_ALICE"
accept "$SPOOL_R" "$U" beta "bob (SHA-512 crypt) for beta" -u "bob:$PW_BOB"
refuse "$SPOOL_R" "$U" beta 403 '"alice" may not push to tenant "beta"' \
    "alice for beta" -u "alice:$PW_ALICE"
refuse "$SPOOL_R" "$U" acme 403 \
    '"carol" has no entry in the credentials file and may not push to tenant "acme"' \
    "carol (SHA-256 crypt), who has no entry" -u "carol:$PW_CAROL"
check_not_contains "WWW-Authenticate: Bearer" "$HTTP_HEADERS" \
    "no Bearer challenge in REMOTE_USER mode"
refuse "$SPOOL_R" "$U" acme 401 "401 Authorization Required" \
    "no credentials: nginx answers"
check_contains 'WWW-Authenticate: Basic realm="logthra"' "$HTTP_HEADERS" \
    "nginx's challenge"
check_not_contains "credentials required" "$HTTP_BODY" \
    "logthra-recv did not run"
refuse "$SPOOL_R" "$U" acme 401 "401 Authorization Required" \
    "alice with a wrong password: nginx answers" -u "alice:$PW_BOB"
refuse "$SPOOL_R" "$U" acme 401 "401 Authorization Required" \
    "web1's Bearer token: nginx wants Basic" -H "Authorization: Bearer $TOK_WEB1"

note "inetd with trust_remote_user = yes still checks the header"
refuse "$SPOOL_I" "$INETD_URL" acme 401 "$MSG_BAD" "inetd: alice's password" \
    -u "alice:$PW_ALICE" -H 'Remote-User: alice'
refuse "$SPOOL_I" "$INETD_URL" acme 401 "$MSG_NONE" "inetd: a Remote-User header alone" \
    -H 'Remote-User: alice'
accept "$SPOOL_I" "$INETD_URL" beta "inetd: web1's token" \
    -H "Authorization: Bearer $TOK_WEB1"

# --- revoked on an open connection ------------------------------------------------

note "a token revoked between two requests of one inetd connection"
# ka_send TENANT TOKEN: one request over fd 3; sets KA_STATUS.
ka_send() {
	local line len=0
	{
		printf 'POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' "$PUSH"
		printf 'X-Scope-OrgID: %s\r\nAuthorization: Bearer %s\r\n' "$1" "$2"
		printf 'Content-Length: %d\r\n\r\n' "$(stat -c %s "$SEED")"
		cat "$SEED"
	} >&3
	KA_STATUS=none
	IFS= read -r -t 30 line <&3 || return 0
	line=${line%$'\r'}
	KA_STATUS=${line#HTTP/1.1 }
	KA_STATUS=${KA_STATUS%% *}
	while IFS= read -r -t 30 line <&3; do
		line=${line%$'\r'}
		[[ -n "$line" ]] || break
		if [[ "${line,,}" == content-length:* ]]; then
			len=${line#*:}
			len=${len// /}
		fi
	done
	((len == 0)) || read -r -N "$len" -t 30 line <&3 || true
}
exec 3<>"/dev/tcp/127.0.0.1/$INETD_PORT"
ka_send revoke "$TOK_OPS"
check_eq 204 "$KA_STATUS" "ops before the revocation -> 204"
# Replaced whole, as logthra-credentials(5) says.
new_cred_file "$CRED.new"
grep -v '^ops ' "$CRED" >"$CRED.new"
mv "$CRED.new" "$CRED"
ka_send revoke "$TOK_OPS"
check_eq 401 "$KA_STATUS" "ops after the revocation, same connection -> 401"
exec 3<&-
refuse "$SPOOL_I" "$INETD_URL" revoke 401 "$MSG_BAD" "ops after the revocation, a new connection" \
    -H "Authorization: Bearer $TOK_OPS"
check_eq 1 "$(count_files "$SPOOL_I/tenants/revoke/ready")" \
    "one push stored for tenant revoke"

# --- no token anywhere --------------------------------------------------------------

note "no token in any log or spool file"
LOGS=("$T"/inetd-*.log "$T"/nginx/error.log "$T"/nginx/access.log \
    "$T"/nginx/stderr.log "$T"/fcgiwrap-tokens.log "$T"/fcgiwrap.log)
check_contains '"web1" may not push to tenant "secret"' "$(cat "$INETD_LOG")" \
    "the inetd log (-v) names the entry of a refused client"
check_contains 'answered 401: invalid credentials' "$(cat "$INETD_LOG")" \
    "the inetd log has the refusals of bad tokens"
declare -A SECRETS=([web1]=$TOK_WEB1 [ops]=$TOK_OPS [k8s]=$TOK_K8S
    [ghost]=$TOK_GHOST [alice]=$PW_ALICE [bob]=$PW_BOB [carol]=$PW_CAROL)
for who in web1 ops k8s ghost alice bob carol; do
	hits=$(grep -rlF -e "${SECRETS[$who]}" "${LOGS[@]}" "$SPOOL_I" "$SPOOL_N" \
	    "$SPOOL_R" 2>/dev/null || true)
	check_eq "" "$hits" "$who's token or password: in no log and no spool file"
done

# --- ClickHouse -------------------------------------------------------------------

note "flush, and the rows in ClickHouse"
for spool in "$SPOOL_I" "$SPOOL_N" "$SPOOL_R"; do
	run "$FLUSH" -D "$spool" -U "$CH_URL"
	check_rc 0 "logthra-flush -D ${spool##*/}"
	check_eq 0 "$(spool_files "$spool")" "${spool##*/} is empty"
done
# Two rows a push.  inetd: acme 2 (web1, the file back), beta 3 (web1
# Basic, keep-alive, web1 under trust_remote_user), gamma 2 (k8s,
# keep-alive), zeta, ka-acme, ka-beta, revoke; nginx: acme 2 (web1, the
# file back), beta, gamma, zeta; REMOTE_USER: acme (alice), beta (bob).
check_eq "acme	10
beta	10
gamma	6
ka-acme	2
ka-beta	2
revoke	2
zeta	4" "$(ch_query "SELECT tenant_id, count() FROM logs.log
    GROUP BY tenant_id ORDER BY tenant_id FORMAT TSV")" \
    "rows per tenant: the granted ones only"

finish
