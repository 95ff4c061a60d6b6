package httpapi

import (
	"context"
	"net/http"

	"github.com/photofeed/photofeed/internal/errkind"
	"github.com/photofeed/photofeed/internal/jobs"
	"github.com/photofeed/photofeed/internal/request"
)

// Jobs is the task scheduler as administrators see it.
type Jobs interface {
	List(ctx context.Context, state string, limit int) ([]jobs.Job, error)
	// Retry runs job id of database ("": the main one) again.
	Retry(ctx context.Context, database string, id int64) (jobs.Job, error)
}

var errNotAdmin = errkind.New(errkind.Forbidden, "this needs the admin role")

// admin wraps handlers for administrators only.
func (a *API) admin(fn func(w http.ResponseWriter, r *http.Request, uid int64) error) http.Handler {
	return a.authed(func(w http.ResponseWriter, r *http.Request, uid int64) error {
		u, err := a.deps.Identity.UserByID(r.Context(), uid)
		if err != nil {
			return err
		}
		if !u.Admin {
			return errNotAdmin
		}
		return fn(w, r, uid)
	})
}

type jobList struct {
	Items []jobs.Job `json:"items"`
}

// listJobs lists jobs by state; ?state=discarded are the dead letters.
func (a *API) listJobs(w http.ResponseWriter, r *http.Request, _ int64) error {
	state := r.URL.Query().Get("state")
	if state == "" {
		state = "discarded"
	}
	limit, err := request.Limit(r, 50, 500)
	if err != nil {
		return err
	}
	list, err := a.deps.Jobs.List(r.Context(), state, limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, jobList{Items: list})
	return nil
}

// retryJob puts a job (typically a discarded one) back in line.
func (a *API) retryJob(w http.ResponseWriter, r *http.Request, _ int64) error {
	id, err := request.PathID(r, "id")
	if err != nil {
		return err
	}
	j, err := a.deps.Jobs.Retry(r.Context(), r.URL.Query().Get("database"), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, j)
	return nil
}
