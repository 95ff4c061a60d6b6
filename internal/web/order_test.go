package web_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/photofeed/photofeed/idempotency"
	"github.com/photofeed/photofeed/ids"
	"github.com/photofeed/photofeed/internal/httpauth"
	"github.com/photofeed/photofeed/internal/identity"
	"github.com/photofeed/photofeed/internal/sqlite"
	"github.com/photofeed/photofeed/internal/web"
)

// watchedBody records whether anything read it.
type watchedBody struct {
	r    io.Reader
	read bool
}

func (b *watchedBody) Read(p []byte) (int, error) {
	b.read = true
	return b.r.Read(p)
}

func (b *watchedBody) Close() error { return nil }

// A form post that fails the cheap checks (no login, no CSRF cookie) is
// answered without its body being read: an anonymous stranger cannot make
// the server parse 20 MiB of multipart.
func TestFormsCheckBeforeReadingTheBody(t *testing.T) {
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "ui.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	idSvc, err := identity.NewService(db.Identity(), ids.NewGenerator(nil), identity.Config{
		SigningKey:     bytes.Repeat([]byte("k"), 32),
		PasswordParams: identity.PasswordParams{Time: 1, Memory: 64, Threads: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := idSvc.Register(t.Context(), "alice", "password-alice", "", idempotency.Claim{}); err != nil {
		t.Fatal(err)
	}
	token, _, err := idSvc.Login(t.Context(), "alice", "password-alice")
	if err != nil {
		t.Fatal(err)
	}
	ui, err := web.New(web.Deps{Identity: idSvc, CSRFKey: bytes.Repeat([]byte("c"), 32)})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	ui.Register(mux)
	h := httpauth.Middleware(idSvc, slog.New(slog.NewTextHandler(io.Discard, nil)), mux)

	multipartBody := "--b\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"p.jpg\"\r\n\r\n" +
		strings.Repeat("x", 1<<20) + "\r\n--b--\r\n"
	for _, tt := range []struct {
		name, path string
		session    bool
		want       int
	}{
		{"anonymous upload", "/upload", false, http.StatusSeeOther},
		{"anonymous follow", "/u/alice/follow", false, http.StatusSeeOther},
		{"upload without a CSRF cookie", "/upload", true, http.StatusForbidden},
		{"login without a CSRF cookie", "/login", false, http.StatusForbidden},
	} {
		t.Run(tt.name, func(t *testing.T) {
			body := &watchedBody{r: strings.NewReader(multipartBody)}
			r := httptest.NewRequest("POST", tt.path, nil)
			r.Body = body
			r.Header.Set("Content-Type", "multipart/form-data; boundary=b")
			if tt.session {
				r.AddCookie(&http.Cookie{Name: httpauth.CookieName, Value: token})
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.want {
				t.Fatalf("status %d, want %d", w.Code, tt.want)
			}
			if body.read {
				t.Fatal("the body was read before the request was refused")
			}
		})
	}
}
