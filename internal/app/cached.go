package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/photofeed/photofeed/cache"
	"github.com/photofeed/photofeed/idempotency"
	"github.com/photofeed/photofeed/internal/feed"
	"github.com/photofeed/photofeed/internal/graph"
	"github.com/photofeed/photofeed/internal/identity"
	"github.com/photofeed/photofeed/internal/natsbus"
	"github.com/photofeed/photofeed/internal/posts"
	"github.com/photofeed/photofeed/internal/redisstore"
	"github.com/photofeed/photofeed/resilience"
)

// readStores are the stores the services read through: the database's,
// or caches in front of them.
type readStores struct {
	identity      identity.Store
	posts         posts.Store
	graph         graph.Store
	readTimelines feed.TimelineStore // what feed reads use; the fan-out writes to the store itself
	// caches are the caches' hits and misses by name; nil without caches.
	caches func() map[cacheName]cache.Stats
}

// cachedStores puts the caches in front of the hot reads (sessions,
// profiles, posts, authors, each reader's merged-at-read authors), every
// write invalidating its keys on all instances over the bus; with
// --cache-ttl 0 the services read the stores directly. A read for which
// fresh holds (its request wrote recently) goes past the caches, which
// may predate its write on another instance.
func (n *node) cachedStores(cfg Config, db *database, bus *natsbus.Bus, rdb *redis.Client, timelines feed.TimelineStore,
	fresh func(context.Context) bool) (readStores, error) {
	plain := readStores{identity: db.Identity(), posts: db.Posts(), graph: db.Graph(), readTimelines: timelines}
	if cfg.CacheTTL <= 0 {
		return plain, nil
	}
	var again time.Duration
	if db.Replicas != nil {
		again = cfg.ReplicaMaxLag
	}
	iv := newInvalidations(bus, again, n.log)
	stop, err := bus.Listen(invalidationSubject, iv.receive)
	if err != nil {
		return readStores{}, err
	}
	n.closers = append(n.closers, func() error { stop(); return nil })
	cc := cache.Config{TTL: cfg.CacheTTL}
	if rdb != nil {
		cc.Remote = redisstore.NewCacheRemote(rdb, "photofeed:cache:", resilience.GuardConfig{})
	}
	return readStores{
		identity:      newCachedIdentity(db.Identity(), iv, cc, fresh),
		posts:         newCachedPosts(db.Posts(), iv, cc, fresh),
		graph:         newCachedGraph(db.Graph(), iv),
		readTimelines: newCachedCelebrities(timelines, cfg.FanOutThreshold, iv, cc, fresh),
		caches:        iv.stats,
	}, nil
}

// byID is a read-through cache of T by id over a store's single and
// batch reads, with notFound as the store's "no such" error; a read that
// must be fresh goes to the store.
type byID[T any] struct {
	c        *cache.Cache[int64, T]
	fresh    func(context.Context) bool
	one      func(ctx context.Context, id int64) (T, error)
	many     func(ctx context.Context, ids []int64) ([]T, error)
	idOf     func(T) int64
	notFound error
}

func newByID[T any](name cacheName, iv *invalidations, cfg cache.Config, fresh func(context.Context) bool, notFound error,
	one func(context.Context, int64) (T, error), many func(context.Context, []int64) ([]T, error), idOf func(T) int64) *byID[T] {
	b := &byID[T]{fresh: fresh, one: one, many: many, idOf: idOf, notFound: notFound}
	cfg.Name = string(name)
	cfg.NegativeTTL = min(cfg.TTL, 5*time.Second)
	b.c = cache.New(cfg, func(ctx context.Context, id int64) (T, error) {
		v, err := one(ctx, id)
		if errors.Is(err, notFound) {
			return v, cache.ErrNotFound
		}
		return v, err
	})
	iv.registerIDs(name, b.c.Invalidate, b.c.Delete, b.c.Stats)
	return b
}

func (b *byID[T]) get(ctx context.Context, id int64) (T, error) {
	if b.fresh(ctx) {
		gen := b.c.Generation(id)
		v, err := b.one(ctx, id)
		if err == nil {
			b.c.SetAt(id, v, gen)
		}
		return v, err
	}
	v, err := b.c.Get(ctx, id)
	if errors.Is(err, cache.ErrNotFound) {
		return v, b.notFound
	}
	return v, err
}

