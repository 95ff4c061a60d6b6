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

// The extras are asked for at a low RFC 9218 urgency, so that an
// overloaded api node turns them away before the feed.
func TestHomeAsksExtrasAtLowUrgency(t *testing.T) {
	var mu sync.Mutex
	priority := map[string]string{}
	parts := api("", nil)
	h := httpauth.Middleware(anyToken{}, slog.New(slog.DiscardHandler), home.New(home.Config{
		API: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			priority[r.URL.Path] = r.Header.Get("Priority")
			mu.Unlock()
			parts.ServeHTTP(w, r)
		}),
		Log: slog.New(slog.DiscardHandler),
	}))
	req := httptest.NewRequest("GET", "/v2/home", nil)
	req.Header.Set("Authorization", "Bearer t")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	want := map[string]string{"/v2/me": "u=5", "/v2/suggestions": "u=5", "/v2/feed": ""}
	for path, p := range want {
		if priority[path] != p {
			t.Errorf("%s asked with Priority %q, want %q", path, priority[path], p)
		}
	}
}
