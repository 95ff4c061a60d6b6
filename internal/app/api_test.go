package app_test

import (
	"bufio"
	"bytes"
	"fmt"
	"image/color"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/photofeed/photofeed/internal/app"
	"github.com/photofeed/photofeed/internal/testenv"
)

func TestAccountsAndSessions(t *testing.T) {
	s := start(t)
	c := s.client(t)

	r := c.jsonReq("POST", "/v1/accounts", `{"username":"alice","password":"0123456789","display_name":"Alice A."}`)
	if r.StatusCode != 201 || r.Header.Get("Location") != "/v1/users/alice" {
		t.Fatalf("create: %d %q %s", r.StatusCode, r.Header.Get("Location"), r.Body)
	}
	var u map[string]any
	r.json(t, &u)
	if id, ok := u["id"].(string); !ok || id == "" {
		t.Fatalf("id must be a JSON string: %s", r.Body)
	}
	if u["display_name"] != "Alice A." || u["followers_count"] != float64(0) || u["created_at"] == nil {
		t.Fatalf("user body: %s", r.Body)
	}

	tests := []struct {
		name   string
		ct     string
		body   string
		status int
		fields []string
	}{
		{"taken", "application/json", `{"username":"alice","password":"0123456789"}`, 409, nil},
		{"short fields", "application/json", `{"username":"al","password":"short"}`, 422, []string{"username", "password"}},
		{"bad characters", "application/json", `{"username":"Alice!","password":"0123456789"}`, 422, []string{"username"}},
		{"too long", "application/json", `{"username":"` + strings.Repeat("a", 31) + `","password":"0123456789"}`, 422, []string{"username"}},
		{"long display name", "application/json", `{"username":"zed","password":"0123456789","display_name":"` + strings.Repeat("é", 51) + `"}`, 422, []string{"display_name"}},
		{"malformed", "application/json", `{"username":`, 400, nil},
		{"not json", "application/json", `username=alice`, 400, nil},
		{"wrong type", "application/json", `{"username":42,"password":"0123456789"}`, 400, []string{"username"}},
		{"two objects", "application/json", `{} {}`, 400, nil},
		{"empty", "application/json", ``, 400, nil},
		{"form encoded", "application/x-www-form-urlencoded", `username=x`, 415, nil},
		{"too big", "application/json", `{"username":"` + strings.Repeat("a", 70<<10) + `"}`, 413, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.do("POST", "/v1/accounts", strings.NewReader(tt.body), "Content-Type", tt.ct)
			p := r.problem(t, tt.status)
			errs, _ := p["errors"].(map[string]any)
			for _, f := range tt.fields {
				if errs[f] == nil {
					t.Errorf("no error for field %q: %s", f, r.Body)
				}
			}
		})
	}

	// Bad credentials answer the same whether or not the user exists.
	wrong := c.jsonReq("POST", "/v1/sessions", `{"username":"alice","password":"wrong-password"}`)
	unknown := c.jsonReq("POST", "/v1/sessions", `{"username":"nobody","password":"wrong-password"}`)
	wrong.problem(t, 401)
	unknown.problem(t, 401)
	if string(wrong.Body) != string(unknown.Body) {
		t.Fatalf("401 bodies differ: %s vs %s", wrong.Body, unknown.Body)
	}

	r = c.jsonReq("POST", "/v1/sessions", `{"username":"alice","password":"0123456789"}`)
	var sess struct {
		Token     string
		ExpiresAt string `json:"expires_at"`
	}
	r.json(t, &sess)
	if r.StatusCode != 201 || sess.Token == "" || sess.ExpiresAt == "" {
		t.Fatalf("login: %d %s", r.StatusCode, r.Body)
	}
	c.token = sess.Token
	r = c.do("GET", "/v1/me", nil)
	r.json(t, &u)
	if r.StatusCode != 200 || u["username"] != "alice" {
		t.Fatalf("me: %d %s", r.StatusCode, r.Body)
	}
	if r := c.do("DELETE", "/v1/sessions/current", nil); r.StatusCode != 204 {
		t.Fatalf("logout: %d %s", r.StatusCode, r.Body)
	}
	c.do("GET", "/v1/me", nil).problem(t, 401) // revoked, though still signed and unexpired
	c.token = ""
	r = c.do("GET", "/v1/me", nil)
	r.problem(t, 401)
	if r.Header.Get("WWW-Authenticate") == "" {
		t.Error("401 without WWW-Authenticate")
	}
	c.token = "not.a.token"
	c.do("GET", "/v1/me", nil).problem(t, 401)
	c.do("GET", "/v1/users/alice", nil).problem(t, 401) // a bad token is not anonymity
}

