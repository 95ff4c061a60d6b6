// Package web is photofeed's browser UI: server-rendered HTML from embedded
// templates, plain forms, no build step. It calls the same services as the
// REST API.
package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/photofeed/photofeed/idempotency"
	"github.com/photofeed/photofeed/internal/errkind"
	"github.com/photofeed/photofeed/internal/httpauth"
	"github.com/photofeed/photofeed/internal/identity"
	"github.com/photofeed/photofeed/internal/posts"
	"github.com/photofeed/photofeed/internal/problem"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Deps are what the UI serves from.
type Deps struct {
	Identity       Identity
	Posts          Posts
	Graph          Graph
	Feed           Feed
	Search         Search // search.Unavailable where there is no index
	Logger         *slog.Logger
	MaxUploadBytes int64
	MediaBaseURL   string
	CSRFKey        []byte
	UploadWait     time.Duration // how long an upload waits for its thumbnails
	// Architecture, if set, is drawn on /admin/architecture for
	// administrators.
	Architecture Architecture
	// ArchitectureStreamLife bounds one stream of the architecture view;
	// 0 is 5 minutes.
	ArchitectureStreamLife time.Duration
}

// UI serves the HTML pages.
type UI struct {
	deps   Deps
	log    *slog.Logger
	pages  map[string]*template.Template
	assets *assets
}

func New(deps Deps) (*UI, error) {
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	if deps.MaxUploadBytes <= 0 {
		deps.MaxUploadBytes = 20 << 20
	}
	if deps.ArchitectureStreamLife <= 0 {
		deps.ArchitectureStreamLife = architectureStreamLife
	}
	static, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	assets, err := newAssets(static)
	if err != nil {
		return nil, fmt.Errorf("static files: %w", err)
	}
	ui := &UI{deps: deps, log: deps.Logger, pages: map[string]*template.Template{}, assets: assets}
	funcs := template.FuncMap{
		"asset": assets.url,
		"media": func(key string) string { return deps.MediaBaseURL + "/media/" + key },
		"ago":   ago,
		"id":    func(id int64) string { return strconv.FormatInt(id, 10) },
		"add":   func(a, b int) int { return a + b },
		// caption is the one way a caption is shown as text.
		"caption": captionHTML,
		// postCtx hands the post partial what it needs from the page, and
		// the post's place on it (0 for the first).
		"postCtx": func(p page, v posts.View, back string, place int) postCtx {
			return postCtx{Post: v, Me: p.Me, CSRF: p.CSRF, Back: back, Place: place}
		},
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		base := n[len("templates/"):]
		if base == "layout.html" || base == "partials.html" {
			continue
		}
		t, err := template.New(base).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html", n)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", n, err)
		}
		ui.pages[base[:len(base)-len(".html")]] = t
	}
	return ui, nil
}

// postCtx is what the post partial renders from.
type postCtx struct {
	Post posts.View
	Me   *identity.User
	CSRF string
	Back string
	// Place is the post's on its page: the first photos are in view at
	// once, the largest of them the page's largest paint, so they load
	// at once (the first before anything else); the rest wait until they
	// come near the screen.
	Place int
}

// eagerPhotos is how many photos of a page load without waiting to be
// scrolled near: what a phone shows of the first screen and a laptop of
// its first two.
const eagerPhotos = 2

// Lazy says whether the post's photo waits to be scrolled near.
func (c postCtx) Lazy() bool { return c.Place >= eagerPhotos }

// page is the data every template gets.
type page struct {
	Title  string
	Me     *identity.User
	Ops    bool // the header links to the architecture page: an administrator, on a node that has it
	CSRF   string
	Errors map[string]string
	Error  string
	Data   any
}

// render writes a page into a buffer first, so a template error becomes a
// clean 500 and never half a page.
func (ui *UI) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	if p.Me == nil {
		p.Me = ui.me(r)
	}
	p.Ops = p.Me != nil && p.Me.Admin && ui.deps.Architecture != nil
	p.CSRF = ui.csrfToken(w, r)
	var buf bytes.Buffer
	if err := ui.pages[name].ExecuteTemplate(&buf, "layout", p); err != nil {
		ui.log.ErrorContext(r.Context(), "render", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "private, no-cache")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data: "+ui.deps.MediaBaseURL+"; style-src 'self'; form-action 'self'; frame-ancestors 'none'")
	h.Set("Referrer-Policy", "same-origin")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// me loads the signed-in user, or nil.
func (ui *UI) me(r *http.Request) *identity.User {
	uid := httpauth.UserID(r.Context())
	if uid == 0 {
		return nil
	}
	u, err := ui.deps.Identity.UserByID(r.Context(), uid)
	if err != nil {
		return nil
	}
	return &u
}

// fail renders the error page for err with the status its kind calls for.
// A failure caused by the client closing the connection is no failure of
// ours: nobody reads the page, and it is logged as a cancelled request.
func (ui *UI) fail(w http.ResponseWriter, r *http.Request, err error) {
	if problem.ClientClosed(r, err) {
		ui.log.InfoContext(r.Context(), "request cancelled by the client", "err", err)
		w.WriteHeader(idempotency.StatusClientClosedRequest)
		return
	}
	status := problem.Status(errkind.Of(err))
	msg := "Something went wrong on our side."
	if status >= 500 {
		ui.log.ErrorContext(r.Context(), "page failed", "err", err)
	} else if e, ok := errkind.AsError(err); ok {
		msg = e.Message
	}
	ui.render(w, r, status, "error", page{Title: http.StatusText(status), Error: msg})
}

// NotFound is the page for unknown paths.
func (ui *UI) NotFound() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ui.render(w, r, http.StatusNotFound, "error", page{Title: "Not found", Error: "There is nothing at this address."})
	})
}

func ago(t time.Time) string {
	d := time.Since(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	case d < 7*24*time.Hour:
		return fmt.Sprintf("%dd", int(d.Hours()/24))
	}
	return t.Format("2 Jan 2006")
}
