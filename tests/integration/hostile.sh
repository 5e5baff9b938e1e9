#!/bin/bash
# Hostile input for logthra-recv, under inetd (systemd-socket-activate)
# and as a CGI program behind nginx + fcgiwrap, and for logthra-flush:
#  - tenant ids that try to leave the spool or pass for another tenant:
#    traversal, percent-encoded and Unicode look-alike slashes and
#    letters, NUL and control bytes, lengths; acme and ACME kept apart;
#  - bodies over max_body_size, JSON nested 100000 deep, more streams than
#    max_streams_per_push, 100000 entries, 50000 labels or metadata pairs,
#    decompression bombs; headers over max_header_size and max_headers;
#  - request smuggling: Content-Length with Transfer-Encoding, two
#    lengths, broken chunked framing, a request hidden in a body,
#    obs-fold, bare LF and CR, transfer codings other than chunked;
#  - slow clients against read_timeout, request_timeout and idle_timeout;
#  - tabs, newlines, NUL, control bytes and invalid UTF-8 in lines,
#    labels and metadata: refused with a message, or stored byte for byte
#    (compared in hex in ClickHouse);
#  - crafted spool files for logthra-flush: symbolic and hard links to
#    files outside the spool, absurd lengths, a bad CRC, truncation, a
#    directory, a FIFO, another tenant's file, symbolic links for the
#    spool's own directories.
# Every refusal is checked for its exact status, a message that names the
# problem and an unchanged spool; every logthra-recv must exit, none by a
# signal; at the end nothing may have appeared outside the spools.
. "$(dirname "$0")/lib.sh"

need_clickhouse
need_inetd
need_nginx
need node nodejs cc gcc
need_built

W=$T/work # the test's own files
mkdir -p "$W"
# Part of every tenant id that tries to leave the spool: whatever such an
# id made would be found by this name anywhere.
TOKEN=escape$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')

# --- a raw HTTP client and the crafted bodies (Node.js, no packages) -----------

CLIENT=$W/client.js
cat >"$CLIENT" <<'EOF'
'use strict';
// Raw HTTP client and body builder for hostile.sh (Node.js core only).
//
//   node client.js send PORT FILE [--drip MS] [--stop-after N]
//                  [--answers N] [--timeout MS]
//       Sends FILE's bytes over a new connection to 127.0.0.1:PORT, reads
//       until the server closes or --timeout (default 10000) ms pass, and
//       prints one line:  STATUSES CLOSED MS
//       STATUSES: the status codes of the answers in order, joined with
//       commas ("none" when there was none); CLOSED: "closed" when the
//       server closed the connection, "open" otherwise; MS: milliseconds
//       from connecting to the close (or to giving up).  The answers'
//       bytes go to FILE.resp.
//       --drip MS sends one byte every MS milliseconds; --stop-after N
//       sends only the first N bytes and then waits, keeping the connection;
//       --answers N stops waiting once N answers have come (CLOSED is
//       then "open").
//   node client.js serve
//       Reads lines of tab-separated send arguments (PORT FILE options) and
//       answers each with its line, one request after the other.
//   node client.js spool DIR
//       Writes crafted spool files of tenant acme whose records all have
//       valid CRCs but absurd counts and lengths inside.
//   node client.js gen DIR
//       Writes the crafted bodies into DIR (see below) and DIR/content.tsv.
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const zlib = require('node:zlib');

function die(msg) {
	process.stderr.write(`client.js: ${msg}\n`);
	process.exit(2);
}

// --- answers --------------------------------------------------------------

// The status codes of the complete answers in buf, in order.
function statuses(buf) {
	const out = [];
	let at = 0;
	for (;;) {
		const end = buf.indexOf('\r\n\r\n', at);
		if (end < 0)
			break;
		const head = buf.subarray(at, end).toString('latin1');
		const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
		if (!m)
			break;
		out.push(m[1]);
		const cl = /\r\ncontent-length:\s*(\d+)/i.exec(head);
		at = end + 4 + (cl ? Number(cl[1]) : 0);
	}
	return out;
}

// Sends and reads as above; done(LINE) gets the line to print.
function send(port, file, opt, done_cb) {
	const data = fs.readFileSync(file);
	const chunks = [];
	const t0 = Date.now();
	let done = false, timer = null;
	const sock = net.connect(port, '127.0.0.1');
	const finish = (closed) => {
		if (done)
			return;
		done = true;
		if (timer)
			clearTimeout(timer);
		const resp = Buffer.concat(chunks);
		fs.writeFileSync(file + '.resp', resp);
		const st = statuses(resp);
		sock.destroy();
		done_cb(`${st.length ? st.join(',') : 'none'} ` +
		    `${closed ? 'closed' : 'open'} ${Date.now() - t0}`);
	};
	const write = (buf) => {
		if (!sock.destroyed && sock.writable)
			sock.write(buf);
	};
	sock.on('data', (d) => {
		chunks.push(d);
		if (opt.answers > 0 &&
		    statuses(Buffer.concat(chunks)).length >= opt.answers)
			finish(false);
	});
	sock.on('end', () => finish(true));
	sock.on('close', () => finish(true));
	sock.on('error', () => {}); // a reset after the answer: still closed
	timer = setTimeout(() => finish(false), opt.timeout);
	sock.on('connect', () => {
		if (opt.drip > 0) {
			let i = 0;
			const step = () => {
				if (done || i >= data.length)
					return;
				write(data.subarray(i, i + 1));
				i++;
				setTimeout(step, opt.drip);
			};
			step();
		} else if (opt.stopAfter >= 0) {
			write(data.subarray(0, opt.stopAfter));
		} else {
			write(data);
		}
	});
}

// --- protobuf and snappy by hand ----------------------------------------------

function varint(n) {
	const out = [];
	let v = BigInt(n);
	do {
		let b = Number(v & 0x7fn);
		v >>= 7n;
		if (v > 0n)
			b |= 0x80;
		out.push(b);
	} while (v > 0n);
	return Buffer.from(out);
}

function field(num, wire, payload) {
	const key = varint(num * 8 + wire);
	if (wire === 2)
		return Buffer.concat([key, varint(payload.length), payload]);
	return Buffer.concat([key, payload]); // varint payload, already encoded
}

function b(x) {
	return Buffer.isBuffer(x) ? x : Buffer.from(x, 'utf8');
}

// PushRequest{streams: [{labels, entries: [{ts, line, metadata}]}]}:
// labels and lines are raw bytes (Buffers) or strings.
function pushProto(streams) {
	return Buffer.concat(streams.map((s) => field(1, 2, Buffer.concat([
		field(1, 2, b(s.labels)),
		...s.entries.map((e) => field(2, 2, Buffer.concat([
			field(1, 2, Buffer.concat([field(1, 0, varint(e.sec)),
			    ...(e.nanos ? [field(2, 0, varint(e.nanos))] : [])])),
			field(2, 2, b(e.line)),
			...(e.meta || []).map(([n, v]) =>
				field(3, 2, Buffer.concat([field(1, 2, b(n)),
				    field(2, 2, b(v))]))),
		]))),
	]))));
}

// Snappy's block format with literals only: valid, not compressed.
function snappyLiteral(raw) {
	const parts = [varint(raw.length)];
	for (let at = 0; at < raw.length; at += 65536) {
		const lit = raw.subarray(at, at + 65536);
		const n = lit.length - 1;
		if (n < 60)
			parts.push(Buffer.from([n << 2]));
		else if (n < 256)
			parts.push(Buffer.from([60 << 2, n]));
		else
			parts.push(Buffer.from([61 << 2, n & 0xff, n >> 8]));
		parts.push(lit);
	}
	return Buffer.concat(parts);
}

// A snappy block of `size` bytes of 'a': one literal byte, then copies of
// 64 bytes at offset 1 (3 bytes each), about 21 times smaller.
function snappyRun(size, declared) {
	const parts = [varint(declared === undefined ? size : declared),
	    Buffer.from([0, 0x61])];
	let n = 1;
	const copy = Buffer.from([(63 << 2) | 2, 1, 0]);
	while (size - n >= 64) {
		parts.push(copy);
		n += 64;
	}
	while (n < size) { // copies of 4..11 bytes with a 1-byte offset
		const k = Math.min(11, Math.max(4, size - n));
		if (size - n < 4) {
			parts.push(Buffer.from([(size - n - 1) << 2]),
			    Buffer.alloc(size - n, 0x61));
			n = size;
			break;
		}
		parts.push(Buffer.from([((k - 4) << 2) | 1, 1]));
		n += k;
	}
	return Buffer.concat(parts);
}

// --- the bodies ------------------------------------------------------------------

