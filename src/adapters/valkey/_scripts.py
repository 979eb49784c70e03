"""Lua scripts of the Valkey checkpoint repository: one round trip per operation.

Every script takes the thread's registry key as ``KEYS[1]`` and derives the
other keys of the thread from it: ``KEYS[2]`` and ``ARGV[1..5]`` are the key
heads (metadata; index, headers, blobs, write index, write values), each
ending right before the registry member (``<actor>:<namespace>``). All these
keys carry the thread's hash tag, so they live in one slot and a script may
touch them in a cluster.

The metadata hash holds a copy of each header's metadata JSON: a filtered
listing scans those few bytes per checkpoint instead of whole headers, and
falls back to the header for a checkpoint written before the copy existed.

Lua string comparison follows the server's locale, so ids are compared byte by
byte with ``lt`` to keep Python's ordering.
"""

from __future__ import annotations

__all__ = [
    "WRITE",
    "GET",
    "LIST",
    "DELETE_THREAD",
    "DELETE_CHECKPOINTS",
    "GET_WRITES",
    "EXPORT",
    "PRUNE",
    "ACTORS",
    "ALL",
]

_COMMON = r"""
local R, MTA = KEYS[1], KEYS[2]
local IDX, HDR, BLB, WIX, WVL = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]

local function lt(a, b)
  local n = math.min(#a, #b)
  for i = 1, n do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end

local function head_json(h)
  local n = string.match(h, '^(%d+)\n')
  if not n then return nil end
  local start = #n + 2
  -- A corrupt header must reach the client, which names it in a CorruptRecordError.
  local ok, meta = pcall(cjson.decode, string.sub(h, start, start + tonumber(n) - 1))
  if ok and type(meta) == 'table' then return meta end
  return nil
end

local function mget(key, fields)
  local out = {}
  local i = 1
  while i <= #fields do
    local chunk = {}
    for j = i, math.min(i + 499, #fields) do chunk[#chunk + 1] = fields[j] end
    local got = redis.call('HMGET', key, unpack(chunk))
    for j = 1, #chunk do out[#out + 1] = got[j] end
    i = i + 500
  end
  return out
end

local function write_fields(m, cid)
  local p = #cid .. ':' .. cid
  return redis.call('ZRANGEBYLEX', WIX .. m, '[' .. p .. '\0', '(' .. p .. '\1')
end

local function delete_checkpoint(m, cid)
  redis.call('ZREM', IDX .. m, cid)
  redis.call('HDEL', HDR .. m, cid)
  redis.call('HDEL', MTA .. m, cid)
  local wf = write_fields(m, cid)
  local j = 1
  while j <= #wf do
    local chunk = {}
    for k = j, math.min(j + 499, #wf) do chunk[#chunk + 1] = wf[k] end
    redis.call('HDEL', WVL .. m, unpack(chunk))
    redis.call('ZREM', WIX .. m, unpack(chunk))
    j = j + 500
  end
end

local function writes_of(m, cid)
  local wf = write_fields(m, cid)
  if #wf == 0 then return {} end
  return mget(WVL .. m, wf)
end

local function record(m, cid, h, with_values)
  if not with_values then return {m, cid, h} end
  local meta = head_json(h)
  local blobs = {}
  if meta and type(meta['bf']) == 'table' and #meta['bf'] > 0 then blobs = mget(BLB .. m, meta['bf']) end
  return {m, cid, h, blobs, writes_of(m, cid)}
end
"""

