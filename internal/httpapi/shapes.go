package httpapi

import (
	"time"

	"github.com/photofeed/photofeed/internal/graph"
	"github.com/photofeed/photofeed/internal/identity"
	"github.com/photofeed/photofeed/internal/posts"
)

// The v1 JSON shapes. Ids are strings: 64-bit values do not survive
// JavaScript's 2^53 numbers.

type userJSON struct {
	ID             int64     `json:"id,string"`
	Username       string    `json:"username"`
	DisplayName    string    `json:"display_name"`
	FollowersCount int64     `json:"followers_count"`
	FollowingCount int64     `json:"following_count"`
	PostsCount     int64     `json:"posts_count"`
	CreatedAt      time.Time `json:"created_at"`
}

func toUser(u identity.User, c graph.Counts, posts int64) userJSON {
	return userJSON{ID: u.ID, Username: u.Username, DisplayName: u.DisplayName,
		FollowersCount: c.Followers, FollowingCount: c.Following, PostsCount: posts, CreatedAt: u.CreatedAt}
}

// userListJSON is a list of users that is not paged (suggestions).
type userListJSON struct {
	Items []userSummaryJSON `json:"items"`
}

type userSummaryJSON struct {
	ID          int64  `json:"id,string"`
	Username    string `json:"username"`
	DisplayName string `json:"display_name"`
}

type postJSON struct {
	ID        int64           `json:"id,string"`
	Author    userSummaryJSON `json:"author"`
	Caption   string          `json:"caption"`
	CreatedAt time.Time       `json:"created_at"`
	LikeCount int64           `json:"like_count"`
	LikedByMe bool            `json:"liked_by_me"`
	Status    string          `json:"status"`
	Images    *imagesJSON     `json:"images"` // null until the post is ready
}

type imagesJSON struct {
	Thumb    string `json:"thumb"`
	Large    string `json:"large"`
	Original string `json:"original"`
}

func (a *API) toPost(v posts.View) postJSON {
	p := postJSON{
		ID:        v.ID,
		Author:    userSummaryJSON{ID: v.Author.ID, Username: v.Author.Username, DisplayName: v.Author.DisplayName},
		Caption:   v.Caption,
		CreatedAt: v.CreatedAt,
		LikeCount: v.LikeCount,
		LikedByMe: v.LikedByMe,
		Status:    string(v.Status),
	}
	if v.Status == posts.Ready {
		p.Images = &imagesJSON{
			Thumb:    a.mediaURL(v.Images.Thumb.Key),
			Large:    a.mediaURL(v.Images.Large.Key),
			Original: a.mediaURL(v.Images.Original.Key),
		}
	}
	return p
}

func (a *API) mediaURL(key string) string { return a.deps.MediaBaseURL + "/media/" + key }

type offsetPage[T any] struct {
	Items []T   `json:"items"`
	Page  int   `json:"page"`
	Limit int   `json:"limit"`
	Total int64 `json:"total"`
}

type cursorPage[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
	// Warning says the page is not current (v2 feed and search only).
	Warning string `json:"warning,omitempty"`
}
