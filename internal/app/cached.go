package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/photofeed/photofeed/cache"
	"github.com/photofeed/photofeed/internal/consistency"
	"github.com/photofeed/photofeed/internal/feed"
	"github.com/photofeed/photofeed/internal/graph"
	"github.com/photofeed/photofeed/internal/identity"
	"github.com/photofeed/photofeed/internal/posts"
)

// invalidationSubject carries "<cache> <id>" from the instance that
// changed something to every instance holding it.
const invalidationSubject = "photofeed.cache.invalidate"

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
	caches map[string]registered
}

// registered is one cache: how to drop a key here, and from every level.
type registered struct {
	invalidate func(key string)
	delete     func(ctx context.Context, key string)
}

func newInvalidations(bus broadcaster, again time.Duration, log *slog.Logger) *invalidations {
	return &invalidations{bus: bus, again: again, log: log, caches: map[string]registered{}}
}

func (iv *invalidations) register(name string, invalidate func(key string), del func(ctx context.Context, key string)) {
	iv.mu.Lock()
	iv.caches[name] = registered{invalidate, del}
	iv.mu.Unlock()
}

// drop invalidates name/key here, in the shared level, and (by broadcast)
// on every instance.
func (iv *invalidations) drop(ctx context.Context, name, key string) {
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
	if err := iv.bus.Broadcast(invalidationSubject, []byte(name+" "+key)); err != nil {
		iv.log.Warn("cache invalidation not broadcast; other instances serve the old value until its TTL", "cache", name, "key", key, "err", err)
	}
}

func (iv *invalidations) dropID(ctx context.Context, name string, id int64) {
	iv.drop(ctx, name, strconv.FormatInt(id, 10))
}

// receive handles a broadcast (its own included: dropping twice is free).
func (iv *invalidations) receive(data []byte) {
	name, key, ok := strings.Cut(string(data), " ")
	if !ok || key == "" {
		iv.log.Warn("malformed cache invalidation", "message", string(data))
		return
	}
	iv.local(name, key)
}

