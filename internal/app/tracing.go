package app

import (
	"context"
	"os"
	"strings"
	"time"

	"github.com/photofeed/photofeed/internal/tracing"
)

// probePaths are the health probes, answered without a span: sent every
// few seconds by the gateway and load balancers, they would outnumber the
// traces of requests.
var probePaths = []string{"/healthz", "/readyz"}

// newTracing sets up the node's tracing from --otlp-endpoint, named in
// the collector after its roles (photofeed-gateway, photofeed-api+worker),
// and shut down, its last spans exported, as the node's last closer.
func (n *node) newTracing(cfg Config) (*tracing.Tracing, error) {
	host, _ := os.Hostname()
	tr, err := tracing.New(tracing.Config{Endpoint: cfg.OTLPEndpoint, Sample: cfg.TraceSample,
		Service: "photofeed-" + strings.ReplaceAll(cfg.Roles, ",", "+"), Instance: host, Version: version(), Logger: n.log})
	if err != nil {
		return nil, err
	}
	n.closers = append(n.closers, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return tr.Shutdown(ctx)
	})
	return tr, nil
}
