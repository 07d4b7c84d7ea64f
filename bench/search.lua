-- wrk script: the counter's customer search under load, a mix of what clerks type.
--   BUREAU_TOKEN=$(...) wrk -t2 -c32 -d30s --latency -s bench/search.lua http://127.0.0.1:8080
-- Half the requests are account numbers (the clerk reads them off a bill), a quarter surname or full
-- name prefixes, a quarter address fragments (street and house number).
local token = os.getenv("BUREAU_TOKEN") or error("set BUREAU_TOKEN to a bearer token")
local customers = tonumber(os.getenv("BUREAU_CUSTOMERS") or "1000000")

local function urlencode(s)
  return (s:gsub("[^%w%-_%.~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

local names = { "王伟", "李娜", "张敏", "刘洋", "陈静", "杨磊", "赵强", "黄艳", "周杰", "吴芳", "徐建国", "孙丽华" }
local streets = { "建设街", "胜利路", "和平大街", "人民路", "新华街", "解放路", "中央大街", "友谊路" }

local headers = { ["Authorization"] = "Bearer " .. token }

request = function()
  local r = math.random()
  local q
  if r < 0.5 then
    q = string.format("23%08d", math.random(1, customers))
  elseif r < 0.75 then
    q = names[math.random(#names)]
  else
    q = streets[math.random(#streets)] .. math.random(1, 180) .. "号"
  end
  return wrk.format("GET", "/api/v1/customers?limit=20&q=" .. urlencode(q), headers)
end

-- The figures only count if there are no error answers.
done = function(summary, latency, requests)
  io.write(string.format("non-2xx answers: %d (socket errors: connect %d, read %d, timeout %d)\n",
    summary.errors.status, summary.errors.connect, summary.errors.read, summary.errors.timeout))
end
