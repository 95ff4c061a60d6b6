package redisstore

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/photofeed/photofeed/resilience"
)

// CacheRemote is the cache package's shared second level in Redis, behind
// the guard: a slow or dead Redis is skipped, never waited on for long.
type CacheRemote struct {
	rdb    redis.UniversalClient
	prefix string
	g      *resilience.Guard
}

func NewCacheRemote(rdb redis.UniversalClient, prefix string, cfg resilience.GuardConfig) *CacheRemote {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 50 * time.Millisecond // a cache that is slower than the database is no cache
	}
	return &CacheRemote{rdb: rdb, prefix: prefix, g: resilience.NewGuard("cache", cfg)}
}

func (c *CacheRemote) Get(ctx context.Context, key string) ([]byte, bool, error) {
	var b []byte
	found := false
	err := c.g.Do(ctx, func(ctx context.Context) error {
		var err error
		b, err = c.rdb.Get(ctx, c.prefix+key).Bytes()
		if errors.Is(err, redis.Nil) {
			return nil
		}
		found = err == nil
		return err
	})
	return b, found, err
}

func (c *CacheRemote) Set(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	return c.g.Do(ctx, func(ctx context.Context) error { return c.rdb.Set(ctx, c.prefix+key, val, ttl).Err() })
}

func (c *CacheRemote) Delete(ctx context.Context, key string) error {
	return c.g.Do(ctx, func(ctx context.Context) error { return c.rdb.Del(ctx, c.prefix+key).Err() })
}
