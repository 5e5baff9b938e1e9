#!/usr/bin/env node
// Differential check of logthra's OTLP logs reader (lt_push_parse_otlp,
// through tests/otlp-dump) against protobufjs and a second, plain
// implementation of Loki's mapping (pkg/loghttp/push/otlp.go) written
// here from Loki's and pdata's sources, not from logthra's.
//
//   node otlp-diff.js DUMP WORKDIR
//
// Generates OTLP_DIFF_N (default 300) random ExportLogsServiceRequests
// from seeds OTLP_DIFF_SEED (default 1) on, each covering AnyValue's
// types, nesting, absent and empty fields, unknown fields, odd strings
// and floats, repeated resources with equal labels.  Each is encoded with
// protobufjs (with extra fields the reader must skip), decoded back with
// protobufjs into what a receiver sees, mapped by the reference below, and
// compared with what the reader handed its sink, stream by stream and
// entry by entry (metadata as a set).  The same request in OTLP's JSON
// encoding must give the same.  Then corrupted encodings (truncated,
// bytes flipped, bytes inserted): the reader must refuse one (400)
// exactly when protobufjs cannot decode it, except where protobufjs is
// lenient where Go's decoder is not (a strict walk of the wire format
// below says why: wrong wire type, a field crossing its message's end,
// field number 0, an id of the wrong length).
//
// Where logthra documents a choice of its own the reference follows it:
// an attribute with an empty key is left out (Loki would keep metadata
// with an empty name, which logthra's core refuses), and a resource that
// gives its stream no label at all has its records rejected (Loki
// refuses a stream without labels).  Everything else is Loki's: service
// name discovery from the index labels (k8s.container.name, ...), empty
// label values dropped, Go's number and JSON text.  The JSON path is also
// checked alone: what lt_otlp_json_to_proto() writes must decode, with
// protobufjs, as the protobuf encoding of the same request does.
//
// Prints "ok"/"not ok" lines (TAP-like, as tests/integration/lib.sh) and
// a summary; on a difference the seed, the request as JSON and both
// outputs.  Exit status 0 when all agree, 1 otherwise.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const protobuf = require('protobufjs');

const NOW_NS = 1700000000000000000n;
const MAX_SHOWN = Number(process.env.OTLP_DIFF_SHOW || 5); // differences shown in full

// --- the schema -----------------------------------------------------------

// opentelemetry-proto v1 (common, resource, logs, collector/logs), as a
// protobufjs JSON descriptor with the proto's own field names.  Used when
// tests/proto/opentelemetry/ is not there to load.
function otlpDescriptor(extra) {
	const ext = (fields) => {
		if (!extra)
			return fields;
		return Object.assign({}, fields, {
			unk_fixed32: { type: 'fixed32', id: 15 },
			unk_varint: { type: 'uint64', id: 16 },
			unk_bytes: { type: 'bytes', id: 2047 },
			unk_fixed64: { type: 'fixed64', id: 536870911 },
		});
	};
	const C = 'opentelemetry.proto.common.v1.';
	return {
		nested: { opentelemetry: { nested: { proto: { nested: {
			common: { nested: { v1: { nested: {
				AnyValue: {
					oneofs: { value: { oneof: ['string_value', 'bool_value',
					    'int_value', 'double_value', 'array_value',
					    'kvlist_value', 'bytes_value'] } },
					fields: ext({
						string_value: { type: 'string', id: 1 },
						bool_value: { type: 'bool', id: 2 },
						int_value: { type: 'int64', id: 3 },
						double_value: { type: 'double', id: 4 },
						array_value: { type: C + 'ArrayValue', id: 5 },
						kvlist_value: { type: C + 'KeyValueList', id: 6 },
						bytes_value: { type: 'bytes', id: 7 },
					}),
				},
				ArrayValue: { fields: ext({ values: { rule: 'repeated', type: C + 'AnyValue', id: 1 } }) },
				KeyValueList: { fields: ext({ values: { rule: 'repeated', type: C + 'KeyValue', id: 1 } }) },
				KeyValue: { fields: ext({
					key: { type: 'string', id: 1 },
					value: { type: C + 'AnyValue', id: 2 },
				}) },
				InstrumentationScope: { fields: ext({
					name: { type: 'string', id: 1 },
					version: { type: 'string', id: 2 },
					attributes: { rule: 'repeated', type: C + 'KeyValue', id: 3 },
					dropped_attributes_count: { type: 'uint32', id: 4 },
				}) },
			} } } },
			resource: { nested: { v1: { nested: {
				Resource: { fields: ext({
					attributes: { rule: 'repeated', type: C + 'KeyValue', id: 1 },
					dropped_attributes_count: { type: 'uint32', id: 2 },
				}) },
			} } } },
			logs: { nested: { v1: { nested: {
				ResourceLogs: { fields: ext({
					resource: { type: 'opentelemetry.proto.resource.v1.Resource', id: 1 },
					scope_logs: { rule: 'repeated', type: 'opentelemetry.proto.logs.v1.ScopeLogs', id: 2 },
					schema_url: { type: 'string', id: 3 },
				}) },
				ScopeLogs: { fields: ext({
					scope: { type: C + 'InstrumentationScope', id: 1 },
					log_records: { rule: 'repeated', type: 'opentelemetry.proto.logs.v1.LogRecord', id: 2 },
					schema_url: { type: 'string', id: 3 },
				}) },
				LogRecord: { fields: ext({
					time_unix_nano: { type: 'fixed64', id: 1 },
					severity_number: { type: 'int32', id: 2 },
					severity_text: { type: 'string', id: 3 },
					body: { type: C + 'AnyValue', id: 5 },
					attributes: { rule: 'repeated', type: C + 'KeyValue', id: 6 },
					dropped_attributes_count: { type: 'uint32', id: 7 },
					flags: { type: 'fixed32', id: 8 },
					trace_id: { type: 'bytes', id: 9 },
					span_id: { type: 'bytes', id: 10 },
					observed_time_unix_nano: { type: 'fixed64', id: 11 },
					event_name: { type: 'string', id: 12 },
				}) },
			} } } },
			collector: { nested: { logs: { nested: { v1: { nested: {
				ExportLogsServiceRequest: { fields: ext({
					resource_logs: { rule: 'repeated', type: 'opentelemetry.proto.logs.v1.ResourceLogs', id: 1 },
				}) },
			} } } } } },
		} } } } },
	};
}

