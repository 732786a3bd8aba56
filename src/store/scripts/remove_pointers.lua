-- remove_pointers.lua: under the indexed status layout, delete the pointers
-- ($IdxPtr:{K}:{field}, or 1.8.1-1.8.2's {K}\0idxptr\0{field}) a record
-- whose hash is gone left behind, and drop it from the sets that still
-- hold it; batch.lua (appended) runs several actions per call and
-- describes the call's KEYS and ARGV.
--
-- Per action, its keys:
--   K[1]       the record key (whose hash is missing)
--   K[2..]     np pointer keys to DEL, then nset sets to SREM it from,
--              then nz zsets to ZREM it from
-- and its arguments:
--   A[1..3]    np, nset, nz
--   A[4..]     np values, the one each pointer must still hold, then the
--              audit entry's own field/value pairs (after the header)
-- Guard:  K[1] still does not exist; every pointer is a string holding
--         what the plan saw, or already gone; every target has the right
--         type; something is still left to remove ({0, 'already gone'}
--         otherwise); the user may make every write.
-- Returns {1, removed} or {0, reason} (nothing written); a NOPERM error
--         (nothing written) when the user may not make one of the writes.
-- The entry records each pointer deleted (del.N, del.N.value) and each set
-- and zset left (entry.lua), to be reversed exactly.

local function one(K, A)
local np, nset, nz = tonumber(A[1]), tonumber(A[2]), tonumber(A[3])
if redis.call('EXISTS', K[1]) == 1 then return {0, 'the record exists again'} end
local s0, z0 = 2 + np, 2 + np + nset
local present = 0
local values = {}
for i = 0, np - 1 do
  local k = K[2 + i]
  local t = redis.call('TYPE', k)['ok']
  if t ~= 'string' and t ~= 'none' then return {0, k .. ' is a ' .. t} end
  local v = redis.call('GET', k)
  if v and v ~= A[4 + i] then return {0, 'the pointer ' .. k .. ' changed'} end
  if v then
    present = present + 1
    values[i] = v
    if denied('DEL', k) then return noperm('DEL', k) end
  end
end
for i = s0, z0 - 1 do
  local t = redis.call('TYPE', K[i])['ok']
  if t ~= 'set' and t ~= 'none' then return {0, K[i] .. ' is a ' .. t} end
  if redis.call('SISMEMBER', K[i], K[1]) == 1 then
    present = present + 1
    if denied('SREM', K[i], K[1]) then return noperm('SREM', K[i]) end
  end
end
for i = z0, z0 + nz - 1 do
  local t = redis.call('TYPE', K[i])['ok']
  if t ~= 'zset' and t ~= 'none' then return {0, K[i] .. ' is a ' .. t} end
  if redis.call('ZSCORE', K[i], K[1]) then
    present = present + 1
    if denied('ZREM', K[i], K[1]) then return noperm('ZREM', K[i]) end
  end
end
if present == 0 then return {0, 'already gone'} end
if denied('XADD', KEYS[1], '*', 'f', 'v') then return noperm('XADD', KEYS[1]) end
local a = {}
for i = 4, 3 + tonumber(ARGV[3]) do a[#a + 1] = ARGV[i] end
for i = 4 + np, #A do a[#a + 1] = A[i] end
local ndel = 0
for i = 0, np - 1 do
  if values[i] then
    redis.call('DEL', K[2 + i])
    ndel = ndel + 1
    a[#a + 1] = 'del.' .. ndel
    a[#a + 1] = K[2 + i]
    a[#a + 1] = 'del.' .. ndel .. '.value'
    a[#a + 1] = values[i]
  end
end
local removed = ndel + entry_leave(a, K[1], K, s0, z0 - 1, z0, z0 + nz - 1)
a[#a + 1] = 'removed'
a[#a + 1] = tostring(removed)
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', unpack(a))
return {1, removed}
end
