-- restore_record.lua: re-create one job record exactly as a backup holds
-- it (every field's bytes in their order, every set, every zset with its
-- score), in one guarded step, with its audit entry: `jobq restore` and
-- `jobq undo` of a prune.
--
-- KEYS[1]    the record key
-- KEYS[2]    the audit stream
-- KEYS[3..]  nset sets to SADD it to, nz zsets to ZADD it to, then nabsent
--            keys that must not exist (the job under every other status)
-- ARGV[1]    audit stream MAXLEN (approximate)
-- ARGV[2..5] nset, nz, nabsent, nfields
-- ARGV[6..]  nfields field/value pairs (HSET, the backup's order), then nz
--            scores, then the audit entry's field/value pairs
-- Guard:  the key and every absent key do not exist; every set, zset and
--         the stream have the right type or are missing; the user may make
--         every write. All checks come before the first write.
-- Returns {1, 'restored'}; {0, 'target_exists'} the key exists; {0,
--         'key_exists'} another record of the job exists; {3, key} wrong
--         type; a NOPERM error (nothing written).
local rec, stream = KEYS[1], KEYS[2]
local nset, nz, nabsent, nf = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local s1, z1, g1 = 3, 3 + nset, 3 + nset + nz
if redis.call('EXISTS', rec) == 1 then return {0, 'target_exists'} end
for i = g1, g1 + nabsent - 1 do
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
if denied('XADD', stream, '*', 'f', 'v') then return noperm('XADD', stream) end

local f = {}
for i = 6, 5 + 2 * nf do f[#f + 1] = ARGV[i] end
local sc = 6 + 2 * nf
local a = {}
for i = sc + nz, #ARGV do a[#a + 1] = ARGV[i] end
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
redis.call('XADD', stream, 'MAXLEN', '~', ARGV[1], '*', unpack(a))
return {1, 'restored'}
