package logging_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/photofeed/photofeed/internal/logging"
)

func TestRequestIDOnHeaderAndEveryLogLine(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(logging.NewHandler(slog.NewTextHandler(&buf, nil)))
	h := logging.Middleware(log, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.InfoContext(r.Context(), "inside handler")
	}))
	for _, tc := range []struct{ incoming, want string }{
		{"client-id-1", "client-id-1"},
		{"bad id\nwith newline", ""},
		{"", ""},
	} {
		buf.Reset()
		req := httptest.NewRequest("GET", "/", nil)
		if tc.incoming != "" {
			req.Header.Set("X-Request-Id", tc.incoming)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		id := rec.Header().Get("X-Request-Id")
		if id == "" || (tc.want != "" && id != tc.want) || (tc.want == "" && id == tc.incoming) {
			t.Fatalf("incoming %q: response id %q", tc.incoming, id)
		}
		lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
		if len(lines) != 2 {
			t.Fatalf("want handler line + access line, got %q", lines)
		}
		for _, l := range lines {
			if !strings.Contains(l, "request_id="+id) {
				t.Errorf("log line without request id: %s", l)
			}
		}
	}
}

// A request whose client went away is logged as cancelled (499, INFO),
// whatever the handler made of it; a server error otherwise stays one.
func TestCancelledRequestsAreNotServerErrors(t *testing.T) {
	for _, tc := range []struct {
		name       string
		clientGone bool
		write      int // 0: the handler writes nothing
		wantStatus float64
		wantLevel  string
	}{
		{"client gone, nothing written", true, 0, 499, "INFO"},
		{"client gone, answered 500", true, 500, 499, "INFO"},
		{"client gone, answered 201", true, 201, 201, "INFO"},
		{"client there, answered 500", false, 500, 500, "ERROR"},
		{"client there, nothing written", false, 0, 200, "INFO"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := slog.New(logging.NewHandler(slog.NewJSONHandler(&buf, nil)))
			h := logging.Middleware(log, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.write != 0 {
					w.WriteHeader(tc.write)
				}
			}))
			ctx, cancel := context.WithCancel(t.Context())
			if tc.clientGone {
				cancel()
			}
			defer cancel()
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/v2/feed", nil).WithContext(ctx))
			var rec map[string]any
			if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
				t.Fatalf("%v: %s", err, buf.String())
			}
			if rec["status"] != tc.wantStatus || rec["level"] != tc.wantLevel {
				t.Fatalf("logged %s", buf.String())
			}
		})
	}
}
