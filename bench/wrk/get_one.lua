-- wrk -t2 -c64 -d15s --latency -s bench/wrk/get_one.lua http://127.0.0.1:PORT
-- GET /api/me/tasks/{id} of a random user's own seeded task. Needs BENCH_DATA (see common.lua).
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(here .. "common.lua")
local gets

function init(args)
    common.seed()
    gets = common.get_requests()
end

function request()
    return common.pick(gets)
end
