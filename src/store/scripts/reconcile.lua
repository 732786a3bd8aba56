-- reconcile.lua: put a live record's memberships (and restorable fields)
-- right, in one step per action; batch.lua (appended) runs several actions
-- per call and describes the call's KEYS and ARGV.
--
-- The common argument: the status field's name.
-- Per action, its keys:
--   K[1]       the record key (hash)
--   K[2..]     nsadd sets to SADD the key to, then nsrem sets to SREM it
--              from, then nz zsets to ZADD it to
-- and its arguments:
--   A[1]       '1': the status field must equal A[2]; '0': must be absent
--   A[2]       the expected raw status bytes
--   A[3..7]    nsadd, nsrem, nz, nrestore, noverwrite
--   A[8..]     nrestore field/value pairs (written only while absent), then
--              noverwrite field/value pairs, then nz scores, then the audit
--              entry's own field/value pairs (after the common header)
-- Guard:  K[1] is a hash; every target has the right type; the step's
--         end state does not hold already (a step applied before, by a run
--         whose reply was lost or by a plan applied twice: {0, 'already
--         applied'}, nothing written, no second audit entry); its status
--         field is as expected; every restore field is still absent; the
--         user may make every write. All checks come before the first
--         write.
-- Returns {1, 'applied'} or {0, reason} (nothing written); a NOPERM error
--         (nothing written) when the user may not make one of the writes.
-- ACL (Redis 7+): every write below is asked of denied() (acl.lua,
-- prepended) before the first one.
-- A read's error reply: WRONGTYPE is this guard's to report; any other
-- (a NOPERM above all) is the script's error, as redis.call would raise it.
local function wrong_type(reply)
  return type(reply) == 'table' and reply.err ~= nil and string.find(reply.err, 'WRONGTYPE', 1, true) ~= nil
end
local function failed(reply)
  return type(reply) == 'table' and reply.err ~= nil
end

local function one(K, A)
local h = tonumber(ARGV[3])
local field = ARGV[4 + h]
local nsadd, nsrem, nz, nrestore, noverwrite =
  tonumber(A[3]), tonumber(A[4]), tonumber(A[5]), tonumber(A[6]), tonumber(A[7])
local key = K[1]
-- Reads come first, each doubling as a type check (a WRONGTYPE reply is
-- caught): a repair of many keys is bound by this script's server time,
-- and TYPE calls of their own were two of a plain repair's eight calls.
local status = redis.pcall('HGET', key, field)
if wrong_type(status) then
  return {0, 'the record is now a ' .. redis.call('TYPE', key)['ok']}
end
if failed(status) then return status end
if not status and redis.call('EXISTS', key) == 0 then
  return {0, 'the record is gone'}
end
local member = {}
for i = 2, 1 + nsadd + nsrem do
  local m = redis.pcall('SISMEMBER', K[i], key)
  if wrong_type(m) then return {0, K[i] .. ' is a ' .. redis.call('TYPE', K[i])['ok']} end
  if failed(m) then return m end
  member[i] = m
end
local score = {}
for i = 2 + nsadd + nsrem, 1 + nsadd + nsrem + nz do
  local z = redis.pcall('ZSCORE', K[i], key)
  if wrong_type(z) then return {0, K[i] .. ' is a ' .. redis.call('TYPE', K[i])['ok']} end
  if failed(z) then return z end
  score[i] = z
end
local r0 = 8
local o0 = r0 + 2 * nrestore
local s0 = o0 + 2 * noverwrite
-- A step applied before (its reply lost, or the same plan run twice) finds
-- its own end state: every field it writes holds that value, the status
-- field is the one planned (unless the step writes it), every membership
-- and score is right. It writes nothing and no second audit entry.
local done = true
local writes_status = false
for i = r0, s0 - 1, 2 do
  if A[i] == field then writes_status = true end
  if done and redis.call('HGET', key, A[i]) ~= A[i + 1] then done = false end
end
if done and not writes_status then
  if A[1] == '1' then done = status == A[2] else done = not status end
end
for i = 2, 1 + nsadd do
  if member[i] == 0 then done = false end
end
for i = 2 + nsadd, 1 + nsadd + nsrem do
  if member[i] == 1 then done = false end
end
for j = 0, nz - 1 do
  local cur = score[2 + nsadd + nsrem + j]
  if not cur or tonumber(cur) ~= tonumber(A[s0 + j]) then done = false end
end
if done then return {0, 'already applied'} end
if A[1] == '1' then
  if status ~= A[2] then return {0, 'the status field changed'} end
elseif status then
  return {0, 'the status field reappeared'}
end
for i = 0, nrestore - 1 do
  if redis.call('HEXISTS', key, A[r0 + 2 * i]) == 1 then
    return {0, 'field ' .. A[r0 + 2 * i] .. ' was written meanwhile'}
  end
end

if (nrestore + noverwrite > 0) and denied('HSET', key, 'f', 'v') then return noperm('HSET', key) end
for i = 2, 1 + nsadd do
  if denied('SADD', K[i], key) then return noperm('SADD', K[i]) end
end
for i = 2 + nsadd, 1 + nsadd + nsrem do
  if denied('SREM', K[i], key) then return noperm('SREM', K[i]) end
end
for j = 0, nz - 1 do
  local z = K[2 + nsadd + nsrem + j]
  if denied('ZADD', z, '0', key) then return noperm('ZADD', z) end
end
if denied('XADD', KEYS[1], '*', 'f', 'v') then return noperm('XADD', KEYS[1]) end

-- The audit entry lists what changed, to be reversed exactly: every field
-- written (hset.F) with its old value (before.F; none when it was absent),
-- the sets the key was added to or removed from (only those it was not or
-- was in), each zset with the score it got and the one it had.
local a = {}
for i = 4, 3 + h do a[#a + 1] = ARGV[i] end
for i = s0 + nz, #A do a[#a + 1] = A[i] end
for i = r0, o0 + 2 * noverwrite - 1, 2 do
  local f = A[i]
  local old = redis.call('HGET', key, f)
  a[#a + 1] = 'hset.' .. f
  a[#a + 1] = A[i + 1]
  if old then
    a[#a + 1] = 'before.' .. f
    a[#a + 1] = old
  end
end
local hs = {}
for i = r0, o0 + 2 * noverwrite - 1 do hs[#hs + 1] = A[i] end
if #hs > 0 then redis.call('HSET', key, unpack(hs)) end
local nadd, nrem = 0, 0
for i = 2, 1 + nsadd do
  if member[i] == 0 then
    redis.call('SADD', K[i], key)
    nadd = nadd + 1
    a[#a + 1] = 'sadd.' .. nadd
    a[#a + 1] = K[i]
  end
end
for i = 2 + nsadd, 1 + nsadd + nsrem do
  if member[i] == 1 then
    redis.call('SREM', K[i], key)
    nrem = nrem + 1
    a[#a + 1] = 'srem.' .. nrem
    a[#a + 1] = K[i]
  end
end
for j = 0, nz - 1 do
  local z = K[2 + nsadd + nsrem + j]
  entry_zadd(a, j + 1, z, key, A[s0 + j], score[2 + nsadd + nsrem + j])
end
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', unpack(a))
return {1, 'applied'}
end
