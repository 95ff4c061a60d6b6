package httpapi

import (
	"context"
	"net/http"
	"time"
)

// healthz says the process is up: it serves requests.
func (a *API) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz says whether this instance can do useful work: its stores answer
// and its event consumers and background workers run.
// A load balancer takes an instance that fails it (503) out of rotation.
// A part whose loss every node shares and that leaves the node serving
// (the database primary, the event bus) makes it "degraded", still 200:
// taking every node out would turn a partial outage into a whole one.
func (a *API) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	rd := readiness{api: a, ctx: ctx, body: map[string]any{"status": "ok", "store": "ok"}, status: http.StatusOK}
	var readErr error
	if a.deps.Ready != nil {
		readErr = a.deps.Ready(ctx)
	}
	switch {
	case readErr != nil && !a.deps.StoreShared:
		a.log.WarnContext(ctx, "not ready", "err", readErr)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "store": "unreachable"})
		return
	case readErr != nil:
		rd.degraded("store", "unreachable", readErr)
	case a.deps.Writable != nil:
		rd.degraded("store", "primary unreachable", a.deps.Writable(ctx))
	}
	if a.deps.ReadyDetail != nil {
		rd.body["replicas"] = a.deps.ReadyDetail()
	}
	if a.deps.Bus != nil {
		rd.degraded("bus", "disconnected", a.deps.Bus())
	}
	if a.deps.Events != nil {
		rd.unavailable("events", a.deps.Events())
	}
	if a.deps.Workers != nil {
		rd.unavailable("workers", a.deps.Workers())
	}
	writeJSON(w, rd.status, rd.body)
}

// readiness is a /readyz answer being made: each part is "ok" or says
// what is wrong with it, and the worst part sets the status.
type readiness struct {
	api    *API
	ctx    context.Context
	body   map[string]any
	status int
}

// degraded records a part that is down while the node still serves.
func (rd *readiness) degraded(field, what string, err error) {
	rd.body[field] = "ok"
	if err == nil {
		return
	}
	rd.api.log.WarnContext(rd.ctx, "degraded", "part", field, "err", err)
	rd.body[field] = what
	if rd.status == http.StatusOK {
		rd.body["status"] = "degraded"
	}
}

// unavailable records a part without which the node should be out of
// rotation.
func (rd *readiness) unavailable(field string, err error) {
	rd.body[field] = "ok"
	if err == nil {
		return
	}
	rd.api.log.WarnContext(rd.ctx, "not ready", "err", err)
	rd.body[field] = err.Error()
	rd.body["status"], rd.status = "unavailable", http.StatusServiceUnavailable
}
