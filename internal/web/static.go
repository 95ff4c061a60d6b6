package web

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
)

// assets names each file under static/ by a versioned URL: its path and
// the first 16 hex digits of its bytes' SHA-256. A release that changes
// a file changes its URL, so browsers and caches may keep each version
// for a year without ever serving a stale stylesheet or script.
type assets struct {
	version map[string]string // file name → version
	files   http.Handler
}

func newAssets(static fs.FS) (*assets, error) {
	a := &assets{version: map[string]string{}, files: http.FileServerFS(static)}
	err := fs.WalkDir(static, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(static, name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		a.version[name] = hex.EncodeToString(sum[:8])
		return nil
	})
	return a, err
}

// url is name's versioned URL; templates call it as {{asset "style.css"}}.
// A name with no file is a template's mistake, caught by the tests of the
// pages that use it: it gets the unversioned URL, which 404s.
func (a *assets) url(name string) string {
	if v, ok := a.version[name]; ok {
		return "/static/" + name + "?v=" + v
	}
	return "/static/" + name
}

// ServeHTTP serves the files under /static/ (prefix stripped). At its
// current version a file is immutable for a year; by a bare or an old
// version (a page cached from before a release) it is the current bytes,
// kept for an hour only.
func (a *assets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cache := "public, max-age=3600"
	if v := r.URL.Query().Get("v"); v != "" && v == a.version[path.Clean(r.URL.Path)] {
		cache = "public, max-age=31536000, immutable"
	}
	w.Header().Set("Cache-Control", cache)
	a.files.ServeHTTP(w, r)
}
