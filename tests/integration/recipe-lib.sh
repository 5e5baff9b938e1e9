# What the tests of docs/recipes/ share (nginx.sh, apache.sh, lighttpd.sh,
# openbsd-inetd.sh); sourced after lib.sh.  Each test takes the
# configuration snippet from its recipe, points its Debian paths at the
# temporary directory, starts the real server with it, and runs
# recipe_checks against it.
#
# The setup mirrors the recipes: the spool is set-group-ID and open to
# its group only (2770), the configuration and credentials files are
# readable by that group only (0640), the server runs with the umask
# Debian gives it (0022: systemd's default, and what openbsd-inetd sets),
# and, when the test runs as root, the server hands requests to the
# unprivileged CGI user of lib.sh (nobody), whose group stands for the
# group logthra.  recipe_checks then finds the spool its group's all the
# same: the programs set their own umask.

RECIPES=$abs_top_srcdir/docs/recipes
SPOOL=$T/spool
CONF=$T/logthra.conf
CREDS=$T/credentials
# The group the spool and the files the receiver reads belong to.
RECIPE_GROUP=$(id -gn)
((LT_UID != 0)) || RECIPE_GROUP=$LT_CGI_GROUP
# The user the server hands requests to.
RECIPE_USER=$(id -un)
((LT_UID != 0)) || RECIPE_USER=$LT_CGI_USER
# Prefix for a server command: the umask Debian's systemd gives services,
# which would take the group's write bits from what the receiver creates
# if it kept it.
RECIPE_UMASK=(sh -c 'umask 0022 && exec "$@"' sh)

# recipe_umask PID WHAT: the server runs with umask 0022, so that what
# it starts does too.
recipe_umask() {
	check_eq 0022 "$(sed -n 's/^Umask:[[:space:]]*//p' "/proc/$1/status")" \
	    "$2 runs with umask 0022"
}

