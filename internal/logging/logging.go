// Package logging puts a request id on every log line written while serving
// a request, and in the X-Request-Id response header, so one id follows a
// request from the client's bug report to every line it caused.
package logging

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/photofeed/photofeed/idempotency"
	"github.com/photofeed/photofeed/internal/clientip"
)

type ctxKey struct{}

// WithRequestID returns ctx carrying id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// RequestID returns the request id in ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(ctxKey{}).(string)
	return id
}

// Handler adds request_id to records logged with a request's context,
// and trace_id and span_id when the context carries a trace (see
// internal/tracing), which find the lines of one request on every node
// it passed.
type Handler struct{ slog.Handler }

func NewHandler(h slog.Handler) *Handler { return &Handler{h} }

func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

func (h *Handler) WithAttrs(a []slog.Attr) slog.Handler { return &Handler{h.Handler.WithAttrs(a)} }
func (h *Handler) WithGroup(g string) slog.Handler      { return &Handler{h.Handler.WithGroup(g)} }

const header = "X-Request-Id"

var enc = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewID makes a request id for a request that came without a valid one.
func NewID() string {
	var b [10]byte
	rand.Read(b[:])
	return enc.EncodeToString(b[:])
}

// ValidID accepts an incoming id only if it is short and printable, so a
// client's id can be correlated without letting it forge log lines.
func ValidID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// Middleware assigns the request id (keeping a valid incoming one), sets the
// response header, and writes one access log line per request.
func Middleware(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(header)
		if !ValidID(id) {
			id = NewID()
		}
		w.Header().Set(header, id)
		ctx := WithRequestID(r.Context(), id)
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		start := time.Now()
		next.ServeHTTP(rec, r.WithContext(ctx))
		status := rec.status
		// The server cancels a request's context when its client goes away:
		// whatever the handler made of that (nothing, or a 5xx from a
		// failed read), it is the client's doing, not a server error.
		if errors.Is(r.Context().Err(), context.Canceled) && (!rec.wrote || status >= 500) {
			status = idempotency.StatusClientClosedRequest
		}
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		log.LogAttrs(ctx, level, "request",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.String("client", clientip.From(r)),
			slog.Int("status", status), slog.Int64("bytes", rec.bytes),
			slog.Duration("duration", time.Since(start)))
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
	wrote  bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wrote = true
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
