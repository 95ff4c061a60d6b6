package gateway_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/gateway"
	"github.com/photofeed/photofeed/internal/testenv"
)

func TestProxyHeaders(t *testing.T) {
	seen := make(chan http.Header, 1)
	var seenURL, seenHost string
	up := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		seenURL, seenHost = r.URL.String(), r.Host
		seen <- r.Header.Clone()
		w.Header().Set("Connection", "X-Private")
		w.Header().Set("X-Private", "hop")
		w.Header().Set("Keep-Alive", "timeout=5")
		w.Header().Set("X-End", "to-end")
		io.WriteString(w, "hello")
	})
	_, srv := front(t, gateway.Config{Upstreams: urls(up)})

	tests := []struct {
		name   string
		header []string
		wantID string // "" accepts any new id
	}{
		{"a valid id passes on", []string{"X-Request-Id", "client-id-1"}, "client-id-1"},
		{"none gets one", nil, ""},
		{"an invalid id is replaced", []string{"X-Request-Id", "bad id\twith tab"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := append([]string{"Connection", "X-Hop", "X-Hop", "dropped", "X-Keep", "kept",
				"Forwarded", "for=192.0.2.1", "X-Forwarded-For", "192.0.2.2", "X-Real-Ip", "192.0.2.3"}, tt.header...)
			resp, body := get(t, srv.URL+"/v1/feed?limit=20&cursor=a%2Fb", h...)
			up := <-seen
			if resp.StatusCode != 200 || body != "hello" {
				t.Fatalf("%d %q", resp.StatusCode, body)
			}
			id := up.Get("X-Request-Id")
			if id == "" || resp.Header.Get("X-Request-Id") != id || (tt.wantID != "" && id != tt.wantID) || strings.ContainsAny(id, " \t") {
				t.Errorf("request id: upstream saw %q, client got %q, want %q", id, resp.Header.Get("X-Request-Id"), tt.wantID)
			}
			if up.Get("X-Hop") != "" || up.Get("Connection") != "" || up.Get("X-Keep") != "kept" {
				t.Errorf("hop-by-hop headers reached the upstream: %v", up)
			}
			host := strings.TrimPrefix(srv.URL, "http://")
			want := []string{`for=127.0.0.1;host="` + host + `";proto=http`}
			if got := up.Values("Forwarded"); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("Forwarded %q, want %q: what the client sent is replaced", got, want)
			}
			if up.Get("X-Forwarded-For") != "" || up.Get("X-Real-Ip") != "" {
				t.Errorf("the client's own address headers reached the upstream: %v", up)
			}
			if seenURL != "/v1/feed?limit=20&cursor=a%2Fb" || seenHost != host {
				t.Errorf("upstream saw %s for host %s", seenURL, seenHost)
			}
			if resp.Header.Get("X-Private") != "" || resp.Header.Get("Keep-Alive") != "" || resp.Header.Get("X-End") != "to-end" {
				t.Errorf("response headers %v", resp.Header)
			}
		})
	}
}

// Forwarded names the client as the gateway's ClientAddr resolved it (a
// load balancer's header, say), not the connection's peer, and not what
// the client wrote.
func TestProxyForwardsResolvedClient(t *testing.T) {
	seen := make(chan http.Header, 1)
	up := newBackend(t, func(w http.ResponseWriter, r *http.Request) { seen <- r.Header.Clone() })
	for _, tt := range []struct{ addr, want string }{
		{"203.0.113.7", "for=203.0.113.7"},
		{"2001:db8::1", `for="[2001:db8::1]"`},
	} {
		t.Run(tt.addr, func(t *testing.T) {
			_, srv := front(t, gateway.Config{Upstreams: urls(up),
				ClientAddr: func(*http.Request) string { return tt.addr }})
			get(t, srv.URL+"/", "Forwarded", "for=6.6.6.6", "X-Forwarded-For", "6.6.6.6")
			h := <-seen
			if got := h.Values("Forwarded"); len(got) != 1 || !strings.HasPrefix(got[0], tt.want+";") {
				t.Errorf("Forwarded %q, want one element starting %s", got, tt.want)
			}
			if h.Get("X-Forwarded-For") != "" {
				t.Errorf("X-Forwarded-For %q reached the upstream", h.Get("X-Forwarded-For"))
			}
		})
	}
}

