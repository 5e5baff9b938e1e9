#!/usr/bin/env node
// Pushes streams through @myunisoft/loki (GrafanaApi().Loki.push, over
// undici), the way an application does, and prints one JSON object:
//
//   {"ok": true|false, "status": <HTTP status of the answer>,
//    "body": <the answer's body, when the library threw on it>,
//    "requests": [{"method", "path", "status", "headers"}, ...]}
//
// "headers" is the request's header block exactly as undici wrote it to
// the socket (undici:client:sendHeaders), so that a test can tell what
// the library really sent: its push() sets "Content-Type" itself and its
// HTTP library (@myunisoft/httpie) adds "content-type" for a JSON body,
// and undici sends both.
//
// The streams are read as JSON from the file given: Loki's push body
// without the outer object, [{"stream": {...}, "values": [[ts, line]]}].
// The library sends no tenant header: the server takes its
// default_tenant.
//
// Exits 0 whether or not the server accepted the push (the test checks
// "status"); 1 when the library failed without an answer.
'use strict';

const diagnostics = require('node:diagnostics_channel');
const fs = require('node:fs');

const PROG = 'push-loki.js';

function fail(msg) {
	process.stderr.write(`${PROG}: ${msg}\n`);
	process.exit(1);
}

const [url, file] = process.argv.slice(2);
if (!url || !file)
	fail(`usage: ${PROG} URL STREAMS.json`);
let streams;
try {
	streams = JSON.parse(fs.readFileSync(file, 'utf8'));
} catch (e) {
	fail(`cannot read ${file}: ${e.message}`);
}

const requests = [];
const byRequest = new Map();
diagnostics.channel('undici:request:create').subscribe(({ request }) => {
	const rec = { method: request.method, path: request.path, status: null, headers: null };
	byRequest.set(request, rec);
	requests.push(rec);
});
diagnostics.channel('undici:client:sendHeaders').subscribe(({ request, headers }) => {
	const rec = byRequest.get(request);
	if (rec)
		rec.headers = headers;
});
diagnostics.channel('undici:request:headers').subscribe(({ request, response }) => {
	const rec = byRequest.get(request);
	if (rec)
		rec.status = response.statusCode;
});

const { GrafanaApi } = require('@myunisoft/loki');
const api = new GrafanaApi({ remoteApiURL: url, userAgent: 'logthra-test push-loki.js' });

api.Loki.push(streams).then(() => {
	const last = requests[requests.length - 1];
	process.stdout.write(`${JSON.stringify({ ok: true, status: last ? last.status : null, requests })}\n`);
}, (err) => {
	// httpie's HTTP errors carry the status and the server's answer.
	if (!err.statusCode)
		fail(`push: ${err.message}; requests: ${JSON.stringify(requests)}`);
	process.stdout.write(`${JSON.stringify({ ok: false, status: err.statusCode,
	    body: err.data, requests })}\n`);
});
