-- wrk script of the bench: POST /v1/notifications/send with a distinct recipient and Idempotency-Key per request.
--   wrk -s bench/send.lua URL -- USERS_FILE CHANNEL RUN_ID API_KEY
-- USERS_FILE holds one user id a line; the requests cycle through them. Each thread counts its 202s and the
-- rest; done() prints one line "WRKJSON {...}" with the totals and the latency percentiles (µs).

local users = {}
local counter = 0
local threads = {}
local next_thread = 1
accepted = 0
refused = 0

function setup(thread)
  thread:set("thread_id", next_thread)
  next_thread = next_thread + 1
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(args[1]) do
    users[#users + 1] = line
  end
  channel = args[2]
  run_id = args[3]
  headers = {["Content-Type"] = "application/json", ["X-API-Key"] = args[4]}
  counter = thread_id * 7919
end

function request()
  counter = counter + 1
  local user = users[counter % #users + 1]
  local body = string.format(
    '{"user_id":"%s","channel":"%s","template":"bench","variables":{"name":"Reader %d","order":"A-%d","link":"https://example.com/o/%d"}}',
    user, channel, counter, counter, counter)
  headers["Idempotency-Key"] = run_id .. "-" .. thread_id .. "-" .. counter
  return wrk.format("POST", "/v1/notifications/send", headers, body)
end

function response(status, headers, body)
  if status == 202 then
    accepted = accepted + 1
  else
    refused = refused + 1
  end
end

function done(summary, latency, requests)
  local total_accepted, total_refused = 0, 0
  for _, thread in ipairs(threads) do
    total_accepted = total_accepted + thread:get("accepted")
    total_refused = total_refused + thread:get("refused")
  end
  local errors = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"accepted":%d,"refused":%d,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"timeouts":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, total_accepted, total_refused, errors.connect, errors.read, errors.write,
    errors.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
