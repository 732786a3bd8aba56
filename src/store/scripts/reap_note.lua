-- reap_note.lua: note when reap first saw each running key.
--
-- KEYS[1]   the first-sightings hash (running key -> server time first seen)
-- ARGV[1]   the server time of this sighting (seconds, as text)
-- ARGV[2..] running keys seen in one page of the running index (bounded by
--           the caller's page size)
-- Guard:  HSETNX: an existing note is never overwritten, so a key's note is
--         the time it was first seen; the hash must be a hash or missing.
-- Returns, for each key in order, its note after the call: ARGV[1] when this
--         call wrote it, the earlier time otherwise; or {3, KEYS[1]} when the
--         hash has the wrong type (nothing written).
local t = redis.call('TYPE', KEYS[1])['ok']
if t ~= 'hash' and t ~= 'none' then return {3, KEYS[1]} end
local out = {}
for i = 2, #ARGV do
  redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[1])
  out[#out + 1] = redis.call('HGET', KEYS[1], ARGV[i])
end
return out
