package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"net/http"
	"strings"
	"time"
)

// assets serves the files under static/ by versioned paths: the first 16
// hex digits of a file's SHA-256, then its name (/static/1cb8…/style.css).
// A release that changes a file changes its path, so browsers and caches
// may keep each version for a year without ever serving a stale
// stylesheet or script. The version is a path segment, not a query, as
// some caches key on the path alone (the edge nginx in the docs keys on
// $uri).
type assets struct {
	files   map[string]asset // by name
	started time.Time        // the files' modification time: they are built in
}

type asset struct {
	version string
	body    []byte
}

func newAssets(static fs.FS) (*assets, error) {
	a := &assets{files: map[string]asset{}, started: time.Now()}
	err := fs.WalkDir(static, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(static, name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		a.files[name] = asset{version: hex.EncodeToString(sum[:8]), body: b}
		return nil
	})
	return a, err
}

// url is name's versioned path; templates call it as {{asset "style.css"}}.
// A name with no file is a template's mistake, caught by the tests of the
// pages that use it: it gets a path that 404s.
func (a *assets) url(name string) string {
	if f, ok := a.files[name]; ok {
		return "/static/" + f.version + "/" + name
	}
	return "/static/missing/" + name
}

// ServeHTTP serves the files under /static/ (prefix stripped), and
// nothing else (no listing). At its current version a file is immutable
// for a year; by its bare name or an old version (a page cached from
// before a release) it is the current bytes, kept for an hour only.
func (a *assets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	version, name, versioned := strings.Cut(r.URL.Path, "/")
	if !versioned {
		name = version
	}
	f, ok := a.files[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	cache := "public, max-age=3600"
	if versioned && version == f.version {
		cache = "public, max-age=31536000, immutable"
	}
	w.Header().Set("Cache-Control", cache)
	w.Header().Set("ETag", `"`+f.version+`"`)
	http.ServeContent(w, r, name, a.started, bytes.NewReader(f.body))
}