func TestUsersAndFollows(t *testing.T) {
	s := start(t)
	alice, bob, carol := s.client(t), s.client(t), s.client(t)
	alice.signup("alice")
	bob.signup("bob")
	carol.signup("carol")

	for range 2 { // PUT is idempotent
		if r := alice.do("PUT", "/v1/me/following/bob", nil); r.StatusCode != 204 {
			t.Fatalf("follow: %d %s", r.StatusCode, r.Body)
		}
	}
	carol.do("PUT", "/v1/me/following/bob", nil)
	alice.do("PUT", "/v1/me/following/carol", nil)
	alice.do("PUT", "/v1/me/following/alice", nil).problem(t, 422)
	alice.do("PUT", "/v1/me/following/nobody", nil).problem(t, 404)
	alice.do("PUT", "/v1/me/following/NOT%20valid", nil).problem(t, 404)
	anon := s.client(t)
	anon.do("PUT", "/v1/me/following/bob", nil).problem(t, 401)

	var u struct {
		FollowersCount int `json:"followers_count"`
		FollowingCount int `json:"following_count"`
	}
	// A follow is on the follower's shard at once; the followee's side
	// follows within moments where their shards are on two databases.
	testenv.Eventually(t, "bob's two followers", 15*time.Second, func() bool {
		anon.do("GET", "/v1/users/bob", nil).json(t, &u)
		return u.FollowersCount == 2
	})
	if u.FollowingCount != 0 {
		t.Fatalf("bob counts %+v", u)
	}
	anon.do("GET", "/v1/users/nobody", nil).problem(t, 404)

	var page struct {
		Items []struct{ Username string }
		Page  int
		Limit int
		Total int
	}
	anon.do("GET", "/v1/users/bob/followers?limit=1", nil).json(t, &page)
	if page.Total != 2 || len(page.Items) != 1 || page.Items[0].Username != "carol" || page.Page != 1 || page.Limit != 1 {
		t.Fatalf("followers page 1: %+v", page)
	}
	anon.do("GET", "/v1/users/bob/followers?limit=1&page=2", nil).json(t, &page)
	if len(page.Items) != 1 || page.Items[0].Username != "alice" {
		t.Fatalf("followers page 2: %+v", page)
	}
	anon.do("GET", "/v1/users/alice/following", nil).json(t, &page)
	if page.Total != 2 || len(page.Items) != 2 || page.Limit != 20 {
		t.Fatalf("following: %+v", page)
	}
	for _, q := range []string{"limit=0", "limit=101", "limit=x", "page=0", "page=-1", "page=abc"} {
		anon.do("GET", "/v1/users/bob/followers?"+q, nil).problem(t, 400)
	}
	anon.do("GET", "/v1/users/nobody/followers", nil).problem(t, 404)

	if r := alice.do("DELETE", "/v1/me/following/bob", nil); r.StatusCode != 204 {
		t.Fatalf("unfollow: %d", r.StatusCode)
	}
	if r := alice.do("DELETE", "/v1/me/following/bob", nil); r.StatusCode != 204 {
		t.Fatalf("unfollow again: %d", r.StatusCode)
	}
	testenv.Eventually(t, "bob's one follower after the unfollow", 15*time.Second, func() bool {
		anon.do("GET", "/v1/users/bob", nil).json(t, &u)
		return u.FollowersCount == 1
	})
}

