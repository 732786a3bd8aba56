-- undo.lua: one guarded step of `jobq undo` (plan/undo.rs builds it): a
-- list of guards, every one of which must hold, then a list of writes and
-- the step's audit entry, in one atomic step.
--
-- KEYS[1]    the audit stream
-- KEYS[2..]  every key the operations name (they refer to KEYS by index)
-- ARGV[1]    audit stream MAXLEN (approximate)
-- ARGV[2]    '1': check only (a dry run): the guards, nothing written
-- ARGV[3..4] ng, nw: how many guards, then writes
-- ARGV[5..]  the operations, each an opcode and its operands (a key is its
--            index in KEYS), then the audit entry's field/value pairs
-- Guards:  x K (a hash), a K (absent), g K v (the string K is v), l K n (n fields), f K F v (field F
--          is v), n K F (no field F), m S M / o S M (M is / is not in set
--          S), z Z M s / y Z M (M has score s / none in zset Z).
-- Writes:  H K F v (HSET; consecutive ones on one key are one HSET, so the
--          record is written in one command as popoto does), D K F (HDEL),
--          X K (DEL), S S M (SADD), R S M (SREM), Z Z M s (ZADD), Q Z M
--          (ZREM), I K p (DEL the string K when its value starts with p),
--          T K v (SET the string K), U K (DEL the string K).
-- Every key written to is checked for its type, and every write asked of
-- the ACL (acl.lua, prepended), before the first write.
-- Returns {1, 'applied'}; {2, 'would apply'} (check only); {0, reason}
--         nothing written because a guard failed; {3, key} nothing written
--         because that key has the wrong type; a NOPERM error (nothing
--         written) when the user may not make one of the writes.
local arity = {x = 1, a = 1, g = 2, l = 2, f = 3, n = 2, m = 2, o = 2, z = 3, y = 2,
  H = 3, D = 2, X = 1, S = 2, R = 2, Z = 3, Q = 2, I = 2, T = 2, U = 1}
-- Opcodes whose second operand is a key (a member) too.
local member = {m = true, o = true, z = true, y = true, S = true, R = true, Z = true, Q = true}
-- The type each key written to must have (or none).
local wants = {H = 'hash', D = 'hash', X = 'hash', S = 'set', R = 'set',
  Z = 'zset', Q = 'zset', I = 'string', T = 'string', U = 'string'}

local stream = KEYS[1]
local ng, nw = tonumber(ARGV[3]), tonumber(ARGV[4])
local ops = {}
local p = 5
for i = 1, ng + nw do
  local c = ARGV[p]
  local o = {c = c}
  for j = 1, arity[c] do o[j] = ARGV[p + j] end
  o.k = KEYS[tonumber(o[1])]
  if member[c] then o.m = KEYS[tonumber(o[2])] end
  ops[i] = o
  p = p + 1 + arity[c]
end

local function kind(k) return redis.call('TYPE', k)['ok'] end
local function is(k, t)
  local have = kind(k)
  return have == t or have == 'none'
end

