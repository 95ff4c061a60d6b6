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

// /readyz says 503 while an event consumer is not running or a background
// worker is down, and names it: an instance that cannot follow events or
// keep its workers up is not doing its whole job.
func TestReadyzReportsConsumersAndWorkers(t *testing.T) {
	for _, tt := range []struct {
		field string
		deps  func(failing func() error) Deps
		fault string
	}{
		{"events", func(f func() error) Deps { return Deps{Events: f} }, "consumer search-1: nats: timeout"},
		{"workers", func(f func() error) Deps { return Deps{Workers: f} }, "worker fan-out down: consumer deleted"},
	} {
		t.Run(tt.field, func(t *testing.T) {
			var fault error
			deps := tt.deps(func() error { return fault })
			deps.Ready = func(context.Context) error { return nil }
			deps.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
			mux := http.NewServeMux()
			New(deps).RegisterHealth(mux)
			get := func() (int, map[string]any) {
				rec := httptest.NewRecorder()
				mux.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
				var body map[string]any
				json.Unmarshal(rec.Body.Bytes(), &body)
				return rec.Code, body
			}
			if code, body := get(); code != 200 || body[tt.field] != "ok" {
				t.Fatalf("all running: %d %v", code, body)
			}
			fault = errors.New(tt.fault)
			if code, body := get(); code != 503 || body[tt.field] != tt.fault || body["status"] != "unavailable" {
				t.Fatalf("one failing: %d %v, want 503 naming it", code, body)
			}
		})
	}
}
