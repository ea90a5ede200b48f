-- wrk script: POST /subscribe with a new address on every request.
--
-- Addresses are RUN-THREAD-COUNTER: RUN is drawn once per wrk run in the main
-- Lua state (clock and random), THREAD numbers wrk's threads, COUNTER numbers
-- each thread's requests. So no two requests of a run repeat, and a later run
-- (rounds are 10 s apart) never repeats an earlier one's addresses, which would
-- meet the per-address rate limit and make intake look cheaper than it is.
--
-- `thread:set` in setup() sets a *global* in the thread's own Lua state: the
-- names below are globals on purpose; a `local prefix` here would shadow it.
math.randomseed(os.time())
local run = tostring(os.time()) .. tostring(math.random(1, 1e9))
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("prefix", run .. "-" .. threads)
end

function init(args)
  counter = 0
  assert(prefix ~= nil, "setup() gave this thread no prefix")
end

request = function()
  counter = counter + 1
  local body = '{"email":"w' .. prefix .. "-" .. counter .. '@example.se"}'
  return wrk.format("POST", "/subscribe", { ["Content-Type"] = "application/json" }, body)
end
