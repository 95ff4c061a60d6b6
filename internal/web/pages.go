package web

import (
	"net/http"
	"strconv"

	"github.com/photofeed/photofeed/internal/graph"
	"github.com/photofeed/photofeed/internal/httpauth"
	"github.com/photofeed/photofeed/internal/identity"
	"github.com/photofeed/photofeed/internal/posts"
)

func (ui *UI) home(w http.ResponseWriter, r *http.Request) {
	uid := httpauth.UserID(r.Context())
	if uid == 0 {
		ui.render(w, r, http.StatusOK, "welcome", page{Title: "Welcome"})
		return
	}
	pg, err := ui.deps.Feed.Home(r.Context(), uid, r.URL.Query().Get("cursor"), 20)
	if err != nil {
		ui.fail(w, r, err)
		return
	}
	if pg.Stale != nil {
		w.Header().Set("Warning", `110 - "Response is Stale"`) // as the API says it
	}
	ui.render(w, r, http.StatusOK, "home", page{Title: "Home", Data: pg})
}

type profileData struct {
	User      identity.User
	Counts    graph.Counts
	PostCount int64
	Following bool
	IsMe      bool
	Posts     []posts.View
	Page      int
	More      bool
}

const profilePageSize = 24

func (ui *UI) profile(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	u, err := ui.deps.Identity.UserByUsername(ctx, r.PathValue("username"))
	if err != nil {
		ui.fail(w, r, err)
		return
	}
	pageNo, _ := strconv.Atoi(r.URL.Query().Get("page"))
	pageNo = max(1, min(pageNo, 100_000))
	d := profileData{User: u, Page: pageNo}
	if d.Counts, err = ui.deps.Graph.Counts(ctx, u.ID); err != nil {
		ui.fail(w, r, err)
		return
	}
	list, total, err := ui.deps.Posts.ByAuthor(ctx, u.ID, (pageNo-1)*profilePageSize, profilePageSize)
	if err != nil {
		ui.fail(w, r, err)
		return
	}
	d.PostCount, d.More = total, int64(pageNo*profilePageSize) < total
	me := httpauth.UserID(ctx)
	d.IsMe = me == u.ID
	if me != 0 && !d.IsMe {
		if d.Following, err = ui.deps.Graph.IsFollowing(ctx, me, u.ID); err != nil {
			ui.fail(w, r, err)
			return
		}
	}
	if d.Posts, err = ui.deps.Posts.Views(ctx, me, list); err != nil {
		ui.fail(w, r, err)
		return
	}
	ui.render(w, r, http.StatusOK, "profile", page{Title: u.DisplayName, Data: d})
}

func (ui *UI) follow(w http.ResponseWriter, r *http.Request)   { ui.followOrNot(w, r, true) }
func (ui *UI) unfollow(w http.ResponseWriter, r *http.Request) { ui.followOrNot(w, r, false) }

func (ui *UI) followOrNot(w http.ResponseWriter, r *http.Request, follow bool) {
	ctx := r.Context()
	u, err := ui.deps.Identity.UserByUsername(ctx, r.PathValue("username"))
	if err != nil {
		ui.fail(w, r, err)
		return
	}
	me := httpauth.UserID(ctx)
	if follow {
		err = ui.deps.Graph.Follow(ctx, me, u.ID)
	} else {
		err = ui.deps.Graph.Unfollow(ctx, me, u.ID)
	}
	if err != nil {
		ui.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/u/"+u.Username, http.StatusSeeOther)
}
