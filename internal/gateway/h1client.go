package gateway

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/photofeed/photofeed/internal/leanhttp"
)

// h1Client sends bodyless GET and HEAD requests to one plain-HTTP
// upstream over pooled keep-alive connections, on the caller's goroutine.
//
// http.Transport keeps two goroutines per connection and passes every
// request and response between them and the caller over channels; on a
// proxy, where each client request is one such round trip, those
// hand-offs and wake-ups are a large share of the CPU spent per request.
// Here the caller writes the request and parses the answer itself (with
// leanhttp.ReadResponse: a strict parser for the plain answers with a
// Content-Length, http.ReadResponse for any other); only the pool is ours.
// Requests with a body still go through the Transport, which writes the
// body while it watches for an early answer.
type h1Client struct {
	addr    string // host:port
	dial    func(ctx context.Context, network, addr string) (net.Conn, error)
	maxIdle int
	idleFor time.Duration // idle connections older than this are closed

	mu   sync.Mutex
	idle []*h1Conn // most recently used last
}

type h1Conn struct {
	nc     net.Conn
	br     *bufio.Reader
	bw     *bufio.Writer
	idleAt time.Time
}

// errNoReply: the connection failed before any byte of an answer came,
// which on a reused connection means the upstream closed it while idle.
var errNoReply = errors.New("connection closed before the response")

// roundTrip sends req (GET or HEAD, no body) and returns the response
// headers; the body reads from the connection, which goes back to the pool
// once the body has been read to its end.
func (c *h1Client) roundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	for resent := false; ; resent = true {
		var pc *h1Conn
		reused := false
		// A resend goes on a new connection: an upstream that drops this
		// request unanswered is not tried on every idle one.
		if !resent {
			pc, reused = c.get()
		}
		if pc == nil {
			nc, err := c.dial(ctx, "tcp", c.addr)
			if err != nil {
				return nil, err
			}
			pc = &h1Conn{nc: nc, br: bufio.NewReaderSize(nc, 32<<10), bw: bufio.NewWriterSize(nc, 4<<10)}
		}
		// Cancelling ends a blocked read or write at once: the connection
		// is then closed, never reused.
		stop := context.AfterFunc(ctx, func() { pc.nc.SetDeadline(time.Unix(1, 0)) })
		resp, err := pc.exchange(req)
		if err != nil {
			stop()
			pc.nc.Close()
			// GET and HEAD may be sent again: an upstream that closed an
			// idle connection processed nothing on it.
			if reused && errors.Is(err, errNoReply) && ctx.Err() == nil {
				continue
			}
			return nil, err
		}
		resp.Body = &h1Body{body: resp.Body, client: c, conn: pc, stop: stop, keep: !resp.Close}
		return resp, nil
	}
}

// exchange writes req and reads the answer's headers, skipping
// informational (1xx) answers.
func (pc *h1Conn) exchange(req *http.Request) (*http.Response, error) {
	if err := writeRequestHead(pc.bw, req); err != nil {
		return nil, fmt.Errorf("%w: %w", errNoReply, err)
	}
	if _, err := pc.br.Peek(1); err != nil {
		return nil, fmt.Errorf("%w: %w", errNoReply, err)
	}
	for {
		resp, err := leanhttp.ReadResponse(pc.br, req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			return resp, nil
		}
	}
}

// writeRequestHead writes the request line and headers. A User-Agent the
// client did not send is left out (outHeader marks it with "") rather than
// sent empty.
func writeRequestHead(bw *bufio.Writer, req *http.Request) error {
	bw.WriteString(req.Method)
	bw.WriteByte(' ')
	bw.WriteString(req.URL.RequestURI())
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	bw.WriteString(host)
	bw.WriteString("\r\n")
	var err error
	if ua, ok := req.Header["User-Agent"]; ok && len(ua) == 1 && ua[0] == "" {
		err = req.Header.WriteSubset(bw, noUserAgent)
	} else {
		err = req.Header.Write(bw)
	}
	if err != nil {
		return err
	}
	bw.WriteString("\r\n")
	return bw.Flush()
}

var noUserAgent = map[string]bool{"User-Agent": true}

// get takes the most recently used idle connection, closing those idle
// too long or with something to read; nil when there is none.
func (c *h1Client) get() (*h1Conn, bool) {
	now := time.Now()
	for {
		c.mu.Lock()
		if len(c.idle) == 0 {
			c.mu.Unlock()
			return nil, false
		}
		pc := c.idle[len(c.idle)-1]
		c.idle = c.idle[:len(c.idle)-1]
		c.mu.Unlock()
		// Anything readable on an idle connection (bytes past the last
		// answer, or the upstream's close) would be read as the next
		// request's answer, or fail it. The peek is a syscall: outside
		// the lock.
		if now.Sub(pc.idleAt) < c.idleFor && pc.br.Buffered() == 0 && quiet(pc.nc) {
			return pc, true
		}
		pc.nc.Close()
	}
}

func (c *h1Client) put(pc *h1Conn) {
	pc.idleAt = time.Now()
	c.mu.Lock()
	if len(c.idle) < c.maxIdle {
		c.idle = append(c.idle, pc)
		pc = nil
	}
	c.mu.Unlock()
	if pc != nil {
		pc.nc.Close()
	}
}

// closeIdle closes the pooled connections (a drained upstream's).
func (c *h1Client) closeIdle() {
	c.mu.Lock()
	idle := c.idle
	c.idle = nil
	c.mu.Unlock()
	for _, pc := range idle {
		pc.nc.Close()
	}
}

// h1Body is a response body on a pooled connection: read to its end, it
// gives the connection back; closed before, it closes the connection, as
// the rest of the answer would otherwise be read as the next one's.
type h1Body struct {
	body   io.ReadCloser
	client *h1Client
	conn   *h1Conn
	stop   func() bool
	keep   bool
	done   bool
}

func (b *h1Body) Read(p []byte) (int, error) {
	if b.done {
		return 0, io.EOF
	}
	n, err := b.body.Read(p)
	switch {
	case err == io.EOF:
		b.release(b.keep)
	case err != nil:
		b.release(false)
	}
	return n, err
}

func (b *h1Body) Close() error {
	if !b.done {
		b.release(false)
	}
	return nil
}

func (b *h1Body) release(reuse bool) {
	b.done = true
	// A cancellation that already fired has set a deadline in the past:
	// that connection cannot be reused. Nor can one with bytes past the
	// end of this answer (an upstream that sent more than it declared):
	// they would be read as the next request's answer.
	if b.stop() && reuse && b.conn.br.Buffered() == 0 {
		b.client.put(b.conn)
		return
	}
	b.conn.nc.Close()
}
