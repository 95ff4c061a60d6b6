// Package storetest is the conformance suite every store adapter runs, so
// SQLite and PostgreSQL behave the same behind the same interfaces.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/photofeed/photofeed/idempotency"
	"github.com/photofeed/photofeed/ids"
	"github.com/photofeed/photofeed/internal/feed"
	"github.com/photofeed/photofeed/internal/graph"
	"github.com/photofeed/photofeed/internal/identity"
	"github.com/photofeed/photofeed/internal/posts"
)

// Stores are the ports an adapter implements.
type Stores struct {
	Identity  identity.Store
	Posts     posts.Store
	Graph     graph.Store
	Timelines feed.TimelineStore
	// Mirror, where a follow's two sides can be on different databases,
	// completes the followee's side, as the event consumer does after
	// each follow and unfollow.
	Mirror func(ctx context.Context, follower, followee int64) error
	// Idempotency, where the adapter keeps idempotency keys in the
	// database of the writes they guard, is that store: the writes made
	// under a claim mark its key there. Nil skips ClaimedWrites.
	Idempotency idempotency.Store
}

// Run runs the suite; open must return empty stores for each call.
func Run(t *testing.T, open func(t *testing.T) Stores) {
	tests := []struct {
		name string
		fn   func(*testing.T, *fixture)
	}{
		{"Users", testUsers},
		{"Sessions", testSessions},
		{"Posts", testPosts},
		{"Likes", testLikes},
		{"Processing", testProcessing},
		{"Follows", testFollows},
		{"TimelineRebuild", testTimelineRebuild},
		{"TimelineFanOut", testTimelineFanOut},
		{"ClaimedWrites", testClaimedWrites},
		{"IDTaken", testIDTaken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fixture{Stores: open(t), ctx: t.Context(), gen: ids.NewGenerator(nil)}
			if f.Mirror != nil {
				f.Graph = mirrored{f.Graph, f.Mirror}
			}
			tt.fn(t, f)
		})
	}
}

// mirrored runs the consumer's Mirror right after each follow change.
type mirrored struct {
	graph.Store
	mirror func(ctx context.Context, follower, followee int64) error
}

func (m mirrored) Follow(ctx context.Context, follower, followee int64, at time.Time) error {
	if err := m.Store.Follow(ctx, follower, followee, at); err != nil {
		return err
	}
	return m.mirror(ctx, follower, followee)
}

func (m mirrored) Unfollow(ctx context.Context, follower, followee int64) error {
	if err := m.Store.Unfollow(ctx, follower, followee); err != nil {
		return err
	}
	return m.mirror(ctx, follower, followee)
}

type fixture struct {
	Stores
	ctx context.Context
	gen *ids.Generator
}

func (f *fixture) user(t *testing.T, name string) identity.User {
	t.Helper()
	id, _ := f.gen.Next(ids.ShardForKey(name, 1024))
	u := identity.User{ID: id, Username: name, DisplayName: "The " + name, CreatedAt: time.UnixMilli(time.Now().UnixMilli()).UTC()}
	if err := f.Identity.CreateUser(f.ctx, u, "hash-of-"+name, idempotency.Claim{}); err != nil {
		t.Fatalf("create user %s: %v", name, err)
	}
	return u
}

// sharedKey is a blob all of an author's posts in the suite use.
func sharedKey(author int64) string {
	return fmt.Sprintf("%04d-shared-original.jpg", ids.Shard(author))
}

func (f *fixture) post(t *testing.T, author int64, caption string) posts.Post {
	t.Helper()
	id, _ := f.gen.Next(ids.Shard(author))
	// Blob keys name the shard whose posts may share them (posts.BlobKey).
	key := fmt.Sprintf("%04d-%x", ids.Shard(id), id)
	p := posts.Post{ID: id, AuthorID: author, Caption: caption, CreatedAt: ids.Time(id), Status: posts.Ready,
		Images: posts.Images{
			Thumb:    posts.Image{Key: key + "-t.jpg", Width: 320, Height: 240},
			Large:    posts.Image{Key: key + "-l.jpg", Width: 1080, Height: 810},
			Original: posts.Image{Key: sharedKey(author), Width: 2000, Height: 1500},
		}}
	if err := f.Posts.CreatePost(f.ctx, p, idempotency.Claim{}); err != nil {
		t.Fatalf("create post: %v", err)
	}
	return p
}

