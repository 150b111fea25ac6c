-- wrk script: POST pre-signed callbacks, each thread through its own slice of the file,
-- so every request is a new message (no deduplicated retries in the numbers).
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  local all = {}
  for line in io.lines(args[1]) do
    local path, body = line:match("([^\t]+)\t(.*)")
    table.insert(all, wrk.format("POST", path, {["Content-Type"] = "text/xml"}, body))
  end
  local n = tonumber(args[2])
  local size = math.floor(#all / n)
  reqs = {}
  for i = id * size + 1, (id + 1) * size do
    table.insert(reqs, all[i])
  end
  idx = 0
end

function request()
  idx = idx + 1
  if idx > #reqs then
    idx = 1
  end
  return reqs[idx]
end
