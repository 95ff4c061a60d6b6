package problem

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"

	"github.com/photofeed/photofeed/idempotency"
	"github.com/photofeed/photofeed/internal/errkind"
)

// kinds maps each domain error kind to its HTTP answer: the one place where
// domain errors become status codes.
var kinds = map[errkind.Kind]struct {
	status int
	slug   string
}{
	errkind.Invalid:         {http.StatusUnprocessableEntity, "validation-error"},
	errkind.Malformed:       {http.StatusBadRequest, "bad-request"},
	errkind.NotFound:        {http.StatusNotFound, "not-found"},
	errkind.Conflict:        {http.StatusConflict, "conflict"},
	errkind.Unauthenticated: {http.StatusUnauthorized, "unauthenticated"},
	errkind.Forbidden:       {http.StatusForbidden, "forbidden"},
	errkind.TooLarge:        {http.StatusRequestEntityTooLarge, "too-large"},
	errkind.Unsupported:     {http.StatusUnsupportedMediaType, "unsupported-media-type"},
	errkind.Unavailable:     {http.StatusServiceUnavailable, "unavailable"},
	errkind.Internal:        {http.StatusInternalServerError, "internal"},
}

// Status is the HTTP status for an error of kind k.
func Status(k errkind.Kind) int {
	return kinds[k].status
}

// Slugs lists the problem types that error kinds answer with, so the API
// can check that each one is documented.
func Slugs() []string {
	s := make([]string, 0, len(kinds))
	for _, m := range kinds {
		s = append(s, m.slug)
	}
	slices.Sort(s)
	return s
}

// For turns err into a problem; internal errors say nothing of their cause
// to the client.
func For(err error) Details {
	k := errkind.Of(err)
	m := kinds[k]
	d := Details{Type: Base + m.slug, Title: http.StatusText(m.status), Status: m.status}
	if e, ok := errkind.AsError(err); ok && k != errkind.Internal {
		d.Detail, d.Errors = e.Message, e.Fields
	} else {
		d.Detail = internalDetail
	}
	return d
}

const internalDetail = "something went wrong on our side; the request id identifies it in our logs"

// ClientClosed reports whether err is r's own cancellation: its client
// closed the connection, so the failure is not ours and nobody reads the
// answer.
func ClientClosed(r *http.Request, err error) bool {
	return errors.Is(err, context.Canceled) && errors.Is(r.Context().Err(), context.Canceled)
}

// WriteError answers with the problem for err and logs it if it is ours.
// A failure caused by the request's own cancellation is answered 499, to
// nobody, for the access log, and logged at INFO.
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	if ClientClosed(r, err) {
		log.InfoContext(r.Context(), "request cancelled by the client", "err", err)
		Write(w, *New(idempotency.StatusClientClosedRequest, "client-closed-request",
			"the client closed the request before it was answered"))
		return
	}
	d := For(err)
	if d.Status >= 500 {
		log.ErrorContext(r.Context(), "request failed", "err", err)
	}
	Write(w, d)
}
