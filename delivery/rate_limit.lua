-- A send-rate ceiling shared by every replica: hands out evenly spaced send slots (a token bucket of one).
-- KEYS[1]: the provider's schedule key, holding the next free slot in microseconds of the Redis clock.
-- ARGV[1]: the spacing between slots in microseconds (1e6 / rate).
-- Returns how many microseconds the caller must wait before its slot; the slot is reserved already.
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local spacing = tonumber(ARGV[1])
local slot = tonumber(redis.call('GET', KEYS[1]) or '0')
if slot < now then
  slot = now
end
local following = slot + spacing
redis.call('SET', KEYS[1], string.format('%.0f', following), 'PX', math.ceil((following - now) / 1000) + 1000)
return slot - now
