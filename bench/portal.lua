-- wrk script: the automatic bill query (GET /api/v1/portal/summary) as many customers' apps ask it.
--   bureau --db sqlite:///tmp/portal1m.db portal bench-sessions --count 10000 --out /tmp/portal-tokens.txt
--   BUREAU_TOKENS=/tmp/portal-tokens.txt wrk -t2 -c32 -d20s --latency -s bench/portal.lua http://127.0.0.1:18282
-- Each request is a random customer's own token (customer sessions spread over the register), so the
-- database reads are spread over the whole million, not one hot row.
local file = os.getenv("BUREAU_TOKENS") or error("set BUREAU_TOKENS to a file of customer tokens")
local tokens = {}
for line in io.lines(file) do
  if #line > 0 then tokens[#tokens + 1] = line end
end
if #tokens == 0 then error("no tokens in " .. file) end

request = function()
  local t = tokens[math.random(#tokens)]
  return wrk.format("GET", "/api/v1/portal/summary", { ["Authorization"] = "Bearer " .. t })
end

done = function(summary, latency, requests)
  io.write(string.format("non-2xx answers: %d (socket errors: connect %d, read %d, timeout %d)\n",
    summary.errors.status, summary.errors.connect, summary.errors.read, summary.errors.timeout))
end
