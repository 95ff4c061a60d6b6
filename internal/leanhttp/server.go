// Package leanhttp serves the simplest HTTP/1.1 requests on a plain
// listener with less per-request work than net/http, and hands every
// other connection to a net/http server.
//
// A proxy's own work per request is small, so the server's share of it
// (net/http's per-request context with its background read, its response
// and chunk writers, pooled readers and writers) is a large part of its
// CPU. Here a connection starts on a lean loop that parses bodyless
// keep-alive GET and HEAD requests strictly and calls the same
// http.Handler with a lean ResponseWriter. The moment a request is
// anything else (a body, an upgrade, a stream, an odd or oversized head)
// the connection, with the bytes already read replayed first, goes to the
// net/http server for good: what that server does for such requests is
// unchanged, and it never sees a request the loop half-read.
package leanhttp

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Server serves srv's handler with srv's timeouts on the lean loop, and
// passes connections it does not serve to srv.
type Server struct {
	srv     *http.Server
	closing atomic.Bool

	mu    sync.Mutex
	conns map[*conn]struct{}
	ln    net.Listener
	hl    *handoffListener
}

// New wraps srv, which must be a plain-HTTP server (TLS, and HTTP/2 over
// it, stay with net/http alone). srv's Handler, ReadHeaderTimeout,
// WriteTimeout, IdleTimeout, BaseContext and ErrorLog apply to both paths.
func New(srv *http.Server) *Server {
	return &Server{srv: srv, conns: map[*conn]struct{}{}}
}

// Serve accepts connections on ln until Shutdown, like http.Server.Serve;
// it returns http.ErrServerClosed after Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	s.ln = ln
	s.hl = newHandoffListener(ln.Addr())
	s.mu.Unlock()
	if s.closing.Load() {
		ln.Close()
		return http.ErrServerClosed
	}
	base := context.Background()
	if s.srv.BaseContext != nil {
		base = s.srv.BaseContext(ln)
	}
	base = context.WithValue(base, http.ServerContextKey, s.srv)
	fallback := make(chan error, 1)
	go func() { fallback <- s.srv.Serve(s.hl) }()
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.closing.Load() {
				<-fallback
				return http.ErrServerClosed
			}
			if transientAcceptError(err) {
				// Out of descriptors or memory, or a connection reset
				// before it was accepted: net/http backs off the same way
				// rather than spin or stop.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			s.hl.Close()
			return fmt.Errorf("accept: %w", err)
		}
		delay = 0
		c := newConn(s, nc, base)
		go c.serve()
	}
}

