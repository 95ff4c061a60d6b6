package app

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"mime/multipart"
	"testing"
)

// The photos and upload bodies the tests send. Exported from a test file
// so the black-box tests (package app_test) build theirs the same way.

// SampleJPEG is a w×h JPEG of one colour; tests that need distinct photos
// give them distinct colours.
func SampleJPEG(tb testing.TB, w, h int, c color.Color) []byte {
	tb.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// UploadForm is the multipart body of an upload: photo as the "photo" file
// (no file part when nil), the caption, then extra as name, value pairs.
func UploadForm(photo []byte, caption string, extra ...string) (contentType string, body []byte) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	if photo != nil {
		fw, _ := mw.CreateFormFile("photo", "photo.jpg")
		fw.Write(photo)
	}
	mw.WriteField("caption", caption)
	for i := 0; i+1 < len(extra); i += 2 {
		mw.WriteField(extra[i], extra[i+1])
	}
	mw.Close()
	return mw.FormDataContentType(), b.Bytes()
}
