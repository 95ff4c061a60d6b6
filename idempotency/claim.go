package idempotency

import (
	"context"
	"net/http"
	"strings"
)

// Claim is a request's hold on its Idempotency-Key. The handler passes it
// down to the store that commits the request's write, which marks the key
// committed, with the Resource it made, in that same transaction: a crash
// after the commit then never leads to the write being done twice. The
// zero Claim is a request without a key (or one on a NoStore route):
// the store then marks nothing.
type Claim struct {
	// Key is the key as the Store knows it: scoped to the sender, the
	// method and the path.
	Key string
}

// Held reports whether the request runs under a claimed key.
func (c Claim) Held() bool { return c.Key != "" }

type claimKey struct{}

func withClaim(r *http.Request, c Claim) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), claimKey{}, c))
}

// ClaimOf is the claim the Middleware holds for r, for the handler to pass
// to the write it makes; the zero Claim outside one.
func ClaimOf(r *http.Request) Claim {
	c, _ := r.Context().Value(claimKey{}).(Claim)
	return c
}

// Resource names what a keyed request created, so that a retry finding the
// key committed but its response lost can be answered with it
// (Config.Recover).
type Resource struct {
	Kind string // what was created, e.g. "post"
	ID   string // how a read finds it: its id, or its name
}

// String is the resource as a Store keeps it, "kind:id"; "" for the zero
// Resource. ParseResource reads it back.
func (r Resource) String() string {
	if r == (Resource{}) {
		return ""
	}
	return r.Kind + ":" + r.ID
}

// ParseResource reads what Resource.String wrote; ok is false for ""
// and for anything else that names no resource.
func ParseResource(s string) (_ Resource, ok bool) {
	kind, id, found := strings.Cut(s, ":")
	if !found || kind == "" || id == "" {
		return Resource{}, false
	}
	return Resource{Kind: kind, ID: id}, true
}
