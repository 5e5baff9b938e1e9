#!/usr/bin/env node
// The rows Loki 3 would store for OpenTelemetry logs, worked out here by
// a second, simple implementation of its mapping (pkg/loghttp/push/otlp.go:
// otlpToLokiPushRequest, otlpLogToPushEntry, attributeToLabels,
// timestampFromLogRecord; pdata's Value.AsString()), written from those
// rules and not from Logthra's code, so that a test can compare what
// Logthra stored with it.
//
//   otlp-expect.js records FILE TENANT [--index-labels LIST] [--drop LIST]
//       FILE is a records file of otlp-sdk.js: the request the SDK makes
//       of it (its documented encoding of JavaScript values: an integral
//       number is an int_value, any other a double_value; a plain object
//       a kvlist; attributes over the limit counted as dropped)
//   otlp-expect.js request FILE TENANT [...]
//       FILE is an ExportLogsServiceRequest in OTLP's JSON encoding
//   otlp-expect.js json-of-records FILE
//       prints the request of a records file in OTLP's JSON encoding
//   otlp-expect.js batch FILE
//       each line of FILE is one of the above, arguments separated by tabs
//   otlp-expect.js status|response FILE json|proto
//       prints the google.rpc.Status (code, message) or the
//       ExportLogsServiceResponse (rejected_log_records, error_message,
//       or "none") in FILE, an answer's body
//
// Prints one row per log record, as ClickHouse prints
//   SELECT tenant_id, label, timestamp_ns, msg, metadata FROM logs.log
// in TSV: labels and structured metadata as 'name=value' sorted by name,
// metadata without duplicates (a log record's own item over its scope's
// over its resource's).  Records without any time are left out (their
// time is the receive time); --with-now NS gives it instead.
'use strict';

const fs = require('node:fs');

// Loki 3's default_resource_attributes_as_index_labels.
const DEFAULT_INDEX = ['service.name', 'service.namespace',
	'service.instance.id', 'deployment.environment',
	'deployment.environment.name', 'cloud.region',
	'cloud.availability_zone', 'k8s.cluster.name', 'k8s.namespace.name',
	'k8s.pod.name', 'k8s.container.name', 'container.name',
	'k8s.replicaset.name', 'k8s.deployment.name', 'k8s.statefulset.name',
	'k8s.daemonset.name', 'k8s.cronjob.name', 'k8s.job.name'];

function die(msg) {
	process.stderr.write(`otlp-expect.js: ${msg}\n`);
	process.exit(2);
}

// --- the SDK's request from a records file ----------------------------------------

function sdkValue(v) {
	if (v === null || v === undefined)
		return {};
	if (typeof v === 'string')
		return { stringValue: v };
	if (typeof v === 'boolean')
		return { boolValue: v };
	if (typeof v === 'number') {
		if (Number.isInteger(v) && v >= -(2 ** 63) && v < 2 ** 63)
			return { intValue: BigInt(v).toString() };
		return { doubleValue: v };
	}
	if (Array.isArray(v))
		return { arrayValue: { values: v.map(sdkValue) } };
	const keys = Object.keys(v);
	if (keys.length === 1 && keys[0] === '$bytes')
		return { bytesValue: v.$bytes };
	return { kvlistValue: { values: keys.map((k) => ({ key: k, value: sdkValue(v[k]) })) } };
}

// The first `limit` attributes are kept, the others counted as dropped.
function sdkAttributes(obj, limit) {
	const out = [];
	let dropped = 0;
	for (const [k, v] of Object.entries(obj || {})) {
		if (out.length >= limit)
			dropped++;
		else
			out.push({ key: k, value: sdkValue(v) });
	}
	return { attributes: out, dropped };
}

function hrNanos(t) {
	return (BigInt(t[0]) * 1000000000n + BigInt(t[1])).toString();
}

function requestOfRecords(spec) {
	const limit = spec.limits && spec.limits.attributeCountLimit !== undefined
	    ? spec.limits.attributeCountLimit : 128;
	const res = sdkAttributes(spec.resource, Infinity);
	const scopeLogs = (spec.scopes || []).map((s) => {
		const sa = sdkAttributes(s.attributes, limit);
		const scope = { name: s.name, version: s.version || '',
		    attributes: sa.attributes, droppedAttributesCount: sa.dropped };
		const logRecords = s.records.map((r) => {
			const la = sdkAttributes(r.attributes, limit);
			const lr = { attributes: la.attributes,
			    droppedAttributesCount: la.dropped };
			if (r.time)
				lr.timeUnixNano = hrNanos(r.time);
			if (r.observed)
				lr.observedTimeUnixNano = hrNanos(r.observed);
			if (r.severityNumber)
				lr.severityNumber = r.severityNumber;
			if (r.severityText)
				lr.severityText = r.severityText;
			if (r.body !== undefined)
				lr.body = sdkValue(r.body);
			if (r.trace) {
				lr.traceId = r.trace.traceId;
				lr.spanId = r.trace.spanId;
				lr.flags = r.trace.traceFlags || 0;
			}
			if (r.eventName)
				lr.eventName = r.eventName;
			return lr;
		});
		return { scope, logRecords };
	});
	return { resourceLogs: [{ resource: { attributes: res.attributes }, scopeLogs }] };
}

