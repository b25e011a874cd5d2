-- wrk -t2 -c64 -d15s --latency -s bench/wrk/create.lua http://127.0.0.1:PORT
-- POST /api/me/tasks as a random user (mixed priorities, tags, some descriptions and due dates).
-- Needs BENCH_DATA (see common.lua).
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(here .. "common.lua")
local creates

function init(args)
    common.seed()
    creates = common.create_requests()
end

function request()
    return common.pick(creates)
end
