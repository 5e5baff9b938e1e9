#!/bin/bash
# docs/recipes/inetd.md, xinetd: logthra-recv started per connection by
# Debian's xinetd with the recipe's /etc/xinetd.d/logthra: JSON, gzip,
# protobuf and chunked pushes, the Authorization header, refusals, the
# spool's modes under xinetd's umask; with -v, that nothing the receiver
# logs reaches the HTTP stream of a kept-alive connection.
#
# Not part of make check: Debian's xinetd conflicts with openbsd-inetd,
# which openbsd-inetd.sh tests.  Run it by hand where xinetd is installed,
# or with XINETD naming the program unpacked from its package:
#   apt-get download xinetd && dpkg-deb -x xinetd_*.deb x &&
#   XINETD=$PWD/x/usr/sbin/xinetd tests/integration/xinetd.sh
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/recipe-lib.sh"

XINETD=${XINETD:-xinetd}
need "$XINETD" xinetd curl curl
need_built

recipe_setup
DIR=$T/xinetd
mkdir -p "$DIR"
SERVICE=$(recipe_snippet inetd.md xinetd | sed "$(recipe_debian_paths)")

# The recipe's service on a loopback port, as the test's user, with -v.
xinetd_config() {
	{
		printf 'defaults\n{\n}\n'
		printf '%s\n' "$SERVICE" | sed \
		    -e "s|^\\([[:space:]]*port[[:space:]]*=\\).*|\\1 $1\\n\\tbind = 127.0.0.1|" \
		    -e "s|^\\([[:space:]]*user[[:space:]]*=\\).*|\\1 $RECIPE_USER|" \
		    -e "s|^\\([[:space:]]*group[[:space:]]*=\\).*|\\1 $RECIPE_GROUP|" \
		    -e "s|^\\([[:space:]]*server_args[[:space:]]*=.*\\)|\\1 -v|"
	} >"$DIR/xinetd.conf"
}

# Started with umask 0022, as Debian's systemd starts it; the service
# has no umask attribute, so the receiver gets it too (xinetd ORs 022
# into whatever it was given).
start_server xinetd xinetd_config "$DIR/xinetd.pid" \
    "${RECIPE_UMASK[@]}" \
    "$XINETD" -dontfork -f "$DIR/xinetd.conf" -pidfile "$DIR/xinetd.pid"
recipe_umask "$SERVER_PID" xinetd
check_eq "" "$(grep '^[[:space:]]*umask[[:space:]]*=' "$DIR/xinetd.conf")" \
    "the service sets no umask"
recipe_checks "$SERVER_URL"

note "four requests over one connection; refusals logged to syslog, not to it"
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

finish
