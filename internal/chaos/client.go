package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/photofeed/photofeed/resilience"
)

// attempt is one HTTP request of an operation.
type attempt struct {
	at     time.Time
	kind   string // "" for a success, else the error's kind
	detail string // what the failure said: the transport error, or the body
}

// outcome is one operation: every attempt it took, and how it ended.
type outcome struct {
	op       string
	start    time.Time
	took     time.Duration
	attempts []attempt
	ok       bool
	status   int
	body     []byte
	header   http.Header
}

// caller sends requests as one client: retrying what a client may
// retry (failed connections, 5xx, 429, a key still in use) with the
// seed's backoff until it succeeds or patience runs out.
type caller struct {
	base     string
	http     *http.Client
	patience time.Duration
	backoff  resilience.Backoff
}

func newCaller(base string, patience time.Duration) *caller {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 16
	return &caller{base: base, patience: patience,
		http:    &http.Client{Transport: tr, Timeout: 10 * time.Second},
		backoff: resilience.Backoff{Base: 100 * time.Millisecond, Max: 2 * time.Second}}
}

// request is an operation's request; body is resent on every attempt.
type request struct {
	op, method, path string
	token            string
	contentType      string
	body             []byte
	key              string // Idempotency-Key, the same on every attempt
	want             int    // the success status
}

func (c *caller) do(ctx context.Context, r request) outcome {
	o := outcome{op: r.op, start: time.Now()}
	deadline := o.start.Add(c.patience)
	for i := 0; ; i++ {
		status, body, header, err := c.once(ctx, r)
		a := attempt{at: time.Now()}
		retry := false
		switch {
		case err != nil:
			a.kind, a.detail, retry = errKind(err), err.Error(), true
		case status == r.want:
		case status >= 500 || status == http.StatusTooManyRequests || status == http.StatusConflict:
			a.kind, a.detail, retry = "http "+strconv.Itoa(status), r.method+" "+r.path+": "+truncate(body), true
		default:
			a.kind, a.detail = "http "+strconv.Itoa(status), r.method+" "+r.path+": "+truncate(body)
		}
		o.attempts = append(o.attempts, a)
		o.status, o.body, o.header = status, body, header
		if a.kind == "" {
			o.ok = true
			break
		}
		wait := c.backoff.Delay(i)
		if !retry || ctx.Err() != nil || time.Now().Add(wait).After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
	o.took = time.Since(o.start)
	return o
}

func (c *caller) once(ctx context.Context, r request) (int, []byte, http.Header, error) {
	// A request is not cut by the end of the run: the workload stops
	// sending, but what was sent is answered and counted.
	rctx := context.WithoutCancel(ctx)
	req, err := http.NewRequestWithContext(rctx, r.method, c.base+r.path, bytes.NewReader(r.body))
	if err != nil {
		return 0, nil, nil, err
	}
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	if r.key != "" {
		req.Header.Set("Idempotency-Key", r.key)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("read body: %w", err)
	}
	return resp.StatusCode, b, resp.Header, nil
}

// errKind names a transport failure for the errors-by-kind table.
func errKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed"
	}
	var op *net.OpError
	if errors.As(err, &op) {
		if op.Op == "dial" {
			return "connection refused"
		}
		return "connection reset"
	}
	return "transport"
}

// decode reads a JSON answer.
func (o outcome) decode(v any) error {
	if err := json.Unmarshal(o.body, v); err != nil {
		return fmt.Errorf("%s: decode %q: %w", o.op, truncate(o.body), err)
	}
	return nil
}

func truncate(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) > 200 {
		return string(b[:200]) + "…"
	}
	return string(b)
}
