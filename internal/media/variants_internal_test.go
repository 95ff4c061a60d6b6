package media

import (
	"image"
	"image/color"
	"image/draw"
	"testing"

	xdraw "golang.org/x/image/draw"
)

func asNRGBA(m image.Image) *image.NRGBA {
	if n, ok := m.(*image.NRGBA); ok {
		return n
	}
	n := image.NewNRGBA(m.Bounds())
	draw.Draw(n, n.Rect, m, m.Bounds().Min, draw.Src)
	return n
}

// Shrinking by a box average first changes what fit makes by no more than
// rounding: compared with Catmull-Rom straight from the full size, on a
// picture with detail at every scale.
func TestFitBoxFirstMatchesDirectScaling(t *testing.T) {
	src := image.NewNRGBA(image.Rect(0, 0, 3001, 2003))
	for y := range 2003 {
		for x := range 3001 {
			src.SetNRGBA(x, y, color.NRGBA{uint8(x / 12), uint8(y / 8), uint8((x + y) / 20), uint8(128 + x%2*127)})
		}
	}
	got := asNRGBA(fit(src, LargeSize))
	want := image.NewNRGBA(got.Bounds())
	xdraw.CatmullRom.Scale(want, want.Bounds(), src, src.Bounds(), xdraw.Src, nil)
	var sum, worst int
	for i := range got.Pix {
		d := int(got.Pix[i]) - int(want.Pix[i])
		d = max(d, -d)
		sum += d
		worst = max(worst, d)
	}
	mean := float64(sum) / float64(len(got.Pix))
	t.Logf("%v: mean difference %.3f, worst %d (of 255)", got.Bounds(), mean, worst)
	if mean > 1 || worst > 10 {
		t.Errorf("box-first scaling differs: mean %.3f, worst %d", mean, worst)
	}
	if w, h := fitSize(3001, 2003, LargeSize); got.Bounds().Dx() != w || got.Bounds().Dy() != h {
		t.Errorf("size %v, want %d×%d", got.Bounds(), w, h)
	}
}

// A strip far longer than it is wide is scaled along each side by its own
// factor, so neither is shrunk to nothing.
func TestFitThinStrip(t *testing.T) {
	for _, r := range []image.Rectangle{image.Rect(0, 0, 7000, 5), image.Rect(0, 0, 3, 9000)} {
		src := image.NewNRGBA(r)
		for i := range src.Pix {
			src.Pix[i] = 200
		}
		got := asNRGBA(fit(src, LargeSize))
		w, h := fitSize(r.Dx(), r.Dy(), LargeSize)
		if got.Bounds().Dx() != w || got.Bounds().Dy() != h {
			t.Fatalf("%v: size %v, want %d×%d", r, got.Bounds(), w, h)
		}
		for i, p := range got.Pix {
			if p < 195 || p > 205 {
				t.Fatalf("%v: byte %d is %d, want 200", r, i, p)
			}
		}
	}
}
