package ratelimit_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/photofeed/photofeed/internal/testenv"
	"github.com/photofeed/photofeed/ratelimit"
)

// openRedis returns a Redis limiter on the local server (PHOTOFEED_TEST_REDIS
// to point elsewhere) under a fresh key prefix, or skips.
func openRedis(t *testing.T, now func() time.Time) ratelimit.Limiter {
	t.Helper()
	addr := "127.0.0.1:6379"
	if v := getenv("PHOTOFEED_TEST_REDIS"); v != "" {
		addr = v
	}
	client := redis.NewClient(&redis.Options{Addr: addr})
	if err := client.Ping(context.Background()).Err(); err != nil {
		client.Close()
		testenv.Missing(t, "Redis at "+addr+" ("+err.Error()+")")
	}
	t.Cleanup(func() { client.Close() })
	var b [6]byte
	rand.Read(b[:])
	return ratelimit.NewRedis(client, "photofeed-test:"+hex.EncodeToString(b[:])+":", now)
}

// The server's clock is used when none is injected, and a flushed script
// cache is refilled transparently.
func TestRedisServerClockAndScriptReload(t *testing.T) {
	l := openRedis(t, nil)
	limit := ratelimit.Limit{Requests: 2, Window: time.Minute, Algorithm: ratelimit.TokenBucket}
	for i, want := range []bool{true, true, false} {
		d, err := l.AllowN(context.Background(), "k", limit, 1)
		if err != nil || d.Allowed != want {
			t.Fatalf("request %d: %+v %v", i, d, err)
		}
		if !want && (d.RetryAfter <= 0 || d.RetryAfter > 30*time.Second) {
			t.Fatalf("retry after %s, want about 30 s", d.RetryAfter)
		}
	}
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer client.Close()
	client.ScriptFlush(context.Background())
	if _, err := l.AllowN(context.Background(), "other", limit, 1); err != nil {
		t.Fatalf("after SCRIPT FLUSH: %v", err)
	}
}

func getenv(k string) string { return os.Getenv(k) }

// BenchmarkRedisAllow: decisions per second against the local Redis from
// many goroutines (go-redis pools the connections). bench/redis-limiter.sh
// runs it beside redis-benchmark's bare EVALSHA of a trivial script.
func BenchmarkRedisAllow(b *testing.B) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", PoolSize: 64})
	if err := client.Ping(context.Background()).Err(); err != nil {
		b.Skip("no Redis on 127.0.0.1:6379")
	}
	defer client.Close()
	var p [6]byte
	rand.Read(p[:])
	l := ratelimit.NewRedis(client, "photofeed-bench:"+hex.EncodeToString(p[:])+":", nil)
	// The same client's ceiling: EVALSHA of a script that does nothing.
	b.Run("bare_evalsha", func(b *testing.B) {
		sha, err := client.ScriptLoad(context.Background(), "return 1").Result()
		if err != nil {
			b.Fatal(err)
		}
		b.SetParallelism(25)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := client.EvalSha(context.Background(), sha, nil).Err(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	// One key per goroutine (50), a limit nothing reaches: every decision
	// allows and records. For the log that means sorted sets of
	// thousands of entries each, a shape no policy of ours has.
	for _, alg := range []ratelimit.Algorithm{ratelimit.TokenBucket, ratelimit.SlidingWindowLog, ratelimit.SlidingWindowCounter} {
		limit := ratelimit.Limit{Requests: 1_000_000, Window: time.Minute, Algorithm: alg}
		b.Run(string(alg), func(b *testing.B) {
			b.SetParallelism(25) // 50 goroutines on 2 cores, like redis-benchmark -c 50
			var n atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				key := "user:" + strconv.FormatInt(n.Add(1)%1000, 10)
				for pb.Next() {
					if _, err := l.AllowN(context.Background(), key, limit, 1); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
	// The log as the product's policies use it (sign-ups, login failures:
	// a few requests per client in minutes): a key per client among
	// 200,000, each holding a handful of entries.
	b.Run("sliding_window_log_per_client", func(b *testing.B) {
		limit := ratelimit.Limit{Requests: 10, Window: time.Minute, Algorithm: ratelimit.SlidingWindowLog}
		b.SetParallelism(25)
		var n atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				key := "client:" + strconv.FormatInt(n.Add(1)%200_000, 10)
				if _, err := l.AllowN(context.Background(), key, limit, 1); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
