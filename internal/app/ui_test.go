package app_test

import (
	"image/color"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/photofeed/photofeed/internal/app"
)

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf loads a page and returns the form token in it.
func (c *client) csrf(path string) string {
	c.t.Helper()
	r := c.do("GET", path, nil)
	m := csrfField.FindSubmatch(r.Body)
	if m == nil {
		c.t.Fatalf("no csrf field on %s (%d)", path, r.StatusCode)
	}
	return string(m[1])
}

func (c *client) form(path string, v url.Values, header ...string) response {
	c.t.Helper()
	return c.do("POST", path, strings.NewReader(v.Encode()), append([]string{"Content-Type", "application/x-www-form-urlencoded"}, header...)...)
}

func sessionCookie(r response) *http.Cookie {
	for _, c := range r.Cookies() {
		if c.Name == "photofeed_session" {
			return c
		}
	}
	return nil
}

func TestUIFlows(t *testing.T) {
	s := start(t)
	alice, bob := s.client(t), s.client(t)

	// Sign up: a form without a token, or with another browser's, is refused.
	tok := alice.csrf("/signup")
	signup := url.Values{"username": {"alice"}, "password": {"a-long-password"}, "display_name": {"Alice"}}
	if r := alice.form("/signup", signup); r.StatusCode != 403 {
		t.Fatalf("signup without csrf: %d", r.StatusCode)
	}
	bobTok := bob.csrf("/signup")
	signup.Set("csrf", bobTok)
	if r := alice.form("/signup", signup); r.StatusCode != 403 {
		t.Fatalf("signup with another browser's csrf: %d", r.StatusCode)
	}
	bad := url.Values{"csrf": {tok}, "username": {"Al"}, "password": {"short"}}
	if r := alice.form("/signup", bad); r.StatusCode != 422 || !strings.Contains(string(r.Body), "at least 10 characters") {
		t.Fatalf("invalid signup: %d", r.StatusCode)
	}
	signup.Set("csrf", tok)
	r := alice.form("/signup", signup, "X-Forwarded-Proto", "https")
	if r.StatusCode != 303 || r.Header.Get("Location") != "/" {
		t.Fatalf("signup: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	ck := sessionCookie(r)
	if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || !ck.Secure {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Lax, Secure behind TLS", ck)
	}
	// The cookie jar keeps it only for https; hand it over for plain http.
	u, _ := url.Parse(s.URL)
	ck.Secure = false
	alice.http.Jar.SetCookies(u, []*http.Cookie{ck})
	if r := alice.form("/signup", signup); r.StatusCode != 409 {
		t.Fatalf("second signup of alice: %d", r.StatusCode)
	}

	// Cross-site form posts are refused even with a valid token.
	if r := alice.form("/logout", url.Values{"csrf": {alice.csrf("/")}}, "Sec-Fetch-Site", "cross-site"); r.StatusCode != 403 {
		t.Fatalf("cross-site post: %d", r.StatusCode)
	}

	// Upload.
	r = alice.upload("/upload", app.SampleJPEG(t, 300, 200, color.RGBA{200, 0, 0, 255}), "my first photo", "csrf", alice.csrf("/upload"))
	if r.StatusCode != 303 || !strings.HasPrefix(r.Header.Get("Location"), "/p/") {
		t.Fatalf("upload: %d %s %s", r.StatusCode, r.Header.Get("Location"), r.Body)
	}
	postPath := r.Header.Get("Location")
	r = alice.upload("/upload", []byte("not an image"), "nope", "csrf", alice.csrf("/upload"))
	if r.StatusCode != 415 || !strings.Contains(string(r.Body), "nope") {
		t.Fatalf("bad upload: %d, want 415 with the caption kept", r.StatusCode)
	}
	if r := alice.upload("/upload", app.SampleJPEG(t, 10, 10, color.White), "x"); r.StatusCode != 403 {
		t.Fatalf("upload without csrf: %d", r.StatusCode)
	}
	page := string(alice.do("GET", "/u/alice", nil).Body)
	if !strings.Contains(page, "my first photo") || !strings.Contains(page, "/media/") {
		t.Fatal("profile does not show the photo")
	}

	// Bob logs in, follows alice from her profile, sees her photo in his feed.
	bobSignup := url.Values{"csrf": {bob.csrf("/signup")}, "username": {"bob"}, "password": {"b-long-password"}}
	if r := bob.form("/signup", bobSignup); r.StatusCode != 303 {
		t.Fatalf("bob signup: %d", r.StatusCode)
	}
	if r := bob.form("/logout", url.Values{"csrf": {bob.csrf("/")}}); r.StatusCode != 303 {
		t.Fatalf("logout: %d", r.StatusCode)
	}
	if strings.Contains(string(bob.do("GET", "/", nil).Body), "/upload") {
		t.Fatal("still logged in after logout")
	}
	login := url.Values{"csrf": {bob.csrf("/login")}, "username": {"bob"}, "password": {"wrong-password"}}
	if r := bob.form("/login", login); r.StatusCode != 401 {
		t.Fatalf("bad login: %d", r.StatusCode)
	}
	login.Set("password", "b-long-password")
	login.Set("next", "https://evil.example/")
	if r := bob.form("/login", login); r.StatusCode != 303 || r.Header.Get("Location") != "/" {
		t.Fatalf("login: %d to %q (must stay on site)", r.StatusCode, r.Header.Get("Location"))
	}
	if r := bob.form("/u/alice/follow", url.Values{"csrf": {bob.csrf("/u/alice")}}); r.StatusCode != 303 {
		t.Fatalf("follow: %d", r.StatusCode)
	}
	if !strings.Contains(string(bob.do("GET", "/u/alice", nil).Body), "Unfollow") {
		t.Fatal("profile does not offer Unfollow after following")
	}
	home := string(bob.do("GET", "/", nil).Body)
	if !strings.Contains(home, "my first photo") {
		t.Fatal("bob's feed lacks alice's photo")
	}

	// Like and unlike.
	if r := bob.form(postPath+"/like", url.Values{"csrf": {bob.csrf(postPath)}, "back": {postPath}}); r.StatusCode != 303 {
		t.Fatalf("like: %d", r.StatusCode)
	}
	if p := string(bob.do("GET", postPath, nil).Body); !strings.Contains(p, "1 like<") || !strings.Contains(p, "Liked") {
		t.Fatal("post page does not show the like")
	}
	bob.form(postPath+"/unlike", url.Values{"csrf": {bob.csrf(postPath)}})
	if p := string(bob.do("GET", postPath, nil).Body); !strings.Contains(p, "0 likes") {
		t.Fatal("post page does not show the unlike")
	}

	// Only the author can delete.
	if r := bob.form(postPath+"/delete", url.Values{"csrf": {bob.csrf(postPath)}}); r.StatusCode != 404 {
		t.Fatalf("bob deleting alice's post: %d", r.StatusCode)
	}
	if r := alice.form(postPath+"/delete", url.Values{"csrf": {alice.csrf(postPath)}}); r.StatusCode != 303 {
		t.Fatalf("delete: %d", r.StatusCode)
	}
	if r := bob.do("GET", postPath, nil); r.StatusCode != 404 {
		t.Fatalf("deleted post page: %d", r.StatusCode)
	}

	// Anonymous visitors are sent to log in.
	anon := s.client(t)
	if r := anon.do("GET", "/upload", nil); r.StatusCode != 303 || !strings.HasPrefix(r.Header.Get("Location"), "/login?next=") {
		t.Fatalf("anonymous upload page: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
}

func TestUIFeedPagesWithOlderLink(t *testing.T) {
	s := start(t)
	c := s.client(t)
	c.signup("pager")
	for i := range 22 {
		c.post(strings.Repeat("p", i%5+1))
	}
	login := url.Values{"csrf": {c.csrf("/login")}, "username": {"pager"}, "password": {"password-pager"}}
	c.form("/login", login)
	first := string(c.do("GET", "/", nil).Body)
	if n := strings.Count(first, `<article class="post"`); n != 20 {
		t.Fatalf("first page shows %d posts, want 20", n)
	}
	m := regexp.MustCompile(`href="(/\?cursor=[^"]+)" rel="next"`).FindStringSubmatch(first)
	if m == nil {
		t.Fatal("no Older link")
	}
	second := string(c.do("GET", strings.ReplaceAll(m[1], "&amp;", "&"), nil).Body)
	if n := strings.Count(second, `<article class="post"`); n != 2 || strings.Contains(second, `rel="next"`) {
		t.Fatalf("second page shows %d posts (want 2) or has a next link", n)
	}
}
