package app

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/photofeed/photofeed/internal/live"
	"github.com/photofeed/photofeed/internal/testenv"
)

// natsBroadcaster publishes on plain subjects through a connection of the
// test's own, as a worker node would.
type natsBroadcaster struct{ nc *nats.Conn }

func (b natsBroadcaster) Broadcast(subject string, data []byte) error {
	return b.nc.Publish(subject, data)
}

// A reader who stops reading is dropped once their stream's buffer fills,
// told to reconnect after what was queued, and the node holds nothing
// for them; the publisher never waits.
func TestLiveFeedDropsASlowReader(t *testing.T) {
	bus := testenv.StartNATS(t, 1)
	n := buildTestNode(t, "--nats", bus.URL())
	srv := httptest.NewUnstartedServer(n.handler)
	// Small socket buffers: the reader's window fills after a few posts,
	// not megabytes of them.
	srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
		if tc, ok := c.(*net.TCPConn); ok && s == http.StateNew {
			tc.SetWriteBuffer(4096)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	uid, token := signUpOn(t, srv.URL, "slowpoke")

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.(*net.TCPConn).SetReadBuffer(4096)
	io.WriteString(conn, "GET /v2/feed/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "+token+"\r\n\r\n")
	testenv.Eventually(t, "the stream to open", 10*time.Second, func() bool { return n.live.Streams() == 1 })

	nc, err := nats.Connect(bus.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	// Posts until the hub drops the stream: nothing reads it.
	sent := 0
	testenv.Eventually(t, "the slow stream to be dropped", 30*time.Second, func() bool {
		for range 200 {
			sent++
			if err := live.Publish(natsBroadcaster{nc}, live.Post{ID: int64(sent), Author: 1}, []int64{uid}); err != nil {
				t.Fatal(err)
			}
		}
		nc.Flush()
		return n.live.Streams() == 0
	})

	// Now read: the posts that got through, then the reason, then the end.
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read stream: %v", err)
	}
	events := strings.Split(strings.TrimSpace(string(body)), "\n\n")
	last := events[len(events)-1]
	if last != "event: reconnect\ndata: {\"reason\":\"slow\"}" {
		t.Fatalf("stream ended with %q, want a reconnect for being slow", last)
	}
	posts := strings.Count(string(body), "event: post\n")
	if posts == 0 || posts >= sent {
		t.Fatalf("%d of %d posts written before the drop: want some, not all", posts, sent)
	}
	t.Logf("%d of %d posts written before the drop", posts, sent)
}

// signUpOn creates an account on the API at base and logs in: its id and
// session token.
func signUpOn(t *testing.T, base, name string) (int64, string) {
	t.Helper()
	post := func(path, body string, v any) {
		resp, err := http.Post(base+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 201 {
			b, _ := io.ReadAll(resp.Body)
			t.Fatalf("POST %s: %d %s", path, resp.StatusCode, b)
		}
		json.NewDecoder(resp.Body).Decode(v)
	}
	var u struct{ ID string }
	post("/v2/accounts", `{"username":"`+name+`","password":"password-`+name+`"}`, &u)
	var s struct{ Token string }
	post("/v2/sessions", `{"username":"`+name+`","password":"password-`+name+`"}`, &s)
	id, err := strconv.ParseInt(u.ID, 10, 64)
	if err != nil || s.Token == "" {
		t.Fatalf("account %q, token %q", u.ID, s.Token)
	}
	return id, s.Token
}
