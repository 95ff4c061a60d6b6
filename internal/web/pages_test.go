package web_test

import (
	"fmt"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/photofeed/photofeed/internal/httpauth"
	"github.com/photofeed/photofeed/internal/search"
	"github.com/photofeed/photofeed/internal/web"
)

// pageCase is one visit and what it must get: the status, where a
// redirect goes, text the page must and must not show, and what else
// check looks at.
type pageCase struct {
	name     string
	visit    visit
	setup    func(*fakes)
	status   int
	location string
	shows    []string
	hides    []string
	check    func(t *testing.T, f *fakes, w *httptest.ResponseRecorder)
}

func runPages(t *testing.T, cases []pageCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakes()
			if tc.setup != nil {
				tc.setup(f)
			}
			w := f.do(t, tc.visit)
			if w.Code != tc.status {
				t.Fatalf("%s %s answered %d, want %d:\n%s", tc.visit.method, tc.visit.path, w.Code, tc.status, w.Body)
			}
			if loc := w.Header().Get("Location"); loc != tc.location {
				t.Errorf("Location %q, want %q", loc, tc.location)
			}
			for _, s := range tc.shows {
				if !strings.Contains(w.Body.String(), s) {
					t.Errorf("the page does not show %q:\n%s", s, w.Body)
				}
			}
			for _, s := range tc.hides {
				if strings.Contains(w.Body.String(), s) {
					t.Errorf("the page shows %q:\n%s", s, w.Body)
				}
			}
			if tc.check != nil {
				tc.check(t, f, w)
			}
		})
	}
}

// sessionCleared checks that the answer ends the browser's session.
func sessionCleared(t *testing.T, _ *fakes, w *httptest.ResponseRecorder) {
	t.Helper()
	for _, c := range w.Result().Cookies() {
		if c.Name == httpauth.CookieName && c.MaxAge < 0 {
			return
		}
	}
	t.Errorf("the session cookie was not cleared: %v", w.Result().Cookies())
}

func get(path, session string) visit { return visit{method: "GET", path: path, session: session} }

