-- GCRA for the token and leaky buckets (src/limits/gcra.ts). State: the theoretical arrival time in epoch µs.
local gcra = {}

function gcra.read(key)
  local value = redis.call('GET', key)
  if not value then return nil end
  return tonumber(value)
end

function gcra.step(arrival_state, now, cost, policy)
  local interval, capacity = policy[INTERVAL], policy[CAPACITY]
  local now_us = now * 1000
  local horizon = capacity * interval
  local arrival = now_us
  if arrival_state and arrival_state >= now_us then arrival = arrival_state end
  local next_arrival = arrival + cost * interval
  if next_arrival - now_us <= horizon then
    local delay_us = next_arrival - now_us - (policy[DELAY] + 1) * interval
    local delay = 0
    if delay_us > 0 then delay = ceil(delay_us / 1000) end
    local answer = result(true, floor((horizon - (next_arrival - now_us)) / interval),
      ceil((next_arrival - now_us) / 1000), 0, delay)
    if cost == 0 then return arrival_state, answer, false end
    return next_arrival, answer, true
  end
  local retry_after = INFINITY
  if cost <= capacity then retry_after = ceil((next_arrival - horizon - now_us) / 1000) end
  return arrival_state, result(false, max(0, floor((horizon - (arrival - now_us)) / interval)),
    ceil((arrival - now_us) / 1000), retry_after, 0), false
end

function gcra.write(key, _, arrival, now)
  store_string(key, arrival, ceil(arrival / 1000), now)
end
