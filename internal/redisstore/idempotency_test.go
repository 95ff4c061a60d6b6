package redisstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/photofeed/photofeed/idempotency"
	"github.com/photofeed/photofeed/internal/redisstore"
	"github.com/photofeed/photofeed/internal/storetest"
	"github.com/photofeed/photofeed/internal/testenv"
)

// The suite the SQL stores pass.
func TestIdempotencyConformance(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer client.Close()
	if err := client.Ping(context.Background()).Err(); err != nil {
		testenv.Missing(t, "Redis on 127.0.0.1:6379 ("+err.Error()+")")
	}
	storetest.RunIdempotency(t, func(t *testing.T) idempotency.Store {
		var b [6]byte
		rand.Read(b[:])
		return redisstore.NewIdempotencyStore(client, "photofeed-test:idem:"+hex.EncodeToString(b[:])+":")
	})
}
