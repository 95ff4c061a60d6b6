package deploy_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/app"
	"github.com/photofeed/photofeed/internal/testenv"
)

// nodeArgs are a node of every role on SQLite with cheap password
// hashing; gatewayArgs a gateway in front of upstream.
func nodeArgs() []string { return []string{"--argon2-memory", "64", "--argon2-time", "1"} }

func gatewayArgs(upstream string) []string {
	return []string{"--roles", "gateway", "--upstreams", upstream, "--secret", strings.Repeat("s", 32)}
}

// startNode runs photofeed in process, as main does, on loopback ports
// with a temporary data directory and extra flags, and returns its public
// URL and its /metrics URL. It stops when t ends.
func startNode(t *testing.T, extra ...string) (base, metrics string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0",
		"--data-dir", t.TempDir(), "--log-level", "error"}, extra...)
	go func() {
		done <- app.Run(ctx, args, func(string) string { return "" }, pw, io.Discard)
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run returned %v", err)
		}
	})
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("no start line: %v", err)
	}
	go io.Copy(io.Discard, pr)
	for _, f := range strings.Fields(line) {
		switch {
		case strings.HasPrefix(f, "http://") && strings.HasSuffix(f, "/metrics)"):
			metrics = strings.TrimSuffix(f, ")")
		case strings.HasPrefix(f, "http://") && base == "":
			base = f
		}
	}
	if base == "" || metrics == "" {
		t.Fatalf("start line without the public and metrics URLs: %q", line)
	}
	testenv.Eventually(t, "/healthz to answer 200", 10*time.Second, func() bool {
		return get(t, base+"/healthz") == http.StatusOK
	})
	return base, metrics
}

func get(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// scrape starts a node, sends it a few requests (a route that refuses,
// a path no route serves) and returns what its /metrics says once those
// requests show there.
func scrape(t *testing.T) []byte {
	t.Helper()
	base, metrics := startNode(t, nodeArgs()...)
	get(t, base+"/v1/feed") // 401: routed, rate-limited, not signed in
	get(t, base+"/no/such/path")
	return scrapeWhen(t, metrics, `route="GET /v1/feed"`, `route="unmatched"`)
}

// scrapeGateway starts a node and a gateway in front of it, sends a
// request through, and returns the gateway's /metrics.
func scrapeGateway(t *testing.T) []byte {
	t.Helper()
	upstream, _ := startNode(t, nodeArgs()...)
	base, metrics := startNode(t, gatewayArgs(upstream)...)
	get(t, base+"/v1/feed")
	return scrapeWhen(t, metrics, "photofeed_gateway_upstream_usable", "http_requests_total{")
}

// scrapeWhen reads a /metrics URL until it holds every one of want.
func scrapeWhen(t *testing.T, url string, want ...string) []byte {
	t.Helper()
	var body []byte
	testenv.Eventually(t, fmt.Sprintf("%q in %s", want, url), 10*time.Second, func() bool {
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		body, err = io.ReadAll(resp.Body)
		if err != nil {
			return false
		}
		for _, w := range want {
			if !bytes.Contains(body, []byte(w)) {
				return false
			}
		}
		return true
	})
	return body
}

// exposedNames are the series names in a text exposition: every family's
// name, and a histogram's or summary's _bucket, _sum and _count.
func exposedNames(exposition []byte) map[string]bool {
	names := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(exposition))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 4 || f[0] != "#" || f[1] != "TYPE" {
			continue
		}
		names[f[2]] = true
		switch f[3] {
		case "histogram":
			names[f[2]+"_bucket"] = true
			fallthrough
		case "summary":
			names[f[2]+"_sum"], names[f[2]+"_count"] = true, true
		}
	}
	return names
}

// exposedLabels are the label names each series name carries in a text
// exposition, with job and instance, which Prometheus adds as it scrapes.
func exposedLabels(exposition []byte) map[string][]string {
	labels := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(exposition))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, set, ok := strings.Cut(line, "{")
		if !ok {
			name, _, _ = strings.Cut(line, " ")
		}
		if labels[name] == nil {
			labels[name] = []string{"job", "instance"}
		}
		for _, m := range exposedLabel.FindAllStringSubmatch(set, -1) {
			if !slices.Contains(labels[name], m[1]) {
				labels[name] = append(labels[name], m[1])
			}
		}
	}
	return labels
}

var exposedLabel = regexp.MustCompile(`(?:^|,)([a-zA-Z_][a-zA-Z0-9_]*)="(?:[^"\\]|\\.)*"`)

// A running node's exposition, and a gateway's, pass promtool's lint:
// counters end in _total, units are base units in the name, every
// family has help.
func TestMetricsLint(t *testing.T) {
	t.Parallel()
	bin := promtool(t)
	for _, c := range []struct {
		name   string
		scrape func(*testing.T) []byte
		want   []string
	}{
		{"node", scrape, []string{"http_requests_total", "http_request_duration_seconds_bucket", "http_requests_in_flight",
			"photofeed_ratelimit_decisions_total", "photofeed_shed_total", "photofeed_worker_restarts_total", "go_goroutines"}},
		{"gateway", scrapeGateway, []string{"http_requests_total", "photofeed_gateway_upstream_usable",
			"photofeed_gateway_upstream_in_flight", "photofeed_gateway_upstream_streams"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			body := c.scrape(t)
			out := runPromtool(t, bin, ".", body, "check", "metrics")
			t.Logf("promtool check metrics: passed (%d bytes scraped) %s", len(body), strings.TrimSpace(out))
			names := exposedNames(body)
			for _, name := range c.want {
				if !names[name] {
					t.Errorf("%s not in the scrape", name)
				}
			}
			if t.Failed() {
				t.Logf("scrape:\n%s", body)
			}
		})
	}
}
