-- The send gate: both rate limits and the idempotency claim, checked and taken atomically in one round trip.
--
-- Each rate limit is a GCRA token bucket (capacity = limit, refilled at limit per window) kept as one
-- number per limiter: its theoretical arrival time (TAT) in ms, on Redis's clock so every gateway agrees.
-- The TAT is stored at full precision, and comparisons allow a hundredth of a token: an interval such as
-- 60000 / 7 ms is not exact, and rounding it (or adding it to an epoch of ~1.8e12 ms) at every admission would
-- otherwise add up to a token's worth over a burst, admitting limit - 1.
--
-- KEYS[1] the application's limiter, KEYS[2] the recipient's limiter, KEYS[3] the idempotency record (only
-- with an Idempotency-Key: no key is ever empty, and all of them share the application's hash slot so that a
-- Redis Cluster runs the script).
-- ARGV[1] window in ms, ARGV[2] application limit (0 = off), ARGV[3] recipient limit (0 = off),
-- ARGV[4] hash of the request body, ARGV[5] owner token of this request, ARGV[6] claim lifetime in ms.
--
-- Returns {verdict, limit, remaining, reset_ms, retry_after_ms, stored_response}; limit is -1 when both
-- limits are off. Verdicts: 0 admitted (tokens taken, key claimed), 1 rate limited, 2 replay of a completed
-- request (stored_response set), 3 key reused with another body, 4 first request still in flight.
-- Only verdict 0 changes anything.

local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local window = tonumber(ARGV[1])
local limiters = {}
if tonumber(ARGV[2]) > 0 then limiters[#limiters + 1] = {KEYS[1], tonumber(ARGV[2])} end
if tonumber(ARGV[3]) > 0 then limiters[#limiters + 1] = {KEYS[2], tonumber(ARGV[3])} end

-- The state of every limiter, taking one token from each when `take`; the reported one is the closest to
-- running out. Returns reported {limit, remaining, reset_ms}, retry_after_ms (> 0 when denied), updates.
local function measure(take)
  local reported = nil
  local retry = 0
  local updates = {}
  for _, limiter in ipairs(limiters) do
    local key, limit = limiter[1], limiter[2]
    local interval = window / limit
    local slack = interval / 100
    local tat = tonumber(redis.call('GET', key)) or now
    if tat < now then tat = now end
    local remaining, reset
    if take then
      local next_tat = tat + interval
      if next_tat - now > window + slack then
        retry = math.max(retry, next_tat - window - now)
        remaining, reset = 0, tat - now
      else
        updates[#updates + 1] = {key, next_tat}
        remaining, reset = math.floor((window - (next_tat - now)) / interval + 0.01), next_tat - now
      end
    else
      remaining, reset = math.floor((window - (tat - now)) / interval + 0.01), tat - now
    end
    if reported == nil or remaining < reported[2] then reported = {limit, remaining, reset} end
  end
  return reported or {-1, 0, 0}, retry, updates
end

local function answer(verdict, reported, retry, stored)
  return {verdict, reported[1], reported[2], math.ceil(reported[3]), math.ceil(retry), stored or ''}
end

local record = KEYS[3]
if record then
  local held = redis.call('HMGET', record, 'h', 'r')
  if held[1] then
    local reported = measure(false)
    if held[1] ~= ARGV[4] then return answer(3, reported, 0) end
    if held[2] then return answer(2, reported, 0, held[2]) end
    return answer(4, reported, 1000)
  end
end

local reported, retry, updates = measure(true)
if retry > 0 then return answer(1, reported, retry) end
for _, update in ipairs(updates) do
  redis.call('SET', update[1], string.format('%.17g', update[2]), 'PX', math.ceil(update[2] - now) + 1000)
end
if record then
  redis.call('HSET', record, 'h', ARGV[4], 'o', ARGV[5])
  redis.call('PEXPIRE', record, ARGV[6])
end
return answer(0, reported, 0)
