package request_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/photofeed/photofeed/internal/errkind"
	"github.com/photofeed/photofeed/internal/request"
)

type body struct {
	Name string `json:"name"`
	Age  int    `json:"age"`
}

func TestDecodeJSON(t *testing.T) {
	for _, tc := range []struct {
		name, ct, body string
		kind           errkind.Kind // Internal: no error
		message        string
		fields         map[string]string
	}{
		{"ok", "application/json", `{"name":"ann","age":3}`, -1, "", nil},
		{"no content type", "", `{"name":"ann"}`, -1, "", nil},
		{"charset", "application/json; charset=utf-8", `{}`, -1, "", nil},
		{"form", "application/x-www-form-urlencoded", `name=ann`, errkind.Unsupported, "send the body as application/json", nil},
		{"empty", "application/json", ``, errkind.Malformed, "the request body is empty; send a JSON object", nil},
		{"two objects", "application/json", `{}{}`, errkind.Malformed, "the body must hold a single JSON object", nil},
		{"syntax", "application/json", `{"name":}`, errkind.Malformed, "malformed JSON at byte 9: invalid character '}' looking for beginning of value", nil},
		{"type", "application/json", `{"age":"x"}`, errkind.Malformed, "a field has the wrong JSON type", map[string]string{"age": "must be a JSON int"}},
		{"short", "application/json", `{"name":"a`, errkind.Malformed, "the JSON body ends too soon", nil},
		{"too big", "application/json", `{"name":"` + strings.Repeat("x", request.MaxJSONBody) + `"}`, errkind.TooLarge, "the JSON body is over 65536 bytes", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/", strings.NewReader(tc.body))
			if tc.ct != "" {
				r.Header.Set("Content-Type", tc.ct)
			}
			var v body
			err := request.DecodeJSON(httptest.NewRecorder(), r, &v)
			if tc.kind < 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			e, ok := errkind.AsError(err)
			if !ok || e.Kind != tc.kind || e.Message != tc.message || len(e.Fields) != len(tc.fields) {
				t.Fatalf("got %#v, want kind %v %q %v", err, tc.kind, tc.message, tc.fields)
			}
			for k, v := range tc.fields {
				if e.Fields[k] != v {
					t.Errorf("field %s: %q, want %q", k, e.Fields[k], v)
				}
			}
		})
	}
}

func TestParams(t *testing.T) {
	for _, tc := range []struct {
		query       string
		page, limit int
		bad         string // the field reported, "" for none
	}{
		{"", 1, 20, ""},
		{"page=3&limit=100", 3, 100, ""},
		{"page=0", 0, 0, "page"},
		{"page=1000001", 0, 0, "page"},
		{"limit=101", 0, 0, "limit"},
		{"limit=x", 0, 0, "limit"},
	} {
		page, limit, err := request.Page(httptest.NewRequest("GET", "/?"+tc.query, nil))
		e, _ := errkind.AsError(err)
		switch {
		case tc.bad == "" && (err != nil || page != tc.page || limit != tc.limit):
			t.Errorf("%q: %d %d %v", tc.query, page, limit, err)
		case tc.bad != "" && (e == nil || e.Kind != errkind.Malformed || e.Fields[tc.bad] == ""):
			t.Errorf("%q: want a bad %s, got %v", tc.query, tc.bad, err)
		}
	}
	if n, err := request.Limit(httptest.NewRequest("GET", "/", nil), 50, 500); n != 50 || err != nil {
		t.Errorf("default limit: %d %v", n, err)
	}
	_, err := request.Limit(httptest.NewRequest("GET", "/?limit=501", nil), 50, 500)
	if e, ok := errkind.AsError(err); !ok || e.Fields["limit"] != "must be an integer from 1 to 500" {
		t.Errorf("limit 501: %v", err)
	}
	for path, ok := range map[string]bool{"/p/7": true, "/p/0": false, "/p/-1": false, "/p/x": false, "/p/99999999999999999999": false} {
		mux := http.NewServeMux()
		mux.HandleFunc("/p/{id}", func(w http.ResponseWriter, r *http.Request) {
			id, err := request.PathID(r, "id")
			if (err == nil) != ok || (ok && id != 7) || (!ok && errkind.Of(err) != errkind.Malformed) {
				t.Errorf("%s: %d %v", path, id, err)
			}
		})
		mux.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", path, nil))
	}
}

// Whatever a client sends, DecodeJSON answers nil or a client error, never
// an internal one (which would be a 500) or a panic.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{"name":"a","age":1}`, ``, `[]`, `{"age":1.5}`, `{}{}`, `{"name":"\ud800"}`, `nul`} {
		f.Add("application/json", s)
	}
	f.Add("text/plain", "{}")
	f.Fuzz(func(t *testing.T, ct, b string) {
		r := httptest.NewRequest("POST", "/", strings.NewReader(b))
		r.Header.Set("Content-Type", ct)
		var v body
		err := request.DecodeJSON(httptest.NewRecorder(), r, &v)
		if err != nil && errkind.Of(err) == errkind.Internal {
			t.Fatalf("%q %q: internal error %v", ct, b, err)
		}
	})
}
