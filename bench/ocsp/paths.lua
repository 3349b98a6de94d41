-- wrk script of the OCSP benchmark (bench/ocsp/run.sh): GET requests over a list of paths.
--
--   wrk -t2 -c64 -d15s --latency -s paths.lua http://127.0.0.1:PORT -- PATHS_FILE
--
-- PATHS_FILE has one request path per line. Each wrk thread shuffles its own copy of the
-- list and cycles through it, so the threads ask for the certificates in different orders.
-- done() prints one machine-readable line for run.sh:
--   WRK_RESULT <requests/s> <p50 µs> <p99 µs> <requests> <socket errors> <non-2xx/3xx>

local threads = {}
local requests = {}
local i = 0

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  local file = args[1] or error("paths.lua needs the paths file: wrk ... -- PATHS_FILE")
  local f = assert(io.open(file, "r"))
  for line in f:lines() do
    if #line > 0 then
      table.insert(requests, wrk.format("GET", line))
    end
  end
  f:close()
  assert(#requests > 0, "no paths in " .. file)
  math.randomseed(os.time() * 1000 + (id or 0))
  for k = #requests, 2, -1 do
    local j = math.random(k)
    requests[k], requests[j] = requests[j], requests[k]
  end
end

function request()
  i = i % #requests + 1
  return requests[i]
end

function done(summary, latency, _)
  local e = summary.errors
  io.write(string.format("WRK_RESULT %.1f %d %d %d %d %d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99), summary.requests,
    e.connect + e.read + e.write + e.timeout, e.status))
end
