package media

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"

	xdraw "golang.org/x/image/draw"
)

// Sizes of the served variants: the longest side, never upscaled.
const (
	ThumbSize = 320
	LargeSize = 1080
)

// Variant is one encoded rendition of an upload.
type Variant struct {
	Data          []byte
	ContentType   string
	Ext           string
	Width, Height int
}

// Variants are the renditions stored for a photo.
type Variants struct {
	Thumb, Large, Original Variant
}

// Validate is what an upload must pass before it is accepted: Inspect's
// header checks and limits, and a bounded check of the whole file's
// structure that finds a file cut short, or damaged anywhere a checksum or
// a length can tell, without decoding it: memory stays at a few tens of
// KiB whatever the image's size. The file is walked once: Inspect's walk
// finds a PNG's or GIF's image data, which is inflated (without keeping
// it) only once the limits have passed. The full decode, which alone
// finds damage inside a JPEG's or WebP's compressed data, is left to
// Process, run once, by the thumbnail job. Its CPU grows with the pixels:
// see Checks for how many run at once.
func Validate(data []byte, lim Limits) (Header, error) {
	hdr, deep, err := inspect(data, lim)
	if err != nil {
		return Header{}, err
	}
	if deep != nil && deep() != nil {
		return Header{}, ErrCorrupt
	}
	return hdr, nil
}

// Process checks data and renders its variants. lim bounds the decoded
// size; see Inspect. The caller should hold hdr.Cost of the node's decode
// budget while it runs.
func Process(data []byte, lim Limits) (Variants, error) {
	hdr, err := Inspect(data, lim)
	if err != nil {
		return Variants{}, err
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return Variants{}, ErrCorrupt
	}
	img = orient(img, hdr.Orientation)
	opaque := isOpaque(img)

	var v Variants
	if v.Original, err = encode(img, opaque); err != nil {
		return Variants{}, err
	}
	large := fit(img, LargeSize)
	if v.Large, err = encode(large, opaque); err != nil {
		return Variants{}, err
	}
	if v.Thumb, err = encode(fit(large, ThumbSize), opaque); err != nil {
		return Variants{}, err
	}
	return v, nil
}

func isOpaque(img image.Image) bool {
	if o, ok := img.(interface{ Opaque() bool }); ok {
		return o.Opaque()
	}
	return false
}

// fitSize is the size of an image w×h scaled down so its longest side is
// at most size.
func fitSize(w, h, size int) (int, int) {
	switch {
	case w <= size && h <= size:
		return w, h
	case w >= h:
		return size, max(1, h*size/w)
	default:
		return max(1, w*size/h), size
	}
}

// fit scales img down so its longest side is at most size. Catmull-Rom
// keeps a float64 RGBA (32 bytes) for every destination column of every
// source row: 100 MB for a 12 MP photo, 240 MB for 50 MP. A box average
// by whole factors first takes the source to under twice the destination
// on each side, which bounds that to 75 MB and costs nothing in quality
// (it is the kind of filtering a downscale needs anyway).
func fit(img image.Image, size int) image.Image {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= size && h <= size {
		return img
	}
	dw, dh := fitSize(w, h, size)
	if kx, ky := w/dw, h/dh; kx >= 2 || ky >= 2 {
		img = boxShrink(img, kx, ky)
		b = img.Bounds()
	}
	dst := image.NewNRGBA(image.Rect(0, 0, dw, dh))
	xdraw.CatmullRom.Scale(dst, dst.Bounds(), img, b, xdraw.Src, nil)
	return dst
}

// fitBytes is what fit allocates for a w×h source: the box-averaged copy
// and the rows it is made from, Catmull-Rom's working rows and the result.
func fitBytes(w, h, size int) int64 {
	if w <= size && h <= size {
		return 0
	}
	dw, dh := fitSize(w, h, size)
	var n int64
	if kx, ky := w/dw, h/dh; kx >= 2 || ky >= 2 {
		n += 4 * int64(w) * int64(ky)
		w, h = w/kx, h/ky
		n += 4 * int64(w) * int64(h)
	}
	return n + 32*int64(dw)*int64(h) + 4*int64(dw)*int64(dh)
}

// boxShrink averages each kx×ky block of img into one pixel,
// premultiplied, as a correct average of colours with alpha must be. A
// block cut by the right or bottom edge is left out rather than
// stretched: fewer than kx columns of at least kx times as many, under
// 0.1 % of a photo's side. It converts ky rows at a time, so it needs no
// full-size copy of a source of any type.
func boxShrink(img image.Image, kx, ky int) *image.RGBA {
	b := img.Bounds()
	ow, oh := b.Dx()/kx, b.Dy()/ky
	w := ow * kx
	dst := image.NewRGBA(image.Rect(0, 0, ow, oh))
	band := image.NewRGBA(image.Rect(0, 0, w, ky))
	sums := make([]uint32, 4*ow)
	n := uint32(kx * ky)
	for oy := range oh {
		draw.Draw(band, band.Bounds(), img, image.Pt(b.Min.X, b.Min.Y+oy*ky), draw.Src)
		clear(sums)
		for y := range ky {
			line := band.Pix[y*band.Stride : y*band.Stride+4*w]
			for x := range w {
				s := sums[4*(x/kx):][:4]
				p := line[4*x:][:4]
				s[0] += uint32(p[0])
				s[1] += uint32(p[1])
				s[2] += uint32(p[2])
				s[3] += uint32(p[3])
			}
		}
		out := dst.Pix[oy*dst.Stride:]
		for i, s := range sums {
			out[i] = uint8((s + n/2) / n)
		}
	}
	return dst
}

// encode writes opaque images as JPEG and the rest as PNG, so transparency
// survives and photos stay small.
func encode(img image.Image, opaque bool) (Variant, error) {
	var buf bytes.Buffer
	b := img.Bounds()
	v := Variant{Width: b.Dx(), Height: b.Dy()}
	if opaque {
		if err := jpeg.Encode(&buf, flatten(img), &jpeg.Options{Quality: 88}); err != nil {
			return Variant{}, fmt.Errorf("encode jpeg: %w", err)
		}
		v.ContentType, v.Ext = "image/jpeg", "jpg"
	} else {
		enc := png.Encoder{CompressionLevel: png.BestSpeed}
		if err := enc.Encode(&buf, img); err != nil {
			return Variant{}, fmt.Errorf("encode png: %w", err)
		}
		v.ContentType, v.Ext = "image/png", "png"
	}
	v.Data = buf.Bytes()
	return v, nil
}

// flatten drops any alpha channel onto white; JPEG has none. It is called
// only for opaque images, so an RGBA one (a decoded PNG, an upright photo)
// is taken as it is: premultiplied by an alpha of 255 changes nothing.
func flatten(img image.Image) image.Image {
	switch img.(type) {
	case *image.YCbCr, *image.Gray, *image.CMYK, *image.RGBA: // no alpha, or (opaque) none to drop
		return img
	}
	b := img.Bounds()
	dst := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	xdraw.Draw(dst, dst.Bounds(), image.NewUniform(color.White), image.Point{}, xdraw.Src)
	xdraw.Draw(dst, dst.Bounds(), img, b.Min, xdraw.Over)
	return dst
}
