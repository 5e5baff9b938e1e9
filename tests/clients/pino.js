#!/usr/bin/env node
// Sends log lines through pino and pino-loki (Loki's JSON push, over
// fetch) to a Loki push endpoint, URL/ENDPOINT (default
// loki/api/v1/push).  pino-loki runs in this process as pino's
// destination stream rather than in pino's transport worker, so that its
// errors, which it only prints, are seen here.
//
// Line i is the marker PREFIX-000i (pino-loki's logFormat "{msg}"), sent
// with the structured metadata seq=i.  Stream labels: job=pino-loki and
// pino-loki's own level=info and hostname=<this host>.
//
// Exits 0 only when every request pino-loki made was answered 204 with
// Content-Type application/json and pino-loki reported no error.
'use strict';

const { once } = require('node:events');
const { args, fail, line, rounds, Recorder, sleep } = require('./common');

const PROG = 'pino.js';
const o = args(PROG, 'pino.js --url URL --tenant NAME --marker PREFIX [--endpoint PATH] [--count N] [--rounds R]',
    { endpoint: { type: 'string', default: 'loki/api/v1/push' } });

const rec = new Recorder();
rec.patchFetch();

const errors = [];
const origConsoleError = console.error;
// pino-loki reports a failed push only on console.error.
console.error = (...a) => {
	errors.push(a.map(String).join(' '));
	origConsoleError(...a);
};

const pino = require('pino');
const { pinoLoki } = require('pino-loki');

const INTERVAL_S = 0.1;
const dest = pinoLoki({
	host: o.url,
	endpoint: o.endpoint,
	headers: { 'X-Scope-OrgID': o.tenant },
	labels: { job: 'pino-loki' },
	logFormat: '{msg}',
	structuredMetaKey: 'meta',
	batching: true,
	interval: INTERVAL_S,
	timeout: 20000,
});
dest.on('error', (err) => errors.push(`stream error: ${err.message}`));
const logger = pino({ level: 'info' }, dest);

async function main() {
	for (const [from, to] of rounds(o.count, o.rounds)) {
		for (let i = from; i <= to; i++)
			logger.info({ meta: { seq: String(i) } }, line(o.marker, i));
		// Past pino-loki's batch interval, so that each round is a push of
		// its own; the last one goes out when the stream closes.
		await sleep(INTERVAL_S * 1000 * 3);
		await rec.settle();
		if (errors.length > 0)
			break;
	}
	dest.end();
	await once(dest, 'close');
	await rec.settle();
	const bad = rec.check('application/json').concat(errors);
	if (bad.length > 0)
		fail(PROG, `JSON to ${o.url}/${o.endpoint} for ${o.tenant}: ${rec.summary()}:\n  ` +
		    [...new Set(bad)].join('\n  '));
	process.stderr.write(`${PROG}: ${o.count} lines as JSON to ${o.url}/${o.endpoint} ` +
	    `for ${o.tenant}: ${rec.summary()}\n`);
	process.exit(0);
}

main().catch((e) => fail(PROG, e.stack || String(e)));
