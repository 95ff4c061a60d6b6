package web_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// The CSRF token is masked afresh in every answer, so a page compressed
// together with text an attacker chose (a search query) never repeats the
// same secret bytes for a compression oracle to guess at (BREACH); every
// masking of the browser's token is accepted, and nothing else is.
func TestCSRFTokenDiffersInEveryAnswer(t *testing.T) {
	f := newFakes()
	cookie, first := f.csrf(t)
	seen := map[string]bool{first: true}
	for range 3 {
		r := httptest.NewRequest("GET", "/login", nil)
		r.AddCookie(&http.Cookie{Name: cookie.Name, Value: cookie.Value})
		w := httptest.NewRecorder()
		f.handler(t).ServeHTTP(w, r)
		m := csrfInput.FindStringSubmatch(w.Body.String())
		if m == nil {
			t.Fatalf("no CSRF token on the login page:\n%s", w.Body)
		}
		if seen[m[1]] {
			t.Fatalf("the CSRF token %q was sent twice", m[1])
		}
		seen[m[1]] = true
	}
	other, _ := newFakes().csrf(t) // another browser's cookie
	for token := range seen {
		for _, c := range []struct {
			cookie *http.Cookie
			ok     bool
		}{{cookie, true}, {other, false}} {
			form := url.Values{"username": {"ann"}, "password": {"wrong"}, "csrf": {token}}
			r := httptest.NewRequest("POST", "/login", strings.NewReader(form.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.AddCookie(&http.Cookie{Name: c.cookie.Name, Value: c.cookie.Value})
			w := httptest.NewRecorder()
			f.handler(t).ServeHTTP(w, r)
			if refused := w.Code == http.StatusForbidden; refused == c.ok {
				t.Errorf("token %q with cookie %q: %d, want it refused: %v", token, c.cookie.Value, w.Code, !c.ok)
			}
		}
	}
}
