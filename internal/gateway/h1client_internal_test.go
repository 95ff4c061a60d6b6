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

// Bytes an upstream sends after the end of an answer (more than it
// declared, arriving late) are never read as the next request's answer:
// a pooled connection with anything waiting on it is not reused.
func TestH1ClientDropsConnectionWithBytesPastTheAnswer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	strayIn := make(chan struct{})
	go func() {
		for first := true; ; first = false {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			defer nc.Close()
			buf := make([]byte, 4096)
			if _, err := nc.Read(buf); err != nil {
				return
			}
			if !first {
				io.WriteString(nc, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ngood")
				continue
			}
			io.WriteString(nc, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			// Sent once the first answer was read and its connection
			// pooled: on loopback a write that returned has arrived.
			<-strayIn
			io.WriteString(nc, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil")
			strayIn <- struct{}{}
		}
	}()
	c := &h1Client{addr: ln.Addr().String(), dial: (&net.Dialer{}).DialContext, maxIdle: 4, idleFor: time.Minute}
	get := func() string {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, "http://"+ln.Addr().String()+"/", nil)
		resp, err := c.roundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if b := get(); b != "ok" {
		t.Fatalf("first answer %q", b)
	}
	strayIn <- struct{}{}
	<-strayIn
	if b := get(); b != "good" {
		t.Fatalf("second answer %q: the stray bytes were read as it", b)
	}
}
