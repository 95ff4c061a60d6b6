package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/photofeed/photofeed/internal/errkind"
	"github.com/photofeed/photofeed/internal/httpauth"
	"github.com/photofeed/photofeed/internal/topology"
)

// Architecture is what the architecture page draws: the running system
// as the node serving the page sees it.
type Architecture interface {
	View(ctx context.Context) topology.View
}

// architectureTick is how often the page's stream sends the view: the
// nodes' beats are a second apart, and a lost node must show within a
// few seconds.
const architectureTick = 500 * time.Millisecond

var errNotAdmin = errkind.New(errkind.Forbidden, "This page is for administrators.")

// needAdmin lets signed-in administrators through; others are sent to
// log in, or refused.
func (ui *UI) needAdmin(next http.HandlerFunc) http.HandlerFunc {
	return ui.needLogin(func(w http.ResponseWriter, r *http.Request) {
		u, err := ui.deps.Identity.UserByID(r.Context(), httpauth.UserID(r.Context()))
		if err != nil {
			ui.fail(w, r, err)
			return
		}
		if !u.Admin {
			ui.fail(w, r, errNotAdmin)
			return
		}
		next(w, r)
	})
}

// architecture is GET /admin/architecture: the drawing as it is now,
// which static/architecture.js then keeps up to date from the stream.
func (ui *UI) architecture(w http.ResponseWriter, r *http.Request) {
	ui.render(w, r, http.StatusOK, "architecture", page{Title: "Architecture", Data: ui.deps.Architecture.View(r.Context())})
}

// architectureStreamLife bounds one stream unless Deps says otherwise:
// the admin check is made when a stream opens, so an admin demoted or
// logged out meanwhile stops seeing the view within it. The page's
// EventSource reconnects at once, and an admin's reconnection is checked
// again.
const architectureStreamLife = 5 * time.Minute

// architectureEvents is GET /admin/architecture/events: the view as a
// text/event-stream, one "view" event per tick, until the client goes
// or Deps.ArchitectureStreamLife has passed. A stream lives past the server's
// write timeout; each write has its own bound instead, so a reader that
// stopped reading is let go.
func (ui *UI) architectureEvents(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	tick := time.NewTicker(architectureTick)
	defer tick.Stop()
	end := time.NewTimer(ui.deps.ArchitectureStreamLife)
	defer end.Stop()
	for {
		data, err := json.Marshal(ui.deps.Architecture.View(r.Context()))
		if err != nil {
			ui.log.ErrorContext(r.Context(), "architecture view", "err", err)
			return
		}
		rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := fmt.Fprintf(w, "event: view\ndata: %s\n\n", data); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-end.C:
			return
		case <-tick.C:
		}
	}
}
