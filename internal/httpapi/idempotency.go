package httpapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
)

// IdempotencyProblem writes the idempotency middleware's errors as problems.
// The type links to the problem's documentation, and so does a Link
// rel="help" header, for clients that only look at headers.
func IdempotencyProblem(w http.ResponseWriter, r *http.Request, status int, slug, detail string) {
	w.Header().Add("Link", `<`+ProblemBase+slug+`>; rel="help"`)
	WriteProblem(w, Problem{Type: ProblemBase + slug, Status: status, Detail: detail})
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
