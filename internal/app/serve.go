package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/photofeed/photofeed/internal/feed"
	"github.com/photofeed/photofeed/internal/gateway"
	"github.com/photofeed/photofeed/internal/leanhttp"
	"github.com/photofeed/photofeed/internal/live"
	"github.com/photofeed/photofeed/internal/media"
	"github.com/photofeed/photofeed/internal/posts"
	"github.com/photofeed/photofeed/internal/supervise"
)

// node is one running photofeed: its HTTP handler and what must be
// closed when it stops.
type node struct {
	handler http.Handler
	metrics http.Handler // served on --metrics-addr, not the public listener
	db      *database
	feed    *feed.Service
	posts   *posts.Service
	checks  *media.Checks    // the uploads' validity checks at once
	live    *live.Hub        // the live feed's open streams; nil on a worker
	gateway *gateway.Gateway // the proxy and its open streams on a gateway node
	log     *slog.Logger
	closers []func() error
	workers *supervise.Supervisor // the background work, restarted when it fails
	// announce starts the node's heartbeats from its listen address, and
	// returns how to stop them (with a last beat saying it leaves); nil
	// on a node without a bus.
	announce func(ctx context.Context, addr string) (stop func())
}

// start runs the node's background work (outbox relay, event consumers,
// job queues) until the returned stop is called.
func (n *node) start(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); n.workers.Run(ctx) }()
	return func() { cancel(); <-done }
}

func (n *node) Close() error {
	var errs []error
	for i := len(n.closers) - 1; i >= 0; i-- {
		errs = append(errs, n.closers[i]())
	}
	return errors.Join(errs...)
}

// serve runs every role in this process until ctx ends, then shuts down
// gracefully: stop accepting, let in-flight requests finish, close stores.
func serve(ctx context.Context, cfg Config, stdout, stderr io.Writer) error {
	builder := build
	if cfg.hasRole("gateway") {
		builder = buildGateway
	}
	n, err := builder(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer n.Close()
	log := n.log

	ln, err := listen(cfg)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           n.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute, // uploads on slow links
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	if n.live != nil {
		// Shutdown waits for streaming responses without ending them:
		// the hub ends the live streams, whose clients reconnect elsewhere.
		srv.RegisterOnShutdown(func() { n.live.Close() })
	}
	if n.gateway != nil {
		// Likewise the streams the gateway proxies: their upstreams end
		// them only when they shut down themselves.
		srv.RegisterOnShutdown(n.gateway.Shutdown)
	}
	metrics, stopMetrics, err := serveMetrics(cfg, n.metrics, log)
	if err != nil {
		ln.Close()
		return err
	}
	defer stopMetrics()
	where := "data in " + cfg.DataDir
	if cfg.hasRole("gateway") {
		where = "gateway, no data of its own"
	}
	fmt.Fprintf(stdout, "photofeed serving on %s (%s; metrics %s)\n", publicURL(ln.Addr(), cfg.TLSCert != ""), where, metrics)
	log.Info("started", "addr", ln.Addr().String(), "data_dir", cfg.DataDir, "metrics", metrics)

	defer n.start(ctx)()
	if n.announce != nil {
		defer n.announce(ctx, ln.Addr().String())()
	}

	front := frontServer(srv, cfg, n)
	errc := make(chan error, 1)
	go func() { errc <- front.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "grace", cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := front.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// frontServer is what serves the public listener: net/http, or on a
// gateway without TLS the lean HTTP/1.1 loop in front of it, which
// serves the proxy's bodyless keep-alive GETs with less work per request
// and gives net/http every other connection (internal/leanhttp).
func frontServer(srv *http.Server, cfg Config, n *node) interface {
	Serve(net.Listener) error
	Shutdown(context.Context) error
} {
	if n.gateway != nil && cfg.TLSCert == "" {
		return leanhttp.New(srv)
	}
	return srv
}

// publicURL turns a listen address into the URL people should open.
func publicURL(a net.Addr, https bool) string {
	host, port, _ := net.SplitHostPort(a.String())
	if host == "" || host == "::" || host == "0.0.0.0" || strings.HasPrefix(host, "[::]") {
		host = "localhost"
	}
	scheme := "http://"
	if https {
		scheme = "https://"
	}
	return scheme + net.JoinHostPort(host, port)
}

// listen opens the public listener: plain TCP, or TLS with --tls-cert.
// Over TLS, HTTP/2 is offered by ALPN (h2, then http/1.1), as net/http's
// own ServeTLS would; the certificate is loaded once, at start.
func listen(cfg Config) (net.Listener, error) {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	if cfg.TLSCert == "" {
		return ln, nil
	}
	cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
	}
	return tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"},
		MinVersion: tls.VersionTLS12}), nil
}
