-- lock_acquire.lua: take a lock (SET NX PX), or tell who holds it.
--
-- KEYS[1]   the lock (a string holding its owner's token)
-- ARGV[1]   this process's token (host, pid and a random part: unique)
-- ARGV[2]   time to live, in milliseconds
-- Guard:  the lock is free, or already holds ARGV[1] (a retried acquire
--         whose reply was lost); it must be a string or missing.
-- Returns {1} acquired; {0, holder's token, its remaining ms} held by
--         another; {3, KEYS[1]} wrong type. Only {1} wrote anything.
local t = redis.call('TYPE', KEYS[1])['ok']
if t ~= 'string' and t ~= 'none' then return {3, KEYS[1]} end
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then
  return {0, holder, redis.call('PTTL', KEYS[1])}
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return {1}
