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

// jpegQuality is what the scaled variants are encoded at, by either path.
const jpegQuality = 88

// Variant is one encoded rendition of an upload. Width and Height are as
// displayed: a JPEG original kept on its side with an EXIF orientation
// reports its upright size.
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

// processGo is Process in Go alone: what every build runs, and what a
// build with libvips (the vips tag) still runs for what libvips has no
// gain on (see process_vips.go).
//
// A JPEG's original is the upload with its metadata stripped (stripJPEG),
// not a re-encode: the same pixels, and no full-size encode to pay for.
// Other types are re-encoded, which drops whatever metadata they had. The
// variants are scaled first and turned upright after, so the turn moves
// a 1080 px image's pixels rather than a photo's millions, and the
// decoded image is let go as soon as the large variant is made.
func processGo(data []byte, lim Limits) (Variants, error) {
	hdr, err := Inspect(data, lim)
	if err != nil {
		return Variants{}, err
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return Variants{}, ErrCorrupt
	}
	opaque := isOpaque(img)

	var v Variants
	if hdr.ContentType == "image/jpeg" {
		stripped, err := stripJPEG(data, hdr.Orientation)
		if err != nil {
			return Variants{}, ErrCorrupt
		}
		r := orientedRect(hdr.Width, hdr.Height, hdr.Orientation)
		v.Original = Variant{Data: stripped, ContentType: "image/jpeg", Ext: "jpg", Width: r.Dx(), Height: r.Dy()}
	} else if v.Original, err = encode(img, opaque); err != nil {
		return Variants{}, err
	}
	// A JPEG that needs neither scaling nor turning is served as its
	// stripped self: no encode, no loss, and one stored object for all
	// three. (Only as the decoder's own YCbCr or grey, what any browser
	// shows: a CMYK or RGB-coded file is re-encoded as before.)
	asIs := hdr.ContentType == "image/jpeg" && hdr.Orientation <= 1
	switch img.(type) {
	case *image.YCbCr, *image.Gray:
	default:
		asIs = false
	}
	fits := func(size int) bool { return asIs && hdr.Width <= size && hdr.Height <= size }
	var large image.Image
	if fits(LargeSize) {
		large, v.Large = img, v.Original
	} else {
		// img is not used after this line, so the full-size image can
		// be collected while the scaling's buffers are in use.
		large = orient(fit(img, LargeSize), hdr.Orientation)
		if v.Large, err = encode(large, opaque); err != nil {
			return Variants{}, err
		}
	}
	if fits(ThumbSize) {
		v.Thumb = v.Original
	} else if v.Thumb, err = encode(fit(large, ThumbSize), opaque); err != nil {
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

// fit scales img down so its longest side is at most size. A box average
// by whole factors first takes the source to under twice the destination
// on each side, which costs nothing in quality (it is the kind of
// filtering a downscale needs anyway); a decoded JPEG is averaged in its
// own YCbCr planes. Catmull-Rom then makes the exact size. Its separable
// Scale keeps a float64 RGBA (32 bytes) for every destination column of
// every source row: 35 MB for a 12 MP photo's large variant, up to 75 MB,
// the largest allocation of the whole job. Over scaleTmpMax, fit scales
// one axis at a time instead (scaleInRows), which needs only bands of
// that buffer.
func fit(img image.Image, size int) image.Image {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= size && h <= size {
		return img
	}
	dw, dh := fitSize(w, h, size)
	if kx, ky := w/dw, h/dh; kx >= 2 || ky >= 2 {
		if m, ok := img.(*image.YCbCr); ok && m.Rect.Min == (image.Point{}) && subsampling[m.SubsampleRatio] != [2]int{} {
			img = boxShrinkYCbCr(m, kx, ky)
		} else {
			img = boxShrink(img, kx, ky)
		}
		b = img.Bounds()
	}
	dst := image.NewNRGBA(image.Rect(0, 0, dw, dh))
	if scaleTmp(dw, b.Dy()) <= scaleTmpMax {
		xdraw.CatmullRom.Scale(dst, dst.Bounds(), img, b, xdraw.Src, nil)
		return dst
	}
	return scaleInRows(img, dw, dh)
}

// scaleTmpMax bounds the buffer fit lets Scale allocate: a thumb's is
// under 3 MB.
const scaleTmpMax = 8 << 20

// scaleTmp is the buffer Scale allocates to scale sh rows to dw columns.
func scaleTmp(dw, sh int) int64 { return 32 * int64(dw) * int64(sh) }

// fitBytes is what fit allocates for a w×h source: the box-averaged copy
// (taken as RGBA, which the YCbCr one is well under) and the rows it is
// made from, Scale's working rows where it is used, and the result.
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
	if t := scaleTmp(dw, h); t <= scaleTmpMax {
		return n + t + 4*int64(dw)*int64(dh)
	}
	// scaleInRows: a band's buffer, the across pass and its turned copy,
	// the down pass and its turned copy (the result).
	return n + scaleTmp(max(dw, dh), 64) + 8*int64(dw)*int64(h) + 8*int64(dw)*int64(dh)
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
		if err := jpeg.Encode(&buf, flatten(img), &jpeg.Options{Quality: jpegQuality}); err != nil {
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

// boxShrinkYCbCr is boxShrink for a decoded JPEG's planes, kept in their
// own subsampling: it averages 1.5 bytes a pixel (4:2:0) where converting
// to RGBA first would make and average 4, and the result is a third the
// size. Each output chroma sample covers kx×ky source chroma samples, as
// each output pixel covers kx×ky source pixels; a block cut by a plane's
// edge is averaged over what there is.
func boxShrinkYCbCr(m *image.YCbCr, kx, ky int) *image.YCbCr {
	b := m.Bounds()
	ow, oh := b.Dx()/kx, b.Dy()/ky
	dst := image.NewYCbCr(image.Rect(0, 0, ow, oh), m.SubsampleRatio)
	boxPlane(dst.Y, dst.YStride, ow, oh, m.Y, m.YStride, b.Dx(), b.Dy(), kx, ky)
	f := subsampling[m.SubsampleRatio]
	sw, sh := (b.Dx()+f[0]-1)/f[0], (b.Dy()+f[1]-1)/f[1]
	dw, dh := (ow+f[0]-1)/f[0], (oh+f[1]-1)/f[1]
	boxPlane(dst.Cb, dst.CStride, dw, dh, m.Cb, m.CStride, sw, sh, kx, ky)
	boxPlane(dst.Cr, dst.CStride, dw, dh, m.Cr, m.CStride, sw, sh, kx, ky)
	return dst
}

// boxPlane averages kx×ky blocks of the sw×sh plane src (row stride ss)
// into the dw×dh plane dst (row stride ds).
func boxPlane(dst []byte, ds, dw, dh int, src []byte, ss, sw, sh, kx, ky int) {
	sums := make([]uint32, dw)
	counts := make([]uint32, dw)
	for oy := range dh {
		clear(sums)
		clear(counts)
		for y := oy * ky; y < min(oy*ky+ky, sh); y++ {
			line := src[y*ss : y*ss+sw]
			for ox := range dw {
				x0 := ox * kx
				if x0 >= sw {
					break
				}
				var s uint32
				block := line[x0:min(x0+kx, sw)]
				for _, v := range block {
					s += uint32(v)
				}
				sums[ox] += s
				counts[ox] += uint32(len(block))
			}
		}
		out := dst[oy*ds : oy*ds+dw]
		for i, s := range sums {
			if n := counts[i]; n > 0 {
				out[i] = uint8((s + n/2) / n)
			}
		}
	}
}

// scaleInRows is Catmull-Rom from src to a dw×dh image in two passes that
// each scale rows only: across, then (turned on its side) down. Scaling
// rows only, a pass can go a band of rows at a time, so Scale's float64
// buffer is a band's, not the whole source's; at a scale of 1 the
// kernel is exact (1 at the sample, 0 at its neighbours), so bands do not
// touch one another. The passes meet in 8-bit premultiplied RGBA, a
// rounding of at most one level, where Scale keeps float64 throughout.
func scaleInRows(src image.Image, dw, dh int) *image.RGBA {
	b := src.Bounds()
	across := image.NewRGBA(image.Rect(0, 0, dw, b.Dy()))
	scaleRows(across, src, b)
	side := transpose(across)
	across = nil
	down := image.NewRGBA(image.Rect(0, 0, dh, dw))
	scaleRows(down, side, side.Rect)
	return transpose(down)
}

// scaleRows scales each row of sr to dst's width; dst has sr's height.
func scaleRows(dst *image.RGBA, src image.Image, sr image.Rectangle) {
	const band = 64
	dw := dst.Rect.Dx()
	var z xdraw.Scaler
	for y := 0; y < sr.Dy(); y += band {
		n := min(band, sr.Dy()-y)
		if z == nil || n != band {
			z = xdraw.CatmullRom.NewScaler(dw, n, sr.Dx(), n)
		}
		z.Scale(dst, image.Rect(0, y, dw, y+n), src, image.Rect(sr.Min.X, sr.Min.Y+y, sr.Max.X, sr.Min.Y+y+n), xdraw.Src, nil)
	}
}

// transpose returns m mirrored about its diagonal: rows become columns.
func transpose(m *image.RGBA) *image.RGBA {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	dst := image.NewRGBA(image.Rect(0, 0, h, w))
	for y := range h {
		row := m.Pix[y*m.Stride : y*m.Stride+4*w]
		for x := range w {
			copy(dst.Pix[x*dst.Stride+4*y:][:4], row[4*x:][:4])
		}
	}
	return dst
}
