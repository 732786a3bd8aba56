-- remove_ghost.lua: drop a member whose hash is gone from the sets that
-- still hold it; batch.lua (appended) runs several actions per call and
-- describes the call's KEYS and ARGV.
--
-- Per action, its keys:
--   K[1]       the member (a record key whose hash is missing)
--   K[2..]     nset sets to SREM it from, then nz zsets to ZREM it from
-- and its arguments:
--   A[1..2]    nset, nz
--   A[3..]     the audit entry's own field/value pairs (after the header)
-- Guard:  K[1] still does not exist (a record re-created meanwhile keeps
--         its memberships); every target has the right type; it is still
--         in one of them; the user may make every write.
-- Returns {1, removed} or {0, reason} (nothing written); a NOPERM error
--         (nothing written) when the user may not make one of the writes.
-- ACL (Redis 7+): every write below is asked of denied() (acl.lua,
-- prepended) before the first one.

local function one(K, A)
local nset, nz = tonumber(A[1]), tonumber(A[2])
if redis.call('EXISTS', K[1]) == 1 then return {0, 'the record exists again'} end
for i = 2, 1 + nset do
  local t = redis.call('TYPE', K[i])['ok']
  if t ~= 'set' and t ~= 'none' then return {0, K[i] .. ' is a ' .. t} end
end
for i = 2 + nset, 1 + nset + nz do
  local t = redis.call('TYPE', K[i])['ok']
  if t ~= 'zset' and t ~= 'none' then return {0, K[i] .. ' is a ' .. t} end
end
local present = 0
for i = 2, 1 + nset do
  if redis.call('SISMEMBER', K[i], K[1]) == 1 then
    present = present + 1
    if denied('SREM', K[i], K[1]) then return noperm('SREM', K[i]) end
  end
end
for i = 2 + nset, 1 + nset + nz do
  if redis.call('ZSCORE', K[i], K[1]) then
    present = present + 1
    if denied('ZREM', K[i], K[1]) then return noperm('ZREM', K[i]) end
  end
end
if present == 0 then return {0, 'already gone from every set'} end
if denied('XADD', KEYS[1], '*', 'f', 'v') then return noperm('XADD', KEYS[1]) end
local a = {}
for i = 4, 3 + tonumber(ARGV[3]) do a[#a + 1] = ARGV[i] end
for i = 3, #A do a[#a + 1] = A[i] end
-- Each set and zset the key left (with its score): entry.lua.
local removed = entry_leave(a, K[1], K, 2, 1 + nset, 2 + nset, 1 + nset + nz)
a[#a + 1] = 'removed'
a[#a + 1] = tostring(removed)
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', unpack(a))
return {1, removed}
end
