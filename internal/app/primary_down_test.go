package app_test

import (
	"database/sql"
	"image/color"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/app"
	"github.com/photofeed/photofeed/internal/consistency"
	"github.com/photofeed/photofeed/internal/testenv"
)

// With the primary stopped (as a crash stops it) and its streaming
// replica healthy, the home feed is served from the replica — v1, v2 and
// the UI's home page, for a reader who just wrote (a consistency token)
// as for one who did not —, /readyz says the primary is unreachable while
// the node serves reads, writes answer 503 with Retry-After, and all of
// it recovers by itself when the primary is back.
func TestFeedWithThePrimaryDown(t *testing.T) {
	sameInEveryMode(t)
	cluster := testenv.StartPGCluster(t, 1)
	s := start(t, "--db", cluster.PrimaryURL(), "--logical-shards", "16", "--db-replicas", cluster.ReplicaURLs()[0])
	alice, bob, carol := s.client(t), s.client(t), s.client(t)
	alice.signup("alice")
	bob.signup("bob")
	carol.signup("carol") // follows alice but never reads her feed before the primary stops
	for _, c := range []*client{bob, carol} {
		if r := c.do("PUT", "/v1/me/following/alice", nil); r.StatusCode != 204 {
			t.Fatalf("follow: %d %s", r.StatusCode, r.Body)
		}
	}
	p := alice.post("served with the primary down")
	testenv.Eventually(t, "the post in bob's feed", 15*time.Second, func() bool {
		return len(feedItems(t, bob, "/v1/feed")) == 1
	})
	like := bob.do("PUT", "/v1/posts/"+p.ID+"/like", nil)
	if like.StatusCode != 204 || like.Header.Get(consistency.Header) == "" {
		t.Fatalf("like: %d, token %q", like.StatusCode, like.Header.Get(consistency.Header))
	}
	awaitReplayed(t, cluster)

	cluster.StopPrimary()
	// Three readers: bob's own client (his like's token in its cookie:
	// read-your-writes), the same token in the header, and bob's login
	// with no token at all.
	fresh := s.client(t)
	fresh.token = bob.token
	withHeader := s.client(t)
	withHeader.token = bob.token
	var slowest time.Duration
	for _, c := range []struct {
		name   string
		client *client
		header []string
	}{
		{"token in the cookie", bob, nil},
		{"token in the header", withHeader, []string{consistency.Header, like.Header.Get(consistency.Header)}},
		{"no token", fresh, nil},
	} {
		for _, path := range []string{"/v1/feed", "/v2/feed"} {
			start := time.Now()
			r := c.client.do("GET", path, nil, c.header...)
			if r.StatusCode != 200 {
				t.Fatalf("%s, %s with the primary down: %d %s", c.name, path, r.StatusCode, r.Body)
			}
			items := decodeItems(t, r)
			if len(items) != 1 || items[0].ID != p.ID || !items[0].LikedByMe {
				t.Fatalf("%s, %s with the primary down: %s", c.name, path, r.Body)
			}
			took := time.Since(start)
			if took > 2*time.Second {
				t.Errorf("%s, %s took %v with the primary down", c.name, path, took)
			}
			slowest = max(slowest, took)
		}
	}
	t.Logf("the slowest feed read with the primary down took %v", slowest.Round(time.Millisecond))
	// Carol has no timeline yet, and it cannot be stored: her page is
	// made from the write model on the replica.
	if items := feedItems(t, carol, "/v2/feed"); len(items) != 1 || items[0].ID != p.ID {
		t.Fatalf("the feed of a reader without a timeline, with the primary down: %+v", items)
	}
	browser := s.client(t)
	u, _ := url.Parse(s.URL)
	browser.http.Jar.SetCookies(u, []*http.Cookie{{Name: "photofeed_session", Value: bob.token}})
	if r := browser.do("GET", "/", nil); r.StatusCode != 200 || !strings.Contains(string(r.Body), "served with the primary down") {
		t.Fatalf("the UI's home page with the primary down: %d\n%.600s", r.StatusCode, r.Body)
	}

	var ready map[string]any
	r := alice.do("GET", "/readyz", nil)
	r.json(t, &ready)
	if r.StatusCode != 200 || ready["store"] != "primary unreachable" || ready["status"] != "degraded" {
		t.Fatalf("readyz with the primary down and the replica serving: %d %s", r.StatusCode, r.Body)
	}
	w := alice.upload("/v1/posts", app.SampleJPEG(t, 30, 30, color.White), "while the primary is down")
	w.problem(t, 503)
	if w.Header.Get("Retry-After") == "" {
		t.Fatal("a write's 503 without Retry-After")
	}

	// The replica down as well: the feed's first page is served as this
	// node last served it to the reader, marked stale (a Warning header;
	// in v2 a warning field too).
	cluster.StopReplicas()
	for _, path := range []string{"/v1/feed", "/v2/feed"} {
		r := fresh.do("GET", path, nil)
		if r.StatusCode != 200 || !strings.Contains(r.Header.Get("Warning"), "110") {
			t.Fatalf("%s with every database down: %d, Warning %q, %s", path, r.StatusCode, r.Header.Get("Warning"), r.Body)
		}
		if items := decodeItems(t, r); len(items) != 1 || items[0].ID != p.ID {
			t.Fatalf("%s with every database down: %s", path, r.Body)
		}
		var page struct{ Warning string }
		r.json(t, &page)
		if (path == "/v2/feed") != strings.Contains(page.Warning, "stale") {
			t.Fatalf("%s with every database down: warning %q (v2 says it, v1 has only the header)", path, page.Warning)
		}
	}
	if r := browser.do("GET", "/", nil); r.StatusCode != 200 || !strings.Contains(string(r.Body), "served with the primary down") ||
		!strings.Contains(string(r.Body), "cannot be brought up to date") {
		t.Fatalf("the UI's home page with every database down: %d\n%.600s", r.StatusCode, r.Body)
	}
	// Every node of a deployment shares these databases: /readyz stays
	// 200, degraded, so that a balancer keeps the nodes (and the pages they
	// kept) in rotation, and has them the moment the databases are back.
	r = alice.do("GET", "/readyz", nil)
	r.json(t, &ready)
	if r.StatusCode != 200 || ready["status"] != "degraded" || ready["store"] != "unreachable" {
		t.Fatalf("readyz with every database down: %d %s, want 200, degraded, the store unreachable", r.StatusCode, r.Body)
	}
	cluster.StartReplicas()

	cluster.StartPrimary()
	var again response
	testenv.Eventually(t, "writes succeeding once the primary is back", 30*time.Second, func() bool {
		again = alice.upload("/v1/posts", app.SampleJPEG(t, 30, 30, color.White), "after the restart")
		return again.StatusCode == 201
	})
	if r := fresh.do("GET", "/v2/feed", nil); r.StatusCode != 200 || r.Header.Get("Warning") != "" {
		t.Fatalf("the feed once the databases are back: %d, Warning %q", r.StatusCode, r.Header.Get("Warning"))
	}
	testenv.Eventually(t, "readyz ok once the primary is back", 15*time.Second, func() bool {
		r := alice.do("GET", "/readyz", nil)
		r.json(t, &ready)
		return r.StatusCode == 200 && ready["store"] == "ok" && ready["status"] == "ok"
	})
	// Read-your-writes holds again: bob sees alice's new post as soon as
	// the fan-out has taken it, reading with alice's write token.
	testenv.Eventually(t, "the new post in bob's feed", 15*time.Second, func() bool {
		return len(feedItems(t, bob, "/v1/feed", consistency.Header, again.Header.Get(consistency.Header))) == 2
	})
}

