#!/usr/bin/env python3
"""The data set of tests/integration/metric-answers.sh and a second, simple
implementation of what Loki answers for each of its metric queries.

  metric-ref.py gen DIR BASE             writes DIR/TENANT-N.json pushes
  metric-ref.py list BASE                prints "NAME<TAB>PATH<TAB>TENANT<TAB>LOGQL<TAB>PARAMS"
                                         lines (PATH query or query_range,
                                         PARAMS k=v joined by &)
  metric-ref.py check DIR BASE [--detected-level] [--only-present]
                                         compares DIR/NAME.json (the answer)
                                         and DIR/NAME.status (its HTTP status)
                                         with the expected answer of every
                                         query; prints "ok NAME" or
                                         "FAIL NAME: why" lines
  metric-ref.py expect NAME BASE         prints the expected answer (JSON)
  metric-ref.py --self-test              hand-computed cases

Nothing here parses LogQL: each query is written twice, once as LogQL for
logthra-query and once as a small tree of Python tuples built by hand.
The log part of a query (selector and stages) is run by query-ref.py's
stages.  The tree is evaluated by brute force: at every step t, the range
aggregation looks at every entry with t - offset - range < ts <= t -
offset (pkg/logql/range_vector.go: the lower bound is not inclusive), and
a series without entries in the window has no point at that step.  The
rest follows pkg/logql/evaluator.go (vector aggregations, binary operators
with Prometheus's vector matching, label_replace, absent_over_time's
labels), engine.go (a range query's series sorted by labels; an instant
query's too unless it uses sort or sort_desc) and Prometheus's quantile.

An answer matches when it has the same series (label sets, in the same
order), the same timestamps, and values equal within 1e-9 relative
(NaN equals NaN), each value written as Go's strconv.FormatFloat(v, 'f',
-1, 64) writes it.
"""
import importlib.util
import json
import math
import os
import re
import sys

_here = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("query_ref", os.path.join(_here, "query-ref.py"))
qr = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(qr)

NS = 1000000000
TENANTS = ("acme", "beta")


# --- The data set ----------------------------------------------------------

