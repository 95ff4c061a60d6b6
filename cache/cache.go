// Package cache is a read-through cache for hot reads, protected against
// the three classic cache failures:
//
//   - stampede: concurrent misses of one key cause one load (the others wait
//     for it), and hot keys are refreshed early, with a probability that
//     rises as expiry nears (XFetch), so they rarely expire under load;
//   - penetration: a key the loader says does not exist is remembered as
//     missing for a short TTL, so a flood of unknown ids costs one load per
//     id per NegativeTTL, not one per request;
//   - expiry waves: every TTL gets random jitter, so entries loaded together
//     do not expire together.
//
// Entries are bounded (otter, S3-FIFO eviction). An optional second level
// (Remote: Redis, say) is shared by instances: a miss here asks it before
// the loader, and what the loader finds is stored in both; a second level
// that fails is skipped, never an error. Invalidate drops a key here;
// Delete drops it from both levels. The package knows nothing of what it
// caches.
package cache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"
	"golang.org/x/sync/singleflight"
)

// ErrNotFound is what a loader returns for a key that does not exist; the
// cache remembers it for NegativeTTL and returns it to callers.
var ErrNotFound = errors.New("cache: not found")

// Config configures New; zero values take the defaults.
type Config struct {
	MaxEntries  int              // default 100,000
	TTL         time.Duration    // default 1 minute
	NegativeTTL time.Duration    // default 5 seconds
	Jitter      float64          // fraction of the TTL added at random, default 0.1
	Beta        float64          // early refresh eagerness (XFetch β), default 1; 0 turns it off
	Now         func() time.Time // default time.Now
	Rand        func() float64   // in (0, 1]; default math/rand/v2

	// Remote is the optional shared second level; Name namespaces this
	// cache's keys in it. Values travel as JSON.
	Remote Remote
	Name   string
}

// Remote is a shared second level. Get reports found=false for a miss;
// errors (it is down, slow) make the cache skip it.
type Remote interface {
	Get(ctx context.Context, key string) (val []byte, found bool, err error)
	Set(ctx context.Context, key string, val []byte, ttl time.Duration) error
	Delete(ctx context.Context, key string) error
}

// remoteMissing is how a remembered miss is stored in the second level.
var remoteMissing = []byte{0}

// Loader fetches a value on a miss.
type Loader[K comparable, V any] func(ctx context.Context, key K) (V, error)

type entry[V any] struct {
	v       V
	missing bool
	expires time.Time
	cost    time.Duration // how long the load took: XFetch's δ
}

// value is what Get answers for the entry.
func (e entry[V]) value() (V, error) {
	if e.missing {
		var zero V
		return zero, ErrNotFound
	}
	return e.v, nil
}

// Cache is a read-through cache from K to V.
type Cache[K comparable, V any] struct {
	cfg   Config
	load  Loader[K, V]
	store *otter.Cache[K, entry[V]]
	group singleflight.Group
	keyOf func(K) string

	mu    sync.Mutex
	loads int64
	// hits and misses count reads (Get and Lookup), for metrics:
	// atomics, so that a hit costs no lock.
	hits, misses atomic.Uint64

	// gens count invalidations per stripe of keys. A load notes its
	// stripe's count before it reads and stores its result only if no
	// invalidation came meanwhile: otherwise a load that read just before
	// a write would put the old value back for a whole TTL.
	gens [256]atomic.Uint64
	seed maphash.Seed
}

// New makes a cache that loads with load.
func New[K comparable, V any](cfg Config, load Loader[K, V]) *Cache[K, V] {
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = 100_000
	}
	if cfg.TTL <= 0 {
		cfg.TTL = time.Minute
	}
	if cfg.NegativeTTL <= 0 {
		cfg.NegativeTTL = 5 * time.Second
	}
	if cfg.Jitter < 0 {
		cfg.Jitter = 0
	} else if cfg.Jitter == 0 {
		cfg.Jitter = 0.1
	}
	if cfg.Beta < 0 {
		cfg.Beta = 0
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = func() float64 { return 1 - rand.Float64() } // (0, 1]
	}
	return &Cache[K, V]{
		cfg:   cfg,
		load:  load,
		store: otter.Must(&otter.Options[K, entry[V]]{MaximumSize: cfg.MaxEntries}),
		keyOf: func(k K) string { return fmt.Sprint(k) },
		seed:  maphash.MakeSeed(),
	}
}