const REQ = 'opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest';

// The vendored .proto files when they are there (severity_number is then
// an enum, which decodes the same), else the descriptor above.
function loadTypes(protoDir) {
	const file = path.join(protoDir, 'opentelemetry', 'proto', 'collector', 'logs', 'v1',
	    'logs_service.proto');
	let plain;
	if (fs.existsSync(file)) {
		plain = new protobuf.Root();
		plain.resolvePath = (origin, target) => {
			const p = path.join(protoDir, target);
			return fs.existsSync(p) ? p : protobuf.util.path.resolve(origin, target);
		};
		plain.loadSync(file, { keepCase: true });
		plain.resolveAll();
	} else {
		plain = protobuf.Root.fromJSON(otlpDescriptor(false));
	}
	const extended = protobuf.Root.fromJSON(otlpDescriptor(true));
	return { plain: plain.lookupType(REQ), extended: extended.lookupType(REQ),
	    vendored: fs.existsSync(file) };
}

// --- a seeded generator ----------------------------------------------------

function rng(seed) {
	let a = seed >>> 0;
	const next = () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
	const r = {
		next,
		int: (n) => Math.floor(next() * n),
		chance: (p) => next() < p,
		pick: (a) => a[Math.floor(next() * a.length)],
		u64: () => (BigInt(Math.floor(next() * 2 ** 32)) << 32n) | BigInt(Math.floor(next() * 2 ** 32)),
	};
	return r;
}

const ODD_STRINGS = ['', 'a', 'plain text', 'héllo wörld', '日本語のログ', 'emoji 😀 ok',
	'say "hi"', 'back\\slash', '<b>&amp;</b>', 'a<b>c&d', 'line\nbreak', 'tab\there',
	'ctl\u0001\u0008\u000c\u001f', 'del\u007f', 'sep\u2028\u2029', '{"json":true}',
	' spaces ', '0', 'true', 'null', '1e21', '\u00e9\u0301', 'ﬀ\uFEFF', '𝄞 clef',
	'%s %d', "single'quote", '\r\n'];
const INDEX_KEYS = ['service.name', 'service.namespace', 'service.instance.id',
	'deployment.environment', 'deployment.environment.name', 'cloud.region',
	'cloud.availability_zone', 'k8s.cluster.name', 'k8s.namespace.name', 'k8s.pod.name',
	'k8s.container.name', 'container.name', 'k8s.replicaset.name', 'k8s.deployment.name',
	'k8s.statefulset.name', 'k8s.daemonset.name', 'k8s.cronjob.name', 'k8s.job.name'];
const OTHER_KEYS = ['http.method', 'http.status_code', 'user-id', 'user.id', '9lives',
	'_private', '__dunder', 'a.b.c', 'ünïcode.kéy', 'drop.me', 'tmp.secret', 'tmp.x',
	'host.name', 'process.pid', 'os.type', 'telemetry.sdk.language', 'level', 'Mixed.Case',
	'key with spaces', 'x', 'y', 'nested', 'exception.stacktrace', 'code.lineno'];
const SPECIAL_DOUBLES = [0, -0, 1, -1, 1.5, -2.25, 0.1, 1e21, 1e20, 123456789012345680000,
	1e-7, 1e-6, 1.5e-7, 1e-5, 5e-324, 1.7976931348623157e308, 2 ** 53, 2 ** 53 + 2, -1e-300,
	3.141592653589793, 100, 1e100, NaN, Infinity, -Infinity];
const SPECIAL_INTS = [0n, 1n, -1n, 42n, 2n ** 53n + 1n, -(2n ** 53n) - 1n, 2n ** 63n - 1n,
	-(2n ** 63n), 1000000n];

function genString(r) {
	if (r.chance(0.6))
		return r.pick(ODD_STRINGS);
	if (r.chance(0.05))
		return 'long-' + 'x'.repeat(300 + r.int(3000));
	const n = 1 + r.int(20);
	let s = '';
	for (let i = 0; i < n; i++)
		s += String.fromCharCode(0x20 + r.int(95));
	return s;
}

function genKey(r, indexLike) {
	if (indexLike && r.chance(0.5))
		return r.pick(INDEX_KEYS);
	if (r.chance(0.8))
		return r.pick(OTHER_KEYS);
	if (r.chance(0.1))
		return '';
	return genString(r).slice(0, 30);
}

// A value of the model: {t: type, v: value}; t 'empty' has no value.
function genValue(r, depth) {
	const types = ['str', 'str', 'str', 'bool', 'int', 'double', 'bytes', 'empty'];
	if (depth < 4)
		types.push('array', 'kvlist');
	const t = r.pick(types);
	switch (t) {
	case 'str': return { t, v: genString(r) };
	case 'bool': return { t, v: r.chance(0.5) };
	case 'int': return { t, v: r.chance(0.5) ? r.pick(SPECIAL_INTS) : BigInt.asIntN(64, r.u64()) };
	case 'double': return { t, v: r.chance(0.7) ? r.pick(SPECIAL_DOUBLES) : (r.next() - 0.5) * 10 ** (r.int(40) - 20) };
	case 'bytes': {
		const b = Buffer.alloc(r.chance(0.2) ? 0 : 1 + r.int(20));
		for (let i = 0; i < b.length; i++)
			b[i] = r.int(256);
		return { t, v: b };
	}
	case 'array': {
		const n = r.chance(0.2) ? 0 : 1 + r.int(4);
		return { t, v: Array.from({ length: n }, () => genValue(r, depth + 1)) };
	}
	case 'kvlist':
		return { t, v: genAttrs(r, depth + 1, false, r.chance(0.2) ? 0 : 1 + r.int(4)) };
	default: return { t: 'empty' };
	}
}

function genAttrs(r, depth, indexLike, n) {
	const out = [];
	for (let i = 0; i < n; i++) {
		const key = genKey(r, indexLike);
		// Index labels are mostly strings, as SDKs send them.
		let value = indexLike && INDEX_KEYS.includes(key) && r.chance(0.8) ?
		    { t: 'str', v: r.chance(0.9) ? `${key.split('.').pop()}-${r.int(3)}` : genString(r) } :
		    genValue(r, depth);
		// A KeyValue whose value is absent, not an empty AnyValue.
		if (r.chance(0.03))
			value = null;
		out.push({ key, value });
	}
	return out;
}

