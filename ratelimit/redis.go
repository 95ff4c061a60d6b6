package ratelimit

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is a Limiter shared by every instance that uses the same Redis:
// each algorithm is one Lua script, so a decision is atomic however many
// instances ask at once, and time is the Redis server's (TIME), so
// instances with skewed clocks agree. Times are whole microseconds (Lua
// numbers are doubles, exact to 2^53).
//
// Scripts run with EVALSHA and are loaded once; a server that lost them
// (restart, SCRIPT FLUSH) gets them again transparently.
type Redis struct {
	client redis.Scripter
	prefix string
	now    func() time.Time // nil: the server's clock
}

// NewRedis makes a Redis limiter whose keys start with prefix. now is for
// tests; nil uses the server's clock.
func NewRedis(client redis.Scripter, prefix string, now func() time.Time) *Redis {
	return &Redis{client: client, prefix: prefix, now: now}
}

var _ Limiter = (*Redis)(nil)

// clock reads the injected time or the server's.
const clock = `
local now
if ARGV[4] ~= '' then now = tonumber(ARGV[4]) else
  local t = redis.call('TIME'); now = tonumber(t[1]) * 1000000 + tonumber(t[2]) end
local limit, window, n = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local need = math.max(n, 1)
`

// tokenBucketScript is GCRA, as in the memory limiter: the key holds the
// theoretical arrival time of the next request.
var tokenBucketScript = redis.NewScript(clock + `
local interval = math.floor(window / limit)
local burst = interval * limit
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
if n < 0 then
  tat = math.max(now, tat + n * interval)
  redis.call('SET', KEYS[1], tat, 'PX', math.ceil((tat - now) / 1000) + 1)
  return {1, math.floor((now - (tat - burst)) / interval), 0, tat - now}
end
local allow_at = tat + need * interval - burst
local allowed = now >= allow_at
if allowed and n > 0 then
  tat = tat + n * interval
  redis.call('SET', KEYS[1], tat, 'PX', math.ceil((tat - now) / 1000) + 1)
end
local retry = 0
if not allowed then retry = allow_at - now end
return {allowed and 1 or 0, math.floor((now - (tat - burst)) / interval), retry, math.max(0, tat - now)}
`)

// windowLogScript keeps one sorted-set member per request in the window.
// Members are "<now>:<position>": within one microsecond the count only
// grows (trimming at the same instant removes nothing more), so positions
// never repeat, and no sequence key is needed. When it just added, the
// newest entry is now: the reset needs no read.
var windowLogScript = redis.NewScript(clock + `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if n < 0 then redis.call('ZPOPMAX', KEYS[1], -n) end
local count = redis.call('ZCARD', KEYS[1])
local allowed = n < 0 or count + need <= limit
local reset = 0
if allowed and n > 0 then
  for i = 1, n do redis.call('ZADD', KEYS[1], now, now .. ':' .. (count + i)) end
  count = count + n
  redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000) + 1)
  reset = window
elseif count > 0 then
  local newest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
  reset = tonumber(newest[2]) + window - now
end
local retry = 0
if not allowed then
  if need > limit then retry = -1 else
    local k = count + need - limit
    local e = redis.call('ZRANGE', KEYS[1], k - 1, k - 1, 'WITHSCORES')
    retry = tonumber(e[2]) + window - now
  end
end
return {allowed and 1 or 0, limit - count, retry, reset}
`)

// windowCounterScript keeps this and the previous fixed window's counts.
var windowCounterScript = redis.NewScript(clock + `
local h = redis.call('HMGET', KEYS[1], 'start', 'cur', 'prev')
local start, cur, prev = tonumber(h[1]), tonumber(h[2]) or 0, tonumber(h[3]) or 0
local rolled = false
if not start then start = now - (now % window); rolled = true end
if now >= start + window then
  if now >= start + 2 * window then prev = 0 else prev = cur end
  cur = 0
  start = now - (now % window)
  rolled = true
end
local function fits(c, p, e) return p * (1 - e / window) + c + need <= limit end
local refunded = false
if n < 0 and cur + prev > 0 then
  local back = math.min(-n, cur)
  cur = cur - back
  prev = math.max(0, prev - (-n - back))
  refunded = true
end
local elapsed = now - start
local allowed = n < 0 or fits(cur, prev, elapsed)
if allowed and n > 0 then cur = cur + n end
local remaining = math.max(0, math.floor(limit - (prev * (1 - elapsed / window) + cur) + 1e-9))
local retry = 0
if not allowed then
  if need > limit then retry = -1 else
    local at = function(t)
      local e = elapsed + t
      if e < window then return fits(cur, prev, e) end
      return fits(0, cur, e - window)
    end
    local t
    if cur + need <= limit and prev > 0 then
      t = window * (1 - (limit - cur - need) / prev) - elapsed
    else
      t = window - elapsed
      if cur > 0 then t = t + math.max(0, window * (1 - (limit - need) / cur)) end
    end
    t = math.max(1, math.ceil(t))
    while t > 1 and at(t - 1) do t = t - 1 end
    while not at(t) do t = t + 1 end
    retry = t
  end
end
local reset = 0
if cur > 0 then reset = start + 2 * window - now elseif prev > 0 then reset = start + window - now end
-- Write only what changed; the expiry only when a window starts: HSET
-- keeps a key's TTL, and data older than two windows is never read.
if rolled or refunded or (allowed and n > 0) then redis.call('HSET', KEYS[1], 'start', start, 'cur', cur, 'prev', prev) end
if rolled then redis.call('PEXPIRE', KEYS[1], math.ceil(2 * window / 1000) + 1) end
return {allowed and 1 or 0, remaining, retry, reset}
`)

func (r *Redis) AllowN(ctx context.Context, key string, l Limit, n int) (Decision, error) {
	if err := l.validate(); err != nil {
		return Decision{}, err
	}
	if l.Window%time.Microsecond != 0 {
		return Decision{}, fmt.Errorf("ratelimit: redis windows are whole microseconds, not %s", l.Window)
	}
	now := ""
	if r.now != nil {
		now = strconv.FormatInt(r.now().UnixMicro(), 10)
	}
	k := r.prefix + string(l.Algorithm) + ":" + strconv.Itoa(l.Requests) + "/" + strconv.FormatInt(l.Window.Microseconds(), 10) + ":" + key
	var script *redis.Script
	keys := []string{k}
	switch l.Algorithm {
	case TokenBucket:
		script = tokenBucketScript
	case SlidingWindowLog:
		script, keys = windowLogScript, []string{k}
	default:
		script = windowCounterScript
	}
	res, err := script.Run(ctx, r.client, keys, l.Requests, l.Window.Microseconds(), n, now).Int64Slice()
	if err != nil {
		return Decision{}, fmt.Errorf("ratelimit: redis: %w", err)
	}
	d := Decision{Allowed: res[0] == 1, Remaining: int(res[1]), Reset: time.Duration(res[3]) * time.Microsecond}
	switch {
	case res[2] < 0:
		d.RetryAfter = time.Duration(math.MaxInt64)
	default:
		d.RetryAfter = time.Duration(res[2]) * time.Microsecond
	}
	return d, nil
}
