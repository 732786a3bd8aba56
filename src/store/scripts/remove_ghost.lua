-- remove_ghost.lua: drop a member whose hash is gone from the sets that
-- still hold it.
--
-- KEYS[1]      the member (a record key whose hash is missing)
-- KEYS[2]      the audit stream
-- KEYS[3..]    nset sets to SREM it from, then nz zsets to ZREM it from
-- ARGV[1]      audit MAXLEN (approximate)
-- ARGV[2..3]   nset, nz
-- ARGV[4..]    the audit entry's field/value pairs
-- Guard:  KEYS[1] still does not exist (a record re-created meanwhile keeps
--         its memberships); every target has the right type; it is still
--         in one of them; the user may make every write.
-- Returns {1, removed} or {0, reason} (nothing written); a NOPERM error
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
if redis.call('EXISTS', KEYS[1]) == 1 then return {0, 'the record exists again'} end
for i = 3, 2 + nset do
  local t = redis.call('TYPE', KEYS[i])['ok']
  if t ~= 'set' and t ~= 'none' then return {0, KEYS[i] .. ' is a ' .. t} end
end
for i = 3 + nset, 2 + nset + nz do
  local t = redis.call('TYPE', KEYS[i])['ok']
  if t ~= 'zset' and t ~= 'none' then return {0, KEYS[i] .. ' is a ' .. t} end
end
local present = 0
for i = 3, 2 + nset do
  if redis.call('SISMEMBER', KEYS[i], KEYS[1]) == 1 then
    present = present + 1
    if denied('SREM', KEYS[i], KEYS[1]) then return noperm('SREM', KEYS[i]) end
  end
end
for i = 3 + nset, 2 + nset + nz do
  if redis.call('ZSCORE', KEYS[i], KEYS[1]) then
    present = present + 1
    if denied('ZREM', KEYS[i], KEYS[1]) then return noperm('ZREM', KEYS[i]) end
  end
end
if present == 0 then return {0, 'already gone from every set'} end
if denied('XADD', KEYS[2], '*', 'f', 'v') then return noperm('XADD', KEYS[2]) end
local removed = 0
for i = 3, 2 + nset do removed = removed + redis.call('SREM', KEYS[i], KEYS[1]) end
for i = 3 + nset, 2 + nset + nz do removed = removed + redis.call('ZREM', KEYS[i], KEYS[1]) end
local a = {}
for i = 4, #ARGV do a[#a + 1] = ARGV[i] end
a[#a + 1] = 'removed'
a[#a + 1] = tostring(removed)
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[1], '*', unpack(a))
return {1, removed}
