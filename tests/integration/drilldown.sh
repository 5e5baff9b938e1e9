#!/bin/bash
# Grafana's endpoints against Debian's ClickHouse: /index/volume and
# volume_range, /detected_labels, /detected_fields and
# /detected_field/NAME/values, /patterns.  The data is pushed and
# flushed here; each answer is compared with one worked out from the
# same data in Python by Loki's rules (drilldown.py below), not by the
# code under test.
. "$(dirname "$0")/lib.sh"

need_clickhouse
need_built
QUERY=$abs_top_builddir/src/logthra-query

SPOOL=$T/spool
mkdir -p "$SPOOL"
start_clickhouse
export LOGTHRA_CONFIG=/dev/null LOGTHRA_CLICKHOUSE_URL=$CH_URL LOGTHRA_SPOOL=$SPOOL
export QUERY T

cat >"$T/drilldown.py" <<'PY'
import json, os, re, subprocess, sys, time, urllib.parse

NS = 10**9
now = int(os.environ['NOW']) * NS
T = os.environ['T']

# (stream labels, [(seconds ago, line, structured metadata)])
STREAMS = [
    ({'app': 'api', 'env': 'prod', 'cluster': 'c1'}, [
        (300, '{"level":"info","dur":"15ms","user":{"id":7,"name":"ann"},"ok":true}', {'trace_id': 'abc'}),
        (200, '{"level":"error","dur":"1.5s","user":{"id":8,"name":"bob"},"ok":false}', {'trace_id': 'def'}),
        (100, '{"level":"info","dur":"20ms","size":"10KB","user":{"id":7,"name":"ann"},"ok":true}', {}),
    ]),
    ({'app': 'db', 'env': 'prod', 'cluster': 'c1'}, [
        (250, 'level=warn took=2.5 rows=12 table=users', {}),
        (150, 'level=info took=3 rows=7 table=orders', {}),
    ]),
    ({'app': 'web', 'env': 'dev', 'pod': '123', 'num': '42',
      'uid': '8f14e45f-ceea-467f-a0e6-3a1c2b0e5f10'}, [
        (120, 'hello world', {}),
        (90, 'GET /index 200', {}),
    ]),
]

def entries():
    for labels, values in STREAMS:
        for ago, line, md in values:
            yield labels, now - ago * NS, line, md

def push():
    body = {'streams': []}
    for labels, values in STREAMS:
        vals = []
        for ago, line, md in values:
            v = [str(now - ago * NS), line]
            if md:
                v.append(md)
            vals.append(v)
        body['streams'].append({'stream': labels, 'values': vals})
    with open(os.path.join(T, 'push.json'), 'w') as f:
        json.dump(body, f)

def get(path, **params):
    env = dict(os.environ, GATEWAY_INTERFACE='CGI/1.1', REQUEST_METHOD='GET',
               REQUEST_URI=path, QUERY_STRING=urllib.parse.urlencode(params),
               HTTP_X_SCOPE_ORGID='drill')
    run = subprocess.run([os.environ['QUERY']], env=env, capture_output=True)
    head, _, body = run.stdout.decode().partition('\r\n\r\n')
    status = re.search(r'Status: (\d+)', head)
    if status is None:
        raise SystemExit('%s: no CGI answer (exit %d): %s' % (
            path, run.returncode, run.stderr.decode(errors='replace')[-2000:]))
    return int(status.group(1)), body

def check(what, expected, actual):
    print('CHECK\t%s\t%s\t%s' % (what, json.dumps(expected, sort_keys=True),
                                 json.dumps(actual, sort_keys=True)))

def go_quote(v):
    return '"' + v.replace('\\', '\\\\').replace('"', '\\"') + '"'

def label_text(ls):
    return '{' + ', '.join('%s=%s' % (k, go_quote(ls[k])) for k in sorted(ls)) + '}'

START, END = now - 3600 * NS, now + NS

# --- volume -------------------------------------------------------------

def prom_time(ms):
    s, f = divmod(ms, 1000)
    return float('%d.%03d' % (s, f)) if f else s

def bucket_ts(k, step):
    if step == 0:
        return END // 10**6
    nxt = (k + 1) * step
    return END // 10**6 if nxt >= END else nxt // 10**6 - 1

