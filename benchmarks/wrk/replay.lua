-- wrk script for benchmark P2: send pre-built, pre-signed HTTP requests from a file, each once, in order.
--
-- Usage: wrk -t T -c C -d 20s -s benchmarks/wrk/replay.lua http://127.0.0.1:P/webhooks/shopify -- PREFIX
-- Thread i (0-based) reads PREFIX.i, a sequence of records "<byte length>\n<raw HTTP/1.1 request>",
-- written by benchmarks/p2_http_intake.py. When a thread runs out it starts its file again and counts a
-- wrap (the webhook ids then repeat, so opsdesk stores them once). At the end it prints one line:
-- WRK_RESULT {json} with the request, status and latency (microseconds) figures of all threads.

local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  local path = args[1] .. "." .. id
  requests_file = assert(io.open(path, "rb"), "cannot open request file " .. path)
  sent, wrapped, ok, non2xx = 0, 0, 0, 0
end

local function next_request()
  local size = requests_file:read("*l")
  if size == nil then
    wrapped = wrapped + 1
    requests_file:seek("set", 0)
    size = requests_file:read("*l")
  end
  return requests_file:read(tonumber(size))
end

function request()
  sent = sent + 1
  return next_request()
end

function response(status, headers, body)
  if status >= 200 and status < 300 then
    ok = ok + 1
  else
    non2xx = non2xx + 1
  end
end

function done(summary, latency, requests)
  local totals = { sent = 0, wrapped = 0, ok = 0, non2xx = 0 }
  for _, thread in ipairs(threads) do
    for key, _ in pairs(totals) do
      totals[key] = totals[key] + thread:get(key)
    end
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"duration_us": %d, "requests": %d, "bytes": %d, "sent": %d, "wrapped": %d, "ok": %d, ' ..
    '"non2xx": %d, "errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"latency_us": {"mean": %.1f, "stdev": %.1f, "p50": %d, "p90": %d, "p99": %d, "p999": %d, "max": %d}}\n',
    summary.duration, summary.requests, summary.bytes, totals.sent, totals.wrapped, totals.ok,
    totals.non2xx, e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.stdev, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max))
end
