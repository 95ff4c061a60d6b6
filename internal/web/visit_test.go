package web_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/httpauth"
	"github.com/photofeed/photofeed/internal/identity"
	"github.com/photofeed/photofeed/internal/posts"
	"github.com/photofeed/photofeed/internal/testenv"
	"github.com/photofeed/photofeed/internal/web"
)

// testUploadLimit keeps the upload limit small enough to pass in a test.
const testUploadLimit = 64 << 10

// fakes is a test's services and the UI served from them, built at the
// first request so a test's setup can change them first.
type fakes struct {
	id     *fakeIdentity
	posts  *fakePosts
	graph  *fakeGraph
	feed   *fakeFeed
	search *fakeSearch
	// deps, if set, changes the UI's dependencies before it is built.
	deps func(*web.Deps)
	h    http.Handler
}

func newFakes() *fakes {
	id := &fakeIdentity{users: map[string]identity.User{"ann": ann, "bob": bob}, err: map[string]error{}}
	p := &fakePosts{ids: id, posts: map[int64]posts.Post{bobsPost.ID: bobsPost, annsPost.ID: annsPost},
		likes: map[[2]int64]bool{}, err: map[string]error{}}
	return &fakes{id: id, posts: p,
		graph:  &fakeGraph{follows: map[[2]int64]bool{}, err: map[string]error{}},
		feed:   &fakeFeed{posts: p, ids: []int64{bobsPost.ID, annsPost.ID}, next: "older-than-11"},
		search: &fakeSearch{posts: []int64{bobsPost.ID}, users: []int64{bob.ID, 99}},
	}
}

func (f *fakes) handler(t *testing.T) http.Handler {
	t.Helper()
	if f.h != nil {
		return f.h
	}
	log := slog.New(slog.DiscardHandler)
	deps := web.Deps{Identity: f.id, Posts: f.posts, Graph: f.graph, Feed: f.feed, Search: f.search, Logger: log,
		MaxUploadBytes: testUploadLimit, UploadWait: 3 * time.Second, MediaBaseURL: "https://cdn.example",
		CSRFKey: []byte("csrf-key-for-tests")}
	if f.deps != nil {
		f.deps(&deps)
	}
	ui, err := web.New(deps)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	ui.Register(mux)
	f.h = httpauth.Middleware(f.id, log, mux)
	return f.h
}

// visit is one request from a browser: session "" is logged out; a form
// post carries the browser's CSRF cookie and token unless csrf says
// otherwise.
type visit struct {
	method, path string
	session      string
	form         url.Values // an URL-encoded form
	upload       *upload    // a multipart upload instead
	contentType  string     // with body: a body of this type instead of either
	body         string
	csrf         csrfRule
}

// upload is a new post's form: photo nil sends no file.
type upload struct {
	photo   []byte
	caption string
}

type csrfRule int

const (
	csrfValid     csrfRule = iota // the cookie and its token, as a page of this site gives them
	csrfNoCookie                  // neither: a browser that never loaded a page, or a forged post
	csrfWrongForm                 // the cookie, with a token not made for it
)

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf loads a form page as the browser would and returns the CSRF cookie
// it set and the token its form carries.
func (f *fakes) csrf(t *testing.T) (*http.Cookie, string) {
	t.Helper()
	w := httptest.NewRecorder()
	f.handler(t).ServeHTTP(w, httptest.NewRequest("GET", "/login", nil))
	var cookie *http.Cookie
	for _, c := range w.Result().Cookies() {
		if c.Name == "photofeed_csrf" {
			cookie = c
		}
	}
	m := csrfInput.FindStringSubmatch(w.Body.String())
	if cookie == nil || m == nil {
		t.Fatalf("the login page set no CSRF cookie or token: %v\n%s", w.Result().Cookies(), w.Body)
	}
	return cookie, m[1]
}

func (f *fakes) do(t *testing.T, v visit) *httptest.ResponseRecorder {
	t.Helper()
	var cookie *http.Cookie
	body := v.body
	if v.method == "POST" {
		var token string
		if v.csrf != csrfNoCookie {
			cookie, token = f.csrf(t)
		}
		if v.csrf == csrfWrongForm {
			token = "not-the-token"
		}
		switch {
		case v.contentType != "":
		case v.upload != nil:
			ct, b := testenv.UploadForm(v.upload.photo, v.upload.caption, "csrf", token)
			v.contentType, body = ct, string(b)
		default:
			form := url.Values{}
			for k, vs := range v.form {
				form[k] = vs
			}
			form.Set("csrf", token)
			v.contentType, body = "application/x-www-form-urlencoded", form.Encode()
		}
	}
	r := httptest.NewRequest(v.method, v.path, strings.NewReader(body))
	if v.contentType != "" {
		r.Header.Set("Content-Type", v.contentType)
	}
	if cookie != nil {
		r.AddCookie(&http.Cookie{Name: cookie.Name, Value: cookie.Value})
	}
	if v.session != "" {
		r.AddCookie(&http.Cookie{Name: httpauth.CookieName, Value: v.session})
	}
	w := httptest.NewRecorder()
	f.handler(t).ServeHTTP(w, r)
	return w
}
