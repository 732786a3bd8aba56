-- enqueue.lua: create one job the way popoto create() does, guarded.
--
-- KEYS[1]            the record key (hash)
-- KEYS[2]            the audit stream
-- KEYS[3]            the idempotency key (ignored when ARGV[1] == '0')
-- KEYS[4..]          nsets sets to SADD the record key to (class set, key-field
--                    indexes, indexed fields' $IndexF sets), then nz zsets to
--                    ZADD it to, then nguard keys that must not exist (the
--                    same job_id under another status, or its pointers), then
--                    nptr $IdxPtr pointer keys to SET (must not exist), then
--                    nuniq $IndexF sets of unique fields (UniqueField), which
--                    must hold no record but this one
-- ARGV[1]            '0', or the digest of the job's content when an
--                    idempotency key is claimed (stored after the record
--                    key and a newline, so that a reuse for other content
--                    can be told from a retry)
-- ARGV[2]            idempotency TTL in seconds
-- ARGV[3]            audit stream MAXLEN (approximate)
-- ARGV[4..9]         nsets, nz, nguard, nfields, nptr, nuniq
-- ARGV[10..]          nfields field/value pairs (HSET, popoto's order), then
--                    nz scores, then nptr pointer values (the name of the
--                    $IndexF set each pointer names), then the audit entry's
--                    field/value pairs
-- Guard:  the idempotency key is unclaimed, the record key and every guard
--         key do not exist, every target set/zset, the audit stream and the
--         idempotency key have the right type (or do not exist), and
--         the user may make every write. All checks come before the first
--         write.
-- Returns {1, key} created; {0, claim} idempotency key already claimed
--         (the claim: the record key, a newline and the content digest; a
--         claim from an older jobq is the record key alone); {2, key} a
--         record for this job_id exists; {4, set} another record holds
--         this value of a unique field (popoto's POPOTO_UNIQUE_CONFLICT);
--         {3, key} a
--         target has the wrong type; a NOPERM error (nothing written) when
--         the user may not make one of the writes.
-- ACL (Redis 7+): every write below is asked of denied() (acl.lua,
-- prepended) before the first one.
local has_idem = ARGV[1] ~= '0'
local nsets, nz, nguard, nfields = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local nptr, nuniq = tonumber(ARGV[8]), tonumber(ARGV[9])

if has_idem then
  local existing = redis.call('GET', KEYS[3])
  if existing then return {0, existing} end
end
if redis.call('EXISTS', KEYS[1]) == 1 then return {2, KEYS[1]} end
local g0 = 4 + nsets + nz
local p0 = g0 + nguard
for i = g0, p0 + nptr - 1 do
  if redis.call('EXISTS', KEYS[i]) == 1 then return {2, KEYS[i]} end
end
-- popoto's uniqueness rule: no member but this record (counted, never
-- walked).
local u0 = p0 + nptr
for i = u0, u0 + nuniq - 1 do
  local t = redis.call('TYPE', KEYS[i])['ok']
  if t ~= 'set' and t ~= 'none' then return {3, KEYS[i]} end
  local n = redis.call('SCARD', KEYS[i])
  if n > 1 or (n == 1 and redis.call('SISMEMBER', KEYS[i], KEYS[1]) == 0) then
    return {4, KEYS[i]}
  end
end
for i = 4, 3 + nsets do
  local t = redis.call('TYPE', KEYS[i])['ok']
  if t ~= 'set' and t ~= 'none' then return {3, KEYS[i]} end
end
for i = 4 + nsets, 3 + nsets + nz do
  local t = redis.call('TYPE', KEYS[i])['ok']
  if t ~= 'zset' and t ~= 'none' then return {3, KEYS[i]} end
end
local at = redis.call('TYPE', KEYS[2])['ok']
if at ~= 'stream' and at ~= 'none' then return {3, KEYS[2]} end
if has_idem then
  local it = redis.call('TYPE', KEYS[3])['ok']
  if it ~= 'string' and it ~= 'none' then return {3, KEYS[3]} end
end
if has_idem and denied('SET', KEYS[3], 'v') then return noperm('SET', KEYS[3]) end
if denied('HSET', KEYS[1], 'f', 'v') then return noperm('HSET', KEYS[1]) end
for i = 4, 3 + nsets do
  if denied('SADD', KEYS[i], KEYS[1]) then return noperm('SADD', KEYS[i]) end
end
for i = 4 + nsets, 3 + nsets + nz do
  if denied('ZADD', KEYS[i], '0', KEYS[1]) then return noperm('ZADD', KEYS[i]) end
end
for i = p0, p0 + nptr - 1 do
  if denied('SET', KEYS[i], 'v') then return noperm('SET', KEYS[i]) end
end
if denied('XADD', KEYS[2], '*', 'f', 'v') then return noperm('XADD', KEYS[2]) end

-- The audit entry lists what changed, to be reversed exactly: the sets
-- the key was added to (not one it was in already), the zsets with the
-- score it got and the one it had, the pointers set (pointer.N and
-- pointer.N.value: none existed before), the idempotency key claimed.
local s0 = 10 + 2 * nfields
local v0 = s0 + nz
local a = {}
for i = v0 + nptr, #ARGV do a[#a + 1] = ARGV[i] end
if has_idem then
  redis.call('SET', KEYS[3], KEYS[1] .. '\n' .. ARGV[1], 'EX', ARGV[2])
  a[#a + 1] = 'idempotency'
  a[#a + 1] = KEYS[3]
end
local h = {}
for i = 10, 9 + 2 * nfields do h[#h + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(h))
local added = 0
for i = 4, 3 + nsets do
  if redis.call('SADD', KEYS[i], KEYS[1]) == 1 then
    added = added + 1
    a[#a + 1] = 'sadd.' .. added
    a[#a + 1] = KEYS[i]
  end
end
for j = 0, nptr - 1 do
  redis.call('SET', KEYS[p0 + j], ARGV[v0 + j])
  a[#a + 1] = 'pointer.' .. (j + 1)
  a[#a + 1] = KEYS[p0 + j]
  a[#a + 1] = 'pointer.' .. (j + 1) .. '.value'
  a[#a + 1] = ARGV[v0 + j]
end
for j = 0, nz - 1 do
  local z = KEYS[4 + nsets + j]
  local was = redis.call('ZSCORE', z, KEYS[1])
  entry_zadd(a, j + 1, z, KEYS[1], ARGV[s0 + j], was)
end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', unpack(a))
return {1, KEYS[1]}
