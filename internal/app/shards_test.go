package app_test

import (
	"bytes"
	"database/sql"
	"fmt"
	"image/color"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/photofeed/photofeed/ids"
	"github.com/photofeed/photofeed/internal/app"
	"github.com/photofeed/photofeed/internal/consistency"
	"github.com/photofeed/photofeed/internal/testenv"
)

// seedShard fills shard 0 with PHOTOFEED_MOVE_ROWS old posts by author
// (and a like for every tenth), to measure a move of a big shard:
//
//	PHOTOFEED_MOVE_ROWS=100000 go test ./internal/app -run TestShardMoveUnderLoad -v
func seedShard(t *testing.T, url, author string) int64 {
	n, _ := strconv.Atoi(os.Getenv("PHOTOFEED_MOVE_ROWS"))
	if n <= 0 {
		return 0
	}
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Ids of shard 0 from the id clock's first seconds: older than any
	// post the test makes.
	if _, err := db.Exec(`INSERT INTO shard_0000.posts (id, author_id, caption, created_at, thumb_key, thumb_w, thumb_h,
			large_key, large_w, large_h, original_key, original_w, original_h)
		SELECT i << 10, $1, 'seeded ' || i, 0, '0000-t.jpg', 1, 1, '0000-l.jpg', 1, 1, '0000-o.jpg', 1, 1
		FROM generate_series(1, $2) AS i`, author, n); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO shard_0000.likes (post_id, user_id, created_at)
		SELECT i << 10, $1, 0 FROM generate_series(10, $2, 10) AS i`, author, n); err != nil {
		t.Fatal(err)
	}
	return int64(n)
}

// A logical shard moved with `photofeed shards move` while a running
// instance keeps writing to it (posts, likes of them, follows): no write
// fails, none waits past the pause bound, the instance follows the new map
// without a restart, and every acknowledged post is on the new database.
func TestShardMoveUnderLoad(t *testing.T) {
	sameInEveryMode(t)
	source := testenv.StartPGCluster(t, 0, "wal_level=logical") // a publisher needs logical WAL
	target := testenv.StartPGCluster(t, 0)
	mainURL, _ := source.Database(t)
	otherURL, _ := target.Database(t)
	shardsFile := filepath.Join(t.TempDir(), "shards")
	if err := os.WriteFile(shardsFile, []byte("a "+mainURL+"\nb "+otherURL+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := start(t, "--db", mainURL, "--shards", shardsFile, "--logical-shards", "4", "--upload-wait", "0")
	admin := func(args ...string) string {
		t.Helper()
		var out bytes.Buffer
		args = append(args, "--db", mainURL, "--shards", shardsFile)
		if err := app.Run(t.Context(), args, func(string) string { return "" }, &out, io.Discard); err != nil {
			t.Fatalf("photofeed %s: %v\n%s", strings.Join(args, " "), err, out.String())
		}
		return out.String()
	}

	// Users named so that the writer is on shard 0 (database a, moving to
	// b) and the others elsewhere.
	name := func(shard int, prefix string) string { return nameOnShard(shard, 4, prefix) }
	writer := s.client(t)
	writerName := name(0, "writer")
	writerID := writer.signup(writerName)
	liker := s.client(t)
	liker.signup(name(3, "liker"))
	var others []string
	for i, shard := range []int{1, 2, 3} {
		n := name(shard, fmt.Sprintf("friend%d_", i))
		s.client(t).signup(n)
		others = append(others, n)
	}
	first := writer.post("before the move")
	seeded := seedShard(t, mainURL, writerID)
	if list := admin("shards", "list"); !strings.Contains(list, "a: 2 shards") || !strings.Contains(list, "b: 2 shards") {
		t.Fatalf("shards list before the move:\n%s", list)
	}

	// The load: three loops writing to shard 0 until told to stop.
	var posted, failed atomic.Int64
	var slowest atomic.Int64
	var errs sync.Map
	stop := make(chan struct{})
	var wg sync.WaitGroup
	loop := func(name string, req func(i int) (*http.Request, int)) {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				r, want := req(i)
				began := time.Now()
				resp, err := http.DefaultClient.Do(r)
				took := time.Since(began)
				for {
					old := slowest.Load()
					if int64(took) <= old || slowest.CompareAndSwap(old, int64(took)) {
						break
					}
				}
				if err != nil {
					failed.Add(1)
					errs.Store(name, err.Error())
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != want {
					failed.Add(1)
					errs.Store(name, fmt.Sprintf("%d %s", resp.StatusCode, body))
				} else if name == "posts" {
					posted.Add(1)
				}
			}
		})
	}
	photo := app.SampleJPEG(t, 32, 24, color.RGBA{200, 10, 10, 255})
	loop("posts", func(i int) (*http.Request, int) {
		ct, body := app.UploadForm(photo, fmt.Sprintf("under load %d", i))
		r, _ := http.NewRequest("POST", s.URL+"/v1/posts", bytes.NewReader(body))
		r.Header.Set("Content-Type", ct)
		r.Header.Set("Authorization", "Bearer "+writer.token)
		return r, 201
	})
	loop("likes", func(i int) (*http.Request, int) {
		method, want := "PUT", 204
		if i%2 == 1 {
			method = "DELETE"
		}
		r, _ := http.NewRequest(method, s.URL+"/v1/posts/"+first.ID+"/like", nil)
		r.Header.Set("Authorization", "Bearer "+liker.token)
		return r, want
	})
	loop("follows", func(i int) (*http.Request, int) {
		method := "PUT"
		if i/len(others)%2 == 1 {
			method = "DELETE"
		}
		r, _ := http.NewRequest(method, s.URL+"/v1/me/following/"+others[i%len(others)], nil)
		r.Header.Set("Authorization", "Bearer "+writer.token)
		return r, 204
	})
	testenv.Eventually(t, "writes under way", 15*time.Second, func() bool { return posted.Load() >= 5 })

	began := time.Now()
	out := admin("shards", "move", "0", "b")
	took := time.Since(began)
	postedDuringMove := posted.Load()
	testenv.Eventually(t, "writes after the move", 15*time.Second, func() bool { return posted.Load() >= postedDuringMove+5 })
	close(stop)
	wg.Wait()

	errs.Range(func(k, v any) bool { t.Errorf("%s: last failure: %v", k, v); return true })
	if failed.Load() > 0 {
		t.Fatalf("%d writes failed during the move", failed.Load())
	}
	if max := time.Duration(slowest.Load()); max > 2500*time.Millisecond {
		t.Errorf("the slowest write took %v; the pause is bounded at 2s", max)
	}
	if !strings.Contains(out, "moved shard 0 (shard_0000) from a to b") {
		t.Fatalf("move output: %s", out)
	}
	list := admin("shards", "list")
	if !strings.Contains(list, "a: 1 shards") || !strings.Contains(list, "b: 3 shards") {
		t.Fatalf("shards list after the move:\n%s", list)
	}
	var page struct{ Total int64 }
	writer.do("GET", "/v1/users/"+writerName+"/posts", nil).json(t, &page)
	if want := posted.Load() + 1 + seeded; page.Total != want {
		t.Fatalf("the writer has %d posts, %d were acknowledged", page.Total, want)
	}
	t.Logf("move took %v under load (%s); %d posts acknowledged, none failed; slowest write %v",
		took.Round(time.Millisecond), strings.TrimSpace(out), posted.Load(), time.Duration(slowest.Load()).Round(time.Millisecond))
}

// nameOnShard is a username, starting with prefix, whose user lands on
// shard of count.
func nameOnShard(shard, count int, prefix string) string {
	for i := 0; ; i++ {
		if n := fmt.Sprintf("%s%d", prefix, i); ids.ShardForKey(n, count) == shard {
			return n
		}
	}
}

// Shards on two servers, each with a replica whose replay is paused: the
// consistency token carries a position per database, and a request that
// writes adds its positions to the token it came with, so a client that
// wrote to both servers reads both of its writes, though neither replica
// has them.
func TestReadYourWritesAcrossServers(t *testing.T) {
	sameInEveryMode(t)
	one := testenv.StartPGCluster(t, 1)
	two := testenv.StartPGCluster(t, 1)
	mainURL, mainReplicas := one.Database(t)
	otherURL, otherReplicas := two.Database(t)
	shardsFile := filepath.Join(t.TempDir(), "shards")
	list := "a " + mainURL + " " + mainReplicas[0] + "\nb " + otherURL + " " + otherReplicas[0] + "\n"
	if err := os.WriteFile(shardsFile, []byte(list), 0o600); err != nil {
		t.Fatal(err)
	}
	s := start(t, "--db", mainURL, "--db-replicas", mainReplicas[0], "--shards", shardsFile, "--logical-shards", "4")
	x, y := s.client(t), s.client(t)
	xName := nameOnShard(0, 4, "reader") // on database a
	x.signup(xName)
	y.signup(nameOnShard(3, 4, "author")) // on database b
	yPost := y.post("on the other server")

	var ready struct{ Replicas []struct{ Healthy bool } }
	testenv.Eventually(t, "both replicas healthy", 15*time.Second, func() bool {
		x.do("GET", "/readyz", nil).json(t, &ready)
		return len(ready.Replicas) == 2 && ready.Replicas[0].Healthy && ready.Replicas[1].Healthy
	})
	m := s.metrics(t)
	if m.StatusCode != 200 || !strings.Contains(string(m.Body), `photofeed_db_replica_lag_seconds{database="a"`) ||
		!strings.Contains(string(m.Body), `photofeed_db_replica_lag_seconds{database="b"`) {
		t.Fatalf("/metrics: %d, want the lag of each database's replica:\n%.600s", m.StatusCode, m.Body)
	}
	for _, r := range []string{mainReplicas[0], otherReplicas[0]} {
		db, err := sql.Open("pgx", r)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		pauseReplay(t, db)
		defer db.Exec(`SELECT pg_wal_replay_resume()`)
	}

	posted := x.upload("/v1/posts", app.SampleJPEG(t, 30, 30, color.White), "on this server")
	first := posted.Header.Get(consistency.Header)
	liked := x.do("PUT", "/v1/posts/"+yPost.ID+"/like", nil, consistency.Header, first)
	token := liked.Header.Get(consistency.Header)
	if posted.StatusCode != 201 || liked.StatusCode != 204 || !strings.Contains(token, "a:") || !strings.Contains(token, "b:") {
		t.Fatalf("post %d (token %q), like %d (token %q): want a token with both databases", posted.StatusCode, first, liked.StatusCode, token)
	}

	reader := &client{t: t, base: s.URL, token: x.token, http: http.DefaultClient} // no cookie jar: the header alone
	count := func(token string) int {
		var page struct{ Total int }
		reader.do("GET", "/v1/users/"+xName+"/posts", nil, consistency.Header, token).json(t, &page)
		return page.Total
	}
	if got := count(token); got != 1 {
		t.Fatalf("with the token, %s's posts on database a: %d, want 1", xName, got)
	}
	var p post
	reader.do("GET", "/v1/posts/"+yPost.ID, nil, consistency.Header, token).json(t, &p)
	if !p.LikedByMe || p.LikeCount != 1 {
		t.Fatalf("with the token, the like on database b: liked %v, count %d", p.LikedByMe, p.LikeCount)
	}
	if got := count(""); got != 0 {
		t.Fatalf("without a token the paused replica answered %d posts; want the stale 0 (else this test proves nothing)", got)
	}
}

// An administration command pointed at a database photofeed has not laid
// out says so and leaves it as it was: it never creates a deployment.
func TestAdminRefusesAnEmptyDatabase(t *testing.T) {
	sameInEveryMode(t)
	url := testenv.PostgresURL(t)
	for _, args := range [][]string{{"shards", "list"}, {"jobs", "list"}, {"users", "grant-admin", "ann"}} {
		err := app.Run(t.Context(), append(args, "--db", url), func(string) string { return "" }, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "no photofeed deployment") {
			t.Fatalf("photofeed %s on an empty database: %v", strings.Join(args, " "), err)
		}
	}
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var tables, schemas int
	db.QueryRow(`SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')`).Scan(&tables)
	db.QueryRow(`SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'shard\_%'`).Scan(&schemas)
	if tables != 0 || schemas != 0 {
		t.Fatalf("the empty database now has %d tables and %d shard schemas", tables, schemas)
	}
}
