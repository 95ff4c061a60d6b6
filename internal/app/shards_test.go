package app_test

import (
	"bytes"
	"database/sql"
	"fmt"
	"image/color"
	"io"
	"mime/multipart"
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
	name := func(shard int, prefix string) string {
		for i := 0; ; i++ {
			if n := fmt.Sprintf("%s%d", prefix, i); ids.ShardForKey(n, 4) == shard {
				return n
			}
		}
	}
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
	photo := testJPEG(t, 32, 24, color.RGBA{200, 10, 10, 255})
	loop("posts", func(i int) (*http.Request, int) {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		fw, _ := mw.CreateFormFile("photo", "photo.jpg")
		fw.Write(photo)
		mw.WriteField("caption", fmt.Sprintf("under load %d", i))
		mw.Close()
		r, _ := http.NewRequest("POST", s.URL+"/v1/posts", &body)
		r.Header.Set("Content-Type", mw.FormDataContentType())
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
	eventually(t, "writes under way", func() bool { return posted.Load() >= 5 })

	began := time.Now()
	out := admin("shards", "move", "0", "b")
	took := time.Since(began)
	postedDuringMove := posted.Load()
	eventually(t, "writes after the move", func() bool { return posted.Load() >= postedDuringMove+5 })
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
