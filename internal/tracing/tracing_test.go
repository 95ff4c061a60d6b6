package tracing_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/photofeed/photofeed/internal/logging"
	"github.com/photofeed/photofeed/internal/testenv"
	"github.com/photofeed/photofeed/internal/tracing"
)

const (
	incomingTrace  = "4bf92f3577b34da6a3ce929d0e0e4736"
	incomingParent = "00f067aa0ba902b7"
	traceparent    = "00-" + incomingTrace + "-" + incomingParent + "-01"
)

// An incoming traceparent's trace id is on every log line of its
// request, with tracing exported or not; the span id is the caller's when
// nothing is recorded, a new one of this node's span when it is. A
// request without one logs no trace.
func TestIncomingTraceIsLogged(t *testing.T) {
	recording, err := tracing.New(tracing.Config{Endpoint: "http://127.0.0.1:1", Sample: 1, Service: "test"})
	if err != nil {
		t.Fatal(err)
	}
	// Nothing is exported: the batch is dropped, unsent, when the test ends.
	t.Cleanup(func() { recording.Shutdown(canceled()) })
	quiet, err := tracing.New(tracing.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name        string
		tr          *tracing.Tracing
		traceparent string
		wantTrace   bool
	}{
		{"not recording, with traceparent", quiet, traceparent, true},
		{"not recording, without", quiet, "", false},
		{"recording, with traceparent", recording, traceparent, true},
		{"not recording, malformed traceparent", quiet, "00-nothex-00f067aa0ba902b7-01", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := slog.New(logging.NewHandler(slog.NewTextHandler(&buf, nil)))
			var seen trace.SpanContext
			h := tc.tr.Middleware(tracing.HTTPOptions{}, logging.Middleware(log, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				seen = trace.SpanContextFromContext(r.Context())
				log.InfoContext(r.Context(), "inside handler")
			})))
			req := httptest.NewRequest("GET", "/v1/posts/1", nil)
			if tc.traceparent != "" {
				req.Header.Set("traceparent", tc.traceparent)
			}
			h.ServeHTTP(httptest.NewRecorder(), req)
			lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
			if len(lines) != 2 {
				t.Fatalf("want the handler's line and the access line, got %q", lines)
			}
			for _, l := range lines {
				if got := strings.Contains(l, "trace_id="+incomingTrace); got != tc.wantTrace {
					t.Errorf("trace id logged: %v, want %v: %s", got, tc.wantTrace, l)
				}
				if tc.wantTrace && !strings.Contains(l, "span_id="+seen.SpanID().String()) {
					t.Errorf("line without the request's span id %s: %s", seen.SpanID(), l)
				}
				if !tc.wantTrace && strings.Contains(l, "trace_id=") {
					t.Errorf("a trace id without a valid traceparent: %s", l)
				}
			}
			if tc.wantTrace && (seen.SpanID().String() == incomingParent) == tc.tr.Recording() {
				t.Errorf("span id %s, recording %v: want the caller's only when not recording", seen.SpanID(), tc.tr.Recording())
			}
		})
	}
}

// A proxy's request goes upstream with its own span as the parent when
// recording, and with the client's traceparent untouched when not.
func TestForwardedTraceparent(t *testing.T) {
	recording, err := tracing.New(tracing.Config{Endpoint: "http://127.0.0.1:1", Sample: 1, Service: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { recording.Shutdown(canceled()) })
	quiet, _ := tracing.New(tracing.Config{})
	for _, tc := range []struct {
		name string
		tr   *tracing.Tracing
	}{{"recording", recording}, {"not recording", quiet}} {
		t.Run(tc.name, func(t *testing.T) {
			var sent string
			var own trace.SpanContext
			h := tc.tr.Middleware(tracing.HTTPOptions{Forward: true}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				sent, own = r.Header.Get("Traceparent"), trace.SpanContextFromContext(r.Context())
			}))
			req := httptest.NewRequest("GET", "/", nil)
			req.Header.Set("traceparent", traceparent)
			h.ServeHTTP(httptest.NewRecorder(), req)
			want := traceparent
			if tc.tr.Recording() {
				want = "00-" + incomingTrace + "-" + own.SpanID().String() + "-01"
			}
			if sent != want {
				t.Errorf("sent traceparent %q, want %q", sent, want)
			}
			if req.Header.Get("Traceparent") != traceparent {
				t.Errorf("the client's request was changed: %q", req.Header.Get("Traceparent"))
			}
		})
	}
}

// Health probes get no span: they would make most of the traces.
func TestUntracedPaths(t *testing.T) {
	recording, err := tracing.New(tracing.Config{Endpoint: "http://127.0.0.1:1", Sample: 1, Service: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { recording.Shutdown(canceled()) })
	var traced bool
	h := recording.Middleware(tracing.HTTPOptions{Untraced: []string{"/healthz"}}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		traced = trace.SpanFromContext(r.Context()).IsRecording()
	}))
	for path, want := range map[string]bool{"/healthz": false, "/v2/feed": true} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", path, nil))
		if traced != want {
			t.Errorf("%s: span recorded %v, want %v", path, traced, want)
		}
	}
}

// A collector that refuses the spans is named in the node's own log.
func TestFailedExportIsLogged(t *testing.T) {
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusBadRequest) // not retried
	}))
	defer collector.Close()
	var logs testenv.LogBuffer
	tr, err := tracing.New(tracing.Config{Endpoint: collector.URL, Sample: 1, Service: "test",
		BatchTimeout: 10 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Shutdown(canceled())
	_, span := tr.Start(context.Background(), "work", trace.SpanKindInternal)
	span.End()
	testenv.Eventually(t, "the failed export in the log", 5*time.Second, func() bool {
		return strings.Contains(logs.String(), "trace spans not exported")
	})
}

func TestParseEndpoint(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"http://127.0.0.1:4318", "http://127.0.0.1:4318/v1/traces"},
		{"http://127.0.0.1:4318/", "http://127.0.0.1:4318/v1/traces"},
		{"https://collector.internal/otlp/v1/traces", "https://collector.internal/otlp/v1/traces"},
		{"127.0.0.1:4318", ""},
		{"grpc://127.0.0.1:4317", ""},
		{"http://", ""},
		{"http://user:pw@127.0.0.1:4318", ""},
		{"http://127.0.0.1:4318/v1/traces?x=1", ""},
	} {
		got, err := tracing.ParseEndpoint(tc.in)
		if got != tc.want || (err == nil) != (tc.want != "") {
			t.Errorf("ParseEndpoint(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// canceled is a context already done: Shutdown then drops what it holds
// instead of trying to send it.
func canceled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// Not recording, the middleware costs a request without traceparent no
// allocation: the gateway's hot path stays as it was.
func TestNotRecordingAllocatesNothing(t *testing.T) {
	quiet, _ := tracing.New(tracing.Config{})
	h := quiet.Middleware(tracing.HTTPOptions{Forward: true}, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	req := httptest.NewRequest("GET", "/v2/feed", nil)
	req.Header.Set("Authorization", "Bearer x")
	w := httptest.NewRecorder()
	if n := testing.AllocsPerRun(100, func() { h.ServeHTTP(w, req) }); n != 0 {
		t.Errorf("%v allocations a request, want 0", n)
	}
}
