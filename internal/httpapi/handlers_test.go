package httpapi_test

import (
	"encoding/json"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/photofeed/photofeed/internal/errkind"
	"github.com/photofeed/photofeed/internal/identity"
)

const jsonType = "application/json"

// Each route of accounts, sessions, follows and job administration, with
// every status code it answers: the answer, its problem type, and what the
// services were asked.
func TestAccountSessionFollowAndAdminRoutes(t *testing.T) {
	runRoutes(t, []routeCase{
		{name: "sign up",
			call:   call{"POST", "/v2/accounts", "", jsonType, `{"username":"cat","password":"right password","display_name":"Cat"}`},
			status: 201,
			check: func(t *testing.T, f *fakes, w *httptest.ResponseRecorder) {
				if loc := w.Header().Get("Location"); loc != "/v2/users/cat" {
					t.Errorf("Location %q", loc)
				}
				if _, ok := f.id.users["cat"]; !ok {
					t.Error("the account was not registered")
				}
			}},
		{name: "sign up, v1 location",
			call:   call{"POST", "/v1/accounts", "", jsonType, `{"username":"cat","password":"right password"}`},
			status: 201,
			check: func(t *testing.T, _ *fakes, w *httptest.ResponseRecorder) {
				if loc := w.Header().Get("Location"); loc != "/v1/users/cat" {
					t.Errorf("Location %q", loc)
				}
			}},
		{name: "sign up, name taken",
			call:   call{"POST", "/v2/accounts", "", jsonType, `{"username":"ann","password":"right password"}`},
			status: 409, problem: "conflict"},
		{name: "sign up, invalid fields",
			call: call{"POST", "/v2/accounts", "", jsonType, `{"username":"x","password":"short"}`},
			setup: func(f *fakes) {
				f.id.err["Register"] = errkind.Fields{"password": "must be at least 8 characters"}.Err()
			},
			status: 422, problem: "validation-error",
			check: func(t *testing.T, _ *fakes, w *httptest.ResponseRecorder) {
				if p := problemOf(t, w); p.Errors["password"] == "" {
					t.Errorf("no password error in %+v", p)
				}
			}},
		{name: "sign up, malformed JSON",
			call:   call{"POST", "/v2/accounts", "", jsonType, `{"username":`},
			status: 400, problem: "bad-request"},
		{name: "sign up, not JSON",
			call:   call{"POST", "/v2/accounts", "", "text/plain", `username=cat`},
			status: 415, problem: "unsupported-media-type"},
		{name: "sign up, body too large",
			call:   call{"POST", "/v2/accounts", "", jsonType, `{"username":"` + strings.Repeat("c", 70<<10) + `"}`},
			status: 413, problem: "too-large"},
		{name: "sign up with a refused token",
			call:   call{"POST", "/v2/accounts", "stale-token", jsonType, `{"username":"cat","password":"right password"}`},
			status: 401, problem: "unauthenticated",
			check: func(t *testing.T, f *fakes, _ *httptest.ResponseRecorder) {
				if _, ok := f.id.users["cat"]; ok {
					t.Error("registered despite the refused token")
				}
			}},
		{name: "sign up, store down",
			call:   call{"POST", "/v2/accounts", "", jsonType, `{"username":"cat","password":"right password"}`},
			setup:  func(f *fakes) { f.id.err["Register"] = errStoreDown },
			status: 500, problem: "internal",
			check: func(t *testing.T, _ *fakes, w *httptest.ResponseRecorder) {
				if strings.Contains(w.Body.String(), "connection refused") {
					t.Errorf("the cause leaks to the client: %s", w.Body)
				}
			}},

		{name: "log in",
			call:   call{"POST", "/v2/sessions", "", jsonType, `{"username":"ann","password":"right password"}`},
			status: 201,
			check: func(t *testing.T, _ *fakes, w *httptest.ResponseRecorder) {
				var s struct{ Token string }
				json.Unmarshal(w.Body.Bytes(), &s)
				if s.Token != annToken || w.Header().Get("Cache-Control") != "no-store" {
					t.Errorf("token %q, Cache-Control %q", s.Token, w.Header().Get("Cache-Control"))
				}
			}},
		{name: "log in, wrong password",
			call:   call{"POST", "/v2/sessions", "", jsonType, `{"username":"ann","password":"wrong"}`},
			status: 401, problem: "unauthenticated",
			check: func(t *testing.T, _ *fakes, w *httptest.ResponseRecorder) {
				if w.Header().Get("WWW-Authenticate") == "" {
					t.Error("a 401 without WWW-Authenticate")
				}
			}},
		{name: "log in, password checks saturated",
			call:   call{"POST", "/v2/sessions", "", jsonType, `{"username":"ann","password":"right password"}`},
			setup:  func(f *fakes) { f.id.err["Login"] = identity.ErrBusy },
			status: 503, problem: "unavailable",
			check: func(t *testing.T, _ *fakes, w *httptest.ResponseRecorder) {
				if w.Header().Get("Retry-After") == "" {
					t.Error("a 503 without Retry-After")
				}
			}},
		{name: "log in, empty body",
			call:   call{"POST", "/v2/sessions", "", jsonType, ``},
			status: 400, problem: "bad-request"},

		{name: "log out",
			call:   call{"DELETE", "/v2/sessions/current", annToken, "", ""},
			status: 204,
			check: func(t *testing.T, f *fakes, _ *httptest.ResponseRecorder) {
				if !slices.Equal(f.id.loggedOut, []int64{7}) {
					t.Errorf("logged out sessions %v, want [7]", f.id.loggedOut)
				}
			}},
		{name: "log out, anonymous",
			call:   call{"DELETE", "/v2/sessions/current", "", "", ""},
			status: 401, problem: "unauthenticated"},
		{name: "log out, refused token",
			call:   call{"DELETE", "/v2/sessions/current", "stale-token", "", ""},
			status: 401, problem: "unauthenticated"},
		{name: "log out, store down",
			call:   call{"DELETE", "/v2/sessions/current", annToken, "", ""},
			setup:  func(f *fakes) { f.id.err["Logout"] = errStoreDown },
			status: 500, problem: "internal"},

		{name: "follow",
			call:   call{"PUT", "/v2/me/following/bob", annToken, "", ""},
			status: 204,
			check: func(t *testing.T, f *fakes, _ *httptest.ResponseRecorder) {
				if !f.graph.follows[[2]int64{ann.ID, bob.ID}] {
					t.Error("ann does not follow bob")
				}
			}},
		{name: "follow, anonymous",
			call:   call{"PUT", "/v2/me/following/bob", "", "", ""},
			status: 401, problem: "unauthenticated"},
		{name: "follow, no such user",
			call:   call{"PUT", "/v2/me/following/zed", annToken, "", ""},
			status: 404, problem: "not-found"},
		{name: "follow yourself",
			call:   call{"PUT", "/v2/me/following/ann", annToken, "", ""},
			status: 422, problem: "validation-error"},
		{name: "unfollow",
			call:   call{"DELETE", "/v2/me/following/bob", annToken, "", ""},
			setup:  func(f *fakes) { f.graph.follows[[2]int64{ann.ID, bob.ID}] = true },
			status: 204,
			check: func(t *testing.T, f *fakes, _ *httptest.ResponseRecorder) {
				if f.graph.follows[[2]int64{ann.ID, bob.ID}] {
					t.Error("ann still follows bob")
				}
			}},

		{name: "followers",
			call:   call{"GET", "/v2/users/bob/followers?limit=1", "", "", ""},
			setup:  func(f *fakes) { f.graph.follows[[2]int64{ann.ID, bob.ID}] = true },
			status: 200,
			check: func(t *testing.T, _ *fakes, w *httptest.ResponseRecorder) {
				var page struct {
					Items []struct{ Username string }
					Total int64
				}
				json.Unmarshal(w.Body.Bytes(), &page)
				if len(page.Items) != 1 || page.Items[0].Username != "ann" || page.Total != 1 || !strings.Contains(w.Header().Get("Link"), `rel="first"`) {
					t.Errorf("page %+v, Link %q", page, w.Header().Get("Link"))
				}
			}},
		{name: "following, bad page",
			call:   call{"GET", "/v2/users/bob/following?page=0", "", "", ""},
			status: 400, problem: "bad-request",
			check: func(t *testing.T, _ *fakes, w *httptest.ResponseRecorder) {
				if p := problemOf(t, w); p.Errors["page"] == "" {
					t.Errorf("no page error in %+v", p)
				}
			}},
		{name: "followers of no one",
			call:   call{"GET", "/v2/users/zed/followers", "", "", ""},
			status: 404, problem: "not-found"},
		{name: "list dead jobs",
			call:   call{"GET", "/v2/admin/jobs", rootToken, "", ""},
			status: 200,
			check: func(t *testing.T, f *fakes, w *httptest.ResponseRecorder) {
				if !slices.Equal(f.jobs.listed, []string{"discarded 50"}) || !strings.Contains(w.Body.String(), `"id":"41"`) {
					t.Errorf("listed %v; answered %s", f.jobs.listed, w.Body)
				}
			}},
		{name: "list jobs, bad limit",
			call:   call{"GET", "/v2/admin/jobs?state=retryable&limit=501", rootToken, "", ""},
			status: 400, problem: "bad-request"},
		{name: "list jobs, not an admin",
			call:   call{"GET", "/v2/admin/jobs", annToken, "", ""},
			status: 403, problem: "forbidden"},
		{name: "list jobs, anonymous",
			call:   call{"GET", "/v2/admin/jobs", "", "", ""},
			status: 401, problem: "unauthenticated"},
		{name: "retry a job",
			call:   call{"POST", "/v2/admin/jobs/41/retry", rootToken, "", ""},
			status: 200,
			check: func(t *testing.T, f *fakes, _ *httptest.ResponseRecorder) {
				if !slices.Equal(f.jobs.retried, []int64{41}) {
					t.Errorf("retried %v", f.jobs.retried)
				}
			}},
		{name: "retry, bad id",
			call:   call{"POST", "/v2/admin/jobs/x/retry", rootToken, "", ""},
			status: 400, problem: "bad-request"},
		{name: "retry, no such job",
			call:   call{"POST", "/v2/admin/jobs/42/retry", rootToken, "", ""},
			status: 404, problem: "not-found"},
		{name: "retry, not an admin",
			call:   call{"POST", "/v2/admin/jobs/41/retry", annToken, "", ""},
			status: 403, problem: "forbidden",
			check: func(t *testing.T, f *fakes, _ *httptest.ResponseRecorder) {
				if len(f.jobs.retried) > 0 {
					t.Errorf("retried %v for a non-admin", f.jobs.retried)
				}
			}},

		{name: "followers, store down",
			call:   call{"GET", "/v2/users/bob/followers", "", "", ""},
			setup:  func(f *fakes) { f.id.err["UsersByIDs"] = errStoreDown },
			status: 500, problem: "internal"},
	})
}

type problemBody struct {
	Type   string
	Status int
	Errors map[string]string
}

func problemOf(t *testing.T, w *httptest.ResponseRecorder) problemBody {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q, want application/problem+json: %s", ct, w.Body)
	}
	var p problemBody
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	return p
}
