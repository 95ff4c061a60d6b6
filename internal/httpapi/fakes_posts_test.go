package httpapi_test

import (
	"context"
	"fmt"
	"time"

	"github.com/photofeed/photofeed/idempotency"
	"github.com/photofeed/photofeed/internal/errkind"
	"github.com/photofeed/photofeed/internal/feed"
	"github.com/photofeed/photofeed/internal/posts"
	"github.com/photofeed/photofeed/internal/search"
)

// The posts fake knows two posts: bobsPost (10, ready, by bob) and
// annsPost (11, still processing, by ann).
var (
	bobsPost = posts.Post{ID: 10, AuthorID: 2, Caption: "Harbour at dawn", Status: posts.Ready, LikeCount: 3,
		CreatedAt: time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC),
		Images: posts.Images{Thumb: posts.Image{Key: "t10.jpg", Width: 320, Height: 240},
			Large: posts.Image{Key: "l10.jpg", Width: 1080, Height: 810}, Original: posts.Image{Key: "o10.jpg", Width: 4000, Height: 3000}}}
	annsPost = posts.Post{ID: 11, AuthorID: 1, Caption: "Processing", Status: posts.Processing,
		CreatedAt: time.Date(2026, 2, 3, 4, 5, 7, 0, time.UTC)}
)

// errPrimaryDown is how a store answers while its database primary is
// unreachable (postgres.ErrPrimaryDown): a dependency down, try later.
var errPrimaryDown = errkind.New(errkind.Unavailable, "the database primary is unreachable; writes are paused, reads continue")

// fakePosts keeps posts by id and likes as (post, user) pairs; authors
// come from the identity fake.
type fakePosts struct {
	ids   *fakeIdentity
	posts map[int64]posts.Post
	likes map[[2]int64]bool
	// err, if set, is what the named method fails with.
	err map[string]error
	// hold, if set, runs as Create begins: a test keeps a create in flight.
	hold func()

	created []string        // "author caption photo-bytes" per Create
	waited  []time.Duration // the bound of each WaitReady
	viewers []int64         // the viewer of each batch of views
}

func newFakePosts(ids *fakeIdentity) *fakePosts {
	return &fakePosts{ids: ids, posts: map[int64]posts.Post{bobsPost.ID: bobsPost, annsPost.ID: annsPost},
		likes: map[[2]int64]bool{}, err: map[string]error{}}
}

func (f *fakePosts) Create(_ context.Context, authorID int64, caption string, photo []byte, _ idempotency.Claim) (posts.Post, error) {
	if f.hold != nil {
		f.hold()
	}
	if err := f.err["Create"]; err != nil {
		return posts.Post{}, err
	}
	if err := posts.ValidateCaption(caption); err != nil {
		return posts.Post{}, err
	}
	f.created = append(f.created, fmt.Sprint(authorID, " ", caption, " ", len(photo)))
	p := posts.Post{ID: 20, AuthorID: authorID, Caption: caption, Status: posts.Processing, UploadKey: "0000-20.upload"}
	f.posts[p.ID] = p
	return p, nil
}

func (f *fakePosts) WaitReady(ctx context.Context, id int64, d time.Duration) (posts.Post, error) {
	f.waited = append(f.waited, d)
	return f.Post(ctx, id)
}

func (f *fakePosts) Post(_ context.Context, id int64) (posts.Post, error) {
	if err := f.err["Post"]; err != nil {
		return posts.Post{}, err
	}
	p, ok := f.posts[id]
	if !ok {
		return posts.Post{}, posts.ErrPostNotFound
	}
	return p, nil
}

// Delete, like the service, tells anyone but the author that the post
// does not exist.
func (f *fakePosts) Delete(_ context.Context, id, authorID int64) error {
	if err := f.err["Delete"]; err != nil {
		return err
	}
	if p, ok := f.posts[id]; !ok || p.AuthorID != authorID {
		return posts.ErrPostNotFound
	}
	delete(f.posts, id)
	return nil
}

func (f *fakePosts) ByAuthor(_ context.Context, authorID int64, offset, limit int) ([]posts.Post, int64, error) {
	if err := f.err["ByAuthor"]; err != nil {
		return nil, 0, err
	}
	var all []posts.Post
	for id := int64(100); id > 0; id-- { // newest first
		if p, ok := f.posts[id]; ok && p.AuthorID == authorID {
			all = append(all, p)
		}
	}
	total := int64(len(all))
	all = all[min(offset, len(all)):]
	return all[:min(limit, len(all))], total, nil
}

