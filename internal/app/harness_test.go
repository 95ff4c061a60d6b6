package app_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/color"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/app"
	"github.com/photofeed/photofeed/internal/testenv"
)

// replicaCluster is the primary and streaming replica every test shares
// with PHOTOFEED_TEST_DB=postgres-replica or postgres-shards (each test
// gets its own databases).
var replicaCluster *testenv.PGCluster

func TestMain(m *testing.M) {
	runAsPhotofeed() // the test binary as photofeed itself (clustercmd_test.go)
	runChildNode()   // the test binary as a node of its own (nodeproc_test.go)
	if mode := os.Getenv("PHOTOFEED_TEST_DB"); mode != "postgres-replica" && mode != "postgres-shards" {
		os.Exit(m.Run())
	}
	c, err := testenv.NewPGCluster(1)
	if err != nil {
		fmt.Fprintln(os.Stderr, "PHOTOFEED_TEST_DB=postgres-replica:", err)
		os.Exit(1)
	}
	replicaCluster = c
	code := m.Run()
	c.Close()
	os.Exit(code)
}

// server is a photofeed started through app.Run, as main starts it.
type server struct {
	URL     string
	Metrics string // the /metrics URL on --metrics-addr
	DataDir string
	DB      string // the --db URL, "" for SQLite
	cancel  context.CancelFunc
	done    chan error
}

// start runs photofeed on a free port with cheap password hashing and
// waits until /healthz answers.
func start(t *testing.T, extra ...string) *server {
	t.Helper()
	return startEnv(t, nil, extra...)
}

// startEnv is start with an environment (nil: empty) for the process.
func startEnv(t *testing.T, getenv func(string) string, extra ...string) *server {
	t.Helper()
	return startWith(t, nodeOptions{getenv: getenv}, extra...)
}

// nodeOptions are what startWith takes besides flags; zero values are
// start's.
type nodeOptions struct {
	getenv func(string) string // nil: an empty environment
	ctx    context.Context     // Run's context (cancelled to stop it); nil: Background
	log    io.Writer           // the node's log; nil: discarded
}

// sameInEveryMode skips a test that brings its own engines and nodes in
// the modes that rerun the suite on another store (PHOTOFEED_TEST_DB):
// there it would run exactly as it does in the default mode.
func sameInEveryMode(t *testing.T) {
	t.Helper()
	if mode := os.Getenv("PHOTOFEED_TEST_DB"); mode != "" {
		t.Skipf("brings its own engines and nodes: it runs the same without PHOTOFEED_TEST_DB (here %q)", mode)
	}
}

