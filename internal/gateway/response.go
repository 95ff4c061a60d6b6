package gateway

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"
)

// respond streams the upstream's response to the client through a pooled
// buffer, then finishes the attempt.
func (g *Gateway) respond(w http.ResponseWriter, r *http.Request, resp *http.Response, a *attempt) {
	o := g.outcomeOf(resp)
	defer func() {
		resp.Body.Close()
		a.finish(o)
	}()
	h := w.Header()
	forwardHeader(h, resp.Header)
	for k := range resp.Trailer {
		h.Add("Trailer", k)
	}
	w.WriteHeader(resp.StatusCode)
	// An event stream's pieces go to the client as they come. Any other
	// body, of unknown length too (a compressed answer has none), is
	// buffered as net/http buffers it and bounded by the server's
	// WriteTimeout: flushing each read would cost a syscall a piece.
	events := strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream")
	flush := events
	if a.stream {
		a.settle(o)
	}
	if events { // never ends by itself: ended on shutdown, or when its upstream is drained
		stop := g.endOnShutdown(a)
		defer stop()
		stopCut := context.AfterFunc(a.u.streamsCut, func() { a.cancel(errUpstreamDrained) })
		defer stopCut()
	}
	var tail *eventTail // only an event stream's is followed
	if events {
		tail = &eventTail{boundary: true}
	}
	readErr, writeErr := g.copyBody(w, resp.Body, flush, tail)
	if readErr != nil && events && (g.closing.Err() != nil || a.u.streamsCut.Err() != nil) {
		// An event stream has no end to cut: it ends cleanly, and the
		// upstream is not to blame. Its client is told why, unless that
		// would land in the middle of an event.
		o = clientGone
		if len(g.cfg.ShutdownEvent) > 0 && tail.boundary {
			w.Write(g.cfg.ShutdownEvent)
			http.NewResponseController(w).Flush()
		}
		return
	}
	if readErr != nil {
		// The client must not take a cut body for a whole one: abort the
		// response so that its connection is closed without the end.
		// A client that left cut the body itself (its context ends the
		// attempt's): closed tabs must not eject or trip a healthy upstream.
		o = failedConn
		if r.Context().Err() != nil {
			o = clientGone
		}
		panic(http.ErrAbortHandler)
	}
	if writeErr != nil {
		return
	}
	for k, vv := range resp.Trailer {
		h[http.TrailerPrefix+k] = vv
	}
}

var errUpstreamDrained = errors.New("gateway: upstream drained")

// streamWriteBound is how long one piece of a streamed response may take
// to reach the client before the stream is given up.
const streamWriteBound = 30 * time.Second

// eventTail follows an event stream's bytes to know whether it is
// between events: after a blank line, or before anything was sent.
type eventTail struct {
	last     [4]byte
	boundary bool
}

func (e *eventTail) wrote(b []byte) {
	if e == nil || len(b) == 0 {
		return
	}
	if len(b) >= len(e.last) {
		copy(e.last[:], b[len(b)-len(e.last):])
	} else {
		copy(e.last[:], e.last[len(b):])
		copy(e.last[len(e.last)-len(b):], b)
	}
	l := e.last[:]
	e.boundary = bytes.HasSuffix(l, []byte("\n\n")) || bytes.HasSuffix(l, []byte("\r\r")) || bytes.HasSuffix(l, []byte("\r\n\r\n"))
}

func (g *Gateway) copyBody(w http.ResponseWriter, src io.Reader, flush bool, tail *eventTail) (readErr, writeErr error) {
	bp := g.bufs.Get().(*[]byte)
	defer g.bufs.Put(bp)
	buf := *bp
	var rc *http.ResponseController
	if flush {
		rc = http.NewResponseController(w)
	}
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if rc != nil {
				// A stream lives past the server's WriteTimeout, which
				// bounds ordinary answers: each piece gets its own bound.
				rc.SetWriteDeadline(time.Now().Add(streamWriteBound))
			}
			if _, werr := w.Write(buf[:n]); werr != nil {
				return nil, werr
			}
			tail.wrote(buf[:n])
			if rc != nil {
				rc.Flush()
			}
		}
		if err == io.EOF {
			return nil, nil
		}
		if err != nil {
			return err, nil
		}
	}
}
