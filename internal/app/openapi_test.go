package app_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/photofeed/photofeed/internal/httpapi"
)

// Every API response an end-to-end test receives is checked against the
// served OpenAPI document (see client.do): a route, status or field the
// document does not describe fails the test that met it.

var (
	specOnce   sync.Once
	specRouter routers.Router
	specErr    error
)

func openAPIRouter() (routers.Router, error) {
	specOnce.Do(func() {
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(httpapi.OpenAPI())
		if err != nil {
			specErr = err
			return
		}
		if err := doc.Validate(context.Background()); err != nil {
			specErr = err
			return
		}
		// The one server is relative ("/": wherever the document is
		// served), which the router cannot match against a request's
		// host; without servers it matches paths alone.
		doc.Servers = nil
		specRouter, specErr = legacy.NewRouter(doc)
	})
	return specRouter, specErr
}

func apiPath(p string) bool {
	for _, prefix := range []string{"/v1/", "/v2/", "/media/", "/problems/", "/accounts", "/sessions", "/me", "/users/", "/posts", "/feed", "/search", "/admin/jobs"} {
		if strings.HasPrefix(p, prefix) {
			return true
		}
	}
	return p == "/healthz" || p == "/readyz" || p == "/openapi.json"
}

// checkAgainstSpec validates one exchange; it reports through t.
func checkAgainstSpec(t *testing.T, req *http.Request, resp *http.Response, body []byte) {
	t.Helper()
	if err := specError(req, resp.StatusCode, resp.Header, body); err != nil {
		t.Errorf("%v\nbody: %s", err, truncate(body))
	}
}

// specError says how an exchange departs from the OpenAPI document.
func specError(req *http.Request, status int, header http.Header, body []byte) error {
	if !apiPath(req.URL.Path) {
		return nil
	}
	router, err := openAPIRouter()
	if err != nil {
		return fmt.Errorf("OpenAPI document: %w", err)
	}
	route, params, err := router.FindRoute(req)
	if _, ok := errors.AsType[*routers.RouteError](err); ok { // no such path, or not this method
		if status == http.StatusNotFound || status == http.StatusMethodNotAllowed {
			return nil // answering an unknown route is not a route
		}
		return fmt.Errorf("undocumented route %s %s answered %d", req.Method, req.URL.Path, status)
	}
	if err != nil {
		return fmt.Errorf("OpenAPI route lookup for %s %s: %w", req.Method, req.URL.Path, err)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 status,
		Header:                 header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true},
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		return fmt.Errorf("%s %s → %d does not match the OpenAPI document: %w", req.Method, req.URL, status, err)
	}
	return nil
}

// The validator itself must catch drift, or the suite proves nothing.
func TestOpenAPIValidatorCatchesDrift(t *testing.T) {
	user := `{"id":"1","username":"a_b","display_name":"A","followers_count":0,"following_count":0,"posts_count":0,"created_at":"2026-01-01T00:00:00Z"}`
	jsonHdr := http.Header{"Content-Type": {"application/json"}}
	req := func(method, path string) *http.Request {
		r, _ := http.NewRequest(method, "http://x"+path, nil)
		return r
	}
	if err := specError(req("GET", "/v1/users/a_b"), 200, jsonHdr, []byte(user)); err != nil {
		t.Fatalf("a conforming response was refused: %v", err)
	}
	for name, c := range map[string]struct {
		method, path string
		status       int
		body         string
	}{
		"undocumented field":  {"GET", "/v1/users/a_b", 200, strings.Replace(user, `"posts_count":0`, `"posts_count":0,"email":"x"`, 1)},
		"missing field":       {"GET", "/v1/users/a_b", 200, strings.Replace(user, `"posts_count":0,`, ``, 1)},
		"wrong type":          {"GET", "/v1/users/a_b", 200, strings.Replace(user, `"id":"1"`, `"id":1`, 1)},
		"v2 shape on v1":      {"GET", "/v1/users/a_b", 200, `{"id":"1","username":"a","display_name":"A","counts":{"followers":0,"following":0,"posts":0},"created_at":"2026-01-01T00:00:00Z"}`},
		"undocumented route":  {"GET", "/v1/secrets", 200, `{}`},
		"undocumented status": {"GET", "/v1/users/a_b", 201, user},
	} {
		if err := specError(req(c.method, c.path), c.status, jsonHdr, []byte(c.body)); err == nil {
			t.Errorf("%s: not caught", name)
		}
	}
	// On an unversioned path the label says which version's shape to expect.
	labelled := func(v string) http.Header {
		return http.Header{"Content-Type": {httpapi.VendorType + "; version=" + v}}
	}
	if err := specError(req("GET", "/users/a_b"), 200, labelled("1"), []byte(user)); err != nil {
		t.Errorf("a v1 answer labelled version=1 was refused: %v", err)
	}
	if err := specError(req("GET", "/users/a_b"), 200, labelled("2"), []byte(user)); err == nil {
		t.Error("a v1 answer labelled version=2: not caught")
	}
}

func truncate(b []byte) []byte {
	if len(b) > 600 || bytes.IndexByte(b, 0) >= 0 {
		return append(b[:min(len(b), 200):min(len(b), 200)], "…"...)
	}
	return b
}

func TestOpenAPIServedAndValid(t *testing.T) {
	s := start(t)
	r := s.client(t).do("GET", "/openapi.json", nil)
	if r.StatusCode != 200 || !bytes.Equal(r.Body, httpapi.OpenAPI()) {
		t.Fatalf("GET /openapi.json: %d", r.StatusCode)
	}
	if _, err := openAPIRouter(); err != nil {
		t.Fatalf("document invalid: %v", err)
	}
	if !strings.Contains(string(r.Body), `"openapi": "3.1.0"`) {
		t.Fatal("not an OpenAPI 3.1 document")
	}
}
