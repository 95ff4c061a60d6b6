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
// A load balancer takes an instance that fails it out of rotation.
func (a *API) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if a.deps.Ready != nil {
		if err := a.deps.Ready(ctx); err != nil {
			a.log.WarnContext(ctx, "not ready", "err", err)
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "store": "unreachable"})
			return
		}
	}
	body := map[string]any{"status": "ok", "store": "ok"}
	if a.deps.ReadyDetail != nil {
		body["replicas"] = a.deps.ReadyDetail()
	}
	status := http.StatusOK
	if a.deps.Events != nil {
		body["events"] = "ok"
		if err := a.deps.Events(); err != nil {
			a.log.WarnContext(ctx, "not ready", "err", err)
			body["status"], body["events"] = "unavailable", err.Error()
			status = http.StatusServiceUnavailable
		}
	}
	if a.deps.Workers != nil {
		body["workers"] = "ok"
		if err := a.deps.Workers(); err != nil {
			a.log.WarnContext(ctx, "not ready", "err", err)
			body["status"], body["workers"] = "unavailable", err.Error()
			status = http.StatusServiceUnavailable
		}
	}
	writeJSON(w, status, body)
}
