package app_test

import (
	"encoding/hex"
	"image/color"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/photofeed/photofeed/internal/app"
	"github.com/photofeed/photofeed/internal/testenv"
)

// otlpSpan is what the test reads of an exported span.
type otlpSpan struct {
	service, name     string
	trace, id, parent string // hex; parent "" for a root
	kind              tracepb.Span_SpanKind
}

// otlpReceiver is an OTLP/HTTP collector in the test: it decodes the
// protobuf ExportTraceServiceRequests posted to /v1/traces.
type otlpReceiver struct {
	URL   string
	mu    sync.Mutex
	spans []otlpSpan
}

func newOTLPReceiver(t *testing.T) *otlpReceiver {
	t.Helper()
	rcv := &otlpReceiver{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
			http.Error(w, "want protobuf on /v1/traces", http.StatusUnsupportedMediaType)
			return
		}
		body, err := io.ReadAll(r.Body)
		var req coltracepb.ExportTraceServiceRequest
		if err == nil {
			err = proto.Unmarshal(body, &req)
		}
		if err != nil {
			t.Errorf("OTLP upload: %v", err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rcv.add(&req)
		b, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(b)
	}))
	t.Cleanup(srv.Close)
	rcv.URL = srv.URL
	return rcv
}

func (rcv *otlpReceiver) add(req *coltracepb.ExportTraceServiceRequest) {
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	for _, rs := range req.ResourceSpans {
		service := ""
		for _, a := range rs.GetResource().GetAttributes() {
			if a.Key == "service.name" {
				service = a.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				parent := ""
				if len(s.ParentSpanId) > 0 {
					parent = hex.EncodeToString(s.ParentSpanId)
				}
				rcv.spans = append(rcv.spans, otlpSpan{service: service, name: s.Name, kind: s.Kind,
					trace: hex.EncodeToString(s.TraceId), id: hex.EncodeToString(s.SpanId), parent: parent})
			}
		}
	}
}

// find returns the spans received so far that match.
func (rcv *otlpReceiver) find(match func(otlpSpan) bool) []otlpSpan {
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	var out []otlpSpan
	for _, s := range rcv.spans {
		if match(s) {
			out = append(out, s)
		}
	}
	return out
}

