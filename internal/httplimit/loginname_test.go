package httplimit

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http/httptest"
	"strings"
	"testing"
)

func multipartLogin(name string) (string, string) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	mw.WriteField("csrf", strings.Repeat("t", 43))
	mw.WriteField("username", name)
	mw.WriteField("password", "pw")
	mw.Close()
	return mw.FormDataContentType(), b.String()
}

func TestLoginName(t *testing.T) {
	mct, mbody := multipartLogin(" Alice ")
	for _, tt := range []struct{ name, contentType, body, want string }{
		{"JSON", "application/json", `{"username":"Alice","password":"x"}`, "alice"},
		{"JSON with charset", "application/json; charset=utf-8", `{"password":"x","username":"bob"}`, "bob"},
		{"urlencoded", "application/x-www-form-urlencoded", "username=ALICE&password=x", "alice"},
		{"urlencoded with charset", "application/x-www-form-urlencoded; charset=UTF-8", "password=x&username=carol", "carol"},
		{"multipart", mct, mbody, "alice"},
		{"multipart without the boundary", "multipart/form-data", mbody, ""},
		{"no name", "application/json", `{"password":"x"}`, ""},
		{"garbage", "text/plain", "\x00\xff", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/v1/sessions", strings.NewReader(tt.body))
			r.Header.Set("Content-Type", tt.contentType)
			if got := loginName(r); got != tt.want {
				t.Errorf("name %q, want %q", got, tt.want)
			}
			if b, _ := io.ReadAll(r.Body); string(b) != tt.body {
				t.Errorf("the handler reads %q, not the body sent", b)
			}
		})
	}
}

// Whatever the body, reading the name never fails the request and leaves
// the body whole for the handler, past the part that was looked at.
func FuzzLoginName(f *testing.F) {
	mct, mbody := multipartLogin("alice")
	f.Add(mct, []byte(mbody))
	f.Add("application/json", []byte(`{"username":"a"}`))
	f.Add("application/x-www-form-urlencoded", []byte("username=%zz"))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		long := append(body, bytes.Repeat([]byte{'x'}, loginPeek)...)
		r := httptest.NewRequest("POST", "/login", bytes.NewReader(long))
		r.Header.Set("Content-Type", contentType)
		name := loginName(r)
		if name != strings.ToLower(strings.TrimSpace(name)) {
			t.Fatalf("name %q not folded", name)
		}
		if b, _ := io.ReadAll(r.Body); !bytes.Equal(b, long) {
			t.Fatal("the body changed")
		}
	})
}