func mediaFiles(t *testing.T, dir string) int {
	n := 0
	filepath.WalkDir(filepath.Join(dir, "media"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	return n
}

func TestPostsLikesAndMedia(t *testing.T) {
	// The upload's answer waits for its images (here they must be ready),
	// however slow the machine.
	s := start(t, "--max-upload", "200KiB", "--max-pixels", "1000000", "--upload-wait", "1m")
	alice, bob := s.client(t), s.client(t)
	aliceID := alice.signup("alice")
	bob.signup("bob")

	photo := app.SampleJPEG(t, 800, 600, color.RGBA{10, 200, 30, 255})
	r := alice.upload("/v1/posts", photo, "Sunset ☀️ #first")
	var p post
	r.json(t, &p)
	if r.StatusCode != 201 || r.Header.Get("Location") != "/v1/posts/"+p.ID {
		t.Fatalf("upload: %d %q %s", r.StatusCode, r.Header.Get("Location"), r.Body)
	}
	if p.Author.ID != aliceID || p.Author.Username != "alice" || p.Caption != "Sunset ☀️ #first" || p.LikeCount != 0 || p.LikedByMe {
		t.Fatalf("post body: %s", r.Body)
	}
	for _, u := range []string{p.Images.Thumb, p.Images.Large, p.Images.Original} {
		m := bob.do("GET", u, nil)
		if m.StatusCode != 200 || m.Header.Get("Content-Type") != "image/jpeg" ||
			m.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" || m.Header.Get("ETag") == "" {
			t.Fatalf("GET %s: %d %v", u, m.StatusCode, m.Header)
		}
		if again := bob.do("GET", u, nil, "If-None-Match", m.Header.Get("ETag")); again.StatusCode != 304 {
			t.Fatalf("conditional GET: %d", again.StatusCode)
		}
	}
	bob.do("GET", "/media/0000000000000000000000000000000000000000000000000000000000000000.jpg", nil).problem(t, 404)
	bob.do("GET", "/media/..%2f..%2fsecret.key", nil).problem(t, 404)

	for range 2 {
		if r := bob.do("PUT", "/v1/posts/"+p.ID+"/like", nil); r.StatusCode != 204 {
			t.Fatalf("like: %d %s", r.StatusCode, r.Body)
		}
	}
	bob.do("GET", "/v1/posts/"+p.ID, nil).json(t, &p)
	if p.LikeCount != 1 || !p.LikedByMe {
		t.Fatalf("after like: %+v", p)
	}
	alice.do("GET", "/v1/posts/"+p.ID, nil).json(t, &p)
	if p.LikedByMe {
		t.Fatal("alice sees bob's like as hers")
	}
	for range 2 {
		if r := bob.do("DELETE", "/v1/posts/"+p.ID+"/like", nil); r.StatusCode != 204 {
			t.Fatalf("unlike: %d", r.StatusCode)
		}
	}
	bob.do("GET", "/v1/posts/"+p.ID, nil).json(t, &p)
	if p.LikeCount != 0 || p.LikedByMe {
		t.Fatalf("after unlike: %+v", p)
	}
	bob.do("PUT", "/v1/posts/1/like", nil).problem(t, 404)
	s.client(t).do("PUT", "/v1/posts/"+p.ID+"/like", nil).problem(t, 401)

	var list struct {
		Items []post
		Total int
	}
	bob.do("GET", "/v1/users/alice/posts?limit=5", nil).json(t, &list)
	if list.Total != 1 || len(list.Items) != 1 || list.Items[0].ID != p.ID {
		t.Fatalf("alice's posts: %+v", list)
	}

	// Bad uploads: each gets its own status, and none leaves anything behind.
	files := mediaFiles(t, s.DataDir)
	bigPNGHeader := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x27\x10\x00\x00\x27\x10\x08\x02\x00\x00\x00"), make([]byte, 64)...)
	bad := []struct {
		name    string
		photo   []byte
		caption string
		status  int
	}{
		{"text file", []byte("just some text, not an image"), "", 415},
		{"html", []byte("<!DOCTYPE html><html><script>alert(1)</script>"), "", 415},
		{"truncated jpeg", photo[:200], "", 422},
		{"over pixel limit", app.SampleJPEG(t, 1200, 1000, color.White), "", 422},
		{"bomb header", bigPNGHeader, "", 422},
		{"over size limit", make([]byte, 300<<10), "", 413},
		{"caption too long", photo, strings.Repeat("x", 2201), 422},
		{"no photo", nil, "caption only", 422},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			alice.upload("/v1/posts", tt.photo, tt.caption).problem(t, tt.status)
		})
	}
	alice.do("POST", "/v1/posts", strings.NewReader(`{"caption":"json"}`), "Content-Type", "application/json").problem(t, 415)
	alice.do("POST", "/v1/posts", strings.NewReader("--x\r\nbroken"), "Content-Type", "multipart/form-data; boundary=x").problem(t, 400)
	if got := mediaFiles(t, s.DataDir); got != files {
		t.Fatalf("failed uploads left files: %d → %d", files, got)
	}
	bob.do("GET", "/v1/users/alice/posts", nil).json(t, &list)
	if list.Total != 1 {
		t.Fatalf("failed uploads left posts: total %d", list.Total)
	}

	for _, id := range []string{"abc", "0", "-5", "99999999999999999999"} {
		bob.do("GET", "/v1/posts/"+id, nil).problem(t, 400)
	}
	bob.do("GET", "/v1/posts/12345", nil).problem(t, 404)
	bob.do("DELETE", "/v1/posts/"+p.ID, nil).problem(t, 404) // not bob's: 404, not 403
	if r := alice.do("DELETE", "/v1/posts/"+p.ID, nil); r.StatusCode != 204 {
		t.Fatalf("delete: %d %s", r.StatusCode, r.Body)
	}
	bob.do("GET", "/v1/posts/"+p.ID, nil).problem(t, 404)
	alice.do("DELETE", "/v1/posts/"+p.ID, nil).problem(t, 404)
	if got := mediaFiles(t, s.DataDir); got != 0 {
		t.Fatalf("deleting the only post left %d media files", got)
	}
	bob.do("GET", p.Images.Thumb, nil).problem(t, 404)
}

