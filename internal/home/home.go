// Package home answers GET /v2/home at the edge: the caller's profile,
// the first page of their feed and suggestions of people to follow, asked
// of the API at once and put together in one answer, so that a client
// opening the app makes one round trip instead of three.
//
// The feed is the page: without it the answer is 503. The profile and the
// suggestions are extras: one that is slow or failing is left out, named
// in the answer's warnings, and the rest is served in time.
package home

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/photofeed/photofeed/internal/httpauth"
	"github.com/photofeed/photofeed/internal/identity"
	"github.com/photofeed/photofeed/internal/problem"
)

// Config describes a Handler.
type Config struct {
	// API serves the parts' requests (/v2/me, /v2/feed, /v2/suggestions):
	// the gateway's proxy, so that they are balanced, retried and hashed
	// by user like any other request.
	API http.Handler
	// FeedTimeout bounds the feed (default 3s); PartTimeout each of the
	// others (default 800ms), kept short because the answer waits for the
	// slowest part.
	FeedTimeout, PartTimeout time.Duration
	// Log records a part that panicked (default slog.Default()).
	Log *slog.Logger
}

// Handler serves GET /v2/home.
type Handler struct{ cfg Config }

func New(cfg Config) *Handler {
	if cfg.FeedTimeout <= 0 {
		cfg.FeedTimeout = 3 * time.Second
	}
	if cfg.PartTimeout <= 0 {
		cfg.PartTimeout = 800 * time.Millisecond
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Handler{cfg: cfg}
}

// part is one request the answer is made of.
type part struct {
	name     string // its field in the answer
	path     string
	query    url.Values
	timeout  time.Duration
	critical bool
	got      result
}

// answer is the body of a 200: a part left out is null or absent.
type answer struct {
	Me          json.RawMessage `json:"me,omitempty"`
	Feed        json.RawMessage `json:"feed"`
	Suggestions json.RawMessage `json:"suggestions,omitempty"`
	Warnings    []string        `json:"warnings,omitempty"`
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if httpauth.UserID(r.Context()) == 0 {
		problem.Write(w, problem.For(identity.ErrUnauthenticated))
		return
	}
	limit := r.URL.Query().Get("limit")
	if n, err := strconv.Atoi(limit); limit != "" && (err != nil || n < 1 || n > 100) {
		problem.Write(w, *problem.BadRequest("limit must be from 1 to 100", map[string]string{"limit": "from 1 to 100"}))
		return
	}
	feedQuery := url.Values{}
	if limit != "" {
		feedQuery.Set("limit", limit)
	}
	parts := []*part{
		{name: "me", path: "/v2/me", timeout: h.cfg.PartTimeout},
		{name: "feed", path: "/v2/feed", query: feedQuery, timeout: h.cfg.FeedTimeout, critical: true},
		{name: "suggestions", path: "/v2/suggestions", timeout: h.cfg.PartTimeout},
	}
	var wg sync.WaitGroup
	for _, p := range parts {
		wg.Go(func() { p.got = h.fetch(r, p) })
	}
	wg.Wait()
	me, feed, sugg := parts[0], parts[1], parts[2]
	if feed.got.err != nil {
		problem.Write(w, *problem.New(http.StatusServiceUnavailable, "unavailable", "The feed is unavailable now: "+feed.got.err.Error()))
		return
	}
	if feed.got.status != http.StatusOK { // the caller's own fault (401 for an ended session, say): theirs to see
		relay(w, feed.got)
		return
	}
	out := answer{Feed: feed.got.body}
	if me.got.ok() {
		out.Me = me.got.body
	} else {
		out.Warnings = append(out.Warnings, me.name+": "+me.got.why())
	}
	var list struct {
		Items json.RawMessage `json:"items"`
	}
	if sugg.got.ok() && json.Unmarshal(sugg.got.body, &list) == nil && list.Items != nil {
		out.Suggestions = list.Items
	} else {
		out.Warnings = append(out.Warnings, sugg.name+": "+sugg.got.why())
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "private, no-cache")
	json.NewEncoder(w).Encode(out)
}

// result is a part's answer, or why there is none.
type result struct {
	status int
	header http.Header
	body   []byte
	err    error // no answer: timed out, or the API failed
}

func (r result) ok() bool { return r.err == nil && r.status == http.StatusOK }

func (r result) why() string {
	if r.err != nil {
		return r.err.Error()
	}
	return fmt.Sprintf("answered %d", r.status)
}

var errTimedOut = errors.New("timed out")

// fetch asks the API for one part, on behalf of r's caller: the same
// credentials, client address and request id, at most p.timeout.
func (h *Handler) fetch(r *http.Request, p *part) result {
	ctx, cancel := context.WithTimeout(r.Context(), p.timeout)
	defer cancel()
	sub := r.Clone(ctx)
	sub.Method, sub.Body, sub.ContentLength = http.MethodGet, http.NoBody, 0
	sub.URL = &url.URL{Path: p.path, RawQuery: p.query.Encode()}
	sub.RequestURI = sub.URL.RequestURI()
	sub.Header.Set("Accept", "application/json")
	if !p.critical {
		// An RFC 9218 urgency below the default: an overloaded api node
		// turns the extras away first, and the answer leaves them out.
		sub.Header.Set("Priority", "u=5")
	}
	// The parts are read here, not passed on: they must come uncompressed
	// whatever codings the client accepts (the answer is compressed whole).
	for _, k := range []string{"Content-Type", "Content-Length", "Idempotency-Key", "If-None-Match", "If-Modified-Since", "Accept-Encoding"} {
		sub.Header.Del(k)
	}
	rec := &recorder{header: http.Header{}}
	if err := h.serve(rec, sub, p); err != nil {
		return result{err: err}
	}
	switch {
	case ctx.Err() != nil && r.Context().Err() == nil:
		return result{err: fmt.Errorf("%w after %s", errTimedOut, p.timeout)}
	case rec.status == 0 || rec.status >= 500:
		return result{err: fmt.Errorf("unavailable (%d)", rec.status)}
	}
	return result{status: rec.status, header: rec.header, body: rec.body.Bytes()}
}

// serve runs the API for one part, turning a panic into the part's error:
// the part runs on its own goroutine, out of reach of the server's and
// problem.Recover's recovery, so a panic left there would end the process.
func (h *Handler) serve(rec *recorder, sub *http.Request, p *part) (err error) {
	defer func() {
		switch v := recover(); v {
		case nil:
		case http.ErrAbortHandler: // the proxy aborts an answer the API cut off midway
			err = errors.New("answer cut off")
		default:
			h.cfg.Log.Error("home: a part panicked", "part", p.name, "panic", v, "stack", string(debug.Stack()))
			err = errors.New("failed")
		}
	}()
	h.cfg.API.ServeHTTP(rec, sub)
	return nil
}

// relay answers with a part's own answer.
func relay(w http.ResponseWriter, res result) {
	for _, k := range []string{"Content-Type", "WWW-Authenticate", "Retry-After", "Cache-Control"} {
		if v := res.header.Get(k); v != "" {
			w.Header().Set(k, v)
		}
	}
	w.WriteHeader(res.status)
	w.Write(res.body)
}

// maxPart bounds what is kept of one part: a feed page is some tens of KB.
const maxPart = 4 << 20

// recorder keeps a part's answer in memory.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (c *recorder) Header() http.Header { return c.header }

func (c *recorder) WriteHeader(status int) {
	if c.status == 0 {
		c.status = status
	}
}

func (c *recorder) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	if c.body.Len()+len(b) > maxPart {
		return 0, errors.New("home: part too large")
	}
	return c.body.Write(b)
}
