package app

import (
	"context"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/photofeed/photofeed/internal/natsbus"
	"github.com/photofeed/photofeed/internal/supervise"
	"github.com/photofeed/photofeed/internal/tracing"
)

// supervisor runs the node's background workers under the policy in
// docs/architecture.md (restart with backoff; /readyz 503 while one is
// down), counting restarts per worker in the returned metric.
func supervisor(workers []supervise.Worker, log *slog.Logger) (*supervise.Supervisor, *prometheus.CounterVec) {
	restarts := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "photofeed_worker_restarts_total",
		Help: "Restarts of a background worker after it failed (returned before the node stopped).",
	}, []string{"worker"})
	for _, w := range workers {
		restarts.WithLabelValues(w.Name) // every worker shows, at 0 until it fails
	}
	s := supervise.New(supervise.Config{
		Logger:    log,
		OnRestart: func(worker string) { restarts.WithLabelValues(worker).Inc() },
	}, workers...)
	return s, restarts
}

// untilDone makes a worker of work that returns only when ctx ends: its
// return before that is the supervisor's to see.
func untilDone(run func(ctx context.Context)) func(ctx context.Context) error {
	return func(ctx context.Context) error { run(ctx); return nil }
}

// partWorker names a worker of one database of several ("jobs" with one).
func partWorker(kind, database string) string {
	if database == "" {
		return kind
	}
	return kind + ":" + database
}

// consumer is a worker that reads a durable consumer of the events
// stream, handing each delivery to handle, in a span that continues the
// trace of the request that wrote the event.
func consumer(bus *natsbus.Bus, tr *tracing.Tracing, name string, cc natsbus.ConsumerConfig, handle func(context.Context, natsbus.Delivery) error) supervise.Worker {
	traced := func(ctx context.Context, d natsbus.Delivery) (err error) {
		if d.TraceParent == "" {
			return handle(ctx, d)
		}
		ctx = tr.Extract(ctx, propagation.MapCarrier{"traceparent": d.TraceParent})
		ctx, span := tr.Start(ctx, name+" "+d.Subject, trace.SpanKindConsumer,
			attribute.String("messaging.destination.name", d.Subject), attribute.Int64("messaging.nats.delivered", int64(d.NumDelivered)))
		defer func() {
			if err != nil {
				span.RecordError(err)
				span.SetStatus(codes.Error, err.Error())
			}
			span.End()
		}()
		return handle(ctx, d)
	}
	return supervise.Worker{Name: name, Run: func(ctx context.Context) error { return bus.Consume(ctx, cc, traced) }}
}
