-- delete_record.lua: delete one job record the way popoto deletes (SREM
-- from every index, ZREM, DEL, SREM from the class set), in one guarded
-- step, its whole before-image and every membership it had (with scores)
-- in the audit entry, so that `jobq undo` can re-create it exactly. Used
-- by `jobq delete` (prune has its own batch script, prune_batch.lua).
--
-- KEYS[1]    the record (a hash)
-- KEYS[2]    the audit stream
-- KEYS[3..]  nset sets to SREM it from (every index it may be in, the class
--            set last), then nz zsets to ZREM it from, then nptr pairs of
--            pointer keys of its indexed fields: the $IdxPtr pointer and the
--            1.8.1-1.8.2 legacy pointer key (DEL'd, as popoto deletes them)
-- ARGV[1]    the guarded field (the status field)
-- ARGV[2]    its expected raw bytes (msgpack), as the plan read them
-- ARGV[3]    audit stream MAXLEN (approximate)
-- ARGV[4..5] nset, nz
-- ARGV[6]    '1' to write the before-image (before.<field>) into the entry,
--            '0' when it is kept elsewhere (prune's backup file)
-- ARGV[7]    nptr
-- ARGV[8..]  nptr prefixes, `$IndexF:{Model}:{field}:` of each pointer's
--            field: the set a pointer names (popoto's way to find the set
--            to SREM from) is left too when its name has that prefix; then
--            the audit entry's field/value pairs (header, action, job...)
-- Guard:  KEYS[1] is still a hash whose ARGV[1] field is exactly ARGV[2]
--         (a worker that moved the job re-created it under another key, so
--         this one is gone); every set, zset and the stream is of the right
--         type or missing; the user may make every write. All checks come
--         before the first write.
-- Returns {1, 'deleted'}; {0, reason} nothing written because the state
--         changed, reason gone or field_changed; {3, key} nothing written
--         because that key has the wrong type; a NOPERM error (nothing
--         written) when the user may not make one of the writes.
local rec, stream = KEYS[1], KEYS[2]
local nset, nz = tonumber(ARGV[4]), tonumber(ARGV[5])
local s1, s2, z1, z2 = 3, 2 + nset, 3 + nset, 2 + nset + nz
local nptr = tonumber(ARGV[7])
local p1 = z2 + 1

local function failed(r) return type(r) == 'table' and r.err ~= nil end

local cur = redis.pcall('HGET', rec, ARGV[1])
if failed(cur) then return {3, rec} end
if not cur then
  if redis.call('EXISTS', rec) == 0 then return {0, 'gone'} end
  return {0, 'field_changed'}
end
if cur ~= ARGV[2] then return {0, 'field_changed'} end
for i = s1, s2 do
  local t = redis.call('TYPE', KEYS[i])['ok']
  if t ~= 'set' and t ~= 'none' then return {3, KEYS[i]} end
end
for i = z1, z2 do
  local t = redis.call('TYPE', KEYS[i])['ok']
  if t ~= 'zset' and t ~= 'none' then return {3, KEYS[i]} end
end
local st = redis.call('TYPE', stream)['ok']
if st ~= 'stream' and st ~= 'none' then return {3, stream} end
-- The set each pointer names: popoto SREMs the record from it (it may be
-- a status no longer declared). Only a name of the field's own sets is
-- taken: a pointer's value is data, never trusted to name any key.
local named = {}
local listed = {}
for i = s1, s2 do listed[KEYS[i]] = true end
for j = 0, nptr - 1 do
  local v = redis.pcall('GET', KEYS[p1 + 2 * j])
  if failed(v) then return {3, KEYS[p1 + 2 * j]} end
  local prefix = ARGV[8 + j]
  if v and not listed[v] and string.sub(v, 1, #prefix) == prefix then
    local t = redis.call('TYPE', v)['ok']
    if t ~= 'set' and t ~= 'none' then return {3, v} end
    listed[v] = true
    named[#named + 1] = v
  end
end

-- ACL (Redis 7+): denied() and noperm() are acl.lua's, prepended.
for i = s1, s2 do
  if denied('SREM', KEYS[i], rec) then return noperm('SREM', KEYS[i]) end
end
for i = z1, z2 do
  if denied('ZREM', KEYS[i], rec) then return noperm('ZREM', KEYS[i]) end
end
for _, v in ipairs(named) do
  if denied('SREM', v, rec) then return noperm('SREM', v) end
end
for i = p1, p1 + 2 * nptr - 1 do
  if denied('DEL', KEYS[i]) then return noperm('DEL', KEYS[i]) end
end
if denied('DEL', rec) then return noperm('DEL', rec) end
if denied('XADD', stream, '*', 'f', 'v') then return noperm('XADD', stream) end

local a = {}
for i = 8 + nptr, #ARGV do a[#a + 1] = ARGV[i] end
if ARGV[6] == '1' then
  local before = redis.call('HGETALL', rec)
  for i = 1, #before, 2 do
    a[#a + 1] = 'before.' .. before[i]
    a[#a + 1] = before[i + 1]
  end
end
-- Each set and zset the key left, with its score (entry.lua): the listed
-- sets with the ones pointers named before the class set (last).
local L = {}
for i = s1, s2 - 1 do L[#L + 1] = KEYS[i] end
for _, v in ipairs(named) do L[#L + 1] = v end
if nset > 0 then L[#L + 1] = KEYS[s2] end
local ns = #L
for i = z1, z2 do L[#L + 1] = KEYS[i] end
entry_leave(a, rec, L, 1, ns, ns + 1, #L)
-- Each pointer deleted: pointer.N and the value it had (pointer.N.before;
-- no pointer.N.value: it is gone).
local np = 0
for i = p1, p1 + 2 * nptr - 1 do
  local was = redis.call('GET', KEYS[i])
  if was then
    redis.call('DEL', KEYS[i])
    np = np + 1
    a[#a + 1] = 'pointer.' .. np
    a[#a + 1] = KEYS[i]
    a[#a + 1] = 'pointer.' .. np .. '.before'
    a[#a + 1] = was
  end
end
redis.call('DEL', rec)
a[#a + 1] = 'deleted'
a[#a + 1] = '1'
redis.call('XADD', stream, 'MAXLEN', '~', ARGV[3], '*', unpack(a))
return {1, 'deleted'}
