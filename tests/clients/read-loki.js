#!/usr/bin/env node
// Reads from a Loki query API through @myunisoft/loki (GrafanaApi().Loki,
// over undici) and prints what the library returned as JSON, one object:
//
//   {"result": <what the method returned>,
//    "requests": [{"method", "path", "status"}, ...]}
//
// "requests" lists every HTTP exchange the library made (from undici's
// diagnostics channels), so that a test can tell that the answer came
// from the server and from which path, whatever the library makes of it.
//
// Loki.series() takes several selectors but sends only the last: its HTTP
// library (@myunisoft/httpie 5) copies the query string with
// searchParams.set, which keeps one "match"; so "series" takes one.
//
// The library sends no tenant header (its only headers are Authorization
// and User-Agent, and series() sends neither): the server must take such
// requests as its default_tenant.
//
// Exits 1 when the library throws (an HTTP error is one), printing why.
'use strict';

const diagnostics = require('node:diagnostics_channel');
const { parseArgs } = require('node:util');

const PROG = 'read-loki.js';
const USAGE = `${PROG} --url URL [--start T] [--end T] [--since D] [--limit N] OP ARG...
  stream QUERY       Loki.queryRangeStream: streams with labels and entries
  lines QUERY        Loki.queryRange: the lines, newest first
  labels             Loki.labels
  values NAME [SEL]  Loki.labelValues of NAME, of the streams of SEL if given
  series SEL         Loki.series of a selector
  --start, --end     as Loki takes them (unix seconds or nanoseconds) or a
                     duration back from now (the library's own form, "2h")
  --since D          Loki's since (queries, labels and values)
  --limit N          entries of a query (the library's default is 100)`;

function fail(msg) {
	process.stderr.write(`${PROG}: ${msg}\n`);
	process.exit(1);
}

let o;
try {
	o = parseArgs({
		options: {
			url: { type: 'string' },
			start: { type: 'string' },
			end: { type: 'string' },
			since: { type: 'string' },
			limit: { type: 'string' },
			help: { type: 'boolean' },
		},
		allowPositionals: true,
		strict: true,
	});
} catch (e) {
	fail(`${e.message}\nusage: ${USAGE}`);
}
if (o.values.help) {
	process.stdout.write(`usage: ${USAGE}\n`);
	process.exit(0);
}
if (!o.values.url)
	fail(`--url is required\nusage: ${USAGE}`);
const [op, ...rest] = o.positionals;

// Only the options given: the library puts every key it gets into the
// query string.
const range = {};
for (const k of ['start', 'end', 'since']) {
	if (o.values[k] !== undefined)
		range[k] = o.values[k];
}
const queryOptions = { ...range };
if (o.values.limit !== undefined) {
	queryOptions.limit = Number(o.values.limit);
	if (!Number.isInteger(queryOptions.limit) || queryOptions.limit < 1)
		fail('--limit must be a positive integer');
}

// Every request undici makes, with the status of its answer.
const requests = [];
const byRequest = new Map();
diagnostics.channel('undici:request:create').subscribe(({ request }) => {
	const rec = { method: request.method, path: request.path, status: null };
	byRequest.set(request, rec);
	requests.push(rec);
});
diagnostics.channel('undici:request:headers').subscribe(({ request, response }) => {
	const rec = byRequest.get(request);
	if (rec)
		rec.status = response.statusCode;
});

const { GrafanaApi } = require('@myunisoft/loki');
const api = new GrafanaApi({ remoteApiURL: o.values.url, userAgent: 'logthra-test read-loki.js' });

function arity(min, max) {
	if (rest.length < min || rest.length > max)
		fail(`${op} takes ${min === max ? min : `${min} to ${max}`} argument(s)\nusage: ${USAGE}`);
}

async function read() {
	switch (op) {
	case 'stream':
		arity(1, 1);
		return api.Loki.queryRangeStream(rest[0], queryOptions);
	case 'lines':
		arity(1, 1);
		return api.Loki.queryRange(rest[0], queryOptions);
	case 'labels':
		arity(0, 0);
		return api.Loki.labels(range);
	case 'values':
		arity(1, 2);
		return api.Loki.labelValues(rest[0],
		    rest.length > 1 ? { ...range, query: rest[1] } : range);
	case 'series':
		arity(1, 1);
		return api.Loki.series(rest[0]);
	default:
		return fail(`unknown operation "${op ?? ''}"\nusage: ${USAGE}`);
	}
}

read().then((result) => {
	process.stdout.write(`${JSON.stringify({ result, requests })}\n`);
}, (err) => {
	// httpie's HTTP errors carry the status and the server's answer.
	const detail = err.statusCode ? ` (HTTP ${err.statusCode}: ${JSON.stringify(err.data)})` : '';
	fail(`${op}: ${err.message}${detail}; requests: ${JSON.stringify(requests)}`);
});