// feedItems reads a page of c's feed.
func feedItems(t *testing.T, c *client, path string, header ...string) []feedItem {
	t.Helper()
	r := c.do("GET", path, nil, header...)
	if r.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", path, r.StatusCode, r.Body)
	}
	return decodeItems(t, r)
}

// feedItem is what v1 and v2 share of a post in a feed.
type feedItem struct {
	ID        string `json:"id"`
	LikedByMe bool   `json:"liked_by_me"`
}

func decodeItems(t *testing.T, r response) []feedItem {
	t.Helper()
	var page struct{ Items []feedItem }
	r.json(t, &page)
	return page.Items
}

// awaitReplayed waits until the cluster's replicas have replayed
// everything the primary has written so far.
func awaitReplayed(t *testing.T, cluster *testenv.PGCluster) {
	t.Helper()
	primary, err := sql.Open("pgx", cluster.PrimaryURL())
	if err != nil {
		t.Fatal(err)
	}
	defer primary.Close()
	var at string
	if err := primary.QueryRow(`SELECT pg_current_wal_lsn()::text`).Scan(&at); err != nil {
		t.Fatal(err)
	}
	want, err := consistency.ParseLSN(at)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range cluster.ReplicaURLs() {
		replica, err := sql.Open("pgx", u)
		if err != nil {
			t.Fatal(err)
		}
		defer replica.Close()
		testenv.Eventually(t, "the replica replayed the primary's writes", 15*time.Second, func() bool {
			var replayed string
			replica.QueryRow(`SELECT coalesce(pg_last_wal_replay_lsn()::text, '0/0')`).Scan(&replayed)
			got, err := consistency.ParseLSN(replayed)
			return err == nil && got >= want
		})
	}
}

// A replica that has not replayed a client's write cannot prove the row
// absent: with the primary down, a read carrying the write's consistency
// token answers 503 with Retry-After (the client retries), never the
// replica's 404 for a post the client was told was made.
func TestReadBehindTheCallersWriteWithThePrimaryDown(t *testing.T) {
	sameInEveryMode(t)
	cluster := testenv.StartPGCluster(t, 1)
	s := start(t, "--db", cluster.PrimaryURL(), "--logical-shards", "16", "--db-replicas", cluster.ReplicaURLs()[0])
	alice := s.client(t)
	alice.signup("alice")
	awaitReplayed(t, cluster)
	replica, err := sql.Open("pgx", cluster.ReplicaURLs()[0])
	if err != nil {
		t.Fatal(err)
	}
	defer replica.Close()
	if _, err := replica.Exec(`SELECT pg_wal_replay_pause()`); err != nil {
		t.Fatal(err)
	}
	made := alice.upload("/v1/posts", app.SampleJPEG(t, 30, 30, color.White), "written past the replica")
	if made.StatusCode != 201 || made.Header.Get(consistency.Header) == "" {
		t.Fatalf("upload: %d, token %q", made.StatusCode, made.Header.Get(consistency.Header))
	}
	var p post
	made.json(t, &p)
	cluster.StopPrimary()

	reader := s.client(t)
	reader.token = alice.token
	r := reader.do("GET", "/v1/posts/"+p.ID, nil, consistency.Header, made.Header.Get(consistency.Header))
	if r.StatusCode != 503 || r.Header.Get("Retry-After") == "" {
		t.Fatalf("the post read behind the caller's write with the primary down: %d (Retry-After %q) %s, want 503 with Retry-After",
			r.StatusCode, r.Header.Get("Retry-After"), r.Body)
	}
}
