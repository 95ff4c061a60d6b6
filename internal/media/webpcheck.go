package media

import (
	"encoding/binary"
	"errors"
)

// webpInfo is what a WebP's chunks say about decoding it.
type webpInfo struct {
	lossless        bool // VP8L
	alpha           bool // VP8X with an ALPH chunk
	alphaCompressed bool // the ALPH data is itself lossless-coded
}

// decodeBytes is what golang.org/x/image/webp allocates for a w×h image:
// lossy frames are 4:2:0 YCbCr in whole 16-pixel macroblocks; a lossless
// one is 4 bytes a pixel, twice over while a colour-indexing transform is
// undone; an alpha plane is 1 byte a pixel, decoded through a lossless
// image (8 more) when compressed. Whether a lossless stream has that
// transform is known only by decoding what comes before it, so it is
// always counted: an estimate up to twice too high for those images.
func (p webpInfo) decodeBytes(w, h int) int64 {
	px := int64(w) * int64(h)
	if p.lossless {
		return 8 * px
	}
	mb := int64((w+15)/16*16) * int64((h+15)/16*16)
	n := mb + mb/2
	if p.alpha {
		n += px
		if p.alphaCompressed {
			n += 8 * px
		}
	}
	return n
}

var errWebP = errors.New("webp")

// scanWebP walks a WebP's RIFF container: every chunk within the RIFF
// and the file, up to and including the image data chunk (VP8 or VP8L)
// the decoder reads. The compressed data itself is checked only by
// decoding (the thumbnail job).
func scanWebP(b []byte) (webpInfo, error) {
	var p webpInfo
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WEBP" {
		return p, errWebP
	}
	size := int64(binary.LittleEndian.Uint32(b[4:]))
	if size < 4 {
		return p, errWebP
	}
	// The decoder reads no further than the image data, so a file cut
	// short after it (a lost metadata chunk) still decodes.
	riff := b[12:min(8+size, int64(len(b)))]
	for i := 0; ; {
		if i+8 > len(riff) {
			return p, errWebP // no image data
		}
		fourcc, n := string(riff[i:i+4]), int64(binary.LittleEndian.Uint32(riff[i+4:]))
		if int64(i)+8+n > int64(len(riff)) {
			return p, errWebP
		}
		data := riff[i+8 : i+8+int(n)]
		switch fourcc {
		case "VP8 ":
			return p, nil
		case "VP8L":
			p.lossless = true
			return p, nil
		case "ALPH":
			if len(data) < 1 {
				return p, errWebP
			}
			p.alpha, p.alphaCompressed = true, data[0]&3 == 1
		}
		i += 8 + int(n) + int(n&1)
	}
}
