package home_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/photofeed/photofeed/internal/home"
	"github.com/photofeed/photofeed/internal/httpauth"
)

// partHeaders serves GET /v2/home with the client's headers (a bearer
// token added) and returns the header name as each part was asked for
// it, by part path.
func partHeaders(t *testing.T, name string, client map[string]string) map[string]string {
	t.Helper()
	var mu sync.Mutex
	asked := map[string]string{}
	parts := api("", nil)
	h := httpauth.Middleware(anyToken{}, slog.New(slog.DiscardHandler), home.New(home.Config{
		API: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			asked[r.URL.Path] = r.Header.Get(name)
			mu.Unlock()
			parts.ServeHTTP(w, r)
		}),
		Log: slog.New(slog.DiscardHandler),
	}))
	req := httptest.NewRequest("GET", "/v2/home", nil)
	req.Header.Set("Authorization", "Bearer t")
	for k, v := range client {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	return asked
}
