package app

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/photofeed/photofeed/cache"
)

// invalidationSubject carries "<cache> <id>" from the instance that
// changed something to every instance holding it.
const invalidationSubject = "photofeed.cache.invalidate"

// cacheName names a cache in invalidation messages and, in the shared
// level, its keys' namespace: the strings are on the wire and in Redis,
// so a rename is a change of format.
type cacheName string

const (
	cachePost     cacheName = "post"
	cacheSession  cacheName = "session"
	cacheUser     cacheName = "user"
	cacheUsername cacheName = "username"
	cacheCelebs   cacheName = "celebs" // per reader: the followed authors merged at read time
)

type broadcaster interface {
	Broadcast(subject string, data []byte) error
}

// invalidations drops changed entries here and, through the bus, on every
// other instance, so none serves a deleted photo or a revoked session for
// longer than a message takes. A lost message (the bus is down) leaves the
// TTL as the bound.
type invalidations struct {
	bus broadcaster
	log *slog.Logger
	// again, if set, repeats every invalidation after this long: a reader
	// that loaded from a lagging replica just before the change cannot keep
	// the old value longer than the replica lag bound.
	again time.Duration

	mu     sync.Mutex
	caches map[cacheName]registered
}

// registered is one cache: how to drop a key here, and from every level;
// and its hits and misses, for metrics.
type registered struct {
	invalidate func(key string)
	delete     func(ctx context.Context, key string)
	stats      func() cache.Stats
}

func newInvalidations(bus broadcaster, again time.Duration, log *slog.Logger) *invalidations {
	return &invalidations{bus: bus, again: again, log: log, caches: map[cacheName]registered{}}
}

func (iv *invalidations) register(name cacheName, invalidate func(key string), del func(ctx context.Context, key string), stats func() cache.Stats) {
	iv.mu.Lock()
	iv.caches[name] = registered{invalidate, del, stats}
	iv.mu.Unlock()
}

// stats are the registered caches' hits and misses, by name.
func (iv *invalidations) stats() map[cacheName]cache.Stats {
	iv.mu.Lock()
	defer iv.mu.Unlock()
	out := make(map[cacheName]cache.Stats, len(iv.caches))
	for name, c := range iv.caches {
		out[name] = c.stats()
	}
	return out
}

// registerIDs registers a cache keyed by int64 ids.
func (iv *invalidations) registerIDs(name cacheName, invalidate func(id int64), del func(ctx context.Context, id int64), stats func() cache.Stats) {
	iv.register(name, func(key string) {
		if id, err := strconv.ParseInt(key, 10, 64); err == nil {
			invalidate(id)
		}
	}, func(ctx context.Context, key string) {
		if id, err := strconv.ParseInt(key, 10, 64); err == nil {
			del(ctx, id)
		}
	}, stats)
}

// drop invalidates name/key here, in the shared level, and (by broadcast)
// on every instance.
func (iv *invalidations) drop(ctx context.Context, name cacheName, key string) {
	iv.mu.Lock()
	c, ok := iv.caches[name]
	iv.mu.Unlock()
	if ok {
		c.delete(ctx, key)
		if iv.again > 0 { // a reader of a lagging replica may have put the old value back
			time.AfterFunc(iv.again, func() { c.delete(context.WithoutCancel(ctx), key) })
		}
	}
	iv.local(name, key)
	if err := iv.bus.Broadcast(invalidationSubject, []byte(string(name)+" "+key)); err != nil {
		iv.log.Warn("cache invalidation not broadcast; other instances serve the old value until its TTL", "cache", name, "key", key, "err", err)
	}
}

func (iv *invalidations) dropID(ctx context.Context, name cacheName, id int64) {
	iv.drop(ctx, name, strconv.FormatInt(id, 10))
}

// receive handles a broadcast (its own included: dropping twice is free).
func (iv *invalidations) receive(data []byte) {
	name, key, ok := strings.Cut(string(data), " ")
	if !ok || key == "" {
		iv.log.Warn("malformed cache invalidation", "message", string(data))
		return
	}
	iv.local(cacheName(name), key)
}

func (iv *invalidations) local(name cacheName, key string) {
	iv.mu.Lock()
	c, ok := iv.caches[name]
	iv.mu.Unlock()
	if !ok {
		return
	}
	c.invalidate(key)
	if iv.again > 0 {
		time.AfterFunc(iv.again, func() { c.invalidate(key) })
	}
}
