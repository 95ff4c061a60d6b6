package app_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/testenv"
)

// One of three api nodes (processes of their own) is killed with SIGKILL
// while clients loop through the gateway on GETs and keyed POSTs: no
// client sees an error, because the requests the dead node took or would
// take are retried on the others, and the gateway soon takes it out.
//
// The keyed POSTs are logins: their key is checked, not stored, so a
// retry runs again. A keyed POST that stores its key and was taken by the
// dying node keeps that key claimed until the lock timeout (1m); its retry
// is answered 409 with Retry-After meanwhile, as the API documents.
func TestGatewayRidesOutAKilledAPINode(t *testing.T) {
	sameInEveryMode(t)
	db := testenv.PostgresURL(t)
	bus := testenv.StartNATS(t, 1)
	flags := []string{"--db", db, "--logical-shards", "16", "--nats", bus.URL(), "--secret", gatewaySecret}
	var logs testenv.LogBuffer
	var nodes []*nodeProcess
	var urls []string
	for range 3 {
		n := startNodeProcess(t, t.TempDir(), &logs, flags...)
		nodes, urls = append(nodes, n), append(urls, n.URL)
	}
	gw := startGateway(t, nodeOptions{}, urls)

	const clients = 4
	tokens := make([]string, clients)
	for i := range clients {
		c := gw.client(t)
		c.signup(fmt.Sprintf("loop%d", i))
		tokens[i] = c.token
	}
	var done, sent atomic.Int64
	var mu sync.Mutex
	var failures []string
	fail := func(s string) {
		mu.Lock()
		defer mu.Unlock()
		failures = append(failures, s)
	}
	httpc := &http.Client{Timeout: 15 * time.Second}
	do := func(method, path, body string, want int, header ...string) {
		req, _ := http.NewRequest(method, gw.URL+path, strings.NewReader(body))
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		sent.Add(1)
		resp, err := httpc.Do(req)
		if err != nil {
			fail(fmt.Sprintf("%s %s: %v", method, path, err))
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			fail(fmt.Sprintf("%s %s: %d %s", method, path, resp.StatusCode, b))
		}
	}
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			auth := "Bearer " + tokens[i]
			for n := 0; done.Load() == 0; n++ {
				do("GET", "/v2/me", "", 200, "Authorization", auth)
				do("GET", "/v2/feed", "", 200, "Authorization", auth)
				do("POST", "/v2/sessions", fmt.Sprintf(`{"username":"loop%d","password":"password-loop%d"}`, i, i), 201,
					"Content-Type", "application/json", "Idempotency-Key", fmt.Sprintf(`"login-%d-%d"`, i, n))
			}
		})
	}
	testenv.Eventually(t, "requests before the kill", 30*time.Second, func() bool { return sent.Load() >= 60 })
	killedAt := sent.Load()
	nodes[1].kill(t)
	killed := time.Now()
	testenv.Eventually(t, "the killed node out of rotation", 20*time.Second, func() bool {
		var body struct {
			Upstreams []struct {
				URL    string `json:"url"`
				Usable bool   `json:"usable"`
			}
		}
		send(t, "GET", gw.URL+"/readyz").json(t, &body)
		for _, u := range body.Upstreams {
			if u.URL == urls[1] {
				return !u.Usable
			}
		}
		return false
	})
	t.Logf("the killed node out of rotation %s after the kill", time.Since(killed).Round(time.Millisecond))
	testenv.Eventually(t, "requests after the kill", 60*time.Second, func() bool { return sent.Load() >= killedAt+240 })
	done.Store(1)
	wg.Wait()
	t.Logf("%d requests, %d after the kill", sent.Load(), sent.Load()-killedAt)
	if len(failures) > 0 {
		t.Fatalf("%d of %d requests failed, e.g.:\n%s", len(failures), sent.Load(), strings.Join(failures[:min(len(failures), 10)], "\n"))
	}
}
