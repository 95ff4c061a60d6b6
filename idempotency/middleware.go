package idempotency

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"
)

// Header names.
const (
	KeyHeader      = "Idempotency-Key"
	ReplayedHeader = "Idempotent-Replayed"
)

// Config configures the Middleware; zero values take the defaults.
type Config struct {
	Store Store
	// TTL is how long a response is kept for replay (default 24h).
	TTL time.Duration
	// LockTimeout is how long an in-flight record blocks its key before it
	// is presumed crashed (default 1m).
	LockTimeout time.Duration
	// Required reports whether a POST must carry a key.
	Required func(r *http.Request) bool
	// Scope names who sent the request: keys of different scopes never meet.
	Scope func(r *http.Request) string
	// Problem writes an error answer (status, type slug, detail).
	Problem func(w http.ResponseWriter, r *http.Request, status int, slug, detail string)
	// Recover renders a created resource when a request's write committed
	// but its response was lost in a crash; it returns false, having
	// written nothing, if it cannot.
	Recover func(w http.ResponseWriter, r *http.Request, created Resource) bool
	// MaxBody bounds the body (default 32 MiB): a larger one is refused
	// (413) without reading more than MaxBody+1 bytes of it. Set it to the
	// route's own limit.
	MaxBody int64
	// MemoryBody is how much of a body is kept in memory for the handler
	// (default 1 MiB); the rest goes to a temporary file in SpoolDir
	// (default os.TempDir()), removed when the request ends.
	MemoryBody int
	SpoolDir   string
	// NoStore is for responses that carry credentials (a login's token):
	// the key is checked for form and the request runs as if it had none.
	// Nothing about it is stored, not even the body's fingerprint.
	NoStore bool
	// Secret, if set, keys the stored fingerprints (HMAC-SHA256), so a
	// fingerprint of a body holding a password cannot be tested against
	// guesses by whoever reads the store.
	Secret []byte
	Now    func() time.Time
	Logger *slog.Logger
	// Observe, if set, is told what became of each request with a valid
	// key that reached the store, as one of the Outcome constants.
	Observe func(outcome string)
}

// What became of a keyed request, as Config.Observe is told.
const (
	OutcomeExecuted   = "executed"    // the first with its key: it ran
	OutcomeReplayed   = "replayed"    // answered with the recorded response
	OutcomeRecovered  = "recovered"   // answered from what its first run's committed write created
	OutcomeMismatch   = "mismatch"    // the key came before with another request (422)
	OutcomeInProgress = "in_progress" // its first run has not finished (409)
	OutcomeLost       = "lost"        // the first run committed, its answer is gone (409)
)

// Outcomes are every outcome Observe may be told, for metrics to show
// each from the start.
var Outcomes = []string{OutcomeExecuted, OutcomeReplayed, OutcomeRecovered, OutcomeMismatch, OutcomeInProgress, OutcomeLost}

// StatusClientClosedRequest is the conventional status (nginx's 499) of a
// request whose client went away before it was answered: the client's
// doing, not a server error. It is defined here, the innermost package
// that answers with it, and the node's access log and handlers use this
// one.
const StatusClientClosedRequest = 499

// storedHeaders are the response fields a replay repeats; the rest (dates,
// request ids, rate-limit state) describe the replaying response itself.
var storedHeaders = []string{"Content-Type", "Location", "Link", "Cache-Control", "Deprecation", "Sunset", "Content-Language"}

// Middleware applies idempotency keys to POST requests.
func Middleware(cfg Config, next http.Handler) http.Handler {
	cfg = cfg.withDefaults()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		raw, present := r.Header[KeyHeader]
		key, valid := ParseKey(strings.Join(raw, ","))
		switch {
		case !present && cfg.Required(r):
			cfg.Problem(w, r, http.StatusBadRequest, "idempotency-key-missing",
				"this request needs an Idempotency-Key header (a quoted string of 1–255 characters, e.g. a UUID), so that retrying it is safe")
		case !present:
			next.ServeHTTP(w, r)
		case !valid:
			cfg.Problem(w, r, http.StatusBadRequest, "idempotency-key-invalid",
				`Idempotency-Key must be a structured-field string of 1–255 printable ASCII characters, e.g. "8e03978e-40d5-43e8-bc93-6894a57f9324"`)
		case cfg.NoStore:
			next.ServeHTTP(w, r)
		default:
			cfg.serveKeyed(w, r, key, next)
		}
	})
}

