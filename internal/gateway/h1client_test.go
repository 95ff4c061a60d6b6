package gateway_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/photofeed/photofeed/internal/gateway"
	"github.com/photofeed/photofeed/internal/logging"
)

// oneShotUpstream answers one request per connection, announcing
// keep-alive, and then closes the connection: every pooled connection the
// gateway picks up again is already closed, as when an upstream's idle
// timeout ends it just before the gateway reuses it.
func oneShotUpstream(t *testing.T) (string, func() int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	conns := make(chan int, 1)
	conns <- 0
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns <- <-conns + 1
			go func() {
				defer c.Close()
				req, err := http.ReadRequest(bufio.NewReader(c))
				if err != nil {
					return
				}
				status := "200 OK"
				if req.URL.Path == "/readyz" {
					status = "204 No Content"
				}
				fmt.Fprintf(c, "HTTP/1.1 %s\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok", status)
			}()
		}
	}()
	return "http://" + ln.Addr().String(), func() int { n := <-conns; conns <- n; return n }
}

// A read sent on a pooled connection the upstream had closed is sent
// again on a new one: the upstream processed nothing, and the client sees
// no error.
func TestProxyResendsReadsOnConnectionsClosedWhileIdle(t *testing.T) {
	up, accepted := oneShotUpstream(t)
	g, srv := front(t, gateway.Config{Upstreams: []string{up}, Retry: gateway.RetryConfig{Attempts: -1}})
	for i := range 20 {
		resp, body := get(t, srv.URL+"/x")
		if resp.StatusCode != 200 || body != "ok" {
			t.Fatalf("request %d: %d %q", i, resp.StatusCode, body)
		}
	}
	if s := state(g, up); s.Ejected || s.Breaker != "closed" {
		t.Errorf("an upstream closing idle connections was taken for a failing one: %+v", s)
	}
	if n := accepted(); n < 20 {
		t.Errorf("%d connections for 20 one-shot answers", n)
	}
}

// A response body the client stops reading leaves its connection
// mid-answer: that connection must not carry the next request, whose
// answer would start with the rest of this one.
func TestProxyDropsConnectionsLeftMidBody(t *testing.T) {
	big := strings.Repeat("x", 1<<20)
	up := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/big" {
			io.WriteString(w, big)
			return
		}
		io.WriteString(w, "small:"+r.URL.Query().Get("n"))
	})
	_, srv := front(t, gateway.Config{Upstreams: urls(up), MaxIdleConnsPerHost: 1})
	for i := range 5 {
		resp, err := http.Get(srv.URL + "/big")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(resp.Body, make([]byte, 1000)); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close() // closes the client's connection mid-body
		for j := range 3 {
			n := fmt.Sprint(i*10 + j)
			resp, body := get(t, srv.URL+"/s?n="+n)
			if resp.StatusCode != 200 || body != "small:"+n {
				t.Fatalf("after a cut body: %d %.40q", resp.StatusCode, body)
			}
		}
	}
}

// HEAD answers have headers and no body, informational answers are
// skipped, and an upstream's Connection: close is honoured; requests
// after each on the same pool get their own answers.
func TestProxyReadAnswerShapes(t *testing.T) {
	up := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/hints":
			w.Header().Set("Link", "</style.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			io.WriteString(w, "after hints")
		case "/close":
			w.Header().Set("Connection", "close")
			io.WriteString(w, "closing")
		case "/chunked":
			for range 3 {
				io.WriteString(w, "chunk;")
				w.(http.Flusher).Flush()
			}
		default:
			w.Header().Set("Content-Length", "5")
			if r.Method != http.MethodHead {
				io.WriteString(w, "hello")
			}
		}
	})
	_, srv := front(t, gateway.Config{Upstreams: urls(up), MaxIdleConnsPerHost: 1})
	for range 3 {
		resp, err := http.Head(srv.URL + "/h")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.ContentLength != 5 {
			t.Fatalf("HEAD: %d, length %d", resp.StatusCode, resp.ContentLength)
		}
		for path, want := range map[string]string{"/hints": "after hints", "/close": "closing", "/chunked": "chunk;chunk;chunk;", "/g": "hello"} {
			if resp, body := get(t, srv.URL+path); resp.StatusCode != 200 || body != want {
				t.Fatalf("GET %s: %d %q, want %q", path, resp.StatusCode, body, want)
			}
		}
	}
}

