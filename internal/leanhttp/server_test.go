package leanhttp

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// start serves h on a loopback port through the lean loop and returns
// its address; the server is shut down when the test ends.
func start(t testing.TB, h http.Handler) (string, *Server, *http.Server) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute, WriteTimeout: time.Minute}
	s := New(srv)
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve returned %v", err)
		}
	})
	return ln.Addr().String(), s, srv
}

// which answers with the path that served the request, its method and body.
func which() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path := "net/http"
		if _, ok := w.(*response); ok {
			path = "lean"
		}
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s %s %s", path, r.Method, r.URL.RequestURI(), b)
	})
}

type rawConn struct {
	t  *testing.T
	nc net.Conn
	br *bufio.Reader
}

func dial(t *testing.T, addr string) *rawConn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	return &rawConn{t: t, nc: nc, br: bufio.NewReader(nc)}
}

func (c *rawConn) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.nc, s); err != nil {
		c.t.Fatal(err)
	}
}

func (c *rawConn) read(method string) (*http.Response, string) {
	c.t.Helper()
	resp, err := http.ReadResponse(c.br, &http.Request{Method: method})
	if err != nil {
		c.t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp, string(b)
}

// Simple GETs are served on the lean loop; the first request that is not
// simple moves the connection to net/http, which reads it whole (the
// bytes the loop had read included) and every request after it.
func TestHandsOffTheFirstRequestThatIsNotSimple(t *testing.T) {
	addr, _, _ := start(t, which())
	c := dial(t, addr)
	c.send("GET /a?x=1 HTTP/1.1\r\nHost: h\r\n\r\n")
	if _, b := c.read("GET"); b != "lean GET /a?x=1 " {
		t.Fatalf("first GET: %q", b)
	}
	c.send("GET /b HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\n\r\n")
	if _, b := c.read("GET"); b != "lean GET /b " {
		t.Fatalf("second GET: %q", b)
	}
	// Pipelined: a POST with a body behind a GET, in one write.
	c.send("GET /c HTTP/1.1\r\nHost: h\r\n\r\nPOST /d HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello" +
		"GET /e HTTP/1.1\r\nHost: h\r\n\r\n")
	for _, want := range []string{"lean GET /c ", "net/http POST /d hello", "net/http GET /e "} {
		if _, b := c.read("GET"); b != want {
			t.Fatalf("got %q, want %q", b, want)
		}
	}
}

// Requests two parsers could read differently never reach the lean
// parser's handler: net/http answers them as it always has.
func TestAmbiguousRequestsGoToNetHTTP(t *testing.T) {
	addr, _, _ := start(t, which())
	began := time.Now()
	defer func() {
		// None waits for the lean loop's ReadHeaderTimeout (5 s) first.
		if d := time.Since(began); d > 3*time.Second {
			t.Errorf("took %s", d)
		}
	}()
	for name, req := range map[string]string{
		"length and chunks":  "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"two hosts":          "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
		"folded header":      "GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n 2\r\n\r\n",
		"bare LF":            "GET / HTTP/1.1\nHost: h\n\n",
		"space before colon": "GET / HTTP/1.1\r\nHost: h\r\nX-A : 1\r\n\r\n",
		"no host":            "GET / HTTP/1.1\r\n\r\n",
	} {
		c := dial(t, addr)
		c.send(req)
		resp, b := c.read("GET")
		if strings.HasPrefix(b, "lean") {
			t.Errorf("%s: served on the lean loop: %q", name, b)
		}
		// What net/http answers directly, for comparison.
		direct := httpDirect(t, req)
		if resp.StatusCode != direct {
			t.Errorf("%s: %d, net/http alone answers %d", name, resp.StatusCode, direct)
		}
	}
}

// httpDirect is net/http's own status for raw, served without the loop.
func httpDirect(t *testing.T, raw string) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: which()}
	go srv.Serve(ln)
	defer srv.Close()
	c := dial(t, ln.Addr().String())
	c.send(raw)
	resp, _ := c.read("GET")
	return resp.StatusCode
}

