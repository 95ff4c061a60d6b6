package httpapi

import (
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
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

// resources are the unversioned path roots the API answers on.
var resources = []string{"/accounts", "/sessions", "/me", "/users/", "/posts", "/feed"}

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
				WriteProblem(w, Problem{Type: ProblemBase + "not-acceptable", Status: http.StatusNotAcceptable,
					Detail: `this API serves ` + VendorType + `; version=1 or version=2`})
				return
			}
			r2 := r.Clone(r.Context())
			r2.URL.Path = "/v" + string(rune('0'+v)) + r.URL.Path
			r2.URL.RawPath = ""
			r, w = r2, &vendorWriter{ResponseWriter: w, version: v}
		}
		if strings.HasPrefix(r.URL.Path, "/v1/") {
			h := w.Header()
			h.Set("Deprecation", "@"+itoa(V1Deprecated.Unix()))
			h.Set("Sunset", V1Sunset.Format(http.TimeFormat))
			w = &successorWriter{ResponseWriter: w, link: `<` + "/v2/" + strings.TrimPrefix(r.URL.Path, "/v1/") + `>; rel="successor-version"`}
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

// vendorWriter labels JSON answers to an unversioned path with the version
// that served them.
type vendorWriter struct {
	http.ResponseWriter
	version int
	wrote   bool
}

func (v *vendorWriter) WriteHeader(code int) {
	if !v.wrote {
		v.wrote = true
		if v.Header().Get("Content-Type") == "application/json" {
			v.Header().Set("Content-Type", VendorType+"; version="+string(rune('0'+v.version)))
		}
	}
	v.ResponseWriter.WriteHeader(code)
}

func (v *vendorWriter) Write(b []byte) (int, error) {
	if !v.wrote {
		v.WriteHeader(http.StatusOK)
	}
	return v.ResponseWriter.Write(b)
}

func (v *vendorWriter) Unwrap() http.ResponseWriter { return v.ResponseWriter }

// successorWriter appends the successor-version link to whatever links
// the handler sends, as one Link field.
type successorWriter struct {
	http.ResponseWriter
	link  string
	wrote bool
}

func (s *successorWriter) WriteHeader(code int) {
	if !s.wrote {
		s.wrote = true
		h := s.Header()
		links := append(h.Values("Link"), s.link)
		if strings.Contains(strings.Join(links[:len(links)-1], ","), `rel="successor-version"`) {
			links = links[:len(links)-1] // a replayed response has it already
		}
		h.Set("Link", strings.Join(links, ", "))
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *successorWriter) Write(b []byte) (int, error) {
	if !s.wrote {
		s.WriteHeader(http.StatusOK)
	}
	return s.ResponseWriter.Write(b)
}

func (s *successorWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func itoa(n int64) string {
	return strconv.FormatInt(n, 10)
}