function gen(dir) {
	fs.mkdirSync(dir, { recursive: true });
	const w = (name, data) => fs.writeFileSync(path.join(dir, name), data);
	const sec = Math.floor(Date.now() / 1000) - 60;
	const ns = `${sec}000000000`;
	const hex = (x) => b(x).toString('hex');

	// Content cases: NAME TYPE FILE LINE-HEX LABEL-HEX META-HEX, where
	// LABEL-HEX is the stored 'name=value' of the label "v" and META-HEX
	// that of the metadata pair "m" ('-' when there is none).  The test
	// pushes each for a tenant of its own and, when it is accepted,
	// compares what ClickHouse holds.
	const rows = [];
	const json = (name, labelVal, line, meta, expLine, expLabel, expMeta) => {
		const m = meta === undefined ? [] : [b(',{"m":'), b(meta), b('}')];
		w(name + '.json', Buffer.concat([
		    b('{"streams":[{"stream":{"app":"c","v":'), b(labelVal),
		    b(`},"values":[["${ns}",`), b(line), ...m, b(']]}]}')]));
		rows.push([name, 'application/json', name + '.json',
		    hex(expLine), hex('v=') + hex(expLabel),
		    expMeta === undefined ? '-' : hex('m=') + hex(expMeta)]);
	};
	const C = (s) => Buffer.from(s, 'latin1'); // raw bytes
	// JSON lines
	json('jline-escapes', '"x"', '"tab\\tnl\\ncr\\rbs\\\\q\\"sl\\/"', undefined,
	    'tab\tnl\ncr\rbs\\q"sl/', 'x');
	json('jline-nul', '"x"', '"a\\u0000b"', undefined, 'a\0b', 'x');
	json('jline-ctl-esc', '"x"', '"\\u0001\\u001f\\u007f"', undefined,
	    '\x01\x1f\x7f', 'x');
	json('jline-raw-tab', '"x"', C('"a\tb"'), undefined, 'a\tb', 'x');
	json('jline-raw-nl', '"x"', C('"a\nb"'), undefined, 'a\nb', 'x');
	json('jline-raw-nul', '"x"', C('"a\0b"'), undefined, C('a\0b'), 'x');
	json('jline-raw-del', '"x"', C('"a\x7fb"'), undefined, 'a\x7fb', 'x');
	json('jline-bad-utf8', '"x"', C('"a\xffb"'), undefined, C('a\xffb'), 'x');
	json('jline-overlong', '"x"', C('"a\xc0\xafb"'), undefined,
	    C('a\xc0\xafb'), 'x');
	json('jline-utf8-surrogate', '"x"', C('"a\xed\xa0\x80b"'), undefined,
	    C('a\xed\xa0\x80b'), 'x');
	json('jline-lone-surrogate', '"x"', '"a\\ud800b"', undefined,
	    C('a\xed\xa0\x80b'), 'x');
	json('jline-pair', '"x"', '"\\ud83d\\ude00"', undefined, '\u{1f600}', 'x');
	json('jline-unicode', '"x"', '"\u0430\uff41\u{1f600}\u0085\u200b\ufeff"',
	    undefined, '\u0430\uff41\u{1f600}\u0085\u200b\ufeff', 'x');
	// JSON label values and metadata
	json('jlabel-escapes', '"t\\tn\\nb\\\\q\\"e=}{,"', '"l"', undefined, 'l',
	    't\tn\nb\\q"e=}{,');
	json('jlabel-nul', '"a\\u0000b"', '"l"', undefined, 'l', 'a\0b');
	json('jlabel-bad-utf8', C('"a\xffb"'), '"l"', undefined, 'l', C('a\xffb'));
	json('jlabel-unicode', '"\u0430\uff41"', '"l"', undefined, 'l',
	    '\u0430\uff41');
	json('jmeta-escapes', '"x"', '"l"', '"t\\tn\\n\\\\\\""', 'l', 'x',
	    't\tn\n\\"');
	json('jmeta-nul', '"x"', '"l"', '"a\\u0000b"', 'l', 'x', 'a\0b');
	json('jmeta-bad-utf8', '"x"', '"l"', C('"a\xffb"'), 'l', 'x', C('a\xffb'));

	// Protobuf: the line is bytes and goes unchecked; labels are label
	// text, metadata strings.
	const proto = (name, labels, line, meta, expLine, expLabel, expMeta) => {
		const body = snappyLiteral(pushProto([{ labels, entries: [
		    { sec, line, meta: meta === undefined ? [] : [['m', meta]] }] }]));
		w(name + '.pb', body);
		rows.push([name, 'application/x-protobuf', name + '.pb',
		    hex(expLine), hex('v=') + hex(expLabel),
		    expMeta === undefined ? '-' : hex('m=') + hex(expMeta)]);
	};
	const all = Buffer.alloc(256);
	for (let i = 0; i < 256; i++)
		all[i] = i;
	proto('pline-nul', '{app="c", v="x"}', C('a\0b'), undefined, C('a\0b'), 'x');
	proto('pline-bad-utf8', '{app="c", v="x"}', C('\xff\xfe\xc0\xaf\xed\xa0\x80'),
	    undefined, C('\xff\xfe\xc0\xaf\xed\xa0\x80'), 'x');
	proto('pline-all-bytes', '{app="c", v="x"}', all, undefined, all, 'x');
	proto('plabel-escapes', '{app="c", v="t\\tn\\nb\\\\q\\"\\x41\\u0430"}', 'l',
	    undefined, 'l', 't\tn\nb\\q"A\u0430');
	proto('plabel-nul-esc', '{app="c", v="a\\x00b"}', 'l', undefined, 'l',
	    C('a\0b'));
	proto('plabel-raw-nul', C('{app="c", v="a\0b"}'), 'l', undefined, 'l',
	    C('a\0b'));
	proto('plabel-bad-utf8-esc', '{app="c", v="a\\xffb"}', 'l', undefined, 'l',
	    C('a\xffb'));
	proto('plabel-raw-bad-utf8', C('{app="c", v="a\xffb"}'), 'l', undefined,
	    'l', C('a\xffb'));
	proto('plabel-raw-tab', C('{app="c", v="a\tb"}'), 'l', undefined, 'l',
	    'a\tb');
	proto('plabel-raw-nl', C('{app="c", v="a\nb"}'), 'l', undefined, 'l',
	    'a\nb');
	proto('pmeta-nul', '{app="c", v="x"}', 'l', C('a\0b'), 'l', 'x', C('a\0b'));
	proto('pmeta-bad-utf8', '{app="c", v="x"}', 'l', C('a\xffb'), 'l', 'x',
	    C('a\xffb'));
	proto('pmeta-escapes', '{app="c", v="x"}', 'l', 't\tn\n\\"', 'l', 'x',
	    't\tn\n\\"');
	fs.writeFileSync(path.join(dir, 'content.tsv'),
	    rows.map((r) => r.join('\t') + '\n').join(''));

	// Many streams, entries and labels.
	const many = (n, f) => Array.from({ length: n }, (_, i) => f(i)).join(',');
	for (const n of [10000, 50000]) {
		w(`streams-${n}.json`, `{"streams":[${many(n, (i) =>
		    `{"stream":{"s":"${i}"},"values":[["${ns}","x"]]}`)}]}`);
		w(`streams-${n}.pb`, snappyLiteral(pushProto(Array.from({ length: n },
		    (_, i) => ({ labels: `{s="${i}"}`, entries: [{ sec, line: 'x' }] })))));
	}
	w('many-entries.json', `{"streams":[{"stream":{"s":"e"},"values":[${
	    many(100000, (i) => `["${ns}","${i}"]`)}]}]}`);
	w('many-labels.json', `{"streams":[{"stream":{${many(50000, (i) =>
	    `"l${i}":"v"`)}},"values":[["${ns}","x"]]},` +
	    `{"stream":{"s":"ok"},"values":[["${ns}","kept"]]}]}`);
	w('many-meta.json', `{"streams":[{"stream":{"s":"m"},"values":[["${ns}","x",{${
	    many(50000, (i) => `"k${i}":"v"`)}}],["${ns}","kept"]]}]}`);
	w('many-keys.json', `{"junk":{${many(50000, (i) => `"k${i}":1`)}},` +
	    `"streams":[{"stream":{"s":"k"},"values":[["${ns}","x"]]}]}`);
	w('dup-key-late.json', `{"junk":{${many(50000, (i) => `"k${i}":1`)},"k7":2},` +
	    `"streams":[{"stream":{"s":"k"},"values":[["${ns}","x"]]}]}`);
	// Deep nesting, 100000 levels, where a push's members go and in an
	// unknown member.
	const deep = 100000;
	w('deep-array.json', '['.repeat(deep) + ']'.repeat(deep));
	w('deep-streams.json', '{"streams":' + '['.repeat(deep) + ']'.repeat(deep) + '}');
	w('deep-unknown.json', '{"x":' + '{"a":'.repeat(deep) + '1' + '}'.repeat(deep) +
	    ',"streams":[]}');
	w('deep-values.json', `{"streams":[{"stream":{"a":"b"},"values":[["${ns}",` +
	    '['.repeat(deep) + ']'.repeat(deep) + ']]}]}');
	// Protobuf nested 100000 deep in unknown fields: field 99 holding
	// field 99 holding ...
	const levels = [];
	let inner = 0;
	for (let i = 0; i < deep; i++) {
		levels.push(inner);
		inner += 2 + varint(inner).length; // key 99/2 is 2 bytes
	}
	const nested = Buffer.alloc(inner);
	let at = 0;
	for (let i = deep - 1; i >= 0; i--) {
		const hdr = Buffer.concat([varint(99 * 8 + 2), varint(levels[i])]);
		hdr.copy(nested, at);
		at += hdr.length;
	}
	w('deep-unknown.pb', snappyLiteral(Buffer.concat([nested,
	    pushProto([{ labels: '{a="b"}', entries: [{ sec, line: 'x' }] }])])));

	// Bombs: 3 MiB of JSON whitespace in 30 KiB of gzip; a snappy body
	// that decodes to 3 MiB; one that declares 4 GiB - 1 and holds little.
	const line = Buffer.alloc(3 << 20, 0x20);
	w('bomb.gz', zlib.gzipSync(Buffer.concat([b('{"streams":[]'), line, b('}')]),
	    { level: 9 }));
	w('bomb.deflate', zlib.deflateSync(Buffer.concat([b('{"streams":[]'), line,
	    b('}')]), { level: 9 }));
	w('bomb.snappy', snappyRun(3 << 20));
	w('bomb-declared.snappy', snappyRun(100, 0xffffffff));
	// gzip of a snappy body of 3 MiB: each step capped on its own.
	w('bomb-snappy.gz', zlib.gzipSync(snappyRun(3 << 20), { level: 9 }));
	// A gzip stream of concatenated members, 200 of them, each small.
	const member = zlib.gzipSync(Buffer.alloc(20000, 0x20));
	w('bomb-members.gz', Buffer.concat([zlib.gzipSync(b('{"streams":[]')),
	    ...Array(200).fill(member), zlib.gzipSync(b('}'))]));
}

// --- crafted spool files (logthra-spool(5)) -------------------------------------

const CRC_TABLE = (() => {
	const t = new Uint32Array(256);
	for (let n = 0; n < 256; n++) {
		let c = n;
		for (let k = 0; k < 8; k++)
			c = (c >>> 1) ^ (0x82f63b78 & -(c & 1));
		t[n] = c >>> 0;
	}
	return t;
})();

function crc32c(buf) {
	let c = 0xffffffff;
	for (const x of buf)
		c = CRC_TABLE[(c ^ x) & 0xff] ^ (c >>> 8);
	return (c ^ 0xffffffff) >>> 0;
}

function record(type, payload) {
	const head = Buffer.alloc(5);
	head.write(type, 0, 'latin1');
	head.writeUInt32LE(payload.length, 1);
	const crc = Buffer.alloc(4);
	crc.writeUInt32LE(crc32c(Buffer.concat([head, payload])));
	return Buffer.concat([head, payload, crc]);
}

function u64(n) {
	const x = Buffer.alloc(8);
	x.writeBigUInt64LE(BigInt(n));
	return x;
}

function spoolFile(records) {
	const ver = Buffer.alloc(4);
	ver.writeUInt32LE(1);
	return Buffer.concat([Buffer.from('894c5453500d0a1a', 'hex'), ver,
	    record('H', Buffer.concat([varint(4), b('acme'), u64(1704067200000000000n),
	    u64(42)])), ...records]);
}

