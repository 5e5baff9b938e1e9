#!/usr/bin/env node
// A current ClickHouse behind the part of its HTTP interface that
// Logthra uses, for the integration tests: chdb runs the ClickHouse engine
// in this process, on a data directory, and this server hands it exactly
// the statements and bodies it receives.
//
//   node chdb-http.js DATA-DIR [PORT [PORT-FILE]]
//
// PORT 0 (the default) takes a free port; it is printed, and written to
// PORT-FILE when given, once the server listens on 127.0.0.1.
//
// What it does as ClickHouse's HTTP interface does:
//  - the statement is the URL's ?query=, the POST body, or both (the
//    query, a newline, then the body); GET /ping answers "Ok.";
//  - "INSERT ... FORMAT X" in ?query= with a body: the body is X's data,
//    handed to the engine byte for byte, as a file (FROM INFILE);
//  - requests run one at a time in the order they arrive, and a request
//    whose client goes away before its body has all arrived runs not;
//  - other URL parameters are settings for this one request (such as
//    max_insert_block_size); database and default_format are honoured,
//    query_id comes back in X-ClickHouse-Query-Id;
//  - the answer is in the requested FORMAT, TabSeparated by default;
//  - an error is "Code: N. DB::Exception: ... (version V)" with the
//    X-ClickHouse-Exception-Code header and the HTTP status ClickHouse
//    gives that code (src/Server/HTTP/exceptionCodeToHTTPStatus.cpp):
//    400 for syntax and parse errors, 404 for unknown tables and
//    functions, 500 otherwise;
//  - one statement per request: "Multi-statements are not allowed".
//  - the one user is "default" without a password, as on a fresh server:
//    other credentials (Basic auth, user/password parameters or the
//    X-ClickHouse-User/Key headers) are refused with AUTHENTICATION_FAILED.
// What it does not: other users, quotas, query parameters (param_*:
// refused), compression, sessions, and a query_id the engine could see
// (system.processes shows its own).
// Requests share one chdb Session.
'use strict';

const http = require('http');
const path = require('path');
const crypto = require('crypto');
const fs = require('fs');
const chdb = require('chdb');

const [dataDir, portArg = '0', portFile] = process.argv.slice(2);
if (!dataDir) {
	process.stderr.write('usage: chdb-http.js DATA-DIR [PORT [PORT-FILE]]\n');
	process.exit(2);
}

const session = new chdb.Session(path.resolve(dataDir));
// Where an INSERT's body waits while the engine reads it: beside the
// engine's own directories, which it leaves alone.
const bodyDir = path.join(path.resolve(dataDir), 'chdb-http-bodies');
fs.mkdirSync(bodyDir, { recursive: true });

