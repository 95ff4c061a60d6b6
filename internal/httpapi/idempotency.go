package httpapi

import (
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/photofeed/photofeed/idempotency"
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
// recover serves the GET that renders a created resource.
func (a *API) keyed(o keyOpts, recover http.Handler, fn handlerFunc) handlerFunc {
	if a.deps.Idempotency == nil {
		return fn
	}
	cfg := *a.deps.Idempotency
	cfg.Problem = IdempotencyProblem
	cfg.Recover = a.RecoverCreated(recover)
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
func (a *API) keyedAs(o keyOpts, recover http.Handler, fn func(w http.ResponseWriter, r *http.Request, uid int64) error) func(w http.ResponseWriter, r *http.Request, uid int64) error {
	h := a.keyed(o, recover, func(w http.ResponseWriter, r *http.Request) error {
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

// RecoverCreated answers a replayed create whose write committed but whose
// response was lost (a crash between the two): it renders the resource the
// way a GET would, as the 201 the first request would have sent.
func (a *API) RecoverCreated(h http.Handler) func(w http.ResponseWriter, r *http.Request, resource string) bool {
	return func(w http.ResponseWriter, r *http.Request, resource string) bool {
		kind, id, ok := strings.Cut(resource, ":")
		if !ok {
			return false
		}
		version := "/v1"
		if strings.HasPrefix(r.URL.Path, "/v2/") {
			version = "/v2"
		}
		var loc string
		switch kind {
		case "post":
			loc = version + "/posts/" + id
		case "user":
			loc = version + "/users/" + id
		default:
			return false
		}
		get := httptest.NewRequestWithContext(r.Context(), http.MethodGet, loc, nil)
		get.Header = r.Header.Clone()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, get)
		if rec.Code != http.StatusOK {
			return false
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Set("Location", loc)
		w.WriteHeader(http.StatusCreated)
		w.Write(rec.Body.Bytes())
		return true
	}
}
