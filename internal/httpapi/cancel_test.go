package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/photofeed/photofeed/internal/logging"
)

// A handler failing with its request's own cancellation (the client closed
// the connection mid-feed) is a cancelled request: 499, logged at INFO.
// The same error while the client is still there stays a server error.
func TestClientCancellationIsNotAServerError(t *testing.T) {
	for _, tc := range []struct {
		name        string
		clientGone  bool
		wantStatus  int
		wantLevel   string
		errorLogged bool
	}{
		{"client gone", true, 499, "INFO", false},
		{"cancelled inside, client still there", false, 500, "ERROR", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			log := slog.New(logging.NewHandler(slog.NewJSONHandler(&logs, nil)))
			a := New(Deps{Logger: log})
			h := logging.Middleware(log, a.handle(func(w http.ResponseWriter, r *http.Request) error {
				return fmt.Errorf("read the home timeline: %w", context.Canceled)
			}))
			ctx, cancel := context.WithCancel(t.Context())
			if tc.clientGone {
				cancel()
			}
			defer cancel()
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest("GET", "/v2/feed", nil).WithContext(ctx))
			if w.Code != tc.wantStatus {
				t.Errorf("answered %d, want %d", w.Code, tc.wantStatus)
			}
			var access map[string]any
			errors := 0
			for line := range strings.Lines(logs.String()) {
				var rec map[string]any
				json.Unmarshal([]byte(line), &rec)
				if rec["msg"] == "request" {
					access = rec
				} else if rec["level"] == "ERROR" {
					errors++
				}
			}
			if access["status"] != float64(tc.wantStatus) || access["level"] != tc.wantLevel || (errors > 0) != tc.errorLogged {
				t.Fatalf("access log %v, %d error lines; logs:\n%s", access, errors, logs.String())
			}
		})
	}
}
