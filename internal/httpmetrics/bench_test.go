package httpmetrics_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/photofeed/photofeed/internal/httpmetrics"
)

// BenchmarkMiddleware compares a routed request with and without the
// metrics, for what they add to each request's allocations.
func BenchmarkMiddleware(b *testing.B) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/posts/{id}", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	m := httpmetrics.New()
	for _, c := range []struct {
		name string
		h    http.Handler
	}{
		{"bare", mux},
		{"metrics", m.Middleware(mux, httpmetrics.Route(mux))},
	} {
		b.Run(c.name, func(b *testing.B) {
			r := httptest.NewRequest("GET", "/v1/posts/42", nil)
			w := discard{header: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				c.h.ServeHTTP(w, r)
			}
		})
	}
}

type discard struct{ header http.Header }

func (d discard) Header() http.Header         { return d.header }
func (d discard) Write(b []byte) (int, error) { return len(b), nil }
func (d discard) WriteHeader(int)             {}
