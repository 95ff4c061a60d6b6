package problem

import (
	"net/http"
	"strconv"
	"strings"
)

// NotFoundAndMethod turns the mux's plain-text 404 and 405 answers into
// problems (keeping Allow), and hands 404s of browser page loads to page,
// so people get a page and programs get JSON.
func NotFoundAndMethod(mux *http.ServeMux, page http.Handler) http.Handler {
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
			Write(w, *New(rec.status, "method-not-allowed",
				r.Method+" is not allowed here; allowed: "+rec.header.Get("Allow")))
		case http.StatusNotFound:
			if page != nil && wantsHTML(r) {
				page.ServeHTTP(w, r)
				return
			}
			Write(w, *New(rec.status, "not-found", "no resource at "+strconv.Quote(r.URL.Path)))
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