function spools(dir) {
	fs.mkdirSync(dir, { recursive: true });
	const w = (name, data) => fs.writeFileSync(path.join(dir, name), data);
	const end = (s, e) => record('Z', Buffer.concat([u64(s), u64(e)]));
	const ts = u64(1704067200000000000n);
	// A good file built the same way: the others fail for what they
	// hold, not for their CRCs.
	w('control.spool', spoolFile([record('S', Buffer.concat([u64(1), varint(1),
	    varint(3), b('a=b')])), record('E', Buffer.concat([ts, varint(7),
	    b('CONTROL'), varint(0)])), end(1, 1)]));
	// A label count of 2^64 - 1 with no labels after it.
	w('bigcount.spool', spoolFile([record('S', Buffer.concat([u64(1),
	    varint(0xffffffffffffffffn)])), end(1, 0)]));
	// One label whose length says 2^63 bytes.
	w('biglabel.spool', spoolFile([record('S', Buffer.concat([u64(1), varint(1),
	    varint(1n << 63n), b('a=b')])), end(1, 0)]));
	// An entry whose line length runs past its record.
	w('bigline.spool', spoolFile([record('S', Buffer.concat([u64(1), varint(1),
	    varint(3), b('a=b')])), record('E', Buffer.concat([ts, varint(1000000),
	    b('x'), varint(0)])), end(1, 1)]));
	// END counts that do not match, an unknown record type, a second H.
	w('badcounts.spool', spoolFile([end(1000000, 1000000)]));
	w('badtype.spool', spoolFile([record('Q', b('')), end(0, 0)]));
	// A varint of 11 bytes, longer than any 64-bit value.
	w('longvarint.spool', spoolFile([record('S', Buffer.concat([u64(1),
	    Buffer.from('ffffffffffffffffffff01', 'hex')])), end(1, 0)]));
}

// --- main ------------------------------------------------------------------------

const args = process.argv.slice(2);
// send's arguments: PORT FILE [options]; calls done_cb with the line.
function sendArgs(a, done_cb) {
	const opt = { drip: 0, stopAfter: -1, timeout: 10000, answers: 0 };
	for (let i = 2; i < a.length; i += 2) {
		const v = Number(a[i + 1]);
		switch (a[i]) {
		case '--drip': opt.drip = v; break;
		case '--stop-after': opt.stopAfter = v; break;
		case '--timeout': opt.timeout = v; break;
		case '--answers': opt.answers = v; break;
		default: die(`unknown option ${a[i]}`);
		}
	}
	send(Number(a[0]), a[1], opt, done_cb);
}

if (args[0] === 'send') {
	sendArgs(args.slice(1), (line) => {
		process.stdout.write(line + '\n');
		process.exit(0);
	});
} else if (args[0] === 'serve') {
	// One send per line of standard input (tab-separated arguments), one
	// after the other, each answered by its line: no start-up per request.
	const rl = require('node:readline').createInterface({ input: process.stdin });
	const queue = [];
	let busy = false;
	const next = () => {
		if (busy || queue.length === 0)
			return;
		busy = true;
		sendArgs(queue.shift().split('\t'), (line) => {
			process.stdout.write(line + '\n');
			busy = false;
			next();
		});
	};
	rl.on('line', (l) => { queue.push(l); next(); });
} else if (args[0] === 'spool') {
	spools(args[1]);
} else if (args[0] === 'gen') {
	gen(args[1]);
} else {
	die('usage: client.js send PORT FILE [options] | serve | gen DIR | spool DIR');
}
EOF
node "$CLIENT" gen "$W/b" || die "client.js gen failed"
node "$CLIENT" spool "$W/crafted" || die "client.js spool failed"
B=$W/b

# One client process serves every raw request, one after the other.
coproc CLIENT_PROC { exec node "$CLIENT" serve; }
LT_PIDS+=("$CLIENT_PROC_PID")
LT_PID_NAMES+=(client.js)

# raw PORT FILE [CLIENT-OPTIONS...]: sends FILE over a new connection;
# sets RAW_STATUS (the answers' status codes, comma-separated, "none"),
# RAW_CLOSED ("closed" or "open") and RAW_RESP (the answers).
raw() {
	local out='' IFS=$'\t'
	rm -f "$2.resp"
	printf '%s\n' "$*" >&"${CLIENT_PROC[1]}"
	read -r -t 60 out <&"${CLIENT_PROC[0]}" || out="error error 0"
	IFS=' ' read -r RAW_STATUS RAW_CLOSED _ <<<"$out"
	RAW_RESP=$(tr -d '\r' <"$2.resp" 2>/dev/null || true)
}

# req FILE FORMAT [ARGS...]: writes a raw request (printf).
req() {
	local file=$1
	shift
	# shellcheck disable=SC2059
	printf "$@" >"$file"
}

# --- settings, a logthra-recv that notes how it ended, the servers -------------

cat >"$T/hostile.conf" <<'EOF'
max_body_size = 4MiB
read_timeout = 1s
idle_timeout = 1s
request_timeout = 5s
max_decompressed_size = 2MiB
ingestion_rate = 0
EOF
chmod 644 "$T/hostile.conf"
export LOGTHRA_CONFIG=$T/hostile.conf
MAX_BODY=4194304

# Every logthra-recv, under inetd and CGI, runs under a wrapper that
# writes "start PID" and "exit PID STATUS" (a status of 128 and more is a
# signal).  It is a C program: a shell would merge environment variables
# of the same name, which is how fcgiwrap passes a header sent twice.
# The CGI program runs as nobody: a copy out of the build tree.
mkdir -p "$T/bin"
cp "$RECV" "$T/bin/logthra-recv"
EXITS=$T/recv-exits
: >"$EXITS"
chmod 755 "$T/bin" "$T/bin/logthra-recv"
chmod 666 "$EXITS"
cat >"$W/wrapper.c" <<'EOF'
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static void
note(const char *what, int status)
{
	FILE *f = fopen(EXITS, "a");

	if (f == NULL)
		return;
	if (status < 0)
		fprintf(f, "%s %ld\n", what, (long)getpid());
	else
		fprintf(f, "%s %ld %d\n", what, (long)getpid(), status);
	fclose(f);
}

