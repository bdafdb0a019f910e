-- Reads budget records for one optimistic decision (src/budget/redis-store.ts).
-- KEYS: the records (hashes with fields v = version, s = JSON), then the holders' registry, then the write lock, all
-- in one slot. ARGV: holder id, lock time in ms (0: no lock wanted).
-- A reader that lost the compare-and-set several times in a row asks for the write lock: while a lock is held,
-- only its owner's write succeeds, so a process that keeps losing to faster ones gets its turn.
-- Reply: { now (Redis time, ms), live holder ids, lock owner ('' = none), lock ms left, version 1, JSON 1, ... }
-- (JSON '' = none).
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local count = #KEYS - 2
local lock = KEYS[count + 2]
local lock_ms = tonumber(ARGV[2])
if lock_ms > 0 then
  if not redis.call('SET', lock, ARGV[1], 'NX', 'PX', lock_ms) and redis.call('GET', lock) == ARGV[1] then
    redis.call('PEXPIRE', lock, lock_ms)
  end
end
local owner = redis.call('GET', lock) or ''
local reply = { now, redis.call('ZRANGEBYSCORE', KEYS[count + 1], string.format('(%d', now), '+inf'), owner,
  math.max(0, redis.call('PTTL', lock)) }
for i = 1, count do
  local fields = redis.call('HMGET', KEYS[i], 'v', 's')
  reply[#reply + 1] = tonumber(fields[1] or '0')
  reply[#reply + 1] = fields[2] or ''
end
return reply
