-- index_swap.lua: change an indexed field (the status of a model whose
-- status is a popoto IndexedField) in place, the way popoto 1.10.1's
-- INDEX_SWAP_LUA does: SREM the record from the set its pointer names,
-- SADD it to the new set, SET the pointer, HSET the field. The key does not
-- change. One guarded step, its audit entry in it. Used by reap and retry
-- (and reindex) for the indexed layout; move.lua is the key layout's.
--
-- KEYS[1]    the record (a hash)
-- KEYS[2]    the audit stream
-- KEYS[3]    a counter hash, or '' for none: field ARGV[3] is HINCRBY'd by 1
-- KEYS[4]    a notes hash, or '' for none: field <record key> is HDEL'd
-- KEYS[5]    the record's $IdxPtr pointer for the field
-- KEYS[6]    its 1.8.1-1.8.2 legacy pointer key ({K}\0idxptr\0{field})
-- KEYS[7..]  ng guard sets the record must be a member of (the set the
--            plan read it in), then nsrem sets to SREM it from, then nsadd
--            sets to SADD it to, then nabsent keys that must not exist
-- ARGV[1]    the guarded field (the status field)
-- ARGV[2]    its expected raw bytes (msgpack, e.g. a7 'running')
-- ARGV[3]    the counter field; ignored without a counter
-- ARGV[4]    the counter's expected value ('0' when absent)
-- ARGV[5]    audit stream MAXLEN (approximate)
-- ARGV[6..10] ng, nsrem, nsadd, nabsent, nover
-- ARGV[11]   the pointer's expected value: the set the record is left from
-- ARGV[12]   the pointer's new value: the set it joins
-- ARGV[13]   the 1.8.0 in-hash pointer field ({field}\0idxset)
-- ARGV[14]   '1' for a unique field (UniqueField): the sets joined must
--            hold no other record (popoto's POPOTO_UNIQUE_CONFLICT)
-- ARGV[15..] nover field/value pairs HSET on the record (the field, and e.g.
--            the priority), then the audit entry's field/value pairs
-- Guard:  the record is a hash whose ARGV[1] field is exactly ARGV[2]; it is
--         in every guard set (membership, not only the pointer, says where
--         it is); its pointer names ARGV[11] (popoto finds the old set
--         through it); it carries no legacy pointer (1.8.0's field, or
--         1.8.1-1.8.2's key: `reindex` migrates those); no absent key
--         exists; a unique field's new set holds no other record; the
--         counter is ARGV[4]; every key written is of the right
--         type or missing. All checks come before the first write.
-- Returns {1, counter value after (0 without a counter)} changed;
--         {0, reason} nothing written, reason one of gone, field_changed,
--         not_in_set, pointer_changed, legacy_pointer, unique_conflict,
--         key_exists,
--         counter_changed; {3, key} nothing written because that key has
--         the wrong type; a NOPERM error (nothing written) when the user may
--         not make one of the writes.
local rec, stream, counter, notes = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local ptr, legacy = KEYS[5], KEYS[6]
local ng, nsrem, nsadd = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local nabsent, nover = tonumber(ARGV[9]), tonumber(ARGV[10])
local g0 = 7
local r0 = g0 + ng
local a0 = r0 + nsrem
local x0 = a0 + nsadd
local o0 = 15

local function kind(k) return redis.call('TYPE', k)['ok'] end
local function failed(r) return type(r) == 'table' and r.err ~= nil end

-- The state the change was planned from.
local cur = redis.pcall('HGET', rec, ARGV[1])
if failed(cur) then return {3, rec} end
if not cur then
  if redis.call('EXISTS', rec) == 0 then return {0, 'gone'} end
  return {0, 'field_changed'}
end
if cur ~= ARGV[2] then return {0, 'field_changed'} end
for i = g0, r0 - 1 do
  local m = redis.pcall('SISMEMBER', KEYS[i], rec)
  if failed(m) or m == 0 then return {0, 'not_in_set'} end
end
local p = redis.pcall('GET', ptr)
if failed(p) then return {3, ptr} end
if p ~= ARGV[11] then return {0, 'pointer_changed'} end
if redis.call('EXISTS', legacy) == 1 or redis.call('HEXISTS', rec, ARGV[13]) == 1 then
  return {0, 'legacy_pointer'}
end
if ARGV[14] == '1' then
  for i = a0, x0 - 1 do
    local n = redis.pcall('SCARD', KEYS[i])
    if failed(n) then return {3, KEYS[i]} end
    if n > 1 or (n == 1 and redis.call('SISMEMBER', KEYS[i], rec) == 0) then
      return {0, 'unique_conflict'}
    end
  end
end
for i = x0, x0 + nabsent - 1 do
  if redis.call('EXISTS', KEYS[i]) == 1 then return {0, 'key_exists'} end
end
if counter ~= '' then
  local c = redis.pcall('HGET', counter, ARGV[3])
  if failed(c) then return {3, counter} end
  if (c or '0') ~= ARGV[4] then return {0, 'counter_changed'} end
end
for i = r0, x0 - 1 do
  local t = kind(KEYS[i])
  if t ~= 'set' and t ~= 'none' then return {3, KEYS[i]} end
end
local st = kind(stream)
if st ~= 'stream' and st ~= 'none' then return {3, stream} end
if notes ~= '' then
  local nt = kind(notes)
  if nt ~= 'hash' and nt ~= 'none' then return {3, notes} end
end

-- ACL (Redis 7+): denied() and noperm() are acl.lua's, prepended.
for i = r0, a0 - 1 do
  if denied('SREM', KEYS[i], rec) then return noperm('SREM', KEYS[i]) end
end
for i = a0, x0 - 1 do
  if denied('SADD', KEYS[i], rec) then return noperm('SADD', KEYS[i]) end
end
if denied('SET', ptr, 'v') then return noperm('SET', ptr) end
if denied('HSET', rec, 'f', 'v') then return noperm('HSET', rec) end
if counter ~= '' and denied('HINCRBY', counter, 'f', '1') then return noperm('HINCRBY', counter) end
if notes ~= '' and denied('HDEL', notes, 'f') then return noperm('HDEL', notes) end
if denied('XADD', stream, '*', 'f', 'v') then return noperm('XADD', stream) end

-- The audit entry lists what changed, to be reversed exactly: the sets the
-- record left (srem.N) and joined (sadd.N: only where that changed the
-- set), the pointer (pointer.1, its new value pointer.1.value and the old
-- pointer.1.before), each field written (hset.F) with its old value
-- (before.F, absent when the field was), and the counter and note touched.
local entry = {}
for i = o0 + 2 * nover, #ARGV do entry[#entry + 1] = ARGV[i] end
local function note(name, value)
  entry[#entry + 1] = name
  entry[#entry + 1] = value
end

-- popoto's order: SREM the old set, SADD the new, SET the pointer, HSET.
local nrem, nadd = 0, 0
for i = r0, a0 - 1 do
  if redis.call('SREM', KEYS[i], rec) == 1 then
    nrem = nrem + 1
    note('srem.' .. nrem, KEYS[i])
  end
end
for i = a0, x0 - 1 do
  if redis.call('SADD', KEYS[i], rec) == 1 then
    nadd = nadd + 1
    note('sadd.' .. nadd, KEYS[i])
  end
end
redis.call('SET', ptr, ARGV[12])
note('pointer.1', ptr)
note('pointer.1.value', ARGV[12])
note('pointer.1.before', p)
local fields = {}
for i = o0, o0 + 2 * nover - 1, 2 do
  local was = redis.call('HGET', rec, ARGV[i])
  note('hset.' .. ARGV[i], ARGV[i + 1])
  if was then note('before.' .. ARGV[i], was) end
  fields[#fields + 1] = ARGV[i]
  fields[#fields + 1] = ARGV[i + 1]
end
if #fields > 0 then redis.call('HSET', rec, unpack(fields)) end

local count = 0
if counter ~= '' then
  count = redis.call('HINCRBY', counter, ARGV[3], 1)
  note('counter', counter)
  note('counter.field', ARGV[3])
  note('counter.before', ARGV[4])
end
if notes ~= '' then
  local was = redis.call('HGET', notes, rec)
  if was then
    redis.call('HDEL', notes, rec)
    note('forgot', notes)
    note('forgot.before', was)
  end
end
redis.call('XADD', stream, 'MAXLEN', '~', ARGV[5], '*', unpack(entry))
return {1, count}
