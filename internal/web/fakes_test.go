package web_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/photofeed/photofeed/idempotency"
	"github.com/photofeed/photofeed/internal/errkind"
	"github.com/photofeed/photofeed/internal/feed"
	"github.com/photofeed/photofeed/internal/graph"
	"github.com/photofeed/photofeed/internal/identity"
	"github.com/photofeed/photofeed/internal/posts"
	"github.com/photofeed/photofeed/internal/search"
)

// Pages are tested here against fakes of the services they ask for,
// behind the real routes and session middleware: each page's status
// codes, its session and CSRF rules, without a database. End-to-end
// behaviour (and a real browser) is tested in internal/app.

// The fakes know ann (1) and bob (2); ann's session cookie is annSession
// (session 7). Bob has one ready post (10), ann one still processing (11).
const annSession = "ann-session"

var (
	ann      = identity.User{ID: 1, Username: "ann", DisplayName: "Ann"}
	bob      = identity.User{ID: 2, Username: "bob", DisplayName: "Bob"}
	bobsPost = posts.Post{ID: 10, AuthorID: 2, Caption: "Harbour at dawn", Status: posts.Ready, LikeCount: 3,
		CreatedAt: time.Now().Add(-2 * time.Hour),
		Images: posts.Images{Thumb: posts.Image{Key: "t10.jpg", Width: 320, Height: 240},
			Large: posts.Image{Key: "l10.jpg", Width: 1080, Height: 810}, Original: posts.Image{Key: "o10.jpg"}}}
	annsPost = posts.Post{ID: 11, AuthorID: 1, Caption: "Still processing", Status: posts.Processing, CreatedAt: time.Now()}
)

var (
	// errPrimaryDown is how a store answers while its database primary is
	// unreachable (postgres.ErrPrimaryDown): a dependency down, try later.
	errPrimaryDown = errkind.New(errkind.Unavailable, "the database primary is unreachable; writes are paused, reads continue")
	errStoreDown   = errors.New("store: connection refused")
)

// fakeIdentity holds users by name; a password is right when it is
// "right password". err, if set, is what the named method fails with.
type fakeIdentity struct {
	users     map[string]identity.User
	err       map[string]error
	loggedOut []int64
}

func (f *fakeIdentity) Register(_ context.Context, username, password, displayName string, _ idempotency.Claim) (identity.User, error) {
	if err := f.err["Register"]; err != nil {
		return identity.User{}, err
	}
	if _, ok := f.users[username]; ok {
		return identity.User{}, identity.ErrUsernameTaken
	}
	if len(password) < 8 {
		return identity.User{}, errkind.Fields{"password": "must be at least 8 characters"}.Err()
	}
	u := identity.User{ID: int64(len(f.users) + 1), Username: username, DisplayName: displayName}
	f.users[username] = u
	return u, nil
}

func (f *fakeIdentity) Login(_ context.Context, username, password string) (string, identity.Session, error) {
	if err := f.err["Login"]; err != nil {
		return "", identity.Session{}, err
	}
	u, ok := f.users[username]
	if !ok || password != "right password" {
		return "", identity.Session{}, identity.ErrBadCredentials
	}
	return username + "-session", identity.Session{ID: 7, UserID: u.ID, ExpiresAt: time.Now().Add(time.Hour)}, nil
}

func (f *fakeIdentity) Logout(_ context.Context, sessionID int64) error {
	if err := f.err["Logout"]; err != nil {
		return err
	}
	f.loggedOut = append(f.loggedOut, sessionID)
	return nil
}

func (f *fakeIdentity) UserByID(_ context.Context, id int64) (identity.User, error) {
	for _, u := range f.users {
		if u.ID == id {
			return u, nil
		}
	}
	return identity.User{}, identity.ErrUserNotFound
}

func (f *fakeIdentity) UserByUsername(_ context.Context, username string) (identity.User, error) {
	if err := f.err["UserByUsername"]; err != nil {
		return identity.User{}, err
	}
	if u, ok := f.users[username]; ok {
		return u, nil
	}
	return identity.User{}, identity.ErrUserNotFound
}

func (f *fakeIdentity) UsersByIDs(ctx context.Context, ids []int64) (map[int64]identity.User, error) {
	if err := f.err["UsersByIDs"]; err != nil {
		return nil, err
	}
	m := map[int64]identity.User{}
	for _, id := range ids {
		if u, err := f.UserByID(ctx, id); err == nil {
			m[id] = u
		}
	}
	return m, nil
}

