#!/usr/bin/env python3
"""The data set of tests/integration/query.sh and a second, simple
implementation of what Loki answers for each of its queries.

  query-ref.py gen DIR BASE          writes DIR/TENANT-N.json pushes
  query-ref.py expect NAME BASE      prints the expected answer of query NAME
  query-ref.py answer FILE           prints an answer of logthra-query the
                                     same way, for comparison
  query-ref.py list                  prints "NAME<TAB>LOGQL<TAB>PARAMS" lines

Nothing here parses LogQL: each query is written twice, once as LogQL for
logthra-query and once as Python functions, by hand, following Loki's
documented behaviour (docs/sources/query/log_queries).  The answers are
compared in one canonical text: streams sorted by their labels, each with
its entries in the order given; __error_details__ is left out (its text
is Go's JSON parser's), as is the order of the streams themselves, which
Loki does not fix.
"""
import json
import re
import sys

TENANTS = ("acme", "beta")
STEP_S = 17  # seconds between entries of one stream


def entries(base):
    """Every entry pushed: (tenant, labels, metadata, ts_ns, line)."""
    out = []

    def add(tenant, labels, i, line, meta=None, ns=0):
        ts = (base + i * STEP_S) * 1000000000 + ns
        out.append((tenant, dict(labels), dict(meta or {}), ts, line))

    for t, tn in ((TENANTS[0], 0), (TENANTS[1], 1)):
        tag = t[0]
        api_info = {"app": "api", "env": "prod", "level": "info"}
        api_err = {"app": "api", "env": "prod", "level": "error"}
        for i in range(60):
            status = (200, 200, 404, 500, 201)[i % 5]
            dur = (3, 12, 150, 1200, 45)[i % 5]
            line = json.dumps({
                "status": status, "path": "/users/%d" % (i % 7),
                "duration": "%dms" % dur, "msg": "%s request %d" % (tag, i),
                "user": {"id": i % 4, "name": ("ann", "bob", "cy", "di")[i % 4]},
            }, separators=(",", ":"))
            if i % 13 == 0:
                # Not JSON from its first byte: Loki's parser then sets no
                # label (one that fails later keeps what it read so far).
                line = "broken line: status=500 path=/broken %s" % tag
            if i % 11 == 0:
                line = json.dumps({"app": "inner", "status": status,
                                   "msg": "%s clash %d" % (tag, i)},
                                  separators=(",", ":"))
            add(t, api_info, i, line, ns=tn * 1000 + 1)
        for i in range(20):
            add(t, api_err, i * 3 + 1, json.dumps({
                "status": 500, "path": "/pay", "error": "timeout after %ds" % i,
                "msg": "%s failure %d" % (tag, i)}, separators=(",", ":")),
                ns=tn * 1000 + 2)
        web_stage = {"app": "web", "env": "stage"}
        for i in range(40):
            method = ("GET", "POST", "GET", "DELETE")[i % 4]
            line = 'level=%s method=%s path=/p%d duration=%s size=%s msg="%s hello %d"' % (
                ("info", "warn", "info", "debug")[i % 4], method, i % 5,
                ("250ms", "1.5s", "3s", "900ms", "2m")[i % 5],
                ("512B", "20KB", "1.5MiB", "9KB")[i % 4], tag, i)
            add(t, web_stage, i, line, ns=tn * 1000 + 3)
        web_blue = {"app": "web", "env": "prod", "team": "blue"}
        for i in range(30):
            status = (200, 304, 200, 503)[i % 4]
            line = "%s /index%d.html %d %d" % (("GET", "HEAD")[i % 2], i % 3, status, 100 + i)
            if i % 5 == 0:
                line = "\x1b[31m" + line + "\x1b[0m"
            add(t, web_blue, i, line, ns=tn * 1000 + 4)
        db = {"app": "db"}
        for i in range(25):
            add(t, db, i, "%s query took %dms rows=%d" % (tag, i * 7, i),
                meta={"trace_id": "tr%d" % (i % 3)}, ns=tn * 1000 + 5)
    return out


def pushes(base):
    """The entries as Loki JSON pushes, a push per tenant and stream, and
    one entry pushed twice (Loki shows it once)."""
    streams = {}
    for t, labels, meta, ts, line in entries(base):
        key = (t, json.dumps(labels, sort_keys=True))
        v = [str(ts), line] + ([meta] if meta else [])
        streams.setdefault(key, []).append(v)
    out = []
    for (t, lab), values in sorted(streams.items()):
        out.append((t, {"streams": [{"stream": json.loads(lab), "values": values}]}))
        if json.loads(lab) == {"app": "db"}:
            out.append((t, {"streams": [{"stream": json.loads(lab), "values": values[:1]}]}))
    return out


# --- Loki's stages, simply -------------------------------------------------

