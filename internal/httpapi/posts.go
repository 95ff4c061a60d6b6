package httpapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"

	"github.com/photofeed/photofeed/idempotency"
	"github.com/photofeed/photofeed/internal/crashpoint"
	"github.com/photofeed/photofeed/internal/httpauth"
	"github.com/photofeed/photofeed/internal/posts"
	"github.com/photofeed/photofeed/internal/problem"
	"github.com/photofeed/photofeed/internal/request"
)

// maxCaptionBytes bounds the caption part before validation: 2,200
// characters of up to 4 UTF-8 bytes each.
const maxCaptionBytes = posts.MaxCaptionLen * 4

func (a *API) createPost(w http.ResponseWriter, r *http.Request, uid int64) error {
	caption, photo, p := a.readUpload(w, r)
	if p != nil {
		return p
	}
	crashpoint.Hit(crashpoint.UploadRead)
	post, err := a.deps.Posts.Create(r.Context(), uid, caption, photo, idempotency.ClaimOf(r))
	if err != nil {
		return err
	}
	if post, err = a.deps.Posts.WaitReady(r.Context(), post.ID, a.deps.UploadWait); err != nil {
		return err
	}
	view, err := a.deps.Posts.ViewOne(r.Context(), uid, post)
	if err != nil {
		return err
	}
	w.Header().Set("Location", versionPrefix(r)+"/posts/"+strconv.FormatInt(post.ID, 10))
	writeJSON(w, http.StatusCreated, a.post(r, view))
	return nil
}

// uploadLimit bounds an upload's whole body: the photo, the caption and
// room for the multipart framing.
func (a *API) uploadLimit() int64 { return a.deps.MaxUploadBytes + maxCaptionBytes + 64<<10 }

// readUpload streams the multipart body: the photo into memory up to the
// upload limit, the caption up to its own, anything else refused. The
// photo is held whole (media.Validate and the blob store take bytes):
// one copy of up to the upload limit per request.
func (a *API) readUpload(w http.ResponseWriter, r *http.Request) (caption string, photo []byte, _ *problem.Details) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return "", nil, problem.New(http.StatusUnsupportedMediaType, "unsupported-media-type",
			"send the post as multipart/form-data with a photo file and a caption")
	}
	tooLarge := problem.New(http.StatusRequestEntityTooLarge, "too-large",
		fmt.Sprintf("the upload is over the %d MiB limit", a.deps.MaxUploadBytes>>20))
	if r.ContentLength > a.uploadLimit() {
		return "", nil, tooLarge
	}
	held := int64(-1)
	if b, ok := r.Body.(interface{ Size() int64 }); ok { // spooled by the idempotency middleware
		held = b.Size()
	}
	r.Body = http.MaxBytesReader(w, r.Body, a.uploadLimit())
	mr, err := r.MultipartReader()
	if err != nil {
		return "", nil, problem.BadRequest("malformed multipart body: "+err.Error(), nil)
	}
	return a.readParts(mr, held, tooLarge)
}

// readParts reads the upload's parts: one photo, at most one caption,
// other parts skipped. held is as for readPhoto; tooLarge is the answer
// to an upload over its limit.
func (a *API) readParts(mr *multipart.Reader, held int64, tooLarge *problem.Details) (caption string, photo []byte, _ *problem.Details) {
	var havePhoto bool
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return "", nil, tooLarge
			}
			return "", nil, problem.BadRequest("malformed multipart body: "+err.Error(), nil)
		}
		switch part.FormName() {
		case "photo":
			if havePhoto {
				return "", nil, problem.BadRequest("send one photo per post", map[string]string{"photo": "appears more than once"})
			}
			havePhoto = true
			photo, err = readPhoto(part, a.deps.MaxUploadBytes+1, held)
			if int64(len(photo)) > a.deps.MaxUploadBytes {
				return "", nil, tooLarge
			}
		case "caption":
			var b []byte
			b, err = io.ReadAll(io.LimitReader(part, maxCaptionBytes+1))
			if len(b) > maxCaptionBytes {
				p := problem.Details{Type: problem.Base + "validation-error", Status: http.StatusUnprocessableEntity,
					Detail: "the request has invalid fields",
					Errors: map[string]string{"caption": fmt.Sprintf("must be at most %d characters", posts.MaxCaptionLen)}}
				return "", nil, &p
			}
			caption = string(b)
		default:
			err = nil // unknown parts are skipped, as form fields usually are
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return "", nil, tooLarge
			}
			return "", nil, problem.BadRequest("reading the upload failed: "+err.Error(), nil)
		}
	}
	if !havePhoto {
		p := problem.Details{Type: problem.Base + "validation-error", Status: http.StatusUnprocessableEntity,
			Detail: "the request has invalid fields", Errors: map[string]string{"photo": "is required"}}
		return "", nil, &p
	}
	return caption, photo, nil
}