# recipe_snippet DOC NAME: prints the fenced code block that follows the
# line "<!-- snippet: NAME -->" in docs/recipes/DOC, so that the test runs
# what the recipe shows.
recipe_snippet() {
	local doc=$RECIPES/$1 out
	[[ -r "$doc" ]] || { echo "recipe_snippet: $doc is missing" >&2; return 1; }
	out=$(awk -v m="<!-- snippet: $2 -->" '
	    $0 == m { state = 1; next }
	    state == 1 && /^```/ { state = 2; next }
	    state == 2 && /^```/ { exit }
	    state == 2 { print }' "$doc")
	if [[ -z "$out" ]]; then
		echo "recipe_snippet: no snippet \"$2\" in $doc" >&2
		return 1
	fi
	printf '%s\n' "$out"
}

# recipe_debian_paths: a sed script that points the Debian paths of a
# snippet into the test's directory.
recipe_debian_paths() {
	printf '%s\n' \
	    "s|/usr/bin/logthra-recv|$LT_CGI_RECV|g" \
	    "s|/usr/bin/logthra-query|$LT_CGI_QUERY|g" \
	    "s|/etc/logthra/logthra.conf|$CONF|g"
}

# recipe_setup: the spool, the configuration file and the credentials
# file with two tokens: TOKEN (entry pusher, every tenant) and
# LIMITED_TOKEN (entry limited, tenant acme only).
recipe_setup() {
	install -d -m 2770 -g "$RECIPE_GROUP" "$SPOOL"
	: >"$CREDS"
	cat >"$CONF" <<EOF
spool = $SPOOL
credentials_file = $CREDS
# Small, so that a 2 MiB body tests logthra-recv's limit, not the server's.
max_body_size = 1MiB
# The checks push the same body again and count the files (lib.sh).
dedup_window = 0
EOF
	TOKEN=$("$RECV" -c "$CONF" --new-token pusher '*' 2>&1 >>"$CREDS" |
	    sed -n 's/^token for pusher.*: //p')
	LIMITED_TOKEN=$("$RECV" -c "$CONF" --new-token limited acme 2>&1 >>"$CREDS" |
	    sed -n 's/^token for limited.*: //p')
	[[ "$TOKEN" == lt_* && "$LIMITED_TOKEN" == lt_* ]] ||
	    die "logthra-recv --new-token printed no token"
	chgrp "$RECIPE_GROUP" "$CONF" "$CREDS"
	chmod 0640 "$CONF" "$CREDS"
	lt_cgi_recv
}

recipe_ready() { count_files "$SPOOL/tenants/$1/ready"; }

# recipe_flusher: sets FLUSHER to the command that runs logthra-flush as
# the recipes' user logthra would: when the test runs as root, a user
# other than the server's (uid 64999, which has no name), whose only
# group is the spool's; else the test's user.  It must rename and remove
# what the receiver created.
recipe_flusher() {
	local pre=(setpriv --reuid=64999 --regid="$RECIPE_GROUP" --clear-groups --)
	FLUSHER=("$FLUSH")
	((LT_UID == 0)) || return 0
	FLUSHER=("${pre[@]}" "$FLUSH")
	if ! "${pre[@]}" test -x "$FLUSH"; then
		mkdir -p "$T/bin"
		cp "$FLUSH" "$T/bin/logthra-flush"
		chmod 755 "$T/bin" "$T/bin/logthra-flush"
		FLUSHER=("${pre[@]}" "$T/bin/logthra-flush")
	fi
}

# recipe_refuse STATUS WHAT CURL-ARGS...: STATUS and no new spool file.
recipe_refuse() {
	local status=$1 what=$2 before
	shift 2
	before=$(spool_files "$SPOOL")
	http_req "$@"
	check_status "$status" "$what"
	check_eq "$before" "$(spool_files "$SPOOL")" "$what: no spool file"
}

# recipe_checks URL: pushes in every format through the server, the
# Authorization header, refusals with logthra-recv's own status and
# message, and the modes of what landed in the spool.  Leaves the pushes
# of the tenants acme (2 files), gz, proto, chunked and basic (1 each).
recipe_checks() {
	local url=$1 auth=(-H "Authorization: Bearer $TOKEN") f bad=

	note "/ready reaches logthra-recv, no credentials asked"
	http_req "$url/ready"
	check_status 200 "GET /ready"
	check_eq ready "$HTTP_BODY" "its body is Loki's"

	note "pushes with a bearer token"
	push "$url/api/push" "$SEED" -H 'tenant-id: acme' "${auth[@]}"
	check_status 204 "the seed push to /api/push"
	check_eq "" "$HTTP_BODY" "204 has no body"
	check_eq 1 "$(recipe_ready acme)" "one file in tenants/acme/ready/"

	gzip -c "$SEED" >"$T/seed.json.gz"
	http_req -H 'Content-Type: application/json' -H 'Content-Encoding: gzip' \
	    -H 'X-Scope-OrgID: gz' "${auth[@]}" --data-binary "@$T/seed.json.gz" \
	    "$url/loki/api/v1/push"
	check_status 204 "the seed push gzipped to /loki/api/v1/push"
	check_eq 1 "$(recipe_ready gz)" "one file in tenants/gz/ready/"

	loki_proto_push "$T/push.pb" '{app="proto", level="warn"}' 1704067200 \
	    "proto one" "proto two" "proto three"
	http_req -H 'Content-Type: application/x-protobuf' -H 'X-Scope-OrgID: proto' \
	    "${auth[@]}" --data-binary "@$T/push.pb" "$url/loki/api/v1/push"
	check_status 204 "a protobuf push to /loki/api/v1/push"
	check_eq 1 "$(recipe_ready proto)" "one file in tenants/proto/ready/"

	push "$url/api/prom/push" "$SEED" -H 'X-Scope-OrgID: chunked' \
	    -H 'Transfer-Encoding: chunked' "${auth[@]}" -v
	check_status 204 "a chunked push to /api/prom/push"
	check_contains "Transfer-Encoding: chunked" "$(cat "$T/http.err")" \
	    "curl really sent it chunked"
	check_eq 1 "$(recipe_ready chunked)" "one file in tenants/chunked/ready/"

	note "the Authorization header reaches logthra-recv"
	push "$url/loki/api/v1/push" "$SEED" -H 'X-Scope-OrgID: basic' \
	    -u "pusher:$TOKEN"
	check_status 204 "the token as the password of Basic authentication"
	check_eq 1 "$(recipe_ready basic)" "one file in tenants/basic/ready/"

	push "$url/loki/api/v1/push" "$SEED" -H 'X-Scope-OrgID: acme' \
	    -H "Authorization: Bearer $LIMITED_TOKEN"
	check_status 204 "limited's token for its tenant acme"
	check_eq 2 "$(recipe_ready acme)" "two files in tenants/acme/ready/"

	recipe_refuse 401 "no Authorization header" \
	    -H 'Content-Type: application/json' -H 'X-Scope-OrgID: acme' \
	    --data-binary "@$SEED" "$url/loki/api/v1/push"
	check_eq "credentials required: send Authorization: Bearer TOKEN (or Basic)" \
	    "$HTTP_BODY" "401 says credentials are required"
	check_contains 'WWW-Authenticate: Bearer realm="logthra"' "$HTTP_HEADERS" \
	    "401 carries WWW-Authenticate"

	recipe_refuse 401 "a wrong bearer token" \
	    -H 'Content-Type: application/json' -H 'X-Scope-OrgID: acme' \
	    -H "Authorization: Bearer lt_${TOKEN:4}x" \
	    --data-binary "@$SEED" "$url/loki/api/v1/push"
	check_eq "invalid credentials" "$HTTP_BODY" "401 says the credentials are invalid"

	recipe_refuse 403 "limited's token for tenant beta" \
	    -H 'Content-Type: application/json' -H 'X-Scope-OrgID: beta' \
	    -H "Authorization: Bearer $LIMITED_TOKEN" \
	    --data-binary "@$SEED" "$url/loki/api/v1/push"
	check_eq '"limited" may not push to tenant "beta"' "$HTTP_BODY" \
	    "403 names the entry and the tenant"

	note "refusals pass through with logthra-recv's status and message"
	printf '%s' '{"streams":[{"stream":{"app":"x"},' >"$T/malformed.json"
	recipe_refuse 400 "malformed JSON" -H 'Content-Type: application/json' \
	    -H 'tenant-id: acme' "${auth[@]}" --data-binary "@$T/malformed.json" \
	    "$url/api/push"
	check_eq "malformed JSON at line 1, column 35 (byte 34): expected a string key at the end of the input" \
	    "$HTTP_BODY" "400 says where the JSON is malformed"
	check_match '^text/plain' "$(sed -n 's/^[Cc]ontent-[Tt]ype: //p' <<<"$HTTP_HEADERS")" \
	    "the error body is text/plain"

	{
		printf '{"streams":[{"stream":{"app":"x"},"values":[["2024-01-01","'
		head -c $((2 * 1024 * 1024)) /dev/zero | tr '\0' a
		printf '"]]}]}'
	} >"$T/huge.json"
	recipe_refuse 413 "a 2 MiB body over max_body_size 1MiB" \
	    -H 'Content-Type: application/json' -H 'tenant-id: acme' "${auth[@]}" \
	    --data-binary "@$T/huge.json" "$url/api/push"
	check_eq "request body of $(stat -c %s "$T/huge.json") bytes is over the limit of 1048576 bytes" \
	    "$HTTP_BODY" "413 gives the length and the limit"
	recipe_refuse 413 "a 2 MiB chunked body over max_body_size 1MiB" \
	    -H 'Content-Type: application/json' -H 'tenant-id: acme' "${auth[@]}" \
	    -H 'Transfer-Encoding: chunked' --data-binary "@$T/huge.json" \
	    "$url/api/push"

	recipe_refuse 415 "Content-Type text/plain" -H 'Content-Type: text/plain' \
	    -H 'tenant-id: acme' "${auth[@]}" --data-binary "@$SEED" "$url/api/push"

	recipe_refuse 405 "GET /api/push" -H 'tenant-id: acme' "${auth[@]}" \
	    "$url/api/push"
	check_contains "Allow: POST" "$HTTP_HEADERS" "405 carries Allow: POST"

	note "the spool stays the group's under umask 0022: the receiver's own umask and set-group-ID"
	while IFS= read -r f; do
		bad+="$f"$'\n'
	done < <(find "$SPOOL" -mindepth 1 \( -type d ! -perm 2770 -o \
	    -type f ! -perm 0660 -o ! -group "$RECIPE_GROUP" \) \
	    -printf '%M %u:%g %P\n')
	check_eq "" "$bad" "directories 2770, files 0660, all of group $RECIPE_GROUP"
	check_eq 6 "$(spool_files "$SPOOL")" "six spool files in all"
}
