-- remove_record.lua: delete one record of a duplicated job the way popoto
-- deletes (SREM from every index, ZREM, DEL, SREM from the class set),
-- keeping its before-image in the audit stream.
--
-- KEYS[1]      the record to remove (hash)
-- KEYS[2]      the record that stays
-- KEYS[3]      the audit stream
-- KEYS[4..]    nset sets to SREM it from, then nz zsets to ZREM it from
-- ARGV[1]      audit MAXLEN (approximate)
-- ARGV[2..3]   nset, nz
-- ARGV[4..]    the audit entry's field/value pairs
-- Guard:  KEYS[1] is still a hash and KEYS[2] still exists, so the job is
--         never left with no record; every target has the right type; the
--         user may make every write.
-- Returns {1, 'applied'} or {0, reason} (nothing written; a reason that
--         starts 'already ' means the end state holds); a NOPERM error
--         (nothing written) when the user may not make one of the writes.
-- ACL (Redis 7+): a user who may not make every write below gets none of
-- them, rather than the first few (Lua has no rollback).
local function denied(...)
  return redis.acl_check_cmd ~= nil and not redis.acl_check_cmd(...)
end
local function noperm(cmd, key)
  return redis.error_reply('NOPERM the Redis user may not run ' .. cmd .. ' on ' .. key)
end
local nset, nz = tonumber(ARGV[2]), tonumber(ARGV[3])
local t = redis.call('TYPE', KEYS[1])['ok']
if t == 'none' then
  -- Gone while the one kept is there: the step's end state (a plan run
  -- twice, or a worker's delete), reported as already done.
  if redis.call('EXISTS', KEYS[2]) == 1 then return {0, 'already removed; the record kept exists'} end
  return {0, 'the record is gone'}
end
if t ~= 'hash' then return {0, 'the record is now a ' .. t} end
if redis.call('EXISTS', KEYS[2]) == 0 then return {0, 'the record to keep is gone'} end
for i = 4, 3 + nset do
  local tt = redis.call('TYPE', KEYS[i])['ok']
  if tt ~= 'set' and tt ~= 'none' then return {0, KEYS[i] .. ' is a ' .. tt} end
end
for i = 4 + nset, 3 + nset + nz do
  local tt = redis.call('TYPE', KEYS[i])['ok']
  if tt ~= 'zset' and tt ~= 'none' then return {0, KEYS[i] .. ' is a ' .. tt} end
end
for i = 4, 3 + nset do
  if denied('SREM', KEYS[i], KEYS[1]) then return noperm('SREM', KEYS[i]) end
end
for i = 4 + nset, 3 + nset + nz do
  if denied('ZREM', KEYS[i], KEYS[1]) then return noperm('ZREM', KEYS[i]) end
end
if denied('DEL', KEYS[1]) then return noperm('DEL', KEYS[1]) end
if denied('XADD', KEYS[3], '*', 'f', 'v') then return noperm('XADD', KEYS[3]) end
local a = {}
for i = 4, #ARGV do a[#a + 1] = ARGV[i] end
local before = redis.call('HGETALL', KEYS[1])
for i = 1, #before, 2 do
  a[#a + 1] = 'before.' .. before[i]
  a[#a + 1] = before[i + 1]
end
for i = 4, 3 + nset do redis.call('SREM', KEYS[i], KEYS[1]) end
for i = 4 + nset, 3 + nset + nz do redis.call('ZREM', KEYS[i], KEYS[1]) end
redis.call('DEL', KEYS[1])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[1], '*', unpack(a))
return {1, 'applied'}