// A string literal in ClickHouse's SQL.
function quote(text) {
	return "'" + text.replace(/\\/g, '\\\\').replace(/'/g, "\\'") + "'";
}
const version = session.query('SELECT version()', 'TabSeparated').trim();

// URL parameters that are not settings.  user, password and quota_key
// are accepted and ignored.
const NOT_SETTINGS = new Set(['query', 'query_id', 'database', 'default_format',
	'user', 'password', 'quota_key']);

// ClickHouse's HTTP status per exception, by error name; the codes come
// from the engine itself so that no number is copied here.
const STATUS_BY_NAME = {
	400: ['BAD_ARGUMENTS', 'CANNOT_COMPILE_REGEXP', 'CANNOT_PARSE_TEXT',
		'CANNOT_PARSE_ESCAPE_SEQUENCE', 'CANNOT_PARSE_QUOTED_STRING',
		'CANNOT_PARSE_DATE', 'CANNOT_PARSE_DATETIME', 'CANNOT_PARSE_NUMBER',
		'CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING', 'CANNOT_PARSE_IPV4',
		'CANNOT_PARSE_IPV6', 'CANNOT_PARSE_INPUT_ASSERTION_FAILED',
		'CANNOT_PARSE_UUID', 'DUPLICATE_COLUMN', 'ILLEGAL_COLUMN',
		'UNKNOWN_ELEMENT_IN_AST', 'UNKNOWN_TYPE_OF_AST_NODE',
		'THERE_IS_NO_COLUMN', 'TOO_DEEP_AST', 'TOO_BIG_AST',
		'UNEXPECTED_AST_STRUCTURE', 'SYNTAX_ERROR', 'INCORRECT_DATA',
		'TYPE_MISMATCH', 'VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE'],
	401: ['REQUIRED_PASSWORD'],
	403: ['UNKNOWN_USER', 'WRONG_PASSWORD', 'AUTHENTICATION_FAILED',
		'SET_NON_GRANTED_ROLE', 'ACCESS_DENIED'],
	404: ['UNKNOWN_TABLE', 'UNKNOWN_FUNCTION', 'UNKNOWN_IDENTIFIER',
		'UNKNOWN_TYPE', 'UNKNOWN_STORAGE', 'UNKNOWN_DATABASE',
		'UNKNOWN_SETTING', 'UNKNOWN_DIRECTION_OF_SORTING',
		'UNKNOWN_AGGREGATE_FUNCTION', 'UNKNOWN_FORMAT',
		'UNKNOWN_DATABASE_ENGINE', 'UNKNOWN_TYPE_OF_QUERY', 'UNKNOWN_ROLE'],
	408: ['TIMEOUT_EXCEEDED'],
	411: ['HTTP_LENGTH_REQUIRED'],
	413: ['QUERY_IS_TOO_LARGE'],
	415: ['UNSUPPORTED_MEDIA_TYPE'],
	501: ['NOT_IMPLEMENTED'],
	503: ['SOCKET_TIMEOUT', 'CANNOT_OPEN_FILE', 'CANNOT_SCHEDULE_TASK'],
};
const statusByCode = new Map();
const codeByName = new Map();
{
	const names = Object.values(STATUS_BY_NAME).flat();
	const tsv = session.query('SELECT DISTINCT name, code FROM system.errors WHERE name IN (' +
		names.map((n) => `'${n}'`).join(', ') +
		') SETTINGS system_events_show_zero_values = 1', 'TabSeparated');
	for (const line of tsv.split('\n').filter(Boolean)) {
		const [name, code] = line.split('\t');
		codeByName.set(name, Number(code));
	}
	for (const [status, list] of Object.entries(STATUS_BY_NAME))
		for (const name of list)
			if (codeByName.has(name))
				statusByCode.set(codeByName.get(name), Number(status));
}

// An error of ours, worded as the engine words its own.
class ChError extends Error {
	constructor(name, text) {
		super(`Code: ${codeByName.get(name) || 0}. DB::Exception: ${text}. (${name})`);
	}
}

// The end of the first statement in sql (past quotes, quoted names and
// comments), or -1 when there is only one; a trailing ';' is allowed.
function secondStatement(sql) {
	for (let i = 0; i < sql.length; i++) {
		const c = sql[i];
		if (c === "'" || c === '"' || c === '`') {
			for (i++; i < sql.length && sql[i] !== c; i++)
				if (sql[i] === '\\')
					i++;
		} else if (c === '-' && sql[i + 1] === '-') {
			while (i < sql.length && sql[i] !== '\n')
				i++;
		} else if (c === '/' && sql[i + 1] === '*') {
			const end = sql.indexOf('*/', i + 2);
			i = end < 0 ? sql.length : end + 1;
		} else if (c === ';') {
			return /^[\s;]*$/.test(sql.slice(i + 1)) ? -1 : i;
		}
	}
	return -1;
}

// Runs one statement: the text is checked as ClickHouse's HTTP handler
// checks it, then given to the engine as it came.
async function execute(sql, data, format) {
	if (!/\S/.test(sql))
		throw new ChError('SYNTAX_ERROR', 'Empty query');
	if (secondStatement(sql) >= 0)
		throw new ChError('SYNTAX_ERROR', 'Multi-statements are not allowed');
	if (data !== null) {
		// The body goes to the engine as a file (FROM INFILE, which chdb
		// reads as clickhouse-local does): chdb's raw-insert entry
		// passes it as inline data after the query text, where binary
		// rows are not safe (a RowBinary body with the bytes 0a 0a in a
		// timestamp was refused as CANNOT_READ_ALL_DATA).
		const file = path.join(bodyDir, 'body');
		fs.writeFileSync(file, data);
		try {
			const m = /\bFORMAT\s+\w+\s*$/i.exec(sql);
			await session.queryAsync(`${sql.slice(0, m.index)}FROM INFILE ${quote(file)} ${m[0]}`,
				{ format: 'TabSeparated' });
		} finally {
			fs.rmSync(file, { force: true });
		}
		return Buffer.alloc(0);
	}
	const r = await session.queryAsync(sql, { format });
	return Buffer.from(r.bytes());
}

// Settings and the database last for one request: set before, and put
// back afterwards whatever happened.
async function withSettings(params, fn) {
	const undo = [];
	try {
		for (const [k, v] of params) {
			if (NOT_SETTINGS.has(k))
				continue;
			if (k.startsWith('param_'))
				throw new ChError('NOT_IMPLEMENTED', 'chdb-http.js does not bind query parameters');
			if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k))
				throw new ChError('UNKNOWN_SETTING', `Unknown setting '${k}'`);
			await session.queryAsync(`SET ${k} = ${quote(v)}`, { format: 'TabSeparated' });
			undo.push(`SET ${k} = DEFAULT`);
		}
		if (params.has('database')) {
			const db = params.get('database');
			if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(db))
				throw new ChError('UNKNOWN_DATABASE', `Database ${db} does not exist`);
			await session.queryAsync(`USE ${db}`, { format: 'TabSeparated' });
			undo.push('USE default');
		}
		return await fn();
	} finally {
		for (const sql of undo.reverse())
			await session.queryAsync(sql, { format: 'TabSeparated' }).catch(() => {});
	}
}