// OTLP's JSON encoding also takes the proto's own field names and enum
// names: made lowerCamelCase and numbers here.
const SEVERITY = ['UNSPECIFIED', 'TRACE', 'TRACE2', 'TRACE3', 'TRACE4',
	'DEBUG', 'DEBUG2', 'DEBUG3', 'DEBUG4', 'INFO', 'INFO2', 'INFO3', 'INFO4',
	'WARN', 'WARN2', 'WARN3', 'WARN4', 'ERROR', 'ERROR2', 'ERROR3', 'ERROR4',
	'FATAL', 'FATAL2', 'FATAL3', 'FATAL4'];

function camelRequest(v) {
	if (Array.isArray(v))
		return v.map(camelRequest);
	if (v === null || typeof v !== 'object')
		return v;
	const out = {};
	for (const [k, x] of Object.entries(v)) {
		const c = k.replace(/_([a-z])/g, (m, l) => l.toUpperCase());
		if (c === 'severityNumber' && typeof x === 'string')
			out[c] = SEVERITY.indexOf(x.replace(/^SEVERITY_NUMBER_/, ''));
		else
			out[c] = camelRequest(x);
	}
	return out;
}

// --- pdata's Value.AsString() ---------------------------------------------------------

// encoding/json and Value.AsString() for a float64: ES6's number to
// string (JavaScript's own), but -0 stays "-0" and NaN or Inf is an error.
function goFloat(x) {
	x = Number(x);
	if (!Number.isFinite(x))
		return `json: unsupported value: ${Number.isNaN(x) ? 'NaN' : x > 0 ? '+Inf' : '-Inf'}`;
	if (Object.is(x, -0))
		return '-0';
	return String(x);
}

