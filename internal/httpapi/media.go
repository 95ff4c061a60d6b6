package httpapi

import (
	"net/http"

	"github.com/photofeed/photofeed/internal/blobstore"
	"path"
	"strings"
)

var mediaTypes = map[string]string{".jpg": "image/jpeg", ".png": "image/png"}

// getMedia serves a blob. Keys are content hashes, so a key's bytes never
// change: caches may keep them for a year without asking again, and the
// ETag is the key itself.
func (a *API) getMedia(w http.ResponseWriter, r *http.Request) error {
	key := r.PathValue("key")
	if _, ok := mediaTypes[path.Ext(key)]; !ok {
		return blobstore.ErrNotFound // uploads awaiting processing still carry their metadata: never served
	}
	if a.deps.MediaRedirect != nil {
		return a.redirectMedia(w, r, key)
	}
	b, err := a.deps.Blobs.Open(r.Context(), key)
	if err != nil {
		return err
	}
	defer b.Close()
	h := w.Header()
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("ETag", `"`+strings.TrimSuffix(key, path.Ext(key))+`"`)
	h.Set("X-Content-Type-Options", "nosniff")
	if ct, ok := mediaTypes[path.Ext(key)]; ok {
		h.Set("Content-Type", ct)
	} else {
		h.Set("Content-Type", "application/octet-stream")
	}
	http.ServeContent(w, r, "", b.ModTime, b)
	return nil
}

// redirectMedia sends the client to the object store. The presigned URL
// is not checked for existence first (that would cost a store round trip
// per view); a deleted key answers 404 from the store itself. The redirect
// may be cached for a minute, well inside the URL's validity.
func (a *API) redirectMedia(w http.ResponseWriter, r *http.Request, key string) error {
	u, err := a.deps.MediaRedirect(r.Context(), key)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "private, max-age=60")
	http.Redirect(w, r, u, http.StatusFound)
	return nil
}
