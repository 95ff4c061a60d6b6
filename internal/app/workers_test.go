package app_test

import (
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/testenv"
)

// Two workers share the job queue and the event consumers: River elects
// one leader for the periodic cleanups (each enqueued once, not once per
// worker), every thumbnail job runs once, and every post reaches a
// follower's feed once.
func TestTwoWorkers(t *testing.T) {
	sameInEveryMode(t)
	db := testenv.PostgresURL(t)
	bus := testenv.StartNATS(t, 1)
	store := testenv.StartS3(t) // the workers make thumbnails of what the api stored
	shared := []string{"--db", db, "--logical-shards", "16", "--nats", bus.URL(), "--blobs", store.URL, "--blobs-ca", store.CAFile,
		"--secret", "two-workers-secret-0123456789abcdef-0123"}
	env := store.Env(nil)
	api := startEnv(t, env, append([]string{"--roles", "api", "--upload-wait", "0"}, shared...)...)
	startEnv(t, env, append([]string{"--roles", "worker"}, shared...)...)
	startEnv(t, env, append([]string{"--roles", "worker"}, shared...)...)

	reader, author := api.client(t), api.client(t)
	reader.signup("reader")
	author.signup("author")
	if r := reader.do("PUT", "/v1/me/following/author", nil); r.StatusCode != 204 {
		t.Fatalf("follow: %d", r.StatusCode)
	}
	reader.do("GET", "/v1/feed", nil) // the reader's timeline exists from here on
	const n = 12
	for i := range n {
		author.post(fmt.Sprint("post ", i))
	}
	var feed struct{ Items []post }
	testenv.Eventually(t, "every post in the reader's feed", 15*time.Second, func() bool {
		reader.do("GET", "/v1/feed?limit=50", nil).json(t, &feed)
		return len(feed.Items) == n
	})
	seen := map[string]bool{}
	for _, p := range feed.Items {
		if seen[p.ID] {
			t.Fatalf("post %s twice in the feed", p.ID)
		}
		seen[p.ID] = true
	}

	conn, err := sql.Open("pgx", db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var thumbs, runs int
	testenv.Eventually(t, "every thumbnail job completed", 15*time.Second, func() bool {
		conn.QueryRow(`SELECT count(*), coalesce(sum(attempt), 0) FROM river_job WHERE kind = 'thumbnails' AND state = 'completed'`).Scan(&thumbs, &runs)
		return thumbs == n
	})
	if runs != n {
		t.Fatalf("%d thumbnail jobs took %d attempts, want one each", thumbs, runs)
	}
	testenv.Eventually(t, "the periodic cleanups run", 15*time.Second, func() bool {
		var kinds int
		conn.QueryRow(`SELECT count(DISTINCT args->>'what') FROM river_job WHERE kind = 'cleanup'`).Scan(&kinds)
		return kinds == 4
	})
	rows, err := conn.Query(`SELECT args->>'what', count(*) FROM river_job WHERE kind = 'cleanup' GROUP BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var what string
		var count int
		rows.Scan(&what, &count)
		if count != 1 {
			t.Errorf("cleanup %s enqueued %d times by two workers, want once (one leader)", what, count)
		}
	}
}
