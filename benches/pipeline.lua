-- 16-deep pipelining for benches/run: every write carries 16 `GET /health` requests, and the next
-- batch goes out only once all 16 responses are in. wrk counts the requests in the batch itself
-- (it parses the string request() returns), so it waits for exactly 16 responses per write and its
-- request count is responses received.
local depth = 16

init = function(args)
   local batch = {}
   for i = 1, depth do
      batch[i] = wrk.format("GET", "/health")
   end
   pipelined = table.concat(batch)
end

request = function()
   return pipelined
end

-- The shared end-of-run report, found beside this script.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "report.lua")
