package app_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A node with no room left turns the sheddable requests away first, with
// 503 and Retry-After, still serves the critical ones while it can, never
// its health checks, and counts what it shed.
func TestNodeShedsSheddableRequestsFirst(t *testing.T) {
	// Two requests at once, a sheddable one may take one of them.
	// One node's own limit: --roles keeps the test on one node in the
	// cluster test mode, where a gateway would send the search elsewhere.
	s := start(t, "--max-inflight", "2", "--adaptive-limit=false", "--roles", "api,worker")
	c := s.client(t)

	// A sign-up whose body has not arrived yet holds one place.
	body, feed := io.Pipe()
	held := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest("POST", s.URL+"/v2/accounts", body)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		held <- err
	}()
	defer func() {
		feed.Write([]byte(`{"username":"held","password":"correct horse battery"}`))
		feed.Close()
		if err := <-held; err != nil {
			t.Errorf("the held sign-up: %v", err)
		}
	}()

	var shed response
	for deadline := time.Now().Add(10 * time.Second); ; {
		shed = c.do("GET", "/v2/search?q=x", nil)
		if shed.StatusCode == http.StatusServiceUnavailable || time.Now().After(deadline) {
			break
		}
	}
	p := shed.problem(t, http.StatusServiceUnavailable)
	if p["type"] != "/problems/overloaded" || shed.Header.Get("Retry-After") != "1" || shed.Header.Get("Photofeed-Shed") != "sheddable" {
		t.Errorf("search shed as %v with Retry-After %q, Photofeed-Shed %q; want /problems/overloaded, 1 and the class (which a gateway reads)",
			p["type"], shed.Header.Get("Retry-After"), shed.Header.Get("Photofeed-Shed"))
	}
	if r := c.do("GET", "/v2/users/nobody", nil); r.StatusCode != http.StatusNotFound {
		t.Errorf("a profile (critical) with a place left: status %d, want 404; %s", r.StatusCode, r.Body)
	}
	if r := c.do("GET", "/healthz", nil); r.StatusCode != http.StatusOK {
		t.Errorf("/healthz on a full node: status %d", r.StatusCode)
	}
	m := string(s.metrics(t).Body)
	for _, want := range []string{`photofeed_shed_total{class="sheddable"} `, "photofeed_admission_limit 2"} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	// Each class shows from the start at 0: the shed must have counted.
	if strings.Contains(m, "photofeed_shed_total{class=\"sheddable\"} 0\n") {
		t.Error("/metrics shows no sheddable request shed")
	}
}
