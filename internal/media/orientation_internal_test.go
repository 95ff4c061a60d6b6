package media

import (
	"image"
	"image/color"
	"image/draw"
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

// Turning a YCbCr image plane by plane gives the pixels turning its RGBA
// conversion gives, for every subsampling a JPEG decodes to and every
// orientation; sizes that split a chroma block only must not panic.
func TestOrientYCbCrMatchesRGBA(t *testing.T) {
	ratios := []image.YCbCrSubsampleRatio{image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio422,
		image.YCbCrSubsampleRatio420, image.YCbCrSubsampleRatio440, image.YCbCrSubsampleRatio411, image.YCbCrSubsampleRatio410}
	for _, r := range ratios {
		for _, size := range []image.Point{{16, 8}, {13, 7}} {
			src := image.NewYCbCr(image.Rect(0, 0, size.X, size.Y), r)
			for i := range src.Y {
				src.Y[i] = uint8(i * 7)
			}
			for i := range src.Cb {
				src.Cb[i], src.Cr[i] = uint8(i*13), uint8(255-i*5)
			}
			asRGBA := image.NewRGBA(src.Bounds())
			draw.Draw(asRGBA, asRGBA.Bounds(), src, image.Point{}, draw.Src)
			for o := 2; o <= 8; o++ {
				got, want := orient(src, o), orient(asRGBA, o)
				if got.Bounds() != want.Bounds() {
					t.Fatalf("%v %v orientation %d: bounds %v, want %v", r, size, o, got.Bounds(), want.Bounds())
				}
				if size.X%4 != 0 || size.Y%2 != 0 {
					continue // chroma blocks cut by the edge land on other pixels when flipped
				}
				if _, same := got.(*image.YCbCr); !same && r != image.YCbCrSubsampleRatio411 && r != image.YCbCrSubsampleRatio410 {
					t.Errorf("%v orientation %d: turned into %T", r, o, got)
				}
				for y := range want.Bounds().Dy() {
					for x := range want.Bounds().Dx() {
						g := color.RGBAModel.Convert(got.At(x, y)).(color.RGBA)
						w := want.At(x, y).(color.RGBA)
						if d := max(absDiff(g.R, w.R), absDiff(g.G, w.G), absDiff(g.B, w.B)); d > 1 {
							t.Fatalf("%v orientation %d at %d,%d: %v, want %v", r, o, x, y, g, w)
						}
					}
				}
			}
		}
	}
}

func absDiff(a, b uint8) uint8 {
	if a > b {
		return a - b
	}
	return b - a
}