function genId(r, len) {
	if (r.chance(0.4))
		return null;
	const b = Buffer.alloc(len);
	if (r.chance(0.1))
		return b; // all zeros: pdata's IsEmpty
	for (let i = 0; i < len; i++)
		b[i] = r.int(256);
	return b;
}

function genTime(r) {
	const x = r.next();
	if (x < 0.25)
		return 0n;
	if (x < 0.3)
		return 1n + BigInt(r.int(1000000));
	return NOW_NS - BigInt(r.int(3600 * 24 * 365)) * 1000000000n - BigInt(r.int(1000000000));
}

function genRecord(r) {
	const rec = {};
	const opt = (p, f) => { if (r.chance(p)) f(); };
	opt(0.8, () => { rec.time = genTime(r); });
	opt(0.5, () => { rec.observed = genTime(r); });
	opt(0.6, () => { rec.severityNumber = r.chance(0.9) ? r.int(25) : r.pick([-1, 99, 2147483647]); });
	opt(0.5, () => { rec.severityText = r.pick(['INFO', 'WARN', 'error', '', 'Debug', genString(r)]); });
	opt(0.85, () => { rec.body = genValue(r, 0); });
	rec.attributes = genAttrs(r, 0, false, r.int(6));
	opt(0.2, () => { rec.dropped = r.pick([0, 1, 7, 4294967295]); });
	opt(0.3, () => { rec.flags = r.pick([0, 1, 255, 4294967295]); });
	rec.traceId = genId(r, 16);
	rec.spanId = genId(r, 8);
	opt(0.1, () => { rec.eventName = genString(r); });
	return rec;
}

function genRequest(seed) {
	const r = rng(seed);
	const rls = [];
	const nres = r.chance(0.05) ? 0 : 1 + r.int(4);
	for (let i = 0; i < nres; i++) {
		const rl = { scopeLogs: [] };
		if (!r.chance(0.1)) {
			// Repeated resources with equal labels: a copy of an
			// earlier one's attributes.
			const attrs = i > 0 && r.chance(0.3) && rls[i - 1].resource ?
			    rls[i - 1].resource.attributes.slice() :
			    genAttrs(r, 0, true, r.int(7));
			rl.resource = { attributes: attrs };
			if (r.chance(0.1))
				rl.resource.dropped = 3;
		}
		if (r.chance(0.2))
			rl.schemaUrl = 'https://opentelemetry.io/schemas/1.21.0';
		const nscope = r.chance(0.1) ? 0 : 1 + r.int(3);
		for (let j = 0; j < nscope; j++) {
			const sl = { logRecords: [] };
			if (!r.chance(0.2)) {
				sl.scope = {};
				if (r.chance(0.7))
					sl.scope.name = r.pick(['my.library', '', 'io.opentelemetry.sdk', genString(r)]);
				if (r.chance(0.5))
					sl.scope.version = r.pick(['1.0.0', '', genString(r)]);
				sl.scope.attributes = genAttrs(r, 0, false, r.int(3));
				if (r.chance(0.15))
					sl.scope.dropped = r.pick([0, 2]);
			}
			const nrec = r.chance(0.1) ? 0 : 1 + r.int(4);
			for (let k = 0; k < nrec; k++)
				sl.logRecords.push(genRecord(r));
			rl.scopeLogs.push(sl);
		}
		rls.push(rl);
	}
	// The receiver's settings: Loki's defaults mostly.
	const config = {};
	if (r.chance(0.2))
		config.drop = r.pick(['drop.me', 'drop.me tmp.*', 'tmp.*,k8s.pod.name', 'service.name']);
	if (r.chance(0.15))
		config.index = r.pick(['service.name host.name', 'host.name user.id', 'service.name,nested,k8s.pod.name']);
	return { resourceLogs: rls, config };
}

// --- the model to protobufjs and to OTLP JSON ---------------------------------

function maybeUnknown(r, o) {
	if (!r || !r.chance(0.15))
		return o;
	const k = r.int(4);
	if (k === 0)
		o.unk_varint = r.u64().toString();
	else if (k === 1)
		o.unk_fixed32 = r.int(2 ** 32);
	else if (k === 2)
		o.unk_bytes = Buffer.from('unknown field ' + r.int(1000));
	else
		o.unk_fixed64 = r.u64().toString();
	return o;
}

function pbValue(v, r) {
	if (v === null)
		return undefined;
	const o = {};
	switch (v.t) {
	case 'str': o.string_value = v.v; break;
	case 'bool': o.bool_value = v.v; break;
	case 'int': o.int_value = v.v.toString(); break;
	case 'double': o.double_value = v.v; break;
	case 'bytes': o.bytes_value = v.v; break;
	case 'array': o.array_value = maybeUnknown(r, { values: v.v.map((x) => pbValue(x, r) || {}) }); break;
	case 'kvlist': o.kvlist_value = maybeUnknown(r, { values: pbAttrs(v.v, r) }); break;
	}
	return maybeUnknown(r, o);
}

function pbAttrs(attrs, r) {
	return attrs.map((a) => {
		const kv = { key: a.key };
		const v = pbValue(a.value, r);
		if (v !== undefined)
			kv.value = v;
		return maybeUnknown(r, kv);
	});
}

function pbRecord(rec, r) {
	const o = {};
	if (rec.time !== undefined) o.time_unix_nano = rec.time.toString();
	if (rec.observed !== undefined) o.observed_time_unix_nano = rec.observed.toString();
	if (rec.severityNumber !== undefined) o.severity_number = rec.severityNumber;
	if (rec.severityText !== undefined) o.severity_text = rec.severityText;
	if (rec.body !== undefined) o.body = pbValue(rec.body, r) || {};
	o.attributes = pbAttrs(rec.attributes, r);
	if (rec.dropped !== undefined) o.dropped_attributes_count = rec.dropped;
	if (rec.flags !== undefined) o.flags = rec.flags;
	if (rec.traceId) o.trace_id = rec.traceId;
	if (rec.spanId) o.span_id = rec.spanId;
	if (rec.eventName !== undefined) o.event_name = rec.eventName;
	return maybeUnknown(r, o);
}