// Two posts of the same photo share blobs; deleting one must keep the other's.
func TestSharedBlobsSurviveDelete(t *testing.T) {
	s := start(t)
	c := s.client(t)
	c.signup("alice")
	photo := app.SampleJPEG(t, 100, 100, color.White)
	var a, b post
	c.upload("/v1/posts", photo, "one").json(t, &a)
	c.upload("/v1/posts", photo, "two").json(t, &b)
	if a.Images.Thumb != b.Images.Thumb {
		t.Fatal("identical photos got different keys")
	}
	c.do("DELETE", "/v1/posts/"+a.ID, nil)
	if r := c.do("GET", b.Images.Thumb, nil); r.StatusCode != 200 {
		t.Fatalf("shared blob gone after deleting the other post: %d", r.StatusCode)
	}
}

func TestFeed(t *testing.T) {
	s := start(t)
	me, friend, stranger := s.client(t), s.client(t), s.client(t)
	me.signup("myself")
	friend.signup("friend")
	stranger.signup("stranger")
	me.do("PUT", "/v1/me/following/friend", nil)

	var want []string
	for i := range 13 {
		want = append(want, friend.post(fmt.Sprint("friend ", i)).ID)
		stranger.post("stranger")
		if i%3 == 0 {
			want = append(want, me.post(fmt.Sprint("me ", i)).ID)
		}
	}
	// Others' posts reach a feed through the fan-out and, with replicas,
	// replication: eventually, within milliseconds here.
	var got []string
	readFeed := func() {
		got = nil
		path := "/v1/feed?limit=7"
		for pages := 0; path != ""; pages++ {
			if pages > 5 {
				t.Fatal("feed does not end")
			}
			r := me.do("GET", path, nil)
			var page struct {
				Items      []post
				NextCursor string `json:"next_cursor"`
			}
			r.json(t, &page)
			if r.StatusCode != 200 || len(page.Items) > 7 {
				t.Fatalf("feed page: %d %s", r.StatusCode, r.Body)
			}
			for _, p := range page.Items {
				got = append(got, p.ID)
			}
			next := linkRel(r, "next")
			if page.NextCursor == "" {
				if next != "" {
					t.Fatalf("last page links to a next page %q", next)
				}
				path = ""
				continue
			}
			if !strings.Contains(next, page.NextCursor) {
				t.Fatalf("rel=next %q does not carry the next cursor", next)
			}
			path = next
		}
	}
	testenv.Eventually(t, "every post in the feed", 15*time.Second, func() bool {
		readFeed()
		return len(got) == len(want)
	})
	for i := 1; i < len(got); i++ {
		if len(got[i]) > len(got[i-1]) || (len(got[i]) == len(got[i-1]) && got[i] >= got[i-1]) {
			t.Fatalf("feed not newest first at %d: %s then %s", i, got[i-1], got[i])
		}
	}
	seen := map[string]bool{}
	for _, id := range want {
		seen[id] = true
	}
	for _, id := range got {
		if !seen[id] {
			t.Fatalf("feed has post %s that is neither mine nor my friend's", id)
		}
	}

	r := me.do("GET", "/v1/feed?limit=2", nil)
	var page struct {
		NextCursor string `json:"next_cursor"`
	}
	r.json(t, &page)
	tampered := []byte(page.NextCursor)
	tampered[3] ^= 1
	for _, q := range []string{"cursor=" + string(tampered), "cursor=garbage", "cursor=", "limit=0", "limit=101", "limit=ten"} {
		me.do("GET", "/v1/feed?"+q, nil).problem(t, 400)
	}
	s.client(t).do("GET", "/v1/feed", nil).problem(t, 401)
}

