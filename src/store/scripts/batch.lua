
-- batch.lua: appended to each repair script (`one` above is its single
-- action). One call carries up to a few dozen actions of one script, so
-- that the cost of a call (its lookup, its KEYS and ARGV, its reply) is
-- paid once for them all; each action is still checked and guarded on its
-- own, its checks before its own first write.
--
-- KEYS[1]      the audit stream
-- KEYS[2..]    each action's keys in turn
-- ARGV[1]      audit MAXLEN (approximate)
-- ARGV[2]      n, the number of actions
-- ARGV[3]      h, the length of the audit header
-- ARGV[4..3+h] the audit header (command, host, pid, time) every entry opens with
-- ARGV[4+h]    the script's common argument ('' when it has none)
-- then per action: its number of keys, its number of arguments, its
--              arguments
-- Returns one {code, reason} per action run. An error (a NOPERM refusal
--         above all, or any error a call raises) stops the call before
--         that action writes anything: the reply is then the outcomes of
--         the actions before it and {-1, error text} for it; the actions
--         after it were not run.
local n, h = tonumber(ARGV[2]), tonumber(ARGV[3])
local kp, ap = 2, 5 + h
local out = {}
for _ = 1, n do
  local nk, na = tonumber(ARGV[ap]), tonumber(ARGV[ap + 1])
  local k, a = {}, {}
  for i = 1, nk do k[i] = KEYS[kp + i - 1] end
  for i = 1, na do a[i] = ARGV[ap + 1 + i] end
  kp, ap = kp + nk, ap + 2 + na
  local ok, r = pcall(one, k, a)
  local err = nil
  if not ok then
    err = type(r) == 'table' and r.err or tostring(r)
  elseif type(r) == 'table' and r.err then
    err = r.err
  end
  if err then
    out[#out + 1] = {-1, err}
    return out
  end
  out[#out + 1] = r
end
return out
