//go:build vips

package media

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"
)

var vipsLimits = Limits{Pixels: 50_000_000, Bytes: 256 << 20}

// quadrants is a w×h photo whose four quadrants are red, green, blue and
// white, stored as a camera would for orientation o (an Exif tag after
// SOI), so a wrong turn or mirror puts the wrong colour in a corner.
func quadrants(t testing.TB, w, h, o int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	colours := [4][4]uint8{{220, 30, 30, 255}, {30, 200, 40, 255}, {30, 40, 210, 255}, {240, 240, 240, 255}}
	for y := range h {
		for x := range w {
			copy(img.Pix[img.PixOffset(x, y):], colours[2*(2*y/h)+2*x/w][:])
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 92}); err != nil {
		t.Fatal(err)
	}
	return withExifOrientation(b.Bytes(), o)
}

// withExifOrientation is jpg with an Exif tag for orientation o after SOI.
func withExifOrientation(jpg []byte, o int) []byte {
	if o <= 1 {
		return jpg
	}
	out := append([]byte{0xFF, 0xD8}, exifOrientation(o)...)
	return append(out, jpg[2:]...)
}

// corners is the mean colour around the centre of each quadrant of a
// decoded variant, top left first.
func corners(t testing.TB, v Variant) [4][3]float64 {
	img, _, err := image.Decode(bytes.NewReader(v.Data))
	if err != nil {
		t.Fatalf("variant does not decode: %v", err)
	}
	b := img.Bounds()
	var out [4][3]float64
	for q := range 4 {
		cx, cy := b.Min.X+b.Dx()*(1+2*(q%2))/4, b.Min.Y+b.Dy()*(1+2*(q/2))/4
		r := max(1, min(b.Dx(), b.Dy())/16)
		var n float64
		for y := max(b.Min.Y, cy-r); y < min(b.Max.Y, cy+r); y++ {
			for x := max(b.Min.X, cx-r); x < min(b.Max.X, cx+r); x++ {
				c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
				out[q][0] += float64(c.R)
				out[q][1] += float64(c.G)
				out[q][2] += float64(c.B)
				n++
			}
		}
		for i := range out[q] {
			out[q][i] /= n
		}
	}
	return out
}

// agree fails t unless the two sets of variants have the same types and
// sizes, the same original, and the same colours where the quadrants are
// (within tol of 255 per channel: two resamplers and two encoders).
func agree(t *testing.T, got, want Variants, tol float64) {
	t.Helper()
	if !bytes.Equal(got.Original.Data, want.Original.Data) || got.Original.Width != want.Original.Width || got.Original.Height != want.Original.Height {
		t.Errorf("original: %d bytes %d×%d, want %d bytes %d×%d", len(got.Original.Data), got.Original.Width, got.Original.Height,
			len(want.Original.Data), want.Original.Width, want.Original.Height)
	}
	for _, p := range []struct {
		name      string
		got, want Variant
	}{{"large", got.Large, want.Large}, {"thumb", got.Thumb, want.Thumb}} {
		if p.got.Width != p.want.Width || p.got.Height != p.want.Height || p.got.ContentType != p.want.ContentType {
			t.Errorf("%s: %s %d×%d, want %s %d×%d", p.name, p.got.ContentType, p.got.Width, p.got.Height, p.want.ContentType, p.want.Width, p.want.Height)
			continue
		}
		cfg, _, err := image.DecodeConfig(bytes.NewReader(p.got.Data))
		if err != nil || cfg.Width != p.got.Width || cfg.Height != p.got.Height {
			t.Errorf("%s does not decode to its stated %d×%d: %v %+v", p.name, p.got.Width, p.got.Height, err, cfg)
			continue
		}
		if bytes.Contains(p.got.Data, []byte("Exif")) {
			t.Errorf("%s carries Exif", p.name)
		}
		g, w := corners(t, p.got), corners(t, p.want)
		for q := range 4 {
			for i := range 3 {
				if d := g[q][i] - w[q][i]; d > tol || d < -tol {
					t.Errorf("%s quadrant %d: %.0f, want %.0f", p.name, q, g[q], w[q])
					break
				}
			}
		}
	}
}