func TestRoutingProblemsAndHealth(t *testing.T) {
	s := start(t)
	c := s.client(t)
	if r := c.do("GET", "/healthz", nil); r.StatusCode != 200 {
		t.Fatalf("healthz %d", r.StatusCode)
	}
	if r := c.do("GET", "/readyz", nil); r.StatusCode != 200 {
		t.Fatalf("readyz %d %s", r.StatusCode, r.Body)
	}
	c.do("GET", "/v1/nothing-here", nil).problem(t, 404)
	r := c.do("PATCH", "/v1/me", nil)
	r.problem(t, 405)
	if allow := r.Header.Get("Allow"); !strings.Contains(allow, "GET") {
		t.Fatalf("405 Allow = %q", allow)
	}
	r = c.do("POST", "/v1/feed", nil)
	r.problem(t, 405)
	if r.Header.Get("X-Request-Id") == "" {
		t.Fatal("no X-Request-Id")
	}
	if r := c.do("GET", "/healthz", nil, "X-Request-Id", "trace-me-123"); r.Header.Get("X-Request-Id") != "trace-me-123" {
		t.Fatalf("request id not echoed: %q", r.Header.Get("X-Request-Id"))
	}
	if r := c.do("GET", "/no/such/page", nil, "Accept", "text/html"); r.StatusCode != 404 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("browser 404: %d %s", r.StatusCode, r.Header.Get("Content-Type"))
	}
}

