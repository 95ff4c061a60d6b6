package httpapi

import (
	"net/http"
	"time"

	"github.com/photofeed/photofeed/internal/graph"
	"github.com/photofeed/photofeed/internal/identity"
	"github.com/photofeed/photofeed/internal/posts"
)

// The v2 JSON shapes. What changed from v1: counts are grouped, authors
// carry their profile path, and every image variant says its URL, size and
// dimensions, so clients can lay out a feed before the images load.

type userV2 struct {
	ID          int64     `json:"id,string"`
	Username    string    `json:"username"`
	DisplayName string    `json:"display_name"`
	Counts      countsV2  `json:"counts"`
	CreatedAt   time.Time `json:"created_at"`
}

type countsV2 struct {
	Followers int64 `json:"followers"`
	Following int64 `json:"following"`
	Posts     int64 `json:"posts"`
}

type authorV2 struct {
	ID          int64  `json:"id,string"`
	Username    string `json:"username"`
	DisplayName string `json:"display_name"`
	Profile     string `json:"profile"`
}

type imageV2 struct {
	URL    string `json:"url"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
}

type postV2 struct {
	ID        int64     `json:"id,string"`
	Author    authorV2  `json:"author"`
	Caption   string    `json:"caption"`
	CreatedAt time.Time `json:"created_at"`
	LikeCount int64     `json:"like_count"`
	LikedByMe bool      `json:"liked_by_me"`
	Status    string    `json:"status"`
	Images    *imagesV2 `json:"images"` // null until the post is ready
}

type imagesV2 struct {
	Thumb    imageV2 `json:"thumb"`
	Large    imageV2 `json:"large"`
	Original imageV2 `json:"original"`
}

// user shapes a profile for the request's version.
func (a *API) user(r *http.Request, u identity.User, c graph.Counts, n int64) any {
	if apiVersion(r) == 1 {
		return toUser(u, c, n)
	}
	return userV2{ID: u.ID, Username: u.Username, DisplayName: u.DisplayName,
		Counts: countsV2{Followers: c.Followers, Following: c.Following, Posts: n}, CreatedAt: u.CreatedAt}
}

// post shapes a post for the request's version.
func (a *API) post(r *http.Request, v posts.View) any {
	if apiVersion(r) == 1 {
		return a.toPost(v)
	}
	p := postV2{ID: v.ID, Caption: v.Caption, CreatedAt: v.CreatedAt, LikeCount: v.LikeCount, LikedByMe: v.LikedByMe, Status: string(v.Status),
		Author: authorV2{ID: v.Author.ID, Username: v.Author.Username, DisplayName: v.Author.DisplayName,
			Profile: "/v2/users/" + v.Author.Username}}
	if v.Status == posts.Ready {
		img := func(i posts.Image) imageV2 { return imageV2{URL: a.mediaURL(i.Key), Width: i.Width, Height: i.Height} }
		p.Images = &imagesV2{Thumb: img(v.Images.Thumb), Large: img(v.Images.Large), Original: img(v.Images.Original)}
	}
	return p
}
