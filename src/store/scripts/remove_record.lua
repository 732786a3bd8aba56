-- remove_record.lua: delete one record of a duplicated job the way popoto
-- deletes (SREM from every index, ZREM, DEL, SREM from the class set),
-- keeping its before-image in the audit stream; batch.lua (appended) runs
-- several actions per call and describes the call's KEYS and ARGV.
--
-- Per action, its keys:
--   K[1]       the record to remove (hash)
--   K[2]       the record that stays
--   K[3..]     nset sets to SREM it from, then nz zsets to ZREM it from
-- and its arguments:
--   A[1..2]    nset, nz
--   A[3..]     the audit entry's own field/value pairs (after the header)
-- Guard:  K[1] is still a hash and K[2] still exists, so the job is never
--         left with no record; every target has the right type; the user
--         may make every write.
-- Returns {1, 'applied'} or {0, reason} (nothing written; a reason that
--         starts 'already ' means the end state holds); a NOPERM error
--         (nothing written) when the user may not make one of the writes.
-- ACL (Redis 7+): every write below is asked of denied() (acl.lua,
-- prepended) before the first one.

local function one(K, A)
local nset, nz = tonumber(A[1]), tonumber(A[2])
local t = redis.call('TYPE', K[1])['ok']
if t == 'none' then
  -- Gone while the one kept is there: the step's end state (a plan run
  -- twice, or a worker's delete), reported as already done.
  if redis.call('EXISTS', K[2]) == 1 then return {0, 'already removed; the record kept exists'} end
  return {0, 'the record is gone'}
end
if t ~= 'hash' then return {0, 'the record is now a ' .. t} end
if redis.call('EXISTS', K[2]) == 0 then return {0, 'the record to keep is gone'} end
for i = 3, 2 + nset do
  local tt = redis.call('TYPE', K[i])['ok']
  if tt ~= 'set' and tt ~= 'none' then return {0, K[i] .. ' is a ' .. tt} end
end
for i = 3 + nset, 2 + nset + nz do
  local tt = redis.call('TYPE', K[i])['ok']
  if tt ~= 'zset' and tt ~= 'none' then return {0, K[i] .. ' is a ' .. tt} end
end
for i = 3, 2 + nset do
  if denied('SREM', K[i], K[1]) then return noperm('SREM', K[i]) end
end
for i = 3 + nset, 2 + nset + nz do
  if denied('ZREM', K[i], K[1]) then return noperm('ZREM', K[i]) end
end
if denied('DEL', K[1]) then return noperm('DEL', K[1]) end
if denied('XADD', KEYS[1], '*', 'f', 'v') then return noperm('XADD', KEYS[1]) end
local a = {}
for i = 4, 3 + tonumber(ARGV[3]) do a[#a + 1] = ARGV[i] end
for i = 3, #A do a[#a + 1] = A[i] end
local before = redis.call('HGETALL', K[1])
for i = 1, #before, 2 do
  a[#a + 1] = 'before.' .. before[i]
  a[#a + 1] = before[i + 1]
end
-- Each set and zset the key left (with its score): entry.lua.
entry_leave(a, K[1], K, 3, 2 + nset, 3 + nset, 2 + nset + nz)
redis.call('DEL', K[1])
a[#a + 1] = 'deleted'
a[#a + 1] = '1'
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', unpack(a))
return {1, 'applied'}
end
