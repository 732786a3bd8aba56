-- reap_prune.lua: forget first sightings of keys that are no longer running.
--
-- KEYS[1]   the first-sightings hash (running key -> server time first seen)
-- KEYS[2]   the running status index
-- ARGV[1..] fields of the hash from one HSCAN page (bounded by the page
--           size, far below Lua's unpack limit)
-- Guard:  a note is deleted only if its key is not a member of the running
--         index at that moment (SISMEMBER per field, in the same atomic
--         step as the HDEL: a key back in running keeps its note until it
--         leaves again); both keys must be of the right type or missing.
--         Not SMISMEMBER: Redis 6.0 lacks it, and some managed services
--         rename it away.
-- Returns the number of notes deleted, or {3, key} when a key has the wrong
--         type (nothing written).
local t = redis.call('TYPE', KEYS[1])['ok']
if t ~= 'hash' and t ~= 'none' then return {3, KEYS[1]} end
local s = redis.call('TYPE', KEYS[2])['ok']
if s ~= 'set' and s ~= 'none' then return {3, KEYS[2]} end
if #ARGV == 0 then return 0 end
local gone = {}
for i = 1, #ARGV do
  if redis.call('SISMEMBER', KEYS[2], ARGV[i]) == 0 then gone[#gone + 1] = ARGV[i] end
end
if #gone == 0 then return 0 end
return redis.call('HDEL', KEYS[1], unpack(gone))
