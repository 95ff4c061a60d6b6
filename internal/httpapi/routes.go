package httpapi

import "net/http"

// Register adds every API route to mux: the whole REST surface, in one place.
func (a *API) Register(mux *http.ServeMux) {
	mux.Handle("POST /v1/accounts", a.handle(a.createAccount))
	mux.Handle("POST /v1/sessions", a.handle(a.createSession))
	mux.Handle("DELETE /v1/sessions/current", a.authed(a.deleteSession))

	mux.Handle("GET /v1/me", a.authed(a.getMe))
	mux.Handle("GET /v1/users/{username}", a.handle(a.getUser))
	mux.Handle("GET /v1/users/{username}/followers", a.handle(a.listFollowers))
	mux.Handle("GET /v1/users/{username}/following", a.handle(a.listFollowing))
	mux.Handle("GET /v1/users/{username}/posts", a.handle(a.listUserPosts))
	mux.Handle("PUT /v1/me/following/{username}", a.authed(a.follow))
	mux.Handle("DELETE /v1/me/following/{username}", a.authed(a.unfollow))

	mux.Handle("POST /v1/posts", a.authed(a.createPost))
	mux.Handle("GET /v1/posts/{id}", a.handle(a.getPost))
	mux.Handle("DELETE /v1/posts/{id}", a.authed(a.deletePost))
	mux.Handle("PUT /v1/posts/{id}/like", a.authed(a.like))
	mux.Handle("DELETE /v1/posts/{id}/like", a.authed(a.unlike))

	mux.Handle("GET /v1/feed", a.authed(a.getFeed))

	mux.Handle("GET /media/{key}", a.handle(a.getMedia))
	mux.Handle("GET /healthz", http.HandlerFunc(a.healthz))
	mux.Handle("GET /readyz", http.HandlerFunc(a.readyz))
}
