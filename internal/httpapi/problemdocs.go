package httpapi

import (
	"html/template"
	"net/http"

	"github.com/photofeed/photofeed/internal/problem"
)

// problemDocs explains each problem type; a problem's "type" is a link to
// its entry here, so every error answer points at its documentation.
var problemDocs = map[string]struct{ Title, Text string }{
	"bad-request":               {"Bad request", "The request could not be read: malformed JSON, a bad query parameter or path id, or a cursor this server did not issue. The detail and errors members say which."},
	"validation-error":          {"Validation error", "A field breaks a rule. The errors member maps each field to what is wrong with it."},
	"unauthenticated":           {"Unauthenticated", "The request needs a valid session: send Authorization: Bearer <token> from POST /v2/sessions. A token that is expired, revoked or forged is refused on every route."},
	"forbidden":                 {"Forbidden", "You are signed in, but may not do this."},
	"not-found":                 {"Not found", "There is no such user, post, media or route. Posts of other users that you may not change also answer not found."},
	"method-not-allowed":        {"Method not allowed", "The resource exists but not with this method; the Allow header lists the ones it takes."},
	"not-acceptable":            {"Not acceptable", "The Accept header asks for an API version that does not exist. Use application/vnd.photofeed+json; version=1 or version=2, or a versioned path."},
	"conflict":                  {"Conflict", "The request clashes with what exists, such as a username that is taken."},
	"too-large":                 {"Too large", "The body is over its limit: 64 KiB for JSON, the server's --max-upload for photos."},
	"unsupported-media-type":    {"Unsupported media type", "Send JSON as application/json and photos as multipart/form-data; photos must be JPEG, PNG, GIF or WebP, judged by their bytes."},
	"unavailable":               {"Unavailable", "A part the request needs is down. Retry later, after Retry-After if given."},
	"overloaded":                {"Overloaded", "The server has more requests in flight than it can serve without slowing them all down, and turned this one away at once rather than queue it. Nothing was done: retry after Retry-After (1 s), with some jitter. The least important requests (search, suggestions) are turned away first."},
	"client-closed-request":     {"Client closed request", "The client closed the connection before the answer was ready, so nobody reads this answer; the server logs the request as cancelled (499), not as a failure. Retry if you still want the result; with an Idempotency-Key a retried write cannot act twice."},
	"internal":                  {"Internal error", "Something failed on the server. The X-Request-Id of the response finds it in the logs."},
	"idempotency-key-missing":   {"Idempotency-Key required", `This request must carry an Idempotency-Key header, so that retrying it cannot act twice. Generate a unique value per logical request (a UUID is ideal), send it as a quoted string, Idempotency-Key: "8e03978e-40d5-43e8-bc93-6894a57f9324", and send the same key when you retry. POST /v2/posts requires one.`},
	"idempotency-key-invalid":   {"Invalid Idempotency-Key", "The key must be a structured-field string (in double quotes) of 1 to 255 printable ASCII characters."},
	"idempotency-key-in-use":    {"Idempotency-Key in use", "A request with this key is still being processed. Retry after it finishes; you will then get its response."},
	"idempotency-key-reused":    {"Idempotency-Key reused", "This key was already used with a request that means something else: other form fields, files or JSON values. A retry is recognised by its meaning, so a body rebuilt with a new multipart boundary or JSON keys in another order is the same request. A new request needs a new key."},
	"idempotency-response-lost": {"Response not kept", "The original request with this key was processed, but the server stopped before keeping its response. Look the result up instead of retrying."},
}

var problemPage = template.Must(template.New("problem").Parse(`<!doctype html>
<html lang="en"><meta charset="utf-8"><title>{{.Title}} · photofeed API</title>
<h1>{{.Title}}</h1><p>{{.Text}}</p>
<p>Errors are RFC 9457 problem details; the API is described by <a href="/openapi.json">/openapi.json</a>.</p></html>`))

func (a *API) getProblemDoc(w http.ResponseWriter, r *http.Request) {
	doc, ok := problemDocs[r.PathValue("slug")]
	if !ok {
		problem.Write(w, *problem.New(http.StatusNotFound, "not-found", "no such problem type"))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	problemPage.Execute(w, doc)
}