func (cfg Config) withDefaults() Config {
	if cfg.TTL <= 0 {
		cfg.TTL = 24 * time.Hour
	}
	if cfg.LockTimeout <= 0 {
		cfg.LockTimeout = time.Minute
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 32 << 20
	}
	if cfg.MemoryBody <= 0 {
		cfg.MemoryBody = 1 << 20
	}
	if cfg.SpoolDir == "" {
		cfg.SpoolDir = os.TempDir()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Required == nil {
		cfg.Required = func(*http.Request) bool { return false }
	}
	if cfg.Observe == nil {
		cfg.Observe = func(string) {}
	}
	return cfg
}

// serveKeyed runs a request that carries a well-formed key: the first with
// its key and body runs, a retry is answered from the record.
func (cfg *Config) serveKeyed(w http.ResponseWriter, r *http.Request, key string, next http.Handler) {
	fp, body, ok := cfg.fingerprint(w, r)
	defer body.remove()
	if !ok {
		return
	}
	scoped := cfg.Scope(r) + " " + r.Method + " " + r.URL.Path + " " + key
	rec, claimed, ok := cfg.claim(w, r, scoped, fp)
	switch {
	case !ok:
	case !claimed:
		cfg.replay(w, r, rec, fp)
	default:
		cfg.Observe(OutcomeExecuted)
		cfg.runClaimed(w, r, Claim{Key: scoped}, next)
	}
}

// claim claims key for this request, or finds the record of its first
// run. If the store cannot tell, it has answered the request and returns
// ok = false.
func (cfg *Config) claim(w http.ResponseWriter, r *http.Request, key, fp string) (rec *Record, claimed, ok bool) {
	rec, claimed, err := cfg.Store.Claim(r.Context(), key, fp, cfg.Now(), cfg.LockTimeout, cfg.TTL)
	switch {
	case err != nil && r.Context().Err() == context.Canceled:
		cfg.Logger.InfoContext(r.Context(), "request cancelled by the client while its idempotency key was checked")
		cfg.Problem(w, r, StatusClientClosedRequest, "client-closed-request", "the client closed the request before it was answered")
		return nil, false, false
	case err != nil:
		cfg.Logger.ErrorContext(r.Context(), "idempotency store failed", "err", err)
		cfg.Problem(w, r, http.StatusServiceUnavailable, "unavailable", "the request could not be checked for duplicates; try again")
		return nil, false, false
	}
	return rec, claimed, true
}

// runClaimed runs the request under its claim and stores its answer, if
// that is the request's result; otherwise it frees the key for a retry.
func (cfg *Config) runClaimed(w http.ResponseWriter, r *http.Request, c Claim, next http.Handler) {
	rw := &recorder{ResponseWriter: w, header: w.Header().Clone()}
	completed := false
	defer func() {
		if !completed { // it panicked, or its answer is not to be kept: let the key be retried
			cfg.Store.Release(context.WithoutCancel(r.Context()), c.Key)
		}
	}()
	next.ServeHTTP(rw, withClaim(r, c))
	rw.flush()
	if !storable(rw.status) {
		// The answer says "not now", not "this is the result": keep
		// nothing (the deferred Release frees an in-flight key), so the
		// retry runs again, or, had the write committed, is answered
		// from what it made, instead of being told the same for the
		// key's lifetime.
		return
	}
	if err := cfg.Store.Complete(context.WithoutCancel(r.Context()), c.Key, rw.response(), cfg.Now()); err != nil {
		cfg.Logger.ErrorContext(r.Context(), "storing the idempotent response failed", "err", err)
	}
	completed = true
}

// storable reports whether an answer is the request's result, to be
// replayed for its key: not a server error (5xx, the 499 of a client that
// went away) nor a 429, which say only that it did not get to run now.
func storable(status int) bool {
	return status < 500 && status != http.StatusTooManyRequests && status != StatusClientClosedRequest
}

func (cfg *Config) replay(w http.ResponseWriter, r *http.Request, rec *Record, fp string) {
	if rec.Fingerprint != fp {
		cfg.Observe(OutcomeMismatch)
		cfg.Problem(w, r, http.StatusUnprocessableEntity, "idempotency-key-reused",
			"this Idempotency-Key was already used with a request that means something else (other fields, files or JSON values); use a new key for a new request")
		return
	}
	switch {
	case rec.State == Done && rec.Response != nil:
		for k, v := range rec.Response.Header {
			w.Header()[k] = v
		}
		w.Header().Set(ReplayedHeader, "true")
		cfg.Observe(OutcomeReplayed)
		w.WriteHeader(rec.Response.Status)
		w.Write(rec.Response.Body)
	case rec.State == Committed && cfg.Recover != nil && rec.Resource != (Resource{}):
		// Recover writes the answer, so the header goes first; an answer it
		// cannot give is not a replay.
		w.Header().Set(ReplayedHeader, "true")
		if !cfg.Recover(w, r, rec.Resource) {
			w.Header().Del(ReplayedHeader)
			cfg.Observe(OutcomeLost)
			cfg.Problem(w, r, http.StatusConflict, "idempotency-response-lost",
				"the original request was processed, but its response was not kept; look the result up instead of retrying")
			return
		}
		cfg.Observe(OutcomeRecovered)
	case rec.State == Committed:
		cfg.Observe(OutcomeLost)
		cfg.Problem(w, r, http.StatusConflict, "idempotency-response-lost",
			"the original request was processed, but its response was not kept; look the result up instead of retrying")
	default:
		cfg.Observe(OutcomeInProgress)
		w.Header().Set("Retry-After", "1")
		cfg.Problem(w, r, http.StatusConflict, "idempotency-key-in-use",
			"a request with this Idempotency-Key is still being processed; retry after it finishes")
	}
}

// fingerprint reads the body, bounded by cfg.MaxBody, into a spool the
// handler then reads from, and fingerprints its meaning on the way. If it
// cannot, it has answered the request and returns ok = false; the spool is
// to be removed either way.
func (cfg *Config) fingerprint(w http.ResponseWriter, r *http.Request) (fp string, sp *spool, ok bool) {
	sp = &spool{dir: cfg.SpoolDir, limit: cfg.MemoryBody}
	if r.ContentLength > int64(cfg.MemoryBody) {
		sp.limit = 0 // it will not fit: straight to the file
	}
	if r.ContentLength > cfg.MaxBody {
		cfg.Problem(w, r, http.StatusRequestEntityTooLarge, "too-large", "the request body is too large")
		return "", sp, false
	}
	src := &spooling{r: http.MaxBytesReader(w, r.Body, cfg.MaxBody), sp: sp}
	digest, err := Fingerprint(r.Header.Get("Content-Type"), src)
	var tooLarge *http.MaxBytesError
	switch {
	case src.spoolErr != nil:
		cfg.Logger.ErrorContext(r.Context(), "keeping the request body failed", "err", src.spoolErr)
		cfg.Problem(w, r, http.StatusServiceUnavailable, "unavailable", "the request body could not be kept for the request; try again")
		return "", sp, false
	case errors.As(err, &tooLarge):
		cfg.Problem(w, r, http.StatusRequestEntityTooLarge, "too-large", "the request body is too large")
		return "", sp, false
	case err != nil && r.Context().Err() == context.Canceled:
		cfg.Logger.InfoContext(r.Context(), "request cancelled by the client while its body was read")
		cfg.Problem(w, r, StatusClientClosedRequest, "client-closed-request", "the client closed the request before it was answered")
		return "", sp, false
	case err != nil:
		cfg.Problem(w, r, http.StatusBadRequest, "bad-request", "reading the request body failed")
		return "", sp, false
	}
	body, err := sp.body()
	if err != nil {
		cfg.Logger.ErrorContext(r.Context(), "keeping the request body failed", "err", err)
		cfg.Problem(w, r, http.StatusServiceUnavailable, "unavailable", "the request body could not be kept for the request; try again")
		return "", sp, false
	}
	r.Body = body
	if cfg.Secret != nil {
		m := hmac.New(sha256.New, cfg.Secret)
		m.Write(digest)
		digest = m.Sum(nil)
	}
	return hex.EncodeToString(digest), sp, true
}

// spooling copies what is read from r into sp, keeping a failure to write
// apart from a failure to read.
type spooling struct {
	r        io.Reader
	sp       *spool
	spoolErr error
}

func (s *spooling) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if n > 0 {
		if _, werr := s.sp.Write(p[:n]); werr != nil {
			s.spoolErr = werr
			return n, werr
		}
	}
	return n, err
}