// Each page, with every status code it answers and who may see what.
func TestPages(t *testing.T) {
	runPages(t, []pageCase{
		{name: "home, logged out",
			visit: get("/", ""), status: 200, shows: []string{`href="/signup"`}, hides: []string{"Harbour at dawn"},
			check: func(t *testing.T, f *fakes, _ *httptest.ResponseRecorder) {
				if len(f.feed.asked) > 0 {
					t.Errorf("a feed was read for a logged-out visitor: %q", f.feed.asked)
				}
			}},
		{name: "home",
			visit: get("/", annSession), setup: func(f *fakes) { f.posts.likes[[2]int64{bobsPost.ID, ann.ID}] = true },
			status: 200,
			shows: []string{"Harbour at dawn", "@bob", `src="https://cdn.example/media/l10.jpg"`, "♥ Liked",
				"Processing your photo", `href="/?cursor=older-than-11"`, `href="/u/ann"`},
			check: func(t *testing.T, f *fakes, w *httptest.ResponseRecorder) {
				if !slices.Equal(f.feed.asked, []string{"1  20"}) {
					t.Errorf("feed asked %q, want ann's first page of 20", f.feed.asked)
				}
				// The feed hands back views: the page loads nothing again.
				if !slices.Equal(f.posts.viewers, []int64{ann.ID}) {
					t.Errorf("views loaded for viewers %v, want once, by the feed", f.posts.viewers)
				}
				if cc := w.Header().Get("Cache-Control"); cc != "private, no-cache" {
					t.Errorf("Cache-Control %q", cc)
				}
			}},
		{name: "home, the first photos load at once",
			visit: get("/", annSession), setup: func(f *fakes) {
				f.feed.ids = nil
				for id := int64(20); id < 23; id++ {
					p := bobsPost
					p.ID = id
					p.Images.Large.Key = fmt.Sprintf("l%d.jpg", id)
					f.posts.posts[id] = p
					f.feed.ids = append(f.feed.ids, id)
				}
			},
			status: 200,
			check: func(t *testing.T, _ *fakes, w *httptest.ResponseRecorder) {
				// The first is the largest paint on a phone: fetched first;
				// the second may be in view on a laptop; the rest wait.
				for _, want := range []string{`l20.jpg"[^>]*fetchpriority="high"`, `l21.jpg"[^>]*alt="Harbour at dawn">`, `l22.jpg"[^>]*loading="lazy"`} {
					if !regexp.MustCompile(want).MatchString(w.Body.String()) {
						t.Errorf("no %s in:\n%s", want, w.Body)
					}
				}
				if n := strings.Count(w.Body.String(), `loading="lazy"`); n != 1 {
					t.Errorf("%d lazy photos, want only the third", n)
				}
			}},
		{name: "home, older posts",
			visit: get("/?cursor=older-than-11", annSession), status: 200,
			check: func(t *testing.T, f *fakes, _ *httptest.ResponseRecorder) {
				if !slices.Equal(f.feed.asked, []string{"1 older-than-11 20"}) {
					t.Errorf("feed asked %q", f.feed.asked)
				}
			}},
		{name: "home, last page",
			visit: get("/", annSession), setup: func(f *fakes) { f.feed.ids, f.feed.next = nil, "" },
			status: 200, shows: []string{"Nothing here yet"}, hides: []string{"Older posts"}},
		{name: "home, altered cursor",
			visit: get("/?cursor=forged", annSession), status: 400, shows: []string{"the cursor is malformed"}},
		{name: "home, database down",
			visit: get("/", annSession), setup: func(f *fakes) { f.feed.err = errPrimaryDown },
			status: 503, shows: []string{"Service Unavailable"}, hides: []string{"primary"}},
		{name: "home, failing",
			visit: get("/", annSession), setup: func(f *fakes) { f.feed.err = errStoreDown },
			status: 500, shows: []string{"Something went wrong on our side."}, hides: []string{"connection refused"}},
		{name: "home, session ended",
			visit: get("/", "old-session"), status: 200, shows: []string{`href="/signup"`}, check: sessionCleared},

		{name: "post page, logged out",
			visit: get("/p/10", ""), status: 200, shows: []string{"Harbour at dawn", "3 likes"}, hides: []string{`action="/p/10/like"`}},
		{name: "post page",
			visit: get("/p/10", annSession), status: 200, shows: []string{`action="/p/10/like"`}, hides: []string{`action="/p/10/delete"`}},
		{name: "own post page",
			visit: get("/p/11", annSession), status: 200, shows: []string{"Processing your photo", `action="/p/11/delete"`}},
		{name: "post page, bad id",
			visit: get("/p/x", ""), status: 404, shows: []string{"no such post"}},
		{name: "post page, no such post",
			visit: get("/p/12", ""), status: 404},
		{name: "post page, database down",
			visit: get("/p/10", ""), setup: func(f *fakes) { f.posts.err["Post"] = errPrimaryDown }, status: 503},

		{name: "new post page",
			visit: get("/upload", annSession), status: 200, shows: []string{`name="photo"`}},
		{name: "new post page, logged out",
			visit: get("/upload", ""), status: 303, location: "/login?next=%2Fupload"},

		{name: "search page",
			visit: get("/explore", ""), status: 200, shows: []string{`name="q"`},
			check: func(t *testing.T, f *fakes, _ *httptest.ResponseRecorder) {
				if len(f.search.asked) > 0 {
					t.Errorf("searched %q without a query", f.search.asked)
				}
			}},
		{name: "search posts",
			visit: get("/explore?q=harbour", annSession), setup: func(f *fakes) { f.search.next = "c2" },
			status: 200, shows: []string{`href="/p/10"`, `src="https://cdn.example/media/t10.jpg"`, "cursor=c2"},
			check: func(t *testing.T, f *fakes, _ *httptest.ResponseRecorder) {
				if !slices.Equal(f.search.asked, []string{"posts harbour  24"}) || !slices.Equal(f.posts.viewers, []int64{ann.ID}) {
					t.Errorf("searched %q, views for %v", f.search.asked, f.posts.viewers)
				}
			}},
		{name: "search people",
			visit: get("/explore?q=bo&type=users", ""), status: 200, shows: []string{`href="/u/bob"`}},
		{name: "search, nothing found",
			visit: get("/explore?q=zzz", ""), setup: func(f *fakes) { f.search.posts = nil },
			status: 200, shows: []string{"No photos match."}},
		{name: "search, bad query",
			visit: get("/explore?q=x", ""), setup: func(f *fakes) { f.search.err = search.ErrQuery },
			status: 400, shows: []string{"bad search"}},
		{name: "search without an index",
			visit: get("/explore?q=x", ""), setup: func(f *fakes) { f.deps = func(d *web.Deps) { d.Search = search.Unavailable{} } },
			status: 503, shows: []string{"search is unavailable"}},
		{name: "search, index down",
			visit: get("/explore?q=x", ""), setup: func(f *fakes) { f.search.err = search.ErrUnavailable },
			status: 503, shows: []string{"search is unavailable"}},
		{name: "search, failing",
			visit: get("/explore?q=x", ""), setup: func(f *fakes) { f.search.err = errStoreDown },
			status: 500, hides: []string{"connection refused"}},
		{name: "search people, identity down",
			visit: get("/explore?q=bo&type=users", ""), setup: func(f *fakes) { f.id.err["UsersByIDs"] = errPrimaryDown },
			status: 503},

		{name: "profile, logged out",
			visit: get("/u/bob", ""), status: 200,
			shows: []string{"@bob", "<strong>1</strong> posts", `href="/p/10"`}, hides: []string{`action="/u/bob/follow"`}},
		{name: "profile",
			visit: get("/u/bob", annSession), status: 200, shows: []string{`action="/u/bob/follow"`}},
		{name: "profile of someone followed",
			visit: get("/u/bob", annSession), setup: func(f *fakes) { f.graph.follows[[2]int64{ann.ID, bob.ID}] = true },
			status: 200, shows: []string{`action="/u/bob/unfollow"`, "<strong>1</strong> followers"}},
		{name: "own profile",
			visit: get("/u/ann", annSession), status: 200, shows: []string{"Processing…"}, hides: []string{`action="/u/ann/follow"`}},
		{name: "profile, a page past the end",
			visit: get("/u/bob?page=9", ""), status: 200, shows: []string{"No posts yet.", "← Newer"}},
		{name: "profile of no one",
			visit: get("/u/zed", ""), status: 404, shows: []string{"no such user"}},
		{name: "profile, graph down",
			visit: get("/u/bob", ""), setup: func(f *fakes) { f.graph.err["Counts"] = errPrimaryDown }, status: 503},
		{name: "profile, posts down",
			visit: get("/u/bob", ""), setup: func(f *fakes) { f.posts.err["ByAuthor"] = errPrimaryDown }, status: 503},

		{name: "log-in page",
			visit: get("/login?next=/u/bob", ""), status: 200, shows: []string{`name="next" value="/u/bob"`, `name="csrf" value="`}},
		{name: "log-in page, next off the site",
			visit: get("/login?next=//evil.example/x", ""), status: 200, shows: []string{`name="next" value="/"`}},
		{name: "sign-up page",
			visit: get("/signup", ""), status: 200, shows: []string{`name="display_name"`, `name="csrf" value="`}},
	})
}

