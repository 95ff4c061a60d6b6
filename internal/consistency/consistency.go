// Package consistency gives read-your-writes over asynchronous replicas.
// After a write, the client receives a consistency token: the write-ahead-
// log position (LSN) at the commit of each database the request wrote to.
// Sent back with a later read (the X-Consistency-Token header, or a cookie
// for browsers), it lets the store serve the read from a replica that has
// replayed that far, or from the primary if none has.
//
// A token is "LSN" where there is one database, or "name:LSN.name:LSN"
// with several (each database's positions are its own server's); the
// separators need no quoting in a cookie.
package consistency

import (
	"context"
	"fmt"
	"net/http"
	"slices"
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

// Token is the position each database must have reached for a read to
// see the writes it stands for; the key "" is the only database.
type Token map[string]LSN

// For is the position a read of database db must see, if any: its own, or
// the position of a token from a single-database deployment.
func (t Token) For(db string) (LSN, bool) {
	if l, ok := t[db]; ok {
		return l, true
	}
	l, ok := t[""]
	return l, ok
}

// String is the token's text form (ParseToken reads it).
func (t Token) String() string {
	names := make([]string, 0, len(t))
	for name := range t {
		names = append(names, name)
	}
	slices.Sort(names)
	var b strings.Builder
	for i, name := range names {
		if i > 0 {
			b.WriteByte('.')
		}
		if name != "" {
			b.WriteString(name + ":")
		}
		b.WriteString(t[name].String())
	}
	return b.String()
}

// maxTokenParts bounds what a client can make the server parse.
const maxTokenParts = 64

// ParseToken reads a token's text form.
func ParseToken(s string) (Token, error) {
	parts := strings.Split(s, ".")
	if len(parts) > maxTokenParts {
		return nil, fmt.Errorf("token of %d parts: at most %d", len(parts), maxTokenParts)
	}
	t := Token{}
	for _, p := range parts {
		name, pos, named := strings.Cut(p, ":")
		if !named {
			name, pos = "", p
		} else if !validName(name) {
			return nil, fmt.Errorf("bad database name in token %q", p)
		}
		l, err := ParseLSN(pos)
		if err != nil {
			return nil, err
		}
		if _, dup := t[name]; dup {
			return nil, fmt.Errorf("database %q twice in token", name)
		}
		t[name] = l
	}
	return t, nil
}

func validName(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

type tokenKey struct{}
type trackerKey struct{}

// withToken marks ctx as needing data at least as new as t.
func withToken(ctx context.Context, t Token) context.Context {
	return context.WithValue(ctx, tokenKey{}, t)
}

// tokenFrom returns the positions a read must see, if any.
func tokenFrom(ctx context.Context) (Token, bool) {
	t, ok := ctx.Value(tokenKey{}).(Token)
	return t, ok
}

// Tracker collects the positions of a request's writes.
type Tracker struct {
	mu  sync.Mutex
	pos Token
}

// Observe records a write's position in database db ("" where there is
// one).
func (t *Tracker) Observe(db string, l LSN) {
	t.mu.Lock()
	if t.pos == nil {
		t.pos = Token{}
	}
	t.pos[db] = max(t.pos[db], l)
	t.mu.Unlock()
}

// Token is what the request's writes need a read to see, on top of the
// token it came with (so a client writing to one database, then another,
// keeps seeing the first).
func (t *Tracker) Token(came Token) Token {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.pos) == 0 {
		return nil
	}
	out := Token{}
	for db, l := range came {
		out[db] = l
	}
	for db, l := range t.pos {
		out[db] = max(out[db], l)
	}
	return out
}

func trackerFrom(ctx context.Context) (*Tracker, bool) {
	t, ok := ctx.Value(trackerKey{}).(*Tracker)
	return t, ok
}

// Trackers connects the store to the request Middleware read and tracks:
// it hands the positions of a request's commits to the Tracker of that
// request (Middleware gives each one its own), for the token its answer
// carries, and tells a read the token the request came with. The
// composition root gives it to the store at construction (internal/
// postgres's CommitObserver and ReadTokens), so the store's signatures
// show what reaches it.
type Trackers struct{}

// MustSee returns the token the request of ctx came with, if any: the
// positions its reads must see.
func (Trackers) MustSee(ctx context.Context) (Token, bool) {
	return tokenFrom(ctx)
}

// Observing reports whether ctx is a request's that tracks its writes:
// finding a commit's position costs the store a round trip, spent only
// then.
func (Trackers) Observing(ctx context.Context) bool {
	_, ok := trackerFrom(ctx)
	return ok
}

// Committed records that the request of ctx wrote on database up to at.
func (Trackers) Committed(ctx context.Context, database string, at LSN) {
	if t, ok := trackerFrom(ctx); ok {
		t.Observe(database, at)
	}
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
		var came Token
		if raw != "" {
			if tok, err := ParseToken(raw); err == nil { // a bad token is no token
				came = tok
				ctx = withToken(ctx, tok)
			}
		}
		t := &Tracker{}
		ctx = context.WithValue(ctx, trackerKey{}, t)
		next.ServeHTTP(&tokenWriter{ResponseWriter: w, t: t, came: came}, r.WithContext(ctx))
	})
}

type tokenWriter struct {
	http.ResponseWriter
	t     *Tracker
	came  Token
	wrote bool
}

func (w *tokenWriter) WriteHeader(code int) {
	if !w.wrote {
		w.wrote = true
		if tok := w.t.Token(w.came); tok != nil {
			w.Header().Set(Header, tok.String())
			http.SetCookie(w, &http.Cookie{Name: Cookie, Value: tok.String(), Path: "/", MaxAge: int((30 * time.Second).Seconds()),
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
