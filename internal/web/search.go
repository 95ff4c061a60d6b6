package web

import (
	"errors"
	"net/http"

	"github.com/photofeed/photofeed/internal/errkind"
	"github.com/photofeed/photofeed/internal/httpauth"
	"github.com/photofeed/photofeed/internal/identity"
	"github.com/photofeed/photofeed/internal/posts"
	"github.com/photofeed/photofeed/internal/search"
)

type searchData struct {
	Q, Type string
	Users   []identity.User
	Posts   []posts.View
	Next    string
	Problem string
}

// explore is the search page; the API owns /search.
func (ui *UI) explore(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := searchData{Q: q.Get("q"), Type: q.Get("type")}
	if d.Type != string(search.Users) {
		d.Type = string(search.Posts)
	}
	if d.Q == "" {
		ui.render(w, r, http.StatusOK, "search", page{Title: "Search", Data: d})
		return
	}
	res, err := ui.deps.Search.Search(r.Context(), search.Kind(d.Type), d.Q, q.Get("cursor"), 24)
	if e, ok := errkind.AsError(err); ok && e.Kind != errkind.Internal {
		d.Problem = e.Message
		if errors.Is(err, search.ErrUnavailable) {
			ui.render(w, r, http.StatusServiceUnavailable, "search", page{Title: "Search", Data: d})
			return
		}
		ui.render(w, r, http.StatusBadRequest, "search", page{Title: "Search", Data: d})
		return
	}
	if err != nil {
		ui.fail(w, r, err)
		return
	}
	d.Next = res.Next
	if d.Type == string(search.Users) {
		users, err := ui.deps.Identity.UsersByIDs(r.Context(), res.IDs)
		if err != nil {
			ui.fail(w, r, err)
			return
		}
		for _, id := range res.IDs {
			if u, ok := users[id]; ok {
				d.Users = append(d.Users, u)
			}
		}
	} else {
		d.Posts, err = ui.deps.Posts.ViewsByIDs(r.Context(), httpauth.UserID(r.Context()), res.IDs)
		if err != nil {
			ui.fail(w, r, err)
			return
		}
	}
	ui.render(w, r, http.StatusOK, "search", page{Title: "Search: " + d.Q, Data: d})
}
