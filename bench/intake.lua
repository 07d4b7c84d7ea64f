-- wrk script: 95598 work-order intake under load (POST /api/v1/work-orders), deadlines included.
--   BUREAU_TOKEN=$(...) BUREAU_CUSTOMERS=35600 wrk -t2 -c32 -d30s --latency -s bench/intake.lua http://127.0.0.1:8080
-- The mix of a busy day: 40% fault repairs (half from known customers, so the service area comes from
-- the register, half from callers giving a phone and area), 20% complaints, 15% consultations, 15%
-- service requests (meter abnormal / reconnection), 10% reports. Every order is a real acceptance:
-- validation, customer lookup, the rule set in force and each stage's deadline, repeat detection over
-- the caller's orders of the last 30 days, the insert with its deadlines, and for a fault repair the
-- duty roster's notifications in the outbox.
local token = os.getenv("BUREAU_TOKEN") or error("set BUREAU_TOKEN to a bearer token")
local customers = tonumber(os.getenv("BUREAU_CUSTOMERS") or "35600")
local headers = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }
local areas = { "urban", "rural", "remote" }

local function caller()
  if math.random() < 0.5 then
    return string.format('"customer_id":"23%08d"', math.random(1, customers))
  end
  return string.format('"caller_phone":"139%08d","area":"%s","address":"某镇某村%d号"',
    math.random(0, 99999999), areas[math.random(#areas)], math.random(1, 300))
end

request = function()
  local r = math.random()
  local body
  if r < 0.4 then
    body = '{"kind":"fault_repair",' .. caller() .. ',"description":"停电，邻居也停了"}'
  elseif r < 0.6 then
    body = '{"kind":"complaint","subtype":"service",' .. caller() .. ',"description":"营业厅排队太久","escalation_intent":true}'
  elseif r < 0.75 then
    body = '{"kind":"consultation","subtype":"tariff",' .. caller() .. ',"description":"阶梯电价怎么算"}'
  elseif r < 0.9 then
    body = '{"kind":"service_request","subtype":"meter_abnormal",' .. caller() .. ',"description":"电表走得快"}'
  else
    body = '{"kind":"report","subtype":"power_theft",' .. caller() .. ',"description":"有人私拉电线"}'
  end
  return wrk.format("POST", "/api/v1/work-orders", headers, body)
end

done = function(summary, latency, requests)
  io.write(string.format("non-2xx answers: %d (socket errors: connect %d, read %d, timeout %d)\n",
    summary.errors.status, summary.errors.connect, summary.errors.read, summary.errors.timeout))
end
