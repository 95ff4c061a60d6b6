package httpapi_test

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
)

// The profile routes, and what the account and follow table leaves out,
// with every status code they answer.
func TestUserAndFollowRoutes(t *testing.T) {
	annFollowsBob := func(f *fakes) { f.graph.follows[[2]int64{ann.ID, bob.ID}] = true }
	runRoutes(t, []routeCase{
		{name: "me",
			call:   call{"GET", "/v2/me", annToken, "", ""},
			setup:  annFollowsBob,
			status: 200,
			check: func(t *testing.T, _ *fakes, w *httptest.ResponseRecorder) {
				var u struct {
					Username string
					Counts   struct{ Followers, Following, Posts int64 }
				}
				json.Unmarshal(w.Body.Bytes(), &u)
				if u.Username != "ann" || u.Counts.Following != 1 || u.Counts.Posts != 1 || w.Header().Get("Cache-Control") != "private, no-cache" {
					t.Errorf("answered %s, Cache-Control %q", w.Body, w.Header().Get("Cache-Control"))
				}
			}},
		{name: "me, anonymous",
			call:   call{"GET", "/v2/me", "", "", ""},
			status: 401, problem: "unauthenticated"},
		{name: "me, database down",
			call:   call{"GET", "/v2/me", annToken, "", ""},
			setup:  func(f *fakes) { f.posts.err["CountByAuthor"] = errPrimaryDown },
			status: 503, problem: "unavailable"},

		{name: "a profile",
			call:   call{"GET", "/v2/users/bob", "", "", ""},
			setup:  annFollowsBob,
			status: 200,
			check: func(t *testing.T, _ *fakes, w *httptest.ResponseRecorder) {
				if !strings.Contains(w.Body.String(), `"counts":{"followers":1,"following":0,"posts":1}`) {
					t.Errorf("answered %s", w.Body)
				}
			}},
		{name: "a profile, v1 shape",
			call:   call{"GET", "/v1/users/bob", "", "", ""},
			status: 200,
			check: func(t *testing.T, _ *fakes, w *httptest.ResponseRecorder) {
				if !strings.Contains(w.Body.String(), `"followers_count":0`) || !strings.Contains(w.Body.String(), `"posts_count":1`) {
					t.Errorf("answered %s", w.Body)
				}
			}},
		{name: "a profile that does not exist",
			call:   call{"GET", "/v2/users/zed", "", "", ""},
			status: 404, problem: "not-found"},
		{name: "a profile, graph down",
			call:   call{"GET", "/v2/users/bob", "", "", ""},
			setup:  func(f *fakes) { f.graph.err["Counts"] = errPrimaryDown },
			status: 503, problem: "unavailable", check: retryAfter},
		{name: "a profile, refused token",
			call:   call{"GET", "/v2/users/bob", "stale-token", "", ""},
			status: 401, problem: "unauthenticated"},

		{name: "a user's posts",
			call:   call{"GET", "/v2/users/bob/posts?limit=1", annToken, "", ""},
			setup:  func(f *fakes) { f.posts.likes[[2]int64{bobsPost.ID, ann.ID}] = true },
			status: 200,
			check: func(t *testing.T, _ *fakes, w *httptest.ResponseRecorder) {
				var page struct {
					Items []struct {
						ID        string
						LikedByMe bool `json:"liked_by_me"`
					}
					Page, Limit int
					Total       int64
				}
				json.Unmarshal(w.Body.Bytes(), &page)
				if len(page.Items) != 1 || page.Items[0].ID != "10" || !page.Items[0].LikedByMe || page.Total != 1 || page.Limit != 1 {
					t.Errorf("answered %s", w.Body)
				}
				if !strings.Contains(w.Header().Get("Link"), `rel="last"`) {
					t.Errorf("Link %q", w.Header().Get("Link"))
				}
			}},
		{name: "a user's posts, bad limit",
			call:   call{"GET", "/v2/users/bob/posts?limit=0", "", "", ""},
			status: 400, problem: "bad-request"},
		{name: "posts of no one",
			call:   call{"GET", "/v2/users/zed/posts", "", "", ""},
			status: 404, problem: "not-found"},
		{name: "a user's posts, database down",
			call:   call{"GET", "/v2/users/bob/posts", "", "", ""},
			setup:  func(f *fakes) { f.posts.err["ByAuthor"] = errPrimaryDown },
			status: 503, problem: "unavailable"},
		{name: "a user's posts, views failing",
			call:   call{"GET", "/v2/users/bob/posts", "", "", ""},
			setup:  func(f *fakes) { f.posts.err["Views"] = errStoreDown },
			status: 500, problem: "internal"},

		{name: "follow, database down",
			call:   call{"PUT", "/v2/me/following/bob", annToken, "", ""},
			setup:  func(f *fakes) { f.graph.err["Follow"] = errPrimaryDown },
			status: 503, problem: "unavailable", check: retryAfter},
		{name: "unfollow, anonymous",
			call:   call{"DELETE", "/v2/me/following/bob", "", "", ""},
			status: 401, problem: "unauthenticated"},
		{name: "unfollow, no such user",
			call:   call{"DELETE", "/v2/me/following/zed", annToken, "", ""},
			status: 404, problem: "not-found"},
		{name: "following",
			call:   call{"GET", "/v1/users/ann/following", "", "", ""},
			setup:  annFollowsBob,
			status: 200,
			check: func(t *testing.T, _ *fakes, w *httptest.ResponseRecorder) {
				if !strings.Contains(w.Body.String(), `"items":[{"id":"2","username":"bob","display_name":"Bob"}]`) {
					t.Errorf("answered %s", w.Body)
				}
			}},
		{name: "followers, graph down",
			call:   call{"GET", "/v2/users/bob/followers", "", "", ""},
			setup:  func(f *fakes) { f.graph.err["Followers"] = errPrimaryDown },
			status: 503, problem: "unavailable"},
	})
}
