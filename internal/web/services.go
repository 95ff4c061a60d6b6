package web

import (
	"context"
	"time"

	"github.com/photofeed/photofeed/idempotency"
	"github.com/photofeed/photofeed/internal/feed"
	"github.com/photofeed/photofeed/internal/graph"
	"github.com/photofeed/photofeed/internal/identity"
	"github.com/photofeed/photofeed/internal/posts"
	"github.com/photofeed/photofeed/internal/search"
)

// The services the pages call, each only as far as they use it; pages are
// tested against fakes of them.

// Identity is what the pages ask of accounts and sessions.
type Identity interface {
	Register(ctx context.Context, username, password, displayName string, claim idempotency.Claim) (identity.User, error)
	Login(ctx context.Context, username, password string) (token string, sess identity.Session, err error)
	Logout(ctx context.Context, sessionID int64) error
	UserByID(ctx context.Context, id int64) (identity.User, error)
	UserByUsername(ctx context.Context, username string) (identity.User, error)
	UsersByIDs(ctx context.Context, ids []int64) (map[int64]identity.User, error)
}

// Posts is what the pages ask of posts and likes.
type Posts interface {
	Create(ctx context.Context, authorID int64, caption string, photo []byte, claim idempotency.Claim) (posts.Post, error)
	WaitReady(ctx context.Context, id int64, d time.Duration) (posts.Post, error)
	Post(ctx context.Context, id int64) (posts.Post, error)
	Delete(ctx context.Context, id, authorID int64) error
	ByAuthor(ctx context.Context, authorID int64, offset, limit int) ([]posts.Post, int64, error)
	Views(ctx context.Context, viewerID int64, list []posts.Post) ([]posts.View, error)
	ViewOne(ctx context.Context, viewerID int64, p posts.Post) (posts.View, error)
	ViewsByIDs(ctx context.Context, viewerID int64, ids []int64) ([]posts.View, error)
	Like(ctx context.Context, postID, userID int64) error
	Unlike(ctx context.Context, postID, userID int64) error
}

// Graph is what the pages ask of the follow graph.
type Graph interface {
	Follow(ctx context.Context, follower, followee int64) error
	Unfollow(ctx context.Context, follower, followee int64) error
	IsFollowing(ctx context.Context, follower, followee int64) (bool, error)
	Counts(ctx context.Context, userID int64) (graph.Counts, error)
}

// Feed is what the home page asks of home feeds: a page ready to show.
type Feed interface {
	Home(ctx context.Context, userID int64, after string, limit int) (feed.Page, error)
}

// Search is what the explore page asks of search.
type Search interface {
	Search(ctx context.Context, kind search.Kind, q, after string, limit int) (search.Page, error)
}

var (
	_ Identity = (*identity.Service)(nil)
	_ Posts    = (*posts.Service)(nil)
	_ Graph    = (*graph.Service)(nil)
	_ Feed     = (*feed.Service)(nil)
	_ Search   = (*search.Service)(nil)
	_ Search   = search.Unavailable{}
)
