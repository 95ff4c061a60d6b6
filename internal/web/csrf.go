package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"

	"github.com/photofeed/photofeed/internal/errkind"
	"github.com/photofeed/photofeed/internal/httpauth"
	"github.com/photofeed/photofeed/internal/request"
)

const csrfCookie = "photofeed_csrf"

// Forms carry a token derived from a per-browser random cookie and the
// server's key (a signed double-submit token). Another site can neither read
// the cookie nor compute the token, so it cannot post a form as the user.
// http.CrossOriginProtection guards the same routes by Sec-Fetch-Site and
// Origin; the token covers browsers that send neither.

func (ui *UI) csrfToken(w http.ResponseWriter, r *http.Request) string {
	seed := ""
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) >= 22 {
		seed = c.Value
	} else {
		b := make([]byte, 24)
		rand.Read(b)
		seed = base64.RawURLEncoding.EncodeToString(b)
		http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: seed, Path: "/", MaxAge: 365 * 24 * 3600,
			HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: httpauth.IsTLS(r)})
		r.AddCookie(&http.Cookie{Name: csrfCookie, Value: seed}) // later renders in this request agree
	}
	return mask(ui.csrfFor(seed))
}

func (ui *UI) csrfFor(seed string) []byte {
	m := hmac.New(sha256.New, ui.deps.CSRFKey)
	m.Write([]byte(seed))
	return m.Sum(nil)
}

// mask hides the token under a fresh one-time pad in every answer: pages
// are compressed, and a secret that came out the same each time beside
// text an attacker chose (a search query) would leak through the
// compressed sizes, a byte at a time (BREACH).
func mask(token []byte) string {
	out := make([]byte, 2*len(token))
	pad, masked := out[:len(token)], out[len(token):]
	rand.Read(pad)
	for i, b := range token {
		masked[i] = b ^ pad[i]
	}
	return base64.RawURLEncoding.EncodeToString(out)
}

// unmask undoes mask; a malformed value gives nil.
func unmask(value string) []byte {
	b, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil || len(b) != 2*sha256.Size {
		return nil
	}
	pad, token := b[:sha256.Size], b[sha256.Size:]
	for i := range token {
		token[i] ^= pad[i]
	}
	return token
}

// checkCSRF reports whether the form's token matches this browser's cookie.
// The form must already be parsed.
func (ui *UI) checkCSRF(r *http.Request) bool {
	c, err := r.Cookie(csrfCookie)
	if err != nil || c.Value == "" {
		return false
	}
	return hmac.Equal(unmask(r.PostFormValue("csrf")), ui.csrfFor(c.Value))
}

// form wraps POST handlers: refuse a browser without the CSRF cookie
// before reading anything, then parse the form (bounded), then check the
// token. Routes that need a login check it before this (needLogin), so
// an anonymous post is answered without its body being read.
func (ui *UI) form(maxBytes int64, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie(csrfCookie); err != nil || c.Value == "" {
			ui.csrfRefused(w, r)
			return
		}
		if err := request.Form(w, r, maxBytes); err != nil {
			if errkind.Of(err) == errkind.TooLarge {
				ui.render(w, r, http.StatusRequestEntityTooLarge, "error", page{Title: "Too large",
					Error: "That upload is over the size limit."})
				return
			}
			ui.render(w, r, http.StatusBadRequest, "error", page{Title: "Bad request", Error: "The form could not be read."})
			return
		}
		if !ui.checkCSRF(r) {
			ui.csrfRefused(w, r)
			return
		}
		next(w, r)
	}
}

func (ui *UI) csrfRefused(w http.ResponseWriter, r *http.Request) {
	ui.render(w, r, http.StatusForbidden, "error", page{Title: "Forbidden",
		Error: "The form expired or came from another site. Go back, reload and try again."})
}