function pbRequest(req, r) {
	return maybeUnknown(r, {
		resource_logs: req.resourceLogs.map((rl) => {
			const o = { scope_logs: rl.scopeLogs.map((sl) => {
				const s = { log_records: sl.logRecords.map((x) => pbRecord(x, r)) };
				if (sl.scope) {
					s.scope = { attributes: pbAttrs(sl.scope.attributes, r) };
					if (sl.scope.name !== undefined) s.scope.name = sl.scope.name;
					if (sl.scope.version !== undefined) s.scope.version = sl.scope.version;
					if (sl.scope.dropped !== undefined) s.scope.dropped_attributes_count = sl.scope.dropped;
					maybeUnknown(r, s.scope);
				}
				return maybeUnknown(r, s);
			}) };
			if (rl.resource) {
				o.resource = { attributes: pbAttrs(rl.resource.attributes, r) };
				if (rl.resource.dropped !== undefined)
					o.resource.dropped_attributes_count = rl.resource.dropped;
				maybeUnknown(r, o.resource);
			}
			if (rl.schemaUrl !== undefined) o.schema_url = rl.schemaUrl;
			return maybeUnknown(r, o);
		}),
	});
}

// OTLP's JSON encoding, written by hand: lowerCamelCase (or the proto's
// names, which receivers must also take), ids in hex, 64-bit integers as
// strings (or numbers when exact), doubles as numbers or "NaN",
// "Infinity", enums as numbers or names, unknown fields now and then.
const SEVERITY_NAMES = ['UNSPECIFIED', 'TRACE', 'TRACE2', 'TRACE3', 'TRACE4', 'DEBUG', 'DEBUG2',
	'DEBUG3', 'DEBUG4', 'INFO', 'INFO2', 'INFO3', 'INFO4', 'WARN', 'WARN2', 'WARN3', 'WARN4',
	'ERROR', 'ERROR2', 'ERROR3', 'ERROR4', 'FATAL', 'FATAL2', 'FATAL3', 'FATAL4'];

class Raw { constructor(text) { this.text = text; } }

function jsonText(x) {
	if (x instanceof Raw)
		return x.text;
	if (Array.isArray(x))
		return '[' + x.map(jsonText).join(',') + ']';
	if (x && typeof x === 'object')
		return '{' + Object.entries(x).map(([k, v]) => JSON.stringify(k) + ':' + jsonText(v)).join(',') + '}';
	return JSON.stringify(x);
}

function jsonDouble(f) {
	if (Number.isNaN(f)) return 'NaN';
	if (f === Infinity) return 'Infinity';
	if (f === -Infinity) return '-Infinity';
	return new Raw(Object.is(f, -0) ? '-0' : String(f));
}

function jsonInt64(r, n) {
	if (r.chance(0.3) && n >= -(2n ** 53n) && n <= 2n ** 53n)
		return new Raw(n.toString());
	return n.toString();
}

function jsonWriter(r) {
	const snake = r.chance(0.3);
	const name = (camel, sn) => (snake ? sn : camel);
	const unk = (o) => {
		if (r.chance(0.1))
			o[r.pick(['unknownField', 'x_extra', 'deprecatedThing'])] =
			    r.pick([1, 'two', [3, { four: null }], { a: { b: [] } }, null, true]);
		return o;
	};
	const value = (v) => {
		if (v === null)
			return undefined;
		const o = {};
		switch (v.t) {
		case 'str': o[name('stringValue', 'string_value')] = v.v; break;
		case 'bool': o[name('boolValue', 'bool_value')] = v.v; break;
		case 'int': o[name('intValue', 'int_value')] = jsonInt64(r, v.v); break;
		case 'double': o[name('doubleValue', 'double_value')] = jsonDouble(v.v); break;
		case 'bytes': o[name('bytesValue', 'bytes_value')] = v.v.toString('base64'); break;
		case 'array': o[name('arrayValue', 'array_value')] = { values: v.v.map((x) => value(x) || {}) }; break;
		case 'kvlist': o[name('kvlistValue', 'kvlist_value')] = { values: attrs(v.v) }; break;
		}
		return unk(o);
	};
	const attrs = (list) => list.map((a) => {
		const kv = { key: a.key };
		const v = value(a.value);
		if (v !== undefined)
			kv.value = v;
		return unk(kv);
	});
	// Hex digits in either case: decoders take both.
	const hexId = (b) => (r.chance(0.2) ? b.toString('hex').toUpperCase() : b.toString('hex'));
	const record = (rec) => {
		const o = {};
		const u64 = (n) => (r.chance(0.2) && n <= 2n ** 53n ? new Raw(n.toString()) : n.toString());
		if (rec.time !== undefined) o[name('timeUnixNano', 'time_unix_nano')] = u64(rec.time);
		if (rec.observed !== undefined) o[name('observedTimeUnixNano', 'observed_time_unix_nano')] = u64(rec.observed);
		if (rec.severityNumber !== undefined)
			o[name('severityNumber', 'severity_number')] =
			    rec.severityNumber >= 0 && rec.severityNumber < 25 && r.chance(0.5) ?
				'SEVERITY_NUMBER_' + SEVERITY_NAMES[rec.severityNumber] : rec.severityNumber;
		if (rec.severityText !== undefined) o[name('severityText', 'severity_text')] = rec.severityText;
		if (rec.body !== undefined) o.body = value(rec.body) || {};
		o.attributes = attrs(rec.attributes);
		if (rec.dropped !== undefined) o[name('droppedAttributesCount', 'dropped_attributes_count')] = rec.dropped;
		if (rec.flags !== undefined) o.flags = rec.flags;
		if (rec.traceId) o[name('traceId', 'trace_id')] = hexId(rec.traceId);
		if (rec.spanId) o[name('spanId', 'span_id')] = hexId(rec.spanId);
		if (rec.eventName !== undefined) o[name('eventName', 'event_name')] = rec.eventName;
		return unk(o);
	};
	return (req) => jsonText(unk({
		[name('resourceLogs', 'resource_logs')]: req.resourceLogs.map((rl) => {
			const o = {};
			if (rl.resource) {
				o.resource = { attributes: attrs(rl.resource.attributes) };
				if (rl.resource.dropped !== undefined)
					o.resource[name('droppedAttributesCount', 'dropped_attributes_count')] = rl.resource.dropped;
				unk(o.resource);
			}
			o[name('scopeLogs', 'scope_logs')] = rl.scopeLogs.map((sl) => {
				const s = {};
				if (sl.scope) {
					s.scope = { attributes: attrs(sl.scope.attributes) };
					if (sl.scope.name !== undefined) s.scope.name = sl.scope.name;
					if (sl.scope.version !== undefined) s.scope.version = sl.scope.version;
					if (sl.scope.dropped !== undefined)
						s.scope[name('droppedAttributesCount', 'dropped_attributes_count')] = sl.scope.dropped;
				}
				s[name('logRecords', 'log_records')] = sl.logRecords.map(record);
				return unk(s);
			});
			if (rl.schemaUrl !== undefined) o[name('schemaUrl', 'schema_url')] = rl.schemaUrl;
			return unk(o);
		}),
	}));
}

