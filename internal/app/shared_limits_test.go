package app_test

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"strings"
	"testing"

	"github.com/photofeed/photofeed/internal/testenv"
)

// Two instances on one PostgreSQL and one Redis: a per-user limit of 5 a
// minute holds across both, exactly 5 requests pass.
func TestRateLimitSharedAcrossInstances(t *testing.T) {
	sameInEveryMode(t)
	if c, err := net.Dial("tcp", "127.0.0.1:6379"); err != nil {
		testenv.Missing(t, "Redis on 127.0.0.1:6379")
	} else {
		c.Close()
	}
	db := testenv.PostgresURL(t)
	var b [4]byte
	rand.Read(b[:])
	limits := limitsFile(t, `{"policies": {"authenticated": {"limit": 5, "window": "1m", "algorithm": "sliding_window_counter"},
		"anonymous": {"limit": 1000, "window": "1m"}, "signups": {"limit": 100, "window": "1m"}}}`)
	shared := []string{"--db", db, "--logical-shards", "16", "--redis", "redis://127.0.0.1:6379/0", "--secret", "shared-secret-" + hex.EncodeToString(b[:]) + "-0123456789abcdef",
		"--rate-limits", limits}
	a, bSrv := start(t, shared...), start(t, shared...)
	ca := a.client(t)
	ca.signup("user_" + hex.EncodeToString(b[:])) // unique: Redis outlives the test
	cb := bSrv.client(t)
	cb.token = ca.token // a session from instance A is valid on B: same secret, same database
	allowed := 0
	for i := range 10 {
		c := ca
		if i%2 == 1 {
			c = cb
		}
		r := c.do("GET", "/v1/me", nil)
		switch r.StatusCode {
		case 200:
			allowed++
		case 429:
		default:
			t.Fatalf("request %d: %d %s", i, r.StatusCode, r.Body)
		}
	}
	if allowed != 5 {
		t.Fatalf("%d of 10 requests across two instances passed a limit of 5", allowed)
	}
}

// With Redis unreachable, limits still hold per instance and nothing 5xxes.
func TestRateLimitWithRedisDown(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := l.Addr().String()
	l.Close() // nothing listens here now
	s := start(t, "--redis", "redis://"+dead+"/0", "--rate-limits",
		limitsFile(t, `{"policies": {"anonymous": {"limit": 3, "window": "1m", "algorithm": "token_bucket"}}}`))
	c := s.client(t)
	var codes []string
	for range 5 {
		r := c.do("GET", "/v1/users/nobody", nil)
		codes = append(codes, r.Status[:3])
	}
	if got := strings.Join(codes, " "); got != "404 404 404 429 429" {
		t.Fatalf("statuses %s, want the local limiter's 404 404 404 429 429", got)
	}

}

// Timelines live in Redis too: without it the feed is read from the write
// model, and a post still shows.
func TestFeedWithRedisDown(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := l.Addr().String()
	l.Close()
	s := start(t, "--redis", "redis://"+dead+"/0")
	me := s.client(t)
	me.signup("alone")
	p := me.post("mine")
	var feed struct{ Items []post }
	if r := me.do("GET", "/v1/feed", nil); r.StatusCode != 200 {
		t.Fatalf("feed with Redis down: %d %s", r.StatusCode, r.Body)
	} else if r.json(t, &feed); len(feed.Items) != 1 || feed.Items[0].ID != p.ID {
		t.Fatalf("feed with Redis down: %s", r.Body)
	}
}