// A photo over LargeSize takes the libvips path; every orientation, and a
// size that does not divide evenly (libvips rounds where Go truncates),
// must come out as the pure-Go path makes it: sizes, upright, colours.
func TestVipsAgreesWithGo(t *testing.T) {
	for _, tt := range []struct {
		w, h         int
		orientations []int
	}{
		{1100, 825, []int{1, 2, 3, 4, 5, 6, 7, 8}},
		{1201, 707, []int{1, 6, 7}},
	} {
		upright := quadrants(t, tt.w, tt.h, 1)
		for _, o := range tt.orientations {
			t.Run(fmt.Sprintf("%dx%d/orientation-%d", tt.w, tt.h, o), func(t *testing.T) {
				data := withExifOrientation(upright, o)
				want, err := processGo(data, vipsLimits)
				if err != nil {
					t.Fatal(err)
				}
				hdr, err := Inspect(data, vipsLimits)
				if err != nil {
					t.Fatal(err)
				}
				stripped, err := stripJPEG(data, hdr.Orientation)
				if err != nil {
					t.Fatal(err)
				}
				// renderVips, not Process: Process would hide a libvips
				// failure behind its fallback to Go.
				got, err := renderVips(stripped, hdr)
				if err != nil {
					t.Fatalf("libvips: %v", err)
				}
				agree(t, got, want, 12)
				if !jpegHasSOF(got.Large.Data, 0xC2) || !jpegHasSOF(got.Thumb.Data, 0xC0) {
					t.Error("want the large variant progressive (SOF2), the thumb baseline (SOF0)")
				}
				if viaProcess, err := Process(data, vipsLimits); err != nil || !bytes.Equal(viaProcess.Large.Data, got.Large.Data) {
					t.Errorf("Process did not take the libvips path: %v", err)
				}
			})
		}
	}
}

// The testdata photos: the JPEGs rendered by libvips (renderVips, though
// Process would leave ones this small to Go) agree with Go's; Process
// gives exactly Go's variants for what it leaves to Go.
func TestVipsTestdataAgrees(t *testing.T) {
	files, err := filepath.Glob("testdata/*")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(filepath.Base(f), func(t *testing.T) {
			want, err := processGo(data, vipsLimits)
			got, perr := Process(data, vipsLimits)
			if (err == nil) != (perr == nil) || errors.Is(perr, ErrCorrupt) != errors.Is(err, ErrCorrupt) {
				t.Fatalf("Process: %v, Go alone: %v", perr, err)
			}
			if err != nil {
				return
			}
			agree(t, got, want, 0)
			hdr, _ := Inspect(data, vipsLimits)
			if hdr.ContentType != "image/jpeg" {
				return
			}
			stripped, err := stripJPEG(data, hdr.Orientation)
			if err != nil {
				t.Fatal(err)
			}
			got, err = renderVips(stripped, hdr)
			if err != nil {
				t.Fatalf("libvips: %v", err)
			}
			// CMYK is converted by libvips through a CMYK profile and by
			// Go by the naive formula: the colours differ, not the sizes.
			tol := 12.0
			if bytes.Contains([]byte(f), []byte("cmyk")) {
				tol = 255
			}
			agree(t, got, want, tol)
		})
	}
}

// A JPEG damaged inside its image data passes Inspect (which reads the
// structure, not the data) and must still give ErrCorrupt; libvips alone
// must refuse it too, not render the missing rows grey. (The testdata's
// truncated progressive JPEG is not one: it ends after whole scans, and
// both decoders read it, as TestVipsTestdataAgrees shows.)
func TestVipsCorruptJPEG(t *testing.T) {
	whole := quadrants(t, 1600, 1200, 6)
	cut := append(bytes.Clone(whole[:len(whole)*2/3]), 0xFF, 0xD9) // image data cut short, then EOI
	hdr, err := Inspect(cut, vipsLimits)
	if err != nil {
		t.Fatalf("the damaged photo should pass Inspect, to reach the decoder: %v", err)
	}
	if _, err := Process(cut, vipsLimits); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Process: %v, want ErrCorrupt", err)
	}
	stripped, err := stripJPEG(cut, hdr.Orientation)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := renderVips(stripped, hdr); err == nil {
		t.Error("libvips rendered a photo cut short")
	}
}

// jpegHasSOF reports whether the JPEG's frame header is marker 0xFF sof:
// 0xC0 baseline, 0xC2 progressive.
func jpegHasSOF(b []byte, sof byte) bool {
	found := false
	walkJPEG(b, func(s jpegSegment) bool {
		if s.marker >= 0xC0 && s.marker <= 0xCF && s.marker != 0xC4 && s.marker != 0xC8 && s.marker != 0xCC {
			found = s.marker == sof
			return false
		}
		return true
	})
	return found
}
