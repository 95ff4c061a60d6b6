// Package httpapi is photofeed's REST API (v1, JSON): routes, request
// decoding and validation at the edge, and problem+json errors.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/photofeed/photofeed/idempotency"
	"github.com/photofeed/photofeed/internal/blobstore"
	"github.com/photofeed/photofeed/internal/httpauth"
	"github.com/photofeed/photofeed/internal/identity"
	"github.com/photofeed/photofeed/internal/problem"
)

func httpauthUserID(r *http.Request) int64 { return httpauth.UserID(r.Context()) }

// BlobOpener serves stored media.
type BlobOpener interface {
	Open(ctx context.Context, key string) (*blobstore.Blob, error)
}

// Deps are what the API serves from.
type Deps struct {
	Identity Identity
	Posts    Posts
	Graph    Graph
	Feed     Feed
	Search   Search // search.Unavailable where there is no index
	Jobs     Jobs
	Blobs    BlobOpener
	// MediaRedirect, if set, makes /media/ answer with a redirect to the
	// URL it returns (a presigned object-store URL) instead of the bytes.
	MediaRedirect func(ctx context.Context, key string) (string, error)
	// Ready reports whether the stores answer reads; /readyz says 503
	// when not, unless StoreShared.
	Ready func(ctx context.Context) error
	// StoreShared says the stores are servers every node shares
	// (PostgreSQL), not the node's own (SQLite): losing them is then the
	// whole deployment's loss, and /readyz answers 200 "degraded" with
	// "store": "unreachable" rather than taking every node out together
	// (each still serves what needs no database: media, kept feed pages,
	// the UI's assets), and back the moment the database is.
	StoreShared bool
	// Writable, if set, reports whether the stores take writes (their
	// primaries answer). While it fails and Ready does not, /readyz
	// answers 200 with "status": "degraded" and "store": "primary
	// unreachable": the node still serves reads, and so does every other
	// node of a deployment that shares the primary (docs/architecture.md,
	// Degradation).
	Writable func(ctx context.Context) error
	// Bus, if set, reports whether the node is connected to the event
	// bus. While it is not, /readyz answers 200 with "status": "degraded"
	// and "bus": "disconnected": reads and writes go on, the feed's
	// freshness lags.
	Bus func() error
	// Events, if set, reports the event consumers that are not running
	// (one that cannot be made, or stopped): /readyz says 503 while it
	// fails, naming them, for this instance falls behind on events.
	Events func() error
	// Workers, if set, reports the background workers that are down (one
	// that failed, until its restart has run a while): /readyz says 503
	// while it fails, naming them.
	Workers func() error
	// ReadyDetail, if set, adds the replicas' state to /readyz.
	ReadyDetail func() any
	Logger      *slog.Logger
	// MaxUploadBytes bounds a photo upload (default 20 MiB).
	MaxUploadBytes int64
	// UploadWait is how long an upload's response waits for its
	// thumbnails before answering "processing" (default 0: no wait).
	UploadWait time.Duration
	// MediaBaseURL prefixes media URLs, e.g. a CDN origin; "" serves them
	// from this host.
	MediaBaseURL string
	// Idempotency configures the Idempotency-Key handling of every POST
	// route (Store, TTL, Scope, ...); each route adds its own limit and
	// rules. nil: keys are not honoured.
	Idempotency *idempotency.Config
	// Live holds the live feed streams (GET /v2/feed/stream); nil: 503.
	Live LiveFeed
	// StreamHeartbeat is how often an idle stream sends a comment line,
	// so proxies do not close it (default 15s).
	StreamHeartbeat time.Duration
}

// API serves the REST routes.
type API struct {
	deps    Deps
	log     *slog.Logger
	openapi []byte
}

func New(deps Deps) *API {
	if deps.MaxUploadBytes <= 0 {
		deps.MaxUploadBytes = 20 << 20
	}
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	return &API{deps: deps, log: deps.Logger, openapi: OpenAPI()}
}

// handlerFunc is a handler that may fail; errors become problems.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// A rejected bearer token fails every route, public ones included, so a
// client with an expired token learns of it instead of silently reading as
// anonymous.
func (a *API) handle(fn handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := httpauth.BadCredentials(r.Context()); err != nil {
			a.fail(w, r, err)
			return
		}
		if err := fn(w, r); err != nil {
			a.fail(w, r, err)
		}
	})
}

func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	if p, ok := err.(*problem.Details); ok {
		problem.Write(w, *p)
		return
	}
	problem.WriteError(w, r, a.log, err)
}

// authed wraps handlers that need a signed-in user.
func (a *API) authed(fn func(w http.ResponseWriter, r *http.Request, userID int64) error) http.Handler {
	return a.handle(func(w http.ResponseWriter, r *http.Request) error {
		uid := httpauth.UserID(r.Context())
		if uid == 0 {
			return identity.ErrUnauthenticated
		}
		return fn(w, r, uid)
	})
}
