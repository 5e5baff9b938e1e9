#!/bin/bash
# docs/recipes/inetd.md: logthra-recv started per connection by Debian's
# openbsd-inetd with the recipe's /etc/inetd.conf line: JSON, gzip,
# protobuf and chunked pushes, the Authorization header, refusals, the
# spool's modes; and, with -v so that refusals are logged, that nothing
# the receiver logs reaches the HTTP stream (inetd hands it the
# connection as standard error too) over a kept-alive connection.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/recipe-lib.sh"

need inetd openbsd-inetd curl curl
need_built

recipe_setup
DIR=$T/inetd
mkdir -p "$DIR"
chmod 755 "$DIR"
LINE=$(recipe_snippet inetd.md inetd.conf)

# The recipe's line on a loopback port, as the test's user, with -v.
inetd_config() {
	printf '%s -v\n' "$LINE" | sed -e "s|^3100 |127.0.0.1:$1 |" \
	    -e "s| logthra-recv:logthra | $RECIPE_USER:$RECIPE_GROUP |" \
	    -e "$(recipe_debian_paths)" >"$DIR/inetd.conf"
}

# -i: stay in the foreground; -d: say what it does on standard error.
# openbsd-inetd sets umask 022 itself, whatever it was given, and hands
# it to the receivers it starts.
start_server inetd inetd_config "" \
    "${RECIPE_UMASK[@]}" inetd -d -i "$DIR/inetd.conf"
recipe_umask "$SERVER_PID" openbsd-inetd
check_contains " $LT_CGI_RECV " "$(cat "$DIR/inetd.conf")" \
    "the line starts logthra-recv itself, no wrapper"
check_contains "ADD: 127.0.0.1:$SERVER_PORT proto=tcp" "$(cat "$T/inetd.log")" \
    "inetd took the recipe's line"
recipe_checks "$SERVER_URL"

note "four requests over one connection; refusals logged to syslog, not to it"
starts=$(grep -c ' execv ' "$T/inetd.log")
out=$(curl -sS --max-time 30 -o /dev/null -w '%{http_code} %{num_connects}\n' \
    -H 'Content-Type: application/json' -H 'X-Scope-OrgID: ka' \
    -H "Authorization: Bearer $TOKEN" --data-binary "@$SEED" \
    "$SERVER_URL/loki/api/v1/push" \
    --next -sS --max-time 30 -o /dev/null -w '%{http_code} %{num_connects}\n' \
    -H 'Content-Type: application/json' -H 'X-Scope-OrgID: ka' \
    -H "Authorization: Bearer $TOKEN" --data-binary "@$T/malformed.json" \
    "$SERVER_URL/loki/api/v1/push" \
    --next -sS --max-time 30 -o /dev/null -w '%{http_code} %{num_connects}\n' \
    -H 'Content-Type: application/json' -H 'X-Scope-OrgID: ka' \
    -H "Authorization: Bearer $TOKEN" --data-binary "@$SEED" \
    "$SERVER_URL/loki/api/v1/push" \
    --next -sS --max-time 30 -o /dev/null -w '%{http_code} %{num_connects}\n' \
    -H 'Content-Type: application/json' -H 'X-Scope-OrgID: ka' \
    -H "Authorization: Bearer lt_${TOKEN:4}x" --data-binary "@$SEED" \
    "$SERVER_URL/loki/api/v1/push" 2>&1) || true
check_eq "204 1
400 0
204 0
401 0" "$out" "204, 400, 204, 401 over one connection (curl's num_connects 1, 0, 0, 0)"
check_eq 2 "$(recipe_ready ka)" "two files in tenants/ka/ready/"
check_eq $((starts + 1)) "$(grep -c ' execv ' "$T/inetd.log")" \
    "inetd started one logthra-recv for them"

finish