-- A guard: nil when it holds, else {code, why}.
local function check(o)
  local c, k = o.c, o.k
  if c == 'x' then
    local t = kind(k)
    if t == 'none' then return {0, k .. ' is gone'} end
    if t ~= 'hash' then return {0, k .. ' is now a ' .. t} end
  elseif c == 'a' then
    if redis.call('EXISTS', k) == 1 then return {0, k .. ' exists again'} end
  elseif c == 'g' then
    if not is(k, 'string') then return {3, k} end
    if redis.call('GET', k) ~= o[2] then return {0, k .. ' changed'} end
  elseif c == 'l' or c == 'f' or c == 'n' then
    if not is(k, 'hash') then return {3, k} end
    if c == 'l' and redis.call('HLEN', k) ~= tonumber(o[2]) then
      return {0, k .. ' has other fields'}
    end
    if c == 'f' and redis.call('HGET', k, o[2]) ~= o[3] then
      return {0, 'field ' .. o[2] .. ' of ' .. k .. ' changed'}
    end
    if c == 'n' and redis.call('HEXISTS', k, o[2]) == 1 then
      return {0, 'field ' .. o[2] .. ' of ' .. k .. ' was written'}
    end
  elseif c == 'm' or c == 'o' then
    if not is(k, 'set') then return {3, k} end
    local in_set = redis.call('SISMEMBER', k, o.m) == 1
    if c == 'm' and not in_set then return {0, o.m .. ' left ' .. k} end
    if c == 'o' and in_set then return {0, o.m .. ' is in ' .. k .. ' again'} end
  elseif c == 'z' or c == 'y' then
    if not is(k, 'zset') then return {3, k} end
    local sc = redis.call('ZSCORE', k, o.m)
    if c == 'z' and (not sc or tonumber(sc) ~= tonumber(o[3])) then
      return {0, 'the score of ' .. o.m .. ' in ' .. k .. ' changed'}
    end
    if c == 'y' and sc then return {0, o.m .. ' is in ' .. k .. ' again'} end
  end
  return nil
end

for i = 1, ng do
  local r = check(ops[i])
  if r then return r end
end
for i = ng + 1, ng + nw do
  local o = ops[i]
  if not is(o.k, wants[o.c]) then return {3, o.k} end
end
local st = kind(stream)
if st ~= 'stream' and st ~= 'none' then return {3, stream} end
if ARGV[2] == '1' then return {2, 'would apply'} end

-- ACL (Redis 7+): denied() and noperm() are acl.lua's, prepended.
local cmds = {H = 'HSET', D = 'HDEL', X = 'DEL', S = 'SADD', R = 'SREM',
  Z = 'ZADD', Q = 'ZREM', I = 'DEL', T = 'SET', U = 'DEL'}
for i = ng + 1, ng + nw do
  local o = ops[i]
  local c = cmds[o.c]
  local d
  if o.c == 'X' or o.c == 'I' or o.c == 'U' then d = denied(c, o.k)
  elseif o.c == 'T' then d = denied(c, o.k, 'v')
  elseif o.c == 'Z' then d = denied(c, o.k, '0', o.m)
  elseif o.c == 'H' then d = denied(c, o.k, 'f', 'v')
  elseif o.c == 'D' then d = denied(c, o.k, 'f')
  else d = denied(c, o.k, o.m) end
  if d then return noperm(c, o.k) end
end
if denied('XADD', stream, '*', 'f', 'v') then return noperm('XADD', stream) end

local i = ng + 1
while i <= ng + nw do
  local o = ops[i]
  local c, k = o.c, o.k
  if c == 'H' then
    local h = {o[2], o[3]}
    while i + 1 <= ng + nw and ops[i + 1].c == 'H' and ops[i + 1].k == k do
      i = i + 1
      h[#h + 1] = ops[i][2]
      h[#h + 1] = ops[i][3]
    end
    redis.call('HSET', k, unpack(h))
  elseif c == 'D' then redis.call('HDEL', k, o[2])
  elseif c == 'X' or c == 'U' then redis.call('DEL', k)
  elseif c == 'T' then redis.call('SET', k, o[2])
  elseif c == 'S' then redis.call('SADD', k, o.m)
  elseif c == 'R' then redis.call('SREM', k, o.m)
  elseif c == 'Z' then redis.call('ZADD', k, o[3], o.m)
  elseif c == 'Q' then redis.call('ZREM', k, o.m)
  elseif c == 'I' then
    local v = redis.call('GET', k)
    if v and string.sub(v, 1, #o[2]) == o[2] then redis.call('DEL', k) end
  end
  i = i + 1
end
local a = {}
for j = p, #ARGV do a[#a + 1] = ARGV[j] end
redis.call('XADD', stream, 'MAXLEN', '~', ARGV[1], '*', unpack(a))
return {1, 'applied'}