WRITE = _COMMON + r"""
-- ARGV[6]: ttl seconds (0: none); then groups of (op, member, field, value):
-- C: checkpoint header, M: its metadata JSON, B: channel blob, W: write kept if present,
-- U: write upserted.
local ttl = tonumber(ARGV[6])
local seen = {}
local i = 7
while i <= #ARGV do
  local op, m, f, v = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  if not seen[m] then redis.call('SADD', R, m); seen[m] = true end
  if op == 'C' then
    redis.call('ZADD', IDX .. m, 0, f)
    redis.call('HSET', HDR .. m, f, v)
  elseif op == 'M' then
    redis.call('HSET', MTA .. m, f, v)
  elseif op == 'B' then
    redis.call('HSET', BLB .. m, f, v)
  elseif op == 'W' then
    if redis.call('HSETNX', WVL .. m, f, v) == 1 then redis.call('ZADD', WIX .. m, 0, f) end
  elseif op == 'U' then
    redis.call('HSET', WVL .. m, f, v)
    redis.call('ZADD', WIX .. m, 0, f)
  else
    return redis.error_reply('unknown op ' .. tostring(op))
  end
  i = i + 4
end
if ttl > 0 then
  for _, m in ipairs(redis.call('SMEMBERS', R)) do
    for _, head in ipairs({IDX, HDR, BLB, WIX, WVL, MTA}) do redis.call('EXPIRE', head .. m, ttl) end
  end
  redis.call('EXPIRE', R, ttl)
end
return 1
"""

GET = _COMMON + r"""
-- ARGV[6]: member; ARGV[7]: checkpoint id ('' for the latest).
local m = ARGV[6]
local cid = ARGV[7]
if cid == '' then
  local top = redis.call('ZREVRANGE', IDX .. m, 0, 0)
  if #top == 0 then return nil end
  cid = top[1]
end
local h = redis.call('HGET', HDR .. m, cid)
if not h then return nil end
return record(m, cid, h, true)
"""

