#!/bin/bash
# The real npm client @myunisoft/loki (through tests/clients/push-loki.js)
# pushes to logthra-recv under inetd (systemd-socket-activate) and CGI
# (nginx + fcgiwrap), and what Loki accepts arrives in ClickHouse:
#  - the client sends Content-Type twice with one value (seen in the
#    header block undici wrote): the push is stored;
#  - a label with an empty value is left out, as Loki leaves it out:
#    {app, server, env=""} and {app, server} are one stream, and a
#    stream left with no label is refused in Loki's words;
#  - timestamps in seconds and milliseconds are refused with a 400 that
#    names the unit, the good entry of the same push stored;
# and with curl: a header sent twice with different values (Content-Type,
# X-Scope-OrgID) is refused naming it, with the same value it is one.
# The expected rows are worked out below from the pushed data set and
# Loki's rules, not from what logthra-recv did.
#
# The client sends no tenant header (it has no option for one): the
# pushes are the default_tenant's.
. "$(dirname "$0")/lib.sh"

need_clickhouse
need_inetd
need_nginx
need node nodejs npm npm python3 python3
need_built

CLIENTS=$abs_top_srcdir/tests/clients

lt_need_clients 20.0 @myunisoft/loki

CONF=$T/myu.conf
{
	cat "$T/base.conf"
	printf 'default_tenant = myu\n'
} >"$CONF"
chmod 644 "$CONF"
export LOGTHRA_CONFIG=$CONF

SPOOL_I=$T/spool-inetd
SPOOL_N=$T/spool-nginx
mkdir -p "$SPOOL_I" "$SPOOL_N"
start_clickhouse
start_inetd "$SPOOL_I"
start_nginx_fcgiwrap "$SPOOL_N"

# Ten minutes back, whole seconds; entry k is at T0 seconds and k ns.
T0=$(($(date +%s) - 600))
ns() { printf '%d%09d' "$T0" "$1"; }

# The data set, one file per push and server.
write_sets() {
	local s=$1
	cat >"$T/$s-labels.json" <<JSON
[{"stream":{"app":"myu","server":"$s","env":""},"values":[
  ["$(ns 1)","$s: first, env was empty"],["$(ns 2)","$s: second"]]},
 {"stream":{"app":"myu","server":"$s"},"values":[["$(ns 3)","$s: third, no env"]]}]
JSON
	cat >"$T/$s-units.json" <<JSON
[{"stream":{"app":"units","server":"$s"},"values":[
  ["$T0","$s: seconds"],["${T0}000","$s: milliseconds"],["$(ns 4)","$s: nanoseconds"]]}]
JSON
	cat >"$T/$s-nolabel.json" <<JSON
[{"stream":{"env":""},"values":[["$(ns 5)","$s: no label left"]]}]
JSON
}

# client URL FILE WHAT: push-loki.js; sets STATUS, BODY (the answer's
# body when it was an error), HEADERS (the request's header block).
client() {
	local url=$1 file=$2 what=$3
	run node "$CLIENTS/push-loki.js" "$url" "$file"
	check_rc 0 "$what: push-loki.js ran"
	STATUS=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["status"])' \
	    "$RUN_OUT" 2>&1)
	BODY=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1]).get("body") or "")' \
	    "$RUN_OUT" 2>&1)
	HEADERS=$(python3 -c 'import json, sys
for r in json.loads(sys.argv[1])["requests"]:
    print(r["headers"])' "$RUN_OUT" 2>&1)
}