// One upload through a gateway to an api node with a worker, both
// exporting to a collector: its spans form one trace, the gateway's span
// its root, the api node's request span (named by its route) the
// gateway's child, the thumbnail job's span, run from the queue, the
// request's child, and the fan-out of the event the job wrote, the job's
// child. The api node's log lines of the upload carry the trace id.
func TestUploadIsOneTraceFromGatewayToThumbnailJob(t *testing.T) {
	sameInEveryMode(t)
	rcv := newOTLPReceiver(t)
	var logs testenv.LogBuffer
	api := startWith(t, nodeOptions{log: &logs}, "--secret", gatewaySecret, "--otlp-endpoint", rcv.URL, "--log-level", "info")
	gw := startGateway(t, nodeOptions{}, []string{api.URL}, "--otlp-endpoint", rcv.URL)

	c := gw.client(t)
	c.signup("tracer")
	r := c.upload("/v1/posts", app.SampleJPEG(t, 64, 48, color.RGBA{10, 200, 30, 255}), "traced")
	if r.StatusCode != 201 {
		t.Fatalf("upload: %d %s", r.StatusCode, r.Body)
	}
	var p struct{ ID, Status string }
	r.json(t, &p)
	testenv.Eventually(t, "the post's thumbnails", 10*time.Second, func() bool {
		var got struct{ Status string }
		r := c.do("GET", "/v1/posts/"+p.ID, nil)
		r.json(t, &got)
		return got.Status == "ready"
	})
	// Stopped, the nodes export the spans they still hold.
	for _, s := range []*server{gw, api} {
		if err := s.stop(); err != nil {
			t.Fatalf("stop: %v", err)
		}
	}

	var request otlpSpan
	testenv.Eventually(t, "the upload's request span", 5*time.Second, func() bool {
		found := rcv.find(func(s otlpSpan) bool { return s.name == "POST /v1/posts" })
		if len(found) == 1 {
			request = found[0]
		}
		return len(found) == 1
	})
	if request.service != "photofeed-api+worker" || request.kind != tracepb.Span_SPAN_KIND_SERVER {
		t.Errorf("request span %+v, want the api node's server span", request)
	}
	trace := rcv.find(func(s otlpSpan) bool { return s.trace == request.trace })
	byID := map[string]otlpSpan{}
	for _, s := range trace {
		byID[s.id] = s
	}
	root, ok := byID[request.parent]
	if !ok || root.service != "photofeed-gateway" || root.name != "proxy POST" || root.parent != "" {
		t.Fatalf("the request span's parent %+v (found: %v), want the gateway's root span; trace: %+v", root, ok, trace)
	}
	var job otlpSpan
	testenv.Eventually(t, "the thumbnail job's span", 5*time.Second, func() bool {
		found := rcv.find(func(s otlpSpan) bool { return s.name == "thumbnails" })
		if len(found) > 0 {
			job = found[0]
		}
		return len(found) > 0
	})
	if job.trace != request.trace || job.parent != request.id || job.kind != tracepb.Span_SPAN_KIND_CONSUMER {
		t.Fatalf("thumbnail job span %+v, want a consumer span, child of the request span %+v", job, request)
	}
	// The post, once ready, is announced through the outbox: the fan-out
	// consumer continues the job's trace from the event's headers.
	testenv.Eventually(t, "the fan-out's span", 5*time.Second, func() bool {
		return len(rcv.find(func(s otlpSpan) bool {
			return s.name == "fan-out photofeed.events.PhotoPosted" && s.trace == request.trace && s.parent == job.id
		})) == 1
	})
	// The polls of the post are named by route, never by its id.
	if len(rcv.find(func(s otlpSpan) bool { return s.name == "GET /v1/posts/{id}" })) == 0 {
		t.Errorf("no span named GET /v1/posts/{id}")
	}
	if named := rcv.find(func(s otlpSpan) bool { return strings.Contains(s.name, p.ID) }); len(named) > 0 {
		t.Errorf("spans named with a raw path: %+v", named)
	}
	// One trace: every span but the gateway's has its parent in it.
	trace = rcv.find(func(s otlpSpan) bool { return s.trace == request.trace })
	for _, s := range trace {
		byID[s.id] = s
	}
	for _, s := range trace {
		if _, ok := byID[s.parent]; s.id != root.id && !ok {
			t.Errorf("span %+v: parent not in the trace", s)
		}
	}
	if !strings.Contains(logs.String(), "trace_id="+request.trace) {
		t.Errorf("no log line of the api node carries trace_id=%s:\n%s", request.trace, logs.String())
	}
}

// Without --otlp-endpoint nothing is recorded, but a client's traceparent
// passes the gateway as it came and its trace id is on the request's log
// lines on both nodes, with the client's span as the parent.
func TestIncomingTraceparentIsLoggedWithoutExport(t *testing.T) {
	sameInEveryMode(t)
	const (
		traceID     = "4bf92f3577b34da6a3ce929d0e0e4736"
		parent      = "00f067aa0ba902b7"
		traceparent = "00-" + traceID + "-" + parent + "-01"
	)
	var apiLogs, gwLogs testenv.LogBuffer
	api := startWith(t, nodeOptions{log: &apiLogs}, "--secret", gatewaySecret, "--log-level", "info")
	gw := startGateway(t, nodeOptions{log: &gwLogs}, []string{api.URL}, "--log-level", "info")
	if r := send(t, "GET", gw.URL+"/v2/feed", "traceparent", traceparent); r.StatusCode != 401 {
		t.Fatalf("GET /v2/feed signed out: %d %s", r.StatusCode, r.Body)
	}
	for node, logs := range map[string]*testenv.LogBuffer{"gateway": &gwLogs, "api node": &apiLogs} {
		// The access line is written as the handler returns, which may be
		// after the client has the answer.
		var line string
		testenv.Eventually(t, node+"'s access line", 5*time.Second, func() bool {
			for l := range strings.SplitSeq(logs.String(), "\n") {
				if strings.Contains(l, "msg=request") && strings.Contains(l, "path=/v2/feed") {
					line = l
				}
			}
			return line != ""
		})
		if !strings.Contains(line, "trace_id="+traceID) || !strings.Contains(line, "span_id="+parent) {
			t.Errorf("%s's access line %q, want trace_id=%s span_id=%s", node, line, traceID, parent)
		}
	}
}
