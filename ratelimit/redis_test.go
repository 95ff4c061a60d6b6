package ratelimit_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
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
