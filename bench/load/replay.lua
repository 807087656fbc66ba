-- wrk script: replays pre-signed requests round-robin.
--
--   wrk -t2 -c64 -d10s --latency -s replay.lua http://127.0.0.1:PORT -- requests.lua
--
-- requests.lua (written by loadbench.py) returns a list of
--   {method = "POST", path = "/", headers = {...}, body = "..."}
-- already signed with SigV4 (valid for 15 minutes). Each wrk thread formats them once and
-- then cycles through them, starting at a different offset per thread. At the end, done()
-- prints one line "LOADBENCH_JSON {...}" with the figures loadbench.py records.

local counter = 0
local threads = {}

function setup(thread)
  counter = counter + 1
  thread:set("thread_no", counter)
  table.insert(threads, thread)
end

local raw = {}
local n = 0
local i = 0

function init(args)
  local file = args[1]
  if file == nil then
    error("usage: wrk ... -s replay.lua URL -- REQUESTS.lua")
  end
  local list = dofile(file)
  for _, r in ipairs(list) do
    n = n + 1
    raw[n] = wrk.format(r.method, r.path, r.headers, r.body)
  end
  if n == 0 then
    error("no requests in " .. file)
  end
  -- thread_no is set by setup() in this thread's environment.
  i = ((thread_no or 1) - 1) * 7919 % n
end

function request()
  i = i + 1
  if i > n then
    i = 1
  end
  return raw[i]
end

function done(summary, latency, requests)
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    'LOADBENCH_JSON {"requests": %d, "duration_s": %.6f, "rps": %.3f, "bytes": %d, '
      .. '"p50_us": %.1f, "p90_us": %.1f, "p99_us": %.1f, "p999_us": %.1f, "max_us": %.1f, "mean_us": %.1f, '
      .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}}\n',
    summary.requests, secs, summary.requests / secs, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.max, latency.mean,
    e.connect, e.read, e.write, e.status, e.timeout))
end