def sanitize(name):
    return re.sub(r"[^a-zA-Z0-9_]", "_", name)


def add_parsed(labels, name, value):
    """A parsed label: NAME_extracted when the entry has NAME already."""
    if name in labels and not name.startswith("__"):
        name += "_extracted"
    labels[name] = value


def json_parse(labels, line):
    try:
        obj = json.loads(line)
        if not isinstance(obj, dict):
            raise ValueError
    except ValueError:
        labels["__error__"] = "JSONParserErr"
        return

    def walk(prefix, o):
        for k, v in o.items():
            name = prefix + sanitize(k)
            if isinstance(v, dict):
                walk(name + "_", v)
            elif isinstance(v, bool):
                add_parsed(labels, name, "true" if v else "false")
            elif isinstance(v, (int, float)):
                add_parsed(labels, name, json.dumps(v))
            elif isinstance(v, str):
                add_parsed(labels, name, v)
    walk("", obj)


def logfmt_parse(labels, line):
    for m in re.finditer(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)', line):
        v = m.group(2)
        if v.startswith('"'):
            v = json.loads(v)
        add_parsed(labels, m.group(1), v)


UNITS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


def duration(s):
    total, pos = 0.0, 0
    for m in re.finditer(r"([0-9.]+)(ns|us|ms|s|m|h)", s):
        if m.start() != pos:
            raise ValueError(s)
        total += float(m.group(1)) * UNITS[m.group(2)]
        pos = m.end()
    if pos != len(s) or pos == 0:
        raise ValueError(s)
    return total


SIZES = {"B": 1, "KB": 1000, "KiB": 1024, "MB": 1000**2, "MiB": 1024**2}


def size(s):
    m = re.fullmatch(r"([0-9.]+)\s*([A-Za-z]*)", s)
    return float(m.group(1)) * SIZES[m.group(2) or "B"]


def num(labels, name, conv, pred):
    """A numeric label filter as Loki's (pkg/logql/log/label_filter.go):
    an entry without the label is dropped, one whose value does not
    convert is kept, with __error__=LabelFilterErr unless it has an error
    already."""
    if name not in labels:
        return False
    try:
        return pred(conv(labels[name]))
    except (ValueError, KeyError, AttributeError, TypeError):
        labels.setdefault("__error__", "LabelFilterErr")
        return True


def decolorize(line):
    return re.sub(r"\x1b\[[0-9;]*m", "", line)


# Each query: NAME -> (LogQL, extra URL parameters, selector, pipeline).
# pipeline(labels, line) returns (labels, line) or None to drop.
def p_none(lab, line):
    return lab, line


def chain(*stages):
    def run(lab, line):
        for s in stages:
            r = s(lab, line)
            if r is None:
                return None
            lab, line = r
        return lab, line
    return run


def contains(s):
    return lambda lab, line: (lab, line) if s in line else None


def not_contains(s):
    return lambda lab, line: (lab, line) if s not in line else None


def matches(r):
    return lambda lab, line: (lab, line) if re.search(r, line) else None


def parse_json(lab, line):
    lab = dict(lab)
    json_parse(lab, line)
    return lab, line


def parse_logfmt(lab, line):
    lab = dict(lab)
    logfmt_parse(lab, line)
    return lab, line


def keep_if(pred):
    return lambda lab, line: (lab, line) if pred(lab) else None


def pattern_blue(lab, line):
    lab = dict(lab)
    m = re.fullmatch(r"(.*?) (.*?) (.*?) (.*)", line)
    if m:
        for k, v in zip(("method", "path", "status", "size"), m.groups()):
            add_parsed(lab, k, v)
    return lab, line


def regexp_blue(lab, line):
    lab = dict(lab)
    m = re.search(r"(?P<verb>[A-Z]+) (?P<page>\S+)", line)
    if m:
        for k, v in m.groupdict().items():
            add_parsed(lab, k, v)
    return lab, line


def json_params(lab, line):
    lab = dict(lab)
    try:
        obj = json.loads(line)
    except ValueError:
        obj = None
    if not isinstance(obj, dict):
        # An error and no label: the filter on code then drops it.
        lab["__error__"] = "JSONParserErr"
        return (lab, line) if num(lab, "code", float, lambda v: v == 200) else None
    who = obj.get("user", {}).get("name") if isinstance(obj.get("user"), dict) else None
    add_parsed(lab, "who", "" if who is None else str(who))
    code = obj.get("status")
    add_parsed(lab, "code", "" if code is None else json.dumps(code))
    if not num(lab, "code", float, lambda v: v == 200):
        return None
    return lab, line


def app_is(*apps):
    return lambda l: l.get("app") in apps


