-- repoint.lua: put a live record of the indexed status layout right
-- (docs/layout.md, "The other status layout"): its memberships first, then
-- its $IdxPtr pointer at the set its status field names, and, only when
-- asked (--migrate-pointers), the 1.8.0-1.8.2 pointer moved over to it;
-- one step per action; batch.lua (appended) runs several actions per call
-- and describes the call's KEYS and ARGV.
--
-- The common argument: the status field's name.
-- Per action, its keys:
--   K[1]       the record key (hash)
--   K[2]       its pointer $IdxPtr:{K}:{field}
--   K[3]       its 1.8.1-1.8.2 pointer key {K}\0idxptr\0{field}
--   K[4..]     nsadd sets to SADD the key to, then nsrem sets to SREM it
--              from, then nz zsets to ZADD it to
-- and its arguments:
--   A[1]       the expected raw status bytes (the field must hold them)
--   A[2]       '1': the pointer must hold A[3]; '0': must be absent
--   A[4]       '1': point K[2] at A[5]; '0': leave every pointer as it is
--   A[6]       '1': migrate: the old pointers are removed; '0': left
--   A[7], A[8] '1' and the value K[3] must hold, or '0' and '' (absent)
--   A[9]       the 1.8.0 in-hash pointer field's name
--   A[10], A[11] '1' and the value that field must hold, or '0' and ''
--   A[12..14]  nsadd, nsrem, nz
--   A[15..]    nz scores, then the audit entry's own field/value pairs
-- Guard:  K[1] is a hash whose status field holds A[1]; the pointers hold
--         what the plan saw; every target has the right type; the step's
--         end state does not hold already ({0, 'already applied'}: nothing
--         written, no second entry); the user may make every write. All
--         checks come before the first write.
-- Returns {1, 'applied'} or {0, reason} (nothing written); a NOPERM error
--         (nothing written) when the user may not make one of the writes.
-- The entry records, to be reversed exactly: sadd.N / srem.N (entry.lua's
-- words), zadd.N with its score, the pointer set (set, set.value and
-- set.before when it held one), and when migrating the key deleted (del,
-- del.value) and the hash field removed (hdel, hdel.before).
local function wrong_type(reply)
  return type(reply) == 'table' and reply.err ~= nil and string.find(reply.err, 'WRONGTYPE', 1, true) ~= nil
end
local function failed(reply)
  return type(reply) == 'table' and reply.err ~= nil
end
local function is_type(key, want)
  local t = redis.call('TYPE', key)['ok']
  return t == want or t == 'none', t
end

local function one(K, A)
local h = tonumber(ARGV[3])
local field = ARGV[4 + h]
local key, ptr, old_ptr = K[1], K[2], K[3]
local point, migrate = A[4] == '1', A[6] == '1'
local nsadd, nsrem, nz = tonumber(A[12]), tonumber(A[13]), tonumber(A[14])
local status = redis.pcall('HGET', key, field)
if wrong_type(status) then
  return {0, 'the record is now a ' .. redis.call('TYPE', key)['ok']}
end
if failed(status) then return status end
if not status then
  if redis.call('EXISTS', key) == 0 then return {0, 'the record is gone'} end
  return {0, 'the status field is gone'}
end
for _, k in ipairs({ptr, old_ptr}) do
  local ok, t = is_type(k, 'string')
  if not ok then return {0, k .. ' is a ' .. t} end
end
local member = {}
for i = 4, 3 + nsadd + nsrem do
  local m = redis.pcall('SISMEMBER', K[i], key)
  if wrong_type(m) then return {0, K[i] .. ' is a ' .. redis.call('TYPE', K[i])['ok']} end
  if failed(m) then return m end
  member[i] = m
end
local z0 = 4 + nsadd + nsrem
local score = {}
for i = z0, z0 + nz - 1 do
  local z = redis.pcall('ZSCORE', K[i], key)
  if wrong_type(z) then return {0, K[i] .. ' is a ' .. redis.call('TYPE', K[i])['ok']} end
  if failed(z) then return z end
  score[i] = z