// Authenticate and Renew make fakeIdentity the session middleware's
// authenticator: annSession is ann's session 7, anything else has ended.
func (f *fakeIdentity) Authenticate(_ context.Context, token string) (identity.Claims, error) {
	if token == annSession {
		return identity.Claims{UserID: ann.ID, SessionID: 7, ExpiresAt: time.Now().Add(time.Hour)}, nil
	}
	return identity.Claims{}, identity.ErrSessionInvalidated
}

func (f *fakeIdentity) Renew(context.Context, identity.Claims) (string, time.Time, error) {
	return "", time.Time{}, nil
}

// fakePosts keeps posts by id and likes as (post, user) pairs; authors
// come from the identity fake.
type fakePosts struct {
	ids     *fakeIdentity
	posts   map[int64]posts.Post
	likes   map[[2]int64]bool
	err     map[string]error
	created []string        // "author caption photo-bytes" per Create
	waited  []time.Duration // the bound of each WaitReady
	viewers []int64         // the viewer of each batch of views
}

func (f *fakePosts) Create(_ context.Context, authorID int64, caption string, photo []byte, _ idempotency.Claim) (posts.Post, error) {
	if err := f.err["Create"]; err != nil {
		return posts.Post{}, err
	}
	if err := posts.ValidateCaption(caption); err != nil {
		return posts.Post{}, err
	}
	f.created = append(f.created, fmt.Sprint(authorID, " ", caption, " ", len(photo)))
	p := posts.Post{ID: 20, AuthorID: authorID, Caption: caption, Status: posts.Processing}
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
	if p, ok := f.posts[id]; ok {
		return p, nil
	}
	return posts.Post{}, posts.ErrPostNotFound
}

// Delete, like the service, tells anyone but the author that the post
// does not exist.
func (f *fakePosts) Delete(_ context.Context, id, authorID int64) error {
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

func (f *fakePosts) Views(ctx context.Context, viewerID int64, list []posts.Post) ([]posts.View, error) {
	f.viewers = append(f.viewers, viewerID)
	out := []posts.View{}
	for _, p := range list {
		if u, err := f.ids.UserByID(ctx, p.AuthorID); err == nil {
			out = append(out, posts.View{Post: p, Author: posts.Author{ID: u.ID, Username: u.Username, DisplayName: u.DisplayName},
				LikedByMe: f.likes[[2]int64{p.ID, viewerID}]})
		}
	}
	return out, nil
}

func (f *fakePosts) ViewOne(ctx context.Context, viewerID int64, p posts.Post) (posts.View, error) {
	v, _ := f.Views(ctx, viewerID, []posts.Post{p})
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
	if _, err := f.Post(ctx, postID); err != nil {
		return err
	}
	f.likes[[2]int64{postID, userID}] = liked
	return nil
}

// fakeGraph keeps follows as a set of (follower, followee) pairs.
type fakeGraph struct {
	follows map[[2]int64]bool
	err     map[string]error
}

func (g *fakeGraph) Follow(_ context.Context, follower, followee int64) error {
	if follower == followee {
		return graph.ErrSelfFollow
	}
	g.follows[[2]int64{follower, followee}] = true
	return nil
}

func (g *fakeGraph) Unfollow(_ context.Context, follower, followee int64) error {
	delete(g.follows, [2]int64{follower, followee})
	return nil
}

func (g *fakeGraph) IsFollowing(_ context.Context, follower, followee int64) (bool, error) {
	return g.follows[[2]int64{follower, followee}], nil
}

func (g *fakeGraph) Counts(_ context.Context, userID int64) (graph.Counts, error) {
	if err := g.err["Counts"]; err != nil {
		return graph.Counts{}, err
	}
	var c graph.Counts
	for p := range g.follows {
		if p[0] == userID {
			c.Following++
		}
		if p[1] == userID {
			c.Followers++
		}
	}
	return c, nil
}

// fakeFeed answers every reader with the same page of posts, and a bad
// cursor for any cursor it did not hand out.
type fakeFeed struct {
	posts *fakePosts
	ids   []int64
	next  string
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
	return feed.Page{Posts: views, Next: f.next}, err
}

// fakeSearch finds the same posts and users whatever the query.
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
	if kind == search.Users {
		return search.Page{IDs: s.users, Next: s.next}, nil
	}
	return search.Page{IDs: s.posts, Next: s.next}, nil
}
