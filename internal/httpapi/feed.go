package httpapi

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/photofeed/photofeed/internal/feed"

	"github.com/photofeed/photofeed/internal/problem"
	"github.com/photofeed/photofeed/internal/request"
)

func (a *API) getFeed(w http.ResponseWriter, r *http.Request, uid int64) error {
	q := r.URL.Query()
	limit, err := request.Limit(r, 20, 100)
	if err != nil {
		return err
	}
	cursor := q.Get("cursor")
	if _, set := q["cursor"]; set && cursor == "" {
		return problem.BadRequest("empty cursor", map[string]string{"cursor": "must be a next_cursor from a previous page; omit it for the first page"})
	}
	page, err := a.deps.Feed.Home(r.Context(), uid, cursor, limit)
	if err != nil {
		return err
	}
	if page.Next != "" {
		next := url.Values{"limit": {strconv.Itoa(limit)}, "cursor": {page.Next}}
		w.Header().Add("Link", `<`+r.URL.Path+`?`+next.Encode()+`>; rel="next"`)
	}
	w.Header().Set("Cache-Control", "private, no-cache")
	warning := staleWarning(w, r, a, page)
	a.writePosts(w, r, page.Posts, func(items []any) any {
		return cursorPage[any]{Items: items, NextCursor: page.Next, Warning: warning}
	})
	return nil
}

// staleWarning marks a page served stale (the stores could not be read):
// the Warning header in every version (RFC 7234's code 110, which
// RFC 9111 retired but clients and proxies still know), and the text for
// v2's warning field, "" when the page is current or for v1.
func staleWarning(w http.ResponseWriter, r *http.Request, a *API, page feed.Page) string {
	if page.Stale == nil {
		return ""
	}
	a.log.WarnContext(r.Context(), "home feed served stale", "as_of", page.AsOf, "err", page.Stale)
	w.Header().Set("Warning", `110 - "Response is Stale"`)
	if apiVersion(r) == 1 {
		return ""
	}
	return "stale: the feed cannot be read now; this is the page as served at " + page.AsOf.UTC().Format(time.RFC3339)
}
