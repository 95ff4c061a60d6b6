package app_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/app"
	"github.com/photofeed/photofeed/internal/cluster"
	"github.com/photofeed/photofeed/internal/testenv"
)

// asPhotofeedEnv makes the test binary the photofeed program: `photofeed
// cluster` runs its nodes as os.Executable(), which in a test is this
// binary, and they inherit the variable.
const asPhotofeedEnv = "PHOTOFEED_TEST_AS_PHOTOFEED"

// runAsPhotofeed runs app.Run on the command line, as main does, and
// exits, when the test binary was started as photofeed; otherwise it
// returns at once.
func runAsPhotofeed() {
	if os.Getenv(asPhotofeedEnv) != "1" {
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := app.Run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "photofeed:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// clusterProcess is `photofeed cluster` running as a process of its own,
// and what its table said.
type clusterProcess struct {
	cmd     *exec.Cmd
	stderr  *testenv.LogBuffer
	entry   string            // the URL it says to use
	urls    map[string]string // node name → URL
	pids    map[string]int    // node name → PID, of every photofeed node
	pgPIDs  map[string]int    // the same for the PostgreSQL servers started
	dataDir string
	done    chan error
}

func startClusterProcess(t *testing.T, args ...string) *clusterProcess {
	t.Helper()
	c := &clusterProcess{stderr: &testenv.LogBuffer{}, urls: map[string]string{}, pids: map[string]int{}, pgPIDs: map[string]int{}, done: make(chan error, 1)}
	c.cmd = exec.Command(os.Args[0], append([]string{"cluster"}, args...)...)
	c.cmd.Env = append(os.Environ(), asPhotofeedEnv+"=1")
	c.cmd.Stderr = c.stderr
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			c.readLine(t, sc.Text(), ready)
		}
		c.done <- c.cmd.Wait()
	}()
	t.Cleanup(func() {
		if t.Failed() {
			c.logNodeLogs(t) // before the stop removes them
		}
		select {
		case err := <-c.done:
			c.done <- err
		default: // a failed test: no orphans either way
			c.cmd.Process.Signal(os.Interrupt)
			c.done <- <-c.done
		}
		if t.Failed() {
			t.Logf("cluster stderr:\n%s", c.stderr.String())
		}
	})
	select {
	case <-ready:
	case err := <-c.done:
		c.done <- err
		t.Fatalf("photofeed cluster exited before it was ready (%v):\n%s", err, c.stderr.String())
	case <-time.After(90 * time.Second):
		t.Fatalf("photofeed cluster not ready after 90s:\n%s", c.stderr.String())
	}
	return c
}

// logNodeLogs logs the last lines of each photofeed node's log, which
// say why a request failed.
func (c *clusterProcess) logNodeLogs(t *testing.T) {
	if c.dataDir == "" {
		return
	}
	logs, _ := filepath.Glob(filepath.Join(c.dataDir, "logs", "*.log"))
	for _, name := range logs {
		b, err := os.ReadFile(name)
		if err != nil {
			continue
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		t.Logf("last lines of %s:\n%s", filepath.Base(name), strings.Join(lines[max(0, len(lines)-40):], "\n"))
	}
}

// readLine takes in one line of the cluster's output: a node of the
// table, the data dir, or the ready line (then ready is closed).
func (c *clusterProcess) readLine(t *testing.T, line string, ready chan struct{}) {
	t.Log(line)
	f := strings.Fields(line)
	switch {
	case len(f) >= 4 && (f[1] == "gateway" || f[1] == "api" || f[1] == "worker"):
		pid, err := strconv.Atoi(f[2])
		if err != nil {
			t.Errorf("table line %q: PID %q", line, f[2])
		}
		c.pids[f[0]], c.urls[f[0]] = pid, f[3]
	// The PostgreSQL servers too: pg_ctl starts them detached, and the
	// stop must reach the replica as well as the primary.
	case len(f) >= 4 && (f[1] == "database" || f[1] == "replica"):
		if pid, err := strconv.Atoi(f[2]); err == nil {
			c.pgPIDs[f[0]] = pid
		}
		c.urls[f[0]] = f[3]
	case strings.HasPrefix(line, "data in "):
		c.dataDir = f[2]
	case strings.HasPrefix(line, "photofeed cluster ready at "):
		c.entry = f[4]
		close(ready)
	}
}

// interrupt sends SIGINT, as Ctrl-C would, and waits for the exit.
func (c *clusterProcess) interrupt(t *testing.T) error {
	t.Helper()
	c.cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-c.done:
		c.done <- err
		return err
	case <-time.After(60 * time.Second):
		t.Fatal("photofeed cluster did not exit within 60s of SIGINT")
		return nil
	}
}

