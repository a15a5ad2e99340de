-- One GCRA step (see gcra.rs, which this mirrors) done inside Redis, so that the read and the write of a
-- key's TAT are one atomic operation for every replica.
--   KEYS[1]  the limit key
--   ARGV[1]  interval between cells, in microseconds (60 s / limit)
--   ARGV[2]  burst (the limit)
-- Returns 0 when the call is admitted, else the microseconds to wait before one would be.
-- Time comes from Redis itself, so replicas whose clocks disagree still share one timeline. Microseconds
-- since 1970 (~1.8e15) are exact in Lua's doubles (up to 2^53 ~ 9e15).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then
  tat = now
end
local new_tat = tat + interval
local allow_at = new_tat - burst * interval
if now < allow_at then
  return allow_at - now
end
-- The key lives exactly as long as it matters: once its TAT has passed it equals an absent key.
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil((new_tat - now) / 1000))
return 0
