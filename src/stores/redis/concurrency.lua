-- Concurrency (src/limits/concurrency.ts). State: a hash from lease id to "expiresAtEpochMs cost". A new state is
-- written as a change: fields of leases gone (released, expired) are deleted, new or renewed ones set.
local concurrency = {}

function concurrency.read(key)
  local fields = redis.call('HGETALL', key)
  if #fields == 0 then return nil end
  local leases = {}
  for i = 1, #fields, 2 do
    local expires, cost = string.match(fields[i + 1], '^(%d+) (%d+)$')
    leases[#leases + 1] = { id = fields[i], expires = tonumber(expires), cost = tonumber(cost) }
  end
  return leases
end

local function live_leases(leases, now)
  local live = {}
  if leases then
    for i = 1, #leases do
      if leases[i].expires > now then live[#live + 1] = leases[i] end
    end
  end
  return live
end

local function slots_held(leases)
  local held = 0
  for i = 1, #leases do held = held + leases[i].cost end
  return held
end

local function summary(leases, remaining, now)
  local latest = now
  for i = 1, #leases do latest = max(latest, leases[i].expires) end
  return result(true, remaining, latest - now, 0, 0)
end

local function until_free(live, slots, now)
  local by_expiry = {}
  for i = 1, #live do by_expiry[i] = live[i] end
  table.sort(by_expiry, function(a, b) return a.expires < b.expires end)
  local freed = 0
  for i = 1, #by_expiry do
    freed = freed + by_expiry[i].cost
    if freed >= slots then return by_expiry[i].expires - now end
  end
  return 0
end

function concurrency.step(leases, now, cost, policy, lease_id)
  local limit = policy[LIMIT]
  local live = live_leases(leases, now)
  local held = slots_held(live)
  if held + cost <= limit then
    if cost == 0 then return leases, summary(live, limit - held, now), false end
    local expires = now + policy[LEASE]
    live[#live + 1] = { id = lease_id, expires = expires, cost = cost }
    local answer = summary(live, limit - held - cost, now)
    answer[6] = expires
    return live, answer, true
  end
  local answer = summary(live, max(0, limit - held), now)
  answer[1] = false
  if cost > limit then
    answer[4] = INFINITY
  else
    answer[4] = until_free(live, held + cost - limit, now)
  end
  return leases, answer, false
end

-- release: frees lease_id if held. renew: pushes a held lease's expiry to now + lease. extra: released (1/0), or
-- the renewed lease's new expiry (-1 when it was not held).
function concurrency.change_lease(leases, now, policy, lease_id, renew)
  local live = live_leases(leases, now)
  local kept = {}
  local found = false
  local expires = now + policy[LEASE]
  for i = 1, #live do
    if live[i].id == lease_id then
      found = true
      if renew then kept[#kept + 1] = { id = lease_id, expires = expires, cost = live[i].cost } end
    else
      kept[#kept + 1] = live[i]
    end
  end
  local answer = summary(kept, max(0, policy[LIMIT] - slots_held(kept)), now)
  if renew then
    if found then answer[6] = expires end
  elseif found then
    answer[6] = 1
  else
    answer[6] = 0
  end
  local count = 0
  if leases then count = #leases end
  if found or #live < count then return kept, answer, true end
  return leases, answer, false
end

function concurrency.write(key, old, leases, now)
  local before = {}
  if old then
    for i = 1, #old do before[old[i].id] = old[i].expires end
  end
  local latest = 0
  for i = 1, #leases do
    local lease = leases[i]
    if before[lease.id] ~= lease.expires then
      redis.call('HSET', key, lease.id, string.format('%d %d', lease.expires, lease.cost))
    end
    before[lease.id] = nil
    latest = max(latest, lease.expires)
  end
  if #leases == 0 or latest <= now then
    redis.call('DEL', key)
    return
  end
  for id in pairs(before) do redis.call('HDEL', key, id) end
  redis.call('PEXPIRE', key, time_to_live(latest, now))
end
