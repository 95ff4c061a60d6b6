package app_test

import (
	"database/sql"
	"image/color"
	"strings"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/app"
	"github.com/photofeed/photofeed/internal/consistency"
	"github.com/photofeed/photofeed/internal/testenv"
)

// With a streaming replica: reads carrying the consistency token of a
// write see it even while the replica lags (the primary answers); reads
// without one may be stale; with the primary stopped, reads go on from the
// replica and writes answer 503 with Retry-After.
func TestReadReplicas(t *testing.T) {
	sameInEveryMode(t)
	cluster := testenv.StartPGCluster(t, 1)
	s := start(t, "--db", cluster.PrimaryURL(), "--logical-shards", "16", "--db-replicas", cluster.ReplicaURLs()[0])
	c := s.client(t)
	c.signup("alice")
	c.post("before the pause")

	var ready struct {
		Replicas []struct {
			Healthy bool
			LagMS   int64 `json:"lag_ms"`
		}
	}
	testenv.Eventually(t, "the replica healthy in /readyz", 15*time.Second, func() bool {
		c.do("GET", "/readyz", nil).json(t, &ready)
		return len(ready.Replicas) == 1 && ready.Replicas[0].Healthy
	})
	// Reads go through a second client with the same login but no cookie
	// jar: the browser cookie that carries the token would otherwise
	// route every read after a write to a fresh enough server.
	reader := s.client(t)
	reader.token = c.token
	if r := s.metrics(t); !strings.Contains(string(r.Body), "photofeed_db_replica_healthy{database=\"main\",replica=") ||
		!strings.Contains(string(r.Body), "photofeed_db_replica_lag_seconds{database=\"main\",replica=") {
		t.Fatalf("no replica metrics in /metrics:\n%.400s", r.Body)
	}
	count := func(token string) int {
		var page struct{ Total int }
		reader.do("GET", "/v1/users/alice/posts", nil, consistency.Header, token).json(t, &page)
		return page.Total
	}
	testenv.Eventually(t, "the replica caught up", 15*time.Second, func() bool { return count("") == 1 })

	replica, err := sql.Open("pgx", cluster.ReplicaURLs()[0])
	if err != nil {
		t.Fatal(err)
	}
	defer replica.Close()
	pauseReplay(t, replica)
	r := c.upload("/v1/posts", app.SampleJPEG(t, 30, 30, color.White), "during the pause")
	token := r.Header.Get(consistency.Header)
	if r.StatusCode != 201 || token == "" {
		t.Fatalf("write: %d, token %q", r.StatusCode, token)
	}
	if got := count(token); got != 2 {
		t.Fatalf("a read with the write's token saw %d posts, want 2 (read-your-writes)", got)
	}
	if got := count(""); got != 1 {
		t.Fatalf("a read without a token saw %d posts; the paused replica should answer with 1", got)
	}
	if r := c.do("GET", "/v1/users/alice/posts", nil); !strings.Contains(string(r.Body), "during the pause") {
		t.Fatal("the browser-style client (token in its cookie) did not see its own write")
	}
	if _, err := replica.Exec(`SELECT pg_wal_replay_resume()`); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "the replica catching up after the pause", 15*time.Second, func() bool { return count("") == 2 })

	cluster.StopPrimary()
	if r := c.do("GET", "/v1/users/alice", nil); r.StatusCode != 200 {
		t.Fatalf("profile read with the primary down: %d %s", r.StatusCode, r.Body)
	}
	if got := count(""); got != 2 {
		t.Fatalf("with the primary down the replica shows %d posts, want the 2 acknowledged", got)
	}
	r = c.jsonReq("POST", "/v1/accounts", `{"username":"bob","password":"0123456789"}`)
	r.problem(t, 503)
	if r.Header.Get("Retry-After") == "" {
		t.Fatal("503 without Retry-After")
	}
	if r := c.do("GET", "/readyz", nil); r.StatusCode != 200 || !strings.Contains(string(r.Body), `"healthy":true`) {
		t.Fatalf("readyz with the primary down but the replica serving: %d %s", r.StatusCode, r.Body)
	}
}

// pauseReplay stops a replica's replay and waits until it has stopped: a
// pause is only requested at first, and a write right after the request
// could still be replayed.
func pauseReplay(t *testing.T, replica *sql.DB) {
	t.Helper()
	if _, err := replica.Exec(`SELECT pg_wal_replay_pause()`); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "the replica's replay paused", 15*time.Second, func() bool {
		var state string
		replica.QueryRow(`SELECT pg_get_wal_replay_pause_state()`).Scan(&state)
		return state == "paused"
	})
}
