-- Sliding log (src/limits/sliding-log.ts). State: a list of admission times, oldest first, one per unit.
-- A new state is written as a change to the list: drop the entries that slid out, append the new ones.
local sliding_log = {}

function sliding_log.read(key)
  local entries = redis.call('LRANGE', key, 0, -1)
  if #entries == 0 then return nil end
  local times = {}
  for i = 1, #entries do times[i] = tonumber(entries[i]) end
  return times
end

function sliding_log.step(times, now, cost, policy)
  local limit, window = policy[LIMIT], policy[WINDOW]
  local count = 0
  if times then count = #times end
  local expired = 0
  while expired < count and times[expired + 1] + window <= now do expired = expired + 1 end
  local used = count - expired
  local newest = 0
  if count > 0 then newest = times[count] end
  if used + cost <= limit then
    if cost == 0 then
      local reset_after = 0
      if used > 0 then reset_after = newest + window - now end
      return times, result(true, limit - used, reset_after, 0, 0), false
    end
    return { drop = expired, add = cost, at = now }, result(true, limit - used - cost, window, 0, 0), true
  end
  local must_expire = used + cost - limit
  local reset_after = 0
  if used > 0 then reset_after = newest + window - now end
  local retry_after = INFINITY
  if cost <= limit then retry_after = times[expired + must_expire] + window - now end
  return times, result(false, max(0, limit - used), reset_after, retry_after, 0), false
end

local PUSH_CHUNK = 1000

function sliding_log.write(key, _, change, now, policy)
  if change.drop > 0 then redis.call('LTRIM', key, change.drop, -1) end
  local remaining = change.add
  while remaining > 0 do
    local batch = {}
    for i = 1, math.min(remaining, PUSH_CHUNK) do batch[i] = change.at end
    redis.call('RPUSH', key, unpack(batch))
    remaining = remaining - #batch
  end
  -- The newest entry is now: the log is equivalent to none a window later.
  redis.call('PEXPIRE', key, time_to_live(change.at + policy[WINDOW], now))
end