def entries(base):
    """Every entry pushed: (tenant, labels, metadata, ts_ns, line).  base is
    a whole minute; the entries span its next two hours."""
    out = []

    def add(tenant, labels, ts_ns, line, meta=None):
        out.append((tenant, dict(labels), dict(meta or {}), ts_ns, line))

    t = "acme"
    info = {"app": "api", "env": "prod", "level": "info"}
    for i in range(180):
        obj = {"status": (200, 200, 404, 500, 201, 200, 503)[i % 7],
               "route": "/r%d" % (i % 3),
               "latency": "%d" % ((i * 37) % 500 + 1),
               "took": ("120ms", "1.5s", "45ms", "2s", "bad", "300us")[i % 6],
               "size": ("3KB", "512B", "1.5MiB", "junk", "20kB")[i % 5],
               "hits": (i % 60) * 4 + i // 60,
               "msg": "request %d" % i}
        line = json.dumps(obj, separators=(",", ":"))
        if i % 19 == 5:
            line = "panic: not json at all %d" % i
        add(t, info, (base + 40 * i + 3) * NS, line)
    err = {"app": "api", "env": "prod", "level": "error"}
    for i in range(60):
        # exactly on whole minutes: the edges of 1m windows
        add(t, err, (base + 60 * (2 * i + 1)) * NS, json.dumps({
            "status": 500, "route": "/pay", "latency": "%d" % (1000 + 10 * i),
            "took": "%dms" % (100 + i), "msg": "failure %d" % i},
            separators=(",", ":")))
    web = {"app": "web", "env": "stage", "level": "warn"}
    for i in range(160):
        add(t, web, (base + 45 * i + 7) * NS,
            'method=%s path=/p%d duration=%s bytes=%s requests=%d msg="hello %d"' % (
                ("GET", "POST", "GET", "DELETE")[i % 4], i % 5,
                ("250ms", "1.5s", "3s", "900ms", "oops")[i % 5],
                ("512B", "20KB", "1.5MiB", "9KB")[i % 4],
                (i % 50) * 3 + i // 50, i))
    db = {"app": "db", "env": "prod"}
    for i in range(100):
        add(t, db, (base + 70 * i + 11) * NS, "query took %dms rows=%d" % (i * 7 % 90, i),
            meta={"trace_id": "tr%d" % (i % 3)})
    edge = {"app": "edge", "env": "dev", "level": "debug"}
    for k in range(12, 120, 12):
        # on a minute, a nanosecond after and a nanosecond before one
        add(t, edge, (base + 60 * k) * NS, "edge at %d" % k)
        add(t, edge, (base + 60 * (k + 1)) * NS + 1, "edge after %d" % k)
        add(t, edge, (base + 60 * (k + 2)) * NS - 1, "edge before %d" % k)
    t = "beta"
    for team in ("a", "b", "c", "d", "e"):
        for i in range(30):
            add(t, {"app": "api", "env": "prod", "team": team},
                (base + 200 * i + ord(team)) * NS, "beta %s %d" % (team, i))
    return out


def pushes(base):
    streams = {}
    for t, labels, meta, ts, line in entries(base):
        key = (t, json.dumps(labels, sort_keys=True))
        v = [str(ts), line] + ([meta] if meta else [])
        streams.setdefault(key, []).append(v)
    return [(t, {"streams": [{"stream": json.loads(lab), "values": values}]})
            for (t, lab), values in sorted(streams.items())]


LEVEL_FIELDS = ("level", "LEVEL", "Level", "log.level", "severity", "SEVERITY", "Severity",
                "SeverityText", "lvl", "LVL", "Lvl", "severity_text", "Severity_Text", "SEVERITY_TEXT")
LEVEL_WORDS = {"trace": "trace", "trc": "trace", "debug": "debug", "dbg": "debug",
               "info": "info", "inf": "info", "information": "info", "warn": "warn",
               "wrn": "warn", "warning": "warn", "error": "error", "err": "error",
               "critical": "critical", "fatal": "fatal"}


def normalize_level(v):
    return LEVEL_WORDS.get(v.lower(), v)


def detected_level(labels, meta, line):
    """Loki's detected_level for an entry, for a server that stores it as
    structured metadata at ingestion (pkg/distributor/field_detection.go):
    a level stream label, else a level item of the metadata, else a level
    field of a JSON object or logfmt line, else the first level word
    standing alone in the line, else "unknown"."""
    for source in (labels, meta):
        for name in LEVEL_FIELDS:
            if source.get(name):
                return normalize_level(source[name])
    try:
        obj = json.loads(line)
    except ValueError:
        obj = None
    if isinstance(obj, dict):
        for name in LEVEL_FIELDS:
            if isinstance(obj.get(name), str) and obj[name].lower() in LEVEL_WORDS:
                return normalize_level(obj[name])
    else:
        for k, v in re.findall(r'(\w+)=("[^"]*"|\S*)', line):
            if k.lower() in [f.lower() for f in LEVEL_FIELDS] and v.strip('"').lower() in LEVEL_WORDS:
                return normalize_level(v.strip('"'))
    words = re.findall(r"[A-Za-z]+", line)
    for w in ("trace", "debug", "fatal", "critical", "error", "err", "warning", "warn", "info"):
        if any(x.lower() == w for x in words):
            return LEVEL_WORDS[w]
    return "unknown"


# --- Conversions as Loki's unwrap does them ------------------------------

def conv_float(s):
    # strconv.ParseFloat: no spaces, no trailing text
    if not re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?(Inf|inf|NaN)", s):
        raise ValueError(s)
    return float(s)


def conv_duration(s):
    return qr.duration(s)


BYTE_UNITS = {"": 1, "b": 1, "k": 1e3, "kb": 1e3, "ki": 1024, "kib": 1024,
              "m": 1e6, "mb": 1e6, "mi": 1024**2, "mib": 1024**2,
              "g": 1e9, "gb": 1e9, "gi": 1024**3, "gib": 1024**3}


def conv_bytes(s):
    # go-humanize's ParseBytes: a number, optional spaces, a unit of any case
    m = re.fullmatch(r"([0-9.,]+)\s*([A-Za-z]*)", s)
    if not m or m.group(2).lower() not in BYTE_UNITS:
        raise ValueError(s)
    return float(int(float(m.group(1).replace(",", "")) * BYTE_UNITS[m.group(2).lower()]))


CONV = {"num": conv_float, "duration": conv_duration, "bytes": conv_bytes}


# --- The tree ----------------------------------------------------------------
# ("range", op, spec) spec: dict sel, pipe, range (s), offset (s), unwrap,
#     conv, post (a label predicate after the unwrap, may mark nothing),
#     param, by, without, absent (absent_over_time's labels)
# ("agg", op, inner, by, without, param)
# ("bin", op, left, right, opts) opts: dict bool, on, ignoring, card
#     ("one", "left", "right"), include
# ("num", v)  ("vector", v)  ("label_replace", inner, dst, repl, src, regex)
# ("refused", why): a query Loki refuses with a 400 saying why

class QueryError(Exception):
    pass


def key(labels):
    return tuple(sorted(labels.items()))


def rng(op, sel, r, **kw):
    spec = {"sel": sel, "pipe": qr.p_none, "range": r, "offset": 0, "unwrap": None,
            "conv": "num", "post": None, "param": None, "by": None, "without": None,
            "absent": {}}
    spec.update(kw)
    return ("range", op, spec)


def agg(op, inner, by=None, without=None, param=None):
    return ("agg", op, inner, by, without, param)


def binop(op, left, right, **opts):
    return ("bin", op, left, right, opts)


def num(v):
    return ("num", v)


def samples_of(spec, op, base, tenant, dl):
    """The samples of a range aggregation: (ts_ns, labels, value)."""
    out = []
    for t, labels, meta, ts, line in entries(base):
        if t != tenant or not spec["sel"](labels):
            continue
        lab = dict(labels)
        lab.update(meta)
        if dl:
            lab["detected_level"] = detected_level(labels, meta, line)
        r = spec["pipe"](lab, line)
        if r is None:
            continue
        lab, line = dict(r[0]), r[1]
        if spec["unwrap"] is None:
            v = float(len(line.encode())) if op in ("bytes_over_time", "bytes_rate") else 1.0
            out.append((ts, lab, v))
            continue
        s = lab.get(spec["unwrap"], "")
        if s == "":
            continue  # an entry without the label gives no sample
        try:
            v = CONV[spec["conv"]](s)
        except (ValueError, KeyError):
            lab["__error__"] = "SampleExtractionErr"
            v = 0.0
        if spec["post"] is not None and not spec["post"](lab):
            continue
        if "__error__" not in lab:
            if spec["by"] is not None:
                lab = {k: v2 for k, v2 in lab.items() if k in spec["by"]}
            else:
                drop = set(spec["without"] or ()) | {spec["unwrap"]}
                lab = {k: v2 for k, v2 in lab.items() if k not in drop}
        out.append((ts, lab, v))
    return out


def extrapolated_rate(pts, range_s):
    """Loki's rate_counter: Prometheus's extrapolatedRate as Loki calls it,
    with timestamps in nanoseconds against a range in milliseconds."""
    if len(pts) < 2:
        return 0.0
    range_ms = int(range_s * 1000)
    t0, tl = pts[0][0], pts[-1][0]
    result = pts[-1][1] - pts[0][1]
    last = 0.0
    for _, v in pts:
        if v < last:
            result += last
        last = v
    to_start = float(t0 - (t0 - range_ms)) / 1000
    to_end = 0.0
    sampled = float(tl - t0) / 1000
    avg = sampled / (len(pts) - 1)
    if result > 0 and pts[0][1] >= 0:
        to_zero = sampled * (pts[0][1] / result)
        if to_zero < to_start:
            to_start = to_zero
    threshold = avg * 1.1
    interval = sampled
    interval += to_start if to_start < threshold else avg / 2
    interval += to_end if to_end < threshold else avg / 2
    if sampled == 0:
        return math.nan
    return result * (interval / sampled) / range_s


def quantile(q, values):
    if not values:
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    values = sorted(values)
    n = len(values)
    rank = q * (n - 1)
    lo = max(0, math.floor(rank))
    hi = min(n - 1, lo + 1)
    w = rank - math.floor(rank)
    return values[lo] * (1 - w) + values[hi] * w


def variance(values):
    mean = sum(values) / len(values)
    return sum((v - mean) ** 2 for v in values) / len(values)


def range_value(op, pts, spec):
    vals = [v for _, v in pts]
    r = spec["range"]
    if op == "count_over_time":
        return float(len(vals))
    if op == "rate":
        return (sum(vals) if spec["unwrap"] else len(vals)) / r
    if op in ("bytes_over_time", "sum_over_time"):
        return sum(vals)
    if op == "bytes_rate":
        return sum(vals) / r
    if op == "avg_over_time":
        return sum(vals) / len(vals)
    if op == "min_over_time":
        return min(vals)
    if op == "max_over_time":
        return max(vals)
    if op == "first_over_time":
        return vals[0]
    if op == "last_over_time":
        return vals[-1]
    if op == "stdvar_over_time":
        return variance(vals)
    if op == "stddev_over_time":
        return math.sqrt(variance(vals))
    if op == "quantile_over_time":
        return quantile(spec["param"], vals)
    if op == "rate_counter":
        return extrapolated_rate(pts, r)
    raise ValueError(op)


def eval_range(op, spec, steps, ctx):
    samples = samples_of(spec, op, ctx["base"], ctx["tenant"], ctx["dl"])
    off, r = int(spec["offset"] * NS), int(spec["range"] * NS)
    out = []
    for t in steps:
        lo, hi = t - off - r, t - off
        series = {}
        for ts, lab, v in samples:
            if lo < ts <= hi:
                if "__error__" in lab:
                    raise QueryError("pipeline error: '%s'" % lab["__error__"])
                series.setdefault(key(lab), []).append((ts, v))
        if op == "absent_over_time":
            out.append({} if series else {key(spec["absent"]): 1.0})
            continue
        vec = {}
        for k, pts in series.items():
            pts.sort(key=lambda p: p[0])
            vec[k] = range_value(op, pts, spec)
        out.append(vec)
    return ("vector", out)


def group_key(labels, by, without):
    d = dict(labels)
    if without is not None:
        return key({k: v for k, v in d.items() if k not in without})
    return key({k: v for k, v in d.items() if k in (by or ())})


def eval_agg(node, steps, ctx):
    _, op, inner, by, without, param = node
    kind, vecs = evaluate(inner, steps, ctx)
    assert kind == "vector"
    out = []
    for vec in vecs:
        groups = {}
        for k, v in vec.items():
            groups.setdefault(group_key(k, by, without), []).append((k, v))
        res = {}
        for g, members in groups.items():
            vals = [v for _, v in members]
            if op in ("topk", "bottomk"):
                if param < 1:
                    continue
                members.sort(key=lambda kv: kv[1], reverse=(op == "topk"))
                k = int(param)
                if len(members) > k and members[k - 1][1] == members[k][1]:
                    raise AssertionError("a tie decides %s: change the data" % op)
                res.update(members[:k])
            elif op in ("sort", "sort_desc"):
                if len(set(vals)) != len(vals):
                    raise AssertionError("a tie decides %s's order: change the data" % op)
                res.update(members)
            elif op == "sum":
                res[g] = sum(vals)
            elif op == "avg":
                res[g] = sum(vals) / len(vals)
            elif op == "min":
                res[g] = min(vals)
            elif op == "max":
                res[g] = max(vals)
            elif op == "count":
                res[g] = float(len(vals))
            elif op == "stdvar":
                res[g] = variance(vals)
            elif op == "stddev":
                res[g] = math.sqrt(variance(vals))
            else:
                raise ValueError(op)
        out.append(res)
    return ("vector", out)


def arith(op, a, b):
    """The value of a op b, or None when a comparison is false."""
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        return math.nan if b == 0 else a / b
    if op == "%":
        return math.nan if b == 0 else math.fmod(a, b)
    if op == "^":
        try:
            return math.pow(a, b)
        except (ValueError, OverflowError):
            return math.nan
    cmp = {"==": a == b, "!=": a != b, ">": a > b, ">=": a >= b,
           "<": a < b, "<=": a <= b}[op]
    return cmp


COMPARISONS = ("==", "!=", ">", ">=", "<", "<=")


def vector_scalar(op, vec, lit, lit_left, want_bool):
    res = {}
    for k, v in vec.items():
        a, b = (lit, v) if lit_left else (v, lit)
        r = arith(op, a, b)
        if op in COMPARISONS:
            if want_bool:
                res[k] = 1.0 if r else 0.0
            elif r:
                res[k] = v  # the vector's value, whichever side it is on
        else:
            res[k] = r
    return res


def signature(k, opts):
    d = dict(k)
    if opts.get("on") is not None:
        return key({n: v for n, v in d.items() if n in opts["on"]})
    ign = opts.get("ignoring") or ()
    return key({n: v for n, v in d.items() if n not in ign})


def result_labels(lk, rk, opts):
    d = dict(lk)
    if opts.get("card", "one") == "one":
        if opts.get("on") is not None:
            d = {n: v for n, v in d.items() if n in opts["on"]}
        else:
            for n in opts.get("ignoring") or ():
                d.pop(n, None)
    r = dict(rk)
    for n in opts.get("include") or ():
        if r.get(n, ""):
            d[n] = r[n]
        else:
            d.pop(n, None)
    return key(d)


def vector_vector(op, lvec, rvec, opts):
    lsig = {k: signature(k, opts) for k in lvec}
    rsig = {k: signature(k, opts) for k in rvec}
    if op == "and":
        if not lvec or not rvec:
            return {}
        rs = set(rsig.values())
        return {k: v for k, v in lvec.items() if lsig[k] in rs}
    if op == "or":
        ls = set(lsig.values())
        res = dict(lvec)
        res.update({k: v for k, v in rvec.items() if rsig[k] not in ls})
        return res
    if op == "unless":
        if not lvec or not rvec:
            return dict(lvec)
        rs = set(rsig.values())
        return {k: v for k, v in lvec.items() if lsig[k] not in rs}
    card = opts.get("card", "one")
    many, one, msig, osig = lvec, rvec, lsig, rsig
    if card == "right":
        many, one, msig, osig = rvec, lvec, rsig, lsig
    by_sig = {}
    for k in one:
        if osig[k] in by_sig:
            raise QueryError("found duplicate series on the %s hand-side" %
                             ("left" if card == "right" else "right"))
        by_sig[osig[k]] = k
    res, matched = {}, set()
    for k, v in many.items():
        ok = by_sig.get(msig[k])
        if ok is None:
            continue
        if card == "one":
            if msig[k] in matched:
                raise QueryError("multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)")
            matched.add(msig[k])
        lk, lv, rk, rv = k, v, ok, one[ok]
        labels = result_labels(lk, rk, opts)
        if card == "right":
            lk, lv, rk, rv = ok, one[ok], k, v
        if card != "one" and labels in res:
            raise QueryError("multiple matches for labels: grouping labels must ensure unique matches")
        r = arith(op, lv, rv)
        if op in COMPARISONS:
            if opts.get("bool"):
                res[labels] = 1.0 if r else 0.0
            elif r:
                res[labels] = lv
        else:
            res[labels] = r
    return res


def eval_bin(node, steps, ctx):
    _, op, left, right, opts = node
    lk, lv = evaluate(left, steps, ctx)
    rk, rv = evaluate(right, steps, ctx)
    out = []
    for i in range(len(steps)):
        if lk == "scalar" and rk == "scalar":
            r = arith(op, lv[i], rv[i])
            out.append(float(r))
        elif lk == "scalar":
            out.append(vector_scalar(op, rv[i], lv[i], True, opts.get("bool")))
        elif rk == "scalar":
            out.append(vector_scalar(op, lv[i], rv[i], False, opts.get("bool")))
        else:
            out.append(vector_vector(op, lv[i], rv[i], opts))
    return ("scalar" if lk == rk == "scalar" else "vector", out)


def go_expand(template, m):
    """regexp.Expand: $1, ${1}, $name, ${name}; $$ is a dollar."""
    def sub(mm):
        if mm.group(0) == "$$":
            return "$"
        name = mm.group(1) or mm.group(2)
        try:
            g = m.group(int(name)) if name.isdigit() else m.group(name)
        except (IndexError, error_type()):
            g = None
        return g or ""
    return re.sub(r"\$\$|\$\{(\w+)\}|\$(\w+)", sub, template)


def error_type():
    return re.error


def eval_label_replace(node, steps, ctx):
    _, inner, dst, repl, src, regex = node
    kind, vecs = evaluate(inner, steps, ctx)
    out = []
    for vec in vecs:
        res = {}
        for k, v in vec.items():
            d = dict(k)
            m = re.fullmatch(regex, d.get(src, ""))
            if m:
                val = go_expand(repl, m)
                d.pop(dst, None)
                if val:
                    d[dst] = val
            res[key(d)] = v
        out.append(res)
    return ("vector", out)


def evaluate(node, steps, ctx):
    kind = node[0]
    if kind == "range":
        return eval_range(node[1], node[2], steps, ctx)
    if kind == "agg":
        return eval_agg(node, steps, ctx)
    if kind == "bin":
        return eval_bin(node, steps, ctx)
    if kind == "num":
        return ("scalar", [float(node[1])] * len(steps))
    if kind == "vector":
        return ("vector", [{(): float(node[1])} for _ in steps])
    if kind == "label_replace":
        return eval_label_replace(node, steps, ctx)
    if kind == "refused":
        raise QueryError(node[1])
    raise ValueError(kind)


def uses_sort(node):
    if node[0] == "agg" and node[1] in ("sort", "sort_desc"):
        return True
    return any(isinstance(c, tuple) and c and isinstance(c[0], str) and uses_sort(c)
               for c in node[1:])


def labels_compare_key(k):
    # Prometheus's labels.Compare: name, then value, label by label
    return [x for pair in k for x in pair]


def sort_labels(keys):
    """Sorted as labels.Compare sorts: label by label, a prefix first."""
    import functools

    def cmp(a, b):
        for (an, av), (bn, bv) in zip(a, b):
            if an != bn:
                return -1 if an < bn else 1
            if av != bv:
                return -1 if av < bv else 1
        return len(a) - len(b)
    return sorted(keys, key=functools.cmp_to_key(cmp))


def go_float(v):
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    r = repr(float(v))
    if "e" in r or "E" in r:
        # 'f' format, shortest digits: via decimal
        import decimal
        r = format(decimal.Decimal(r), "f")
    if r.endswith(".0"):
        r = r[:-2]
    return r


def ts_json(ns):
    s = ns / NS
    return int(s) if ns % NS == 0 else s


def expected_answer(q, base, dl=False):
    """Loki's answer to query q as a Python object, or ("error", status,
    text) for a refused query."""
    steps, instant = q["steps"](base), q["instant"]
    ctx = {"base": base, "tenant": q.get("tenant", "acme"), "dl": dl}
    try:
        kind, vals = evaluate(q["ast"], steps, ctx)
    except QueryError as e:
        return ("error", 400, str(e))
    if kind == "scalar":
        if instant:
            return {"status": "success", "data": {"resultType": "scalar",
                    "result": [ts_json(steps[0]), go_float(vals[0])]}}
        vals = [{(): v} for v in vals]
    if instant:
        vec = vals[0]
        order = list(vec) if uses_sort(q["ast"]) else sort_labels(vec)
        if uses_sort(q["ast"]):
            desc = any(node_ops(q["ast"], "sort_desc"))
            order = sorted(vec, key=lambda k: vec[k], reverse=desc)
        return {"status": "success", "data": {"resultType": "vector", "result": [
            {"metric": dict(k), "value": [ts_json(steps[0]), go_float(vec[k])]}
            for k in order]}}
    series = {}
    for t, vec in zip(steps, vals):
        for k, v in vec.items():
            series.setdefault(k, []).append([ts_json(t), go_float(v)])
    return {"status": "success", "data": {"resultType": "matrix", "result": [
        {"metric": dict(k), "values": series[k]} for k in sort_labels(series)]}}


def node_ops(node, op):
    if node[0] == "agg" and node[1] == op:
        yield True
    for c in node[1:]:
        if isinstance(c, tuple) and c and isinstance(c[0], str):
            yield from node_ops(c, op)


# --- Comparing ---------------------------------------------------------------

GO_FLOAT = re.compile(r"-?[0-9]+(\.[0-9]+)?|NaN|[+-]Inf")


def same_value(a, b):
    fa, fb = float(a), float(b)
    if math.isnan(fa) or math.isnan(fb):
        return math.isnan(fa) and math.isnan(fb)
    return math.isclose(fa, fb, rel_tol=1e-9, abs_tol=1e-12)


def ts_ms(x):
    return int(round(float(x) * 1000))


def compare(want, got):
    """None when got is want's answer, else why not."""
    if not isinstance(got, dict) or got.get("status") != "success":
        return "not a success: %.300s" % json.dumps(got)
    wd, gd = want["data"], got.get("data", {})
    if wd["resultType"] != gd.get("resultType"):
        return "resultType %s, want %s" % (gd.get("resultType"), wd["resultType"])
    wr, gr = wd["result"], gd.get("result")
    if wd["resultType"] == "scalar":
        if ts_ms(wr[0]) != ts_ms(gr[0]) or not GO_FLOAT.fullmatch(gr[1]) or not same_value(wr[1], gr[1]):
            return "scalar %s, want %s" % (gr, wr)
        return None
    wl = [s["metric"] for s in wr]
    gl = [s.get("metric") for s in gr]
    if wl != gl:
        return "series %s, want %s" % (json.dumps(gl)[:800], json.dumps(wl)[:800])
    for ws, gs in zip(wr, gr):
        wp = ws["values"] if "values" in ws else [ws["value"]]
        gp = gs.get("values") if "values" in ws else [gs.get("value")]
        if len(wp) != len(gp or []):
            return "series %s: %d points, want %d (got %s, want %s)" % (
                json.dumps(ws["metric"]), len(gp or []), len(wp),
                json.dumps([p[0] for p in gp or []])[:400], json.dumps([p[0] for p in wp])[:400])
        for w, g in zip(wp, gp):
            if ts_ms(w[0]) != ts_ms(g[0]) or not isinstance(g[1], str) \
                    or not GO_FLOAT.fullmatch(g[1]) or not same_value(w[1], g[1]):
                return "series %s at %s: %s, want %s" % (
                    json.dumps(ws["metric"]), w[0], json.dumps(g), json.dumps(w))
    return None


# --- The queries -----------------------------------------------------------

def app_is(*apps):
    return lambda l: l.get("app") in apps


def labels_are(**m):
    return lambda l: all(l.get(k) == v for k, v in m.items())


API_INFO = labels_are(app="api", level="info")
API = app_is("api")
WEB = app_is("web")
DB = app_is("db")
EDGE = app_is("edge")
JSON_OK = qr.chain(qr.parse_json, qr.keep_if(lambda lab: "__error__" not in lab))
LOGFMT = qr.parse_logfmt
DROP_ERR = lambda lab, line: ({k: v for k, v in lab.items() if k != "__error__"}, line)  # noqa: E731


def numf(name, conv, pred):
    """A numeric, duration or size label filter (query-ref.py's num(), as
    pkg/logql/log/label_filter.go: an absent label drops the entry, one
    that does not convert keeps it with __error__=LabelFilterErr)."""
    return qr.keep_if(lambda lab: qr.num(lab, name, conv, pred))


def dropping(*names):
    return lambda lab, line: ({k: v for k, v in lab.items() if k not in names}, line)


WEB_REQUESTS = qr.chain(LOGFMT, dropping("msg", "method", "path", "duration", "bytes"))
NO_ERR = lambda lab: "__error__" not in lab  # noqa: E731


def R(start, end, step, text=None):
    """A range query over base+start .. base+end every step seconds (sent
    as text when given, else as a number of seconds)."""
    def steps(base):
        out, t = [], (base + start) * NS
        while t <= (base + end) * NS:
            out.append(t)
            t += int(step * NS)
        return out
    steps.params = lambda base: {"start": str((base + start) * NS), "end": str((base + end) * NS),
                                 "step": text or str(step)}
    return steps


def I(at):
    """An instant query at base+at (seconds, may have a fraction)."""
    def steps(base):
        return [int(round((base + at) * NS))]
    steps.params = lambda base: {"time": str(int(round((base + at) * NS)))}
    return steps


R60 = R(600, 7200, 60)
R300 = R(0, 7500, 300)
R17 = R(1000, 2500, 17)
R1H = R(3600, 7200, 3600)


def C(name, logql, steps, ast, tenant="acme", expect_error=None):
    return name, {"logql": logql, "steps": steps, "instant": "time" in steps.params(0),
                  "ast": ast, "tenant": tenant, "error": expect_error}


def unw(op, sel, r, name, pipe=JSON_OK, conv="num", **kw):
    return rng(op, sel, r, pipe=pipe, unwrap=name, conv=conv, **kw)


def _queries():
    q = []
    cot_api = rng("count_over_time", API, 300)
    # range aggregations over entries
    q += [
        C("count-5m", 'count_over_time({app="api"}[5m])', R60, cot_api),
        C("count-1m-step5m", 'count_over_time({app="api"}[1m])', R300,
          rng("count_over_time", API, 60)),
        C("count-edges-1m", 'count_over_time({app="edge"}[1m])', R60, rng("count_over_time", EDGE, 60)),
        C("count-edges-step17", 'count_over_time({app="edge"}[2m])', R17, rng("count_over_time", EDGE, 120)),
        C("count-error-edges", 'count_over_time({app="api", level="error"}[1m])', R60,
          rng("count_over_time", labels_are(app="api", level="error"), 60)),
        C("count-metadata", 'count_over_time({app="db"}[10m])', R300, rng("count_over_time", DB, 600)),
        C("count-filter", 'count_over_time({app="web"} |= "POST" [3m])', R60,
          rng("count_over_time", WEB, 180, pipe=qr.contains("POST"))),
        C("count-offset", 'count_over_time({app="api"}[5m] offset 10m)', R60,
          rng("count_over_time", API, 300, offset=600)),
        C("count-offset-1h", 'count_over_time({app="web"}[30m] offset 1h)', R300,
          rng("count_over_time", WEB, 1800, offset=3600)),
        C("rate-1m", 'rate({app="web"}[1m])', R60, rng("rate", WEB, 60)),
        C("rate-30s-step5m", 'rate({app="api", level="info"}[30s])', R300, rng("rate", API_INFO, 30)),
        C("bytes-over-time", 'bytes_over_time({app="db"}[5m])', R60, rng("bytes_over_time", DB, 300)),
        C("bytes-rate", 'bytes_rate({app="web"} | logfmt | line_format "{{.method}}" [2m])', R60,
          rng("bytes_rate", WEB, 120, pipe=qr.chain(LOGFMT, lambda lab, line: (lab, lab["method"])))),
        C("count-json-filter", 'count_over_time({app="api"} | json | __error__="" | status >= 500 [10m])',
          R60, rng("count_over_time", API, 600, pipe=qr.chain(
              JSON_OK, numf("status", float, lambda v: v >= 500)))),
        C("count-json-error", 'count_over_time({app="api", level="info"} | json [5m])', R60,
          rng("count_over_time", API_INFO, 300, pipe=qr.parse_json), expect_error="pipeline error"),
        C("count-filter-drops-unparsed", 'sum by (__error__) (count_over_time({app="api", level="info"} | json | status >= 500 [10m]))',
          R300, agg("sum", rng("count_over_time", API_INFO, 600, pipe=qr.chain(
              qr.parse_json, numf("status", float, lambda v: v >= 500))), by=["__error__"])),
        C("count-label-filter-error", 'sum(count_over_time({app="api", level="info"} | json | took > 1s [10m]))',
          R300, agg("sum", rng("count_over_time", API_INFO, 600, pipe=qr.chain(
              qr.parse_json, numf("took", qr.duration, lambda v: v > 1)))),
          expect_error="pipeline error"),
        C("count-label-filter-error-dropped", 'sum by (level) (count_over_time({app="api", level="info"} | json | took > 1s | drop __error__ [10m]))',
          R300, agg("sum", rng("count_over_time", API_INFO, 600, pipe=qr.chain(
              qr.parse_json, numf("took", qr.duration, lambda v: v > 1), DROP_ERR)), by=["level"])),
        C("absent-none", 'absent_over_time({app="api", env="prod"}[5m])', R60,
          rng("absent_over_time", labels_are(app="api", env="prod"), 300,
              absent={"app": "api", "env": "prod"})),
        C("absent-gaps", 'absent_over_time({app="edge", env=~"d.*"}[1m])', R60,
          rng("absent_over_time", lambda l: l.get("app") == "edge" and re.fullmatch("d.*", l.get("env", "")),
              60, absent={"app": "edge"})),
        C("absent-filtered", 'absent_over_time({app="web"} |= "DELETE" [2m])', R60,
          rng("absent_over_time", WEB, 120, pipe=qr.contains("DELETE"), absent={"app": "web"})),
    ]
    # unwrapped range aggregations
    L = "latency"
    q += [
        C("sum-unwrap", 'sum_over_time({app="api"} | json | __error__="" | unwrap latency [5m])', R60,
          unw("sum_over_time", API, 300, L)),
        C("avg-unwrap", 'avg_over_time({app="api"} | json | __error__="" | unwrap latency [10m]) by (level)', R300,
          unw("avg_over_time", API, 600, L, by=["level"])),
        C("min-unwrap", 'min_over_time({app="api"} | json | __error__="" | unwrap latency [5m]) by (route)', R60,
          unw("min_over_time", API, 300, L, by=["route"])),
        C("max-unwrap", 'max_over_time({app="api"} | json | __error__="" | unwrap latency [5m]) by (route)', R60,
          unw("max_over_time", API, 300, L, by=["route"])),
        C("first-unwrap", 'first_over_time({app="api"} | json | __error__="" | unwrap latency [5m]) by (route)', R60,
          unw("first_over_time", API, 300, L, by=["route"])),
        C("last-unwrap", 'last_over_time({app="api"} | json | __error__="" | unwrap latency [5m]) by (route)', R60,
          unw("last_over_time", API, 300, L, by=["route"])),
        C("stddev-unwrap", 'stddev_over_time({app="api"} | json | __error__="" | unwrap latency [10m]) by (route)', R60,
          unw("stddev_over_time", API, 600, L, by=["route"])),
        C("stdvar-unwrap", 'stdvar_over_time({app="api"} | json | __error__="" | unwrap latency [10m]) by (route)', R300,
          unw("stdvar_over_time", API, 600, L, by=["route"])),
        C("quantile-99", 'quantile_over_time(0.99, {app="api"} | json | __error__="" | unwrap latency [10m]) by (route)',
          R60, unw("quantile_over_time", API, 600, L, param=0.99, by=["route"])),
        C("quantile-50-by", 'quantile_over_time(0.5, {app="api"} | json | __error__="" | unwrap latency [10m]) by (route)',
          R300, unw("quantile_over_time", API, 600, L, param=0.5, by=["route"])),
        C("quantile-0", 'quantile_over_time(0, {app="api"} | json | __error__="" | unwrap latency [10m]) by (env)',
          R300, unw("quantile_over_time", API, 600, L, param=0.0, by=["env"])),
        C("rate-unwrap", 'sum by (route) (rate({app="api"} | json | __error__="" | unwrap latency [5m]))', R60,
          agg("sum", unw("rate", API, 300, L), by=["route"])),
        C("sum-unwrap-by", 'sum by (level) (sum_over_time({app="api"} | json | __error__="" | unwrap latency [5m]))', R60,
          agg("sum", unw("sum_over_time", API, 300, L), by=["level"])),
        C("avg-unwrap-without", 'avg_over_time({app="api"} | json | __error__="" | unwrap latency [5m]) without (msg, took, size, hits, status)',
          R300, unw("avg_over_time", API, 300, L, without=["msg", "took", "size", "hits", "status"])),
        C("unwrap-duration", 'sum by (route) (sum_over_time({app="api", level="info"} | json | unwrap duration(took) | __error__="" [10m]))',
          R60, agg("sum", unw("sum_over_time", API_INFO, 600, "took", pipe=qr.parse_json, conv="duration",
                              post=NO_ERR), by=["route"])),
        C("unwrap-duration-seconds", 'max_over_time({app="web"} | logfmt | unwrap duration_seconds(duration) | __error__="" [5m]) by (method)',
          R60, unw("max_over_time", WEB, 300, "duration", pipe=LOGFMT, conv="duration", post=NO_ERR,
                   by=["method"])),
        C("unwrap-bytes", 'sum by (path) (sum_over_time({app="web"} | logfmt | unwrap bytes(bytes) [5m]))', R60,
          agg("sum", unw("sum_over_time", WEB, 300, "bytes", pipe=LOGFMT, conv="bytes"), by=["path"])),
        C("unwrap-bytes-json", 'avg_over_time({app="api", level="info"} | json | unwrap bytes(size) | __error__="" [15m]) by (env)',
          R300, unw("avg_over_time", API_INFO, 900, "size", pipe=qr.parse_json, conv="bytes", post=NO_ERR,
                    by=["env"])),
        C("unwrap-error", 'sum by (route) (sum_over_time({app="api", level="info"} | json | unwrap took [5m]))', R60,
          agg("sum", unw("sum_over_time", API_INFO, 300, "took", pipe=qr.parse_json), by=["route"]),
          expect_error="pipeline error"),
        C("unwrap-error-dropped", 'sum by (path) (sum_over_time({app="web"} | logfmt | unwrap duration(duration) | __error__!="SampleExtractionErr" [5m]))',
          R60, agg("sum", unw("sum_over_time", WEB, 300, "duration", pipe=LOGFMT, conv="duration",
                              post=lambda lab: lab.get("__error__") != "SampleExtractionErr"), by=["path"])),
        C("unwrap-missing", 'sum by (level) (sum_over_time({app="api"} | json | __error__="" | unwrap hits [5m]))', R60,
          agg("sum", unw("sum_over_time", API, 300, "hits"), by=["level"])),
        C("unwrap-post-filter", 'max_over_time({app="api"} | json | __error__="" | unwrap latency | latency > 200 [5m]) by (route)',
          R60, unw("max_over_time", API, 300, L, by=["route"],
                   post=lambda lab: qr.num(lab, "latency", float, lambda v: v > 200))),
        C("rate-counter", 'rate_counter({app="web"} | logfmt | drop msg, method, path, duration, bytes | unwrap requests [10m])',
          R60, unw("rate_counter", WEB, 600, "requests", pipe=WEB_REQUESTS)),
        C("rate-counter-json", 'rate_counter({app="api", level="info"} | json | __error__="" | drop msg, took, size, latency, status | unwrap hits [5m])',
          R300, unw("rate_counter", API_INFO, 300, "hits", pipe=qr.chain(
              JSON_OK, dropping("msg", "took", "size", "latency", "status")))),
    ]
    # vector aggregations
    cot_by_level = rng("count_over_time", API, 300)
    q += [
        C("sum", 'sum(count_over_time({app="api"}[5m]))', R60, agg("sum", cot_by_level)),
        C("sum-by", 'sum by (level) (count_over_time({app=~"api|web"}[5m]))', R60,
          agg("sum", rng("count_over_time", app_is("api", "web"), 300), by=["level"])),
        C("sum-by-after", 'sum(rate({env="prod"}[2m])) by (app)', R60,
          agg("sum", rng("rate", labels_are(env="prod"), 120), by=["app"])),
        C("sum-without", 'sum without (level) (count_over_time({app="api"}[5m]))', R300,
          agg("sum", cot_api, without=["level"])),
        C("sum-by-metadata", 'sum by (trace_id) (count_over_time({app="db"}[15m]))', R300,
          agg("sum", rng("count_over_time", DB, 900), by=["trace_id"])),
        C("sum-by-parsed", 'sum by (status) (count_over_time({app="api"} | json | __error__="" [10m]))', R300,
          agg("sum", rng("count_over_time", API, 600, pipe=JSON_OK), by=["status"])),
        C("avg-by", 'avg by (env) (count_over_time({app=~".+"}[5m]))', R60,
          agg("avg", rng("count_over_time", lambda l: True, 300), by=["env"])),
        C("min", 'min(count_over_time({app=~".+"}[5m]))', R60,
          agg("min", rng("count_over_time", lambda l: True, 300))),
        C("max-by", 'max by (app) (bytes_over_time({env=~"prod|stage"}[5m]))', R60,
          agg("max", rng("bytes_over_time", lambda l: l.get("env") in ("prod", "stage"), 300), by=["app"])),
        C("count", 'count(count_over_time({app=~".+"}[5m]))', R60,
          agg("count", rng("count_over_time", lambda l: True, 300))),
        C("count-by", 'count by (env) (rate({app=~".+"}[10m]))', R300,
          agg("count", rng("rate", lambda l: True, 600), by=["env"])),
        C("stddev", 'stddev(count_over_time({app=~".+"}[5m]))', R60,
          agg("stddev", rng("count_over_time", lambda l: True, 300))),
        C("stdvar-by", 'stdvar by (env) (count_over_time({app=~".+"}[10m]))', R300,
          agg("stdvar", rng("count_over_time", lambda l: True, 600), by=["env"])),
        C("topk", 'topk(2, sum by (app) (count_over_time({app=~".+"}[10m])))', R300,
          agg("topk", agg("sum", rng("count_over_time", lambda l: True, 600), by=["app"]), param=2)),
        C("bottomk-by", 'bottomk by (env) (1, sum by (app, env) (bytes_over_time({app=~".+"}[10m])))', R300,
          agg("bottomk", agg("sum", rng("bytes_over_time", lambda l: True, 600), by=["app", "env"]),
              by=["env"], param=1)),
        C("topk-huge-k", 'topk(10000000000, count_over_time({app="api"}[5m]))', R300,
          agg("topk", cot_api, param=10000000000)),
        C("sort", 'sort(sum by (app) (count_over_time({app=~".+"}[1h])))', R1H,
          agg("sort", agg("sum", rng("count_over_time", lambda l: True, 3600), by=["app"]))),
        C("avg-of-unwrap", 'avg(avg_over_time({app="api"} | json | __error__="" | unwrap latency [5m]) by (route))',
          R60, agg("avg", unw("avg_over_time", API, 300, L, by=["route"]))),
        C("max-without", 'max without (route) (max_over_time({app="api"} | json | __error__="" | unwrap latency [5m]) by (route, level))',
          R60, agg("max", unw("max_over_time", API, 300, L, by=["route", "level"]), without=["route"])),
    ]
    # binary operators, scalars, vector(), label_replace
    s_app = lambda r: agg("sum", rng("count_over_time", lambda l: True, r), by=["app"])  # noqa: E731
    s_app_env = agg("sum", rng("count_over_time", lambda l: True, 300), by=["app", "env"])
    q += [
        C("mul-scalar", 'count_over_time({app="api"}[5m]) * 2', R60, binop("*", cot_api, num(2))),
        C("scalar-minus", '10 - count_over_time({app="web"}[5m])', R60,
          binop("-", num(10), rng("count_over_time", WEB, 300))),
        C("div-zero", 'sum(count_over_time({app="api"}[5m])) / 0', R300, binop("/", agg("sum", cot_api), num(0))),
        C("mod-pow", 'sum by (app) (count_over_time({app=~".+"}[5m])) % 4 ^ 2', R60,
          binop("%", s_app(300), binop("^", num(4), num(2)))),
        C("pow-vector", '2 ^ sum(count_over_time({app="edge"}[5m]))', R60,
          binop("^", num(2), agg("sum", rng("count_over_time", EDGE, 300)))),
        C("cmp-filter", 'sum by (app) (count_over_time({app=~".+"}[5m])) > 6', R60,
          binop(">", s_app(300), num(6))),
        C("cmp-scalar-left", '6 < sum by (app) (count_over_time({app=~".+"}[5m]))', R60,
          binop("<", num(6), s_app(300))),
        C("cmp-bool", 'sum by (app) (count_over_time({app=~".+"}[5m])) >= bool 7', R60,
          binop(">=", s_app(300), num(7), bool=True)),
        C("cmp-eq-bool-left", '8 == bool sum by (app) (count_over_time({app=~".+"}[5m]))', R300,
          binop("==", num(8), s_app(300), bool=True)),
        C("cmp-ne", 'sum by (app) (count_over_time({app=~".+"}[5m])) != 8', R60,
          binop("!=", s_app(300), num(8))),
        C("vv-add", 'sum by (app) (count_over_time({app=~".+"}[5m])) + sum by (app) (bytes_over_time({app=~".+"}[5m]))',
          R60, binop("+", s_app(300), agg("sum", rng("bytes_over_time", lambda l: True, 300), by=["app"]))),
        C("vv-div-ratio", 'sum by (app) (count_over_time({app="api", level="error"}[10m])) / sum by (app) (count_over_time({app="api"}[10m]))',
          R60, binop("/", agg("sum", rng("count_over_time", labels_are(app="api", level="error"), 600), by=["app"]),
                     agg("sum", rng("count_over_time", API, 600), by=["app"]))),
        C("vv-cmp", 'sum by (app) (count_over_time({app=~".+"}[5m])) > sum by (app) (count_over_time({app=~".+"}[5m] offset 5m))',
          R60, binop(">", s_app(300), agg("sum", rng("count_over_time", lambda l: True, 300, offset=300), by=["app"]))),
        C("vv-cmp-bool", 'sum by (app) (count_over_time({app=~".+"}[5m])) <= bool sum by (app) (count_over_time({app=~".+"}[10m])) / 2',
          R300, binop("<=", s_app(300), binop("/", s_app(600), num(2)), bool=True)),
        C("vv-on", 'sum by (app, env) (count_over_time({app=~".+"}[5m])) - on (app) sum by (app) (count_over_time({app=~".+"}[10m]))',
          R60, binop("-", s_app_env, s_app(600), on=["app"])),
        C("vv-ignoring", 'sum by (app, level) (count_over_time({app="api"}[5m])) / ignoring (level) group_left sum by (app) (count_over_time({app="api"}[5m]))',
          R60, binop("/", agg("sum", cot_api, by=["app", "level"]), agg("sum", cot_api, by=["app"]),
                     ignoring=["level"], card="left")),
        C("vv-group-left-include", 'sum by (app, level) (count_over_time({app="api"}[5m])) * on (app) group_left (env) sum by (app, env) (count_over_time({app="api"}[5m]))',
          R300, binop("*", agg("sum", cot_api, by=["app", "level"]), agg("sum", cot_api, by=["app", "env"]),
                      on=["app"], card="left", include=["env"])),
        C("vv-group-right", 'sum by (app) (count_over_time({app="api"}[5m])) / on (app) group_right sum by (app, level) (count_over_time({app="api"}[5m]))',
          R60, binop("/", agg("sum", cot_api, by=["app"]), agg("sum", cot_api, by=["app", "level"]),
                     on=["app"], card="right")),
        C("vv-many-to-many", 'sum by (app, level) (count_over_time({app="api"}[5m])) + on (app) sum by (app, level) (count_over_time({app="api"}[5m]))',
          R60, binop("+", agg("sum", cot_api, by=["app", "level"]), agg("sum", cot_api, by=["app", "level"]),
                     on=["app"]), expect_error="many"),
        C("and", 'sum by (app) (count_over_time({app=~".+"}[5m])) and sum by (app) (count_over_time({app=~"api|db"}[5m]))',
          R60, binop("and", s_app(300), agg("sum", rng("count_over_time", app_is("api", "db"), 300), by=["app"]))),
        C("or", 'sum by (app) (count_over_time({app="api"}[5m])) or sum by (app) (count_over_time({app="edge"}[1m]))',
          R60, binop("or", agg("sum", cot_api, by=["app"]),
                     agg("sum", rng("count_over_time", EDGE, 60), by=["app"]))),
        C("or-empty-left", 'sum by (app) (count_over_time({app="edge"}[1m])) or sum by (app) (count_over_time({app="db"}[1m]))',
          R60, binop("or", agg("sum", rng("count_over_time", EDGE, 60), by=["app"]),
                     agg("sum", rng("count_over_time", DB, 60), by=["app"]))),
        C("unless", 'sum by (app) (count_over_time({app=~".+"}[5m])) unless on (app) sum by (app) (count_over_time({app="edge"}[5m]))',
          R60, binop("unless", s_app(300), agg("sum", rng("count_over_time", EDGE, 300), by=["app"]), on=["app"])),
        C("vector-add", 'sum(count_over_time({app="web"}[5m])) + vector(100)', R60,
          binop("+", agg("sum", rng("count_over_time", WEB, 300)), ("vector", 100))),
        C("vector-no-match", 'count_over_time({app="web"}[5m]) + vector(1)', R300,
          binop("+", rng("count_over_time", WEB, 300), ("vector", 1))),
        C("vector-or", 'sum(count_over_time({app="edge"}[1m])) or vector(0)', R60,
          binop("or", agg("sum", rng("count_over_time", EDGE, 60)), ("vector", 0))),
        C("vector-range", 'vector(3)', R300, ("vector", 3)),
        C("precedence", 'sum(count_over_time({app="api"}[5m])) + 2 * 3 ^ 2', R300,
          binop("+", agg("sum", cot_api), binop("*", num(2), binop("^", num(3), num(2))))),
        C("label-replace", 'label_replace(sum by (app) (count_over_time({app=~".+"}[5m])), "svc", "s-$1", "app", "(.*)b")',
          R60, ("label_replace", s_app(300), "svc", "s-$1", "app", "(.*)b")),
        C("label-replace-overwrite", 'label_replace(count_over_time({app="api"}[10m]), "level", "${1}x", "level", "(e.*)")',
          R300, ("label_replace", rng("count_over_time", API, 600), "level", "${1}x", "level", "(e.*)")),
        C("label-replace-delete", 'label_replace(count_over_time({app="api"}[10m]), "env", "", "app", "api")',
          R300, ("label_replace", rng("count_over_time", API, 600), "env", "", "app", "api")),
    ]
    # more edges: a range shorter than the step, metadata filters,
    # quantiles past 1, and queries Loki's parser refuses
    q += [
        C("step-as-duration", 'sum by (app) (count_over_time({app=~"api|web"}[2m]))', R(630, 4230, 90, "1m30s"),
          agg("sum", rng("count_over_time", app_is("api", "web"), 120), by=["app"])),
        C("step-fraction", 'sum(bytes_over_time({app="db"}[1m]))', R(1000, 1600, 7.5, "7.5"),
          agg("sum", rng("bytes_over_time", DB, 60))),
        C("range-under-step", 'count_over_time({app="api"}[10s])', R60, rng("count_over_time", API, 10)),
        C("rate-under-step", 'sum(rate({app="web"}[20s]))', R300, agg("sum", rng("rate", WEB, 20))),
        C("metadata-filter", 'sum by (trace_id) (count_over_time({app="db"} | trace_id="tr1" [15m]))', R300,
          agg("sum", rng("count_over_time", DB, 900, pipe=qr.keep_if(lambda lab: lab.get("trace_id") == "tr1")),
              by=["trace_id"])),
        C("quantile-past-1", 'quantile_over_time(1.5, {app="api"} | json | __error__="" | unwrap latency [10m]) by (level)',
          R300, unw("quantile_over_time", API, 600, L, param=1.5, by=["level"])),
        C("bad-grouping", 'sum_over_time({app="api"} | json | unwrap latency [5m]) by (route)', R60,
          ("refused", "grouping not allowed for sum_over_time aggregation"),
          expect_error="grouping not allowed for sum_over_time aggregation"),
        C("bad-unwrap", 'count_over_time({app="api"} | json | unwrap latency [5m])', R60,
          ("refused", "invalid aggregation count_over_time with unwrap"),
          expect_error="invalid aggregation count_over_time with unwrap"),
        C("bad-no-unwrap", 'max_over_time({app="api"}[5m])', R60,
          ("refused", "invalid aggregation max_over_time without unwrap"),
          expect_error="invalid aggregation max_over_time without unwrap"),
        C("bad-topk-0", 'topk(0, count_over_time({app="api"}[5m]))', I(3600),
          ("refused", "invalid parameter (must be greater than 0) topk(0"),
          expect_error="invalid parameter (must be greater than 0) topk(0"),
        # Loki folds two literals without Prometheus's demand for bool
        # (syntax.reduceBinOp): a comparison is 0 or 1
        C("scalar-compare", '1 > 2', I(3600), binop(">", num(1), num(2))),
        C("scalar-compare-bool", '1 < bool 2', I(3600), binop("<", num(1), num(2), bool=True)),
        C("bad-label-replace-regex", 'label_replace(count_over_time({app="api"}[5m]), "a", "b", "app", "(")', R60,
          ("refused", "invalid regex in label_replace"), expect_error="invalid regex in label_replace"),
    ]
    # instant queries
    q += [
        C("i-count", 'count_over_time({app="api"}[5m])', I(3600), cot_api),
        C("i-edge-exact", 'count_over_time({app="edge"}[1m])', I(60 * 13), rng("count_over_time", EDGE, 60)),
        C("i-edge-after", 'count_over_time({app="edge"}[1m])', I(60 * 14), rng("count_over_time", EDGE, 60)),
        C("i-rate-offset", 'rate({app="web"}[10m] offset 30m)', I(5400), rng("rate", WEB, 600, offset=1800)),
        C("i-sum-by", 'sum by (level) (count_over_time({app=~".+"}[30m]))', I(4000),
          agg("sum", rng("count_over_time", lambda l: True, 1800), by=["level"])),
        C("i-topk", 'topk(3, sum by (app, level) (count_over_time({app=~".+"}[30m])))', I(4000),
          agg("topk", agg("sum", rng("count_over_time", lambda l: True, 1800), by=["app", "level"]), param=3)),
        C("i-bottomk", 'bottomk(2, sum by (app) (bytes_over_time({app=~".+"}[30m])))', I(4000),
          agg("bottomk", agg("sum", rng("bytes_over_time", lambda l: True, 1800), by=["app"]), param=2)),
        C("i-sort", 'sort(sum by (app) (count_over_time({app=~".+"}[1h])))', I(7000),
          agg("sort", agg("sum", rng("count_over_time", lambda l: True, 3600), by=["app"]))),
        C("i-sort-desc", 'sort_desc(sum by (app) (bytes_over_time({app=~".+"}[1h])))', I(7000),
          agg("sort_desc", agg("sum", rng("bytes_over_time", lambda l: True, 3600), by=["app"]))),
        C("i-quantile", 'quantile_over_time(0.9, {app="api"} | json | __error__="" | unwrap latency [1h]) by (level)',
          I(5000), unw("quantile_over_time", API, 3600, L, param=0.9, by=["level"])),
        C("i-stddev", 'stddev_over_time({app="api", level="error"} | json | unwrap latency [1h])', I(5000),
          unw("stddev_over_time", labels_are(app="api", level="error"), 3600, L, pipe=qr.parse_json)),
        C("i-rate-counter", 'rate_counter({app="web"} | logfmt | drop msg, method, path, duration, bytes | unwrap requests [1h])',
          I(7200), unw("rate_counter", WEB, 3600, "requests", pipe=WEB_REQUESTS)),
        C("i-absent", 'absent_over_time({app="nothing", env="x"}[5m])', I(3000),
          rng("absent_over_time", labels_are(app="nothing", env="x"), 300, absent={"app": "nothing", "env": "x"})),
        C("i-absent-present", 'absent_over_time({app="api"}[5m])', I(3000),
          rng("absent_over_time", API, 300, absent={"app": "api"})),
        C("i-vector-plus-vector", 'vector(1)+vector(1)', I(3000), binop("+", ("vector", 1), ("vector", 1))),
        C("i-scalar", '2 * 3', I(3000), binop("*", num(2), num(3))),
        C("i-vv-bool", 'sum(count_over_time({app="api"}[1h])) > bool sum(count_over_time({app="web"}[1h]))', I(7200),
          binop(">", agg("sum", cot_at(API, 3600)), agg("sum", cot_at(WEB, 3600)), bool=True)),
        C("i-label-replace", 'label_replace(sum by (app) (count_over_time({app=~".+"}[1h])), "first", "$1", "app", "(.).*")',
          I(7200), ("label_replace", s_app(3600), "first", "$1", "app", "(.).*")),
        C("i-fraction-time", 'count_over_time({app="db"}[2m])', I(3000.5), rng("count_over_time", DB, 120)),
        C("i-empty", 'count_over_time({app="api"} |= "no such text" [5m])', I(3000),
          rng("count_over_time", API, 300, pipe=qr.contains("no such text"))),
        C("i-tenant", 'sum by (team) (count_over_time({app="api", team=~"a|b"}[30m]))', I(3600),
          agg("sum", rng("count_over_time", lambda l: l.get("team") in ("a", "b"), 1800), by=["team"]),
          tenant="beta"),
        # Grafana's log volume (datasource.ts getSupplementaryQuery), the
        # range Grafana replaces $__auto with
        C("volume", 'sum by (level, detected_level) (count_over_time({env="prod"} | drop __error__[1m]))', R60,
          agg("sum", rng("count_over_time", labels_are(env="prod"), 60, pipe=DROP_ERR),
              by=["level", "detected_level"])),
        C("volume-json", 'sum by (level, detected_level) (count_over_time({app="api"} | json | status=500 | drop __error__[2m]))', R60,
          agg("sum", rng("count_over_time", API, 120, pipe=qr.chain(
              qr.parse_json, numf("status", float, lambda v: v == 500), DROP_ERR)),
              by=["level", "detected_level"])),
    ]
    return dict(q)


def cot_at(sel, r):
    return rng("count_over_time", sel, r)


QUERIES = None


def queries():
    global QUERIES
    if QUERIES is None:
        QUERIES = _queries()
    return QUERIES


# --- Commands ----------------------------------------------------------------

def check_one(name, q, base, d, dl):
    try:
        status = open(os.path.join(d, name + ".status")).read().strip()
        body = open(os.path.join(d, name + ".json"), "rb").read().decode("utf-8", "replace")
    except OSError as e:
        return "no answer: %s" % e
    want = expected_answer(q, base, dl)
    if isinstance(want, tuple):
        if status != "400":
            return "status %s, want 400 (%s): %.300s" % (status, want[2], body)
        if q["error"] and q["error"] not in body:
            return "error %.300s does not say %r" % (body, q["error"])
        return None
    if q["error"]:
        return "the reference found no error, the query expects %r" % q["error"]
    if status != "200":
        return "status %s: %.300s" % (status, body)
    try:
        got = json.loads(body)
    except ValueError:
        return "not JSON: %.300s" % body
    return compare(want, got)


def self_test():
    pts = [(0, 1.0), (10 * NS, 5.0), (20 * NS, 2.0)]  # a reset after 5
    # result 2-1+5 = 6; to_start 60 (range s), sampled 2e7, avg 1e7, to_zero
    # 2e7*(1/6) < 60? no; 60 < 1.1e7: interval = 2e7 + 60 + 0
    assert math.isclose(extrapolated_rate(pts, 60), 6 * (2e7 + 60) / 2e7 / 60)
    assert extrapolated_rate(pts[:1], 60) == 0
    assert quantile(0.5, [4, 1, 3, 2]) == 2.5
    assert quantile(0.99, [1, 2]) == 1 * 0.01 + 2 * 0.99
    assert math.isnan(quantile(0.5, [])) and quantile(2, [1]) == math.inf
    assert variance([2, 4, 4, 4, 5, 5, 7, 9]) == 4
    assert conv_bytes("3KB") == 3000 and conv_bytes("1.5MiB") == 1572864 and conv_bytes("20kB") == 20000
    for bad in ("junk", "3 XB"):
        try:
            conv_bytes(bad)
            raise AssertionError(bad)
        except ValueError:
            pass
    assert conv_duration("1.5s") == 1.5 and conv_duration("300us") == 0.0003
    assert detected_level({"app": "a", "level": "WARNING"}, {}, "x") == "warn"
    assert detected_level({}, {"lvl": "dbg"}, "x") == "debug"
    assert detected_level({}, {}, '{"level":"ERR","msg":"x"}') == "error"
    assert detected_level({}, {}, 'a=1 level=info b=2') == "info"
    assert detected_level({}, {}, "query took 12ms rows=3") == "unknown"
    assert detected_level({}, {}, "disk Warning: nearly full") == "warn"
    assert conv_float("12") == 12 and go_float(2.0) == "2" and go_float(0.1) == "0.1"
    assert go_float(1e21) == "1000000000000000000000" and go_float(math.nan) == "NaN"
    assert go_float(-math.inf) == "-Inf" and go_float(1.5e-7) == "0.00000015"
    assert sort_labels([(("a", "b"), ("c", "d")), (("a", "b"),), (("a", "a"), ("z", "z"))]) == \
        [(("a", "a"), ("z", "z")), (("a", "b"),), (("a", "b"), ("c", "d"))]
    # vector/scalar comparisons keep the vector's value on either side
    vec = {(("app", "a"),): 3.0, (("app", "b"),): 9.0}
    assert vector_scalar(">", vec, 5, False, False) == {(("app", "b"),): 9.0}
    assert vector_scalar("<", vec, 5, True, False) == {(("app", "b"),): 9.0}
    assert vector_scalar("<", vec, 5, True, True) == {(("app", "a"),): 0.0, (("app", "b"),): 1.0}
    assert vector_scalar("/", vec, 0, False, False)[(("app", "a"),)] != 0
    # one-to-one on (app): the result keeps app only
    left = {(("app", "a"), ("env", "p")): 6.0}
    right = {(("app", "a"),): 4.0}
    assert vector_vector("-", left, right, {"on": ["app"]}) == {(("app", "a"),): 2.0}
    # group_left keeps the many side's labels; include copies from the one side
    right2 = {(("app", "a"), ("team", "t")): 2.0}
    assert vector_vector("*", left, right2, {"on": ["app"], "card": "left", "include": ["team"]}) == \
        {(("app", "a"), ("env", "p"), ("team", "t")): 12.0}
    # group_right: the result has the right side's labels, left op right
    assert vector_vector("/", right, left, {"on": ["app"], "card": "right"}) == \
        {(("app", "a"), ("env", "p")): 4.0 / 6.0}
    assert vector_vector("or", {}, right, {}) == right
    assert vector_vector("unless", left, right, {"on": ["app"]}) == {}
    m = re.fullmatch("(.*)b", "web")
    assert go_expand("s-$1", m) == "s-we" and go_expand("${1}x$$", m) == "wex$"
    # windows: (t - range, t]; an entry exactly at t counts, one at t - range does not
    base = 1700000000 // 60 * 60
    q = {"steps": I(60 * 13), "instant": True, "tenant": "acme",
         "ast": rng("count_over_time", EDGE, 60)}
    a = expected_answer(q, base)
    # (12m, 13m] holds none of "edge at 12" (12m, the excluded lower
    # bound), "edge after 12" (13m + 1ns) and "edge before 12" (14m - 1ns)
    assert a["data"]["result"] == [], a
    q["steps"] = I(60 * 14)
    a = expected_answer(q, base)
    # (13m, 14m]: "edge after 12" at 13m+1ns and "edge before 12" at 14m-1ns
    assert a["data"]["result"][0]["value"][1] == "2", a
    q["steps"] = I(60 * 12)
    assert expected_answer(q, base)["data"]["result"][0]["value"][1] == "1"
    # absent_over_time: no entries -> 1 with the selector's equality labels
    q = {"steps": I(10), "instant": True, "tenant": "acme",
         "ast": rng("absent_over_time", EDGE, 5, absent={"app": "edge"})}
    assert expected_answer(q, base)["data"]["result"] == [{"metric": {"app": "edge"}, "value": [base + 10, "1"]}]
    # an unwrap error not filtered out fails the query
    q = {"steps": I(3600), "instant": True, "tenant": "acme",
         "ast": unw("sum_over_time", API_INFO, 3600, "took", pipe=qr.parse_json)}
    assert expected_answer(q, base)[0] == "error"
    # a comparer that sees differences
    w = expected_answer({"steps": I(10), "instant": True, "tenant": "acme",
                         "ast": binop("+", ("vector", 1), ("vector", 1))}, base)
    assert w["data"]["result"] == [{"metric": {}, "value": [base + 10, "2"]}]
    assert compare(w, json.loads(json.dumps(w))) is None
    g = json.loads(json.dumps(w))
    g["data"]["result"][0]["value"][1] = "2.0000001"
    assert compare(w, g) is not None
    g["data"]["result"][0]["value"][1] = "2e+00"
    assert compare(w, g) is not None
    for name, q in queries().items():
        expected_answer(q, base)  # every query evaluates
    print("self-test: ok")


def main():
    args = sys.argv[1:]
    if args == ["--self-test"]:
        self_test()
    elif args[0] == "gen":
        d, base = args[1], int(args[2])
        for n, (t, push) in enumerate(pushes(base)):
            with open("%s/%s-%d.json" % (d, t, n), "w") as f:
                json.dump(push, f)
    elif args[0] == "list":
        base = int(args[1])
        for name, q in queries().items():
            path = "query" if q["instant"] else "query_range"
            params = q["steps"].params(base)
            print("%s\t%s\t%s\t%s\t%s" % (name, path, q["tenant"], q["logql"],
                                          "&".join("%s=%s" % kv for kv in params.items())))
    elif args[0] == "expect":
        print(json.dumps(expected_answer(queries()[args[1]], int(args[2]), "--detected-level" in args)))
    elif args[0] == "check":
        d, base, dl = args[1], int(args[2]), "--detected-level" in args
        present = "--only-present" in args
        for name, q in queries().items():
            if present and not os.path.exists(os.path.join(d, name + ".status")):
                continue
            why = check_one(name, q, base, d, dl)
            print("ok %s" % name if why is None else
                  "FAIL %s: %s" % (name, why.replace("\n", "\\n")))
    else:
        sys.exit("unknown command " + args[0])


if __name__ == "__main__":
    main()
