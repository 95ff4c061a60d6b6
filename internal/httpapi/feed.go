package httpapi

import (
	"net/http"
	"net/url"
	"strconv"
)

func (a *API) getFeed(w http.ResponseWriter, r *http.Request, uid int64) error {
	q := r.URL.Query()
	limit, p := cursorLimit(r)
	if p != nil {
		return p
	}
	cursor := q.Get("cursor")
	if _, set := q["cursor"]; set && cursor == "" {
		p := badRequest("empty cursor", map[string]string{"cursor": "must be a next_cursor from a previous page; omit it for the first page"})
		return &p
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
	return a.writeViews(w, r, uid, page.Posts, func(items []any) any {
		return cursorPage[any]{Items: items, NextCursor: page.Next}
	})
}
