// Package redisstore keeps photofeed state in Redis, for deployments where
// several instances must share it.
package redisstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/photofeed/photofeed/idempotency"
)

// IdempotencyStore implements idempotency.Store in Redis: one hash per key,
// claimed atomically by a Lua script, dropped by Redis after its TTL.
//
// Unlike the SQL stores it cannot mark a key committed in the transaction
// of the write it guards (Redis is not in that transaction); a crash
// between the write and storing the response leaves the key to time out
// and the retry to run again. Prefer the SQL store where that matters.
type IdempotencyStore struct {
	client redis.Scripter
	prefix string
}

var _ idempotency.Store = (*IdempotencyStore)(nil)

func NewIdempotencyStore(client redis.Scripter, prefix string) *IdempotencyStore {
	return &IdempotencyStore{client: client, prefix: prefix}
}

func (s *IdempotencyStore) key(k string) string {
	sum := sha256.Sum256([]byte(k)) // scoped keys can be long; Redis keys stay short
	return s.prefix + hex.EncodeToString(sum[:])
}

// claimScript: ARGV fingerprint, now, lock timeout, ttl (ms).
var claimScript = redis.NewScript(`
local now, lock, ttl = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local r = redis.call('HMGET', KEYS[1], 'fp', 'state', 'locked_at', 'expires_at', 'resource', 'status', 'header', 'body')
local fresh = r[1] == false
if not fresh then
  local expired = now >= tonumber(r[4])
  local stale = r[2] == 'in_flight' and now >= tonumber(r[3]) + lock
  fresh = expired or stale
end
if fresh then
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 'fp', ARGV[1], 'state', 'in_flight', 'locked_at', now, 'expires_at', now + ttl)
  redis.call('PEXPIRE', KEYS[1], ttl)
  return {1}
end
return {0, r[1], r[2], r[3], r[4], r[5] or '', r[6] or '', r[7] or '', r[8] or ''}
`)

func (s *IdempotencyStore) Claim(ctx context.Context, key, fp string, now time.Time, lockTimeout, ttl time.Duration) (*idempotency.Record, bool, error) {
	res, err := claimScript.Run(ctx, s.client, []string{s.key(key)}, fp, now.UnixMilli(), lockTimeout.Milliseconds(), ttl.Milliseconds()).Slice()
	if err != nil {
		return nil, false, fmt.Errorf("claim idempotency key: %w", err)
	}
	if res[0].(int64) == 1 {
		return nil, true, nil
	}
	str := func(i int) string { v, _ := res[i].(string); return v }
	num := func(i int) int64 { n, _ := strconv.ParseInt(str(i), 10, 64); return n }
	rec := &idempotency.Record{Key: key, Fingerprint: str(1), State: idempotency.State(str(2)),
		LockedAt: time.UnixMilli(num(3)).UTC(), ExpiresAt: time.UnixMilli(num(4)).UTC()}
	rec.Resource, _ = idempotency.ParseResource(str(5))
	if str(6) != "" {
		rec.Response = &idempotency.Response{Status: int(num(6)), Header: http.Header{}, Body: []byte(str(8))}
		if h := str(7); h != "" {
			if err := json.Unmarshal([]byte(h), &rec.Response.Header); err != nil {
				return nil, false, fmt.Errorf("stored header: %w", err)
			}
		}
	}
	return rec, false, nil
}

var completeScript = redis.NewScript(`
local state = redis.call('HGET', KEYS[1], 'state')
if state ~= 'in_flight' and state ~= 'committed' then return 0 end
redis.call('HSET', KEYS[1], 'state', 'done', 'status', ARGV[1], 'header', ARGV[2], 'body', ARGV[3])
return 1
`)

func (s *IdempotencyStore) Complete(ctx context.Context, key string, resp idempotency.Response, now time.Time) error {
	h, err := json.Marshal(resp.Header)
	if err != nil {
		return err
	}
	n, err := completeScript.Run(ctx, s.client, []string{s.key(key)}, resp.Status, string(h), resp.Body).Int64()
	if err != nil {
		return fmt.Errorf("complete idempotency key: %w", err)
	}
	if n == 0 {
		return idempotency.ErrNotClaimed
	}
	return nil
}

var releaseScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'state') == 'in_flight' then return redis.call('DEL', KEYS[1]) end
return 0
`)

func (s *IdempotencyStore) Release(ctx context.Context, key string) error {
	return releaseScript.Run(ctx, s.client, []string{s.key(key)}).Err()
}

// DeleteExpired removes records past their expiry by the given clock.
// Redis drops them by itself after their TTL; this sweep is for clocks
// that differ from the server's (and for tests).
func (s *IdempotencyStore) DeleteExpired(ctx context.Context, now time.Time) (int, error) {
	c, ok := s.client.(redis.Cmdable)
	if !ok {
		return 0, nil
	}
	deleted := 0
	iter := c.Scan(ctx, 0, s.prefix+"*", 200).Iterator()
	for iter.Next(ctx) {
		exp, err := c.HGet(ctx, iter.Val(), "expires_at").Int64()
		if err == nil && exp <= now.UnixMilli() {
			if n, err := c.Del(ctx, iter.Val()).Result(); err == nil {
				deleted += int(n)
			}
		}
	}
	return deleted, iter.Err()
}
