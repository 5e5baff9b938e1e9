#!/usr/bin/env node
// Push bodies in every format logthra-recv reads, all carrying the same
// log content, and the rows ClickHouse must then hold.
//
//   node fixtures.js gen OUTDIR
//       Writes the bodies, OUTDIR/manifest.tsv (one line per body:
//       name, content set, file, Content-Type, Content-Encoding; "-" for
//       a header not sent) and OUTDIR/rows-SET.tsv (the rows of each
//       content set, without the tenant).
//   node fixtures.js expect OUTDIR TENANT=BODY...
//       Prints the rows each tenant must hold after BODY was pushed for it,
//       as ClickHouse prints
//         SELECT tenant_id, label, timestamp_ns, msg, metadata
//         FROM logs.log ORDER BY tenant_id, timestamp_ns, msg FORMAT TSV
//
// The protobuf bodies are built from tests/proto/push.proto, Loki's
// push.proto, with protobufjs, and snappy-compressed in the block format
// (snappy's compressSync), as Loki's clients send them.  Every entry is
// timestamped a minute ago, with nanosecond fractions, so that the
// receiver's grace period and maximum age both let it in.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');
const protobuf = require('protobufjs');
const snappy = require('snappy');

const PROTO_DIR = path.resolve(__dirname, '..', 'proto');

function die(msg) {
	process.stderr.write(`fixtures.js: ${msg}\n`);
	process.exit(2);
}

// --- quoting ---------------------------------------------------------------

// Go's strconv.Quote, which Loki's clients (and Prometheus' labels.String)
// use for label values: printable runes stay, '"' and '\' are escaped,
// others become \a \b \f \n \r \t \v, \xHH, \uHHHH or \UHHHHHHHH.
function goQuote(s) {
	const named = {
		7: '\\a', 8: '\\b', 12: '\\f', 10: '\\n', 13: '\\r', 9: '\\t',
		11: '\\v',
	};
	let out = '"';
	for (const ch of s) {
		const cp = ch.codePointAt(0);
		if (ch === '"' || ch === '\\')
			out += '\\' + ch;
		else if (ch === ' ' || /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u.test(ch))
			out += ch;
		else if (named[cp] !== undefined)
			out += named[cp];
		else if (cp < 0x20 || cp === 0x7f)
			out += '\\x' + cp.toString(16).padStart(2, '0');
		else if (cp < 0x10000)
			out += '\\u' + cp.toString(16).padStart(4, '0');
		else
			out += '\\U' + cp.toString(16).padStart(8, '0');
	}
	return out + '"';
}

// {name="value", ...} in the order given, as Loki's protobuf and legacy
// JSON pushes carry a stream's labels.
function labelText(pairs, sep) {
	return '{' + pairs.map(([n, v]) => `${n}=${goQuote(v)}`).join(sep) + '}';
}

// ClickHouse's TSV escaping of a String (and of each quoted element of an
// Array(String)) in 18.16: \b \f \n \r \t \0 \\ \' and nothing else.
function chEscape(s) {
	return s.replace(/[\b\f\n\r\t\0\\']/g, (c) => ({
		'\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t',
		'\0': '\\0', '\\': '\\\\', "'": "\\'",
	})[c]);
}

function chArray(items) {
	return '[' + items.map((s) => `'${chEscape(s)}'`).join(',') + ']';
}

// "name=value" sorted by name, as logthra stores labels and metadata.
function pairStrings(pairs) {
	return pairs
	    .slice()
	    .sort((a, b) => Buffer.compare(Buffer.from(a[0]), Buffer.from(b[0])))
	    .map(([n, v]) => `${n}=${v}`);
}

// Go's time.RFC3339Nano (trailing zeros of the fraction dropped), in UTC
// or at a fixed offset of offMin minutes.
function rfc3339Nano(ns, offMin) {
	const sec = ns / 1000000000n;
	const frac = ns % 1000000000n;
	const local = new Date(Number(sec) * 1000 + offMin * 60000);
	let s = local.toISOString().slice(0, 19);
	if (frac !== 0n)
		s += '.' + frac.toString().padStart(9, '0').replace(/0+$/, '');
	if (offMin === 0)
		return s + 'Z';
	const a = Math.abs(offMin);
	return s + (offMin < 0 ? '-' : '+') +
	    String(Math.floor(a / 60)).padStart(2, '0') + ':' +
	    String(a % 60).padStart(2, '0');
}

