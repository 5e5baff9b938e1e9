#!/usr/bin/env node
// Sends log lines through winston and winston-loki, the way an
// application does, to a Loki push endpoint (winston-loki always posts to
// URL/loki/api/v1/push).  Protobuf (snappy-compressed, winston-loki's
// default) or, with --json, Loki's JSON.
//
// Line i is the marker PREFIX-000i.  Stream labels: job=winston-loki,
// format=protobuf|json and winston-loki's own level=info.  Each line also
// carries the meta {seq: "i"}, which winston-loki turns into structured
// metadata (with level=info) in JSON mode and drops in protobuf mode.
//
// Exits 0 only when every request winston-loki made was answered 204 with
// the Content-Type of the chosen format and the client reported no error.
'use strict';

const http = require('node:http');
const { args, fail, line, rounds, Recorder, sleep } = require('./common');

const PROG = 'winston.js';
const o = args(PROG, 'winston.js --url URL --tenant NAME --marker PREFIX [--json] [--count N] [--rounds R]',
    { json: { type: 'boolean', default: false } });

const rec = new Recorder();
rec.patchHttp(http);

// winston-loki falls back to JSON without a word when snappy cannot be
// loaded; make that an error here.
if (!o.json) {
	try {
		require('snappy');
	} catch (e) {
		fail(PROG, `the snappy module does not load: ${e.message}`);
	}
}

const winston = require('winston');
const LokiTransport = require('winston-loki');

const format = o.json ? 'json' : 'protobuf';
const wantType = o.json ? 'application/json' : 'application/x-protobuf';
const errors = [];
const origConsoleError = console.error;
// winston-loki reports a failed batch only on console.error.
console.error = (...a) => {
	errors.push(a.map(String).join(' '));
	origConsoleError(...a);
};

const transport = new LokiTransport({
	host: o.url,
	headers: { 'X-Scope-OrgID': o.tenant },
	json: o.json,
	labels: { job: 'winston-loki', format },
	format: winston.format.printf((info) => info.message),
	interval: 0.05,
	timeout: 20000,
	// We close it ourselves and wait for that; no exit hook.
	gracefulShutdown: false,
	clearOnError: true,
	onConnectionError: (err) => errors.push(`connection error: ${err.message}`),
});
transport.on('error', (err) => errors.push(`transport error: ${err.message}`));
if (transport.batcher.contentType !== wantType)
	fail(PROG, `winston-loki chose ${transport.batcher.contentType}, not ${wantType}`);

const logger = winston.createLogger({ level: 'info', transports: [transport] });
logger.on('error', (err) => errors.push(`logger error: ${err.message}`));

let logged = 0;
transport.on('logged', () => { logged++; });

// Waits until cond() holds or the client reported an error.
async function until(cond, what, ms) {
	const end = Date.now() + ms;
	while (!cond() && errors.length === 0) {
		if (Date.now() > end)
			fail(PROG, `timed out waiting for ${what}`);
		await sleep(10);
	}
}

async function main() {
	for (const [from, to] of rounds(o.count, o.rounds)) {
		for (let i = from; i <= to; i++)
			logger.info(line(o.marker, i), { seq: String(i) });
		// Every line reached the transport's batch; then the batch went out.
		await until(() => logged >= to, `line ${to} to reach winston-loki`, 20000);
		let flushed = false;
		transport.flush().then(() => { flushed = true; });
		await until(() => flushed, `the push of lines ${from}..${to}`, 30000);
		if (errors.length > 0)
			break;
	}
	await transport.close();
	await rec.settle();
	const bad = rec.check(wantType).concat(errors);
	if (bad.length > 0)
		fail(PROG, `${format} to ${o.url} for ${o.tenant}: ${rec.summary()}:\n  ` +
		    [...new Set(bad)].join('\n  '));
	process.stderr.write(`${PROG}: ${o.count} lines as ${format} to ${o.url} ` +
	    `for ${o.tenant}: ${rec.summary()}\n`);
	process.exit(0);
}

main().catch((e) => fail(PROG, e.stack || String(e)));
