package media

import (
	"encoding/binary"
	"errors"
)

// jpegInfo is what a JPEG's frame header and segments say about decoding
// it.
type jpegInfo struct {
	width, height int
	progressive   bool
	comps         []jpegComp
	jfif, adobe   bool
	adobeXform    byte
}

type jpegComp struct {
	id   byte
	h, v int // sampling factors
}

// decodeBytes is what image/jpeg allocates: every component's samples
// (planes padded to whole blocks), for a progressive file 4 bytes more per
// sample (its int32 coefficients are kept until the last scan), and the
// RGBA or CMYK image an RGB or 4-component file is converted into.
func (j jpegInfo) decodeBytes() int64 {
	if len(j.comps) == 0 {
		return 0
	}
	hmax, vmax := j.comps[0].h, j.comps[0].v
	if len(j.comps) == 1 {
		hmax, vmax = 1, 1
	}
	mxx := int64((j.width + 8*hmax - 1) / (8 * hmax))
	myy := int64((j.height + 8*vmax - 1) / (8 * vmax))
	var samples int64
	for i, c := range j.comps {
		h, v := c.h, c.v
		if len(j.comps) == 1 {
			h, v = 1, 1
		}
		if i == 1 || i == 2 { // image.YCbCr sizes both chroma planes by the first
			h, v = j.comps[1].h, j.comps[1].v
		}
		samples += 64 * mxx * int64(h) * myy * int64(v)
	}
	n := samples
	if j.progressive {
		n += 4 * samples
	}
	px := int64(j.width) * int64(j.height)
	switch {
	case len(j.comps) == 4:
		n += 4 * px // CMYK
	case len(j.comps) == 3 && j.isRGB():
		n += 4 * px // RGBA
	}
	return n
}

// isRGB is image/jpeg's rule for a 3-component file stored as RGB.
func (j jpegInfo) isRGB() bool {
	if j.jfif {
		return false
	}
	if j.adobe {
		return j.adobeXform == 0
	}
	return j.comps[0].id == 'R' && j.comps[1].id == 'G' && j.comps[2].id == 'B'
}

var errJPEG = errors.New("jpeg")

// scanJPEG walks a JPEG's segments as image/jpeg reads them, from SOI to
// EOI: every segment's length in bounds, one supported frame header before
// the first scan, each scan's entropy-coded data ending in a marker. A file
// cut short anywhere fails here, as it would in the decoder; damage inside
// the entropy-coded data is found only by decoding (the thumbnail job).
func scanJPEG(b []byte) (jpegInfo, error) {
	var j jpegInfo
	sawSOS := false
	err := walkJPEG(b, func(s jpegSegment) bool {
		seg := s.data
		switch marker := s.marker; {
		case marker == 0xD9: // EOI
			return sawSOS
		case marker == 0xC0 || marker == 0xC1 || marker == 0xC2:
			if len(j.comps) != 0 || !j.parseSOF(seg) {
				return false
			}
			j.progressive = marker == 0xC2
		case marker == 0xDA:
			if len(j.comps) == 0 || len(seg) < 1 {
				return false
			}
			sawSOS = true
		case marker == 0xE0:
			if len(seg) >= 5 && string(seg[:5]) == "JFIF\x00" {
				j.jfif = true
			}
		case marker == 0xEE:
			if len(seg) >= 12 && string(seg[:5]) == "Adobe" {
				j.adobe, j.adobeXform = true, seg[11]
			}
		case marker == 0xC4 || marker == 0xDB || marker == 0xDD || marker == 0xFE || marker >= 0xE0 && marker <= 0xEF:
		default: // other frame types (lossless, arithmetic) image/jpeg does not read
			return false
		}
		return true
	})
	return j, err
}

// jpegSegment is one marker segment of a JPEG: b[start:end] is the
// marker, its length and data, and for a scan (SOS) the entropy-coded
// data after it; data is the segment's own bytes after the length.
type jpegSegment struct {
	marker     byte
	start, end int
	data       []byte
}

// walkJPEG calls visit for each segment of b after SOI, in order, up to
// and including EOI (which has no data), skipping what image/jpeg skips
// between segments: stray bytes, fill bytes, an escaped 0xFF and restart
// markers outside a scan. A segment cut short, no EOI, or visit returning
// false stops the walk with errJPEG.
func walkJPEG(b []byte, visit func(jpegSegment) bool) error {
	if len(b) < 2 || b[0] != 0xFF || b[1] != 0xD8 {
		return errJPEG
	}
	for i := 2; ; {
		// image/jpeg skips stray bytes before a marker, and fill bytes.
		for i < len(b) && b[i] != 0xFF {
			i++
		}
		for i < len(b) && b[i] == 0xFF {
			i++
		}
		if i >= len(b) {
			return errJPEG // no EOI
		}
		start := i - 1 // the last fill byte starts the marker
		marker := b[i]
		i++
		switch {
		case marker == 0x00: // an escaped 0xFF outside a scan
			continue
		case marker == 0xD9: // EOI
			if !visit(jpegSegment{marker: marker, start: start, end: i}) {
				return errJPEG
			}
			return nil
		case marker >= 0xD0 && marker <= 0xD7: // a stray restart marker
			continue
		}
		if i+2 > len(b) {
			return errJPEG
		}
		n := int(binary.BigEndian.Uint16(b[i:])) - 2
		if n < 0 || i+2+n > len(b) {
			return errJPEG
		}
		seg := b[i+2 : i+2+n]
		i += 2 + n
		if marker == 0xDA {
			var ok bool
			if i, ok = skipEntropyCoded(b, i); !ok {
				return errJPEG
			}
		}
		if !visit(jpegSegment{marker: marker, start: start, end: i, data: seg}) {
			return errJPEG
		}
	}
}

// skipEntropyCoded returns where a scan's entropy-coded data, from i,
// ends: at the next marker that is not an escaped 0xFF or a restart. No
// such marker (the file is cut short) is not ok.
func skipEntropyCoded(b []byte, i int) (int, bool) {
	for {
		for i < len(b) && b[i] != 0xFF {
			i++
		}
		if i+1 >= len(b) {
			return i, false
		}
		if m := b[i+1]; m != 0x00 && (m < 0xD0 || m > 0xD7) {
			return i, true
		}
		i += 2
	}
}

func (j *jpegInfo) parseSOF(s []byte) bool {
	if len(s) < 6 || s[0] != 8 {
		return false
	}
	j.height, j.width = int(binary.BigEndian.Uint16(s[1:])), int(binary.BigEndian.Uint16(s[3:]))
	nc := int(s[5])
	if (nc != 1 && nc != 3 && nc != 4) || len(s) != 6+3*nc || j.width == 0 || j.height == 0 {
		return false
	}
	for k := range nc {
		c := s[6+3*k:]
		h, v := int(c[1]>>4), int(c[1]&15)
		if h < 1 || h > 4 || v < 1 || v > 4 || h == 3 || v == 3 {
			return false
		}
		j.comps = append(j.comps, jpegComp{id: c[0], h: h, v: v})
	}
	if nc >= 3 { // image/jpeg takes only these chroma ratios
		h0, v0 := j.comps[0].h, j.comps[0].v
		for _, c := range j.comps[1:3] {
			if h0%c.h != 0 || v0%c.v != 0 || c.h != j.comps[1].h || c.v != j.comps[1].v {
				return false
			}
		}
		switch (h0/j.comps[1].h)<<4 | v0/j.comps[1].v {
		case 0x11, 0x12, 0x21, 0x22, 0x41, 0x42:
		default:
			return false
		}
	}
	return true
}
