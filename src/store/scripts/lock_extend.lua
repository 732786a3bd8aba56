-- lock_extend.lua: extend a lock this process holds (compare and PEXPIRE).
--
-- KEYS[1]   the lock (a string holding its owner's random token)
-- ARGV[1]   the owner's token
-- ARGV[2]   the new time to live, in milliseconds
-- Guard:  the lock still holds ARGV[1]: a lock that expired and was taken by
--         another process is never extended.
-- Returns 1 extended, 0 not held (nothing written).
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
