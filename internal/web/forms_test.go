package web_test

import (
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/httpauth"
	"github.com/photofeed/photofeed/internal/identity"
	"github.com/photofeed/photofeed/internal/media"
)

func post(path, session string, form url.Values) visit {
	return visit{method: "POST", path: path, session: session, form: form}
}

func withCSRF(v visit, rule csrfRule) visit { v.csrf = rule; return v }

// sessionStarted checks that the answer signs the browser in as token.
func sessionStarted(token string) func(t *testing.T, _ *fakes, w *httptest.ResponseRecorder) {
	return func(t *testing.T, _ *fakes, w *httptest.ResponseRecorder) {
		t.Helper()
		for _, c := range w.Result().Cookies() {
			if c.Name == httpauth.CookieName && c.Value == token && c.HttpOnly {
				return
			}
		}
		t.Errorf("no session cookie %q: %v", token, w.Result().Cookies())
	}
}

func retryAfter(t *testing.T, _ *fakes, w *httptest.ResponseRecorder) {
	t.Helper()
	if w.Header().Get("Retry-After") == "" {
		t.Error("a 503 without Retry-After")
	}
}

// Each form post, with every status code it answers, and its session and
// CSRF rules: a post without the browser's CSRF cookie and token is
// refused before anything is done; a post that needs a login sends a
// logged-out browser to the login page.
func TestFormPosts(t *testing.T) {
	signup := url.Values{"username": {"cat"}, "password": {"right password"}, "display_name": {"Cat"}}
	login := url.Values{"username": {"ann"}, "password": {"right password"}, "next": {"/u/bob"}}
	notRegistered := func(t *testing.T, f *fakes, _ *httptest.ResponseRecorder) {
		if _, ok := f.id.users["cat"]; ok {
			t.Error("the account was registered")
		}
	}
	photo := []byte("\xff\xd8\xff photo bytes")
	uploadAs := func(session string, u upload) visit {
		return visit{method: "POST", path: "/upload", session: session, upload: &u}
	}
	noPost := func(t *testing.T, f *fakes, _ *httptest.ResponseRecorder) {
		if len(f.posts.created) > 0 {
			t.Errorf("created %q", f.posts.created)
		}
	}
	back := url.Values{"back": {"/u/bob"}}
	runPages(t, []pageCase{
		{name: "sign up",
			visit: post("/signup", "", signup), status: 303, location: "/", check: sessionStarted("cat-session")},
		{name: "sign up, name taken",
			visit:  post("/signup", "", url.Values{"username": {"ann"}, "password": {"right password"}}),
			status: 409, shows: []string{"already taken", `value="ann"`}},
		{name: "sign up, short password",
			visit:  post("/signup", "", url.Values{"username": {"cat"}, "password": {"short"}, "display_name": {"Cat"}}),
			status: 422, shows: []string{"at least 8 characters", `value="Cat"`}, check: notRegistered},
		{name: "sign up without the CSRF cookie",
			visit: withCSRF(post("/signup", "", signup), csrfNoCookie), status: 403, shows: []string{"came from another site"},
			check: notRegistered},
		{name: "sign up with a token not made for the cookie",
			visit: withCSRF(post("/signup", "", signup), csrfWrongForm), status: 403, check: notRegistered},
		{name: "sign up, form too large",
			visit:  post("/signup", "", url.Values{"username": {strings.Repeat("c", 70<<10)}}),
			status: 413, check: notRegistered},
		{name: "sign up, store failing",
			visit: post("/signup", "", signup), setup: func(f *fakes) { f.id.err["Register"] = errStoreDown },
			status: 500, hides: []string{"connection refused"}},
		{name: "sign up, password checks saturated",
			visit: post("/signup", "", signup), setup: func(f *fakes) { f.id.err["Login"] = identity.ErrBusy },
			status: 503, shows: []string{"too many password checks"}, check: retryAfter},

		{name: "log in",
			visit: post("/login", "", login), status: 303, location: "/u/bob", check: sessionStarted("ann-session")},
		{name: "log in, next off the site",
			visit:  post("/login", "", url.Values{"username": {"ann"}, "password": {"right password"}, "next": {"https://evil.example/"}}),
			status: 303, location: "/"},
		{name: "log in, wrong password",
			visit:  post("/login", "", url.Values{"username": {"ann"}, "password": {"wrong"}, "next": {"/u/bob"}}),
			status: 401, shows: []string{"wrong username or password", `value="ann"`, `name="next" value="/u/bob"`}},
		{name: "log in, password checks saturated",
			visit: post("/login", "", login), setup: func(f *fakes) { f.id.err["Login"] = identity.ErrBusy },
			status: 503, check: retryAfter},
		{name: "log in without the CSRF cookie",
			visit: withCSRF(post("/login", "", login), csrfNoCookie), status: 403,
			check: func(t *testing.T, _ *fakes, w *httptest.ResponseRecorder) {
				for _, c := range w.Result().Cookies() {
					if c.Name == httpauth.CookieName {
						t.Errorf("a session cookie for a refused form: %v", c)
					}
				}
			}},
		{name: "log in, unreadable form",
			visit:  visit{method: "POST", path: "/login", contentType: "multipart/form-data; boundary=b", body: "--b\r\nno end of headers"},
			status: 400, shows: []string{"could not be read"}},

		{name: "log out",
			visit: post("/logout", annSession, nil), status: 303, location: "/",
			check: func(t *testing.T, f *fakes, w *httptest.ResponseRecorder) {
				if !slices.Equal(f.id.loggedOut, []int64{7}) {
					t.Errorf("logged out sessions %v, want [7]", f.id.loggedOut)
				}
				sessionCleared(t, f, w)
			}},
		{name: "log out without the CSRF cookie",
			visit: withCSRF(post("/logout", annSession, nil), csrfNoCookie), status: 403,
			check: func(t *testing.T, f *fakes, _ *httptest.ResponseRecorder) {
				if len(f.id.loggedOut) > 0 {
					t.Error("logged out by a forged form")
				}
			}},
		{name: "log out, store down",
			visit: post("/logout", annSession, nil), setup: func(f *fakes) { f.id.err["Logout"] = errPrimaryDown },
			status: 503},

		{name: "new post",
			visit: uploadAs(annSession, upload{photo, "Sunset"}), status: 303, location: "/p/20",
			check: func(t *testing.T, f *fakes, _ *httptest.ResponseRecorder) {
				if !slices.Equal(f.posts.created, []string{"1 Sunset 15"}) || !slices.Equal(f.posts.waited, []time.Duration{3 * time.Second}) {
					t.Errorf("created %q, waited %v for the thumbnails", f.posts.created, f.posts.waited)
				}
			}},
		{name: "new post, logged out",
			visit: uploadAs("", upload{photo, "Sunset"}), status: 303, location: "/login?next=%2F", check: noPost},
		{name: "new post without the CSRF cookie",
			visit: withCSRF(uploadAs(annSession, upload{photo, "Sunset"}), csrfNoCookie), status: 403, check: noPost},
		{name: "new post with a token not made for the cookie",
			visit: withCSRF(uploadAs(annSession, upload{photo, "Sunset"}), csrfWrongForm), status: 403, check: noPost},
		{name: "new post without a photo",
			visit: uploadAs(annSession, upload{nil, "Sunset"}), status: 422, shows: []string{"Choose a photo", "Sunset"}},
		{name: "new post, caption too long",
			visit: uploadAs(annSession, upload{photo, strings.Repeat("é", 2201)}), status: 422, shows: []string{"at most 2200 characters"}},
		{name: "new post, not an image",
			visit: uploadAs(annSession, upload{[]byte("text"), "Sunset"}), setup: func(f *fakes) { f.posts.err["Create"] = media.ErrUnsupportedType },
			status: 415, shows: []string{"not a JPEG"}},
		{name: "new post, image checks saturated",
			visit: uploadAs(annSession, upload{photo, "Sunset"}), setup: func(f *fakes) { f.posts.err["Create"] = media.ErrBusy },
			status: 503, shows: []string{"busy with other images"}, check: retryAfter},
		{name: "new post, over the size limit",
			visit: uploadAs(annSession, upload{make([]byte, 2*testUploadLimit), "Sunset"}), status: 413, check: noPost},

		{name: "like",
			visit: post("/p/10/like", annSession, back), status: 303, location: "/u/bob#p10",
			check: func(t *testing.T, f *fakes, _ *httptest.ResponseRecorder) {
				if !f.posts.likes[[2]int64{bobsPost.ID, ann.ID}] {
					t.Error("ann does not like the post")
				}
			}},
		{name: "like, back off the site",
			visit: post("/p/10/like", annSession, url.Values{"back": {"//evil.example"}}), status: 303, location: "/#p10"},
		{name: "unlike",
			visit: post("/p/10/unlike", annSession, back), setup: func(f *fakes) { f.posts.likes[[2]int64{bobsPost.ID, ann.ID}] = true },
			status: 303, location: "/u/bob#p10",
			check: func(t *testing.T, f *fakes, _ *httptest.ResponseRecorder) {
				if f.posts.likes[[2]int64{bobsPost.ID, ann.ID}] {
					t.Error("ann still likes the post")
				}
			}},
		{name: "like, logged out",
			visit: post("/p/10/like", "", back), status: 303, location: "/login?next=%2F"},
		{name: "like without the CSRF cookie",
			visit: withCSRF(post("/p/10/like", annSession, back), csrfNoCookie), status: 403,
			check: func(t *testing.T, f *fakes, _ *httptest.ResponseRecorder) {
				if len(f.posts.likes) > 0 {
					t.Error("liked by a forged form")
				}
			}},
		{name: "like a post that does not exist",
			visit: post("/p/12/like", annSession, back), status: 404},
		{name: "like, bad id",
			visit: post("/p/x/like", annSession, back), status: 404},

		{name: "delete own post",
			visit: post("/p/11/delete", annSession, nil), status: 303, location: "/u/ann"},
		{name: "delete someone else's post",
			visit: post("/p/10/delete", annSession, nil), status: 404,
			check: func(t *testing.T, f *fakes, _ *httptest.ResponseRecorder) {
				if _, ok := f.posts.posts[bobsPost.ID]; !ok {
					t.Error("bob's post was deleted by ann")
				}
			}},
		{name: "delete with a token not made for the cookie",
			visit: withCSRF(post("/p/11/delete", annSession, nil), csrfWrongForm), status: 403},

		{name: "follow",
			visit: post("/u/bob/follow", annSession, nil), status: 303, location: "/u/bob",
			check: func(t *testing.T, f *fakes, _ *httptest.ResponseRecorder) {
				if !f.graph.follows[[2]int64{ann.ID, bob.ID}] {
					t.Error("ann does not follow bob")
				}
			}},
		{name: "unfollow",
			visit: post("/u/bob/unfollow", annSession, nil), setup: func(f *fakes) { f.graph.follows[[2]int64{ann.ID, bob.ID}] = true },
			status: 303, location: "/u/bob",
			check: func(t *testing.T, f *fakes, _ *httptest.ResponseRecorder) {
				if f.graph.follows[[2]int64{ann.ID, bob.ID}] {
					t.Error("ann still follows bob")
				}
			}},
		{name: "follow yourself",
			visit: post("/u/ann/follow", annSession, nil), status: 422, shows: []string{"cannot follow yourself"}},
		{name: "follow no one",
			visit: post("/u/zed/follow", annSession, nil), status: 404},
		{name: "follow, logged out",
			visit: post("/u/bob/follow", "", nil), status: 303, location: "/login?next=%2F"},
		{name: "follow without the CSRF cookie",
			visit: withCSRF(post("/u/bob/follow", annSession, nil), csrfNoCookie), status: 403,
			check: func(t *testing.T, f *fakes, _ *httptest.ResponseRecorder) {
				if len(f.graph.follows) > 0 {
					t.Error("followed by a forged form")
				}
			}},
		{name: "follow, identity down",
			visit: post("/u/bob/follow", annSession, nil), setup: func(f *fakes) { f.id.err["UserByUsername"] = errPrimaryDown },
			status: 503},
	})
}
