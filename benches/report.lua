-- Ends every wrk run of benches/run with one machine-readable line, so the harness reads numbers
-- (counts and microseconds) instead of wrk's human summary with its changing units.
--
-- summary.requests is wrk's count of complete responses it parsed, which is what the req/s and
-- CPU-per-request figures must divide by: with pipelining a request written is not yet a request
-- answered.
--
-- Latency is one sample per write, from the write to the last response it asked for (with
-- pipelining, to the 16th). The percentiles are of those samples as measured. Before done() runs,
-- wrk "corrects" its histogram for coordinated omission: every sample longer than twice the mean
-- time between responses on a connection also adds made-up samples at that interval below it. It
-- computes that interval from responses, not writes, so with pipelining it is a sixteenth of the
-- real one and the invented samples swamp the real ones (some fall below the histogram's
-- minimum, where wrk's own percentile never looks, and it answers 0). The correction is undone
-- here, exactly, so every scenario reports the same kind of number.

-- The measured histogram as parallel arrays, ascending: values[i] µs seen counts[i] times.
-- wrk's stats_correct(), run backwards: walking down from the largest bucket, each bucket holds
-- its measured count once the larger ones' additions are taken out, and that count is what it
-- had added to the buckets below it. wrk's Lua API gives the nonzero buckets only, the i-th as
-- latency(i); the made-up samples below the minimum are not among them and need no undoing.
local function measured(latency, responses, duration_us, connections)
   local values, counts, index = {}, {}, {}
   for i = 1, #latency do
      local v, c = latency(i)
      values[i], counts[i], index[v] = v, c, i
   end
   local per_connection = math.floor(responses / connections)
   local interval = per_connection > 0 and math.floor(duration_us / per_connection) or 0
   if interval > 0 then
      local lo = values[1]
      for i = #values, 1, -1 do
         local c = counts[i]
         assert(c >= 0, "latency histogram does not match wrk's correction")
         if c > 0 then
            local m = values[i] - interval
            while m > interval do
               if m >= lo then
                  local j = assert(index[m], "latency histogram does not match wrk's correction")
                  counts[j] = counts[j] - c
               end
               m = m - interval
            end
         end
      end
   end
   return values, counts
end

-- The same rank wrk's stats_percentile() uses, over the measured counts.
local function percentile(values, counts, total, p)
   local rank = math.floor(p / 100 * total + 1)
   local seen = 0
   for i = 1, #values do
      seen = seen + counts[i]
      if seen >= rank then
         return values[i]
      end
   end
   return values[#values]
end

done = function(summary, latency, requests)
   local e = summary.errors
   local samples, p50, p99, max = 0, 0, 0, 0
   if summary.requests > 0 then
      local connections = assert(tonumber(os.getenv("BENCH_CONNECTIONS")),
         "BENCH_CONNECTIONS must be wrk's -c")
      local values, counts = measured(latency, summary.requests, summary.duration, connections)
      for i = 1, #counts do
         samples = samples + counts[i]
      end
      p50 = percentile(values, counts, samples, 50)
      p99 = percentile(values, counts, samples, 99)
      max = values[#values]
   end
   io.write(string.format(
      "BENCH requests=%d duration_us=%d samples=%d p50_us=%d p99_us=%d max_us=%d "
         .. "connect=%d read=%d write=%d status=%d timeout=%d\n",
      summary.requests, summary.duration, samples, p50, p99, max,
      e.connect, e.read, e.write, e.status, e.timeout))
end