// startWith is start with options. With PHOTOFEED_TEST_DB=cluster the
// server is a whole cluster behind a gateway (harness_cluster_test.go),
// unless extra makes the test one node's own.
func startWith(t *testing.T, o nodeOptions, extra ...string) *server {
	t.Helper()
	dir := t.TempDir()
	args := append([]string{"serve", "--addr", "127.0.0.1:0"}, app.CheapNodeArgs(dir)...)
	args = append(args, "--log-level", "error",
		"--metrics-addr", "127.0.0.1:0") // nodes side by side must not share the default port
	dbURL := ""
	// On PostgreSQL, 16 logical shards: a new deployment's default 1,024
	// schemas take some 20 s to create, too long for every test.
	mode := os.Getenv("PHOTOFEED_TEST_DB")
	if slices.Contains(extra, "--db") || slices.Contains(extra, "gateway") {
		mode = "" // the test brings its own database, or the node has none
	}
	switch mode {
	case "cluster":
		if !ownsNode(extra) {
			return startCluster(t, o, extra)
		}
		dbURL = testenv.PostgresURL(t) // the node's own, on the cluster's engine
		args = append(args, "--db", dbURL, "--logical-shards", "16")
	case "postgres": // the suite again, on PostgreSQL
		dbURL = testenv.PostgresURL(t)
		args = append(args, "--db", dbURL, "--logical-shards", "16")
	case "postgres-replica": // and on a primary with a streaming replica
		primary, replicas := replicaCluster.Database(t)
		dbURL = primary
		args = append(args, "--db", primary, "--db-replicas", strings.Join(replicas, ","), "--logical-shards", "16")
	case "postgres-shards": // and with 4 shards on 2 databases, each with a replica
		primary, replicas := replicaCluster.Database(t)
		second, secondReplicas := replicaCluster.Database(t)
		dbURL = primary
		file := filepath.Join(t.TempDir(), "shards")
		list := fmt.Sprintf("# name url replica-url\nfirst %s %s\nsecond %s %s\n",
			primary, strings.Join(replicas, " "), second, strings.Join(secondReplicas, " "))
		if err := os.WriteFile(file, []byte(list), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--db", primary, "--db-replicas", strings.Join(replicas, ","), "--shards", file, "--logical-shards", "4")
	}
	s, err := runNode(o, append(args, extra...))
	if s != nil {
		t.Cleanup(func() {
			if err := s.stop(); err != nil {
				t.Errorf("run returned %v", err)
			}
		})
	}
	if err != nil {
		t.Fatal(err)
	}
	s.DataDir, s.DB = dir, dbURL
	return s
}

// runNode runs app.Run with args and waits until the node answers
// /healthz. It returns the node, if Run started, with its error: the
// caller stops it either way. It does not fail a test itself, so that
// nodes can start side by side.
func runNode(o nodeOptions, args []string) (*server, error) {
	getenv := o.getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	if o.ctx == nil {
		o.ctx = context.Background()
	}
	ctx, cancel := context.WithCancel(o.ctx)
	pr, pw := io.Pipe()
	s := &server{cancel: cancel, done: make(chan error, 1)}
	var logs io.Writer = io.Discard
	if o.log != nil {
		logs = o.log
	} else if os.Getenv("PHOTOFEED_TEST_LOG") != "" { // server logs on stderr, for debugging a test
		logs = os.Stderr
		args = append(args, "--log-level", "warn")
	}
	go func() {
		s.done <- app.Run(ctx, args, getenv, pw, logs)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		runErr := <-s.done
		s.done <- runErr
		return nil, fmt.Errorf("no start line: %v (run: %v)", err, runErr)
	}
	go io.Copy(io.Discard, pr)
	fields := strings.Fields(line)
	for _, f := range fields {
		switch {
		case strings.HasPrefix(f, "http://") && strings.HasSuffix(f, "/metrics)"):
			s.Metrics = strings.TrimSuffix(f, ")")
		case strings.HasPrefix(f, "http://") && s.URL == "":
			s.URL = f
		}
	}
	if s.URL == "" {
		return s, fmt.Errorf("start line without URL: %q", line)
	}
	if err := awaitHealthy(s.URL, 10*time.Second); err != nil {
		return s, fmt.Errorf("server not healthy: %v", err)
	}
	return s, nil
}

// stop cancels Run's context and waits for it to return.
func (s *server) stop() error {
	s.cancel()
	select {
	case err := <-s.done:
		s.done <- err
		return err
	case <-time.After(20 * time.Second):
		return io.ErrNoProgress
	}
}

// client talks to a server as one user.
type client struct {
	t     *testing.T
	base  string
	token string
	http  *http.Client
}

func (s *server) client(t *testing.T) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: s.URL, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

type response struct {
	*http.Response
	Body []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// problem decodes a problem+json body and checks its status and type.
func (r response) problem(t *testing.T, status int) map[string]any {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("status %d, want %d; body %s", r.StatusCode, status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("content type %q, want application/problem+json; body %s", ct, r.Body)
	}
	var p map[string]any
	r.json(t, &p)
	if p["status"] != float64(status) || p["type"] == "" || p["title"] == "" {
		t.Fatalf("problem lacks type/title/status: %s", r.Body)
	}
	return p
}

func (c *client) do(method, path string, body io.Reader, header ...string) response {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	if c.token != "" && req.Header.Get("Authorization") == "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	checkAgainstSpec(c.t, req, resp, b)
	return response{resp, b}
}

func (c *client) jsonReq(method, path, body string) response {
	c.t.Helper()
	return c.do(method, path, strings.NewReader(body), "Content-Type", "application/json")
}

// signup creates a user and logs the client in as them.
func (c *client) signup(name string) string {
	c.t.Helper()
	r := c.jsonReq("POST", "/v1/accounts", `{"username":"`+name+`","password":"password-`+name+`","display_name":"`+strings.ToUpper(name)+`"}`)
	if r.StatusCode != 201 {
		c.t.Fatalf("signup %s: %d %s", name, r.StatusCode, r.Body)
	}
	var u struct{ ID string }
	r.json(c.t, &u)
	r = c.jsonReq("POST", "/v1/sessions", `{"username":"`+name+`","password":"password-`+name+`"}`)
	if r.StatusCode != 201 {
		c.t.Fatalf("login %s: %d %s", name, r.StatusCode, r.Body)
	}
	var s struct{ Token string }
	r.json(c.t, &s)
	c.token = s.Token
	return u.ID
}

type post struct {
	ID     string `json:"id"`
	Author struct {
		ID, Username, DisplayName string
	} `json:"author"`
	Caption   string    `json:"caption"`
	CreatedAt time.Time `json:"created_at"`
	LikeCount int       `json:"like_count"`
	LikedByMe bool      `json:"liked_by_me"`
	Images    struct {
		Thumb, Large, Original string
	} `json:"images"`
}

// upload posts a photo; it returns the raw response.
func (c *client) upload(path string, photo []byte, caption string, extra ...string) response {
	c.t.Helper()
	ct, body := app.UploadForm(photo, caption, extra...)
	return c.do("POST", path, bytes.NewReader(body), "Content-Type", ct)
}

func (c *client) post(caption string) post {
	c.t.Helper()
	r := c.upload("/v1/posts", app.SampleJPEG(c.t, 64, 48, color.RGBA{uint8(len(caption) * 40), 100, 50, 255}), caption)
	if r.StatusCode != 201 {
		c.t.Fatalf("upload: %d %s", r.StatusCode, r.Body)
	}
	var p post
	r.json(c.t, &p)
	return p
}

// linkRel returns the target of the Link member with relation rel, or "".
func linkRel(r response, rel string) string {
	for _, field := range r.Header.Values("Link") {
		for _, member := range strings.Split(field, ",") {
			target, params, ok := strings.Cut(strings.TrimSpace(member), ";")
			if ok && strings.Contains(params, `rel="`+rel+`"`) {
				return strings.Trim(strings.TrimSpace(target), "<>")
			}
		}
	}
	return ""
}

// metrics reads /metrics from the metrics listener.
func (s *server) metrics(t *testing.T) response {
	t.Helper()
	if s.Metrics == "" {
		t.Fatal("the server has no metrics listener")
	}
	resp, err := http.Get(s.Metrics)
	if err != nil {
		t.Fatalf("GET %s: %v", s.Metrics, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp, b}
}

// awaitHealthy waits until the node at base answers /healthz with 200,
// returning the last failure seen if it never does within timeout.
func awaitHealthy(base string, timeout time.Duration) error {
	var last error
	if testenv.Poll(timeout, func() bool {
		resp, err := http.Get(base + "/healthz")
		if err != nil {
			last = err
			return false
		}
		resp.Body.Close()
		last = fmt.Errorf("/healthz answered %d", resp.StatusCode)
		return resp.StatusCode == 200
	}) {
		return nil
	}
	return last
}