// getMany serves what is cached and loads the rest in one batch read.
func (b *byID[T]) getMany(ctx context.Context, ids []int64) ([]T, error) {
	if b.fresh(ctx) {
		return b.many(ctx, ids)
	}
	out := make([]T, 0, len(ids))
	var misses []int64
	var gens []uint64 // of misses[i], read before the load
	for _, id := range ids {
		v, ok, missing := b.c.Lookup(id)
		switch {
		case !ok:
			misses = append(misses, id)
			gens = append(gens, b.c.Generation(id))
		case !missing:
			out = append(out, v)
		}
	}
	if len(misses) == 0 {
		return out, nil
	}
	loaded, err := b.many(ctx, misses)
	if err != nil {
		return nil, err
	}
	pending := make(map[int64]uint64, len(misses))
	for i, id := range misses {
		pending[id] = gens[i]
	}
	for _, v := range loaded {
		id := b.idOf(v)
		b.c.SetAt(id, v, pending[id])
		delete(pending, id)
	}
	out = append(out, loaded...)
	// Asked for, not there: the batch may have been read on a replica
	// that has not replayed them yet, so its word is not cached. The one-
	// by-one read asks the primary on a replica's miss before it caches a
	// miss; outside a replica's lag (a deleted post in a feed) this is rare.
	for id := range pending {
		v, err := b.c.Get(ctx, id)
		switch {
		case err == nil:
			out = append(out, v)
		case !errors.Is(err, cache.ErrNotFound):
			return nil, err
		}
	}
	return out, nil
}

// cachedPosts caches post objects, the bulk of every feed and profile
// page; every write to a post invalidates it everywhere.
type cachedPosts struct {
	store posts.Store
	byID  *byID[posts.Post]
	iv    *invalidations
}

var _ posts.Store = (*cachedPosts)(nil)

func newCachedPosts(s posts.Store, iv *invalidations, cfg cache.Config, fresh func(context.Context) bool) *cachedPosts {
	return &cachedPosts{store: s, iv: iv,
		byID: newByID(cachePost, iv, cfg, fresh, posts.ErrPostNotFound, s.Post, s.PostsByIDs, func(p posts.Post) int64 { return p.ID })}
}

func (c *cachedPosts) Post(ctx context.Context, id int64) (posts.Post, error) {
	return c.byID.get(ctx, id)
}

func (c *cachedPosts) CurrentPost(ctx context.Context, id int64) (posts.Post, error) {
	return c.store.CurrentPost(ctx, id)
}

func (c *cachedPosts) PostsByIDs(ctx context.Context, ids []int64) ([]posts.Post, error) {
	return c.byID.getMany(ctx, ids)
}

// A profile's list and count change with every post: cached, they would
// need an invalidation per author on every write for a read that is one
// indexed query.
func (c *cachedPosts) PostsByAuthor(ctx context.Context, authorID int64, offset, limit int) ([]posts.Post, error) {
	return c.store.PostsByAuthor(ctx, authorID, offset, limit)
}

func (c *cachedPosts) CountByAuthor(ctx context.Context, authorID int64) (int64, error) {
	return c.store.CountByAuthor(ctx, authorID)
}

// LikedBy is per reader and changes with their every like: not cached.
func (c *cachedPosts) LikedBy(ctx context.Context, userID int64, postIDs []int64) (map[int64]bool, error) {
	return c.store.LikedBy(ctx, userID, postIDs)
}

// ImageInUse and DeleteIfUnused decide whether a blob may be deleted:
// only the database's answer will do.
func (c *cachedPosts) ImageInUse(ctx context.Context, key string) (bool, error) {
	return c.store.ImageInUse(ctx, key)
}

func (c *cachedPosts) DeleteIfUnused(ctx context.Context, key string, del func(context.Context) error) (bool, error) {
	return c.store.DeleteIfUnused(ctx, key, del)
}

