package gateway

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// retryBudget caps retries at a share of the traffic, token-bucket style
// like Finagle's and Envoy's retry budgets: every request deposits Budget
// of a retry, every retry withdraws one, and the balance never exceeds
// Reserve. A short blip is retried in full; a whole outage makes at most
// Budget extra attempts (plus the reserve once), so retries cannot
// multiply the load on upstreams that are already failing. Balances are
// kept in thousandths of a retry so that the bucket works by atomics.
type retryBudget struct {
	milli   atomic.Int64
	deposit int64
	limit   int64
}

func newRetryBudget(cfg RetryConfig) *retryBudget {
	b := &retryBudget{deposit: int64(cfg.Budget * 1000), limit: int64(cfg.Reserve) * 1000}
	b.milli.Store(b.limit)
	return b
}

func (b *retryBudget) earn() {
	for {
		n := b.milli.Load()
		if n >= b.limit || b.milli.CompareAndSwap(n, min(n+b.deposit, b.limit)) {
			return
		}
	}
}

func (b *retryBudget) spend() bool {
	for {
		n := b.milli.Load()
		if n < 1000 {
			return false
		}
		if b.milli.CompareAndSwap(n, n-1000) {
			return true
		}
	}
}

// safeToRetry: a GET or HEAD changes nothing, and a POST with an
// Idempotency-Key is answered once by the upstreams however often it
// arrives. Anything else is sent once.
func safeToRetry(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		return true
	case http.MethodPost:
		return r.Header.Get("Idempotency-Key") != ""
	}
	return false
}

// worthRetrying: no answer, or an answer saying this upstream could not
// serve it, which another upstream may.
func worthRetrying(o outcome, resp *http.Response) bool {
	if resp == nil {
		return o == failedConn || o == timedOut
	}
	switch resp.StatusCode {
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// wait sleeps before retry n, or returns false if ctx ends first.
func (g *Gateway) wait(ctx context.Context, n int) bool {
	t := time.NewTimer(g.backoff.Delay(n))
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// requestBody gives each attempt the client's body. A body known to be at
// most Retry.BodyLimit is read into memory first when the request may be
// retried, and every attempt sends it again. Any other body streams from
// the client as the upstream reads it, never held whole; an attempt that
// fails before any of it was read leaves it intact for the next one, and
// once a byte has gone the request is not retried.
type requestBody struct {
	kept   []byte      // the whole body, when kept for replay
	stream *streamBody // the body of the last attempt, when streamed
	src    io.Reader
	length int64
}

func newRequestBody(r *http.Request, keep bool, limit int64) (*requestBody, error) {
	b := &requestBody{src: r.Body, length: r.ContentLength}
	if r.ContentLength == 0 || r.Body == nil || r.Body == http.NoBody {
		b.length = 0
		return b, nil
	}
	if keep && r.ContentLength > 0 && r.ContentLength <= limit {
		b.kept = make([]byte, r.ContentLength)
		if _, err := io.ReadFull(r.Body, b.kept); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// streams says whether attempts read the body from the client as they
// send it, rather than from memory.
func (b *requestBody) streams() bool { return b.length != 0 && b.kept == nil }

// drained says whether a streamed body was read to its end.
func (b *requestBody) drained() bool { return b.stream != nil && b.stream.eof.Load() }

// replayable says whether another attempt could send the body again.
func (b *requestBody) replayable() bool {
	return b.length == 0 || b.kept != nil || b.stream == nil || b.stream.untouched()
}

// next is the body for another attempt, or false when what the last one
// read cannot be read again.
func (b *requestBody) next() (io.ReadCloser, bool) {
	switch {
	case b.length == 0:
		return nil, true
	case b.kept != nil:
		return io.NopCloser(bytes.NewReader(b.kept)), true
	case b.stream != nil && !b.stream.retire():
		return nil, false
	}
	b.stream = &streamBody{src: b.src}
	return b.stream, true
}

var errRetired = errors.New("gateway: body handed to a later attempt")

// streamBody passes the client's body through to one attempt. The
// transport may read it from its own goroutine even after the attempt
// failed; once retired, it reads nothing more, so two attempts never read
// the client's body at once.
type streamBody struct {
	src     io.Reader
	mu      sync.Mutex
	started bool
	retired bool
	eof     atomic.Bool // the client's body was read to its end
}

func (s *streamBody) Read(p []byte) (int, error) {
	s.mu.Lock()
	if s.retired {
		s.mu.Unlock()
		return 0, errRetired
	}
	s.started = true
	s.mu.Unlock()
	n, err := s.src.Read(p)
	if err == io.EOF {
		s.eof.Store(true)
	}
	return n, err
}

// Close does not close the client's body: the server does that, and a
// later attempt may still need it.
func (s *streamBody) Close() error { return nil }

func (s *streamBody) untouched() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.started
}

// retire ends this attempt's use of the body and reports whether it never
// read from it.
func (s *streamBody) retire() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.retired = true
	return !s.started
}
