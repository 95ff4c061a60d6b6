package problem

import (
	"log/slog"
	"net/http"
	"runtime/debug"
)

// Recover answers a panicking handler with a 500 problem and logs the stack,
// instead of dropping the connection.
func Recover(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.ErrorContext(r.Context(), "panic", "value", v, "stack", string(debug.Stack()))
				Write(w, *New(http.StatusInternalServerError, "internal", internalDetail))
			}
		}()
		next.ServeHTTP(w, r)
	})
}
