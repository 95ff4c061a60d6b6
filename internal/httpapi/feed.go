package httpapi

import (
	"net/http"
	"net/url"
	"strconv"

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
	a.writePosts(w, r, page.Posts, func(items []any) any {
		return cursorPage[any]{Items: items, NextCursor: page.Next}
	})
	return nil
}