// --- the reference: Loki's mapping, from pkg/loghttp/push/otlp.go -------------

const DEFAULT_INDEX = INDEX_KEYS;
// Loki's discover_service_name default (pkg/validation/limits.go).
const DISCOVER_SERVICE = ['service', 'app', 'application', 'app_name', 'name',
	'app_kubernetes_io_name', 'container', 'container_name', 'k8s_container_name',
	'component', 'workload', 'job', 'k8s_job_name'];

// otlptranslator.NormalizeLabel: every rune outside [a-zA-Z0-9] is '_',
// "key_" before a leading digit, "key" before a single leading '_'.
function normalizeLabel(s) {
	if (s === '')
		return s;
	let out = '';
	for (const ch of s)
		out += /^[a-zA-Z0-9]$/.test(ch) ? ch : '_';
	if (/^[0-9]/.test(out))
		return 'key_' + out;
	if (out.startsWith('_') && !out.startsWith('__'))
		return 'key' + out;
	return out;
}

// Go's encoding/json string: HTML-safe, \b \f \n \r \t short (Go 1.22+),
// other controls \u00xx, U+2028 and U+2029 escaped.
function goJsonString(s) {
	let out = '"';
	for (const ch of s) {
		const c = ch.codePointAt(0);
		if (ch === '"') out += '\\"';
		else if (ch === '\\') out += '\\\\';
		else if (ch === '\n') out += '\\n';
		else if (ch === '\r') out += '\\r';
		else if (ch === '\t') out += '\\t';
		else if (ch === '\b') out += '\\b';
		else if (ch === '\f') out += '\\f';
		else if (c < 0x20 || ch === '<' || ch === '>' || ch === '&' || c === 0x2028 || c === 0x2029)
			out += '\\u' + c.toString(16).padStart(4, '0');
		else out += ch;
	}
	return out + '"';
}

class Unsupported extends Error {}

// float64AsString and encoding/json's float64 encoder: ES6 number text,
// but "-0" keeps its sign.
function goFloat(f) {
	if (!Number.isFinite(f))
		throw new Unsupported(Number.isNaN(f) ? 'NaN' : f > 0 ? '+Inf' : '-Inf');
	return Object.is(f, -0) ? '-0' : String(f);
}

// What protobufjs decoded: the AnyValue's kind and value.
function kindOf(av) {
	if (!av)
		return ['empty'];
	for (const k of ['string_value', 'bool_value', 'int_value', 'double_value', 'array_value',
		'kvlist_value', 'bytes_value'])
		if (av[k] !== undefined && av[k] !== null)
			return [k, av[k]];
	return ['empty'];
}

function int64Text(v) {
	return typeof v === 'string' ? BigInt.asIntN(64, BigInt(v)).toString() : String(v);
}

