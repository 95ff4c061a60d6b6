package gateway_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/gateway"
)

// backend is an upstream for tests: it counts what it serves and answers
// /readyz as told.
type backend struct {
	*httptest.Server
	hits     atomic.Int64 // requests other than /readyz
	inflight atomic.Int64
	notReady atomic.Bool
}

func newBackend(t *testing.T, h http.HandlerFunc) *backend {
	t.Helper()
	b := &backend{}
	b.Server = httptest.NewServer(b.wrap(h))
	t.Cleanup(b.Close)
	return b
}

func (b *backend) wrap(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/readyz" {
			if b.notReady.Load() {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
			return
		}
		b.hits.Add(1)
		b.inflight.Add(1)
		defer b.inflight.Add(-1)
		if h == nil {
			io.WriteString(w, "ok")
			return
		}
		h(w, r)
	})
}

func urls(bs ...*backend) []string {
	var out []string
	for _, b := range bs {
		out = append(out, b.URL)
	}
	return out
}

// front starts cfg's gateway behind a real server.
func front(t *testing.T, cfg gateway.Config) (*gateway.Gateway, *httptest.Server) {
	t.Helper()
	g, err := gateway.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	return g, srv
}

func get(t *testing.T, url string, header ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// clock is a fake clock the tests move by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// hold is a handler that keeps requests open until released.
type hold struct{ release chan struct{} }

func newHold() *hold { return &hold{release: make(chan struct{})} }

func (h *hold) handler(w http.ResponseWriter, r *http.Request) {
	select {
	case <-h.release:
	case <-r.Context().Done():
	}
	io.WriteString(w, "held")
}

func state(g *gateway.Gateway, url string) gateway.UpstreamState {
	for _, s := range g.Upstreams() {
		if s.URL == url {
			return s
		}
	}
	return gateway.UpstreamState{}
}

func stringsReader(s string) io.Reader { return strings.NewReader(s) }
