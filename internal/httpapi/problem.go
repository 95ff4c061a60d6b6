package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/photofeed/photofeed/idempotency"
	"github.com/photofeed/photofeed/internal/errkind"
)

// Problem is an RFC 9457 problem details object.
type Problem struct {
	Type     string            `json:"type"`
	Title    string            `json:"title"`
	Status   int               `json:"status"`
	Detail   string            `json:"detail,omitempty"`
	Instance string            `json:"instance,omitempty"`
	Errors   map[string]string `json:"errors,omitempty"`
	// ViolatedPolicies names the rate-limit policies a 429 ran out of.
	ViolatedPolicies []string `json:"violated-policies,omitempty"`
}

// ProblemBase prefixes every problem type; the README documents each one.
const ProblemBase = "/problems/"

// kinds maps each domain error kind to its HTTP answer: the one place where
// domain errors become status codes.
var kinds = map[errkind.Kind]struct {
	status int
	slug   string
}{
	errkind.Invalid:         {http.StatusUnprocessableEntity, "validation-error"},
	errkind.Malformed:       {http.StatusBadRequest, "bad-request"},
	errkind.NotFound:        {http.StatusNotFound, "not-found"},
	errkind.Conflict:        {http.StatusConflict, "conflict"},
	errkind.Unauthenticated: {http.StatusUnauthorized, "unauthenticated"},
	errkind.Forbidden:       {http.StatusForbidden, "forbidden"},
	errkind.TooLarge:        {http.StatusRequestEntityTooLarge, "too-large"},
	errkind.Unsupported:     {http.StatusUnsupportedMediaType, "unsupported-media-type"},
	errkind.Unavailable:     {http.StatusServiceUnavailable, "unavailable"},
	errkind.Internal:        {http.StatusInternalServerError, "internal"},
}

// StatusFor is the HTTP status for an error of kind k; the UI uses it too.
func StatusFor(k errkind.Kind) int {
	return kinds[k].status
}

// problemFor turns err into a problem; internal errors say nothing of their
// cause to the client.
func problemFor(err error) Problem {
	k := errkind.Of(err)
	m := kinds[k]
	p := Problem{Type: ProblemBase + m.slug, Title: http.StatusText(m.status), Status: m.status}
	if e, ok := errors.AsType[*errkind.Error](err); ok && k != errkind.Internal {
		p.Detail, p.Errors = e.Message, e.Fields
	} else {
		p.Detail = "something went wrong on our side; the request id identifies it in our logs"
	}
	return p
}

// WriteError answers with the problem for err and logs it if it is ours.
// A failure caused by the request's own cancellation (its client closed the
// connection) is not ours: it is answered 499, to nobody, for the access
// log, and logged at INFO.
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	if errors.Is(err, context.Canceled) && errors.Is(r.Context().Err(), context.Canceled) {
		log.InfoContext(r.Context(), "request cancelled by the client", "err", err)
		WriteProblem(w, Problem{Type: ProblemBase + "client-closed-request", Status: idempotency.StatusClientClosedRequest,
			Detail: "the client closed the request before it was answered"})
		return
	}
	p := problemFor(err)
	if p.Status >= 500 {
		log.ErrorContext(r.Context(), "request failed", "err", err)
	}
	WriteProblem(w, p)
}

// WriteProblem writes p as application/problem+json.
func WriteProblem(w http.ResponseWriter, p Problem) {
	if p.Title == "" {
		p.Title = statusText(p.Status)
	}
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	h.Del("Content-Length")
	if p.Status == http.StatusServiceUnavailable && h.Get("Retry-After") == "" {
		h.Set("Retry-After", "5")
	}
	if p.Status == http.StatusUnauthorized && h.Get("WWW-Authenticate") == "" {
		h.Set("WWW-Authenticate", `Bearer realm="photofeed"`)
	}
	w.WriteHeader(p.Status)
	json.NewEncoder(w).Encode(p)
}

// statusText is http.StatusText, and names the 499 it does not know.
func statusText(status int) string {
	if status == idempotency.StatusClientClosedRequest {
		return "Client Closed Request"
	}
	return http.StatusText(status)
}

// badRequest is a 400 for a malformed request (query, path, JSON syntax).
func badRequest(detail string, fields map[string]string) Problem {
	return Problem{Type: ProblemBase + "bad-request", Status: http.StatusBadRequest, Detail: detail, Errors: fields}
}

// NotFoundAndMethodProblems turns the mux's plain-text 404 and 405 answers
// into problems (keeping Allow), and hands 404s of browser page loads to
// page, so people get a page and programs get JSON.
func NotFoundAndMethodProblems(mux *http.ServeMux, page http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// mux.Handler finds the route without setting path values, so a
		// match is served by the mux itself.
		h, pattern := mux.Handler(r)
		if pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		rec := &headerRecorder{header: http.Header{}}
		h.ServeHTTP(rec, r)
		switch rec.status {
		case http.StatusMethodNotAllowed:
			w.Header().Set("Allow", rec.header.Get("Allow"))
			WriteProblem(w, Problem{Type: ProblemBase + "method-not-allowed", Status: rec.status,
				Detail: r.Method + " is not allowed here; allowed: " + rec.header.Get("Allow")})
		case http.StatusNotFound:
			if page != nil && wantsHTML(r) {
				page.ServeHTTP(w, r)
				return
			}
			WriteProblem(w, Problem{Type: ProblemBase + "not-found", Status: rec.status,
				Detail: "no resource at " + strconv.Quote(r.URL.Path)})
		default: // redirects the mux makes for cleaned paths
			h.ServeHTTP(w, r)
		}
	})
}

type headerRecorder struct {
	header http.Header
	status int
}

func (h *headerRecorder) Header() http.Header         { return h.header }
func (h *headerRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (h *headerRecorder) WriteHeader(s int)           { h.status = s }

func wantsHTML(r *http.Request) bool {
	return strings.Contains(strings.ToLower(r.Header.Get("Accept")), "text/html")
}
