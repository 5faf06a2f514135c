-- wrk script: GET /v1/beneficiaries/B<n> for random n in 1..N, with a bearer token.
-- Environment: CHITRA_TOKEN (required), CHITRA_N (beneficiaries, default 1000000), CHITRA_QUERY.
local token = os.getenv("CHITRA_TOKEN")
local n = tonumber(os.getenv("CHITRA_N") or "1000000")
-- CHITRA_QUERY: appended to the path, e.g. "?history=true".
local query = os.getenv("CHITRA_QUERY") or ""
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("seed", counter)
end

function init(args)
  math.randomseed(seed * 7919 + os.time())
end

function request()
  local id = math.random(1, n)
  return wrk.format("GET", "/v1/beneficiaries/B" .. id .. query, { ["Authorization"] = "Bearer " .. token })
end

function done(summary, latency, requests)
  local non2xx = summary.errors.status
  io.write(string.format("p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms; %d non-2xx, %d socket errors\n",
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency:percentile(99.9) / 1000, latency.max / 1000, non2xx,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
