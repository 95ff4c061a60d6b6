package bulkload_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/photofeed/photofeed/ids"
	"github.com/photofeed/photofeed/internal/bulkload"
	"github.com/photofeed/photofeed/internal/posts"
)

// rows keeps what a load writes.
type rows struct {
	users    []bulkload.User
	follows  []bulkload.Follow
	posts    []bulkload.Post
	finished bool
}

func (r *rows) AddUser(_ context.Context, u bulkload.User, _ string) error {
	r.users = append(r.users, u)
	return nil
}
func (r *rows) AddFollow(_ context.Context, f bulkload.Follow) error {
	r.follows = append(r.follows, f)
	return nil
}
func (r *rows) AddPost(_ context.Context, p bulkload.Post) error {
	r.posts = append(r.posts, p)
	return nil
}
func (r *rows) Finish(context.Context) error { r.finished = true; return nil }

func config() bulkload.Config {
	return bulkload.Config{Users: 500, Follows: 10_000, Posts: 3_000, Shards: 16, Seed: 7, Prefix: "b",
		Now: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), Span: 24 * time.Hour, PasswordHash: "$argon2id$x", Sample: 50,
		Images: func(_ context.Context, shard int) (posts.Images, error) {
			k := string(rune('a' + shard))
			return posts.Images{Thumb: posts.Image{Key: k + "t"}, Large: posts.Image{Key: k + "l"}, Original: posts.Image{Key: k + "o"}}, nil
		}}
}

// The dataset is what the stores would hold had it come through the API:
// each account on its username's shard, each photo on its author's, ids
// in time order, every follow before every photo, no one following
// themselves or anyone twice — and skewed, as a social graph is.
func TestLoadShape(t *testing.T) {
	cfg := config()
	var r rows
	res, err := bulkload.Load(t.Context(), cfg, &r, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.users) != cfg.Users || len(r.follows) != cfg.Follows || len(r.posts) != cfg.Posts || !r.finished {
		t.Fatalf("%d users, %d follows, %d posts (finished %v); want %d, %d, %d", len(r.users), len(r.follows), len(r.posts), r.finished,
			cfg.Users, cfg.Follows, cfg.Posts)
	}
	if res.Follows != cfg.Follows || len(res.Users) != cfg.Sample || len(res.Posts) != cfg.Sample {
		t.Fatalf("result %d follows, %d users, %d posts sampled", res.Follows, len(res.Users), len(res.Posts))
	}
	byID := map[int64]bool{}
	for _, u := range r.users {
		if ids.Shard(u.ID) != ids.ShardForKey(u.Username, cfg.Shards) || byID[u.ID] {
			t.Fatalf("user %+v: shard %d or a repeated id", u, ids.Shard(u.ID))
		}
		byID[u.ID] = true
	}
	edges := map[[2]int64]bool{}
	followers := map[int64]int{}
	lastFollow := time.Time{}
	for _, f := range r.follows {
		if f.Follower == f.Followee || edges[[2]int64{f.Follower, f.Followee}] || !byID[f.Follower] || !byID[f.Followee] {
			t.Fatalf("follow %+v: to oneself, twice, or of an unknown account", f)
		}
		edges[[2]int64{f.Follower, f.Followee}] = true
		followers[f.Followee]++
		if f.At.After(lastFollow) {
			lastFollow = f.At
		}
	}
	most := 0
	for _, n := range followers {
		most = max(most, n)
	}
	if mean := cfg.Follows / cfg.Users; most < 5*mean {
		t.Fatalf("the most followed account has %d followers, the mean is %d: no skew", most, mean)
	}
	var last int64
	for _, p := range r.posts {
		if p.ID <= last || ids.Shard(p.ID) != ids.Shard(p.AuthorID) || !byID[p.AuthorID] || !p.CreatedAt.After(lastFollow) ||
			p.CreatedAt.After(cfg.Now) || p.Images.Thumb.Key != string(rune('a'+ids.Shard(p.ID)))+"t" {
			t.Fatalf("post %+v after %d: out of order, on the wrong shard, or before the follows", p, last)
		}
		last = p.ID
	}
	t.Logf("%d users, %d follows (most followed: %d), %d posts", len(r.users), len(r.follows), most, len(r.posts))
}

// The same seed makes the same dataset.
func TestLoadIsSeeded(t *testing.T) {
	var a, b rows
	if _, err := bulkload.Load(t.Context(), config(), &a, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := bulkload.Load(t.Context(), config(), &b, nil); err != nil {
		t.Fatal(err)
	}
	for i := range a.follows {
		if a.follows[i] != b.follows[i] {
			t.Fatalf("follow %d differs: %+v, %+v", i, a.follows[i], b.follows[i])
		}
	}
	for i := range a.posts {
		if a.posts[i].AuthorID != b.posts[i].AuthorID || a.posts[i].ID != b.posts[i].ID {
			t.Fatalf("post %d differs", i)
		}
	}
}

func TestLoadRefusesWhatCannotBe(t *testing.T) {
	for name, change := range map[string]func(*bulkload.Config){
		"one user":         func(c *bulkload.Config) { c.Users = 1 },
		"too many follows": func(c *bulkload.Config) { c.Users, c.Follows = 3, 7 },
		"no password hash": func(c *bulkload.Config) { c.PasswordHash = "" },
		"no images":        func(c *bulkload.Config) { c.Images = nil },
		"negative posts":   func(c *bulkload.Config) { c.Posts = -1 },
	} {
		cfg := config()
		change(&cfg)
		var r rows
		if _, err := bulkload.Load(t.Context(), cfg, &r, nil); err == nil || len(r.users) != 0 {
			t.Errorf("%s: loaded %d users, err %v", name, len(r.users), err)
		}
	}
	cfg := config()
	cfg.Images = func(context.Context, int) (posts.Images, error) { return posts.Images{}, errors.New("disk full") }
	if _, err := bulkload.Load(t.Context(), cfg, &rows{}, nil); err == nil {
		t.Error("a failing image store did not fail the load")
	}
}
