package app

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzJSONBodies sends arbitrary bytes as the JSON body of every JSON
// route: whatever arrives, the answer is a success or a problem, never a 5xx.
func FuzzJSONBodies(f *testing.F) {
	n := newTestNode(f)

	for _, seed := range []string{
		`{"username":"alice","password":"0123456789","display_name":"A"}`,
		`{"username":"alice","password":"0123456789"}`,
		`{"username":null}`, `[]`, `"x"`, `{"username":"a\u0000b"}`, `{"password":"` + strings.Repeat("x", 2000) + `"}`,
		"\xff\xfe", `{"username":"bob"}{"x":1}`, `{"display_name":1e999}`,
	} {
		f.Add(0, []byte(seed))
		f.Add(1, []byte(seed))
	}
	routes := []string{"/v1/accounts", "/v1/sessions"}
	f.Fuzz(func(t *testing.T, route int, body []byte) {
		path := routes[(route%len(routes)+len(routes))%len(routes)]
		req := httptest.NewRequest("POST", path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		n.handler.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("POST %s %q → %d %s", path, body, rec.Code, rec.Body)
		}
		if rec.Code >= 400 && rec.Header().Get("Content-Type") != "application/problem+json" {
			t.Fatalf("error without problem+json: %d %s", rec.Code, rec.Header().Get("Content-Type"))
		}
		if rec.Code != http.StatusCreated && rec.Code < 400 {
			t.Fatalf("unexpected status %d", rec.Code)
		}
	})
}
