#!/bin/bash
# A real Loki client reads back what was pushed: @myunisoft/loki (from
# npm, through tests/clients/read-loki.js) asks logthra-recv's socket
# (socket activation, one address for pushes and queries) and nginx +
# fcgiwrap (logthra-query as CGI) for a small data set written out below,
# pushed and flushed into ClickHouse: queryRangeStream and queryRange with
# a selector and a line filter (labels, timestamps and lines as pushed,
# Loki's limit and order), labels, label values with and without a
# selector, series.  The expected answers are worked out by hand from the
# data set.
#
# The client sends no tenant header (it has no option for one, and its
# series() sends no credentials either), so the data set is the
# default_tenant's; a second tenant with look-alike streams must not show.
# Its series() sends only the last of several selectors (see
# read-loki.js), so each series check has one.
. "$(dirname "$0")/lib.sh"

need_clickhouse
need_inetd
need_nginx
need node nodejs npm npm python3 python3
need_built

CLIENTS=$abs_top_srcdir/tests/clients

lt_need_clients 20.0 @myunisoft/loki

# --- the data set ------------------------------------------------------------

# Fifteen minutes back (inside the one hour series() asks for, as it
# sends no range), whole seconds; entry k is at T0 + k seconds and k*1001
# nanoseconds, so that every entry has a time of its own and a fraction
# that must come back exactly.
T0=$(($(date +%s) - 900))
ns() { printf '%d%09d' $((T0 + $1)) $(($1 * 1001)); }

SPOOL=$T/spool
mkdir -p "$SPOOL"
cat >"$T/main.json" <<JSON
{"streams":[
 {"stream":{"app":"api","env":"prod"},"values":[
  ["$(ns 10)","GET /users 200 12ms"],
  ["$(ns 20)","GET /orders 500 error timeout"],
  ["$(ns 30)","POST /orders 201 8ms"]]},
 {"stream":{"app":"api","env":"dev"},"values":[
  ["$(ns 15)","GET /users 404 error not found"],
  ["$(ns 25)","GET /debug 200"]]},
 {"stream":{"app":"db","env":"prod","region":"eu"},"values":[
  ["$(ns 12)","slow query error 1200ms"],
  ["$(ns 35)","vacuum done"]]},
 {"stream":{"app":"web","env":"dev"},"values":[
  ["$(ns 18)","render home 3ms"]]}]}
JSON
cat >"$T/other.json" <<JSON
{"streams":[
 {"stream":{"app":"api","env":"prod","secret":"yes"},"values":[
  ["$(ns 22)","GET /other 500 error of another tenant"],
  ["$(ns 32)","POST /other 201 vacuum of another tenant"]]},
 {"stream":{"app":"billing","env":"prod"},"values":[
  ["$(ns 14)","invoice error of another tenant"]]}]}
JSON
"$RECV" -T main -D "$SPOOL" "$T/main.json" || die "logthra-recv of main.json failed"
"$RECV" -T other -D "$SPOOL" "$T/other.json" || die "logthra-recv of other.json failed"

start_clickhouse
run "$FLUSH" -D "$SPOOL" -U "$CH_URL"
check_rc 0 "logthra-flush of the data set"
check_eq "main	8
other	3" "$(ch_query "SELECT tenant_id, count() FROM logs.log GROUP BY tenant_id
    ORDER BY tenant_id FORMAT TSV")" "eight rows of main and three of other in ClickHouse"

CONF=$T/query.conf
{
	cat "$T/base.conf"
	printf 'clickhouse_url = %s\n' "$CH_URL"
	printf 'default_tenant = main\n'
} >"$CONF"
chmod 644 "$CONF"
export LOGTHRA_CONFIG=$CONF
start_inetd "$T/spool-inetd"
start_nginx_fcgiwrap "$T/spool-nginx"

# --- the client ---------------------------------------------------------------

# The queries' range: a minute before T0 (unix seconds) to a minute from
# now (nanoseconds), both forms Loki takes.
RANGE=(--start $((T0 - 60)) --end "$(($(date +%s) + 60))000000000")

# Puts read-loki.js's output in a form to compare: JSON with sorted keys;
# the streams of a query and the series in the order of their labels
# (Loki's own order of them is not part of its API).  The expected values
# below go through the same function.
cat >"$T/norm.py" <<'PY'
import json, sys
def key(x):
    return json.dumps(x, sort_keys=True)
kind, text = sys.argv[1], sys.argv[2]
v = json.loads(text)
if kind == 'stream':
    v = {'streams': sorted(v['streams'], key=lambda s: key(s['labels'])),
         'timerange': v['timerange']}
elif kind == 'series':
    v = sorted(v, key=key)
print(json.dumps(v, sort_keys=True))
PY
norm() { python3 "$T/norm.py" "$1" "$2" 2>&1; }

# read_check URL WHAT KIND EXPECTED OP ARG...: read-loki.js OP ARG... against
# URL: it exits 0, every request it made went to the path of OP and was
# answered 200, and what it returned is EXPECTED (after norm KIND).
read_check() {
	local url=$1 what=$2 kind=$3 want=$4 op=$5 path got requests
	shift 4
	run node "$CLIENTS/read-loki.js" --url "$url" "$@"
	check_rc 0 "$what: read-loki.js $op"
	((RUN_RC == 0)) || return 0
	case $op in
	stream | lines) path=/loki/api/v1/query_range ;;
	labels) path=/loki/api/v1/labels ;;
	values) path=/loki/api/v1/label/$2/values ;;
	series) path=/loki/api/v1/series ;;
	esac
	requests=$(python3 -c '
import json, sys
for r in json.loads(sys.argv[1])["requests"]:
    print(r["method"], r["path"].split("?")[0], r["status"])' "$RUN_OUT" 2>&1)
	check_eq "GET $path 200" "$requests" "$what: one GET of $path, answered 200"
	got=$(python3 -c 'import json, sys; print(json.dumps(json.loads(sys.argv[1])["result"]))' \
	    "$RUN_OUT" 2>&1)
	check_eq "$(norm "$kind" "$want")" "$(norm "$kind" "$got")" "$what"
}