// A caption's hashtags and mentions are links wherever the caption is
// text (the post page, the feed); alt text stays the plain caption; a
// caption's own markup stays text.
func TestCaptionLinks(t *testing.T) {
	setCaption := func(f *fakes) {
		p := f.posts.posts[bobsPost.ID]
		p.Caption = "Harbour at #Dawn with @ann <b>bold</b>"
		f.posts.posts[p.ID] = p
	}
	links := `<p class="caption">Harbour at <a href="/explore?q=%23Dawn">#Dawn</a> with <a href="/u/ann">@ann</a> &lt;b&gt;bold&lt;/b&gt;</p>`
	alt := `alt="Harbour at #Dawn with @ann &lt;b&gt;bold&lt;/b&gt;"`
	runPages(t, []pageCase{
		{name: "post page", visit: get("/p/10", ""), setup: setCaption, status: 200,
			shows: []string{links, alt}, hides: []string{"<b>"}},
		{name: "home feed", visit: get("/", annSession), setup: setCaption, status: 200,
			shows: []string{links, alt}, hides: []string{"<b>"}},
		{name: "profile grid: alt text only", visit: get("/u/bob", ""), setup: setCaption, status: 200,
			shows: []string{alt}, hides: []string{`href="/explore?q=%23Dawn"`, "<b>"}},
	})
}