// The upstream reads the start of an upload while the client has not sent
// the rest: the gateway streams bodies rather than buffering them.
func TestProxyStreamsUploads(t *testing.T) {
	gotFirst := make(chan struct{})
	up := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		first := make([]byte, 5)
		if _, err := io.ReadFull(r.Body, first); err != nil {
			t.Error(err)
			return
		}
		close(gotFirst)
		n, _ := io.Copy(io.Discard, r.Body)
		fmt.Fprintf(w, "%s+%d", first, n)
	})
	_, srv := front(t, gateway.Config{Upstreams: urls(up)})

	const rest = 8 << 20
	tests := []struct {
		name   string
		key    string
		length int64
	}{
		{"unkeyed", "", -1},
		{"keyed, length unknown", `"k1"`, -1},
		{"keyed, over the replay limit", `"k2"`, 5 + rest}, // a retryable request too big to keep
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gotFirst = make(chan struct{})
			pr, pw := io.Pipe()
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/upload", pr)
			req.ContentLength = tt.length
			if tt.key != "" {
				req.Header.Set("Idempotency-Key", tt.key)
			}
			done := make(chan string)
			go func() {
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					done <- ""
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				done <- string(b)
			}()
			pw.Write([]byte("first"))
			select {
			case <-gotFirst:
			case <-time.After(10 * time.Second):
				t.Fatal("the upstream never saw the start of the body while the client was still sending")
			}
			io.Copy(pw, io.LimitReader(zeros{}, rest))
			pw.Close()
			if got := <-done; got != fmt.Sprintf("first+%d", rest) {
				t.Fatalf("upstream answered %q", got)
			}
		})
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// The client reads the start of a response the upstream has not finished:
// event streams and long downloads pass through as they come.
func TestProxyStreamsResponses(t *testing.T) {
	more := make(chan struct{})
	up := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: one\n\n")
		w.(http.Flusher).Flush()
		<-more
		io.WriteString(w, "data: two\n\n")
	})
	_, srv := front(t, gateway.Config{Upstreams: urls(up)})
	resp, err := http.Get(srv.URL + "/v2/feed/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	first := make([]byte, len("data: one\n\n"))
	if _, err := io.ReadFull(resp.Body, first); err != nil || string(first) != "data: one\n\n" {
		t.Fatalf("first event %q, %v", first, err)
	}
	close(more)
	rest, _ := io.ReadAll(resp.Body)
	if string(rest) != "data: two\n\n" {
		t.Fatalf("rest %q", rest)
	}
}

// Concurrent requests reuse pooled keep-alive connections: with Go's
// default of 2 idle connections per host, most of these would open one.
func TestProxyReusesConnections(t *testing.T) {
	var conns atomic.Int64
	up := &backend{}
	up.Server = httptest.NewUnstartedServer(up.wrap(nil))
	up.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	up.Start()
	t.Cleanup(up.Close)
	_, srv := front(t, gateway.Config{Upstreams: urls(up)})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	const parallel, rounds = 16, 20
	for range rounds {
		var wg sync.WaitGroup
		for range parallel {
			wg.Go(func() {
				resp, err := client.Get(srv.URL + "/x")
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			})
		}
		wg.Wait()
	}
	if n := conns.Load(); n > 2*parallel {
		t.Fatalf("%d connections to the upstream for %d requests %d at a time", n, parallel*rounds, parallel)
	}
}

