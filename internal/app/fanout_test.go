package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/photofeed/photofeed/idempotency"
	"github.com/photofeed/photofeed/ids"
	"github.com/photofeed/photofeed/internal/feed"
	"github.com/photofeed/photofeed/internal/identity"
	"github.com/photofeed/photofeed/internal/posts"
	"github.com/photofeed/photofeed/internal/testenv"
)

// world seeds users, follows and posts straight into a node's store.
type world struct {
	tb  testing.TB
	n   *node
	gen *ids.Generator
}

func newWorld(tb testing.TB, extra ...string) *world {
	return &world{tb: tb, n: buildTestNode(tb, extra...), gen: ids.NewGenerator(nil)}
}

func (w *world) user(name string) int64 {
	id, _ := w.gen.Next(ids.ShardForKey(name, 1024))
	if err := w.n.db.Identity().CreateUser(context.Background(), identity.User{ID: id, Username: name, DisplayName: name, CreatedAt: time.Now()}, "x", idempotency.Claim{}); err != nil {
		w.tb.Fatal(err)
	}
	return id
}

func (w *world) follow(follower, followee int64) {
	if err := w.n.db.Graph().Follow(context.Background(), follower, followee, time.Now()); err != nil {
		w.tb.Fatal(err)
	}
}

func (w *world) post(author int64) int64 {
	id, _ := w.gen.Next(ids.Shard(author))
	im := posts.Image{Key: fmt.Sprintf("%x.jpg", id), Width: 1, Height: 1}
	if err := w.n.db.Posts().CreatePost(context.Background(), posts.Post{ID: id, AuthorID: author, CreatedAt: ids.Time(id),
		Images: posts.Images{Thumb: im, Large: im, Original: im}}, idempotency.Claim{}); err != nil {
		w.tb.Fatal(err)
	}
	return id
}

// caughtUp waits until the fan-out consumer has handled every event.
func (w *world) caughtUp() {
	w.tb.Helper()
	var head, off int64
	if !testenv.Poll(30*time.Second, func() bool {
		head, _ = outboxHead(w.n.db)
		off, _ = w.n.db.Timelines().Offset(context.Background(), feed.ConsumerName)
		return off >= head
	}) {
		w.tb.Fatalf("fan-out stuck at %d of %d", off, head)
	}
}

func (w *world) timeline(user int64) []int64 {
	got, _, err := w.n.db.Timelines().Timeline(context.Background(), user, 0, 10_000, true)
	if err != nil {
		w.tb.Fatal(err)
	}
	return got
}

// Stopping the worker (relay and consumer) mid-stream and starting it again
// leaves every follower's timeline with each post exactly once.
func TestFanOutSurvivesWorkerRestart(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	author := w.user("author")
	var followers []int64
	for i := range 100 {
		f := w.user(fmt.Sprint("fan_", i))
		w.follow(f, author)
		w.n.db.Timelines().Rebuild(ctx, f, 10_000, 800)
		followers = append(followers, f)
	}
	stop := w.n.start(ctx)
	var want []int64
	for range 5 {
		want = append(want, w.post(author))
	}
	w.caughtUp()
	for range 5 { // events flowing when the worker is killed
		want = append(want, w.post(author))
	}
	stop()
	for range 5 { // posted while no worker runs
		want = append(want, w.post(author))
	}
	stop = w.n.start(ctx)
	defer stop()
	w.caughtUp()
	slices.Sort(want)
	slices.Reverse(want)
	for _, f := range followers {
		if got := w.timeline(f); !slices.Equal(got, want) {
			t.Fatalf("follower %d has %d posts %v, want each of %d exactly once", f, len(got), got, len(want))
		}
	}
}

