-- POST /api/v1/leads, each request a new prospect with a unique external_id.
-- Usage: wrk -s bench/wrk/post_lead.lua URL -- API_KEY [RUN_ID]
-- The id is RUN_ID-THREAD-COUNTER, so runs against one database never replay.

local threads = {}
local counter = 0
local run_id = "run"

-- Runs in the main Lua state once per thread; sets the global `thread_id` in that thread.
function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_id", #threads)
end

function init(args)
  if args[1] == nil then
    error("post_lead.lua needs the API key after `--`")
  end
  run_id = args[2] or tostring(os.time())
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. args[1]
end

local template = '{"source":"bench","external_id":"%s","company":"Bench %s",'
  .. '"email":"%s@bench.example.com","country":"BR","region":"SP","language":"pt",'
  .. '"product":"marketplace","value":1000,"currency":"BRL"}'

function request()
  counter = counter + 1
  local id = string.format("%s-%d-%d", run_id, thread_id, counter)
  return wrk.format(nil, nil, nil, string.format(template, id, id, id))
end
