package app

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/photofeed/photofeed/internal/postgres"
)

// replicaCollector reports each replica's lag and health at scrape time,
// from the same checks that route reads.
type replicaCollector struct {
	status func() []postgres.ReplicaStatus
	lag    *prometheus.Desc
	health *prometheus.Desc
}

func newReplicaCollector(status func() []postgres.ReplicaStatus) *replicaCollector {
	return &replicaCollector{
		status: status,
		lag: prometheus.NewDesc("photofeed_db_replica_lag_seconds",
			"How far the read replica is behind the primary, as last checked.", []string{"database", "replica"}, nil),
		health: prometheus.NewDesc("photofeed_db_replica_healthy",
			"1 if the replica takes reads (reachable and within --replica-max-lag).", []string{"database", "replica"}, nil),
	}
}

func (c *replicaCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.lag
	ch <- c.health
}

func (c *replicaCollector) Collect(ch chan<- prometheus.Metric) {
	for _, r := range c.status() {
		ch <- prometheus.MustNewConstMetric(c.lag, prometheus.GaugeValue, float64(r.LagMS)/1000, r.Database, r.Addr)
		healthy := 0.0
		if r.Healthy {
			healthy = 1
		}
		ch <- prometheus.MustNewConstMetric(c.health, prometheus.GaugeValue, healthy, r.Database, r.Addr)
	}
}

// metricsHandler serves /metrics: the Go runtime, the process, and the
// database replicas when there are any, and more (the worker restarts).
// Each node has its own registry; a gateway has no database (nil).
func metricsHandler(db *database, more ...prometheus.Collector) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(more...)
	if db != nil && db.Replicas != nil {
		reg.MustRegister(newReplicaCollector(db.Replicas))
	}
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

// serveMetrics serves /metrics on --metrics-addr, apart from the public
// listener: it shows the runtime version and process figures, for the
// operator's scraper, not for everyone. With --pprof the runtime's
// profiles (/debug/pprof/) are there for the same operator: where a
// node's CPU and memory go is best seen under its real load. Off by
// default: the listener may be reachable from a network (the container
// image binds it on all interfaces), and a profile costs CPU. It returns
// where (for the start line) and how to stop.
func serveMetrics(cfg Config, metrics http.Handler, log *slog.Logger) (where string, stop func(), err error) {
	if cfg.MetricsAddr == "off" {
		return "off", func() {}, nil
	}
	ln, err := net.Listen("tcp", cfg.MetricsAddr)
	if err != nil {
		return "", nil, fmt.Errorf("--metrics-addr: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics)
	if cfg.Pprof {
		// Not the command line (pprof.Cmdline): it may hold secrets
		// (--secret, credentials in --db).
		mux.HandleFunc("GET /debug/pprof/cmdline", http.NotFound)
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("POST /debug/pprof/symbol", pprof.Symbol) // go tool pprof asks this way
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	srv := &http.Server{Handler: nosniff(mux), ReadHeaderTimeout: 10 * time.Second, WriteTimeout: time.Minute,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics listener stopped", "err", err)
		}
	}()
	return "on " + publicURL(ln.Addr(), false) + "/metrics", func() { srv.Close() }, nil
}