// In-flight requests finish when the server is told to stop. The request
// uses Expect: 100-continue, so "100 Continue" proves the handler is running
// before shutdown starts.
func TestGracefulShutdown(t *testing.T) {
	s := start(t)
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"username":"late","password":"0123456789"}`
	fmt.Fprintf(conn, "POST /v1/accounts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"+
		"Content-Length: %d\r\nExpect: 100-continue\r\n\r\n", len(body))
	br := bufio.NewReader(conn)
	line, err := br.ReadString('\n')
	if err != nil || !strings.Contains(line, "100 Continue") {
		t.Fatalf("want 100 Continue, got %q %v", line, err)
	}
	br.ReadString('\n') // blank line after the interim response

	s.cancel() // shutdown begins while the handler waits for the body
	testenv.Eventually(t, "the listener closed", 15*time.Second, func() bool {
		_, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
		return err != nil // shutdown is under way
	})
	conn.Write([]byte(body))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("in-flight request during shutdown: %d", resp.StatusCode)
	}
	if err := s.stop(); err != nil {
		t.Fatalf("run: %v", err)
	}
}

// /metrics answers in every deployment, also where databases share a
// replica server (PHOTOFEED_TEST_DB=postgres-shards): each series names
// its database. It answers on --metrics-addr only: the public listener
// does not show the runtime and process figures to anyone.
func TestMetricsAnswer(t *testing.T) {
	s := start(t)
	r := s.metrics(t)
	if r.StatusCode != 200 || !strings.Contains(string(r.Body), "go_goroutines") {
		t.Fatalf("/metrics: %d\n%.600s", r.StatusCode, r.Body)
	}
	if r := s.client(t).do("GET", "/metrics", nil); r.StatusCode != 404 {
		t.Fatalf("/metrics on the public listener: %d", r.StatusCode)
	}
	off := start(t, "--metrics-addr", "off")
	if off.Metrics != "" {
		t.Fatalf("--metrics-addr off, and still metrics at %s", off.Metrics)
	}
}

// With --pprof the metrics listener also serves the runtime's profiles,
// so an operator can see where a node's CPU goes under real load. They
// are off by default (the listener may be reachable from a network, and
// a profile costs CPU), never on the public listener, and the command
// line, which may hold secrets, is not among them.
func TestProfilesOnlyWhenAskedAndOnTheMetricsListener(t *testing.T) {
	get := func(url string) (int, []byte) {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	s := start(t, "--pprof")
	base := strings.TrimSuffix(s.Metrics, "/metrics")
	// A CPU profile is a gzipped protocol buffer.
	if code, b := get(base + "/debug/pprof/profile?seconds=1"); code != 200 || len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		t.Fatalf("CPU profile on the metrics listener: %d, %d bytes %.40q", code, len(b), b)
	}
	if code, _ := get(base + "/debug/pprof/heap"); code != 200 {
		t.Fatalf("heap profile on the metrics listener: %d", code)
	}
	if code, _ := get(base + "/debug/pprof/cmdline"); code != 404 {
		t.Fatalf("the command line on the metrics listener: %d", code)
	}
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/heap", "/debug/pprof/profile?seconds=1"} {
		if r := s.client(t).do("GET", path, nil); r.StatusCode != 404 {
			t.Fatalf("%s on the public listener: %d", path, r.StatusCode)
		}
	}
	plain := start(t)
	if code, _ := get(strings.TrimSuffix(plain.Metrics, "/metrics") + "/debug/pprof/heap"); code != 404 {
		t.Fatalf("profiles without --pprof: %d", code)
	}
}

// A node counts its requests by the route that served them, never by
// their path: a feed read shows as its pattern, and paths nothing serves
// as one series, however many. The rate limits count their decisions.
func TestMetricsCountRoutes(t *testing.T) {
	skipInCluster(t, "the gateway counts what it proxies as one route")
	s := start(t, "--rate-limits", "") // the built-in policies
	c := s.client(t)
	c.signup("metered")
	if r := c.do("GET", "/v1/feed", nil); r.StatusCode != 200 {
		t.Fatalf("feed: %d %s", r.StatusCode, r.Body)
	}
	for i := range 5 {
		resp, err := http.Get(fmt.Sprintf("%s/no/such/%d", s.URL, i))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	want := []string{
		`http_requests_total{code="200",method="GET",route="GET /v1/feed"} 1`,
		`http_request_duration_seconds_count{method="GET",route="GET /v1/feed"} 1`,
		`http_requests_total{code="404",method="GET",route="unmatched"} 5`,
		`photofeed_ratelimit_decisions_total{outcome="allowed",policy="authenticated"}`,
	}
	// The response may reach the client just before the handler's
	// return is recorded.
	var r response
	testenv.Poll(10*time.Second, func() bool {
		r = s.metrics(t)
		for _, w := range want {
			if !strings.Contains(string(r.Body), w) {
				return false
			}
		}
		return true
	})
	for _, w := range want {
		if !strings.Contains(string(r.Body), w) {
			t.Errorf("/metrics lacks %s", w)
		}
	}
	if strings.Contains(string(r.Body), "/no/such") {
		t.Errorf("/metrics names a path:\n%s", r.Body)
	}
	problems, err := promlint.New(bytes.NewReader(r.Body)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
	if t.Failed() {
		t.Fatalf("/metrics:\n%s", grepLines(string(r.Body), "http_requests_total"))
	}
}

// grepLines is the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for line := range strings.Lines(s) {
		if strings.Contains(line, sub) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "")
}
