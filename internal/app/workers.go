package app

import (
	"context"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/photofeed/photofeed/internal/natsbus"
	"github.com/photofeed/photofeed/internal/supervise"
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
// stream, handing each delivery to handle.
func consumer(bus *natsbus.Bus, name string, cc natsbus.ConsumerConfig, handle func(context.Context, natsbus.Delivery) error) supervise.Worker {
	return supervise.Worker{Name: name, Run: func(ctx context.Context) error { return bus.Consume(ctx, cc, handle) }}
}
