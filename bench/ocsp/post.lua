-- wrk script of the OCSP benchmark (bench/ocsp/run.sh): the same POST body every time.
--
--   wrk -t2 -c64 -d15s --latency -s post.lua http://127.0.0.1:PORT/ocsp -- BODY_FILE
--
-- BODY_FILE is a DER OCSPRequest (for on-demand signing, one that carries a nonce; the
-- same nonce each time is fine for measuring, the responder signs every time anyway).
-- done() prints the same WRK_RESULT line as paths.lua.

function init(args)
  local file = args[1] or error("post.lua needs the body file: wrk ... -- BODY_FILE")
  local f = assert(io.open(file, "rb"))
  wrk.method = "POST"
  wrk.body = f:read("*a")
  f:close()
  wrk.headers["Content-Type"] = "application/ocsp-request"
end

function done(summary, latency, _)
  local e = summary.errors
  io.write(string.format("WRK_RESULT %.1f %d %d %d %d %d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99), summary.requests,
    e.connect + e.read + e.write + e.timeout, e.status))
end