// readPhoto reads the photo part, up to limit bytes. held is the size of
// a body already in hand, or -1 for one still arriving: a part is no
// larger than its body, so then one buffer holds it (bytes.MinRead spare
// keeps ReadFrom from growing it to find the end); a body still arriving
// is read as it comes, never sized by a length its client only claims.
func readPhoto(part io.Reader, limit, held int64) ([]byte, error) {
	r := io.LimitReader(part, limit)
	if held < 0 {
		return io.ReadAll(r)
	}
	b := bytes.NewBuffer(make([]byte, 0, min(held, limit)+bytes.MinRead))
	_, err := b.ReadFrom(r)
	return b.Bytes(), err
}

func (a *API) getPost(w http.ResponseWriter, r *http.Request) error {
	id, err := request.PathID(r, "id")
	if err != nil {
		return err
	}
	body, err := a.postBody(r, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

// postBody is post id as the signed-in reader (or anyone) sees it, in the
// request's API version.
func (a *API) postBody(r *http.Request, id int64) (any, error) {
	post, err := a.deps.Posts.Post(r.Context(), id)
	if err != nil {
		return nil, err
	}
	view, err := a.deps.Posts.ViewOne(r.Context(), httpauth.UserID(r.Context()), post)
	if err != nil {
		return nil, err
	}
	return a.post(r, view), nil
}

func (a *API) deletePost(w http.ResponseWriter, r *http.Request, uid int64) error {
	id, err := request.PathID(r, "id")
	if err != nil {
		return err
	}
	if err := a.deps.Posts.Delete(r.Context(), id, uid); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) listUserPosts(w http.ResponseWriter, r *http.Request) error {
	page, limit, err := request.Page(r)
	if err != nil {
		return err
	}
	viewer := httpauth.UserID(r.Context())
	u, err := a.deps.Identity.UserByUsername(r.Context(), r.PathValue("username"))
	if err != nil {
		return err
	}
	list, total, err := a.deps.Posts.ByAuthor(r.Context(), u.ID, (page-1)*limit, limit)
	if err != nil {
		return err
	}
	pageLinks(w, r, page, limit, total)
	views, err := a.deps.Posts.Views(r.Context(), viewer, list)
	if err != nil {
		return err
	}
	a.writePosts(w, r, views, func(items []any) any {
		return offsetPage[any]{Items: items, Page: page, Limit: limit, Total: total}
	})
	return nil
}

// writePosts answers with views shaped for the request's version, in the
// page wrap makes of them.
func (a *API) writePosts(w http.ResponseWriter, r *http.Request, views []posts.View, wrap func([]any) any) {
	items := make([]any, len(views))
	for i, v := range views {
		items[i] = a.post(r, v)
	}
	writeJSON(w, http.StatusOK, wrap(items))
}

func (a *API) like(w http.ResponseWriter, r *http.Request, uid int64) error {
	return a.likeOrUnlike(w, r, uid, a.deps.Posts.Like)
}

func (a *API) unlike(w http.ResponseWriter, r *http.Request, uid int64) error {
	return a.likeOrUnlike(w, r, uid, a.deps.Posts.Unlike)
}

func (a *API) likeOrUnlike(w http.ResponseWriter, r *http.Request, uid int64,
	do func(ctx context.Context, postID, userID int64) error) error {
	id, err := request.PathID(r, "id")
	if err != nil {
		return err
	}
	if err := do(r.Context(), id, uid); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
