// Package problem answers failed HTTP requests as RFC 9457 problem details
// (application/problem+json), and is the one place where a domain error's
// kind becomes an HTTP status — for the API's JSON and the UI's pages alike.
// It knows HTTP and errkind, nothing of photos or users.
package problem

import (
	"encoding/json"
	"net/http"

	"github.com/photofeed/photofeed/idempotency"
)

// Details is an RFC 9457 problem details object. A handler may return one
// as its error: it is written as it stands.
type Details struct {
	Type     string            `json:"type"`
	Title    string            `json:"title"`
	Status   int               `json:"status"`
	Detail   string            `json:"detail,omitempty"`
	Instance string            `json:"instance,omitempty"`
	Errors   map[string]string `json:"errors,omitempty"`
	// ViolatedPolicies names the rate-limit policies a 429 ran out of.
	ViolatedPolicies []string `json:"violated-policies,omitempty"`
}

func (d *Details) Error() string { return d.Detail }

// Base prefixes every problem type; the README documents each one, and the
// API serves each type's documentation at its URL.
const Base = "/problems/"

// New is the problem of type slug (a link under Base) with status.
func New(status int, slug, detail string) *Details {
	return &Details{Type: Base + slug, Status: status, Detail: detail}
}

// BadRequest is a 400 for a request that cannot be read (query, path,
// body syntax); fields, if any, say which inputs are wrong.
func BadRequest(detail string, fields map[string]string) *Details {
	return &Details{Type: Base + "bad-request", Status: http.StatusBadRequest, Detail: detail, Errors: fields}
}

// Write writes d as application/problem+json. A 503 says when to retry and
// a 401 how to authenticate, unless the caller already did.
func Write(w http.ResponseWriter, d Details) {
	if d.Title == "" {
		d.Title = statusText(d.Status)
	}
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	h.Del("Content-Length")
	if d.Status == http.StatusServiceUnavailable {
		SetRetryAfter(h)
	}
	if d.Status == http.StatusUnauthorized && h.Get("WWW-Authenticate") == "" {
		h.Set("WWW-Authenticate", `Bearer realm="photofeed"`)
	}
	w.WriteHeader(d.Status)
	json.NewEncoder(w).Encode(d)
}

// SetRetryAfter advises a 503's client to retry in 5 s, unless the cause of
// the 503 already said when. The UI's pages say the same as the API.
func SetRetryAfter(h http.Header) {
	if h.Get("Retry-After") == "" {
		h.Set("Retry-After", "5")
	}
}

// statusText is http.StatusText, and names the 499 it does not know.
func statusText(status int) string {
	if status == idempotency.StatusClientClosedRequest {
		return "Client Closed Request"
	}
	return http.StatusText(status)
}
