package logging_test

import (
	"bytes"
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