LIST = _COMMON + r"""
-- ARGV[6]/[7]: actor filter on ('1') and encoded actor; ARGV[8]/[9]: namespace filter
-- on and encoded namespace; ARGV[10]: checkpoint id or ''; ARGV[11]: before id or '';
-- ARGV[12]: limit (0: none); ARGV[13]: metadata filter JSON or ''; ARGV[14]: '1' headers only;
-- ARGV[15]: needles, JSON [[prefix, [suffix, ...]] per filter key] or '': a header in which no
-- occurrence of some key's prefix is followed by one of its suffixes cannot match and is skipped
-- without decoding (an empty entry checks nothing). One pass over the header per key.
local by_actor, actor, by_ns, ns = ARGV[6] == '1', ARGV[7], ARGV[8] == '1', ARGV[9]
local cid, before, limit = ARGV[10], ARGV[11], tonumber(ARGV[12])
local flt = nil
if ARGV[13] ~= '' then flt = cjson.decode(ARGV[13]) end
local headers_only = ARGV[14] == '1'
local needles = nil
if ARGV[15] and ARGV[15] ~= '' then needles = cjson.decode(ARGV[15]) end

local function has_needle(h, prefix, suffixes)
  local pos = 1
  while true do
    local s, e = string.find(h, prefix, pos, true)
    if not s then return false end
    for _, suffix in ipairs(suffixes) do
      if suffix == '' or string.sub(h, e + 1, e + #suffix) == suffix then return true end
    end
    pos = s + 1
  end
end

local function may_match(h)
  if needles == nil then return true end
  for _, needle in ipairs(needles) do
    if #needle > 0 and not has_needle(h, needle[1], needle[2]) then return false end
  end
  return true
end

local function same(a, b)
  if type(a) ~= type(b) then return false end
  if type(a) ~= 'table' then return a == b end
  for k, v in pairs(a) do if not same(v, b[k]) then return false end end
  for k, _ in pairs(b) do if a[k] == nil then return false end end
  return true
end

local function meta_matches(md)
  if type(md) ~= 'table' then return false end
  for k, v in pairs(flt) do
    local got = md[k]
    if got == nil or not same(got, v) then return false end
  end
  return true
end

-- A header matches when its metadata copy does; a checkpoint written before copies
-- existed has none, and its header is decoded instead.
local function header_matches(h)
  if not may_match(h) then return false end
  local meta = head_json(h)
  return meta ~= nil and meta_matches(meta['m'])
end

local function copy_matches(text)
  if not may_match(text) then return false end
  local ok, md = pcall(cjson.decode, text)
  return ok and meta_matches(md)
end

local members = {}
if by_actor and by_ns then
  members[1] = actor .. ':' .. ns
else
  for _, m in ipairs(redis.call('SMEMBERS', R)) do
    local a, n = string.match(m, '^([^:]*):(.*)$')
    if a and (not by_actor or a == actor) and (not by_ns or n == ns) then members[#members + 1] = m end
  end
end

-- A filtered listing without a limit, of a member whose every checkpoint has its metadata
-- copy, reads all copies in one HGETALL (far cheaper in a script than HMGET by id), and only
-- the headers of the matches. Otherwise (a limit, a single id, or copies missing) it walks the
-- index newest first in growing chunks, reading copies where they exist, and stops at the limit.
local function matched_by_copies(m)
  local copies = redis.call('HGETALL', MTA .. m)
  if #copies / 2 ~= redis.call('ZCARD', IDX .. m) then return nil end
  local ids = {}
  for i = 1, #copies, 2 do
    local id = copies[i]
    if (before == '' or lt(id, before)) and copy_matches(copies[i + 1]) then ids[#ids + 1] = id end
  end
  table.sort(ids, function(a, b) return lt(b, a) end)
  return ids
end

local found = {}
for _, m in ipairs(members) do
  local matched = nil
  if flt ~= nil and cid == '' and limit == 0 then matched = matched_by_copies(m) end
  if matched ~= nil then
    for _, id in ipairs(matched) do
      local h = redis.call('HGET', HDR .. m, id)
      if h then found[#found + 1] = {id, m, h} end
    end
  else
    local ids
    if cid ~= '' then
      ids = {}
      if redis.call('ZSCORE', IDX .. m, cid) and (before == '' or lt(cid, before)) then ids[1] = cid end
    else
      local hi = '+'
      if before ~= '' then hi = '(' .. before end
      if flt == nil and limit > 0 then
        ids = redis.call('ZREVRANGEBYLEX', IDX .. m, hi, '-', 'LIMIT', 0, limit)
      else
        ids = redis.call('ZREVRANGEBYLEX', IDX .. m, hi, '-')
      end
    end
    local taken = 0
    local pos = 1
    local size = 16
    while pos <= #ids and (limit == 0 or taken < limit) do
      local chunk = {}
      for j = pos, math.min(pos + size - 1, #ids) do chunk[#chunk + 1] = ids[j] end
      if flt == nil then
        local hs = redis.call('HMGET', HDR .. m, unpack(chunk))
        for j = 1, #chunk do
          local h = hs[j]
          if h and (limit == 0 or taken < limit) then
            found[#found + 1] = {chunk[j], m, h}
            taken = taken + 1
          end
        end
      else
        local ms = redis.call('HMGET', MTA .. m, unpack(chunk))
        for j = 1, #chunk do
          if limit == 0 or taken < limit then
            local h = nil
            if ms[j] then
              if copy_matches(ms[j]) then h = redis.call('HGET', HDR .. m, chunk[j]) end
            else
              h = redis.call('HGET', HDR .. m, chunk[j])
              if h and not header_matches(h) then h = nil end
            end
            if h then
              found[#found + 1] = {chunk[j], m, h}
              taken = taken + 1
            end
          end
        end
      end
      pos = pos + size
      size = math.min(size * 2, 128)
    end
  end
end

if #members > 1 then
  table.sort(found, function(a, b)
    if a[1] == b[1] then return lt(a[2], b[2]) end
    return lt(b[1], a[1])
  end)
end
local out = {}
for i, f in ipairs(found) do
  if limit > 0 and i > limit then break end
  out[#out + 1] = record(f[2], f[1], f[3], not headers_only)
end
return out
"""

