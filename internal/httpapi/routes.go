package httpapi

import (
	"net/http"

	"github.com/photofeed/photofeed/internal/request"
)

// Register adds every API route to mux: the whole REST surface, in one place.
// RegisterHealth adds /healthz and /readyz, which every role serves.
func (a *API) RegisterHealth(mux *http.ServeMux) {
	mux.Handle("GET /healthz", http.HandlerFunc(a.healthz))
	mux.Handle("GET /readyz", http.HandlerFunc(a.readyz))
}

// Register adds the API's routes, health included.
func (a *API) Register(mux *http.ServeMux) {
	a.RegisterHealth(mux)
	// Every resource is served in each API version; handlers shape their
	// answers by the version in the path (see version.go).
	for _, v := range []string{"/v1", "/v2"} {
		route := func(method, path string, h http.Handler) { mux.Handle(method+" "+v+path, h) }
		// POSTs take Idempotency-Key behind their own checks (see keyed).
		// A login's answer is a credential: it is never stored.
		route("POST", "/accounts", a.handle(a.keyed(keyOpts{maxBody: request.MaxJSONBody}, a.createAccount)))
		route("POST", "/sessions", a.handle(a.keyed(keyOpts{maxBody: request.MaxJSONBody, noStore: true}, a.createSession)))
		route("DELETE", "/sessions/current", a.authed(a.deleteSession))

		route("GET", "/me", a.authed(a.getMe))
		route("GET", "/users/{username}", a.handle(a.getUser))
		route("GET", "/users/{username}/followers", a.handle(a.listFollowers))
		route("GET", "/users/{username}/following", a.handle(a.listFollowing))
		route("GET", "/users/{username}/posts", a.handle(a.listUserPosts))
		route("PUT", "/me/following/{username}", a.authed(a.follow))
		route("DELETE", "/me/following/{username}", a.authed(a.unfollow))
		route("GET", "/suggestions", a.authed(a.getSuggestions))

		route("POST", "/posts", a.authed(a.keyedAs(keyOpts{maxBody: a.uploadLimit(), required: v == "/v2"}, a.createPost)))
		route("GET", "/posts/{id}", a.handle(a.getPost))
		route("DELETE", "/posts/{id}", a.authed(a.deletePost))
		route("PUT", "/posts/{id}/like", a.authed(a.like))
		route("DELETE", "/posts/{id}/like", a.authed(a.unlike))

		route("GET", "/feed", a.authed(a.getFeed))
		route("GET", "/search", a.handle(a.getSearch))

		route("GET", "/admin/jobs", a.admin(a.listJobs))
		route("POST", "/admin/jobs/{id}/retry", a.admin(a.keyedAs(keyOpts{maxBody: request.MaxJSONBody}, a.retryJob)))
	}

	mux.Handle("GET /v2/feed/stream", a.authed(a.feedStream))
	mux.Handle("GET /media/{key}", a.handle(a.getMedia))
	mux.Handle("GET /openapi.json", http.HandlerFunc(a.getOpenAPI))
	mux.Handle("GET /problems/{slug}", http.HandlerFunc(a.getProblemDoc))
}
