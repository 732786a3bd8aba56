-- restore_record.lua: re-create one job record exactly as a backup holds
-- it (every field's bytes in their order, every set, every zset with its
-- score), in one guarded step, with its audit entry: `jobq restore` and
-- `jobq undo` of a prune.
--
-- KEYS[1]    the record key
-- KEYS[2]    the audit stream
-- KEYS[3..]  nset sets to SADD it to, nz zsets to ZADD it to, then nabsent
--            keys that must not exist (the job under every other status),
--            then nstr string keys to SET (its pointers; must not exist)
-- ARGV[1]    audit stream MAXLEN (approximate)
-- ARGV[2..6] nset, nz, nabsent, nfields, nstr
-- ARGV[7..]  nfields field/value pairs (HSET, the backup's order), then nz
--            scores, then nstr values, then the audit entry's field/value
--            pairs (pointer.N and pointer.N.value are added, as enqueue
--            writes them)
-- Guard:  the key, every absent key and every string key do not exist; every set, zset and
--         the stream have the right type or are missing; the user may make
--         every write. All checks come before the first write.
-- Returns {1, 'restored'}; {0, 'target_exists'} the key exists; {0,
--         'key_exists'} another record of the job exists; {3, key} wrong
--         type; a NOPERM error (nothing written).
local rec, stream = KEYS[1], KEYS[2]
local nset, nz, nabsent, nf = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local nstr = tonumber(ARGV[6])
local s1, z1, g1 = 3, 3 + nset, 3 + nset + nz
local p1 = g1 + nabsent
if redis.call('EXISTS', rec) == 1 then return {0, 'target_exists'} end
for i = g1, p1 + nstr - 1 do
  if redis.call('EXISTS', KEYS[i]) == 1 then return {0, 'key_exists'} end
end
for i = s1, z1 - 1 do
  local t = redis.call('TYPE', KEYS[i])['ok']
  if t ~= 'set' and t ~= 'none' then return {3, KEYS[i]} end
end
for i = z1, g1 - 1 do
  local t = redis.call('TYPE', KEYS[i])['ok']
  if t ~= 'zset' and t ~= 'none' then return {3, KEYS[i]} end
end
local st = redis.call('TYPE', stream)['ok']
if st ~= 'stream' and st ~= 'none' then return {3, stream} end
-- ACL (Redis 7+): denied() and noperm() are acl.lua's, prepended.
if denied('HSET', rec, 'f', 'v') then return noperm('HSET', rec) end
for i = s1, z1 - 1 do
  if denied('SADD', KEYS[i], rec) then return noperm('SADD', KEYS[i]) end
end
for i = z1, g1 - 1 do
  if denied('ZADD', KEYS[i], '0', rec) then return noperm('ZADD', KEYS[i]) end
end
for i = p1, p1 + nstr - 1 do
  if denied('SET', KEYS[i], 'v') then return noperm('SET', KEYS[i]) end
end
if denied('XADD', stream, '*', 'f', 'v') then return noperm('XADD', stream) end

local f = {}
for i = 7, 6 + 2 * nf do f[#f + 1] = ARGV[i] end
local sc = 7 + 2 * nf
local v1 = sc + nz
local a = {}
for i = v1 + nstr, #ARGV do a[#a + 1] = ARGV[i] end
if nf > 0 then redis.call('HSET', rec, unpack(f)) end
local added = 0
for i = s1, z1 - 1 do
  if redis.call('SADD', KEYS[i], rec) == 1 then
    added = added + 1
    a[#a + 1] = 'sadd.' .. added
    a[#a + 1] = KEYS[i]
  end
end
for j = 0, nz - 1 do
  -- entry.lua's: the zset and score in the entry, as enqueue records them.
  entry_zadd(a, j + 1, KEYS[z1 + j], rec, ARGV[sc + j], redis.call('ZSCORE', KEYS[z1 + j], rec))
end
for j = 0, nstr - 1 do
  redis.call('SET', KEYS[p1 + j], ARGV[v1 + j])
  a[#a + 1] = 'pointer.' .. (j + 1)
  a[#a + 1] = KEYS[p1 + j]
  a[#a + 1] = 'pointer.' .. (j + 1) .. '.value'
  a[#a + 1] = ARGV[v1 + j]
end
redis.call('XADD', stream, 'MAXLEN', '~', ARGV[1], '*', unpack(a))
return {1, 'restored'}