func (f *fakePosts) CountByAuthor(ctx context.Context, authorID int64) (int64, error) {
	if err := f.err["CountByAuthor"]; err != nil {
		return 0, err
	}
	_, n, err := f.ByAuthor(ctx, authorID, 0, 0)
	return n, err
}

func (f *fakePosts) Views(ctx context.Context, viewerID int64, list []posts.Post) ([]posts.View, error) {
	if err := f.err["Views"]; err != nil {
		return nil, err
	}
	f.viewers = append(f.viewers, viewerID)
	out := []posts.View{}
	for _, p := range list {
		u, err := f.ids.UserByID(ctx, p.AuthorID)
		if err != nil {
			continue // as the service does with a post whose author has gone
		}
		out = append(out, posts.View{Post: p, Author: posts.Author{ID: u.ID, Username: u.Username, DisplayName: u.DisplayName},
			LikedByMe: f.likes[[2]int64{p.ID, viewerID}]})
	}
	return out, nil
}

func (f *fakePosts) ViewOne(ctx context.Context, viewerID int64, p posts.Post) (posts.View, error) {
	v, err := f.Views(ctx, viewerID, []posts.Post{p})
	if err != nil {
		return posts.View{}, err
	}
	if len(v) == 0 {
		return posts.View{}, posts.ErrPostNotFound
	}
	return v[0], nil
}

func (f *fakePosts) ViewsByIDs(ctx context.Context, viewerID int64, ids []int64) ([]posts.View, error) {
	var list []posts.Post
	for _, id := range ids {
		if p, ok := f.posts[id]; ok {
			list = append(list, p)
		}
	}
	return f.Views(ctx, viewerID, list)
}

func (f *fakePosts) Like(ctx context.Context, postID, userID int64) error {
	return f.setLike(ctx, postID, userID, true)
}

func (f *fakePosts) Unlike(ctx context.Context, postID, userID int64) error {
	return f.setLike(ctx, postID, userID, false)
}

func (f *fakePosts) setLike(ctx context.Context, postID, userID int64, liked bool) error {
	if err := f.err["Like"]; err != nil {
		return err
	}
	if _, err := f.Post(ctx, postID); err != nil {
		return err
	}
	f.likes[[2]int64{postID, userID}] = liked
	return nil
}

// fakeFeed answers every reader with the same page of posts, and a bad
// cursor for any cursor it did not hand out.
type fakeFeed struct {
	posts *fakePosts
	ids   []int64 // the page's posts
	next  string  // its cursor
	err   error
	asked []string // "user after limit" per Home call
}

func (f *fakeFeed) Home(ctx context.Context, userID int64, after string, limit int) (feed.Page, error) {
	f.asked = append(f.asked, fmt.Sprint(userID, " ", after, " ", limit))
	if f.err != nil {
		return feed.Page{}, f.err
	}
	if after != "" && after != f.next {
		return feed.Page{}, errkind.New(errkind.Malformed, "the cursor is malformed or was altered")
	}
	views, err := f.posts.ViewsByIDs(ctx, userID, f.ids)
	if err != nil {
		return feed.Page{}, err
	}
	return feed.Page{Posts: views, Next: f.next}, nil
}

// Since replays the page's posts newer than afterID, oldest first.
func (f *fakeFeed) Since(_ context.Context, _, afterID int64) ([]int64, error) {
	if f.err != nil {
		return nil, f.err
	}
	var out []int64
	for i := len(f.ids) - 1; i >= 0; i-- {
		if f.ids[i] > afterID {
			out = append(out, f.ids[i])
		}
	}
	return out, nil
}

// fakeSearch finds every post and every user whatever the query, one page.
type fakeSearch struct {
	posts, users []int64
	next         string
	err          error
	asked        []string // "kind q after limit" per Search call
}

func (s *fakeSearch) Search(_ context.Context, kind search.Kind, q, after string, limit int) (search.Page, error) {
	s.asked = append(s.asked, fmt.Sprint(kind, " ", q, " ", after, " ", limit))
	if s.err != nil {
		return search.Page{}, s.err
	}
	if q == "" {
		return search.Page{}, search.ErrQuery
	}
	switch kind {
	case search.Posts:
		return search.Page{IDs: s.posts, Next: s.next}, nil
	case search.Users:
		return search.Page{IDs: s.users, Next: s.next}, nil
	}
	return search.Page{}, search.ErrKind
}