func TestNoUpstreamAnswers503(t *testing.T) {
	h := newHold()
	up := newBackend(t, h.handler)
	g, srv := front(t, gateway.Config{Upstreams: urls(up), MaxInFlight: 1})
	go http.Get(srv.URL + "/held")
	testenv.Eventually(t, "a request in flight", 5*time.Second, func() bool { return up.inflight.Load() == 1 })

	check := func(what string) {
		t.Helper()
		resp, body := get(t, srv.URL+"/x")
		var p struct {
			Type   string
			Status int
		}
		json.Unmarshal([]byte(body), &p)
		if resp.StatusCode != 503 || resp.Header.Get("Content-Type") != "application/problem+json" ||
			resp.Header.Get("Retry-After") == "" || p.Status != 503 || p.Type != "/problems/unavailable" {
			t.Fatalf("%s: %d %v %s", what, resp.StatusCode, resp.Header, body)
		}
	}
	check("bulkhead full")
	close(h.release)
	testenv.Eventually(t, "the held request to finish", 5*time.Second, func() bool { return up.inflight.Load() == 0 })
	if resp, _ := get(t, srv.URL+"/x"); resp.StatusCode != 200 {
		t.Fatalf("after the bulkhead emptied: %d", resp.StatusCode)
	}
	if err := g.Drain(t.Context(), up.URL); err != nil {
		t.Fatal(err)
	}
	check("only upstream drained")
}

func TestUnreachableUpstreamIs502(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	_, srv := front(t, gateway.Config{Upstreams: []string{dead.URL}})
	resp, body := get(t, srv.URL+"/x")
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(body, "unavailable") {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
}

// Each route group waits for its own time; a slow answer on a route that
// does not wait for it is a 504.
func TestRouteTimeouts(t *testing.T) {
	up := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		select { // the slowness under test
		case <-time.After(300 * time.Millisecond):
			io.WriteString(w, "slow")
		case <-r.Context().Done():
		}
	})
	_, srv := front(t, gateway.Config{Upstreams: urls(up), Timeout: 50 * time.Millisecond,
		Routes: []gateway.Route{{Prefix: "/v2/export", Timeout: 5 * time.Second}}})
	if resp, body := get(t, srv.URL+"/v2/export/all"); resp.StatusCode != 200 || body != "slow" {
		t.Errorf("patient route: %d %q", resp.StatusCode, body)
	}
	if resp, _ := get(t, srv.URL+"/v1/feed"); resp.StatusCode != http.StatusGatewayTimeout {
		t.Errorf("impatient route: %d", resp.StatusCode)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, cfg := range []gateway.Config{
		{},
		{Upstreams: []string{"127.0.0.1:80"}},
		{Upstreams: []string{"http://127.0.0.1:1"}, Policy: "random"},
		{Upstreams: []string{"http://127.0.0.1:1"}, Routes: []gateway.Route{{Prefix: "/x", Policy: "nope"}}},
	} {
		if _, err := gateway.New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}

var _ = bytes.NewReader

// An upstream that dies halfway through a body of unknown length must not
// look to the client like one that finished: the client's request or its
// read fails (whether the head had left the gateway's buffer by then or
// not), and never ends cleanly.
func TestProxyCutBodyIsNotComplete(t *testing.T) {
	for _, size := range []int{10, 64 << 10} { // within the gateway's write buffer, and past it
		up := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, strings.Repeat("h", size))
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler) // the connection closes without the final chunk
		})
		_, srv := front(t, gateway.Config{Upstreams: urls(up)})
		resp, err := http.Get(srv.URL + "/x")
		if err != nil {
			continue
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil {
			t.Fatalf("read %d bytes to a clean end from an upstream that died", len(b))
		}
	}
}

func TestProxyTrailers(t *testing.T) {
	up := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Checksum")
		io.WriteString(w, "body")
		w.Header().Set("X-Checksum", "abc")
	})
	_, srv := front(t, gateway.Config{Upstreams: urls(up)})
	resp, err := http.Get(srv.URL + "/x")
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(resp.Body)
	resp.Body.Close()
	if got := resp.Trailer.Get("X-Checksum"); got != "abc" {
		t.Fatalf("trailer %q", got)
	}
}

