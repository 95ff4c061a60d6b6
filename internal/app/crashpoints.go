package app

import (
	"io"
	"net/http"
	"strings"

	"github.com/photofeed/photofeed/internal/crashpoint"
)

// uploadCrashPoints marks the two moments of an upload that no handler
// sees: its body arriving, and its answer gone out. Outermost, so that the
// answer is whole (every middleware done, the idempotency record stored)
// and flushed before the crash. Unarmed it costs two atomic loads per
// POST.
func uploadCrashPoints(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/posts") {
			h.ServeHTTP(w, r)
			return
		}
		if crashpoint.Armed(crashpoint.UploadBody) {
			r.Body = &firstRead{ReadCloser: r.Body}
		}
		if !crashpoint.Armed(crashpoint.UploadAnswered) {
			h.ServeHTTP(w, r)
			return
		}
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		if sw.status == http.StatusCreated {
			http.NewResponseController(w).Flush()
			crashpoint.Hit(crashpoint.UploadAnswered)
		}
	})
}

// firstRead passes UploadBody once some of the body has been read, and
// (a body is larger than one read) not all of it.
type firstRead struct {
	io.ReadCloser
	passed bool
}

func (b *firstRead) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 && err == nil && !b.passed {
		b.passed = true
		crashpoint.Hit(crashpoint.UploadBody)
	}
	return n, err
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
