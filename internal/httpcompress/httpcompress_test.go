package httpcompress_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/photofeed/photofeed/internal/httpcompress"
)

// page is a feed-like JSON document well over the minimum size.
var page = func() []byte {
	var b bytes.Buffer
	b.WriteString(`{"items":[`)
	for i := range 40 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"id":"` + strings.Repeat("7", i%9+1) + `","author":{"username":"ana"},"caption":"sunset over the bay","likes":3}`)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}()

// recordOnly hides every method but Unwrap, as the access log's recorder
// does: flushes must still reach the connection through it.
type recordOnly struct{ http.ResponseWriter }

func (r recordOnly) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func newServer(t *testing.T, mux *http.ServeMux) *httptest.Server {
	t.Helper()
	h := httpcompress.Middleware(mux)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(recordOnly{w}, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// rawClient neither asks for gzip on its own nor unpacks it: the test sees
// the bytes on the wire.
var rawClient = &http.Client{Transport: &http.Transport{DisableCompression: true}}

func get(t *testing.T, method, url string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := rawClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func decode(t *testing.T, coding string, b []byte) []byte {
	t.Helper()
	var r io.Reader
	switch coding {
	case "":
		return b
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	case "zstd":
		zr, err := zstd.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		r = zr
	default:
		t.Fatalf("unexpected coding %q", coding)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decode %s: %v", coding, err)
	}
	return out
}

func serveBytes(ct string, body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", ct)
		w.Write(body)
	}
}

func TestNegotiation(t *testing.T) {
	big := bytes.Repeat([]byte("photofeed "), 300)
	jpeg := append([]byte{0xff, 0xd8, 0xff, 0xe0}, big...)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /feed", serveBytes("application/json", page))
	mux.HandleFunc("GET /problem", serveBytes("application/problem+json", append([]byte(`{"title":"`), append(big, `"}`...)...)))
	mux.HandleFunc("GET /page", serveBytes("text/html; charset=utf-8", big))
	mux.HandleFunc("GET /app.js", serveBytes("text/javascript; charset=utf-8", big))
	mux.HandleFunc("GET /style.css", serveBytes("text/css; charset=utf-8", big))
	mux.HandleFunc("GET /small", serveBytes("application/json", []byte(`{"ok":true}`)))
	mux.HandleFunc("GET /media/a.jpg", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/jpeg")
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(jpeg))
	})
	srv := newServer(t, mux)

	tests := []struct {
		name, path, accept string
		want               string // Content-Encoding
	}{
		{"json gzip", "/feed", "gzip", "gzip"},
		{"json zstd", "/feed", "zstd", "zstd"},
		{"json both, zstd preferred on a tie", "/feed", "gzip, deflate, br, zstd", "zstd"},
		{"json q-values pick gzip", "/feed", "gzip;q=1.0, zstd;q=0.5", "gzip"},
		{"json q-values pick zstd", "/feed", "gzip;q=0.4, zstd;q=0.9", "zstd"},
		{"json zstd refused", "/feed", "zstd;q=0, gzip", "gzip"},
		{"json identity", "/feed", "identity", ""},
		{"json none offered", "/feed", "", ""},
		{"json br only", "/feed", "br", ""},
		{"problem", "/problem", "gzip", "gzip"},
		{"html", "/page", "zstd", "zstd"},
		{"js", "/app.js", "gzip", "gzip"},
		{"css", "/style.css", "gzip", "gzip"},
		{"under the minimum size", "/small", "gzip, zstd", ""},
		{"media never", "/media/a.jpg", "gzip, zstd", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, plain := get(t, "GET", srv.URL+tc.path, nil)
			resp, body := get(t, "GET", srv.URL+tc.path, map[string]string{"Accept-Encoding": tc.accept})
			if got := resp.Header.Get("Content-Encoding"); got != tc.want {
				t.Fatalf("Content-Encoding = %q, want %q", got, tc.want)
			}
			// Compressible types vary by Accept-Encoding whether or not
			// this answer was compressed; images never do.
			wantVary := []string{"Accept-Encoding"}
			if strings.HasPrefix(tc.path, "/media/") {
				wantVary = nil
			}
			if got := resp.Header.Values("Vary"); !slices.Equal(got, wantVary) {
				t.Errorf("Vary = %q, want %q", got, wantVary)
			}
			if resp.ContentLength >= 0 && resp.ContentLength != int64(len(body)) {
				t.Errorf("Content-Length %d for %d bytes", resp.ContentLength, len(body))
			}
			if tc.want != "" && len(body) >= len(plain) {
				t.Errorf("compressed %d bytes, plain %d", len(body), len(plain))
			}
			if got := decode(t, tc.want, body); !bytes.Equal(got, plain) {
				t.Errorf("decoded body differs from the plain answer (%d vs %d bytes)", len(got), len(plain))
			}
		})
	}
	t.Run("media keeps ranges", func(t *testing.T) {
		resp, body := get(t, "GET", srv.URL+"/media/a.jpg", map[string]string{"Accept-Encoding": "gzip", "Range": "bytes=0-3"})
		if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, jpeg[:4]) || resp.Header.Get("Content-Encoding") != "" {
			t.Errorf("range: %d %q %q", resp.StatusCode, body, resp.Header.Get("Content-Encoding"))
		}
	})
}

func TestHeadHasNoBody(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /feed", serveBytes("application/json", page))
	srv := newServer(t, mux)
	resp, body := get(t, "HEAD", srv.URL+"/feed", map[string]string{"Accept-Encoding": "gzip, zstd"})
	if resp.StatusCode != http.StatusOK || len(body) != 0 {
		t.Fatalf("HEAD: %d with %d bytes", resp.StatusCode, len(body))
	}
	// HEAD is answered uncompressed (gzhttp's choice, for proxies that
	// mishandle it), so a length, when given, is the identity body's.
	if resp.Header.Get("Content-Encoding") != "" || resp.ContentLength != -1 && resp.ContentLength != int64(len(page)) {
		t.Errorf("HEAD: Content-Encoding %q, Content-Length %d, want none and %d or none",
			resp.Header.Get("Content-Encoding"), resp.ContentLength, len(page))
	}
}

func TestETagRevalidation(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /doc", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("ETag", `"v1"`)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(page))
	})
	srv := newServer(t, mux)
	url := srv.URL + "/doc"

	tests := []struct {
		name, accept, ifNoneMatch string
		status                    int
		etag, coding              string
	}{
		{"plain answer keeps a strong tag", "", "", 200, `"v1"`, ""},
		{"compressed answer gets a weak tag", "gzip", "", 200, `W/"v1"`, "gzip"},
		{"zstd too", "zstd", "", 200, `W/"v1"`, "zstd"},
		{"compressed client revalidates", "gzip", `W/"v1"`, 304, `W/"v1"`, ""},
		{"plain client revalidates", "", `"v1"`, 304, `"v1"`, ""},
		{"changed", "gzip", `W/"v0"`, 200, `W/"v1"`, "gzip"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := get(t, "GET", url, map[string]string{"Accept-Encoding": tc.accept, "If-None-Match": tc.ifNoneMatch})
			if resp.StatusCode != tc.status || resp.Header.Get("ETag") != tc.etag || resp.Header.Get("Content-Encoding") != tc.coding {
				t.Fatalf("got %d ETag %s coding %q, want %d %s %q", resp.StatusCode, resp.Header.Get("ETag"),
					resp.Header.Get("Content-Encoding"), tc.status, tc.etag, tc.coding)
			}
			if tc.status == 304 && len(body) != 0 {
				t.Errorf("304 with a %d-byte body", len(body))
			}
			if tc.status == 200 && !bytes.Equal(decode(t, tc.coding, body), page) {
				t.Error("body differs")
			}
		})
	}
}

// An event stream is never held back to fill a compressor: each event
// reaches a client that offers gzip and zstd while the stream stays open.
func TestEventStreamFlushesEachEvent(t *testing.T) {
	next := make(chan string)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stream", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		rc := http.NewResponseController(w)
		for {
			select {
			case <-r.Context().Done():
				return
			case ev := <-next:
				io.WriteString(w, ev)
				if err := rc.Flush(); err != nil {
					t.Errorf("flush: %v", err)
				}
			}
		}
	})
	srv := newServer(t, mux)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/stream", nil)
	req.Header.Set("Accept-Encoding", "gzip, zstd")
	type result struct {
		resp *http.Response
		err  error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := rawClient.Do(req)
		got <- result{resp, err}
	}()
	next <- ": open\n\n" // headers go out with the first event, at once
	res := <-got
	if res.err != nil {
		t.Fatal(res.err)
	}
	defer res.resp.Body.Close()
	if ce := res.resp.Header.Get("Content-Encoding"); ce != "" {
		t.Fatalf("event stream compressed: %q", ce)
	}
	if v := res.resp.Header.Values("Vary"); len(v) != 0 {
		t.Errorf("event stream: Vary %q", v)
	}
	lines := bufio.NewReader(res.resp.Body)
	for i, ev := range []string{"", "data: 1\n\n", "data: 2\n\n"} {
		if ev != "" {
			next <- ev
		} else {
			ev = ": open\n\n"
		}
		// The handler is still blocked on next: a line read now was
		// flushed on its own, not at the end of the answer.
		var got string
		for !strings.HasSuffix(got, "\n\n") {
			line, err := lines.ReadString('\n')
			if err != nil {
				t.Fatalf("event %d: %v after %q", i, err, got)
			}
			got += line
		}
		if got != ev {
			t.Fatalf("event %d: read %q, want %q", i, got, ev)
		}
	}
}

// A skipped prefix is passed through untouched: its 304, which carries no
// type, says no Vary that its 200 did not say, so shared caches keep one
// copy of an image.
func TestSkippedPrefixSaysNoVary(t *testing.T) {
	mw, err := httpcompress.New(httpcompress.Config{Skip: []string{"/media/"}})
	if err != nil {
		t.Fatal(err)
	}
	img := bytes.Repeat([]byte{0xff, 0xd8}, 2048)
	h := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"k1"`)
		http.ServeContent(w, r, "p.jpg", time.Time{}, bytes.NewReader(img))
	}))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	for _, header := range []map[string]string{
		{"Accept-Encoding": "gzip"},
		{"Accept-Encoding": "gzip", "If-None-Match": `"k1"`},
	} {
		resp, _ := get(t, "GET", srv.URL+"/media/k1.jpg", header)
		if resp.StatusCode != 200 && resp.StatusCode != 304 {
			t.Fatalf("%v: %d", header, resp.StatusCode)
		}
		if v := resp.Header.Values("Vary"); len(v) > 0 || resp.Header.Get("Content-Encoding") != "" {
			t.Errorf("%v: %d with Vary %q, Content-Encoding %q", header, resp.StatusCode, v, resp.Header.Get("Content-Encoding"))
		}
	}
}
