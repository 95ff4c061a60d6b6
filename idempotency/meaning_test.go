package idempotency_test

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"slices"
	"strings"
	"testing"

	"github.com/photofeed/photofeed/idempotency"
	"github.com/photofeed/photofeed/internal/identity"
)

// formPart is one part of a multipart/form-data body.
type formPart struct{ name, filename, contentType, content string }

// formBody builds a body the way clients do: a new multipart.Writer, and so
// a new random boundary, on every call.
func formBody(t testing.TB, parts ...formPart) (string, []byte) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		disp := fmt.Sprintf(`form-data; name="%s"`, p.name)
		if p.filename != "" {
			disp += fmt.Sprintf(`; filename="%s"`, p.filename)
		}
		h.Set("Content-Disposition", disp)
		if p.contentType != "" {
			h.Set("Content-Type", p.contentType)
		}
		w, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, p.content)
	}
	mw.Close()
	return mw.FormDataContentType(), b.Bytes()
}

var (
	photo   = formPart{"photo", "p.jpg", "image/jpeg", strings.Repeat("\xff\xd8 jpeg bytes ", 500)}
	caption = formPart{"caption", "", "", "sunset over the bay"}
)

type body struct {
	contentType string
	bytes       []byte
}

func form(t testing.TB, parts ...formPart) body {
	ct, b := formBody(t, parts...)
	return body{ct, b}
}

func raw(ct, s string) body { return body{ct, []byte(s)} }

func TestFingerprintIsOverMeaning(t *testing.T) {
	// The same parts as formBody(photo, caption) writes them, spelled the way
	// other clients do: lower-case header names, unquoted parameters, extra
	// blanks, a preamble, another boundary.
	handSpelled := raw("multipart/form-data; boundary=\"--other-Boundary\"",
		"preamble that parsers skip\r\n"+
			"----other-Boundary\r\n"+
			"content-disposition:   form-data;filename=p.jpg; name=photo\r\n"+
			"CONTENT-TYPE: image/jpeg\r\n\r\n"+photo.content+"\r\n"+
			"----other-Boundary\r\n"+
			"content-disposition: form-data; name=\"caption\"\r\n\r\n"+caption.content+"\r\n"+
			"----other-Boundary--\r\n")
	for _, tc := range []struct {
		name          string
		first, second body
		replay        bool
	}{
		{"multipart rebuilt with a new boundary", form(t, photo, caption), form(t, photo, caption), true},
		{"multipart with other header spelling", form(t, photo, caption), handSpelled, true},
		{"multipart, parameters of a part's type spelled apart", form(t, formPart{"photo", "p.jpg", `image/jpeg; q="1"`, "x"}),
			form(t, formPart{"photo", "p.jpg", "IMAGE/JPEG;q=1", "x"}), true},
		{"multipart, another caption", form(t, photo, caption), form(t, photo, formPart{"caption", "", "", "sunrise"}), false},
		{"multipart, another photo", form(t, photo, caption), form(t, formPart{"photo", "p.jpg", "image/jpeg", "other bytes"}, caption), false},
		{"multipart, another file name", form(t, photo, caption), form(t, formPart{"photo", "q.jpg", "image/jpeg", photo.content}, caption), false},
		{"multipart, another part type", form(t, photo, caption), form(t, formPart{"photo", "p.jpg", "image/png", photo.content}, caption), false},
		{"multipart, another field name", form(t, photo, caption), form(t, photo, formPart{"title", "", "", caption.content}), false},
		{"multipart, parts in another order", form(t, photo, caption), form(t, caption, photo), false},
		{"multipart, a part more", form(t, photo, caption), form(t, photo, caption, caption), false},
		{"json, keys reordered and blanks", raw("application/json", `{"username":"ann","password":"pw-1234567","n":{"a":1,"b":[1,2]}}`),
			raw("application/json; charset=utf-8", " {\n \"n\" : {\"b\":[1, 2], \"a\":1},\t\"password\":\"pw-1234567\", \"username\": \"ann\"}\n"), true},
		{"json, escapes of the same string", raw("application/json", `{"u":"ann/é"}`), raw("application/json", `{"u":"\u0061nn\/\u00e9"}`), true},
		{"json, a +json type", raw("application/merge-patch+json", `{"a":1,"b":2}`), raw("application/merge-patch+json", `{"b":2,"a":1}`), true},
		{"json, another value", raw("application/json", `{"username":"ann"}`), raw("application/json", `{"username":"bob"}`), false},
		{"json, numbers kept exact", raw("application/json", `{"n":10000000000000000000001}`), raw("application/json", `{"n":10000000000000000000000}`), false},
		{"json, 1 is not 1.0", raw("application/json", `{"n":1}`), raw("application/json", `{"n":1.0}`), false},
		{"json, array order matters", raw("application/json", `[1,2]`), raw("application/json", `[2,1]`), false},
		{"json, the last of duplicate keys", raw("application/json", `{"a":1,"a":2}`), raw("application/json", `{"a":2,"a":1}`), false},
		{"json, a duplicate key overridden", raw("application/json", `{"a":1,"a":2}`), raw("application/json", `{"a":2}`), true},
		// encoding/json matches struct fields ignoring case, the last match
		// winning: keys that differ only in case mean different things in
		// different orders, so such a body is fingerprinted by its bytes.
		{"json, keys equal but for case, reordered", raw("application/json", `{"username":"a","Username":"b"}`),
			raw("application/json", `{"Username":"b","username":"a"}`), false},
		{"json, keys equal but for case, nested", raw("application/json", `{"u":{"name":"a","NAME":"b"},"v":1}`),
			raw("application/json", `{"v":1,"u":{"NAME":"b","name":"a"}}`), false},
		{"json, keys equal under Unicode folding", raw("application/json", `{"k":1,"\u212a":2}`),
			raw("application/json", `{"\u212a":2,"k":1}`), false},
		{"json, keys equal but for case, the same bytes", raw("application/json", `{"username":"a","Username":"b"}`),
			raw("application/json", `{"username":"a","Username":"b"}`), true},
		{"json, keys of other letters reordered", raw("application/json", `{"ab":1,"aB ":2,"b":3}`),
			raw("application/json", `{"b":3,"aB ":2,"ab":1}`), true},
		{"json, string is not number", raw("application/json", `{"a":"1"}`), raw("application/json", `{"a":1}`), false},
		{"json, null is not absent", raw("application/json", `{"a":null}`), raw("application/json", `{}`), false},
		{"json, broken JSON by its bytes", raw("application/json", `{"a":`), raw("application/json", `{"a":`), true},
		{"json, broken JSON respelled", raw("application/json", `{"a":`), raw("application/json", `{ "a":`), false},
		{"json, trailing data", raw("application/json", `{"a":1} {"b":2}`), raw("application/json", `{"a":1}`), false},
		{"json over the canonical size, by its bytes", raw("application/json", `{"a":"`+strings.Repeat("x", 300<<10)+`","b":1}`),
			raw("application/json", `{"b":1,"a":"`+strings.Repeat("x", 300<<10)+`"}`), false},
		{"json too wide, by its bytes", raw("application/json", wideObject(5000, false)), raw("application/json", wideObject(5000, true)), false},
		{"json wide within bounds", raw("application/json", wideObject(3000, false)), raw("application/json", wideObject(3000, true)), true},
		{"other types by their bytes", raw("text/plain", "hello"), raw("text/plain", "hello"), true},
		{"other types, other bytes", raw("text/plain", "hello"), raw("text/plain", "hello "), false},
		{"the same bytes as another type", raw("text/plain", `{"a":1}`), raw("application/json", `{"a":1}`), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got [][]byte
			f := newFixture(t, func(f *fixture) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					b, err := io.ReadAll(r.Body)
					if err != nil {
						t.Errorf("handler read: %v", err)
					}
					got = append(got, b)
					w.WriteHeader(201)
				}
			})
			first := f.send("u", `"k"`, tc.first)
			if first.Code != 201 || len(got) != 1 || !bytes.Equal(got[0], tc.first.bytes) {
				t.Fatalf("first: %d %q; handler saw the body intact: %v", first.Code, first.Body, len(got) == 1 && bytes.Equal(got[0], tc.first.bytes))
			}
			second := f.send("u", `"k"`, tc.second)
			switch {
			case tc.replay && (second.Code != 201 || second.Header().Get("Idempotent-Replayed") != "true"):
				t.Fatalf("same meaning: %d %q, want the replayed 201", second.Code, second.Body)
			case !tc.replay && (second.Code != 422 || second.Body.String() != "idempotency-key-reused"):
				t.Fatalf("other meaning: %d %q, want 422 idempotency-key-reused", second.Code, second.Body)
			}
			if len(got) != 1 {
				t.Fatalf("handler ran %d times", len(got))
			}
		})
	}
}