int
main(int argc, char **argv)
{
	pid_t pid;
	int st, rc;

	(void)argc;
	note("start", -1);
	pid = fork();
	if (pid == 0) {
		execv(REAL, argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return 1;
	rc = WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
	note("exit", rc);
	return rc;
}
EOF
cc -O -o "$T/bin/recv-wrapper" -DEXITS="\"$EXITS\"" \
    -DREAL="\"$T/bin/logthra-recv\"" "$W/wrapper.c" ||
    die "could not compile the wrapper with cc"
chmod 755 "$T/bin/recv-wrapper"
EXITS_SEEN=0

# recv_ok WHAT: every logthra-recv started since the last call has
# exited (within 10 s), and none by a signal.
recv_ok() {
	local what=$1 i new starts exits died
	for ((i = 0; i < 100; i++)); do
		new=$(tail -n +$((EXITS_SEEN + 1)) "$EXITS")
		starts=$(grep -c '^start ' <<<"$new" || true)
		exits=$(grep -c '^exit ' <<<"$new" || true)
		((starts == exits)) && break
		sleep 0.1
	done
	check_eq "$starts" "$exits" "$what: all $starts logthra-recv processes exited"
	died=$(awk '$1 == "exit" && $3 >= 128' <<<"$new")
	check_eq "" "$died" "$what: no logthra-recv died of a signal"
	EXITS_SEEN=$(wc -l <"$EXITS")
}

# Files outside the spools that logthra-flush must leave alone: a valid
# spool file of tenant acme for a symbolic link and one for a hard link,
# and directories with spool files for linked directories.
OUT=$T/outside
mkdir -p "$OUT/readydir" "$OUT/tenantdir"/{tmp,ready,active,deferred} \
    "$OUT/qdir" "$OUT/tmpdir"
# outside_spool TENANT LINE FILE: a valid spool file holding LINE.
outside_spool() {
	rm -rf "$W/os"
	printf '{"streams":[{"stream":{"app":"outside"},"values":[["2024-01-01","%s"]]}]}' \
	    "$2" >"$W/os.json"
	"$RECV" -T "$1" -D "$W/os" "$W/os.json" || die "logthra-recv -T $1 failed"
	mv "$W/os/tenants/$1/ready/"*.spool "$3"
}
outside_spool acme OUTSIDE-SYMLINK "$OUT/symlinked.spool"
outside_spool acme OUTSIDE-HARDLINK "$OUT/hardlinked.spool"
outside_spool ok OUTSIDE-READYDIR "$OUT/readydir/1-outside.spool"
outside_spool evil OUTSIDE-TENANTDIR "$OUT/tenantdir/ready/1-outside.spool"
outside_spool tmpr OUTSIDE-TMPDIR "$OUT/tmpdir/old"
touch -d '-2 hours' "$OUT/tmpdir/old"
outside_state() {
	(cd "$OUT" && find . -printf '%y %p %s %T@\n' | LC_ALL=C sort &&
	    find . -type f -exec sha256sum {} + | LC_ALL=C sort)
}
OUT_BEFORE=$(outside_state)

SPOOL_I=$T/spool-inetd
SPOOL_N=$T/spool-cgi
mkdir -p "$SPOOL_I" "$SPOOL_N"
# Whatever changes after this, outside the spools and the servers' own
# directories, was written by something under test.
MARK=$W/marker
touch "$MARK"
sleep 0.01

start_clickhouse
REAL_RECV=$RECV
RECV=$T/bin/recv-wrapper
start_inetd "$SPOOL_I"
start_nginx_fcgiwrap "$SPOOL_N"
RECV=$REAL_RECV
IURL=$INETD_URL/api/push
NURL=$NGINX_URL/api/push
IPORT=$INETD_PORT
NPORT=$NGINX_PORT

# The tenants each spool may hold, added to as pushes are accepted.
VALID_I=(canary)
VALID_N=(canary)
valid() { # valid inetd|cgi|both TENANT...
	local tr=$1
	shift
	[[ $tr == cgi ]] || VALID_I+=("$@")
	[[ $tr == inetd ]] || VALID_N+=("$@")
}

# snap SPOOL: what the spool holds, to compare before and after.
# The receiver's counters (recv.stats) are left out: every request,
# refused or not, adds to them; spool_extra below checks whose they are.
snap() {
	find "$1" -mindepth 1 -path "$1/recv.stats" -prune -o \
	    \( -type d -printf 'd %P\n' \) -o \
	    -printf '%y %P %s\n' 2>/dev/null | LC_ALL=C sort
}

# label STRING: a short, printable rendering of a tenant id for messages.
label() {
	local s
	printf -v s '%q' "$1"
	((${#s} <= 40)) || s="${s:0:37}..."
	printf '%s' "$s"
}

# refuse STATUS REGEX WHAT SPOOL CURL-ARGS...: the request gets STATUS, a
# body matching REGEX, and the spool stays as it was.
refuse() {
	local status=$1 re=$2 what=$3 spool=$4 before
	shift 4
	before=$(snap "$spool")
	http_req "$@"
	check_status "$status" "$what"
	check_match "$re" "$HTTP_BODY" "$what: the answer names the problem"
	check_eq "$before" "$(snap "$spool")" "$what: nothing written"
}

# raw_refuse STATUSES REGEX CLOSED WHAT SPOOL PORT FILE [CLIENT-OPTIONS]:
# the same for raw bytes; CLOSED is "closed" when the server must close
# the connection, "-" when that does not matter.
raw_refuse() {
	local status=$1 re=$2 closed=$3 what=$4 spool=$5 port=$6 file=$7 before
	shift 7
	before=$(snap "$spool")
	raw "$port" "$file" "$@"
	check_eq "$status" "$RAW_STATUS" "$what -> $status"
	check_match "$re" "$RAW_RESP" "$what: the answer names the problem"
	[[ $closed == - ]] ||
	    check_eq "$closed" "$RAW_CLOSED" "$what: the connection is closed"
	check_eq "$before" "$(snap "$spool")" "$what: nothing written"
}

# alive WHAT: both transports still store a push.
alive() {
	push "$IURL" "$SEED" -H 'tenant-id: canary'
	check_status 204 "inetd still answers after $1"
	push "$NURL" "$SEED" -H 'tenant-id: canary'
	check_status 204 "cgi still answers after $1"
	recv_ok "$1"
}

# ready_count SPOOL TENANT
ready_count() { count_files "$1/tenants/$2/ready"; }

NGINX_400='<title>400 Bad Request</title>'

# --- tenant ids -------------------------------------------------------------------

note "tenant ids that climb out of the spool or pass for another tenant"
BAD_TENANTS=(
	"../$TOKEN" "../../$TOKEN"
	"../../../../../../../../../../../../../../tmp/$TOKEN"
	".." "." "./$TOKEN" "a/$TOKEN" "/tmp/$TOKEN" "$TOKEN/" "*/$TOKEN"
	"..\\$TOKEN" "%2e%2e%2f$TOKEN" "..%2F$TOKEN" "%2F$TOKEN"
	"$TOKEN x" "$TOKEN"$'\t'x "~$TOKEN" "\$(id)$TOKEN" "$TOKEN;id"
	"$(printf 'a%.0s' {1..151})" "$TOKEN$(printf 'a%.0s' {1..5000})"
	$'\xd0\xb0'"cme$TOKEN"                                   # Cyrillic a
	$'\xef\xbd\x81\xef\xbd\x83\xef\xbd\x8d\xef\xbd\x85'"$TOKEN" # fullwidth acme
	"$TOKEN"$'\xe2\x80\x8b'                                  # zero-width space
	".."$'\xef\xbc\x8f'"$TOKEN"                              # fullwidth solidus
	".."$'\xe2\x88\x95'"$TOKEN"                              # division slash
	"$TOKEN"$'\xff'                                          # not UTF-8
)
for t in "${BAD_TENANTS[@]}"; do
	refuse 400 'invalid tenant id' "inetd: tenant-id $(label "$t")" "$SPOOL_I" \
	    -H 'Content-Type: application/json' -H "tenant-id: $t" \
	    --data-binary "@$SEED" "$IURL"
	refuse 400 'invalid tenant id' "cgi: tenant-id $(label "$t")" "$SPOOL_N" \
	    -H 'Content-Type: application/json' -H "tenant-id: $t" \
	    --data-binary "@$SEED" "$NURL"
done
for url in "$IURL" "$NURL"; do
	if [[ $url == "$IURL" ]]; then tr=inetd sp=$SPOOL_I; else tr=cgi sp=$SPOOL_N; fi
	refuse 400 'invalid tenant id' "$tr: X-Scope-OrgID ../$TOKEN" "$sp" \
	    -H 'Content-Type: application/json' -H "X-Scope-OrgID: ../$TOKEN" \
	    --data-binary "@$SEED" "$url"
	refuse 400 'name different tenants' "$tr: tenant-id acme, X-Scope-OrgID ../$TOKEN" \
	    "$sp" -H 'Content-Type: application/json' -H 'tenant-id: acme' \
	    -H "X-Scope-OrgID: ../$TOKEN" --data-binary "@$SEED" "$url"
	refuse 400 'invalid tenant id "": is empty' "$tr: an empty tenant-id" "$sp" \
	    -H 'Content-Type: application/json' -H 'tenant-id;' \
	    --data-binary "@$SEED" "$url"
	refuse 401 'no tenant' "$tr: tenant_id with an underscore is not tenant-id" \
	    "$sp" -H 'Content-Type: application/json' -H 'tenant_id: acme' \
	    --data-binary "@$SEED" "$url"
done

note "tenant ids with bytes curl cannot send: raw requests"
BODY=$(cat "$SEED")
# rawtenant NAME BYTES INETD-STATUS INETD-REGEX CGI-STATUS CGI-REGEX
rawtenant() {
	local f=$W/rt-$1
	req "$f" "POST /api/push HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\ntenant-id: %b\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s" \
	    "$2" "${#BODY}" "$BODY"
	raw_refuse "$3" "$4" closed "inetd: tenant-id with $1" "$SPOOL_I" "$IPORT" "$f"
	raw_refuse "$5" "$6" - "cgi: tenant-id with $1" "$SPOOL_N" "$NPORT" "$f" \
	    --answers 1
}
rawtenant NUL "a\\0000$TOKEN" 400 'invalid character in header value' 400 "$NGINX_400"
rawtenant CR "a\\r$TOKEN" 400 'bare CR in a header line' 400 "$NGINX_400"
rawtenant 'a control byte' "a\\0001$TOKEN" 400 'invalid character in header value' \
    400 'invalid tenant id'
rawtenant DEL "a\\0177$TOKEN" 400 'invalid character in header value' \
    400 'invalid tenant id'
rawtenant 'an escape sequence' "\\0033[31m$TOKEN" 400 'invalid character in header value' \
    400 'invalid tenant id'
for pair in 'tenant-id:acme:../TOKEN' 'tenant-id:acme:acmf' \
    'X-Scope-OrgID:acme:../TOKEN'; do
	IFS=: read -r h v1 v2 <<<"$pair"
	v2=${v2//TOKEN/$TOKEN}
	f=$W/rt-dup-$h-${#v2} # named without the token
	req "$f" "POST /api/push HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n%s: %s\r\n%s: %s\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s" \
	    "$h" "$v1" "$h" "$v2" "${#BODY}" "$BODY"
	raw_refuse 400 "duplicate $h header with a different value" closed \
	    "inetd: $h sent twice ($v1, $(label "$v2"))" "$SPOOL_I" "$IPORT" "$f"
	raw_refuse 400 "duplicate $h header with a different value" - \
	    "cgi: $h sent twice ($v1, $(label "$v2"))" "$SPOOL_N" "$NPORT" "$f" \
	    --answers 1
done

note "odd but valid tenant ids are stored under their own name"
GOOD_TENANTS=("..." ".hidden" "-" "*" "'()!" "_" "a.b-c_d" "$(printf 'b%.0s' {1..150})")
for t in "${GOOD_TENANTS[@]}"; do
	push "$IURL" "$SEED" -H "tenant-id: $t"
	check_status 204 "inetd: tenant-id $(label "$t")"
	check_eq 1 "$(ready_count "$SPOOL_I" "$t")" "inetd: one file in tenants/$(label "$t")/ready"
	push "$NURL" "$SEED" -H "X-Scope-OrgID: $t"
	check_status 204 "cgi: X-Scope-OrgID $(label "$t")"
	check_eq 1 "$(ready_count "$SPOOL_N" "$t")" "cgi: one file in tenants/$(label "$t")/ready"
done
valid both "${GOOD_TENANTS[@]}"
push "$IURL" "$SEED" -H 'tenant-id:    ows   '
check_status 204 "inetd: white space around a tenant id is not part of it"
check_eq 1 "$(ready_count "$SPOOL_I" ows)" "inetd: stored as tenant ows"
push "$NURL" "$SEED" -H 'tenant-id:    ows   '
check_status 204 "cgi: white space around a tenant id is not part of it"
check_eq 1 "$(ready_count "$SPOOL_N" ows)" "cgi: stored as tenant ows"
valid both ows

note "acme and ACME are two tenants"
printf '{"streams":[{"stream":{"app":"case"},"values":[["2024-01-01","lower"]]}]}' >"$W/lower.json"
printf '{"streams":[{"stream":{"app":"case"},"values":[["2024-01-01","UPPER"]]}]}' >"$W/upper.json"
for url in "$IURL" "$NURL"; do
	if [[ $url == "$IURL" ]]; then tr=inetd sp=$SPOOL_I; else tr=cgi sp=$SPOOL_N; fi
	push "$url" "$W/lower.json" -H 'tenant-id: acme'
	check_status 204 "$tr: a push for acme"
	push "$url" "$W/upper.json" -H 'X-Scope-OrgID: ACME'
	check_status 204 "$tr: a push for ACME"
	check_eq "1 1" "$(ready_count "$sp" acme) $(ready_count "$sp" ACME)" \
	    "$tr: one file in each of tenants/acme and tenants/ACME"
	check_eq 2 "$(stat -c %i "$sp/tenants/acme" "$sp/tenants/ACME" | sort -u | wc -l)" \
	    "$tr: tenants/acme and tenants/ACME are two directories"
done
valid both acme ACME
alive "the tenant ids"

# --- sizes, nesting, many of everything ---------------------------------------

note "bodies over max_body_size ($MAX_BODY bytes)"
head -c $((MAX_BODY + 1)) /dev/zero | tr '\0' a >"$W/over.bin"
head -c "$MAX_BODY" /dev/zero | tr '\0' a >"$W/exact.bin"
JSON=(-H 'Content-Type: application/json')
refuse 413 "over the limit of $MAX_BODY bytes" "inetd: Content-Length one over" \
    "$SPOOL_I" "${JSON[@]}" -H 'tenant-id: big' -H 'Expect:' \
    --data-binary "@$W/over.bin" "$IURL"
refuse 413 "over the limit of $MAX_BODY bytes" "inetd: one over, Expect: 100-continue" \
    "$SPOOL_I" "${JSON[@]}" -H 'tenant-id: big' -H 'Expect: 100-continue' \
    --data-binary "@$W/over.bin" "$IURL"
refuse 413 'request body too large' "inetd: chunked, one over" "$SPOOL_I" \
    "${JSON[@]}" -H 'tenant-id: big' -H 'Transfer-Encoding: chunked' \
    --data-binary "@$W/over.bin" "$IURL"
refuse 400 'malformed JSON' "inetd: exactly max_body_size is read (and is no push)" \
    "$SPOOL_I" "${JSON[@]}" -H 'tenant-id: big' --data-binary "@$W/exact.bin" "$IURL"
refuse 413 "$MAX_BODY bytes" "cgi: Content-Length one over" "$SPOOL_N" \
    "${JSON[@]}" -H 'tenant-id: big' --data-binary "@$W/over.bin" "$NURL"
refuse 413 "$MAX_BODY bytes" "cgi: chunked, one over" "$SPOOL_N" \
    "${JSON[@]}" -H 'tenant-id: big' -H 'Transfer-Encoding: chunked' \
    --data-binary "@$W/over.bin" "$NURL"
refuse 400 'malformed JSON' "cgi: exactly max_body_size is read (and is no push)" \
    "$SPOOL_N" "${JSON[@]}" -H 'tenant-id: big' --data-binary "@$W/exact.bin" "$NURL"
req "$W/nolength" "POST /api/push HTTP/1.0\r\nHost: x\r\nContent-Type: application/json\r\ntenant-id: big\r\n\r\n%s" "$BODY"
raw_refuse 411 'needs Content-Length or chunked' closed \
    "inetd: HTTP/1.0 body without Content-Length" "$SPOOL_I" "$IPORT" "$W/nolength"

note "JSON nested 100000 deep"
for f in deep-array deep-streams deep-unknown deep-values; do
	refuse 400 'nesting too deep \(more than 64 levels\)' "inetd: $f.json" \
	    "$SPOOL_I" "${JSON[@]}" -H 'tenant-id: deep' --data-binary "@$B/$f.json" "$IURL"
done
refuse 400 'nesting too deep \(more than 64 levels\)' "cgi: deep-unknown.json" \
    "$SPOOL_N" "${JSON[@]}" -H 'tenant-id: deep' --data-binary "@$B/deep-unknown.json" "$NURL"
PB=(-H 'Content-Type: application/x-protobuf')
http_req "${PB[@]}" -H 'tenant-id: deep-pb' --data-binary "@$B/deep-unknown.pb" "$IURL"
check_status 204 "inetd: protobuf with an unknown field nested 100000 deep (skipped)"
valid inetd deep-pb

note "10000 and 50000 streams, 100000 entries, 50000 labels or metadata pairs"
# timed WHAT CURL-ARGS...: http_req, and the answer within 10 s.
timed() {
	local what=$1 t0
	shift
	t0=$(date +%s%N)
	http_req "$@"
	check_eq 1 "$((($(date +%s%N) - t0) < 10000000000))" "$what: answered within 10 s"
}
for url in "$IURL" "$NURL"; do
	if [[ $url == "$IURL" ]]; then tr=inetd sp=$SPOOL_I; else tr=cgi sp=$SPOOL_N; fi
	timed "$tr: 10000 streams (max_streams_per_push)" "${JSON[@]}" \
	    -H 'tenant-id: many-s' --data-binary "@$B/streams-10000.json" "$url"
	check_status 204 "$tr: 10000 streams (max_streams_per_push)"
	refuse 413 'more than 10000 streams in one push \(max_streams_per_push\)' \
	    "$tr: 50000 streams" "$sp" "${JSON[@]}" -H 'tenant-id: many-s' \
	    --data-binary "@$B/streams-50000.json" "$url"
done
timed "inetd: 10000 streams (protobuf)" "${PB[@]}" -H 'tenant-id: many-p' \
    --data-binary "@$B/streams-10000.pb" "$IURL"
check_status 204 "inetd: 10000 streams (protobuf)"
refuse 413 'more than 10000 streams in one push \(max_streams_per_push\)' \
    "inetd: 50000 streams (protobuf)" "$SPOOL_I" "${PB[@]}" -H 'tenant-id: many-p' \
    --data-binary "@$B/streams-50000.pb" "$IURL"
timed "inetd: 100000 entries" "${JSON[@]}" -H 'tenant-id: many-e' \
    --data-binary "@$B/many-entries.json" "$IURL"
check_status 204 "inetd: 100000 entries"
timed "inetd: 50000 unknown keys" "${JSON[@]}" -H 'tenant-id: many-k' \
    --data-binary "@$B/many-keys.json" "$IURL"
check_status 204 "inetd: 50000 unknown keys"
timed "inetd: a stream of 50000 labels" "${JSON[@]}" -H 'tenant-id: many-l' \
    --data-binary "@$B/many-labels.json" "$IURL"
check_status 400 "inetd: a stream of 50000 labels"
check_match '^1 of 2 entries rejected, 1 stored:
stream 1: too many labels \(50000, limit 15\)$' "$HTTP_BODY" \
    "inetd: the stream of 50000 labels is rejected, the other one stored"
timed "inetd: an entry with 50000 metadata pairs" "${JSON[@]}" -H 'tenant-id: many-m' \
    --data-binary "@$B/many-meta.json" "$IURL"
check_status 400 "inetd: an entry with 50000 metadata pairs"
check_match '^1 of 2 entries rejected, 1 stored:
stream 1 \{s="m"\}: entry 1: too many structured metadata items \(50000, limit 128\)$' \
    "$HTTP_BODY" "inetd: the entry is rejected, the other one stored"
valid inetd many-s many-p many-e many-k many-l many-m
valid cgi many-s
refuse 400 'duplicate object key "k7"' "inetd: a duplicate key after 50000 others" \
    "$SPOOL_I" "${JSON[@]}" -H 'tenant-id: many-d' --data-binary "@$B/dup-key-late.json" "$IURL"

note "headers too large"
LONG=$(printf 'x%.0s' {1..20000})
refuse 431 'request header section exceeds 16384 bytes' "inetd: a 20000-byte header" \
    "$SPOOL_I" "${JSON[@]}" -H 'tenant-id: hdr' -H "X-Long: $LONG" \
    --data-binary "@$SEED" "$IURL"
refuse 400 'Request Header Or Cookie Too Large' "cgi: a 20000-byte header (nginx)" \
    "$SPOOL_N" "${JSON[@]}" -H 'tenant-id: hdr' -H "X-Long: $LONG" \
    --data-binary "@$SEED" "$NURL"
refuse 431 'request header section exceeds 16384 bytes' "inetd: a 20000-byte path" \
    "$SPOOL_I" "${JSON[@]}" -H 'tenant-id: hdr' --data-binary "@$SEED" "$IURL?$LONG"
# headers FILE N [TENANT]: a push whose head has N header fields.
headers() {
	{
		printf 'POST /api/push HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\ntenant-id: %s\r\nConnection: close\r\n' "${3:-hdr}"
		for ((i = 5; i < $2; i++)); do printf 'X-H%d: v\r\n' "$i"; done
		printf 'Content-Length: %d\r\n\r\n%s' "${#BODY}" "$BODY"
	} >"$1"
}
headers "$W/headers-100" 100 hdr100
raw "$IPORT" "$W/headers-100"
check_eq "204 closed" "$RAW_STATUS $RAW_CLOSED" "inetd: 100 header fields (max_headers)"
valid inetd hdr100
headers "$W/headers-101" 101
raw_refuse 431 'more than 100 header fields \(max_headers\)' closed \
    "inetd: 101 header fields" "$SPOOL_I" "$IPORT" "$W/headers-101"
headers "$W/headers-6000" 6000
# The head is read whole (up to max_header_size) before its fields count.
raw_refuse 431 'request header section exceeds 16384 bytes' closed \
    "inetd: 6000 header fields" "$SPOOL_I" "$IPORT" "$W/headers-6000"
raw_refuse 400 'Request Header Or Cookie Too Large' - "cgi: 6000 header fields (nginx)" \
    "$SPOOL_N" "$NPORT" "$W/headers-6000" --answers 1
{
	printf 'POST /api/push HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\ntenant-id: hdr\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n' "${#BODY}" "$BODY"
	for ((i = 0; i < 101; i++)); do printf 'X-T%d: v\r\n' "$i"; done
	printf '\r\n'
} >"$W/trailers-101"
raw_refuse 431 'more than 100 trailer fields \(max_headers\)' closed \
    "inetd: 101 trailer fields" "$SPOOL_I" "$IPORT" "$W/trailers-101"

note "decompression bombs (max_decompressed_size 2 MiB)"
# bomb FILE CONTENT-TYPE CONTENT-ENCODING WHAT
bomb() {
	local args=(-H "Content-Type: $2" -H 'tenant-id: bomb' --data-binary "@$B/$1")
	[[ $3 == - ]] || args+=(-H "Content-Encoding: $3")
	refuse 413 'decoded body would exceed' "inetd: $4" "$SPOOL_I" "${args[@]}" "$IURL"
}
bomb bomb.gz application/json gzip "3 MiB of JSON in 3 KB of gzip"
bomb bomb.deflate application/json deflate "3 MiB of JSON in 3 KB of deflate"
bomb bomb-members.gz application/json gzip "200 gzip members"
bomb bomb.snappy application/x-protobuf - "snappy that decodes to 3 MiB"
bomb bomb-declared.snappy application/x-protobuf - "snappy that declares 4 GiB"
bomb bomb-snappy.gz application/x-protobuf gzip "snappy of 3 MiB inside gzip"
refuse 413 'decoded body would exceed' "cgi: 3 MiB of JSON in 3 KB of gzip" \
    "$SPOOL_N" "${JSON[@]}" -H 'Content-Encoding: gzip' -H 'tenant-id: bomb' \
    --data-binary "@$B/bomb.gz" "$NURL"
alive "the sizes"

# --- request smuggling ------------------------------------------------------------

note "request smuggling over inetd: one reading of every request, or none"
H="Host: x\r\nContent-Type: application/json\r\ntenant-id: smug\r\n"
# A complete push of tenant "hidden": it must never be stored.
HIDDEN="POST /api/push HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\ntenant-id: hidden\r\nContent-Length: ${#BODY}\r\n\r\n$BODY"
# shellcheck disable=SC2059 # the escapes are meant
HIDLEN=$(printf "$HIDDEN" | wc -c)
CHUNKED=$(printf '%x\r\n%s\r\n0\r\n\r\n' "${#BODY}" "$BODY")
n=0
# smuggle STATUSES REGEX CLOSED WHAT FORMAT [ARGS...]: to inetd.
smuggle() {
	local st=$1 re=$2 closed=$3 what=$4
	shift 4
	n=$((n + 1))
	req "$W/sm-$n" "$@"
	raw_refuse "$st" "$re" "$closed" "inetd: $what" "$SPOOL_I" "$IPORT" "$W/sm-$n"
}
smuggle 400 'both Content-Length and Transfer-Encoding given' closed \
    "Content-Length and chunked, a request hidden behind" \
    "POST /api/push HTTP/1.1\r\n${H}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n$HIDDEN"
smuggle 400 'both Content-Length and Transfer-Encoding given' closed \
    "chunked and Content-Length, a request hidden behind" \
    "POST /api/push HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: $HIDLEN\r\n\r\n0\r\n\r\n$HIDDEN"
smuggle 400 'duplicate Content-Length header with a different value' closed "two different Content-Lengths" \
    "POST /api/push HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: $HIDLEN\r\n\r\n$HIDDEN"
smuggle 400 'invalid Content-Length' closed "Content-Length as a list" \
    "POST /api/push HTTP/1.1\r\n${H}Content-Length: 5, $HIDLEN\r\n\r\n$HIDDEN"
smuggle 400 'invalid Content-Length' closed "Content-Length +5" \
    "POST /api/push HTTP/1.1\r\n${H}Content-Length: +5\r\n\r\n$HIDDEN"
smuggle 400 'invalid Content-Length' closed "Content-Length -1" \
    "POST /api/push HTTP/1.1\r\n${H}Content-Length: -1\r\n\r\n$HIDDEN"
smuggle 413 'Content-Length is too large' closed "Content-Length 10^30" \
    "POST /api/push HTTP/1.1\r\n${H}Content-Length: 1000000000000000000000000000000\r\n\r\n$HIDDEN"
smuggle 400 'malformed chunk size line' closed "chunk size zz" \
    "POST /api/push HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nzz\r\n$HIDDEN"
smuggle 400 'malformed chunk size line' closed "chunk size -5" \
    "POST /api/push HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n-5\r\n$HIDDEN"
smuggle 400 'malformed chunk size line' closed "chunk size 0x5" \
    "POST /api/push HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n$HIDDEN"
smuggle 400 'malformed chunk size line' closed "chunk size with trailing junk" \
    "POST /api/push HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5 x\r\nhello\r\n0\r\n\r\n$HIDDEN"
smuggle 413 'request body too large' closed "chunk size of 2^88" \
    "POST /api/push HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nffffffffffffffffffffff\r\n$HIDDEN"
smuggle 413 'request body too large' closed "chunk size 2^64 + 5 (wraps to 5)" \
    "POST /api/push HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n10000000000000005\r\nhello\r\n0\r\n\r\n$HIDDEN"
smuggle 400 'chunk data not followed by CRLF' closed "chunk longer than its size" \
    "POST /api/push HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhelloXX\r\n0\r\n\r\n$HIDDEN"
smuggle 400 'malformed chunked encoding' closed "bare CR in a chunk size line" \
    "POST /api/push HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\rX\r\nhello\r\n0\r\n\r\n$HIDDEN"
smuggle 400 'malformed trailer line' closed "a request as a chunked trailer" \
    "POST /api/push HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\n$HIDDEN"
smuggle 400 "'\\[' or '\\{' expected" - "a request hidden in a body is a body" \
    "POST /api/push HTTP/1.1\r\n${H}Content-Length: $HIDLEN\r\n\r\n$HIDDEN"
smuggle 405 'method GET not allowed' closed "GET with a body hiding a request" \
    "GET /api/push HTTP/1.1\r\n${H}Content-Length: $HIDLEN\r\n\r\n$HIDDEN"
smuggle 501 'only the chunked transfer coding is supported' closed "Transfer-Encoding gzip" \
    "POST /api/push HTTP/1.1\r\n${H}Transfer-Encoding: gzip\r\n\r\n$HIDDEN"
smuggle 501 'only the chunked transfer coding is supported' closed "Transfer-Encoding gzip, chunked" \
    "POST /api/push HTTP/1.1\r\n${H}Transfer-Encoding: gzip, chunked\r\n\r\n$CHUNKED"
smuggle 501 'only the chunked transfer coding is supported' closed "Transfer-Encoding chunked, chunked" \
    "POST /api/push HTTP/1.1\r\n${H}Transfer-Encoding: chunked, chunked\r\n\r\n$CHUNKED"
smuggle 501 'only the chunked transfer coding is supported' closed "Transfer-Encoding twice" \
    "POST /api/push HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n$CHUNKED"
smuggle 501 'only the chunked transfer coding is supported' closed "Transfer-Encoding identity" \
    "POST /api/push HTTP/1.1\r\n${H}Transfer-Encoding: identity\r\n\r\n$HIDDEN"
smuggle 501 'only the chunked transfer coding is supported' closed "Transfer-Encoding xchunked" \
    "POST /api/push HTTP/1.1\r\n${H}Transfer-Encoding: xchunked\r\n\r\n$CHUNKED"
smuggle 400 'Transfer-Encoding in an HTTP/1.0 request' closed "chunked in HTTP/1.0" \
    "POST /api/push HTTP/1.0\r\n${H}Transfer-Encoding: chunked\r\n\r\n$CHUNKED"
smuggle 400 'whitespace before the colon of a header' closed "Transfer-Encoding : chunked" \
    "POST /api/push HTTP/1.1\r\n${H}Transfer-Encoding : chunked\r\nContent-Length: $HIDLEN\r\n\r\n$HIDDEN"
smuggle 400 'whitespace before the colon of a header' closed "Content-Length : 5" \
    "POST /api/push HTTP/1.1\r\n${H}Content-Length : 5\r\nTransfer-Encoding: chunked\r\n\r\n$CHUNKED"
smuggle 400 'malformed header name' closed "a header name with a space" \
    "POST /api/push HTTP/1.1\r\n${H}Transfer Encoding: chunked\r\nContent-Length: $HIDLEN\r\n\r\n$HIDDEN"
smuggle 400 'malformed header name' closed "a header name with a NUL" \
    "POST /api/push HTTP/1.1\r\n${H}Transfer-Encoding\0: chunked\r\nContent-Length: $HIDLEN\r\n\r\n$HIDDEN"
smuggle 400 'obsolete header line folding' closed "obs-fold of Transfer-Encoding" \
    "POST /api/push HTTP/1.1\r\n${H}Transfer-Encoding:\r\n chunked\r\nContent-Length: $HIDLEN\r\n\r\n$HIDDEN"
smuggle 400 'obsolete header line folding' closed "obs-fold with a tab" \
    "POST /api/push HTTP/1.1\r\n${H}X-A: a\r\n\tContent-Length: 5\r\nContent-Length: $HIDLEN\r\n\r\n$HIDDEN"
smuggle 400 'bare CR in a header line' closed "a bare CR ending a header" \
    "POST /api/push HTTP/1.1\r\n${H}X-A: a\rContent-Length: 5\r\nContent-Length: $HIDLEN\r\n\r\n$HIDDEN"
smuggle 400 'exactly one Host header' closed "two Host headers" \
    "POST /api/push HTTP/1.1\r\n${H}Host: y\r\nContent-Length: $HIDLEN\r\n\r\n$HIDDEN"
smuggle 400 'exactly one Host header' closed "no Host header" \
    "POST /api/push HTTP/1.1\r\ntenant-id: smug\r\nContent-Length: $HIDLEN\r\n\r\n$HIDDEN"
smuggle 400 'the request target must be a path' closed "an absolute-form target" \
    "POST http://x/api/push HTTP/1.1\r\n${H}Content-Length: $HIDLEN\r\n\r\n$HIDDEN"
smuggle 400 'malformed request line' closed "two spaces in the request line" \
    "POST  /api/push HTTP/1.1\r\n${H}Content-Length: $HIDLEN\r\n\r\n$HIDDEN"
smuggle 400 'malformed request line' closed "http/1.1 in lower case" \
    "POST /api/push http/1.1\r\n${H}Content-Length: $HIDLEN\r\n\r\n$HIDDEN"
smuggle 505 'only HTTP/1.0 and HTTP/1.1' closed "HTTP/2.0" \
    "POST /api/push HTTP/2.0\r\n${H}Content-Length: $HIDLEN\r\n\r\n$HIDDEN"
smuggle 417 'only "Expect: 100-continue"' closed "Expect: 100-continue-x" \
    "POST /api/push HTTP/1.1\r\n${H}Expect: 100-continue-x\r\nContent-Length: $HIDLEN\r\n\r\n$HIDDEN"
check_eq 0 "$(find "$SPOOL_I/tenants" -maxdepth 1 -name hidden | wc -l)" \
    "inetd: no hidden request was ever stored"

note "framing that is valid: exactly one reading"
req "$W/pipeline" "POST /api/push HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\ntenant-id: pipe1\r\nContent-Length: %d\r\n\r\n%sPOST /api/push HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\ntenant-id: pipe2\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s" \
    "${#BODY}" "$BODY" "${#BODY}" "$BODY"
raw "$IPORT" "$W/pipeline"
check_eq "204,204 closed" "$RAW_STATUS $RAW_CLOSED" "inetd: two pipelined pushes, two answers, then closed"
check_eq "1 1" "$(ready_count "$SPOOL_I" pipe1) $(ready_count "$SPOOL_I" pipe2)" \
    "inetd: each stored once under its own tenant"
req "$W/samecl" "POST /api/push HTTP/1.1\r\n${H/smug/samecl}Content-Length: %d\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" \
    "${#BODY}" "${#BODY}" "$BODY"
raw "$IPORT" "$W/samecl"
check_eq "204 closed" "$RAW_STATUS $RAW_CLOSED" "inetd: two equal Content-Lengths are one"
req "$W/barelf" "POST /api/push HTTP/1.1\nHost: x\nContent-Type: application/json\ntenant-id: barelf\nConnection: close\nTransfer-Encoding: Chunked\n\n%x\n%s\n0\n\n" \
    "${#BODY}" "$BODY"
raw "$IPORT" "$W/barelf"
check_eq "204 closed" "$RAW_STATUS $RAW_CLOSED" \
    "inetd: bare LF line ends and chunk lines, Transfer-Encoding: Chunked (RFC 9112 2.2)"
check_eq 1 "$(ready_count "$SPOOL_I" barelf)" "inetd: stored once"
valid inetd pipe1 pipe2 samecl barelf

note "request smuggling through nginx: refused before logthra-recv"
# nsmuggle STATUS WHAT FORMAT [ARGS...]
nsmuggle() {
	local st=$1 what=$2
	shift 2
	n=$((n + 1))
	req "$W/sm-$n" "$@"
	raw_refuse "$st" "<title>$st " - "cgi: $what (nginx)" "$SPOOL_N" "$NPORT" \
	    "$W/sm-$n" --answers 1
}
nsmuggle 400 "Content-Length and chunked" \
    "POST /api/push HTTP/1.1\r\n${H}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n$HIDDEN"
nsmuggle 400 "two different Content-Lengths" \
    "POST /api/push HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: $HIDLEN\r\n\r\n$HIDDEN"
nsmuggle 501 "Transfer-Encoding gzip, chunked" \
    "POST /api/push HTTP/1.1\r\n${H}Transfer-Encoding: gzip, chunked\r\n\r\n$CHUNKED"
nsmuggle 400 "chunk size of 2^88" \
    "POST /api/push HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nffffffffffffffffffffff\r\n$HIDDEN"
nsmuggle 400 "obs-fold" \
    "POST /api/push HTTP/1.1\r\n${H}Transfer-Encoding:\r\n chunked\r\nContent-Length: $HIDLEN\r\n\r\n$HIDDEN"
nsmuggle 400 "Transfer-Encoding : chunked" \
    "POST /api/push HTTP/1.1\r\n${H}Transfer-Encoding : chunked\r\nContent-Length: $HIDLEN\r\n\r\n$HIDDEN"
n=$((n + 1))
req "$W/sm-$n" "POST /api/push HTTP/1.1\r\n${H}Content-Length: $HIDLEN\r\n\r\n$HIDDEN"
raw_refuse 400 "'\\[' or '\\{' expected" - "cgi: a request hidden in a body is a body" \
    "$SPOOL_N" "$NPORT" "$W/sm-$n" --answers 1
check_eq 0 "$(find "$SPOOL_N/tenants" -maxdepth 1 -name hidden | wc -l)" \
    "cgi: no hidden request was ever stored"
alive "the smuggling attempts"

# --- slow clients -------------------------------------------------------------------

note "slow clients (read_timeout 1 s, idle_timeout 1 s, request_timeout 5 s), all at once"
KEEP="POST /api/push HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\ntenant-id: %s\r\nContent-Length: ${#BODY}\r\n\r\n$BODY"
FULL="POST /api/push HTTP/1.1\r\nConnection: close\r\n${KEEP#*\\r\\n}"
HEAD_ONLY="POST /api/push HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\ntenant-id: slow\r\n"
req "$W/slow-half" "POST /api/push HTTP/1.1\r\nHost: x\r\ntenant-"
req "$W/slow-drip" "$FULL" slow
req "$W/slow-trickle" "$FULL" slow
req "$W/slow-body" "${HEAD_ONLY}Content-Length: 100\r\n\r\n{\"streams\""
req "$W/slow-idle" ""
req "$W/slow-expect" "${HEAD_ONLY}Expect: 100-continue\r\nContent-Length: 100\r\n\r\n"
req "$W/slow-chunk" "${HEAD_ONLY}Transfer-Encoding: chunked\r\n\r\n64\r\n{\"str"
req "$W/slow-trailer" "${HEAD_ONLY}Transfer-Encoding: chunked\r\n\r\n0\r\nX-Tr"
req "$W/slow-fast-drip" "$FULL" drip
req "$W/slow-keepalive" "$KEEP" keepalive
req "$W/slow-second" "${KEEP}POST /api/pu" second
before=$(snap "$SPOOL_I")
declare -A SLOW_OPTS=(
	[half]="--stop-after 1000000" [drip]="--drip 1500" [trickle]="--drip 300"
	[body]="--stop-after 1000000"
	[idle]="--stop-after 0" [expect]="--stop-after 1000000"
	[chunk]="--stop-after 1000000" [trailer]="--stop-after 1000000"
	[fast-drip]="--drip 2" [keepalive]="" [second]="")
pids=()
for s in "${!SLOW_OPTS[@]}"; do
	# shellcheck disable=SC2086
	node "$CLIENT" send "$IPORT" "$W/slow-$s" --timeout 15000 ${SLOW_OPTS[$s]} \
	    >"$W/slow-$s.out" 2>&1 &
	pids+=($!)
done
wait "${pids[@]}" || true
# slow NAME STATUSES REGEX MAX-MS WHAT
slow() {
	local ms
	read -r RAW_STATUS RAW_CLOSED ms <"$W/slow-$1.out"
	RAW_RESP=$(tr -d '\r' <"$W/slow-$1.resp" 2>/dev/null || true)
	check_eq "$2 closed" "$RAW_STATUS $RAW_CLOSED" "inetd: $5 -> $2, closed"
	check_match "$3" "$RAW_RESP" "inetd: $5: the answer names the problem"
	check_eq 1 "$((ms <= $4))" "inetd: $5: closed after $ms ms (at most $4)"
}
slow half 408 'timed out reading the request header' 4000 "half a header, then nothing"
slow drip 408 'timed out reading the request header' 4000 "a byte every 1.5 s"
slow trickle 408 'timed out reading the request header' 8000 \
    "a byte every 0.3 s, under read_timeout (request_timeout 5 s)"
slow body 408 'timed out reading the request body' 4000 "10 bytes of a 100-byte body"
slow idle none '^$' 4000 "a connection that sends nothing"
slow expect 100,408 'timed out reading the request body' 4000 "Expect: 100-continue, then no body"
slow chunk 408 'timed out reading the request body' 4000 "half a chunk"
slow trailer 408 'timed out reading the request body' 4000 "half a trailer"
slow fast-drip 204 "" 8000 "a whole push, a byte every 2 ms"
slow keepalive 204 '' 4000 "a kept-alive connection left idle after a push"
slow second 204,408 'timed out reading the request header' 4000 \
    "a push, then half a second request"
check_eq 3 "$(($(ready_count "$SPOOL_I" drip) + $(ready_count "$SPOOL_I" keepalive) + \
    $(ready_count "$SPOOL_I" second)))" "inetd: the three complete pushes were stored"
check_eq 0 "$(ready_count "$SPOOL_I" slow)" "inetd: nothing of the slow ones was stored"
valid inetd drip keepalive second
alive "the slow clients"

# --- content -------------------------------------------------------------------------

note "NUL, control bytes and invalid UTF-8 in lines, labels and metadata"
# NAME -> "STATUS" when stored, "STATUS REGEX" when refused.
declare -A CONTENT=(
	[jline-escapes]=204 [jline-nul]=204 [jline-ctl-esc]=204 [jline-raw-del]=204
	[jline-pair]=204 [jline-unicode]=204
	[jline-raw-tab]='400 control character in a string near byte 0x09'
	[jline-raw-nl]='400 control character in a string near byte 0x0a'
	[jline-raw-nul]='400 control character in a string near byte 0x00'
	[jline-bad-utf8]='400 invalid UTF-8 near byte 0xff'
	[jline-overlong]='400 invalid UTF-8 near byte 0xc0'
	[jline-utf8-surrogate]='400 invalid UTF-8 near byte 0xed'
	[jline-lone-surrogate]='400 lone high surrogate'
	[jlabel-escapes]=204 [jlabel-unicode]=204
	[jlabel-nul]='400 label "v" value contains a NUL byte'
	[jlabel-bad-utf8]='400 invalid UTF-8 near byte 0xff'
	[jmeta-escapes]=204
	[jmeta-nul]='400 structured metadata "m" value contains a NUL byte'
	[jmeta-bad-utf8]='400 invalid UTF-8 near byte 0xff'
	[pline-nul]=204 [pline-bad-utf8]=204 [pline-all-bytes]=204
	[plabel-escapes]=204 [plabel-raw-tab]=204
	[plabel-nul-esc]='400 label "v" value contains a NUL byte'
	[plabel-raw-nul]='400 label "v" value contains a NUL byte'
	[plabel-bad-utf8-esc]='400 label "v" value is not valid UTF-8'
	[plabel-raw-bad-utf8]='400 label "v" value is not valid UTF-8'
	[plabel-raw-nl]='400 raw newline in the value of label "v"'
	[pmeta-nul]='400 structured metadata "m" value contains a NUL byte'
	[pmeta-bad-utf8]='400 structured metadata "m" value is not valid UTF-8'
	[pmeta-escapes]=204
)
STORED=()
while IFS=$'\t' read -r name ctype file _line _label _meta; do
	want=${CONTENT[$name]:-}
	[[ -n $want ]] || { fail "content case $name has no expected outcome"; continue; }
	if [[ $want == 204 ]]; then
		http_req -H "Content-Type: $ctype" -H "tenant-id: c.$name" \
		    --data-binary "@$B/$file" "$IURL"
		check_status 204 "inetd: $name is stored"
		STORED+=("$name")
		valid inetd "c.$name"
	else
		refuse 400 "${want#400 }" "inetd: $name is refused" "$SPOOL_I" \
		    -H "Content-Type: $ctype" -H "tenant-id: c.$name" \
		    --data-binary "@$B/$file" "$IURL"
	fi
done <"$B/content.tsv"
alive "the content"

# --- into ClickHouse -------------------------------------------------------------------

note "flush both spools and look at the rows"
run "$FLUSH" -D "$SPOOL_I" -U "$CH_URL" -d hi
check_rc 0 "logthra-flush of the inetd spool"
run "$FLUSH" -D "$SPOOL_N" -U "$CH_URL" -d hn
check_rc 0 "logthra-flush of the cgi spool"
rows() { ch_query "$1 FORMAT TSV"; }
for db in hi hn; do
	check_eq "ACME	UPPER
acme	lower" "$(rows "SELECT tenant_id, msg FROM $db.log
	    WHERE lower(tenant_id) = 'acme' ORDER BY tenant_id")" \
	    "$db: acme's row and ACME's row, each under its own tenant"
	check_eq 0 "$(rows "SELECT count() FROM $db.log WHERE tenant_id IN ('hidden', 'smug', 'slow')")" \
	    "$db: no row of a hidden or refused request"
	check_eq 10000 "$(rows "SELECT count() FROM $db.log WHERE tenant_id = 'many-s'")" \
	    "$db: 10000 streams, 10000 rows"
done
check_eq "many-e	100000	1
many-k	1	1
many-l	1	1
many-m	1	1
many-p	10000	10000
many-s	10000	10000" "$(rows "SELECT tenant_id, count(), uniqExact(stream_id) FROM hi.log
    WHERE tenant_id LIKE 'many-%' GROUP BY tenant_id ORDER BY tenant_id")" \
    "hi: rows and streams of the large pushes"
check_eq "kept" "$(rows "SELECT msg FROM hi.log WHERE tenant_id = 'many-m'")" \
    "hi: the entry next to the one with 50000 metadata pairs"

note "stored content comes back byte for byte (hex)"
while IFS=$'\t' read -r name _ctype _file line lab meta; do
	[[ ${CONTENT[$name]:-} == 204 ]] || continue
	[[ $meta != - ]] || meta=
	check_eq "$line	$lab	$meta" "$(rows "SELECT lower(hex(msg)), lower(hex(label[2])),
	    lower(hex(metadata[1])) FROM hi.log WHERE tenant_id = 'c.$name'")" \
	    "hi: $name: line, label and metadata bytes"
done <"$B/content.tsv"

# --- crafted spool files ---------------------------------------------------------------

note "crafted spool files for logthra-flush"
SF=$T/spool-files
RD=$SF/tenants/acme/ready
mkdir -p "$SF"
"$RECV" -T acme -D "$SF" "$SEED" || die "logthra-recv -T acme failed"
good=$(find "$RD" -name '*.spool')
mv "$good" "$RD/99-good.spool"
"$RECV" -T beta -D "$W/other" "$SEED" || die "logthra-recv -T beta failed"
mv "$W/other/tenants/beta/ready/"*.spool "$RD/09-other-tenant.spool"
ln -s "$OUT/symlinked.spool" "$RD/01-symlink-outside.spool"
ln -s /etc/passwd "$RD/02-symlink-passwd.spool"
ln "$OUT/hardlinked.spool" "$RD/03-hardlink.spool"
cp "$RD/99-good.spool" "$RD/04-length.spool"
printf '\377\377\377\377' | dd of="$RD/04-length.spool" bs=1 seek=13 conv=notrunc status=none
cp "$RD/99-good.spool" "$RD/05-crc.spool"
printf 'X' | dd of="$RD/05-crc.spool" bs=1 seek=60 conv=notrunc status=none
cp "$RD/99-good.spool" "$RD/06-truncated.spool"
truncate -s -25 "$RD/06-truncated.spool" # the END record, exactly
mkdir "$RD/07-dir.spool"
mkfifo "$RD/08-fifo.spool"
: >"$RD/10-empty.spool"
for f in bigcount biglabel bigline badcounts badtype longvarint control; do
	cp "$W/crafted/$f.spool" "$RD/11-$f.spool"
done
printf 'not a spool file\n' >"$RD/12-notes.txt"
LT_RUN_TIMEOUT=20 run "$FLUSH" -D "$SF" -U "$CH_URL" -d hf
check_rc 65 "logthra-flush with 16 crafted files"
check_match '^flushed 2 files, 3 rows, .*; 16 files quarantined$' "$RUN_OUT" \
    "the good file and the control file are flushed, 16 files quarantined"
reason() { cat "$SF/quarantine/acme/$1.reason" 2>/dev/null || echo "(no reason)"; }
check_match '^could not open .*Too many levels of symbolic links$' \
    "$(reason 01-symlink-outside.spool)" "a symbolic link out of the spool is not followed"
check_match '^could not open .*Too many levels of symbolic links$' \
    "$(reason 02-symlink-passwd.spool)" "a symbolic link to /etc/passwd is not followed"
check_eq 'not a regular file with one link' "$(reason 03-hardlink.spool)" \
    "a hard link to a file outside is refused"
check_eq 'record at byte 12 runs past the end of the file' "$(reason 04-length.spool)" \
    "a record length of 4 GiB - 1"
check_match '^bad CRC in record at byte [0-9]+$' "$(reason 05-crc.spool)" "a bad CRC"
check_eq 'no END trailer (the file was not completely written)' \
    "$(reason 06-truncated.spool)" "a file cut before its END record"
check_eq 'not a regular file with one link' "$(reason 07-dir.spool)" "a directory"
check_eq 'not a regular file with one link' "$(reason 08-fifo.spool)" \
    "a FIFO (and flush did not wait for a writer)"
check_eq 'it belongs to tenant "beta"' "$(reason 09-other-tenant.spool)" \
    "a file whose header names tenant beta"
check_eq 'not a Logthra spool file (bad magic)' "$(reason 10-empty.spool)" "an empty file"
for f in bigcount biglabel bigline badcounts badtype longvarint; do
	check_match '^invalid record of type 0x[0-9a-f]{2} at byte [0-9]+$' \
	    "$(reason "11-$f.spool")" "valid CRCs around an absurd $f"
done
check_eq "12-notes.txt" "$(ls -A "$RD")" "a file not named .spool is left alone in ready/"
check_eq "" "$(ls -A "$SF/tenants/acme/active")" "nothing is left in active/"
check_eq "acme	CONTROL
acme	ready
acme	starting up" "$(rows "SELECT tenant_id, msg FROM hf.log ORDER BY msg")" \
    "ClickHouse holds the good file's and the control file's rows, nothing else"

note "symbolic links for the spool's own directories"
SD=$T/spool-dirs
"$RECV" -T ok2 -D "$SD" "$SEED" || die "logthra-recv -T ok2 failed"
"$RECV" -T q -D "$SD" "$SEED" || die "logthra-recv -T q failed"
printf 'X' | dd of="$(find "$SD/tenants/q/ready" -name '*.spool')" bs=1 seek=60 \
    conv=notrunc status=none
mkdir -p "$SD/tenants/ok"/{tmp,active,deferred} "$SD/tenants/tmpr"/{ready,active,deferred}
ln -s "$OUT/readydir" "$SD/tenants/ok/ready"
ln -s "$OUT/tenantdir" "$SD/tenants/evil"
ln -s "$OUT/tmpdir" "$SD/tenants/tmpr/tmp"
ln -s "$OUT/qdir" "$SD/quarantine"
LT_RUN_TIMEOUT=20 run "$FLUSH" -D "$SD" -U "$CH_URL" -d hd
check_rc 1 "logthra-flush with linked directories"
check_match '^flushed 1 files, 2 rows, ' "$RUN_OUT" "the other tenant's file is flushed"
check_contains "ignoring \"$SD/tenants/evil\": not a tenant directory" "$RUN_ERR" \
    "a tenant directory that is a link is ignored"
check_contains "\"$SD/tenants/ok/ready\" is a symbolic link or not a directory" \
    "$RUN_ERR" "a ready/ that is a link: the tenant is skipped"
check_contains "\"$SD/tenants/tmpr/tmp\" is a symbolic link or not a directory" \
    "$RUN_ERR" "a tmp/ that is a link: the tenant is skipped"
check_match 'of tenant "q" is bad \(bad CRC in record at byte [0-9]+\) but stays in active/' \
    "$RUN_ERR" "a quarantine/ that is a link is not used"
check_eq 1 "$(count_files "$SD/tenants/q/active")" "the bad file stays in active/"
check_eq "ok2	2" "$(rows "SELECT tenant_id, count() FROM hd.log GROUP BY tenant_id")" \
    "ClickHouse holds ok2's rows only"
run "$REPLAY" -D "$SD" --recover
check_rc 1 "logthra-replay --recover with linked directories"
check_contains "$SD/tenants/tmpr/tmp" "$RUN_ERR" "it names the tmp/ that is a link"

note "a tenant id with a quote in logthra-flush's SQL"
# A suspect file makes logthra-flush ask ClickHouse what it holds of the
# push, naming the tenant in a string literal.
SQ=$T/spool-quote
"$RECV" -T "'()!" -D "$SQ" "$SEED" || die "logthra-recv -T \"'()!\" failed"
mkdir -p "$SQ/tenants/'()!/deferred"
qf=$(find "$SQ/tenants/'()!/ready" -name '*.spool')
cp "$qf" "$W/quote.spool"
mv "$qf" "$SQ/tenants/'()!/deferred/"
for pass in 1 2; do
	run "$FLUSH" -D "$SQ" -U "$CH_URL" -d hq --retry-now
	check_rc 0 "logthra-flush of a suspect file of tenant '()! (pass $pass)"
	check_eq 2 "$(rows "SELECT count() FROM hq.log WHERE tenant_id = '\\'()!'")" \
	    "its 2 rows are in ClickHouse once (pass $pass)"
	cp "$W/quote.spool" "$SQ/tenants/'()!/deferred/"
done

# --- nothing outside the spools ----------------------------------------------------

note "nothing was written outside the spools"
recv_ok "the whole test"
check_eq "$OUT_BEFORE" "$(outside_state)" "the files outside the spool are unchanged"
check_eq 0 "$(rows "SELECT count() FROM hf.log WHERE position(msg, 'root:') > 0")" \
    "nothing of /etc/passwd reached ClickHouse"
for db in hi hn hf hd hq; do
	check_eq 0 "$(rows "SELECT count() FROM $db.log WHERE msg LIKE 'OUTSIDE-%'")" \
	    "$db: no row of a file outside the spool reached ClickHouse"
done

# The spools: nothing but tenants/VALID/..., rate/VALID, recv.stats,
# flush.lock and flush.state (logthra-flush's last run).
# spool_extra SPOOL VALID...: prints every other entry.
spool_extra() {
	local spool=$1 t p
	local -A ok=()
	shift
	for t in "$@"; do ok[$t]=1; done
	find "$spool" -mindepth 1 -printf '%P\n' | while IFS= read -r p; do
		case $p in
		tenants | rate | recv.stats | flush.lock | flush.state) continue ;;
		tenants/*) t=${p#tenants/} t=${t%%/*} ;;
		rate/*/*) printf '%s\n' "$p"; continue ;;
		rate/*) t=${p#rate/} ;;
		*) printf '%s\n' "$p"; continue ;;
		esac
		[[ -n ${ok[$t]:-} ]] || printf '%s\n' "$p"
	done
}
check_eq "" "$(spool_extra "$SPOOL_I" "${VALID_I[@]}")" \
    "the inetd spool holds only tenants/T/ and rate/T of accepted tenants"
check_eq "" "$(spool_extra "$SPOOL_N" "${VALID_N[@]}")" \
    "the cgi spool holds only tenants/T/ and rate/T of accepted tenants"

# counted_invalid SPOOL: the tenants of the receiver's counters that are
# not tenant ids (Loki's rule, logthra-spool(5)): none, for a request
# whose tenant is invalid or not allowed counts under tenant "".
counted_invalid() {
	local t re="^[A-Za-z0-9!._*'()-]{1,150}\$"
	"$RECV" -D "$1" --metrics |
	    sed -n 's/^logthra_recv_responses_total{tenant="\([^"]*\)".*/\1/p' |
	    sort -u | while IFS= read -r t; do
		[[ -z $t || ($t =~ $re && $t != . && $t != ..) ]] ||
		    printf '%s\n' "$t"
	done
}
check_eq "" "$(counted_invalid "$SPOOL_I")" \
    "the inetd counters name no invalid tenant"
check_eq "" "$(counted_invalid "$SPOOL_N")" \
    "the cgi counters name no invalid tenant"

# $T: only the spools, the servers' files and the test's own changed.
changed=$(find "$T" -mindepth 1 \( -path "$W" -o -path "$T/clickhouse" -o \
    -path "$T/nginx" -o -path "$SPOOL_I" -o -path "$SPOOL_N" -o -path "$SF" -o \
    -path "$SD" -o -path "$SQ" -o -path "$OUT" \) -prune -o -newer "$MARK" -print |
    grep -Ev "^$T/(http\.(body|headers|err)|run\.(out|err)|ch\.out|ports\.used|inetd-[0-9]+\.log|fcgiwrap\.log|clickhouse\.stdout|recv-exits)\$" ||
    true)
check_eq "" "$changed" "nothing else changed in the test's directory"

# Nothing named after a tenant id that tried to climb out (each one
# carries the token, but "..", which stays in $T) where a climb from the
# spools could land: the temporary and build directories, and the top of
# the root file system.
tmp=${TMPDIR:-/tmp}
# shellcheck disable=SC2154 # set by lib.sh
check_eq "" "$({ find "$T" "$tmp" /tmp /var/tmp /dev/shm "$abs_top_builddir" \
    "$abs_top_srcdir" -xdev -name "*$TOKEN*" -print
    find / -maxdepth 2 -xdev -name "*$TOKEN*" -print; } 2>/dev/null | head -n 20)" \
    "no file or directory named after an escaping tenant id"
# The CGI program runs as nobody, who can write only to the temporary
# directories: no spool file or directory of nobody's appeared there, but
# in the test's own and other tests' directories.  (Any new file of
# nobody's would be too much: other programs run as nobody meanwhile.)
if ((LT_UID == 0)); then
	check_eq "" "$(find /tmp /var/tmp /dev/shm "$tmp" -xdev \( -path "$T" -o \
	    -path "$tmp/logthra-*" -o -path "/tmp/logthra-*" \) -prune -o \
	    -newer "$MARK" -user "$LT_CGI_USER" \( -type f -o -type d \) \
	    \( -name '*.spool' -o -name tenants -o -name ready -o -name tmp -o \
	    -name active -o -name deferred -o -name rate \) -print 2>/dev/null |
	    head -n 20)" "no spool file or directory of $LT_CGI_USER's in /tmp, /var/tmp, /dev/shm"
fi
finish