// encoding/json's string, with its HTML escaping.
function goJSONString(s) {
	return JSON.stringify(s).replace(/[<>&\u2028\u2029]/g,
	    (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

function kind(v) {
	for (const k of ['stringValue', 'boolValue', 'intValue', 'doubleValue',
	    'arrayValue', 'kvlistValue', 'bytesValue'])
		if (v && Object.prototype.hasOwnProperty.call(v, k))
			return k;
	return 'empty';
}

function intText(v) {
	return BigInt(v).toString();
}

function bytesText(b64) {
	return Buffer.from(b64, 'base64').toString('base64');
}

// json.Marshal(v.AsRaw()).
function goJSON(v) {
	switch (kind(v)) {
	case 'stringValue': return goJSONString(v.stringValue);
	case 'boolValue': return v.boolValue ? 'true' : 'false';
	case 'intValue': return intText(v.intValue);
	case 'doubleValue': return goFloat(v.doubleValue);
	case 'bytesValue': return goJSONString(bytesText(v.bytesValue));
	case 'arrayValue':
		return '[' + (v.arrayValue.values || []).map(goJSON).join(',') + ']';
	case 'kvlistValue': {
		const m = new Map();
		for (const kv of v.kvlistValue.values || [])
			m.set(kv.key, kv.value);
		const keys = [...m.keys()].sort((a, b) =>
		    Buffer.compare(Buffer.from(a), Buffer.from(b)));
		return '{' + keys.map((k) => goJSONString(k) + ':' + goJSON(m.get(k))).join(',') + '}';
	}
	default: return 'null';
	}
}

function asString(v) {
	switch (kind(v)) {
	case 'stringValue': return v.stringValue;
	case 'boolValue': return v.boolValue ? 'true' : 'false';
	case 'intValue': return intText(v.intValue);
	case 'doubleValue': return goFloat(v.doubleValue);
	case 'bytesValue': return bytesText(v.bytesValue);
	case 'arrayValue':
	case 'kvlistValue': return goJSON(v);
	default: return '';
	}
}

// --- Loki's mapping ---------------------------------------------------------------------

// otlptranslator.NormalizeLabel.
function normalize(name) {
	if (name === '')
		return name;
	let s = name.replace(/[^a-zA-Z0-9_]/g, '_');
	if (/^[0-9]/.test(s))
		s = 'key_' + s;
	else if (/^_[^_]/.test(s) || s === '_')
		s = 'key' + s;
	return s;
}

// attributeToLabels: a kvlist is flattened, name_key.
function attributeToLabels(k, v, prefix) {
	const name = normalize(prefix ? `${prefix}_${k}` : k);
	if (kind(v) === 'kvlistValue') {
		const out = [];
		for (const kv of v.kvlistValue.values || [])
			out.push(...attributeToLabels(kv.key, kv.value, name));
		return out;
	}
	return [[name, asString(v)]];
}

function dropper(list) {
	const names = new Set();
	const prefixes = [];
	for (const w of (list || '').split(/[\s,]+/).filter(Boolean)) {
		if (w.endsWith('*'))
			prefixes.push(w.slice(0, -1));
		else
			names.add(w);
	}
	return (k) => names.has(k) || prefixes.some((p) => k.startsWith(p));
}

function hexId(id) {
	if (!id)
		return '';
	const h = String(id).toLowerCase();
	return /^0*$/.test(h) ? '' : h;
}

function u64(v) {
	return v === undefined || v === null || v === '' ? 0n : BigInt(v);
}

// Every entry of a request: {labels, ts, line, metadata}, metadata as
// [name, value] pairs, labels sorted.
function lokiEntries(req, opts) {
	const index = new Set(opts.indexLabels
	    ? opts.indexLabels.split(/[\s,]+/).filter(Boolean) : DEFAULT_INDEX);
	const dropped = dropper(opts.drop);
	const out = [];
	for (const rl of req.resourceLogs || []) {
		const labels = new Map();
		const resMeta = [];
		const resAttrs = (rl.resource && rl.resource.attributes) || [];
		let hasService = false;
		for (const kv of resAttrs) {
			if (kv.key === 'service.name' && asString(kv.value) !== '')
				hasService = true;
		}
		for (const kv of resAttrs) {
			if (dropped(kv.key))
				continue;
			const ls = attributeToLabels(kv.key, kv.value, '');
			if (index.has(kv.key))
				for (const [n, v] of ls)
					labels.set(n, v);
			else
				resMeta.push(...ls);
		}
		if (!hasService)
			labels.set('service_name', 'unknown_service');
		for (const sl of rl.scopeLogs || []) {
			const scope = sl.scope || {};
			const scopeMeta = [];
			for (const kv of scope.attributes || [])
				if (!dropped(kv.key))
					scopeMeta.push(...attributeToLabels(kv.key, kv.value, ''));
			if (scope.name)
				scopeMeta.push(['scope_name', scope.name]);
			if (scope.version)
				scopeMeta.push(['scope_version', scope.version]);
			if (scope.droppedAttributesCount)
				scopeMeta.push(['scope_dropped_attributes_count',
				    String(scope.droppedAttributesCount)]);
			for (const lr of sl.logRecords || []) {
				const meta = [];
				for (const kv of lr.attributes || [])
					if (!dropped(kv.key))
						meta.push(...attributeToLabels(kv.key, kv.value, ''));
				const t = u64(lr.timeUnixNano);
				const obs = u64(lr.observedTimeUnixNano);
				if (t !== 0n && obs !== 0n)
					meta.push(['observed_timestamp', obs.toString()]);
				if (lr.severityNumber)
					meta.push(['severity_number', String(lr.severityNumber)]);
				if (lr.severityText)
					meta.push(['severity_text', lr.severityText]);
				if (lr.droppedAttributesCount)
					meta.push(['dropped_attributes_count', String(lr.droppedAttributesCount)]);
				if (lr.flags)
					meta.push(['flags', String(lr.flags)]);
				if (hexId(lr.traceId))
					meta.push(['trace_id', hexId(lr.traceId)]);
				if (hexId(lr.spanId))
					meta.push(['span_id', hexId(lr.spanId)]);
				let ts = t !== 0n ? t : obs;
				if (ts === 0n) {
					if (opts.now === undefined)
						continue;
					ts = BigInt(opts.now);
				}
				// The more specific item wins: the record's over the
				// scope's over the resource's.
				const m = new Map();
				for (const [n, v] of [...resMeta, ...scopeMeta, ...meta])
					m.set(n, v);
				out.push({ labels: [...labels], ts: ts.toString(),
				    line: lr.body ? asString(lr.body) : '', metadata: [...m] });
			}
		}
	}
	return out;
}

// --- ClickHouse's TSV ----------------------------------------------------------------------

function chEscape(s) {
	return s.replace(/[\b\f\n\r\t\0\\']/g, (c) => ({
		'\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t',
		'\0': '\\0', '\\': '\\\\', "'": "\\'",
	})[c]);
}

function chPairs(pairs) {
	return '[' + pairs.slice()
	    .sort((a, b) => Buffer.compare(Buffer.from(a[0]), Buffer.from(b[0])))
	    .map(([n, v]) => `'${chEscape(`${n}=${v}`)}'`).join(',') + ']';
}

function row(tenant, e) {
	return `${chEscape(tenant)}\t${chPairs(e.labels)}\t${e.ts}\t${chEscape(e.line)}\t${chPairs(e.metadata)}`;
}

// --- answers ------------------------------------------------------------------------------

// The fields of a protobuf message: [number, wire type, value], a
// varint as a BigInt, a length-delimited field as a Buffer.
function protoFields(buf) {
	const out = [];
	let i = 0;
	const varint = () => {
		let v = 0n, shift = 0n;
		for (;;) {
			if (i >= buf.length)
				throw new Error('truncated varint');
			const b = buf[i++];
			v |= BigInt(b & 0x7f) << shift;
			if (!(b & 0x80))
				return v;
			shift += 7n;
		}
	};
	while (i < buf.length) {
		const tag = Number(varint());
		const wt = tag & 7;
		if (wt === 0)
			out.push([tag >> 3, wt, varint()]);
		else if (wt === 2) {
			const n = Number(varint());
			if (i + n > buf.length)
				throw new Error('truncated field');
			out.push([tag >> 3, wt, buf.subarray(i, i + n)]);
			i += n;
		} else if (wt === 1) {
			out.push([tag >> 3, wt, buf.subarray(i, i + 8)]);
			i += 8;
		} else if (wt === 5) {
			out.push([tag >> 3, wt, buf.subarray(i, i + 4)]);
			i += 4;
		} else
			throw new Error(`wire type ${wt}`);
	}
	return out;
}

// google.rpc.Status {int32 code = 1; string message = 2} in protobuf or
// JSON: "code<TAB>message".
function statusText(buf, json) {
	if (json) {
		const s = JSON.parse(buf.toString('utf8'));
		return `${s.code}\t${s.message}`;
	}
	let code = 0n, message = '';
	for (const [n, wt, v] of protoFields(buf)) {
		if (n === 1 && wt === 0)
			code = BigInt.asIntN(32, v);
		else if (n === 2 && wt === 2)
			message = v.toString('utf8');
	}
	return `${code}\t${message}`;
}

// ExportLogsServiceResponse {ExportLogsPartialSuccess partial_success = 1}
// {int64 rejected_log_records = 1; string error_message = 2}:
// "rejected<TAB>message", "none" without partial_success.
function responseText(buf, json) {
	if (json) {
		const r = buf.length ? JSON.parse(buf.toString('utf8')) : {};
		const p = r.partialSuccess;
		if (p === undefined)
			return 'none';
		return `${p.rejectedLogRecords ?? 0}\t${p.errorMessage ?? ''}`;
	}
	let found = false, rejected = 0n, message = '';
	for (const [n, wt, v] of protoFields(buf)) {
		if (n !== 1 || wt !== 2)
			continue;
		found = true;
		for (const [m, wt2, x] of protoFields(v)) {
			if (m === 1 && wt2 === 0)
				rejected = BigInt.asIntN(64, x);
			else if (m === 2 && wt2 === 2)
				message = x.toString('utf8');
		}
	}
	return found ? `${rejected}\t${message}` : 'none';
}

// --- main --------------------------------------------------------------------------------------

function main(argv) {
	if (argv[0] === 'batch') {
		// One job a line, its arguments separated by tabs.
		for (const line of fs.readFileSync(argv[1], 'utf8').split('\n'))
			if (line !== '')
				main(line.split('\t'));
		return;
	}
	const [mode, file, tenant, ...rest] = argv;
	const opts = {};
	for (let i = 0; i < rest.length; i += 2) {
		if (rest[i] === '--index-labels')
			opts.indexLabels = rest[i + 1];
		else if (rest[i] === '--drop')
			opts.drop = rest[i + 1];
		else if (rest[i] === '--with-now')
			opts.now = rest[i + 1];
		else
			die(`unknown option ${rest[i]}`);
	}
	if (!file)
		die('usage: otlp-expect.js records|request|json-of-records FILE TENANT [--index-labels LIST] [--drop LIST]');
	if (mode === 'status' || mode === 'response') {
		// TENANT is the encoding here: json or proto.
		const buf = fs.readFileSync(file);
		const f = mode === 'status' ? statusText : responseText;
		process.stdout.write(f(buf, tenant === 'json') + '\n');
		return;
	}
	const data = JSON.parse(fs.readFileSync(file, 'utf8'));
	if (mode === 'json-of-records') {
		process.stdout.write(JSON.stringify(requestOfRecords(data)) + '\n');
		return;
	}
	if (!tenant)
		die('TENANT is required');
	let req;
	if (mode === 'records')
		req = requestOfRecords(data);
	else if (mode === 'request')
		req = camelRequest(data);
	else
		die(`unknown mode ${mode}`);
	for (const e of lokiEntries(req, opts))
		process.stdout.write(row(tenant, e) + '\n');
}

main(process.argv.slice(2));
