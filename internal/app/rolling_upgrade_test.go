package app_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"image/color"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/app"
	"github.com/photofeed/photofeed/internal/testenv"
)

// A rolling upgrade, as the README describes it, under a steady load of
// feed reads, keyed logins and keyed uploads spread over two gateways, and
// a reader's live stream held open throughout: each of three api nodes in
// turn is taken out of the upstreams file (the gateways drain it),
// stopped, started again on its data dir, and put back; between the first
// node and the others the schema is expanded (a column added, as a new
// version's first migration would), and the old code keeps working on it.
// Then each of two worker nodes is stopped with SIGTERM while uploads go
// on, their thumbnail jobs run by the other, and started again; then each
// gateway is stopped and started again on its address, its clients going
// to the other meanwhile. No client request fails (a client sends a GET or
// a keyed POST to the other gateway when one refuses the connection),
// every upload becomes one post, ready, thumbnailed once, and the live
// stream, reconnecting with its last id each time a node or a gateway
// ends it, announces every post.
func TestRollingUpgrade(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and stops processes")
	}
	sameInEveryMode(t)
	began := time.Now()
	db := testenv.PostgresURL(t)
	bus := testenv.StartNATS(t, 1)
	// One media directory for every node, as photofeed cluster links it:
	// an upload one api node stores, either worker's thumbnail job reads.
	media := t.TempDir()
	flags := []string{"--db", db, "--logical-shards", "16", "--nats", bus.URL(), "--secret", gatewaySecret}
	logs := nodeLogs(t)
	apis := newNodeSet(t, media, logs, 3, slices.Concat(flags, []string{"--roles", "api"})...)
	workers := newNodeSet(t, media, logs, 2, slices.Concat(flags, []string{"--roles", "worker"})...)

	file := filepath.Join(t.TempDir(), "upstreams")
	out := -1 // the api node being upgraded, not in the file
	write := func() {
		var live []string
		for i, n := range apis.nodes {
			if i != out {
				live = append(live, n.URL)
			}
		}
		if err := os.WriteFile(file, []byte(strings.Join(live, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write()
	gws := make([]*rollingGateway, 2)
	for i := range gws {
		gws[i] = startRollingGateway(t, file, "")
	}
	reload := func() {
		for _, g := range gws {
			g.reload(t)
		}
	}
	upstreams := func(which func(gatewayUpstreams) bool) func() bool {
		return func() bool {
			for _, g := range gws {
				var body gatewayUpstreams
				send(t, "GET", g.s.URL+"/readyz").json(t, &body)
				if !which(body) {
					return false
				}
			}
			return true
		}
	}
	has := func(url string, usable bool) func(gatewayUpstreams) bool {
		return func(body gatewayUpstreams) bool {
			for _, u := range body.Upstreams {
				if u.URL == url {
					return u.Usable || !usable
				}
			}
			return false
		}
	}

	const clients = 3
	tokens := make([]string, clients)
	for i := range clients {
		c := gws[0].s.client(t)
		c.signup(fmt.Sprintf("upgrader%d", i))
		tokens[i] = c.token
	}
	reader := gws[0].s.client(t)
	reader.signup("watcher")
	for i := range clients {
		reader.follow(fmt.Sprintf("upgrader%d", i))
	}
	t.Logf("%s: 5 nodes, 2 gateways and 4 users", time.Since(began).Round(time.Millisecond))
	gc := &gatewayClient{http: &http.Client{Timeout: 30 * time.Second}}
	for _, g := range gws {
		gc.gateways = append(gc.gateways, g.s.URL)
	}
	watch := newStreamFollower(gc, reader.token)
	watchCtx, endWatch := context.WithCancel(context.Background())
	watched := make(chan struct{})
	go func() { defer close(watched); watch.run(watchCtx) }()
	defer func() { endWatch(); <-watched }()
	testenv.Eventually(t, "the live stream open", 10*time.Second, func() bool { return watch.holder() >= 0 })

	var stop, sent, uploaded atomic.Int64
	var mu sync.Mutex
	var failures, posts []string
	do := func(first int, method, path, ct string, body []byte, want int, header ...string) []byte {
		sent.Add(1)
		b, err := gc.do(first, method, path, ct, body, want, header...)
		if err != nil {
			mu.Lock()
			failures = append(failures, fmt.Sprintf("%s %s: %v", method, path, err))
			mu.Unlock()
		}
		return b
	}
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			auth := "Bearer " + tokens[i]
			for n := 0; stop.Load() == 0; n++ {
				first := (i + n) % len(gws) // spread over the gateways, as DNS would
				do(first, "GET", "/v2/feed", "", nil, 200, "Authorization", auth)
				do(first, "POST", "/v2/sessions", "application/json", fmt.Appendf(nil, `{"username":"upgrader%d","password":"password-upgrader%d"}`, i, i), 201,
					"Idempotency-Key", fmt.Sprintf(`"upgrade-login-%d-%d"`, i, n))
				if n%5 == 0 {
					img := app.SampleJPEG(t, 600, 450, color.RGBA{uint8(i), uint8(n), 128, 255})
					ct, body := app.UploadForm(img, fmt.Sprintf("upgrade %d %d", i, n))
					b := do(first, "POST", "/v2/posts", ct, body, 201, "Authorization", auth, "Idempotency-Key", fmt.Sprintf(`"upgrade-post-%d-%d"`, i, n))
					var p struct{ ID string }
					if json.Unmarshal(b, &p) == nil && p.ID != "" {
						mu.Lock()
						posts = append(posts, p.ID)
						mu.Unlock()
						uploaded.Add(1)
					}
				}
			}
		})
	}
	defer func() { stop.Store(1); wg.Wait() }()
	busy := func(what string) { // some load between one step and the next
		before := sent.Load()
		testenv.Eventually(t, what, 60*time.Second, func() bool { return sent.Load() >= before+20 })
	}

	// The api nodes, the schema expanded between the first and the others.
	for i := range apis.nodes {
		busy("requests before this api node's turn")
		old := apis.nodes[i].URL
		out = i
		write()
		reload() // drained: no new requests, the ones in flight finish, streams told to reconnect
		testenv.Eventually(t, "the node out of every gateway's set", 10*time.Second,
			upstreams(func(body gatewayUpstreams) bool { return !has(old, false)(body) }))
		apis.restart(t, i, func() {
			if i == 0 { // expand: the next version's schema, under the old code
				expand(t, db)
			}
		})
		out = -1
		write()
		reload()
		testenv.Eventually(t, "the restarted node back in rotation", 30*time.Second, upstreams(has(apis.nodes[i].URL, true)))
	}

	t.Logf("%s: api nodes upgraded", time.Since(began).Round(time.Millisecond))

	// The workers: the other one runs the consumers and the thumbnail jobs
	// while one is down, uploads going on.
	mu.Lock()
	duringWorkers := len(posts)
	mu.Unlock()
	for i := range workers.nodes {
		busy("requests before this worker's turn")
		workers.restart(t, i, func() {
			before := uploaded.Load()
			testenv.Eventually(t, "uploads while a worker is down", 60*time.Second, func() bool { return uploaded.Load() >= before+3 })
		})
	}
	mu.Lock()
	duringWorkers = len(posts) - duringWorkers
	mu.Unlock()
	t.Logf("%s: workers upgraded", time.Since(began).Round(time.Millisecond))

	// The gateways: first the one holding the live stream, which then
	// moves to the other, stopped next.
	first := -1
	testenv.Eventually(t, "the live stream open", 20*time.Second, func() bool { first = watch.holder(); return first >= 0 })
	for step := range gws {
		i := (first + step) % len(gws)
		testenv.Eventually(t, "the live stream on the gateway about to stop", 20*time.Second, func() bool { return watch.holder() == i })
		busy("requests before this gateway's turn")
		gws[i] = gws[i].restart(t, file)
		testenv.Eventually(t, "the restarted gateway ready with every api node", 30*time.Second, func() bool {
			var body gatewayUpstreams
			send(t, "GET", gws[i].s.URL+"/readyz").json(t, &body)
			return !slices.ContainsFunc(apis.nodes, func(n *nodeProcess) bool { return !has(n.URL, true)(body) })
		})
	}
	t.Logf("%s: gateways upgraded", time.Since(began).Round(time.Millisecond))
	busy("requests after the upgrade")
	stop.Store(1)
	wg.Wait()
	t.Logf("%d requests, %d uploads (%d while the workers restarted) through a rolling restart of 3 api nodes, 2 workers and 2 gateways",
		sent.Load(), len(posts), duringWorkers)
	if len(failures) > 0 {
		t.Fatalf("%d of %d requests failed, e.g.:\n%s", len(failures), sent.Load(),
			strings.Join(failures[:min(len(failures), 10)], "\n"))
	}

	checkUploadsDone(t, gws[0].s.client(t), db, clients, posts)
	t.Logf("%s: every upload ready, thumbnailed once", time.Since(began).Round(time.Millisecond))

	// The stream announced every post, once, across its reconnections,
	// each of which the server asked for.
	var missing []string
	if !testenv.Poll(20*time.Second, func() bool { missing = watch.missing(posts); return len(missing) == 0 }) {
		t.Errorf("the live stream never announced %d of %d posts, e.g. %q", len(missing), len(posts), missing[:min(len(missing), 5)])
	}
	endWatch()
	<-watched
	for id, n := range watch.seen {
		if n > 1 {
			t.Errorf("the live stream announced post %s %d times", id, n)
		}
	}
	t.Logf("the live stream: %d streams, ended by %q", len(watch.sessions)+1, watch.sessions)
	if len(watch.failures) > 0 {
		t.Errorf("the reader saw errors opening its stream: %q", watch.failures)
	}
	if len(watch.sessions) < len(gws) || slices.ContainsFunc(watch.sessions, func(s string) bool { return s != "reconnect" }) {
		t.Errorf("each stream must end with a reconnect event, and both gateways' stops end one: %q", watch.sessions)
	}
}

