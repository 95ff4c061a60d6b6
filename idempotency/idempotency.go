// Package idempotency makes retried POSTs safe
// (draft-ietf-httpapi-idempotency-key-header): a client sends an
// Idempotency-Key with a request; the first request with that key runs, and
// its response, if it is the request's result, is stored; a retry with the
// same key and body gets the stored response back (Idempotent-Replayed:
// true) without running anything again.
//
// Keys are scoped to whoever sent them (a user, or a client address) and to
// the method and path, so two clients can never collide. A fingerprint of
// the body's meaning travels with the key (see Fingerprint: a multipart
// body rebuilt with a new boundary, or JSON with its keys in another order,
// is the same request; JSON with two keys that differ only in case is taken
// by its bytes, since encoding/json fills one struct field from either):
// the same key with a request of another meaning is
// a client bug and is refused (422), as is a retry while the first request
// is still running (409). A request that crashed mid-way leaves an
// in-flight record; once it is older than the lock timeout the key can be
// claimed again.
//
// Memory per keyed request: the body is fingerprinted while it streams in,
// never read whole into memory. Up to Config.MemoryBody (1 MiB) of it is
// kept in memory for the handler (none if its Content-Length is larger),
// the rest in a 0600 temporary file removed when the request ends. The
// parsers add their buffers: tens of KiB for multipart (part headers
// aside, which mime/multipart bounds), and for JSON, canonicalised only up
// to MaxCanonicalJSON (256 KiB), about 2 MiB at most, most of it garbage
// at once. A body over Config.MaxBody is refused
// after reading at most MaxBody+1 bytes of it, none if its Content-Length
// says so. The middleware belongs behind a route's own checks (who may
// send, how much), so that a refused request's body is never read.
//
// That is the middleware's share; what the handler keeps of the body is
// its own. The body it hands on has a Size() int64 method (the whole body
// is in hand), so a handler that must hold a part whole, as photofeed's
// upload holds its photo (up to 20 MiB) while checking and storing it, can
// allocate that once instead of growing it.
//
// Only a request's result is stored: a 2xx, 3xx or 4xx answer. A server
// error (5xx), a 429 or a 499 (the client went away) says only that the
// request did not get to run now; it is not stored and its key is freed, so
// the retry runs again. A request whose write committed before such an
// answer keeps its key committed, and its retry is answered from what it
// created instead of running twice.
//
// Responses that carry credentials are never stored (Config.NoStore): such
// a request simply runs again when retried.
package idempotency

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// State is where a keyed request stands.
type State string

const (
	InFlight  State = "in_flight" // claimed, running
	Committed State = "committed" // its write committed; the response may not be stored yet
	Done      State = "done"      // the response is stored
)

// Record is what a Store keeps per key.
type Record struct {
	Key         string
	Fingerprint string
	State       State
	LockedAt    time.Time
	ExpiresAt   time.Time
	// Resource names what the request created, recorded in the same
	// transaction as the write; the zero Resource if it made nothing a
	// retry can be answered with.
	Resource Resource
	Response *Response
}

// Response is a stored response.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Store keeps records. Implementations must make Claim atomic: of any
// number of concurrent claims of one key, exactly one wins.
type Store interface {
	// Claim creates an in-flight record for key, or takes over one that has
	// expired or whose lock is older than lockTimeout. Otherwise it returns
	// the existing record and claimed = false.
	Claim(ctx context.Context, key, fingerprint string, now time.Time, lockTimeout, ttl time.Duration) (existing *Record, claimed bool, err error)
	// Complete stores the response of a claimed key.
	Complete(ctx context.Context, key string, resp Response, now time.Time) error
	// Release forgets a claimed key whose request did not get to run.
	Release(ctx context.Context, key string) error
	// DeleteExpired removes records past their expiry.
	DeleteExpired(ctx context.Context, now time.Time) (int, error)
}

// ErrNotClaimed is returned by Complete for a key nobody holds.
var ErrNotClaimed = errors.New("idempotency: key not claimed")
