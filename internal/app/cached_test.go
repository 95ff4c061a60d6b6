package app

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"log/slog"
	"path/filepath"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/photofeed/photofeed/cache"
	"github.com/photofeed/photofeed/idempotency"
	"github.com/photofeed/photofeed/ids"
	"github.com/photofeed/photofeed/internal/identity"
	"github.com/photofeed/photofeed/internal/posts"
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

// memBus is the bus between instances in one process: every broadcast
// reaches every instance, the sender's own included, as the real bus
// delivers an instance's own messages.
type memBus struct{ receivers []func([]byte) }

func (b *memBus) Broadcast(_ string, data []byte) error {
	for _, r := range b.receivers {
		r(data)
	}
	return nil
}

func openSQLite(t *testing.T) *sqlite.DB {
	t.Helper()
	db, err := sqlite.OpenWith(t.Context(), filepath.Join(t.TempDir(), "photofeed.db"),
		sqlite.Options{OnProcessingPost: func(context.Context, *sql.Tx, int64) error { return nil }}) // no job queue here
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// cached is one instance's view of db through the caching decorators, as
// a node with --cache-ttl wires them, with remote as the shared level
// (nil: none).
func cached(db *sqlite.DB, bus *memBus, remote cache.Remote) storetest.Stores {
	iv := newInvalidations(bus, 0, slog.New(slog.DiscardHandler))
	bus.receivers = append(bus.receivers, iv.receive)
	// Nothing expires during a test: every fresh read is an invalidation's doing.
	cc := cache.Config{TTL: time.Hour, Remote: remote}
	// The suite asks for celebrities above 0 followers: that is the
	// threshold the cached reads are for.
	const threshold = 0
	return storetest.Stores{
		Identity:  newCachedIdentity(db.Identity(), iv, cc, noToken),
		Posts:     newCachedPosts(db.Posts(), iv, cc, noToken),
		Graph:     newCachedGraph(db.Graph(), iv),
		Timelines: newCachedCelebrities(db.Timelines(), threshold, iv, cc, noToken),
		// Not cached: there so the suite sees the decorators pass claims on.
		Idempotency: db.Idempotency(),
	}
}

// noToken is the freshness of requests that carry no read-your-writes
// token: every read may be served from the cache.
func noToken(context.Context) bool { return false }

func startRedisRemote(t *testing.T) func() cache.Remote {
	srv := testenv.StartRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { rdb.Close() })
	return func() cache.Remote {
		var b [6]byte
		rand.Read(b[:])
		return redisstore.NewCacheRemote(rdb, "photofeed-test:"+hex.EncodeToString(b[:])+":", resilience.GuardConfig{})
	}
}

// The decorators keep the store contract: the adapters' conformance suite,
// run through the caches.
func TestCachedStoresConformance(t *testing.T) {
	t.Run("local", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) storetest.Stores { return cached(openSQLite(t), &memBus{}, nil) })
	})
	t.Run("redis", func(t *testing.T) {
		remote := startRedisRemote(t)
		storetest.Run(t, func(t *testing.T) storetest.Stores { return cached(openSQLite(t), &memBus{}, remote()) })
	})
}

