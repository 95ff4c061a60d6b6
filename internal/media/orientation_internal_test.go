package media

import (
	"image"
	"image/color"
	"testing"
)

// Each orientation must put the source's top-left pixel where EXIF says.
func TestOrientMovesCorner(t *testing.T) {
	src := image.NewNRGBA(image.Rect(0, 0, 3, 2))
	red := color.NRGBA{255, 0, 0, 255}
	src.Set(0, 0, red)
	corners := map[int]image.Point{ // where the red top-left pixel lands
		1: {0, 0}, 2: {2, 0}, 3: {2, 1}, 4: {0, 1},
		5: {0, 0}, 6: {1, 0}, 7: {1, 2}, 8: {0, 2},
	}
	for o, want := range corners {
		out := orient(src, o)
		if o >= 5 && (out.Bounds().Dx() != 2 || out.Bounds().Dy() != 3) {
			t.Errorf("orientation %d: size %v, want 2×3", o, out.Bounds())
		}
		if got := color.NRGBAModel.Convert(out.At(want.X, want.Y)); got != red {
			t.Errorf("orientation %d: pixel at %v is %v, want red", o, want, got)
		}
	}
}

func FuzzJPEGOrientation(f *testing.F) {
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x08, 'E', 'x', 'i', 'f', 0, 0})
	f.Add([]byte("\xff\xd8\xff\xe1\x00\x22Exif\x00\x00II*\x00\x08\x00\x00\x00\x01\x00\x12\x01\x03\x00\x01\x00\x00\x00\x06\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if o := jpegOrientation(b); o < 1 || o > 8 {
			t.Fatalf("orientation %d out of range", o)
		}
	})
}