def volume(matchers, targets=None, by_labels=False, step=0, limit=100, match_any=False):
    buckets = {}
    for labels, ts, line, md in entries():
        if not all(m(labels) for m in matchers.values()):
            continue
        if targets and not all(t in labels for t in targets):
            continue
        k = ts // step if step else 0
        b = buckets.setdefault(k, {})
        if by_labels:
            keys = [(n, {n: ''}) for n in labels if not targets or n in targets]
        else:
            names = targets or ([] if match_any else list(matchers))
            ls = {n: v for n, v in labels.items() if match_any and not targets or n in names}
            keys = [(label_text(ls), ls)]
        for name, metric in keys:
            b.setdefault(name, [0, metric])[0] += len(line.encode())
    series = {}
    for k in sorted(buckets):
        top = sorted(buckets[k].items(), key=lambda x: (-x[1][0], x[0]))[:limit]
        for name, (v, metric) in top:
            series.setdefault(name, [metric, []])[1].append([prom_time(bucket_ts(k, step)), str(v)])
    matrix = any(len(s[1]) > 1 for s in series.values())
    out = sorted(series.items(), key=lambda x: (-int(x[1][1][0][1]), x[0]))
    if matrix:
        result = [{'metric': m, 'values': vs} for _, (m, vs) in out]
    else:
        result = [{'metric': m, 'value': vs[0]} for _, (m, vs) in out]
    return {'resultType': 'matrix' if matrix else 'vector', 'result': result}

def answer_data(body):
    d = json.loads(body)
    assert d['status'] == 'success'
    return {'resultType': d['data']['resultType'], 'result': d['data']['result']}

def eq(name, value):
    return lambda ls: ls.get(name, '') == value

def re_(name, value):
    return lambda ls: re.fullmatch(value, ls.get(name, '')) is not None

def run_volume():
    s, b = get('/loki/api/v1/index/volume', query='{app=~".+"}', start=START, end=END)
    check('volume by the selector\'s label', volume({'app': re_('app', '.+')}), answer_data(b))
    s, b = get('/loki/api/v1/index/volume', query='{app=~".+"}', targetLabels='env',
               start=START, end=END)
    check('volume by targetLabels', volume({'app': re_('app', '.+')}, targets=['env']), answer_data(b))
    s, b = get('/loki/api/v1/index/volume', query='{env="prod"}', aggregateBy='labels',
               start=START, end=END)
    check('volume by label names', volume({'env': eq('env', 'prod')}, by_labels=True), answer_data(b))
    s, b = get('/loki/api/v1/index/volume', query='{}', limit=2, start=START, end=END)
    check('volume of {} by whole label sets, limit 2', volume({}, match_any=True, limit=2), answer_data(b))
    s, b = get('/loki/api/v1/index/volume', query='{cluster="c1"}', targetLabels='pod',
               start=START, end=END)
    check('a stream without a target label does not count',
          volume({'cluster': eq('cluster', 'c1')}, targets=['pod']), answer_data(b))
    step = 120 * NS
    s, b = get('/loki/api/v1/index/volume_range', query='{env=~"prod|dev"}', step='120s',
               start=START, end=END)
    check('volume_range in 2m buckets', volume({'env': re_('env', 'prod|dev')}, step=step), answer_data(b))
    s, b = get('/loki/api/v1/index/volume', query='{app="api"}', aggregateBy='nope')
    check('an unknown aggregateBy', [400, 'invalid aggregation option'], [s, b.strip()])
    s, b = get('/loki/api/v1/index/volume', query='{app="api"}', limit='-1')
    check('a negative limit', [400, 'limit must be a positive value'], [s, b.strip()])

# --- detected labels ----------------------------------------------------------

UUID = '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}'

def is_id(v):
    try:
        float(v)
        return True
    except ValueError:
        return re.fullmatch(UUID, v) is not None

def detected_labels(match):
    values = {}
    for labels, _ in STREAMS:
        if match(labels):
            for n, v in labels.items():
                values.setdefault(n, set()).add(v)
    static = {'cluster', 'namespace', 'instance', 'pod'}
    out = [{'label': n, 'cardinality': len(vs)} for n, vs in sorted(values.items())
           if n in static or not all(is_id(v) for v in vs)]
    return {'detectedLabels': out} if out else {}

def run_detected_labels():
    s, b = get('/loki/api/v1/detected_labels', start=START, end=END)
    check('detected labels of every stream', detected_labels(lambda ls: True), json.loads(b))
    s, b = get('/loki/api/v1/detected_labels', query='{env="prod"}', start=START, end=END)
    check('detected labels of a selector', detected_labels(eq('env', 'prod')), json.loads(b))
    s, b = get('/loki/api/v1/detected_labels', query='{app="none"}', start=START, end=END)
    check('no stream: {}', {}, json.loads(b))

# --- detected fields ----------------------------------------------------------

def go_type(v):
    if re.fullmatch(r'[+-]?[0-9]+', v) and -2**63 <= int(v) < 2**63:
        return 'int'
    if re.fullmatch(r'[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?', v):
        return 'float'
    if v in ('1', 't', 'T', 'TRUE', 'true', 'True', '0', 'f', 'F', 'FALSE', 'false', 'False'):
        return 'boolean'
    if re.fullmatch(r'[+-]?([0-9]*(\.[0-9]*)?(ns|us|µs|ms|s|m|h))+', v) and re.search(r'[0-9]', v):
        return 'duration'
    if re.fullmatch(r'[0-9.,]+ *(b|kib|kb|mib|mb|gib|gb|ki|k|mi|m|gi|g)?', v.lower()):
        return 'bytes'
    return 'string'