for server in inetd nginx; do
	if [[ $server == inetd ]]; then
		url=$INETD_URL spool=$SPOOL_I
	else
		url=$NGINX_URL spool=$SPOOL_N
	fi
	write_sets "$server"
	note "@myunisoft/loki through $server ($url)"

	client "$url" "$T/$server-labels.json" "$server: an empty label"
	check_eq 2 "$(grep -ci '^content-type: application/json' <<<"$HEADERS")" \
	    "$server: the client sent Content-Type twice, one value"
	check_eq 204 "$STATUS" "$server: the push with an empty label is stored (204)"

	client "$url" "$T/$server-units.json" "$server: seconds and milliseconds"
	check_eq 400 "$STATUS" "$server: timestamps in seconds and milliseconds -> 400"
	check_contains "2 of 3 entries rejected, 1 stored:" "$BODY" \
	    "$server: two entries rejected, the good one stored"
	check_contains "timestamp \"$T0\" looks like seconds, not nanoseconds" "$BODY" \
	    "$server: the answer names seconds"
	check_contains "send \"${T0}000000000\"" "$BODY" \
	    "$server: and gives the value in nanoseconds"
	check_contains "timestamp \"${T0}000\" looks like milliseconds" "$BODY" \
	    "$server: the answer names milliseconds"

	client "$url" "$T/$server-nolabel.json" "$server: only an empty label"
	check_eq 400 "$STATUS" "$server: a stream left with no label -> 400"
	check_contains "at least one label pair is required per stream" "$BODY" \
	    "$server: refused in Loki's words"

	note "$server: headers twice with curl"
	printf '{"streams":[{"stream":{"app":"curl","server":"%s"},"values":[["%s","%s: X-Scope-OrgID twice"]]}]}' \
	    "$server" "$(ns 6)" "$server" >"$T/$server-twice.json"
	if [[ $server == nginx && ${LT_VALGRIND:-0} == 1 ]]; then
		# fcgiwrap passes a header sent twice as two variables of one
		# name, and valgrind passes only the first on to the program
		# (as for hostile.sh, scripts/sanitize): the refusal can only be
		# seen without it, in the plain and the ASan runs.
		note "$server: different values not checked under valgrind, which passes one variable of a name on"
	else
		before=$(spool_files "$spool")
		http_req -H 'Content-Type: application/json' -H 'Content-Type: application/x-protobuf' \
		    --data-binary "@$T/$server-twice.json" "$url/loki/api/v1/push"
		check_status 400 "$server: Content-Type twice, different values"
		check_contains "duplicate Content-Type header with a different value" "$HTTP_BODY" \
		    "$server: the answer names Content-Type"
		http_req -H 'Content-Type: application/json' -H 'X-Scope-OrgID: twice' \
		    -H 'X-Scope-OrgID: other' --data-binary "@$T/$server-twice.json" \
		    "$url/loki/api/v1/push"
		check_status 400 "$server: X-Scope-OrgID twice, different values"
		check_contains "duplicate X-Scope-OrgID header with a different value" "$HTTP_BODY" \
		    "$server: the answer names X-Scope-OrgID"
		check_eq "$before" "$(spool_files "$spool")" "$server: nothing stored for either"
	fi
	http_req -H 'Content-Type: application/json' -H 'X-Scope-OrgID: twice' \
	    -H 'X-Scope-OrgID:  twice ' --data-binary "@$T/$server-twice.json" \
	    "$url/loki/api/v1/push"
	check_status 204 "$server: X-Scope-OrgID twice, the same value"
done

for spool in "$SPOOL_I" "$SPOOL_N"; do
	run "$FLUSH" -D "$spool" -U "$CH_URL"
	check_rc 0 "logthra-flush -D $spool"
done

# The rows Loki's rules give: labels with an empty value left out, a
# stream with none left refused, timestamps below 1e17 ns refused, the
# rest stored; one row per entry, labels sorted by name.
cat >"$T/want.py" <<'PY'
import json, sys
t = sys.argv[1]
rows = []
def add(tenant, body):
    for s in body:
        labels = sorted('%s=%s' % (k, v) for k, v in s['stream'].items() if v != '')
        if not labels:
            continue
        for ts, line in s['values']:
            if int(ts) < 10**17:
                continue
            rows.append('%s\t[%s]\t%s\t%s' % (tenant, ','.join("'%s'" % l for l in labels),
                                            ts, line))
for server in ('inetd', 'nginx'):
    for kind in ('labels', 'units', 'nolabel'):
        add('myu', json.load(open('%s/%s-%s.json' % (t, server, kind))))
    add('twice', json.load(open('%s/%s-twice.json' % (t, server)))['streams'])
for r in sorted(rows):
    print(r)
PY
python3 "$T/want.py" "$T" >"$T/want.tsv" 2>&1
ch_query "SELECT tenant_id, label, timestamp_ns, msg FROM logs.log FORMAT TSV" |
    LC_ALL=C sort >"$T/got.tsv"
LC_ALL=C sort -o "$T/want.tsv" "$T/want.tsv"
check_eq "$(cat "$T/want.tsv")" "$(cat "$T/got.tsv")" \
    "every row as Loki would keep it ($(wc -l <"$T/want.tsv") rows): empty labels gone, wrong units absent"
check_eq 0 "$(ch_query "SELECT count() FROM logs.log WHERE msg LIKE '%: seconds'
    OR msg LIKE '%: milliseconds' OR msg LIKE '%no label left'")" \
    "nothing stored for the refused entries"
check_eq "inetd	1
nginx	1" "$(ch_query "SELECT arrayFirst(x -> x LIKE 'server=%', label) AS s,
    uniqExact(stream_id) FROM logs.log WHERE has(label, 'app=myu')
    GROUP BY s ORDER BY s FORMAT TSV" | sed 's/^server=//')" \
    "{app, server, env=\"\"} and {app, server} are one stream per server"

finish
