package httpapi

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/photofeed/photofeed/internal/request"
	"github.com/photofeed/photofeed/internal/search"
)

func (a *API) getSearch(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	limit, err := request.Limit(r, 20, 100)
	if err != nil {
		return err
	}
	kind := search.Kind(q.Get("type"))
	if kind == "" {
		kind = search.Posts
	}
	page, err := a.deps.Search.Search(r.Context(), kind, q.Get("q"), q.Get("cursor"), limit)
	if err != nil {
		return err
	}
	warning := a.searchBehind(w, r)
	if page.Next != "" {
		next := url.Values{"q": {q.Get("q")}, "type": {string(kind)}, "limit": {strconv.Itoa(limit)}, "cursor": {page.Next}}
		w.Header().Add("Link", `<`+r.URL.Path+`?`+next.Encode()+`>; rel="next"`)
	}
	if kind == search.Users {
		users, err := a.deps.Identity.UsersByIDs(r.Context(), page.IDs)
		if err != nil {
			return err
		}
		items := make([]userSummaryJSON, 0, len(page.IDs))
		for _, id := range page.IDs {
			if u, ok := users[id]; ok {
				items = append(items, userSummaryJSON{ID: u.ID, Username: u.Username, DisplayName: u.DisplayName})
			}
		}
		writeJSON(w, http.StatusOK, cursorPage[userSummaryJSON]{Items: items, NextCursor: page.Next, Warning: warning})
		return nil
	}
	views, err := a.deps.Posts.ViewsByIDs(r.Context(), httpauthUserID(r), page.IDs)
	if err != nil {
		return err
	}
	a.writePosts(w, r, views, func(items []any) any {
		return cursorPage[any]{Items: items, NextCursor: page.Next, Warning: warning}
	})
	return nil
}

// searchBehind marks an answer from an index that may be behind: the
// index learns of posts and accounts from the event bus, and while this
// node is cut off from it, the newest are missing. The answer is still
// given (what the index holds is right, only not complete), with the
// Warning header in every version and, for v2, the text of the warning
// field; "" when the bus is up.
func (a *API) searchBehind(w http.ResponseWriter, r *http.Request) string {
	if a.deps.Bus == nil || a.deps.Bus() == nil {
		return ""
	}
	w.Header().Set("Warning", `110 - "Response is Stale"`)
	if apiVersion(r) == 1 {
		return ""
	}
	return "behind: the search index cannot hear of new posts and accounts now; the newest may be missing"
}
