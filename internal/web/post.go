package web

import (
	"context"
	"io"
	"net/http"
	"strconv"

	"github.com/photofeed/photofeed/idempotency"
	"github.com/photofeed/photofeed/internal/httpauth"
	"github.com/photofeed/photofeed/internal/posts"
	"github.com/photofeed/photofeed/internal/request"
)

// postID is the post the path names; a path id that names none is a page
// not found, not a bad request, for people follow links rather than type them.
func postID(r *http.Request) (int64, error) {
	id, err := request.PathID(r, "id")
	if err != nil {
		return 0, posts.ErrPostNotFound
	}
	return id, nil
}

func (ui *UI) post(w http.ResponseWriter, r *http.Request) {
	id, err := postID(r)
	if err != nil {
		ui.fail(w, r, err)
		return
	}
	p, err := ui.deps.Posts.Post(r.Context(), id)
	if err != nil {
		ui.fail(w, r, err)
		return
	}
	v, err := ui.deps.Posts.ViewOne(r.Context(), httpauth.UserID(r.Context()), p)
	if err != nil {
		ui.fail(w, r, err)
		return
	}
	ui.render(w, r, http.StatusOK, "post", page{Title: "Photo by " + v.Author.DisplayName, Data: v})
}

func (ui *UI) like(w http.ResponseWriter, r *http.Request) { ui.likeOrNot(w, r, ui.deps.Posts.Like) }
func (ui *UI) unlike(w http.ResponseWriter, r *http.Request) {
	ui.likeOrNot(w, r, ui.deps.Posts.Unlike)
}

func (ui *UI) likeOrNot(w http.ResponseWriter, r *http.Request, do func(ctx context.Context, postID, userID int64) error) {
	id, err := postID(r)
	if err == nil {
		err = do(r.Context(), id, httpauth.UserID(r.Context()))
	}
	if err != nil {
		ui.fail(w, r, err)
		return
	}
	// The anchor goes on after safeNext, which keeps only path and query.
	http.Redirect(w, r, safeNext(r.PostFormValue("back"))+"#p"+strconv.FormatInt(id, 10), http.StatusSeeOther)
}

func (ui *UI) deletePost(w http.ResponseWriter, r *http.Request) {
	id, err := postID(r)
	if err == nil {
		err = ui.deps.Posts.Delete(r.Context(), id, httpauth.UserID(r.Context()))
	}
	if err != nil {
		ui.fail(w, r, err)
		return
	}
	me := ui.me(r)
	http.Redirect(w, r, "/u/"+me.Username, http.StatusSeeOther)
}

func (ui *UI) uploadPage(w http.ResponseWriter, r *http.Request) {
	ui.render(w, r, http.StatusOK, "upload", page{Title: "New post", Data: ""})
}

func (ui *UI) upload(w http.ResponseWriter, r *http.Request) {
	caption := r.PostFormValue("caption")
	f, _, err := r.FormFile("photo")
	if err != nil {
		ui.render(w, r, http.StatusUnprocessableEntity, "upload", page{Title: "New post", Data: caption,
			Error: "Choose a photo to upload.", Errors: map[string]string{"photo": "is required"}})
		return
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, ui.deps.MaxUploadBytes+1))
	if err != nil {
		ui.fail(w, r, err)
		return
	}
	p, err := ui.deps.Posts.Create(r.Context(), httpauth.UserID(r.Context()), caption, data, idempotency.Claim{}) // forms carry no Idempotency-Key
	if err != nil {
		ui.formError(w, r, "upload", "New post", caption, err)
		return
	}
	ui.deps.Posts.WaitReady(r.Context(), p.ID, ui.deps.UploadWait)
	http.Redirect(w, r, "/p/"+strconv.FormatInt(p.ID, 10), http.StatusSeeOther)
}
