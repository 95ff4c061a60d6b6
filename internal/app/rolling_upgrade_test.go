package app_test

import (
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/app"
	"github.com/photofeed/photofeed/internal/testenv"
)

// A rolling upgrade, as the README describes it, under a steady load of
// reads, keyed logins and keyed uploads through the gateway: each of three
// api nodes in turn is taken out of the upstreams file (the gateway drains
// it), stopped, started again on its data dir, and put back; between the
// first node and the others the schema is expanded (a column added, as a
// new version's first migration would), and the old code keeps working on
// it. No client request fails.
func TestRollingUpgrade(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and stops processes")
	}
	db := testenv.PostgresURL(t)
	bus := testenv.StartNATS(t, 1)
	media := t.TempDir()
	flags := []string{"--db", db, "--logical-shards", "16", "--nats", bus.URL(), "--secret", gatewaySecret}
	var logs testenv.LogBuffer
	dirs := make([]string, 3)
	nodes := make([]*nodeProcess, 3)
	urls := make([]string, 3)
	for i := range nodes {
		dirs[i] = t.TempDir()
		if err := os.Symlink(media, filepath.Join(dirs[i], "media")); err != nil {
			t.Fatal(err)
		}
		nodes[i] = startNodeProcess(t, dirs[i], &logs, flags...)
		urls[i] = nodes[i].URL
	}
	file := filepath.Join(t.TempDir(), "upstreams")
	write := func() {
		var live []string
		for _, u := range urls {
			if u != "" {
				live = append(live, u)
			}
		}
		if err := os.WriteFile(file, []byte(strings.Join(live, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write()
	hangups := make(chan os.Signal)
	gw := startGateway(t, nodeOptions{ctx: app.WithHangups(t.Context(), hangups)}, nil, "--upstreams-file", file)
	reload := func() {
		select {
		case hangups <- os.Interrupt:
		case <-time.After(5 * time.Second):
			t.Fatal("the gateway does not listen for hangups")
		}
	}

	const clients = 3
	tokens := make([]string, clients)
	for i := range clients {
		c := gw.client(t)
		c.signup(fmt.Sprintf("upgrader%d", i))
		tokens[i] = c.token
	}
	var stop, sent atomic.Int64
	var mu sync.Mutex
	var failures []string
	httpc := &http.Client{Timeout: 30 * time.Second}
	do := func(method, path, ct string, body []byte, want int, header ...string) {
		req, _ := http.NewRequest(method, gw.URL+path, strings.NewReader(string(body)))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		sent.Add(1)
		resp, err := httpc.Do(req)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != want {
				err = fmt.Errorf("%d %.200s", resp.StatusCode, b)
			}
		}
		if err != nil {
			mu.Lock()
			failures = append(failures, fmt.Sprintf("%s %s: %v", method, path, err))
			mu.Unlock()
		}
	}
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			auth := "Bearer " + tokens[i]
			for n := 0; stop.Load() == 0; n++ {
				do("GET", "/v2/feed", "", nil, 200, "Authorization", auth)
				do("POST", "/v2/sessions", "application/json", fmt.Appendf(nil, `{"username":"upgrader%d","password":"password-upgrader%d"}`, i, i), 201,
					"Idempotency-Key", fmt.Sprintf(`"upgrade-login-%d-%d"`, i, n))
				if n%5 == 0 {
					ct, body := app.UploadForm(photo(t, i*1000+n), fmt.Sprintf("upgrade %d %d", i, n))
					do("POST", "/v2/posts", ct, body, 201, "Authorization", auth, "Idempotency-Key", fmt.Sprintf(`"upgrade-post-%d-%d"`, i, n))
				}
			}
		})
	}
	defer func() { stop.Store(1); wg.Wait() }()
	usable := func(url string) bool {
		var body gatewayUpstreams
		send(t, "GET", gw.URL+"/readyz").json(t, &body)
		for _, u := range body.Upstreams {
			if u.URL == url {
				return u.Usable
			}
		}
		return false
	}

	for i := range nodes {
		before := sent.Load()
		testenv.Eventually(t, "requests before this node's turn", 60*time.Second, func() bool { return sent.Load() >= before+30 })
		old := urls[i]
		urls[i] = ""
		write()
		reload() // drained: no new requests, the ones in flight finish
		testenv.Eventually(t, "the node out of the set", 10*time.Second, func() bool {
			var body gatewayUpstreams
			send(t, "GET", gw.URL+"/readyz").json(t, &body)
			for _, u := range body.Upstreams {
				if u.URL == old {
					return false
				}
			}
			return true
		})
		nodes[i].stop(t)
		if i == 0 { // expand: the next version's schema, under the old code
			expand(t, db)
		}
		nodes[i] = startNodeProcess(t, dirs[i], &logs, flags...)
		urls[i] = nodes[i].URL
		write()
		reload()
		testenv.Eventually(t, "the restarted node back in rotation", 30*time.Second, func() bool { return usable(urls[i]) })
	}
	before := sent.Load()
	testenv.Eventually(t, "requests after the upgrade", 60*time.Second, func() bool { return sent.Load() >= before+30 })
	stop.Store(1)
	wg.Wait()
	t.Logf("%d requests through a rolling restart of 3 api nodes", sent.Load())
	if len(failures) > 0 {
		t.Fatalf("%d of %d requests failed, e.g.:\n%s\nnode logs:\n%s", len(failures), sent.Load(),
			strings.Join(failures[:min(len(failures), 10)], "\n"), logs.String())
	}
}

// expand adds a column with a default to the accounts table, as the first
// step of a schema change does before any code uses it.
func expand(t *testing.T, url string) {
	t.Helper()
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(t.Context(), `ALTER TABLE users ADD COLUMN bio text NOT NULL DEFAULT ''`); err != nil {
		t.Fatalf("expand the schema: %v", err)
	}
}
