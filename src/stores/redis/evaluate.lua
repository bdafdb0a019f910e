-- Decisions, each over every policy of one key, all-or-nothing (src/limits/evaluate.ts: evaluatePolicies).
-- Several decisions may come in one call (on a single Redis the store sends together what its callers ask in the
-- same tick): each is decided as if alone, one after the other, and the whole script is atomic.
-- KEYS: per decision, one state key per policy (one decision's keys share the caller's key as hash tag).
-- ARGV: per decision: operation (take | peek | release | renew | reset), cost, now in epoch ms ('' = Redis TIME),
-- lease id, and its n policies as n MessagePack arrays (see common.lua), one per key.
-- Reply: per decision, 1 and six integers per policy (see result; an infinite retryAfterMs is sent as -1), or 0 and
-- an error message: that decision failed alone (a key holding another type, found when read, before any write).
-- ALGORITHMS (algorithm code -> module) is defined before this file by scripts.ts, with only the modules the
-- decisions use: a script defines every function it contains on each call, so smaller is faster.
local CONCURRENCY = 6
local redis_now

local function decide(first_key, first_arg, policies)
  local count = #policies
  local operation = ARGV[first_arg]
  local cost = tonumber(ARGV[first_arg + 1])
  local now = tonumber(ARGV[first_arg + 2])
  if now then
    ttl_floor = 60000
  else
    ttl_floor = 0
    if not redis_now then
      local time = redis.call('TIME')
      redis_now = tonumber(time[1]) * 1000 + floor(tonumber(time[2]) / 1000)
    end
    now = redis_now
  end
  local lease_id = ARGV[first_arg + 3]

  if count == 1 and operation == 'take' then
    -- One policy (the common case): trivially all-or-nothing, decided without the bookkeeping below.
    local policy = policies[1]
    local module = type(policy) == 'table' and ALGORITHMS[policy[ALGORITHM]]
    if not module then error('ERR sluice: malformed policy argument for ' .. KEYS[first_key], 0) end
    local key = KEYS[first_key]
    local state = module.read(key)
    local next_state, answer, changed = module.step(state, now, cost, policy, lease_id)
    if changed then module.write(key, state, next_state, now, policy) end
    return { answer }
  end

  local keys, algorithms, states = {}, {}, {}
  for i = 1, count do
    local policy = policies[i]
    algorithms[i] = type(policy) == 'table' and ALGORITHMS[policy[ALGORITHM]]
    if not algorithms[i] then error('ERR sluice: malformed policy argument for ' .. KEYS[first_key + i - 1], 0) end
    keys[i] = KEYS[first_key + i - 1]
    if operation ~= 'reset' then states[i] = algorithms[i].read(keys[i]) end
  end

  local results = {}
  if operation == 'take' then
    local next_states, changed, all_allowed = {}, {}, true
    for i = 1, count do
      local state, answer, change = algorithms[i].step(states[i], now, cost, policies[i], lease_id)
      next_states[i], results[i], changed[i] = state, answer, change
      if not answer[1] then all_allowed = false end
    end
    if all_allowed then
      for i = 1, count do
        if changed[i] then algorithms[i].write(keys[i], states[i], next_states[i], now, policies[i]) end
      end
    else
      -- Consume from none: a policy that would have admitted reports its state as it is.
      for i = 1, count do
        if results[i][1] then
          local _, current = algorithms[i].step(states[i], now, 0, policies[i], lease_id)
          results[i] = current
        end
      end
    end
  elseif operation == 'peek' then
    for i = 1, count do
      local _, current = algorithms[i].step(states[i], now, 0, policies[i], lease_id)
      if cost ~= 0 then
        local _, hypothetical = algorithms[i].step(states[i], now, cost, policies[i], lease_id)
        current[1], current[4], current[5] = hypothetical[1], hypothetical[4], hypothetical[5]
      end
      results[i] = current
    end
  elseif operation == 'release' or operation == 'renew' then
    for i = 1, count do
      if policies[i][ALGORITHM] == CONCURRENCY then
        local module = ALGORITHMS[CONCURRENCY]
        local state, answer, change = module.change_lease(states[i], now, policies[i], lease_id, operation == 'renew')
        if change then module.write(keys[i], states[i], state, now) end
        results[i] = answer
      else
        local _, current = algorithms[i].step(states[i], now, 0, policies[i], lease_id)
        results[i] = current
      end
    end
  elseif operation == 'reset' then
    redis.call('DEL', unpack(keys))
    for i = 1, count do
      local _, current = algorithms[i].step(nil, now, 0, policies[i], lease_id)
      results[i] = current
    end
  else
    error('ERR sluice: unknown operation ' .. tostring(operation), 0)
  end
  return results
end

local reply = {}
local first_key, first_arg, arguments = 1, 1, #ARGV
while first_arg <= arguments do
  local policies = { cmsgpack.unpack(ARGV[first_arg + 4]) }
  local count = #policies
  local ok, results = pcall(decide, first_key, first_arg, policies)
  if ok then
    reply[#reply + 1] = 1
    for i = 1, count do
      local answer = results[i]
      if answer[1] then reply[#reply + 1] = 1 else reply[#reply + 1] = 0 end
      reply[#reply + 1] = answer[2]
      reply[#reply + 1] = answer[3]
      if answer[4] == INFINITY then reply[#reply + 1] = -1 else reply[#reply + 1] = answer[4] end
      reply[#reply + 1] = answer[5]
      reply[#reply + 1] = answer[6]
    end
  else
    reply[#reply + 1] = 0
    if type(results) == 'table' then results = results.err or 'ERR sluice: decision failed' end
    reply[#reply + 1] = tostring(results)
  end
  first_key = first_key + count
  first_arg = first_arg + 5
end
return reply
