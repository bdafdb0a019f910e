-- Compare-and-set of budget records (src/budget/redis-store.ts): writes the records the TypeScript core computed
-- only if no record it read has changed since (its version is the same) and nobody else holds the write lock
-- (budget-read.lua); otherwise writes nothing and returns the records as they are now, so the caller decides again
-- without another read. A successful write releases the writer's lock.
-- KEYS: the records read, then the holders' registry, then the write lock (one slot). ARGV: holder id, holder time
-- to live in ms, then per record: the version read, the new JSON ('' = unchanged), its time to live in ms.
-- Reply: { 1 } when written; else { 0, then the reply of budget-read.lua }.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local count = #KEYS - 2
local registry, lock = KEYS[count + 1], KEYS[count + 2]
local owner = redis.call('GET', lock)

local conflict = owner and owner ~= ARGV[1]
if not conflict then
  for i = 1, count do
    local version = tonumber(redis.call('HGET', KEYS[i], 'v') or '0')
    if version ~= tonumber(ARGV[3 * i]) then
      conflict = true
      break
    end
  end
end

if conflict then
  local reply = { 0, now, redis.call('ZRANGEBYSCORE', registry, string.format('(%d', now), '+inf'), owner or '',
    math.max(0, redis.call('PTTL', lock)) }
  for i = 1, count do
    local fields = redis.call('HMGET', KEYS[i], 'v', 's')
    reply[#reply + 1] = tonumber(fields[1] or '0')
    reply[#reply + 1] = fields[2] or ''
  end
  return reply
end

for i = 1, count do
  local record = ARGV[3 * i + 1]
  if record ~= '' then
    redis.call('HSET', KEYS[i], 'v', tonumber(ARGV[3 * i]) + 1, 's', record)
    redis.call('PEXPIRE', KEYS[i], tonumber(ARGV[3 * i + 2]))
  end
end
if owner then redis.call('DEL', lock) end
-- The writer holds reservations from now on: it is live (its heartbeat keeps it so).
local ttl = tonumber(ARGV[2])
redis.call('ZADD', registry, now + ttl, ARGV[1])
redis.call('PEXPIRE', registry, 2 * ttl)
return { 1 }