func (c *cachedPosts) CreatePost(ctx context.Context, p posts.Post, claim idempotency.Claim) error {
	err := c.store.CreatePost(ctx, p, claim)
	if err == nil {
		c.iv.dropID(ctx, cachePost, p.ID) // a read before the commit may have remembered it missing
	}
	return err
}

func (c *cachedPosts) DeletePost(ctx context.Context, id, authorID int64) (posts.Post, error) {
	p, err := c.store.DeletePost(ctx, id, authorID)
	if err == nil {
		c.iv.dropID(ctx, cachePost, id)
	}
	return p, err
}

func (c *cachedPosts) Like(ctx context.Context, postID, userID int64, at time.Time) error {
	err := c.store.Like(ctx, postID, userID, at)
	if err == nil {
		c.iv.dropID(ctx, cachePost, postID)
	}
	return err
}

func (c *cachedPosts) Unlike(ctx context.Context, postID, userID int64) error {
	err := c.store.Unlike(ctx, postID, userID)
	if err == nil {
		c.iv.dropID(ctx, cachePost, postID)
	}
	return err
}

func (c *cachedPosts) FinishPost(ctx context.Context, id int64, im posts.Images) (bool, error) {
	ok, err := c.store.FinishPost(ctx, id, im)
	if err == nil {
		c.iv.dropID(ctx, cachePost, id)
	}
	return ok, err
}

func (c *cachedPosts) FailPost(ctx context.Context, id int64) error {
	err := c.store.FailPost(ctx, id)
	if err == nil {
		c.iv.dropID(ctx, cachePost, id)
	}
	return err
}

// cachedIdentity caches sessions (read on every authenticated request)
// and the authors shown beside posts (UsersByIDs); a revoked or extended
// session is invalidated everywhere. A single user read (UserByID) is not
// cached: it is how roles are checked, and a role changed from the command
// line, which reaches no instance's cache, must hold at once.
type cachedIdentity struct {
	store    identityStore
	sessions *byID[identity.Session]
	users    *byID[identity.User]
	names    *cache.Cache[string, int64] // username → id: never changes once taken
	iv       *invalidations
	fresh    func(context.Context) bool
}

var _ identityStore = (*cachedIdentity)(nil)

func newCachedIdentity(s identityStore, iv *invalidations, cfg cache.Config, fresh func(context.Context) bool) *cachedIdentity {
	noBatch := func(context.Context, []int64) ([]identity.Session, error) {
		return nil, errors.New("sessions are read one at a time")
	}
	names := cfg
	names.Name, names.NegativeTTL = string(cacheUsername), min(cfg.TTL, 5*time.Second)
	c := &cachedIdentity{store: s, iv: iv, fresh: fresh,
		names: cache.New(names, func(ctx context.Context, username string) (int64, error) {
			u, err := s.UserByUsername(ctx, username)
			if errors.Is(err, identity.ErrUserNotFound) {
				return 0, cache.ErrNotFound // profile probes of unknown names: one load per name per 5 s
			}
			return u.ID, err
		}),
		sessions: newByID(cacheSession, iv, cfg, fresh, identity.ErrSessionNotFound, s.SessionByID, noBatch, func(x identity.Session) int64 { return x.ID }),
		users:    newByID(cacheUser, iv, cfg, fresh, identity.ErrUserNotFound, s.UserByID, s.UsersByIDs, func(u identity.User) int64 { return u.ID }),
	}
	// A name remembered as free is forgotten when it is taken, everywhere.
	iv.register(cacheUsername, c.names.Invalidate, c.names.Delete, c.names.Stats)
	return c
}

// UserByID is not cached: see cachedIdentity.
func (c *cachedIdentity) UserByID(ctx context.Context, id int64) (identity.User, error) {
	return c.store.UserByID(ctx, id)
}

// UserByUsername is a profile read: the name resolves through the cache
// (unknown names remembered for a few seconds), the user by id.
func (c *cachedIdentity) UserByUsername(ctx context.Context, username string) (identity.User, error) {
	if c.fresh(ctx) {
		return c.store.UserByUsername(ctx, username)
	}
	id, err := c.names.Get(ctx, username)
	if errors.Is(err, cache.ErrNotFound) {
		return identity.User{}, identity.ErrUserNotFound
	}
	if err != nil {
		return identity.User{}, err
	}
	return c.users.get(ctx, id)
}

