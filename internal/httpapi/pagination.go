package httpapi

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// versionPrefix is "/v1" or "/v2", for Location headers.
func versionPrefix(r *http.Request) string {
	return "/v" + strconv.Itoa(apiVersion(r))
}

// pageLinks sends RFC 8288 links for offset pagination: first, prev, next
// and last, each keeping the request's other query parameters.
func pageLinks(w http.ResponseWriter, r *http.Request, page, limit int, total int64) {
	last := max(1, int((total+int64(limit)-1)/int64(limit)))
	link := func(p int, rel string) string {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(p))
		q.Set("limit", strconv.Itoa(limit))
		return "<" + (&url.URL{Path: r.URL.Path, RawQuery: q.Encode()}).String() + `>; rel="` + rel + `"`
	}
	links := []string{link(1, "first")}
	if page > 1 {
		links = append(links, link(min(page-1, last), "prev"))
	}
	if page < last {
		links = append(links, link(page+1, "next"))
	}
	links = append(links, link(last, "last"))
	w.Header().Add("Link", strings.Join(links, ", "))
}
