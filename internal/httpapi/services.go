package httpapi

import (
	"context"

	"github.com/photofeed/photofeed/internal/graph"
	"github.com/photofeed/photofeed/internal/identity"
)

// Identity is what the API asks of accounts and sessions; handlers are
// tested against a fake of it.
type Identity interface {
	Register(ctx context.Context, username, password, displayName string) (identity.User, error)
	Login(ctx context.Context, username, password string) (token string, sess identity.Session, err error)
	Logout(ctx context.Context, sessionID int64) error
	UserByID(ctx context.Context, id int64) (identity.User, error)
	UserByUsername(ctx context.Context, username string) (identity.User, error)
	UsersByIDs(ctx context.Context, ids []int64) (map[int64]identity.User, error)
}

// Graph is what the API asks of the follow graph.
type Graph interface {
	Follow(ctx context.Context, follower, followee int64) error
	Unfollow(ctx context.Context, follower, followee int64) error
	Counts(ctx context.Context, userID int64) (graph.Counts, error)
	Followers(ctx context.Context, userID int64, offset, limit int) ([]int64, int64, error)
	Following(ctx context.Context, userID int64, offset, limit int) ([]int64, int64, error)
	Suggestions(ctx context.Context, userID int64, limit int) ([]int64, error)
}

var (
	_ Identity = (*identity.Service)(nil)
	_ Graph    = (*graph.Service)(nil)
)