func (iv *invalidations) local(name, key string) {
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

// fresh reports whether the request wrote recently (it carries a
// read-your-writes token): it reads past the cache, which may predate
// its write on another instance.
func fresh(ctx context.Context) bool {
	_, ok := consistency.Token(ctx)
	return ok
}

// byID is a read-through cache of T by id over a store's single and
// batch reads, with notFound as the store's "no such" error.
type byID[T any] struct {
	c        *cache.Cache[int64, T]
	one      func(ctx context.Context, id int64) (T, error)
	many     func(ctx context.Context, ids []int64) ([]T, error)
	idOf     func(T) int64
	notFound error
}

func newByID[T any](name string, iv *invalidations, cfg cache.Config, notFound error,
	one func(context.Context, int64) (T, error), many func(context.Context, []int64) ([]T, error), idOf func(T) int64) *byID[T] {
	b := &byID[T]{one: one, many: many, idOf: idOf, notFound: notFound}
	cfg.Name = name
	cfg.NegativeTTL = min(cfg.TTL, 5*time.Second)
	b.c = cache.New(cfg, func(ctx context.Context, id int64) (T, error) {
		v, err := one(ctx, id)
		if errors.Is(err, notFound) {
			return v, cache.ErrNotFound
		}
		return v, err
	})
	iv.register(name, func(key string) {
		if id, err := strconv.ParseInt(key, 10, 64); err == nil {
			b.c.Invalidate(id)
		}
	}, func(ctx context.Context, key string) {
		if id, err := strconv.ParseInt(key, 10, 64); err == nil {
			b.c.Delete(ctx, id)
		}
	})
	return b
}

func (b *byID[T]) get(ctx context.Context, id int64) (T, error) {
	if fresh(ctx) {
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
	if fresh(ctx) {
		return b.many(ctx, ids)
	}
	out := make([]T, 0, len(ids))
	var misses []int64
	gens := map[int64]uint64{}
	for _, id := range ids {
		v, ok, missing := b.c.Lookup(id)
		switch {
		case !ok:
			misses = append(misses, id)
			gens[id] = b.c.Generation(id)
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
	found := make(map[int64]bool, len(loaded))
	for _, v := range loaded {
		id := b.idOf(v)
		found[id] = true
		b.c.SetAt(id, v, gens[id])
	}
	for _, id := range misses {
		if !found[id] {
			b.c.SetMissingAt(id, gens[id])
		}
	}
	return append(out, loaded...), nil
}

// cachedPosts caches post objects, the bulk of every feed and profile
// page; every write to a post invalidates it everywhere.
type cachedPosts struct {
	posts.Store
	byID *byID[posts.Post]
	iv   *invalidations
}

func newCachedPosts(s posts.Store, iv *invalidations, cfg cache.Config) *cachedPosts {
	return &cachedPosts{Store: s, iv: iv,
		byID: newByID("post", iv, cfg, posts.ErrPostNotFound, s.Post, s.PostsByIDs, func(p posts.Post) int64 { return p.ID })}
}

func (c *cachedPosts) Post(ctx context.Context, id int64) (posts.Post, error) {
	return c.byID.get(ctx, id)
}

func (c *cachedPosts) PostsByIDs(ctx context.Context, ids []int64) ([]posts.Post, error) {
	return c.byID.getMany(ctx, ids)
}

func (c *cachedPosts) CreatePost(ctx context.Context, p posts.Post) error {
	err := c.Store.CreatePost(ctx, p)
	if err == nil {
		c.iv.dropID(ctx, "post", p.ID)
	}
	return err
}

func (c *cachedPosts) DeletePost(ctx context.Context, id, authorID int64) (posts.Post, error) {
	p, err := c.Store.DeletePost(ctx, id, authorID)
	if err == nil {
		c.iv.dropID(ctx, "post", id)
	}
	return p, err
}

func (c *cachedPosts) Like(ctx context.Context, postID, userID int64, at time.Time) error {
	err := c.Store.Like(ctx, postID, userID, at)
	if err == nil {
		c.iv.dropID(ctx, "post", postID)
	}
	return err
}

func (c *cachedPosts) Unlike(ctx context.Context, postID, userID int64) error {
	err := c.Store.Unlike(ctx, postID, userID)
	if err == nil {
		c.iv.dropID(ctx, "post", postID)
	}
	return err
}

func (c *cachedPosts) FinishPost(ctx context.Context, id int64, im posts.Images) (bool, error) {
	ok, err := c.Store.FinishPost(ctx, id, im)
	if err == nil {
		c.iv.dropID(ctx, "post", id)
	}
	return ok, err
}

func (c *cachedPosts) FailPost(ctx context.Context, id int64) error {
	err := c.Store.FailPost(ctx, id)
	if err == nil {
		c.iv.dropID(ctx, "post", id)
	}
	return err
}

// cachedIdentity caches sessions (read on every authenticated request)
// and the authors shown beside posts (UsersByIDs); a revoked or extended
// session is invalidated everywhere. A single user read (UserByID) is not
// cached: it is how roles are checked, and a role changed from the command
// line, which reaches no instance's cache, must hold at once.
type cachedIdentity struct {
	identityStore
	sessions *byID[identity.Session]
	users    *byID[identity.User]
	names    *cache.Cache[string, int64] // username → id: never changes once taken
	iv       *invalidations
}

func newCachedIdentity(s identityStore, iv *invalidations, cfg cache.Config) *cachedIdentity {
	noBatch := func(context.Context, []int64) ([]identity.Session, error) {
		return nil, errors.New("sessions are read one at a time")
	}
	names := cfg
	names.Name, names.NegativeTTL = "username", min(cfg.TTL, 5*time.Second)
	c := &cachedIdentity{identityStore: s, iv: iv,
		names: cache.New(names, func(ctx context.Context, username string) (int64, error) {
			u, err := s.UserByUsername(ctx, username)
			if errors.Is(err, identity.ErrUserNotFound) {
				return 0, cache.ErrNotFound // profile probes of unknown names: one load per name per 5 s
			}
			return u.ID, err
		}),
		sessions: newByID("session", iv, cfg, identity.ErrSessionNotFound, s.SessionByID, noBatch, func(x identity.Session) int64 { return x.ID }),
		users:    newByID("user", iv, cfg, identity.ErrUserNotFound, s.UserByID, s.UsersByIDs, func(u identity.User) int64 { return u.ID }),
	}
	// A name remembered as free is forgotten when it is taken, everywhere.
	iv.register("username", c.names.Invalidate, c.names.Delete)
	return c
}

// UserByUsername is a profile read: the name resolves through the cache
// (unknown names remembered for a few seconds), the user by id.
func (c *cachedIdentity) UserByUsername(ctx context.Context, username string) (identity.User, error) {
	if fresh(ctx) {
		return c.identityStore.UserByUsername(ctx, username)
	}
	id, err := c.names.Get(ctx, username)
	if errors.Is(err, cache.ErrNotFound) {
		return identity.User{}, identity.ErrUserNotFound
	}
	if err != nil {
		return identity.User{}, err
	}
	us, err := c.users.getMany(ctx, []int64{id})
	if err != nil {
		return identity.User{}, err
	}
	if len(us) == 0 {
		return identity.User{}, identity.ErrUserNotFound
	}
	return us[0], nil
}

func (c *cachedIdentity) SessionByID(ctx context.Context, id int64) (identity.Session, error) {
	return c.sessions.get(ctx, id)
}

func (c *cachedIdentity) UsersByIDs(ctx context.Context, ids []int64) ([]identity.User, error) {
	return c.users.getMany(ctx, ids)
}

func (c *cachedIdentity) CreateUser(ctx context.Context, u identity.User, hash string) error {
	err := c.identityStore.CreateUser(ctx, u, hash)
	if err == nil {
		c.iv.dropID(ctx, "user", u.ID)
		c.iv.drop(ctx, "username", u.Username)
	}
	return err
}

func (c *cachedIdentity) CreateSession(ctx context.Context, s identity.Session) error {
	err := c.identityStore.CreateSession(ctx, s)
	if err == nil {
		c.iv.dropID(ctx, "session", s.ID)
	}
	return err
}

func (c *cachedIdentity) ExtendSession(ctx context.Context, id int64, expiresAt time.Time) error {
	err := c.identityStore.ExtendSession(ctx, id, expiresAt)
	if err == nil {
		c.iv.dropID(ctx, "session", id)
	}
	return err
}

func (c *cachedIdentity) RevokeSession(ctx context.Context, id int64, at time.Time) error {
	err := c.identityStore.RevokeSession(ctx, id, at)
	if err == nil {
		c.iv.dropID(ctx, "session", id)
	}
	return err
}

func (c *cachedIdentity) SetAdmin(ctx context.Context, username string, admin bool) error {
	if err := c.identityStore.SetAdmin(ctx, username, admin); err != nil {
		return err
	}
	u, err := c.identityStore.UserByUsername(ctx, username)
	if err != nil {
		return fmt.Errorf("invalidate %s: %w", username, err)
	}
	c.iv.dropID(ctx, "user", u.ID)
	return nil
}

// cachedCelebrities caches, per reader, the followed authors who are
// merged into feeds at read time: a join every feed read would otherwise
// run. A reader's own follow or unfollow drops their entry everywhere (see
// cachedGraph); an author crossing the fan-out threshold shows within the
// TTL.
type cachedCelebrities struct {
	feed.TimelineStore
	threshold int // the deployment's; a call with another reads through
	c         *cache.Cache[int64, []int64]
}

func newCachedCelebrities(s feed.TimelineStore, threshold int, iv *invalidations, cfg cache.Config) *cachedCelebrities {
	cfg.Remote = nil // small and per reader: not worth a network hop
	c := &cachedCelebrities{TimelineStore: s, threshold: threshold}
	c.c = cache.New(cfg, func(ctx context.Context, user int64) ([]int64, error) {
		return s.FollowedCelebrities(ctx, user, threshold)
	})
	drop := func(key string) {
		if id, err := strconv.ParseInt(key, 10, 64); err == nil {
			c.c.Invalidate(id)
		}
	}
	iv.register("celebs", drop, func(_ context.Context, key string) { drop(key) })
	return c
}

func (c *cachedCelebrities) FollowedCelebrities(ctx context.Context, userID int64, threshold int) ([]int64, error) {
	if fresh(ctx) || threshold != c.threshold {
		return c.TimelineStore.FollowedCelebrities(ctx, userID, threshold)
	}
	return c.c.Get(ctx, userID)
}

// cachedGraph drops the follower's cached celebrities on every follow and
// unfollow, on every instance.
type cachedGraph struct {
	graph.Store
	iv *invalidations
}

func (g cachedGraph) Follow(ctx context.Context, follower, followee int64, at time.Time) error {
	err := g.Store.Follow(ctx, follower, followee, at)
	if err == nil {
		g.iv.dropID(ctx, "celebs", follower)
	}
	return err
}

func (g cachedGraph) Unfollow(ctx context.Context, follower, followee int64) error {
	err := g.Store.Unfollow(ctx, follower, followee)
	if err == nil {
		g.iv.dropID(ctx, "celebs", follower)
	}
	return err
}
