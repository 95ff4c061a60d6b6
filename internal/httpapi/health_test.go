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

// A store of the node's own (SQLite) that fails takes the node out (503);
// one every node shares (PostgreSQL) leaves it in, degraded: all nodes
// out together would serve nothing at all.
func TestReadyzStoreUnreachable(t *testing.T) {
	for _, shared := range []bool{false, true} {
		mux := http.NewServeMux()
		New(Deps{
			Ready:       func(context.Context) error { return errors.New("connection refused") },
			StoreShared: shared,
			Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		}).RegisterHealth(mux)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		var body map[string]any
		json.Unmarshal(rec.Body.Bytes(), &body)
		want, status := 503, "unavailable"
		if shared {
			want, status = 200, "degraded"
		}
		if rec.Code != want || body["status"] != status || body["store"] != "unreachable" {
			t.Errorf("store shared %v, unreachable: %d %v, want %d %s", shared, rec.Code, body, want, status)
		}
	}
}

// A part every node shares that leaves the node serving (the database
// primary, the event bus) makes /readyz "degraded", still 200, and says
// which; a part without which the node should be out of rotation still
// wins with 503.
func TestReadyzDegraded(t *testing.T) {
	var primary, bus, workers error
	mux := http.NewServeMux()
	New(Deps{
		Ready:    func(context.Context) error { return nil },
		Writable: func(context.Context) error { return primary },
		Bus:      func() error { return bus },
		Workers:  func() error { return workers },
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	}).RegisterHealth(mux)
	get := func() (int, map[string]any) {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		var body map[string]any
		json.Unmarshal(rec.Body.Bytes(), &body)
		return rec.Code, body
	}
	if code, body := get(); code != 200 || body["status"] != "ok" || body["store"] != "ok" || body["bus"] != "ok" {
		t.Fatalf("all up: %d %v", code, body)
	}
	primary = errors.New("database main: the primary is unreachable")
	if code, body := get(); code != 200 || body["status"] != "degraded" || body["store"] != "primary unreachable" {
		t.Fatalf("primary down: %d %v, want 200 degraded", code, body)
	}
	bus = errors.New("nats: reconnecting")
	if code, body := get(); code != 200 || body["status"] != "degraded" || body["bus"] != "disconnected" {
		t.Fatalf("primary and bus down: %d %v, want 200 degraded", code, body)
	}
	workers = errors.New("worker fan-out down: consumer deleted")
	if code, body := get(); code != 503 || body["status"] != "unavailable" || body["bus"] != "disconnected" {
		t.Fatalf("a worker down as well: %d %v, want 503", code, body)
	}
}
