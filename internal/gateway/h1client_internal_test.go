package gateway

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// A body closed before its end (an answer the gateway retried elsewhere,
// a client that left) takes its connection with it; one read to its end
// gives the connection back for the next request.
func TestH1ClientReusesOnlyConnectionsReadToTheEnd(t *testing.T) {
	var conns atomic.Int64
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.URL.Path+strings.Repeat(".", 200<<10))
	}))
	up.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	up.Start()
	defer up.Close()
	c := &h1Client{addr: up.Listener.Addr().String(), dial: (&net.Dialer{}).DialContext, maxIdle: 4, idleFor: time.Minute}
	get := func(path string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, up.URL+path, nil)
		resp, err := c.roundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		if got := make([]byte, len(path)); func() error { _, err := io.ReadFull(resp.Body, got); return err }() != nil || string(got) != path {
			t.Fatalf("GET %s: answer starts %q", path, got)
		}
		return resp
	}
	get("/left").Body.Close()
	resp := get("/read")
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	get("/again").Body.Close()
	if n := conns.Load(); n != 2 {
		t.Fatalf("%d connections, want 2: the one left mid-body closed, the one read to the end reused", n)
	}
}
