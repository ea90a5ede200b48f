-- wrk script: POST /subscribe with a new address on every request.
-- Each wrk thread numbers its own addresses, so no two requests repeat.
local counter = 0
local prefix = ""

-- Seeded from the clock, so a later run (rounds are 10 s apart) never repeats
-- an earlier run's addresses, which would meet the per-address rate limit.
math.randomseed(os.time())

function setup(thread)
  thread:set("prefix", tostring(os.time()) .. "-" .. tostring(math.random(1, 1e9)))
end

function init(args)
  prefix = prefix ~= "" and prefix or tostring(math.random(1, 1e9))
end

request = function()
  counter = counter + 1
  local body = '{"email":"w' .. prefix .. "-" .. counter .. '@example.se"}'
  return wrk.format("POST", "/subscribe", { ["Content-Type"] = "application/json" }, body)
end
