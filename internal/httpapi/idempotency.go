package httpapi

import (
	"net/http"
	"strconv"

	"github.com/photofeed/photofeed/idempotency"
	"github.com/photofeed/photofeed/internal/errkind"
	"github.com/photofeed/photofeed/internal/identity"
	"github.com/photofeed/photofeed/internal/posts"
	"github.com/photofeed/photofeed/internal/problem"
)

// keyOpts is how a POST route takes an Idempotency-Key.
type keyOpts struct {
	required bool  // the request must carry one
	noStore  bool  // the answer carries credentials: it is never stored
	maxBody  int64 // the route's own body limit
}

// keyed runs fn under the request's Idempotency-Key. A route puts it after
// its own checks (credentials, a login), so the body of a request about to
// be refused is never read, and reads at most the route's limit of it.
// The handler passes the request's claim on the key
// (idempotency.ClaimOf) to the write it makes.
func (a *API) keyed(o keyOpts, fn handlerFunc) handlerFunc {
	if a.deps.Idempotency == nil {
		return fn
	}
	cfg := *a.deps.Idempotency
	cfg.Problem = IdempotencyProblem
	cfg.Recover = a.recoverCreated
	cfg.MaxBody = o.maxBody
	cfg.NoStore = o.noStore
	cfg.Required = func(*http.Request) bool { return o.required }
	h := idempotency.Middleware(cfg, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			a.fail(w, r, err)
		}
	}))
	return func(w http.ResponseWriter, r *http.Request) error {
		h.ServeHTTP(w, r)
		return nil
	}
}

// keyedAs is keyed for a route of a signed-in user.
func (a *API) keyedAs(o keyOpts, fn func(w http.ResponseWriter, r *http.Request, uid int64) error) func(w http.ResponseWriter, r *http.Request, uid int64) error {
	h := a.keyed(o, func(w http.ResponseWriter, r *http.Request) error {
		return fn(w, r, httpauthUserID(r))
	})
	return func(w http.ResponseWriter, r *http.Request, _ int64) error { return h(w, r) }
}

// IdempotencyProblem writes the idempotency middleware's errors as problems.
// The type links to the problem's documentation, and so does a Link
// rel="help" header, for clients that only look at headers.
func IdempotencyProblem(w http.ResponseWriter, r *http.Request, status int, slug, detail string) {
	w.Header().Add("Link", `<`+problem.Base+slug+`>; rel="help"`)
	problem.Write(w, *problem.New(status, slug, detail))
}

// recoverCreated answers a replayed create whose write committed but
// whose response was lost (a crash between the two): the resource as its
// GET route shows it, in the request's API version, as the 201 the first
// request would have sent. It reports false if the resource cannot be
// shown (gone since, or a store failing).
func (a *API) recoverCreated(w http.ResponseWriter, r *http.Request, created idempotency.Resource) bool {
	var body any
	var err error
	var collection string
	switch created.Kind {
	case posts.ResourceKind:
		collection = "/posts/"
		var id int64
		if id, err = strconv.ParseInt(created.ID, 10, 64); err == nil {
			body, err = a.postBody(r, id)
		}
	case identity.ResourceKind:
		collection = "/users/"
		body, err = a.profileOf(r, created.ID)
	default:
		a.log.ErrorContext(r.Context(), "a committed idempotency key names a resource of no known kind", "resource", created.String())
		return false
	}
	if err != nil {
		if errkind.Of(err) != errkind.NotFound {
			a.log.ErrorContext(r.Context(), "rendering a recovered create failed", "resource", created.String(), "err", err)
		}
		return false
	}
	w.Header().Set("Location", versionPrefix(r)+collection+created.ID)
	writeJSON(w, http.StatusCreated, body)
	return true
}
