package web

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/photofeed/photofeed/idempotency"
)

// A page whose client closed the connection mid-way is a cancelled
// request (499, INFO), not a page that failed.
func TestPageCancelledByTheClientIsNotAFailure(t *testing.T) {
	var logs bytes.Buffer
	ui, err := New(Deps{Logger: slog.New(slog.NewTextHandler(&logs, nil)), CSRFKey: []byte("k")})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	w := httptest.NewRecorder()
	ui.fail(w, httptest.NewRequest("GET", "/", nil).WithContext(ctx), fmt.Errorf("home feed: %w", context.Canceled))
	if w.Code != idempotency.StatusClientClosedRequest || strings.Contains(logs.String(), "level=ERROR") {
		t.Fatalf("answered %d; logs:\n%s", w.Code, logs.String())
	}
}
