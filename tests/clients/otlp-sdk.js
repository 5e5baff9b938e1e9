#!/usr/bin/env node
// Emits log records through OpenTelemetry's Node.js SDK (a LoggerProvider
// with a resource, one Logger per instrumentation scope, a batch or
// simple processor) and its OTLP/HTTP exporter, protobuf
// (exporter-logs-otlp-proto) or JSON (exporter-logs-otlp-http), the way
// an application does; then forceFlush and shutdown.
//
// The records come from a JSON file (see otlp-expect.js, which computes
// from the same file the rows Loki would store):
//
//   {"resource": {ATTRIBUTES},
//    "limits": {"attributeCountLimit": N},            (optional)
//    "scopes": [{"name": S, "version": V, "attributes": {ATTRIBUTES},
//                "records": [{"time": [SEC, NSEC], "observed": [SEC, NSEC],
//                             "severityNumber": 9, "severityText": "INFO",
//                             "body": VALUE, "attributes": {ATTRIBUTES},
//                             "trace": {"traceId": HEX, "spanId": HEX,
//                                       "traceFlags": 1},
//                             "eventName": E}, ...]}, ...]}
//
// A VALUE is JSON, but {"$bytes": BASE64} stands for a Uint8Array.
// Times are the SDK's HrTime, [seconds, nanoseconds].
//
// Every HTTP exchange the exporter makes is recorded (method, path,
// Content-Type, Content-Encoding, status, Retry-After, the answer's
// body, decoded by the SDK's own deserializer for a 2xx) with every
// export result, and written as JSON to --report.  Exits 0 only when
// every export succeeded.
'use strict';

const http = require('node:http');
const fs = require('node:fs');
const { parseArgs } = require('node:util');

const PROG = 'otlp-sdk.js';
const USAGE = `${PROG} --exporter proto|http --url URL --tenant NAME --records FILE
    [--processor batch|simple] [--gzip] [--report FILE]
  --url URL         the full endpoint, e.g. http://127.0.0.1:8080/otlp/v1/logs
  --tenant NAME     sent as X-Scope-OrgID (none when empty)
  --gzip            compression: gzip (the exporter's default is none)`;

function fail(msg) {
	process.stderr.write(`${PROG}: ${msg}\n`);
	process.exit(2);
}

let o;
try {
	({ values: o } = parseArgs({
		options: {
			exporter: { type: 'string' },
			url: { type: 'string' },
			tenant: { type: 'string', default: '' },
			records: { type: 'string' },
			processor: { type: 'string', default: 'batch' },
			gzip: { type: 'boolean', default: false },
			report: { type: 'string' },
			timeout: { type: 'string', default: '15000' },
		},
		strict: true,
	}));
} catch (e) {
	fail(`${e.message}\nusage: ${USAGE}`);
}
for (const k of ['exporter', 'url', 'records'])
	if (!o[k])
		fail(`--${k} is required\nusage: ${USAGE}`);
if (o.exporter !== 'proto' && o.exporter !== 'http')
	fail('--exporter must be proto or http');
if (o.processor !== 'batch' && o.processor !== 'simple')
	fail('--processor must be batch or simple');

// Records every request the exporter makes.  The exporter takes
// http.request through import('http'), whose named exports follow the
// module's only after syncBuiltinESMExports().
const exchanges = [];
const pending = new Set();
const origRequest = http.request;
http.request = function (...a) {
	const req = origRequest.apply(this, a);
	const url = a.find((x) => x instanceof URL);
	const ex = { method: null, path: url ? url.pathname : null,
	    contentType: null, contentEncoding: null, userAgent: null,
	    status: null, retryAfter: null, responseType: null, body: null };
	const p = new Promise((resolve) => {
		req.on('response', (res) => {
			const chunks = [];
			ex.status = res.statusCode;
			ex.retryAfter = res.headers['retry-after'] ?? null;
			ex.responseType = res.headers['content-type'] ?? null;
			res.on('data', (c) => chunks.push(c));
			res.on('end', () => { ex.body = Buffer.concat(chunks); resolve(); });
			res.on('error', () => resolve());
		});
		req.on('error', (e) => { ex.status = `error: ${e.message}`; resolve(); });
	});
	// The headers are final when the body starts.
	const origWrite = req.write;
	req.write = function (...w) {
		if (ex.method === null) {
			ex.method = req.method;
			ex.contentType = req.getHeader('content-type') ?? null;
			ex.contentEncoding = req.getHeader('content-encoding') ?? null;
			ex.userAgent = req.getHeader('user-agent') ?? null;
		}
		return origWrite.apply(this, w);
	};
	pending.add(p);
	p.finally(() => pending.delete(p));
	exchanges.push(ex);
	return req;
};
require('node:module').syncBuiltinESMExports();

const { diag, DiagLogLevel, trace, context } = require('@opentelemetry/api');
const diagMessages = [];
diag.setLogger({
	error: (...m) => diagMessages.push(`error: ${m.join(' ')}`),
	warn: (...m) => diagMessages.push(`warn: ${m.join(' ')}`),
	info: (...m) => diagMessages.push(`info: ${m.join(' ')}`),
	debug: () => {},
	verbose: () => {},
}, DiagLogLevel.INFO);

const { resourceFromAttributes } = require('@opentelemetry/resources');
const { LoggerProvider, BatchLogRecordProcessor, SimpleLogRecordProcessor } =
    require('@opentelemetry/sdk-logs');
