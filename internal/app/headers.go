package app

import "net/http"

// nosniff keeps browsers from second-guessing a response's Content-Type
// (a JSON error or an upload sniffed as HTML would run as a page of this
// origin): on every response, not only media.
func nosniff(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		next.ServeHTTP(w, r)
	})
}
