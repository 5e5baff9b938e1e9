-- wrk script for bench/recv.sh: POSTs one push body over and over to
-- the URL given to wrk, and counts every answer that is not the status
-- expected (204, or BENCH_STATUS), which wrk itself does not (it counts
-- only statuses outside 2xx and 3xx).
--
-- Environment:
--   BENCH_BODY    the body file (read once per thread)
--   BENCH_CTYPE   its Content-Type (application/json, application/x-protobuf)
--   BENCH_TENANT  the X-Scope-OrgID header (default "bench")
--   BENCH_STATUS  the status every answer must have (default 204; OTLP
--                 answers 200)
-- At the end prints one line for bench/recv.sh to parse:
--   BENCH requests=N bytes=N duration_us=N not204=N connect=N read=N write=N status=N timeout=N

local function slurp(name)
	local f = assert(io.open(name, "rb"))
	local data = f:read("*a")
	f:close()
	return data
end

wrk.method = "POST"
wrk.body = slurp(assert(os.getenv("BENCH_BODY"), "BENCH_BODY is not set"))
wrk.headers["Content-Type"] = assert(os.getenv("BENCH_CTYPE"), "BENCH_CTYPE is not set")
wrk.headers["X-Scope-OrgID"] = os.getenv("BENCH_TENANT") or "bench"
local want = tonumber(os.getenv("BENCH_STATUS") or "204")

-- Per thread; the main thread collects them in done().
not204 = 0
local threads = {}

function setup(thread)
	table.insert(threads, thread)
end

function response(status, headers, body)
	if status ~= want then
		not204 = not204 + 1
		if not204 == 1 then
			io.stderr:write(string.format("post.lua: answered %d: %s\n",
			    status, body or ""))
		end
	end
end

function done(summary, latency, requests)
	local bad = 0
	for _, t in ipairs(threads) do
		bad = bad + t:get("not204")
	end
	local e = summary.errors
	io.write(string.format(
	    "BENCH requests=%d bytes=%d duration_us=%d not204=%d connect=%d read=%d write=%d status=%d timeout=%d\n",
	    summary.requests, summary.bytes, summary.duration, bad,
	    e.connect, e.read, e.write, e.status, e.timeout))
end
