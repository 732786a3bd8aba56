-- prune_batch.lua: delete a batch of job records the way popoto deletes
-- (SREM from every index, ZREM, DEL, SREM from the class set last), each
-- guarded by what `jobq prune` read and wrote to its backup file, with ONE
-- audit entry for the batch (the backup file holds the before-images).
--
-- KEYS[1]      the audit stream
-- KEYS[2..]    per record: the record, its nset sets (every index it may be
--              in, the class set last), its nz zsets, its nstr string keys
--              (an indexed field's $IdxPtr pointer and legacy pointer key)
-- ARGV[1]      audit stream MAXLEN (approximate)
-- ARGV[2]      n, the number of records
-- ARGV[3]      h, the length of the audit header
-- ARGV[4..3+h] the audit header (v, run, command, host, pid, time_ms)
-- ARGV[4+h]    the backup file's absolute path ('' with --no-backup)
-- then per record: nset, nz, nstr, the digest of its fields, its
--              memberships (one '1' or '0' per set, in order), whether each
--              string key existed (one '1' or '0' each), nz scores ('' where
--              it had none), nstr values ('' where none), its job_id
-- Digest: sha1 hex of HGETALL's reply packed as a msgpack array of
--         strings (cmsgpack, in C: a length-prefixed, so injective, form
--         that costs a microsecond a record; jobq packs the same bytes).
--         A hash whose order changed without a write is skipped, never
--         deleted.
-- Guard (per record): the key is still a hash with exactly the fields and
--         bytes read, in exactly the sets and with exactly the scores
--         read, each string key exactly as read (its value, or absent); every set and zset and the stream are of the right type or
--         missing; the user may make every write. Every check of every
--         record comes before the first write.
-- Cost: the records of a batch share most of their sets, so memberships
--         are asked per set for the whole batch (SMISMEMBER, ZMSCORE; one
--         SISMEMBER/ZSCORE per record before 6.2) and the writes are one
--         variadic SREM per set, ZREM per zset and DEL: a few dozen calls
--         per batch besides one HGETALL (and a GET per pointer) per
--         record. The writes keep popoto's order (the indexes, the
--         pointers, the zsets, the hashes, the class sets last); the
--         script is one atomic step.
-- Returns one {code, reason} per record: {1, 'deleted'}; {0, reason}
--         nothing written for it (gone, field_changed, not_in_set: a
--         membership or score changed, pointer_changed); {3, key} that key has the wrong
--         type. A NOPERM error: nothing written at all.
local stream = KEYS[1]
local n, h = tonumber(ARGV[2]), tonumber(ARGV[3])

local types = {}
local function type_of(k)
  local t = types[k]
  if not t then
    t = redis.call('TYPE', k)['ok']
    types[k] = t
  end
  return t
end

local function same_score(have, want)
  if want == '' then return not have end
  if not have then return false end
  return have == want or tonumber(have) == tonumber(want)
end

local function is_err(r) return type(r) == 'table' and r.err ~= nil end

-- Whether each of list is in set (1/0), or each one's score in zset.
local function ask(multi, single, key, list)
  local r = redis.pcall(multi, key, unpack(list))
  if not is_err(r) then return r end
  local out = {}
  for i, m in ipairs(list) do
    local v = redis.call(single, key, m)
    if v == nil then v = false end
    out[i] = v
  end
  return out
end

local st = type_of(stream)
local stream_ok = st == 'stream' or st == 'none'
if stream_ok and denied('XADD', stream, '*', 'f', 'v') then
  return noperm('XADD', stream)
end

-- The records, and each one's fields read now.
local recs, out = {}, {}
local kp, ap = 2, 5 + h
for r = 1, n do
  local nset, nz, ns = tonumber(ARGV[ap]), tonumber(ARGV[ap + 1]), tonumber(ARGV[ap + 2])
  local rec = {key = KEYS[kp], s1 = kp + 1, nset = nset, z1 = kp + 1 + nset, nz = nz,
               p1 = kp + 1 + nset + nz, ns = ns, sum = ARGV[ap + 3], flags = ARGV[ap + 4],
               had = ARGV[ap + 5], sc = ap + 6, v1 = ap + 6 + nz, job = ARGV[ap + 6 + nz + ns]}
  recs[r] = rec
  if not stream_ok then
    out[r] = {3, stream}
  else
    local all = redis.pcall('HGETALL', rec.key)
    if is_err(all) then
      out[r] = {3, rec.key}
    elseif #all == 0 then
      out[r] = {0, 'gone'}
    elseif redis.sha1hex(cmsgpack.pack(all)) ~= rec.sum then
      out[r] = {0, 'field_changed'}
    end
    for i = 0, ns - 1 do
      if out[r] then break end
      local k = KEYS[rec.p1 + i]
      local v = redis.pcall('GET', k)
      if is_err(v) then
        out[r] = {3, k}
      elseif string.sub(rec.had, i + 1, i + 1) == '1' then
        if v ~= ARGV[rec.v1 + i] then out[r] = {0, 'pointer_changed'} end
      elseif v then
        out[r] = {0, 'pointer_changed'}
      end
    end
  end
  kp = kp + 1 + nset + nz + ns
  ap = ap + 7 + nz + ns
