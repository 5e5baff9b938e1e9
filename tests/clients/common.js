// What the client scripts share: their command line, the log lines they
// send, and a record of every HTTP exchange the client library makes, so
// that a script can tell that its client really sent something and what
// the server answered, whatever the library itself reports.
'use strict';

const { parseArgs } = require('node:util');

const USAGE_COMMON = `
  --url URL        the receiver, e.g. http://127.0.0.1:8080
  --tenant NAME    sent as X-Scope-OrgID
  --marker PREFIX  line i (1..N) is PREFIX-0001 ... PREFIX-N, zero-padded to 4
  --count N        lines to send (default 100)
  --rounds R       send them in R rounds, each pushed before the next is
                   logged, so that the client makes several requests
                   (default 3)`;

function fail(prog, msg) {
	process.stderr.write(`${prog}: ${msg}\n`);
	process.exit(1);
}

// Parses the common options plus `extra` (parseArgs option specs).
function args(prog, usage, extra) {
	let v;
	try {
		({ values: v } = parseArgs({
			options: {
				url: { type: 'string' },
				tenant: { type: 'string' },
				marker: { type: 'string' },
				count: { type: 'string', default: '100' },
				rounds: { type: 'string', default: '3' },
				help: { type: 'boolean' },
				...extra,
			},
			strict: true,
		}));
	} catch (e) {
		fail(prog, `${e.message}\nusage: ${usage}${USAGE_COMMON}`);
	}
	if (v.help) {
		process.stdout.write(`usage: ${usage}${USAGE_COMMON}\n`);
		process.exit(0);
	}
	for (const k of ['url', 'tenant', 'marker']) {
		if (!v[k])
			fail(prog, `--${k} is required\nusage: ${usage}${USAGE_COMMON}`);
	}
	v.count = Number(v.count);
	v.rounds = Number(v.rounds);
	if (!Number.isInteger(v.count) || v.count < 1 || v.count > 9999)
		fail(prog, '--count must be 1..9999');
	if (!Number.isInteger(v.rounds) || v.rounds < 1 || v.rounds > v.count)
		fail(prog, '--rounds must be 1..count');
	return v;
}

function line(marker, i) {
	return `${marker}-${String(i).padStart(4, '0')}`;
}

// Lines 1..count split into `rounds` consecutive runs.
function rounds(count, n) {
	const out = [];
	for (let r = 0; r < n; r++) {
		const from = Math.floor((r * count) / n) + 1;
		const to = Math.floor(((r + 1) * count) / n);
		out.push([from, to]);
	}
	return out;
}

// Records exchanges: {contentType, status} each; in-flight ones are
// tracked so that a script can wait for all of them.
class Recorder {
	constructor() {
		this.done = [];
		this.inflight = new Set();
		this.errors = [];
	}

	track(contentType, promise) {
		const rec = { contentType, status: null };
		const p = promise.then((status) => { rec.status = status; },
		    (err) => { rec.status = `error: ${err.message}`; })
		    .finally(() => { this.inflight.delete(p); this.done.push(rec); });
		this.inflight.add(p);
		return p;
	}

	async settle() {
		while (this.inflight.size > 0)
			await Promise.all([...this.inflight]);
	}

	// Wraps http.request (as winston-loki calls it).
	patchHttp(http) {
		const orig = http.request;
		const self = this;
		http.request = function (...a) {
			const opts = a.find((x) => x && typeof x === 'object' &&
			    !(x instanceof URL)) || {};
			const h = opts.headers || {};
			const ct = h['Content-Type'] || h['content-type'] || '';
			const req = orig.apply(this, a);
			self.track(ct, new Promise((resolve, reject) => {
				req.on('response', (res) => {
					res.on('end', () => resolve(res.statusCode));
					res.on('error', reject);
				});
				req.on('error', reject);
			}));
			return req;
		};
	}

	// Wraps fetch (as pino-loki calls it).
	patchFetch() {
		const orig = globalThis.fetch;
		const self = this;
		globalThis.fetch = function (url, init) {
			const h = new Headers(init && init.headers);
			const p = orig(url, init);
			self.track(h.get('content-type') || '', p.then((r) => r.status));
			return p;
		};
	}

	// Problems: exchanges that were not a 204 with the expected type.
	check(wantType) {
		const bad = [];
		if (this.done.length === 0)
			bad.push('the client sent no request');
		for (const r of this.done) {
			if (r.status !== 204)
				bad.push(`a request got ${r.status}`);
			if (r.contentType !== wantType)
				bad.push(`a request had Content-Type "${r.contentType}", not "${wantType}"`);
		}
		return bad.concat(this.errors);
	}

	summary() {
		const n = {};
		for (const r of this.done)
			n[r.status] = (n[r.status] || 0) + 1;
		return `${this.done.length} requests (` +
		    Object.entries(n).map(([s, c]) => `${c}x ${s}`).join(', ') + ')';
	}
}

function sleep(ms) {
	return new Promise((r) => setTimeout(r, ms));
}

module.exports = { args, fail, line, rounds, Recorder, sleep };