// json.Marshal of Value.AsRaw().
function goJson(av) {
	const [k, v] = kindOf(av);
	switch (k) {
	case 'string_value': return goJsonString(v);
	case 'bool_value': return v ? 'true' : 'false';
	case 'int_value': return int64Text(v);
	case 'double_value': return goFloat(v);
	case 'bytes_value': return v.length ? JSON.stringify(Buffer.from(v).toString('base64')) : 'null';
	case 'array_value': return '[' + (v.values || []).map(goJson).join(',') + ']';
	case 'kvlist_value': {
		const m = new Map(); // Map.AsRaw: a later key replaces an earlier
		for (const kv of v.values || [])
			m.set(kv.key || '', kv.value);
		const keys = [...m.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
		return '{' + keys.map((key) => goJsonString(key) + ':' + goJson(m.get(key))).join(',') + '}';
	}
	default: return 'null';
	}
}

// pcommon Value.AsString().
function asString(av) {
	const [k, v] = kindOf(av);
	switch (k) {
	case 'string_value': return v;
	case 'bool_value': return v ? 'true' : 'false';
	case 'int_value': return int64Text(v);
	case 'double_value':
		try {
			return goFloat(v);
		} catch (e) {
			return 'json: unsupported value: ' + e.message;
		}
	case 'bytes_value': return Buffer.from(v).toString('base64');
	case 'array_value':
	case 'kvlist_value':
		try {
			return goJson(av);
		} catch (e) {
			if (e instanceof Unsupported)
				return ''; // json.Marshal failed: Loki ignores the error
			throw e;
		}
	default: return '';
	}
}

// attributeToLabels: a kvlist flattens into name_key items.
function attributeToLabels(key, av, prefix) {
	const name = normalizeLabel(prefix ? prefix + '_' + key : key);
	const [k, v] = kindOf(av);
	if (k === 'kvlist_value')
		return (v.values || []).flatMap((kv) => attributeToLabels(kv.key || '', kv.value, name));
	return [[name, asString(av)]];
}

function listMatcher(text) {
	const names = (text || '').split(/[ ,]+/).filter((x) => x);
	return (key) => names.some((n) => (n.endsWith('*') ? key.startsWith(n.slice(0, -1)) : key === n));
}

function u64(v) {
	return v === undefined || v === null ? 0n : BigInt(v);
}

// The metadata of one entry as a set: the more specific tier wins on a
// name (otlp.h: the log record's own over its scope's over its
// resource's); within a tier the later item wins, as a Go map would.
function mergeMetadata(tiers) {
	const m = new Map();
	for (const tier of tiers)
		for (const [n, v] of tier)
			m.set(n, v);
	return [...m.entries()];
}

// Whether a time, 0 meaning unset, is too small to be nanoseconds.
function implausible(t) {
	const v = u64(t);
	return v !== 0n && v < 100000000000000000n;
}

function recordItems(lr, drop) {
	const items = [];
	for (const kv of lr.attributes || [])
		if (kv.key && !drop(kv.key))
			items.push(...attributeToLabels(kv.key || '', kv.value, ''));
	const time = u64(lr.time_unix_nano), observed = u64(lr.observed_time_unix_nano);
	if (time !== 0n && observed !== 0n)
		items.push(['observed_timestamp', BigInt.asIntN(64, observed).toString()]);
	if (lr.severity_number)
		items.push(['severity_number', String(lr.severity_number)]);
	if (lr.severity_text)
		items.push(['severity_text', lr.severity_text]);
	if (lr.dropped_attributes_count)
		items.push(['dropped_attributes_count', String(lr.dropped_attributes_count)]);
	if (lr.flags)
		items.push(['flags', String(lr.flags >>> 0)]);
	for (const [f, name] of [['trace_id', 'trace_id'], ['span_id', 'span_id']]) {
		const b = lr[f] ? Buffer.from(lr[f]) : Buffer.alloc(0);
		if (b.some((x) => x !== 0))
			items.push([name, b.toString('hex')]);
	}
	const ts = time !== 0n ? time : observed !== 0n ? observed : NOW_NS;
	return { items, ts: BigInt.asIntN(64, ts).toString(), line: asString(lr.body) };
}

function resourceLabels(attrs, config, drop) {
	const index = config.index ? listMatcher(config.index) : (k) => DEFAULT_INDEX.includes(k);
	const labels = new Map();
	const meta = [];
	const svc = attrs.find((kv) => (kv.key || '') === 'service.name');
	let hasServiceName = svc !== undefined && asString(svc.value) !== '';
	for (const kv of attrs) {
		const key = kv.key || '';
		// An attribute with an empty key would make metadata with an
		// empty name, which the validating core refuses for the whole
		// entry: logthra leaves it out (Loki keeps it).
		if (key === '' || drop(key))
			continue;
		const items = attributeToLabels(key, kv.value, '');
		if (!index(key)) {
			meta.push(...items);
			continue;
		}
		for (const [n, v] of items) {
			labels.set(n, v);
			if (!hasServiceName && DISCOVER_SERVICE.includes(n)) {
				labels.set('service_name', v);
				hasServiceName = true;
			}
		}
	}
	if (!hasServiceName)
		labels.set('service_name', 'unknown_service');
	// Loki's ParseLabels drops labels with empty values.
	const sorted = [...labels.entries()].filter(([, v]) => v !== '').sort((a, b) =>
	    Buffer.compare(Buffer.from(a[0]), Buffer.from(b[0])));
	return { labels: sorted, meta };
}

function scopeItems(scope, drop) {
	const items = [];
	if (!scope)
		return items;
	for (const kv of scope.attributes || [])
		if (kv.key && !drop(kv.key))
			items.push(...attributeToLabels(kv.key || '', kv.value, ''));
	if (scope.name)
		items.push(['scope_name', scope.name]);
	if (scope.version)
		items.push(['scope_version', scope.version]);
	if (scope.dropped_attributes_count)
		items.push(['scope_dropped_attributes_count', String(scope.dropped_attributes_count)]);
	return items;
}

// The request as protobufjs decoded it, mapped: a Map from the labels'
// text to {labels, entries}, entries in the request's order.
function reference(msg, config) {
	const drop = listMatcher(config.drop);
	const streams = new Map();
	for (const rl of msg.resource_logs || []) {
		const { labels, meta } = resourceLabels((rl.resource && rl.resource.attributes) || [],
		    config, drop);
		const key = JSON.stringify(labels);
		for (const sl of rl.scope_logs || []) {
			const sitems = scopeItems(sl.scope, drop);
			for (const lr of sl.log_records || []) {
				const e = recordItems(lr, drop);
				// No labels at all (service.name not an index
				// label, no other): Loki refuses such a stream.
				// A time set below 1e17 ns (before March 1973)
				// is taken for another unit and its record
				// refused (logthra-recv(1), Timestamps).
				if (labels.length === 0 ||
				    implausible(lr.time_unix_nano) ||
				    implausible(lr.observed_time_unix_nano)) {
					streams.rejected = (streams.rejected || 0) + 1;
					continue;
				}
				if (!streams.has(key))
					streams.set(key, { labels, entries: [] });
				streams.get(key).entries.push({ ts: e.ts, line: e.line,
				    metadata: mergeMetadata([meta, sitems, e.items]) });
			}
		}
	}
	return streams;
}

// --- comparing ------------------------------------------------------------------

function sortPairs(p) {
	return p.slice().sort((a, b) => Buffer.compare(Buffer.from(a[0] + '\0' + a[1]),
	    Buffer.from(b[0] + '\0' + b[1])));
}

function canonical(streams) {
	const out = [];
	for (const [key, s] of [...streams.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)))
		for (const e of s.entries)
			out.push(JSON.stringify({ stream: key, ts: e.ts, line: e.line,
			    metadata: sortPairs(e.metadata) }));
	return out;
}

// otlp-dump's output: streams with equal labels (repeated resources) are
// one stream, as in Loki.
function parseDump(text) {
	const streams = new Map();
	let cur = null, result = null;
	for (const line of text.split('\n')) {
		if (!line)
			continue;
		const o = JSON.parse(line);
		if (o.stream) {
			const key = JSON.stringify(o.stream);
			if (!streams.has(key))
				streams.set(key, { labels: o.stream, entries: [] });
			cur = streams.get(key);
		} else if (o.entry) {
			cur.entries.push(o.entry);
		} else if (o.result) {
			result = o.result;
		}
	}
	return { streams, result };
}

function runDump(dump, file, config, json) {
	const args = [];
	if (json)
		args.push('-j');
	args.push('-n', NOW_NS.toString());
	if (config.index)
		args.push('-i', config.index);
	if (config.drop)
		args.push('-d', config.drop);
	args.push(file);
	let out;
	try {
		out = execFileSync(dump, args, { maxBuffer: 256 << 20 });
	} catch (e) {
		// A crash is a difference like any other: keep the input.
		const keep = `${file}.crash-${Date.now()}`;
		fs.copyFileSync(file, keep);
		return { streams: new Map(), result: { crashed: e.signal || e.status, input: keep } };
	}
	return parseDump(out.toString('utf8'));
}

