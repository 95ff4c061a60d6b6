package redisstore

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/redis/go-redis/v9"
)

// A home timeline is one Redis string of 8-byte big-endian post ids,
// newest first, at most the cap long: 8 bytes an entry and a few dozen a
// timeline, where a sorted set of the same ids took 124 bytes an entry.
// Ids are positive, so their bytes sort as the numbers do.
//
// The scripts below keep the string sorted and free of repeats. Lua's
// numbers are doubles, which cannot hold a 64-bit id: the search compares
// ids as two 32-bit halves, and equality compares the 8 bytes.
const packedLua = `
local function at(s, i)
  return struct.unpack('>I4I4', s, i * 8 + 1)
end
-- the first index in [from, n) whose id is at most (h, l)
local function search(s, from, n, h, l)
  local lo, hi = from, n
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    local mh, ml = at(s, mid)
    if mh > h or (mh == h and ml > l) then lo = mid + 1 else hi = mid end
  end
  return lo
end
`

// addScript inserts ARGV[2] (ids packed newest first, without repeats) into
// a built timeline, skipping those it holds (adds are replayed after a
// crash), and keeps the newest ARGV[1]; a timeline nobody has built is
// left alone (it will be built from the write model when first read).
// The insert positions only move towards the end, so one pass copies the
// string once, however many ids are added. The timeline takes its
// marker's expiry: a timeline created by an add (its rebuild found
// nothing) then expires with it instead of never.
var addScript = redis.NewScript(packedLua + `
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
local add = ARGV[2]
local cap = tonumber(ARGV[1]) * 8
local function store(v)
  if #v == 0 then redis.call('DEL', KEYS[1]); return end
  local ttl = redis.call('PTTL', KEYS[2])
  if ttl > 0 then redis.call('SET', KEYS[1], v, 'PX', ttl) else redis.call('SET', KEYS[1], v, 'KEEPTTL') end
end
-- Most adds are one new post, newer than every entry: it goes in front of
-- the rest read once, up to the cap, without searching.
if #add == 8 and cap > 8 then
  local head = redis.call('GETRANGE', KEYS[1], 0, 7)
  local h, l = at(add, 0)
  local hh, hl = 0, 0
  if #head == 8 then hh, hl = at(head, 0) end
  if #head == 0 or hh < h or (hh == h and hl < l) then
    store(add .. redis.call('GETRANGE', KEYS[1], 0, cap - 9))
    return 1
  end
end
local s = redis.call('GET', KEYS[1]) or ''
local n = #s / 8
local out, pos, last, len = {}, 0, nil, 0
for j = 0, #add / 8 - 1 do
  local id = string.sub(add, j * 8 + 1, j * 8 + 8)
  local h, l = at(add, j)
  local i = search(s, pos, n, h, l)
  if id ~= last and not (i < n and string.sub(s, i * 8 + 1, i * 8 + 8) == id) then
    out[#out + 1] = string.sub(s, pos * 8 + 1, i * 8)
    out[#out + 1] = id
    len = len + (i - pos) * 8 + 8
    pos, last = i, id
  end
end
if #out == 0 and #s <= cap then return 1 end
-- The tail is cut to the cap as it is copied: each copy of the string
-- costs, and a fan-out is mostly one new id before a full timeline.
if len < cap then out[#out + 1] = string.sub(s, pos * 8 + 1, pos * 8 + cap - len) end
local v = table.concat(out)
if #v > cap then v = string.sub(v, 1, cap) end
store(v)
return 1`)

// removeScript deletes ARGV[1] (ids packed newest first) from the timeline.
var removeScript = redis.NewScript(packedLua + `
local s = redis.call('GET', KEYS[1])
if not s then return 0 end
local rm = ARGV[1]
local n = #s / 8
local out, pos = {}, 0
for j = 0, #rm / 8 - 1 do
  local h, l = at(rm, j)
  local i = search(s, pos, n, h, l)
  if i < n and string.sub(s, i * 8 + 1, i * 8 + 8) == string.sub(rm, j * 8 + 1, j * 8 + 8) then
    out[#out + 1] = string.sub(s, pos * 8 + 1, i * 8)
    pos = i + 1
  end
end
if #out == 0 then return 0 end
out[#out + 1] = string.sub(s, pos * 8 + 1)
local v = table.concat(out)
if #v == 0 then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], v, 'KEEPTTL') end
return #out - 1`)

// pageScript answers whether the timeline is built and the ARGV[2] ids
// after the first that is at most ARGV[1] (a page before an id is the
// ids at most that id minus one).
var pageScript = redis.NewScript(packedLua + `
local built = redis.call('EXISTS', KEYS[2])
local s = redis.call('GET', KEYS[1])
if not s then return {built, ''} end
local h, l = at(ARGV[1], 0)
local i = search(s, 0, #s / 8, h, l)
return {built, string.sub(s, i * 8 + 1, (i + tonumber(ARGV[2])) * 8)}`)

// packIDs is ids as the scripts take them: newest first, without
// repeats, 8 bytes each.
func packIDs(ids []int64) (string, error) {
	sorted := slices.Clone(ids)
	slices.SortFunc(sorted, func(a, b int64) int { return cmp.Compare(b, a) })
	sorted = slices.Compact(sorted)
	b := make([]byte, 0, 8*len(sorted))
	for _, id := range sorted {
		if id <= 0 {
			return "", fmt.Errorf("timeline post id %d: not positive", id)
		}
		b = binary.BigEndian.AppendUint64(b, uint64(id))
	}
	return string(b), nil
}

// unpackIDs decodes a timeline or a page of one.
func unpackIDs(s string) ([]int64, error) {
	if len(s)%8 != 0 {
		return nil, fmt.Errorf("%d bytes, not whole 8-byte ids", len(s))
	}
	out := make([]int64, 0, len(s)/8)
	for i := 0; i < len(s); i += 8 {
		out = append(out, int64(binary.BigEndian.Uint64([]byte(s[i:i+8]))))
	}
	return out, nil
}
