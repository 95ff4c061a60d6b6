package app

import (
	"net/http/httptest"
	"testing"

	"github.com/photofeed/photofeed/internal/admission"
)

func TestRouteClass(t *testing.T) {
	tests := []struct {
		method, path, priority string
		want                   admission.Class
	}{
		{"GET", "/healthz", "", admission.Exempt},
		{"GET", "/readyz", "u=7", admission.Exempt},
		{"GET", "/v2/feed/stream", "", admission.Exempt},
		{"POST", "/v2/sessions", "", admission.Critical},
		{"POST", "/v1/accounts", "", admission.Critical},
		{"POST", "/v2/posts", "", admission.Critical},
		{"PUT", "/v2/posts/42/like", "", admission.Critical},
		{"DELETE", "/v2/me/following/ada", "", admission.Critical},
		{"POST", "/login", "", admission.Critical},
		{"GET", "/v2/feed", "", admission.Critical},
		{"GET", "/feed", "", admission.Critical},
		{"GET", "/", "", admission.Critical},
		{"GET", "/media/abc.jpg", "", admission.Critical},
		{"GET", "/v2/users/ada", "", admission.Critical},
		{"GET", "/v2/users/ada/posts", "", admission.Critical},
		{"GET", "/v2/me", "", admission.Critical},
		{"GET", "/v2/me", "u=5", admission.Sheddable}, // the home's extra
		{"GET", "/v2/feed", "u=3, i", admission.Critical},
		{"GET", "/v2/search", "u=0", admission.Sheddable}, // a client cannot raise its own importance
		{"POST", "/v2/posts", "i, u=6", admission.Sheddable},
		{"GET", "/v2/search", "", admission.Sheddable},
		{"GET", "/v2/suggestions", "", admission.Sheddable},
		{"GET", "/v2/users/ada/followers", "", admission.Sheddable},
		{"GET", "/explore", "", admission.Sheddable},
		{"GET", "/openapi.json", "", admission.Sheddable},
		{"GET", "/no/such/route", "", admission.Sheddable},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(tt.method, tt.path, nil)
		if tt.priority != "" {
			r.Header.Set("Priority", tt.priority)
		}
		if got := routeClass(r); got != tt.want {
			t.Errorf("%s %s (Priority %q): %v, want %v", tt.method, tt.path, tt.priority, got, tt.want)
		}
	}
}
