package app_test

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"image/color"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/photofeed/photofeed/internal/app"
	"github.com/photofeed/photofeed/internal/testenv"
)

// Two api instances and a worker share one PostgreSQL, one Redis, one NATS
// and one S3 bucket: a per-user limit holds across the instances, a keyed
// POST replayed on the other instance gets the stored response, and a
// photo deleted on one instance is gone from the other within a second,
// though both cache posts.
func TestTwoInstancesAndAWorker(t *testing.T) {
	sameInEveryMode(t)
	if c, err := net.Dial("tcp", "127.0.0.1:6379"); err != nil {
		testenv.Missing(t, "Redis on 127.0.0.1:6379")
	} else {
		c.Close()
	}
	db := testenv.PostgresURL(t)
	bus := testenv.StartNATS(t, 1)
	store := testenv.StartS3(t)
	var rnd [4]byte
	rand.Read(rnd[:])
	suffix := hex.EncodeToString(rnd[:]) // Redis outlives the test: names must be new
	limits := limitsFile(t, `{"policies": {"authenticated": {"limit": 10, "window": "1m", "algorithm": "sliding_window_log"},
		"anonymous": {"limit": 1000, "window": "1m"}, "signups": {"limit": 100, "window": "1m"}, "uploads": {"limit": 100, "window": "1m"}}}`)
	shared := []string{"--db", db, "--logical-shards", "16", "--redis", "redis://127.0.0.1:6379/0", "--nats", bus.URL(),
		"--blobs", store.URL, "--blobs-ca", store.CAFile,
		"--secret", "shared-secret-" + suffix + "-0123456789abcdef", "--rate-limits", limits}
	env := store.Env(nil)
	a := startEnv(t, env, append([]string{"--roles", "api"}, shared...)...)
	b := startEnv(t, env, append([]string{"--roles", "api"}, shared...)...)
	worker := startEnv(t, env, append([]string{"--roles", "worker"}, shared...)...)
	if r := worker.client(t).do("GET", "/v1/me", nil); r.StatusCode != 404 {
		t.Fatalf("the worker serves the API: GET /v1/me answered %d", r.StatusCode)
	}

	t.Run("limit holds across instances", func(t *testing.T) {
		ca := a.client(t)
		ca.signup("lim_" + suffix)
		cb := b.client(t)
		cb.token = ca.token
		allowed := 0
		for i := range 20 {
			c := ca
			if i%2 == 1 {
				c = cb
			}
			switch r := c.do("GET", "/v1/me", nil); r.StatusCode {
			case 200:
				allowed++
			case 429:
			default:
				t.Fatalf("request %d: %d %s", i, r.StatusCode, r.Body)
			}
		}
		if allowed != 10 {
			t.Fatalf("%d of 20 requests across two instances passed a limit of 10 a minute", allowed)
		}
	})

	t.Run("keyed POST replays on the other instance", func(t *testing.T) {
		ca := a.client(t)
		ca.signup("idem_" + suffix)
		cb := b.client(t)
		cb.token = ca.token
		ct, body := app.UploadForm(app.SampleJPEG(t, 40, 30, color.RGBA{200, 10, 10, 255}), "once")
		key := `"post-` + suffix + `"`
		first := ca.do("POST", "/v2/posts", bytes.NewReader(body), "Content-Type", ct, "Idempotency-Key", key)
		if first.StatusCode != 201 {
			t.Fatalf("first POST: %d %s", first.StatusCode, first.Body)
		}
		again := cb.do("POST", "/v2/posts", bytes.NewReader(body), "Content-Type", ct, "Idempotency-Key", key)
		if again.StatusCode != 201 || again.Header.Get("Idempotent-Replayed") != "true" ||
			again.Header.Get("Location") != first.Header.Get("Location") || !bytes.Equal(again.Body, first.Body) {
			t.Fatalf("replay on B: %d replayed=%q Location %q (first %q)\n%s", again.StatusCode,
				again.Header.Get("Idempotent-Replayed"), again.Header.Get("Location"), first.Header.Get("Location"), again.Body)
		}
	})

	t.Run("home timelines live in Redis", func(t *testing.T) {
		reader := a.client(t)
		readerID := reader.signup("reader_" + suffix)
		author := b.client(t)
		author.signup("author_" + suffix)
		if r := reader.do("PUT", "/v1/me/following/author_"+suffix, nil); r.StatusCode != 204 {
			t.Fatalf("follow: %d %s", r.StatusCode, r.Body)
		}
		var feed struct{ Items []post }
		reader.do("GET", "/v1/feed", nil).json(t, &feed) // builds the timeline
		p := author.post("fanned out by the worker")
		testenv.Eventually(t, "the post in the reader's feed on the other instance", 15*time.Second, func() bool {
			reader.do("GET", "/v1/feed", nil).json(t, &feed)
			return len(feed.Items) == 1 && feed.Items[0].ID == p.ID
		})
		rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
		defer rdb.Close()
		got, err := rdb.Get(t.Context(), "photofeed:tlp:{"+readerID+"}").Result() // 8-byte big-endian ids
		if err != nil || len(got) != 8 || strconv.FormatUint(binary.BigEndian.Uint64([]byte(got)), 10) != p.ID {
			t.Fatalf("the reader's timeline in Redis: %x %v, want [%s]", got, err, p.ID)
		}
	})

	t.Run("delete is gone on both within a second", func(t *testing.T) {
		alice := a.client(t)
		alice.signup("alice_" + suffix)
		p := alice.post("here, then gone")
		reader := b.client(t)
		testenv.Eventually(t, "the post ready on B (thumbnails made by the worker)", 15*time.Second, func() bool {
			var got post
			r := reader.do("GET", "/v1/posts/"+p.ID, nil)
			r.json(t, &got)
			return r.StatusCode == 200 && got.Images.Large != ""
		})
		for range 3 { // B now serves it from its cache
			if r := reader.do("GET", "/v1/posts/"+p.ID, nil); r.StatusCode != 200 {
				t.Fatalf("GET on B: %d", r.StatusCode)
			}
		}
		rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
		defer rdb.Close()
		if n, err := rdb.Exists(t.Context(), "photofeed:cache:post:"+p.ID).Result(); err != nil || n != 1 {
			t.Fatalf("the post in the shared cache level: %d %v", n, err)
		}
		if r := alice.do("DELETE", "/v1/posts/"+p.ID, nil); r.StatusCode != 204 {
			t.Fatalf("delete on A: %d %s", r.StatusCode, r.Body)
		}
		deleted := time.Now()
		readerA := a.client(t) // anonymous: alice's own limit is 10 a minute
		var ra, rb response
		if !testenv.Poll(time.Second, func() bool {
			ra = readerA.do("GET", "/v1/posts/"+p.ID, nil)
			rb = reader.do("GET", "/v1/posts/"+p.ID, nil)
			return ra.StatusCode == 404 && rb.StatusCode == 404
		}) {
			t.Fatalf("a second after the delete: A answers %d, B answers %d", ra.StatusCode, rb.StatusCode)
		}
		t.Logf("gone on both instances %v after the delete", time.Since(deleted).Round(time.Millisecond))
		// The reads since put a remembered miss there (one byte), not the post.
		if v, _ := rdb.Get(t.Context(), "photofeed:cache:post:"+p.ID).Result(); len(v) > 1 {
			t.Fatalf("the deleted post is still in the shared cache level: %q", v)
		}
	})
}