func (c *cachedIdentity) UsersByIDs(ctx context.Context, ids []int64) ([]identity.User, error) {
	return c.users.getMany(ctx, ids)
}

// PasswordHash is read once per login, and a stale hash must never
// answer one: not cached.
func (c *cachedIdentity) PasswordHash(ctx context.Context, username string) (int64, string, error) {
	return c.store.PasswordHash(ctx, username)
}

func (c *cachedIdentity) SessionByID(ctx context.Context, id int64) (identity.Session, error) {
	s, err := c.sessions.get(ctx, id)
	if s.RevokedAt != nil { // the cached copy's: the caller gets its own, as from the store
		at := *s.RevokedAt
		s.RevokedAt = &at
	}
	return s, err
}

func (c *cachedIdentity) CreateUser(ctx context.Context, u identity.User, hash string, claim idempotency.Claim) error {
	err := c.store.CreateUser(ctx, u, hash, claim)
	if err == nil {
		c.iv.dropID(ctx, cacheUser, u.ID)
		c.iv.drop(ctx, cacheUsername, u.Username)
	}
	return err
}

func (c *cachedIdentity) CreateSession(ctx context.Context, s identity.Session) error {
	err := c.store.CreateSession(ctx, s)
	if err == nil {
		c.iv.dropID(ctx, cacheSession, s.ID)
	}
	return err
}

func (c *cachedIdentity) ExtendSession(ctx context.Context, id int64, expiresAt time.Time) error {
	err := c.store.ExtendSession(ctx, id, expiresAt)
	if err == nil {
		c.iv.dropID(ctx, cacheSession, id)
	}
	return err
}

func (c *cachedIdentity) RevokeSession(ctx context.Context, id int64, at time.Time) error {
	err := c.store.RevokeSession(ctx, id, at)
	if err == nil {
		c.iv.dropID(ctx, cacheSession, id)
	}
	return err
}

// DeleteExpiredSessions drops nothing from the caches: a cached copy of
// a session it deletes has expired, and the service refuses it for that.
func (c *cachedIdentity) DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error) {
	return c.store.DeleteExpiredSessions(ctx, now)
}

func (c *cachedIdentity) SetAdmin(ctx context.Context, username string, admin bool) error {
	if err := c.store.SetAdmin(ctx, username, admin); err != nil {
		return err
	}
	u, err := c.store.UserByUsername(ctx, username)
	if err != nil {
		return fmt.Errorf("invalidate %s: %w", username, err)
	}
	c.iv.dropID(ctx, cacheUser, u.ID)
	return nil
}

// cachedCelebrities caches, per reader, the followed authors who are
// merged into feeds at read time: a join every feed read would otherwise
// run. A reader's own follow or unfollow drops their entry everywhere (see
// cachedGraph); an author crossing the fan-out threshold shows within the
// TTL. The rest of the timeline store passes through: timelines change
// with every post fanned out, and the fan-out writes to the store itself.
type cachedCelebrities struct {
	store     feed.TimelineStore
	threshold int // the deployment's; a call with another reads through
	c         *cache.Cache[int64, []int64]
	fresh     func(context.Context) bool
}

var _ feed.TimelineStore = (*cachedCelebrities)(nil)

func newCachedCelebrities(s feed.TimelineStore, threshold int, iv *invalidations, cfg cache.Config, fresh func(context.Context) bool) *cachedCelebrities {
	cfg.Remote = nil // small and per reader: not worth a network hop
	c := &cachedCelebrities{store: s, threshold: threshold, fresh: fresh}
	c.c = cache.New(cfg, func(ctx context.Context, user int64) ([]int64, error) {
		return s.FollowedCelebrities(ctx, user, threshold)
	})
	iv.registerIDs(cacheCelebs, c.c.Invalidate, func(_ context.Context, user int64) { c.c.Invalidate(user) }, c.c.Stats)
	return c
}

func (c *cachedCelebrities) FollowedCelebrities(ctx context.Context, userID int64, threshold int) ([]int64, error) {
	if c.fresh(ctx) || threshold != c.threshold {
		return c.store.FollowedCelebrities(ctx, userID, threshold)
	}
	ids, err := c.c.Get(ctx, userID)
	return slices.Clone(ids), err // the cached slice is every reader's: the caller gets its own, as from the store
}