# Times in the client's answers: queryRangeStream gives each entry's
# nanoseconds as the server sent them; its timerange and that of
# queryRange are the newest and oldest entry's nanoseconds / 1e6 (the
# library's own arithmetic, dayjs.unix(ns / 1e6).unix()).
ms() { printf '%s' $((($(ns "$1")) / 1000000)); }

for server in inetd nginx; do
	if [[ $server == inetd ]]; then url=$INETD_URL; else url=$NGINX_URL; fi
	note "@myunisoft/loki through $server ($url)"

	read_check "$url" "$server: queryRangeStream of {app=\"api\"} |= \"error\": each stream's entries, labels as pushed" \
	    stream "{\"streams\":[
	     {\"labels\":{\"app\":\"api\",\"env\":\"dev\"},\"values\":[[\"$(ns 15)\",\"GET /users 404 error not found\"]]},
	     {\"labels\":{\"app\":\"api\",\"env\":\"prod\"},\"values\":[[\"$(ns 20)\",\"GET /orders 500 error timeout\"]]}],
	     \"timerange\":[$(ms 20),$(ms 15)]}" \
	    stream '{app="api"} |= "error"' "${RANGE[@]}"

	read_check "$url" "$server: queryRangeStream of {app=\"api\"} with limit 2: the two newest, newest first" \
	    stream "{\"streams\":[
	     {\"labels\":{\"app\":\"api\",\"env\":\"dev\"},\"values\":[[\"$(ns 25)\",\"GET /debug 200\"]]},
	     {\"labels\":{\"app\":\"api\",\"env\":\"prod\"},\"values\":[[\"$(ns 30)\",\"POST /orders 201 8ms\"]]}],
	     \"timerange\":[$(ms 30),$(ms 25)]}" \
	    stream '{app="api"}' "${RANGE[@]}" --limit 2

	read_check "$url" "$server: queryRangeStream of {env=\"dev\"} != \"200\": every dev entry but those with 200" \
	    stream "{\"streams\":[
	     {\"labels\":{\"app\":\"api\",\"env\":\"dev\"},\"values\":[[\"$(ns 15)\",\"GET /users 404 error not found\"]]},
	     {\"labels\":{\"app\":\"web\",\"env\":\"dev\"},\"values\":[[\"$(ns 18)\",\"render home 3ms\"]]}],
	     \"timerange\":[$(ms 18),$(ms 15)]}" \
	    stream '{env="dev"} != "200"' "${RANGE[@]}"

	read_check "$url" "$server: queryRange of {env=\"prod\"} |~ \"error|vacuum\": the lines, newest first" \
	    lines "{\"logs\":[\"vacuum done\",\"GET /orders 500 error timeout\",\"slow query error 1200ms\"],
	     \"timerange\":[$(ms 35),$(ms 12)]}" \
	    lines '{env="prod"} |~ "error|vacuum"' "${RANGE[@]}"

	read_check "$url" "$server: queryRange of a stream that only another tenant has: nothing" \
	    lines '{"logs":[],"timerange":null}' \
	    lines '{app="billing"}' "${RANGE[@]}"

	read_check "$url" "$server: labels: the default tenant's label names, sorted" \
	    plain '["app","env","region"]' labels "${RANGE[@]}"

	read_check "$url" "$server: labels with start given as the library's duration (2h, sent as unix seconds)" \
	    plain '["app","env","region"]' labels --start 2h

	read_check "$url" "$server: labelValues of app" \
	    plain '["api","db","web"]' values app "${RANGE[@]}"

	read_check "$url" "$server: labelValues of env of {app=\"api\"}" \
	    plain '["dev","prod"]' values env '{app="api"}' "${RANGE[@]}"

	read_check "$url" "$server: labelValues of region of {app=\"web\"}: none" \
	    plain '[]' values region '{app="web"}' "${RANGE[@]}"

	read_check "$url" "$server: series of {env=\"prod\"} (the last hour, no range sent)" \
	    series '[{"app":"api","env":"prod"},{"app":"db","env":"prod","region":"eu"}]' \
	    series '{env="prod"}'

	read_check "$url" "$server: series of {app=~\"api|web\", env=\"dev\"}" \
	    series '[{"app":"api","env":"dev"},{"app":"web","env":"dev"}]' \
	    series '{app=~"api|web", env="dev"}'
done

note "an error reaches the client as one"
run node "$CLIENTS/read-loki.js" --url "$INETD_URL" "${RANGE[@]}" stream '{app="api"'
check_rc 1 "an unclosed selector: read-loki.js fails"
check_contains "HTTP 400" "$RUN_ERR" "with the server's 400"
check_contains "parse error" "$RUN_ERR" "and Loki's words"

finish
