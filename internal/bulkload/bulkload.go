// Package bulkload makes a synthetic dataset of the seed's shape — users,
// who follows whom, their photos — and hands it row by row to a store's
// bulk writer. It is for the figures that need a dataset far larger than
// seeding through the API makes in reasonable time: 100,000 accounts
// through the API cost 100,000 password hashes and as many transactions
// with their outbox events; here they cost one hash and a few large
// transactions.
//
// The shape: each user follows about Follows/Users others, chosen with a
// Zipf law over a shuffled order of the users, so a few accounts have
// very many followers (the celebrities the feed merges at read time) and
// most have a handful; each photo's author is drawn uniformly; photos
// fall in order over Span before Now, after every follow, so each is in
// its followers' home feeds.
package bulkload

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/photofeed/photofeed/ids"
	"github.com/photofeed/photofeed/internal/posts"
)

// Config sizes a dataset.
type Config struct {
	Users, Follows, Posts int
	// Shards is the deployment's count of logical shards: a user's shard
	// comes from their username, as when they register.
	Shards int
	Seed   uint64
	// Now ends the photos' Span; the accounts and follows come before it.
	Now  time.Time
	Span time.Duration
	// Prefix starts every username (e.g. "bulk"), so a dataset's accounts
	// are told apart from real ones.
	Prefix string
	// PasswordHash is every account's (a PHC string): one password opens
	// any of them.
	PasswordHash string
	// Images returns the variants each photo of a logical shard shows
	// (blobs are kept per shard, so one set per shard is enough).
	Images func(ctx context.Context, shard int) (posts.Images, error)
	// Sample is how many accounts and photos Result lists, for a load
	// generator to use.
	Sample int
}

// User, Follow and Post are rows as a Sink takes them.
type User struct {
	ID        int64
	Username  string
	CreatedAt time.Time
}

type Follow struct {
	Follower, Followee int64
	At                 time.Time
}

type Post struct {
	ID, AuthorID int64
	Caption      string
	CreatedAt    time.Time
	Images       posts.Images
}

// Sink writes the rows: every user, then every follow, then every post,
// then Finish, which derives what follows from them (counts) and commits.
type Sink interface {
	AddUser(ctx context.Context, u User, passwordHash string) error
	AddFollow(ctx context.Context, f Follow) error
	AddPost(ctx context.Context, p Post) error
	Finish(ctx context.Context) error
}

// Result lists a sample of what was written, for the load generator.
type Result struct {
	Users   []string // usernames
	Posts   []int64
	Follows int // edges written (duplicates drawn are skipped)
}

// Progress hears how far each phase ("accounts", "follows", "photos")
// has come: done of total, now and then and at its end.
type Progress func(phase string, done, total int)

// Load writes the dataset cfg describes to sink, telling progress (nil:
// no one).
func Load(ctx context.Context, cfg Config, sink Sink, progress Progress) (Result, error) {
	if cfg.Users < 2 || cfg.Follows < 0 || cfg.Posts < 0 || cfg.Shards < 1 || cfg.Images == nil || cfg.PasswordHash == "" {
		return Result{}, errors.New("bulk load: needs at least 2 users, a password hash, shards and images")
	}
	if cfg.Follows > cfg.Users*(cfg.Users-1) {
		return Result{}, fmt.Errorf("bulk load: %d follows do not fit %d users", cfg.Follows, cfg.Users)
	}
	if progress == nil {
		progress = func(string, int, int) {}
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x5eed))
	start := cfg.Now.Add(-cfg.Span)
	// Accounts are made a millisecond apart, an hour before the follows.
	userAt := start.Add(-time.Hour - time.Duration(cfg.Users)*time.Millisecond)
	var at time.Time
	gen := ids.NewGeneratorWithStart(func() time.Time { return at }, func() int { return 0 })

	users := make([]int64, cfg.Users)
	var res Result
	for i := range users {
		at = userAt.Add(time.Duration(i) * time.Millisecond)
		name := cfg.Prefix + strconv.Itoa(i)
		id, err := gen.Next(ids.ShardForKey(name, cfg.Shards))
		if err != nil {
			return res, err
		}
		users[i] = id
		if err := sink.AddUser(ctx, User{ID: id, Username: name, CreatedAt: at}, cfg.PasswordHash); err != nil {
			return res, fmt.Errorf("bulk load: user %s: %w", name, err)
		}
		if i < cfg.Sample {
			res.Users = append(res.Users, name)
		}
		tell(progress, "accounts", i+1, cfg.Users)
	}

	// Popularity: rank r (0 most followed) is user popular[r].
	popular := rng.Perm(cfg.Users)
	zipf := rand.NewZipf(rng, 1.1, 8, uint64(cfg.Users-1))
	per, extra := cfg.Follows/cfg.Users, cfg.Follows%cfg.Users
	followAt := start.Add(-time.Minute)
	for i, follower := range users {
		want := per
		if i < extra {
			want++
		}
		want = min(want, cfg.Users-1)
		chosen := make(map[int]bool, want)
		var order []int // as drawn: a map's order would make the seed's dataset vary
		pick := func(j int) {
			if users[j] != follower && !chosen[j] {
				chosen[j] = true
				order = append(order, j)
			}
		}
		for tries := 0; len(order) < want && tries < want*20; tries++ {
			pick(popular[zipf.Uint64()])
		}
		for len(order) < want { // the law keeps drawing the same few: fill uniformly
			pick(rng.IntN(cfg.Users))
		}
		for _, j := range order {
			if err := sink.AddFollow(ctx, Follow{Follower: follower, Followee: users[j], At: followAt}); err != nil {
				return res, fmt.Errorf("bulk load: follow: %w", err)
			}
			res.Follows++
		}
		tell(progress, "follows", res.Follows, cfg.Follows)
	}

	images := map[int]posts.Images{}
	step := cfg.Span / time.Duration(max(cfg.Posts, 1))
	every := max(cfg.Posts/max(cfg.Sample, 1), 1)
	for i := range cfg.Posts {
		at = start.Add(time.Duration(i) * step)
		author := users[rng.IntN(cfg.Users)]
		shard := ids.Shard(author)
		im, ok := images[shard]
		if !ok {
			var err error
			if im, err = cfg.Images(ctx, shard); err != nil {
				return res, fmt.Errorf("bulk load: images of shard %d: %w", shard, err)
			}
			images[shard] = im
		}
		id, err := gen.Next(shard)
		if err != nil {
			return res, err
		}
		p := Post{ID: id, AuthorID: author, Caption: "photo " + strconv.Itoa(i) + " #bulk", CreatedAt: ids.Time(id), Images: im}
		if err := sink.AddPost(ctx, p); err != nil {
			return res, fmt.Errorf("bulk load: post: %w", err)
		}
		if i%every == 0 && len(res.Posts) < cfg.Sample {
			res.Posts = append(res.Posts, id)
		}
		tell(progress, "photos", i+1, cfg.Posts)
	}
	if err := sink.Finish(ctx); err != nil {
		return res, fmt.Errorf("bulk load: %w", err)
	}
	return res, nil
}

// tell reports every thousandth row of a phase, and its last.
func tell(progress Progress, phase string, done, total int) {
	if done%1000 == 0 || done == total {
		progress(phase, done, total)
	}
}
