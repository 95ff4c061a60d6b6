// Package httpauth finds who an HTTP request is from: a bearer token for
// API clients, or the session cookie for the browser UI. Both carry the
// same signed session token.
package httpauth

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/photofeed/photofeed/internal/identity"
)

// CookieName is the session cookie's name.
const CookieName = "photofeed_session"

type ctxKey struct{}

// Claims returns the authenticated session in ctx, if any.
func Claims(ctx context.Context) (identity.Claims, bool) {
	c, ok := ctx.Value(ctxKey{}).(identity.Claims)
	return c, ok
}

// UserID returns the authenticated user's id, or 0 for anonymous requests.
func UserID(ctx context.Context) int64 {
	c, _ := Claims(ctx)
	return c.UserID
}

// Authenticator is what the middleware needs from identity.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (identity.Claims, error)
	Renew(ctx context.Context, c identity.Claims) (string, time.Time, error)
}

// Middleware authenticates requests that carry credentials and passes all
// requests on; handlers that need a user check Claims. A bad bearer token is
// not an anonymous request: handlers see ErrInvalid through BadCredentials.
func Middleware(auth Authenticator, log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, fromCookie := bearer(r), false
		if token == "" {
			if c, err := r.Cookie(CookieName); err == nil {
				token, fromCookie = c.Value, true
			}
		}
		if token == "" {
			next.ServeHTTP(w, r)
			return
		}
		claims, err := auth.Authenticate(r.Context(), token)
		if err != nil {
			if fromCookie {
				ClearCookie(w, r) // a stale cookie just means logged out
				next.ServeHTTP(w, r)
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), badKey{}, err)))
			return
		}
		if fromCookie {
			if tok, exp, err := auth.Renew(r.Context(), claims); err != nil {
				log.WarnContext(r.Context(), "session renewal failed", "err", err)
			} else if tok != "" {
				SetCookie(w, r, tok, exp)
				claims.ExpiresAt = exp
			}
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, claims)))
	})
}

type badKey struct{}

// BadCredentials returns the error for a request whose bearer token was
// rejected, or nil.
func BadCredentials(ctx context.Context) error {
	err, _ := ctx.Value(badKey{}).(error)
	return err
}

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// SetCookie stores the session token: HttpOnly so scripts cannot read it,
// SameSite=Lax so other sites cannot post with it, Secure over TLS.
func SetCookie(w http.ResponseWriter, r *http.Request, token string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: token, Path: "/", Expires: expires,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: IsTLS(r),
	})
}

// ClearCookie removes the session cookie.
func ClearCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: IsTLS(r),
	})
}

// IsTLS reports whether the client reached us over TLS, directly or through
// a proxy that says so.
func IsTLS(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}