// Shutdown stops accepting, shuts the net/http server down (which runs
// its RegisterOnShutdown hooks and waits for its connections), closes the
// lean loop's idle connections and waits for its busy ones to finish their
// request, or for ctx to end.
func (s *Server) Shutdown(ctx context.Context) error {
	s.closing.Store(true)
	s.mu.Lock()
	ln, hl := s.ln, s.hl
	s.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	fallback := make(chan error, 1)
	go func() { fallback <- s.srv.Shutdown(ctx) }()
	if hl != nil {
		hl.Close()
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		s.mu.Lock()
		n := len(s.conns)
		for c := range s.conns {
			if c.idle.Load() {
				c.nc.SetReadDeadline(time.Unix(1, 0)) // ends its wait for a request
			}
		}
		s.mu.Unlock()
		if n == 0 {
			return <-fallback
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

func transientAcceptError(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	for _, errno := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM,
		syscall.ECONNABORTED, syscall.ECONNRESET} {
		if errors.Is(err, errno) {
			return true
		}
	}
	return false
}

func (s *Server) track(c *conn, add bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if add {
		s.conns[c] = struct{}{}
	} else {
		delete(s.conns, c)
	}
}

func (s *Server) logf(format string, args ...any) {
	if s.srv.ErrorLog != nil {
		s.srv.ErrorLog.Printf(format, args...)
	}
}

// conn is one client connection on the lean loop.
type conn struct {
	s      *Server
	nc     net.Conn
	br     *bufio.Reader
	bw     *bufio.Writer
	remote string
	ctx    context.Context
	cancel context.CancelFunc // ends ctx: the connection is done, or its client left
	idle   atomic.Bool        // waiting for a request; Shutdown closes it then
	served bool               // a request was answered: the next may wait IdleTimeout
	req    *http.Request      // what every request on the connection shares, its context included
	head   []byte             // a response's head from WriteHeader on, then its trailers
	body   []byte             // a response's body held back until its end or a flush
	watch  clientWatch
}

func newConn(s *Server, nc net.Conn, base context.Context) *conn {
	ctx := context.WithValue(base, http.LocalAddrContextKey, nc.LocalAddr())
	return &conn{s: s, nc: nc, br: bufio.NewReaderSize(nc, maxHead), bw: bufio.NewWriterSize(nc, 8<<10),
		remote: nc.RemoteAddr().String(), ctx: ctx}
}

var errNotSimple = errors.New("not a simple request")

func (c *conn) serve() {
	c.s.track(c, true)
	defer c.s.track(c, false)
	ctx, cancel := context.WithCancel(c.ctx)
	defer cancel()
	c.ctx, c.cancel = ctx, cancel
	c.watch.init(c)
	defer c.watch.timer.Stop()
	c.req = (&http.Request{Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Body: http.NoBody,
		RemoteAddr: c.remote}).WithContext(ctx)
	for {
		c.idle.Store(true)
		head, err := c.readHead()
		c.idle.Store(false)
		if err != nil {
			if errors.Is(err, errNotSimple) {
				c.handoff()
				return
			}
			c.nc.Close()
			return
		}
		req, ok := parseSimple(head)
		if !ok {
			c.handoff()
			return
		}
		c.br.Discard(len(head))
		c.served = true
		if !c.respond(req) || c.s.closing.Load() {
			c.nc.Close()
			return
		}
	}
}

// readHead waits for the next request's head and returns it unread
// (still in the buffer). The whole head may take ReadHeaderTimeout from
// the connection's start, as with net/http (one that sends nothing is not
// kept); on a connection that was served, its first byte may take
// IdleTimeout and the rest ReadHeaderTimeout. A head cut by its deadline
// ends the connection, as net/http ends it. errNotSimple: bytes came that
// the loop will not serve (a head too large, or cut short); net/http
// reads them.
func (c *conn) readHead() ([]byte, error) {
	srv := c.s.srv
	timed := !c.served // a new connection's deadline is for its whole head
	// net/http waits for 4 bytes of a kept-alive connection's next
	// request and closes it silently if they do not come: so does the
	// loop, before it looks at them (a stray byte is not answered 400).
	need := 1
	if c.served {
		need = 4
	}
	if c.br.Buffered() < need {
		wait := deadline(srv.ReadHeaderTimeout, srv.ReadTimeout)
		if c.served {
			wait = deadline(srv.IdleTimeout, srv.ReadTimeout)
		}
		c.nc.SetReadDeadline(wait)
		// Checked after the deadline is set: Shutdown sets its own, in
		// the past, after it marks the server closing.
		if c.s.closing.Load() {
			return nil, http.ErrServerClosed
		}
		if _, err := c.br.Peek(need); err != nil {
			return nil, err
		}
	}
	scanned := 0 // bytes searched already, for a head arriving piece by piece
	for {
		buf, _ := c.br.Peek(c.br.Buffered())
		from := max(scanned-3, 0)
		if i := bytes.Index(buf[from:], []byte("\r\n\r\n")); i >= 0 {
			return buf[:from+i+4], nil
		}
		if len(buf) >= maxHead || bareLF(buf, scanned) {
			// A bare LF ends lines for net/http, which may have a whole
			// request here: it is not kept waiting for a CRLF.
			return nil, errNotSimple
		}
		scanned = len(buf)
		if !timed {
			c.nc.SetReadDeadline(deadline(srv.ReadHeaderTimeout, srv.ReadTimeout))
			timed = true
		}
		if _, err := c.br.Peek(len(buf) + 1); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				return nil, err
			}
			return nil, errNotSimple // net/http answers or closes, as it would have
		}
	}
}

// bareLF reports whether b has an LF not after a CR at or past from.
func bareLF(b []byte, from int) bool {
	for i := from; i < len(b); i++ {
		if b[i] == '\n' && (i == 0 || b[i-1] != '\r') {
			return true
		}
	}
	return false
}

// deadline is now plus the first of the timeouts that is set, or none.
func deadline(timeouts ...time.Duration) time.Time {
	for _, d := range timeouts {
		if d > 0 {
			return time.Now().Add(d)
		}
	}
	return time.Time{}
}

// handoff gives the connection, with what was read of it, to net/http.
func (c *conn) handoff() {
	c.nc.SetDeadline(time.Time{})
	var nc net.Conn = c.nc
	if n := c.br.Buffered(); n > 0 {
		pending, _ := c.br.Peek(n)
		nc = &replayConn{Conn: c.nc, pending: bytes.Clone(pending)}
	}
	c.s.hl.give(nc)
}

// respond runs the handler for req and reports whether the connection
// may serve another request.
func (c *conn) respond(req *simpleRequest) (keep bool) {
	srv := c.s.srv
	// The read deadline is left as it is: nothing is read until the next
	// head, and readHead sets one before it waits.
	if srv.WriteTimeout > 0 {
		c.nc.SetWriteDeadline(time.Now().Add(srv.WriteTimeout))
	}
	// A copy of the connection's empty request, which carries its
	// context: WithContext on each would allocate a second request.
	r := new(http.Request)
	*r = *c.req
	r.Method, r.URL, r.Header, r.Host, r.RequestURI = req.method, req.url, req.header, req.host, req.target
	w := &response{c: c, req: r, header: make(http.Header, 8), contentLength: -1}
	defer func() {
		if v := recover(); v != nil {
			if v != http.ErrAbortHandler {
				buf := make([]byte, 64<<10)
				buf = buf[:runtime.Stack(buf, false)]
				c.s.logf("http: panic serving %v: %v\n%s", c.remote, v, buf)
			}
			keep = false
		}
	}()
	c.watch.start()
	defer c.watch.stop()
	srv.Handler.ServeHTTP(w, r)
	return w.finish()
}