// --- the content -------------------------------------------------------------

// Streams in the order sent.  Labels and metadata are [name, value] pairs
// in the order sent (deliberately not sorted); `parsed` exists only in
// protobuf (Loki's own components set it) and must not be stored.
function content(nowNs) {
	const base = (nowNs / 1000000000n - 60n) * 1000000000n;
	const at = (s, n) => base + BigInt(s) * 1000000000n + BigInt(n);
	const streams = [];

	streams.push({
		labels: [['zone', 'eu-1'], ['job', 'fixtures'], ['app', 'api']],
		entries: [
			{ ts: at(-50, 123456789), line: 'plain line, no metadata' },
			{ ts: at(-49, 0), line: 'quote " backslash \\ tab \t newline \n carriage \r unicode é 世界 🚀',
			  metadata: [['trace_id', 'abc123'], ['span_id', '0001']] },
			{ ts: at(-49, 0), line: 'same timestamp as the entry before' },
			{ ts: at(-48, 1), line: 'metadata with escapes',
			  metadata: [['note', 'a "quoted" \\ value\nnext line\ttab'], ['user', 'José']] },
			{ ts: at(-47, 999999999), line: 'parsed labels are not stored',
			  metadata: [['kept', 'yes']], parsed: [['parsed_key', 'dropped']] },
			{ ts: at(-46, 500000000), line: 'parsed only, no metadata',
			  parsed: [['level', 'debug']] },
		],
	});
	streams.push({
		labels: [['job', 'fixtures'],
		    ['path', 'C:\\logs "x"\nsecond line'],
		    ['tab', 'a\tb'], ['uni', 'héllo 世界'], ['ctl', 'bell\x07del\x7fend']],
		hash: '18446744073709551557', // ignored on push
		entries: [
			{ ts: at(-45, 10), line: 'stream with escaped label values' },
			{ ts: at(-45, 11), line: 'second entry of the escaped stream',
			  metadata: [['k', 'v']] },
		],
	});
	streams.push({ labels: [['job', 'fixtures'], ['app', 'empty']], entries: [] });
	// The first stream's labels again, in yet another order: the same
	// stream, sent twice in one push.
	streams.push({
		labels: [['app', 'api'], ['zone', 'eu-1'], ['job', 'fixtures']],
		entries: [{ ts: at(-44, 42), line: 'first stream, second time' }],
	});
	// Enough repetitive text that snappy emits copies and a body over
	// snappy's 64 KiB fragment size.
	const bulk = [];
	for (let i = 0; i < 400; i++) {
		const e = {
			ts: at(-40, i * 1000003),
			line: `bulk entry ${String(i).padStart(4, '0')} ` +
			    'the quick brown fox jumps over the lazy dog; '.repeat(1 + (i % 5)),
		};
		if (i % 10 === 0)
			e.metadata = [['seq', String(i)], ['batch', 'bulk']];
		bulk.push(e);
	}
	streams.push({ labels: [['job', 'fixtures'], ['app', 'bulk']], entries: bulk });
	return streams;
}

// --- encodings ---------------------------------------------------------------

// Loads Loki's push.proto and the Timestamp it imports from tests/proto.
// protobufjs would take its bundled copy of google/protobuf/timestamp.proto
// for the import, so both files are parsed here explicitly.
function loadProto() {
	const root = new protobuf.Root();
	for (const f of ['google/protobuf/timestamp.proto', 'push.proto']) {
		const text = fs.readFileSync(path.join(PROTO_DIR, f), 'utf8');
		protobuf.parse(text, root, { keepCase: true });
	}
	root.resolveAll();
	return root;
}

function pbPairs(pairs) {
	return (pairs || []).map(([name, value]) => ({ name, value }));
}

function protoMessage(streams) {
	return {
		streams: streams.map((s) => {
			const m = {
				labels: labelText(s.labels, ', '),
				entries: s.entries.map((e) => {
					const em = {
						timestamp: {
							seconds: protobuf.util.Long.fromString((e.ts / 1000000000n).toString()),
							nanos: Number(e.ts % 1000000000n),
						},
						line: e.line,
					};
					if (e.metadata)
						em.structuredMetadata = pbPairs(e.metadata);
					if (e.parsed)
						em.parsed = pbPairs(e.parsed);
					return em;
				}),
			};
			if (s.hash)
				m.hash = protobuf.util.Long.fromString(s.hash, true);
			return m;
		}),
	};
}

