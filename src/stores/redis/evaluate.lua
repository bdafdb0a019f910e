-- One decision over every policy of one key, all-or-nothing (src/limits/evaluate.ts: evaluatePolicies).
-- KEYS: one state key per policy, all with the caller's key as hash tag (one Cluster slot).
-- ARGV: operation (take | peek | release | renew | reset), cost, now in epoch ms ('' = Redis TIME), lease id,
-- then one policy per key (parse_policy).
-- Reply: six integers per policy (see result); an infinite retryAfterMs is sent as -1.
local ALGORITHMS = { fixed_window, sliding_window, sliding_log, gcra, gcra, concurrency }
local CONCURRENCY = 6

local operation = ARGV[1]
local cost = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
if now then
  ttl_floor = 60000
else
  local time = redis.call('TIME')
  now = tonumber(time[1]) * 1000 + floor(tonumber(time[2]) / 1000)
end
local lease_id = ARGV[4]
local count = #KEYS

local policies, algorithms, states = {}, {}, {}
for i = 1, count do
  local policy = parse_policy(ARGV[4 + i])
  if policy.err then return policy end
  policies[i] = policy
  algorithms[i] = ALGORITHMS[policy.algorithm]
  if operation ~= 'reset' then states[i] = algorithms[i].read(KEYS[i]) end
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
      if changed[i] then algorithms[i].write(KEYS[i], states[i], next_states[i], now, policies[i]) end
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
    if policies[i].algorithm == CONCURRENCY then
      local state, answer, change = concurrency.change_lease(states[i], now, policies[i], lease_id, operation == 'renew')
      if change then concurrency.write(KEYS[i], states[i], state, now) end
      results[i] = answer
    else
      local _, current = algorithms[i].step(states[i], now, 0, policies[i], lease_id)
      results[i] = current
    end
  end
elseif operation == 'reset' then
  redis.call('DEL', unpack(KEYS))
  for i = 1, count do
    local _, current = algorithms[i].step(nil, now, 0, policies[i], lease_id)
    results[i] = current
  end
else
  return redis.error_reply('ERR sluice: unknown operation ' .. tostring(operation))
end

local reply = {}
for i = 1, count do
  local answer = results[i]
  local base = (i - 1) * 6
  if answer[1] then reply[base + 1] = 1 else reply[base + 1] = 0 end
  reply[base + 2] = answer[2]
  reply[base + 3] = answer[3]
  if answer[4] == INFINITY then reply[base + 4] = -1 else reply[base + 4] = answer[4] end
  reply[base + 5] = answer[5]
  reply[base + 6] = answer[6]
end
return reply
