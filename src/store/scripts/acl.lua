-- acl.lua: prepended to each repair script. A user who may not make every
-- write of an action gets none of them, rather than the first few (Lua has
-- no rollback), so each script asks before its first write. A user's rights
-- cannot change while a script runs, so each (command, key) is asked once
-- per call: the actions of a call mostly write the same few sets.
local acl = {}
local function denied(cmd, key, ...)
  if redis.acl_check_cmd == nil then return false end
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
