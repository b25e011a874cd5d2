-- wrk -t2 -c64 -d15s --latency -s bench/wrk/list50.lua http://127.0.0.1:PORT
-- GET /api/me/tasks?limit=50 as a random user (about 15 KB of JSON). Needs BENCH_DATA (see common.lua).
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(here .. "common.lua")
local lists

function init(args)
    common.seed()
    lists = common.list_requests()
end

function request()
    return common.pick(lists)
end
