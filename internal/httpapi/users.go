package httpapi

import (
	"context"
	"net/http"

	"github.com/photofeed/photofeed/internal/httpauth"
	"github.com/photofeed/photofeed/internal/identity"
	"github.com/photofeed/photofeed/internal/request"
)

func claims(r *http.Request) (identity.Claims, bool) { return httpauth.Claims(r.Context()) }

// profile is a user with their counts.
func (a *API) profile(r *http.Request, u identity.User) (any, error) {
	c, err := a.deps.Graph.Counts(r.Context(), u.ID)
	if err != nil {
		return nil, err
	}
	n, err := a.deps.Posts.CountByAuthor(r.Context(), u.ID)
	if err != nil {
		return nil, err
	}
	return a.user(r, u, c, n), nil
}

func (a *API) getMe(w http.ResponseWriter, r *http.Request, uid int64) error {
	u, err := a.deps.Identity.UserByID(r.Context(), uid)
	if err != nil {
		return err
	}
	p, err := a.profile(r, u)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "private, no-cache")
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (a *API) getUser(w http.ResponseWriter, r *http.Request) error {
	p, err := a.profileOf(r, r.PathValue("username"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

// profileOf is the profile of the user of username.
func (a *API) profileOf(r *http.Request, username string) (any, error) {
	u, err := a.deps.Identity.UserByUsername(r.Context(), username)
	if err != nil {
		return nil, err
	}
	return a.profile(r, u)
}

func (a *API) listFollowers(w http.ResponseWriter, r *http.Request) error {
	return a.listUsers(w, r, a.deps.Graph.Followers)
}

func (a *API) listFollowing(w http.ResponseWriter, r *http.Request) error {
	return a.listUsers(w, r, a.deps.Graph.Following)
}

func (a *API) listUsers(w http.ResponseWriter, r *http.Request,
	list func(ctx context.Context, userID int64, offset, limit int) ([]int64, int64, error)) error {
	page, limit, err := request.Page(r)
	if err != nil {
		return err
	}
	u, err := a.deps.Identity.UserByUsername(r.Context(), r.PathValue("username"))
	if err != nil {
		return err
	}
	idList, total, err := list(r.Context(), u.ID, (page-1)*limit, limit)
	if err != nil {
		return err
	}
	items, err := a.userSummaries(r.Context(), idList)
	if err != nil {
		return err
	}
	pageLinks(w, r, page, limit, total)
	writeJSON(w, http.StatusOK, offsetPage[userSummaryJSON]{Items: items, Page: page, Limit: limit, Total: total})
	return nil
}

// getSuggestions lists people to follow: followed by those the caller
// follows, not followed by the caller yet.
func (a *API) getSuggestions(w http.ResponseWriter, r *http.Request, uid int64) error {
	limit, err := request.Limit(r, 10, 50)
	if err != nil {
		return err
	}
	idList, err := a.deps.Graph.Suggestions(r.Context(), uid, limit)
	if err != nil {
		return err
	}
	items, err := a.userSummaries(r.Context(), idList)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "private, no-cache")
	writeJSON(w, http.StatusOK, userListJSON{Items: items})
	return nil
}

func (a *API) follow(w http.ResponseWriter, r *http.Request, uid int64) error {
	return a.followOrNot(w, r, uid, a.deps.Graph.Follow)
}

func (a *API) unfollow(w http.ResponseWriter, r *http.Request, uid int64) error {
	return a.followOrNot(w, r, uid, a.deps.Graph.Unfollow)
}

func (a *API) followOrNot(w http.ResponseWriter, r *http.Request, uid int64, do func(ctx context.Context, follower, followee int64) error) error {
	u, err := a.deps.Identity.UserByUsername(r.Context(), r.PathValue("username"))
	if err != nil {
		return err
	}
	if err := do(r.Context(), uid, u.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// userSummaries are the users of idList, in its order, as lists show
// them; ids of users that are gone are left out.
func (a *API) userSummaries(ctx context.Context, idList []int64) ([]userSummaryJSON, error) {
	users, err := a.deps.Identity.UsersByIDs(ctx, idList)
	if err != nil {
		return nil, err
	}
	items := make([]userSummaryJSON, 0, len(idList))
	for _, id := range idList {
		if u, ok := users[id]; ok {
			items = append(items, userSummaryJSON{ID: u.ID, Username: u.Username, DisplayName: u.DisplayName})
		}
	}
	return items, nil
}