QUERIES = {
    "all-api": ('{app="api"}', {"limit": "1000"}, app_is("api"), p_none),
    "api-10-backward": ('{app="api"}', {"limit": "10"}, app_is("api"), p_none),
    "api-15-forward": ('{app="api"}', {"limit": "15", "direction": "forward"},
                       app_is("api"), p_none),
    "regex-selector": ('{app=~"web|db"}', {"limit": "1000"}, app_is("web", "db"), p_none),
    "not-equal": ('{app="api", level!="error"}', {"limit": "1000"},
                  lambda l: l["app"] == "api" and l.get("level") != "error", p_none),
    "not-regex": ('{env="prod", app!~"a.*"}', {"limit": "1000"},
                  lambda l: l.get("env") == "prod" and not re.fullmatch("a.*", l["app"]), p_none),
    "absent-label": ('{app=~".+", team=""}', {"limit": "1000"},
                     lambda l: "team" not in l, p_none),
    "contains": ('{app="api"} |= "users"', {"limit": "1000"}, app_is("api"), contains("users")),
    "chained": ('{app="api"} != "users" |~ "st.tus"', {"limit": "1000"}, app_is("api"),
                chain(not_contains("users"), matches("st.tus"))),
    "or-filter": ('{app="web"} |= "POST" or "DELETE"', {"limit": "1000"}, app_is("web"),
                  lambda lab, line: (lab, line) if "POST" in line or "DELETE" in line else None),
    "case-regex": ('{app="db"} |~ "(?i)QUERY took 1"', {"limit": "1000"}, app_is("db"),
                   matches("(?i)QUERY took 1")),
    "json": ('{app="api"} | json', {"limit": "1000"}, app_is("api"), parse_json),
    "json-status": ('{app="api", level="info"} | json | status >= 400', {"limit": "1000"},
                    lambda l: l["app"] == "api" and l.get("level") == "info",
                    chain(parse_json, keep_if(lambda lab: num(lab, "status", float,
                                                              lambda v: v >= 400)))),
    "json-no-errors": ('{app="api"} | json | __error__=""', {"limit": "1000"}, app_is("api"),
                       chain(parse_json, keep_if(lambda lab: "__error__" not in lab))),
    "json-params": ('{app="api", level="info"} | json who="user.name", code="status" | code = 200',
                    {"limit": "1000"}, lambda l: l["app"] == "api" and l.get("level") == "info",
                    json_params),
    "json-duration": ('{app="api"} | json | __error__="" | duration > 100ms', {"limit": "1000"},
                      app_is("api"),
                      chain(parse_json, keep_if(lambda lab: "__error__" not in lab),
                            keep_if(lambda lab: num(lab, "duration", duration, lambda v: v > 0.1)))),
    "logfmt-duration": ('{app="web", env="stage"} | logfmt | duration > 1s', {"limit": "1000"},
                        lambda l: l == {"app": "web", "env": "stage"},
                        chain(parse_logfmt,
                              keep_if(lambda lab: num(lab, "duration", duration, lambda v: v > 1)))),
    "logfmt-size": ('{app="web", env="stage"} | logfmt | size > 10KB', {"limit": "1000"},
                    lambda l: l == {"app": "web", "env": "stage"},
                    chain(parse_logfmt,
                          keep_if(lambda lab: num(lab, "size", size, lambda v: v > 10000)))),
    "logfmt-or": ('{app="web", env="stage"} | logfmt | level="warn" or method="DELETE"',
                  {"limit": "1000"}, lambda l: l == {"app": "web", "env": "stage"},
                  chain(parse_logfmt, keep_if(lambda lab: lab.get("level") == "warn" or
                                              lab.get("method") == "DELETE"))),
    "line-format": ('{app="web", env="stage"} | logfmt | line_format "{{.method}} {{.path}}"',
                    {"limit": "1000"}, lambda l: l == {"app": "web", "env": "stage"},
                    chain(parse_logfmt, lambda lab, line: (lab, "%s %s" % (lab["method"], lab["path"])))),
    "line-format-upper": ('{app="web", env="stage"} | logfmt | line_format "{{ .msg | ToUpper }}"',
                          {"limit": "1000"}, lambda l: l == {"app": "web", "env": "stage"},
                          chain(parse_logfmt, lambda lab, line: (lab, lab["msg"].upper()))),
    "filter-after-format": ('{app="web", env="stage"} | logfmt | line_format "{{.method}}" |= "GET"',
                            {"limit": "1000"}, lambda l: l == {"app": "web", "env": "stage"},
                            chain(parse_logfmt, lambda lab, line: (lab, lab["method"]),
                                  contains("GET"))),
    "pattern": ('{team="blue"} | pattern "<method> <path> <status> <size>" | status="200"',
                {"limit": "1000"}, lambda l: l.get("team") == "blue",
                chain(pattern_blue, keep_if(lambda lab: lab.get("status") == "200"))),
    "regexp": ('{team="blue"} | regexp "(?P<verb>[A-Z]+) (?P<page>\\\\S+)"', {"limit": "1000"},
               lambda l: l.get("team") == "blue", regexp_blue),
    "decolorize": ('{team="blue"} | decolorize', {"limit": "1000"},
                   lambda l: l.get("team") == "blue", lambda lab, line: (lab, decolorize(line))),
    "metadata": ('{app="db"} | trace_id="tr1"', {"limit": "1000"}, app_is("db"),
                 keep_if(lambda lab: lab.get("trace_id") == "tr1")),
    "drop": ('{app="api", level="error"} | json | drop msg, user_name, error',
             {"limit": "1000"}, lambda l: l.get("level") == "error",
             chain(parse_json, lambda lab, line: (
                 {k: v for k, v in lab.items() if k not in ("msg", "user_name", "error")}, line))),
    "keep": ('{app="api", level="error"} | json | keep app, path', {"limit": "1000"},
             lambda l: l.get("level") == "error",
             chain(parse_json, lambda lab, line: (
                 {k: v for k, v in lab.items() if k in ("app", "path")}, line))),
    "label-format": ('{app="api", level="error"} | json | label_format where=path',
                     {"limit": "1000"}, lambda l: l.get("level") == "error",
                     chain(parse_json, lambda lab, line: (
                         dict({k: v for k, v in lab.items() if k != "path"}, where=lab["path"]),
                         line))),
}