// Loads is how many times the loader has run (for tests and metrics).
func (c *Cache[K, V]) Loads() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.loads
}

// Stats are a cache's reads since it was made: Hits found a fresh entry
// here (a remembered miss included), Misses did not and went to the
// second level or the loader. An early refresh counts as a hit.
type Stats struct {
	Hits, Misses uint64
}

// Stats returns the cache's counts of hits and misses.
func (c *Cache[K, V]) Stats() Stats {
	return Stats{Hits: c.hits.Load(), Misses: c.misses.Load()}
}

// Get returns the value for key, loading it on a miss, an expired entry,
// or an early refresh.
func (c *Cache[K, V]) Get(ctx context.Context, key K) (V, error) {
	now := c.cfg.Now()
	e, ok := c.store.GetIfPresent(key)
	held := ok && now.Before(e.expires)
	if held {
		c.hits.Add(1)
	} else {
		c.misses.Add(1)
	}
	if held && !c.refreshEarly(e, now) {
		return e.value()
	}
	res, err, _ := c.group.Do(c.keyOf(key), func() (any, error) {
		// A load that finished between the miss above and here stored its
		// value: take it rather than load again (an early refresh, which
		// found a value, does load).
		if e, ok := c.store.GetIfPresent(key); !held && ok && c.cfg.Now().Before(e.expires) {
			return e.value()
		}
		gen := c.Generation(key)
		if v, found, missing := c.fromRemote(ctx, key, gen); found {
			if missing {
				return v, ErrNotFound
			}
			return v, nil
		}
		start := c.cfg.Now()
		v, err := c.load(ctx, key)
		cost := c.cfg.Now().Sub(start)
		c.mu.Lock()
		c.loads++
		c.mu.Unlock()
		switch {
		case errors.Is(err, ErrNotFound):
			if c.setAt(key, entry[V]{missing: true, expires: c.expiry(c.cfg.NegativeTTL), cost: cost}, gen) {
				c.toRemote(ctx, key, remoteMissing, c.cfg.NegativeTTL)
			}
			return v, ErrNotFound
		case err != nil:
			return v, err // failures are not cached: the next request tries again
		}
		if c.setAt(key, entry[V]{v: v, expires: c.expiry(c.cfg.TTL), cost: cost}, gen) {
			if b, err := json.Marshal(v); err == nil {
				c.toRemote(ctx, key, b, c.cfg.TTL)
			}
		}
		return v, nil
	})
	if err != nil {
		var zero V
		return zero, err
	}
	return res.(V), nil
}

// expiry is now + ttl + up to Jitter×ttl.
func (c *Cache[K, V]) expiry(ttl time.Duration) time.Time {
	extra := time.Duration(float64(ttl) * c.cfg.Jitter * (1 - c.cfg.Rand()))
	return c.cfg.Now().Add(ttl + extra)
}

// refreshEarly is XFetch: refresh when now − δ·β·ln(rand) ≥ expiry, where
// δ is what the last load cost. The closer to expiry and the dearer the
// load, the likelier one request refreshes ahead of the rest.
func (c *Cache[K, V]) refreshEarly(e entry[V], now time.Time) bool {
	if c.cfg.Beta == 0 || e.missing || e.cost <= 0 {
		return false
	}
	gap := -float64(e.cost) * c.cfg.Beta * math.Log(c.cfg.Rand())
	return !now.Add(time.Duration(gap)).Before(e.expires)
}

// Set stores a value the caller already has (after a write, say).
func (c *Cache[K, V]) Set(key K, v V) {
	c.store.Set(key, entry[V]{v: v, expires: c.expiry(c.cfg.TTL)})
}