function diffLines(a, b) {
	const out = [];
	const n = Math.max(a.length, b.length);
	for (let i = 0; i < n && out.length < 6; i++)
		if (a[i] !== b[i])
			out.push(`  entry ${i}:\n    reference: ${a[i]}\n    logthra:   ${b[i]}`);
	return out.join('\n');
}

// --- the JSON rewrite, compared as protobuf ----------------------------------

const ONEOF = new Set(['string_value', 'bool_value', 'int_value', 'double_value',
	'array_value', 'kvlist_value', 'bytes_value']);

// A decoded message without what proto3 cannot tell from absent (zero
// scalars, empty lists), so that an encoder that writes a zero and one
// that leaves it out compare equal; AnyValue's oneof keeps its member,
// whose presence is the value's type.
function normalize(x, key) {
	if (Array.isArray(x))
		return x.map((v) => normalize(v));
	if (x instanceof Uint8Array)
		return Buffer.from(x).toString('hex');
	if (typeof x === 'number' && Number.isNaN(x))
		return 'NaN';
	if (typeof x === 'number' && Object.is(x, -0))
		return '-0';
	if (x === Infinity || x === -Infinity)
		return String(x);
	if (x === null || typeof x !== 'object')
		return x;
	const out = {};
	for (const k of Object.keys(x).sort()) {
		const v = normalize(x[k], k);
		if (!ONEOF.has(k) && (v === 0 || v === '' || v === '0' || v === false ||
		    (Array.isArray(v) && v.length === 0)))
			continue;
		out[k] = v;
	}
	return out;
}

function decodeNormal(T, buf) {
	return JSON.stringify(normalize(T.toObject(T.decode(buf), { longs: String })));
}

// --- a strict walk of the wire format ------------------------------------------

// What Go's decoders (pdata's generated code) check that protobufjs does
// not: the wire type of every known field, that a field ends inside its
// message, no field number 0, ids of 0/16 and 0/8 bytes.  Returns null or
// why the bytes are not a request.
const KINDS = {
	Req: { 1: ['msg', 'ResourceLogs'] },
	ResourceLogs: { 1: ['msg', 'Resource'], 2: ['msg', 'ScopeLogs'], 3: ['str'] },
	Resource: { 1: ['msg', 'KeyValue'], 2: ['varint'] },
	ScopeLogs: { 1: ['msg', 'Scope'], 2: ['msg', 'LogRecord'], 3: ['str'] },
	Scope: { 1: ['str'], 2: ['str'], 3: ['msg', 'KeyValue'], 4: ['varint'] },
	LogRecord: { 1: ['fixed64'], 2: ['varint'], 3: ['str'], 5: ['msg', 'AnyValue'],
		6: ['msg', 'KeyValue'], 7: ['varint'], 8: ['fixed32'], 9: ['id', 16], 10: ['id', 8],
		11: ['fixed64'], 12: ['str'] },
	KeyValue: { 1: ['str'], 2: ['msg', 'AnyValue'] },
	AnyValue: { 1: ['str'], 2: ['varint'], 3: ['varint'], 4: ['fixed64'], 5: ['msg', 'ArrayValue'],
		6: ['msg', 'KeyValueList'], 7: ['bytes'] },
	ArrayValue: { 1: ['msg', 'AnyValue'] },
	KeyValueList: { 1: ['msg', 'KeyValue'] },
};
const WIRE = { msg: 2, str: 2, bytes: 2, id: 2, varint: 0, fixed64: 1, fixed32: 5 };

function strictWalk(buf) {
	const varint = (st) => {
		let v = 0n, shift = 0n;
		for (let i = 0; i < 10; i++) {
			if (st.pos >= st.end)
				throw new Error('varint runs past the end');
			const b = buf[st.pos++];
			// Go's protowire refuses a tenth byte that would
			// pass 64 bits; protobufjs drops the bits.
			if (i === 9 && b > 1)
				throw new Error('varint over 64 bits');
			v |= BigInt(b & 0x7f) << shift;
			if (!(b & 0x80))
				return v;
			shift += 7n;
		}
		throw new Error('varint over 10 bytes');
	};
	const walk = (type, start, end, depth) => {
		if (depth > 64)
			throw new Error('nested too deeply');
		const st = { pos: start, end };
		while (st.pos < end) {
			const tag = varint(st);
			const field = Number(tag >> 3n), wt = Number(tag & 7n);
			if (field === 0)
				throw new Error('field number 0');
			// protowire's limit; protobufjs takes any.
			if (field > 536870911)
				throw new Error('field number past 2^29-1');
			const kind = KINDS[type][field];
			if (kind && WIRE[kind[0]] !== wt)
				throw new Error(`${type} field ${field}: wire type ${wt}`);
			switch (wt) {
			case 0: varint(st); break;
			case 1: st.pos += 8; break;
			case 5: st.pos += 4; break;
			case 2: {
				const len = varint(st);
				if (len > BigInt(end - st.pos))
					throw new Error(`${type} field ${field}: length past the end`);
				const s = st.pos, e = st.pos + Number(len);
				if (kind && kind[0] === 'msg')
					walk(kind[1], s, e, depth + 1);
				if (kind && kind[0] === 'id' && e - s !== 0 && e - s !== kind[1])
					throw new Error(`${type} field ${field}: an id of ${e - s} bytes`);
				st.pos = e;
				break;
			}
			case 3: case 4:
				throw new Error(`${type} field ${field}: a group`);
			default:
				throw new Error(`${type} field ${field}: wire type ${wt}`);
			}
			if (st.pos > end)
				throw new Error(`${type} field ${field}: runs past the end`);
		}
	};
	try {
		walk('Req', 0, buf.length, 0);
		return null;
	} catch (e) {
		return e.message;
	}
}

function corrupt(r, buf) {
	const b = Buffer.from(buf);
	const k = r.int(3);
	if (k === 0 || b.length < 2)
		return { how: 'truncated', data: b.subarray(0, r.int(Math.max(b.length, 1))) };
	if (k === 1) {
		const n = 1 + r.int(3);
		for (let i = 0; i < n; i++)
			b[r.int(b.length)] ^= 1 << r.int(8);
		return { how: 'flipped', data: b };
	}
	const at = r.int(b.length);
	const ins = Buffer.from(Array.from({ length: 1 + r.int(4) }, () => r.int(256)));
	return { how: 'inserted', data: Buffer.concat([b.subarray(0, at), ins, b.subarray(at)]) };
}

