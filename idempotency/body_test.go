package idempotency_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/photofeed/photofeed/idempotency"
	"github.com/photofeed/photofeed/internal/logging"
)

// pattern is an endless, allocation-free body source.
type pattern struct{ n int64 }

func (p *pattern) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = byte('a' + (p.n+int64(i))%26)
	}
	p.n += int64(len(b))
	return len(b), nil
}

// counted counts the bytes read from it.
type counted struct {
	r io.Reader
	n int64
}

func (c *counted) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}

// uploadBody is a multipart upload of size bytes of photo, streamed.
func uploadBody(size int64) (string, io.Reader) {
	const boundary = "b0undary"
	return "multipart/form-data; boundary=" + boundary, io.MultiReader(
		strings.NewReader("--"+boundary+"\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"p.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"),
		io.LimitReader(&pattern{}, size),
		strings.NewReader("\r\n--"+boundary+"--\r\n"))
}

func spoolFiles(t *testing.T, dir string) []os.FileInfo {
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var infos []os.FileInfo
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		infos = append(infos, fi)
	}
	return infos
}

// A body over the memory threshold waits for the handler in a private
// temporary file that is gone once the request is answered; a small one
// never touches the disk.
func TestBodySpooledToAPrivateFileAndRemoved(t *testing.T) {
	dir := t.TempDir()
	var seen [][]os.FileInfo
	var bodies [][]byte
	f := newFixture(t, func(f *fixture) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			seen = append(seen, spoolFiles(t, dir))
			b, _ := io.ReadAll(r.Body)
			bodies = append(bodies, b)
			w.WriteHeader(201)
		}
	}, func(c *idempotency.Config) { c.SpoolDir = dir; c.MemoryBody = 64 << 10 })

	large := bytes.Repeat([]byte("0123456789abcdef"), 3<<20/16)
	if w := f.send("u", `"large"`, body{"application/octet-stream", large}); w.Code != 201 {
		t.Fatalf("large: %d %q", w.Code, w.Body)
	}
	if len(seen[0]) != 1 || seen[0][0].Mode().Perm() != 0o600 || seen[0][0].Size() != int64(len(large)) {
		t.Fatalf("while the handler ran, the spool held %v; want one 0600 file of %d bytes", seen[0], len(large))
	}
	if !bytes.Equal(bodies[0], large) {
		t.Fatal("the handler read another body than was sent")
	}
	// A body of no declared length fills the memory first, then moves.
	r := httptest.NewRequest("POST", "/users", io.MultiReader(bytes.NewReader(large[:200<<10])))
	r.Header.Set("Idempotency-Key", `"streamed"`)
	r.Header.Set("X-User", "u")
	f.h.ServeHTTP(httptest.NewRecorder(), r)
	if len(seen[1]) != 1 || seen[1][0].Size() != 200<<10 || !bytes.Equal(bodies[1], large[:200<<10]) {
		t.Fatalf("streamed body: spool %v, handler saw the body intact: %v", seen[1], bytes.Equal(bodies[1], large[:200<<10]))
	}
	seen, bodies = seen[1:], bodies[1:]

	small := []byte("small body")
	if w := f.send("u", `"small"`, body{"text/plain", small}); w.Code != 201 || len(seen[1]) != 0 || !bytes.Equal(bodies[1], small) {
		t.Fatalf("small: %d, spool %v, body %q", w.Code, seen[1], bodies[1])
	}
	if left := spoolFiles(t, dir); len(left) != 0 {
		t.Fatalf("spool files left after the requests: %v", left)
	}
}

// A body over the route's limit is refused without being read (declared
// length) or without reading more than the limit (chunked).
func TestBodyOverTheLimitIsNotRead(t *testing.T) {
	const limit = 1 << 20
	f := newFixture(t, func(f *fixture) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			f.calls.Add(1)
			w.WriteHeader(201)
		}
	}, func(c *idempotency.Config) { c.MaxBody = limit; c.SpoolDir = t.TempDir() })
	for _, declared := range []bool{true, false} {
		src := &counted{r: io.LimitReader(&pattern{}, 8*limit)}
		r := httptest.NewRequest("POST", "/users", src)
		r.ContentLength = -1
		if declared {
			r.ContentLength = 8 * limit
		}
		r.Header.Set("Idempotency-Key", `"big"`)
		w := httptest.NewRecorder()
		f.h.ServeHTTP(w, r)
		if w.Code != 413 || w.Body.String() != "too-large" || f.calls.Load() != 0 {
			t.Fatalf("declared length %v: %d %q, handler calls %d", declared, w.Code, w.Body, f.calls.Load())
		}
		if max := map[bool]int64{true: 0, false: limit + 1}[declared]; src.n > max {
			t.Fatalf("declared length %v: %d bytes read, want at most %d", declared, src.n, max)
		}
		t.Logf("declared length %v: 413 after reading %d bytes of %d", declared, src.n, 8*limit)
	}
}