// checkUploadsDone checks that each of posts, the uploads clients had
// acknowledged, is ready with its images and had one thumbnail job, done,
// and that the authors have those posts and no others: each keyed upload
// made one post, whichever nodes and gateways it went through.
func checkUploadsDone(t *testing.T, c *client, db string, authors int, posts []string) {
	t.Helper()
	for _, id := range posts {
		var p struct {
			Status string
			Images *struct{ Thumb struct{ URL string } }
		}
		if !testenv.Poll(30*time.Second, func() bool {
			c.do("GET", "/v2/posts/"+id, nil).json(t, &p)
			return p.Status == "ready" && p.Images != nil
		}) {
			t.Fatalf("post %s still %q", id, p.Status)
		}
	}
	sorted := slices.Sorted(slices.Values(posts))
	if len(slices.Compact(sorted)) != len(posts) {
		t.Fatalf("two uploads were answered with the same post: %q", posts)
	}
	total := 0
	for i := range authors {
		var page struct{ Total int }
		c.do("GET", fmt.Sprintf("/v1/users/upgrader%d/posts?limit=1", i), nil).json(t, &page)
		total += page.Total
	}
	if total != len(posts) {
		t.Fatalf("the authors have %d posts, for %d uploads", total, len(posts))
	}

	// A job is marked done shortly after its post is ready (River
	// records completions in batches): wait for that, then count.
	conn, err := sql.Open("pgx", db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	type jobCount struct {
		n, done int
		states  string
	}
	jobs := map[string]jobCount{}
	testenv.Poll(10*time.Second, func() bool {
		clear(jobs)
		rows, err := conn.QueryContext(t.Context(), `SELECT args->>'post_id', count(*), count(*) FILTER (WHERE state = 'completed'),
			string_agg(state || ' attempt ' || attempt || ' ' || coalesce(errors::text, ''), '; ')
			FROM river_job WHERE kind = 'thumbnails' GROUP BY 1`)
		if err != nil {
			t.Fatalf("thumbnail jobs: %v", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			var c jobCount
			if err := rows.Scan(&id, &c.n, &c.done, &c.states); err != nil {
				t.Fatal(err)
			}
			jobs[id] = c
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return !slices.ContainsFunc(posts, func(id string) bool { return jobs[id].done == 0 })
	})
	for _, id := range posts {
		if c := jobs[id]; c.n != 1 || c.done != 1 {
			t.Errorf("post %s: %d thumbnail jobs, %d completed (%s); want one, completed", id, c.n, c.done, c.states)
		}
	}
}

// nodeSet is nodes of one role, each on its own data dir with the shared
// media directory linked in, restarted in place.
type nodeSet struct {
	dirs  []string
	nodes []*nodeProcess
	log   *testenv.LogBuffer
	flags []string
}

func newNodeSet(t *testing.T, media string, log *testenv.LogBuffer, n int, flags ...string) *nodeSet {
	t.Helper()
	s := &nodeSet{dirs: make([]string, n), nodes: make([]*nodeProcess, n), log: log, flags: flags}
	for i := range n {
		s.dirs[i] = t.TempDir()
		if err := os.Symlink(media, filepath.Join(s.dirs[i], "media")); err != nil {
			t.Fatal(err)
		}
		s.nodes[i] = startNodeProcess(t, s.dirs[i], log, flags...)
	}
	return s
}

// restart stops node i with SIGTERM, does meanwhile, and starts it again
// on its data dir.
func (s *nodeSet) restart(t *testing.T, i int, meanwhile func()) {
	t.Helper()
	s.nodes[i].stop(t)
	meanwhile()
	s.nodes[i] = startNodeProcess(t, s.dirs[i], s.log, s.flags...)
}

// rollingGateway is an in-test gateway reading an upstreams file, which
// it re-reads when told to (as on SIGHUP).
type rollingGateway struct {
	s       *server
	hangups chan os.Signal
}

// startRollingGateway starts a gateway on addr ("": a free port) in front
// of the api nodes listed in file.
func startRollingGateway(t *testing.T, file, addr string) *rollingGateway {
	t.Helper()
	g := &rollingGateway{hangups: make(chan os.Signal)}
	extra := []string{"--upstreams-file", file}
	if addr != "" {
		extra = append(extra, "--addr", addr)
	}
	g.s = startGateway(t, nodeOptions{ctx: app.WithHangups(t.Context(), g.hangups)}, nil, extra...)
	return g
}

// reload has the gateway re-read its upstreams file.
func (g *rollingGateway) reload(t *testing.T) {
	t.Helper()
	select {
	case g.hangups <- os.Interrupt:
	case <-time.After(5 * time.Second):
		t.Fatal("the gateway does not listen for hangups")
	}
}

// restart stops the gateway as SIGTERM does (Run's context ends: no new
// connections, requests in flight finish, event streams are told to
// reconnect) and starts a new one on its address.
func (g *rollingGateway) restart(t *testing.T, file string) *rollingGateway {
	t.Helper()
	if err := g.s.stop(); err != nil {
		t.Fatalf("the gateway did not stop cleanly: %v", err)
	}
	u, err := url.Parse(g.s.URL)
	if err != nil {
		t.Fatal(err)
	}
	return startRollingGateway(t, file, u.Host)
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