// --- main ------------------------------------------------------------------------------

function main() {
	const [dump, work] = process.argv.slice(2);
	if (!dump || !work) {
		process.stderr.write('usage: otlp-diff.js DUMP WORKDIR\n');
		process.exit(2);
	}
	const N = Number(process.env.OTLP_DIFF_N || 300);
	const SEED0 = Number(process.env.OTLP_DIFF_SEED || 1);
	const CORRUPT = Number(process.env.OTLP_DIFF_CORRUPT || 3);
	const types = loadTypes(path.resolve(__dirname, '..', 'proto'));
	fs.mkdirSync(work, { recursive: true });
	const pbFile = path.join(work, 'req.pb'), jsonFile = path.join(work, 'req.json');
	let checks = 0, fails = 0, shown = 0, entries = 0;
	const corruptStats = { agree: 0, lenient: {}, differ: 0 };
	const report = (ok, what, detail) => {
		checks++;
		if (ok)
			return;
		fails++;
		process.stdout.write(`not ok - ${what}\n`);
		if (shown++ < MAX_SHOWN && detail)
			process.stdout.write(detail.replace(/^/gm, '#   ') + '\n');
	};
	process.stdout.write(`# ${N} requests from seed ${SEED0}, ${CORRUPT} corruptions each; ` +
	    `schema: ${types.vendored ? 'tests/proto/opentelemetry' : 'built-in descriptor'}\n`);
	for (let i = 0; i < N; i++) {
		const seed = SEED0 + i;
		const req = genRequest(seed);
		const r = rng(seed ^ 0x5bd1e995);
		const pb = Buffer.from(types.extended.encode(types.extended.fromObject(pbRequest(req, r))).finish());
		const msg = types.plain.toObject(types.plain.decode(pb), { longs: String, defaults: false });
		const ref = reference(msg, req.config);
		const want = canonical(ref);
		const wantRejected = ref.rejected || 0;
		entries += want.length;
		const json = jsonWriter(r)(req);
		const show = (got, gotResult) => `seed ${seed} (OTLP_DIFF_SEED=${seed} OTLP_DIFF_N=1)\n` +
		    `config: ${JSON.stringify(req.config)}\nrequest (OTLP JSON): ${json}\n` +
		    `result: ${JSON.stringify(gotResult)}\n${diffLines(want, got)}`;
		fs.writeFileSync(pbFile, pb);
		fs.writeFileSync(jsonFile, json);
		// The JSON rewritten by lt_otlp_json_to_proto() must decode,
		// with protobufjs, as the protobuf encoding does.
		{
			let got;
			try {
				got = decodeNormal(types.plain, execFileSync(dump, ['-x', jsonFile],
				    { maxBuffer: 256 << 20, stdio: ['ignore', 'pipe', 'pipe'] }));
			} catch (e) {
				got = `refused or not protobuf: ${e.stderr ? e.stderr.toString().trim() : e.message}`;
			}
			const wantPb = decodeNormal(types.plain, pb);
			report(got === wantPb, `seed ${seed} json rewritten as protobuf decodes as the protobuf encoding`,
			    `seed ${seed}\nrequest (OTLP JSON): ${json}\nprotobufjs: ${wantPb}\nrewrite:    ${got}`);
		}
		for (const [fmt, file] of [['protobuf', pbFile], ['json', jsonFile]]) {
			const got = runDump(dump, file, req.config, fmt === 'json');
			const lines = canonical(got.streams);
			const res = got.result || {};
			const okResult = res.rc === 0 && res.status === 0 &&
			    res.rejected === wantRejected && res.accepted === want.length;
			const same = okResult && lines.length === want.length && lines.every((l, j) => l === want[j]);
			report(same, `seed ${seed} ${fmt}: ${want.length} entries as the reference` +
			    (wantRejected ? `, ${wantRejected} rejected` : ''), show(lines, res));
		}
		// Corruptions: refused exactly when protobufjs fails, or
		// when the strict walk names what protobufjs lets through.
		for (let c = 0; c < CORRUPT; c++) {
			const bad = corrupt(r, pb);
			let pbjsOk = true;
			try {
				types.plain.decode(bad.data);
			} catch (e) {
				pbjsOk = false;
			}
			fs.writeFileSync(pbFile, bad.data);
			const res = runDump(dump, pbFile, req.config, false).result || {};
			const refused = res.status === 400;
			if (refused === !pbjsOk) {
				corruptStats.agree++;
				checks++;
				continue;
			}
			const why = strictWalk(bad.data);
			if (refused && pbjsOk && why) {
				const k = why.replace(/^\w+ field \d+: /, '').replace(/\d+ bytes/, 'N bytes').replace(/wire type \d/, 'wrong wire type');
				corruptStats.lenient[k] = (corruptStats.lenient[k] || 0) + 1;
				checks++;
				continue;
			}
			corruptStats.differ++;
			const what = res.crashed ? `otlp-dump crashed (${res.crashed}; input kept in ${res.input})` :
			    `logthra status ${res.status}`;
			report(false, `seed ${seed} corruption ${c} (${bad.how}): ${what}, protobufjs ${pbjsOk ? 'decodes it' : 'fails'}`,
			    `seed ${seed}; strict walk: ${why || 'a request'}; result ${JSON.stringify(res)}\n` +
			    `bytes (hex): ${bad.data.toString('hex').slice(0, 2000)}`);
		}
	}
	process.stdout.write(`# ${entries} entries compared; corruptions: ${corruptStats.agree} agree with protobufjs, ` +
	    `${Object.values(corruptStats.lenient).reduce((a, b) => a + b, 0)} refused where protobufjs is lenient ` +
	    `${JSON.stringify(corruptStats.lenient)}, ${corruptStats.differ} differ\n`);
	process.stdout.write(`# ${checks} checks, ${fails} failed\n`);
	process.exit(fails ? 1 : 0);
}

if (require.main === module)
	main();
module.exports = { otlpDescriptor, REQ, genRequest, pbRequest, loadTypes, rng };
