package tracing

import (
	"net/http"
	"slices"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

const traceparentHeader = "Traceparent"

// HTTPOptions adapt Middleware to a server.
type HTTPOptions struct {
	// Forward puts the request's span in its own traceparent header, for
	// a proxy that passes the headers on.
	Forward bool
	// Untraced are paths no span is started for: health probes, which a
	// load balancer or the gateway sends every few seconds, would make
	// most traces.
	Untraced []string
}

// Middleware continues the trace of an incoming traceparent. Recording,
// it starts a server span for each request (named by its method until
// NameByRoute knows the route). Not recording, a request without
// traceparent passes untouched; one with it gets the remote trace context
// in its context, for the log lines, and its header goes on as it came.
func (t *Tracing) Middleware(o HTTPOptions, next http.Handler) http.Handler {
	if !t.Recording() {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, ok := r.Header[traceparentHeader]; ok {
				r = r.WithContext(t.Extract(r.Context(), propagation.HeaderCarrier(r.Header)))
			}
			next.ServeHTTP(w, r)
		})
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if slices.Contains(o.Untraced, r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		ctx := t.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, span := t.tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(
			attribute.String("http.request.method", r.Method), attribute.String("url.path", r.URL.Path)))
		defer span.End()
		r = r.WithContext(ctx)
		if o.Forward {
			r.Header = r.Header.Clone()
			delete(r.Header, "Tracestate") // written again below, if the context has one
			t.Inject(ctx, propagation.HeaderCarrier(r.Header))
		}
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		span.SetAttributes(attribute.Int("http.response.status_code", rec.status))
		if rec.status >= 500 {
			span.SetStatus(codes.Error, http.StatusText(rec.status))
		}
	})
}

// NameByRoute names the request's span after the pattern mux matched
// ("POST /v1/posts"), never the raw path, whose ids would make every span
// name unique. It wraps the mux itself, which sets the pattern on the
// request it is given. A catch-all "/" leaves the name to its handler
// (see Named): everything else would be called "GET /". Not recording,
// it is mux itself.
func (t *Tracing) NameByRoute(mux http.Handler) http.Handler {
	if !t.Recording() {
		return mux
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		span := trace.SpanFromContext(r.Context())
		if !span.IsRecording() {
			mux.ServeHTTP(w, r)
			return
		}
		defer func() {
			if r.Pattern == "" || r.Pattern == "/" {
				return
			}
			name := r.Pattern
			if !strings.Contains(name, " ") {
				name = r.Method + " " + name
			}
			span.SetName(name)
			span.SetAttributes(attribute.String("http.route", r.Pattern))
		}()
		mux.ServeHTTP(w, r)
	})
}

// Named names the request's span: name and the method, e.g. "proxy GET"
// for the requests a gateway passes on, which have no route of their own.
// Not recording, it is next itself.
func (t *Tracing) Named(name string, next http.Handler) http.Handler {
	if !t.Recording() {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		trace.SpanFromContext(r.Context()).SetName(name + " " + r.Method)
		next.ServeHTTP(w, r)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote && code >= 200 {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