// SetMissing remembers key as not existing, for NegativeTTL.
func (c *Cache[K, V]) SetMissing(key K) {
	c.store.Set(key, entry[V]{missing: true, expires: c.expiry(c.cfg.NegativeTTL)})
}

// Generation is key's invalidation count, to pass to SetAt and
// SetMissingAt by a caller that loads values itself.
func (c *Cache[K, V]) Generation(key K) uint64 { return c.stripe(key).Load() }

// SetAt stores v unless key was invalidated since gen was read; it
// reports whether it stored.
func (c *Cache[K, V]) SetAt(key K, v V, gen uint64) bool {
	return c.setAt(key, entry[V]{v: v, expires: c.expiry(c.cfg.TTL)}, gen)
}

// SetMissingAt is SetMissing under the same condition.
func (c *Cache[K, V]) SetMissingAt(key K, gen uint64) bool {
	return c.setAt(key, entry[V]{missing: true, expires: c.expiry(c.cfg.NegativeTTL)}, gen)
}

func (c *Cache[K, V]) setAt(key K, e entry[V], gen uint64) bool {
	st := c.stripe(key)
	if st.Load() != gen {
		return false
	}
	c.store.Set(key, e)
	// An invalidation between the check and the store: undo.
	if st.Load() != gen {
		c.store.Invalidate(key)
		return false
	}
	return true
}

func (c *Cache[K, V]) stripe(key K) *atomic.Uint64 {
	return &c.gens[maphash.String(c.seed, c.keyOf(key))%uint64(len(c.gens))]
}

// Lookup returns what is cached for key without loading: ok is false when
// nothing fresh is held; missing is true for a remembered miss. Batch
// readers use it to load only what is not held, in one query.
func (c *Cache[K, V]) Lookup(key K) (v V, ok, missing bool) {
	e, found := c.store.GetIfPresent(key)
	if !found || !c.cfg.Now().Before(e.expires) {
		c.misses.Add(1)
		return v, false, false
	}
	c.hits.Add(1)
	return e.v, true, e.missing
}

// Invalidate drops key here; the next Get loads it again (from the second
// level, if it has it).
func (c *Cache[K, V]) Invalidate(key K) {
	c.stripe(key).Add(1)
	c.store.Invalidate(key)
}

// Delete drops key from both levels: what the instance that changed the
// value does (the others only Invalidate).
func (c *Cache[K, V]) Delete(ctx context.Context, key K) {
	c.Invalidate(key)
	if c.cfg.Remote != nil {
		c.cfg.Remote.Delete(ctx, c.remoteKey(key))
	}
}

func (c *Cache[K, V]) remoteKey(key K) string { return c.cfg.Name + ":" + c.keyOf(key) }

// fromRemote asks the second level; what it has is kept here too, for
// the rest of the TTL (the remote entry's own age is not known: at most
// one TTL more).
func (c *Cache[K, V]) fromRemote(ctx context.Context, key K, gen uint64) (v V, found, missing bool) {
	if c.cfg.Remote == nil {
		return v, false, false
	}
	b, ok, err := c.cfg.Remote.Get(ctx, c.remoteKey(key))
	if err != nil || !ok {
		return v, false, false
	}
	if len(b) == 1 && b[0] == 0 {
		c.setAt(key, entry[V]{missing: true, expires: c.expiry(c.cfg.NegativeTTL)}, gen)
		return v, true, true
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return v, false, false
	}
	c.setAt(key, entry[V]{v: v, expires: c.expiry(c.cfg.TTL)}, gen)
	return v, true, false
}

func (c *Cache[K, V]) toRemote(ctx context.Context, key K, b []byte, ttl time.Duration) {
	if c.cfg.Remote != nil {
		c.cfg.Remote.Set(ctx, c.remoteKey(key), b, ttl)
	}
}

// Len is roughly how many entries are held.
func (c *Cache[K, V]) Len() int { return c.store.EstimatedSize() }
