package media

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
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

// Validate checks data as Process would, decoding it fully (a truncated
// or corrupt file fails here), without making variants: what an upload
// must pass before it is accepted for processing later.
func Validate(data []byte, maxPixels int64) (Header, error) {
	hdr, err := Inspect(data, maxPixels)
	if err != nil {
		return Header{}, err
	}
	if _, _, err := image.Decode(bytes.NewReader(data)); err != nil {
		return Header{}, ErrCorrupt
	}
	return hdr, nil
}

// Process checks data and renders its variants. maxPixels bounds the
// decoded size; see Inspect.
func Process(data []byte, maxPixels int64) (Variants, error) {
	hdr, err := Inspect(data, maxPixels)
	if err != nil {
		return Variants{}, err
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return Variants{}, ErrCorrupt
	}
	if hdr.ContentType == "image/jpeg" {
		img = orient(img, jpegOrientation(data))
	}
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

// fit scales img down so its longest side is at most size.
func fit(img image.Image, size int) image.Image {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= size && h <= size {
		return img
	}
	if w >= h {
		w, h = size, max(1, h*size/w)
	} else {
		w, h = max(1, w*size/h), size
	}
	dst := image.NewNRGBA(image.Rect(0, 0, w, h))
	xdraw.CatmullRom.Scale(dst, dst.Bounds(), img, b, xdraw.Src, nil)
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

// flatten drops any alpha channel onto white; JPEG has none.
func flatten(img image.Image) image.Image {
	switch img.(type) {
	case *image.YCbCr, *image.Gray, *image.CMYK:
		return img
	}
	b := img.Bounds()
	dst := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	xdraw.Draw(dst, dst.Bounds(), image.NewUniform(color.White), image.Point{}, xdraw.Src)
	xdraw.Draw(dst, dst.Bounds(), img, b.Min, xdraw.Over)
	return dst
}
