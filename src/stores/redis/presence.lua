-- Heartbeat of one instance in a registry (a sorted set: member = instance id, score = when it stops being live,
-- in Redis time). Drops the members whose time has passed and returns how many are live.
-- KEYS[1]: the registry. ARGV: instance id, time to live in ms, 'beat' or 'leave'.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local ttl = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if ARGV[3] == 'leave' then
  redis.call('ZREM', KEYS[1], ARGV[1])
else
  redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
end
local live = redis.call('ZCARD', KEYS[1])
if live > 0 then redis.call('PEXPIRE', KEYS[1], 2 * ttl) end
return live
