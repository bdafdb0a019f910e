-- Reads budget records for one optimistic decision (src/budget/redis-store.ts).
-- KEYS: the records (hashes with fields v = version, s = JSON), then the holders' registry, all in one slot.
-- Reply: { now (Redis time, ms), live holder ids, version 1, JSON 1, version 2, JSON 2, ... } (JSON '' = none).
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local count = #KEYS - 1
local reply = { now, redis.call('ZRANGEBYSCORE', KEYS[count + 1], string.format('(%d', now), '+inf') }
for i = 1, count do
  local fields = redis.call('HMGET', KEYS[i], 'v', 's')
  reply[#reply + 1] = tonumber(fields[1] or '0')
  reply[#reply + 1] = fields[2] or ''
end
return reply
