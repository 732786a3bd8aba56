
-- entry.lua: prepended (after acl.lua) to the scripts whose audit entry
-- records memberships in the same words, so that undoing an entry reads one
-- format. `a` is the entry's field/value list being built.
--
-- entry_zadd(a, j, z, member, score, was): ZADD member to zset z with
-- score, recorded as zadd.j (the zset), zadd.j.score and, when member had
-- a score before (was), zadd.j.before.
local function entry_zadd(a, j, z, member, score, was)
  redis.call('ZADD', z, score, member)
  local n = 'zadd.' .. j
  a[#a + 1] = n
  a[#a + 1] = z
  a[#a + 1] = n .. '.score'
  a[#a + 1] = score
  if was then
    a[#a + 1] = n .. '.before'
    a[#a + 1] = was
  end
end
-- entry_leave(a, member, K, s1, s2, z1, z2): member leaves the sets
-- K[s1..s2] and the zsets K[z1..z2]; each one it was in is recorded as
-- srem.N, or zrem.N with zrem.N.score, to be reversed exactly. Returns how
-- many it left.
local function entry_leave(a, member, K, s1, s2, z1, z2)
  local nsrem, nzrem = 0, 0
  for i = s1, s2 do
    if redis.call('SREM', K[i], member) == 1 then
      nsrem = nsrem + 1
      a[#a + 1] = 'srem.' .. nsrem
      a[#a + 1] = K[i]
    end
  end
  for i = z1, z2 do
    local sc = redis.call('ZSCORE', K[i], member)
    if sc then
      redis.call('ZREM', K[i], member)
      nzrem = nzrem + 1
      a[#a + 1] = 'zrem.' .. nzrem
      a[#a + 1] = K[i]
      a[#a + 1] = 'zrem.' .. nzrem .. '.score'
      a[#a + 1] = sc
    end
  end
  return nsrem + nzrem
end