// ParseKey reads the header value: an RFC 8941 string ("..." with \" and
// \\ escapes) of 1–255 printable ASCII characters. A bare token (a UUID
// without quotes, as many clients send) is accepted too.
func ParseKey(v string) (string, bool) {
	v = strings.TrimSpace(v)
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		var b strings.Builder
		for i := 1; i < len(v)-1; i++ {
			c := v[i]
			switch {
			case c == '\\':
				i++
				if i >= len(v)-1 || (v[i] != '"' && v[i] != '\\') {
					return "", false
				}
				b.WriteByte(v[i])
			case c == '"' || c < 0x20 || c > 0x7e:
				return "", false
			default:
				b.WriteByte(c)
			}
		}
		v = b.String()
	} else {
		for i := 0; i < len(v); i++ {
			if c := v[i]; c <= 0x20 || c > 0x7e || c == '"' || c == ',' || c == ';' || c == '\\' {
				return "", false
			}
		}
	}
	return v, len(v) >= 1 && len(v) <= 255
}

// recorder passes the response through while keeping a copy.
type recorder struct {
	http.ResponseWriter
	header      http.Header
	status      int
	body        bytes.Buffer
	wroteHeader bool
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if r.wroteHeader {
		return
	}
	r.wroteHeader, r.status = true, code
	for k, v := range r.header {
		r.ResponseWriter.Header()[k] = v
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if !r.wroteHeader {
		r.WriteHeader(http.StatusOK)
	}
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

// response is what a replay repeats of the recorded answer.
func (r *recorder) response() Response {
	resp := Response{Status: r.status, Header: http.Header{}, Body: r.body.Bytes()}
	for _, h := range storedHeaders {
		if v := r.header.Values(h); len(v) > 0 {
			resp.Header[h] = v
		}
	}
	return resp
}

func (r *recorder) flush() {
	if !r.wroteHeader {
		r.WriteHeader(http.StatusOK)
	}
}
