package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/photofeed/photofeed/idempotency"
	"github.com/photofeed/photofeed/internal/errkind"
	"github.com/photofeed/photofeed/internal/httpauth"
	"github.com/photofeed/photofeed/internal/problem"
)

type accountForm struct {
	Username, DisplayName, Next string
}

func (ui *UI) signupPage(w http.ResponseWriter, r *http.Request) {
	ui.render(w, r, http.StatusOK, "signup", page{Title: "Sign up", Data: accountForm{}})
}

func (ui *UI) signup(w http.ResponseWriter, r *http.Request) {
	f := accountForm{Username: strings.TrimSpace(r.PostFormValue("username")), DisplayName: strings.TrimSpace(r.PostFormValue("display_name"))}
	password := r.PostFormValue("password")
	_, err := ui.deps.Identity.Register(r.Context(), f.Username, password, f.DisplayName, idempotency.Claim{}) // forms carry no Idempotency-Key
	if err != nil {
		ui.formError(w, r, "signup", "Sign up", f, err)
		return
	}
	ui.startSession(w, r, f.Username, password, "/")
}

func (ui *UI) loginPage(w http.ResponseWriter, r *http.Request) {
	ui.render(w, r, http.StatusOK, "login", page{Title: "Log in", Data: accountForm{Next: safeNext(r.URL.Query().Get("next"))}})
}

func (ui *UI) login(w http.ResponseWriter, r *http.Request) {
	f := accountForm{Username: strings.TrimSpace(r.PostFormValue("username")), Next: safeNext(r.PostFormValue("next"))}
	ui.startSession(w, r, f.Username, r.PostFormValue("password"), f.Next)
}

func (ui *UI) startSession(w http.ResponseWriter, r *http.Request, username, password, next string) {
	token, sess, err := ui.deps.Identity.Login(r.Context(), username, password)
	if err != nil {
		ui.formError(w, r, "login", "Log in", accountForm{Username: username, Next: next}, err)
		return
	}
	httpauth.SetCookie(w, r, token, sess.ExpiresAt)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (ui *UI) logout(w http.ResponseWriter, r *http.Request) {
	if c, ok := httpauth.Claims(r.Context()); ok {
		if err := ui.deps.Identity.Logout(r.Context(), c.SessionID); err != nil {
			ui.fail(w, r, err)
			return
		}
	}
	httpauth.ClearCookie(w, r)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// formError re-renders a form with what was wrong, keeping what was typed.
func (ui *UI) formError(w http.ResponseWriter, r *http.Request, name, title string, data any, err error) {
	e, ok := errkind.AsError(err)
	if !ok || errkind.Of(err) == errkind.Internal {
		ui.fail(w, r, err)
		return
	}
	status := problem.Status(errkind.Of(err))
	if status == http.StatusServiceUnavailable {
		problem.SetRetryAfter(w.Header())
	}
	ui.render(w, r, status, name, page{Title: title, Error: e.Message, Errors: e.Fields, Data: data})
}

// needLogin sends anonymous visitors to the login page and back.
func (ui *UI) needLogin(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if httpauth.UserID(r.Context()) == 0 {
			back := r.URL.Path
			if r.Method != http.MethodGet {
				back = r.Referer()
			}
			http.Redirect(w, r, "/login?next="+url.QueryEscape(safeNext(back)), http.StatusSeeOther)
			return
		}
		next(w, r)
	}
}

// safeNext keeps post-login redirects on this site.
func safeNext(s string) string {
	if u, err := url.Parse(s); err == nil && u.Host == "" && u.Scheme == "" && strings.HasPrefix(u.Path, "/") && !strings.HasPrefix(s, "//") && !strings.Contains(s, `\`) {
		return u.RequestURI()
	}
	return "/"
}