end
local cur_ptr = redis.call('GET', ptr)
local cur_old = redis.call('GET', old_ptr)
local cur_field = redis.call('HGET', key, A[9])

-- Its own end state (a step applied before, its reply lost): nothing to do.
local done = status == A[1]
for i = 4, 3 + nsadd do if member[i] == 0 then done = false end end
for i = 4 + nsadd, 3 + nsadd + nsrem do if member[i] == 1 then done = false end end
for j = 0, nz - 1 do
  local cur = score[z0 + j]
  if not cur or tonumber(cur) ~= tonumber(A[15 + j]) then done = false end
end
if point and cur_ptr ~= A[5] then done = false end
if migrate and (cur_old or cur_field) then done = false end
if done then return {0, 'already applied'} end

if status ~= A[1] then return {0, 'the status field changed'} end
local function same(cur, flag, want)
  if flag == '1' then return cur == want end
  return not cur
end
if not same(cur_ptr, A[2], A[3]) then return {0, 'the pointer changed'} end
if migrate then
  if not same(cur_old, A[7], A[8]) then return {0, 'the 1.8.1-1.8.2 pointer changed'} end
  if not same(cur_field, A[10], A[11]) then return {0, 'the 1.8.0 pointer field changed'} end
end

for i = 4, 3 + nsadd do
  if denied('SADD', K[i], key) then return noperm('SADD', K[i]) end
end
for i = 4 + nsadd, 3 + nsadd + nsrem do
  if denied('SREM', K[i], key) then return noperm('SREM', K[i]) end
end
for j = 0, nz - 1 do
  if denied('ZADD', K[z0 + j], '0', key) then return noperm('ZADD', K[z0 + j]) end
end
if point and denied('SET', ptr, 'v') then return noperm('SET', ptr) end
if migrate and cur_old and denied('DEL', old_ptr) then return noperm('DEL', old_ptr) end
if migrate and cur_field and denied('HDEL', key, 'f') then return noperm('HDEL', key) end
if denied('XADD', KEYS[1], '*', 'f', 'v') then return noperm('XADD', KEYS[1]) end

local a = {}
for i = 4, 3 + h do a[#a + 1] = ARGV[i] end
for i = 15 + nz, #A do a[#a + 1] = A[i] end
local nadd, nrem = 0, 0
for i = 4, 3 + nsadd do
  if member[i] == 0 then
    redis.call('SADD', K[i], key)
    nadd = nadd + 1
    a[#a + 1] = 'sadd.' .. nadd
    a[#a + 1] = K[i]
  end
end
for i = 4 + nsadd, 3 + nsadd + nsrem do
  if member[i] == 1 then
    redis.call('SREM', K[i], key)
    nrem = nrem + 1
    a[#a + 1] = 'srem.' .. nrem
    a[#a + 1] = K[i]
  end
end
for j = 0, nz - 1 do
  entry_zadd(a, j + 1, K[z0 + j], key, A[15 + j], score[z0 + j])
end
if point and cur_ptr ~= A[5] then
  redis.call('SET', ptr, A[5])
  a[#a + 1] = 'set'
  a[#a + 1] = ptr
  a[#a + 1] = 'set.value'
  a[#a + 1] = A[5]
  if cur_ptr then
    a[#a + 1] = 'set.before'
    a[#a + 1] = cur_ptr
  end
end
if migrate and cur_old then
  redis.call('DEL', old_ptr)
  a[#a + 1] = 'del'
  a[#a + 1] = old_ptr
  a[#a + 1] = 'del.value'
  a[#a + 1] = cur_old
end
if migrate and cur_field then
  redis.call('HDEL', key, A[9])
  a[#a + 1] = 'hdel'
  a[#a + 1] = A[9]
  a[#a + 1] = 'hdel.before'
  a[#a + 1] = cur_field
end
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', unpack(a))
return {1, 'applied'}
end
