-- Shared by the workload scripts (list50.lua, get_one.lua, create.lua, mixed.lua).
--
-- Every request is built once per wrk thread in init() and then picked at random, so wrk spends
-- its CPU on sockets, not on string building (it shares the two cores with the backend and the
-- database). The data file (BENCH_DATA, written by bench.py after seeding) is a Lua chunk:
--   return { users = { { token = "...", tasks = { 1, 2, ... } }, ... } }
-- done() writes the summary as JSON to BENCH_WRK_JSON (if set) for bench.py.

local M = {}

local data_path = os.getenv("BENCH_DATA") or "bench/out/data.lua"
local data = dofile(data_path)
M.users = data.users

local thread_counter = 0

-- setup() runs in wrk's main Lua state once per thread: give each thread its own seed.
function setup(thread)
    thread_counter = thread_counter + 1
    thread:set("thread_seed", thread_counter)
end

function M.seed()
    local salt = tonumber(thread_seed) or 0
    math.randomseed(os.time() * 1000 + salt * 7919)
    -- LuaJIT's first values after seeding are poorly mixed.
    for _ = 1, 10 do math.random() end
end

local function auth(user, extra)
    local headers = { ["Authorization"] = "Bearer " .. user.token }
    if extra then for k, v in pairs(extra) do headers[k] = v end end
    return headers
end

-- GET the first 50 tasks (default order: newest first) of each user: one request per user.
function M.list_requests()
    local out = {}
    for _, user in ipairs(M.users) do
        out[#out + 1] = wrk.format("GET", "/api/me/tasks?limit=50", auth(user))
    end
    return out
end

-- GET one own task: one request per (user, seeded task).
function M.get_requests()
    local out = {}
    for _, user in ipairs(M.users) do
        for _, id in ipairs(user.tasks) do
            out[#out + 1] = wrk.format("GET", "/api/me/tasks/" .. id, auth(user))
        end
    end
    return out
end

-- POST a task: a few bodies per user, shaped like the seeded tasks (so that list50 keeps
-- returning pages of the same size after the create workloads).
local words = { "review", "quarterly", "report", "call", "plumber", "buy", "groceries", "renew", "passport",
    "draft", "proposal", "book", "flights", "fix", "bike", "brakes", "water", "plants", "prepare", "slides",
    "pay", "invoice", "schedule", "dentist", "clean", "garage", "update", "resume", "backup", "laptop" }
local tags = { "home", "work", "errands", "finance", "health", "travel", "family", "urgent" }
local priorities = { "high", "medium", "low", "none" }

local function title(i)
    local parts = {}
    for k = 1, 2 + (i % 5) do parts[#parts + 1] = words[((i * 7 + k * 13) % #words) + 1] end
    return table.concat(parts, " ")
end

function M.create_requests()
    local out = {}
    for u, user in ipairs(M.users) do
        for i = 1, 10 do
            local n = u * 31 + i
            local fields = {
                string.format('"title":"%s"', title(n)),
                string.format('"priority":"%s"', priorities[(n % 4) + 1]),
            }
            local t = {}
            for k = 1, n % 4 do t[#t + 1] = '"' .. tags[((n + k * 3) % #tags) + 1] .. '"' end
            fields[#fields + 1] = '"tags":[' .. table.concat(t, ",") .. "]"
            if n % 5 >= 3 then
                fields[#fields + 1] = string.format('"description":"%s"', title(n + 1) .. ", then " .. title(n + 2) .. ".")
            end
            if n % 5 < 2 then
                fields[#fields + 1] = string.format('"due_at":"2026-%02d-%02dT09:30:00Z"', (n % 12) + 1, (n % 28) + 1)
            end
            local body = "{" .. table.concat(fields, ",") .. "}"
            out[#out + 1] = wrk.format("POST", "/api/me/tasks", auth(user, { ["Content-Type"] = "application/json" }), body)
        end
    end
    return out
end

function M.pick(list)
    return list[math.random(#list)]
end

local function json_number(x)
    if x ~= x or x == math.huge or x == -math.huge then return "null" end
    return string.format("%.3f", x)
end

function done(summary, latency, requests)
    local path = os.getenv("BENCH_WRK_JSON")
    if not path then return end
    local e = summary.errors
    local out = {
        string.format('"requests":%d', summary.requests),
        string.format('"duration_us":%d', summary.duration),
        string.format('"bytes":%d', summary.bytes),
        string.format('"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}',
            e.connect, e.read, e.write, e.status, e.timeout),
        string.format('"latency_us":{"min":%s,"mean":%s,"stdev":%s,"max":%s,"p50":%s,"p75":%s,"p90":%s,"p99":%s,"p999":%s}',
            json_number(latency.min), json_number(latency.mean), json_number(latency.stdev), json_number(latency.max),
            json_number(latency:percentile(50)), json_number(latency:percentile(75)),
            json_number(latency:percentile(90)), json_number(latency:percentile(99)),
            json_number(latency:percentile(99.9))),
    }
    local f = assert(io.open(path, "w"))
    f:write("{" .. table.concat(out, ",") .. "}\n")
    f:close()
end

return M
