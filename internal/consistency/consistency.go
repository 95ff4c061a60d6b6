// Package consistency gives read-your-writes over asynchronous replicas.
// After a write, the client receives a consistency token: the database's
// write-ahead-log position (LSN) at the commit. Sent back with a later
// read (the X-Consistency-Token header, or a cookie for browsers), it lets
// the store serve the read from a replica that has replayed that far, or
// from the primary if none has.
package consistency

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	Header = "X-Consistency-Token"
	Cookie = "photofeed_ct"
)

// LSN is a PostgreSQL write-ahead-log position.
type LSN uint64

// ParseLSN reads the "16/B374D848" form.
func ParseLSN(s string) (LSN, error) {
	hi, lo, ok := strings.Cut(s, "/")
	if !ok || len(hi) == 0 || len(lo) == 0 || len(hi) > 8 || len(lo) > 8 {
		return 0, fmt.Errorf("bad LSN %q", s)
	}
	h, err1 := strconv.ParseUint(hi, 16, 32)
	l, err2 := strconv.ParseUint(lo, 16, 32)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("bad LSN %q", s)
	}
	return LSN(h<<32 | l), nil
}

func (l LSN) String() string { return fmt.Sprintf("%X/%X", uint64(l)>>32, uint64(l)&0xFFFFFFFF) }

type tokenKey struct{}
type trackerKey struct{}

// WithToken marks ctx as needing data at least as new as lsn.
func WithToken(ctx context.Context, lsn LSN) context.Context {
	return context.WithValue(ctx, tokenKey{}, lsn)
}

// Token returns the position a read must see, if any.
func Token(ctx context.Context) (LSN, bool) {
	l, ok := ctx.Value(tokenKey{}).(LSN)
	return l, ok
}

// Tracker collects the positions of a request's writes.
type Tracker struct {
	mu  sync.Mutex
	lsn LSN
}

// Observe records a write's position.
func (t *Tracker) Observe(l LSN) {
	t.mu.Lock()
	t.lsn = max(t.lsn, l)
	t.mu.Unlock()
}

func (t *Tracker) LSN() LSN {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.lsn
}

// TrackerFrom returns the request's tracker, if any.
func TrackerFrom(ctx context.Context) (*Tracker, bool) {
	t, ok := ctx.Value(trackerKey{}).(*Tracker)
	return t, ok
}

// Middleware reads a token from the request and, after a write, sends the
// new one back: in the header for API clients and in a short-lived cookie
// for browsers, whose next page load then sees the write.
func Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		raw := r.Header.Get(Header)
		if raw == "" {
			if c, err := r.Cookie(Cookie); err == nil {
				raw = c.Value
			}
		}
		if l, err := ParseLSN(raw); err == nil {
			ctx = WithToken(ctx, l)
		}
		t := &Tracker{}
		ctx = context.WithValue(ctx, trackerKey{}, t)
		next.ServeHTTP(&tokenWriter{ResponseWriter: w, t: t}, r.WithContext(ctx))
	})
}

type tokenWriter struct {
	http.ResponseWriter
	t     *Tracker
	wrote bool
}

func (w *tokenWriter) WriteHeader(code int) {
	if !w.wrote {
		w.wrote = true
		if l := w.t.LSN(); l != 0 {
			w.Header().Set(Header, l.String())
			http.SetCookie(w, &http.Cookie{Name: Cookie, Value: l.String(), Path: "/", MaxAge: int((30 * time.Second).Seconds()),
				HttpOnly: true, SameSite: http.SameSiteLaxMode})
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *tokenWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

func (w *tokenWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