// A client that names no User-Agent reaches the upstream without one,
// not with the proxy's.
func TestProxyAddsNoUserAgent(t *testing.T) {
	seen := make(chan []string, 1)
	up := newBackend(t, func(w http.ResponseWriter, r *http.Request) { seen <- r.Header.Values("User-Agent") })
	_, srv := front(t, gateway.Config{Upstreams: urls(up)})
	for _, ua := range []string{"", "photofeed-test/1"} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/x", nil)
		req.Header.Set("User-Agent", ua) // "" makes Go's client send none
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		got := <-seen
		if ua == "" && len(got) != 0 || ua != "" && (len(got) != 1 || got[0] != ua) {
			t.Errorf("client sent %q, upstream saw %q", ua, got)
		}
	}
}

// The id a request is logged under in front of the proxy is the one its
// upstream gets and the client is given, so that one id finds the
// request in every node's log.
func TestProxyPassesTheLoggedRequestID(t *testing.T) {
	seen := make(chan string, 1)
	up := newBackend(t, func(w http.ResponseWriter, r *http.Request) { seen <- r.Header.Get("X-Request-Id") })
	g, err := gateway.New(gateway.Config{Upstreams: urls(up)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.ServeHTTP(w, r.WithContext(logging.WithRequestID(r.Context(), "logged-id-1")))
	}))
	t.Cleanup(srv.Close)
	resp, _ := get(t, srv.URL+"/x", "X-Request-Id", "client-id")
	if got := <-seen; got != "logged-id-1" || resp.Header.Get("X-Request-Id") != "logged-id-1" {
		t.Fatalf("upstream got %q, client %q; logged as logged-id-1", got, resp.Header.Get("X-Request-Id"))
	}
}

// An upstream that sends more than the length it declared leaves bytes on
// the connection: they must not be read as the next request's answer.
func TestProxyDropsConnectionsWithBytesLeftOver(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					if _, err := http.ReadRequest(br); err != nil {
						return
					}
					io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nwrong")
				}
			}()
		}
	}()
	up := "http://" + ln.Addr().String()
	_, srv := front(t, gateway.Config{Upstreams: []string{up}, Retry: gateway.RetryConfig{Attempts: -1}})
	for i := range 5 {
		if resp, body := get(t, srv.URL+"/x"); resp.StatusCode != 200 || body != "ok" {
			t.Fatalf("request %d: %d %q", i, resp.StatusCode, body)
		}
	}
}

// A read the upstream drops unanswered is sent again once, on a new
// connection, not once on every idle connection in the pool.
func TestProxyResendsADroppedReadOnce(t *testing.T) {
	var aborted atomic.Int64
	up := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/drop" {
			aborted.Add(1)
			panic(http.ErrAbortHandler)
		}
		io.WriteString(w, "ok")
	})
	_, srv := front(t, gateway.Config{Upstreams: urls(up), Retry: gateway.RetryConfig{Attempts: -1},
		Outlier: gateway.OutlierConfig{Consecutive: -1}})
	var wg sync.WaitGroup
	for range 8 { // fills the pool with idle connections
		wg.Go(func() { get(t, srv.URL+"/x") })
	}
	wg.Wait()
	if resp, _ := get(t, srv.URL+"/drop"); resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("a dropped read: %d, want 502", resp.StatusCode)
	}
	if n := aborted.Load(); n > 2 {
		t.Fatalf("the upstream got the dropped read %d times, want at most 2", n)
	}
}
