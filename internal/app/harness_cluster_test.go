package app_test

// PHOTOFEED_TEST_DB=cluster: the end-to-end suite through the front door.
// start gives each test 3 api nodes and 2 worker nodes, as photofeed
// cluster lays them out (clusternodes.go), behind one gateway whose URL
// is the test's server: the v1 and v2 contract then holds across nodes
// that share only the engines, with every request balanced by the
// gateway.

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/app"
	"github.com/photofeed/photofeed/internal/testenv"
)

const (
	clusterAPINodes    = 3
	clusterWorkerNodes = 2
)

// clusterMode reports whether start runs a cluster.
func clusterMode() bool { return os.Getenv("PHOTOFEED_TEST_DB") == "cluster" }

// skipInCluster skips a test that is about one node (its files, its
// process, its metrics), which the cluster's gateway would hide.
func skipInCluster(t *testing.T, why string) {
	t.Helper()
	if clusterMode() {
		t.Skip("one node's test, not the API's contract: " + why)
	}
}

// ownsNode reports whether extra makes the node the test's own: its
// roles, engines or data dir. Such a node runs alone, on PostgreSQL.
func ownsNode(extra []string) bool {
	return slices.ContainsFunc(extra, func(a string) bool {
		switch a {
		case "--roles", "--nats", "--redis", "--data-dir":
			return true
		}
		return false
	})
}

// startCluster starts the cluster for t and returns its gateway as the
// server. extra goes to every node, the gateway included (which shares
// the rate-limit policies). The engines are the test's own: a fresh
// database on the machine's PostgreSQL, and a throwaway Redis and NATS,
// since photofeed's Redis keys and NATS subjects have fixed names (two
// tests on one server would read each other's timelines and events).
func startCluster(t *testing.T, o nodeOptions, extra []string) *server {
	t.Helper()
	db := testenv.PostgresURL(t)
	rdb := testenv.StartRedis(t)
	bus := testenv.StartNATS(t, 1)
	var rnd [16]byte
	rand.Read(rnd[:])
	secret := "cluster-secret-" + hex.EncodeToString(rnd[:])
	root := t.TempDir()
	media := filepath.Join(root, "media")
	if err := os.MkdirAll(media, 0o700); err != nil {
		t.Fatal(err)
	}
	base := []string{"serve", "--addr", "127.0.0.1:0", "--log-level", "error", "--metrics-addr", "127.0.0.1:0", "--secret", secret}
	shared := append(slices.Clone(base), "--db", db, "--logical-shards", "16",
		"--redis", "redis://"+rdb.Addr+"/0", "--nats", bus.URL())

	var (
		mu    sync.Mutex
		nodes []*server // the api and worker nodes, stopped together
		apis  []string
	)
	t.Cleanup(func() { stopAll(t, nodes) })
	launch := func(name, role string) error {
		dir := filepath.Join(root, name)
		// A node keeps media in its data dir: all of them the same one,
		// as photofeed cluster links it (what an api node stores the
		// workers shrink and every api node serves).
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
		if err := os.Symlink(media, filepath.Join(dir, "media")); err != nil {
			return err
		}
		args := append(slices.Clone(shared), app.CheapNodeArgs(dir)...)
		args = append(args, "--roles", role)
		if role == "api" {
			// Only the gateway, on loopback, names the client.
			args = append(args, "--trusted-proxies", "127.0.0.1/32", "--client-ip-header", "forwarded")
		}
		s, err := runNode(o, append(args, extra...))
		if err == nil {
			// Ready, as photofeed cluster waits for: healthy is only up,
			// and the gateway sends a new upstream requests at once.
			err = awaitReady(s.URL, 30*time.Second)
		}
		mu.Lock()
		defer mu.Unlock()
		if s != nil {
			nodes = append(nodes, s)
		}
		if err != nil {
			return errors.New(name + ": " + err.Error())
		}
		if role == "api" {
			apis = append(apis, s.URL)
		}
		return nil
	}

	// The first api node alone: on a fresh database it lays out the
	// deployment and runs the job queue's migrations, which two first
	// starts side by side would race on.
	if err := launch("api-1", "api"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, clusterAPINodes-1+clusterWorkerNodes)
	for i := range errs {
		name, role := "api-"+string(rune('2'+i)), "api"
		if i >= clusterAPINodes-1 {
			name, role = "worker-"+string(rune('1'+i-(clusterAPINodes-1))), "worker"
		}
		wg.Go(func() { errs[i] = launch(name, role) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}

	gwDir := filepath.Join(root, "gateway")
	args := append(slices.Clone(base), app.CheapNodeArgs(gwDir)...)
	args = append(args, "--roles", "gateway", "--upstreams", strings.Join(apis, ","))
	gw, err := runNode(o, append(args, extra...))
	if gw != nil {
		t.Cleanup(func() {
			if err := gw.stop(); err != nil {
				t.Errorf("gateway: run returned %v", err)
			}
		})
	}
	if err != nil {
		t.Fatal("gateway: ", err)
	}
	checkUpstreams(t, gw.URL, apis)
	// The data dir whose media directory every node shares: what a test
	// counts there is the cluster's.
	gw.DataDir, gw.DB = root, db
	return gw
}

// checkUpstreams fails t unless the gateway at base takes every api node:
// a suite that ran on fewer would prove less than it says.
func checkUpstreams(t *testing.T, base string, apis []string) {
	t.Helper()
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ready struct {
		Upstreams []struct {
			URL    string `json:"url"`
			Usable bool   `json:"usable"`
		} `json:"upstreams"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&ready); err != nil {
		t.Fatalf("gateway /readyz: %v", err)
	}
	var usable []string
	for _, u := range ready.Upstreams {
		if u.Usable {
			usable = append(usable, u.URL)
		}
	}
	slices.Sort(usable)
	if want := slices.Sorted(slices.Values(apis)); !slices.Equal(usable, want) {
		t.Fatalf("the gateway takes %v, want all the api nodes %v", usable, want)
	}
}

// awaitReady waits until the node at base answers /readyz with 200.
func awaitReady(base string, timeout time.Duration) error {
	last := "no answer"
	if testenv.Poll(timeout, func() bool {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			last = err.Error()
			return false
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		last = fmt.Sprintf("%d %s", resp.StatusCode, b)
		return resp.StatusCode == http.StatusOK
	}) {
		return nil
	}
	return fmt.Errorf("not ready after %s: /readyz answered %s", timeout, last)
}

// stopAll stops the nodes side by side: each waits out its own shutdown.
func stopAll(t *testing.T, nodes []*server) {
	var wg sync.WaitGroup
	for _, s := range nodes {
		wg.Go(func() {
			if err := s.stop(); err != nil {
				t.Errorf("node %s: run returned %v", s.URL, err)
			}
		})
	}
	wg.Wait()
}