// Parallel keyed 20 MB uploads cost the middleware a bounded amount of
// memory each, not their size: the body streams through the fingerprint
// into the spool file.
func TestMemoryPerRequestIsBounded(t *testing.T) {
	const parallel, size = 6, 20 << 20
	f := newFixture(t, func(f *fixture) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.WriteHeader(201)
		}
	}, func(c *idempotency.Config) { c.SpoolDir = t.TempDir(); c.MaxBody = 32 << 20 })
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	rssBefore := resetPeakRSS(t)
	var wg sync.WaitGroup
	codes := make(chan int, parallel)
	for i := range parallel {
		wg.Go(func() {
			ct, src := uploadBody(size)
			codes <- f.stream("u", `"upload-`+string(rune('a'+i))+`"`, ct, src).Code
		})
	}
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != 201 {
			t.Fatalf("upload answered %d", c)
		}
	}
	runtime.ReadMemStats(&after)
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("%d parallel keyed %d MiB uploads: %.1f MiB allocated in all (%.1f MiB per request); peak RSS %d MiB above the start",
		parallel, size>>20, float64(allocated)/(1<<20), float64(allocated)/parallel/(1<<20), (peakRSS(t)-rssBefore)>>20)
	// Per request: the 1 MiB memory spool (these bodies declare no
	// length, so they fill it before going to the file) and the parsers'
	// buffers; a body that declares its length over 1 MiB skips the memory.
	if bound := uint64(parallel * 3 << 20 / 2); allocated > bound {
		t.Fatalf("allocated %d MiB, over the bound of %d MiB", allocated>>20, bound>>20)
	}
}

// A client that hangs up while its key is checked is logged as a cancelled
// request (499, INFO), not as a server error.
func TestClientGoneWhileTheKeyIsCheckedIsNotAServerError(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(logging.NewHandler(slog.NewJSONHandler(&logs, nil)))
	f := newFixture(t, createUser, func(c *idempotency.Config) { c.Logger = log })
	h := logging.Middleware(log, f.h)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	r := httptest.NewRequest("POST", "/users", strings.NewReader("alice")).WithContext(ctx)
	r.Header.Set("Idempotency-Key", `"k"`)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != idempotency.StatusClientClosedRequest {
		t.Errorf("answered %d, want 499", w.Code)
	}
	var access map[string]any
	for line := range strings.Lines(logs.String()) {
		var rec map[string]any
		json.Unmarshal([]byte(line), &rec)
		if rec["level"] == "ERROR" || rec["level"] == "WARN" {
			t.Errorf("logged as a failure: %s", line)
		}
		if rec["msg"] == "request" {
			access = rec
		}
	}
	if access == nil || access["status"] != float64(499) || access["level"] != "INFO" {
		t.Fatalf("access log %v; all logs:\n%s", access, logs.String())
	}
	if f.calls.Load() != 0 {
		t.Fatal("the handler ran for a request that was gone")
	}
}

// A route whose responses carry credentials stores nothing: a retry runs
// again, and the store keeps no record of the key.
func TestNoStoreRouteKeepsNothing(t *testing.T) {
	f := newFixture(t, func(f *fixture) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			f.calls.Add(1)
			w.WriteHeader(201)
			io.WriteString(w, `{"token":"secret-token"}`)
		}
	}, func(c *idempotency.Config) { c.NoStore = true })
	for range 2 {
		if w := f.post("u", `"login"`, `{"password":"pw"}`); w.Code != 201 || w.Header().Get("Idempotent-Replayed") != "" {
			t.Fatalf("login: %d %v", w.Code, w.Header())
		}
	}
	if f.calls.Load() != 2 {
		t.Fatalf("handler ran %d times, want 2", f.calls.Load())
	}
	if w := f.post("u", `"two words`, `{}`); w.Code != 400 {
		t.Fatalf("a malformed key is still refused: %d", w.Code)
	}
	_, claimed, err := f.db.Idempotency().Claim(t.Context(), "u POST /users login", "x", f.now, time.Minute, time.Hour)
	if err != nil || !claimed {
		t.Fatalf("the key was stored: claimed %v, %v", claimed, err)
	}
}

func (f *fixture) stream(user, key, contentType string, src io.Reader) *httptest.ResponseRecorder {
	r := httptest.NewRequest("POST", "/users", src)
	r.Header.Set("Content-Type", contentType)
	r.Header.Set("X-User", user)
	r.Header.Set("Idempotency-Key", key)
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	return w
}

// resetPeakRSS makes the kernel's peak RSS of this process start again
// from the current RSS, and returns that; 0 where that cannot be done.
func resetPeakRSS(t *testing.T) int64 {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Logf("peak RSS not measured: %v", err)
		return 0
	}
	return procStatus(t, "VmRSS:")
}

// peakRSS is the process's peak RSS since resetPeakRSS, in bytes.
func peakRSS(t *testing.T) int64 { return procStatus(t, "VmHWM:") }

func procStatus(t *testing.T, field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, field); ok {
			var kb int64
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), &kb)
			return kb << 10
		}
	}
	return 0
}

// A request whose client went away while it ran leaves no answer behind
// for its key: the retry runs (or, had it committed, is recovered), and is
// never answered with the 499 nobody read.
func TestCancelledRequestIsNotReplayed(t *testing.T) {
	ctx, hangUp := context.WithCancel(t.Context())
	f := newFixture(t, func(f *fixture) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if f.calls.Add(1) == 1 {
				hangUp() // the client goes away while the request runs
				<-r.Context().Done()
				w.WriteHeader(idempotency.StatusClientClosedRequest)
				return
			}
			w.WriteHeader(201)
		}
	})
	r := httptest.NewRequest("POST", "/users", strings.NewReader("alice")).WithContext(ctx)
	r.Header.Set("Idempotency-Key", `"k"`)
	r.Header.Set("X-User", "u")
	f.h.ServeHTTP(httptest.NewRecorder(), r)
	if w := f.post("u", `"k"`, "alice"); w.Code != 201 || w.Header().Get("Idempotent-Replayed") != "" || f.calls.Load() != 2 {
		t.Fatalf("retry after a cancelled request: %d %q, replayed %q, handler calls %d", w.Code, w.Body, w.Header().Get("Idempotent-Replayed"), f.calls.Load())
	}
}
