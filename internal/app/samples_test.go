package app

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"testing"

	"github.com/photofeed/photofeed/internal/testenv"
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

// UploadForm is testenv.UploadForm, under the name these tests know.
func UploadForm(photo []byte, caption string, extra ...string) (contentType string, body []byte) {
	return testenv.UploadForm(photo, caption, extra...)
}
