package httpapi

import (
	"net/http"
	"time"

	"github.com/photofeed/photofeed/idempotency"
	"github.com/photofeed/photofeed/internal/graph"
	"github.com/photofeed/photofeed/internal/request"
)

type accountRequest struct {
	Username    string `json:"username"`
	Password    string `json:"password"`
	DisplayName string `json:"display_name"`
}

func (a *API) createAccount(w http.ResponseWriter, r *http.Request) error {
	var req accountRequest
	if err := request.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	u, err := a.deps.Identity.Register(r.Context(), req.Username, req.Password, req.DisplayName, idempotency.ClaimOf(r))
	if err != nil {
		return err
	}
	w.Header().Set("Location", versionPrefix(r)+"/users/"+u.Username)
	writeJSON(w, http.StatusCreated, a.user(r, u, graph.Counts{}, 0))
	return nil
}

type sessionRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

type sessionJSON struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

func (a *API) createSession(w http.ResponseWriter, r *http.Request) error {
	var req sessionRequest
	if err := request.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	token, sess, err := a.deps.Identity.Login(r.Context(), req.Username, req.Password)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, sessionJSON{Token: token, ExpiresAt: sess.ExpiresAt})
	return nil
}

func (a *API) deleteSession(w http.ResponseWriter, r *http.Request, _ int64) error {
	c, _ := claims(r)
	if err := a.deps.Identity.Logout(r.Context(), c.SessionID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
