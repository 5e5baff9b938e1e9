#!/usr/bin/env node
// Opens Loki's live tail (/loki/api/v1/tail) with the `ws` WebSocket
// client and writes what happens to OUT, one JSON object a line, as it
// happens, so that a test can watch it while the tail runs:
//
//   {"event":"open"}
//   {"event":"message","data":<the message, parsed>}
//   {"event":"refused","status":400,"body":"..."}   (no 101)
//   {"event":"close","code":1011,"reason":"..."}
//   {"event":"error","message":"..."}
//
// With --close-after N it closes the tail (code 1000) once N entries
// came.  It exits when the connection is closed, or after --timeout-ms.
'use strict';

const fs = require('node:fs');
const { parseArgs } = require('node:util');
const WebSocket = require('ws');

const PROG = 'tail.js';
const USAGE = `${PROG} --url URL --out FILE [--tenant T] [--close-after N] [--timeout-ms MS]`;

const { values } = parseArgs({
	options: {
		url: { type: 'string' },
		out: { type: 'string' },
		tenant: { type: 'string' },
		'close-after': { type: 'string' },
		'timeout-ms': { type: 'string', default: '30000' },
	},
});
if (!values.url || !values.out) {
	process.stderr.write(`${PROG}: usage: ${USAGE}\n`);
	process.exit(2);
}

const out = fs.openSync(values.out, 'a');
function emit(obj) {
	fs.writeSync(out, JSON.stringify(obj) + '\n');
}

const closeAfter = values['close-after'] ? Number(values['close-after']) : 0;
const headers = values.tenant ? { 'X-Scope-OrgID': values.tenant } : {};
const ws = new WebSocket(values.url, { headers });
let entries = 0;

const timer = setTimeout(() => {
	emit({ event: 'timeout' });
	ws.terminate();
	process.exit(1);
}, Number(values['timeout-ms']));

ws.on('open', () => emit({ event: 'open' }));
ws.on('message', (data, isBinary) => {
	let parsed;
	try {
		parsed = JSON.parse(data.toString('utf8'));
	} catch (e) {
		emit({ event: 'error', message: `not JSON: ${data}` });
		return;
	}
	emit({ event: 'message', binary: isBinary, data: parsed });
	for (const s of parsed.streams || [])
		entries += (s.values || []).length;
	if (closeAfter > 0 && entries >= closeAfter)
		ws.close(1000, 'enough');
});
ws.on('unexpected-response', (req, res) => {
	let body = '';
	res.on('data', (c) => { body += c; });
	res.on('end', () => {
		emit({ event: 'refused', status: res.statusCode, body });
		clearTimeout(timer);
		process.exit(0);
	});
});
ws.on('close', (code, reason) => {
	emit({ event: 'close', code, reason: reason.toString('utf8') });
	clearTimeout(timer);
	fs.closeSync(out);
	process.exit(0);
});
ws.on('error', (e) => emit({ event: 'error', message: e.message }));
