package app

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"log/slog"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/photofeed/photofeed/cache"
	"github.com/photofeed/photofeed/internal/redisstore"
	"github.com/photofeed/photofeed/internal/sqlite"
	"github.com/photofeed/photofeed/internal/storetest"
	"github.com/photofeed/photofeed/internal/testenv"
	"github.com/photofeed/photofeed/resilience"
)

// A decorator that embeds the interface it wraps passes any method added
// to it later straight to the store, and a write added that way skips the
// invalidation. Every field is named, so each method is written out and
// the interface guards in cached.go fail the build until it is.
func TestCacheDecoratorsEmbedNothing(t *testing.T) {
	for _, typ := range []reflect.Type{
		reflect.TypeFor[cachedPosts](),
		reflect.TypeFor[cachedIdentity](),
		reflect.TypeFor[cachedGraph](),
		reflect.TypeFor[cachedCelebrities](),
	} {
		for f := range typ.Fields() {
			if f.Anonymous {
				t.Errorf("%s embeds %s: a method added to it would bypass the cache", typ.Name(), f.Type)
			}
		}
	}
}

// loopback is the bus of one instance: what it broadcasts comes back to
// it, as the real bus delivers an instance's own messages.
type loopback struct{ receive func([]byte) }

func (l *loopback) Broadcast(_ string, data []byte) error {
	l.receive(data)
	return nil
}

// cachedSQLite is the SQLite stores behind the caching decorators, as a
// node with --cache-ttl wires them, with remote as the shared level (nil:
// none).
func cachedSQLite(t *testing.T, remote cache.Remote) storetest.Stores {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "photofeed.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.OnProcessingPost(func(context.Context, *sql.Tx, int64) error { return nil }) // no job queue here
	bus := &loopback{}
	iv := newInvalidations(bus, 0, slog.New(slog.DiscardHandler))
	bus.receive = iv.receive
	cc := cache.Config{TTL: time.Hour, Remote: remote} // nothing expires during a test: every fresh read is an invalidation's doing
	// The suite asks for celebrities above 0 followers: that is the
	// threshold the cached reads are for.
	const threshold = 0
	return storetest.Stores{
		Identity:  newCachedIdentity(db.Identity(), iv, cc),
		Posts:     newCachedPosts(db.Posts(), iv, cc),
		Graph:     newCachedGraph(db.Graph(), iv),
		Timelines: newCachedCelebrities(db.Timelines(), threshold, iv, cc),
	}
}

// The decorators keep the store contract: the adapters' conformance suite,
// run through the caches.
func TestCachedStoresConformance(t *testing.T) {
	t.Run("local", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) storetest.Stores { return cachedSQLite(t, nil) })
	})
	t.Run("redis", func(t *testing.T) {
		srv := testenv.StartRedis(t)
		rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
		t.Cleanup(func() { rdb.Close() })
		storetest.Run(t, func(t *testing.T) storetest.Stores {
			var b [6]byte
			rand.Read(b[:])
			remote := redisstore.NewCacheRemote(rdb, "photofeed-test:"+hex.EncodeToString(b[:])+":", resilience.GuardConfig{})
			return cachedSQLite(t, remote)
		})
	})
}
