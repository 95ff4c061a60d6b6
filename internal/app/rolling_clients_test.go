package app_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Clients in front of several gateways, as DNS or a TCP balancer spreads
// them: what the README's upgrade procedure asks of clients, and no more.

// gatewayClient sends requests to one of a fixed list of gateways. When a
// connection to one is refused or cut (it is stopping or restarting), it
// sends the request again to the next: only GETs and keyed POSTs, which a
// second sending cannot do twice. Any other error, and any unexpected
// status, is the client's to see: a failure.
type gatewayClient struct {
	gateways []string
	http     *http.Client
}

// do sends the request to gateway first, then the others in turn, and
// returns the body of the answer, or an error if it was not want.
func (c *gatewayClient) do(first int, method, path, ct string, body []byte, want int, header ...string) ([]byte, error) {
	var err error
	for try := range 3 * len(c.gateways) {
		if try > 0 && try%len(c.gateways) == 0 {
			time.Sleep(100 * time.Millisecond) // every gateway refused: back off, as a client does, and go round again
		}
		url := c.gateways[(first+try)%len(c.gateways)] + path
		req, _ := http.NewRequest(method, url, strings.NewReader(string(body)))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		var resp *http.Response
		if resp, err = c.http.Do(req); err != nil {
			if retryable(req, err) {
				continue
			}
			return nil, err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			return b, fmt.Errorf("%d %.200s", resp.StatusCode, b)
		}
		return b, nil
	}
	return nil, fmt.Errorf("every gateway refused: %w", err)
}

// retryable says whether a client may send req again elsewhere after err:
// the gateway refused or dropped the connection (a stopping gateway
// closes its idle keep-alive connections, and a request that a client
// starts on one as it closes is cut: reset, a broken pipe, or EOF), and
// req is a GET or a keyed POST.
func retryable(req *http.Request, err error) bool {
	if req.Method != http.MethodGet && req.Header.Get("Idempotency-Key") == "" {
		return false
	}
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// streamHTTP opens live streams: no overall timeout, which would cut a
// stream held open longer; the follower's context ends it.
var streamHTTP = &http.Client{}

// streamFollower holds a reader's live feed open through the gateways,
// as a browser's EventSource does: when the stream ends it reconnects
// with the last event id, to the next gateway (the one that ended it may
// be stopping) and, if that one refuses, to the one after.
type streamFollower struct {
	c     *gatewayClient
	token string

	mu       sync.Mutex
	on       int            // the gateway holding the stream; -1 between streams
	seen     map[string]int // post id: times announced
	sessions []string       // how each stream that ended did: "reconnect", or what cut it
	failures []string       // answers other than a stream: errors the reader would see
}

func newStreamFollower(c *gatewayClient, token string) *streamFollower {
	return &streamFollower{c: c, token: token, on: -1, seen: map[string]int{}}
}

// run follows the stream until ctx ends.
func (f *streamFollower) run(ctx context.Context) {
	g, last := 0, ""
	for refused := 0; ctx.Err() == nil; {
		if refused > 0 && refused%len(f.c.gateways) == 0 {
			time.Sleep(100 * time.Millisecond) // every gateway refused: back off, then go round again
		}
		req, _ := http.NewRequestWithContext(ctx, "GET", f.c.gateways[g]+"/v2/feed/stream", nil)
		req.Header.Set("Authorization", "Bearer "+f.token)
		req.Header.Set("Accept", "text/event-stream")
		if last != "" {
			req.Header.Set("Last-Event-ID", last)
		}
		resp, err := streamHTTP.Do(req)
		if err != nil {
			if ctx.Err() == nil && !retryable(req, err) {
				f.fail("open the stream: %v", err)
			}
			g, refused = (g+1)%len(f.c.gateways), refused+1
			continue
		}
		refused = 0
		if resp.StatusCode != 200 {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			f.fail("open the stream: %d %.200s", resp.StatusCode, b)
			time.Sleep(100 * time.Millisecond) // honouring Retry-After, sooner
			continue
		}
		f.mu.Lock()
		f.on = g
		f.mu.Unlock()
		ended := f.read(resp.Body, &last)
		resp.Body.Close()
		f.mu.Lock()
		f.on = -1
		if ctx.Err() == nil {
			f.sessions = append(f.sessions, ended)
		}
		f.mu.Unlock()
		g = (g + 1) % len(f.c.gateways)
	}
}

// read takes one stream's events, keeping the last id, and says how it
// ended: "reconnect" if the server said so, or the error that cut it.
func (f *streamFollower) read(body io.Reader, last *string) string {
	sc := bufio.NewScanner(body)
	var name, data string
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, ":") {
			continue // a comment: the stream's opening, a heartbeat
		}
		field, value, _ := strings.Cut(line, ": ")
		switch field {
		case "event":
			name = value
		case "id":
			*last = value
		case "data":
			data = value
		case "": // the event's end
			switch name {
			case "post":
				var d struct {
					PostID string `json:"post_id"`
				}
				json.Unmarshal([]byte(data), &d)
				f.mu.Lock()
				f.seen[d.PostID]++
				f.mu.Unlock()
			case "reconnect":
				return "reconnect"
			}
			name, data = "", ""
		}
	}
	if sc.Err() != nil {
		return "cut: " + sc.Err().Error()
	}
	return "ended without a reconnect event"
}

func (f *streamFollower) fail(format string, args ...any) {
	f.mu.Lock()
	f.failures = append(f.failures, fmt.Sprintf(format, args...))
	f.mu.Unlock()
}

// holder is the gateway holding the stream, -1 between streams.
func (f *streamFollower) holder() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.on
}

// missing lists the posts of ids the stream has not announced.
func (f *streamFollower) missing(ids []string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, id := range ids {
		if f.seen[id] == 0 {
			out = append(out, id)
		}
	}
	return out
}