// What one instance reads is served to another from the shared level as
// it was stored, and a write on one is seen by the other at once.
func TestCachedStoresAcrossInstances(t *testing.T) {
	remote := startRedisRemote(t)()
	var served atomic.Int64
	db, bus := openSQLite(t), &memBus{}
	a := cached(db, bus, countHits{remote, &served})
	b := cached(db, bus, countHits{remote, &served})
	ctx := t.Context()
	gen := ids.NewGenerator(nil)

	now := time.UnixMilli(time.Now().UnixMilli()).UTC()
	uid, _ := gen.Next(ids.ShardForKey("ann", 1024))
	u := identity.User{ID: uid, Username: "ann", DisplayName: "Ann ✨", CreatedAt: now}
	if err := a.Identity.CreateUser(ctx, u, "hash", idempotency.Claim{}); err != nil {
		t.Fatal(err)
	}
	pid, _ := gen.Next(ids.Shard(uid))
	p := posts.Post{ID: pid, AuthorID: uid, Caption: "shared", CreatedAt: ids.Time(pid), Status: posts.Ready,
		Images: posts.Images{Thumb: posts.Image{Key: "t.jpg", Width: 1, Height: 2}}}
	if err := a.Posts.CreatePost(ctx, p, idempotency.Claim{}); err != nil {
		t.Fatal(err)
	}
	s := identity.Session{ID: 5, UserID: uid, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := a.Identity.CreateSession(ctx, s); err != nil {
		t.Fatal(err)
	}

	// a loads each into the shared level; b is served from there.
	for _, st := range []storetest.Stores{a, b} {
		if got, err := st.Identity.UserByUsername(ctx, "ann"); err != nil || got != u {
			t.Fatalf("UserByUsername = %+v, %v; want %+v", got, err, u)
		}
		if got, err := st.Posts.Post(ctx, pid); err != nil || got != p {
			t.Fatalf("Post = %+v, %v; want %+v", got, err, p)
		}
		if got, err := st.Identity.SessionByID(ctx, 5); err != nil || !reflect.DeepEqual(got, s) {
			t.Fatalf("SessionByID = %+v, %v; want %+v", got, err, s)
		}
	}
	if served.Load() < 3 {
		t.Fatalf("the shared level served %d reads, want the second instance's 3", served.Load())
	}

	// A write on b is what a reads next, though a holds the old value.
	if err := b.Posts.Like(ctx, pid, uid, now); err != nil {
		t.Fatal(err)
	}
	if err := b.Identity.RevokeSession(ctx, 5, now); err != nil {
		t.Fatal(err)
	}
	if got, _ := a.Posts.Post(ctx, pid); got.LikeCount != 1 {
		t.Fatalf("like count on the other instance %d, want 1", got.LikeCount)
	}
	if got, _ := a.Identity.SessionByID(ctx, 5); got.RevokedAt == nil || !got.RevokedAt.Equal(now) {
		t.Fatalf("session on the other instance not revoked: %+v", got)
	}
}

// countHits counts the reads the shared level answers.
type countHits struct {
	cache.Remote
	hits *atomic.Int64
}

func (c countHits) Get(ctx context.Context, key string) ([]byte, bool, error) {
	v, found, err := c.Remote.Get(ctx, key)
	if found {
		c.hits.Add(1)
	}
	return v, found, err
}

// recordBus keeps what is broadcast.
type recordBus struct{ sent []string }

func (b *recordBus) Broadcast(subject string, data []byte) error {
	b.sent = append(b.sent, subject+": "+string(data))
	return nil
}

// Invalidations travel between instances of different versions during a
// rolling deploy: the names on the wire must not change with the code.
func TestInvalidationWireFormat(t *testing.T) {
	for _, tt := range []struct {
		name cacheName
		want string
	}{
		{cachePost, "photofeed.cache.invalidate: post 42"},
		{cacheSession, "photofeed.cache.invalidate: session 42"},
		{cacheUser, "photofeed.cache.invalidate: user 42"},
		{cacheUsername, "photofeed.cache.invalidate: username 42"},
		{cacheCelebs, "photofeed.cache.invalidate: celebs 42"},
	} {
		bus := &recordBus{}
		newInvalidations(bus, 0, slog.New(slog.DiscardHandler)).dropID(t.Context(), tt.name, 42)
		if len(bus.sent) != 1 || bus.sent[0] != tt.want {
			t.Errorf("%s: sent %q, want %q", tt.name, bus.sent, tt.want)
		}
	}
}

// Granting admin through the decorator drops the cached user, so the
// authors read beside posts show the role at once.
func TestCachedSetAdmin(t *testing.T) {
	db := openSQLite(t)
	bus := &memBus{}
	iv := newInvalidations(bus, 0, slog.New(slog.DiscardHandler))
	bus.receivers = append(bus.receivers, iv.receive)
	c := newCachedIdentity(db.Identity(), iv, cache.Config{TTL: time.Hour}, noToken)
	ctx := t.Context()
	u := identity.User{ID: 7, Username: "root", DisplayName: "Root", CreatedAt: time.UnixMilli(1).UTC()}
	if err := c.CreateUser(ctx, u, "hash", idempotency.Claim{}); err != nil {
		t.Fatal(err)
	}
	for _, admin := range []bool{false, true, false} {
		if admin != u.Admin {
			if err := c.SetAdmin(ctx, "root", admin); err != nil {
				t.Fatal(err)
			}
			u.Admin = admin
		}
		list, err := c.UsersByIDs(ctx, []int64{7})
		if err != nil || len(list) != 1 || list[0].Admin != admin {
			t.Fatalf("UsersByIDs = %+v, %v; want admin %v", list, err, admin)
		}
		if got, err := c.UserByUsername(ctx, "root"); err != nil || got.Admin != admin {
			t.Fatalf("UserByUsername = %+v, %v; want admin %v", got, err, admin)
		}
	}
}

// A read the freshness hook marks (its request wrote recently) goes past
// the cache, which may hold what another instance had before the write;
// other reads are served from it.
func TestCachedFreshReadsPassTheCache(t *testing.T) {
	db := openSQLite(t)
	bus := &memBus{}
	iv := newInvalidations(bus, 0, slog.New(slog.DiscardHandler))
	bus.receivers = append(bus.receivers, iv.receive)
	type freshKey struct{}
	fresh := func(ctx context.Context) bool { return ctx.Value(freshKey{}) != nil }
	c := newCachedIdentity(db.Identity(), iv, cache.Config{TTL: time.Hour}, fresh)
	ctx := t.Context()
	u := identity.User{ID: 7, Username: "root", DisplayName: "Root", CreatedAt: time.UnixMilli(1).UTC()}
	if err := c.CreateUser(ctx, u, "hash", idempotency.Claim{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UsersByIDs(ctx, []int64{7}); err != nil { // now cached
		t.Fatal(err)
	}
	// A write the cache hears nothing of, as one on another instance
	// before its invalidation arrives.
	if err := db.Identity().SetAdmin(ctx, "root", true); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ctx   context.Context
		admin bool
	}{{ctx, false}, {context.WithValue(ctx, freshKey{}, true), true}} {
		list, err := c.UsersByIDs(tc.ctx, []int64{7})
		if err != nil || len(list) != 1 || list[0].Admin != tc.admin {
			t.Fatalf("UsersByIDs (fresh %v) = %+v, %v; want admin %v", fresh(tc.ctx), list, err, tc.admin)
		}
	}
}

// A batch read may come from a replica that has not replayed a post yet
// (one just made, or a replica just restarted): its absence there is not
// the post's absence. Only the one-post read, which asks the primary on
// a replica's miss, may cache a post as missing: `photofeed chaos` saw a
// post answer 404 for seconds on one node after a feed's batch read on a
// replica that was behind.
func TestBatchMissOnAStaleReadCachesNothing(t *testing.T) {
	bus := &memBus{}
	iv := newInvalidations(bus, 0, slog.New(slog.DiscardHandler))
	post := posts.Post{ID: 7, Caption: "made a moment ago"}
	one := func(_ context.Context, id int64) (posts.Post, error) {
		if id == post.ID {
			return post, nil // the primary has it
		}
		return posts.Post{}, posts.ErrPostNotFound
	}
	stale := func(context.Context, []int64) ([]posts.Post, error) { return nil, nil } // a replica behind
	b := newByID(cachePost, iv, cache.Config{TTL: time.Hour}, noToken, posts.ErrPostNotFound, one, stale,
		func(p posts.Post) int64 { return p.ID })
	got, err := b.getMany(t.Context(), []int64{7, 8})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != 7 {
		t.Errorf("a batch read missing a post the primary has: %+v, want post 7 (asked of the primary)", got)
	}
	if p, err := b.get(t.Context(), 7); err != nil || p.ID != 7 {
		t.Errorf("the post after a batch read that missed it: %+v, %v", p, err)
	}
	if _, err := b.get(t.Context(), 8); !errors.Is(err, posts.ErrPostNotFound) {
		t.Errorf("a post nowhere: %v, want not found", err)
	}
}
