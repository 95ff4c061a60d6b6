package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

// /readyz says 503 while an event consumer is not running, and names it:
// an instance that cannot follow events is not doing its whole job.
func TestReadyzReportsEventConsumers(t *testing.T) {
	var events error
	a := New(Deps{Ready: func(context.Context) error { return nil }, Events: func() error { return events },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	mux := http.NewServeMux()
	a.RegisterHealth(mux)
	get := func() (int, map[string]any) {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		var body map[string]any
		json.Unmarshal(rec.Body.Bytes(), &body)
		return rec.Code, body
	}
	if code, body := get(); code != 200 || body["events"] != "ok" {
		t.Fatalf("consumers running: %d %v", code, body)
	}
	events = errors.New("consumer search-1: nats: timeout")
	if code, body := get(); code != 503 || body["events"] != events.Error() || body["status"] != "unavailable" {
		t.Fatalf("a consumer failing: %d %v, want 503 naming it", code, body)
	}
}

// /readyz says 503 while a background worker is down, and names it.
func TestReadyzReportsWorkers(t *testing.T) {
	var down error
	a := New(Deps{Ready: func(context.Context) error { return nil }, Workers: func() error { return down },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	mux := http.NewServeMux()
	a.RegisterHealth(mux)
	get := func() (int, map[string]any) {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		var body map[string]any
		json.Unmarshal(rec.Body.Bytes(), &body)
		return rec.Code, body
	}
	if code, body := get(); code != 200 || body["workers"] != "ok" {
		t.Fatalf("workers up: %d %v", code, body)
	}
	down = errors.New("worker fan-out down: consumer deleted")
	if code, body := get(); code != 503 || body["workers"] != down.Error() || body["status"] != "unavailable" {
		t.Fatalf("a worker down: %d %v, want 503 naming it", code, body)
	}
}
