-- acl.lua: prepended to every script that writes data of the queue
-- (enqueue, move, lock_release and the repair scripts). A user who may not
-- make every write of an action gets none of them, rather than the first
-- few (Lua has no rollback), so each script asks before its first write.
--
-- denied(cmd, key, ...) asks redis.acl_check_cmd (Redis 7+; before that
-- nothing can be asked, and the writes themselves are refused) whether the
-- user may run cmd with key and the arguments after it. Redis checks key
-- permissions for every key argument of a command, so an answer holds for
-- (cmd, key) alone only where key is the command's one key. Those answers
-- are kept for the rest of the call (a user's rights cannot change while a
-- script runs, and the actions of a call mostly write the same few sets);
-- any other command given more than one argument is asked every time.
local acl = {}
local one_key = {
  SET = true, HSET = true, HDEL = true, HINCRBY = true,
  SADD = true, SREM = true, ZADD = true, ZREM = true, XADD = true,
}
local function denied(cmd, key, ...)
  if redis.acl_check_cmd == nil then return false end
  if not one_key[cmd] and select('#', ...) > 0 then
    return not redis.acl_check_cmd(cmd, key, ...)
  end
  local id = cmd .. ' ' .. key
  local d = acl[id]
  if d == nil then
    d = not redis.acl_check_cmd(cmd, key, ...)
    acl[id] = d
  end
  return d
end
local function noperm(cmd, key)
  return redis.error_reply('NOPERM the Redis user may not run ' .. cmd .. ' on ' .. key)
end
