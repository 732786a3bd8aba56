-- lock_release.lua: release a lock this process holds (compare and DEL), and
-- record when the work it protected finished.
--
-- KEYS[1]   the lock (a string holding its owner's random token)
-- KEYS[2]   where to record the finish time (a string)
-- ARGV[1]   the owner's token
-- ARGV[2]   the finish time (server seconds, as text), or '' to record nothing
-- Guard:  the lock still holds ARGV[1]: another process's lock is never
--         deleted, and a process that lost its lock records nothing; KEYS[2]
--         is a string or missing.
-- Returns 1 released, 0 not held (nothing written), {3, KEYS[2]} wrong type
--         (nothing written); a NOPERM error (nothing written) when the user
--         may not make both writes.
-- ACL (Redis 7+): a user who may not make both writes gets neither (Lua has
-- no rollback: a finish time recorded while the lock stays would say a
-- sweep finished that reported an error); both are asked of denied()
-- (acl.lua, prepended) before the first one.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] ~= '' then
  local t = redis.call('TYPE', KEYS[2])['ok']
  if t ~= 'string' and t ~= 'none' then return {3, KEYS[2]} end
  if denied('SET', KEYS[2], 'v') then return noperm('SET', KEYS[2]) end
end
if denied('DEL', KEYS[1]) then return noperm('DEL', KEYS[1]) end
-- The DEL first: where scripts cannot check permissions (before 7.0), a
-- user who may not DEL then writes nothing, rather than a finish time
-- beside a lock still held.
redis.call('DEL', KEYS[1])
if ARGV[2] ~= '' then redis.call('SET', KEYS[2], ARGV[2]) end
return 1
