-- Fixed window (src/limits/fixed-window.ts). State: the string "windowStartAtEpochMs count".
local fixed_window = {}

function fixed_window.read(key)
  local value = redis.call('GET', key)
  if not value then return nil end
  local start, count = string.match(value, '^(%d+) (%d+)$')
  return { tonumber(start), tonumber(count) }
end

function fixed_window.step(state, now, cost, policy)
  local limit, window = policy[LIMIT], policy[WINDOW]
  local start = floor(now / window) * window
  local end_after = start + window - now
  local count = 0
  if state and state[1] == start then count = state[2] end
  if count + cost <= limit then
    local next_count = count + cost
    local reset_after = 0
    if next_count > 0 then reset_after = end_after end
    if cost == 0 then return state, result(true, limit - next_count, reset_after, 0, 0), false end
    return { start, next_count }, result(true, limit - next_count, reset_after, 0, 0), true
  end
  local reset_after = 0
  if count > 0 then reset_after = end_after end
  local retry_after = end_after
  if cost > limit then retry_after = INFINITY end
  return state, result(false, max(0, limit - count), reset_after, retry_after, 0), false
end

function fixed_window.write(key, _, state, now, policy)
  store_string(key, string.format('%d %d', state[1], state[2]), state[1] + policy[WINDOW], now)
end
