// The Lua side of the cluster-wide rate limit (shared-rate-limit.ts). Each script runs atomically
// in Redis, so any number of processes taking permits from one endpoint's buckets never overspend
// them: the check and the take are one step, with no window between a read and a write.
//
// The buckets are the same as src/limits/token-bucket.ts: they refill continuously at
// perMinute / 60 000 per ms up to a capacity of `burstSeconds` of the limit; a cost above the
// capacity waits for a full bucket and leaves it in debt. The clock is Redis's own (TIME), so
// workers on hosts whose clocks disagree still share one budget. (Redis 7 replicates scripts by
// their effects, so TIME before a write is allowed.)
//
// Keys of one endpoint (all share a {hash tag}, so they live in one slot of a Redis Cluster):
//   KEYS[1] requests bucket (hash: level, ts)    KEYS[2] tokens bucket (hash: level, ts)
//   KEYS[3] pause: the time (ms, Redis clock) until which nobody may start a call
//   KEYS[4] learned limits (hash: rpm, tpm) from x-ratelimit-* headers

/** Shared by every script: the clock and the refill of one bucket. */
const PRELUDE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local burst = tonumber(ARGV[3])
local function rate(configured, field)
  if configured > 0 then return configured end
  return tonumber(redis.call('HGET', KEYS[4], field) or '0') or 0
end
local function load(key, perMinute)
  local perMs = perMinute / 60000
  local capacity = math.max(1, perMinute / 60 * burst)
  local state = redis.call('HMGET', key, 'level', 'ts')
  local level = tonumber(state[1])
  local ts = tonumber(state[2])
  if level == nil or ts == nil then return capacity, capacity, perMs end
  if now > ts and level < capacity then level = math.min(capacity, level + (now - ts) * perMs) end
  if level > capacity then level = capacity end
  return level, capacity, perMs
end
local function store(key, level, capacity, perMs)
  -- Kept until it would be full again (a full bucket and no key are the same), so debt is never
  -- forgiven by an expiry and idle endpoints leave nothing behind.
  local ttl = math.ceil((capacity - level) / perMs) + 1000
  redis.call('HSET', key, 'level', string.format('%.6f', level), 'ts', string.format('%.3f', now))
  redis.call('PEXPIRE', key, ttl)
end
local rpm = rate(tonumber(ARGV[1]), 'rpm')
local tpm = rate(tonumber(ARGV[2]), 'tpm')
`;

/**
 * Takes one request and ARGV[4] tokens if both buckets allow it and no pause holds.
 * ARGV: configured rpm (0: none), configured tpm (0: none), burst seconds, token cost.
 * Returns { 1, 0, tokensCharged, unlimited } when taken (tokensCharged 1 when a tokens-per-minute
 * limit applied, so a usage correction is due; unlimited 1 when no limit applies at all, neither
 * configured nor learned, so the caller may go on without asking for a moment), else { 0,
 * milliseconds to wait before asking again, why } (why: 1 a pause, 2 the pace).
 */
export const ACQUIRE_LUA = `${PRELUDE}
local pausedUntil = tonumber(redis.call('GET', KEYS[3]) or '0') or 0
if pausedUntil > now then return { 0, math.ceil(pausedUntil - now), 1 } end
local cost = tonumber(ARGV[4])
local wait = 0
local rl, rc, rp, tl, tc, tp
if rpm > 0 then
  rl, rc, rp = load(KEYS[1], rpm)
  local missing = 1 - rl
  if missing > 1e-9 then wait = math.max(wait, missing / rp) end
end
if tpm > 0 then
  tl, tc, tp = load(KEYS[2], tpm)
  local missing = math.min(cost, tc) - tl
  if missing > 1e-9 then wait = math.max(wait, missing / tp) end
end
if wait > 0 then return { 0, math.ceil(wait), 2 } end
if rpm > 0 then store(KEYS[1], rl - 1, rc, rp) end
if tpm > 0 then store(KEYS[2], tl - cost, tc, tp) end
if tpm > 0 then return { 1, 0, 1, 0 } end
if rpm > 0 then return { 1, 0, 0, 0 } end
return { 1, 0, 0, 1 }
`;

/**
 * Gives back (positive) or charges (negative) ARGV[4] requests and ARGV[5] tokens: a withdrawn
 * grant returns its permit, an answer's usage corrects the token reservation. Never above capacity.
 * ARGV: configured rpm, configured tpm, burst seconds, requests, tokens.
 */
export const ADJUST_LUA = `${PRELUDE}
local requests = tonumber(ARGV[4])
local tokens = tonumber(ARGV[5])
if rpm > 0 and requests ~= 0 then
  local level, capacity, perMs = load(KEYS[1], rpm)
  store(KEYS[1], math.min(capacity, level + requests), capacity, perMs)
end
if tpm > 0 and tokens ~= 0 then
  local level, capacity, perMs = load(KEYS[2], tpm)
  store(KEYS[2], math.min(capacity, level + tokens), capacity, perMs)
end
return 1
`;

/**
 * What an answer's headers taught: ARGV[4]/[5] limits (0: not reported) are kept as learned
 * limits (the smaller value while one is known, for ARGV[6] ms); ARGV[7]/[8] remaining requests
 * and tokens (-1: not reported) lower the buckets' levels, never raise them.
 * ARGV: configured rpm, configured tpm, burst seconds, limit requests, limit tokens, learned ttl,
 * remaining requests, remaining tokens.
 */
export const LEARN_LUA = `${PRELUDE}
local limits = { rpm = tonumber(ARGV[4]), tpm = tonumber(ARGV[5]) }
for field, value in pairs(limits) do
  if value > 0 then
    local known = tonumber(redis.call('HGET', KEYS[4], field) or '0') or 0
    if known <= 0 or value < known then redis.call('HSET', KEYS[4], field, value) end
    redis.call('PEXPIRE', KEYS[4], tonumber(ARGV[6]))
  end
end
rpm = rate(tonumber(ARGV[1]), 'rpm')
tpm = rate(tonumber(ARGV[2]), 'tpm')
local remainingRequests = tonumber(ARGV[7])
local remainingTokens = tonumber(ARGV[8])
if rpm > 0 and remainingRequests >= 0 then
  local level, capacity, perMs = load(KEYS[1], rpm)
  if level > remainingRequests then store(KEYS[1], remainingRequests, capacity, perMs) end
end
if tpm > 0 and remainingTokens >= 0 then
  local level, capacity, perMs = load(KEYS[2], tpm)
  if level > remainingTokens then store(KEYS[2], remainingTokens, capacity, perMs) end
end
return 1
`;

/**
 * Pauses the endpoint for every process for ARGV[1] ms from now (a 429's Retry-After); a
 * pause already reaching further is kept. Returns the milliseconds the pause now lasts.
 */
export const PAUSE_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local untilMs = now + tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if current >= untilMs then return math.ceil(current - now) end
redis.call('SET', KEYS[1], string.format('%.3f', untilMs), 'PX', math.ceil(untilMs - now) + 1)
return math.ceil(untilMs - now)
`;

/** Milliseconds the endpoint's shared pause still lasts (0: none). KEYS[1]: the pause key. */
export const PAUSED_FOR_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local untilMs = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if untilMs <= now then return 0 end
return math.ceil(untilMs - now)
`;