function encodeProto(root, streams) {
	const T = root.lookupType('logproto.PushRequest');
	const msg = protoMessage(streams);
	const err = T.verify(msg);
	if (err)
		die(`protobuf: ${err}`);
	return Buffer.from(T.encode(T.fromObject(msg)).finish());
}

// The same message from a newer client: fields this push.proto does not
// know, of every wire type, at every level.  A receiver must skip them.
function encodeProtoUnknown(streams) {
	const root = loadProto();
	const add = (type, name, id, t) =>
		root.lookupType(type).add(new protobuf.Field(name, id, t));
	add('logproto.PushRequest', 'future_fixed32', 100, 'fixed32');
	add('logproto.StreamAdapter', 'future_fixed64', 101, 'fixed64');
	add('logproto.StreamAdapter', 'future_bytes', 102, 'bytes');
	add('logproto.EntryAdapter', 'future_varint', 103, 'uint64');
	add('logproto.EntryAdapter', 'future_string', 2047, 'string');
	add('logproto.LabelPairAdapter', 'future_bool', 5, 'bool');
	root.resolveAll();
	const msg = protoMessage(streams);
	msg.future_fixed32 = 0xdeadbeef;
	for (const s of msg.streams) {
		s.future_fixed64 = protobuf.util.Long.fromString('1234567890123', true);
		s.future_bytes = Buffer.from([0, 1, 2, 0xff]);
		for (const e of s.entries) {
			e.future_varint = protobuf.util.Long.fromString('18446744073709551615', true);
			e.future_string = 'ignored';
			for (const p of e.structuredMetadata || [])
				p.future_bool = true;
		}
	}
	const T = root.lookupType('logproto.PushRequest');
	const err = T.verify(msg);
	if (err)
		die(`protobuf: ${err}`);
	return Buffer.from(T.encode(T.fromObject(msg)).finish());
}

// Loki's v1 JSON push: nanosecond strings, metadata as a third element.
// An entry with only `parsed` gets an empty metadata object, as
// winston-loki sends one.
function encodeJson(streams) {
	return Buffer.from(JSON.stringify({
		streams: streams.map((s) => ({
			stream: Object.fromEntries(s.labels),
			values: s.entries.map((e) => {
				const v = [e.ts.toString(), e.line];
				if (e.metadata)
					v.push(Object.fromEntries(e.metadata));
				else if (e.parsed)
					v.push({});
				return v;
			}),
		})),
	}));
}

// Loki's legacy JSON push: label text and RFC 3339 timestamps, no
// structured metadata.  Every third entry's time is written at +02:00.
function encodeLegacyJson(streams) {
	let n = 0;
	return Buffer.from(JSON.stringify({
		streams: streams.map((s) => ({
			labels: labelText(s.labels, ','),
			entries: s.entries.map((e) => ({
				ts: rfc3339Nano(e.ts, n++ % 3 === 2 ? 120 : 0),
				line: e.line,
			})),
		})),
	}));
}

// --- expected rows -------------------------------------------------------------

// The rows of a content set in ClickHouse's order (timestamp_ns, msg),
// each "label \t timestamp_ns \t msg \t metadata" as printed in TSV.
function rows(streams, withMetadata) {
	const r = [];
	for (const s of streams) {
		const label = chArray(pairStrings(s.labels));
		for (const e of s.entries) {
			const md = withMetadata ? pairStrings(e.metadata || []) : [];
			r.push({ ts: e.ts, msg: e.line,
			    text: `${label}\t${e.ts}\t${chEscape(e.line)}\t${chArray(md)}` });
		}
	}
	r.sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 :
	    Buffer.compare(Buffer.from(a.msg), Buffer.from(b.msg))));
	return r.map((x) => x.text);
}

// --- main ----------------------------------------------------------------------

