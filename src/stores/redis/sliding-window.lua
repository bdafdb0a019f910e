-- Sliding window counter (src/limits/sliding-window.ts). State: "windowStartAtEpochMs current previous".
local sliding_window = {}

function sliding_window.read(key)
  local value = redis.call('GET', key)
  if not value then return nil end
  local start, current, previous = string.match(value, '^(%d+) (%d+) (%d+)$')
  return { tonumber(start), tonumber(current), tonumber(previous) }
end

local function sliding_reset_after(current, previous, end_after, window)
  if current > 0 then return end_after + window end
  if previous > 0 then return end_after end
  return 0
end

local function sliding_retry_after(current, previous, elapsed, cost, policy)
  local limit, window = policy[LIMIT], policy[WINDOW]
  local room = limit - current - cost
  if room >= 0 and previous > 0 then
    local fits_at = window - floor((room * window) / previous)
    if fits_at < window then return fits_at - elapsed end
  end
  local fits_at = 0
  if current > 0 then fits_at = max(0, window - floor(((limit - cost) * window) / current)) end
  return window - elapsed + fits_at
end

function sliding_window.step(state, now, cost, policy)
  local limit, window = policy[LIMIT], policy[WINDOW]
  local start = floor(now / window) * window
  local elapsed = now - start
  local end_after = window - elapsed
  local current, previous = 0, 0
  if state then
    if state[1] == start then
      current, previous = state[2], state[3]
    elseif state[1] == start - window then
      previous = state[2]
    end
  end
  local previous_scaled = previous * end_after
  local limit_scaled = limit * window
  if previous_scaled + (current + cost) * window <= limit_scaled then
    local next_current = current + cost
    local answer = result(true, floor((limit_scaled - previous_scaled - next_current * window) / window),
      sliding_reset_after(next_current, previous, end_after, window), 0, 0)
    if cost == 0 then return state, answer, false end
    return { start, next_current, previous }, answer, true
  end
  local retry_after = INFINITY
  if cost <= limit then retry_after = sliding_retry_after(current, previous, elapsed, cost, policy) end
  return state, result(false, max(0, floor((limit_scaled - previous_scaled - current * window) / window)),
    sliding_reset_after(current, previous, end_after, window), retry_after, 0), false
end

function sliding_window.write(key, _, state, now, policy)
  store_string(key, string.format('%d %d %d', state[1], state[2], state[3]), state[1] + 2 * policy[WINDOW], now)
end