// send posts b under key as user.
func (f *fixture) send(user, key string, b body) *httptest.ResponseRecorder {
	r := httptest.NewRequest("POST", "/users", bytes.NewReader(b.bytes))
	r.Header.Set("Content-Type", b.contentType)
	r.Header.Set("X-User", user)
	if key != "" {
		r.Header.Set("Idempotency-Key", key)
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	return w
}

// After a crash past the commit, a retry with a rebuilt body is answered
// from what the first request created, not refused.
func TestRebuiltRetryAfterACrashIsRecovered(t *testing.T) {
	f := newFixture(t, func(f *fixture) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if f.calls.Add(1) > 1 {
				t.Error("the request ran again")
			}
			f.db.Identity().CreateUser(r.Context(), identity.User{ID: 7, Username: "pat", DisplayName: "p", CreatedAt: f.now}, "h", idempotency.ClaimOf(r))
			panic("the process dies before the response is stored")
		}
	})
	func() {
		defer func() { recover() }()
		f.send("u", `"upload"`, form(t, photo, caption))
	}()
	if w := f.send("u", `"upload"`, form(t, photo, caption)); w.Code != 201 || w.Body.String() != "recovered user:pat" {
		t.Fatalf("rebuilt retry after a crash: %d %q", w.Code, w.Body)
	}
}

// wideObject is a JSON object of n members, in order or reversed.
func wideObject(n int, reversed bool) string {
	members := make([]string, n)
	for i := range n {
		members[i] = fmt.Sprintf(`"k%d":%d`, i, i)
	}
	if reversed {
		slices.Reverse(members)
	}
	return "{" + strings.Join(members, ",") + "}"
}
