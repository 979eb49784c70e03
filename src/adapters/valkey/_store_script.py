"""The Lua script behind the Valkey store: every operation on one bucket of namespaces, atomically.

ARGV: ``op, prefix, tag, now`` then the operation's arguments. ``KEYS[1]`` is
the bucket's registry (declared so that a cluster routes the call to the slot
of ``tag``); every other key the script touches is built from ``prefix`` and
``tag`` and so lives in the same slot. Times are POSIX seconds as decimal
strings; ``now`` comes from the caller's clock.
"""

from __future__ import annotations

__all__ = ["STORE"]

STORE = r"""
local op, base, tag, now_s = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local now = tonumber(now_s)
local reg = KEYS[1]
local INF = math.huge

local function num(s)
  if not s or s == '' then return nil end
  if s == 'inf' or s == '+inf' then return INF end
  return tonumber(s)
end
local function ms_until(t) return math.max(1, math.ceil((t - now) * 1000)) end
local function nskey(ns) return base .. 'n:' .. tag .. ns end
local function itemkey(ns, k) return base .. 'i:' .. tag .. ns .. k end
local function veckey(ns, k, path) return base .. 'x:' .. tag .. ns .. k .. path end

local function vector_keys(ns, k, ik)
  local out = {}
  local x = redis.call('HGET', ik, 'x')
  if x and x ~= '' then
    for path in string.gmatch(x, '[^\n]+') do out[#out + 1] = veckey(ns, k, path) end
  end
  return out
end

local function drop(ns, k)
  local ik = itemkey(ns, k)
  local vks = vector_keys(ns, k, ik)
  vks[#vks + 1] = ik
  redis.call('UNLINK', unpack(vks))
end

local function expire_at(key, e)
  if e then redis.call('PEXPIRE', key, ms_until(e)) else redis.call('PERSIST', key) end
end

-- After a change to namespace ns: expired members go, the registry keeps its latest expiry.
local function settle(ns)
  local zk = nskey(ns)
  local expired = redis.call('ZRANGEBYSCORE', zk, '-inf', now_s)
  for _, k in ipairs(expired) do drop(ns, k) end
  if #expired > 0 then redis.call('ZREMRANGEBYSCORE', zk, '-inf', now_s) end
  local top = redis.call('ZREVRANGE', zk, 0, 0, 'WITHSCORES')
  if #top == 0 then
    redis.call('HDEL', reg, ns)
    redis.call('UNLINK', zk)
  else
    redis.call('HSET', reg, ns, top[2])
    local latest = num(top[2])
    if latest == INF then redis.call('PERSIST', zk) else redis.call('PEXPIRE', zk, ms_until(latest)) end
  end
  return #expired
end

local function live_namespaces()
  local out = {}
  local all = redis.call('HGETALL', reg)
  for j = 1, #all, 2 do
    local latest = num(all[j + 1])
    if latest and latest > now then out[#out + 1] = all[j] else redis.call('HDEL', reg, all[j]) end
  end
  return out
end

if op == 'write' then
  local touched, order = {}, {}
  local i = 5
  local n = tonumber(ARGV[i]); i = i + 1
  for _ = 1, n do
    local ns, k, v, u, e_s, t, nv = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5], tonumber(ARGV[i + 6])
    i = i + 7
    local ik = itemkey(ns, k)
    local old = redis.call('HMGET', ik, 'c', 'e')
    local c = u
    if old[1] and (not num(old[2]) or num(old[2]) > now) then c = old[1] end
    drop(ns, k)
    local e = num(e_s)
    local paths = {}
    for _ = 1, nv do
      local path, blob, tags = ARGV[i], ARGV[i + 1], ARGV[i + 2]
      i = i + 3
      local vk = veckey(ns, k, path)
      redis.call('HSET', vk, 'vec', blob, 'p', tags)
      if e then redis.call('PEXPIRE', vk, ms_until(e)) end
      paths[#paths + 1] = path
    end
    redis.call('HSET', ik, 'v', v, 'c', c, 'u', u, 'e', e_s, 't', t, 'x', table.concat(paths, '\n'))
    if e then redis.call('PEXPIRE', ik, ms_until(e)) end
    redis.call('ZADD', nskey(ns), e and e_s or '+inf', k)
    if not touched[ns] then touched[ns] = true; order[#order + 1] = ns end
  end
  local d = tonumber(ARGV[i]); i = i + 1
  for _ = 1, d do
    local ns, k = ARGV[i], ARGV[i + 1]
    i = i + 2
    drop(ns, k)
    redis.call('ZREM', nskey(ns), k)
    if not touched[ns] then touched[ns] = true; order[#order + 1] = ns end
  end
  for _, ns in ipairs(order) do settle(ns) end
  return n + d
end

if op == 'get' then
  local refresh = ARGV[5] == '1'
  local out, touched, order = {}, {}, {}
  local i = 6
  while i <= #ARGV do
    local ns, k = ARGV[i], ARGV[i + 1]
    i = i + 2
    local ik = itemkey(ns, k)
    local r = redis.call('HMGET', ik, 'v', 'c', 'u', 'e', 't')
    local e = num(r[4])
    if not r[1] or (e and e <= now) then
      out[#out + 1] = false
    else
      if refresh and r[5] and r[5] ~= '' then
        local ne = now + tonumber(r[5]) * 60
        local ne_s = string.format('%.17g', ne)
        redis.call('HSET', ik, 'e', ne_s)
        redis.call('PEXPIRE', ik, ms_until(ne))
        for _, vk in ipairs(vector_keys(ns, k, ik)) do redis.call('PEXPIRE', vk, ms_until(ne)) end
        redis.call('ZADD', nskey(ns), 'XX', ne_s, k)
        r[4] = ne_s
        if not touched[ns] then touched[ns] = true; order[#order + 1] = ns end
      end
      out[#out + 1] = r
    end
  end
  for _, ns in ipairs(order) do settle(ns) end
  return out
end

if op == 'scan' then
  -- Items of every live namespace starting with ARGV[5]; with ARGV[6] == '1', their vectors too.
  local pfx, with_vectors = ARGV[5], ARGV[6] == '1'
  local out = {}
  for _, ns in ipairs(live_namespaces()) do
    if string.sub(ns, 1, #pfx) == pfx then
      for _, k in ipairs(redis.call('ZRANGEBYSCORE', nskey(ns), '(' .. now_s, '+inf')) do
        local ik = itemkey(ns, k)
        local r = redis.call('HMGET', ik, 'v', 'c', 'u', 'e', 't', 'x')
        if r[1] then
          local row = {ns, k, r[1], r[2], r[3], r[4], r[5]}
          if with_vectors and r[6] and r[6] ~= '' then
            for path in string.gmatch(r[6], '[^\n]+') do
              row[#row + 1] = path
              row[#row + 1] = redis.call('HGET', veckey(ns, k, path), 'vec') or ''
            end
          end
          out[#out + 1] = row
        end
      end
    end
  end
  return out
end

if op == 'namespaces' then
  return live_namespaces()
end

if op == 'purge' then
  local count = 0
  local all = redis.call('HGETALL', reg)
  for j = 1, #all, 2 do count = count + settle(all[j]) end
  return count
end

return redis.error_reply('ERR unknown store operation ' .. tostring(op))
"""
