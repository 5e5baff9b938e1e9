#!/usr/bin/env node
// Push bodies for bench/recv.sh: access-log lines of about 190 bytes in
// 8 streams of 4 labels, timestamped from a minute ago in steps of 10
// microseconds (within any creation grace, and no older than a minute).
//
//   node gen-push.js OUTDIR NAME=BYTES... NAME=pb:BYTES...
//
// For each NAME=BYTES writes OUTDIR/NAME.json, Loki's JSON push of as
// many entries as fit in BYTES (the size is of the JSON), and
// OUTDIR/NAME.pb, the same entries as Loki's protobuf push,
// snappy-compressed (block format), as Promtail sends them, and
// OUTDIR/NAME.otlp.pb, the same entries as an OpenTelemetry logs request
// (ExportLogsServiceRequest in protobuf, uncompressed, as OTLP/HTTP
// exporters send by default): one resource per stream, its labels as
// resource attributes that Loki makes index labels (app as service.name,
// env as deployment.environment, host as service.instance.id, job as
// service.namespace), each line a string body with its time.  For
// NAME=pb:BYTES the protobuf body is what must fit in BYTES (it holds
// about four times as many entries), and no JSON is written.  Prints one
// line per body:
//   NAME <tab> entries <tab> JSON bytes <tab> protobuf bytes <tab> protobuf bytes before snappy <tab> OTLP bytes
// The content is the same from run to run (a seeded generator); only the
// timestamps move.  Each body starts the same lines again, unless
// GEN_PUSH_CONTINUE=1: then each NAME=BYTES body (no pb: ones) goes on
// where the one before it ended, in lines and in time, so that many
// bodies of a size a server takes make one log (bench/storage.sh).  Needs protobufjs and snappy (NODE_PATH), as
// tests/clients/fixtures.js does, and reads tests/proto/push.proto.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const protobuf = require('protobufjs');
const snappy = require('snappy');

const PROTO_DIR = path.resolve(__dirname, '..', 'tests', 'proto');
const STREAMS = 8;

function die(msg) {
	process.stderr.write(`gen-push.js: ${msg}\n`);
	process.exit(2);
}

// A small seeded generator (mulberry32): the same lines every run.
function rng(seed) {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

const METHODS = ['GET', 'GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE'];
const PATHS = ['/api/v1/items/', '/api/v1/orders/', '/cart/', '/static/js/app.',
    '/api/v2/users/', '/search?q=item'];
const STATUS = [200, 200, 200, 200, 200, 200, 201, 204, 301, 304, 404, 500];
const AGENTS = [
	'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0',
	'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0',
	'curl/7.88.1',
	'Go-http-client/1.1',
	'Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) Safari/604.1',
];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug',
    'Sep', 'Oct', 'Nov', 'Dec'];

