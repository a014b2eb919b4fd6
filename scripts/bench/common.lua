-- Shared by every workload: one machine-readable result line at the end of a wrk run.
-- Workloads may count "units" (a flow, a sign-in) per thread in the global `units`.
units = 0
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function result_line(summary, latency)
  local counted = 0
  for _, t in ipairs(threads) do
    counted = counted + (t:get("units") or 0)
  end
  local e = summary.errors
  local errors = e.connect + e.read + e.write + e.timeout + e.status
  io.write(string.format("RESULT requests=%d units=%d errors=%d seconds=%.3f p50_us=%d p99_us=%d\n",
    summary.requests, counted, errors, summary.duration / 1e6,
    latency:percentile(50), latency:percentile(99)))
end

function done(summary, latency, requests)
  result_line(summary, latency)
end
