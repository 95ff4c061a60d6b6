package httpapi_test

import (
	"net/http/httptest"
	"testing"
)

// routeCase is one request to a route and the answer it must get: the
// status, the problem type slug of an error ("" for a success), and what
// else check looks at (headers, body, what the services were asked).
type routeCase struct {
	name    string
	call    call
	setup   func(*fakes)
	status  int
	problem string // the error answer's type slug; "" for a success
	check   func(t *testing.T, f *fakes, w *httptest.ResponseRecorder)
}

// runRoutes runs each case against fresh fakes.
func runRoutes(t *testing.T, cases []routeCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakes(t)
			if tc.setup != nil {
				tc.setup(f)
			}
			w := f.do(tc.call)
			if w.Code != tc.status {
				t.Fatalf("%s %s answered %d, want %d: %s", tc.call.method, tc.call.path, w.Code, tc.status, w.Body)
			}
			if tc.problem != "" {
				if p := problemOf(t, w); p.Type != "/problems/"+tc.problem || p.Status != tc.status {
					t.Errorf("problem %+v, want type /problems/%s", p, tc.problem)
				}
			}
			if tc.check != nil {
				tc.check(t, f, w)
			}
		})
	}
}

// retryAfter checks that a 503 tells the client when to come back.
func retryAfter(t *testing.T, _ *fakes, w *httptest.ResponseRecorder) {
	t.Helper()
	if w.Header().Get("Retry-After") == "" {
		t.Error("a 503 without Retry-After")
	}
}