const { OTLPLogExporter } = o.exporter === 'proto'
    ? require('@opentelemetry/exporter-logs-otlp-proto')
    : require('@opentelemetry/exporter-logs-otlp-http');
const { ProtobufLogsSerializer, JsonLogsSerializer } =
    require('@opentelemetry/otlp-transformer');

// {"$bytes": BASE64} becomes a Uint8Array, anywhere in a value.
function revive(v) {
	if (Array.isArray(v))
		return v.map(revive);
	if (v !== null && typeof v === 'object') {
		const keys = Object.keys(v);
		if (keys.length === 1 && keys[0] === '$bytes')
			return new Uint8Array(Buffer.from(v.$bytes, 'base64'));
		const out = {};
		for (const k of keys)
			out[k] = revive(v[k]);
		return out;
	}
	return v;
}

let spec;
try {
	spec = JSON.parse(fs.readFileSync(o.records, 'utf8'));
} catch (e) {
	fail(`${o.records}: ${e.message}`);
}

const inner = new OTLPLogExporter({
	url: o.url,
	headers: o.tenant ? { 'X-Scope-OrgID': o.tenant } : {},
	compression: o.gzip ? 'gzip' : 'none',
	timeoutMillis: Number(o.timeout),
});
// The processor drops the export result; keep it.
const results = [];
const exporter = {
	export(logs, done) {
		inner.export(logs, (r) => {
			results.push({ records: logs.length, code: r.code,
			    error: r.error ? String(r.error.message || r.error) : null,
			    errorCode: r.error && r.error.code !== undefined ? r.error.code : null,
			    errorData: r.error && r.error.data !== undefined ? r.error.data : null });
			done(r);
		});
	},
	forceFlush: () => inner.forceFlush(),
	shutdown: () => inner.shutdown(),
};
const processor = o.processor === 'batch'
    ? new BatchLogRecordProcessor({ exporter, scheduledDelayMillis: 50,
	maxExportBatchSize: 512, exportTimeoutMillis: Number(o.timeout) })
    : new SimpleLogRecordProcessor({ exporter });
const provider = new LoggerProvider({
	resource: resourceFromAttributes(revive(spec.resource || {})),
	logRecordLimits: spec.limits || {},
	processors: [processor],
});

let emitted = 0;
for (const s of spec.scopes || []) {
	const logger = provider.getLogger(s.name, s.version,
	    s.attributes ? { attributes: revive(s.attributes) } : undefined);
	for (const r of s.records) {
		const rec = {};
		if (r.time)
			rec.timestamp = r.time;
		if (r.observed)
			rec.observedTimestamp = r.observed;
		if (r.severityNumber !== undefined)
			rec.severityNumber = r.severityNumber;
		if (r.severityText !== undefined)
			rec.severityText = r.severityText;
		if (r.body !== undefined)
			rec.body = revive(r.body);
		if (r.attributes)
			rec.attributes = revive(r.attributes);
		if (r.eventName)
			rec.eventName = r.eventName;
		if (r.trace) {
			rec.context = trace.setSpanContext(context.active(), {
				traceId: r.trace.traceId, spanId: r.trace.spanId,
				traceFlags: r.trace.traceFlags ?? 0, isRemote: true });
		}
		logger.emit(rec);
		emitted++;
	}
}

// The answer's body as the exporter would read it.
function decodeBody(ex) {
	if (ex.body === null || ex.body.length === 0)
		return null;
	const isProto = /protobuf/.test(ex.responseType || '');
	if (typeof ex.status === 'number' && ex.status < 300) {
		try {
			const d = isProto
			    ? ProtobufLogsSerializer.deserializeResponse(new Uint8Array(ex.body))
			    : JsonLogsSerializer.deserializeResponse(new Uint8Array(ex.body));
			// int64 as a Long-like or bigint: make it JSON.
			return JSON.parse(JSON.stringify(d, (k, v) =>
			    typeof v === 'bigint' ? v.toString() : v));
		} catch (e) {
			return `undecodable: ${e.message}`;
		}
	}
	return isProto ? ex.body.toString('base64') : ex.body.toString('utf8');
}

(async () => {
	let flushError = null;
	try {
		await provider.forceFlush();
		await provider.shutdown();
	} catch (e) {
		flushError = String(e && e.message || e);
	}
	await Promise.all([...pending]);
	const report = {
		emitted,
		results,
		flushError,
		exchanges: exchanges.map((ex) => ({ ...ex,
		    bodyBase64: ex.body ? ex.body.toString('base64') : null,
		    body: decodeBody(ex) })),
		diag: diagMessages,
	};
	if (o.report)
		fs.writeFileSync(o.report, JSON.stringify(report, null, 1) + '\n');
	const exported = results.reduce((n, r) => n + (r.code === 0 ? r.records : 0), 0);
	const ok = results.length > 0 && results.every((r) => r.code === 0) &&
	    exported === emitted && flushError === null;
	for (const ex of exchanges)
		process.stdout.write(`${ex.method} ${ex.path} ${ex.contentType}` +
		    ` ${ex.contentEncoding || 'identity'} -> ${ex.status}\n`);
	for (const r of results)
		process.stdout.write(r.code === 0 ? `export of ${r.records}: success\n`
		    : `export of ${r.records}: failed: ${r.error}\n`);
	process.stdout.write(`${emitted} emitted, ${exported} exported\n`);
	process.exit(ok ? 0 : 1);
})();