// needClusterEngines skips a test that starts a throwaway cluster of its
// own (PostgreSQL, Redis, NATS): in -short mode (CI's race stage leaves
// clusters of node processes out), in the modes that rerun the suite on
// other engines, and where the engines' binaries are missing.
func needClusterEngines(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a cluster of node processes: not in -short mode")
	}
	if mode := os.Getenv("PHOTOFEED_TEST_DB"); mode != "" {
		t.Skipf("runs its own engines: once, without PHOTOFEED_TEST_DB (here %q), is enough", mode)
	}
	if cluster.PostgresBinDir() == "" {
		testenv.Missing(t, "PostgreSQL server binaries (initdb, pg_ctl)")
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		testenv.Missing(t, "redis-server (apt-get install redis-server)")
	}
}

func TestClusterCommand(t *testing.T) {
	needClusterEngines(t)
	started := time.Now()
	c := startClusterProcess(t, "--api", "2", "--workers", "1", "--logical-shards", "8", "--rate-limits", "off",
		"--", "--argon2-memory", "64", "--argon2-time", "1")
	t.Logf("ready in %s at %s", time.Since(started).Round(time.Millisecond), c.entry)
	if len(c.pids) < 3 || c.urls["api-1"] == "" || c.urls["api-2"] == "" || c.urls["worker-1"] == "" {
		t.Fatalf("the table lists %v, want api-1, api-2 and worker-1 at least", c.urls)
	}

	entry := &server{URL: c.entry}
	author, reader := entry.client(t), entry.client(t)
	author.signup("cluster_author")
	reader.signup("cluster_reader")
	if r := reader.do("PUT", "/v1/me/following/cluster_author", nil); r.StatusCode != 204 {
		t.Fatalf("follow: %d %s", r.StatusCode, r.Body)
	}
	p := author.post("through the cluster")
	var feed struct{ Items []post }
	testenv.Eventually(t, "the post, with its thumbnails, in the reader's feed", 20*time.Second, func() bool {
		reader.do("GET", "/v1/feed", nil).json(t, &feed)
		return len(feed.Items) == 1 && feed.Items[0].ID == p.ID && feed.Items[0].Images.Large != ""
	})
	// The worker made the thumbnail from the upload one api node took;
	// every api node serves it.
	large, err := url.Parse(feed.Items[0].Images.Large)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"api-1", "api-2"} {
		resp, err := http.Get(c.urls[name] + large.Path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/jpeg" {
			t.Errorf("GET %s on %s: %d %s", large.Path, name, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}

	if err := c.interrupt(t); err != nil {
		t.Fatalf("photofeed cluster exited with %v after SIGINT:\n%s", err, c.stderr.String())
	}
	for name, pid := range c.pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("%s (pid %d) still there after the cluster stopped: %v", name, pid, err)
		}
	}
	// A postmaster is no child of the command: once pg_ctl has seen it
	// stop, it lingers until init reaps it.
	for name, pid := range c.pgPIDs {
		if !testenv.Poll(5*time.Second, func() bool { return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) }) {
			t.Errorf("%s (pid %d) still there 5 s after the cluster stopped", name, pid)
		}
	}
	if len(c.pgPIDs) != 2 {
		t.Errorf("PostgreSQL servers in the table: %v, want the primary and its replica", c.pgPIDs)
	}
	if _, err := os.Stat(c.dataDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the temporary data dir %s was not removed: %v", c.dataDir, err)
	}
	t.Logf("whole run %s", time.Since(started).Round(time.Millisecond))
}

func TestClusterKeepsStateInDataDir(t *testing.T) {
	needClusterEngines(t)
	parent := t.TempDir()
	// As root PostgreSQL runs as the postgres user, which must enter it
	// (and the test's temporary directory above it).
	for _, d := range []string{filepath.Dir(parent), parent} {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(parent, "cluster")
	args := []string{"--api", "1", "--workers", "1", "--logical-shards", "8", "--rate-limits", "off", "--no-gateway",
		"--data-dir", dir, "--", "--argon2-memory", "64", "--argon2-time", "1"}

	first := startClusterProcess(t, args...)
	(&server{URL: first.entry}).client(t).signup("kept_user")
	if err := first.interrupt(t); err != nil {
		t.Fatalf("first run exited with %v", err)
	}

	second := startClusterProcess(t, args...)
	c := (&server{URL: second.entry}).client(t)
	r := c.jsonReq("POST", "/v1/sessions", `{"username":"kept_user","password":"password-kept_user"}`)
	if r.StatusCode != 201 {
		t.Fatalf("log in after a restart on the same --data-dir: %d %s", r.StatusCode, r.Body)
	}
	if err := second.interrupt(t); err != nil {
		t.Fatalf("second run exited with %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "postgres", "data", "PG_VERSION")); err != nil {
		t.Errorf("the PostgreSQL data dir is not kept: %v", err)
	}
	// The second run started the replica the first made, from its data,
	// not from a new base backup.
	if _, err := os.Stat(filepath.Join(dir, "postgres-replica-1", "data", "standby.signal")); err != nil {
		t.Errorf("the replica's data dir is not kept: %v", err)
	}
}