function clf(ms) {
	const d = new Date(ms);
	const p = (n) => String(n).padStart(2, '0');
	return `${p(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:` +
	    `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

// An nginx "combined" line with the request time, about 190 bytes.
function line(r, ms) {
	const pick = (a) => a[Math.floor(r() * a.length)];
	const n = (m) => Math.floor(r() * m);
	return `10.${n(256)}.${n(256)}.${n(256)} - - [${clf(ms)}] ` +
	    `"${pick(METHODS)} ${pick(PATHS)}${n(99999)}?user=${n(9999)} HTTP/1.1" ` +
	    `${pick(STATUS)} ${n(50000)} "https://shop.example.com/" ` +
	    `"${pick(AGENTS)}" rt=0.${String(n(1000)).padStart(3, '0')}`;
}

function labelsOf(s) {
	return [['app', s % 2 ? 'api' : 'shop'], ['env', 'prod'],
	    ['host', `node-${1 + (s >> 1)}`], ['job', 'nginx']];
}

// Entries round robin over the streams until the JSON would pass
// maxBytes, or maxEntries are there.  Every value costs its JSON plus a
// comma.
// From entry first on, with r where that entry's line starts.
function build(maxBytes, maxEntries, nowNs, r = rng(42), first = 0) {
	const base = nowNs - 60000000000n;
	const streams = [];
	let size = '{"streams":[]}'.length;
	for (let s = 0; s < STREAMS; s++) {
		const labels = labelsOf(s);
		streams.push({ labels, values: [] });
		size += JSON.stringify({ stream: Object.fromEntries(labels), values: [] }).length +
		    (s ? 1 : 0);
	}
	for (let i = 0; i < maxEntries; i++) {
		const ts = base + BigInt(first + i) * 10000n;
		const v = [ts.toString(), line(r, Number(ts / 1000000n))];
		const st = streams[(first + i) % STREAMS];
		const cost = JSON.stringify(v).length + (st.values.length ? 1 : 0);
		if (size + cost > maxBytes)
			break;
		st.values.push(v);
		size += cost;
	}
	return streams;
}

function count(streams) {
	return streams.reduce((a, s) => a + s.values.length, 0);
}

function loadProto() {
	const root = new protobuf.Root();
	for (const f of ['google/protobuf/timestamp.proto', 'push.proto'])
		protobuf.parse(fs.readFileSync(path.join(PROTO_DIR, f), 'utf8'), root,
		    { keepCase: true });
	root.resolveAll();
	return root.lookupType('logproto.PushRequest');
}

// Prometheus' label text, as Loki's clients put it in a protobuf push
// (the values here need no escaping).
function labelText(labels) {
	return '{' + labels.map(([n, v]) => `${n}="${v}"`).join(', ') + '}';
}

function encodeProto(T, streams) {
	const msg = {
		streams: streams.map((s) => ({
			labels: labelText(s.labels),
			entries: s.values.map(([ts, l]) => {
				const ns = BigInt(ts);
				return {
					timestamp: {
						seconds: protobuf.util.Long.fromString((ns / 1000000000n).toString()),
						nanos: Number(ns % 1000000000n),
					},
					line: l,
				};
			}),
		})),
	};
	return Buffer.from(T.encode(T.fromObject(msg)).finish());
}

// The OTLP resource attribute each label becomes: all in Loki's default
// index label list, so that the stream keeps four labels.
const OTLP_ATTR = { app: 'service.name', env: 'deployment.environment',
	host: 'service.instance.id', job: 'service.namespace' };

// An ExportLogsServiceRequest written field by field (opentelemetry-proto
// v1 numbers: request.resource_logs 1; ResourceLogs.resource 1,
// scope_logs 2; Resource.attributes 1; KeyValue.key 1, value 2;
// AnyValue.string_value 1; ScopeLogs.log_records 2; LogRecord
// time_unix_nano 1 (fixed64), body 5).
function encodeOtlp(streams) {
	const w = protobuf.Writer.create();
	for (const s of streams) {
		w.uint32((1 << 3) | 2).fork();
		w.uint32((1 << 3) | 2).fork();
		for (const [n, v] of s.labels) {
			w.uint32((1 << 3) | 2).fork();
			w.uint32((1 << 3) | 2).string(OTLP_ATTR[n]);
			w.uint32((2 << 3) | 2).fork().uint32((1 << 3) | 2).string(v).ldelim();
			w.ldelim();
		}
		w.ldelim();
		w.uint32((2 << 3) | 2).fork();
		for (const [ts, l] of s.values) {
			w.uint32((2 << 3) | 2).fork();
			w.uint32((1 << 3) | 1).fixed64(protobuf.util.Long.fromString(ts, true));
			w.uint32((5 << 3) | 2).fork().uint32((1 << 3) | 2).string(l).ldelim();
			w.ldelim();
		}
		w.ldelim();
		w.ldelim();
	}
	return Buffer.from(w.finish());
}

function main() {
	const [outdir, ...specs] = process.argv.slice(2);
	if (!outdir || specs.length === 0)
		die('usage: gen-push.js OUTDIR NAME=BYTES...');
	fs.mkdirSync(outdir, { recursive: true });
	const T = loadProto();
	const nowNs = BigInt(Date.now()) * 1000000n;
	const cont = process.env.GEN_PUSH_CONTINUE === '1' ? { r: rng(42), next: 0 } : null;
	for (const spec of specs) {
		const m = /^([A-Za-z0-9_.-]+)=(pb:)?([0-9]+)$/.exec(spec);
		if (!m)
			die(`"${spec}" is not NAME=BYTES or NAME=pb:BYTES`);
		const name = m[1], pbOnly = m[2] !== undefined, max = Number(m[3]);
		let streams, pb, sn;
		if (pbOnly && cont)
			die(`${spec}: GEN_PUSH_CONTINUE takes NAME=BYTES bodies only`);
		if (cont) {
			streams = build(max, Infinity, nowNs, cont.r, cont.next);
			cont.next += count(streams);
			pb = encodeProto(T, streams);
			sn = snappy.compressSync(pb);
		} else if (pbOnly) {
			// Snappy's ratio is not known in advance: start from a
			// guess and shrink until the body fits.
			let n = Infinity;
			for (let guess = max * 5; ; guess = Infinity) {
				streams = build(guess, n, nowNs);
				pb = encodeProto(T, streams);
				sn = snappy.compressSync(pb);
				if (sn.length <= max)
					break;
				n = Math.floor(count(streams) * (max / sn.length) * 0.999);
			}
		} else {
			streams = build(max, Infinity, nowNs);
			pb = encodeProto(T, streams);
			sn = snappy.compressSync(pb);
		}
		const json = pbOnly ? null : Buffer.from(JSON.stringify({
			streams: streams.map((s) => ({
				stream: Object.fromEntries(s.labels),
				values: s.values,
			})),
		}));
		if (json && json.length > max)
			die(`${name}: ${json.length} bytes, over ${max}`);
		// Round trip: the protobuf holds what the JSON holds.
		const back = T.toObject(T.decode(snappy.uncompressSync(sn)));
		const entries = count(streams);
		if (back.streams.length !== STREAMS ||
		    back.streams.reduce((a, s) => a + (s.entries || []).length, 0) !== entries)
			die(`${name}: protobuf round trip failed`);
		if (json)
			fs.writeFileSync(path.join(outdir, `${name}.json`), json);
		fs.writeFileSync(path.join(outdir, `${name}.pb`), sn);
		const otlp = encodeOtlp(streams);
		fs.writeFileSync(path.join(outdir, `${name}.otlp.pb`), otlp);
		process.stdout.write([name, entries, json ? json.length : '-', sn.length,
		    pb.length, otlp.length].join('\t') + '\n');
	}
}

main();