// distinct is the sorted set of ids in list: a batch read may return an
// id asked twice twice (callers key the result by id).
func distinct[T any](list []T, id func(T) int64) []int64 {
	var out []int64
	for _, v := range list {
		out = append(out, id(v))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func sorted(ids ...int64) []int64 {
	slices.Sort(ids)
	return ids
}

func mustKind(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("err = %v, want %v", err, want)
	}
}

func testUsers(t *testing.T, f *fixture) {
	alice := f.user(t, "alice")
	dup := alice
	dup.ID++
	mustKind(t, f.Identity.CreateUser(f.ctx, dup, "x", idempotency.Claim{}), identity.ErrUsernameTaken)

	got, err := f.Identity.UserByUsername(f.ctx, "alice")
	if err != nil || got != alice {
		t.Fatalf("UserByUsername = %+v, %v; want %+v", got, err, alice)
	}
	got, err = f.Identity.UserByID(f.ctx, alice.ID)
	if err != nil || got != alice {
		t.Fatalf("UserByID = %+v, %v", got, err)
	}
	_, err = f.Identity.UserByUsername(f.ctx, "nobody")
	mustKind(t, err, identity.ErrUserNotFound)
	_, err = f.Identity.UserByID(f.ctx, 12345)
	mustKind(t, err, identity.ErrUserNotFound)

	id, hash, err := f.Identity.PasswordHash(f.ctx, "alice")
	if err != nil || id != alice.ID || hash != "hash-of-alice" {
		t.Fatalf("PasswordHash = %d %q %v", id, hash, err)
	}
	_, _, err = f.Identity.PasswordHash(f.ctx, "nobody")
	mustKind(t, err, identity.ErrUserNotFound)

	// A read that found nothing does not hide what is created after it.
	_, err = f.Identity.UserByUsername(f.ctx, "bob")
	mustKind(t, err, identity.ErrUserNotFound)
	bob := f.user(t, "bob")
	if got, err := f.Identity.UserByUsername(f.ctx, "bob"); err != nil || got != bob {
		t.Fatalf("UserByUsername after create = %+v, %v; want %+v", got, err, bob)
	}
	list, err := f.Identity.UsersByIDs(f.ctx, []int64{bob.ID, alice.ID, 999})
	if err != nil || len(list) != 2 {
		t.Fatalf("UsersByIDs = %v, %v", list, err)
	}
	// Repeated and missing ids, twice: the second read is served from
	// wherever the first left them.
	for range 2 {
		list, err := f.Identity.UsersByIDs(f.ctx, []int64{bob.ID, 999, bob.ID, 999})
		if got := distinct(list, func(u identity.User) int64 { return u.ID }); err != nil || !slices.Equal(got, []int64{bob.ID}) {
			t.Fatalf("UsersByIDs with repeated ids = %v, %v; want bob", list, err)
		}
	}
	if list, err := f.Identity.UsersByIDs(f.ctx, nil); err != nil || len(list) != 0 {
		t.Fatalf("UsersByIDs(nil) = %v, %v", list, err)
	}
}

func testSessions(t *testing.T, f *fixture) {
	u := f.user(t, "carol")
	now := time.UnixMilli(time.Now().UnixMilli()).UTC()
	s := identity.Session{ID: 77, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	_, err := f.Identity.SessionByID(f.ctx, 77) // a miss read before the create does not hide it
	mustKind(t, err, identity.ErrSessionNotFound)
	if err := f.Identity.CreateSession(f.ctx, s); err != nil {
		t.Fatal(err)
	}
	got, err := f.Identity.SessionByID(f.ctx, 77)
	if err != nil || got.UserID != u.ID || !got.ExpiresAt.Equal(s.ExpiresAt) || got.RevokedAt != nil {
		t.Fatalf("SessionByID = %+v, %v", got, err)
	}
	later := now.Add(2 * time.Hour)
	if err := f.Identity.ExtendSession(f.ctx, 77, later); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.Identity.SessionByID(f.ctx, 77); !got.ExpiresAt.Equal(later) {
		t.Fatalf("extended expiry = %s, want %s", got.ExpiresAt, later)
	}
	if err := f.Identity.RevokeSession(f.ctx, 77, now); err != nil {
		t.Fatal(err)
	}
	if err := f.Identity.RevokeSession(f.ctx, 77, now.Add(time.Minute)); err != nil {
		t.Fatalf("revoking twice: %v", err)
	}
	got, _ = f.Identity.SessionByID(f.ctx, 77)
	if got.RevokedAt == nil || !got.RevokedAt.Equal(now) {
		t.Fatalf("revoked_at = %v, want the first revocation %s", got.RevokedAt, now)
	}
	*got.RevokedAt = time.Time{} // the caller owns what a read returns
	if got, _ := f.Identity.SessionByID(f.ctx, 77); got.RevokedAt == nil || !got.RevokedAt.Equal(now) {
		t.Fatalf("revoked_at after the last answer was changed = %v, want %s", got.RevokedAt, now)
	}
	mustKind(t, f.Identity.ExtendSession(f.ctx, 77, later), identity.ErrSessionNotFound)
	_, err = f.Identity.SessionByID(f.ctx, 78)
	mustKind(t, err, identity.ErrSessionNotFound)
	mustKind(t, f.Identity.RevokeSession(f.ctx, 78, now), identity.ErrSessionNotFound)
}

func testPosts(t *testing.T, f *fixture) {
	a := f.user(t, "dave")
	b := f.user(t, "erin")
	p1 := f.post(t, a.ID, "first")
	p2 := f.post(t, a.ID, "second ✨")
	f.post(t, b.ID, "erin's")

	got, err := f.Posts.Post(f.ctx, p2.ID)
	if err != nil || got != p2 {
		t.Fatalf("Post = %+v, %v; want %+v", got, err, p2)
	}
	_, err = f.Posts.Post(f.ctx, 1)
	mustKind(t, err, posts.ErrPostNotFound)
	if got, err := f.Posts.CurrentPost(f.ctx, p2.ID); err != nil || got != p2 {
		t.Fatalf("CurrentPost = %+v, %v; want %+v", got, err, p2)
	}
	_, err = f.Posts.CurrentPost(f.ctx, 1)
	mustKind(t, err, posts.ErrPostNotFound)

	list, err := f.Posts.PostsByAuthor(f.ctx, a.ID, 0, 10)
	if err != nil || len(list) != 2 || list[0].ID != p2.ID || list[1].ID != p1.ID {
		t.Fatalf("PostsByAuthor = %v, %v; want newest first", list, err)
	}
	list, _ = f.Posts.PostsByAuthor(f.ctx, a.ID, 1, 10)
	if len(list) != 1 || list[0].ID != p1.ID {
		t.Fatalf("PostsByAuthor offset 1 = %v", list)
	}
	if n, err := f.Posts.CountByAuthor(f.ctx, a.ID); err != nil || n != 2 {
		t.Fatalf("CountByAuthor = %d, %v", n, err)
	}
	byIDs, err := f.Posts.PostsByIDs(f.ctx, []int64{p1.ID, p2.ID, 5})
	if err != nil || len(byIDs) != 2 {
		t.Fatalf("PostsByIDs = %v, %v", byIDs, err)
	}
	// Repeated and missing ids, twice: the second read is served from
	// wherever the first left them.
	for range 2 {
		again, err := f.Posts.PostsByIDs(f.ctx, []int64{p2.ID, 5, p2.ID, p1.ID, 5})
		if got := distinct(again, func(p posts.Post) int64 { return p.ID }); err != nil || !slices.Equal(got, sorted(p1.ID, p2.ID)) {
			t.Fatalf("PostsByIDs with repeated ids = %v, %v; want %d and %d", again, err, p1.ID, p2.ID)
		}
	}

	for _, k := range p1.Images.Keys() {
		if in, err := f.Posts.ImageInUse(f.ctx, k); err != nil || !in {
			t.Fatalf("ImageInUse(%s) = %v, %v", k, in, err)
		}
	}
	_, err = f.Posts.DeletePost(f.ctx, p1.ID, b.ID)
	mustKind(t, err, posts.ErrPostNotFound) // not the author
	del, err := f.Posts.DeletePost(f.ctx, p1.ID, a.ID)
	if err != nil || del.ID != p1.ID || del.Images != p1.Images {
		t.Fatalf("DeletePost = %+v, %v", del, err)
	}
	_, err = f.Posts.DeletePost(f.ctx, p1.ID, a.ID)
	mustKind(t, err, posts.ErrPostNotFound)
	_, err = f.Posts.Post(f.ctx, p1.ID) // read before the delete, above
	mustKind(t, err, posts.ErrPostNotFound)
	if left, err := f.Posts.PostsByIDs(f.ctx, []int64{p1.ID, p2.ID}); err != nil || len(left) != 1 || left[0].ID != p2.ID {
		t.Fatalf("PostsByIDs after delete = %v, %v; want only %d", left, err, p2.ID)
	}
	if in, _ := f.Posts.ImageInUse(f.ctx, p1.Images.Thumb.Key); in {
		t.Fatal("deleted post's own blob still in use")
	}
	if in, _ := f.Posts.ImageInUse(f.ctx, sharedKey(a.ID)); !in {
		t.Fatal("blob shared with other posts reported unused")
	}
	checkDeleteIfUnused(t, f, sharedKey(a.ID), p1.Images.Thumb.Key, p1.Images.Large.Key)
}

// checkDeleteIfUnused: DeleteIfUnused runs the deletion only for a blob
// nothing uses, and passes its failure on. used is a blob in use; unused
// and unused2 are blobs nothing uses.
func checkDeleteIfUnused(t *testing.T, f *fixture, used, unused, unused2 string) {
	ran := 0
	remove := func(context.Context) error { ran++; return nil }
	if ok, err := f.Posts.DeleteIfUnused(f.ctx, used, remove); ok || err != nil || ran != 0 {
		t.Fatalf("DeleteIfUnused of a used blob = %v, %v; deletion ran %d times", ok, err, ran)
	}
	if ok, err := f.Posts.DeleteIfUnused(f.ctx, unused, remove); !ok || err != nil || ran != 1 {
		t.Fatalf("DeleteIfUnused of an unused blob = %v, %v; deletion ran %d times", ok, err, ran)
	}
	failed := errors.New("storage down")
	if ok, err := f.Posts.DeleteIfUnused(f.ctx, unused2, func(context.Context) error { return failed }); ok || !errors.Is(err, failed) {
		t.Fatalf("DeleteIfUnused with a failing deletion = %v, %v", ok, err)
	}
}

func testLikes(t *testing.T, f *fixture) {
	a := f.user(t, "fay")
	b := f.user(t, "gus")
	p := f.post(t, a.ID, "like me")
	if got, _ := f.Posts.Post(f.ctx, p.ID); got.LikeCount != 0 {
		t.Fatalf("like count %d before any like", got.LikeCount)
	}
	now := time.Now()
	for range 2 { // idempotent
		if err := f.Posts.Like(f.ctx, p.ID, b.ID, now); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Posts.Like(f.ctx, p.ID, a.ID, now); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.Posts.Post(f.ctx, p.ID); got.LikeCount != 2 {
		t.Fatalf("like count %d, want 2", got.LikeCount)
	}
	liked, err := f.Posts.LikedBy(f.ctx, b.ID, []int64{p.ID, 42})
	if err != nil || !liked[p.ID] || liked[42] {
		t.Fatalf("LikedBy = %v, %v", liked, err)
	}
	for range 2 {
		if err := f.Posts.Unlike(f.ctx, p.ID, b.ID); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := f.Posts.Post(f.ctx, p.ID); got.LikeCount != 1 {
		t.Fatalf("like count after unlike %d, want 1", got.LikeCount)
	}
	mustKind(t, f.Posts.Like(f.ctx, 4242, b.ID, now), posts.ErrPostNotFound)
	mustKind(t, f.Posts.Unlike(f.ctx, 4242, b.ID), posts.ErrPostNotFound)
}

func testFollows(t *testing.T, f *fixture) {
	a, b, c := f.user(t, "hal"), f.user(t, "ivy"), f.user(t, "jon")
	at := time.Now()
	for range 2 { // idempotent
		if err := f.Graph.Follow(f.ctx, a.ID, b.ID, at); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Graph.Follow(f.ctx, c.ID, b.ID, at.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := f.Graph.Follow(f.ctx, a.ID, c.ID, at.Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	mustKind(t, f.Graph.Follow(f.ctx, a.ID, 31337, at), identity.ErrUserNotFound)

	check := func(u identity.User, want graph.Counts) {
		t.Helper()
		if got, err := f.Graph.Counts(f.ctx, u.ID); err != nil || got != want {
			t.Fatalf("Counts(%s) = %+v, %v; want %+v", u.Username, got, err, want)
		}
	}
	check(a, graph.Counts{Following: 2})
	check(b, graph.Counts{Followers: 2})
	check(c, graph.Counts{Followers: 1, Following: 1})

	followers, err := f.Graph.Followers(f.ctx, b.ID, 0, 10)
	if err != nil || !slices.Equal(followers, []int64{c.ID, a.ID}) {
		t.Fatalf("Followers = %v, %v; want most recent first", followers, err)
	}
	following, _ := f.Graph.Following(f.ctx, a.ID, 1, 10)
	if !slices.Equal(following, []int64{b.ID}) {
		t.Fatalf("Following offset 1 = %v", following)
	}
	if ok, _ := f.Graph.IsFollowing(f.ctx, a.ID, b.ID); !ok {
		t.Fatal("IsFollowing = false")
	}
	for range 2 {
		if err := f.Graph.Unfollow(f.ctx, a.ID, b.ID); err != nil {
			t.Fatal(err)
		}
	}
	if ok, _ := f.Graph.IsFollowing(f.ctx, a.ID, b.ID); ok {
		t.Fatal("IsFollowing after unfollow = true")
	}
	check(a, graph.Counts{Following: 1})
	check(b, graph.Counts{Followers: 1})
}

func testTimelineRebuild(t *testing.T, f *fixture) {
	me, friend, stranger := f.user(t, "kim"), f.user(t, "lea"), f.user(t, "max")
	if err := f.Graph.Follow(f.ctx, me.ID, friend.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, exists, _ := f.Timelines.Timeline(f.ctx, me.ID, 0, 10, true); exists {
		t.Fatal("a timeline exists before anything built it")
	}
	var want []int64
	for i := range 5 {
		want = append(want, f.post(t, friend.ID, fmt.Sprint("friend ", i)).ID)
		f.post(t, stranger.ID, "not for me")
		want = append(want, f.post(t, me.ID, fmt.Sprint("mine ", i)).ID)
	}
	// Ids order by time at millisecond grain, then by shard: the feed is
	// id order, which is what clients page by.
	slices.Sort(want)
	slices.Reverse(want)
	if err := f.Timelines.Rebuild(f.ctx, me.ID, 10_000, 800); err != nil {
		t.Fatal(err)
	}
	got, exists, err := f.Timelines.Timeline(f.ctx, me.ID, 0, 100, true)
	if err != nil || !exists || !slices.Equal(got, want) {
		t.Fatalf("rebuilt timeline = %v, %v, %v; want %v", got, exists, err, want)
	}
	page, _, _ := f.Timelines.Timeline(f.ctx, me.ID, want[3], 4, true)
	if !slices.Equal(page, want[4:8]) {
		t.Fatalf("page before %d = %v, want %v", want[3], page, want[4:8])
	}
	// Capped, newest kept; celebrities left out of the rebuild.
	f.Timelines.Rebuild(f.ctx, me.ID, 10_000, 3)
	if got, _, _ := f.Timelines.Timeline(f.ctx, me.ID, 0, 100, true); !slices.Equal(got, want[:3]) {
		t.Fatalf("capped rebuild = %v, want %v", got, want[:3])
	}
	f.Timelines.Rebuild(f.ctx, me.ID, 0, 800) // friend has 1 follower > 0: merged at read time instead
	got, _, _ = f.Timelines.Timeline(f.ctx, me.ID, 0, 100, true)
	if len(got) != 5 {
		t.Fatalf("rebuild with threshold 0 kept %d posts, want my own 5", len(got))
	}
	celebs, err := f.Timelines.FollowedCelebrities(f.ctx, me.ID, 0)
	if err != nil || !slices.Equal(celebs, []int64{friend.ID}) {
		t.Fatalf("FollowedCelebrities = %v, %v", celebs, err)
	}
	celebs[0] = 0 // the caller owns what a read returns
	if celebs, err := f.Timelines.FollowedCelebrities(f.ctx, me.ID, 0); err != nil || !slices.Equal(celebs, []int64{friend.ID}) {
		t.Fatalf("FollowedCelebrities after the last answer was changed = %v, %v", celebs, err)
	}
	if recent, _ := f.Timelines.RecentByAuthor(f.ctx, friend.ID, 0, 2); len(recent) != 2 || recent[0] < recent[1] {
		t.Fatalf("RecentByAuthor = %v", recent)
	}
	// The reader's own unfollow and follow show at once.
	if err := f.Graph.Unfollow(f.ctx, me.ID, friend.ID); err != nil {
		t.Fatal(err)
	}
	if celebs, err := f.Timelines.FollowedCelebrities(f.ctx, me.ID, 0); err != nil || len(celebs) != 0 {
		t.Fatalf("FollowedCelebrities after unfollow = %v, %v", celebs, err)
	}
	if err := f.Graph.Follow(f.ctx, me.ID, friend.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	if celebs, err := f.Timelines.FollowedCelebrities(f.ctx, me.ID, 0); err != nil || !slices.Equal(celebs, []int64{friend.ID}) {
		t.Fatalf("FollowedCelebrities after follow = %v, %v", celebs, err)
	}
}

func testTimelineFanOut(t *testing.T, f *fixture) {
	author, reader, lurker := f.user(t, "nia"), f.user(t, "oli"), f.user(t, "pam")
	for _, u := range []identity.User{reader, lurker} {
		if err := f.Graph.Follow(f.ctx, u.ID, author.ID, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	f.Timelines.Rebuild(f.ctx, reader.ID, 10_000, 800) // the reader reads; the lurker never has
	f.Timelines.Rebuild(f.ctx, author.ID, 10_000, 800)
	p := f.post(t, author.ID, "fan me out")
	for range 2 { // replaying the event changes nothing
		if err := f.Timelines.FanOut(f.ctx, "fanout", 10, p.ID, author.ID, 10_000, 800); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []identity.User{reader, author} {
		if got, _, _ := f.Timelines.Timeline(f.ctx, u.ID, 0, 10, true); !slices.Equal(got, []int64{p.ID}) {
			t.Fatalf("%s's timeline = %v, want [%d]", u.Username, got, p.ID)
		}
	}
	if _, exists, _ := f.Timelines.Timeline(f.ctx, lurker.ID, 0, 10, true); exists {
		t.Fatal("fan-out created a timeline nobody reads")
	}
	if off, _ := f.Timelines.Offset(f.ctx, "fanout"); off != 10 {
		t.Fatalf("offset %d, want 10", off)
	}
	// Above the threshold the author's followers are skipped; the author is not.
	p2 := f.post(t, author.ID, "celebrity post")
	f.Timelines.FanOut(f.ctx, "fanout", 11, p2.ID, author.ID, 1, 800)
	if got, _, _ := f.Timelines.Timeline(f.ctx, reader.ID, 0, 10, true); len(got) != 1 {
		t.Fatalf("celebrity post fanned out: %v", got)
	}
	if got, _, _ := f.Timelines.Timeline(f.ctx, author.ID, 0, 10, true); len(got) != 2 {
		t.Fatalf("author's own timeline lacks the post: %v", got)
	}
	// Unfollow removes the author's posts; follow backfills them.
	f.Timelines.RemoveAuthor(f.ctx, "fanout", 12, reader.ID, author.ID)
	if got, _, _ := f.Timelines.Timeline(f.ctx, reader.ID, 0, 10, true); len(got) != 0 {
		t.Fatalf("after unfollow: %v", got)
	}
	for range 2 {
		f.Timelines.Backfill(f.ctx, "fanout", 13, reader.ID, author.ID, 10_000, 800)
	}
	if got, _, _ := f.Timelines.Timeline(f.ctx, reader.ID, 0, 10, true); !slices.Equal(got, []int64{p2.ID, p.ID}) {
		t.Fatalf("after backfill: %v", got)
	}
	f.Timelines.RemovePost(f.ctx, "fanout", 14, p.ID, author.ID)
	if got, _, _ := f.Timelines.Timeline(f.ctx, reader.ID, 0, 10, true); !slices.Equal(got, []int64{p2.ID}) {
		t.Fatalf("after delete: %v", got)
	}
	// Offsets only move forward.
	f.Timelines.Advance(f.ctx, "fanout", 3)
	if off, _ := f.Timelines.Offset(f.ctx, "fanout"); off != 14 {
		t.Fatalf("offset went back to %d", off)
	}
	// Cap: a timeline that grows past cap+64 is trimmed back to cap.
	for range 70 {
		q := f.post(t, author.ID, "many")
		f.Timelines.FanOut(f.ctx, "fanout", 15, q.ID, author.ID, 10_000, 5)
	}
	if got, _, _ := f.Timelines.Timeline(f.ctx, reader.ID, 0, 1000, true); len(got) > 5+64 {
		t.Fatalf("timeline holds %d entries, cap 5 (+64 slack)", len(got))
	}
}

func testProcessing(t *testing.T, f *fixture) {
	a := f.user(t, "quinn")
	id, _ := f.gen.Next(ids.Shard(a.ID))
	upload := fmt.Sprintf("%04d-raw.upload", ids.Shard(id))
	p := posts.Post{ID: id, AuthorID: a.ID, Caption: "slow", CreatedAt: ids.Time(id), Status: posts.Processing, UploadKey: upload}
	if err := f.Posts.CreatePost(f.ctx, p, idempotency.Claim{}); err != nil {
		t.Fatal(err)
	}
	got, _ := f.Posts.Post(f.ctx, id)
	if got.Status != posts.Processing || got.UploadKey != upload {
		t.Fatalf("stored %+v", got)
	}
	if in, _ := f.Posts.ImageInUse(f.ctx, upload); !in {
		t.Fatal("the upload is not held while processing")
	}
	im := posts.Images{Thumb: posts.Image{Key: "t.jpg", Width: 1, Height: 1}, Large: posts.Image{Key: "l.jpg", Width: 2, Height: 2},
		Original: posts.Image{Key: "o.jpg", Width: 3, Height: 3}}
	if ok, err := f.Posts.FinishPost(f.ctx, id, im); err != nil || !ok {
		t.Fatalf("FinishPost = %v, %v", ok, err)
	}
	got, _ = f.Posts.Post(f.ctx, id)
	if got.Status != posts.Ready || got.Images != im || got.UploadKey != "" {
		t.Fatalf("finished %+v", got)
	}
	if in, _ := f.Posts.ImageInUse(f.ctx, upload); in {
		t.Fatal("the upload is still held after finishing")
	}
	if ok, _ := f.Posts.FinishPost(f.ctx, id, im); ok {
		t.Fatal("finishing twice reported work done")
	}
	if ok, err := f.Posts.FinishPost(f.ctx, 4242, im); ok || err != nil {
		t.Fatalf("finishing a missing post: %v, %v", ok, err)
	}
	f.Posts.FailPost(f.ctx, id) // only processing posts fail
	if got, _ := f.Posts.Post(f.ctx, id); got.Status != posts.Ready {
		t.Fatalf("a ready post was failed: %s", got.Status)
	}
	id2, _ := f.gen.Next(ids.Shard(a.ID))
	if _, err := f.Posts.Post(f.ctx, id2); !errors.Is(err, posts.ErrPostNotFound) {
		t.Fatalf("Post before create: %v", err)
	}
	f.Posts.CreatePost(f.ctx, posts.Post{ID: id2, AuthorID: a.ID, CreatedAt: ids.Time(id2), Status: posts.Processing, UploadKey: "b.upload"}, idempotency.Claim{})
	if got, err := f.Posts.Post(f.ctx, id2); err != nil || got.Status != posts.Processing {
		t.Fatalf("Post after create = %+v, %v", got, err)
	}
	f.Posts.FailPost(f.ctx, id2)
	if got, _ := f.Posts.Post(f.ctx, id2); got.Status != posts.Failed {
		t.Fatalf("FailPost left %s", got.Status)
	}
}
