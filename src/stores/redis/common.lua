-- Shared by every limit algorithm. The script is the concatenation of common.lua, one file per algorithm and
-- evaluate.lua (see src/stores/redis/scripts.ts), so that each decision is one EVALSHA. Everything is local:
-- Redis forbids globals in scripts.
--
-- Numbers: Lua numbers are doubles, like JavaScript's; every value here is an integer below 2^53 (policies are
-- validated for it), and divisions are followed by floor/ceil exactly where the TypeScript has Math.floor/ceil,
-- so the results are the same as src/limits/*.ts. Never tostring() a time (Lua prints 14 digits): pass numbers to
-- redis.call, which writes them exactly, or use string.format('%d').
local floor, ceil, max = math.floor, math.ceil, math.max
local INFINITY = math.huge

-- A policy is an array of integers (all of one decision's policies travel as consecutive MessagePack arrays in one
-- argument, which cmsgpack decodes in C): these are its fields.
local ALGORITHM, LIMIT, WINDOW, CAPACITY, INTERVAL, DELAY, LEASE = 1, 2, 3, 4, 5, 6, 7

-- { allowed, remaining, resetAfterMs, retryAfterMs, delayMs, extra } where extra is a lease's expiry (take, renew),
-- whether a lease was released (release), or -1.
local function result(allowed, remaining, reset_after, retry_after, delay)
  return { allowed, remaining, reset_after, retry_after, delay, -1 }
end

-- The least time to live of a state. 0 when now is Redis time. With an injected now (tests), real time does not
-- follow it, so states are kept a while longer: a state past its expiry is equivalent to none, so keeping it
-- longer never changes a decision.
local ttl_floor = 0

-- A state's time to live: its expiry relative to now (an injected now is not Redis time: never PEXPIREAT).
local function time_to_live(expires_at, now)
  return max(expires_at - now, ttl_floor)
end

local function store_string(key, value, expires_at, now)
  if expires_at <= now then
    redis.call('DEL', key)
  else
    redis.call('SET', key, value, 'PX', time_to_live(expires_at, now))
  end
end