// An author above the threshold is not fanned out: a post costs one
// timeline write (the author's own) however many followers there are, and
// still reaches every follower's feed, merged in at read time.
func TestHighFollowerAuthorIsMergedAtRead(t *testing.T) {
	w := newWorld(t, "--fanout-threshold", "3")
	ctx := context.Background()
	stop := w.n.start(ctx)
	defer stop()
	celeb, friend := w.user("celeb"), w.user("friend")
	var fans []int64
	for i := range 5 {
		f := w.user(fmt.Sprint("fan_", i))
		w.follow(f, celeb)
		w.follow(f, friend)
		w.n.db.Timelines().Rebuild(ctx, f, 3, 800)
		fans = append(fans, f)
	}
	w.n.db.Timelines().Rebuild(ctx, celeb, 3, 800)
	w.caughtUp()
	rowsBefore := 0
	for _, f := range append(fans, celeb) {
		rowsBefore += len(w.timeline(f))
	}
	p := w.post(celeb)
	q := w.post(friend)
	w.caughtUp()
	rowsAfter := 0
	for _, f := range append(fans, celeb) {
		rowsAfter += len(w.timeline(f))
	}
	// Both authors have 5 followers, above the threshold of 3.
	if rowsAfter-rowsBefore != 1 {
		t.Fatalf("posts of high-follower authors wrote %d timeline rows, want 1 (the author's own)", rowsAfter-rowsBefore)
	}
	for _, f := range fans {
		page, err := w.n.feed.Home(ctx, f, "", 20)
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for _, p := range page.Posts {
			got = append(got, p.ID)
		}
		if want := []int64{max(p, q), min(p, q)}; !slices.Equal(got, want) {
			t.Fatalf("fan %d's feed %v, want %v merged at read time", f, got, want)
		}
	}
}

// BenchmarkFanOut10k: one author with 10,000 followers (all with
// timelines) posts; the time until the post is in all 10,000 timelines.
func BenchmarkFanOut10k(b *testing.B) {
	w := newWorld(b)
	ctx := context.Background()
	author := w.user("author")
	for i := range 10_000 {
		f := w.user(fmt.Sprint("fan_", i))
		w.follow(f, author)
		w.n.db.Timelines().Rebuild(ctx, f, 10_000, 800)
	}
	stop := w.n.start(ctx)
	defer stop()
	w.caughtUp()
	var lat []time.Duration
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		w.post(author)
		w.caughtUp()
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Milliseconds()), "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Milliseconds()), "p99-ms")
}

// BenchmarkFeedRead: one page of 20 from a reader following 50 authors of
// 10 posts each, when all 50 are fanned out (one timeline read) and when
// all 50 are above the threshold (merged at read: a query per author).
func BenchmarkFeedRead(b *testing.B) {
	for _, tc := range []struct {
		name      string
		threshold string
	}{{"fanned-out", "10000"}, {"50-high-follower-authors", "0"}} {
		b.Run(tc.name, func(b *testing.B) {
			w := newWorld(b, "--fanout-threshold", tc.threshold)
			ctx := context.Background()
			stop := w.n.start(ctx)
			defer stop()
			reader := w.user("reader")
			for a := range 50 {
				author := w.user(fmt.Sprint("author_", a))
				w.follow(reader, author)
				for range 10 {
					w.post(author)
				}
			}
			w.caughtUp()
			if _, err := w.n.feed.Home(ctx, reader, "", 20); err != nil { // builds the timeline
				b.Fatal(err)
			}
			for b.Loop() {
				page, err := w.n.feed.Home(ctx, reader, "", 20)
				if err != nil || len(page.Posts) != 20 {
					b.Fatal(len(page.Posts), err)
				}
			}
		})
	}
}

// outboxHead is the newest event of every outbox, summed: what the
// fan-out's summed offsets reach when it has caught up.
func outboxHead(db *database) (int64, error) {
	var sum int64
	for _, p := range db.parts {
		h, err := p.outbox.Head(context.Background())
		if err != nil {
			return 0, err
		}
		sum += h
	}
	return sum, nil
}

// signIn signs a new user up through the node's handler and returns a
// session token for them.
func (w *world) signIn(username string) string {
	body := `{"username":"` + username + `","password":"0123456789"}`
	signup := httptest.NewRequest("POST", "/v1/accounts", strings.NewReader(body))
	signup.Header.Set("Content-Type", "application/json")
	w.n.handler.ServeHTTP(httptest.NewRecorder(), signup)
	login := httptest.NewRequest("POST", "/v1/sessions", strings.NewReader(body))
	login.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	w.n.handler.ServeHTTP(rec, login)
	var sess struct{ Token string }
	if err := json.Unmarshal(rec.Body.Bytes(), &sess); err != nil || sess.Token == "" {
		w.tb.Fatalf("sign in %s: %d %s", username, rec.Code, rec.Body)
	}
	return sess.Token
}