func (c *cachedCelebrities) Timeline(ctx context.Context, userID, beforeID int64, limit int, current bool) ([]int64, bool, error) {
	return c.store.Timeline(ctx, userID, beforeID, limit, current)
}

func (c *cachedCelebrities) Rebuild(ctx context.Context, userID int64, threshold, capN int) error {
	return c.store.Rebuild(ctx, userID, threshold, capN)
}

func (c *cachedCelebrities) WriteModelTimeline(ctx context.Context, userID, beforeID int64, threshold, limit int) ([]int64, error) {
	return c.store.WriteModelTimeline(ctx, userID, beforeID, threshold, limit)
}

func (c *cachedCelebrities) RecentByAuthor(ctx context.Context, authorID, beforeID int64, limit int) ([]int64, error) {
	return c.store.RecentByAuthor(ctx, authorID, beforeID, limit)
}

func (c *cachedCelebrities) FanOut(ctx context.Context, consumer string, seq, postID, authorID int64, threshold, capN int) error {
	return c.store.FanOut(ctx, consumer, seq, postID, authorID, threshold, capN)
}

func (c *cachedCelebrities) RemovePost(ctx context.Context, consumer string, seq, postID, authorID int64) error {
	return c.store.RemovePost(ctx, consumer, seq, postID, authorID)
}

// Backfill and RemoveAuthor follow a follow or unfollow, whose write
// already dropped the follower's entry (cachedGraph).
func (c *cachedCelebrities) Backfill(ctx context.Context, consumer string, seq, follower, followee int64, threshold, capN int) error {
	return c.store.Backfill(ctx, consumer, seq, follower, followee, threshold, capN)
}

func (c *cachedCelebrities) RemoveAuthor(ctx context.Context, consumer string, seq, follower, followee int64) error {
	return c.store.RemoveAuthor(ctx, consumer, seq, follower, followee)
}

func (c *cachedCelebrities) Advance(ctx context.Context, consumer string, seq int64) error {
	return c.store.Advance(ctx, consumer, seq)
}

func (c *cachedCelebrities) Offset(ctx context.Context, consumer string) (int64, error) {
	return c.store.Offset(ctx, consumer)
}

func (c *cachedCelebrities) Lag(ctx context.Context, consumer string) (int64, int64, error) {
	return c.store.Lag(ctx, consumer)
}

// cachedGraph drops the follower's cached celebrities on every follow and
// unfollow, on every instance. Its reads (counts, lists) are not cached:
// each changes with any follow of the user, by anyone.
type cachedGraph struct {
	store graph.Store
	iv    *invalidations
}

var _ graph.Store = (*cachedGraph)(nil)

func newCachedGraph(s graph.Store, iv *invalidations) *cachedGraph {
	return &cachedGraph{store: s, iv: iv}
}

func (g *cachedGraph) Follow(ctx context.Context, follower, followee int64, at time.Time) error {
	err := g.store.Follow(ctx, follower, followee, at)
	if err == nil {
		g.iv.dropID(ctx, cacheCelebs, follower)
	}
	return err
}

func (g *cachedGraph) Unfollow(ctx context.Context, follower, followee int64) error {
	err := g.store.Unfollow(ctx, follower, followee)
	if err == nil {
		g.iv.dropID(ctx, cacheCelebs, follower)
	}
	return err
}

func (g *cachedGraph) IsFollowing(ctx context.Context, follower, followee int64) (bool, error) {
	return g.store.IsFollowing(ctx, follower, followee)
}

func (g *cachedGraph) Counts(ctx context.Context, userID int64) (graph.Counts, error) {
	return g.store.Counts(ctx, userID)
}

func (g *cachedGraph) Followers(ctx context.Context, userID int64, offset, limit int) ([]int64, error) {
	return g.store.Followers(ctx, userID, offset, limit)
}

func (g *cachedGraph) Following(ctx context.Context, userID int64, offset, limit int) ([]int64, error) {
	return g.store.Following(ctx, userID, offset, limit)
}