def expected(name, base, tenant):
    logql, params, sel, pipe = QUERIES[name]
    limit = int(params.get("limit", "100"))
    forward = params.get("direction") == "forward"
    seen, kept = set(), []
    for t, labels, meta, ts, line in entries(base):
        if t != tenant or not sel(labels):
            continue
        lab = dict(labels)
        lab.update(meta)
        r = pipe(lab, line)
        if r is None:
            continue
        key = (json.dumps(r[0], sort_keys=True), ts, r[1])
        if key not in seen:
            seen.add(key)
            kept.append(key)
    kept.sort(key=lambda k: k[1], reverse=not forward)
    return canonical(kept[:limit])


def canonical(rows):
    """rows of (labels json, ts, line), in answer order, as text."""
    streams = {}
    for lab, ts, line in rows:
        labels = json.loads(lab)
        labels.pop("__error_details__", None)
        streams.setdefault(json.dumps(labels, sort_keys=True), []).append((ts, line))
    out = []
    for lab in sorted(streams):
        out.append("stream " + lab)
        out.extend("  %d %s" % (ts, json.dumps(line)) for ts, line in streams[lab])
    return "\n".join(out)


def answer(path):
    doc = json.load(open(path))
    assert doc["status"] == "success", doc
    assert doc["data"]["resultType"] == "streams", doc["data"]["resultType"]
    rows = []
    for s in doc["data"]["result"]:
        lab = json.dumps(s["stream"], sort_keys=True)
        rows.extend((lab, int(v[0]), v[1]) for v in s["values"])
    return canonical(rows)


def main():
    cmd = sys.argv[1]
    if cmd == "gen":
        d, base = sys.argv[2], int(sys.argv[3])
        for n, (t, push) in enumerate(pushes(base)):
            with open("%s/%s-%d.json" % (d, t, n), "w") as f:
                json.dump(push, f)
    elif cmd == "expect":
        print(expected(sys.argv[2], int(sys.argv[3]), sys.argv[4]))
    elif cmd == "answer":
        print(answer(sys.argv[2]))
    elif cmd == "list":
        for name, (logql, params, _, _) in QUERIES.items():
            print("%s\t%s\t%s" % (name, logql,
                                  "&".join("%s=%s" % kv for kv in params.items())))
    elif cmd == "labels":
        # label names, values of app, series of app=api or app=db, stats
        base, tenant = int(sys.argv[2]), sys.argv[3]
        es = [e for e in entries(base) if e[0] == tenant]
        names = sorted({k for e in es for k in e[1]})
        apps = sorted({e[1]["app"] for e in es})
        prod_apps = sorted({e[1]["app"] for e in es if e[1].get("env") == "prod"})
        series = sorted({json.dumps(e[1], sort_keys=True) for e in es
                         if e[1]["app"] in ("api", "db")})
        api = [e for e in es if e[1]["app"] == "api"]
        print(json.dumps({"labels": names, "app": apps, "prod_apps": prod_apps,
                          "series": [json.loads(s) for s in series],
                          "api_streams": len({json.dumps(e[1], sort_keys=True) for e in api}),
                          "api_entries": len(api),
                          "api_bytes": sum(len(e[4].encode()) for e in api)},
                         sort_keys=True))
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