// An event stream outlives the gateway server's timeouts: WriteTimeout
// bounds ordinary answers, and a stream's every piece extends it; an
// expired ReadTimeout cancels the request's context, which would cut the
// upstream body. So a live feed is not cut every few minutes through the
// gateway.
func TestProxyStreamOutlivesServerTimeouts(t *testing.T) {
	const bound = 150 * time.Millisecond
	writeOnly := func(s *http.Server) { s.WriteTimeout = bound }
	asServed := func(s *http.Server) { // serve.go's bounds, shortened
		s.ReadHeaderTimeout, s.ReadTimeout, s.WriteTimeout = bound, bound, bound
	}
	tests := []struct {
		name   string
		method string
		set    func(*http.Server)
	}{
		{"write timeout", http.MethodGet, writeOnly},
		{"read and write timeouts", http.MethodGet, asServed},
		{"a request with a body, read and write timeouts", http.MethodPost, asServed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			more := make(chan struct{}, 3) // a cut stream's handler may be gone
			up := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				for _, ev := range []string{"one", "two", "three"} {
					io.WriteString(w, "data: "+ev+"\n\n")
					w.(http.Flusher).Flush()
					<-more
				}
			})
			t.Cleanup(func() { close(more) }) // before the upstream closes: its handler may be waiting
			g, err := gateway.New(gateway.Config{Upstreams: urls(up)})
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewUnstartedServer(g)
			tt.set(srv.Config)
			srv.Start()
			t.Cleanup(srv.Close)
			req, _ := http.NewRequest(tt.method, srv.URL+"/v2/feed/stream", strings.NewReader("{}"))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			for i, ev := range []string{"one", "two", "three"} {
				want := "data: " + ev + "\n\n"
				got := make([]byte, len(want))
				if _, err := io.ReadFull(resp.Body, got); err != nil || string(got) != want {
					t.Fatalf("event %d: %q, %v", i, got, err)
				}
				// The stream stays idle past the server's bounds: the
				// condition under test is time passing, not work to wait for.
				time.Sleep(2 * bound)
				more <- struct{}{}
			}
		})
	}
}

// Clients leaving their streams (closed tabs, lost networks) say nothing
// of the upstream: they must not eject it or open its breaker.
func TestProxyClientsLeavingStreamsAreNotFailures(t *testing.T) {
	up := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: one\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	const leavers = 5
	g, srv := front(t, gateway.Config{Upstreams: urls(up),
		Outlier: gateway.OutlierConfig{Consecutive: 2},
		Breaker: gateway.BreakerConfig{MinRequests: 2}})
	for i := range leavers {
		ctx, leave := context.WithCancel(t.Context())
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/v2/feed/stream", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		first := make([]byte, len("data: one\n\n"))
		if _, err := io.ReadFull(resp.Body, first); err != nil || string(first) != "data: one\n\n" {
			t.Fatalf("client %d: %d %q, %v; upstream %+v", i, resp.StatusCode, first, err, state(g, up.URL))
		}
		leave()
		resp.Body.Close()
		testenv.Eventually(t, "the gateway to let go of the stream", 5*time.Second,
			func() bool { return state(g, up.URL).InFlight == 0 })
	}
	if s := state(g, up.URL); s.Ejected || s.Breaker != "closed" {
		t.Fatalf("after %d clients left their streams: %+v", leavers, s)
	}
}

// streamThenShutdown opens an event stream through a gateway (built with
// shutdownEvent) to an upstream that sends sent and then holds it open,
// shuts the gateway's server down with the stream open, and returns what
// the client read after sent, and how.
func streamThenShutdown(t *testing.T, sent string, shutdownEvent []byte) (g *gateway.Gateway, upstream, rest string, err error) {
	t.Helper()
	up := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, sent)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	g, err = gateway.New(gateway.Config{Upstreams: urls(up), ShutdownEvent: shutdownEvent})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(g)
	srv.Config.RegisterOnShutdown(g.Shutdown)
	srv.Start()
	t.Cleanup(srv.Close)
	resp, err := http.Get(srv.URL + "/v2/feed/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	first := make([]byte, len(sent))
	if _, err := io.ReadFull(resp.Body, first); err != nil {
		t.Fatalf("what the upstream sent: %q, %v", first, err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	if err := srv.Config.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown with a stream open: %v", err)
	}
	b, err := io.ReadAll(resp.Body)
	return g, up.URL, string(b), err
}

// An event stream never ends by itself, and http.Server.Shutdown waits
// for it: registered on the server's shutdown, the gateway ends its
// streams cleanly (their clients reconnect), so the server stops within
// its grace instead of waiting it out.
func TestShutdownEndsStreams(t *testing.T) {
	g, up, rest, err := streamThenShutdown(t, "data: one\n\n", nil)
	if err != nil {
		t.Fatalf("the stream did not end cleanly: %q, %v", rest, err)
	}
	if s := state(g, up); s.InFlight != 0 || s.Ejected || s.Breaker != "closed" {
		t.Fatalf("after the shutdown: %+v", s)
	}
}

// With a ShutdownEvent, a stream cut by shutdown ends with it, so that
// its client hears why and reconnects at once; never in the middle of an
// event, which it would corrupt.
func TestShutdownEventEndsStreams(t *testing.T) {
	end := "event: reconnect\ndata: {\"reason\":\"shutdown\"}\n\n"
	for _, tt := range []struct{ name, sent, want string }{
		{"between events", "data: one\n\n", end},
		{"in an event", "data: one\n\ndata: par", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, rest, err := streamThenShutdown(t, tt.sent, []byte(end)); err != nil || rest != tt.want {
				t.Fatalf("after shutdown the stream ended with %q (%v), want %q", rest, err, tt.want)
			}
		})
	}
}

