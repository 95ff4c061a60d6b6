package media

import (
	"encoding/binary"
	"image"
	"image/draw"
)

// jpegOrientation returns the EXIF orientation (1–8) of a JPEG, or 1.
//
// Only this one tag of IFD0 is needed, so it is read by hand rather than
// pulling in a general EXIF library; every offset is bounds-checked because
// the bytes come from strangers (see FuzzJPEGOrientation).
func jpegOrientation(b []byte) int {
	if len(b) < 4 || b[0] != 0xFF || b[1] != 0xD8 {
		return 1
	}
	for i := 2; i+4 <= len(b); {
		if b[i] != 0xFF {
			return 1
		}
		marker := b[i+1]
		if marker == 0xD8 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7) {
			i += 2 // markers without a length
			continue
		}
		if marker == 0xDA || marker == 0xD9 { // image data starts: no EXIF before it
			return 1
		}
		n := int(binary.BigEndian.Uint16(b[i+2:]))
		if n < 2 || i+2+n > len(b) {
			return 1
		}
		seg := b[i+4 : i+2+n]
		if marker == 0xE1 && len(seg) >= 6 && string(seg[:6]) == "Exif\x00\x00" {
			return tiffOrientation(seg[6:])
		}
		i += 2 + n
	}
	return 1
}

func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 1
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 1
	}
	if bo.Uint16(t[2:]) != 42 {
		return 1
	}
	ifd := int64(bo.Uint32(t[4:]))
	if ifd < 8 || ifd+2 > int64(len(t)) {
		return 1
	}
	count := int64(bo.Uint16(t[ifd:]))
	for e := range count {
		off := ifd + 2 + e*12
		if off+12 > int64(len(t)) {
			return 1
		}
		if bo.Uint16(t[off:]) != 0x0112 { // Orientation
			continue
		}
		if bo.Uint16(t[off+2:]) != 3 { // SHORT
			return 1
		}
		if v := int(bo.Uint16(t[off+8:])); v >= 1 && v <= 8 {
			return v
		}
		return 1
	}
	return 1
}

// orient returns img turned upright for EXIF orientation o. A YCbCr or
// grey image, as JPEGs decode, is turned plane by plane into one of its
// own kind (1.5 bytes a pixel for 4:2:0, which the JPEG encoder then takes
// as it is); anything else is converted a row at a time straight into one
// upright RGBA copy (4 bytes a pixel). Orientation is read from JPEGs only,
// which have no alpha, so RGBA loses nothing.
func orient(img image.Image, o int) image.Image {
	if o <= 1 || o > 8 {
		return img
	}
	switch m := img.(type) {
	case *image.YCbCr:
		// (Decoded images start at 0,0; a chroma sample cut by the
		// origin would need care not worth taking.)
		if r, ok := orientedRatio(m.SubsampleRatio, o); ok && m.Rect.Min == (image.Point{}) {
			return orientYCbCr(m, o, r)
		}
	case *image.Gray:
		b := m.Bounds()
		dst := image.NewGray(orientedRect(b.Dx(), b.Dy(), o))
		orientPlane(dst.Pix, dst.Stride, m.Pix[m.PixOffset(b.Min.X, b.Min.Y):], m.Stride, b.Dx(), b.Dy(), o)
		return dst
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	dst := image.NewRGBA(orientedRect(w, h, o))
	row := image.NewRGBA(image.Rect(0, 0, w, 1))
	for y := range h {
		draw.Draw(row, row.Bounds(), img, image.Pt(b.Min.X, b.Min.Y+y), draw.Src)
		for x := range w {
			dx, dy := orientXY(x, y, w, h, o)
			copy(dst.Pix[dst.PixOffset(dx, dy):][:4], row.Pix[4*x:][:4])
		}
	}
	return dst
}

// orientXY is where the pixel (x, y) of a w×h image lands once turned
// upright for orientation o.
func orientXY(x, y, w, h, o int) (int, int) {
	switch o {
	case 2:
		return w - 1 - x, y
	case 3:
		return w - 1 - x, h - 1 - y
	case 4:
		return x, h - 1 - y
	case 5:
		return y, x
	case 6:
		return h - 1 - y, x
	case 7:
		return h - 1 - y, w - 1 - x
	case 8:
		return y, w - 1 - x
	}
	return x, y
}

// orientedRect is the bounds of a w×h image turned for orientation o:
// 5–8 swap the axes.
func orientedRect(w, h, o int) image.Rectangle {
	if o >= 5 {
		w, h = h, w
	}
	return image.Rect(0, 0, w, h)
}

// orientPlane copies the w×h plane of bytes src (row stride ss) into dst
// (row stride ds), turned for orientation o.
func orientPlane(dst []byte, ds int, src []byte, ss, w, h, o int) {
	for y := range h {
		for x, v := range src[y*ss : y*ss+w] {
			dx, dy := orientXY(x, y, w, h, o)
			dst[dy*ds+dx] = v
		}
	}
}

// subsampling is the horizontal and vertical chroma factors of each ratio
// a JPEG decodes to.
var subsampling = map[image.YCbCrSubsampleRatio][2]int{
	image.YCbCrSubsampleRatio444: {1, 1},
	image.YCbCrSubsampleRatio422: {2, 1},
	image.YCbCrSubsampleRatio420: {2, 2},
	image.YCbCrSubsampleRatio440: {1, 2},
	image.YCbCrSubsampleRatio411: {4, 1},
	image.YCbCrSubsampleRatio410: {4, 2},
}

// orientedRatio is the subsampling of a YCbCr image of ratio r turned for
// orientation o, if image.YCbCr has one (4:1:1 and 4:1:0 on their side
// have none).
func orientedRatio(r image.YCbCrSubsampleRatio, o int) (image.YCbCrSubsampleRatio, bool) {
	f, ok := subsampling[r]
	if !ok {
		return r, false
	}
	if o < 5 {
		return r, true
	}
	for rr, ff := range subsampling {
		if ff == [2]int{f[1], f[0]} {
			return rr, true
		}
	}
	return r, false
}

func orientYCbCr(m *image.YCbCr, o int, ratio image.YCbCrSubsampleRatio) *image.YCbCr {
	b := m.Bounds()
	w, h := b.Dx(), b.Dy()
	dst := image.NewYCbCr(orientedRect(w, h, o), ratio)
	orientPlane(dst.Y, dst.YStride, m.Y, m.YStride, w, h, o)
	f := subsampling[m.SubsampleRatio]
	cw, ch := (w+f[0]-1)/f[0], (h+f[1]-1)/f[1]
	orientPlane(dst.Cb, dst.CStride, m.Cb, m.CStride, cw, ch, o)
	orientPlane(dst.Cr, dst.CStride, m.Cr, m.CStride, cw, ch, o)
	return dst
}
