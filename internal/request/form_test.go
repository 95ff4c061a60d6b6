package request_test

import (
	"bytes"
	"mime/multipart"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/photofeed/photofeed/internal/errkind"
	"github.com/photofeed/photofeed/internal/request"
)

func TestForm(t *testing.T) {
	multi := func(size int) (string, string) {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		mw.WriteField("caption", "hi")
		fw, _ := mw.CreateFormFile("photo", "p.jpg")
		fw.Write(bytes.Repeat([]byte{0xff}, size))
		mw.Close()
		return mw.FormDataContentType(), b.String()
	}
	smallCT, small := multi(100)
	bigCT, big := multi(10 << 10)
	for _, tc := range []struct {
		name, ct, body string
		kind           errkind.Kind // -1: no error
	}{
		{"urlencoded", "application/x-www-form-urlencoded", "caption=hi", -1},
		{"urlencoded, too large", "application/x-www-form-urlencoded", "caption=" + strings.Repeat("x", 5000), errkind.TooLarge},
		{"multipart", smallCT, small, -1},
		{"multipart, too large", bigCT, big, errkind.TooLarge},
		{"multipart, no boundary", "multipart/form-data", small, errkind.Malformed},
		{"multipart, no parts", smallCT, "not a multipart body", errkind.Malformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/", strings.NewReader(tc.body))
			r.Header.Set("Content-Type", tc.ct)
			err := request.Form(httptest.NewRecorder(), r, 4096)
			if tc.kind < 0 {
				if err != nil || r.FormValue("caption") != "hi" {
					t.Fatalf("err %v, caption %q", err, r.FormValue("caption"))
				}
				return
			}
			if e, ok := errkind.AsError(err); !ok || e.Kind != tc.kind {
				t.Fatalf("got %v, want kind %d", err, tc.kind)
			}
		})
	}
}
