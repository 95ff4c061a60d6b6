// Package httpcompress compresses answers for the clients that ask for it
// (Accept-Encoding: gzip or zstd, q-values honoured, zstd preferred on a
// tie). It is github.com/klauspost/compress/gzhttp with photofeed's
// choices: which types are worth compressing, the levels, and validators
// that stay correct when the bytes on the wire change.
package httpcompress

import (
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strings"

	"github.com/klauspost/compress/gzhttp"
	"github.com/klauspost/compress/zstd"
)

// Defaults, chosen for a small box (2 cores) serving ~5–15 KB JSON pages:
// the fast end of each codec, where nearly all of the ratio is already
// won (sizes in docs/benchmarks.md, "Compressed answers").
const (
	// DefaultMinSize: below about a kilobyte an answer fits in one packet
	// either way, and a compressor's headers and state are pure cost.
	DefaultMinSize = 1024
	// DefaultGzipLevel is the fifth of klauspost's six dedicated fast
	// deflate encoders (levels 7–9 run the slower general one); level 9
	// makes a 20-item feed page only 2 % smaller.
	DefaultGzipLevel = 5
	// DefaultZstdLevel is zstd's fastest: on the feed page it is as small
	// as its default speed (1,483 vs 1,487 bytes) and smaller than gzip 9,
	// and each encoder holds about a quarter of the default's memory
	// (~0.35 vs ~1.4 MB, which at a node's 512 requests in flight is the
	// difference between ~180 MB and ~730 MB).
	DefaultZstdLevel = int(zstd.SpeedFastest)
)

// Types are the media types compressed: text that shrinks. Everything else
// (images above all: JPEG and PNG are compressed already) goes out as it
// is, and so does text/event-stream, whose events must reach the client
// the moment they are written.
var Types = []string{
	"application/json",
	"application/problem+json",
	"application/javascript",
	"text/javascript",
	"text/css",
	"text/html",
	"text/plain",
	"image/svg+xml",
}

// Compressible reports whether answers of the Content-Type ct are
// compressed (when big enough and the client asks).
func Compressible(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && slices.Contains(Types, mt)
}

// Config tunes the middleware; a zero field takes its default.
type Config struct {
	MinSize   int // bytes; smaller answers are sent uncompressed
	GzipLevel int // 1 (fastest) to 9 (smallest)
	ZstdLevel int // 1 (fastest) to 4 (smallest)
	// Skip are path prefixes passed through untouched: routes that never
	// answer in a compressed type, whose answers (a 304 included, which
	// carries no type to tell by) then say no Vary they do not have.
	Skip []string
}

// New returns the compressing middleware.
func New(cfg Config) (func(http.Handler) http.Handler, error) {
	if cfg.MinSize == 0 {
		cfg.MinSize = DefaultMinSize
	}
	if cfg.GzipLevel == 0 {
		cfg.GzipLevel = DefaultGzipLevel
	}
	if cfg.ZstdLevel == 0 {
		cfg.ZstdLevel = DefaultZstdLevel
	}
	wrap, err := gzhttp.NewWrapper(
		gzhttp.MinSize(cfg.MinSize),
		gzhttp.CompressionLevel(cfg.GzipLevel),
		gzhttp.ZstdCompressionLevel(cfg.ZstdLevel),
		gzhttp.ContentTypes(Types),
		// An untyped answer is sniffed to decide, as gzhttp does, but the
		// guess is not written out as its type: every handler here names
		// its type, so none relies on the guess.
		gzhttp.SetContentType(false),
	)
	if err != nil {
		return nil, fmt.Errorf("httpcompress: %w", err)
	}
	return func(next http.Handler) http.Handler {
		compressed := wrap(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			for _, prefix := range cfg.Skip {
				if strings.HasPrefix(r.URL.Path, prefix) {
					next.ServeHTTP(w, r)
					return
				}
			}
			compressed.ServeHTTP(&validators{ResponseWriter: w, ifNoneMatch: r.Header.Get("If-None-Match")}, r)
		})
	}, nil
}

// Middleware is New with the defaults.
func Middleware(next http.Handler) http.Handler {
	mw, err := New(Config{})
	if err != nil {
		panic(err) // the defaults are valid; a failure is a programming error
	}
	return mw(next)
}

// validators sits between gzhttp and the connection, and sees the headers
// gzhttp settled on. A compressed answer's ETag is made weak (RFC 9110
// §8.8.1): its bytes differ from the identity answer's, so a strong
// validator would promise a byte-identical body that it is not. Weak is
// what If-None-Match compares by anyway (§13.1.2), so a client that sends
// either form back still gets its 304; nginx does the same.
type validators struct {
	http.ResponseWriter
	ifNoneMatch string // the request's
	done        bool
}

func (v *validators) settle(code int) {
	if v.done {
		return
	}
	v.done = true
	h := v.Header()
	// gzhttp says Vary: Accept-Encoding before the handler runs. An answer
	// of a type never compressed (an image, an event stream) does not
	// vary by it: saying so would only split shared caches' copies. A 304
	// carries no type, and keeps the Vary its 200 had.
	if ct := h.Get("Content-Type"); ct != "" && !Compressible(ct) {
		if i := slices.Index(h["Vary"], "Accept-Encoding"); i >= 0 {
			h["Vary"] = slices.Delete(h["Vary"], i, i+1)
			if len(h["Vary"]) == 0 {
				delete(h, "Vary")
			}
		}
	}
	etag := h.Get("ETag")
	if etag == "" || strings.HasPrefix(etag, "W/") {
		return
	}
	// A 304 names the answer the client holds: when that was a compressed
	// one, it sent back the weak form, and gets the weak form again.
	held := code == http.StatusNotModified && strings.Contains(v.ifNoneMatch, "W/"+etag)
	if h.Get("Content-Encoding") != "" || held {
		h.Set("ETag", "W/"+etag)
	}
}

func (v *validators) WriteHeader(code int) {
	if code >= 200 {
		v.settle(code)
	}
	v.ResponseWriter.WriteHeader(code)
}

func (v *validators) Write(b []byte) (int, error) {
	v.settle(http.StatusOK)
	return v.ResponseWriter.Write(b)
}

// Flush is called by gzhttp through a type assertion, which would not see
// through the wrappers below (the access log's): the controller does.
func (v *validators) Flush() {
	v.settle(http.StatusOK)
	http.NewResponseController(v.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the connection (deadlines).
func (v *validators) Unwrap() http.ResponseWriter { return v.ResponseWriter }