def flatten(obj, path=()):
    for k, v in obj.items():
        if isinstance(v, dict):
            yield from flatten(v, path + (k,))
        elif isinstance(v, bool):
            yield '_'.join(path + (k,)), 'true' if v else 'false', list(path + (k,))
        elif isinstance(v, (int, float, str)):
            yield '_'.join(path + (k,)), str(v), list(path + (k,))

def parse_line(line):
    try:
        return 'json', list(flatten(json.loads(line)))
    except ValueError:
        pairs = [kv.split('=', 1) for kv in line.split()]
        return 'logfmt', [(k, v, None) for k, v in (p for p in pairs if len(p) == 2) if v]

def detected_fields(match, line_limit=100, limit=1000):
    picked = sorted((e for e in entries() if match(e[0])), key=lambda e: -e[1])[:line_limit]
    picked.sort(key=lambda e: (label_text(e[0]), -e[1]))   # Loki's answer order
    fields = {}
    for labels, ts, line, md in picked:
        for n, v in sorted(md.items()):
            if n not in fields and len(fields) < limit:
                fields[n] = {'label': n, 'parsers': None, 'values': set()}
            if n in fields:
                fields[n]['type'] = go_type(v)
                fields[n]['values'].add(v)
        parser, found = parse_line(line)
        for n, v, path in sorted(found):
            if n not in fields and len(fields) < limit:
                fields[n] = {'label': n, 'parsers': [], 'values': set()}
            if n not in fields:
                continue
            f = fields[n]
            if f['parsers'] is None:
                f['parsers'] = []
            if parser not in f['parsers']:
                f['parsers'].append(parser)
            f['type'] = go_type(v)
            f['values'].add(v)
            if parser == 'json':
                f['jsonPath'] = path
    out = []
    for n in sorted(fields):
        f = fields[n]
        d = {'label': n, 'type': f['type'], 'cardinality': len(f['values']),
             'parsers': f['parsers']}
        if f.get('jsonPath'):
            d['jsonPath'] = f['jsonPath']
        out.append(d)
    return {'fields': out, 'limit': limit} if out else {}

def run_detected_fields():
    s, b = get('/loki/api/v1/detected_fields', query='{cluster="c1"}', start=START, end=END)
    check('detected fields of json and logfmt lines and metadata',
          detected_fields(eq('cluster', 'c1')), json.loads(b))
    s, b = get('/loki/api/v1/detected_fields', query='{cluster="c1"}', line_limit=2,
               start=START, end=END)
    check('the last line_limit lines only',
          detected_fields(eq('cluster', 'c1'), line_limit=2), json.loads(b))
    s, b = get('/loki/api/v1/detected_fields', query='{app="api"} | json | level="error"',
               limit=2, start=START, end=END)
    check('the query\'s pipeline filters; limit caps the fields',
          2, len(json.loads(b).get('fields', [])))
    s, b = get('/loki/api/v1/detected_fields', query='{app="web"}', start=START, end=END)
    check('plain lines have no field', {}, json.loads(b))
    s, b = get('/loki/api/v1/detected_field/level/values', query='{cluster="c1"}',
               start=START, end=END)
    check('the values of a field', {'limit': 1000, 'values': ['error', 'info', 'warn']},
          json.loads(b))
    s, b = get('/loki/api/v1/detected_field/size/values', query='{app="api"}',
               start=START, end=END)
    check('bytes values as go-humanize writes them', {'limit': 1000, 'values': ['10kB']},
          json.loads(b))
    s, b = get('/loki/api/v1/detected_fields', query='{app="api"}', line_limit=0)
    check('line_limit 0', [400, 'limit must be a positive value'], [s, b.strip()])
    s, b = get('/loki/api/v1/detected_fields', query='{app="api"}', line_limit=6000)
    check('line_limit over max_entries_limit_per_query',
          [400, 'max entries limit per query exceeded, limit > max_entries_limit_per_query (6000 > 5000)'],
          [s, b.strip()])

def run_patterns():
    s, b = get('/loki/api/v1/patterns', query='{app="api"}', start=START, end=END)
    check('patterns: none', [200, {'status': 'success', 'data': []}], [s, json.loads(b)])

if sys.argv[1] == 'push':
    push()
else:
    run_volume()
    run_detected_labels()
    run_detected_fields()
    run_patterns()
PY

export NOW=$(date -u +%s)
python3 "$T/drilldown.py" push || die "making the data"
"$RECV" -T drill "$T/push.json" || die "logthra-recv"
run "$FLUSH"
check_rc 0 "logthra-flush"

python3 "$T/drilldown.py" check >"$T/checks" 2>"$T/checks.err" ||
	die "the checks failed to run: $(cat "$T/checks.err")"
while IFS=$'\t' read -r tag what expected actual; do
	[[ "$tag" == CHECK ]] || continue
	check_eq "$expected" "$actual" "$what"
done <"$T/checks"

finish
