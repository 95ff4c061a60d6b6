package httpapi_test

import (
	"encoding/json"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/media"
	"github.com/photofeed/photofeed/internal/testenv"
)

// upload is a post's multipart body with photo bytes and caption.
func upload(photo []byte, caption string) (contentType, body string) {
	ct, b := testenv.UploadForm(photo, caption)
	return ct, string(b)
}

func uploadCall(path, token string, photo []byte, caption string) call {
	ct, body := upload(photo, caption)
	return call{"POST", path, token, ct, body}
}

// Each route of posts and likes, with every status code it answers.
func TestPostAndLikeRoutes(t *testing.T) {
	photo := []byte("\xff\xd8\xff photo bytes")
	runRoutes(t, []routeCase{
		{name: "upload",
			call:   uploadCall("/v2/posts", annToken, photo, "Sunset"),
			status: 201,
			check: func(t *testing.T, f *fakes, w *httptest.ResponseRecorder) {
				if loc := w.Header().Get("Location"); loc != "/v2/posts/20" {
					t.Errorf("Location %q", loc)
				}
				if !slices.Equal(f.posts.created, []string{"1 Sunset 15"}) || !slices.Equal(f.posts.waited, []time.Duration{3 * time.Second}) {
					t.Errorf("created %q, waited %v for the thumbnails", f.posts.created, f.posts.waited)
				}
				var p struct {
					ID     string
					Status string
					Author struct{ Username, Profile string }
					Images any
				}
				json.Unmarshal(w.Body.Bytes(), &p)
				if p.ID != "20" || p.Status != "processing" || p.Author.Profile != "/v2/users/ann" || p.Images != nil {
					t.Errorf("answered %s", w.Body)
				}
			}},
		{name: "upload, v1 location",
			call:   uploadCall("/v1/posts", annToken, photo, "Sunset"),
			status: 201,
			check: func(t *testing.T, _ *fakes, w *httptest.ResponseRecorder) {
				if loc := w.Header().Get("Location"); loc != "/v1/posts/20" {
					t.Errorf("Location %q", loc)
				}
			}},
		{name: "upload, anonymous",
			call:   uploadCall("/v2/posts", "", photo, "Sunset"),
			status: 401, problem: "unauthenticated",
			check: func(t *testing.T, f *fakes, _ *httptest.ResponseRecorder) {
				if len(f.posts.created) > 0 {
					t.Errorf("created %q for an anonymous client", f.posts.created)
				}
			}},
		{name: "upload, refused token",
			call:   uploadCall("/v2/posts", "stale-token", photo, "Sunset"),
			status: 401, problem: "unauthenticated"},
		{name: "upload as JSON",
			call:   call{"POST", "/v2/posts", annToken, jsonType, `{"caption":"Sunset"}`},
			status: 415, problem: "unsupported-media-type"},
		{name: "upload, not an image",
			call:   uploadCall("/v2/posts", annToken, []byte("plain text"), "Sunset"),
			setup:  func(f *fakes) { f.posts.err["Create"] = media.ErrUnsupportedType },
			status: 415, problem: "unsupported-media-type"},
		{name: "upload, malformed multipart",
			call:   call{"POST", "/v2/posts", annToken, "multipart/form-data; boundary=b", "--b\r\nno headers end"},
			status: 400, problem: "bad-request"},
		{name: "upload, photo over the limit",
			call:   uploadCall("/v2/posts", annToken, make([]byte, testUploadLimit+1), "Sunset"),
			status: 413, problem: "too-large"},
		{name: "upload, body far over the limit",
			call:   uploadCall("/v2/posts", annToken, make([]byte, 3*testUploadLimit), "Sunset"),
			status: 413, problem: "too-large"},
		{name: "upload without a photo",
			call:   uploadCall("/v2/posts", annToken, nil, "Sunset"),
			status: 422, problem: "validation-error",
			check: func(t *testing.T, _ *fakes, w *httptest.ResponseRecorder) {
				if p := problemOf(t, w); p.Errors["photo"] == "" {
					t.Errorf("no photo error in %+v", p)
				}
			}},
		{name: "upload, caption too long",
			call:   uploadCall("/v2/posts", annToken, photo, strings.Repeat("é", 2201)),
			status: 422, problem: "validation-error",
			check: func(t *testing.T, _ *fakes, w *httptest.ResponseRecorder) {
				if p := problemOf(t, w); p.Errors["caption"] == "" {
					t.Errorf("no caption error in %+v", p)
				}
			}},
		{name: "upload, image checks saturated",
			call:   uploadCall("/v2/posts", annToken, photo, "Sunset"),
			setup:  func(f *fakes) { f.posts.err["Create"] = media.ErrBusy },
			status: 503, problem: "unavailable", check: retryAfter},

		{name: "a post",
			call:   call{"GET", "/v2/posts/10", annToken, "", ""},
			setup:  func(f *fakes) { f.posts.likes[[2]int64{bobsPost.ID, ann.ID}] = true },
			status: 200,
			check: func(t *testing.T, _ *fakes, w *httptest.ResponseRecorder) {
				var p struct {
					ID        string
					LikedByMe bool `json:"liked_by_me"`
					Author    struct{ Username string }
					Images    struct{ Large struct{ URL string } }
				}
				json.Unmarshal(w.Body.Bytes(), &p)
				if p.ID != "10" || !p.LikedByMe || p.Author.Username != "bob" || p.Images.Large.URL != "https://cdn.example/media/l10.jpg" {
					t.Errorf("answered %s", w.Body)
				}
			}},
		{name: "a post, v1 shape, anonymous",
			call:   call{"GET", "/v1/posts/10", "", "", ""},
			status: 200,
			check: func(t *testing.T, _ *fakes, w *httptest.ResponseRecorder) {
				if !strings.Contains(w.Body.String(), `"large":"https://cdn.example/media/l10.jpg"`) || !strings.Contains(w.Body.String(), `"liked_by_me":false`) {
					t.Errorf("answered %s", w.Body)
				}
			}},
		{name: "a post, bad id",
			call:   call{"GET", "/v2/posts/x", "", "", ""},
			status: 400, problem: "bad-request"},
		{name: "a post that does not exist",
			call:   call{"GET", "/v2/posts/12", "", "", ""},
			status: 404, problem: "not-found"},
		{name: "a post, refused token",
			call:   call{"GET", "/v2/posts/10", "stale-token", "", ""},
			status: 401, problem: "unauthenticated"},
		{name: "a post, database down",
			call:   call{"GET", "/v2/posts/10", "", "", ""},
			setup:  func(f *fakes) { f.posts.err["Post"] = errPrimaryDown },
			status: 503, problem: "unavailable", check: retryAfter},

		{name: "delete a post",
			call:   call{"DELETE", "/v2/posts/11", annToken, "", ""},
			status: 204,
			check: func(t *testing.T, f *fakes, _ *httptest.ResponseRecorder) {
				if _, ok := f.posts.posts[annsPost.ID]; ok {
					t.Error("the post is still there")
				}
			}},
		{name: "delete someone else's post",
			call:   call{"DELETE", "/v2/posts/10", annToken, "", ""},
			status: 404, problem: "not-found",
			check: func(t *testing.T, f *fakes, _ *httptest.ResponseRecorder) {
				if _, ok := f.posts.posts[bobsPost.ID]; !ok {
					t.Error("bob's post was deleted by ann")
				}
			}},
		{name: "delete, anonymous",
			call:   call{"DELETE", "/v2/posts/11", "", "", ""},
			status: 401, problem: "unauthenticated"},
		{name: "delete, bad id",
			call:   call{"DELETE", "/v2/posts/-1", annToken, "", ""},
			status: 400, problem: "bad-request"},
		{name: "delete, database down",
			call:   call{"DELETE", "/v2/posts/11", annToken, "", ""},
			setup:  func(f *fakes) { f.posts.err["Delete"] = errPrimaryDown },
			status: 503, problem: "unavailable"},

		{name: "like",
			call:   call{"PUT", "/v2/posts/10/like", annToken, "", ""},
			status: 204,
			check: func(t *testing.T, f *fakes, _ *httptest.ResponseRecorder) {
				if !f.posts.likes[[2]int64{bobsPost.ID, ann.ID}] {
					t.Error("ann does not like the post")
				}
			}},
		{name: "unlike",
			call:   call{"DELETE", "/v1/posts/10/like", annToken, "", ""},
			setup:  func(f *fakes) { f.posts.likes[[2]int64{bobsPost.ID, ann.ID}] = true },
			status: 204,
			check: func(t *testing.T, f *fakes, _ *httptest.ResponseRecorder) {
				if f.posts.likes[[2]int64{bobsPost.ID, ann.ID}] {
					t.Error("ann still likes the post")
				}
			}},
		{name: "like, anonymous",
			call:   call{"PUT", "/v2/posts/10/like", "", "", ""},
			status: 401, problem: "unauthenticated"},
		{name: "unlike, anonymous",
			call:   call{"DELETE", "/v2/posts/10/like", "", "", ""},
			status: 401, problem: "unauthenticated"},
		{name: "like, bad id",
			call:   call{"PUT", "/v2/posts/0/like", annToken, "", ""},
			status: 400, problem: "bad-request"},
		{name: "like a post that does not exist",
			call:   call{"PUT", "/v2/posts/12/like", annToken, "", ""},
			status: 404, problem: "not-found"},
		{name: "like, database down",
			call:   call{"PUT", "/v2/posts/10/like", annToken, "", ""},
			setup:  func(f *fakes) { f.posts.err["Like"] = errPrimaryDown },
			status: 503, problem: "unavailable", check: retryAfter},
	})
}