function gen(outdir) {
	fs.mkdirSync(outdir, { recursive: true });
	const nowNs = BigInt(Date.now()) * 1000000n;
	const streams = content(nowNs);
	const root = loadProto();

	const json = encodeJson(streams);
	const legacy = encodeLegacyJson(streams);
	const pb = encodeProto(root, streams);
	const sn = snappy.compressSync(pb);
	const snUnknown = snappy.compressSync(encodeProtoUnknown(streams));

	// Round trip: what we send decodes to what we meant.
	const T = root.lookupType('logproto.PushRequest');
	const back = T.toObject(T.decode(snappy.uncompressSync(sn)), { longs: String });
	if (back.streams.length !== streams.length ||
	    back.streams[1].labels !== labelText(streams[1].labels, ', ') ||
	    back.streams[0].entries[0].timestamp.nanos !== 123456789)
		die('protobuf round trip failed');
	if (snappy.uncompressSync(snUnknown).length <= pb.length)
		die('the unknown fields are missing');

	const bodies = [
		// name, set, bytes, Content-Type, Content-Encoding
		['json', 'full', json, 'application/json', '-'],
		['json-gzip', 'full', zlib.gzipSync(json), 'application/json', 'gzip'],
		['json-deflate-zlib', 'full', zlib.deflateSync(json), 'application/json', 'deflate'],
		['json-deflate-raw', 'full', zlib.deflateRawSync(json), 'application/json', 'deflate'],
		['json-identity', 'full', json, 'application/json', 'identity'],
		['json-sniffed', 'full', json, '-', '-'],
		['json-legacy', 'legacy', legacy, 'application/json', '-'],
		['json-legacy-gzip', 'legacy', zlib.gzipSync(legacy), 'application/json', 'gzip'],
		['proto', 'full', sn, 'application/x-protobuf', '-'],
		['proto-snappy', 'full', sn, 'application/x-protobuf', 'snappy'],
		['proto-gzip', 'full', zlib.gzipSync(sn), 'application/x-protobuf', 'gzip'],
		['proto-sniffed', 'full', sn, '-', '-'],
		['proto-unknown-fields', 'full', snUnknown, 'application/x-protobuf', '-'],
	];
	const manifest = [];
	for (const [name, set, bytes, ctype, cenc] of bodies) {
		const file = `${name}.body`;
		fs.writeFileSync(path.join(outdir, file), bytes);
		manifest.push([name, set, file, ctype, cenc].join('\t'));
	}
	fs.writeFileSync(path.join(outdir, 'manifest.tsv'), manifest.join('\n') + '\n');
	fs.writeFileSync(path.join(outdir, 'rows-full.tsv'), rows(streams, true).join('\n') + '\n');
	fs.writeFileSync(path.join(outdir, 'rows-legacy.tsv'), rows(streams, false).join('\n') + '\n');
	// The unpacked protobuf, for a person reading a failure.
	fs.writeFileSync(path.join(outdir, 'proto.decoded.json'),
	    JSON.stringify(back, null, 1) + '\n');
}

function expect(outdir, pairs) {
	const sets = {};
	for (const line of fs.readFileSync(path.join(outdir, 'manifest.tsv'), 'utf8').split('\n')) {
		if (line !== '')
			sets[line.split('\t')[0]] = line.split('\t')[1];
	}
	const tenants = pairs.map((p) => {
		const i = p.indexOf('=');
		if (i < 1 || sets[p.slice(i + 1)] === undefined)
			die(`expect: "${p}" is not TENANT=BODY with a body of the manifest`);
		return [p.slice(0, i), sets[p.slice(i + 1)]];
	});
	tenants.sort((a, b) => Buffer.compare(Buffer.from(a[0]), Buffer.from(b[0])));
	const out = [];
	const cache = {};
	for (const [tenant, set] of tenants) {
		if (!cache[set])
			cache[set] = fs.readFileSync(path.join(outdir, `rows-${set}.tsv`), 'utf8')
			    .split('\n').filter((l) => l !== '');
		for (const r of cache[set])
			out.push(`${tenant}\t${r}`);
	}
	process.stdout.write(out.length ? out.join('\n') + '\n' : '');
}

const [mode, outdir, ...rest] = process.argv.slice(2);
if (mode === 'gen' && outdir && rest.length === 0)
	gen(outdir);
else if (mode === 'expect' && outdir)
	expect(outdir, rest);
else
	die('usage: fixtures.js gen OUTDIR | fixtures.js expect OUTDIR TENANT=BODY...');
