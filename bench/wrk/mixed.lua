-- wrk -t2 -c64 -d15s --latency -s bench/wrk/mixed.lua http://127.0.0.1:PORT
-- Per request: 70% list50, 20% create, 10% get_one, each as a random user. Needs BENCH_DATA.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(here .. "common.lua")
local lists, creates, gets

function init(args)
    common.seed()
    lists = common.list_requests()
    creates = common.create_requests()
    gets = common.get_requests()
end

function request()
    local r = math.random(100)
    if r <= 70 then
        return common.pick(lists)
    elseif r <= 90 then
        return common.pick(creates)
    else
        return common.pick(gets)
    end
end
