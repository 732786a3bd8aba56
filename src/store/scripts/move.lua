-- move.lua: move a record to another key, popoto-style, with field overrides.
--
-- popoto moves a record by re-creating it under the key its new key-field
-- values name: HSET every field at the new key, SREM/ZREM the old key from
-- every set and DEL it, SADD/ZADD the new key. This script does the same in
-- one atomic step, guarded, and records the move in the audit stream.
--
-- KEYS[1]    the old key (a hash)
-- KEYS[2]    the new key (must not exist)
-- KEYS[3]    the audit stream
-- KEYS[4]    a counter hash, or '' for none: field ARGV[3] is HINCRBY'd by 1
-- KEYS[5]    a notes hash, or '' for none: field <old key> is HDEL'd (a
--            caller's bookkeeping about the old key, e.g. reap's first
--            sightings)
-- KEYS[6..]  ng guard sets the old key must be a member of (e.g. its status
--            index), then nsrem sets to SREM the old key from (class set,
--            every key-field index of the old key), then nsadd sets to SADD
--            the new key to, then nz zsets in which the old key's score moves
--            to the new key, then nabsent keys that must not exist (e.g. a
--            worker's heartbeat)
-- ARGV[1]    the guarded field (e.g. the status field)
-- ARGV[2]    its expected raw bytes (msgpack, e.g. a7 'running')
-- ARGV[3]    the counter field (e.g. the job_id); ignored without a counter
-- ARGV[4]    the counter's expected value ('0' when absent)
-- ARGV[5]    audit stream MAXLEN (approximate)
-- ARGV[6..11] ng, nsrem, nsadd, nz, nabsent, nover
-- ARGV[12..] nover field/value pairs written over the old record's values
--            (fields the old record lacks are added), then the audit entry's
--            field/value pairs; the old hash's raw fields are appended to the
--            entry as before.<field>
-- Guard:  the old key is a hash whose ARGV[1] field is exactly ARGV[2]; it is
--         in every guard set; the new key does not exist; no absent key
--         exists; the counter is ARGV[4]; every key written to is of the
--         right type or missing. All checks come before the first write.
-- Returns {1, counter value after the move (0 without a counter)} moved;
--         {0, reason} nothing written because the state changed, reason one
--         of gone, field_changed, not_in_set, target_exists, key_exists,
--         counter_changed; {3, key} nothing written because that key has the
--         wrong type; a NOPERM error (nothing written) when the user may
--         not make one of the writes.
local old, new, stream, counter, notes = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local ng, nsrem, nsadd = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local nz, nabsent, nover = tonumber(ARGV[9]), tonumber(ARGV[10]), tonumber(ARGV[11])
local g0 = 6
local r0 = g0 + ng
local a0 = r0 + nsrem
local z0 = a0 + nsadd
local x0 = z0 + nz

local function kind(k) return redis.call('TYPE', k)['ok'] end
-- A read the guard needs anyway doubles as its key's type check: pcall
-- turns WRONGTYPE into an error table instead of aborting the script.
local function failed(r) return type(r) == 'table' and r.err ~= nil end

-- The state the move was planned from.
local cur = redis.pcall('HGET', old, ARGV[1])
if failed(cur) then return {3, old} end
if not cur then
  if redis.call('EXISTS', old) == 0 then return {0, 'gone'} end
  return {0, 'field_changed'}
end
if cur ~= ARGV[2] then return {0, 'field_changed'} end
for i = g0, r0 - 1 do
  local m = redis.pcall('SISMEMBER', KEYS[i], old)
  if failed(m) or m == 0 then return {0, 'not_in_set'} end
end
if redis.call('EXISTS', new) == 1 then return {0, 'target_exists'} end
for i = x0, x0 + nabsent - 1 do
  if redis.call('EXISTS', KEYS[i]) == 1 then return {0, 'key_exists'} end
end
if counter ~= '' then
  local c = redis.pcall('HGET', counter, ARGV[3])
  if failed(c) then return {3, counter} end
  if (c or '0') ~= ARGV[4] then return {0, 'counter_changed'} end
end

-- Every key written to must take the write: Lua has no rollback. (The
-- class set and most indexes are in both lists: check each key once.)
local checked = {}
for i = r0, z0 - 1 do
  local k = KEYS[i]
  if not checked[k] then
    checked[k] = true
    local st = kind(k)
    if st ~= 'set' and st ~= 'none' then return {3, k} end
  end
end
local scores = {}
for i = z0, x0 - 1 do
  local sc = redis.pcall('ZSCORE', KEYS[i], old)
  if failed(sc) then return {3, KEYS[i]} end
  scores[i] = sc
end
local st = kind(stream)
if st ~= 'stream' and st ~= 'none' then return {3, stream} end
if notes ~= '' then
  local nt = kind(notes)
  if nt ~= 'hash' and nt ~= 'none' then return {3, notes} end
end

-- ACL (Redis 7+): a user who may not make every write below gets none of
-- them (Lua has no rollback): a NOPERM error, nothing written. denied()
-- and noperm() are acl.lua's, prepended.
if denied('HSET', new, 'f', 'v') then return noperm('HSET', new) end
if denied('DEL', old) then return noperm('DEL', old) end
for i = r0, a0 - 1 do
  if denied('SREM', KEYS[i], old) then return noperm('SREM', KEYS[i]) end
end
for i = a0, z0 - 1 do
  if denied('SADD', KEYS[i], new) then return noperm('SADD', KEYS[i]) end
end
for i = z0, x0 - 1 do
  if scores[i] and denied('ZREM', KEYS[i], old) then return noperm('ZREM', KEYS[i]) end
  if scores[i] and denied('ZADD', KEYS[i], '0', new) then return noperm('ZADD', KEYS[i]) end
end
if counter ~= '' and denied('HINCRBY', counter, 'f', '1') then return noperm('HINCRBY', counter) end
if notes ~= '' and denied('HDEL', notes, 'f') then return noperm('HDEL', notes) end
if denied('XADD', stream, '*', 'f', 'v') then return noperm('XADD', stream) end

-- The record under its new key: every field, overrides applied in place.
local before = redis.call('HGETALL', old)
local over = {}
local o0 = 12
for i = o0, o0 + 2 * nover - 1, 2 do over[ARGV[i]] = ARGV[i + 1] end
local fields = {}
local done = {}
for i = 1, #before, 2 do
  local f = before[i]
  fields[#fields + 1] = f
  if over[f] ~= nil then
    fields[#fields + 1] = over[f]
    done[f] = true
  else
    fields[#fields + 1] = before[i + 1]
  end
end
for i = o0, o0 + 2 * nover - 1, 2 do
  if not done[ARGV[i]] then
    fields[#fields + 1] = ARGV[i]
    fields[#fields + 1] = ARGV[i + 1]
  end
end

-- The audit entry lists what changed, to be reversed exactly: the old
-- record's whole before-image (before.F) and the fields written over it
-- (hset.F), the sets the old key left (srem.N) and the new key joined
-- (sadd.N: only where SREM/SADD changed the set), each zset whose score
-- moved (zmove.N and its score), and the counter and note touched.
local entry = {}
for i = o0 + 2 * nover, #ARGV do entry[#entry + 1] = ARGV[i] end
entry[#entry + 1] = 'moved_to'
entry[#entry + 1] = new
for i = 1, #before, 2 do
  entry[#entry + 1] = 'before.' .. before[i]
  entry[#entry + 1] = before[i + 1]
end
for i = o0, o0 + 2 * nover - 1, 2 do
  entry[#entry + 1] = 'hset.' .. ARGV[i]
  entry[#entry + 1] = ARGV[i + 1]
end
local function note(name, n, value)
  entry[#entry + 1] = name .. '.' .. n
  entry[#entry + 1] = value
end

redis.call('HSET', new, unpack(fields))
local nrem, nadd, nmove = 0, 0, 0
for i = r0, a0 - 1 do
  if redis.call('SREM', KEYS[i], old) == 1 then
    nrem = nrem + 1
    note('srem', nrem, KEYS[i])
  end
end
for i = z0, x0 - 1 do
  if scores[i] then
    redis.call('ZREM', KEYS[i], old)
    redis.call('ZADD', KEYS[i], scores[i], new)
    nmove = nmove + 1
    note('zmove', nmove, KEYS[i])
    entry[#entry + 1] = 'zmove.' .. nmove .. '.score'
    entry[#entry + 1] = scores[i]
  end
end
redis.call('DEL', old)
for i = a0, z0 - 1 do
  if redis.call('SADD', KEYS[i], new) == 1 then
    nadd = nadd + 1
    note('sadd', nadd, KEYS[i])
  end
end

local count = 0
if counter ~= '' then
  count = redis.call('HINCRBY', counter, ARGV[3], 1)
  entry[#entry + 1] = 'counter'
  entry[#entry + 1] = counter
  entry[#entry + 1] = 'counter.field'
  entry[#entry + 1] = ARGV[3]
  entry[#entry + 1] = 'counter.before'
  entry[#entry + 1] = ARGV[4]
end
if notes ~= '' then
  local was = redis.call('HGET', notes, old)
  if was then
    redis.call('HDEL', notes, old)
    entry[#entry + 1] = 'forgot'
    entry[#entry + 1] = notes
    entry[#entry + 1] = 'forgot.before'
    entry[#entry + 1] = was
  end
end
redis.call('XADD', stream, 'MAXLEN', '~', ARGV[5], '*', unpack(entry))
return {1, count}