// An upstream that refuses an upload after its first bytes (no login,
// too big) is answered to the client at once, though the client has not
// sent the rest of its body: the answer must not wait on the body the
// gateway is still passing on.
func TestProxyAnswersBeforeTheBodyIsSent(t *testing.T) {
	up := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		// What the client sent so far: the gateway now waits on it for more.
		io.ReadFull(r.Body, make([]byte, 1<<10))
		http.Error(w, "log in first", http.StatusUnauthorized)
	})
	_, srv := front(t, gateway.Config{Upstreams: urls(up)})
	for _, key := range []string{"", `"k"`} {
		pr, pw := io.Pipe()
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/upload", pr)
		req.ContentLength = 20 << 20
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		answered := make(chan int, 1)
		go func() {
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				answered <- 0
				return
			}
			resp.Body.Close()
			answered <- resp.StatusCode
		}()
		go io.Copy(pw, io.LimitReader(zeros{}, 1<<10)) // then nothing until the answer
		select {
		case code := <-answered:
			pw.CloseWithError(io.ErrUnexpectedEOF)
			if code != http.StatusUnauthorized {
				t.Fatalf("Idempotency-Key %q: answered %d, want 401", key, code)
			}
		case <-time.After(5 * time.Second):
			pw.CloseWithError(io.ErrUnexpectedEOF)
			t.Fatalf("Idempotency-Key %q: no answer while the client held the rest of its body", key)
		}
	}
}

// A streamed request body the upstream never read (it refused the
// connection, or answered first) ends the connection after the answer,
// which says so: the rest of the body is not read, and Go's HTTP/1 server
// with full duplex on would otherwise panic reading the next request
// (golang/go#68560) and reset the connection. A body the upstream read
// whole keeps the connection for the next request.
func TestUnreadStreamedBodyEndsTheConnectionCleanly(t *testing.T) {
	down := newBackend(t, func(w http.ResponseWriter, r *http.Request) {})
	gone := down.URL
	down.Close() // refuses every connection from now on
	up := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Write(b)
	})
	// post sends times POSTs on one connection and returns the status
	// codes, whether the last answer said Connection: close, and how the
	// connection then ended.
	post := func(upstream string, times int) (codes []int, closed bool, end error) {
		t.Helper()
		_, srv := front(t, gateway.Config{Upstreams: []string{upstream}})
		nc, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		nc.SetDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(nc)
		for i := range times {
			io.WriteString(nc, "POST /v1/posts HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("request %d on the connection to %s: %v", i+1, upstream, err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			codes, closed = append(codes, resp.StatusCode), resp.Close
		}
		if closed {
			_, end = io.ReadAll(br)
		}
		return codes, closed, end
	}
	if codes, closed, end := post(gone, 1); !closed || end != nil || codes[0] < 500 {
		t.Fatalf("upstream down: %v, Connection: close %v, then %v; want a 5xx saying close and a clean end", codes, closed, end)
	}
	if codes, closed, _ := post(up.URL, 2); closed || codes[0] != 200 || codes[1] != 200 {
		t.Fatalf("body read whole: %v, Connection: close %v; want two answers on one kept connection", codes, closed)
	}
}
