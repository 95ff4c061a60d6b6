// Package tracing follows a request across the nodes with W3C trace
// context: the traceparent header from the client (or the gateway) to the
// api node, into the jobs and events its writes leave behind, and to the
// workers that run them. With an OTLP endpoint the spans are exported;
// without one nothing is recorded, but an incoming trace context is still
// passed on and its trace id still logged, so the lines of one request
// can be found across nodes.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Config is how a node traces.
type Config struct {
	// Endpoint is the OTLP/HTTP collector's URL, e.g.
	// http://127.0.0.1:4318 (its path defaults to /v1/traces); "" exports
	// nothing and records no spans.
	Endpoint string
	// Sample is the share of new traces recorded, from 0 to 1; a request
	// that comes with a trace context follows its sampling decision.
	Sample float64
	// Service names the node in the collector (service.name): the node's
	// roles, e.g. "photofeed-gateway".
	Service string
	// Instance tells nodes of one service apart (service.instance.id).
	Instance string
	// Version is the build's (service.version): during a rolling upgrade
	// a trace shows which version served each part.
	Version string
	// BatchTimeout is the longest a finished span waits to be exported;
	// default 5s.
	BatchTimeout time.Duration
	// Logger is told of failed exports, at most once a minute; nil: not
	// told.
	Logger *slog.Logger
}

// Tracing starts spans and carries their context across processes. A nil
// *Tracing is not valid; New without an endpoint makes one that records
// nothing.
type Tracing struct {
	tracer   trace.Tracer // nil when nothing is recorded
	provider *sdktrace.TracerProvider
	prop     propagation.TraceContext
}

// New sets up tracing for cfg.
func New(cfg Config) (*Tracing, error) {
	if cfg.Endpoint == "" {
		return &Tracing{}, nil
	}
	endpoint, err := ParseEndpoint(cfg.Endpoint)
	if err != nil {
		return nil, err
	}
	if !(cfg.Sample >= 0 && cfg.Sample <= 1) {
		return nil, errors.New("trace sample must be from 0 to 1")
	}
	// The URL is given explicitly, so the OTEL_EXPORTER_OTLP_* endpoint
	// variables cannot send the spans elsewhere; creating the exporter
	// makes no connection.
	exp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpointURL(endpoint))
	if err != nil {
		return nil, fmt.Errorf("OTLP exporter: %w", err)
	}
	res := resource.NewSchemaless(attribute.String("service.name", cfg.Service),
		attribute.String("service.instance.id", cfg.Instance), attribute.String("service.version", cfg.Version))
	var spans sdktrace.SpanExporter = exp
	if cfg.Logger != nil {
		spans = &loggedExporter{SpanExporter: exp, log: cfg.Logger}
	}
	batch := []sdktrace.BatchSpanProcessorOption{}
	if cfg.BatchTimeout > 0 {
		batch = append(batch, sdktrace.WithBatchTimeout(cfg.BatchTimeout))
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(spans, batch...),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sampler(cfg.Sample)),
	)
	return &Tracing{tracer: tp.Tracer("github.com/photofeed/photofeed"), provider: tp}, nil
}

// sampler records a share of the traces, decided on the trace id, so that
// every node decides alike and a trace is whole or absent. A remote
// parent's sampled flag is not obeyed: it may be a client's, and a client
// that sets it on every request would have all its requests recorded
// past --trace-sample, filling the span queues. A parent in this process
// is followed, so a trace is never cut inside a node.
func sampler(share float64) sdktrace.Sampler {
	byID := sdktrace.TraceIDRatioBased(share)
	return sdktrace.ParentBased(byID,
		sdktrace.WithRemoteParentSampled(byID), sdktrace.WithRemoteParentNotSampled(byID))
}

// ParseEndpoint checks an OTLP/HTTP endpoint and gives the URL spans are
// posted to: an http or https URL with a host, /v1/traces when it has no
// path. A malformed URL is an error here rather than the exporter's quiet
// fallback to localhost:4318.
func ParseEndpoint(s string) (string, error) {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "", fmt.Errorf("OTLP endpoint: %w", err)
	case u.Scheme != "http" && u.Scheme != "https":
		return "", errors.New("OTLP endpoint must be an http:// or https:// URL, e.g. http://127.0.0.1:4318")
	case u.Host == "" || u.Hostname() == "":
		return "", errors.New("OTLP endpoint has no host")
	case u.User != nil:
		return "", errors.New("OTLP endpoint must not hold credentials (use OTEL_EXPORTER_OTLP_HEADERS)")
	case u.RawQuery != "" || u.Fragment != "":
		return "", errors.New("OTLP endpoint must not have a query or fragment")
	}
	if strings.Trim(u.Path, "/") == "" {
		u.Path = "/v1/traces"
	}
	return u.String(), nil
}

// Recording reports whether spans are recorded and exported.
func (t *Tracing) Recording() bool { return t.tracer != nil }

// Shutdown exports the spans not sent yet, within ctx.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t.provider == nil {
		return nil
	}
	return t.provider.Shutdown(ctx)
}

// Start begins a span under the one in ctx; without an endpoint it
// starts none, and ctx keeps the trace context it had.
func (t *Tracing) Start(ctx context.Context, name string, kind trace.SpanKind, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	if t.tracer == nil {
		return ctx, trace.SpanFromContext(ctx)
	}
	return t.tracer.Start(ctx, name, trace.WithSpanKind(kind), trace.WithAttributes(attrs...))
}

// Extract returns ctx with the remote trace context carrier holds
// (traceparent, tracestate), if it holds a valid one.
func (t *Tracing) Extract(ctx context.Context, carrier propagation.TextMapCarrier) context.Context {
	return t.prop.Extract(ctx, carrier)
}

// Inject writes ctx's trace context into carrier, if ctx has a valid one.
func (t *Tracing) Inject(ctx context.Context, carrier propagation.TextMapCarrier) {
	t.prop.Inject(ctx, carrier)
}

// Map is the trace context of ctx as traceparent (and tracestate) keys,
// for carriers stored as data (a job's metadata, an outbox row); nil when
// ctx has none.
func (t *Tracing) Map(ctx context.Context) map[string]string {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return nil
	}
	m := propagation.MapCarrier{}
	t.prop.Inject(ctx, m)
	return m
}

// loggedExporter reports failed exports in the node's log. Without it
// the SDK hands them to OpenTelemetry's process-wide error handler, which
// prints them apart from the node's log lines, once a batch while the
// collector is down. A batch that failed is dropped either way.
type loggedExporter struct {
	sdktrace.SpanExporter
	log    *slog.Logger
	mu     sync.Mutex
	logged time.Time // the last failure logged
}

func (e *loggedExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := e.SpanExporter.ExportSpans(ctx, spans)
	if err == nil {
		return nil
	}
	e.mu.Lock()
	due := time.Since(e.logged) >= time.Minute
	if due {
		e.logged = time.Now()
	}
	e.mu.Unlock()
	if due {
		e.log.Warn("trace spans not exported (logged at most once a minute)", "spans", len(spans), "err", err)
	}
	return nil
}
