package leanhttp

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// What a handler does to the header after WriteHeader is not sent, as
// with net/http, even while the head is still held back with the body:
// only the trailers it announced are read later.
func TestHeaderChangedAfterWriteHeaderIsNotSent(t *testing.T) {
	addr, _, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Kept", "before")
		w.Header().Set("Trailer", "X-Sum")
		w.WriteHeader(http.StatusOK)
		w.Header().Set("X-Kept", "after")
		w.Header().Set("Connection", "close")
		w.Header().Set("Content-Type", "application/evil")
		io.WriteString(w, "<p>body")
		w.Header().Set("X-Sum", "7")
	}))
	c := dial(t, addr)
	c.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	resp, body := c.read("GET")
	if got := resp.Header.Get("X-Kept"); got != "before" {
		t.Errorf("X-Kept %q, want the value at WriteHeader", got)
	}
	if resp.Close {
		t.Error("a Connection: close set after WriteHeader closed the connection")
	}
	if got := resp.Header.Get("Content-Type"); got != "text/html; charset=utf-8" {
		t.Errorf("Content-Type %q, want the sniffed one", got)
	}
	if body != "<p>body" || resp.Trailer.Get("X-Sum") != "7" {
		t.Errorf("body %q, trailers %v", body, resp.Trailer)
	}
	c.send("GET /again HTTP/1.1\r\nHost: h\r\n\r\n")
	c.read("GET")
}

// A client that leaves while its request is answered cancels the
// request's context, as net/http's background read does: a proxy stops
// waiting on an upstream for nobody.
func TestClientThatLeavesCancelsItsRequest(t *testing.T) {
	started, cancelled := make(chan struct{}), make(chan struct{})
	addr, _, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		select {
		case <-r.Context().Done():
			close(cancelled)
		case <-time.After(20 * time.Second):
		}
	}))
	c := dial(t, addr)
	c.send("GET /slow HTTP/1.1\r\nHost: h\r\n\r\n")
	<-started
	c.nc.Close()
	select {
	case <-cancelled:
	case <-time.After(10 * time.Second):
		t.Fatal("the request's context outlived its client")
	}
}

// A client that stays cancels nothing, and its pipelined request, read
// while the first was answered, is served next.
func TestPipelinedRequestWhileAnswering(t *testing.T) {
	release := make(chan struct{})
	addr, _, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			select {
			case <-release:
			case <-r.Context().Done():
				io.WriteString(w, "cancelled")
				return
			}
		}
		io.WriteString(w, r.URL.Path)
	}))
	c := dial(t, addr)
	c.send("GET /slow HTTP/1.1\r\nHost: h\r\n\r\n")
	time.AfterFunc(3*watchClientAfter, func() {
		c.send("GET /next HTTP/1.1\r\nHost: h\r\n\r\n")
		time.AfterFunc(3*watchClientAfter, func() { close(release) })
	})
	for _, want := range []string{"/slow", "/next"} {
		if _, b := c.read("GET"); b != want {
			t.Fatalf("got %q, want %q", b, want)
		}
	}
}

// A head sent a byte at a time gets ReadHeaderTimeout in all, from the
// connection's start, as with net/http: not one wait for its first byte,
// another for the rest and a third once handed to net/http.
func TestSlowHeadCutAtReadHeaderTimeout(t *testing.T) {
	const timeout = time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := New(&http.Server{Handler: which(), ReadHeaderTimeout: timeout, IdleTimeout: time.Hour})
	go s.Serve(ln)
	defer s.Shutdown(context.Background())
	c := dial(t, ln.Addr().String())
	began := time.Now()
	closed := make(chan time.Duration, 1)
	go func() {
		io.Copy(io.Discard, c.nc)
		closed <- time.Since(began)
	}()
	time.Sleep(timeout / 2) // the client is slow to begin
	for _, b := range []byte("GET / HTTP/1.1\r\nHost: h\r\nX-Slow: 1234567890123456789012345678901234567890\r\n") {
		select {
		case d := <-closed:
			if d > timeout*3/2 {
				t.Fatalf("closed after %s, want about %s", d, timeout)
			}
			return
		case <-time.After(50 * time.Millisecond):
		}
		if _, err := c.nc.Write([]byte{b}); err != nil {
			break
		}
	}
	select {
	case d := <-closed:
		if d > timeout*3/2 {
			t.Fatalf("closed after %s, want about %s", d, timeout)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a head trickling in was never cut")
	}
}

// An Accept naming an event stream in any case goes to net/http, whose
// background read notices a stream's client leaving.
func TestEventStreamInAnyCaseIsNotSimple(t *testing.T) {
	for _, accept := range []string{"text/event-stream", "Text/Event-Stream", "TEXT/EVENT-STREAM"} {
		if _, ok := parseSimple([]byte("GET / HTTP/1.1\r\nHost: h\r\nAccept: " + accept + "\r\n\r\n")); ok {
			t.Errorf("Accept: %s parsed as simple", accept)
		}
	}
}