DELETE_THREAD = _COMMON + r"""
-- ARGV[6]: '1' to delete one actor only, ARGV[7]: that encoded actor.
local one, actor = ARGV[6] == '1', ARGV[7]
local n = 0
for _, m in ipairs(redis.call('SMEMBERS', R)) do
  local a = string.match(m, '^([^:]*):')
  if not one or a == actor then
    redis.call('DEL', IDX .. m, HDR .. m, BLB .. m, WIX .. m, WVL .. m, MTA .. m)
    redis.call('SREM', R, m)
    n = n + 1
  end
end
return n
"""

DELETE_CHECKPOINTS = _COMMON + r"""
-- ARGV[6]: member; ARGV[7..]: checkpoint ids.
local m = ARGV[6]
for i = 7, #ARGV do delete_checkpoint(m, ARGV[i]) end
return 1
"""

GET_WRITES = _COMMON + r"""
-- ARGV[6]: member; ARGV[7..]: checkpoint ids. One list of write values per id.
local m = ARGV[6]
local out = {}
for i = 7, #ARGV do out[#out + 1] = writes_of(m, ARGV[i]) end
return out
"""

EXPORT = _COMMON + r"""
-- ARGV[6]/[7]: actor filter on and encoded actor. Per member: headers, blobs, writes (flat pairs).
local by_actor, actor = ARGV[6] == '1', ARGV[7]
local out = {}
for _, m in ipairs(redis.call('SMEMBERS', R)) do
  local a = string.match(m, '^([^:]*):')
  if not by_actor or a == actor then
    out[#out + 1] = {m, redis.call('HGETALL', HDR .. m), redis.call('HGETALL', BLB .. m),
                     redis.call('HGETALL', WVL .. m)}
  end
end
return out
"""

PRUNE = _COMMON + r"""
-- ARGV[6]: member; ARGV[7]: how many checkpoints the caller's scan kept; ARGV[8]: n;
-- ARGV[9..8+n]: checkpoint ids to delete (with their writes); the rest: blob fields that
-- only those checkpoints referenced.
local m, kept, n = ARGV[6], tonumber(ARGV[7]), tonumber(ARGV[8])
for i = 9, 8 + n do delete_checkpoint(m, ARGV[i]) end
-- A checkpoint put (or deleted) since the scan may reference these blobs: then keep them,
-- an orphan rather than a dangling reference.
if redis.call('ZCARD', IDX .. m) ~= kept then return 0 end
local i = 9 + n
while i <= #ARGV do
  local chunk = {}
  for k = i, math.min(i + 499, #ARGV) do chunk[#chunk + 1] = ARGV[k] end
  redis.call('HDEL', BLB .. m, unpack(chunk))
  i = i + 500
end
-- A member with no key left leaves the registry, so listing threads stays exact.
if redis.call('EXISTS', IDX .. m, HDR .. m, BLB .. m, WIX .. m, WVL .. m, MTA .. m) == 0 then
  redis.call('SREM', R, m)
end
return 1
"""

ACTORS = _COMMON + r"""
-- The encoded actors of the thread that hold at least one checkpoint, each once.
local seen, out = {}, {}
for _, m in ipairs(redis.call('SMEMBERS', R)) do
  local a = string.match(m, '^([^:]*):')
  if a and not seen[a] and redis.call('ZCARD', IDX .. m) > 0 then
    seen[a] = true
    out[#out + 1] = a
  end
end
return out
"""

ALL = {
    "WRITE": WRITE,
    "GET": GET,
    "LIST": LIST,
    "DELETE_THREAD": DELETE_THREAD,
    "DELETE_CHECKPOINTS": DELETE_CHECKPOINTS,
    "GET_WRITES": GET_WRITES,
    "EXPORT": EXPORT,
    "PRUNE": PRUNE,
    "ACTORS": ACTORS,
}
"""Every script by name: all are loaded together, so one NOSCRIPT reload serves every operation."""