// The lean writer frames answers as net/http would: a declared length, a
// short body measured, a long one or a flushed one chunked (with its
// trailers), none for HEAD, 204 and 304.
func TestFraming(t *testing.T) {
	long := strings.Repeat("x", 3*holdBack)
	addr, _, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/declared":
			w.Header().Set("Content-Length", "5")
			io.WriteString(w, "hello")
		case "/short":
			io.WriteString(w, "<html>hi")
		case "/long":
			io.WriteString(w, long)
		case "/flushed":
			w.Header().Set("Content-Type", "text/plain")
			w.Header().Set("Trailer", "X-Sum")
			io.WriteString(w, "a")
			http.NewResponseController(w).Flush()
			io.WriteString(w, "b")
			w.Header().Set("X-Sum", "2")
		case "/nocontent":
			w.WriteHeader(http.StatusNoContent)
		case "/split":
			w.Header().Set("X-Evil", "a\r\nSet-Cookie: x=1")
		case "/close":
			w.Header().Set("Connection", "close")
		}
	}))
	c := dial(t, addr)
	check := func(method, path string, length int64, chunked bool, body string) *http.Response {
		t.Helper()
		c.send(method + " " + path + " HTTP/1.1\r\nHost: h\r\n\r\n")
		resp, b := c.read(method)
		if resp.ContentLength != length || (len(resp.TransferEncoding) > 0) != chunked || b != body {
			t.Errorf("%s %s: length %d, chunked %v, body %.20q", method, path, resp.ContentLength, resp.TransferEncoding, b)
		}
		if resp.Header.Get("Date") == "" {
			t.Errorf("%s %s: no Date", method, path)
		}
		return resp
	}
	check("GET", "/declared", 5, false, "hello")
	if r := check("GET", "/short", 8, false, "<html>hi"); r.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("sniffed %q", r.Header.Get("Content-Type"))
	}
	check("GET", "/long", -1, true, long)
	check("HEAD", "/long", -1, false, "") // as net/http: the head went before the body ended
	if r := check("GET", "/flushed", -1, true, "ab"); r.Trailer.Get("X-Sum") != "2" {
		t.Errorf("trailers %v", r.Trailer)
	}
	check("GET", "/nocontent", 0, false, "")
	if r := check("GET", "/split", 0, false, ""); r.Header.Get("Set-Cookie") != "" {
		t.Errorf("a header value split the answer: %v", r.Header)
	}
	check("GET", "/close", 0, false, "")
	if _, err := c.br.ReadByte(); err != io.EOF {
		t.Errorf("after Connection: close, read %v, want EOF", err)
	}
}

// A handler that aborts leaves a connection closed, never reused.
func TestAbortClosesTheConnection(t *testing.T) {
	addr, _, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "10")
		io.WriteString(w, "part")
		panic(http.ErrAbortHandler)
	}))
	c := dial(t, addr)
	c.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	resp, err := http.ReadResponse(c.br, nil)
	if err == nil {
		_, err = io.ReadAll(resp.Body)
	}
	if err == nil {
		t.Fatal("an aborted answer read whole")
	}
}

// Shutdown closes idle connections at once, lets a request in flight
// finish, runs net/http's shutdown hooks, and ends Serve.
func TestShutdownDrains(t *testing.T) {
	started, release, hooked := make(chan struct{}), make(chan struct{}), make(chan struct{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(started)
			<-release
		}
		io.WriteString(w, "done")
	})}
	srv.RegisterOnShutdown(func() { close(hooked) }) // a second run would panic
	s := New(srv)
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	idle, busy := dial(t, ln.Addr().String()), dial(t, ln.Addr().String())
	idle.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	idle.read("GET")
	busy.send("GET /slow HTTP/1.1\r\nHost: h\r\n\r\n")
	// In its handler: the idle connection's serving goroutine is then
	// back waiting for a request (it answered before), the busy one's is not.
	<-started
	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(context.Background()) }()
	if _, err := idle.br.ReadByte(); err != io.EOF {
		t.Errorf("idle connection: read %v, want EOF", err)
	}
	close(release)
	if resp, b := busy.read("GET"); b != "done" || !resp.Close {
		t.Errorf("request in flight answered %q, Connection: close %v", b, resp.Close)
	}
	if err := <-shut; err != nil {
		t.Errorf("shutdown: %v", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("Serve returned %v", err)
	}
	// net/http runs the hooks on their own goroutines, without waiting.
	select {
	case <-hooked:
	case <-time.After(5 * time.Second):
		t.Error("the shutdown hooks never ran")
	}
}

// A connection that never sends a request is closed after
// ReadHeaderTimeout, as net/http closes it, not kept for IdleTimeout.
func TestSilentConnectionClosedAfterReadHeaderTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := New(&http.Server{Handler: which(), ReadHeaderTimeout: 100 * time.Millisecond, IdleTimeout: time.Hour})
	go s.Serve(ln)
	defer s.Shutdown(context.Background())
	c := dial(t, ln.Addr().String())
	start := time.Now()
	if _, err := c.br.ReadByte(); err != io.EOF {
		t.Fatalf("read %v, want EOF", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("closed after %s", d)
	}
}

// A handler that declared a length and then wrote past it sent fewer
// bytes than declared (the overshooting write is refused): the
// connection is closed, as net/http closes it, or the client would read
// the next answer's head as the rest of this body.
func TestRefusedOvershootClosesTheConnection(t *testing.T) {
	addr, _, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/bad" {
			w.Header().Set("Content-Length", "5")
			io.WriteString(w, "ab")
			io.WriteString(w, "this is too long....")
			return
		}
		io.WriteString(w, "second answer")
	}))
	c := dial(t, addr)
	c.send("GET /bad HTTP/1.1\r\nHost: h\r\n\r\nGET /next HTTP/1.1\r\nHost: h\r\n\r\n")
	all, err := io.ReadAll(c.br)
	if err != nil {
		t.Fatalf("the connection was not closed: %v after %q", err, all)
	}
	if n := strings.Count(string(all), "HTTP/1.1 "); n != 1 || strings.Contains(string(all), "second answer") {
		t.Fatalf("after a body cut short the connection served on: %q", all)
	}
}
