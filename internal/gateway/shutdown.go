package gateway

import (
	"context"
	"errors"
)

// errShuttingDown ends the attempts of streams cut by Shutdown.
var errShuttingDown = errors.New("gateway shutting down")

// Shutdown ends the event streams in flight, and any that start after,
// so that http.Server.Shutdown, which waits for every handler, is not
// held up by streams that never end: register it with the server's
// RegisterOnShutdown. Each stream ends cleanly and its client reconnects,
// to another gateway or to this one restarted. Ordinary requests go on,
// within the server's shutdown grace.
func (g *Gateway) Shutdown() { g.endStreams() }

// endOnShutdown cuts a's stream when the gateway shuts down, until the
// returned stop is called.
func (g *Gateway) endOnShutdown(a *attempt) (stop func() bool) {
	return context.AfterFunc(g.closing, func() { a.cancel(errShuttingDown) })
}
