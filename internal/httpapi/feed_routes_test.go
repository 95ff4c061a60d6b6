package httpapi_test

import (
	"encoding/json"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/photofeed/photofeed/internal/httpapi"
	"github.com/photofeed/photofeed/internal/search"
)

// The feed and search routes, with every status code they answer.
func TestFeedAndSearchRoutes(t *testing.T) {
	runRoutes(t, []routeCase{
		{name: "feed",
			call:   call{"GET", "/v2/feed", annToken, "", ""},
			setup:  func(f *fakes) { f.posts.likes[[2]int64{bobsPost.ID, ann.ID}] = true },
			status: 200,
			check: func(t *testing.T, f *fakes, w *httptest.ResponseRecorder) {
				var page struct {
					Items []struct {
						ID        string
						LikedByMe bool `json:"liked_by_me"`
						Author    struct{ Username string }
					}
					NextCursor string `json:"next_cursor"`
				}
				json.Unmarshal(w.Body.Bytes(), &page)
				if len(page.Items) != 2 || page.Items[0].ID != "10" || !page.Items[0].LikedByMe || page.Items[1].Author.Username != "ann" ||
					page.NextCursor != "older-than-11" {
					t.Errorf("answered %s", w.Body)
				}
				if !slices.Equal(f.feed.asked, []string{"1  20"}) {
					t.Errorf("feed asked %q, want ann's first page of 20", f.feed.asked)
				}
				// The feed hands back views: the handler loads nothing again.
				if !slices.Equal(f.posts.viewers, []int64{ann.ID}) {
					t.Errorf("views loaded for viewers %v, want once, by the feed", f.posts.viewers)
				}
				if l := w.Header().Get("Link"); l != `</v2/feed?cursor=older-than-11&limit=20>; rel="next"` {
					t.Errorf("Link %q", l)
				}
				if cc := w.Header().Get("Cache-Control"); cc != "private, no-cache" {
					t.Errorf("Cache-Control %q", cc)
				}
			}},
		{name: "feed, next page, v1 shape",
			call:   call{"GET", "/v1/feed?limit=5&cursor=older-than-11", annToken, "", ""},
			status: 200,
			check: func(t *testing.T, f *fakes, w *httptest.ResponseRecorder) {
				if !slices.Equal(f.feed.asked, []string{"1 older-than-11 5"}) {
					t.Errorf("feed asked %q", f.feed.asked)
				}
				if !strings.Contains(w.Body.String(), `"thumb":"https://cdn.example/media/t10.jpg"`) {
					t.Errorf("answered %s", w.Body)
				}
			}},
		{name: "feed, last page",
			call:   call{"GET", "/v2/feed", annToken, "", ""},
			setup:  func(f *fakes) { f.feed.next, f.feed.ids = "", nil },
			status: 200,
			check: func(t *testing.T, _ *fakes, w *httptest.ResponseRecorder) {
				if body := strings.TrimSpace(w.Body.String()); body != `{"items":[]}` || w.Header().Get("Link") != "" {
					t.Errorf("answered %s, Link %q", body, w.Header().Get("Link"))
				}
			}},
		{name: "feed, anonymous",
			call:   call{"GET", "/v2/feed", "", "", ""},
			status: 401, problem: "unauthenticated",
			check: func(t *testing.T, f *fakes, _ *httptest.ResponseRecorder) {
				if len(f.feed.asked) > 0 {
					t.Error("the feed was read for an anonymous client")
				}
			}},
		{name: "feed, empty cursor",
			call:   call{"GET", "/v2/feed?cursor=", annToken, "", ""},
			status: 400, problem: "bad-request"},
		{name: "feed, altered cursor",
			call:   call{"GET", "/v2/feed?cursor=forged", annToken, "", ""},
			status: 400, problem: "bad-request"},
		{name: "feed, bad limit",
			call:   call{"GET", "/v2/feed?limit=101", annToken, "", ""},
			status: 400, problem: "bad-request"},
		{name: "feed, database down",
			call:   call{"GET", "/v2/feed", annToken, "", ""},
			setup:  func(f *fakes) { f.feed.err = errPrimaryDown },
			status: 503, problem: "unavailable", check: retryAfter},
		{name: "feed, failing",
			call:   call{"GET", "/v2/feed", annToken, "", ""},
			setup:  func(f *fakes) { f.feed.err = errStoreDown },
			status: 500, problem: "internal"},

		{name: "search posts",
			call:   call{"GET", "/v2/search?q=harbour", annToken, "", ""},
			setup:  func(f *fakes) { f.search.next = "c2" },
			status: 200,
			check: func(t *testing.T, f *fakes, w *httptest.ResponseRecorder) {
				if !slices.Equal(f.search.asked, []string{"posts harbour  20"}) || !slices.Equal(f.posts.viewers, []int64{ann.ID}) {
					t.Errorf("searched %q, views for %v", f.search.asked, f.posts.viewers)
				}
				if !strings.Contains(w.Body.String(), `"id":"10"`) || !strings.Contains(w.Body.String(), `"next_cursor":"c2"`) {
					t.Errorf("answered %s", w.Body)
				}
				if l := w.Header().Get("Link"); !strings.Contains(l, "cursor=c2") || !strings.Contains(l, `rel="next"`) {
					t.Errorf("Link %q", l)
				}
			}},
		{name: "search users",
			call:   call{"GET", "/v1/search?type=users&q=bo&limit=3", "", "", ""},
			status: 200,
			check: func(t *testing.T, _ *fakes, w *httptest.ResponseRecorder) {
				// user 99 is in the index but gone from identity: left out
				if body := strings.TrimSpace(w.Body.String()); body != `{"items":[{"id":"2","username":"bob","display_name":"Bob"}]}` {
					t.Errorf("answered %s", body)
				}
			}},
		{name: "search, no query",
			call:   call{"GET", "/v2/search", "", "", ""},
			status: 400, problem: "bad-request"},
		{name: "search, unknown type",
			call:   call{"GET", "/v2/search?q=x&type=places", "", "", ""},
			status: 400, problem: "bad-request"},
		{name: "search, bad limit",
			call:   call{"GET", "/v2/search?q=x&limit=x", "", "", ""},
			status: 400, problem: "bad-request"},
		{name: "search, refused token",
			call:   call{"GET", "/v2/search?q=x", "stale-token", "", ""},
			status: 401, problem: "unauthenticated"},
		{name: "search without an index",
			call:   call{"GET", "/v2/search?q=x", "", "", ""},
			setup:  func(f *fakes) { f.deps = func(d *httpapi.Deps) { d.Search = search.Unavailable{} } },
			status: 503, problem: "unavailable", check: retryAfter},
		{name: "search, index down",
			call:   call{"GET", "/v2/search?q=x", "", "", ""},
			setup:  func(f *fakes) { f.search.err = search.ErrUnavailable },
			status: 503, problem: "unavailable"},
		{name: "search users, identity down",
			call:   call{"GET", "/v2/search?type=users&q=bo", "", "", ""},
			setup:  func(f *fakes) { f.id.err["UsersByIDs"] = errPrimaryDown },
			status: 503, problem: "unavailable"},
	})
}
