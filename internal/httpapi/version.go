package httpapi

import (
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/photofeed/photofeed/internal/problem"
)

// API versions. A version lives in the path (/v1/feed, /v2/feed) or, on an
// unversioned path (/feed), in the Accept header:
// Accept: application/vnd.photofeed+json; version=2.
const (
	VendorType    = "application/vnd.photofeed+json"
	LatestVersion = 2
)

// v1's retirement, announced on every v1 response: Deprecation (RFC 9745)
// says since when, Sunset (RFC 8594) until when it answers at all.
var (
	V1Deprecated = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	V1Sunset     = time.Date(2027, 7, 1, 0, 0, 0, 0, time.UTC)
)

// apiVersion is the version a routed request is served in.
func apiVersion(r *http.Request) int {
	if strings.HasPrefix(r.URL.Path, "/v2/") {
		return 2
	}
	return 1
}

// resources are the unversioned path roots the API answers on. The
// admin API is /admin/jobs alone: other /admin/ paths are the UI's
// pages for administrators (/admin/architecture).
var resources = []string{"/accounts", "/sessions", "/me", "/users/", "/posts", "/feed", "/search", "/admin/jobs"}

func unversioned(p string) bool {
	for _, root := range resources {
		if p == root || strings.HasPrefix(p, strings.TrimSuffix(root, "/")+"/") {
			return true
		}
	}
	return false
}

// Versions routes unversioned API paths by the Accept header (latest when
// it names no version), and marks every v1 answer as deprecated with a link
// to its v2 successor.
func Versions(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if unversioned(r.URL.Path) {
			v, ok := acceptedVersion(r.Header.Values("Accept"))
			w.Header().Add("Vary", "Accept")
			if !ok {
				problem.Write(w, problem.Details{Type: problem.Base + "not-acceptable", Status: http.StatusNotAcceptable,
					Detail: `this API serves ` + VendorType + `; version=1 or version=2`})
				return
			}
			r2 := r.Clone(r.Context())
			r2.URL.Path = "/v" + strconv.Itoa(v) + r.URL.Path
			r2.URL.RawPath = ""
			r, w = r2, &beforeHeader{ResponseWriter: w, edit: labelVersion(v)}
		}
		if strings.HasPrefix(r.URL.Path, "/v1/") {
			h := w.Header()
			h.Set("Deprecation", "@"+itoa(V1Deprecated.Unix()))
			h.Set("Sunset", V1Sunset.Format(http.TimeFormat))
			w = &beforeHeader{ResponseWriter: w, edit: appendSuccessor(`<` + "/v2/" + strings.TrimPrefix(r.URL.Path, "/v1/") + `>; rel="successor-version"`)}
		}
		next.ServeHTTP(w, r)
	})
}

// acceptedVersion picks the version from Accept: the vendor type's version
// parameter, the latest for the vendor type without one or for JSON and
// anything else, and false for a vendor type with an unknown version.
func acceptedVersion(accept []string) (int, bool) {
	for _, list := range accept {
		for part := range strings.SplitSeq(list, ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil || mt != VendorType {
				continue
			}
			switch params["version"] {
			case "":
				return LatestVersion, true
			case "1":
				return 1, true
			case "2":
				return 2, true
			default:
				return 0, false
			}
		}
	}
	return LatestVersion, true
}

// beforeHeader calls edit on the response header once, just before it is
// sent: how a middleware adjusts what the handler set.
type beforeHeader struct {
	http.ResponseWriter
	edit  func(http.Header)
	wrote bool
}

func (b *beforeHeader) WriteHeader(code int) {
	if !b.wrote {
		b.wrote = true
		b.edit(b.Header())
	}
	b.ResponseWriter.WriteHeader(code)
}

func (b *beforeHeader) Write(p []byte) (int, error) {
	if !b.wrote {
		b.WriteHeader(http.StatusOK)
	}
	return b.ResponseWriter.Write(p)
}

func (b *beforeHeader) Unwrap() http.ResponseWriter { return b.ResponseWriter }

// labelVersion marks JSON answers to an unversioned path with the version
// that served them.
func labelVersion(v int) func(http.Header) {
	return func(h http.Header) {
		if h.Get("Content-Type") == "application/json" {
			h.Set("Content-Type", VendorType+"; version="+strconv.Itoa(v))
		}
	}
}

// appendSuccessor adds the successor-version link to whatever links the
// handler sends, as one Link field.
func appendSuccessor(link string) func(http.Header) {
	return func(h http.Header) {
		links := h.Values("Link")
		if !strings.Contains(strings.Join(links, ","), `rel="successor-version"`) { // a replay has it already
			links = append(links, link)
		}
		h.Set("Link", strings.Join(links, ", "))
	}
}

func itoa(n int64) string {
	return strconv.FormatInt(n, 10)
}
