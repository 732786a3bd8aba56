-- prune_batch.lua: delete a batch of job records the way popoto deletes
-- (SREM from every index, ZREM, DEL, SREM from the class set last), each
-- guarded by what `jobq prune` read and wrote to its backup file, with ONE
-- audit entry for the batch (the backup file holds the before-images).
--
-- KEYS[1]      the audit stream
-- KEYS[2..]    per record: the record, its nset sets (every index it may be
--              in, the class set last), its nz zsets
-- ARGV[1]      audit stream MAXLEN (approximate)
-- ARGV[2]      n, the number of records
-- ARGV[3]      h, the length of the audit header
-- ARGV[4..3+h] the audit header (v, run, command, host, pid, time_ms)
-- ARGV[4+h]    the backup file's absolute path ('' with --no-backup)
-- then per record: nset, nz, the digest of its fields, its memberships
--              (one '1' or '0' per set, in order), nz scores ('' where it
--              had none), its job_id
-- Digest: sha1 hex of each HGETALL pair, in the order HGETALL gives them,
--         as <len>:<name><len>:<value> (the same on jobq's side). A hash
--         whose order changed without a write is skipped, never deleted.
-- Guard (per record): the key is still a hash with exactly the fields and
--         bytes read, in exactly the sets and with exactly the scores
--         read; every set and zset and the stream are of the right type or
--         missing; the user may make every write. Every check of every
--         record comes before the first write.
-- Returns one {code, reason} per record: {1, 'deleted'}; {0, reason}
--         nothing written for it (gone, field_changed, not_in_set: a
--         membership or score changed); {3, key} that key has the wrong
--         type. A NOPERM error: nothing written at all.
local stream = KEYS[1]
local n, h = tonumber(ARGV[2]), tonumber(ARGV[3])

local function digest(rec)
  local all = redis.call('HGETALL', rec)
  local parts = {}
  for i = 1, #all, 2 do
    parts[#parts + 1] = #all[i] .. ':' .. all[i] .. #all[i + 1] .. ':' .. all[i + 1]
  end
  return redis.sha1hex(table.concat(parts))
end

local function same_score(have, want)
  if want == '' then return not have end
  if not have then return false end
  return have == want or tonumber(have) == tonumber(want)
end

-- nil when the record may go; else its {code, reason}, or an error reply.
local function check(rec, s1, s2, z1, z2, sum, flags, sc)
  local t = redis.call('TYPE', rec)['ok']
  if t == 'none' then return {0, 'gone'} end
  if t ~= 'hash' then return {3, rec} end
  for i = s1, s2 do
    local ty = redis.call('TYPE', KEYS[i])['ok']
    if ty ~= 'set' and ty ~= 'none' then return {3, KEYS[i]} end
    local want = string.sub(flags, i - s1 + 1, i - s1 + 1) == '1'
    if (redis.call('SISMEMBER', KEYS[i], rec) == 1) ~= want then
      return {0, 'not_in_set'}
    end
  end
  for i = z1, z2 do
    local ty = redis.call('TYPE', KEYS[i])['ok']
    if ty ~= 'zset' and ty ~= 'none' then return {3, KEYS[i]} end
    if not same_score(redis.call('ZSCORE', KEYS[i], rec), ARGV[sc + i - z1]) then
      return {0, 'not_in_set'}
    end
  end
  if digest(rec) ~= sum then return {0, 'field_changed'} end
  -- ACL (Redis 7+): denied() and noperm() are acl.lua's, prepended.
  for i = s1, s2 do
    if denied('SREM', KEYS[i], rec) then return noperm('SREM', KEYS[i]) end
  end
  for i = z1, z2 do
    if denied('ZREM', KEYS[i], rec) then return noperm('ZREM', KEYS[i]) end
  end
  if denied('DEL', rec) then return noperm('DEL', rec) end
  return nil
end

local st = redis.call('TYPE', stream)['ok']
local stream_ok = st == 'stream' or st == 'none'
if stream_ok and denied('XADD', stream, '*', 'f', 'v') then
  return noperm('XADD', stream)
end

local out, go = {}, {}
local kp, ap = 2, 5 + h
for r = 1, n do
  local nset, nz = tonumber(ARGV[ap]), tonumber(ARGV[ap + 1])
  local rec = KEYS[kp]
  local s1, s2 = kp + 1, kp + nset
  local z1, z2 = s2 + 1, s2 + nz
  local res = {3, stream}
  if stream_ok then
    res = check(rec, s1, s2, z1, z2, ARGV[ap + 2], ARGV[ap + 3], ap + 4)
    if res and res.err then return res end
  end
  if res then
    out[r] = res
  else
    out[r] = {1, 'deleted'}
    go[#go + 1] = {rec, s1, s2, z1, z2, ARGV[ap + 3], ARGV[ap + 4 + nz]}
  end
  kp = z2 + 1
  ap = ap + 5 + nz
end
if #go == 0 then return out end

local a = {}
for i = 4, 3 + h do a[#a + 1] = ARGV[i] end
a[#a + 1] = 'action'
a[#a + 1] = 'prune'
a[#a + 1] = 'backup'
a[#a + 1] = ARGV[4 + h]
a[#a + 1] = 'count'
a[#a + 1] = tostring(#go)
for j, g in ipairs(go) do
  local rec, s1, s2, z1, z2, flags = g[1], g[2], g[3], g[4], g[5], g[6]
  -- popoto's order: the indexes, the zsets, the hash, the class set last.
  for i = s1, s2 - 1 do
    if string.sub(flags, i - s1 + 1, i - s1 + 1) == '1' then
      redis.call('SREM', KEYS[i], rec)
    end
  end
  for i = z1, z2 do redis.call('ZREM', KEYS[i], rec) end
  redis.call('DEL', rec)
  if string.sub(flags, s2 - s1 + 1, s2 - s1 + 1) == '1' then
    redis.call('SREM', KEYS[s2], rec)
  end
  a[#a + 1] = 'key.' .. j
  a[#a + 1] = rec
  a[#a + 1] = 'job.' .. j
  a[#a + 1] = g[7]
end
redis.call('XADD', stream, 'MAXLEN', '~', ARGV[1], '*', unpack(a))
return out