end

-- Memberships, per set and zset for every record still going.
local sets, zsets, order_s, order_z = {}, {}, {}, {}
for r, rec in ipairs(recs) do
  if not out[r] then
    for i = 0, rec.nset - 1 do
      local k = KEYS[rec.s1 + i]
      if not sets[k] then sets[k] = {}; order_s[#order_s + 1] = k end
      local t = sets[k]
      t[#t + 1] = {r, string.sub(rec.flags, i + 1, i + 1) == '1', i == rec.nset - 1}
    end
    for i = 0, rec.nz - 1 do
      local k = KEYS[rec.z1 + i]
      if not zsets[k] then zsets[k] = {}; order_z[#order_z + 1] = k end
      local t = zsets[k]
      t[#t + 1] = {r, ARGV[rec.sc + i]}
    end
  end
end
for _, k in ipairs(order_s) do
  local ty = type_of(k)
  local who = sets[k]
  if ty ~= 'set' and ty ~= 'none' then
    for _, w in ipairs(who) do out[w[1]] = out[w[1]] or {3, k} end
  else
    local list = {}
    for i, w in ipairs(who) do list[i] = recs[w[1]].key end
    local got = ask('SMISMEMBER', 'SISMEMBER', k, list)
    for i, w in ipairs(who) do
      if (got[i] == 1) ~= w[2] then out[w[1]] = out[w[1]] or {0, 'not_in_set'} end
    end
  end
end
for _, k in ipairs(order_z) do
  local ty = type_of(k)
  local who = zsets[k]
  if ty ~= 'zset' and ty ~= 'none' then
    for _, w in ipairs(who) do out[w[1]] = out[w[1]] or {3, k} end
  else
    local list = {}
    for i, w in ipairs(who) do list[i] = recs[w[1]].key end
    local got = ask('ZMSCORE', 'ZSCORE', k, list)
    for i, w in ipairs(who) do
      if not same_score(got[i] or nil, w[2]) then out[w[1]] = out[w[1]] or {0, 'not_in_set'} end
    end
  end
end

-- What goes: per set, the members to SREM (indexes first, class sets
-- last); per zset, the members to ZREM; the hashes to DEL.
local srem, srem_last, zrem, del, ptrs, go = {}, {}, {}, {}, {}, {}
for _, k in ipairs(order_s) do
  for _, w in ipairs(sets[k]) do
    if not out[w[1]] and w[2] then
      local into = w[3] and srem_last or srem
      if not into[k] then into[k] = {}; into[#into + 1] = k end
      local t = into[k]
      t[#t + 1] = recs[w[1]].key
    end
  end
end
for _, k in ipairs(order_z) do
  for _, w in ipairs(zsets[k]) do
    if not out[w[1]] and w[2] ~= '' then
      if not zrem[k] then zrem[k] = {}; zrem[#zrem + 1] = k end
      local t = zrem[k]
      t[#t + 1] = recs[w[1]].key
    end
  end
end
for r, rec in ipairs(recs) do
  if not out[r] then
    del[#del + 1] = rec.key
    for i = 0, rec.ns - 1 do
      if string.sub(rec.had, i + 1, i + 1) == '1' then ptrs[#ptrs + 1] = KEYS[rec.p1 + i] end
    end
    go[#go + 1] = rec
    out[r] = {1, 'deleted'}
  end
end
if #go == 0 then return out end

-- ACL (Redis 7+): denied() and noperm() are acl.lua's, prepended.
for _, into in ipairs({srem, srem_last}) do
  for _, k in ipairs(into) do
    if denied('SREM', k, into[k][1]) then return noperm('SREM', k) end
  end
end
for _, k in ipairs(zrem) do
  if denied('ZREM', k, zrem[k][1]) then return noperm('ZREM', k) end
end
for _, k in ipairs(del) do
  if denied('DEL', k) then return noperm('DEL', k) end
end
for _, k in ipairs(ptrs) do
  if denied('DEL', k) then return noperm('DEL', k) end
end

for _, k in ipairs(srem) do redis.call('SREM', k, unpack(srem[k])) end
if #ptrs > 0 then redis.call('DEL', unpack(ptrs)) end
for _, k in ipairs(zrem) do redis.call('ZREM', k, unpack(zrem[k])) end
redis.call('DEL', unpack(del))
for _, k in ipairs(srem_last) do redis.call('SREM', k, unpack(srem_last[k])) end

local a = {}
for i = 4, 3 + h do a[#a + 1] = ARGV[i] end
a[#a + 1] = 'action'
a[#a + 1] = 'prune'
a[#a + 1] = 'backup'
a[#a + 1] = ARGV[4 + h]
a[#a + 1] = 'count'
a[#a + 1] = tostring(#go)
for j, rec in ipairs(go) do
  a[#a + 1] = 'key.' .. j
  a[#a + 1] = rec.key
  a[#a + 1] = 'job.' .. j
  a[#a + 1] = rec.job
end
redis.call('XADD', stream, 'MAXLEN', '~', ARGV[1], '*', unpack(a))
return out