function answerError(res, queryId, e) {
	const text = String(e && e.message || e);
	const at = text.indexOf('Code: ');
	const msg = at >= 0 ? text.slice(at) : `Code: 1001. DB::Exception: ${text}. (STD_EXCEPTION)`;
	const code = Number(/^Code: (\d+)/.exec(msg)[1]);
	res.writeHead(statusByCode.get(code) || 500, {
		'Content-Type': 'text/plain; charset=UTF-8',
		'X-ClickHouse-Query-Id': queryId,
		'X-ClickHouse-Exception-Code': String(code),
	});
	res.end(`${msg.trimEnd()} (version ${version})\n`);
}

async function handle(req, body, res) {
	const url = new URL(req.url, 'http://localhost');
	const params = url.searchParams;
	const queryId = params.get('query_id') || crypto.randomUUID();
	if (url.pathname === '/ping') {
		res.writeHead(200, { 'Content-Type': 'text/plain; charset=UTF-8' });
		res.end('Ok.\n');
		return;
	}
	try {
		let user = req.headers['x-clickhouse-user'] || params.get('user') || 'default';
		let password = req.headers['x-clickhouse-key'] || params.get('password') || '';
		const basic = /^Basic\s+(\S+)/i.exec(req.headers.authorization || '');
		if (basic) {
			const pair = Buffer.from(basic[1], 'base64').toString();
			const colon = pair.indexOf(':');
			user = colon < 0 ? pair : pair.slice(0, colon);
			password = colon < 0 ? '' : pair.slice(colon + 1);
		}
		if (user !== 'default' || password !== '')
			throw new ChError('AUTHENTICATION_FAILED', `${user}: Authentication failed: ` +
				'password is incorrect, or there is no user with such name');
		if (url.pathname !== '/' || (req.method !== 'GET' && req.method !== 'POST'))
			throw new ChError('BAD_ARGUMENTS', `There is no handler for ${req.method} ${url.pathname}`);
		const inUrl = params.get('query') || '';
		let sql, data = null;
		if (inUrl && body.length > 0 && /^\s*INSERT\b[\s\S]*\bFORMAT\s+\w+\s*$/i.test(inUrl)) {
			sql = inUrl;
			data = body;
		} else {
			sql = [inUrl, body.toString('utf8')].filter((s) => s.length > 0).join('\n');
		}
		const format = params.get('default_format') || 'TabSeparated';
		const out = await withSettings(params, () => execute(sql, data, format));
		res.writeHead(200, {
			'Content-Type': 'text/plain; charset=UTF-8',
			'X-ClickHouse-Query-Id': queryId,
		});
		res.end(out);
	} catch (e) {
		answerError(res, queryId, e);
	}
}

// The body of a request, once it has all arrived; null when the client
// went away first (ClickHouse then runs nothing either).
function readBody(req) {
	return new Promise((resolve) => {
		const chunks = [];
		req.on('data', (c) => chunks.push(c));
		req.on('end', () => resolve(Buffer.concat(chunks)));
		req.on('close', () => resolve(req.complete ? Buffer.concat(chunks) : null));
	});
}

// One request at a time, in the order they arrive: a request takes its
// place when its headers are in, not when its body ends.  Otherwise a
// big INSERT whose client was killed after sending it could run after
// a query the next client sent later, such as logthra-flush asking
// what the table holds before it sends again; a ClickHouse server has
// begun that INSERT by then.
let queue = Promise.resolve();
const server = http.createServer((req, res) => {
	const body = readBody(req);
	queue = queue.then(async () => {
		const data = await body;
		if (data !== null)
			await handle(req, data, res);
	}).catch((e) => {
		process.stderr.write(`chdb-http: ${e && e.stack || e}\n`);
	});
});
// Running a request may take long (a big INSERT), and the client's
// timeout decides; but one that stops sending holds the queue, so the
// time to receive it is bounded.
server.requestTimeout = 120000;
server.headersTimeout = 60000;

server.listen(Number(portArg), '127.0.0.1', () => {
	const port = server.address().port;
	if (portFile) {
		// Whole or not at all: the caller polls for it.
		fs.writeFileSync(`${portFile}.tmp`, `${port}\n`);
		fs.renameSync(`${portFile}.tmp`, portFile);
	}
	process.stdout.write(`chdb-http: ClickHouse ${version} (chdb ` +
		`${require('chdb/package.json').version}) on http://127.0.0.1:${port}/, ` +
		`data in ${path.resolve(dataDir)}\n`);
});

// A clean stop closes the session, so that the data directory is whole.
function stop() {
	server.close();
	queue.finally(() => {
		session.close();
		process.exit(0);
	});
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
