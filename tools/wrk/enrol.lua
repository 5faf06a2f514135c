-- wrk script: POST /v1/beneficiaries with a new person per request (unique citizen IDs per
-- thread and run), each with one BTXH entitlement: two events per request.
-- Environment: CHITRA_TOKEN (an officer's), CHITRA_RUN (a digit 0-9 that differs between runs).
local token = os.getenv("CHITRA_TOKEN")
local run = os.getenv("CHITRA_RUN") or "0"
local prefixes = { "079", "048", "031", "092", "075", "089", "056", "038" }
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("prefix", prefixes[threads])
end

function init(args)
  counter = 0
end

function request()
  counter = counter + 1
  local id = prefix .. "1" .. run .. string.format("%07d", counter)
  local body = '{"citizen_id":"' .. id .. '","full_name":"Nguyễn Văn Thử","birth_date":"1950-01-01","sex":"F",'
    .. '"address_line":"Số 1","commune":"00004","programme":"BTXH",'
    .. '"route":{"kind":"bank","bin":"970436","account_number":"1' .. id .. '","holder_name":"NGUYEN VAN THU"},'
    .. '"entitlements":[{"programme":"BTXH","scheme":"btxh.disability_especially_severe","params":[],'
    .. '"kind":{"kind":"monthly"},"effective_from":"2025-01",'
    .. '"decision":{"number":"1/QĐ","date":"2025-01-02","signer":"Chủ tịch UBND"}}]}'
  return wrk.format("POST", "/v1/beneficiaries",
    { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }, body)
end

function done(summary, latency, requests)
  io.write(string.format("p50 %.2f ms, p99 %.2f ms, max %.2f ms; %d non-2xx\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    summary.errors.status))
end
